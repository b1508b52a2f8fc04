//! The multipart layer in resign mode with a binding key: upload IDs bound at creation,
//! parts and completions checked against the ID alone (no record), the store's ID
//! restored on the way to the store and the client's on ListParts' way back.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::config::{ResignSettings, SecretSource, StoreCredentialSettings};
use crate::layers::test_support::{
    Answer, Log, Seen, answer, body_bytes, digest, live, named, recorder, rejected, target,
};
use crate::s3::policy::Policy;
use crate::s3::store::Store;
use crate::secret::secret_access_key;
use crate::uploads::binding::Binder;

const CREATED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up&amp;1</UploadId></InitiateMultipartUploadResult>";

/// A credential table whose binding key is `byte` repeated.
fn credentials(dir: &tempfile::TempDir, byte: u8) -> LiveCredentials {
    let path = dir.path().join(format!("binding-{byte}.key"));
    std::fs::write(&path, [byte; 32]).unwrap();
    let secret = |s: &str| SecretSource::Inline(secret_access_key(s.as_bytes(), 1).unwrap());
    let settings = ResignSettings {
        region: "us-east-1".into(),
        binding_key_file: Some(path),
        clients: Vec::new(),
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

struct Proxy {
    credentials: LiveCredentials,
    records: Arc<UploadRecords>,
}

impl Proxy {
    fn new(credentials: LiveCredentials) -> Self {
        Self {
            credentials,
            records: Arc::new(UploadRecords::new(100, Duration::from_secs(3600))),
        }
    }

    async fn send<F>(
        &self,
        req: Request<Full<Bytes>>,
        reply: F,
    ) -> (Result<Response<Buffered<Full<Bytes>>>, ProxyError>, Log)
    where
        F: Fn(&Seen) -> Answer + Send + Sync + 'static,
    {
        let log = Log::default();
        let svc = ServiceBuilder::new()
            .layer(MultipartLayer::new(
                Arc::clone(&self.records),
                live(Policy::Allow, &[], UnknownUploads::Reject),
                named(Store::Generic),
                Arc::clone(&self.credentials),
            ))
            .service(recorder(&log, reply));
        (svc.oneshot(req).await, log)
    }

    /// Creates an upload of `b/k` with `key`; the upload ID the client gets.
    async fn create(&self, key: Option<KeyDigest>) -> String {
        let req = request(
            target(S3Op::CreateMultipartUpload, Some("b"), Some("k"), None),
            "/b/k?uploads",
            key,
        );
        let (result, _) = self
            .send(req, |_| {
                Ok(answer(
                    StatusCode::OK,
                    &[("content-length", "200")],
                    CREATED,
                ))
            })
            .await;
        let response = result.expect("created");
        assert!(response.headers().get("content-length").is_none());
        let body = body_bytes(response.into_body()).await;
        let id = first_element(&body, "UploadId").expect("an upload id");
        assert_eq!(
            String::from_utf8(body.to_vec()).unwrap(),
            CREATED.replace("up&amp;1", &quick_xml::escape::escape(id.as_str()))
        );
        id
    }

    /// Sends `op` for upload `id` with `key`; refused before the store, or what the
    /// store saw.
    async fn upload_op(&self, op: S3Op, id: &str, key: Option<KeyDigest>) -> Result<Seen, S3Error> {
        let uri = format!(
            "/b/k?partNumber=2&uploadId={}&x-id=Op",
            uri_encode(id.as_bytes())
        );
        let req = request(target(op, Some("b"), Some("k"), Some(id)), &uri, key);
        let (result, log) = self
            .send(req, |_| Ok(answer(StatusCode::OK, &[], "ok")))
            .await;
        match result {
            Ok(_) => Ok(log.only()),
            Err(_) => {
                assert_eq!(log.calls(), 0, "a refused request reached the store");
                Err(rejected(result))
            }
        }
    }
}

fn request(s3: S3Request, uri: &str, key: Option<KeyDigest>) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(Method::PUT)
        .uri(uri)
        .body(Full::new(Bytes::from_static(b"part")))
        .expect("a test request");
    req.extensions_mut().insert(s3);
    req.extensions_mut().insert(Checked {
        destination: key,
        source: None,
    });
    req
}

fn store_query(seen: &Seen) -> &str {
    seen.uri.query().unwrap()
}

#[tokio::test]
async fn a_created_upload_gets_a_bound_id_and_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::new(credentials(&dir, 1));
    let id = proxy.create(Some(digest(1))).await;
    let binder = Binder::new(&[1u8; 32]);
    let Opened::Bound(bound) = binder.open("b", "k", &id) else {
        panic!("not bound: {id}");
    };
    assert_eq!(bound.store_id, "up&1");
    assert!(bound.encrypted());
    assert!(binder.key_matches("b", "k", &bound, &digest(1)));
    let plain = proxy.create(None).await;
    let Opened::Bound(bound) = binder.open("b", "k", &plain) else {
        panic!("not bound: {plain}");
    };
    assert!(!bound.encrypted());
    assert!(proxy.records.is_empty());
}

