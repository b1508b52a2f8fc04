//! Key injection against the real stores (resign mode, `[[ssec.buckets]]
//! inject_key_file`): applications talk plain S3, every object lands in the store's own
//! SSE-C format under the bucket's key — proven by reading the store directly, without a
//! key (refused) and with the key (the plaintext) — and reads of objects written under a
//! previous key keep working after a rotation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use serde_json::json;
use support::at_rest;
use support::form::{Form, Signer, signed_fields};
use support::s3::{Key, failure};
use support::wire::{direct_client, direct_url, ssec};
use support::{
    Proxy, ProxyOptions, RawClient, Store, bucket_name, resign_tables, s3_client, signed,
    store_kind,
};

const APP: &str = "APPACCESSKEY00000001";
const APP_SECRET: &str = "app-secret-0123456789abcdefghijklmnop";

/// The proxy with `inja-*` injecting key A, `injb-*` injecting key B (both `require`),
/// `injallow-*` injecting key A under `allow`, and every other bucket `allow` without
/// injection.
struct Injecting {
    proxy: Proxy,
    store: Store,
    dir: tempfile::TempDir,
    a: Key,
    b: Key,
}

fn rules(dir: &Path, a: &str, previous_a: &[&str]) -> String {
    let path = |name: &str| dir.join(name).display().to_string();
    let previous: Vec<String> = previous_a
        .iter()
        .map(|n| format!("{:?}", path(n)))
        .collect();
    format!(
        "[[ssec.buckets]]\nbucket = \"inja-*\"\npolicy = \"require\"\ninject_key_file = {:?}\nprevious_key_files = [{}]\n\
         [[ssec.buckets]]\nbucket = \"injb-*\"\npolicy = \"require\"\ninject_key_file = {:?}\n\
         [[ssec.buckets]]\nbucket = \"injallow-*\"\npolicy = \"allow\"\ninject_key_file = {:?}\n\
         [[ssec.buckets]]\nbucket = \"injobj-*\"\npolicy = \"require\"\ninject_key_file = {:?}\ninject_derive = \"object\"\n",
        path(a),
        previous.join(", "),
        path("b.key"),
        path("a.key"),
        path("a.key"),
    )
}

impl Injecting {
    fn start(store: &Store) -> Self {
        let (tables, dir) = resign_tables(store, &[(APP, APP_SECRET, None)]);
        let (a, b) = (Key::new(40), Key::new(41));
        // Raw 32 bytes for A, base64 text with a newline for B: both forms the contract
        // allows.
        std::fs::write(dir.path().join("a.key"), a.raw).unwrap();
        std::fs::write(dir.path().join("b.key"), format!("{}\n", b.b64)).unwrap();
        let mut upstream = store_kind(store);
        // RGW takes SSE-C over plain HTTP only from a proxy it trusts to have had TLS.
        if store.name == "RGW" {
            upstream.push_str("\nforwarded_proto = true");
        }
        let proxy = Proxy::start(ProxyOptions {
            upstream,
            tables: format!("{tables}{}", rules(dir.path(), "a.key", &[])),
            ..ProxyOptions::endpoint(store.http.clone())
        });
        Self {
            proxy,
            store: store.clone(),
            dir,
            a,
            b,
        }
    }

    /// A plain S3 client of the proxy: it never sends an SSE-C header.
    fn app(&self) -> Client {
        s3_client(
            &self.proxy.url(),
            &self.proxy.pki.ca_pem,
            APP,
            APP_SECRET,
            true,
        )
    }

    /// The store itself, with its own credentials.
    fn direct(&self) -> Client {
        s3_client(
            &self.store.http,
            &self.proxy.pki.ca_pem,
            &self.store.access_key,
            &self.store.secret_key,
            true,
        )
    }

    /// What the store holds, read directly: without a key refused, with `key` the
    /// plaintext.
    async fn at_rest(&self, bucket: &str, name: &str, key: &Key, want: &[u8]) {
        at_rest::read_encrypted(&self.store, bucket, name, key, want).await;
    }

