//! The SSE-C layer in process: AWS's validation, the bucket policy and the store's
//! known failures refuse before the inner service is called; `Checked` is left for the
//! layers below; on the way back the echo is collapsed and an SSE-C write the store did
//! not confirm is refused.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::config::Config;
use crate::layers::test_support::{
    Answer, Log, Seen, answer, digest, key_base64, key_md5, live, named, ok_recorder, recorder,
    rejected, target, with_key, with_source_key,
};
use crate::s3::error::{Reason, S3ErrorCode};
use crate::s3::form::{Parsed, parse};
use crate::s3::headers::COPY_SOURCE;
use crate::s3::policy::Policy;
use crate::s3::store::UnknownUploads;

const ALGORITHM: &str = "x-amz-server-side-encryption-customer-algorithm";
const KEY: &str = "x-amz-server-side-encryption-customer-key";
const KEY_MD5: &str = "x-amz-server-side-encryption-customer-key-md5";
const SSE_NAME: &str = "x-amz-server-side-encryption";

fn allow() -> Arc<ArcSwap<LiveSsec>> {
    live(Policy::Allow, &[], UnknownUploads::Reject)
}

fn settings(store: Store, live: Arc<ArcSwap<LiveSsec>>) -> SsecSettings {
    SsecSettings {
        live,
        store: named(store),
    }
}

/// A request over TLS for `s3`.
fn request(method: Method, s3: S3Request) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri("/b/k")
        .body(Full::new(Bytes::from_static(b"data")))
        .expect("a test request");
    req.extensions_mut().insert(s3);
    req.extensions_mut().insert(ConnInfo {
        tls: true,
        client: None,
    });
    req
}

fn put(key: Option<u8>) -> Request<Full<Bytes>> {
    let req = request(
        Method::PUT,
        target(S3Op::PutObject, Some("b"), Some("k"), None),
    );
    match key {
        Some(seed) => with_key(req, seed),
        None => req,
    }
}

/// Sends `req` through the SSE-C layer to a recorder answering with `reply`.
async fn send<F>(
    settings: SsecSettings,
    req: Request<Full<Bytes>>,
    reply: F,
) -> (Result<Response<Full<Bytes>>, ProxyError>, Log)
where
    F: Fn(&Seen) -> Answer + Send + Sync + 'static,
{
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(SsecLayer::new(settings))
        .service(recorder(&log, reply));
    (svc.oneshot(req).await, log)
}

/// Sends `req` and expects a refusal before the inner service was called.
async fn refuse(settings: SsecSettings, req: Request<Full<Bytes>>) -> S3Error {
    let (result, log) = send(settings, req, |_| Ok(answer(StatusCode::OK, &[], ""))).await;
    let err = rejected(result);
    assert_eq!(
        log.calls(),
        0,
        "a refused request reached the inner service"
    );
    err
}