#[tokio::test]
async fn parts_reach_the_store_with_its_own_id_on_any_replica() {
    let dir = tempfile::tempdir().unwrap();
    let id = Proxy::new(credentials(&dir, 1))
        .create(Some(digest(1)))
        .await;
    // Another replica with the same binding key and nothing else.
    let other = Proxy::new(credentials(&dir, 1));
    for op in [
        S3Op::UploadPart,
        S3Op::UploadPartCopy,
        S3Op::CompleteMultipartUpload,
        S3Op::ListParts,
        S3Op::AbortMultipartUpload,
    ] {
        let seen = other
            .upload_op(op, &id, Some(digest(1)))
            .await
            .expect("passed");
        assert_eq!(
            store_query(&seen),
            "partNumber=2&uploadId=up%261&x-id=Op",
            "{op:?}"
        );
    }
    // A completion may leave the key out.
    let seen = other
        .upload_op(S3Op::CompleteMultipartUpload, &id, None)
        .await
        .expect("passed");
    assert_eq!(store_query(&seen), "partNumber=2&uploadId=up%261&x-id=Op");
}

#[tokio::test]
async fn parts_with_another_key_or_none_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::new(credentials(&dir, 1));
    let encrypted = proxy.create(Some(digest(1))).await;
    let plain = proxy.create(None).await;
    let cases = [
        (S3Op::UploadPart, &encrypted, None, Reason::S9),
        (S3Op::UploadPartCopy, &encrypted, None, Reason::S9),
        (S3Op::UploadPart, &encrypted, Some(digest(2)), Reason::S10),
        (
            S3Op::UploadPartCopy,
            &encrypted,
            Some(digest(2)),
            Reason::S10,
        ),
        (
            S3Op::CompleteMultipartUpload,
            &encrypted,
            Some(digest(2)),
            Reason::S12,
        ),
        (S3Op::UploadPart, &plain, Some(digest(1)), Reason::S10),
        (
            S3Op::CompleteMultipartUpload,
            &plain,
            Some(digest(1)),
            Reason::S12,
        ),
    ];
    for (op, id, key, reason) in cases {
        let err = proxy.upload_op(op, id, key).await.unwrap_err();
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{op:?} {reason:?}");
        assert_eq!(err.reason, Some(reason), "{op:?}");
    }
    let seen = proxy
        .upload_op(S3Op::UploadPart, &plain, None)
        .await
        .unwrap();
    assert_eq!(store_query(&seen), "partNumber=2&uploadId=up%261&x-id=Op");
}

#[tokio::test]
async fn forged_ids_are_no_such_upload_and_store_ids_serve_only_list_and_abort() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::new(credentials(&dir, 1));
    let id = proxy.create(Some(digest(1))).await;
    // Under another binding key (a replica configured differently, a replaced key).
    let stranger = Proxy::new(credentials(&dir, 2));
    let (store_id, tag) = id.rsplit_once('.').unwrap();
    let altered = format!("{store_id}x.{tag}");
    for op in [
        S3Op::UploadPart,
        S3Op::CompleteMultipartUpload,
        S3Op::ListParts,
        S3Op::AbortMultipartUpload,
    ] {
        for (proxy, id) in [(&stranger, &id), (&proxy, &altered)] {
            let err = proxy.upload_op(op, id, Some(digest(1))).await.unwrap_err();
            assert_eq!(err.code, S3ErrorCode::NoSuchUpload, "{op:?}");
            assert_eq!(err.code.status(), StatusCode::NOT_FOUND);
            assert_eq!(err.reason, Some(Reason::ForgedUpload));
        }
    }
    // The store's own ID, as ListMultipartUploads shows it.
    for op in [
        S3Op::UploadPart,
        S3Op::UploadPartCopy,
        S3Op::CompleteMultipartUpload,
    ] {
        let err = proxy
            .upload_op(op, "up&1", Some(digest(1)))
            .await
            .unwrap_err();
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{op:?}");
        assert_eq!(err.reason, Some(Reason::UnboundUpload));
        assert!(
            err.message
                .starts_with("This upload ID was not issued by this proxy")
        );
    }
    for op in [S3Op::ListParts, S3Op::AbortMultipartUpload] {
        let seen = proxy.upload_op(op, "up&1", None).await.expect("passed");
        assert_eq!(store_query(&seen), "partNumber=2&uploadId=up%261&x-id=Op");
    }
}

#[tokio::test]
async fn list_parts_shows_the_clients_id() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::new(credentials(&dir, 1));
    let id = proxy.create(Some(digest(1))).await;
    let parts = format!(
        "<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>up&amp;1</UploadId>{}</ListPartsResult>",
        "<Part><PartNumber>1</PartNumber><ETag>&quot;x&quot;</ETag></Part>".repeat(2000)
    );
    let answer_body = parts.clone();
    let uri = format!("/b/k?uploadId={}", uri_encode(id.as_bytes()));
    let req = request(
        target(S3Op::ListParts, Some("b"), Some("k"), Some(&id)),
        &uri,
        None,
    );
    let (result, _) = proxy
        .send(req, move |_| {
            Ok(answer(StatusCode::OK, &[], answer_body.clone()))
        })
        .await;
    let body = body_bytes(result.expect("listed").into_body()).await;
    let escaped = quick_xml::escape::escape(id.as_str()).into_owned();
    assert_eq!(
        String::from_utf8(body.to_vec()).unwrap(),
        parts.replace("<UploadId>up&amp;1<", &format!("<UploadId>{escaped}<"))
    );
}
