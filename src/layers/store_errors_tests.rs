//! The store-errors layer in process: small SSE-C read errors of RGW and SeaweedFS in
//! AWS's words (HEAD from the status alone); every other answer, an error body too large
//! to read, and other stores pass unchanged; an error body that fails is a bad gateway.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::error::ProxyError;
use crate::layers::test_support::{
    Answer, Log, Seen, TestBody, answer, body_bytes, digest, failing, named, object, recorder,
    stalled,
};
use crate::s3::error::{S3Error, S3ErrorCode};

const WRONG_KEY: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.";

/// A read of `b/k` with or without a key the SSE-C layer validated.
fn read(method: Method, op: S3Op, keyed: bool) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri("/b/k")
        .body(Full::default())
        .expect("a test request");
    req.extensions_mut().insert(object(op));
    req.extensions_mut().insert(Checked {
        destination: keyed.then(|| digest(1)),
        source: None,
    });
    req
}

fn get(keyed: bool) -> Request<Full<Bytes>> {
    read(Method::GET, S3Op::GetObject, keyed)
}

async fn send<F>(
    store: Store,
    req: Request<Full<Bytes>>,
    reply: F,
) -> Result<Response<Buffered<Full<Bytes>>>, ProxyError>
where
    F: Fn(&Seen) -> Answer + Send + Sync + 'static,
{
    let svc = ServiceBuilder::new()
        .layer(StoreErrorsLayer::new(named(store)))
        .service(recorder(&Log::default(), reply));
    svc.oneshot(req).await
}

fn error(status: StatusCode, body: &'static str) -> impl Fn(&Seen) -> Answer + Send + Sync {
    move |_| {
        Ok(answer(
            status,
            &[
                ("content-type", "application/xml"),
                ("x-amz-request-id", "STORE"),
            ],
            body,
        ))
    }
}

fn translated(result: Result<Response<Buffered<Full<Bytes>>>, ProxyError>) -> S3Error {
    match result {
        Err(ProxyError::Translated(e)) => e,
        Err(other) => panic!("not translated: {other:?}"),
        Ok(r) => panic!("not translated: {}", r.status()),
    }
}

/// Expects the store's answer, status, headers and body unchanged.
async fn unchanged(
    result: Result<Response<Buffered<Full<Bytes>>>, ProxyError>,
    status: StatusCode,
    body: &str,
) {
    let response = result.expect("the store's answer passes");
    assert_eq!(response.status(), status);
    assert_eq!(body_bytes(response.into_body()).await, body);
}

#[tokio::test]
async fn gives_rgws_wrong_key_answer_awss_words() {
    for body in [
        "",
        "<?xml version=\"1.0\"?><Error><RequestId>tx1</RequestId></Error>",
        "<Error><Code>InvalidArgument</Code><Message>The calculated MD5 hash of the key did not match the hash that was provided.</Message></Error>",
    ] {
        let err =
            translated(send(Store::Rgw, get(true), error(StatusCode::BAD_REQUEST, body)).await);
        assert_eq!(err.code, S3ErrorCode::AccessDenied, "{body}");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        assert_eq!(err.message, WRONG_KEY, "{body}");
    }
}

#[tokio::test]
async fn gives_seaweedfs_wrong_key_and_missing_key_answers_awss_words() {
    let err = translated(
        send(
            Store::Seaweedfs,
            get(true),
            error(
                StatusCode::FORBIDDEN,
                "<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>",
            ),
        )
        .await,
    );
    assert_eq!(err.message, WRONG_KEY);
    for store in [Store::Seaweedfs, Store::Rgw] {
        let err = translated(
            send(
                store,
                get(false),
                error(
                    StatusCode::BAD_REQUEST,
                    "<Error><Code>InvalidArgument</Code><Message>Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.</Message></Error>",
                ),
            )
            .await,
        );
        assert_eq!(err.code, S3ErrorCode::InvalidRequest);
        assert_eq!(
            err.message,
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
        );
    }
}

/// A store answering `status` with a body that never ends.
async fn head_against_a_stalled_body(
    store: Store,
    status: StatusCode,
) -> Result<Response<Buffered<TestBody>>, ProxyError> {
    let svc = ServiceBuilder::new()
        .layer(StoreErrorsLayer::new(named(store)))
        .service_fn(move |_req: Request<Full<Bytes>>| async move {
            let mut response = Response::new(stalled(&[b"<Error>"]));
            *response.status_mut() = status;
            Ok::<_, ProxyError>(response)
        });
    tokio::time::timeout(
        Duration::from_secs(5),
        svc.oneshot(read(Method::HEAD, S3Op::HeadObject, true)),
    )
    .await
    .expect("a HEAD answer's body is never read")
}

