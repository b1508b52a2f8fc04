//! The POST Object layer in resign mode: the form's signature, the client's scope and
//! the policy are checked before the inner service is called; what it gets is the form
//! re-signed for the store with a matching Content-Length; a file outside
//! `content-length-range` never reaches it whole.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::config::{
    BucketScope, ClientSettings, ResignSettings, SecretSource, StoreCredentialSettings,
};
use crate::credentials::Credentials;
use crate::layers::test_support::{Log, TestBody, answer, pieces, recorder, rejected, target};
use crate::s3::error::{Reason, S3ErrorCode};
use crate::s3::form::policy::PostPolicy;
use crate::s3::sigv4::{AmzDate, FormSigned, SecretKey, SigningKey, Verifier};
use crate::secret::secret_access_key;

const APP: &str = "APPACCESSKEY00000001";
const APP_SECRET: &str = "app-secret-0123456789abcdefghij";
const STORE: &str = "STOREKEY";
const STORE_SECRET: &str = "store-secret-0123456789";
const B: &str = "XyZ";

fn table() -> Arc<Credentials> {
    let secret = |s: &str| SecretSource::Inline(secret_access_key(s.as_bytes(), 1).unwrap());
    let settings = ResignSettings {
        region: "us-east-1".into(),
        binding_key_file: None,
        clients: vec![ClientSettings {
            access_key: APP.into(),
            secret: secret(APP_SECRET),
            buckets: BucketScope::Only(vec![glob::Pattern::new("app-*").unwrap()]),
            manage_access: false,
        }],
        store: StoreCredentialSettings {
            access_key: STORE.into(),
            secret: secret(STORE_SECRET),
            region: "store-region".into(),
        },
        bucket_keys: Vec::new(),
    };
    Arc::new(Credentials::load(&settings).unwrap())
}

/// What the client's policy says.
struct Policy {
    expires_in: i64,
    key: &'static str,
    range: Option<(u64, u64)>,
}

const GOOD: Policy = Policy {
    expires_in: 600,
    key: "k é",
    range: Some((2, 20)),
};

/// The client's fields, signed by `APP` (or with `signature` in place of its own).
fn fields(bucket: &str, key: &str, policy: &Policy, signature: Option<&str>) -> String {
    let now = SystemTime::now();
    let date = AmzDate::from_system_time(now);
    let credential = format!("{APP}/{}/us-east-1/s3/aws4_request", date.date());
    let expiration = if policy.expires_in >= 0 {
        now + Duration::from_secs(policy.expires_in.unsigned_abs())
    } else {
        now - Duration::from_secs(policy.expires_in.unsigned_abs())
    };
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!(["eq", "$key", policy.key]),
        json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
        json!({ "x-amz-credential": credential }),
        json!({ "x-amz-date": date.as_str() }),
    ];
    if let Some((min, max)) = policy.range {
        conditions.push(json!(["content-length-range", min, max]));
    }
    let expiration = humantime::format_rfc3339_seconds(expiration).to_string();
    let document = json!({ "expiration": expiration, "conditions": conditions });
    let encoded = STANDARD.encode(document.to_string());
    let signing = SigningKey::derive(&SecretKey::new(APP_SECRET), date.date(), "us-east-1", "s3");
    let own = signing.sign(encoded.as_bytes());
    let signature = signature.unwrap_or(own.as_str());
    let mut out = String::new();
    for (name, value) in [
        ("key", key),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("x-amz-credential", &credential),
        ("x-amz-date", date.as_str()),
        ("policy", &encoded),
        ("x-amz-signature", signature),
    ] {
        out.push_str(&format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    out
}

const FILE_HEAD: &str =
    "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\n";
const CLOSE: &str = "\r\n--XyZ--\r\n";

/// A form upload to `bucket` in resign mode, with a Content-Length.
fn form(bucket: &str, frames: &[&[u8]]) -> Request<TestBody> {
    let length: usize = frames.iter().map(|f| f.len()).sum();
    let mut req = chunked_form(bucket, frames);
    req.headers_mut().insert(CONTENT_LENGTH, length.into());
    req
}

/// A form upload to `bucket` in resign mode, without a Content-Length.
fn chunked_form(bucket: &str, frames: &[&[u8]]) -> Request<TestBody> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/{bucket}"))
        .header("content-type", format!("multipart/form-data; boundary={B}"))
        .body(pieces(frames))
        .unwrap();
    let ext = req.extensions_mut();
    ext.insert(target(S3Op::PostObject, Some(bucket), None, None));
    ext.insert(ConnInfo {
        tls: true,
        client: None,
    });
    ext.insert(FormAuthPending(table()));
    req
}

