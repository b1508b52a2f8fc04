//! Integration tests through the real binary against real stores (SeaweedFS, Ceph RGW
//! and Garage, started by `dev/stores`), with real SigV4 clients: aws-sdk-s3 here, boto3 and
//! the aws CLI in `tests/clients/s3_suite.py`. Every S3 operation plain and with SSE-C.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use http_body_util::Full;
use md5::{Digest, Md5};
use ssec_proxy::s3::chunked::{Signing, encode};
use support::at_rest;
use support::s3::{Key, crc32_base64, data, failure, object_names};
use support::{
    Proxy, ProxyOptions, RawClient, Route, Store, bucket_name, direct_client, resign_tables,
    s3_client, store_client, store_kind, store_proxy, store_proxy_auto,
};

fn proxy_for(store: &Store, route: Route) -> Proxy {
    store_proxy(store, route, "default = \"allow\"")
}

fn client(proxy: &Proxy, store: &Store) -> Client {
    store_client(proxy, store)
}

macro_rules! sse {
    ($builder:expr, $key:expr) => {
        match $key {
            Some(k) => $builder
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&k.b64)
                .sse_customer_key_md5(&k.md5),
            None => $builder,
        }
    };
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn get_bytes(
    c: &Client,
    bucket: &str,
    key: &str,
    sse_key: Option<&Key>,
    range: Option<&str>,
) -> Vec<u8> {
    let mut req = sse!(c.get_object().bucket(bucket).key(key), sse_key);
    if let Some(range) = range {
        req = req.range(range);
    }
    let out = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {key}: {:?} {e:?}", failure(&e)));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// PUT, GET, ranged GET, HEAD, ListObjectsV2, multipart (3 × 5 MiB), CopyObject,
/// presigned GET and PUT, DELETE — through the proxy, asserting status and content.
async fn exercise(store: &Store, route: Route, sse_key: Option<Key>) {
    exercise_through(&proxy_for(store, route), store, sse_key, false).await;
}

/// `resign`: the proxy runs in resign mode, and makes the SSE-C copies RGW cannot.
async fn exercise_through(proxy: &Proxy, store: &Store, sse_key: Option<Key>, resign: bool) {
    let c = client(proxy, store);
    let bucket = bucket_name(&format!("ops-{}", store.name));
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = sse_key.as_ref();

    // PutObject (and the store's SSE-C echo).
    let body = data(1011, 1);
    let put = sse!(
        c.put_object()
            .bucket(&bucket)
            .key("obj")
            .body(ByteStream::from(body.clone())),
        key
    )
    .send()
    .await
    .unwrap_or_else(|e| panic!("PUT: {:?}", failure(&e)));
    if let Some(k) = key {
        assert_eq!(put.sse_customer_algorithm(), Some("AES256"));
        assert_eq!(put.sse_customer_key_md5(), Some(k.md5.as_str()));
    }

    // GetObject, ranged GetObject, HeadObject.
    assert_eq!(get_bytes(&c, &bucket, "obj", key, None).await, body);
    assert_eq!(
        get_bytes(&c, &bucket, "obj", key, Some("bytes=10-99")).await,
        body[10..100]
    );
    let head = sse!(c.head_object().bucket(&bucket).key("obj"), key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(1011));

    // The store encrypted it: without the key it refuses to serve it.
    if key.is_some() {
        let err = c
            .get_object()
            .bucket(&bucket)
            .key("obj")
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&err).0, 400, "{:?}", failure(&err));
    }

    // ListObjectsV2.
    let list = c.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let keys: Vec<_> = list.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["obj"]);

    // Multipart upload: 3 parts of 5 MiB.
    let parts_data: Vec<Vec<u8>> = (0..3).map(|i| data(5 << 20, 10 + i)).collect();
    let create = sse!(c.create_multipart_upload().bucket(&bucket).key("mpu"), key)
        .send()
        .await
        .unwrap();
    let upload_id = create.upload_id().unwrap().to_owned();
    let mut completed = Vec::new();
    for (i, part) in parts_data.iter().enumerate() {
        let n = i32::try_from(i + 1).unwrap();
        let out = sse!(
            c.upload_part()
                .bucket(&bucket)
                .key("mpu")
                .upload_id(&upload_id)
                .part_number(n)
                .body(ByteStream::from(part.clone())),
            key
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("UploadPart {n}: {:?}", failure(&e)));
        completed.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
    }
    let done = c
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("mpu")
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("Complete: {:?}", failure(&e)));
    assert!(done.location().is_some() || done.e_tag().is_some() || done.key().is_some());
    let whole: Vec<u8> = parts_data.concat();
    let got = get_bytes(&c, &bucket, "mpu", key, None).await;
    assert_eq!(got.len(), whole.len());
    assert_eq!(md5_hex(&got), md5_hex(&whole));

    // CopyObject: plain → plain everywhere; SSE-C source K → SSE-C destination K2
    // (key rotation) where the store supports it, and in resign mode everywhere (the
    // proxy copies for RGW 16.2; passthrough refuses it there, 501).
    let copy_key = sse_key.as_ref().map(|_| Key::new(1));
    let mut copy = c
        .copy_object()
        .bucket(&bucket)
        .key("copy")
        .copy_source(format!("{bucket}/obj"));
    if let (Some(src), Some(dst)) = (key, copy_key.as_ref()) {
        copy = copy
            .copy_source_sse_customer_algorithm("AES256")
            .copy_source_sse_customer_key(&src.b64)
            .copy_source_sse_customer_key_md5(&src.md5)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&dst.b64)
            .sse_customer_key_md5(&dst.md5);
    }
    match (store.name, key.is_some() && !resign) {
        ("RGW", true) => {
            let err = copy.send().await.unwrap_err();
            assert_eq!(failure(&err), (501, "NotImplemented".to_owned()));
        }
        _ => {
            copy.send()
                .await
                .unwrap_or_else(|e| panic!("Copy: {:?}", failure(&e)));
            assert_eq!(
                get_bytes(&c, &bucket, "copy", copy_key.as_ref(), None).await,
                body
            );
        }
    }

    // Presigned PUT and GET, sent by a plain HTTPS client with the signed headers.
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let presigned_body = data(4096, 7);
    let expires = PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let put = sse!(c.put_object().bucket(&bucket).key("presigned"), key)
        .presigned(expires.clone())
        .await
        .unwrap();
    let mut req = http::Request::builder().method("PUT").uri(put.uri());
    for (name, value) in put.headers() {
        req = req.header(name, value);
    }
    let response = raw
        .send(
            req.body(Full::new(Bytes::from(presigned_body.clone())))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, 200, "presigned PUT: {}", response.text());
    let get = sse!(c.get_object().bucket(&bucket).key("presigned"), key)
        .presigned(expires)
        .await
        .unwrap();
    let mut req = http::Request::builder().method("GET").uri(get.uri());
    for (name, value) in get.headers() {
        req = req.header(name, value);
    }
    let response = raw.send(req.body(Full::default()).unwrap()).await;
    assert_eq!(response.status, 200, "presigned GET: {}", response.text());
    assert_eq!(&response.body[..], &presigned_body[..]);

    // DeleteObject, then the object is gone.
    for k in ["obj", "mpu", "presigned"] {
        c.delete_object()
            .bucket(&bucket)
            .key(k)
            .send()
            .await
            .unwrap();
    }
    let err = sse!(c.get_object().bucket(&bucket).key("obj"), key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err), (404, "NoSuchKey".to_owned()));
}

