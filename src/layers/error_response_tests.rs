//! The error layer in process: every `ProxyError` variant becomes its S3 XML error with
//! the request's id and a `Verdict`; HEAD gets the status only; answers pass untouched.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::error::{BoxError, Outcome};
use crate::layers::test_support::{Log, answer, body_bytes, recorder};
use crate::request_id::RequestId;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::REQUEST_ID;
use crate::s3::ssec;

/// Sends `req` through the error layer to an inner service failing with `err`.
async fn fail_with(req: Request<()>, err: ProxyError) -> Response<ErrorBody<Full<Bytes>>> {
    fail_with_body(req.map(|()| Full::new(Bytes::new())), err).await
}

/// [`fail_with`] for a request with a body.
async fn fail_with_body(
    req: Request<Full<Bytes>>,
    err: ProxyError,
) -> Response<ErrorBody<Full<Bytes>>> {
    let mut err = Some(err);
    let svc = ServiceBuilder::new().layer(ErrorResponseLayer).service_fn(
        move |_req: Request<Full<Bytes>>| {
            let err = err.take().expect("the inner service is called once");
            std::future::ready(Err::<Response<Full<Bytes>>, _>(err))
        },
    );
    let Ok(response) = svc.oneshot(req).await;
    response
}

fn get(uri: &str, id: Option<RequestId>) -> Request<()> {
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(())
        .expect("a test request");
    if let Some(id) = id {
        req.extensions_mut().insert(id);
    }
    req
}

fn io(message: &'static str) -> BoxError {
    Box::new(std::io::Error::other(message))
}

struct Row {
    err: ProxyError,
    status: u16,
    code: S3ErrorCode,
    spelled: &'static str,
    message: &'static str,
    outcome: Outcome,
    reason: Option<Reason>,
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            err: ProxyError::Rejected(
                S3Error::new(
                    S3ErrorCode::InvalidArgument,
                    "The calculated MD5 hash of the key did not match the hash that was provided.",
                )
                .with_reason(Reason::V5),
            ),
            status: 400,
            code: S3ErrorCode::InvalidArgument,
            spelled: "InvalidArgument",
            message: "The calculated MD5 hash of the key did not match the hash that was provided.",
            outcome: Outcome::Rejected,
            reason: Some(Reason::V5),
        },
        Row {
            err: ProxyError::Rejected(S3Error::internal()),
            status: 500,
            code: S3ErrorCode::InternalError,
            spelled: "InternalError",
            message: "We encountered an internal error. Please try again.",
            outcome: Outcome::Rejected,
            reason: Some(Reason::Other),
        },
        Row {
            err: ProxyError::Translated(ssec::wrong_key()),
            status: 403,
            code: S3ErrorCode::AccessDenied,
            spelled: "AccessDenied",
            message: "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.",
            outcome: Outcome::StoreError,
            reason: None,
        },
        Row {
            err: ProxyError::Unreachable(io("connection refused")),
            status: 503,
            code: S3ErrorCode::ServiceUnavailable,
            spelled: "ServiceUnavailable",
            message: "The object store is unreachable. Please retry.",
            outcome: Outcome::StoreUnreachable,
            reason: None,
        },
        Row {
            err: ProxyError::BadGateway(io("connection reset")),
            status: 502,
            code: S3ErrorCode::BadGateway,
            spelled: "BadGateway",
            message: "The object store did not return a valid response.",
            outcome: Outcome::StoreFailed,
            reason: None,
        },
        Row {
            err: ProxyError::UpstreamTimeout,
            status: 504,
            code: S3ErrorCode::GatewayTimeout,
            spelled: "GatewayTimeout",
            message: "The object store did not respond in time.",
            outcome: Outcome::StoreTimeout,
            reason: None,
        },
        Row {
            err: ProxyError::ClientTimeout,
            status: 400,
            code: S3ErrorCode::RequestTimeout,
            spelled: "RequestTimeout",
            message: "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
            outcome: Outcome::ClientTimeout,
            reason: None,
        },
        Row {
            err: ProxyError::ClientBody(io("client went away")),
            status: 400,
            code: S3ErrorCode::IncompleteBody,
            spelled: "IncompleteBody",
            message: "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            outcome: Outcome::ClientAborted,
            reason: None,
        },
        Row {
            err: ProxyError::Unconfirmed {
                op: "PutObject",
                store: "seaweedfs",
                missing: "x-amz-server-side-encryption-customer-algorithm: AES256, once",
            },
            status: 502,
            code: S3ErrorCode::BadGateway,
            spelled: "BadGateway",
            message: "The object store did not confirm that it encrypted the data with the customer-provided key. Treat the write as failed.",
            outcome: Outcome::StoreUnconfirmed,
            reason: None,
        },
    ]
}

