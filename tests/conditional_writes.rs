//! Conditional writes and deletes against the real stores in both modes: S3's
//! `If-Match` / `If-None-Match` on PutObject, CopyObject and CompleteMultipartUpload,
//! `If-Match`, `x-amz-if-match-size` and `x-amz-if-match-last-modified-time` on
//! DeleteObject, and the `<ETag>` / `<Size>` / `<LastModifiedTime>` of a DeleteObjects
//! entry. A condition the store applies fails as AWS's does (412, or a
//! `PreconditionFailed` entry); one it ignores — it would overwrite or delete anyway —
//! is refused by the proxy (`501 NotImplemented`). Either way the object the client
//! meant to protect is still there, read directly from the store. So is an object a
//! client appends to (`x-amz-write-offset-bytes`), which every store here would replace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier,
    VersioningConfiguration,
};
use support::s3::{create_upload, failure};
use support::wire::{direct_client, route};
use support::{Mode, Store, bucket_name, store_client, store_proxy_mode};

const HELD: &[u8] = b"what the client meant to keep";
const OTHER_ETAG: &str = "\"0123456789abcdef0123456789abcdef\"";

/// Which conditions each store applies (probed directly: Garage 2.5 none, RGW 16.2
/// PutObject's `If-Match` only — its `If-None-Match: *` overwrites in a versioned
/// bucket — SeaweedFS 4.48 all but DeleteObject's size and time).
struct Applies {
    put_if_match: bool,
    put_if_none_match: bool,
    copy_and_complete: bool,
    delete_if_match: bool,
}

fn applies(store: &Store) -> Applies {
    let seaweedfs = store.name == "SEAWEEDFS";
    Applies {
        put_if_match: seaweedfs || store.name == "RGW",
        put_if_none_match: seaweedfs,
        copy_and_complete: seaweedfs,
        delete_if_match: seaweedfs,
    }
}

fn expected(applied: bool) -> (u16, String) {
    if applied {
        (412, "PreconditionFailed".to_owned())
    } else {
        (501, "NotImplemented".to_owned())
    }
}

async fn conditions_hold_or_are_refused(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let plain = bucket_name("condwrite");
    let versioned = bucket_name("condwritev");
    for bucket in [&plain, &versioned] {
        client.create_bucket().bucket(bucket).send().await.unwrap();
    }
    // Garage 2.5 has no versioning.
    if store.name != "GARAGE" {
        let on = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .build();
        direct
            .put_bucket_versioning()
            .bucket(&versioned)
            .versioning_configuration(on)
            .send()
            .await
            .unwrap();
    }
    for bucket in [&plain, &versioned] {
        conditions_hold_or_are_refused_in(&store, &client, &direct, bucket).await;
    }
}

