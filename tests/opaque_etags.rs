//! Opaque ETags against the real stores (resign mode, `[etag] mode = "opaque"`): every
//! ETag a client sees — PutObject, GetObject, HeadObject, the listings, UploadPart,
//! ListParts, CompleteMultipartUpload, CopyObject, UploadPartCopy — is the binding key's
//! permutation of what the store holds (read directly at the store), the same through
//! every replica; and the conditionals (`If-Match`, `If-None-Match`, the copy-source
//! ones) and CompleteMultipartUpload's part list take the client's values and answer as
//! AWS does: 200, 304, 412, InvalidPart. The store's own ETag is worth nothing through
//! the proxy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, EncodingType, ObjectAttributes};
use bytes::Bytes;
use md5::{Digest as _, Md5};
use percent_encoding::percent_decode_str;
use ssec_proxy::s3::opaque::{Direction, OpaqueEtags};
use std::sync::Arc;
use support::at_rest::held_etag;
use support::resign::{APP, APP_SECRET, Resign};
use support::s3::{Key, WithKey, WithSourceKey, create_upload, data, failure};
use support::{BINDING_KEY, Store, bucket_name, store_upload_id};

const OPAQUE: &str = "[etag]\nmode = \"opaque\"\n";

/// The quoted ETag the store holds for `bucket`/`name`, hidden as the proxy must show
/// it.
fn hidden(bucket: &str, name: &str, store_etag: &str) -> String {
    let etags = Arc::new(OpaqueEtags::new(&BINDING_KEY).unwrap());
    etags
        .object(bucket, name)
        .map_wrapped(store_etag, Direction::Hide)
        .unwrap()
}

/// The quoted part ETag the store holds in the upload `id` (the client's) of
/// `bucket`/`name`, hidden as the proxy must show it.
fn hidden_part(bucket: &str, name: &str, id: &str, store_etag: &str) -> String {
    let etags = Arc::new(OpaqueEtags::new(&BINDING_KEY).unwrap());
    etags
        .parts(bucket, name, store_upload_id(id))
        .map_wrapped(store_etag, Direction::Hide)
        .unwrap()
}

fn md5_hex(body: &[u8]) -> String {
    Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HeadObject's ETag of `bucket`/`name`, with `key` if given.
async fn head_etag(client: &Client, bucket: &str, name: &str, key: Option<&Key>) -> String {
    let mut req = client.head_object().bucket(bucket).key(name);
    if let Some(k) = key {
        req = req.with_key(k);
    }
    let out = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("HEAD {name}: {:?}", failure(&e)));
    out.e_tag().unwrap().to_owned()
}

/// GetObject of `bucket`/`name` with `key` and one conditional header: the status, and
/// the ETag the answer carried.
async fn conditional_get(
    client: &Client,
    bucket: &str,
    name: &str,
    key: &Key,
    if_match: Option<&str>,
    if_none_match: Option<&str>,
) -> (u16, Option<String>) {
    let req = client
        .get_object()
        .bucket(bucket)
        .key(name)
        .with_key(key)
        .set_if_match(if_match.map(str::to_owned))
        .set_if_none_match(if_none_match.map(str::to_owned));
    match req.send().await {
        Ok(out) => (200, out.e_tag().map(str::to_owned)),
        Err(e) => {
            let etag = e
                .raw_response()
                .and_then(|r| r.headers().get("etag"))
                .map(str::to_owned);
            (failure(&e).0, etag)
        }
    }
}

