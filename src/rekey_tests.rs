use http::{HeaderMap, HeaderValue};

use super::*;
use crate::secret::Key32;

fn key(byte: u8) -> SsecKey {
    SsecKey::new(Key32::from_bytes(zeroize::Zeroizing::new([byte; 32])))
}

#[test]
fn an_echo_confirms_only_its_own_key() {
    let (a, b) = (key(1), key(2));
    let mut headers = HeaderMap::new();
    assert!(!confirms(&headers, &a), "no echo confirms nothing");
    let md5 = HeaderValue::from_str(a.md5_base64()).unwrap();
    headers.insert(SSE_C_KEY_MD5, md5.clone());
    assert!(confirms(&headers, &a));
    assert!(!confirms(&headers, &b));
    // SeaweedFS repeats the field, as one value or as two.
    let twice = format!("{}, {}", a.md5_base64(), a.md5_base64());
    headers.insert(SSE_C_KEY_MD5, HeaderValue::from_str(&twice).unwrap());
    assert!(confirms(&headers, &a));
    headers.append(SSE_C_KEY_MD5, md5);
    assert!(confirms(&headers, &a));
    headers.append(
        SSE_C_KEY_MD5,
        HeaderValue::from_str(b.md5_base64()).unwrap(),
    );
    assert!(
        !confirms(&headers, &a),
        "one foreign echo is not a confirmation"
    );
}

#[test]
fn a_rewrite_keeps_the_objects_metadata_and_nothing_else() {
    let mut head = HeaderMap::new();
    for (name, value) in [
        ("content-type", "text/plain"),
        ("content-encoding", "gzip"),
        ("content-disposition", "attachment"),
        ("content-language", "fr"),
        ("cache-control", "no-cache"),
        ("expires", "Thu, 01 Dec 2094 16:00:00 GMT"),
        ("x-amz-meta-owner", "team a"),
        ("x-amz-website-redirect-location", "/elsewhere"),
        ("x-amz-storage-class", "STANDARD"),
        ("content-length", "5"),
        ("etag", "\"abc\""),
        ("last-modified", "Thu, 01 Dec 2026 16:00:00 GMT"),
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ("x-amz-server-side-encryption-customer-key-md5", "md5"),
        ("x-amz-request-id", "1"),
        ("x-amz-tagging-count", "2"),
    ] {
        head.insert(
            http::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    let kept = Object::metadata(&head);
    let mut names: Vec<&str> = kept.keys().map(http::HeaderName::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "cache-control",
            "content-disposition",
            "content-encoding",
            "content-language",
            "content-type",
            "expires",
            "x-amz-meta-owner",
            "x-amz-website-redirect-location",
        ]
    );
    head.insert(
        "x-amz-storage-class",
        HeaderValue::from_static("STANDARD_IA"),
    );
    assert_eq!(
        Object::metadata(&head)["x-amz-storage-class"],
        "STANDARD_IA",
        "a storage class other than the default is kept"
    );
}

#[test]
fn the_tally_counts_every_outcome_once() {
    let mut tally = Tally::default();
    for outcome in [
        Outcome::Current,
        Outcome::Rewritten,
        Outcome::WouldRewrite,
        Outcome::Plaintext,
        Outcome::UnknownKey,
        Outcome::Gone,
        Outcome::Failed("x".to_owned()),
    ] {
        tally.add(&outcome);
    }
    assert_eq!(tally.checked, 7);
    assert_eq!(tally.rewritten, 2);
    assert_eq!(tally.skipped(), 4);
    assert_eq!(tally.failed, 1);
}

#[test]
fn a_store_answer_names_status_and_code_only() {
    let body = b"<Error><Code>AccessDenied</Code><Message>secret detail</Message></Error>";
    assert_eq!(
        store_answer(StatusCode::FORBIDDEN, body),
        "403 Forbidden AccessDenied"
    );
    assert_eq!(
        store_answer(StatusCode::BAD_GATEWAY, b""),
        "502 Bad Gateway"
    );
}

#[test]
fn listed_names_decode_as_aws_and_the_stores_encode_them() {
    // SeaweedFS, RGW and Garage: %20 and %2B; AWS: `+` for a space.
    assert_eq!(
        url_decoded("a%20b%2Bc%25d~%26%C3%A9%2Fx").as_deref(),
        Some("a b+c%d~&é/x")
    );
    assert_eq!(url_decoded("a+b").as_deref(), Some("a b"));
    assert_eq!(url_decoded("ctl%01x").as_deref(), Some("ctl\u{1}x"));
    assert_eq!(url_decoded("bad%FFutf8"), None);
}