    /// Rotates `inja-*` to `key` (written to c.key) with A as the previous key, and
    /// waits for the reload.
    fn rotate_to(&self, key: &Key) {
        std::fs::write(self.dir.path().join("c.key"), key.raw).unwrap();
        let dir = self.dir.path().to_owned();
        self.proxy.rewrite_config(|text| {
            let cut = text.find("[[ssec.buckets]]").unwrap();
            format!("{}{}", &text[..cut], rules(&dir, "c.key", &["a.key"]))
        });
        self.proxy.signal("HUP");
        assert!(
            wait_log(&self.proxy, "credentials reloaded"),
            "no reload; logs:\n{}",
            self.proxy.logs().join("\n")
        );
    }

    /// A PutObject straight to the store, under `key` or plain.
    fn put_direct(
        &self,
        bucket: &str,
        name: &str,
        body: &'static [u8],
        key: Option<&Key>,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let put = direct_client(&self.store)
            .put_object()
            .bucket(bucket)
            .key(name)
            .body(ByteStream::from_static(body));
        match key {
            Some(k) => put
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&k.b64)
                .sse_customer_key_md5(&k.md5),
            None => put,
        }
    }

    /// The key `ssec-proxy key derive` prints for an object.
    fn derived(&self, bucket: &str, name: &str) -> Key {
        let out = std::process::Command::new(support::BIN)
            .args(["key", "derive", "--config"])
            .arg(&self.proxy.config_path)
            .args(["--bucket", bucket, "--key", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let b64 = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let raw: [u8; 32] =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &b64)
                .unwrap()
                .try_into()
                .unwrap();
        Key {
            raw,
            b64,
            md5: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                <md5::Md5 as md5::Digest>::digest(raw),
            ),
        }
    }

    async fn bucket(&self, prefix: &str) -> String {
        let bucket = bucket_name(prefix);
        self.app()
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        bucket
    }
}

/// A multipart upload of `parts` through the proxy by a client that sends no SSE-C
/// header; no part's answer may carry a key MD5.
async fn multipart(app: &Client, bucket: &str, key: &str, parts: &[&[u8]]) {
    let upload = app
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create: {:?}", failure(&e)));
    let id = upload.upload_id().unwrap();
    let mut done = Vec::new();
    for (n, body) in (1..).zip(parts) {
        let out = app
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("part {n}: {:?}", failure(&e)));
        assert_eq!(out.sse_customer_key_md5(), None);
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
    }
    app.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete: {:?}", failure(&e)));
}