async fn single_part_sse_c_objects(store: Store) {
    let proxy = Resign::start_with(&store, OPAQUE);
    let replica = Resign::start_with(&store, OPAQUE);
    let app = proxy.client(APP, APP_SECRET);
    let direct = proxy.direct();
    let bucket = bucket_name("opaque");
    app.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(70);
    let body = data(1000, 70);
    let put = app
        .put_object()
        .bucket(&bucket)
        .key("enc")
        .with_key(&key)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let shown = put.e_tag().unwrap().to_owned();
    let held = held_etag(&store, &bucket, "enc", Some(&key)).await;
    assert_ne!(shown, held, "the store's ETag reached the client");
    assert_eq!(shown, hidden(&bucket, "enc", &held));
    assert!(!shown.contains(&md5_hex(&body)), "content hash leaked");
    if store.name != "GARAGE" {
        // These stores publish the plaintext's MD5: exactly what opaque mode hides.
        assert_eq!(held, format!("\"{}\"", md5_hex(&body)));
    }

    // The same value on every read, through either replica.
    assert_eq!(head_etag(&app, &bucket, "enc", Some(&key)).await, shown);
    let other = replica.client(APP, APP_SECRET);
    assert_eq!(head_etag(&other, &bucket, "enc", Some(&key)).await, shown);
    let (status, got) = conditional_get(&app, &bucket, "enc", &key, None, None).await;
    assert_eq!((status, got.as_deref()), (200, Some(shown.as_str())));
    let v2 = app.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(v2.contents()[0].e_tag(), Some(shown.as_str()));
    let v1 = app.list_objects().bucket(&bucket).send().await.unwrap();
    assert_eq!(v1.contents()[0].e_tag(), Some(shown.as_str()));
    match app.list_object_versions().bucket(&bucket).send().await {
        Ok(versions) => {
            let listed = versions.versions()[0].e_tag().unwrap();
            let at_store = direct
                .list_object_versions()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            let held_version = at_store.versions()[0].e_tag().unwrap();
            assert_eq!(listed, hidden(&bucket, "enc", held_version));
            if store.name == "SEAWEEDFS" {
                // SeaweedFS 4.48 lists another value here than HeadObject's (not the
                // plaintext's MD5); the proxy maps what the store says.
                assert_ne!(held_version, held);
            } else {
                assert_eq!(listed, shown);
            }
        }
        Err(e) => assert_eq!(store.name, "GARAGE", "{:?}", failure(&e)),
    }
    match app
        .get_object_attributes()
        .bucket(&bucket)
        .key("enc")
        .object_attributes(ObjectAttributes::Etag)
        .with_key(&key)
        .send()
        .await
    {
        // Unquoted, as AWS writes it there.
        Ok(attrs) => assert_eq!(
            attrs.e_tag().map(|e| format!("\"{e}\"")),
            Some(shown.clone())
        ),
        // Not every store implements GetObjectAttributes (Garage 2.5 and RGW 16.2
        // answer it as a GetObject, which the SDK cannot read as attributes).
        Err(e) => assert!(
            failure(&e).0 >= 400 || store.name != "SEAWEEDFS",
            "{:?}",
            failure(&e)
        ),
    }

    // Conditionals take the client's value, as AWS: 200, 304, 412.
    let other_tag = "\"0123456789abcdef0123456789abcdef\"";
    let cases = [
        (Some(shown.as_str()), None, 200),
        (Some(other_tag), None, 412),
        (Some(held.as_str()), None, 412),
        (None, Some(shown.as_str()), 304),
        (None, Some(other_tag), 200),
        (None, Some(held.as_str()), 200),
    ];
    for (if_match, if_none_match, want) in cases {
        let (status, etag) =
            conditional_get(&app, &bucket, "enc", &key, if_match, if_none_match).await;
        assert_eq!(
            status, want,
            "If-Match {if_match:?} If-None-Match {if_none_match:?}"
        );
        if status == 304 {
            // RGW 16.2 sends none with a 304; whatever is sent is the client's value.
            assert!(etag.is_none_or(|e| e == shown), "304's ETag");
        }
    }
    same_content_elsewhere(&store, &app, &direct, &bucket, &key, &body, &shown).await;
}

