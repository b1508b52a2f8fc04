//! The injection layer: headers added only where the client sent none and the bucket's
//! rule injects, the key-MD5 echo removed, reads tried again with previous keys only
//! when the store said the key was wrong, and only as often as there are keys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use arc_swap::{ArcSwap, ArcSwapOption};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::Full;
use prometheus_client::metrics::counter::Counter;
use tower::ServiceExt as _;

use super::*;
use crate::config::{
    BucketKeyFiles, BucketScope, ClientSettings, InjectFiles, ResignSettings, SecretSource,
    StoreCredentialSettings,
};
use crate::credentials::Credentials;
use crate::layers::test_support::{Answer, Log, Seen, answer, recorder};
use crate::s3::headers::{COPY_SOURCE_SSE_C_KEY_MD5, SSE_C_KEY};
use crate::secret::secret_access_key;

/// Keys: current `1`, previous `2` and `3` for `app-*`; `other-*` has `4` only;
/// `plain-*` injects nothing.
struct Fixture {
    _dir: tempfile::TempDir,
    credentials: LiveCredentials,
    live: Arc<ArcSwap<LiveSsec>>,
    metrics: Arc<Metrics>,
}

fn rgw() -> Arc<crate::s3::store::LiveStore> {
    use crate::s3::store::{LiveStore, Store, StoreSetting};
    Arc::new(LiveStore::new(StoreSetting::Named(Store::Rgw)))
}

/// `app-*` requires SSE-C, everything else allows it.
fn policies() -> Arc<ArcSwap<LiveSsec>> {
    use crate::s3::policy::{BucketPolicies, Rule};
    Arc::new(ArcSwap::from_pointee(LiveSsec {
        policies: BucketPolicies {
            default: Policy::Allow,
            rules: vec![Rule {
                pattern: glob::Pattern::new("app-*").unwrap(),
                policy: Policy::Require,
                allowlist: None,
            }],
        },
        unknown_uploads: None,
    }))
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let file = |byte: u8| {
        let path = dir.path().join(format!("k{byte}"));
        std::fs::write(&path, [byte; 32]).unwrap();
        path
    };
    let secret = |s: &str| SecretSource::Inline(secret_access_key(s.as_bytes(), 1).unwrap());
    let rule = |pattern: &str, files: Option<InjectFiles>| BucketKeyFiles {
        pattern: glob::Pattern::new(pattern).unwrap(),
        files,
    };
    let settings = ResignSettings {
        region: "us-east-1".into(),
        binding_key_file: None,
        clients: vec![ClientSettings {
            access_key: "APPACCESSKEY00000001".into(),
            secret: secret("app-secret-0123456789"),
            buckets: BucketScope::All,
            manage_access: false,
        }],
        store: StoreCredentialSettings {
            access_key: "store".into(),
            secret: secret("store-secret"),
            region: "us-east-1".into(),
        },
        bucket_keys: vec![
            rule("plain-*", None),
            rule(
                "app-*",
                Some(InjectFiles {
                    current: file(1),
                    previous: vec![file(2), file(3)],
                    derive_per_object: false,
                }),
            ),
            rule(
                "other-*",
                Some(InjectFiles {
                    current: file(4),
                    previous: vec![],
                    derive_per_object: false,
                }),
            ),
        ],
    };
    let credentials = Arc::new(ArcSwapOption::from_pointee(
        Credentials::load(&settings).unwrap(),
    ));
    Fixture {
        _dir: dir,
        credentials,
        live: policies(),
        metrics: Metrics::new(),
    }
}

fn md5_of(byte: u8) -> String {
    crate::inject::SsecKey::new(crate::secret::key32(&[byte; 32]).unwrap())
        .md5_base64()
        .to_owned()
}

fn request(method: Method, op: S3Op, bucket: &str) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/{bucket}/k"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    req.extensions_mut().insert(S3Request {
        op,
        bucket: Some(bucket.to_owned()),
        key: Some("k".to_owned()),
        upload_id: None,
    });
    req
}

async fn send(
    f: &Fixture,
    req: Request<Full<Bytes>>,
    reply: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
) -> (Answer, Log) {
    let log = Log::default();
    let svc = InjectLayer::new(
        Arc::clone(&f.credentials),
        Arc::clone(&f.live),
        rgw(),
        Arc::clone(&f.metrics),
    )
    .layer(recorder(&log, reply));
    (svc.oneshot(req).await, log)
}

fn echo(seen: &Seen) -> Answer {
    let md5 = seen.headers.get(SSE_C_KEY_MD5).cloned();
    let mut response = answer(
        StatusCode::OK,
        &[("x-amz-server-side-encryption-customer-algorithm", "AES256")],
        "",
    );
    if let Some(md5) = md5 {
        response.headers_mut().insert(SSE_C_KEY_MD5, md5);
    }
    Ok(response)
}

