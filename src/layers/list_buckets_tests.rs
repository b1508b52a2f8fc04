//! The ListBuckets layer in process: a scoped client's successful answer cut down to its
//! buckets with a Content-Length that matches; unscoped clients, passthrough mode, other
//! operations and error answers untouched; an unreadable or oversized answer refused,
//! never passed on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::config::{ClientSettings, ResignSettings, SecretSource, StoreCredentialSettings};
use crate::credentials::Credentials;
use crate::layers::test_support::streaming::verified;
use crate::layers::test_support::{
    Answer, Log, Seen, TestBody, answer, body_bytes, recorder, stalled, target,
};
use crate::s3::sigv4::PayloadMode;
use crate::secret::secret_access_key;

const SCOPED: &str = "SCOPEDACCESSKEY00001";
const EVERY: &str = "EVERYACCESSKEY000001";

fn credentials() -> LiveCredentials {
    let secret = |s: &str| SecretSource::Inline(secret_access_key(s.as_bytes(), 1).unwrap());
    let client = |access_key: &str, buckets| ClientSettings {
        access_key: access_key.into(),
        secret: secret("client-secret-0123456789"),
        buckets,
        manage_access: false,
    };
    let settings = ResignSettings {
        region: "us-east-1".into(),
        binding_key_file: None,
        clients: vec![
            client(
                SCOPED,
                BucketScope::Only(vec![
                    glob::Pattern::new("app-*").unwrap(),
                    glob::Pattern::new("shared").unwrap(),
                ]),
            ),
            client(EVERY, BucketScope::All),
        ],
        store: StoreCredentialSettings {
            access_key: "store".into(),
            secret: secret("store-secret"),
            region: "us-east-1".into(),
        },
        bucket_keys: Vec::new(),
    };
    Arc::new(ArcSwapOption::from_pointee(
        Credentials::load(&settings).unwrap(),
    ))
}

fn bucket(name: &str) -> String {
    format!(
        "<Bucket><Name>{name}</Name><CreationDate>2026-11-30T00:00:00.000Z</CreationDate></Bucket>"
    )
}

/// A store's answer listing `names`, with a continuation token.
fn listing(names: &[&str]) -> String {
    listing_with(names, "<ContinuationToken>t</ContinuationToken>")
}

/// What a scoped client is shown of a listing holding `names` (and others).
fn shown(names: &[&str]) -> String {
    listing_with(names, "")
}

fn listing_with(names: &[&str], token: &str) -> String {
    let buckets: String = names.iter().map(|n| bucket(n)).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>o</ID><DisplayName>o</DisplayName></Owner><Buckets>{buckets}</Buckets>{token}</ListAllMyBucketsResult>"
    )
}

/// A request as the auth layer leaves it: `op`, signed by `access_key` (`None`: not
/// verified, as in passthrough mode).
fn request(op: S3Op, access_key: Option<&str>) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .uri("/")
        .body(Full::default())
        .expect("a test request");
    let bucket = (op != S3Op::ListBuckets).then_some("other");
    req.extensions_mut().insert(target(op, bucket, None, None));
    if let Some(access_key) = access_key {
        let mut v = verified(PayloadMode::Unsigned);
        v.access_key_id = access_key.to_owned();
        req.extensions_mut().insert(v);
    }
    req
}

fn store_answers(
    status: StatusCode,
    body: impl Into<Bytes>,
) -> impl Fn(&Seen) -> Answer + Send + Sync + 'static {
    let body = body.into();
    move |_| {
        let length = body.len().to_string();
        Ok(answer(
            status,
            &[
                ("content-type", "application/xml"),
                ("content-length", &length),
                ("x-amz-request-id", "STORE"),
            ],
            body.clone(),
        ))
    }
}

async fn send(
    credentials: LiveCredentials,
    req: Request<Full<Bytes>>,
    reply: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
) -> (Log, Result<Response<Buffered<Full<Bytes>>>, ProxyError>) {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(ListBucketsLayer::new(credentials))
        .service(recorder(&log, reply));
    let result = svc.oneshot(req).await;
    (log, result)
}