/// The content of `enc` (shown as `shown`) written again under names that need
/// escaping: each object shows its own value, the same in HeadObject and in every
/// listing (`encoding-type=url` or not), and one object's value is not another's.
async fn same_content_elsewhere(
    store: &Store,
    app: &Client,
    direct: &Client,
    bucket: &str,
    key: &Key,
    body: &[u8],
    shown: &str,
) {
    // `a%20b` and `a b`: one key's percent-encoded form is the other's text, so a
    // listing read the wrong way would show one object's value for the other.
    let names = ["twin", "a b+c&d%/é<>", "a%20b", "a b"];
    for name in names {
        app.put_object()
            .bucket(bucket)
            .key(name)
            .with_key(key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
    }
    let mut seen = vec![shown.to_owned()];
    for name in names {
        let etag = head_etag(app, bucket, name, Some(key)).await;
        assert!(
            !seen.contains(&etag),
            "{name}: {etag} shown for another object"
        );
        // What the store holds for this object, hidden as its own.
        let held = held_etag(store, bucket, name, Some(key)).await;
        assert_eq!(etag, hidden(bucket, name, &held), "{name}");
        seen.push(etag.clone());
        // The twin's value does not pass as `enc`'s.
        let (status, _) = conditional_get(app, bucket, "enc", key, Some(&etag), None).await;
        assert_eq!(status, 412, "{name}'s ETag as enc's If-Match");
    }
    let heads: Vec<(String, String)> = names
        .iter()
        .map(|n| n.to_string())
        .zip(seen[1..].iter().cloned())
        .collect();
    // SeaweedFS 4.48 lists versions with other ETags than HeadObject's: each is the
    // permutation, for its object, of what the store lists.
    let mut version_heads = heads.clone();
    if let Ok(at_store) = direct.list_object_versions().bucket(bucket).send().await {
        for (name, etag) in &mut version_heads {
            let held = at_store
                .versions()
                .iter()
                .find(|v| v.key() == Some(name.as_str()))
                .and_then(|v| v.e_tag())
                .unwrap();
            *etag = hidden(bucket, name, held);
        }
    }
    for url in [false, true] {
        let encoding = url.then_some(EncodingType::Url);
        let v2 = app
            .list_objects_v2()
            .bucket(bucket)
            .set_encoding_type(encoding.clone())
            .send()
            .await
            .unwrap();
        let entries = v2.contents().iter().map(|o| (o.key(), o.e_tag()));
        check_listed(&heads, entries, v2.encoding_type().is_some(), "V2", url);
        let v1 = app
            .list_objects()
            .bucket(bucket)
            .set_encoding_type(encoding.clone())
            .send()
            .await
            .unwrap();
        let entries = v1.contents().iter().map(|o| (o.key(), o.e_tag()));
        check_listed(&heads, entries, v1.encoding_type().is_some(), "V1", url);
        // Garage 2.5 does not implement ListObjectVersions; SeaweedFS 4.48 ignores
        // its encoding-type.
        if let Ok(versions) = app
            .list_object_versions()
            .bucket(bucket)
            .set_encoding_type(encoding)
            .send()
            .await
        {
            let entries = versions.versions().iter().map(|o| (o.key(), o.e_tag()));
            let encoded = versions.encoding_type().is_some();
            check_listed(&version_heads, entries, encoded, "versions", url);
        }
    }
}

/// Each of `heads` (name, HeadObject's ETag) is listed among `entries` with the ETag
/// HeadObject shows; `encoded`: the store percent-encoded the keys.
fn check_listed<'a>(
    heads: &[(String, String)],
    entries: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
    encoded: bool,
    listing: &str,
    asked: bool,
) {
    let listed: Vec<(String, String)> = entries
        .map(|(k, e)| {
            let k = k.unwrap();
            let name = if encoded {
                percent_decode_str(&k.replace('+', " "))
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            } else {
                k.to_owned()
            };
            (name, e.unwrap().to_owned())
        })
        .collect();
    for (name, etag) in heads {
        let entry = listed
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} in {listing} (url {asked}): {listed:?}"));
        assert_eq!(&entry.1, etag, "{name} in {listing} (url {asked})");
    }
}

