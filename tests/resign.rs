//! `auth.mode = "resign"` against the real stores: clients hold only the proxy's
//! credentials, the proxy verifies them and signs for the store with its own. Every
//! refusal is checked on the wire and against what the store holds afterwards (read
//! with the store's own credentials, directly).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use http_body_util::Full;
use support::at_rest;
use support::resign::{APP, APP_SECRET, Resign, SCOPED, SCOPED_SECRET, exists};
use support::s3::{Key, crc32_base64, data, failure, object_names};
use support::{
    Proxy, ProxyOptions, RawClient, Store, bucket_name, resign_tables, s3_client, signed,
    signed_for, store_kind, xml_code,
};

/// The SDK's defaults through the proxy with the proxy's credentials: SSE-C objects
/// small and multipart, read back with the key, never in plaintext at rest.
async fn sdk_defaults_work_with_proxy_credentials(store: Store) {
    let r = Resign::start(&store);
    let c = r.client(APP, APP_SECRET);
    let bucket = bucket_name("resign");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(31);
    let marker = format!("RESIGN-MARK-{}", support::unique());
    let small = at_rest::marked(300 * 1024, &marker, 1);
    c.put_object()
        .bucket(&bucket)
        .key("small")
        .body(ByteStream::from(small.clone()))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", r.proxy.logs().join("\n")));
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("small")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes(), small);

    let upload = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("big")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let parts = [at_rest::marked(5 << 20, &marker, 2), data(1 << 20, 3)];
    let mut done = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let n = i32::try_from(i + 1).unwrap();
        let out = c
            .upload_part()
            .bucket(&bucket)
            .key("big")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(part.clone()))
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key.b64)
            .sse_customer_key_md5(&key.md5)
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("big")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("big")
        .range("bytes=5242870-5242889")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap();
    let whole = [&parts[0][..], &parts[1][..]].concat();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes(),
        whole[5_242_870..5_242_890]
    );
    let mut names = object_names(&c, &bucket).await;
    names.sort();
    assert_eq!(names, ["big", "small"]);
    assert_eq!(
        at_rest::count(&store, &bucket, &marker),
        0,
        "plaintext at rest"
    );
    // The store holds what the client wrote, under the client's key (read directly with
    // the store's credentials; raw, as SeaweedFS repeats the key MD5 header in its answer).
    let url = format!("{}/{bucket}/small", store.https);
    let req = signed(
        &store,
        "GET",
        &url,
        &[
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            (
                "x-amz-server-side-encryption-customer-key",
                key.b64.as_str(),
            ),
            (
                "x-amz-server-side-encryption-customer-key-md5",
                key.md5.as_str(),
            ),
        ],
        Bytes::new(),
    );
    let store_ca = std::fs::read_to_string(&store.ca).unwrap();
    let held = RawClient::new(&store_ca, false).send(req).await;
    assert_eq!(held.status, 200, "{}", held.text());
    assert_eq!(held.body, small);
}

/// Wrong secret, unknown key, the store's own credentials: refused with AWS's codes,
/// and nothing is written.
async fn bad_credentials_are_refused_before_the_store(store: Store) {
    let r = Resign::start(&store);
    let bucket = bucket_name("resign-bad");
    r.client(APP, APP_SECRET)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let cases = [
        (APP, SCOPED_SECRET, 403, "SignatureDoesNotMatch"),
        (
            "NOBODY00000000000001",
            APP_SECRET,
            403,
            "InvalidAccessKeyId",
        ),
        (
            store.access_key.as_str(),
            store.secret_key.as_str(),
            403,
            "InvalidAccessKeyId",
        ),
    ];
    for (i, (access, secret, status, code)) in cases.into_iter().enumerate() {
        let key = format!("refused-{i}");
        let err = r
            .client(access, secret)
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from_static(b"must not be written"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&err), (status, code.to_owned()), "{access}");
        assert!(!exists(&r.direct(), &bucket, &key).await, "{key} written");
    }
}