async fn get(c: &Client, bucket: &str, name: &str) -> Vec<u8> {
    let got = c
        .get_object()
        .bucket(bucket)
        .key(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {name}: {:?}", failure(&e)));
    assert_eq!(
        got.sse_customer_key_md5(),
        None,
        "no key MD5 for a client that sent none"
    );
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

/// PutObject, GetObject (whole, ranged, by part), HeadObject and a multipart upload with
/// no SSE-C header from the client: each object is SSE-C under the bucket's key at rest.
async fn injects_the_buckets_key_into_plain_s3(store: Store) {
    let r = Injecting::start(&store);
    let app = r.app();
    let bucket = r.bucket("inja").await;
    let marker = format!("INJECT-MARK-{}", support::unique());
    let small = at_rest::marked(64 * 1024, &marker, 1);
    app.put_object()
        .bucket(&bucket)
        .key("small")
        .body(ByteStream::from(small.clone()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{:?}\n{}", failure(&e), r.proxy.logs().join("\n")));
    assert_eq!(get(&app, &bucket, "small").await, small);
    let head = app
        .head_object()
        .bucket(&bucket)
        .key("small")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(small.len() as i64));
    assert_eq!(head.sse_customer_key_md5(), None);
    let ranged = app
        .get_object()
        .bucket(&bucket)
        .key("small")
        .range("bytes=100-199")
        .send()
        .await
        .unwrap();
    let ranged = ranged.body.collect().await.unwrap().into_bytes();
    assert_eq!(ranged, small[100..200]);

    // Multipart: every part under the bucket's key.
    let part1 = at_rest::marked(5 * 1024 * 1024, &marker, 2);
    let part2 = at_rest::marked(1024, &marker, 3);
    multipart(&app, &bucket, "multi", &[&part1, &part2]).await;
    let whole = [part1.clone(), part2.clone()].concat();
    assert_eq!(get(&app, &bucket, "multi").await, whole);
    let first = app
        .get_object()
        .bucket(&bucket)
        .key("multi")
        .part_number(1)
        .send()
        .await
        .unwrap();
    // RGW 16.2 answers partNumber on an SSE-C object with the whole object.
    let want = if store.name == "RGW" { &whole } else { &part1 };
    assert_eq!(first.content_length(), Some(want.len() as i64));
    assert!(first.body.collect().await.unwrap().into_bytes() == want[..]);

    let attributes = app
        .get_object_attributes()
        .bucket(&bucket)
        .key("small")
        .object_attributes(aws_sdk_s3::types::ObjectAttributes::ObjectSize)
        .send()
        .await;
    // SeaweedFS implements it (RGW 16.2 and Garage answer ?attributes with the object,
    // which the SDK cannot parse).
    if store.name == "SEAWEEDFS" {
        let size = attributes.map(|a| a.object_size()).map_err(|e| failure(&e));
        assert_eq!(size, Ok(Some(small.len() as i64)));
    }

    // At rest: refused without a key, the plaintext with the bucket's key, no marker.
    r.at_rest(&bucket, "small", &r.a, &small).await;
    r.at_rest(&bucket, "multi", &r.a, &whole).await;
    assert_eq!(
        at_rest::count(&store, &bucket, &marker),
        0,
        "plaintext at rest"
    );

    // A client that sends its own key keeps it.
    let own = Key::new(42);
    app.put_object()
        .bucket(&bucket)
        .key("own")
        .body(ByteStream::from_static(b"own key"))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&own.b64)
        .sse_customer_key_md5(&own.md5)
        .send()
        .await
        .unwrap();
    r.at_rest(&bucket, "own", &own, b"own key").await;
}

/// CopyObject between two injected buckets (each its own key), and between an injected
/// bucket and one whose client sends its own key. RGW 16.2 cannot copy SSE-C objects:
/// the proxy makes the copy itself.
async fn copies_take_each_buckets_key(store: Store) {
    let r = Injecting::start(&store);
    let app = r.app();
    let (a, b, own_bucket) = (
        r.bucket("inja").await,
        r.bucket("injb").await,
        r.bucket("own").await,
    );
    let data = at_rest::marked(32 * 1024, "COPYSOURCE", 4);
    app.put_object()
        .bucket(&a)
        .key("src")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let own = Key::new(43);
    let copy = app
        .copy_object()
        .bucket(&b)
        .key("copied")
        .copy_source(format!("{a}/src"))
        .send()
        .await;
    let to_own = app
        .copy_object()
        .bucket(&own_bucket)
        .key("copied")
        .copy_source(format!("{a}/src"))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&own.b64)
        .sse_customer_key_md5(&own.md5)
        .send()
        .await;
    copy.unwrap_or_else(|e| panic!("copy between injected buckets: {:?}", failure(&e)));
    r.at_rest(&b, "copied", &r.b, &data).await;
    to_own.unwrap_or_else(|e| panic!("copy to a client-keyed bucket: {:?}", failure(&e)));
    r.at_rest(&own_bucket, "copied", &own, &data).await;
    // And back: a client-keyed source into an injected bucket.
    app.copy_object()
        .bucket(&a)
        .key("back")
        .copy_source(format!("{own_bucket}/copied"))
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(&own.b64)
        .copy_source_sse_customer_key_md5(&own.md5)
        .send()
        .await
        .unwrap_or_else(|e| panic!("copy from a client-keyed bucket: {:?}", failure(&e)));
    r.at_rest(&a, "back", &r.a, &data).await;
}

/// UploadPartCopy from an injected bucket into another (each its own key), as source
/// and as destination: the parts are re-encrypted from A to B. Garage does it; on
/// SeaweedFS 4.48 and RGW 16.2, which cannot copy parts of SSE-C objects, the proxy does.
async fn part_copies_take_each_buckets_key(store: Store) {
    let r = Injecting::start(&store);
    let app = r.app();
    let (a, b) = (r.bucket("inja").await, r.bucket("injb").await);
    let data = at_rest::marked(6 * 1024 * 1024, "PARTCOPY", 4);
    app.put_object()
        .bucket(&a)
        .key("src")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let upload = app
        .create_multipart_upload()
        .bucket(&b)
        .key("parts")
        .send()
        .await
        .unwrap_or_else(|e| panic!("create: {:?}", failure(&e)));
    let id = upload.upload_id().unwrap();
    let split = 5 * 1024 * 1024;
    let mut parts = Vec::new();
    for (n, range) in [
        (1, format!("bytes=0-{}", split - 1)),
        (2, format!("bytes={split}-{}", data.len() - 1)),
    ] {
        let copied = app
            .upload_part_copy()
            .bucket(&b)
            .key("parts")
            .upload_id(id)
            .part_number(n)
            .copy_source(format!("{a}/src"))
            .copy_source_range(range)
            .send()
            .await;
        let copied = copied.unwrap_or_else(|e| panic!("part {n}: {:?}", failure(&e)));
        assert_eq!(copied.sse_customer_key_md5(), None);
        let etag = copied.copy_part_result().and_then(|p| p.e_tag()).unwrap();
        parts.push(CompletedPart::builder().part_number(n).e_tag(etag).build());
    }
    app.complete_multipart_upload()
        .bucket(&b)
        .key("parts")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete: {:?}", failure(&e)));
    r.at_rest(&b, "parts", &r.b, &data).await;
    assert_eq!(
        at_rest::count(&r.store, &b, "PARTCOPY"),
        0,
        "no plaintext at rest"
    );
}

/// Rotation: objects written under key A stay readable once B is current and A is a
/// previous key (the proxy tries A when the store says B is wrong, counted); new
/// writes use B. The key files are re-read by a reload.
async fn reads_under_a_previous_key_after_rotation(store: Store) {
    let r = Injecting::start(&store);
    let app = r.app();
    let bucket = r.bucket("inja").await;
    app.put_object()
        .bucket(&bucket)
        .key("old")
        .body(ByteStream::from_static(b"written under A"))
        .send()
        .await
        .unwrap();
    // Rotate: C is current, A previous.
    let c = Key::new(44);
    r.rotate_to(&c);
    assert_eq!(get(&app, &bucket, "old").await, b"written under A");
    let head = app.head_object().bucket(&bucket).key("old").send().await;
    head.unwrap_or_else(|e| panic!("HEAD under a previous key: {:?}", failure(&e)));
    // GetObjectAttributes takes the key too (RGW 16.2 and Garage answer it with the
    // object, which the SDK cannot parse: the status tells).
    let attributes = app
        .get_object_attributes()
        .bucket(&bucket)
        .key("old")
        .object_attributes(aws_sdk_s3::types::ObjectAttributes::ObjectSize)
        .send()
        .await;
    let status = attributes.map_or_else(|e| failure(&e).0, |_| 200);
    assert_eq!(status, 200, "GetObjectAttributes under a previous key");
    app.put_object()
        .bucket(&bucket)
        .key("new")
        .body(ByteStream::from_static(b"written under C"))
        .send()
        .await
        .unwrap();
    r.at_rest(&bucket, "new", &c, b"written under C").await;
    r.at_rest(&bucket, "old", &r.a, b"written under A").await;
    assert_eq!(get(&app, &bucket, "new").await, b"written under C");
    let metrics = r.proxy.admin("/metrics").await.1;
    let retries = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ssec_injected_key_retries_total "))
        .and_then(|v| v.parse::<u64>().ok());
    // SeaweedFS answers GetObjectAttributes without checking the key.
    let attributes_retried = u64::from(store.name != "SEAWEEDFS");
    assert_eq!(
        retries,
        Some(2 + attributes_retried),
        "one retry for the GET, one for the HEAD, one for GetObjectAttributes where the store checks the key"
    );
    // An object under a key the proxy no longer has: the store's refusal, after one
    // attempt per key.
    let lost = r.bucket("inja").await;
    r.put_direct(&lost, "lost", b"under B", Some(&r.b))
        .send()
        .await
        .unwrap();
    let refused = app.get_object().bucket(&lost).key("lost").send().await;
    let (status, code) = failure(&refused.unwrap_err());
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
}

/// An object the store holds in plaintext (written straight to it), read through the
/// proxy with the injected key: refused in a `require` bucket on every store; in an
/// `allow` bucket served where the store serves it (RGW 16.2 and SeaweedFS 4.48 return
/// the plaintext for a key sent with a plaintext object), refused where the store
/// refuses (Garage). Counted, and
/// logged with the object's name.
async fn plaintext_objects_are_caught(store: Store) {
    let r = Injecting::start(&store);
    let app = r.app();
    let direct = r.direct();
    let (req, allow) = (r.bucket("inja").await, r.bucket("injallow").await);
    for bucket in [&req, &allow] {
        direct
            .put_object()
            .bucket(bucket)
            .key("legacy-plain")
            .body(ByteStream::from_static(b"stored without SSE-C"))
            .send()
            .await
            .unwrap();
    }
    let refused = app
        .get_object()
        .bucket(&req)
        .key("legacy-plain")
        .send()
        .await;
    let (status, code) = failure(&refused.unwrap_err());
    assert_eq!(
        (status, code.as_str()),
        (400, "InvalidRequest"),
        "require bucket"
    );
    let head = app
        .head_object()
        .bucket(&req)
        .key("legacy-plain")
        .send()
        .await;
    assert_eq!(failure(&head.unwrap_err()).0, 400, "require bucket, HEAD");
    // Other reads that return the object's data (RGW reads ?attributes, SeaweedFS
    // ?torrent as a plain GET), and RGW's append, which ignores SSE-C.
    let as_app = Store {
        access_key: APP.to_owned(),
        secret_key: APP_SECRET.to_owned(),
        ..store.clone()
    };
    let raw = RawClient::new(&r.proxy.pki.ca_pem, false);
    for query in ["attributes", "torrent"] {
        let url = format!("{}/{req}/legacy-plain?{query}", r.proxy.url());
        let got = raw
            .send(signed(
                &as_app,
                "GET",
                &url,
                &[("x-amz-object-attributes", "ObjectSize")],
                Bytes::new(),
            ))
            .await;
        // SeaweedFS answers ?attributes with the attributes alone.
        let attributes_only = store.name == "SEAWEEDFS" && query == "attributes";
        assert!(
            got.status.as_u16() != 200 || attributes_only,
            "?{query}: {}",
            got.text()
        );
        assert!(!got.text().contains("stored without SSE-C"), "?{query}");
    }
    let url = format!("{}/{req}/appended?append&position=0", r.proxy.url());
    let appended = raw
        .send(signed(
            &as_app,
            "PUT",
            &url,
            &[],
            Bytes::from_static(b"appended plain"),
        ))
        .await;
    assert_eq!(appended.status.as_u16(), 501, "{}", appended.text());
    let held = direct
        .head_object()
        .bucket(&req)
        .key("appended")
        .send()
        .await;
    assert!(held.is_err(), "?append reached the store");
    let served = app
        .get_object()
        .bucket(&allow)
        .key("legacy-plain")
        .send()
        .await;
    let metrics = r.proxy.admin("/metrics").await.1;
    let count = |action: &str| {
        let name = format!("ssec_injected_plaintext_reads_total{{action=\"{action}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name.as_str()))
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    if store.name != "GARAGE" {
        let body = served.unwrap().body.collect().await.unwrap().into_bytes();
        assert_eq!(&body[..], b"stored without SSE-C");
        // GET, HEAD, and RGW's ?attributes or SeaweedFS's ?torrent (each store refuses
        // or answers the other itself).
        assert_eq!((count("refused"), count("served")), (3, 1));
        assert!(
            r.proxy.wait_log("legacy-plain").is_some(),
            "the object is named in the log"
        );
    } else {
        // Garage refuses a key for a plaintext object itself.
        let (status, code) = failure(&served.unwrap_err());
        assert_eq!(
            (status, code.as_str()),
            (400, "InvalidRequest"),
            "allow bucket"
        );
        assert_eq!((count("refused"), count("served")), (0, 0));
    }
}

/// `policy = "block_writes"` (AWS's default for new buckets since April 2026): an SSE-C
/// object already in the bucket stays readable with its key, every SSE-C write is 403
/// AccessDenied before the store (nothing is written), plain writes work.
async fn block_writes_keeps_reads(store: Store) {
    let ssec =
        "default = \"allow\"\n[[ssec.buckets]]\nbucket = \"blocked-*\"\npolicy = \"block_writes\"";
    let proxy = support::store_proxy(&store, support::wire::route(&store), ssec);
    let c = support::store_client(&proxy, &store);
    let direct = direct_client(&store);
    let bucket = bucket_name("blocked");
    direct.create_bucket().bucket(&bucket).send().await.unwrap();
    let k = Key::new(45);
    direct
        .put_object()
        .bucket(&bucket)
        .key("before")
        .body(ByteStream::from_static(b"written before the block"))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.b64)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap();
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("before")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.b64)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap_or_else(|e| panic!("read of an SSE-C object: {:?}", failure(&e)));
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"written before the block"
    );
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("after")
        .body(ByteStream::from_static(b"x"))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.b64)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await;
    assert_eq!(failure(&put.unwrap_err()), (403, "AccessDenied".to_owned()));
    let create = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("after-mpu")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.b64)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await;
    assert_eq!(
        failure(&create.unwrap_err()),
        (403, "AccessDenied".to_owned())
    );
    c.put_object()
        .bucket(&bucket)
        .key("plain")
        .body(ByteStream::from_static(b"plain write"))
        .send()
        .await
        .unwrap();
    let held = direct
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = held.contents().iter().filter_map(|o| o.key()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["before", "plain"],
        "no SSE-C write reached the store"
    );
    let uploads = direct
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty());
}