async fn post(req: Request<TestBody>) -> (Result<Response<Full<Bytes>>, ProxyError>, Log) {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(PostObjectLayer::new(Duration::from_secs(10)))
        .service(recorder(&log, |_| {
            Ok(answer(StatusCode::NO_CONTENT, &[], ""))
        }));
    (svc.oneshot(req).await, log)
}

/// Sends a one-frame form and expects a refusal before the inner service.
async fn refused(bucket: &str, body: &str) -> S3Error {
    let (result, log) = post(form(bucket, &[body.as_bytes()])).await;
    let e = rejected(result);
    assert_eq!(log.calls(), 0, "a refused form reached the store");
    e
}

#[tokio::test]
async fn a_signed_form_reaches_the_store_resigned_with_its_length() {
    let head = format!("{}{FILE_HEAD}", fields("app-1", GOOD.key, &GOOD, None));
    let file = b"file bytes";
    let (result, log) = post(form("app-1", &[head.as_bytes(), file, CLOSE.as_bytes()])).await;
    assert_eq!(result.unwrap().status(), StatusCode::NO_CONTENT);
    let seen = log.only();
    assert_eq!(seen.body_error, None);
    assert_eq!(
        seen.headers[CONTENT_LENGTH].to_str().unwrap(),
        seen.body.len().to_string()
    );
    let signed = seen.extensions.get::<FormSigned>().unwrap();
    assert_eq!(signed.access_key_id, APP);
    let store_form = match form::parse(&seen.body, B) {
        Parsed::Fields(f) => f,
        other => panic!("{other:?}"),
    };
    assert_eq!(store_form.get("key"), Some(GOOD.key.as_bytes()));
    let store_table =
        std::collections::HashMap::from([(STORE.to_owned(), SecretKey::new(STORE_SECRET))]);
    let by = Verifier::new("store-region").verify_form(&store_form, &store_table);
    assert_eq!(by.unwrap().access_key_id, STORE);
    let policy = PostPolicy::decode(store_form.get("policy").unwrap()).unwrap();
    policy
        .check(&store_form, "app-1", None, SystemTime::now())
        .unwrap();
    let at = store_form.file_at().unwrap();
    assert_eq!(&seen.body[at..], [&file[..], CLOSE.as_bytes()].concat());
    // The SSE-C layer reads the client's fields.
    assert!(seen.extensions.get::<form::Fields>().is_some());
}

#[tokio::test]
async fn a_wrong_signature_an_expired_policy_or_a_failed_condition_is_refused() {
    let zeros = "0".repeat(64);
    let cases = [
        (
            fields("app-1", GOOD.key, &GOOD, Some(&zeros)),
            S3ErrorCode::SignatureDoesNotMatch,
            Reason::SigV4Signature,
        ),
        (
            fields(
                "app-1",
                GOOD.key,
                &Policy {
                    expires_in: -1,
                    ..GOOD
                },
                None,
            ),
            S3ErrorCode::AccessDenied,
            Reason::PostPolicy,
        ),
        (
            fields("app-1", "another key", &GOOD, None),
            S3ErrorCode::AccessDenied,
            Reason::PostPolicy,
        ),
        // Signed for another bucket: the policy's bucket condition fails.
        (
            fields("app-2", GOOD.key, &GOOD, None),
            S3ErrorCode::AccessDenied,
            Reason::PostPolicy,
        ),
    ];
    for (i, (fields, code, reason)) in cases.into_iter().enumerate() {
        let bucket = "app-1";
        let e = refused(bucket, &format!("{fields}{FILE_HEAD}data{CLOSE}")).await;
        assert_eq!(
            (e.code, e.reason),
            (code, Some(reason)),
            "case {i}: {}",
            e.message
        );
    }
}

