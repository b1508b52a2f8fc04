//! SSE-C enforcement through the real binary against SeaweedFS and Ceph RGW: data at
//! rest, rejections that never reach the store, refusals of what a store gets wrong,
//! store errors in AWS's words, canonical ETags, and POST Object. Each test runs in
//! both auth modes: in resign mode the client holds only the proxy's credentials, and
//! what the store holds is read with the store's own, directly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use support::at_rest::{count, marked, read_encrypted};
use support::s3::{Key, failure};
use support::wire::{direct_client, direct_url, route};
use support::{
    Mode, ModeProxy, RawClient, Store, bucket_name, client_tls, python, signed, store_client,
    store_proxy_mode, unique,
};

/// Policy for these tests: SSE-C required everywhere except `*-plain` buckets (for
/// positive controls and plain copy sources).
const POLICY: &str =
    "default = \"require\"\n[[ssec.buckets]]\nbucket = \"*-plain\"\npolicy = \"allow\"\n";

struct Env {
    store: Store,
    mode: Mode,
    /// The proxy; `proxy.client` holds the credentials its clients sign with.
    proxy: ModeProxy,
    /// An SDK client of the proxy.
    c: Client,
    /// The store itself, with its own credentials: what it really holds.
    direct: Client,
    bucket: String,
    plain: String,
}

async fn env(store: Store, mode: Mode) -> Env {
    let proxy = store_proxy_mode(&store, route(&store), POLICY, mode);
    let c = store_client(&proxy, &proxy.client);
    let bucket = bucket_name("ssec");
    let plain = format!("{}-plain", bucket_name("ctl"));
    for b in [&bucket, &plain] {
        c.create_bucket().bucket(b).send().await.unwrap();
    }
    Env {
        direct: direct_client(&store),
        store,
        mode,
        proxy,
        c,
        bucket,
        plain,
    }
}

macro_rules! keyed {
    ($b:expr, $k:expr) => {
        $b.sse_customer_algorithm("AES256")
            .sse_customer_key(&$k.b64)
            .sse_customer_key_md5(&$k.md5)
    };
}

async fn get(c: &Client, bucket: &str, key: &str, k: Option<&Key>) -> Vec<u8> {
    let req = c.get_object().bucket(bucket).key(key);
    let req = match k {
        Some(k) => keyed!(req, k),
        None => req,
    };
    let out = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {key}: {:?}", failure(&e)));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// `key` of the test bucket as the store itself returns it with `k`, asked with the
/// store's own credentials by a hand-signed request: SeaweedFS repeats the key-MD5
/// header in its answer, which the SDK cannot read (the proxy collapses the repeat).
async fn stored(e: &Env, key: &str, k: &Key) -> Vec<u8> {
    let url = format!("{}/{}/{key}", direct_url(&e.store), e.bucket);
    let headers = [
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ("x-amz-server-side-encryption-customer-key", k.b64.as_str()),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            k.md5.as_str(),
        ),
    ];
    let req = signed(&e.store, "GET", &url, &headers, Bytes::new());
    let ca = std::fs::read_to_string(&e.store.ca).unwrap();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_tls(&ca, None))
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector);
    let resp = client.request(req).await.unwrap();
    let status = resp.status();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    body.to_vec()
}

