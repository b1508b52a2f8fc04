//! SeaweedFS keeps the parts of a multipart upload as ordinary objects of the bucket
//! (`.uploads/<store upload id>/NNNN_….part`) and takes any object written there as a
//! part of that upload: a client could add a plaintext part, or one under another key,
//! to an SSE-C upload without UploadPart and without the proxy's check. Against the real
//! store, in both modes: every key in that folder is refused, and the store's ListParts
//! shows nothing arrived. A listing with a prefix inside the folder (which shows the
//! parts of any upload whose ID the client knows), one that starts after a key in it
//! (every upload's parts), and a DeleteObjects naming a part are refused too, and the
//! part stays.
//!
//! SeaweedFS also answers GET, HEAD and OPTIONS at `/status`, `/healthz` and `/readyz`
//! itself (its health checks), before reading them as buckets: those are refused too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use md5::{Digest as _, Md5};
use support::s3::{Key, WithKey, create_upload, failure};
use support::wire::{direct_client, direct_url, route};
use support::{
    Mode, Proxy, ProxyOptions, RawClient, Store, bucket_name, signed, store_client,
    store_proxy_mode, store_upload_id,
};

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
    // SeaweedFS stores `\` in a key as `/`, so `\.uploads\…` is in the folder too: the
    // store itself shows it.
    direct
        .put_object()
        .bucket(&bucket)
        .key("bs\\x")
        .body(ByteStream::from_static(b"control"))
        .send()
        .await
        .unwrap();
    direct
        .head_object()
        .bucket(&bucket)
        .key("bs/x")
        .send()
        .await
        .unwrap();
    for key in [
        format!(".uploads/{store_id}/0002_x.part"),
        format!("/.uploads/{store_id}/0003_y.part"),
        format!("\\.uploads\\{store_id}\\0004_z.part"),
        "bs\\x".to_owned(),
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
    let read = client
        .copy_object()
        .bucket(&bucket)
        .key("stolen")
        .copy_source(format!("{bucket}/%5C.uploads%5C{store_id}%5C0001_a.part"))
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

/// The parts of an upload can be listed by a prefix inside the folder and deleted by a
/// DeleteObjects naming them, directly at the store: through the proxy, in either mode,
/// both are refused, a key list without such keys still deletes, and the part stays.
async fn parts_cannot_be_listed_or_deleted_through_the_folder(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let bucket = bucket_name("bindlist");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let k1 = Key::new(63);
    let id = create_upload(&client, &bucket, "obj", Some(&k1)).await;
    let store_id = store_upload_id(&id).to_owned();
    client
        .upload_part()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from_static(b"part one"))
        .with_key(&k1)
        .send()
        .await
        .unwrap();
    let folder = format!(".uploads/{store_id}/");
    let at_store = |prefix: String| {
        let direct = direct.clone();
        let bucket = bucket.clone();
        async move {
            let listed = direct
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(prefix)
                .send()
                .await
                .unwrap();
            listed
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    // What the store shows to a prefix inside the folder, directly.
    let parts = at_store(folder.clone()).await;
    assert_eq!(parts.len(), 1, "{parts:?}");
    let part = parts[0].clone();
    for prefix in [folder.clone(), format!("//{folder}"), ".uploads".to_owned()] {
        let v2 = client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&v2), (501, "NotImplemented".to_owned()), "{prefix}");
        let v1 = client
            .list_objects()
            .bucket(&bucket)
            .prefix(&prefix)
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&v1), (501, "NotImplemented".to_owned()), "{prefix}");
        let versions = client
            .list_object_versions()
            .bucket(&bucket)
            .prefix(&prefix)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            failure(&versions),
            (501, "NotImplemented".to_owned()),
            "{prefix}"
        );
    }
    // A listing that starts inside the folder shows every upload's parts at the store.
    let after = direct
        .list_objects_v2()
        .bucket(&bucket)
        .start_after(".uploads/")
        .send()
        .await
        .unwrap();
    assert!(
        after
            .contents()
            .iter()
            .any(|o| o.key() == Some(part.as_str())),
        "{:?}",
        after.contents()
    );
    for start in [".uploads/".to_owned(), format!("/{folder}")] {
        let refused = [
            client
                .list_objects_v2()
                .bucket(&bucket)
                .start_after(&start)
                .send()
                .await
                .map(|_| ())
                .unwrap_err(),
            client
                .list_objects_v2()
                .bucket(&bucket)
                .continuation_token(&start)
                .send()
                .await
                .map(|_| ())
                .unwrap_err(),
        ];
        for e in refused {
            assert_eq!(failure(&e), (501, "NotImplemented".to_owned()), "{start}");
        }
        let v1 = client
            .list_objects()
            .bucket(&bucket)
            .marker(&start)
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&v1), (501, "NotImplemented".to_owned()), "{start}");
        let versions = client
            .list_object_versions()
            .bucket(&bucket)
            .key_marker(&start)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            failure(&versions),
            (501, "NotImplemented".to_owned()),
            "{start}"
        );
    }
    // Prefixes that only look alike list as usual.
    for prefix in [".uploadsX/", "obj", "x/.uploads/"] {
        client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
    }
    client
        .put_object()
        .bucket(&bucket)
        .key("plain")
        .body(ByteStream::from_static(b"plain"))
        .send()
        .await
        .unwrap();
    let ids = |keys: &[&str]| {
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
            .collect();
        Delete::builder()
            .set_objects(Some(objects))
            .build()
            .unwrap()
    };
    let rooted = format!("/{part}");
    let refusals = [
        (vec![part.as_str()], 501, "NotImplemented"),
        (vec!["plain", &rooted], 501, "NotImplemented"),
        // A key with a dot segment is refused as in a path, the whole list with it: left
        // to the store, SeaweedFS deletes the rest of the list and answers for that key
        // alone.
        (vec!["plain", "a/../plain"], 400, "InvalidRequest"),
        (vec!["plain", "../plain"], 400, "InvalidRequest"),
    ];
    for (keys, status, code) in refusals {
        let refused = client
            .delete_objects()
            .bucket(&bucket)
            .delete(ids(&keys))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failure(&refused), (status, code.to_owned()), "{keys:?}");
    }
    // Key lists SeaweedFS reads as naming the part: the key around a child element
    // (Go keeps the element's own text), and `?delete` at an object path.
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let nested = part.replacen(".uploads", ".<x>ZZ</x>uploads", 1);
    for (path, key) in [
        (format!("/{bucket}"), nested),
        (format!("/{bucket}/obj"), part.clone()),
    ] {
        let body = format!("<Delete><Object><Key>{key}</Key></Object></Delete>");
        let md5 = BASE64.encode(Md5::digest(body.as_bytes()));
        let url = format!("{}{path}?delete", proxy.url());
        let req = signed(
            &proxy.client,
            "POST",
            &url,
            &[("content-md5", &md5)],
            Bytes::from(body),
        );
        let response = raw.send(req).await;
        assert!(
            matches!(response.status.as_u16(), 400 | 501),
            "{path} {key}: {} {:?}",
            response.status,
            response.body
        );
    }
    // SeaweedFS takes its routes in its own order: with `list-type=2` a bucket's
    // configuration GET is a ListObjectsV2 to its current source (4.48 answers 400);
    // the proxy checks where any request at a bucket path would start a listing.
    let url = format!(
        "{}/{bucket}?ownershipControls&list-type=2&prefix=.uploads%2F{store_id}%2F",
        proxy.url()
    );
    let req = signed(&proxy.client, "GET", &url, &[], Bytes::new());
    let response = raw.send(req).await;
    assert_eq!(response.status.as_u16(), 501, "{:?}", response.body);
    // SeaweedFS lists the bucket's uploads (their keys and store IDs) for a GET of an
    // object with `?uploads`; a bucket's sub-resource at an object path is refused.
    let url = format!("{}/{bucket}/obj?uploads", proxy.url());
    let req = signed(&proxy.client, "GET", &url, &[], Bytes::new());
    let response = raw.send(req).await;
    assert_eq!(response.status.as_u16(), 400, "{:?}", response.body);
    // Nothing of a refused list was deleted; a list without such keys deletes.
    assert_eq!(at_store(folder.clone()).await, vec![part.clone()]);
    assert_eq!(at_store("plain".to_owned()).await, vec!["plain".to_owned()]);
    let deleted = client
        .delete_objects()
        .bucket(&bucket)
        .delete(ids(&["plain"]))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted().len(), 1, "{deleted:?}");
    assert!(at_store("plain".to_owned()).await.is_empty());
    let listed = direct
        .list_parts()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&store_id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts().len(), 1, "{:?}", listed.parts());
}