#[tokio::test]
async fn translates_a_head_from_its_status_without_reading_a_body() {
    for (store, status) in [
        (Store::Rgw, StatusCode::BAD_REQUEST),
        (Store::Seaweedfs, StatusCode::FORBIDDEN),
    ] {
        match head_against_a_stalled_body(store, status).await {
            Err(ProxyError::Translated(e)) => assert_eq!(e.message, WRONG_KEY),
            other => panic!("not translated: {:?}", other.map(|r| r.status())),
        }
    }
    // Other statuses pass as the store sent them.
    let response = head_against_a_stalled_body(Store::Seaweedfs, StatusCode::NOT_FOUND)
        .await
        .expect("passed");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn passes_other_store_errors_with_their_body() {
    let not_found =
        "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";
    let result = send(
        Store::Rgw,
        get(true),
        error(StatusCode::NOT_FOUND, not_found),
    )
    .await;
    let response = result.expect("passed");
    assert_eq!(response.headers()["x-amz-request-id"], "STORE");
    assert_eq!(response.headers()["content-type"], "application/xml");
    unchanged(Ok(response), StatusCode::NOT_FOUND, not_found).await;
    let range = "<Error><Code>InvalidRange</Code></Error>";
    unchanged(
        send(Store::Rgw, get(true), error(StatusCode::BAD_REQUEST, range)).await,
        StatusCode::BAD_REQUEST,
        range,
    )
    .await;
}

#[tokio::test]
async fn passes_an_error_body_too_large_to_read_unchanged() {
    // Small, this answer would be translated (a keyed 400 without a code).
    let big = format!("<Error>{}</Error>", " ".repeat(64 * 1024));
    let body = big.clone();
    let result = send(Store::Rgw, get(true), move |_| {
        Ok(answer(StatusCode::BAD_REQUEST, &[], body.clone()))
    })
    .await;
    unchanged(result, StatusCode::BAD_REQUEST, &big).await;
}

#[tokio::test]
async fn an_error_body_that_fails_is_a_bad_gateway() {
    let svc = ServiceBuilder::new()
        .layer(StoreErrorsLayer::new(named(Store::Rgw)))
        .service_fn(|_req: Request<Full<Bytes>>| async {
            let mut response = Response::new(failing(&[b"<Error>"], "store reset"));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok::<_, ProxyError>(response)
        });
    match svc.oneshot(get(true)).await {
        Err(ProxyError::BadGateway(e)) => assert_eq!(crate::error::chain(&*e), "store reset"),
        other => panic!("not a bad gateway: {:?}", other.map(|r| r.status())),
    }
}

#[tokio::test]
async fn passes_answers_of_stores_and_operations_it_does_not_translate() {
    for store in [Store::Generic, Store::Minio, Store::Garage] {
        unchanged(
            send(store, get(true), error(StatusCode::BAD_REQUEST, "")).await,
            StatusCode::BAD_REQUEST,
            "",
        )
        .await;
    }
    let put = read(Method::PUT, S3Op::PutObject, true);
    unchanged(
        send(Store::Rgw, put, error(StatusCode::BAD_REQUEST, "")).await,
        StatusCode::BAD_REQUEST,
        "",
    )
    .await;
    let mut unclassified = get(true);
    unclassified.extensions_mut().remove::<S3Request>();
    unchanged(
        send(Store::Rgw, unclassified, error(StatusCode::BAD_REQUEST, "")).await,
        StatusCode::BAD_REQUEST,
        "",
    )
    .await;
    // Without a validated key, RGW's bare 400 is not the wrong key.
    unchanged(
        send(Store::Rgw, get(false), error(StatusCode::BAD_REQUEST, "")).await,
        StatusCode::BAD_REQUEST,
        "",
    )
    .await;
}

#[tokio::test]
async fn passes_successes_and_inner_errors() {
    unchanged(
        send(Store::Rgw, get(true), |_| {
            Ok(answer(StatusCode::OK, &[], "object"))
        })
        .await,
        StatusCode::OK,
        "object",
    )
    .await;
    let result = send(Store::Rgw, get(true), |_| Err(ProxyError::UpstreamTimeout)).await;
    assert!(matches!(result, Err(ProxyError::UpstreamTimeout)));
}