fn is_internal(err: &S3Error) {
    assert_eq!(err.code, S3ErrorCode::InternalError);
    assert_eq!(
        err.message,
        "We encountered an internal error. Please try again."
    );
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

/// Fields of a form carrying these (name, value) pairs, then a file.
fn fields(pairs: &[(&str, &str)]) -> crate::s3::form::Fields {
    let mut body = String::new();
    for (name, value) in pairs {
        body.push_str(&format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n");
    match parse(body.as_bytes(), "XyZ") {
        Parsed::Fields(fields) => fields,
        other => panic!("not a form: {other:?}"),
    }
}

fn key_fields(seed: u8, md5_seed: u8) -> Vec<(&'static str, String)> {
    vec![
        (ALGORITHM, "AES256".to_owned()),
        (KEY, key_base64(seed)),
        (KEY_MD5, key_md5(md5_seed)),
    ]
}

fn post_form(pairs: &[(&str, String)], tls: bool) -> Request<Full<Bytes>> {
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let mut req = request(
        Method::POST,
        target(S3Op::PostObject, Some("b"), None, None),
    );
    req.extensions_mut().insert(fields(&pairs));
    req.extensions_mut().insert(ConnInfo { tls, client: None });
    req
}

/// The store's echo of key `seed`.
fn echo(seed: u8) -> Vec<(&'static str, String)> {
    vec![(ALGORITHM, "AES256".to_owned()), (KEY_MD5, key_md5(seed))]
}

/// A `200 OK` carrying `headers`.
fn ok_with(headers: Vec<(&'static str, String)>) -> impl Fn(&Seen) -> Answer + Send + Sync {
    move |_| {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        Ok(answer(StatusCode::OK, &pairs, "stored"))
    }
}

#[tokio::test]
async fn refuses_a_request_that_was_not_classified_as_internal() {
    let mut req = put(Some(1));
    req.extensions_mut().remove::<S3Request>();
    is_internal(&refuse(settings(Store::Generic, allow()), req).await);
}

#[tokio::test]
async fn refuses_a_key_whose_md5_does_not_match_as_v5() {
    let mut req = put(Some(1));
    req.headers_mut().insert(
        SSE_C_KEY_MD5,
        HeaderValue::from_str(&key_md5(2)).expect("base64"),
    );
    let err = refuse(settings(Store::Generic, allow()), req).await;
    assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    assert_eq!(
        err.message,
        "The calculated MD5 hash of the key did not match the hash that was provided."
    );
    assert_eq!(err.argument_name, Some("x-amz-server-side-encryption"));
    assert_eq!(err.reason, Some(Reason::V5));
}

#[tokio::test]
async fn refuses_a_key_over_plain_http_as_v0() {
    let mut req = put(Some(1));
    req.extensions_mut().insert(ConnInfo {
        tls: false,
        client: None,
    });
    let err = refuse(settings(Store::Generic, allow()), req).await;
    assert_eq!(err.reason, Some(Reason::V0));
    let mut req = put(Some(1));
    req.extensions_mut().remove::<ConnInfo>();
    let err = refuse(settings(Store::Generic, allow()), req).await;
    assert_eq!(
        err.reason,
        Some(Reason::V0),
        "no ConnInfo counts as plaintext"
    );
}

#[tokio::test]
async fn refuses_what_the_bucket_policy_refuses() {
    let live = || {
        live(
            Policy::Require,
            &[("public-*", Policy::Forbid), ("open", Policy::Allow)],
            UnknownUploads::Reject,
        )
    };
    let forbidden = with_key(
        request(
            Method::PUT,
            target(S3Op::PutObject, Some("public-www"), Some("k"), None),
        ),
        1,
    );
    let err = refuse(settings(Store::Generic, live()), forbidden).await;
    assert_eq!(err.code, S3ErrorCode::AccessDenied);
    assert_eq!(
        err.message,
        "Access Denied: SSE-C is not allowed on this bucket."
    );
    assert_eq!(err.reason, Some(Reason::PolicyForbid));

    let err = refuse(settings(Store::Generic, live()), put(None)).await;
    assert_eq!(err.code, S3ErrorCode::AccessDenied);
    assert_eq!(
        err.message,
        "Access Denied: this bucket requires SSE-C: send the x-amz-server-side-encryption-customer-* headers."
    );
    assert_eq!(err.reason, Some(Reason::PolicyRequire));

    // The copy source's bucket is read from x-amz-copy-source.
    let mut copy = with_source_key(
        request(
            Method::PUT,
            target(S3Op::CopyObject, Some("open"), Some("k"), None),
        ),
        3,
    );
    copy.headers_mut()
        .insert(COPY_SOURCE, HeaderValue::from_static("/public-www/src"));
    let err = refuse(settings(Store::Generic, live()), copy).await;
    assert_eq!(
        err.message,
        "Access Denied: SSE-C is not allowed on the copy source's bucket."
    );
    assert_eq!(err.reason, Some(Reason::PolicyForbid));
}

#[tokio::test]
async fn refuses_keys_off_the_allowlist_of_a_configured_bucket() {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:8443"
tls_cert = "c.pem"
tls_key = "k.pem"

[upstream]
endpoint = "https://127.0.0.1:9000"

[ssec]
default = "allow"

[[ssec.buckets]]
bucket = "b"
policy = "require"
key_md5_allowlist = ["{}"]
"#,
        key_md5(1)
    );
    let config = Config::parse(&text, Path::new("/etc/ssec/proxy.toml")).expect("a valid config");
    let live = || Arc::new(ArcSwap::from_pointee(config.live.ssec.clone()));
    let err = refuse(settings(Store::Generic, live()), put(Some(2))).await;
    assert_eq!(err.code, S3ErrorCode::AccessDenied);
    assert_eq!(
        err.message,
        "Access Denied: the customer-provided key is not allowed on this bucket."
    );
    assert_eq!(err.reason, Some(Reason::PolicyAllowlist));
    let (result, log) = send(
        settings(Store::Generic, live()),
        put(Some(1)),
        ok_with(echo(1)),
    )
    .await;
    assert!(result.is_ok(), "{:?}", result.err());
    assert_eq!(log.calls(), 1);
}

#[tokio::test]
async fn refuses_what_the_store_mishandles_and_only_for_that_store() {
    let copy = || {
        let mut req = with_key(
            request(
                Method::PUT,
                target(S3Op::CopyObject, Some("b"), Some("k"), None),
            ),
            1,
        );
        req.headers_mut()
            .insert(COPY_SOURCE, HeaderValue::from_static("src/k"));
        req
    };
    let err = refuse(settings(Store::Rgw, allow()), copy()).await;
    assert_eq!(err.code, S3ErrorCode::NotImplemented);
    assert_eq!(
        err.message,
        "Ceph RGW 16.2 stores a CopyObject into an SSE-C destination in plaintext and cannot copy an SSE-C source, so the proxy refuses this request."
    );
    assert_eq!(err.reason, Some(Reason::StoreRefusal));
    let (result, log) = send(settings(Store::Minio, allow()), copy(), ok_with(echo(1))).await;
    assert!(result.is_ok());
    assert_eq!(log.calls(), 1);
}

/// Under `auto`, nothing reaches the store until it is recognised: a request gets 503
/// and wakes the probe; once the store is recognised its behaviours apply.
#[tokio::test]
async fn refuses_every_request_while_auto_is_unsettled() {
    use crate::s3::store::StoreSetting;
    let store = Arc::new(LiveStore::new(StoreSetting::Auto));
    let unsettled = || SsecSettings {
        live: allow(),
        store: Arc::clone(&store),
    };
    let err = refuse(unsettled(), put(None)).await;
    assert_eq!(err.code, S3ErrorCode::ServiceUnavailable);
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(err.reason, Some(Reason::StoreUnrecognised));
    // The refusal left a wake-up for the probe.
    tokio::time::timeout(std::time::Duration::from_secs(1), store.nudged())
        .await
        .expect("the probe was nudged");

    let seaweedfs = {
        let mut h = http::HeaderMap::new();
        h.insert("server", HeaderValue::from_static("SeaweedFS 8000GB 4.48"));
        h
    };
    assert!(
        store
            .settle(StatusCode::FORBIDDEN, &seaweedfs, b"")
            .is_some()
    );
    let (result, log) = send(unsettled(), put(None), |_| {
        Ok(answer(StatusCode::OK, &[], ""))
    })
    .await;
    assert!(result.is_ok());
    assert_eq!(log.calls(), 1);
    let mut folder = request(
        Method::PUT,
        target(S3Op::PutObject, Some("b"), Some("dir/"), None),
    );
    folder
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("4"));
    let err = refuse(unsettled(), folder).await;
    assert_eq!(
        err.reason,
        Some(Reason::StoreRefusal),
        "SeaweedFS's rules apply"
    );
}

#[tokio::test]
async fn refuses_a_form_upload_whose_fields_were_not_read_as_internal() {
    let req = request(
        Method::POST,
        target(S3Op::PostObject, Some("b"), None, None),
    );
    is_internal(&refuse(settings(Store::Generic, allow()), req).await);
}

#[tokio::test]
async fn checks_form_fields_like_put_object_headers() {
    let (result, log) = send(
        settings(Store::Generic, allow()),
        post_form(&key_fields(1, 1), true),
        ok_with(echo(1)),
    )
    .await;
    assert!(result.is_ok());
    let seen = log.only();
    assert_eq!(
        seen.extensions.get::<Checked>(),
        Some(&Checked {
            destination: Some(digest(1)),
            source: None,
        })
    );
    assert!(
        seen.extensions.get::<Fields>().is_none(),
        "the fields are taken, not passed on"
    );

    let err = refuse(
        settings(Store::Generic, allow()),
        post_form(&key_fields(1, 2), true),
    )
    .await;
    assert_eq!(err.reason, Some(Reason::V5));
    let err = refuse(
        settings(Store::Generic, allow()),
        post_form(&key_fields(1, 1), false),
    )
    .await;
    assert_eq!(err.reason, Some(Reason::V0));
    let mut with_sse = key_fields(1, 1);
    with_sse.push((SSE_NAME, "aws:kms".to_owned()));
    let err = refuse(
        settings(Store::Generic, allow()),
        post_form(&with_sse, true),
    )
    .await;
    assert_eq!(err.reason, Some(Reason::V8));
    assert_eq!(err.argument_value.as_deref(), Some("aws:kms"));
    for fields in [key_fields(1, 1), vec![("key", "k".to_owned())]] {
        let mut with_kms_key = fields;
        with_kms_key.push((
            "x-amz-server-side-encryption-aws-kms-key-id",
            "alias/app".to_owned(),
        ));
        let err = refuse(
            settings(Store::Generic, allow()),
            post_form(&with_kms_key, true),
        )
        .await;
        assert_eq!(err.reason, Some(Reason::KmsKeyAlone));
    }
    let require = live(Policy::Require, &[], UnknownUploads::Reject);
    let err = refuse(
        settings(Store::Generic, require),
        post_form(&[("key", "k".to_owned())], true),
    )
    .await;
    assert_eq!(err.reason, Some(Reason::PolicyRequire));
}

#[tokio::test]
async fn leaves_the_checked_keys_for_the_layers_below() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(SsecLayer::new(settings(Store::Generic, allow())))
        .service(ok_recorder(&log));
    let mut copy = with_source_key(
        with_key(
            request(
                Method::PUT,
                target(S3Op::UploadPartCopy, Some("b"), Some("k"), Some("u")),
            ),
            1,
        ),
        2,
    );
    copy.headers_mut()
        .insert(COPY_SOURCE, HeaderValue::from_static("src/k"));
    let _ = svc.clone().oneshot(copy).await;
    let _ = svc
        .oneshot(request(
            Method::GET,
            target(S3Op::GetObject, Some("b"), Some("k"), None),
        ))
        .await;
    let seen = log.all();
    assert_eq!(
        seen[0].extensions.get::<Checked>(),
        Some(&Checked {
            destination: Some(digest(1)),
            source: Some(digest(2)),
        })
    );
    assert_eq!(seen[0].body, "data");
    assert_eq!(
        seen[1].extensions.get::<Checked>(),
        Some(&Checked::default())
    );
}

#[tokio::test]
async fn refuses_an_sse_c_write_the_store_did_not_confirm() {
    let (result, log) = send(
        settings(Store::Seaweedfs, allow()),
        put(Some(1)),
        ok_with(vec![]),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(ProxyError::Unconfirmed {
                op: "PutObject",
                ..
            })
        ),
        "{:?}",
        result.err()
    );
    assert_eq!(log.calls(), 1, "the store was asked");
}