#[tokio::test]
async fn a_bucket_outside_the_clients_scope_or_an_anonymous_form_is_access_denied() {
    let body = format!(
        "{}{FILE_HEAD}data{CLOSE}",
        fields("other", GOOD.key, &GOOD, None)
    );
    let e = refused("other", &body).await;
    assert_eq!(
        (e.code, e.reason),
        (S3ErrorCode::AccessDenied, Some(Reason::ClientScope))
    );
    let anonymous = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n{FILE_HEAD}data{CLOSE}"
    );
    let e = refused("app-1", &anonymous).await;
    assert_eq!(
        (e.code, e.reason),
        (S3ErrorCode::AccessDenied, Some(Reason::SigV4Missing))
    );
}

#[tokio::test]
async fn a_file_outside_the_length_range_never_reaches_the_store_whole() {
    let head = format!("{}{FILE_HEAD}", fields("app-1", GOOD.key, &GOOD, None));
    // Too large, found while streaming: the store gets no closing delimiter.
    let big = [b'x'; 64];
    let (result, log) = post(form(
        "app-1",
        &[head.as_bytes(), &big, &big, CLOSE.as_bytes()],
    ))
    .await;
    assert_eq!(rejected(result).code, S3ErrorCode::EntityTooLarge);
    let seen = log.only();
    assert!(seen.body_error.is_some());
    assert!(!seen.body.ends_with(CLOSE.as_bytes()));
    // Too small: known with the closing delimiter, which is held back.
    let (result, log) = post(form("app-1", &[head.as_bytes(), b"x", CLOSE.as_bytes()])).await;
    assert_eq!(rejected(result).code, S3ErrorCode::EntityTooSmall);
    let seen = log.only();
    assert!(!seen.body.ends_with(CLOSE.as_bytes()));
    // Too small in the bytes read with the fields: refused before the store.
    let whole = format!("{head}x{CLOSE}");
    let (result, log) = post(form("app-1", &[whole.as_bytes()])).await;
    assert_eq!(rejected(result).code, S3ErrorCode::EntityTooSmall);
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn a_form_without_content_length_stays_without_one() {
    let head = format!("{}{FILE_HEAD}", fields("app-1", GOOD.key, &GOOD, None));
    let req = chunked_form("app-1", &[head.as_bytes(), b"abc", CLOSE.as_bytes()]);
    let (result, log) = post(req).await;
    assert_eq!(result.unwrap().status(), StatusCode::NO_CONTENT);
    let seen = log.only();
    assert!(!seen.headers.contains_key(CONTENT_LENGTH));
    assert!(seen.body.ends_with(b"abc\r\n--XyZ--\r\n"));
}

#[tokio::test]
async fn amz_headers_on_a_form_are_refused_as_unsigned() {
    let body = format!(
        "{}{FILE_HEAD}abc{CLOSE}",
        fields("app-1", GOOD.key, &GOOD, None)
    );
    let mut req = form("app-1", &[body.as_bytes()]);
    req.headers_mut()
        .insert("x-amz-acl", http::HeaderValue::from_static("public-read"));
    let (result, log) = post(req).await;
    let e = rejected(result);
    assert_eq!(
        (e.code, e.reason),
        (S3ErrorCode::AccessDenied, Some(Reason::SigV4UnsignedHeader))
    );
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn a_forms_request_headers_but_its_framing_never_reach_the_store() {
    let body = format!(
        "{}{FILE_HEAD}abc{CLOSE}",
        fields("app-1", GOOD.key, &GOOD, None)
    );
    let mut req = form("app-1", &[body.as_bytes()]);
    for (name, value) in [
        ("cache-control", "max-age=31536000"),
        ("content-disposition", "attachment; filename=evil.html"),
        ("content-encoding", "gzip"),
        ("seaweed-evil", "1"),
        ("origin", "https://app.example"),
    ] {
        req.headers_mut()
            .insert(name, http::HeaderValue::from_static(value));
    }
    let (result, log) = post(req).await;
    assert_eq!(result.unwrap().status(), StatusCode::NO_CONTENT);
    let seen = log.only();
    let mut names: Vec<&str> = seen.headers.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["content-length", "content-type", "origin"]);
}

#[tokio::test]
async fn a_form_without_a_file_part_is_refused_before_the_store() {
    let body = format!("{}--{B}--\r\n", fields("app-1", GOOD.key, &GOOD, None));
    let e = refused("app-1", &body).await;
    assert_eq!(
        (e.code, e.reason),
        (S3ErrorCode::InvalidArgument, Some(Reason::MalformedPost))
    );
}