/// A header the client did not sign cannot ride along: an added `x-amz-copy-source`
/// would turn a signed PUT into a copy of another object.
async fn unsigned_amz_headers_are_refused(store: Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket_with_secret("resign-launder").await;
    let mut req = r.signed_put(APP, APP_SECRET, &format!("/{bucket}/copy"));
    req.headers_mut().insert(
        "x-amz-copy-source",
        format!("/{bucket}/secret").parse().unwrap(),
    );
    let resp = r.raw().send(req).await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert_eq!(xml_code(&resp.text()).as_deref(), Some("AccessDenied"));
    assert!(!exists(&r.direct(), &bucket, "copy").await);
}

/// A signed payload hash the body does not match: 400, and the store commits nothing.
async fn a_body_that_does_not_match_its_signed_hash_is_not_stored(store: Store) {
    let r = Resign::start(&store);
    let c = r.client(APP, APP_SECRET);
    let bucket = bucket_name("resign-hash");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let url = format!("{}/{bucket}/tampered", r.proxy.url());
    let claimed = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; // "hello"
    let req = signed_for(
        "s3",
        &r.as_client(APP, APP_SECRET),
        "PUT",
        &url,
        &[("content-length", "5")],
        Bytes::from_static(b"jello"),
        claimed,
    );
    let resp = r.raw().send(req).await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(
        xml_code(&resp.text()).as_deref(),
        Some("XAmzContentSHA256Mismatch")
    );
    assert!(!exists(&r.direct(), &bucket, "tampered").await);
    // The same request with the right body is stored.
    let req = signed_for(
        "s3",
        &r.as_client(APP, APP_SECRET),
        "PUT",
        &url,
        &[("content-length", "5")],
        Bytes::from_static(b"hello"),
        claimed,
    );
    assert_eq!(r.raw().send(req).await.status, 200);
    assert!(exists(&r.direct(), &bucket, "tampered").await);
}

