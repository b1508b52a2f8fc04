//! SSE-C copies in resign mode against the real stores, where the proxy makes them
//! work on stores that get them wrong: Ceph RGW 16.2 (CopyObject and UploadPartCopy done
//! as the proxy's own streamed read and write) and SeaweedFS 4.48 (the copy-source key
//! checked before the store copies; UploadPartCopy streamed). Garage copies correctly
//! itself and runs the same checks. Every copy is read back through the proxy and at
//! the store directly: encrypted at rest under the key asked for, or plain when asked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use support::at_rest::{marked, read_encrypted};
use support::resign::{APP, APP_SECRET, Resign};
use support::s3::{Key, WithKey, WithSourceKey, create_upload, failure};
use support::{Store, bucket_name};

const MIB: usize = 1024 * 1024;

/// A copy of `source` to `name` with optional source and destination keys.
async fn copy(
    client: &Client,
    bucket: &str,
    source: &str,
    name: &str,
    from: Option<&Key>,
    to: Option<&Key>,
) -> Result<aws_sdk_s3::operation::copy_object::CopyObjectOutput, (u16, String)> {
    let mut req = client
        .copy_object()
        .bucket(bucket)
        .key(name)
        .copy_source(format!("{bucket}/{source}"));
    if let Some(k) = from {
        req = req.with_source_key(k);
    }
    if let Some(k) = to {
        req = req.with_key(k);
    }
    if from.is_some() && from.map(|k| &k.md5) == to.map(|k| &k.md5) && source == name {
        // In place: AWS takes it as a change of encryption attributes.
        req = req.metadata_directive(MetadataDirective::Replace);
    }
    req.send().await.map_err(|e| failure(&e))
}

/// The object read back through the proxy, with `key` if given.
async fn read(client: &Client, bucket: &str, name: &str, key: Option<&Key>) -> Vec<u8> {
    let mut req = client.get_object().bucket(bucket).key(name);
    if let Some(k) = key {
        req = req.with_key(k);
    }
    let out = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {name}: {:?}", failure(&e)));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// A plain object as the store holds it: readable without a key, directly.
async fn read_plain_direct(direct: &Client, bucket: &str, name: &str, want: &[u8]) {
    let got = direct
        .get_object()
        .bucket(bucket)
        .key(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("direct GET {name}: {:?}", failure(&e)));
    let body = got.body.collect().await.unwrap().into_bytes();
    assert!(body == want, "{name}: the store holds other bytes");
}

/// Every CopyObject variant at 0 B, 1 B, 8 MiB and 40 MiB: SSE-C to SSE-C under another
/// key, plain to SSE-C, SSE-C to plain, and a same-key rewrite in place; each read back
/// and checked at the store.
async fn copy_object_variants(store: Store) {
    let r = Resign::start(&store);
    let client = r.client(APP, APP_SECRET);
    let direct = r.direct();
    let bucket = bucket_name("sseccopy");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2) = (Key::new(41), Key::new(42));
    for size in [0, 1, 8 * MIB, 40 * MIB] {
        let body = marked(size, "COPYMARK", size as u64);
        let (src, plain) = (format!("src-{size}"), format!("plain-{size}"));
        client
            .put_object()
            .bucket(&bucket)
            .key(&src)
            .with_key(&k1)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        client
            .put_object()
            .bucket(&bucket)
            .key(&plain)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();

        let name = format!("k1-to-k2-{size}");
        let out = copy(&client, &bucket, &src, &name, Some(&k1), Some(&k2))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let result = out.copy_object_result().expect("CopyObjectResult");
        assert!(
            result.e_tag().is_some_and(|e| e.len() >= 34),
            "{name}: {result:?}"
        );
        assert!(result.last_modified().is_some(), "{name}");
        // SeaweedFS's own CopyObject answer carries no echo (README, the writes not
        // echoed); the proxy's copies echo the destination key.
        if store.name != "SEAWEEDFS" {
            assert_eq!(out.sse_customer_key_md5(), Some(k2.md5.as_str()), "{name}");
        }
        assert!(
            read(&client, &bucket, &name, Some(&k2)).await == body,
            "{name}"
        );
        read_encrypted(&store, &bucket, &name, &k2, &body).await;

        let name = format!("plain-to-k2-{size}");
        copy(&client, &bucket, &plain, &name, None, Some(&k2))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        read_encrypted(&store, &bucket, &name, &k2, &body).await;

        let name = format!("k1-to-plain-{size}");
        copy(&client, &bucket, &src, &name, Some(&k1), None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        read_plain_direct(&direct, &bucket, &name, &body).await;
        assert!(read(&client, &bucket, &name, None).await == body, "{name}");

        copy(&client, &bucket, &src, &src, Some(&k1), Some(&k1))
            .await
            .unwrap_or_else(|e| panic!("{src} in place: {e:?}"));
        read_encrypted(&store, &bucket, &src, &k1, &body).await;
    }
    // The copies stream: the proxy's peak stays under the streaming suite's bound
    // (64 MiB; 46–52 MiB measured on every store, Garage's copies being the store's
    // own), which a 40 MiB object held on top of the PUTs and GETs would exceed.
    let peak = r.proxy.peak_rss();
    println!("{}: proxy peak RSS {} MiB", store.name, peak >> 20);
    assert!(peak > 0 && peak < 64 << 20, "peak RSS {peak}");
}

/// A wrong copy-source key is AWS's 400 `InvalidRequest` (spec S6), on every store, and
/// nothing is written; a missing source stays the store's 404.
async fn wrong_source_key_is_refused(store: Store) {
    let r = Resign::start(&store);
    let client = r.client(APP, APP_SECRET);
    let direct = r.direct();
    let bucket = bucket_name("sseccopykey");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2, wrong) = (Key::new(51), Key::new(52), Key::new(53));
    client
        .put_object()
        .bucket(&bucket)
        .key("src")
        .with_key(&k1)
        .body(ByteStream::from_static(b"keyed source"))
        .send()
        .await
        .unwrap();
    for (name, to) in [("to-k2", Some(&k2)), ("to-plain", None)] {
        let e = copy(&client, &bucket, "src", name, Some(&wrong), to)
            .await
            .unwrap_err();
        assert_eq!(e, (400, "InvalidRequest".to_owned()), "{name}");
        let held = direct.head_object().bucket(&bucket).key(name).send().await;
        assert!(
            held.is_err(),
            "{name}: a refused copy wrote the destination"
        );
    }
    let e = copy(&client, &bucket, "missing", "x", Some(&k1), Some(&k2))
        .await
        .unwrap_err();
    assert_eq!(e.0, 404, "{e:?}");
}

