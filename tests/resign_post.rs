//! POST Object (browser form uploads) in `auth.mode = "resign"` against the real stores:
//! a form signed with the proxy's credentials lands, re-signed by the proxy for the
//! store; a bad signature, an expired policy, a failed condition, a file outside
//! `content-length-range` and a bucket outside the client's scope are refused with AWS's
//! codes and leave nothing in the store (read directly with the store's credentials).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use ssec_proxy::s3::opaque::{Direction, OpaqueEtags};
use support::at_rest;
use support::form::{Form, Post, Signer, signed_fields};
use support::resign::{APP, APP_SECRET, Resign, SCOPED, SCOPED_SECRET, exists};
use support::s3::Key;
use support::wire::{ALGORITHM, KEY, KEY_MD5, enc, ssec};
use support::{RawClient, RawResponse, bucket_name, signed, unique, xml_code};

/// A client's signer: `access`/`secret`, policy valid for ten minutes.
fn client(access: &'static str, secret: &'static str) -> Signer<'static> {
    Signer {
        access_key: access,
        secret_key: secret,
        region: "us-east-1",
        expires_in: 600,
    }
}

/// The usual conditions: the bucket, the key exactly, the SSE-C fields, the file's
/// length.
fn conditions(bucket: &str, key: &str, k: &Key, max: u64) -> Vec<Value> {
    vec![
        json!({ "bucket": bucket }),
        json!(["eq", "$key", key]),
        json!({ ALGORITHM: "AES256" }),
        json!({ KEY: k.b64 }),
        json!({ KEY_MD5: k.md5 }),
        json!(["starts-with", "$x-amz-meta-note", ""]),
        json!(["content-length-range", 1, max]),
    ]
}

/// A form: `key`, the SSE-C fields of `k`, a note, the signed policy fields, the file.
fn form(key: &str, k: &Key, signed: &[(String, String)], file: &[u8]) -> Post {
    Form::new()
        .field("key", key)
        .fields(&ssec(k))
        .field("x-amz-meta-note", "a note")
        .fields(signed)
        .named_file("ré port.bin", file)
        .close()
}

impl Resign {
    async fn post(&self, bucket: &str, post: &Post) -> RawResponse {
        let url = format!("{}/{bucket}", self.proxy.url());
        self.raw().send(post.request(&url)).await
    }

    /// The object as the store holds it, read directly with the store's credentials and
    /// the SSE-C key (raw: SeaweedFS repeats the key-MD5 header, which the SDK refuses).
    async fn held(&self, bucket: &str, key: &str, k: &Key) -> RawResponse {
        let url = format!(
            "{}/{bucket}/{}",
            self.store.https,
            enc(key).replace("%2F", "/")
        );
        let headers = ssec(k);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let req = signed(&self.store, "GET", &url, &headers, Bytes::new());
        let store_ca = std::fs::read_to_string(&self.store.ca).unwrap();
        RawClient::new(&store_ca, false).send(req).await
    }

    /// A new bucket, made by `APP` through the proxy, with this prefix.
    async fn bucket(&self, prefix: &str) -> String {
        let bucket = bucket_name(prefix);
        self.client(APP, APP_SECRET)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        bucket
    }
}