async fn wrong_secret_is_refused_by_the_store(store: &Store, route: Route) {
    let proxy = proxy_for(store, route);
    let good = client(&proxy, store);
    let bucket = bucket_name("sig");
    good.create_bucket().bucket(&bucket).send().await.unwrap();
    let bad = s3_client(
        &proxy.url(),
        &proxy.pki.ca_pem,
        &store.access_key,
        "wrong-secret-wrong-secret-wrong-secret0",
        true,
    );
    let err = bad
        .put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    // Garage answers a bad signature with 403 AccessDenied (README's store table).
    let code = if store.name == "GARAGE" {
        "AccessDenied"
    } else {
        "SignatureDoesNotMatch"
    };
    assert_eq!(failure(&err), (403, code.to_owned()));
}

/// The same operations in resign mode: the client holds only the proxy's credentials,
/// the proxy verifies them and signs for the store with its own.
async fn exercise_resign(store: &Store, route: Route, sse_key: Option<Key>) {
    const ACCESS: &str = "OPSCLIENTACCESSKEY01";
    const SECRET: &str = "ops-client-secret-0123456789abcdefgh";
    let (tables, _secrets) = resign_tables(store, &[(ACCESS, SECRET, None)]);
    let kind = store_kind(store);
    let (endpoint, upstream) = match route {
        Route::Https => (
            store.https.clone(),
            format!("{kind}\nca_file = {:?}", store.ca.display().to_string()),
        ),
        Route::HttpForwardedProto => (
            store.http.clone(),
            format!("{kind}\nforwarded_proto = true"),
        ),
        Route::Http => (store.http.clone(), kind),
    };
    let proxy = Proxy::start(ProxyOptions {
        upstream,
        tables,
        ..ProxyOptions::endpoint(endpoint)
    });
    let client = Store {
        access_key: ACCESS.to_owned(),
        secret_key: SECRET.to_owned(),
        ..store.clone()
    };
    exercise_through(&proxy, &client, sse_key, true).await;
}