/// What AWS refuses, refused alike where the proxy copies: an UploadPartCopy range
/// past the end of the source (400, never a part cut short), a copy of an object onto
/// itself that changes nothing (400 InvalidRequest), and the destination's own
/// `If-None-Match: *` when it exists (412 on SeaweedFS; Garage 2.5 ignores it, and RGW
/// 16.2 in a versioned bucket, so the proxy refuses it there: 501).
async fn what_aws_refuses(store: Store) {
    let r = Resign::start(&store);
    let client = r.client(APP, APP_SECRET);
    let direct = r.direct();
    let bucket = bucket_name("sseccopyrefuse");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2) = (Key::new(91), Key::new(92));
    let body = marked(1000, "RANGEMARK", 9);
    for (name, key) in [("src", &k1), ("exists", &k2)] {
        client
            .put_object()
            .bucket(&bucket)
            .key(name)
            .with_key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    let id = create_upload(&client, &bucket, "parts", Some(&k2)).await;
    for range in [
        "bytes=500-99999",
        "bytes=1000-1000",
        "bytes=0-18446744073709551615",
    ] {
        let e = client
            .upload_part_copy()
            .bucket(&bucket)
            .key("parts")
            .upload_id(&id)
            .part_number(1)
            .copy_source(format!("{bucket}/src"))
            .copy_source_range(range)
            .with_source_key(&k1)
            .with_key(&k2)
            .send()
            .await
            .expect_err(range);
        let (status, code) = failure(&e);
        if store.name == "GARAGE" {
            // Garage's own answer: 400 InvalidRequest, or 416 InvalidRange.
            assert!(status == 400 || status == 416, "{range}: {status} {code}");
        } else {
            assert_eq!((status, code.as_str()), (400, "InvalidArgument"), "{range}");
        }
    }
    let parts = direct
        .list_parts()
        .bucket(&bucket)
        .key("parts")
        .upload_id(support::store_upload_id(&id))
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "a refused range left a part");

    let e = client
        .copy_object()
        .bucket(&bucket)
        .key("src")
        .copy_source(format!("{bucket}/src"))
        .with_source_key(&k1)
        .with_key(&k1)
        .send()
        .await;
    if store.name == "GARAGE" {
        // Garage 2.5 copies it itself and allows it.
        e.unwrap_or_else(|e| panic!("Garage in place: {:?}", failure(&e)));
    } else {
        let e = e.unwrap_err();
        assert_eq!(
            failure(&e),
            (400, "InvalidRequest".to_owned()),
            "unchanged in place"
        );
    }

    let url = format!("{}/{bucket}/exists", r.proxy.url());
    let source = format!("/{bucket}/src");
    let headers = [
        ("x-amz-copy-source", source.as_str()),
        ("if-none-match", "*"),
        (
            "x-amz-copy-source-server-side-encryption-customer-algorithm",
            "AES256",
        ),
        (
            "x-amz-copy-source-server-side-encryption-customer-key",
            k1.b64.as_str(),
        ),
        (
            "x-amz-copy-source-server-side-encryption-customer-key-md5",
            k1.md5.as_str(),
        ),
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ("x-amz-server-side-encryption-customer-key", k2.b64.as_str()),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            k2.md5.as_str(),
        ),
    ];
    let req = support::signed(
        &r.as_client(APP, APP_SECRET),
        "PUT",
        &url,
        &headers,
        bytes::Bytes::new(),
    );
    let got = r.raw().send(req).await;
    if store.name != "SEAWEEDFS" {
        // Garage 2.5 would ignore the condition and overwrite, and so would RGW 16.2's
        // PutObject (which the proxy makes of this copy) in a versioned bucket: the
        // proxy refuses it.
        assert_eq!(got.status.as_u16(), 501, "{}", got.text());
        assert!(got.text().contains("<Code>NotImplemented</Code>"));
    } else {
        assert_eq!(got.status.as_u16(), 412, "{}", got.text());
    }
    assert!(read(&client, &bucket, "exists", Some(&k2)).await == body);
}