async fn keys(c: &Client, bucket: &str) -> Vec<String> {
    let list = c.list_objects_v2().bucket(bucket).send().await.unwrap();
    list.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// Creates a multipart upload with `k` and uploads `parts` 5 MiB parts marked `marker`.
async fn multipart(
    e: &Env,
    key: &str,
    k: &Key,
    marker: &str,
    parts: usize,
) -> (String, Vec<CompletedPart>, Vec<u8>) {
    let create = keyed!(e.c.create_multipart_upload().bucket(&e.bucket).key(key), k)
        .send()
        .await
        .unwrap();
    let id = create.upload_id().unwrap().to_owned();
    let mut done = Vec::new();
    let mut all = Vec::new();
    for n in 1..=parts {
        let data = marked(5 << 20, marker, n as u64);
        let pn = i32::try_from(n).unwrap();
        let out = keyed!(
            e.c.upload_part()
                .bucket(&e.bucket)
                .key(key)
                .upload_id(&id)
                .part_number(pn)
                .body(ByteStream::from(data.clone())),
            k
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("part {n}: {:?}", failure(&err)));
        done.push(
            CompletedPart::builder()
                .part_number(pn)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
        all.extend(data);
    }
    (id, done, all)
}

async fn complete(e: &Env, key: &str, id: &str, parts: Vec<CompletedPart>) {
    e.c.complete_multipart_upload()
        .bucket(&e.bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("complete: {:?}", failure(&err)));
}

/// Single PUT, ranged GET, multipart, and (SeaweedFS) CopyObject with key rotation all
/// work, and none of their plaintext is found at rest; a plain control object is.
async fn sse_c_writes_are_encrypted_at_rest(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let (k1, k2) = (Key::new(0), Key::new(1));
    let tag = unique().replace('-', "");
    let m = |what: &str| format!("PLAINTEXT-{what}-{tag}-");

    // Positive control: the search finds plaintext where it is.
    let control = marked(64 << 10, &m("control"), 1);
    e.c.put_object()
        .bucket(&e.plain)
        .key("control")
        .body(ByteStream::from(control))
        .send()
        .await
        .unwrap();
    assert!(
        count(&e.store, &e.plain, &m("control")) > 0,
        "the at-rest search works"
    );

    let single = marked(64 << 10, &m("single"), 2);
    keyed!(
        e.c.put_object()
            .bucket(&e.bucket)
            .key("single")
            .body(ByteStream::from(single.clone())),
        k1
    )
    .send()
    .await
    .unwrap();
    assert_eq!(get(&e.c, &e.bucket, "single", Some(&k1)).await, single);
    assert_eq!(
        stored(&e, "single", &k1).await,
        single,
        "the store holds it under the client's key"
    );
    let range = keyed!(
        e.c.get_object()
            .bucket(&e.bucket)
            .key("single")
            .range("bytes=100-4195"),
        k1
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        range.body.collect().await.unwrap().into_bytes(),
        single[100..4196]
    );

    // Multipart: CreateMultipartUpload is not echoed by SeaweedFS, parts are.
    let (id, parts, whole) = multipart(&e, "mpu", &k1, &m("mpu"), 3).await;
    complete(&e, "mpu", &id, parts).await;
    assert_eq!(get(&e.c, &e.bucket, "mpu", Some(&k1)).await, whole);

    let rest_markers = [m("single"), m("mpu")];
    if e.store.name == "SEAWEEDFS" {
        // CopyObject is not echoed by SeaweedFS: plain → K1, then K1 → K2 (rotation).
        let src = marked(64 << 10, &m("copysrc"), 3);
        e.c.put_object()
            .bucket(&e.plain)
            .key("src")
            .body(ByteStream::from(src.clone()))
            .send()
            .await
            .unwrap();
        let before = count(&e.store, &e.plain, &m("copysrc"));
        keyed!(
            e.c.copy_object()
                .bucket(&e.bucket)
                .key("copied")
                .copy_source(format!("{}/src", e.plain)),
            k1
        )
        .send()
        .await
        .unwrap();
        keyed!(
            e.c.copy_object()
                .bucket(&e.bucket)
                .key("rotated")
                .copy_source(format!("{}/copied", e.bucket)),
            k2
        )
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(&k1.b64)
        .copy_source_sse_customer_key_md5(&k1.md5)
        .send()
        .await
        .unwrap();
        assert_eq!(
            count(&e.store, &e.plain, &m("copysrc")),
            before,
            "copies wrote no plaintext"
        );
        assert_eq!(get(&e.c, &e.bucket, "copied", Some(&k1)).await, src);
        assert_eq!(get(&e.c, &e.bucket, "rotated", Some(&k2)).await, src);
    } else {
        // UploadPartCopy is not echoed by RGW: a plain source into a K1 upload (Garage
        // echoes it; its sources must be 5 MiB at least). Garage's at-rest count is of
        // its whole data directory, which holds the plain source, so what counts is
        // that the copy adds no plaintext; the read with K1 shows the part was
        // encrypted (AES-GCM would refuse a plaintext block).
        let src = marked(5 << 20, &m("partcopy"), 4);
        e.c.put_object()
            .bucket(&e.plain)
            .key("src")
            .body(ByteStream::from(src.clone()))
            .send()
            .await
            .unwrap();
        let before = count(&e.store, &e.bucket, &m("partcopy"));
        let create = keyed!(
            e.c.create_multipart_upload().bucket(&e.bucket).key("pc"),
            k1
        )
        .send()
        .await
        .unwrap();
        let id = create.upload_id().unwrap();
        let out = keyed!(
            e.c.upload_part_copy()
                .bucket(&e.bucket)
                .key("pc")
                .upload_id(id)
                .part_number(1)
                .copy_source(format!("{}/src", e.plain)),
            k1
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("UploadPartCopy: {:?}", failure(&err)));
        let etag = out
            .copy_part_result()
            .and_then(|r| r.e_tag())
            .unwrap()
            .to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "canonical CopyPartResult ETag: {etag}"
        );
        let parts = vec![CompletedPart::builder().part_number(1).e_tag(etag).build()];
        complete(&e, "pc", id, parts).await;
        assert_eq!(get(&e.c, &e.bucket, "pc", Some(&k1)).await, src);
        assert_eq!(
            count(&e.store, &e.bucket, &m("partcopy")),
            before,
            "the part copy wrote plaintext"
        );
    }
    for marker in rest_markers {
        assert_eq!(
            count(&e.store, &e.bucket, &marker),
            0,
            "{marker} found at rest"
        );
    }
}

/// Every rejection happens at the proxy: the store holds nothing afterwards.
async fn rejections_never_reach_the_store(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let (k1, k2) = (Key::new(0), Key::new(1));
    let body = || ByteStream::from_static(b"never stored");
    let cases: Vec<(&str, u16, &str, Result<_, _>)> = vec![
        (
            "no SSE-C under require",
            403,
            "AccessDenied",
            e.c.put_object()
                .bucket(&e.bucket)
                .key("r1")
                .body(body())
                .send()
                .await
                .map(|_| ()),
        ),
        (
            "MD5 of another key",
            400,
            "InvalidArgument",
            e.c.put_object()
                .bucket(&e.bucket)
                .key("r2")
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&k1.b64)
                .sse_customer_key_md5(&k2.md5)
                .body(body())
                .send()
                .await
                .map(|_| ()),
        ),
        (
            "AES128",
            400,
            "InvalidEncryptionAlgorithmError",
            e.c.put_object()
                .bucket(&e.bucket)
                .key("r3")
                .sse_customer_algorithm("AES128")
                .sse_customer_key(&k1.b64)
                .sse_customer_key_md5(&k1.md5)
                .body(body())
                .send()
                .await
                .map(|_| ()),
        ),
        (
            "SSE-C with SSE-S3",
            400,
            "InvalidArgument",
            keyed!(
                e.c.put_object().bucket(&e.bucket).key("r4").body(body()),
                k1
            )
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            .send()
            .await
            .map(|_| ()),
        ),
    ];
    for (what, status, code, result) in cases {
        let err = result.expect_err(what);
        assert_eq!(failure(&err), (status, code.to_owned()), "{what}");
    }

    // Parts without the upload's key, or with another key.
    let create = keyed!(
        e.c.create_multipart_upload().bucket(&e.bucket).key("mp"),
        k1
    )
    .send()
    .await
    .unwrap();
    let id = create.upload_id().unwrap();
    let part = |n| {
        e.c.upload_part()
            .bucket(&e.bucket)
            .key("mp")
            .upload_id(id)
            .part_number(n)
            .body(body())
    };
    let no_key = part(1).send().await.unwrap_err();
    assert_eq!(
        failure(&no_key),
        (403, "AccessDenied".to_owned()),
        "require policy"
    );
    let other = keyed!(part(2), k2).send().await.unwrap_err();
    assert_eq!(failure(&other), (400, "InvalidRequest".to_owned()));
    // Store-specific refusals.
    let src = format!("{}/src", e.plain);
    e.c.put_object()
        .bucket(&e.plain)
        .key("src")
        .body(ByteStream::from(vec![1u8; 1024]))
        .send()
        .await
        .unwrap();
    // Passthrough refuses them; resign mode makes the copy itself (tests/ssec_copies.rs),
    // encrypted at rest.
    let resign = e.mode == Mode::Resign;
    if e.store.name == "RGW" {
        let copy = keyed!(
            e.c.copy_object()
                .bucket(&e.bucket)
                .key("copy")
                .copy_source(&src),
            k1
        )
        .send()
        .await;
        if resign {
            copy.unwrap_or_else(|e| panic!("resign mode copies: {:?}", failure(&e)));
            read_encrypted(&e.store, &e.bucket, "copy", &k1, &[1u8; 1024]).await;
            e.direct
                .delete_object()
                .bucket(&e.bucket)
                .key("copy")
                .send()
                .await
                .unwrap();
        } else {
            assert_eq!(
                failure(&copy.unwrap_err()),
                (501, "NotImplemented".to_owned()),
                "plain → SSE-C copy would be stored in plaintext"
            );
        }
    } else if e.store.name == "SEAWEEDFS" && !resign {
        let upc = keyed!(
            e.c.upload_part_copy()
                .bucket(&e.bucket)
                .key("mp")
                .upload_id(id)
                .part_number(3)
                .copy_source(&src),
            k1
        )
        .send()
        .await
        .unwrap_err();
        assert_eq!(
            failure(&upc),
            (501, "NotImplemented".to_owned()),
            "the part would be stored in plaintext"
        );
    }
    // Garage: no copy is refused (it re-encrypts them; sse_c_writes_are_encrypted_at_rest).
    let parts = e
        .direct
        .list_parts()
        .bucket(&e.bucket)
        .key("mp")
        .upload_id(support::store_upload_id(id))
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "the store holds no part");
    e.c.abort_multipart_upload()
        .bucket(&e.bucket)
        .key("mp")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    assert!(
        keys(&e.direct, &e.bucket).await.is_empty(),
        "the store holds no object"
    );
}