/// Presigned URLs made with the proxy's credentials work for PUT and GET; an expired
/// one is refused.
async fn presigned_urls_work_and_expire(store: Store) {
    let r = Resign::start(&store);
    let c = r.client(APP, APP_SECRET);
    let bucket = bucket_name("resign-presign");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("p")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let mut req = http::Request::builder().method("PUT").uri(put.uri());
    for (n, v) in put.headers() {
        req = req.header(n, v);
    }
    let resp = r
        .raw()
        .send(
            req.body(Full::new(Bytes::from_static(b"presigned body")))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    // The store holds what the presigned PUT carried, read with its own credentials.
    let held = r
        .direct()
        .get_object()
        .bucket(&bucket)
        .key("p")
        .send()
        .await
        .unwrap();
    assert_eq!(
        held.body.collect().await.unwrap().into_bytes(),
        &b"presigned body"[..]
    );
    let get = c
        .get_object()
        .bucket(&bucket)
        .key("p")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let resp = r
        .raw()
        .send(
            http::Request::get(get.uri())
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.text(), "presigned body");
    // A URL that expired one second after it was made.
    let expired = c
        .get_object()
        .bucket(&bucket)
        .key("p")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(1)).unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = r
        .raw()
        .send(
            http::Request::get(expired.uri())
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert_eq!(xml_code(&resp.text()).as_deref(), Some("AccessDenied"));
}

/// Keys with spaces, unicode, `+`, `%`, `~`, `//` and a leading `/` are stored under
/// exactly their names: the path the store sees is the one the client signed.
/// SeaweedFS stores `a//b` as `a/b` and `/lead` as `lead`, Garage `/lead` as `lead`,
/// so there such keys are refused (501) and nothing is written.
async fn odd_keys_round_trip_exactly(store: Store) {
    let r = Resign::start(&store);
    let c = r.client(APP, APP_SECRET);
    let bucket = bucket_name("resign-keys");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut keys = vec![
        "with space",
        "ünïcødé/ключ",
        "a+b",
        "100%",
        "~tilde",
        "q?x=1&y",
        "a//b",
        "/lead",
    ];
    let renamed: &[&str] = match store.name {
        "SEAWEEDFS" => &["a//b", "/lead"],
        "GARAGE" => &["/lead"],
        _ => &[],
    };
    for key in renamed {
        let err = c
            .put_object()
            .bucket(&bucket)
            .key(*key)
            .body(ByteStream::from_static(b"renamed"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&err), (501, "NotImplemented".to_owned()), "{key}");
        keys.retain(|k| k != key);
    }
    for (i, k) in keys.iter().enumerate() {
        let body = format!("body {i}");
        c.put_object()
            .bucket(&bucket)
            .key(*k)
            .body(ByteStream::from(body.clone().into_bytes()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e:?}"));
        let got = c.get_object().bucket(&bucket).key(*k).send().await.unwrap();
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes(),
            body.as_bytes()
        );
    }
    let mut listed = object_names(&r.direct(), &bucket).await;
    listed.sort();
    let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

/// A path spelled with escapes SDKs never send (an unreserved byte escaped, lower-case
/// hex, an escaped `/`) is verified as the client signed it and signed for the store as
/// the store reads it (decoded, then encoded once): PUT and GET succeed and the store
/// holds the decoded key. Signed as sent, the stores answered 403 to each of these.
async fn escaped_paths_are_signed_as_the_store_reads_them(store: Store) {
    let r = Resign::start(&store);
    let bucket = bucket_name("resign-escapes");
    let c = r.client(APP, APP_SECRET);
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut cases = vec![
        ("%7Etilde%41", "~tildeA"),
        ("x%2Fy", "x/y"),
        ("%c3%a9t%c3%a9", "été"),
        ("dot%2Edot", "dot.dot"),
    ];
    // SeaweedFS stores `\` as `/`: the proxy refuses such keys there (501).
    if store.name != "SEAWEEDFS" {
        cases.extend([("%2E%2E%5Cup", "..\\up"), ("a%5cb", "a\\b")]);
    }
    let app = r.as_client(APP, APP_SECRET);
    let raw = r.raw();
    for (i, (path, key)) in cases.iter().enumerate() {
        let url = format!("{}/{bucket}/{path}", r.proxy.url());
        let body = format!("body {i}");
        let put = signed(&app, "PUT", &url, &[], Bytes::from(body.clone()));
        let resp = raw.send(put).await;
        assert_eq!(resp.status, 200, "PUT {path}: {}", resp.text());
        let resp = raw.send(signed(&app, "GET", &url, &[], Bytes::new())).await;
        assert_eq!(resp.status, 200, "GET {path}: {}", resp.text());
        assert_eq!(resp.body, body.as_bytes(), "GET {path}");
        assert!(
            exists(&r.direct(), &bucket, key).await,
            "{key:?} at the store"
        );
    }
    let mut listed = object_names(&r.direct(), &bucket).await;
    listed.sort();
    let mut expected: Vec<String> = cases.iter().map(|(_, k)| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

/// A DeleteBucket of a bucket holding an object, or only a version and a delete marker,
/// is S3's `409 BucketNotEmpty` on every store, and leaves them at the store (SeaweedFS
/// deletes them itself: the proxy lists first); an emptied bucket is deleted. Through a
/// proxy that knows nothing of the store (`generic`) as well.
async fn a_bucket_that_holds_objects_is_not_deleted(store: Store) {
    for kind in [store_kind(&store), "store = \"generic\"".to_owned()] {
        let r = Resign::start_as(&store, &kind, "");
        let c = r.client(APP, APP_SECRET);
        let direct = r.direct();
        let bucket = bucket_name("resign-delete");
        c.create_bucket().bucket(&bucket).send().await.unwrap();
        c.put_object()
            .bucket(&bucket)
            .key("kept")
            .body(ByteStream::from_static(b"kept"))
            .send()
            .await
            .unwrap();
        let err = c.delete_bucket().bucket(&bucket).send().await.unwrap_err();
        assert_eq!(failure(&err), (409, "BucketNotEmpty".to_owned()), "{kind}");
        assert!(exists(&direct, &bucket, "kept").await, "{kind}");

        // Only a version and a delete marker left, where the store keeps versions.
        let versioned = store.name != "GARAGE";
        if versioned {
            direct
                .put_bucket_versioning()
                .bucket(&bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            c.put_object()
                .bucket(&bucket)
                .key("versioned")
                .body(ByteStream::from_static(b"v"))
                .send()
                .await
                .unwrap();
            c.delete_object()
                .bucket(&bucket)
                .key("versioned")
                .send()
                .await
                .unwrap();
        }
        c.delete_object()
            .bucket(&bucket)
            .key("kept")
            .send()
            .await
            .unwrap();
        if versioned {
            // A version of `kept`, a version and a delete marker of `versioned`, and
            // `kept`'s own delete marker.
            let err = c.delete_bucket().bucket(&bucket).send().await.unwrap_err();
            assert_eq!(failure(&err), (409, "BucketNotEmpty".to_owned()), "{kind}");
            let still = direct
                .list_object_versions()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            let entries: Vec<(&str, &str)> = still
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    still
                        .delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .map(|(k, v)| (k.unwrap(), v.unwrap()))
                .collect();
            assert!(entries.len() >= 3, "{kind}: left {entries:?}");
            for (key, version) in entries {
                direct
                    .delete_object()
                    .bucket(&bucket)
                    .key(key)
                    .version_id(version)
                    .send()
                    .await
                    .unwrap();
            }
        }
        c.delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e:?}\n{}", r.proxy.logs().join("\n")));
        assert!(
            direct.head_bucket().bucket(&bucket).send().await.is_err(),
            "{kind}: the emptied bucket is still there"
        );
    }
}

/// A client limited to `scoped-*` works there and is refused elsewhere, also as a copy
/// source, before the store.
async fn a_clients_bucket_scope_is_enforced(store: Store) {
    let r = Resign::start(&store);
    let app = r.client(APP, APP_SECRET);
    let scoped = r.client(SCOPED, SCOPED_SECRET);
    let mine = bucket_name("scoped");
    let other = bucket_name("other");
    for b in [&mine, &other] {
        app.create_bucket().bucket(b).send().await.unwrap();
    }
    app.put_object()
        .bucket(&other)
        .key("private")
        .body(ByteStream::from_static(b"not for the scoped client"))
        .send()
        .await
        .unwrap();
    scoped
        .put_object()
        .bucket(&mine)
        .key("ok")
        .body(ByteStream::from_static(b"mine"))
        .send()
        .await
        .unwrap();
    let err = scoped
        .get_object()
        .bucket(&other)
        .key("private")
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err), (403, "AccessDenied".to_owned()));
    let err = scoped
        .copy_object()
        .bucket(&mine)
        .key("stolen")
        .copy_source(format!("{other}/private"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err), (403, "AccessDenied".to_owned()));
    assert!(!exists(&r.direct(), &mine, "stolen").await);
    // What it lists is in tests/resign_scope.rs.
}

/// What the attack review found, refused before the store: a copy source with raw
/// non-ASCII bytes (it once read as no copy source to the scope check), and requests
/// that are not S3 operations (the stores' IAM and admin APIs, which would run with the
/// store's credentials).
async fn requests_outside_s3_and_raw_copy_sources_are_refused(store: Store) {
    let r = Resign::start(&store);
    let mine = r.bucket_with_secret("scoped-raw").await;
    let other = r.bucket_with_secret("other-raw").await;
    let mut req = r.signed_put(SCOPED, SCOPED_SECRET, &format!("/{mine}/stolen"));
    req.headers_mut().insert(
        "x-amz-copy-source",
        http::HeaderValue::from_bytes(format!("/{other}/secret?versionId=null&\u{e9}").as_bytes())
            .unwrap(),
    );
    let resp = r.raw().send(req).await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(!exists(&r.direct(), &mine, "stolen").await);

    let client = r.as_client(APP, APP_SECRET);
    let iam = signed(
        &client,
        "POST",
        &format!("{}/", r.proxy.url()),
        &[("content-type", "application/x-www-form-urlencoded")],
        Bytes::from_static(b"Action=ListUsers&Version=2010-05-08"),
    );
    let resp = r.raw().send(iam).await;
    assert_eq!(resp.status, 501, "{}", resp.text());
    let admin = signed(
        &client,
        "GET",
        &format!("{}/admin/user?uid=test", r.proxy.url()),
        &[],
        Bytes::new(),
    );
    let resp = r.raw().send(admin).await;
    assert_eq!(resp.status, 501, "{}", resp.text());
}

/// An aws-chunked body of `payload` in unsigned chunks of `chunk` bytes with a CRC32
/// trailer, as the SDKs send it; with the checksum it carries (base64).
fn with_crc32_trailer(payload: &[u8], chunk: usize) -> (Bytes, String) {
    let crc = crc32_base64(payload);
    let mut body = Vec::new();
    for piece in payload.chunks(chunk) {
        body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n").as_bytes());
    (Bytes::from(body), crc)
}

/// A checksum sent as an aws-chunked trailer goes on to the store with the payload (the
/// proxy frames the decoded payload again, unsigned, with the checksum it verified as
/// the trailer): the store keeps it and echoes it, and an upload created with a checksum
/// algorithm takes its parts (Garage wants one with each). Ceph RGW 16.2 reads no
/// trailers: it gets a plain body and keeps no checksum.
async fn trailer_checksums_reach_the_store(store: Store) {
    let r = Resign::start(&store);
    let c = r.client(APP, APP_SECRET);
    let bucket = bucket_name("trailer");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let keeps = store.name != "RGW";
    let key = Key::new(23);
    let sse = key.headers();
    let client = r.as_client(APP, APP_SECRET);
    // Chunks of 8 KiB from the client; the store gets 64 KiB ones.
    let upload = |path: &str, payload: &[u8], coding: &str| {
        let (body, crc) = with_crc32_trailer(payload, 8192);
        let length = payload.len().to_string();
        let mut headers = sse.to_vec();
        headers.extend([
            ("content-encoding", coding),
            ("x-amz-decoded-content-length", length.as_str()),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
        ]);
        let url = format!("{}/{bucket}/{path}", r.proxy.url());
        let req = signed_for(
            "s3",
            &client,
            "PUT",
            &url,
            &headers,
            body,
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        );
        (req, crc)
    };
    let echoed = |resp: &support::RawResponse| {
        resp.headers
            .get("x-amz-checksum-crc32")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    // What the store holds, asked directly with its own credentials.
    let direct = RawClient::new(
        &std::fs::read_to_string(&store.ca).unwrap_or_default(),
        false,
    );
    let held_checksum = |path: &str| {
        let mut headers = sse.to_vec();
        headers.push(("x-amz-checksum-mode", "ENABLED"));
        signed(
            &store,
            "HEAD",
            &format!("{}/{bucket}/{path}", store.https),
            &headers,
            Bytes::new(),
        )
    };
    // Garage keeps a trailer's checksum but does not repeat it in its answer.
    let echoes = keeps && store.name != "GARAGE";

    let payload = data(150_000, 41);
    let (put, crc) = upload("put", &payload, "aws-chunked");
    let resp = r.raw().send(put).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        echoed(&resp),
        echoes.then(|| crc.clone()),
        "PutObject's echo"
    );
    let held = direct.send(held_checksum("put")).await;
    assert_eq!(held.status, 200);
    // The framing is the request's, not the object's: no store keeps `aws-chunked`.
    assert_eq!(held.headers.get("content-encoding"), None);
    assert_eq!(
        echoed(&held),
        keeps.then(|| crc.clone()),
        "checksum at rest"
    );

    // Another coding stays the object's, alone.
    let (put, _) = upload("coded", &payload, "aws-chunked, gzip");
    let resp = r.raw().send(put).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let held = direct.send(held_checksum("coded")).await;
    assert_eq!(held.status, 200);
    assert_eq!(held.headers["content-encoding"], "gzip");

    // Each algorithm, as the SDK sends it for a streaming body (a trailer): the store
    // keeps the checksum of what it was sent, and echoes it where it does.
    let body = data(70_000, 43);
    for algorithm in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ] {
        let name = algorithm.as_str().to_ascii_lowercase();
        let mut sum = name
            .parse::<aws_smithy_checksums::ChecksumAlgorithm>()
            .unwrap()
            .into_impl();
        sum.update(&body);
        let expected = sum.header_value().to_str().unwrap().to_owned();
        let streaming = ByteStream::from_body_1_x(Full::new(Bytes::from(body.clone())));
        let out = c
            .put_object()
            .bucket(&bucket)
            .key(&name)
            .checksum_algorithm(algorithm.clone())
            .body(streaming)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key.b64)
            .sse_customer_key_md5(&key.md5)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}\n{}", r.proxy.logs().join("\n")));
        let echo = match algorithm {
            ChecksumAlgorithm::Crc32 => out.checksum_crc32(),
            ChecksumAlgorithm::Crc32C => out.checksum_crc32_c(),
            ChecksumAlgorithm::Crc64Nvme => out.checksum_crc64_nvme(),
            ChecksumAlgorithm::Sha1 => out.checksum_sha1(),
            _ => out.checksum_sha256(),
        };
        assert_eq!(echo, echoes.then_some(expected.as_str()), "{name}: echo");
        let held = direct.send(held_checksum(&name)).await;
        assert_eq!(held.status, 200, "{name}");
        let kept = held
            .headers
            .get(format!("x-amz-checksum-{name}"))
            .map(|v| v.to_str().unwrap());
        assert_eq!(kept, keeps.then_some(expected.as_str()), "{name} at rest");
    }

    let created = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap();
    let id = created.upload_id().unwrap();
    let part = data(100_000, 42);
    let (put, part_crc) = upload(
        &format!("mp?partNumber=1&uploadId={id}"),
        &part,
        "aws-chunked",
    );
    let resp = r.raw().send(put).await;
    assert_eq!(resp.status, 200, "UploadPart: {}", resp.text());
    assert_eq!(
        echoed(&resp),
        echoes.then(|| part_crc.clone()),
        "UploadPart's echo"
    );
    let etag = resp.headers["etag"].to_str().unwrap().to_owned();
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(etag)
                        .checksum_crc32(part_crc)
                        .build(),
                )
                .build(),
        )
        // S3 wants the key when the upload was created with a checksum algorithm.
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", r.proxy.logs().join("\n")));
    for (path, expected) in [("put", &payload), ("mp", &part)] {
        let got = c
            .get_object()
            .bucket(&bucket)
            .key(path)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key.b64)
            .sse_customer_key_md5(&key.md5)
            .send()
            .await
            .unwrap();
        assert_eq!(
            &got.body.collect().await.unwrap().into_bytes()[..],
            &expected[..],
            "{path}"
        );
    }
}