#[tokio::test]
async fn seaweedfs_operations_with_sse_c_in_resign_mode() {
    let store = require_store!(seaweedfs);
    exercise_resign(&store, Route::Http, Some(Key::new(0))).await;
}

#[tokio::test]
async fn seaweedfs_operations_plain_in_resign_mode() {
    let store = require_store!(seaweedfs);
    exercise_resign(&store, Route::Http, None).await;
}

#[tokio::test]
async fn rgw_operations_with_sse_c_in_resign_mode_over_its_tls_endpoint() {
    let store = require_store!(rgw);
    exercise_resign(&store, Route::Https, Some(Key::new(0))).await;
}

#[tokio::test]
async fn rgw_operations_plain_in_resign_mode() {
    let store = require_store!(rgw);
    exercise_resign(&store, Route::Http, None).await;
}

// Garage serves plain HTTP only and takes SSE-C over it (it cannot tell TLS from not).
#[tokio::test]
async fn garage_operations_plain() {
    let store = require_store!(garage);
    exercise(&store, Route::Http, None).await;
}

#[tokio::test]
async fn garage_operations_with_sse_c() {
    let store = require_store!(garage);
    exercise(&store, Route::Http, Some(Key::new(0))).await;
}

#[tokio::test]
async fn garage_operations_with_sse_c_in_resign_mode() {
    let store = require_store!(garage);
    exercise_resign(&store, Route::Http, Some(Key::new(0))).await;
}

#[tokio::test]
async fn garage_operations_plain_in_resign_mode() {
    let store = require_store!(garage);
    exercise_resign(&store, Route::Http, None).await;
}

#[tokio::test]
async fn garage_wrong_secret_is_signature_does_not_match() {
    let store = require_store!(garage);
    wrong_secret_is_refused_by_the_store(&store, Route::Http).await;
}

#[tokio::test]
async fn seaweedfs_operations_plain() {
    let store = require_store!(seaweedfs);
    exercise(&store, Route::Http, None).await;
}

#[tokio::test]
async fn seaweedfs_operations_with_sse_c() {
    let store = require_store!(seaweedfs);
    exercise(&store, Route::Http, Some(Key::new(0))).await;
}

#[tokio::test]
async fn seaweedfs_operations_with_sse_c_over_its_tls_endpoint() {
    let store = require_store!(seaweedfs);
    exercise(&store, Route::Https, Some(Key::new(0))).await;
}

/// The defaults a new user runs: no `upstream.store`. The proxy recognises the store
/// (it says so in `/readyz`) and applies its behaviours, so every operation with
/// SSE-C works, SSE-C multipart uploads included (SeaweedFS does not echo SSE-C on
/// CreateMultipartUpload: as `generic` the proxy would answer 502).
async fn recognised_by_default(store: &Store, route: Route, kind: &str, sign: &str) {
    let proxy = store_proxy_auto(store, route, "default = \"allow\"");
    let (status, body) = proxy.admin("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!(
            "upstream.store: auto: {kind} (recognised by {sign}"
        )),
        "{body}"
    );
    assert!(
        proxy.wait_log("\"store identified\"").is_some(),
        "start-up names the store"
    );
    exercise_through(&proxy, store, Some(Key::new(0)), false).await;
    // What the store holds of an SSE-C multipart upload made with the defaults: no
    // plaintext.
    let c = client(&proxy, store);
    let key = Some(Key::new(1));
    let key = key.as_ref();
    let bucket = bucket_name(&format!("auto-{}", store.name));
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let marker = format!("AUTO-AT-REST-{}", store.name);
    let body = at_rest::marked(256 << 10, &marker, 7);
    let create = sse!(c.create_multipart_upload().bucket(&bucket).key("mpu"), key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("Create: {:?}", failure(&e)));
    let upload_id = create.upload_id().unwrap().to_owned();
    let part = sse!(
        c.upload_part()
            .bucket(&bucket)
            .key("mpu")
            .upload_id(&upload_id)
            .part_number(1)
            .body(ByteStream::from(body.clone())),
        key
    )
    .send()
    .await
    .unwrap_or_else(|e| panic!("UploadPart: {:?}", failure(&e)));
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("mpu")
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("Complete: {:?}", failure(&e)));
    assert_eq!(get_bytes(&c, &bucket, "mpu", key, None).await, body);
    assert_eq!(
        at_rest::count(store, &bucket, &marker),
        0,
        "plaintext at rest"
    );
}

#[tokio::test]
async fn seaweedfs_is_recognised_and_works_with_the_defaults() {
    let store = require_store!(seaweedfs);
    recognised_by_default(&store, Route::Http, "seaweedfs", "Server: SeaweedFS").await;
}

#[tokio::test]
async fn rgw_is_recognised_and_works_with_the_defaults() {
    let store = require_store!(rgw);
    recognised_by_default(&store, Route::Https, "rgw", "x-amz-request-id: tx").await;
}