/// A form signed with the proxy's credentials lands under its key (spaces and unicode,
/// and `${filename}`), encrypted with the form's SSE-C key, never in plaintext at rest.
async fn a_form_signed_with_proxy_credentials_lands_encrypted(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("rpost").await;
    let k = Key::new(21);
    let marker = format!("RPOST-MARK-{}", unique());
    let file = at_rest::marked(70 * 1024, &marker, 4);
    let key = "dir/a key ü €.bin";
    let signed = signed_fields(
        &client(APP, APP_SECRET),
        conditions(&bucket, key, &k, 1 << 20),
    );
    let answer = r.post(&bucket, &form(key, &k, &signed, &file)).await;
    assert_eq!(
        answer.status,
        204,
        "{}\n{}",
        answer.text(),
        r.proxy.logs().join("\n")
    );
    let held = r.held(&bucket, key, &k).await;
    assert_eq!(held.status, 200, "{}", held.text());
    assert_eq!(held.body, file);
    assert_eq!(
        at_rest::count(&store, &bucket, &marker),
        0,
        "plaintext at rest"
    );

    // `${filename}` is the file part's name, as S3 reads it.
    let mut conditions = conditions(&bucket, "", &k, 1 << 20);
    conditions[1] = json!(["starts-with", "$key", "up/"]);
    let signed = signed_fields(&client(APP, APP_SECRET), conditions);
    let answer = r
        .post(&bucket, &form("up/${filename}", &k, &signed, b"named"))
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    let held = r.held(&bucket, "up/ré port.bin", &k).await;
    assert_eq!((held.status.as_u16(), &held.body[..]), (200, &b"named"[..]));
}

/// `[etag] mode = "opaque"`: the ETag of a form upload (its header, and the
/// `PostResponse` of `success_action_status=201`) is the one HeadObject shows for the
/// object the form named, `${filename}` replaced: the binding key's permutation for
/// that object of what the store holds, never the store's own (the file's MD5).
async fn opaque_etags_of_a_form_upload_are_the_objects(store: support::Store) {
    let r = Resign::start_with(&store, "[etag]\nmode = \"opaque\"\n");
    let bucket = r.bucket("rpost-opaque").await;
    let k = Key::new(23);
    let mut first = conditions(&bucket, "", &k, 1 << 20);
    first[1] = json!(["starts-with", "$key", "up/"]);
    first.push(json!({ "success_action_status": "201" }));
    let signed = signed_fields(&client(APP, APP_SECRET), first);
    let post = Form::new()
        .field("key", "up/${filename}")
        .field("success_action_status", "201")
        .fields(&ssec(&k))
        .field("x-amz-meta-note", "a note")
        .fields(&signed)
        .named_file("ré port.bin", b"opaque form")
        .close();
    let answer = r.post(&bucket, &post).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let name = "up/ré port.bin";
    let held = at_rest::held_etag(&store, &bucket, name, Some(&k)).await;
    let shown = r
        .client(APP, APP_SECRET)
        .head_object()
        .bucket(&bucket)
        .key(name)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.b64)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    let etags = std::sync::Arc::new(OpaqueEtags::new(&support::BINDING_KEY).unwrap());
    let want = etags
        .object(&bucket, name)
        .map_wrapped(&held, Direction::Hide)
        .unwrap();
    assert_eq!(shown, want);
    assert!(
        !answer.text().contains(held.trim_matches('"')),
        "{}",
        answer.text()
    );
    if let Some(header) = answer.headers.get("etag") {
        assert_eq!(header.to_str().unwrap(), shown);
    }
    let text = answer.text();
    let listed = text
        .split_once("<ETag>")
        .and_then(|(_, rest)| rest.split_once("</ETag>"))
        .map(|(etag, _)| etag.replace("&quot;", "\""));
    assert_eq!(listed.as_deref(), Some(shown.as_str()), "{text}");

    // Posted at another object's path, with a redirect: the values are still the
    // form's object's, and the store's own ETag in the redirect's `etag` is hidden too.
    let name = "up/redirected.bin";
    let redirect = "https://app.example/done";
    let mut second = conditions(&bucket, name, &k, 1 << 20);
    second.push(json!({ "success_action_redirect": redirect }));
    let signed = signed_fields(&client(APP, APP_SECRET), second);
    let post = Form::new()
        .field("key", name)
        .field("success_action_redirect", redirect)
        .fields(&ssec(&k))
        .field("x-amz-meta-note", "a note")
        .fields(&signed)
        .named_file("x.bin", b"opaque form")
        .close();
    let mut answer = r.post(&format!("{bucket}/decoy"), &post).await;
    if store.name == "GARAGE" {
        // Garage takes form uploads at the bucket's path only.
        assert_eq!(answer.status, 400, "{}", answer.text());
        answer = r.post(&bucket, &post).await;
    }
    let held = at_rest::held_etag(&store, &bucket, name, Some(&k)).await;
    let want = etags
        .object(&bucket, name)
        .map_wrapped(&held, Direction::Hide)
        .unwrap();
    let hex = |etag: &str| etag.trim_matches('"').to_owned();
    let location = answer
        .headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(!location.contains(&hex(&held)), "{location}");
    assert!(!answer.text().contains(&hex(&held)), "{}", answer.text());
    if let Some(header) = answer.headers.get("etag") {
        assert_eq!(header.to_str().unwrap(), want);
    }
    // Every store redirects with the object's ETag: the client's value.
    assert_eq!(answer.status, 303, "{location}");
    assert!(
        location.contains(&format!("etag=%22{}%22", hex(&want))),
        "{location}"
    );
    assert!(answer.body.is_empty());
}