async fn conditions_hold_or_are_refused_in(
    store: &Store,
    client: &aws_sdk_s3::Client,
    direct: &aws_sdk_s3::Client,
    bucket: &str,
) {
    let applies = applies(store);
    let bucket = bucket.to_owned();
    for key in ["k", "src"] {
        put_held(direct, &bucket, key).await;
    }
    let still_held = || assert_held(direct, &bucket);

    let put = |if_match: Option<&str>, if_none_match: Option<&str>| {
        client
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"overwritten"))
            .set_if_match(if_match.map(str::to_owned))
            .set_if_none_match(if_none_match.map(str::to_owned))
            .send()
    };
    let e = put(None, Some("*")).await.unwrap_err();
    let want = expected(applies.put_if_none_match);
    assert_eq!(failure(&e), want, "PUT If-None-Match {bucket}");
    still_held().await;
    let e = put(Some(OTHER_ETAG), None).await.unwrap_err();
    let want = expected(applies.put_if_match);
    assert_eq!(failure(&e), want, "PUT If-Match {bucket}");
    still_held().await;
    // Forms stores read otherwise: If-None-Match other than `*`, an empty or listed
    // If-Match.
    for (if_match, if_none_match, code) in [
        (None, Some("\"*\""), (501, "NotImplemented")),
        (None, Some(OTHER_ETAG), (501, "NotImplemented")),
        (Some(""), None, (400, "InvalidArgument")),
        (Some("\"a\", \"b\""), None, (400, "InvalidArgument")),
    ] {
        let e = put(if_match, if_none_match).await.unwrap_err();
        let want = (code.0, code.1.to_owned());
        assert_eq!(failure(&e), want, "{if_match:?} {if_none_match:?}");
        still_held().await;
    }

    let e = client
        .copy_object()
        .bucket(&bucket)
        .key("k")
        .copy_source(format!("{bucket}/src"))
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    let want = expected(applies.copy_and_complete);
    assert_eq!(failure(&e), want, "CopyObject If-None-Match");
    still_held().await;

    let id = create_upload(client, &bucket, "k", None).await;
    let part = client
        .upload_part()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from_static(b"overwritten"))
        .send()
        .await
        .unwrap();
    let parts = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .build(),
        )
        .build();
    let e = client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .multipart_upload(parts)
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), want, "CompleteMultipartUpload If-None-Match");
    still_held().await;
    client
        .abort_multipart_upload()
        .bucket(&bucket)
        .key("k")
        .upload_id(&id)
        .send()
        .await
        .unwrap();

    let delete = || client.delete_object().bucket(&bucket).key("k");
    let e = delete().if_match(OTHER_ETAG).send().await.unwrap_err();
    let want = expected(applies.delete_if_match);
    assert_eq!(failure(&e), want, "DeleteObject If-Match");
    still_held().await;
    let e = delete().if_match_size(1).send().await.unwrap_err();
    assert_eq!(failure(&e), expected(false), "DeleteObject size");
    still_held().await;
    let long_ago = DateTime::from_secs(631_152_000); // 1990
    let e = delete()
        .if_match_last_modified_time(long_ago)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), expected(false), "DeleteObject time");
    still_held().await;

    let entry = |etag: Option<&str>, size: Option<i64>, time: Option<DateTime>| {
        let entry = ObjectIdentifier::builder()
            .key("k")
            .set_e_tag(etag.map(str::to_owned))
            .set_size(size)
            .set_last_modified_time(time)
            .build()
            .unwrap();
        client
            .delete_objects()
            .bucket(&bucket)
            .delete(Delete::builder().objects(entry).build().unwrap())
            .send()
    };
    for (size, time) in [(Some(1), None), (None, Some(long_ago))] {
        let e = entry(None, size, time).await.unwrap_err();
        assert_eq!(
            failure(&e),
            expected(false),
            "DeleteObjects {size:?} {time:?}"
        );
        still_held().await;
    }
    match entry(Some(OTHER_ETAG), None, None).await {
        // SeaweedFS applies it: the entry fails, the object stays.
        Ok(out) => {
            assert!(applies.delete_if_match, "{out:?}");
            assert!(out.deleted().is_empty(), "{out:?}");
            assert_eq!(out.errors()[0].code(), Some("PreconditionFailed"));
        }
        Err(e) => {
            assert!(!applies.delete_if_match);
            assert_eq!(failure(&e), expected(false), "DeleteObjects ETag");
        }
    }
    still_held().await;

    // What the store applies also succeeds when it holds, and unconditional requests are
    // what they always were.
    if applies.put_if_none_match {
        client
            .put_object()
            .bucket(&bucket)
            .key("new")
            .body(ByteStream::from_static(HELD))
            .if_none_match("*")
            .send()
            .await
            .unwrap();
    }
    put(None, None).await.unwrap();
    let read = direct.get_object().bucket(&bucket).key("k").send().await;
    let read = read.unwrap().body.collect().await.unwrap().into_bytes();
    assert_eq!(read, &b"overwritten"[..]);
    delete().send().await.unwrap();
    let gone = direct.head_object().bucket(&bucket).key("k").send().await;
    assert!(gone.is_err(), "an unconditional delete deletes");
}

async fn an_append_is_refused(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let bucket = bucket_name("append");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    put_held(&direct, &bucket, "k").await;
    let e = client
        .put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"appended"))
        .write_offset_bytes(HELD.len() as i64)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), expected(false));
    assert_held(&direct, &bucket).await;
}

/// [`HELD`] written at `bucket`/`key` directly at the store.
async fn put_held(direct: &aws_sdk_s3::Client, bucket: &str, key: &str) {
    direct
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(HELD))
        .send()
        .await
        .unwrap();
}

/// The store still holds [`HELD`] at `bucket`/`k`, read directly.
async fn assert_held(direct: &aws_sdk_s3::Client, bucket: &str) {
    let read = direct.get_object().bucket(bucket).key("k").send().await;
    let read = read.expect("the object is still there");
    assert_eq!(read.body.collect().await.unwrap().into_bytes(), HELD);
}

per_store_and_mode!(conditions_hold_or_are_refused, an_append_is_refused);