per_store!(
    trailer_checksums_reach_the_store,
    sdk_defaults_work_with_proxy_credentials,
    bad_credentials_are_refused_before_the_store,
    unsigned_amz_headers_are_refused,
    a_body_that_does_not_match_its_signed_hash_is_not_stored,
    presigned_urls_work_and_expire,
    odd_keys_round_trip_exactly,
    escaped_paths_are_signed_as_the_store_reads_them,
    a_clients_bucket_scope_is_enforced,
    requests_outside_s3_and_raw_copy_sources_are_refused,
    a_bucket_that_holds_objects_is_not_deleted,
);

/// What the store receives from an SDK upload with its defaults (aws-chunked with a
/// CRC32 trailer, SSE-C), signed by the proxy with nothing of the client's
/// authentication: for a store shown to keep trailer checksums (SeaweedFS), the payload
/// framed again in 64 KiB chunks with the verified checksum as the trailer; for RGW,
/// which reads no trailers, and an unknown store, a plain body of the object's length.
#[tokio::test]
async fn the_store_receives_the_body_signed_by_the_proxy() {
    let mock = support::mock::MockStore::ok().await;
    let store = Store {
        name: "MOCK",
        http: mock.url(),
        https: mock.url(),
        access_key: "STOREACCESSKEY000001".into(),
        secret_key: "store-secret-0123456789".into(),
        ca: std::path::PathBuf::new(),
        data_dir: None,
        ceph_conf: None,
    };
    let key = Key::new(5);
    let body = data(200 * 1024, 9);
    for upstream in [
        "store = \"seaweedfs\"",
        "store = \"generic\"",
        "store = \"rgw\"\nforwarded_proto = true",
    ] {
        let (tables, _secrets) = resign_tables(&store, &[(APP, APP_SECRET, None)]);
        let proxy = Proxy::start(ProxyOptions {
            tables,
            upstream: upstream.to_owned(),
            ..ProxyOptions::endpoint(mock.url())
        });
        let c = s3_client(&proxy.url(), &proxy.pki.ca_pem, APP, APP_SECRET, false);
        // The mock does not echo SSE-C, so the proxy answers 502; what it sent is the point.
        // A streaming body: the SDK sends its checksum as a trailer.
        let streaming = ByteStream::from_body_1_x(Full::new(Bytes::from(body.clone())));
        let _ = c
            .put_object()
            .bucket("b")
            .key("k")
            .body(streaming)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key.b64)
            .sse_customer_key_md5(&key.md5)
            .send()
            .await;
        let seen = mock.requests().pop().unwrap();
        let names: Vec<&str> = seen.headers.keys().map(http::HeaderName::as_str).collect();
        let h = &seen.headers;
        let auth = h["authorization"].to_str().unwrap();
        assert!(auth.contains("Credential=STOREACCESSKEY000001/"), "{auth}");
        let mut gone = vec!["x-amz-security-token", "transfer-encoding"];
        if !upstream.contains("seaweedfs") {
            assert_eq!(seen.body, body, "headers: {names:?}");
            assert_eq!(h["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
            gone.extend([
                "content-encoding",
                "x-amz-decoded-content-length",
                "x-amz-trailer",
            ]);
        } else {
            let (framed, _) = with_crc32_trailer(&body, 65_536);
            assert_eq!(seen.body, framed, "headers: {names:?}");
            assert_eq!(
                h["x-amz-content-sha256"],
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
            );
            assert!(
                auth.contains("x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length"),
                "{auth}"
            );
            assert!(!h.contains_key("content-encoding"), "{names:?}");
            assert_eq!(h["x-amz-trailer"], "x-amz-checksum-crc32");
            assert_eq!(
                h["x-amz-decoded-content-length"],
                body.len().to_string().as_str()
            );
        }
        assert_eq!(h["content-length"], seen.body.len().to_string().as_str());
        for gone in gone {
            assert!(!h.contains_key(gone), "{gone} reached the store: {names:?}");
        }
        assert_eq!(
            h["x-amz-server-side-encryption-customer-key-md5"],
            key.md5.as_str()
        );
        assert!(seen.trailers.is_none());
    }
}