async fn multipart_uploads(store: Store) {
    let proxy = Resign::start_with(&store, OPAQUE);
    let app = proxy.client(APP, APP_SECRET);
    let direct = proxy.direct();
    let bucket = bucket_name("opaque-mp");
    app.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(71);
    let id = create_upload(&app, &bucket, "mp", Some(&key)).await;
    let bodies = [data(5 << 20, 71), data(1000, 72)];
    let mut shown = Vec::new();
    for (n, body) in (1..).zip(&bodies) {
        let out = app
            .upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .with_key(&key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        shown.push(out.e_tag().unwrap().to_owned());
    }
    // What the store holds for the parts, and what the client was shown.
    let held: Vec<String> = direct
        .list_parts()
        .bucket(&bucket)
        .key("mp")
        .upload_id(store_upload_id(&id))
        .send()
        .await
        .unwrap()
        .parts()
        .iter()
        .map(|p| p.e_tag().unwrap().to_owned())
        .collect();
    assert_eq!(held.len(), 2);
    for (shown, held) in shown.iter().zip(&held) {
        assert_ne!(shown, held);
        assert_eq!(shown, &hidden_part(&bucket, "mp", &id, held));
        assert_ne!(shown, &hidden(&bucket, "mp", held), "the object's mask");
    }
    let listed: Vec<String> = app
        .list_parts()
        .bucket(&bucket)
        .key("mp")
        .upload_id(&id)
        .send()
        .await
        .unwrap()
        .parts()
        .iter()
        .map(|p| p.e_tag().unwrap().to_owned())
        .collect();
    assert_eq!(listed, shown);

    let complete = |etags: Vec<String>| {
        let parts = (1..)
            .zip(etags)
            .map(|(n, e)| CompletedPart::builder().part_number(n).e_tag(e).build())
            .collect();
        app.complete_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&id)
            .with_key(&key)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
    };
    // The store's own part ETags are not the client's: InvalidPart, as for any other.
    let refused = complete(held.clone()).await.unwrap_err();
    assert_eq!(failure(&refused), (400, "InvalidPart".to_owned()));
    let done = complete(shown.clone()).await.unwrap();
    let result = done.e_tag().unwrap().to_owned();
    let object = held_etag(&store, &bucket, "mp", Some(&key)).await;
    assert!(object.ends_with("-2\""), "{object}");
    assert_eq!(result, hidden(&bucket, "mp", &object));
    assert_eq!(head_etag(&app, &bucket, "mp", Some(&key)).await, result);
    let read = app
        .get_object()
        .bucket(&bucket)
        .key("mp")
        .with_key(&key)
        .send()
        .await
        .unwrap();
    let got = read.body.collect().await.unwrap().into_bytes();
    assert_eq!(got.len(), bodies[0].len() + bodies[1].len());
    assert!(got.starts_with(&bodies[0]) && got.ends_with(&bodies[1]));
}