/// Store errors that mean what AWS means reach the client in AWS's words.
async fn store_errors_are_aws_shaped(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let (k1, k2) = (Key::new(0), Key::new(1));
    keyed!(
        e.c.put_object()
            .bucket(&e.bucket)
            .key("o")
            .body(ByteStream::from_static(b"secret")),
        k1
    )
    .send()
    .await
    .unwrap();
    let proxy = store_proxy_mode(&e.store, route(&e.store), "default = \"allow\"", e.mode);
    let lax = store_client(&proxy, &proxy.client);
    let err = lax
        .get_object()
        .bucket(&e.bucket)
        .key("o")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        failure(&err),
        (400, "InvalidRequest".to_owned()),
        "no key: spec S1"
    );
    let err = lax
        .head_object()
        .bucket(&e.bucket)
        .key("o")
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err).0, 400, "HEAD without a key");
    assert_shows_nothing_of_the_object(&err);
    let err = keyed!(e.c.get_object().bucket(&e.bucket).key("o"), k2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        failure(&err),
        (403, "AccessDenied".to_owned()),
        "wrong key: spec S2"
    );
    let message = match &err {
        aws_sdk_s3::error::SdkError::ServiceError(s) => {
            aws_sdk_s3::error::ProvideErrorMetadata::message(s.err())
                .unwrap_or("")
                .to_owned()
        }
        _ => String::new(),
    };
    assert_eq!(
        message,
        "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."
    );
    let err = keyed!(e.c.head_object().bucket(&e.bucket).key("o"), k2)
        .send()
        .await
        .unwrap_err();
    // Garage's HEAD says a bare 400 for a wrong key and for a key on a plaintext object,
    // which AWS tells apart (403 and 400): the proxy does not guess (README).
    let head = if e.store.name == "GARAGE" { 400 } else { 403 };
    assert_eq!(failure(&err).0, head, "HEAD with the wrong key");
    assert_shows_nothing_of_the_object(&err);
}