/// `x-amz-metadata-directive`: COPY keeps the source's metadata and content type,
/// REPLACE takes the request's; copy-source conditionals hold (412 and nothing written).
async fn metadata_and_conditionals(store: Store) {
    let r = Resign::start(&store);
    let client = r.client(APP, APP_SECRET);
    let direct = r.direct();
    let bucket = bucket_name("sseccopymeta");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2) = (Key::new(61), Key::new(62));
    let put = client
        .put_object()
        .bucket(&bucket)
        .key("src")
        .with_key(&k1)
        .content_type("text/x-source")
        .metadata("origin", "source")
        .body(ByteStream::from_static(b"with metadata"))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    let source = format!("{bucket}/src");
    let base = || {
        client
            .copy_object()
            .bucket(&bucket)
            .copy_source(&source)
            .with_source_key(&k1)
            .with_key(&k2)
    };
    base().key("copied").send().await.unwrap();
    base()
        .key("replaced")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/x-replaced")
        .metadata("origin", "request")
        .send()
        .await
        .unwrap();
    for (name, content_type, origin) in [
        ("copied", "text/x-source", "source"),
        ("replaced", "text/x-replaced", "request"),
    ] {
        let head = client
            .head_object()
            .bucket(&bucket)
            .key(name)
            .with_key(&k2)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_type(), Some(content_type), "{name}");
        let meta = head.metadata().cloned().unwrap_or_default();
        assert_eq!(
            meta.get("origin").map(String::as_str),
            Some(origin),
            "{name}"
        );
    }

    let other = "\"0123456789abcdef0123456789abcdef\"";
    let e = base()
        .key("unmatched")
        .copy_source_if_match(other)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), (412, "PreconditionFailed".to_owned()));
    let e = base()
        .key("unmatched")
        .copy_source_if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), (412, "PreconditionFailed".to_owned()));
    let held = direct
        .head_object()
        .bucket(&bucket)
        .key("unmatched")
        .send()
        .await;
    assert!(held.is_err(), "a failed condition wrote the destination");
    base()
        .key("matched")
        .copy_source_if_match(&etag)
        .send()
        .await
        .unwrap();
    read_encrypted(&store, &bucket, "matched", &k2, b"with metadata").await;
}