async fn copies_and_their_conditionals(store: Store) {
    let proxy = Resign::start_with(&store, OPAQUE);
    let app = proxy.client(APP, APP_SECRET);
    let direct = proxy.direct();
    let bucket = bucket_name("opaque-cp");
    app.create_bucket().bucket(&bucket).send().await.unwrap();
    // Garage takes UploadPartCopy from sources of a whole part (5 MiB) only.
    let body = data(5 << 20, 73);
    let put = app
        .put_object()
        .bucket(&bucket)
        .key("src")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let shown = put.e_tag().unwrap().to_owned();
    let held = held_etag(&store, &bucket, "src", None).await;
    assert_eq!(shown, hidden(&bucket, "src", &held));
    let source = format!("{bucket}/src");
    let other_tag = "\"0123456789abcdef0123456789abcdef\"";

    let copy = |dst: &'static str, if_match: Option<&str>, if_none_match: Option<&str>| {
        app.copy_object()
            .bucket(&bucket)
            .key(dst)
            .copy_source(&source)
            .set_copy_source_if_match(if_match.map(str::to_owned))
            .set_copy_source_if_none_match(if_none_match.map(str::to_owned))
            .send()
    };
    for (if_match, if_none_match) in [
        (Some(other_tag), None),
        (Some(held.as_str()), None),
        (None, Some(shown.as_str())),
    ] {
        let e = copy("never", if_match, if_none_match).await.unwrap_err();
        assert_eq!(
            failure(&e),
            (412, "PreconditionFailed".to_owned()),
            "{if_match:?} {if_none_match:?}"
        );
    }
    let copied = copy("dst", Some(&shown), Some(other_tag)).await.unwrap();
    let result = copied
        .copy_object_result()
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    let dst_held = held_etag(&store, &bucket, "dst", None).await;
    assert_eq!(result, hidden(&bucket, "dst", &dst_held));
    assert_eq!(head_etag(&app, &bucket, "dst", None).await, result);
    // The copy holds the same content (the store shows one value for both), but the
    // client's values are each object's own: the copy's does not pass as the source's.
    assert_eq!(dst_held, held);
    assert_ne!(result, shown);
    let e = copy("never", Some(&result), None).await.unwrap_err();
    assert_eq!(failure(&e), (412, "PreconditionFailed".to_owned()));
    let names = support::s3::object_names(&direct, &bucket).await;
    assert_eq!(names, ["dst", "src"], "a refused copy wrote nothing");

    encrypted_copy(&app, &bucket, &store).await;

    // UploadPartCopy: CopyPartResult and ListParts show the same value, and completion
    // takes it.
    let id = create_upload(&app, &bucket, "assembled", None).await;
    let part = app
        .upload_part_copy()
        .bucket(&bucket)
        .key("assembled")
        .upload_id(&id)
        .part_number(1)
        .copy_source(&source)
        // RGW 16.2 ignores UploadPartCopy's conditionals: the proxy refuses them there.
        .set_copy_source_if_match((store.name != "RGW").then(|| shown.clone()))
        .send()
        .await
        .unwrap();
    let part_etag = part.copy_part_result().unwrap().e_tag().unwrap().to_owned();
    let listed = app
        .list_parts()
        .bucket(&bucket)
        .key("assembled")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts()[0].e_tag(), Some(part_etag.as_str()));
    let store_part = direct
        .list_parts()
        .bucket(&bucket)
        .key("assembled")
        .upload_id(store_upload_id(&id))
        .send()
        .await
        .unwrap();
    assert_eq!(
        part_etag,
        hidden_part(
            &bucket,
            "assembled",
            &id,
            store_part.parts()[0].e_tag().unwrap()
        )
    );
    app.complete_multipart_upload()
        .bucket(&bucket)
        .key("assembled")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(&part_etag)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let read = app
        .get_object()
        .bucket(&bucket)
        .key("assembled")
        .send()
        .await
        .unwrap();
    assert_eq!(read.body.collect().await.unwrap().into_bytes(), body);
}

/// An SSE-C copy under another key, which the proxy makes itself on RGW (a read and a
/// write) and checks first on SeaweedFS: its conditionals take the source's value, not
/// the value of another object of the same content, and its result is the copy's own.
async fn encrypted_copy(app: &Client, bucket: &str, store: &Store) {
    let (k1, k2) = (Key::new(74), Key::new(75));
    let body = data(1000, 74);
    let mut shown = Vec::new();
    for name in ["enc-src", "enc-twin"] {
        let put = app
            .put_object()
            .bucket(bucket)
            .key(name)
            .with_key(&k1)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        shown.push(put.e_tag().unwrap().to_owned());
    }
    assert_ne!(shown[0], shown[1]);
    let copy = |if_match: &str| {
        app.copy_object()
            .bucket(bucket)
            .key("enc-dst")
            .copy_source(format!("{bucket}/enc-src"))
            .copy_source_if_match(if_match)
            .with_source_key(&k1)
            .with_key(&k2)
            .send()
    };
    let e = copy(&shown[1]).await.unwrap_err();
    assert_eq!(failure(&e), (412, "PreconditionFailed".to_owned()));
    let copied = copy(&shown[0]).await.unwrap();
    let result = copied
        .copy_object_result()
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    assert_eq!(head_etag(app, bucket, "enc-dst", Some(&k2)).await, result);
    let held = held_etag(store, bucket, "enc-dst", Some(&k2)).await;
    assert_eq!(result, hidden(bucket, "enc-dst", &held));
    assert!(!shown.contains(&result));
}