#[tokio::test]
async fn garage_is_recognised_and_works_with_the_defaults() {
    let store = require_store!(garage);
    recognised_by_default(&store, Route::Http, "garage", "its error message").await;
}

/// A store that comes up after the proxy, under the defaults (`auto`). Nothing reaches
/// it before the proxy has recognised it: a request gets 503 (and wakes the probe, set
/// to a minute here, so only that wake-up explains the recognition within seconds). A
/// load balancer's 502 in front of the starting store names no store and settles
/// nothing. Had the proxy guessed `generic`, `a//b` would reach SeaweedFS, which
/// stores it as `a/b`; recognised, the proxy refuses it before the store.
#[tokio::test]
async fn seaweedfs_starting_after_the_proxy_sees_no_request_before_it_is_recognised() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::AsyncWriteExt as _;
    let store = require_store!(seaweedfs);
    let direct = support::wire::direct_client(&store);
    let bucket = bucket_name("late");
    direct.create_bucket().bucket(&bucket).send().await.unwrap();
    let port = support::free_port();
    let proxy = Proxy::start(ProxyOptions {
        upstream: "probe_interval = \"60s\"".into(),
        default_store: true,
        ..ProxyOptions::endpoint(format!("http://127.0.0.1:{port}"))
    });
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let put = || {
        let url = format!("{}/{bucket}/late/a//b", proxy.url());
        support::signed(&store, "PUT", &url, &[], Bytes::from_static(b"LATE"))
    };
    let readyz = || proxy.admin("/readyz");

    // Nothing listens: unreachable, not recognised.
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("upstream.store: auto: not recognised yet"),
        "{body}"
    );
    let answer = raw.send(put()).await;
    assert_eq!(answer.status, 503, "{}", answer.text());

    // The store's address answers, first as a load balancer whose backend is starting
    // (502), then as the store itself.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let target = store.http.trim_start_matches("http://").to_owned();
    let relay = {
        let started = Arc::clone(&started);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let started = started.load(Ordering::SeqCst);
                let target = target.clone();
                tokio::spawn(async move {
                    if !started {
                        let _ = inbound
                            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        })
    };
    let answer = raw.send(put()).await;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert_eq!(
        support::xml_code(&answer.text()).as_deref(),
        Some("ServiceUnavailable")
    );
    // The nudged probe asks; a 502 does not settle it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("not ready: store not recognised yet\n"),
        "{body}"
    );

    started.store(true, Ordering::SeqCst);
    let answer = raw.send(put()).await;
    assert!(
        matches!(answer.status.as_u16(), 501 | 503),
        "nothing reaches the store before it is recognised: {} {}",
        answer.status,
        answer.text()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (status, body) = readyz().await;
        if status == 200 {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        let _ = raw.send(put()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        body.contains("upstream.store: auto: seaweedfs (recognised by Server: SeaweedFS"),
        "{body}"
    );
    let answer = raw.send(put()).await;
    assert_eq!(answer.status, 501, "{}", answer.text());
    for held in ["late/a/b", "late/a//b"] {
        assert!(
            !support::resign::exists(&direct, &bucket, held).await,
            "the store holds {held}"
        );
    }
    assert!(proxy.wait_log("\"store_unrecognised\"").is_some());
    relay.abort();
}

#[tokio::test]
async fn seaweedfs_wrong_secret_is_signature_does_not_match() {
    let store = require_store!(seaweedfs);
    wrong_secret_is_refused_by_the_store(&store, Route::Http).await;
}

#[tokio::test]
async fn rgw_operations_plain_over_its_tls_endpoint() {
    let store = require_store!(rgw);
    exercise(&store, Route::Https, None).await;
}

#[tokio::test]
async fn rgw_operations_with_sse_c_over_its_tls_endpoint() {
    let store = require_store!(rgw);
    exercise(&store, Route::Https, Some(Key::new(0))).await;
}

#[tokio::test]
async fn rgw_operations_with_sse_c_over_http_with_forwarded_proto() {
    let store = require_store!(rgw);
    exercise(&store, Route::HttpForwardedProto, Some(Key::new(0))).await;
}

#[tokio::test]
async fn rgw_operations_plain_over_http() {
    let store = require_store!(rgw);
    exercise(&store, Route::Http, None).await;
}

#[tokio::test]
async fn rgw_wrong_secret_is_signature_does_not_match() {
    let store = require_store!(rgw);
    wrong_secret_is_refused_by_the_store(&store, Route::Https).await;
}

/// Without the forwarded-proto trust, RGW refuses SSE-C over plain HTTP: shows that
/// the header the proxy adds is what makes the HTTP route work, and that a client
/// cannot supply it itself (the proxy strips the client's copy, signed or not).
#[tokio::test]
async fn rgw_refuses_sse_c_over_http_without_the_proxy_header() {
    let store = require_store!(rgw);
    let proxy = proxy_for(&store, Route::Http);
    let c = client(&proxy, &store);
    let bucket = bucket_name("xfp");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let k = Key::new(0);
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.b64)
        .sse_customer_key_md5(&k.md5)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let mut req = http::Request::builder().method("PUT").uri(put.uri());
    for (name, value) in put.headers() {
        req = req.header(name, value);
    }
    // Unsigned, added after signing: RGW would trust it if it arrived.
    req = req
        .header("x-forwarded-proto", "https")
        .header("forwarded", "proto=https");
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let response = raw
        .send(req.body(Full::new(Bytes::from_static(b"x"))).unwrap())
        .await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(
        support::xml_code(&response.text()).as_deref(),
        Some("InvalidRequest")
    );
}

