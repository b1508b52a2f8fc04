//! Presigned URLs: their expiry and not-yet-valid boundaries, every refusal of their
//! `X-Amz-*` parameters with S3's code and message, and the headers they may carry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use super::oracle_tests::{Wire, sdk_sign};
use super::tests::{QUERY_ERROR, T, refused, set, spec, verify_at};
use super::*;
use crate::s3::error::S3ErrorCode;

/// A presigned URL of `spec()` for `expires` seconds, with `edit` applied to its query.
fn presigned(expires: u64, edit: impl Fn(&str) -> String) -> Wire {
    let mut wire = sdk_sign(&spec(), Some(Duration::from_secs(expires)));
    wire.query = wire.query.as_deref().map(edit);
    wire
}

#[test]
fn presigned_urls_expire_on_their_last_second_and_are_valid_from_fifteen_minutes_before() {
    for expires in [0, 1, 3_600, 604_800] {
        let wire = presigned(expires, str::to_owned);
        verify_at(&wire, T + expires).unwrap();
        refused(
            verify_at(&wire, T + expires + 1),
            S3ErrorCode::AccessDenied,
            403,
            "Request has expired",
        );
        verify_at(&wire, T - 900).unwrap();
        refused(
            verify_at(&wire, T - 901),
            S3ErrorCode::AccessDenied,
            403,
            "Request is not valid yet",
        );
    }
}

#[test]
fn refuses_presigned_parameters_s3_cannot_read() {
    let week = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds";
    let cases: [(&str, &str, &str); 8] = [
        ("X-Amz-Expires=60", "X-Amz-Expires=604801", week),
        (
            "X-Amz-Expires=60",
            "X-Amz-Expires=99999999999999999999999",
            week,
        ),
        (
            "X-Amz-Expires=60",
            "X-Amz-Expires=-1",
            "X-Amz-Expires must be non-negative",
        ),
        (
            "X-Amz-Expires=60",
            "X-Amz-Expires=6O",
            "X-Amz-Expires should be a number",
        ),
        (
            "X-Amz-Expires=60",
            "X-Amz-Expiry=60",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ),
        (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Algorithm=AWS4-HMAC-SHA512",
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ),
        (
            "X-Amz-Date=20261127T000000Z",
            "X-Amz-Date=20261127",
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        ),
        (
            "%2F20261127%2F",
            "%2F20261126%2F",
            "Invalid credential date \"20261126\". This date is not the same as X-Amz-Date: \"20261127\".",
        ),
    ];
    for (from, to, message) in cases {
        let wire = presigned(60, |q| q.replace(from, to));
        assert_ne!(wire.query, presigned(60, str::to_owned).query, "{from}");
        refused(verify_at(&wire, T), QUERY_ERROR, 400, message);
    }
    let wire = presigned(60, |q| q.replace("%2Fus-east-1%2F", "%2Fus-west-2%2F"));
    let message = "Error parsing the X-Amz-Credential parameter; the region 'us-west-2' is wrong; expecting 'us-east-1'";
    refused(verify_at(&wire, T), QUERY_ERROR, 400, message);
    let wire = presigned(60, |q| format!("{q}&X-Amz-Expires=60"));
    assert_eq!(verify_at(&wire, T).unwrap_err().code, QUERY_ERROR);
    let wire = presigned(60, |q| format!("{q}&X-Amz-Security-Token=abc"));
    assert_eq!(
        verify_at(&wire, T).unwrap_err().code,
        S3ErrorCode::InvalidToken
    );
}

#[test]
fn presigned_urls_read_an_unsigned_payload_hash_and_refuse_unsigned_amz_headers() {
    let mut wire = presigned(60, str::to_owned);
    set(&mut wire, "x-amz-content-sha256", UNSIGNED_PAYLOAD);
    assert_eq!(verify_at(&wire, T).unwrap().payload, PayloadMode::Unsigned);
    set(&mut wire, "x-amz-content-sha256", EMPTY_SHA256);
    assert_eq!(
        verify_at(&wire, T).unwrap_err().code,
        S3ErrorCode::SignatureDoesNotMatch
    );
    let mut wire = presigned(60, str::to_owned);
    set(&mut wire, "x-amz-acl", "public-read");
    assert_eq!(
        verify_at(&wire, T).unwrap_err().code,
        S3ErrorCode::AccessDenied
    );
}