/// A refused form: what is wrong, its signed fields, the file's size, the answer.
type Case = (
    &'static str,
    Vec<(String, String)>,
    usize,
    (u16, &'static str),
);

/// Each refusal with AWS's status and code; the store holds nothing under the key.
async fn refused_forms_leave_nothing_in_the_store(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("rpost-no").await;
    let direct = r.direct();
    let k = Key::new(22);
    let key = "refused key";
    let good = || signed_fields(&client(APP, APP_SECRET), conditions(&bucket, key, &k, 1000));
    let mut bad_signature = good();
    bad_signature[4].1 = "0".repeat(64);
    let mut wrong_secret = client(APP, SCOPED_SECRET);
    wrong_secret.expires_in = 600;
    let mut expired = client(APP, APP_SECRET);
    expired.expires_in = -60;
    let mut other_key = conditions(&bucket, key, &k, 1000);
    other_key[1] = json!(["eq", "$key", "another key"]);
    let cases: [Case; 6] = [
        (
            "bad signature",
            bad_signature,
            10,
            (403, "SignatureDoesNotMatch"),
        ),
        (
            "wrong secret",
            signed_fields(&wrong_secret, conditions(&bucket, key, &k, 1000)),
            10,
            (403, "SignatureDoesNotMatch"),
        ),
        (
            "unknown key",
            signed_fields(
                &client("NOSUCHKEY", APP_SECRET),
                conditions(&bucket, key, &k, 1000),
            ),
            10,
            (403, "InvalidAccessKeyId"),
        ),
        (
            "expired",
            signed_fields(&expired, conditions(&bucket, key, &k, 1000)),
            10,
            (403, "AccessDenied"),
        ),
        (
            "failed condition",
            signed_fields(&client(APP, APP_SECRET), other_key),
            10,
            (403, "AccessDenied"),
        ),
        ("file too large", good(), 64 * 1024, (400, "EntityTooLarge")),
    ];
    for (what, signed, size, expected) in cases {
        let post = form(key, &k, &signed, &vec![b'x'; size]);
        let answer = r.post(&bucket, &post).await;
        assert_eq!(
            (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
            (expected.0, Some(expected.1)),
            "{what}: {}",
            answer.text()
        );
        assert!(!exists(&direct, &bucket, key).await, "{what}: stored");
    }
    // An x-amz-* request header, which no signature covers.
    let post = form(key, &k, &good(), b"x")
        .with_headers(vec![("x-amz-acl".to_owned(), "public-read".to_owned())]);
    let answer = r.post(&bucket, &post).await;
    assert_eq!(
        (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
        (403, Some("AccessDenied")),
        "{}",
        answer.text()
    );
    // Anonymous, and Signature Version 2.
    let anonymous = Form::new()
        .field("key", key)
        .fields(&ssec(&k))
        .file(b"x")
        .close();
    let answer = r.post(&bucket, &anonymous).await;
    assert_eq!(
        (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
        (403, Some("AccessDenied"))
    );
    let v2 = Form::new()
        .field("key", key)
        .field("AWSAccessKeyId", APP)
        .field("policy", "e30=")
        .field("signature", "c2lnbmF0dXJl")
        .file(b"x")
        .close();
    let answer = r.post(&bucket, &v2).await;
    assert_eq!(
        (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
        (403, Some("AccessDenied"))
    );
    assert!(!exists(&direct, &bucket, key).await, "stored");
}

/// `SCOPED` may post only to `scoped-*`: elsewhere 403 before the store, even with a
/// policy it signed for that bucket; in its scope the form lands.
async fn a_bucket_outside_the_clients_scope_is_refused(store: support::Store) {
    let r = Resign::start(&store);
    let outside = r.bucket("rpost-out").await;
    let inside = r.bucket("scoped-rpost").await;
    let k = Key::new(23);
    let scoped = client(SCOPED, SCOPED_SECRET);
    let key = "k";
    let post = form(
        key,
        &k,
        &signed_fields(&scoped, conditions(&outside, key, &k, 100)),
        b"x",
    );
    let answer = r.post(&outside, &post).await;
    assert_eq!(
        (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
        (403, Some("AccessDenied"))
    );
    assert!(!exists(&r.direct(), &outside, key).await);
    assert!(
        r.proxy.logs().iter().any(|l| l.contains("client_scope")),
        "refused by the proxy's scope check"
    );
    let post = form(
        key,
        &k,
        &signed_fields(&scoped, conditions(&inside, key, &k, 100)),
        b"in",
    );
    let answer = r.post(&inside, &post).await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    assert_eq!(r.held(&inside, key, &k).await.body, b"in"[..]);
}

/// Request headers no policy covers (SeaweedFS stores `Cache-Control`,
/// `Content-Disposition`, `Content-Encoding`, `Content-Language` and `Expires` from the
/// POST's own headers) never reach the store: the object holds only what the form's
/// fields and policy say.
async fn request_headers_of_a_form_do_not_reach_the_stored_object(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("rpost-hdr").await;
    let k = Key::new(24);
    let key = "pinned";
    let signed = signed_fields(&client(APP, APP_SECRET), conditions(&bucket, key, &k, 100));
    let unsigned = [
        ("cache-control", "max-age=31536000"),
        ("content-disposition", "attachment; filename=evil.html"),
        ("content-encoding", "gzip"),
        ("content-language", "xx"),
        ("expires", "Thu, 01 Dec 2033 16:00:00 GMT"),
    ];
    let post = form(key, &k, &signed, b"body").with_headers(
        unsigned
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    );
    let answer = r.post(&bucket, &post).await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    let held = r.held(&bucket, key, &k).await;
    assert_eq!((held.status.as_u16(), &held.body[..]), (200, &b"body"[..]));
    for (name, value) in unsigned {
        assert!(
            held.headers.get(name).is_none_or(|v| v != value),
            "the store applied the request header {name}: {:?}",
            held.headers
        );
    }
}

/// The file part's own Content-Type is not the object's (S3 takes the `Content-Type`
/// field, else `binary/octet-stream`; SeaweedFS would take the part's when the field is
/// missing or empty): a policy that allows no Content-Type, or only an empty one,
/// cannot be used to store `text/html`.
async fn the_file_parts_content_type_is_not_the_objects(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("rpost-ct").await;
    let k = Key::new(25);
    let key = "page";
    let signed = signed_fields(&client(APP, APP_SECRET), conditions(&bucket, key, &k, 100));
    let post = Form::new()
        .field("key", key)
        .fields(&ssec(&k))
        .field("x-amz-meta-note", "a note")
        .fields(&signed)
        .part(
            "Content-Disposition: form-data; name=\"file\"; filename=\"x.html\"\r\nContent-Type: text/html",
            b"<script>alert(1)</script>",
        )
        .close();
    let answer = r.post(&bucket, &post).await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    let held = r.held(&bucket, key, &k).await;
    assert_eq!(held.status, 200, "{}", held.text());
    assert_eq!(
        held.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"binary/octet-stream"[..])
    );
    // An empty Content-Type field (SeaweedFS falls back to the part's) is the same.
    let mut conditions = conditions(&bucket, key, &k, 100);
    conditions.push(json!(["starts-with", "$Content-Type", ""]));
    let signed = signed_fields(&client(APP, APP_SECRET), conditions);
    let post = Form::new()
        .field("key", key)
        .field("Content-Type", "")
        .fields(&ssec(&k))
        .field("x-amz-meta-note", "a note")
        .fields(&signed)
        .part(
            "Content-Disposition: form-data; name=\"file\"; filename=\"x.html\"\r\nContent-Type: text/html",
            b"<script>alert(2)</script>",
        )
        .close();
    let answer = r.post(&bucket, &post).await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    let held = r.held(&bucket, key, &k).await;
    assert_eq!(held.body, b"<script>alert(2)</script>"[..]);
    assert_eq!(
        held.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"binary/octet-stream"[..])
    );
}

/// A `key` SeaweedFS would store under another key than the one the policy allowed
/// (`dir/` lands as `dir/dir`, `/` as the bucket's name, `a//b` as `a/b`, `b\c` as
/// `b/c`; dot segments are refused by SeaweedFS and kept by RGW) is refused before the
/// store.
async fn keys_a_store_would_rename_are_refused(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("rpost-key").await;
    let direct = r.direct();
    let k = Key::new(26);
    let cases = [
        ("dir/", "dir/dir"),
        ("/", bucket.as_str()),
        ("/lead", "lead"),
        ("a//b", "a/b"),
        ("a/../b", "b"),
        ("b\\c", "b/c"),
        ("d\\", "d/d"),
    ];
    for (key, renamed) in cases {
        let signed = signed_fields(&client(APP, APP_SECRET), conditions(&bucket, key, &k, 100));
        let answer = r.post(&bucket, &form(key, &k, &signed, b"x")).await;
        assert_eq!(
            (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
            (400, Some("InvalidRequest")),
            "{key}: {}",
            answer.text()
        );
        assert!(!exists(&direct, &bucket, renamed).await, "{key}: stored");
        assert!(!exists(&direct, &bucket, key).await, "{key}: stored");
    }
    // The key as `${filename}` makes it, too.
    let mut conditions = conditions(&bucket, "", &k, 100);
    conditions[1] = json!(["starts-with", "$key", "up/"]);
    let signed = signed_fields(&client(APP, APP_SECRET), conditions);
    let post = Form::new()
        .field("key", "up/${filename}/x")
        .fields(&ssec(&k))
        .field("x-amz-meta-note", "n")
        .fields(&signed)
        .named_file("..", b"x")
        .close();
    let answer = r.post(&bucket, &post).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(!exists(&direct, &bucket, "x").await);
}

/// A form without a file part is refused as S3 refuses it (RGW would store an empty
/// object under the key, even below the policy's `content-length-range`).
async fn a_form_without_a_file_is_refused(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("rpost-nofile").await;
    let k = Key::new(27);
    let key = "no file";
    let signed = signed_fields(&client(APP, APP_SECRET), conditions(&bucket, key, &k, 100));
    let post = Form::new()
        .field("key", key)
        .fields(&ssec(&k))
        .field("x-amz-meta-note", "n")
        .fields(&signed)
        .close();
    let answer = r.post(&bucket, &post).await;
    assert_eq!(
        (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
        (400, Some("InvalidArgument")),
        "{}",
        answer.text()
    );
    assert!(!exists(&r.direct(), &bucket, key).await, "stored");
}

/// A field value with a line break or another control character is refused before the
/// store: RGW keeps the text after a line break in a metadata value as a header of
/// its own and answers every read with it (`Content-Type: text/html` on an object whose
/// policy allowed only a note).
async fn control_characters_in_field_values_are_refused(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("rpost-ctl").await;
    let direct = r.direct();
    let k = Key::new(28);
    let key = "injected";
    let signed = signed_fields(&client(APP, APP_SECRET), conditions(&bucket, key, &k, 100));
    for note in [
        "a\r\nContent-Type: text/html",
        "a\nX-Amz-Meta-Evil: 1",
        "a\u{0}b",
    ] {
        let post = Form::new()
            .field("key", key)
            .fields(&ssec(&k))
            .field("x-amz-meta-note", note)
            .fields(&signed)
            .file(b"<script>alert(3)</script>")
            .close();
        let answer = r.post(&bucket, &post).await;
        assert_eq!(
            (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
            (400, Some("InvalidRequest")),
            "{note:?}: {}",
            answer.text()
        );
        assert!(!exists(&direct, &bucket, key).await, "{note:?}: stored");
    }
}

/// A form's `acl` field is its PUT's `x-amz-acl`: a public one (or an `x-amz-grant-*`
/// field) is refused before the store to a client without `manage_access`, which would
/// otherwise make the store serve the object to anyone; `private` lands, and a client
/// with `manage_access` may post a public one.
async fn a_public_acl_field_needs_manage_access(store: support::Store) {
    let r = Resign::start(&store);
    let bucket = r.bucket("scoped-rpacl").await;
    let direct = r.direct();
    let k = Key::new(27);
    let post = |signer: &Signer<'_>, key: &str, field: &str, value: &str| {
        let mut signed = conditions(&bucket, key, &k, 100);
        signed.push(json!({ field: value }));
        Form::new()
            .field("key", key)
            .field(field, value)
            .fields(&ssec(&k))
            .field("x-amz-meta-note", "a note")
            .fields(&signed_fields(signer, signed))
            .named_file("f.bin", b"x")
            .close()
    };
    let scoped = client(SCOPED, SCOPED_SECRET);
    let refused = [
        ("acl", "public-read-write"),
        ("acl", "public-read"),
        (
            "x-amz-grant-read",
            "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
        ),
    ];
    for (i, (field, value)) in refused.into_iter().enumerate() {
        let key = format!("refused-{i}");
        let answer = r.post(&bucket, &post(&scoped, &key, field, value)).await;
        assert_eq!(
            (answer.status.as_u16(), xml_code(&answer.text()).as_deref()),
            (403, Some("AccessDenied")),
            "{field}={value}: {}",
            answer.text()
        );
        assert!(
            !exists(&direct, &bucket, &key).await,
            "{field}={value}: stored"
        );
    }
    let refusals = r
        .proxy
        .logs()
        .iter()
        .filter(|l| l.contains("client_access_control"))
        .count();
    assert_eq!(
        refusals, 3,
        "each refused by the proxy's access-control check"
    );
    let answer = r
        .post(&bucket, &post(&scoped, "private", "acl", "private"))
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    assert!(exists(&direct, &bucket, "private").await);
    let manager = client(APP, APP_SECRET);
    let answer = r
        .post(&bucket, &post(&manager, "public", "acl", "public-read"))
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    assert!(exists(&direct, &bucket, "public").await);
}

per_store!(
    a_form_signed_with_proxy_credentials_lands_encrypted,
    refused_forms_leave_nothing_in_the_store,
    a_bucket_outside_the_clients_scope_is_refused,
    request_headers_of_a_form_do_not_reach_the_stored_object,
    the_file_parts_content_type_is_not_the_objects,
    keys_a_store_would_rename_are_refused,
    a_form_without_a_file_is_refused,
    control_characters_in_field_values_are_refused,
    opaque_etags_of_a_form_upload_are_the_objects,
    a_public_acl_field_needs_manage_access,
);