#[tokio::test]
async fn collapses_an_identical_repeated_echo_and_accepts_it() {
    let mut doubled = echo(1);
    doubled.push((KEY_MD5, key_md5(1)));
    doubled.push((SSE_NAME, "AES256".to_owned()));
    doubled.push((SSE_NAME, "AES256".to_owned()));
    let (result, _) = send(
        settings(Store::Seaweedfs, allow()),
        put(Some(1)),
        ok_with(doubled),
    )
    .await;
    let response = result.expect("the echo confirms the key");
    assert_eq!(response.status(), StatusCode::OK);
    let md5s: Vec<_> = response.headers().get_all(SSE_C_KEY_MD5).iter().collect();
    assert_eq!(md5s, [key_md5(1).as_str()]);
    assert_eq!(response.headers().get_all(SSE).iter().count(), 1);
}

#[tokio::test]
async fn refuses_an_echo_of_another_key_or_a_partial_or_conflicting_echo() {
    let mut conflicting = echo(1);
    conflicting.push((KEY_MD5, key_md5(2)));
    let wrong_algorithm = vec![(ALGORITHM, "AES128".to_owned()), (KEY_MD5, key_md5(1))];
    let cases = [
        ("another key", echo(2)),
        ("no algorithm", vec![(KEY_MD5, key_md5(1))]),
        ("another algorithm", wrong_algorithm),
        ("two different digests", conflicting),
    ];
    for (what, headers) in cases {
        let (result, _) = send(
            settings(Store::Seaweedfs, allow()),
            put(Some(1)),
            ok_with(headers),
        )
        .await;
        assert!(
            matches!(
                result,
                Err(ProxyError::Unconfirmed {
                    op: "PutObject",
                    ..
                })
            ),
            "{what}: {:?}",
            result.map(|r| r.status())
        );
    }
}