fn sent_md5(seen: &Seen, name: HeaderName) -> Option<String> {
    seen.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn retries(f: &Fixture) -> u64 {
    let c: &Counter = &f.metrics.injected_key_retries;
    c.get()
}

#[tokio::test]
async fn adds_the_current_key_where_the_client_sent_none_and_hides_the_echo() {
    let f = fixture();
    for (method, op) in [
        (Method::PUT, S3Op::PutObject),
        (Method::GET, S3Op::GetObject),
        (Method::HEAD, S3Op::HeadObject),
        (Method::POST, S3Op::CreateMultipartUpload),
        (Method::PUT, S3Op::UploadPart),
        (Method::POST, S3Op::CompleteMultipartUpload),
        (Method::GET, S3Op::GetObjectAttributes),
    ] {
        let (answer, log) = send(&f, request(method, op, "app-data"), echo).await;
        let seen = log.only();
        assert_eq!(sent_md5(&seen, SSE_C_KEY_MD5), Some(md5_of(1)), "{op:?}");
        assert!(seen.headers[SSE_C_KEY].is_sensitive());
        assert_eq!(
            seen.extensions.get::<Injected>(),
            Some(&Injected {
                destination: true,
                source: false
            })
        );
        let response = answer.unwrap();
        assert!(response.headers().get(SSE_C_KEY_MD5).is_none(), "{op:?}");
        assert!(
            response
                .headers()
                .contains_key("x-amz-server-side-encryption-customer-algorithm")
        );
    }
    assert_eq!(retries(&f), 0);
}

#[tokio::test]
async fn leaves_alone_what_it_does_not_inject() {
    let f = fixture();
    // The client's own key (even a partial set), a bucket without injection, an
    // operation that takes no key, and a POST Object form (its fields carry SSE-C).
    let mut own = request(Method::PUT, S3Op::PutObject, "app-data");
    own.headers_mut()
        .insert(SSE_C_KEY_MD5, HeaderValue::from_static("client"));
    let cases = [
        own,
        request(Method::PUT, S3Op::PutObject, "plain-data"),
        request(Method::PUT, S3Op::PutObject, "elsewhere"),
        request(Method::DELETE, S3Op::DeleteObject, "app-data"),
        request(Method::POST, S3Op::PostObject, "app-data"),
        request(Method::GET, S3Op::ListObjectsV2, "app-data"),
    ];
    for req in cases {
        let op = req.extensions().get::<S3Request>().unwrap().op;
        let (answer, log) = send(&f, req, echo).await;
        let seen = log.only();
        assert!(!seen.headers.contains_key(SSE_C_KEY), "{op:?}");
        assert!(seen.extensions.get::<Injected>().is_none(), "{op:?}");
        answer.unwrap();
    }
}

#[tokio::test]
async fn a_copy_gets_each_buckets_own_key() {
    let f = fixture();
    let mut req = request(Method::PUT, S3Op::CopyObject, "other-dst");
    req.headers_mut()
        .insert(COPY_SOURCE, HeaderValue::from_static("/app-src/k"));
    let (_, log) = send(&f, req, echo).await;
    let seen = log.only();
    assert_eq!(sent_md5(&seen, SSE_C_KEY_MD5), Some(md5_of(4)));
    assert_eq!(sent_md5(&seen, COPY_SOURCE_SSE_C_KEY_MD5), Some(md5_of(1)));

    // From a bucket without injection: the source is the client's business.
    let mut req = request(Method::PUT, S3Op::UploadPartCopy, "app-dst");
    req.headers_mut()
        .insert(COPY_SOURCE, HeaderValue::from_static("plain-src/k"));
    let (_, log) = send(&f, req, echo).await;
    let seen = log.only();
    assert_eq!(sent_md5(&seen, SSE_C_KEY_MD5), Some(md5_of(1)));
    assert_eq!(sent_md5(&seen, COPY_SOURCE_SSE_C_KEY_MD5), None);
}

/// The store knows key `right` only: any other is "wrong", as the store errors layer
/// puts it (GET) or as the store's bare status says (HEAD).
fn store_with(right: u8, head_status: u16) -> impl Fn(&Seen) -> Answer + Send + Sync + 'static {
    move |seen: &Seen| {
        if sent_md5(seen, SSE_C_KEY_MD5) == Some(md5_of(right)) {
            return echo(seen);
        }
        if seen.method == Method::HEAD {
            return Ok(answer(StatusCode::from_u16(head_status).unwrap(), &[], ""));
        }
        Err(ProxyError::Translated(ssec::wrong_key()))
    }
}

#[tokio::test]
async fn reads_try_the_previous_keys_in_order_until_one_fits() {
    let f = fixture();
    let (answer, log) = send(
        &f,
        request(Method::GET, S3Op::GetObject, "app-data"),
        store_with(3, 0),
    )
    .await;
    assert!(answer.unwrap().headers().get(SSE_C_KEY_MD5).is_none());
    let tried: Vec<_> = log
        .all()
        .iter()
        .map(|s| sent_md5(s, SSE_C_KEY_MD5).unwrap())
        .collect();
    assert_eq!(tried, [md5_of(1), md5_of(2), md5_of(3)]);
    assert_eq!(retries(&f), 2);

    for status in [400, 403] {
        let (answer, log) = send(
            &f,
            request(Method::HEAD, S3Op::HeadObject, "app-data"),
            store_with(2, status),
        )
        .await;
        assert_eq!(answer.unwrap().status(), StatusCode::OK);
        assert_eq!(log.calls(), 2);
    }
    assert_eq!(retries(&f), 4);
}