/// A hand-signed `STREAMING-UNSIGNED-PAYLOAD-TRAILER` PUT with SSE-C: the aws-chunked
/// body as SDKs send it is stored decoded; bodies that break their framing after 192 KiB
/// of payload reached the store are refused with AWS's codes and leave nothing behind.
/// (Sent to SeaweedFS directly, the wrong lengths and the trailing garbage are stored
/// with 200 and the undeclared trailer gets a 500.) SeaweedFS keeps `aws-chunked` as the
/// object's `Content-Encoding`; reads through the proxy do not show it.
#[tokio::test]
async fn seaweedfs_aws_chunked_framing_is_enforced() {
    let store = require_store!(seaweedfs);
    let proxy = proxy_for(&store, Route::Http);
    let client = client(&proxy, &store);
    let bucket = bucket_name("chunked");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(9);
    let payload = data(200 * 1024, 5);
    let crc = crc32_base64(&payload);
    // 64 KiB chunks, then the checksum trailer (and, for one case, a trailer the
    // request does not announce).
    let chunked = |trailers: &[(&str, &str)]| {
        let mut all = vec![("x-amz-checksum-crc32", crc.as_str())];
        all.extend_from_slice(trailers);
        encode(&payload, &[64 << 10; 4], Signing::Unsigned, &all)
    };
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let put = async |name: &str, decoded: usize, body: Bytes| {
        let decoded = decoded.to_string();
        let req = support::signed_for(
            "s3",
            &store,
            "PUT",
            &format!("{}/{bucket}/{name}", proxy.url()),
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", &decoded),
                ("x-amz-trailer", "x-amz-checksum-crc32"),
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key", &key.b64),
                ("x-amz-server-side-encryption-customer-key-md5", &key.md5),
            ],
            body,
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        );
        raw.send(req).await
    };

    let whole = Bytes::from(chunked(&[]));
    let r = put("whole", payload.len(), whole.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get_bytes(&client, &bucket, "whole", Some(&key), None).await,
        payload,
        "the store holds the decoded payload"
    );
    // SeaweedFS keeps the upload's framing as the object's coding; the proxy's answers
    // name no `aws-chunked`, as S3's never do. An SDK streaming upload (a trailer
    // checksum) with a coding of its own keeps that one.
    let gzip = ByteStream::from_body_1_x(Full::new(Bytes::from(payload.clone())));
    sse!(client.put_object().bucket(&bucket).key("gzip"), Some(&key))
        .content_encoding("gzip")
        .body(gzip)
        .send()
        .await
        .unwrap();
    // Sent directly: the SDK cannot read SeaweedFS's answer (it repeats the key MD5).
    let direct = RawClient::new(&std::fs::read_to_string(&store.ca).unwrap(), false);
    let sse_headers = key.headers();
    for (name, kept, shown) in [
        ("whole", "aws-chunked", None),
        ("gzip", "gzip,aws-chunked", Some("gzip")),
    ] {
        let at_rest = direct
            .send(support::signed(
                &store,
                "HEAD",
                &format!("{}/{bucket}/{name}", store.https),
                &sse_headers,
                Bytes::new(),
            ))
            .await;
        assert_eq!(at_rest.status, 200, "{name} at rest");
        assert_eq!(
            at_rest
                .headers
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            Some(kept),
            "{name} at rest"
        );
        let head = sse!(client.head_object().bucket(&bucket).key(name), Some(&key))
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_encoding(), shown, "{name}: HEAD");
        let get = sse!(client.get_object().bucket(&bucket).key(name), Some(&key))
            .send()
            .await
            .unwrap();
        assert_eq!(get.content_encoding(), shown, "{name}: GET");
        assert_eq!(get.body.collect().await.unwrap().into_bytes(), payload);
    }

    let refused = [
        ("longer", payload.len() + 1, whole.clone(), "IncompleteBody"),
        (
            "shorter",
            payload.len() - 1,
            whole.clone(),
            "IncompleteBody",
        ),
        (
            "undeclared",
            payload.len(),
            Bytes::from(chunked(&[("x-amz-checksum-sha256", "AAAA")])),
            "MalformedTrailerError",
        ),
        (
            "unterminated",
            payload.len(),
            whole.slice(..whole.len() - 2),
            "IncompleteBody",
        ),
        (
            "garbage",
            payload.len(),
            Bytes::from([&whole[..], b"GARBAGE"].concat()),
            "InvalidRequest",
        ),
    ];
    for (name, decoded, body, code) in refused {
        let r = put(name, decoded, body).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert_eq!(
            support::xml_code(&r.text()).as_deref(),
            Some(code),
            "{name}"
        );
    }
    // Give the store time to commit, were it going to.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(object_names(&client, &bucket).await, ["gzip", "whole"]);
}