#[tokio::test]
async fn asks_no_confirmation_of_failures_exempt_operations_or_plain_writes() {
    // The store's refusal is its own answer.
    let (result, _) = send(settings(Store::Seaweedfs, allow()), put(Some(1)), |_| {
        Ok(answer(StatusCode::FORBIDDEN, &[], "<Error/>"))
    })
    .await;
    assert_eq!(result.expect("passed").status(), StatusCode::FORBIDDEN);
    // SeaweedFS never echoes on CreateMultipartUpload.
    let create = with_key(
        request(
            Method::POST,
            target(S3Op::CreateMultipartUpload, Some("b"), Some("k"), None),
        ),
        1,
    );
    let (result, _) = send(settings(Store::Seaweedfs, allow()), create, ok_with(vec![])).await;
    assert!(result.is_ok());
    // A write without SSE-C has nothing to confirm.
    let (result, _) = send(
        settings(Store::Seaweedfs, allow()),
        put(None),
        ok_with(vec![]),
    )
    .await;
    assert!(result.is_ok());
    // A generic store must confirm the same CreateMultipartUpload.
    let create = with_key(
        request(
            Method::POST,
            target(S3Op::CreateMultipartUpload, Some("b"), Some("k"), None),
        ),
        1,
    );
    let (result, _) = send(settings(Store::Generic, allow()), create, ok_with(vec![])).await;
    assert!(matches!(
        result,
        Err(ProxyError::Unconfirmed {
            op: "CreateMultipartUpload",
            ..
        })
    ));
}