#[tokio::test]
async fn renders_every_proxy_error_as_its_s3_error_with_a_verdict() {
    for row in rows() {
        let id = RequestId::next();
        let context = row.err.to_string();
        let response = fail_with(get("/b/dir/k?uploadId=u&partNumber=1", Some(id)), row.err).await;
        assert_eq!(response.status().as_u16(), row.status, "{context}");
        assert_eq!(response.headers()[REQUEST_ID], id.as_str(), "{context}");
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/xml",
            "{context}"
        );
        assert_eq!(
            response.extensions().get::<Verdict>(),
            Some(&Verdict {
                outcome: row.outcome,
                code: row.code,
                reason: row.reason,
            }),
            "{context}"
        );
        let body = body_bytes(response.into_body()).await;
        let body = std::str::from_utf8(&body).expect("an XML error is UTF-8");
        let want = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Resource>/b/dir/k</Resource><RequestId>{id}</RequestId></Error>",
            row.spelled,
            quick_xml::escape::escape(row.message),
        );
        assert_eq!(body, want, "{context}");
    }
}

#[tokio::test]
async fn carries_argument_fields_and_escapes_the_resource() {
    let err = S3Error::new(
        S3ErrorCode::InvalidEncryptionAlgorithmError,
        "The Encryption request you specified is not valid. Supported value: AES256.",
    )
    .with_argument_name("x-amz-server-side-encryption")
    .with_argument_value("AES128");
    let response = fail_with(get("/b/a&b'c", None), err.into()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = body_bytes(response.into_body()).await;
    let body = std::str::from_utf8(&body).expect("UTF-8");
    assert!(
        body.contains("<ArgumentName>x-amz-server-side-encryption</ArgumentName><ArgumentValue>AES128</ArgumentValue>"),
        "{body}"
    );
    assert!(
        body.contains("<Resource>/b/a&amp;b&apos;c</Resource>"),
        "{body}"
    );
}

#[tokio::test]
async fn without_a_request_id_makes_one_and_uses_it_in_header_and_body() {
    let response = fail_with(get("/b/k", None), ProxyError::UpstreamTimeout).await;
    let id = response.headers()[REQUEST_ID]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let body = body_bytes(response.into_body()).await;
    let body = std::str::from_utf8(&body).expect("UTF-8");
    assert!(
        body.contains(&format!("<RequestId>{id}</RequestId>")),
        "{body}"
    );
}

#[tokio::test]
async fn head_gets_the_status_and_headers_without_a_body() {
    let id = RequestId::next();
    let mut req = get("/b/k", Some(id));
    *req.method_mut() = Method::HEAD;
    let err = S3Error::new(
        S3ErrorCode::AccessDenied,
        "Access Denied: SSE-C is not allowed on this bucket.",
    )
    .with_reason(Reason::PolicyForbid);
    let response = fail_with(req, err.into()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()[REQUEST_ID], id.as_str());
    assert_eq!(response.headers()[CONTENT_LENGTH], "0");
    assert!(response.headers().get(CONTENT_TYPE).is_none());
    assert_eq!(
        response.extensions().get::<Verdict>(),
        Some(&Verdict {
            outcome: Outcome::Rejected,
            code: S3ErrorCode::AccessDenied,
            reason: Some(Reason::PolicyForbid),
        })
    );
    assert!(body_bytes(response.into_body()).await.is_empty());
}

#[tokio::test]
async fn passes_answers_through_untouched() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(ErrorResponseLayer)
        .service(recorder(&log, |_| {
            Ok(answer(
                StatusCode::PARTIAL_CONTENT,
                &[("etag", "\"e\""), ("x-amz-request-id", "STORE-ID")],
                "store bytes",
            ))
        }));
    let mut req = Request::builder()
        .method(Method::GET)
        .uri("/b/k?versionId=1")
        .header("range", "bytes=0-10")
        .body(Full::new(Bytes::from_static(b"sent")))
        .expect("a test request");
    let id = RequestId::next();
    req.extensions_mut().insert(id);
    let Ok(response) = svc.oneshot(req).await;
    let seen = log.only();
    assert_eq!(seen.method, Method::GET);
    assert_eq!(seen.uri, "/b/k?versionId=1");
    assert_eq!(seen.headers["range"], "bytes=0-10");
    assert_eq!(seen.extensions.get::<RequestId>(), Some(&id));
    assert_eq!((&seen.body[..], seen.body_error), (&b"sent"[..], None));
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.headers()["etag"], "\"e\"");
    assert_eq!(response.headers()[REQUEST_ID], "STORE-ID");
    assert_eq!(response.headers().len(), 2);
    assert!(response.extensions().get::<Verdict>().is_none());
    assert_eq!(body_bytes(response.into_body()).await, "store bytes");
}

#[tokio::test]
async fn an_http1_request_with_a_body_is_refused_with_connection_close() {
    let refused = || ProxyError::Rejected(S3Error::new(S3ErrorCode::InvalidArgument, "no"));
    let with_body = |version| {
        Request::builder()
            .method(Method::PUT)
            .uri("/b/k")
            .version(version)
            .body(Full::new(Bytes::from_static(b"body")))
            .expect("a test request")
    };
    let response = fail_with_body(with_body(http::Version::HTTP_11), refused()).await;
    assert_eq!(response.headers()[http::header::CONNECTION], "close");
    // HTTP/2 has no Connection header; a request without a body leaves the connection
    // reusable.
    let response = fail_with_body(with_body(http::Version::HTTP_2), refused()).await;
    assert!(!response.headers().contains_key(http::header::CONNECTION));
    let response = fail_with(get("/b/k", None), refused()).await;
    assert!(!response.headers().contains_key(http::header::CONNECTION));
}