/// Ceph RGW serves `/swift/v1/<bucket>/<key>` with its Swift API, which writes into
/// `<bucket>` and ignores SSE-C; the proxy would have checked a bucket named `swift`.
/// The positive control: with the bucket open to anonymous writes (an ACL a passthrough
/// client can set), a Swift PUT sent to RGW directly stores plaintext in a bucket whose
/// policy requires SSE-C. Through the proxy the same request, and RGW's admin and Swift
/// authentication entry points, are refused before the store, and RGW holds nothing;
/// so is RGW's usage log (`GET /?usage`), which RGW answers directly.
#[tokio::test]
async fn rgw_swift_and_admin_entry_points_are_refused_in_passthrough() {
    let store = require_store!(rgw);
    let ssec = "default = \"allow\"\n[[ssec.buckets]]\nbucket = \"swreq-*\"\npolicy = \"require\"";
    let proxy = store_proxy(&store, Route::Https, ssec);
    let store_ca = std::fs::read_to_string(&store.ca).unwrap();
    let direct = direct_client(&store);
    let bucket = format!("swreq-{}", bucket_name("sw"));
    direct.create_bucket().bucket(&bucket).send().await.unwrap();
    direct
        .put_bucket_acl()
        .bucket(&bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    let raw = RawClient::new(&format!("{store_ca}\n{}", proxy.pki.ca_pem), false);
    let put = |base: &str, name: &str| {
        http::Request::put(format!("{base}/swift/v1/{bucket}/{name}"))
            .body(Full::new(Bytes::from(format!("SWIFT-PLAINTEXT-{name}"))))
            .unwrap()
    };
    let control = raw.send(put(&store.https, "direct")).await;
    assert_eq!(control.status, 201, "control: {}", control.text());
    // The object is the anonymous writer's: read it as anonymous, with no key.
    let get = http::Request::get(format!("{}/{bucket}/direct", store.https))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let held = raw.send(get).await;
    assert_eq!(held.status, 200, "control: {}", held.text());
    let plain = held.body;
    assert_eq!(&plain[..], b"SWIFT-PLAINTEXT-direct", "control: plaintext");
    eprintln!("EVIDENCE rgw: Swift PUT directly -> 201, plaintext held in {bucket}");

    let refused = raw.send(put(&proxy.url(), "proxied")).await;
    assert_eq!(refused.status, 501, "{}", refused.text());
    let text = refused.text();
    assert!(text.contains("<Code>NotImplemented</Code>"), "{text}");
    assert!(text.contains("which the proxy does not forward"), "{text}");
    for (method, path) in [
        ("GET", format!("/swift/v1/{bucket}/direct")),
        ("GET", "/SWIFT/v1".to_owned()),
        ("GET", "/auth/v1.0".to_owned()),
        ("GET", format!("/admin/bucket?bucket={bucket}")),
    ] {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", proxy.url()))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let answer = raw.send(req).await;
        assert_eq!(answer.status, 501, "{path}: {}", answer.text());
    }
    assert_eq!(object_names(&direct, &bucket).await, vec!["direct"]);
    // RGW's usage log is not an S3 operation either: RGW answers it, the proxy does not
    // forward it.
    let usage =
        |base: &str| support::signed(&store, "GET", &format!("{base}/?usage"), &[], Bytes::new());
    let control = raw.send(usage(&store.https)).await;
    assert_eq!(control.status, 200, "control: {}", control.text());
    assert!(
        control.text().contains("<Usage"),
        "control: {}",
        control.text()
    );
    let refused = raw.send(usage(&proxy.url())).await;
    assert_eq!(refused.status, 501, "{}", refused.text());
    let metrics = proxy.admin("/metrics").await.1;
    for line in [
        "ssec_rejections_total{code=\"NotImplemented\",reason=\"store_entry_point\"} 5",
        "ssec_rejections_total{code=\"NotImplemented\",reason=\"unknown_operation\"} 1",
    ] {
        assert!(metrics.contains(line), "{metrics}");
    }
}

/// The names of the buckets `store` holds, read from the store directly.
async fn held_buckets(store: &Store) -> Vec<String> {
    let listing = direct_client(store).list_buckets().send().await.unwrap();
    listing
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect()
}

/// SeaweedFS serves other APIs on its S3 port: S3 Tables (`POST /` with an
/// `X-Amz-Target`, signed for `s3tables`; and at `/buckets`, `/namespaces/…`,
/// `/tables/…` for any request signed for `s3tables`) creates buckets, and IAM (`POST /`
/// with `Action=`) manages identities. The positive control: sent to SeaweedFS directly,
/// a CreateTableBucket, in either form, creates a bucket the S3 API then lists. Through
/// the proxy, which does not read these requests as S3 operations, they are refused
/// before the store, and no bucket appears.
#[tokio::test]
async fn requests_that_are_not_s3_operations_are_refused_in_passthrough() {
    let store = require_store!(seaweedfs);
    let proxy = store_proxy(&store, Route::Https, "default = \"require\"");
    let store_ca = std::fs::read_to_string(&store.ca).unwrap();
    let raw = RawClient::new(&format!("{store_ca}\n{}", proxy.pki.ca_pem), false);
    let create = |base: &str, name: &str| {
        support::signed_for(
            "s3tables",
            &store,
            "POST",
            &format!("{base}/"),
            &[
                ("x-amz-target", "S3Tables.CreateTableBucket"),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            Bytes::from(format!("{{\"name\":\"{name}\"}}")),
            "UNSIGNED-PAYLOAD",
        )
    };
    let direct_name = bucket_name("tbd");
    let control = raw.send(create(&store.https, &direct_name)).await;
    assert_eq!(control.status, 200, "control: {}", control.text());
    assert!(
        held_buckets(&store).await.contains(&direct_name),
        "control: CreateTableBucket sent directly creates a bucket"
    );
    eprintln!("EVIDENCE seaweedfs: S3 Tables CreateTableBucket directly -> 200, bucket created");

    let proxied_name = bucket_name("tbp");
    let refused = raw.send(create(&proxy.url(), &proxied_name)).await;
    assert_eq!(refused.status, 501, "{}", refused.text());
    let text = refused.text();
    assert!(text.contains("<Code>NotImplemented</Code>"), "{text}");
    assert!(
        text.contains("not an S3 operation the proxy recognises"),
        "{text}"
    );
    let iam = support::signed(
        &store,
        "POST",
        &format!("{}/", proxy.url()),
        &[("content-type", "application/x-www-form-urlencoded")],
        Bytes::from_static(b"Action=CreateUser&UserName=proxied&Version=2010-05-08"),
    );
    let refused = raw.send(iam).await;
    assert_eq!(refused.status, 501, "{}", refused.text());
    assert!(!held_buckets(&store).await.contains(&proxied_name));

    // The same API at S3 paths: SeaweedFS routes `PUT /buckets` signed for `s3tables`
    // to CreateTableBucket; the proxy would read it as CreateBucket `buckets`.
    let create_rest = |base: &str, name: &str| {
        support::signed_for(
            "s3tables",
            &store,
            "PUT",
            &format!("{base}/buckets"),
            &[("content-type", "application/json")],
            Bytes::from(format!("{{\"name\":\"{name}\"}}")),
            "UNSIGNED-PAYLOAD",
        )
    };
    let direct_name = bucket_name("tbr");
    let control = raw.send(create_rest(&store.https, &direct_name)).await;
    assert_eq!(control.status, 200, "control: {}", control.text());
    assert!(held_buckets(&store).await.contains(&direct_name), "control");
    eprintln!(
        "EVIDENCE seaweedfs: PUT /buckets signed for s3tables directly -> 200, bucket created"
    );
    let proxied_name = bucket_name("tbq");
    let refused = raw.send(create_rest(&proxy.url(), &proxied_name)).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains(
            "incorrect service &quot;s3tables&quot;. This endpoint belongs to &quot;s3&quot;."
        ),
        "{}",
        refused.text()
    );
    // Anonymous, with the JSON protocol's content type (newer SeaweedFS routes it so).
    let anonymous = http::Request::put(format!("{}/buckets", proxy.url()))
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(format!(
            "{{\"name\":\"{proxied_name}\"}}"
        ))))
        .unwrap();
    let refused = raw.send(anonymous).await;
    assert_eq!(refused.status, 501, "{}", refused.text());
    assert!(!held_buckets(&store).await.contains(&proxied_name));
    let metrics = proxy.admin("/metrics").await.1;
    for line in [
        "ssec_rejections_total{code=\"NotImplemented\",reason=\"unknown_operation\"} 3",
        "ssec_rejections_total{code=\"AuthorizationHeaderMalformed\",reason=\"sigv4_malformed\"} 1",
    ] {
        assert!(metrics.contains(line), "{metrics}");
    }
}

