//! The form for the store: it reads back as the client's fields without their
//! authentication, the proxy's policy covers every field and verifies under the store's
//! key, one changed byte is refused, and the file's bytes follow untouched.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::s3::form::policy::PostPolicy;
use crate::s3::sigv4::{SecretKey, Verifier};

const BOUNDARY: &str = "----formBoundaryXyZ";
const STORE_KEY: &str = "STOREACCESSKEY";
const STORE_SECRET: &str = "store-secret-0123456789";

fn now() -> SystemTime {
    // 2026-11-27T00:00:00Z.
    UNIX_EPOCH + Duration::from_secs(1_795_737_600)
}

/// A client's form with these fields and a file part, as received.
fn client_form(fields: &[(&str, &[u8])], filename: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/plain\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn parsed(body: &[u8]) -> Fields {
    match parse(body, BOUNDARY) {
        Parsed::Fields(f) => f,
        other => panic!("{other:?}"),
    }
}

fn store_table() -> HashMap<String, SecretKey> {
    HashMap::from([(STORE_KEY.to_owned(), SecretKey::new(STORE_SECRET))])
}

/// `f` with the store's signer.
fn with_store_signer<T>(f: impl FnOnce(&StoreSigner<'_>) -> T) -> T {
    let secret = SecretKey::new(STORE_SECRET);
    let key_for = |day: &str| SigningKey::derive(&secret, day, "store-region", "s3");
    f(&StoreSigner {
        access_key_id: STORE_KEY,
        region: "store-region",
        key_for: &key_for,
    })
}

fn rewrite(body: &[u8], range: LengthRange) -> Result<Vec<u8>, S3Error> {
    let fields = parsed(body);
    with_store_signer(|signer| {
        for_store(
            body,
            BOUNDARY,
            &fields,
            "the-bucket",
            range,
            signer,
            now(),
            None,
        )
    })
    .map(|(prefix, store_fields)| {
        assert_eq!(store_fields, None, "nothing injected, no fields returned");
        prefix
    })
}

const ANY: LengthRange = LengthRange {
    min: 0,
    max: u64::MAX,
};

fn client_fields() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("key", "dir/a key é ${filename}".as_bytes()),
        ("Content-Type", b"text/plain"),
        ("x-amz-meta-note", b"two  spaces"),
        ("bucket", b"the-bucket"),
        ("x-amz-algorithm", b"AWS4-HMAC-SHA256"),
        (
            "x-amz-credential",
            b"CLIENT/20261127/us-east-1/s3/aws4_request",
        ),
        ("x-amz-date", b"20261127T000000Z"),
        ("policy", b"Y2xpZW50IHBvbGljeQ=="),
        ("x-amz-signature", b"0123456789abcdef"),
        ("x-amz-server-side-encryption-customer-algorithm", b"AES256"),
    ]
}

#[test]
fn the_store_form_reads_back_as_the_client_fields_with_the_proxys_authentication() {
    let file = b"file bytes\r\n-- not a boundary";
    let body = client_form(&client_fields(), "docs/sub/réport.txt", file);
    let out = rewrite(&body, ANY).unwrap();
    let back = parsed(&out);
    let names: Vec<&str> = back.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "key",
            "content-type",
            "x-amz-meta-note",
            "x-amz-server-side-encryption-customer-algorithm",
            "x-amz-algorithm",
            "x-amz-credential",
            "x-amz-date",
            "policy",
            "x-amz-signature",
        ]
    );
    assert_eq!(
        back.get("key").unwrap(),
        "dir/a key é réport.txt".as_bytes()
    );
    assert_eq!(back.get("x-amz-meta-note").unwrap(), b"two  spaces");
    assert_eq!(
        back.get("x-amz-credential").unwrap(),
        b"STOREACCESSKEY/20261127/store-region/s3/aws4_request"
    );
    // The file part, head and content, is the client's byte for byte.
    let client = parsed(&body);
    assert_eq!(&out[back.rest_at()..], &body[client.rest_at()..]);
    assert_eq!(back.filename(), client.filename());
    let at = back.file_at().unwrap();
    assert_eq!(&out[at..at + file.len()], file);
}