/// The answer's Content-Length and body, which must agree.
async fn received(response: Response<Buffered<Full<Bytes>>>) -> (StatusCode, String) {
    let status = response.status();
    let length = response.headers()[CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .to_owned();
    let body = body_bytes(response.into_body()).await;
    assert_eq!(length, body.len().to_string(), "Content-Length matches");
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_scoped_client_sees_only_the_buckets_it_may_use() {
    let all = listing(&["app-a", "other-b", "shared", "shared-not", "app-c"]);
    let (log, result) = send(
        credentials(),
        request(S3Op::ListBuckets, Some(SCOPED)),
        store_answers(StatusCode::OK, all),
    )
    .await;
    assert_eq!(log.calls(), 1, "forwarded to the store");
    let (status, body) = received(result.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, shown(&["app-a", "shared", "app-c"]));
}

#[tokio::test]
async fn a_scoped_client_lists_without_paging() {
    let target = "/?max-buckets=1&prefix=app-&continuation-token=b3RoZXI%3D&bucket-region=r";
    for (access_key, forwarded) in [(SCOPED, "/?prefix=app-&bucket-region=r"), (EVERY, target)] {
        let mut req = request(S3Op::ListBuckets, Some(access_key));
        *req.uri_mut() = target.parse().unwrap();
        let (log, result) = send(
            credentials(),
            req,
            store_answers(StatusCode::OK, listing(&[])),
        )
        .await;
        assert_eq!(log.only().uri, forwarded, "{access_key}");
        result.unwrap();
    }
    let mut req = request(S3Op::ListBuckets, Some(SCOPED));
    *req.uri_mut() = "/?max-buckets=1&continuation-token=x".parse().unwrap();
    let (log, _) = send(
        credentials(),
        req,
        store_answers(StatusCode::OK, listing(&[])),
    )
    .await;
    assert_eq!(log.only().uri, "/");
}

#[tokio::test]
async fn unscoped_clients_passthrough_and_other_operations_pass_unread() {
    let all = listing(&["app-a", "other-b"]);
    let cases = [
        (credentials(), request(S3Op::ListBuckets, Some(EVERY))),
        (
            Arc::new(ArcSwapOption::empty()),
            request(S3Op::ListBuckets, None),
        ),
        (credentials(), request(S3Op::ListObjectsV2, Some(SCOPED))),
    ];
    for (credentials, req) in cases {
        let (_, result) = send(credentials, req, store_answers(StatusCode::OK, all.clone())).await;
        let (_, body) = received(result.unwrap()).await;
        assert_eq!(body, all);
    }
}

/// The answer of a store whose body never ends, as the layer hands it on.
async fn against_a_stalled_body(
    access_key: &str,
) -> Option<Result<Response<Buffered<TestBody>>, ProxyError>> {
    let svc = ServiceBuilder::new()
        .layer(ListBucketsLayer::new(credentials()))
        .service_fn(|_req: Request<Full<Bytes>>| async {
            Ok::<_, ProxyError>(Response::new(stalled(&[b"<ListAllMyBucketsResult>"])))
        });
    let req = request(S3Op::ListBuckets, Some(access_key));
    tokio::time::timeout(Duration::from_millis(300), svc.oneshot(req))
        .await
        .ok()
}

#[tokio::test]
async fn an_unscoped_answer_is_handed_on_unread() {
    let response = against_a_stalled_body(EVERY).await.expect("not read");
    assert_eq!(response.unwrap().status(), StatusCode::OK);
    // The control: a scoped client's answer is read before it is handed on.
    assert!(against_a_stalled_body(SCOPED).await.is_none());
}

#[tokio::test]
async fn a_store_error_passes_unchanged() {
    let error = "<Error><Code>AccessDenied</Code><Message>no</Message></Error>";
    let (_, result) = send(
        credentials(),
        request(S3Op::ListBuckets, Some(SCOPED)),
        store_answers(StatusCode::FORBIDDEN, error),
    )
    .await;
    let (status, body) = received(result.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, error);
}

#[tokio::test]
async fn a_malformed_answer_is_a_bad_gateway_and_leaks_nothing() {
    for broken in [
        listing(&["other-secret", "app-a"]).replace("</ListAllMyBucketsResult>", ""),
        listing(&["other-secret"]).replace("<Name>other-secret</Name>", ""),
        "<Error><Code>x</Code><Bucket><Name>other-secret</Name></Bucket></Error>".to_owned(),
    ] {
        let (_, result) = send(
            credentials(),
            request(S3Op::ListBuckets, Some(SCOPED)),
            store_answers(StatusCode::OK, broken.clone()),
        )
        .await;
        let Err(e) = result else {
            panic!("passed: {broken}");
        };
        assert!(matches!(e, ProxyError::BadGateway(_)), "{e:?} for {broken}");
        let s3 = e.to_s3();
        assert_eq!(s3.code, S3ErrorCode::BadGateway);
        assert!(!s3.message.contains("other-secret"));
        assert!(!crate::error::chain(&e).contains("other-secret"));
    }
}

#[tokio::test]
async fn an_answer_past_the_bound_is_refused_not_passed() {
    let huge = listing(&["app-a"]).replace(
        "<Buckets>",
        &format!("<Buckets><!--{}-->", "x".repeat(MAX_LIST)),
    );
    let (_, result) = send(
        credentials(),
        request(S3Op::ListBuckets, Some(SCOPED)),
        store_answers(StatusCode::OK, huge),
    )
    .await;
    let Err(ProxyError::Rejected(e)) = result else {
        panic!("not refused");
    };
    assert_eq!(e.code, S3ErrorCode::NotImplemented);
    assert_eq!(e.reason, Some(Reason::ClientScope));
}

#[tokio::test]
async fn a_client_gone_from_the_table_sees_nothing() {
    let (log, result) = send(
        credentials(),
        request(S3Op::ListBuckets, Some("REMOVEDACCESSKEY0001")),
        store_answers(StatusCode::OK, listing(&["app-a"])),
    )
    .await;
    assert_eq!(log.calls(), 0);
    let Err(ProxyError::Rejected(e)) = result else {
        panic!("not refused");
    };
    assert_eq!(e.code, S3ErrorCode::AccessDenied);
}

#[tokio::test]
async fn a_bucket_name_with_xml_escapes_is_read_resolved() {
    // "app-&#120;" is "app-x" (allowed, kept as spelt); "&#111;ther" is "other".
    let all = listing(&["app-&#120;", "&#111;ther", "app-&lt;"]);
    let (_, result) = send(
        credentials(),
        request(S3Op::ListBuckets, Some(SCOPED)),
        store_answers(StatusCode::OK, all),
    )
    .await;
    let (_, body) = received(result.unwrap()).await;
    assert_eq!(body, shown(&["app-&#120;", "app-&lt;"]));
}
