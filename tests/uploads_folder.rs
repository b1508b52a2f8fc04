//! SeaweedFS keeps the parts of a multipart upload as ordinary objects of the bucket
//! (`.uploads/<store upload id>/NNNN_….part`) and takes any object written there as a
//! part of that upload: a client could add a plaintext part, or one under another key,
//! to an SSE-C upload without UploadPart and without the proxy's check. Against the real
//! store, in both modes: every key in that folder is refused, and the store's ListParts
//! shows nothing arrived.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::primitives::ByteStream;
use support::s3::{Key, create_upload, failure};
use support::wire::{direct_client, route};
use support::{Mode, Store, bucket_name, store_client, store_proxy_mode, store_upload_id};

/// SeaweedFS keeps the parts of an upload as objects `.uploads/<store id>/NNNN_….part`
/// of the bucket and takes any object written there as a part: in either mode, keys in
/// that folder are refused (target, copy target and copy source), so no part reaches an
/// upload without the proxy's check.
async fn parts_cannot_be_written_into_the_stores_uploads_folder(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let bucket = bucket_name("bindfold");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let k1 = Key::new(62);
    let id = create_upload(&client, &bucket, "obj", Some(&k1)).await;
    let store_id = store_upload_id(&id);
    client
        .put_object()
        .bucket(&bucket)
        .key("plain")
        .body(ByteStream::from_static(b"plain source"))
        .send()
        .await
        .unwrap();
    for key in [
        format!(".uploads/{store_id}/0002_x.part"),
        format!("/.uploads/{store_id}/0003_y.part"),
    ] {
        let put = client
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from_static(b"plaintext part"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&put), (501, "NotImplemented".to_owned()), "{key}");
        let copy = client
            .copy_object()
            .bucket(&bucket)
            .key(&key)
            .copy_source(format!("{bucket}/plain"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&copy), (501, "NotImplemented".to_owned()), "{key}");
    }
    let read = client
        .copy_object()
        .bucket(&bucket)
        .key("stolen")
        .copy_source(format!("{bucket}/.uploads/{store_id}/0001_a.part"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&read), (501, "NotImplemented".to_owned()));
    let at_store = direct
        .list_parts()
        .bucket(&bucket)
        .key("obj")
        .upload_id(store_id)
        .send()
        .await
        .unwrap();
    assert!(at_store.parts().is_empty(), "{:?}", at_store.parts());
}

per_store_and_mode!(
    @stores [seaweedfs];
    parts_cannot_be_written_into_the_stores_uploads_folder,
);
