//! Object keys that end with `/`. SeaweedFS 4.48 keeps such a key as a folder and does not
//! store what is written to it: a PutObject's data is dropped (an empty folder object
//! stays, and no SSE-C is echoed), a CopyObject stores nothing, and a multipart upload
//! completes as `<key><last segment>` (`mp/` as `mp/mp`), and so does a POST Object
//! form. Against the real stores, in
//! both modes: on SeaweedFS those writes are refused before the store, which then holds
//! nothing under the key; the folder itself (an empty PutObject without SSE-C) passes. On
//! RGW and Garage the same writes land under their key, the SSE-C one encrypted. (Resign
//! mode refuses such a form key on every store, as one that stores read differently.)
//!
//! Also keys a store decodes into another key: a form `key` field with a byte order mark
//! or under a non-UTF-8 charset (Garage decodes them), and a copy source with a raw `?`
//! (Garage reads it as part of the key, not as a version).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::json;
use support::at_rest::read_encrypted;
use support::form::{Form, Signer, signed_fields};
use support::resign::exists;
use support::s3::{Key, WithKey, WithSourceKey, failure};
use support::wire::{direct_client, route};
use support::{Mode, RawClient, Store, bucket_name, store_client, store_proxy_mode, xml_code};

async fn writes_to_a_key_ending_in_a_slash(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let bucket = bucket_name("folderkey");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let k = Key::new(64);
    client
        .put_object()
        .bucket(&bucket)
        .key("src")
        .body(ByteStream::from_static(b"source"))
        .send()
        .await
        .unwrap();
    // A PutObject of `body` at `key`, with the SSE-C key `k` when `ssec`.
    let put_at = |key: &'static str, body: &'static [u8], ssec: bool| {
        let put = client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from_static(body));
        if ssec { put.with_key(&k) } else { put }.send()
    };
    let put = put_at("data/", b"FOLDER-DATA", true).await;
    let copy = client
        .copy_object()
        .bucket(&bucket)
        .key("copy/")
        .copy_source(format!("{bucket}/src"))
        .send()
        .await;
    // Without SSE-C and with data; with SSE-C and empty: neither is the folder object.
    let plain = put_at("plain/", b"PLAIN-DATA", false).await;
    let empty_ssec = put_at("zero/", b"", true).await;
    let upload = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp/")
        .with_key(&k)
        .send()
        .await;
    let signer = Signer {
        access_key: &proxy.client.access_key,
        secret_key: &proxy.client.secret_key,
        region: "us-east-1",
        expires_in: 600,
    };
    let conditions = vec![json!({ "bucket": bucket }), json!(["eq", "$key", "post/"])];
    let form = Form::new()
        .field("key", "post/")
        .fields(&signed_fields(&signer, conditions))
        .file(b"FORM-DATA")
        .close();
    let url = format!("{}/{bucket}", proxy.url());
    let post = RawClient::new(&proxy.pki.ca_pem, false)
        .send(form.request(&url))
        .await;
    // Resign mode refuses such a form key on every store, before this check.
    let expected = match (mode, store.name) {
        (Mode::Resign, _) => (400, "InvalidRequest"),
        (Mode::Passthrough, "SEAWEEDFS") => (501, "NotImplemented"),
        (Mode::Passthrough, _) => (204, ""),
    };
    assert_eq!(
        (
            post.status.as_u16(),
            xml_code(&post.text()).unwrap_or_default()
        ),
        (expected.0, expected.1.to_owned()),
        "POST Object: {}",
        post.text()
    );
    if store.name == "SEAWEEDFS" {
        let refused = (501, "NotImplemented".to_owned());
        assert!(
            !exists(&direct, &bucket, "post/post").await,
            "post/post on the store"
        );
        assert_eq!(failure(&put.unwrap_err()), refused, "PutObject");
        assert_eq!(failure(&plain.unwrap_err()), refused, "plain PutObject");
        assert_eq!(
            failure(&empty_ssec.unwrap_err()),
            refused,
            "empty SSE-C PutObject"
        );
        assert_eq!(failure(&copy.unwrap_err()), refused, "CopyObject");
        assert_eq!(
            failure(&upload.unwrap_err()),
            refused,
            "CreateMultipartUpload"
        );
        for key in ["data/", "plain/", "zero/", "copy/", "mp/", "mp/mp", "post/"] {
            assert!(!exists(&direct, &bucket, key).await, "{key} on the store");
        }
    } else {
        put.unwrap();
        plain.unwrap();
        empty_ssec.unwrap();
        copy.unwrap();
        let id = upload.unwrap().upload_id.unwrap();
        client
            .abort_multipart_upload()
            .bucket(&bucket)
            .key("mp/")
            .upload_id(id)
            .send()
            .await
            .unwrap();
        let held = direct
            .get_object()
            .bucket(&bucket)
            .key("data/")
            .with_key(&k)
            .send()
            .await
            .unwrap();
        let body = held.body.collect().await.unwrap().into_bytes();
        assert_eq!(&body[..], b"FOLDER-DATA");
        let plain = direct
            .get_object()
            .bucket(&bucket)
            .key("data/")
            .send()
            .await;
        assert_eq!(
            failure(&plain.unwrap_err()).0,
            400,
            "readable without its key"
        );
    }
    // The folder itself, which every store makes as asked.
    client
        .put_object()
        .bucket(&bucket)
        .key("folder/")
        .body(ByteStream::from_static(b""))
        .send()
        .await
        .unwrap();
    let folder = direct
        .head_object()
        .bucket(&bucket)
        .key("folder/")
        .send()
        .await
        .unwrap();
    assert_eq!(folder.content_length(), Some(0));
}

