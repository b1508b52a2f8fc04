//! Stateless multipart binding against the real stores (resign mode,
//! `auth.binding_key_file`): an upload created through one proxy takes its parts through
//! another and through a freshly started one (no memory of the upload anywhere), a part
//! with another key or none is refused by each, forged IDs are NoSuchUpload, and the
//! store's own IDs (what ListMultipartUploads shows) serve ListParts and Abort only. What
//! the store holds is read directly: only the parts that were accepted, and the object
//! encrypted under the upload's key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use support::at_rest;
use support::resign::{APP, APP_SECRET, Resign};
use support::s3::{Key, WithKey, create_upload, failure};
use support::{Store, bucket_name, unique};

/// UploadPart `n` of `upload` with `key` (or none): the part's ETag, or the refusal's
/// status and code.
async fn part(
    client: &Client,
    bucket: &str,
    upload: &str,
    n: i32,
    key: Option<&Key>,
    body: &[u8],
) -> Result<String, (u16, String)> {
    let mut req = client
        .upload_part()
        .bucket(bucket)
        .key("obj")
        .upload_id(upload)
        .part_number(n)
        .body(ByteStream::from(body.to_vec()));
    if let Some(k) = key {
        req = req.with_key(k);
    }
    match req.send().await {
        Ok(out) => Ok(out.e_tag().unwrap().to_owned()),
        Err(e) => Err(failure(&e)),
    }
}

/// The store's own upload IDs in `bucket`, read directly.
async fn store_uploads(direct: &Client, bucket: &str) -> Vec<String> {
    let listed = direct
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    listed
        .uploads()
        .iter()
        .filter_map(|u| u.upload_id().map(str::to_owned))
        .collect()
}

async fn parts_are_bound_to_the_upload_on_every_proxy(store: Store) {
    let first = Resign::start(&store);
    let second = Resign::start(&store);
    let (one, two) = (
        first.client(APP, APP_SECRET),
        second.client(APP, APP_SECRET),
    );
    let direct = first.direct();
    let bucket = bucket_name("bind");
    one.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2) = (Key::new(60), Key::new(61));
    let marker = format!("bound-{}", unique());
    let bodies = [
        at_rest::marked(5 << 20, &marker, 1),
        at_rest::marked(1000, &marker, 2),
    ];

    let id = create_upload(&one, &bucket, "obj", Some(&k1)).await;
    // The store knows the upload by its own ID; the client's carries it and a tag.
    let store_ids = store_uploads(&direct, &bucket).await;
    assert_eq!(store_ids.len(), 1, "{store_ids:?}");
    let store_id = &store_ids[0];
    assert!(
        id.starts_with(&format!("{store_id}.")) && id.len() >= store_id.len() + 45,
        "client id {id:?} for store id {store_id:?}"
    );

    // Part 1 through the other proxy, which never saw the upload.
    let etag1 = part(&two, &bucket, &id, 1, Some(&k1), &bodies[0])
        .await
        .unwrap();
    // Another key, or none, is refused by both proxies before the store.
    for client in [&one, &two] {
        for key in [Some(&k2), None] {
            let refused = part(client, &bucket, &id, 2, key, &bodies[1]).await;
            assert_eq!(refused, Err((400, "InvalidRequest".to_owned())));
        }
    }
    // A forged ID (tag altered) is no upload at all; the store's own ID takes no parts.
    let mut forged = id.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let refused = part(&two, &bucket, &forged, 2, Some(&k1), &bodies[1]).await;
    assert_eq!(refused, Err((404, "NoSuchUpload".to_owned())));
    let refused = part(&two, &bucket, store_id, 2, Some(&k1), &bodies[1]).await;
    assert_eq!(refused, Err((400, "InvalidRequest".to_owned())));

    // The first proxy is gone; a new one with nothing but the binding key takes part 2.
    drop(first);
    let third = Resign::start(&store);
    let three = third.client(APP, APP_SECRET);
    let etag2 = part(&three, &bucket, &id, 2, Some(&k1), &bodies[1])
        .await
        .unwrap();

    // The store holds exactly the two accepted parts, as the proxy's ListParts says,
    // under the client's ID.
    let at_store = direct
        .list_parts()
        .bucket(&bucket)
        .key("obj")
        .upload_id(store_id)
        .send()
        .await
        .unwrap();
    let sizes: Vec<(Option<i32>, Option<i64>)> = at_store
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.size()))
        .collect();
    assert_eq!(sizes, [(Some(1), Some(5 << 20)), (Some(2), Some(1000))]);
    let listed = two
        .list_parts()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&id)
        .with_key(&k1)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.upload_id(), Some(id.as_str()));
    assert_eq!(listed.parts().len(), 2);

    let completed = [(1, etag1), (2, etag2)]
        .into_iter()
        .map(|(n, e)| CompletedPart::builder().part_number(n).e_tag(e).build())
        .collect();
    three
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&id)
        .with_key(&k1)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let whole = bodies.concat();
    at_rest::read_encrypted(&store, &bucket, "obj", &k1, &whole).await;
    assert_eq!(
        at_rest::count(&store, &bucket, &marker),
        0,
        "plaintext of the bound upload found at rest"
    );
    assert!(store_uploads(&direct, &bucket).await.is_empty());
}

async fn store_ids_from_a_listing_serve_list_parts_and_abort_only(store: Store) {
    let proxy = Resign::start(&store);
    let app = proxy.client(APP, APP_SECRET);
    let direct = proxy.direct();
    let bucket = bucket_name("bindls");
    app.create_bucket().bucket(&bucket).send().await.unwrap();
    let id = create_upload(&app, &bucket, "obj", None).await;
    // ListMultipartUploads does not say which key an upload used: it shows the store's
    // IDs, untagged.
    let listed = app
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let shown: Vec<&str> = listed
        .uploads()
        .iter()
        .filter_map(|u| u.upload_id())
        .collect();
    assert_eq!(shown, store_uploads(&direct, &bucket).await);
    let store_id = shown[0].to_owned();
    assert_ne!(store_id, id);
    let refused = part(&app, &bucket, &store_id, 1, None, b"x").await;
    assert_eq!(refused, Err((400, "InvalidRequest".to_owned())));
    let parts = app
        .list_parts()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&store_id)
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty());
    app.abort_multipart_upload()
        .bucket(&bucket)
        .key("obj")
        .upload_id(&store_id)
        .send()
        .await
        .unwrap();
    assert!(store_uploads(&direct, &bucket).await.is_empty());
    // The bound ID of the aborted upload now meets the store's NoSuchUpload.
    let gone = part(&app, &bucket, &id, 1, None, b"x").await;
    assert_eq!(gone, Err((404, "NoSuchUpload".to_owned())));
}

per_store!(
    parts_are_bound_to_the_upload_on_every_proxy,
    store_ids_from_a_listing_serve_list_parts_and_abort_only,
);