#[test]
fn the_proxys_policy_covers_every_field_and_verifies_under_the_store_key() {
    let body = client_form(&client_fields(), "f.txt", b"data");
    let range = LengthRange { min: 1, max: 10 };
    let out = rewrite(&body, range).unwrap();
    let back = parsed(&out);
    let signed = Verifier::new("store-region").verify_form(&back, &store_table());
    assert_eq!(signed.unwrap().access_key_id, STORE_KEY);
    let policy = PostPolicy::decode(back.get("policy").unwrap()).unwrap();
    assert_eq!(policy.length_range(), range);
    assert_eq!(policy.expiration(), now() + STORE_POLICY_LIFETIME);
    policy.check(&back, "the-bucket", None, now()).unwrap();
    // Every field is pinned: another value, or another bucket, fails the store's check.
    assert!(policy.check(&back, "other-bucket", None, now()).is_err());
    let mut changed = client_fields();
    changed[2] = ("x-amz-meta-note", b"two spaces");
    let other = parsed(&client_form(&changed, "f.txt", b"data"));
    assert!(policy.check(&other, "the-bucket", None, now()).is_err());
    let later = now() + STORE_POLICY_LIFETIME + Duration::from_secs(1);
    assert!(policy.check(&back, "the-bucket", None, later).is_err());
}

#[test]
fn one_changed_byte_in_the_store_policy_or_signature_is_refused() {
    let body = client_form(&client_fields(), "f.txt", b"data");
    let out = rewrite(&body, ANY).unwrap();
    let back = parsed(&out);
    for name in ["policy", "x-amz-signature"] {
        let value = back.get(name).unwrap();
        let at = out.windows(value.len()).position(|w| w == value).unwrap();
        for i in [at, at + value.len() / 2, at + value.len() - 1] {
            let mut tampered = out.clone();
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
            let result =
                Verifier::new("store-region").verify_form(&parsed(&tampered), &store_table());
            assert_eq!(
                result.unwrap_err().code,
                crate::s3::error::S3ErrorCode::SignatureDoesNotMatch,
                "{name} byte {i}"
            );
        }
    }
}

#[test]
fn values_that_cannot_be_pinned_in_a_policy_are_refused() {
    let not_utf8 = client_form(&[("key", b"k"), ("x-amz-meta-a", b"\xff")], "f", b"d");
    let e = rewrite(&not_utf8, ANY).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::NotImplemented);
    // Without a file name, `${filename}` would be left to the store to read.
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk/${{filename}}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nd\r\n--{BOUNDARY}--")
            .as_bytes(),
    );
    assert_eq!(
        rewrite(&body, ANY).unwrap_err().code,
        S3ErrorCode::NotImplemented
    );
}

#[test]
fn a_form_without_a_file_keeps_its_closing_delimiter() {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--{BOUNDARY}--\r\n")
            .as_bytes(),
    );
    let out = rewrite(&body, ANY).unwrap();
    let back = parsed(&out);
    assert_eq!(back.file_at(), None);
    assert!(out.ends_with(format!("--{BOUNDARY}--\r\n").as_bytes()));
}

#[test]
fn a_form_without_a_content_type_field_gets_s3s_default_not_the_file_parts() {
    let fields: Vec<(&str, &[u8])> = client_fields()
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-type"))
        .collect();
    // The file part says text/plain (`client_form`); the object must not.
    let out = rewrite(&client_form(&fields, "page.html", b"<p>"), ANY).unwrap();
    let back = parsed(&out);
    assert_eq!(back.get("content-type").unwrap(), b"binary/octet-stream");
    assert_eq!(back.iter().filter(|(n, _)| *n == "content-type").count(), 1);
    for empty in ["", " ", "\t"] {
        let mut fields = fields.clone();
        fields.push(("content-type", empty.as_bytes()));
        let out = rewrite(&client_form(&fields, "page.html", b"<p>"), ANY).unwrap();
        let back = parsed(&out);
        assert_eq!(back.get("content-type").unwrap(), b"binary/octet-stream");
    }
}