/// UploadPartCopy with SSE-C: an SSE-C source under another key, and a plain source,
/// into an SSE-C upload, by ranges; the object completes and reads back, encrypted at
/// the store.
async fn upload_part_copy_variants(store: Store) {
    let r = Resign::start(&store);
    let client = r.client(APP, APP_SECRET);
    let bucket = bucket_name("sseccopypart");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2) = (Key::new(71), Key::new(72));
    let body = marked(8 * MIB + 1, "PARTMARK", 7);
    client
        .put_object()
        .bucket(&bucket)
        .key("keyed")
        .with_key(&k1)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    client
        .put_object()
        .bucket(&bucket)
        .key("plain")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let split = 5 * MIB;
    for (source, from) in [("keyed", Some(&k1)), ("plain", None)] {
        let name = format!("assembled-from-{source}");
        let id = create_upload(&client, &bucket, &name, Some(&k2)).await;
        let mut parts = Vec::new();
        for (number, range) in [
            (1, format!("bytes=0-{}", split - 1)),
            (2, format!("bytes={split}-{}", body.len() - 1)),
        ] {
            let mut req = client
                .upload_part_copy()
                .bucket(&bucket)
                .key(&name)
                .upload_id(&id)
                .part_number(number)
                .copy_source(format!("{bucket}/{source}"))
                .copy_source_range(range)
                .with_key(&k2);
            if let Some(k) = from {
                req = req.with_source_key(k);
            }
            let out = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name} part {number}: {:?}", failure(&e)));
            let etag = out
                .copy_part_result()
                .and_then(|p| p.e_tag())
                .expect("CopyPartResult ETag")
                .to_owned();
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .e_tag(etag)
                    .build(),
            );
        }
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(&name)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .with_key(&k2)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} complete: {:?}", failure(&e)));
        assert!(
            read(&client, &bucket, &name, Some(&k2)).await == body,
            "{name}"
        );
        read_encrypted(&store, &bucket, &name, &k2, &body).await;
    }
}

/// `x-amz-tagging-directive`: REPLACE takes the request's tags; COPY keeps the
/// source's where the store copies, and is refused (501) where the proxy copies on the
/// store's behalf, which does not read tag sets. Nothing is written by a refusal.
async fn tags_follow_the_directive(store: Store) {
    let r = Resign::start(&store);
    let client = r.client(APP, APP_SECRET);
    let direct = r.direct();
    let bucket = bucket_name("sseccopytags");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2) = (Key::new(81), Key::new(82));
    client
        .put_object()
        .bucket(&bucket)
        .key("src")
        .with_key(&k1)
        .tagging("origin=source")
        .body(ByteStream::from_static(b"tagged"))
        .send()
        .await
        .unwrap();
    let base = |name: &str| {
        client
            .copy_object()
            .bucket(&bucket)
            .key(name)
            .copy_source(format!("{bucket}/src"))
            .with_source_key(&k1)
            .with_key(&k2)
    };
    base("replaced")
        .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
        .tagging("origin=request")
        .send()
        .await
        .unwrap_or_else(|e| panic!("REPLACE: {:?}", failure(&e)));
    let tags = |name: &'static str| {
        let direct = direct.clone();
        let bucket = bucket.clone();
        async move {
            let out = direct
                .get_object_tagging()
                .bucket(&bucket)
                .key(name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("tags of {name}: {:?}", failure(&e)));
            out.tag_set()
                .iter()
                .map(|t| format!("{}={}", t.key(), t.value()))
                .collect::<Vec<_>>()
        }
    };
    if store.name == "GARAGE" {
        // Garage 2.5 keeps no tags (GetObjectTagging is 501); the copy is made.
        read_encrypted(&store, &bucket, "replaced", &k2, b"tagged").await;
        return;
    }
    assert_eq!(tags("replaced").await, ["origin=request"]);
    let copied = base("copied").send().await;
    if store.name == "RGW" {
        assert_eq!(
            failure(&copied.unwrap_err()),
            (501, "NotImplemented".to_owned())
        );
        let held = direct
            .head_object()
            .bucket(&bucket)
            .key("copied")
            .send()
            .await;
        assert!(held.is_err(), "a refused copy wrote the destination");
    } else {
        copied.unwrap_or_else(|e| panic!("COPY: {:?}", failure(&e)));
        assert_eq!(tags("copied").await, ["origin=source"]);
    }
}

per_store!(
    what_aws_refuses,
    tags_follow_the_directive,
    copy_object_variants,
    wrong_source_key_is_refused,
    metadata_and_conditionals,
    upload_part_copy_variants,
);