/// Bucket configurations a store does not implement, which it reads as the bucket's
/// own requests. The positive controls, sent to the store directly: RGW (and Garage,
/// for `metadataTable`) answers the GET with a listing, store ETags and all (past opaque
/// ETags); a DELETE deletes the (empty) bucket; SeaweedFS and RGW answer a PUT of one
/// for a missing bucket by creating it. S3 has no DELETE of some configurations at all
/// (`versioning`), which every store here reads as a DeleteBucket. Through the proxy,
/// each is refused (`501`) before the store, and the bucket stays.
async fn unread_bucket_configurations_are_refused(store: &Store, unread: &str) {
    let proxy = proxy_for(store, Route::Http);
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let direct = direct_client(store);
    let send = async |base: &str, method: &str, path: &str| {
        let url = format!("{base}{path}");
        raw.send(support::signed(store, method, &url, &[], Bytes::new()))
            .await
    };
    let exists = async |bucket: &str| direct.head_bucket().bucket(bucket).send().await.is_ok();

    // Controls, directly.
    let listed = bucket_name("cfl");
    direct.create_bucket().bucket(&listed).send().await.unwrap();
    direct
        .put_object()
        .bucket(&listed)
        .key("o")
        .body(ByteStream::from_static(b"plain"))
        .send()
        .await
        .unwrap();
    let control = send(
        &store.http,
        "GET",
        &format!("/{listed}?{unread}&list-type=2"),
    )
    .await;
    let text = control.text();
    assert!(
        text.contains("<ListBucketResult"),
        "control: GET ?{unread} lists the bucket: {text}"
    );
    eprintln!(
        "EVIDENCE {}: GET ?{unread} directly -> a listing",
        store.name
    );
    let created = bucket_name("cfc");
    let control = send(&store.http, "PUT", &format!("/{created}?{unread}")).await;
    assert!(
        exists(&created).await,
        "control: PUT ?{unread} creates the bucket: {}",
        control.text()
    );
    eprintln!(
        "EVIDENCE {}: PUT ?{unread} directly -> bucket created",
        store.name
    );
    let control = send(&store.http, "DELETE", &format!("/{created}?{unread}")).await;
    assert!(
        !exists(&created).await,
        "control: DELETE ?{unread} deletes the bucket: {}",
        control.text()
    );
    // S3 has no DELETE ?versioning: RGW and SeaweedFS delete the bucket (SeaweedFS even
    // one that holds objects), Garage refuses it.
    let versioned = bucket_name("cfv");
    direct
        .create_bucket()
        .bucket(&versioned)
        .send()
        .await
        .unwrap();
    let control = send(&store.http, "DELETE", &format!("/{versioned}?versioning")).await;
    let gone = !exists(&versioned).await;
    assert_eq!(gone, store.name != "GARAGE", "control: {}", control.text());
    eprintln!(
        "EVIDENCE {}: DELETE ?{unread} directly -> DeleteBucket; DELETE ?versioning -> {}",
        store.name,
        if gone { "DeleteBucket" } else { "refused" }
    );

    // Through the proxy.
    let empty = bucket_name("cfe");
    direct.create_bucket().bucket(&empty).send().await.unwrap();
    let missing = bucket_name("cfm");
    for (method, path) in [
        ("GET", format!("/{listed}?{unread}")),
        ("GET", format!("/{listed}?{unread}&list-type=2")),
        ("PUT", format!("/{missing}?{unread}")),
        ("DELETE", format!("/{empty}?{unread}")),
        ("DELETE", format!("/{empty}?versioning")),
        ("PUT", format!("/{missing}?location")),
    ] {
        let refused = send(&proxy.url(), method, &path).await;
        assert_eq!(refused.status, 501, "{method} {path}: {}", refused.text());
        let text = refused.text();
        assert!(text.contains("<Code>NotImplemented</Code>"), "{text}");
        assert!(!text.contains("<ETag>"), "{text}");
    }
    assert!(exists(&empty).await);
    assert!(!exists(&missing).await);
    // What the store implements still passes.
    let versioning = send(&proxy.url(), "GET", &format!("/{listed}?versioning")).await;
    assert_eq!(versioning.status, 200, "{}", versioning.text());
    assert!(versioning.text().contains("VersioningConfiguration"));
}

#[tokio::test]
async fn rgw_unread_bucket_configurations_are_refused() {
    let store = require_store!(rgw);
    unread_bucket_configurations_are_refused(&store, "encryption").await;
}

#[tokio::test]
async fn seaweedfs_unread_bucket_configurations_are_refused() {
    let store = require_store!(seaweedfs);
    unread_bucket_configurations_are_refused(&store, "metadataTable").await;
}

#[tokio::test]
async fn garage_unread_bucket_configurations_are_refused() {
    let store = require_store!(garage);
    unread_bucket_configurations_are_refused(&store, "metadataTable").await;
}