#[test]
fn keys_a_store_would_store_under_another_key_are_refused() {
    for key in [
        "dir/",
        "/",
        "/lead",
        "a//b",
        "./x",
        "a/../b",
        "a/.",
        "up/${filename}",
        "b\\c",
        "d\\",
    ] {
        let body = client_form(&[("key", key.as_bytes())], "x/..", b"d");
        let e = rewrite(&body, ANY).unwrap_err();
        assert_eq!(
            (e.code, e.reason),
            (S3ErrorCode::InvalidRequest, Some(Reason::AmbiguousForm)),
            "{key}"
        );
    }
    for key in ["a/b", "a.b/..c", "up/${filename}", "k"] {
        let body = client_form(&[("key", key.as_bytes())], "d/f.txt", b"d");
        assert!(rewrite(&body, ANY).is_ok(), "{key}");
    }
}

#[test]
fn field_values_with_control_characters_are_refused() {
    for value in [
        "a\r\nContent-Type: text/html",
        "a\nb",
        "a\rb",
        "a\0b",
        "a\x7fb",
    ] {
        let body = client_form(
            &[("key", b"k"), ("x-amz-meta-a", value.as_bytes())],
            "f",
            b"d",
        );
        let e = rewrite(&body, ANY).unwrap_err();
        assert_eq!(
            (e.code, e.reason),
            (S3ErrorCode::InvalidRequest, Some(Reason::AmbiguousForm)),
            "{value:?}"
        );
    }
    let tab = client_form(&[("key", b"k"), ("x-amz-meta-a", b"a\tb")], "f", b"d");
    assert!(rewrite(&tab, ANY).is_ok());
}

/// With the bucket's keys, a form without SSE-C fields gets the object's current key
/// (derived from the expanded `key` with `inject_derive`), pinned by the policy; a form
/// with any SSE-C field of its own gets nothing.
#[test]
fn an_injected_key_is_added_only_to_a_form_without_sse_c_fields() {
    use crate::inject::{BucketKeys, SsecKey};
    use crate::secret::Key32;
    let bucket_key = SsecKey::new(Key32::from_bytes(zeroize::Zeroizing::new([7; 32])));
    let injected = |body: &[u8], keys: &Arc<BucketKeys>| {
        let fields = parsed(body);
        with_store_signer(|signer| {
            for_store(
                body,
                BOUNDARY,
                &fields,
                "the-bucket",
                ANY,
                signer,
                now(),
                Some(keys),
            )
        })
        .unwrap()
    };
    for derive in [false, true] {
        let keys = Arc::new(BucketKeys {
            current: bucket_key.clone(),
            previous: Vec::new(),
            derive,
        });
        let without: Vec<_> = client_fields()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("x-amz-server-side"))
            .collect();
        let body = client_form(&without, "r.txt", b"file");
        let (out, store_fields) = injected(&body, &keys);
        let store_fields = store_fields.expect("the store's fields, with the key");
        assert_eq!(store_fields, parsed(&out));
        let object_keys = keys.for_object("the-bucket", "dir/a key é r.txt");
        let want = &object_keys.current;
        assert_eq!(
            store_fields.get("x-amz-server-side-encryption-customer-key"),
            Some(want.base64().as_bytes())
        );
        assert_eq!(
            store_fields.get("x-amz-server-side-encryption-customer-key-md5"),
            Some(want.md5_base64().as_bytes())
        );
        assert_eq!(derive, want != &bucket_key, "derived per object: {derive}");
        let policy = STANDARD
            .decode(store_fields.get("policy").unwrap())
            .unwrap();
        let policy = String::from_utf8(policy).unwrap();
        assert!(policy.contains(&format!(
            "[\"eq\",\"$x-amz-server-side-encryption-customer-key\",\"{}\"]",
            want.base64()
        )));

        let body = client_form(&client_fields(), "r.txt", b"file");
        let (out, store_fields) = injected(&body, &keys);
        assert_eq!(
            store_fields, None,
            "the client's own SSE-C field: no injection"
        );
        assert_eq!(
            parsed(&out).get("x-amz-server-side-encryption-customer-key"),
            None
        );
    }
}