/// SeaweedFS answers GET, HEAD and OPTIONS at `/status`, `/healthz` and `/readyz` with an
/// empty 200 of its own, whether a bucket of that name exists or not: directly, a
/// HeadBucket of a bucket that does not exist succeeds and a listing of one holding an
/// object is empty. Through the proxy, in either mode, those requests are refused; the
/// SDK's (at `/<bucket>/`) and the bucket's objects work as usual.
async fn the_stores_health_paths_are_not_read_as_buckets(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    // One bucket per mode: the tests of both modes run at once against one store.
    let bucket = match mode {
        Mode::Passthrough => "status",
        Mode::Resign => "healthz",
    };
    if let Err(e) = client.create_bucket().bucket(bucket).send().await {
        // Left by an earlier run.
        assert_eq!(failure(&e).1, "BucketAlreadyOwnedByYou", "{e:?}");
    }
    client
        .put_object()
        .bucket(bucket)
        .key("k")
        .body(ByteStream::from_static(b"held"))
        .send()
        .await
        .unwrap();
    // What the store answers directly: no listing, and a bucket that is not there.
    let at_store = |method: &'static str, path: String| {
        let store = store.clone();
        let raw = &raw;
        async move {
            let url = format!("{}{path}", direct_url(&store));
            raw.send(signed(&store, method, &url, &[], Bytes::new()))
                .await
        }
    };
    let listed = at_store("GET", format!("/{bucket}?list-type=2")).await;
    assert_eq!(listed.status.as_u16(), 200);
    assert!(listed.body.is_empty(), "{:?}", listed.body);
    let listed = at_store("GET", format!("/{bucket}/?list-type=2")).await;
    assert!(
        String::from_utf8_lossy(&listed.body).contains("<Key>k</Key>"),
        "{:?}",
        listed.body
    );
    assert_eq!(at_store("HEAD", "/readyz".to_owned()).await.status, 200);
    let nobody = at_store("HEAD", "/readyz/?x".to_owned()).await;
    assert_eq!(nobody.status.as_u16(), 404);
    // Through the proxy: refused, whatever the operation.
    for name in [bucket, "readyz"] {
        for (method, query) in [
            ("HEAD", ""),
            ("GET", "?list-type=2"),
            ("GET", "?location"),
            ("GET", ""),
            ("OPTIONS", ""),
        ] {
            let url = format!("{}/{name}{query}", proxy.url());
            let refused = raw
                .send(signed(&proxy.client, method, &url, &[], Bytes::new()))
                .await;
            assert_eq!(refused.status.as_u16(), 501, "{method} {name}{query}");
        }
    }
    // SeaweedFS routes on the decoded path: `/st%61tus` is its health check as well.
    let escaped = at_store("GET", "/st%61tus".to_owned()).await;
    assert_eq!((escaped.status.as_u16(), escaped.body.len()), (200, 0));
    // Virtual-hosted, that path is a GetObject of the key `status`: refused spelled
    // either way. (The dev SeaweedFS has no domain, so this proxy's Hosts would misread
    // anything it forwarded; it forwards nothing here.)
    let vhost = Proxy::start(ProxyOptions {
        upstream: "store = \"seaweedfs\"".to_owned(),
        server: "virtual_host_suffixes = [\"localhost\"]".to_owned(),
        ssec: "default = \"allow\"".to_owned(),
        ..ProxyOptions::endpoint(store.http.clone())
    });
    let vhost_raw = RawClient::new(&vhost.pki.ca_pem, false);
    let host = format!("{bucket}.localhost:{}", vhost.s3_addr.port());
    for path in ["/status", "/st%61tus", "/%73tatus"] {
        let mut req = signed(
            &proxy.client,
            "GET",
            &format!("{}{path}", vhost.url()),
            &[],
            Bytes::new(),
        );
        req.headers_mut().insert("host", host.parse().unwrap());
        let refused = vhost_raw.send(req).await;
        assert_eq!(
            refused.status.as_u16(),
            501,
            "GET {host}{path}: {}",
            refused.text()
        );
    }
    // The SDK addresses a bucket as `/<bucket>/`, which SeaweedFS reads as S3.
    client.head_bucket().bucket(bucket).send().await.unwrap();
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1, "{listed:?}");
    let absent = client.head_bucket().bucket("readyz").send().await;
    assert_eq!(failure(&absent.unwrap_err()).0, 404);
    // The bucket's objects are S3 as usual.
    let read = client
        .get_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(read.body.collect().await.unwrap().into_bytes(), "held");
    client
        .delete_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    let gone = direct.head_object().bucket(bucket).key("k").send().await;
    assert_eq!(failure(&gone.unwrap_err()).0, 404);
}

per_store_and_mode!(
    @stores [seaweedfs];
    parts_cannot_be_written_into_the_stores_uploads_folder,
    parts_cannot_be_listed_or_deleted_through_the_folder,
    the_stores_health_paths_are_not_read_as_buckets,
);
