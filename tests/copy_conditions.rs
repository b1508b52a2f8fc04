//! The copy-source conditionals (`x-amz-copy-source-if-match`, `-if-none-match`,
//! `-if-unmodified-since`) against the real stores in both modes. Ceph RGW 16.2 reads
//! them only under its own names (`x-amz-copy-if-*`) and otherwise copies
//! unconditionally: resign mode sends them under both names (and turns RGW's 304 into
//! AWS's 412); passthrough mode, which cannot add headers the client signed, refuses such
//! copies on RGW. RGW ignores UploadPartCopy's under any name: refused in both modes.
//! Each failed condition leaves the store without the destination.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use support::s3::{create_upload, failure};
use support::wire::{direct_client, route};
use support::{Mode, Store, bucket_name, store_client, store_proxy_mode};

async fn copy_source_conditionals_hold_or_are_refused(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let bucket = bucket_name("copycond");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let put = client
        .put_object()
        .bucket(&bucket)
        .key("src")
        .body(ByteStream::from_static(b"copy source"))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    let other = "\"0123456789abcdef0123456789abcdef\"";
    let long_ago = DateTime::from_secs(631_152_000); // 1990
    let source = format!("{bucket}/src");
    // RGW in passthrough mode: refused, whatever the condition.
    let refused_here = store.name == "RGW" && mode == Mode::Passthrough;
    let failed = if refused_here {
        (501, "NotImplemented".to_owned())
    } else {
        (412, "PreconditionFailed".to_owned())
    };

    let copy = |if_match: Option<&str>, if_none_match: Option<&str>, unmodified: bool| {
        client
            .copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(&source)
            .set_copy_source_if_match(if_match.map(str::to_owned))
            .set_copy_source_if_none_match(if_none_match.map(str::to_owned))
            .set_copy_source_if_unmodified_since(unmodified.then_some(long_ago))
            .send()
    };
    for (if_match, if_none_match, unmodified) in [
        (Some(other), None, false),
        (None, Some(etag.as_str()), false),
        (None, None, true),
    ] {
        let e = copy(if_match, if_none_match, unmodified).await.unwrap_err();
        assert_eq!(
            failure(&e),
            failed,
            "if-match {if_match:?} if-none-match {if_none_match:?} unmodified {unmodified}"
        );
        let held = direct.head_object().bucket(&bucket).key("dst").send().await;
        assert!(held.is_err(), "a failed condition wrote the destination");
    }

    // UploadPartCopy reads the same conditionals; RGW ignores them in every form, so
    // the proxy refuses them there in both modes.
    let part_failed = if store.name == "RGW" {
        (501, "NotImplemented".to_owned())
    } else {
        failed.clone()
    };
    let id = create_upload(&client, &bucket, "assembled", None).await;
    let e = client
        .upload_part_copy()
        .bucket(&bucket)
        .key("assembled")
        .upload_id(&id)
        .part_number(1)
        .copy_source(&source)
        .copy_source_if_match(other)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), part_failed, "UploadPartCopy");

    let copied = copy(Some(&etag), Some(other), false).await;
    if refused_here {
        assert_eq!(failure(&copied.unwrap_err()), failed);
        // Without conditionals the copy is what it always was.
        copy(None, None, false).await.unwrap();
    } else {
        copied.unwrap();
    }
    let read = direct
        .get_object()
        .bucket(&bucket)
        .key("dst")
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.body.collect().await.unwrap().into_bytes(),
        &b"copy source"[..]
    );
}

per_store_and_mode!(copy_source_conditionals_hold_or_are_refused);