/// `inject_derive = "object"`: every object (each part of a multipart upload too) is
/// stored under its own key, which `ssec-proxy key derive` prints, so the store's data
/// stays readable without the proxy; the bucket key itself opens nothing; a copy
/// re-encrypts from the source object's key to the destination object's.
async fn derived_object_keys_at_rest(store: Store) {
    let r = Injecting::start(&store);
    let app = r.app();
    let bucket = r.bucket("injobj").await;
    let derive = |name: &str| r.derived(&bucket, name);
    for (name, body) in [("one", &b"object one"[..]), ("dir/two", b"object two")] {
        app.put_object()
            .bucket(&bucket)
            .key(name)
            .body(ByteStream::from_static(body))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {name}: {:?}", failure(&e)));
        assert_eq!(get(&app, &bucket, name).await, body);
        r.at_rest(&bucket, name, &derive(name), body).await;
    }
    let (one, two) = (derive("one"), derive("dir/two"));
    assert!(
        one.raw != two.raw && one.raw != r.a.raw,
        "each object its own key"
    );
    // The bucket key opens none of them.
    let url = format!("{}/{bucket}/one", direct_url(&store));
    let ca = std::fs::read_to_string(&store.ca).unwrap();
    let with_bucket_key = RawClient::new(&ca, false)
        .send(signed(
            &store,
            "GET",
            &url,
            &[
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                (
                    "x-amz-server-side-encryption-customer-key",
                    r.a.b64.as_str(),
                ),
                (
                    "x-amz-server-side-encryption-customer-key-md5",
                    r.a.md5.as_str(),
                ),
            ],
            Bytes::new(),
        ))
        .await;
    assert_ne!(
        with_bucket_key.status.as_u16(),
        200,
        "the bucket key read an object"
    );

    // Multipart: every part under the object's key.
    let (p1, p2) = (
        at_rest::marked(5 * 1024 * 1024, "DERIVED", 5),
        b"tail".to_vec(),
    );
    multipart(&app, &bucket, "multi", &[&p1, &p2]).await;
    r.at_rest(&bucket, "multi", &derive("multi"), &[p1, p2].concat())
        .await;

    if store.name != "RGW" {
        app.copy_object()
            .bucket(&bucket)
            .key("copy")
            .copy_source(format!("{bucket}/one"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy: {:?}", failure(&e)));
        r.at_rest(&bucket, "copy", &derive("copy"), b"object one")
            .await;
    }
}

/// POST Object (a browser form) with no SSE-C field into an injecting bucket: the form
/// the store gets carries the bucket's key (the object's own with `inject_derive`), and
/// the answer no key MD5; a form with its own key keeps it.
async fn forms_get_the_buckets_key(store: Store) {
    let r = Injecting::start(&store);
    let signer = Signer {
        access_key: APP,
        secret_key: APP_SECRET,
        region: "us-east-1",
        expires_in: 600,
    };
    let raw = RawClient::new(&r.proxy.pki.ca_pem, false);
    let post = |bucket: &str, key: &str, own: Option<&Key>, body: &'static [u8]| {
        let mut conditions = vec![
            json!({ "bucket": bucket }),
            json!(["eq", "$key", key]),
            json!(["content-length-range", 1, 1000]),
        ];
        let mut form = Form::new().field("key", key);
        if let Some(k) = own {
            for (name, value) in ssec(k) {
                conditions.push(json!({ name.as_str(): value }));
            }
            form = form.fields(&ssec(k));
        }
        let form = form
            .fields(&signed_fields(&signer, conditions))
            .named_file("f.bin", body)
            .close();
        let url = format!("{}/{bucket}", r.proxy.url());
        let raw = &raw;
        async move { raw.send(form.request(&url)).await }
    };
    let bucket = r.bucket("inja").await;
    let answer = post(&bucket, "form", None, b"posted").await;
    assert!(answer.status.is_success(), "{}", answer.text());
    assert!(
        !answer
            .headers
            .contains_key("x-amz-server-side-encryption-customer-key-md5"),
        "no key MD5 for a client that sent none"
    );
    r.at_rest(&bucket, "form", &r.a, b"posted").await;
    let own = Key::new(46);
    let answer = post(&bucket, "own", Some(&own), b"own key").await;
    assert!(answer.status.is_success(), "{}", answer.text());
    r.at_rest(&bucket, "own", &own, b"own key").await;

    let derived = r.bucket("injobj").await;
    let answer = post(&derived, "dir/form", None, b"derived").await;
    assert!(answer.status.is_success(), "{}", answer.text());
    r.at_rest(
        &derived,
        "dir/form",
        &r.derived(&derived, "dir/form"),
        b"derived",
    )
    .await;
}

/// Runs `ssec-proxy rekey` on the proxy's own configuration file.
fn rekey(r: &Injecting, bucket: &str, extra: &[&str]) -> (bool, String, String) {
    let current = Key::new(45);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ssec-proxy"))
        .arg("rekey")
        .arg("--config")
        .arg(&r.proxy.config_path)
        .args(["--bucket", bucket])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    for key in [&r.a, &r.b, &current] {
        for text in [&stdout, &stderr] {
            assert!(!text.contains(&key.b64), "rekey printed a key");
        }
    }
    (out.status.success(), stdout, stderr)
}

/// `rekey` after a rotation (A → C): objects of 0 B, 1 B, 5 MiB and 40 MiB (multipart),
/// one with metadata, a key with reserved characters and one with a control character
/// (public-read on RGW), are rewritten in place from A to C — read at rest with C,
/// refused without a key, metadata and ACL kept — while a plaintext
/// object and one under a key the proxy does not hold are left alone and reported.
/// `--dry-run` writes nothing; a second run finds nothing to do; reads through the proxy
/// then need no retry with the previous key.
async fn rekey_moves_objects_to_the_current_key(store: Store) {
    let r = Injecting::start(&store);
    let app = r.app();
    let bucket = r.bucket("inja").await;
    let pattern = |len: usize| -> Vec<u8> { (0..len).map(|i| (i * 31 % 251) as u8).collect() };
    let five = pattern(5 * 1024 * 1024);
    let part = pattern(5 * 1024 * 1024 + 7);
    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one", b"x".to_vec()),
        ("dir/a b+c%d~=", b"reserved characters".to_vec()),
        ("five", five.clone()),
    ];
    for (name, body) in &objects {
        app.put_object()
            .bucket(&bucket)
            .key(*name)
            .body(ByteStream::from(body.clone()))
            .content_type("text/x-rekey")
            .metadata("owner", "team a")
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {name}: {:?}", failure(&e)));
    }
    let parts: Vec<&[u8]> = std::iter::repeat_n(part.as_slice(), 7)
        .chain([&part[..1024]])
        .collect();
    let forty = parts.concat();
    multipart(&app, &bucket, "forty", &parts).await;
    // Written straight to the store under A: a name a plain XML listing cannot carry
    // (SeaweedFS would list it as U+FFFD), public-read on RGW (a write resets ACLs).
    let direct = direct_client(&r.store);
    let mut control = r.put_direct(&bucket, "ctl\u{1}x", b"control", Some(&r.a));
    if store.name == "RGW" {
        control = control.acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead);
    }
    control.send().await.unwrap();
    // Left alone: a plaintext object, and one under a key the proxy does not hold.
    let plain = r.put_direct(&bucket, "plain", b"plain", None);
    plain.send().await.unwrap();
    let under_b = r.put_direct(&bucket, "under-b", b"under B", Some(&r.b));
    under_b.send().await.unwrap();

    // Rotate: C current, A previous.
    let c = Key::new(45);
    r.rotate_to(&c);

    let (ok, stdout, stderr) = rekey(&r, &bucket, &["--dry-run"]);
    assert!(ok, "dry run: {stdout}{stderr}");
    assert!(
        stdout.contains("checked 8, would rewrite 6, skipped 2 (current 0, not encrypted 1, unknown key 1, gone 0), failed 0"),
        "{stdout}"
    );
    r.at_rest(&bucket, "one", &r.a, b"x").await;

    // Part size 8 MiB: where the store cannot copy SSE-C objects (RGW), the 40 MiB
    // object is streamed as a multipart upload of ranged reads.
    let (ok, stdout, stderr) = rekey(&r, &bucket, &["--part-size-mib", "8", "--jobs", "3"]);
    assert!(ok, "rekey: {stdout}{stderr}");
    assert!(
        stdout.contains("checked 8, rewritten 6, skipped 2 (current 0, not encrypted 1, unknown key 1, gone 0), failed 0"),
        "{stdout}"
    );
    assert!(stderr.contains("skipped: plain: not encrypted"), "{stderr}");
    assert!(stderr.contains("skipped: under-b: under a key"), "{stderr}");
    for (name, body) in objects.iter().chain([&("forty", forty)]) {
        r.at_rest(&bucket, name, &c, body).await;
        let head = app
            .head_object()
            .bucket(&bucket)
            .key(*name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("HEAD {name}: {:?}", failure(&e)));
        assert_eq!(head.content_length(), Some(body.len() as i64), "{name}");
        if *name != "forty" {
            assert_eq!(head.content_type(), Some("text/x-rekey"), "{name}");
            let owner = head.metadata().and_then(|m| m.get("owner"));
            assert_eq!(owner.map(String::as_str), Some("team a"), "{name}");
        }
    }
    assert_eq!(get(&app, &bucket, "five").await, five);
    r.at_rest(&bucket, "ctl\u{1}x", &c, b"control").await;
    if store.name == "RGW" {
        let acl = direct
            .get_object_acl()
            .bucket(&bucket)
            .key("ctl\u{1}x")
            .send()
            .await
            .unwrap();
        let public = acl.grants().iter().any(|g| {
            g.grantee()
                .and_then(|g| g.uri())
                .is_some_and(|u| u.ends_with("/global/AllUsers"))
        });
        assert!(public, "the object's ACL survives its rewrite: {acl:?}");
    }
    let metrics = r.proxy.admin("/metrics").await.1;
    assert!(
        metrics.contains("ssec_injected_key_retries_total 0"),
        "reads after rekey need no previous key"
    );
    // Untouched: the object under B is still there under B.
    r.at_rest(&bucket, "under-b", &r.b, b"under B").await;

    let (ok, stdout, _) = rekey(&r, &bucket, &[]);
    assert!(ok);
    assert!(
        stdout.contains("checked 8, rewritten 0, skipped 8 (current 6, not encrypted 1, unknown key 1, gone 0), failed 0"),
        "a second run has nothing to do: {stdout}"
    );
    // A bucket no rule injects into is refused before anything is read.
    let (ok, _, stderr) = rekey(&r, "other-bucket", &[]);
    assert!(!ok);
    assert!(stderr.contains("no ssec.buckets rule injects a key into bucket other-bucket"));
}

fn wait_log(proxy: &Proxy, needle: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if proxy.logs().iter().any(|l| l.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

per_store!(
    injects_the_buckets_key_into_plain_s3,
    copies_take_each_buckets_key,
    reads_under_a_previous_key_after_rotation,
    plaintext_objects_are_caught,
    block_writes_keeps_reads,
    derived_object_keys_at_rest,
    rekey_moves_objects_to_the_current_key,
    forms_get_the_buckets_key,
    part_copies_take_each_buckets_key,
);
