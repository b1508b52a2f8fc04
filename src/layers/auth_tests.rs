//! The auth layer: passthrough untouched; in resign mode every request verified before
//! the inner service sees it, the `Verified` left for the layers below, the client's
//! bucket scope enforced for targets and copy sources.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use http::{HeaderValue, Method, Request};
use http_body_util::Empty;
use tower::ServiceExt as _;

use super::*;
use crate::config::{
    BucketScope, ClientSettings, ResignSettings, SecretSource, StoreCredentialSettings,
};
use crate::layers::test_support::{Log, ok_recorder};
use crate::s3::headers::CONTENT_SHA256;
use crate::s3::sigv4::{EMPTY_SHA256, SecretKey};
use crate::secret::secret_access_key;

const APP: &str = "APPACCESSKEY00000001";
const APP_SECRET: &str = "app-secret-0123456789abcdefghij";
const OPS: &str = "OPSACCESSKEY00000001";
const OPS_SECRET: &str = "ops-secret-0123456789abcdefghij";

fn credentials() -> LiveCredentials {
    let secret = |s: &str| SecretSource::Inline(secret_access_key(s.as_bytes(), 1).unwrap());
    let settings = ResignSettings {
        region: "us-east-1".into(),
        binding_key_file: None,
        clients: vec![
            ClientSettings {
                access_key: APP.into(),
                secret: secret(APP_SECRET),
                buckets: BucketScope::Only(vec![glob::Pattern::new("app-*").unwrap()]),
                manage_access: false,
            },
            ClientSettings {
                access_key: OPS.into(),
                secret: secret(OPS_SECRET),
                buckets: BucketScope::All,
                manage_access: true,
            },
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

/// A GET of `path` as the classify layer leaves it, signed by `access_key`/`secret`.
fn signed(
    method: Method,
    path: &str,
    bucket: Option<&str>,
    access_key: &str,
    secret: &str,
) -> Request<Empty<bytes::Bytes>> {
    signed_at(
        method,
        path,
        bucket,
        access_key,
        secret,
        SystemTime::now(),
        &[],
    )
}

fn signed_at(
    method: Method,
    path: &str,
    bucket: Option<&str>,
    access_key: &str,
    secret: &str,
    at: SystemTime,
    extra: &[(&'static str, &str)],
) -> Request<Empty<bytes::Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, "proxy.test:8443")
        .header(CONTENT_SHA256, EMPTY_SHA256)
        .body(Empty::new())
        .unwrap();
    for (name, value) in extra {
        req.headers_mut()
            .insert(*name, HeaderValue::from_str(value).unwrap());
    }
    let parts = sigv4::Parts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
    };
    let creds = sigv4::Credentials {
        access_key_id: access_key.into(),
        secret_key: SecretKey::new(secret),
    };
    let payload = req.headers()[CONTENT_SHA256].to_str().unwrap().to_owned();
    let signed = sigv4::sign(&parts, &payload, &creds, "us-east-1", "s3", at).unwrap();
    let headers = req.headers_mut();
    headers.insert(http::header::AUTHORIZATION, signed.authorization);
    headers.insert(crate::s3::headers::AMZ_DATE, signed.x_amz_date);
    req.extensions_mut().insert(S3Request {
        op: if bucket.is_some() {
            S3Op::GetObject
        } else {
            S3Op::ListBuckets
        },
        bucket: bucket.map(str::to_owned),
        key: bucket.map(|_| "k".to_owned()),
        upload_id: None,
    });
    req.extensions_mut()
        .insert(ClientHost(HeaderValue::from_static("proxy.test:8443")));
    req
}

async fn call(
    credentials: LiveCredentials,
    req: Request<Empty<bytes::Bytes>>,
) -> (Log, Result<(), S3Error>) {
    let log = Log::default();
    let svc = AuthLayer::new(credentials).layer(ok_recorder(&log));
    let result = svc.oneshot(req).await.map(|_| ()).map_err(|e| e.to_s3());
    (log, result)
}

fn code(result: &Result<(), S3Error>) -> S3ErrorCode {
    result.as_ref().expect_err("refused").code
}

#[tokio::test]
async fn passthrough_requests_pass_untouched_and_unverified() {
    let req = signed(Method::GET, "/b/k", Some("b"), "someone", "whatever-secret");
    let (log, result) = call(Arc::new(ArcSwapOption::empty()), req).await;
    result.unwrap();
    let seen = log.only();
    assert!(seen.extensions.get::<Verified>().is_none());
    assert!(seen.headers.contains_key(http::header::AUTHORIZATION));
}

#[tokio::test]
async fn a_correctly_signed_request_reaches_the_store_with_its_verification() {
    let req = signed(Method::GET, "/app-1/k", Some("app-1"), APP, APP_SECRET);
    let (log, result) = call(credentials(), req).await;
    result.unwrap();
    let verified = log.only().extensions.get::<Verified>().cloned().unwrap();
    assert_eq!(verified.access_key_id, APP);
}

#[tokio::test]
async fn a_wrong_secret_is_signature_does_not_match_and_nothing_is_forwarded() {
    let req = signed(Method::GET, "/app-1/k", Some("app-1"), APP, OPS_SECRET);
    let (log, result) = call(credentials(), req).await;
    assert_eq!(code(&result), S3ErrorCode::SignatureDoesNotMatch);
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn an_unknown_access_key_is_invalid_access_key_id() {
    let req = signed(
        Method::GET,
        "/app-1/k",
        Some("app-1"),
        "NOBODY0000000000",
        APP_SECRET,
    );
    let (log, result) = call(credentials(), req).await;
    assert_eq!(code(&result), S3ErrorCode::InvalidAccessKeyId);
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn an_unsigned_request_is_access_denied() {
    let mut req = signed(Method::GET, "/app-1/k", Some("app-1"), APP, APP_SECRET);
    req.headers_mut().remove(http::header::AUTHORIZATION);
    let (log, result) = call(credentials(), req).await;
    assert_eq!(code(&result), S3ErrorCode::AccessDenied);
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn a_request_signed_twenty_minutes_ago_is_too_skewed() {
    let at = SystemTime::now() - Duration::from_secs(20 * 60);
    let req = signed_at(
        Method::GET,
        "/app-1/k",
        Some("app-1"),
        APP,
        APP_SECRET,
        at,
        &[],
    );
    let (log, result) = call(credentials(), req).await;
    assert_eq!(code(&result), S3ErrorCode::RequestTimeTooSkewed);
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn a_scoped_client_is_refused_other_buckets_and_bucketless_operations_but_listing() {
    let other = signed(Method::GET, "/other/k", Some("other"), APP, APP_SECRET);
    let mut preflight = signed(Method::OPTIONS, "/", None, APP, APP_SECRET);
    preflight.extensions_mut().insert(S3Request {
        op: S3Op::CorsPreflight,
        bucket: None,
        key: None,
        upload_id: None,
    });
    for req in [other, preflight] {
        let path = req.uri().path().to_owned();
        let (log, result) = call(credentials(), req).await;
        let e = result.expect_err("outside the client's buckets");
        assert_eq!(e.code, S3ErrorCode::AccessDenied, "{path}");
        assert_eq!(e.reason, Some(Reason::ClientScope));
        assert_eq!(log.calls(), 0);
    }
    // Both may list buckets; the scoped client's answer is filtered further down.
    for (access, secret) in [(APP, APP_SECRET), (OPS, OPS_SECRET)] {
        let req = signed(Method::GET, "/", None, access, secret);
        let (log, result) = call(credentials(), req).await;
        result.unwrap();
        assert_eq!(log.calls(), 1);
    }
}

#[tokio::test]
async fn a_copy_source_outside_the_clients_buckets_is_refused() {
    for (source, allowed) in [
        ("/other/secret.txt", false),
        ("other/secret.txt", false),
        ("/app-2/k?versionId=1", true),
    ] {
        let req = signed_at(
            Method::PUT,
            "/app-1/k",
            Some("app-1"),
            APP,
            APP_SECRET,
            SystemTime::now(),
            &[("x-amz-copy-source", source)],
        );
        let (log, result) = call(credentials(), req).await;
        assert_eq!(result.is_ok(), allowed, "{source}");
        assert_eq!(log.calls(), usize::from(allowed));
    }
}

/// `req` as the classify layer would leave an `op` on bucket `app-1`.
fn as_op(mut req: Request<Empty<bytes::Bytes>>, op: S3Op) -> Request<Empty<bytes::Bytes>> {
    let s3 = req.extensions_mut().get_mut::<S3Request>().unwrap();
    s3.op = op;
    req
}

#[tokio::test]
async fn only_a_client_that_manages_access_may_change_acls_and_bucket_policies() {
    use crate::s3::op::BucketSub;
    let changes = [
        S3Op::PutBucketConfig(BucketSub::Acl),
        S3Op::PutBucketConfig(BucketSub::Policy),
        S3Op::DeleteBucketConfig(BucketSub::Policy),
        S3Op::PutBucketConfig(BucketSub::PublicAccessBlock),
        S3Op::DeleteBucketConfig(BucketSub::PublicAccessBlock),
        S3Op::PutBucketConfig(BucketSub::OwnershipControls),
        S3Op::DeleteBucketConfig(BucketSub::OwnershipControls),
        S3Op::PutBucketConfig(BucketSub::Website),
        S3Op::PutObjectAcl,
    ];
    let others = [
        S3Op::GetBucketConfig(BucketSub::Acl),
        S3Op::GetBucketConfig(BucketSub::Policy),
        S3Op::GetObjectAcl,
        S3Op::PutBucketConfig(BucketSub::Cors),
        S3Op::PutBucketConfig(BucketSub::Tagging),
        S3Op::PutObject,
    ];
    for (op, changes_access) in changes
        .iter()
        .map(|op| (op, true))
        .chain(others.iter().map(|op| (op, false)))
    {
        for (access, secret, manages) in [(APP, APP_SECRET, false), (OPS, OPS_SECRET, true)] {
            let req = signed(Method::PUT, "/app-1/k", Some("app-1"), access, secret);
            let (log, result) = call(credentials(), as_op(req, *op)).await;
            if changes_access && !manages {
                let e = result.expect_err("an access change");
                assert_eq!(e.code, S3ErrorCode::AccessDenied, "{op:?}");
                assert_eq!(e.reason, Some(Reason::ClientAccessControl), "{op:?}");
                assert_eq!(log.calls(), 0, "{op:?}");
            } else {
                result.unwrap_or_else(|e| panic!("{op:?} by {access}: {e:?}"));
                assert_eq!(log.calls(), 1);
            }
        }
    }
}

#[tokio::test]
async fn acl_headers_granting_more_than_the_owner_need_manage_access() {
    for (name, value, grants) in [
        ("x-amz-acl", "public-read-write", true),
        ("x-amz-acl", "public-read", true),
        ("x-amz-acl", "authenticated-read", true),
        ("x-amz-acl", "Private", true),
        (
            "x-amz-grant-write",
            "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
            true,
        ),
        ("x-amz-grant-full-control", "id=\"someone\"", true),
        ("x-amz-acl", "private", false),
        ("x-amz-acl", "bucket-owner-full-control", false),
        ("x-amz-meta-acl", "public-read-write", false),
    ] {
        for (access, secret, manages) in [(APP, APP_SECRET, false), (OPS, OPS_SECRET, true)] {
            let req = signed_at(
                Method::PUT,
                "/app-1/k",
                Some("app-1"),
                access,
                secret,
                SystemTime::now(),
                &[(name, value)],
            );
            let (log, result) = call(credentials(), as_op(req, S3Op::PutObject)).await;
            let refused = grants && !manages;
            assert_eq!(result.is_err(), refused, "{name}: {value} by {access}");
            if let Err(e) = result {
                assert_eq!(e.reason, Some(Reason::ClientAccessControl));
            }
            assert_eq!(log.calls(), usize::from(!refused));
        }
    }
}

#[tokio::test]
async fn acls_in_the_query_of_a_presigned_url_need_manage_access() {
    for (query, grants) in [
        ("x-amz-acl=public-read-write", true),
        ("X-Amz-Acl=public-read", true),
        ("x-amz-grant-read=uri%3Dx", true),
        ("x-amz-acl=private", false),
        ("acl", false),
    ] {
        for (access, secret, manages) in [(APP, APP_SECRET, false), (OPS, OPS_SECRET, true)] {
            let path = format!("/app-1/k?{query}");
            let req = signed(Method::PUT, &path, Some("app-1"), access, secret);
            let (log, result) = call(credentials(), as_op(req, S3Op::PutObject)).await;
            let refused = grants && !manages;
            assert_eq!(result.is_err(), refused, "{query} by {access}");
            assert_eq!(log.calls(), usize::from(!refused));
        }
    }
}

#[test]
fn headers_grant_access_with_a_public_acl_or_any_grant() {
    assert!(grants_access("x-amz-acl", b"public-read-write"));
    assert!(grants_access("x-amz-acl", b"public-read"));
    assert!(grants_access("x-amz-acl", b"authenticated-read"));
    assert!(grants_access("x-amz-grant-read", b"uri=x"));
    assert!(!grants_access("x-amz-acl", b"private"));
    assert!(!grants_access("x-amz-acl", b"bucket-owner-read"));
    assert!(!grants_access("x-amz-acl", b"bucket-owner-full-control"));
    assert!(!grants_access("acl", b"public-read"));
    assert!(!grants_access("x-amz-meta-grant-read", b"x"));
}

#[tokio::test]
async fn an_http2_request_verifies_with_its_authority_as_host() {
    let mut req = signed(Method::GET, "/app-1/k", Some("app-1"), APP, APP_SECRET);
    req.headers_mut().remove(HOST);
    let (log, result) = call(credentials(), req).await;
    result.unwrap();
    assert!(!log.only().headers.contains_key(HOST));
}

fn form_upload(bucket: &str) -> S3Request {
    S3Request {
        op: S3Op::PostObject,
        bucket: Some(bucket.to_owned()),
        key: None,
        upload_id: None,
    }
}

#[tokio::test]
async fn a_form_upload_passes_unverified_with_its_table_for_the_form_check() {
    // No header signature: a browser form carries its signature in its fields.
    let mut req = Request::post("/app-1")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    req.extensions_mut().insert(form_upload("app-1"));
    let seen = Arc::new(std::sync::Mutex::new(None));
    let inner = {
        let seen = Arc::clone(&seen);
        tower::service_fn(move |req: Request<Empty<bytes::Bytes>>| {
            let ext = req.extensions();
            *seen.lock().unwrap() = Some((
                ext.get::<Verified>().is_some(),
                ext.get::<FormAuthPending>().is_some(),
            ));
            async { Ok::<_, ProxyError>(http::Response::new(())) }
        })
    };
    AuthLayer::new(credentials())
        .layer(inner)
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), Some((false, true)));
}

#[tokio::test]
async fn a_form_upload_to_a_store_entry_point_is_refused() {
    let mut req = Request::post("/admin")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    req.extensions_mut().insert(form_upload("admin"));
    let (log, result) = call(credentials(), req).await;
    assert_eq!(code(&result), S3ErrorCode::NotImplemented);
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn only_s3_operations_the_proxy_recognises_are_signed_for_the_store() {
    for (op, bucket) in [
        (S3Op::Unknown, Some("app-1")),
        (S3Op::GetObject, Some("admin")),
        (S3Op::GetObject, Some("swift")),
        (S3Op::GetObject, Some("auth")),
        (S3Op::GetObject, Some("Admin")),
    ] {
        let mut req = signed(Method::GET, "/x/k", bucket, OPS, OPS_SECRET);
        let s3 = req.extensions_mut().get_mut::<S3Request>().unwrap();
        s3.op = op;
        let (log, result) = call(credentials(), req).await;
        let e = result.expect_err("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented, "{op:?} {bucket:?}");
        assert_eq!(e.reason, Some(Reason::ResignUnsupported));
        assert_eq!(log.calls(), 0);
    }
}

#[tokio::test]
async fn a_copy_source_that_is_not_text_is_outside_every_scope() {
    let mut req = signed(Method::PUT, "/app-1/k", Some("app-1"), APP, APP_SECRET);
    req.headers_mut().insert(
        "x-amz-copy-source",
        HeaderValue::from_bytes(b"/other/secr\xc3\xa9t").unwrap(),
    );
    let credentials = credentials();
    let table = credentials.load_full().unwrap();
    let verified = authenticate(&req, &table, SystemTime::now());
    // Unsigned here, so refused either way; the scope check alone must refuse too.
    assert!(verified.is_err());
    let fake = Verified {
        access_key_id: APP.into(),
        ..signed_verified()
    };
    let e = check_scope(
        &table,
        &fake.access_key_id,
        req.extensions().get::<S3Request>(),
        req.headers(),
        req.uri().query(),
    )
    .unwrap_err();
    assert_eq!(e.reason, Some(Reason::ClientScope));
}

/// A verification of a correctly signed request, to build others from.
fn signed_verified() -> Verified {
    let req = signed(Method::GET, "/app-1/k", Some("app-1"), APP, APP_SECRET);
    let table = credentials().load_full().unwrap();
    authenticate(&req, &table, SystemTime::now()).unwrap()
}

#[tokio::test]
async fn a_streaming_upload_without_its_decoded_length_is_refused() {
    let req = signed_at(
        Method::PUT,
        "/app-1/k",
        Some("app-1"),
        APP,
        APP_SECRET,
        SystemTime::now(),
        &[("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")],
    );
    let (log, result) = call(credentials(), req).await;
    assert_eq!(code(&result), S3ErrorCode::MissingContentLength);
    assert_eq!(log.calls(), 0);
}