per_store!(
    single_part_sse_c_objects,
    multipart_uploads,
    copies_and_their_conditionals,
    the_store_value_cannot_be_read_or_tested,
    a_delete_list_cannot_test_the_store_value,
    a_part_cannot_test_the_objects_content,
);

/// An SSE-C object `v` whose content an attacker guesses: written through a new resign
/// proxy with opaque ETags into a new bucket, under `Key::new(seed)`.
struct SecretObject {
    proxy: Resign,
    app: Client,
    bucket: String,
    key: Key,
    /// The PutObject's (opaque) ETag.
    etag: String,
}

impl SecretObject {
    async fn put(store: &Store, prefix: &str, seed: u8, body: &[u8]) -> Self {
        let proxy = Resign::start_with(store, OPAQUE);
        let app = proxy.client(APP, APP_SECRET);
        let bucket = bucket_name(prefix);
        app.create_bucket().bucket(&bucket).send().await.unwrap();
        let key = Key::new(seed);
        let put = app
            .put_object()
            .bucket(&bucket)
            .key("v")
            .with_key(&key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
        let etag = put.e_tag().unwrap().to_owned();
        Self {
            proxy,
            app,
            bucket,
            key,
            etag,
        }
    }
}

/// On SeaweedFS and RGW an SSE-C part's store ETag is its plaintext's MD5, as a one-part
/// object's is: a client that may start an upload at an object's key could send a guess
/// as a part and compare the part's ETag with the object's. Part ETags are each
/// upload's own: neither the object's value nor another upload's, and the same through
/// the upload's bound ID and the store's raw one.
async fn a_part_cannot_test_the_objects_content(store: Store) {
    let body = b"salary=654321".to_vec();
    let SecretObject {
        proxy,
        app,
        bucket,
        key,
        etag: _,
    } = SecretObject::put(&store, "opaque-part", 76, &body).await;
    let direct = proxy.direct();
    let object_shown = head_etag(&app, &bucket, "v", Some(&key)).await;
    let object_held = held_etag(&store, &bucket, "v", Some(&key)).await;
    let mut seen = vec![object_shown.clone()];
    for _ in 0..2 {
        let id = create_upload(&app, &bucket, "v", Some(&key)).await;
        let part = app
            .upload_part()
            .bucket(&bucket)
            .key("v")
            .upload_id(&id)
            .part_number(1)
            .with_key(&key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        let shown = part.e_tag().unwrap().to_owned();
        let list = async |upload_id: &str| {
            app.list_parts()
                .bucket(&bucket)
                .key("v")
                .upload_id(upload_id)
                .send()
                .await
                .unwrap()
                .parts()
                .iter()
                .map(|p| p.e_tag().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(list(&id).await, std::slice::from_ref(&shown));
        assert_eq!(
            list(store_upload_id(&id)).await,
            std::slice::from_ref(&shown),
            "raw ID"
        );
        let held = direct
            .list_parts()
            .bucket(&bucket)
            .key("v")
            .upload_id(store_upload_id(&id))
            .send()
            .await
            .unwrap();
        let part_held = held.parts()[0].e_tag().unwrap().to_owned();
        if store.name != "GARAGE" {
            // The store's own values would confirm the guess.
            assert_eq!(part_held, object_held, "control: the store's values agree");
        }
        assert_eq!(shown, hidden_part(&bucket, "v", &id, &part_held));
        assert!(!seen.contains(&shown), "{shown} shown before: {seen:?}");
        seen.push(shown);
        app.abort_multipart_upload()
            .bucket(&bucket)
            .key("v")
            .upload_id(&id)
            .send()
            .await
            .unwrap();
    }
}

/// A DeleteObjects `<ETag>` condition is compared by the store with its own value, for
/// SSE-C objects on SeaweedFS and RGW the plaintext's MD5: deleting only on a match
/// would confirm a guess at an object's content. Refused whole with opaque ETags, with
/// the right guess, the store's value and the opaque one; nothing is deleted.
async fn a_delete_list_cannot_test_the_store_value(store: Store) {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let body = b"salary=123456".to_vec();
    let SecretObject {
        proxy: _proxy,
        app,
        bucket,
        key,
        etag: opaque,
    } = SecretObject::put(&store, "opaque-del", 75, &body).await;
    let held = held_etag(&store, &bucket, "v", Some(&key)).await;
    let guess = format!("\"{}\"", md5_hex(&body));
    let delete = async |etag: Option<&str>| {
        let object = ObjectIdentifier::builder()
            .key("v")
            .set_e_tag(etag.map(str::to_owned))
            .build()
            .unwrap();
        let list = Delete::builder().objects(object).build().unwrap();
        app.delete_objects()
            .bucket(&bucket)
            .delete(list)
            .send()
            .await
    };
    for etag in [&guess, &held, &opaque] {
        let err = delete(Some(etag)).await.unwrap_err();
        assert_eq!(failure(&err), (501, "NotImplemented".to_owned()), "{etag}");
        // Still there, unchanged.
        assert_eq!(held_etag(&store, &bucket, "v", Some(&key)).await, held);
    }
    let deleted = delete(None).await.unwrap();
    assert_eq!(deleted.deleted().len(), 1, "{deleted:?}");
    app.delete_bucket().bucket(&bucket).send().await.unwrap();
}

/// What an attacker holding proxy credentials tries against the mapping: SeaweedFS's
/// own copy of the ETag header, conditionals in forms a store trims into its own value,
/// and part lists whose `<ETag>` a store's XML parser reads but a byte scan would miss.
/// None may reveal, confirm or use the store's value.
async fn the_store_value_cannot_be_read_or_tested(store: Store) {
    let proxy = Resign::start_with(&store, OPAQUE);
    let app = proxy.client(APP, APP_SECRET);
    let bucket = bucket_name("opaque-atk");
    app.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(74);
    let body = data(5 << 20, 74);
    let md5 = md5_hex(&body);
    app.put_object()
        .bucket(&bucket)
        .key("enc")
        .with_key(&key)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let held = held_etag(&store, &bucket, "enc", Some(&key)).await;
    let raw_tag = held.trim_matches('"').to_owned();

    // No response header carries the store's value, with the key or without it.
    let client = proxy.as_client(APP, APP_SECRET);
    let raw = proxy.raw();
    let url = format!("{}/{bucket}/enc", proxy.proxy.url());
    let keyed = key.headers();
    for headers in [&keyed[..], &[]] {
        let answer = raw
            .send(support::signed(
                &client,
                "HEAD",
                &url,
                headers,
                Bytes::new(),
            ))
            .await;
        for (name, value) in &answer.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase();
            assert!(
                !value.contains(&raw_tag) && !value.contains(&md5),
                "{name} carries the store's ETag ({} with {} key headers)",
                answer.status,
                headers.len()
            );
        }
    }

    // Another answer format, in which no XML reader hides an ETag, is refused: RGW
    // answers a listing in JSON (the store's value in it) for `Accept: application/json`
    // or `?format=json`, in HTML for `text/html`. A browser's list of types and `*/*`
    // get the XML listing, with the hidden ETag.
    let listing = format!("{}/{bucket}?list-type=2", proxy.proxy.url());
    let shown = hidden(&bucket, "enc", &held);
    let shown = shown.trim_matches('"');
    let list = async |url: &str, accept: &str| {
        let request = support::signed(&client, "GET", url, &[("accept", accept)], Bytes::new());
        let answer = raw.send(request).await;
        (answer.status.as_u16(), answer.text())
    };
    for (url, accept) in [
        (listing.clone(), "application/json"),
        (listing.clone(), "text/html; charset=utf-8"),
        (format!("{listing}&format=json"), "*/*"),
    ] {
        let (status, text) = list(&url, accept).await;
        assert_eq!(status, 400, "{url} {accept}: {text}");
        assert!(text.contains("<Code>InvalidRequest</Code>"), "{text}");
        assert!(!text.contains(&raw_tag), "{text}");
    }
    for accept in [
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "*/*",
    ] {
        let (status, text) = list(&listing, accept).await;
        assert_eq!(status, 200, "{accept}: {text}");
        assert!(text.contains("<ListBucketResult"), "{accept}: {text}");
        assert!(text.contains(shown) && !text.contains(&raw_tag), "{text}");
    }

    // RGW 16.2 answers a bucket configuration it does not implement with a listing: the
    // proxy refuses those it knows; as a `generic` store, the listing's ETags are hidden.
    if store.name == "RGW" {
        let config = format!("{}/{bucket}?encryption", proxy.proxy.url());
        let (status, text) = list(&config, "*/*").await;
        assert_eq!(status, 501, "{text}");
        let generic = Resign::start_as(&store, "store = \"generic\"", OPAQUE);
        let client = generic.as_client(APP, APP_SECRET);
        let config = format!("{}/{bucket}?encryption", generic.proxy.url());
        let request = support::signed(&client, "GET", &config, &[], Bytes::new());
        let answer = generic.raw().send(request).await;
        let text = answer.text();
        assert_eq!(answer.status, 200, "{text}");
        assert!(
            text.contains("<ListBucketResult"),
            "control: RGW lists: {text}"
        );
        assert!(text.contains(shown) && !text.contains(&raw_tag), "{text}");
    }

    // Loose spellings of the store's value match nothing.
    for form in [
        format!("\"{raw_tag}"),
        format!("{raw_tag}\""),
        format!("\"\"{raw_tag}\"\""),
        format!("\"{raw_tag} \""),
        format!("&quot;{raw_tag}&quot;"),
    ] {
        let (status, _) = conditional_get(&app, &bucket, "enc", &key, Some(&form), None).await;
        assert_eq!(status, 412, "If-Match {form}");
        let (status, _) = conditional_get(&app, &bucket, "enc", &key, None, Some(&form)).await;
        assert_eq!(status, 200, "If-None-Match {form}");
    }

    // A part copied from the object has the store's MD5 as its ETag: no spelling of it
    // in a part list may complete the upload.
    let id = create_upload(&app, &bucket, "mp", None).await;
    let plain = data(5 << 20, 75);
    app.put_object()
        .bucket(&bucket)
        .key("plain-src")
        .body(ByteStream::from(plain.clone()))
        .send()
        .await
        .unwrap();
    if store.name != "RGW" {
        app.upload_part_copy()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&id)
            .part_number(1)
            .copy_source(format!("{bucket}/plain-src"))
            .send()
            .await
            .unwrap();
    } else {
        // RGW: an UploadPart of the same bytes (same ETag) stands in for the copy.
        app.upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from(plain.clone()))
            .send()
            .await
            .unwrap();
    }
    let part_md5 = md5_hex(&plain);
    let complete_url = format!("{}/{bucket}/mp?uploadId={id}", proxy.proxy.url());
    for element in [
        format!("<ETag >\"{part_md5}\"</ETag >"),
        format!("<ETag><![CDATA[\"{part_md5}\"]]></ETag>"),
        format!(
            "<ETag>&#34;&#x{:x};{}&#34;</ETag>",
            part_md5.as_bytes()[0],
            &part_md5[1..]
        ),
        format!("<ETag>\"{part_md5}</ETag>"),
    ] {
        let xml = format!(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>{element}</Part></CompleteMultipartUpload>"
        );
        let answer = raw
            .send(support::signed(
                &client,
                "POST",
                &complete_url,
                &[],
                Bytes::from(xml),
            ))
            .await;
        assert_eq!(answer.status.as_u16(), 400, "{element}: {}", answer.text());
        assert!(
            answer.text().contains("MalformedXML"),
            "{element}: {}",
            answer.text()
        );
    }
    let direct = proxy.direct();
    let exists = direct.head_object().bucket(&bucket).key("mp").send().await;
    assert!(exists.is_err(), "a refused part list completed the upload");
}