/// A refused read shows nothing of the object: SeaweedFS's own answers to a HEAD with
/// the wrong key or none carry its ETag (the plaintext's MD5) and Last-Modified.
fn assert_shows_nothing_of_the_object<E: std::fmt::Debug>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) {
    let aws_sdk_s3::error::SdkError::ServiceError(refused) = err else {
        panic!("{err:?}");
    };
    for name in ["etag", "last-modified"] {
        assert!(refused.raw().headers().get(name).is_none(), "{name}");
    }
}

/// ETags in headers and XML are canonical; RGW's empty CompleteMultipartUpload ETag is
/// filled with the value the store reports afterwards.
async fn etags_are_canonical(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let k1 = Key::new(0);
    let raw = RawClient::new(&e.proxy.pki.ca_pem, false);
    let (id, parts, _) = multipart(&e, "m", &k1, "etag-test", 2).await;
    let mut xml = String::from("<CompleteMultipartUpload>");
    for p in &parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
            p.part_number().unwrap(),
            p.e_tag().unwrap()
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let url = format!("{}/{}/m?uploadId={id}", e.proxy.url(), e.bucket);
    let done = raw
        .send(signed(&e.proxy.client, "POST", &url, &[], Bytes::from(xml)))
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let text = done.text();
    let etag = text
        .split("<ETag>")
        .nth(1)
        .and_then(|s| s.split("</ETag>").next())
        .unwrap()
        .to_owned();
    assert!(
        etag.starts_with("&quot;") && etag.ends_with("-2&quot;"),
        "complete ETag: {text}"
    );
    let head = keyed!(e.c.head_object().bucket(&e.bucket).key("m"), k1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.e_tag().unwrap(),
        etag.replace("&quot;", "\""),
        "the ETag the store reports later"
    );

    let url = format!("{}/{}?list-type=2", e.proxy.url(), e.bucket);
    let listed = raw
        .send(signed(&e.proxy.client, "GET", &url, &[], Bytes::new()))
        .await;
    let text = listed.text();
    assert!(
        text.contains(&format!("<ETag>{etag}</ETag>")),
        "listing: {text}"
    );
    assert!(!text.contains("&#34;"), "quotes as &quot;: {text}");
}