/// Garage 2.5 reads a form's field values as text (the `multer` crate): it drops a byte
/// order mark at the start and decodes from the charset the part's Content-Type names,
/// so a `key` the proxy checked as `<BOM>/k` is stored as `/k`. It also reads
/// `x-amz-copy-source: /b/k?versionId=v` as the object `k?versionId=v`. On every store,
/// in both modes: such forms are refused and nothing lands, while a field's
/// Content-Type naming UTF-8 still works; on Garage such a copy source is refused,
/// where the store itself (the control) copies the other object.
async fn keys_a_store_would_decode_are_refused(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let bucket = bucket_name("decodedkey");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let signer = Signer {
        access_key: &proxy.client.access_key,
        secret_key: &proxy.client.secret_key,
        region: "us-east-1",
        expires_in: 600,
    };
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let url = format!("{}/{bucket}", proxy.url());
    let post = |head: &str, key: &[u8]| {
        let conditions = vec![
            json!({ "bucket": bucket }),
            json!(["starts-with", "$key", ""]),
        ];
        Form::new()
            .part(
                &format!("Content-Disposition: form-data; name=\"key\"{head}"),
                key,
            )
            .fields(&signed_fields(&signer, conditions))
            .file(b"FORM-DATA")
            .close()
            .request(&url)
    };
    let windows = "\r\nContent-Type: text/plain; charset=windows-1252";
    for (what, head, key) in [
        ("UTF-8 byte order mark", "", b"\xEF\xBB\xBF/bom".as_slice()),
        ("UTF-16 byte order mark", "", b"\xFF\xFE/\0k\0"),
        ("windows-1252", windows, "caf\u{e9}".as_bytes()),
    ] {
        let answer = raw.send(post(head, key)).await;
        assert_eq!(
            (
                answer.status.as_u16(),
                xml_code(&answer.text()).unwrap_or_default()
            ),
            (400, "InvalidRequest".to_owned()),
            "{what}: {}",
            answer.text()
        );
    }
    let listed = direct.list_objects_v2().bucket(&bucket).send().await;
    assert!(
        listed.unwrap().contents().is_empty(),
        "refused forms landed"
    );
    let utf8 = "\r\nContent-Type: text/plain; charset=UTF-8";
    let answer = raw.send(post(utf8, "caf\u{e9}".as_bytes())).await;
    assert_eq!(answer.status.as_u16(), 204, "{}", answer.text());
    assert!(exists(&direct, &bucket, "caf\u{e9}").await);

    if store.name != "GARAGE" {
        return;
    }
    let (named, hidden) = (Key::new(70), Key::new(71));
    for (key, body, k) in [
        ("s2", b"S2-DATA".as_slice(), &named),
        ("s2?versionId=7", b"HIDDEN-DATA", &hidden),
    ] {
        client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from_static(body))
            .with_key(k)
            .send()
            .await
            .unwrap();
    }
    let copy_to = |c: &aws_sdk_s3::Client, to: &str| {
        c.copy_object()
            .bucket(&bucket)
            .key(to)
            .copy_source(format!("{bucket}/s2?versionId=7"))
            .with_source_key(&hidden)
            .with_key(&hidden)
            .send()
    };
    let refused = copy_to(&client, "f1").await.unwrap_err();
    assert_eq!(failure(&refused), (501, "NotImplemented".to_owned()));
    assert!(!exists(&direct, &bucket, "f1").await);
    // The store's own reading: the object named `s2?versionId=7`.
    copy_to(&direct, "control").await.unwrap();
    read_encrypted(&store, &bucket, "control", &hidden, b"HIDDEN-DATA").await;
}

per_store_and_mode!(
    writes_to_a_key_ending_in_a_slash,
    keys_a_store_would_decode_are_refused
);