#[tokio::test]
async fn gives_up_after_the_last_key_with_the_stores_answer() {
    let f = fixture();
    let (answer, log) = send(
        &f,
        request(Method::GET, S3Op::GetObject, "app-data"),
        store_with(9, 0),
    )
    .await;
    match answer {
        Err(ProxyError::Translated(e)) => assert!(ssec::is_wrong_key(&e)),
        other => panic!("{:?}", other.map(|r| r.status())),
    }
    assert_eq!(log.calls(), 3);
    // A bucket without previous keys: one attempt.
    let (_, log) = send(
        &f,
        request(Method::GET, S3Op::GetObject, "other-data"),
        store_with(9, 0),
    )
    .await;
    assert_eq!(log.calls(), 1);
    assert_eq!(retries(&f), 2);
}

#[tokio::test]
async fn does_not_try_again_for_other_answers_or_with_a_body() {
    let f = fixture();
    // Not the wrong key: the store's answer stands after one attempt.
    let (answer, log) = send(
        &f,
        request(Method::GET, S3Op::GetObject, "app-data"),
        |_: &Seen| {
            Ok(crate::layers::test_support::answer(
                StatusCode::NOT_FOUND,
                &[],
                "",
            ))
        },
    )
    .await;
    assert_eq!(answer.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(log.calls(), 1);
    // A write is never sent twice, even when the store refuses the key.
    let mut put = request(Method::PUT, S3Op::PutObject, "app-data");
    *put.body_mut() = Full::new(Bytes::from_static(b"data"));
    let (_, log) = send(&f, put, store_with(9, 0)).await;
    assert_eq!(log.calls(), 1);
    // A GET with a body cannot be sent again.
    let mut get = request(Method::GET, S3Op::GetObject, "app-data");
    *get.body_mut() = Full::new(Bytes::from_static(b"x"));
    let (_, log) = send(&f, get, store_with(9, 0)).await;
    assert_eq!(log.calls(), 1);
    assert_eq!(retries(&f), 0);
}

#[tokio::test]
async fn passthrough_mode_is_untouched() {
    let log = Log::default();
    let svc = InjectLayer::new(
        Arc::new(ArcSwapOption::empty()),
        policies(),
        rgw(),
        Metrics::new(),
    )
    .layer(recorder(&log, echo));
    let req = request(Method::PUT, S3Op::PutObject, "app-data");
    svc.oneshot(req).await.unwrap();
    assert!(!log.only().headers.contains_key(SSE_C_KEY));
}

#[tokio::test]
async fn a_plaintext_answer_to_an_injected_read_is_refused_where_sse_c_is_required() {
    let f = fixture();
    // The store serves the object without confirming SSE-C (RGW 16.2 with a plaintext
    // object): refused in the require bucket, served in the allow bucket; both counted.
    let plain = |_: &Seen| Ok(answer(StatusCode::OK, &[], "plaintext"));
    for method in [Method::GET, Method::HEAD] {
        let op = if method == Method::GET {
            S3Op::GetObject
        } else {
            S3Op::HeadObject
        };
        let (refused, _) = send(&f, request(method.clone(), op, "app-data"), plain).await;
        match refused {
            Err(ProxyError::Rejected(e)) => {
                assert_eq!(e.code, crate::s3::error::S3ErrorCode::InvalidRequest);
                assert_eq!(e.reason, Some(Reason::InjectedPlaintext));
            }
            other => panic!("{:?}", other.map(|r| r.status())),
        }
        let (served, _) = send(&f, request(method, op, "other-data"), plain).await;
        assert_eq!(served.unwrap().status(), StatusCode::OK);
    }
    let count = |action| {
        f.metrics
            .injected_plaintext_reads
            .get_or_create(&ActionLabels { action })
            .get()
    };
    assert_eq!((count("refused"), count("served")), (2, 2));
    // A confirmed answer, an error, and a write are not judged.
    let (ok, _) = send(&f, request(Method::GET, S3Op::GetObject, "app-data"), echo).await;
    ok.unwrap();
    let (missing, _) = send(
        &f,
        request(Method::GET, S3Op::GetObject, "app-data"),
        |_: &Seen| Ok(answer(StatusCode::NOT_FOUND, &[], "")),
    )
    .await;
    assert_eq!(missing.unwrap().status(), StatusCode::NOT_FOUND);
    let (put, _) = send(&f, request(Method::PUT, S3Op::PutObject, "app-data"), plain).await;
    put.unwrap();
    assert_eq!((count("refused"), count("served")), (2, 2));
}