#[tokio::test]
async fn refuses_an_unconfirmed_form_upload() {
    let (result, _) = send(
        settings(Store::Seaweedfs, allow()),
        post_form(&key_fields(1, 1), true),
        ok_with(vec![]),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(ProxyError::Unconfirmed {
                op: "PostObject",
                ..
            })
        ),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn passes_the_inner_error() {
    let (result, _) = send(settings(Store::Seaweedfs, allow()), put(Some(1)), |_| {
        Err(ProxyError::BadGateway(Box::new(std::io::Error::other(
            "reset",
        ))))
    })
    .await;
    match result {
        Err(ProxyError::BadGateway(e)) => assert_eq!(e.to_string(), "reset"),
        other => panic!("not the inner error: {:?}", other.map(|r| r.status())),
    }
}

#[tokio::test]
async fn collapses_the_echo_of_a_read() {
    let mut doubled = echo(1);
    doubled.push((ALGORITHM, "AES256".to_owned()));
    let get = with_key(
        request(
            Method::GET,
            target(S3Op::GetObject, Some("b"), Some("k"), None),
        ),
        1,
    );
    let (result, _) = send(settings(Store::Seaweedfs, allow()), get, ok_with(doubled)).await;
    let response = result.expect("a read needs no confirmation");
    assert_eq!(
        response.headers().get_all(SSE_C_ALGORITHM).iter().count(),
        1
    );
}

/// SeaweedFS answers a HEAD with the wrong key with the MD5 of the object's real key; the
/// client sees only an echo of its own key's digest, never another's.
#[tokio::test]
async fn drops_an_echo_of_a_key_the_request_did_not_carry() {
    let head = || {
        with_key(
            request(
                Method::HEAD,
                target(S3Op::HeadObject, Some("b"), Some("k"), None),
            ),
            1,
        )
    };
    let (result, _) = send(
        settings(Store::Seaweedfs, allow()),
        head(),
        ok_with(echo(2)),
    )
    .await;
    let response = result.unwrap();
    assert!(response.headers().get(SSE_C_KEY_MD5).is_none());
    assert!(response.headers().contains_key(SSE_C_ALGORITHM));
    // The request's own digest stays.
    let (result, _) = send(
        settings(Store::Seaweedfs, allow()),
        head(),
        ok_with(echo(1)),
    )
    .await;
    assert_eq!(
        result
            .unwrap()
            .headers()
            .get_all(SSE_C_KEY_MD5)
            .iter()
            .count(),
        1
    );
    // A request without a key sees no key digest at all.
    let plain = request(
        Method::GET,
        target(S3Op::GetObject, Some("b"), Some("k"), None),
    );
    let (result, _) = send(settings(Store::Seaweedfs, allow()), plain, ok_with(echo(2))).await;
    assert!(result.unwrap().headers().get(SSE_C_KEY_MD5).is_none());
}

/// A GET at the bucket path with `query`, as the classify layer found it.
fn at_bucket(op: S3Op, query: &str) -> Request<Full<Bytes>> {
    let mut req = request(Method::GET, target(op, Some("b"), None, None));
    *req.uri_mut() = format!("/b?{query}").parse().expect("a test URI");
    req
}

#[tokio::test]
async fn seaweedfs_listings_starting_in_its_uploads_folder_are_refused_whatever_the_op() {
    use crate::s3::op::BucketSub;
    for (op, query) in [
        (S3Op::ListObjectsV2, "list-type=2&prefix=.uploads%2Fx%2F"),
        (S3Op::ListObjectsV2, "list-type=2&start-after=.uploads%2F"),
        (
            S3Op::ListObjectsV2,
            "list-type=2&continuation-token=%2F.uploads%2F",
        ),
        (S3Op::ListObjects, "marker=.uploads%2F"),
        (S3Op::ListObjectVersions, "versions&key-marker=.uploads%2F"),
        // Newer SeaweedFS routes this to ListObjectsV2 (4.48 answers 400).
        (
            S3Op::GetBucketConfig(BucketSub::OwnershipControls),
            "ownershipControls&list-type=2&prefix=.uploads%2F",
        ),
    ] {
        let e = refuse(settings(Store::Seaweedfs, allow()), at_bucket(op, query)).await;
        assert_eq!(e.code, S3ErrorCode::NotImplemented, "{query}");
    }
    for (store, query) in [
        (
            Store::Seaweedfs,
            "list-type=2&prefix=.uploadsX%2F&start-after=a",
        ),
        (Store::Rgw, "list-type=2&start-after=.uploads%2F"),
    ] {
        let (result, log) = send(
            settings(store, allow()),
            at_bucket(S3Op::ListObjectsV2, query),
            |_| Ok(answer(StatusCode::OK, &[], "")),
        )
        .await;
        assert!(result.is_ok(), "{query}");
        assert_eq!(log.calls(), 1, "{query}");
    }
}

#[test]
fn a_form_key_is_checked_with_its_file_name_in_place() {
    use crate::s3::form::{Parsed, parse};
    use crate::s3::store::Store;
    let form = |key: &str, filename: &str| {
        let body = format!(
            "--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n{key}\r\n\
             --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\r\ndata\r\n--b--\r\n"
        );
        match parse(body.as_bytes(), "b") {
            Parsed::Fields(fields) => fields,
            _ => panic!("not a form: {key} {filename}"),
        }
    };
    let refused = |key: &str, filename: &str| {
        form_keys(&form(key, filename)).any(|k| Store::Seaweedfs.key_refusal(&k).is_some())
    };
    // As sent, and as Go's Part.FileName reads it (its last `/` segment).
    assert!(refused("${filename}/id/0001_x.part", ".uploads"));
    assert!(refused("${filename}/id/0001_x.part", "dir/.uploads"));
    // (A file name with a backslash is refused by the form reader itself: Go unescapes it.)
    assert!(refused("${filename}", "/lead"));
    assert!(!refused("uploads/${filename}", "photo.jpg"));
    assert!(!refused("plain", ".uploads"));
}