/// POST Object: SSE-C form fields get the same validation and policy; a valid upload
/// is encrypted at rest; rejected forms leave nothing in the store. In resign mode the
/// form is signed with the client's proxy credentials and re-signed for the store.
async fn post_object_fields_are_enforced(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let tag = unique().replace('-', "");
    let marker = format!("PLAINTEXT-post-{tag}-");
    let file = e.proxy.pki.dir.path().join("post.bin");
    std::fs::write(&file, marked(64 << 10, &marker, 9)).unwrap();
    let post = |key: &str, mode: &str| {
        let out = python(
            "post_object.py",
            &[
                ("S3_ENDPOINT", e.proxy.url()),
                ("S3_CA", e.proxy.pki.ca_path.display().to_string()),
                ("S3_ACCESS_KEY", e.proxy.client.access_key.clone()),
                ("S3_SECRET_KEY", e.proxy.client.secret_key.clone()),
            ],
            &[&e.bucket, key, mode, &file.display().to_string()],
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status: u16 = stdout
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("STATUS ")
            .parse()
            .unwrap();
        (status, stdout)
    };
    let (status, out) = post("bad", "bad-md5");
    assert_eq!(status, 400, "{out}");
    assert!(out.contains("<Code>InvalidArgument</Code>"), "{out}");
    let (status, out) = post("none", "none");
    assert_eq!(status, 403, "require applies to POST Object: {out}");
    let (status, out) = post("good", "k1");
    assert!(status == 204 || status == 201 || status == 200, "{out}");
    assert_eq!(keys(&e.direct, &e.bucket).await, ["good"]);
    assert_eq!(
        get(&e.c, &e.bucket, "good", Some(&Key::new(0))).await,
        std::fs::read(&file).unwrap()
    );
    assert_eq!(
        count(&e.store, &e.bucket, &marker),
        0,
        "POST Object data found at rest"
    );
}

per_store_and_mode!(
    sse_c_writes_are_encrypted_at_rest,
    rejections_never_reach_the_store,
    store_errors_are_aws_shaped,
    etags_are_canonical,
    post_object_fields_are_enforced,
);
