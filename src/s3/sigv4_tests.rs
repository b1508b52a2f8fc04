//! Table tests of header auth: every refusal with S3's code, status and message, in S3's
//! order, and the skew boundaries. Presigned URLs are in `sigv4_query_tests.rs`,
//! properties in `sigv4_property_tests.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method, StatusCode};

use super::oracle_tests::{ACCESS_KEY, HOST, Spec, Wire, own_sign, sdk_sign, store};
use super::*;
use crate::s3::error::{Reason, S3ErrorCode};

/// 2026-11-27T00:00:00Z.
pub(super) const T: u64 = 1_795_737_600;

pub(super) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub(super) fn spec() -> Spec {
    Spec {
        method: Method::PUT,
        path: "/bucket/a%20key%2Bwith~odd//chars".to_owned(),
        query: Some("partNumber=1&uploadId=abc".to_owned()),
        headers: vec![
            ("host".to_owned(), HOST.to_owned()),
            ("x-amz-meta-a".to_owned(), " one  two ".to_owned()),
        ],
        payload: UNSIGNED_PAYLOAD.to_owned(),
        region: "us-east-1".to_owned(),
        time: at(T),
    }
}

pub(super) fn verify_at(wire: &Wire, now: u64) -> Result<Verified, S3Error> {
    Verifier::new("us-east-1").verify(&wire.request(), &store(), at(now))
}

/// Asserts the code, its status and the message.
pub(super) fn refused(
    result: Result<Verified, S3Error>,
    code: S3ErrorCode,
    status: u16,
    message: &str,
) {
    let err = result.unwrap_err();
    assert_eq!(
        (err.code, err.status().as_u16(), err.message.as_ref()),
        (code, status, message)
    );
}

pub(super) fn set(wire: &mut Wire, name: &'static str, value: &str) {
    wire.headers
        .insert(name, HeaderValue::from_str(value).unwrap());
}

pub(super) fn edit_authorization(wire: &mut Wire, from: &str, to: &str) {
    let value = wire.headers["authorization"].to_str().unwrap();
    assert!(
        value.contains(from),
        "{from} is not in the Authorization header"
    );
    let value = value.replace(from, to);
    set(wire, "authorization", &value);
}

pub(super) const MALFORMED: S3ErrorCode = S3ErrorCode::AuthorizationHeaderMalformed;
pub(super) const QUERY_ERROR: S3ErrorCode = S3ErrorCode::AuthorizationQueryParametersError;

#[test]
fn a_request_signed_by_the_signer_verifies_and_reports_what_it_signed() {
    let (wire, _) = own_sign(&spec());
    let verified = verify_at(&wire, T).unwrap();
    assert_eq!(verified.access_key_id, ACCESS_KEY);
    assert_eq!(verified.scope, "20261127/us-east-1/s3/aws4_request");
    assert_eq!(verified.date.as_str(), "20261127T000000Z");
    assert_eq!(
        verified.signed_headers().collect::<Vec<_>>(),
        ["host", "x-amz-content-sha256", "x-amz-date", "x-amz-meta-a"]
    );
    assert_eq!(verified.payload, PayloadMode::Unsigned);
}

#[test]
fn refuses_requests_without_a_signature_or_with_two() {
    let (mut wire, _) = own_sign(&spec());
    wire.headers.remove("authorization");
    refused(
        verify_at(&wire, T),
        S3ErrorCode::AccessDenied,
        403,
        "Access Denied",
    );
    let presigned = sdk_sign(&spec(), Some(Duration::from_secs(60)));
    let (mut both, _) = own_sign(&spec());
    both.query = presigned.query.clone();
    let err = verify_at(&both, T).unwrap_err();
    assert_eq!(
        (err.code, err.status()),
        (S3ErrorCode::InvalidArgument, StatusCode::BAD_REQUEST)
    );
    assert!(err.message.starts_with("Only one auth mechanism allowed"));
    assert_eq!(err.argument_name, Some("Authorization"));
}

#[test]
fn refuses_other_schemes_with_s3s_answers() {
    let cases = [
        (
            "AWS4-HMAC-SHA256",
            S3ErrorCode::InvalidArgument,
            400,
            "Authorization header is invalid -- one and only one ' ' (space) required",
        ),
        (
            "Bearer abc",
            S3ErrorCode::InvalidArgument,
            400,
            "Unsupported Authorization Type",
        ),
        (
            "AWS AKID:c2lnbmF0dXJl",
            S3ErrorCode::InvalidRequest,
            400,
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        ),
        (
            "AWS4-ECDSA-P256-SHA256 Credential=a",
            S3ErrorCode::InvalidRequest,
            400,
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        ),
    ];
    for (value, code, status, message) in cases {
        let (mut wire, _) = own_sign(&spec());
        set(&mut wire, "authorization", value);
        refused(verify_at(&wire, T), code, status, message);
    }
    let (mut wire, _) = own_sign(&spec());
    wire.headers.remove("authorization");
    wire.query = Some("AWSAccessKeyId=AKID&Expires=1&Signature=abc".to_owned());
    let err = verify_at(&wire, T).unwrap_err();
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
}

#[test]
fn refuses_a_missing_or_unknown_payload_hash() {
    let (mut wire, _) = own_sign(&spec());
    wire.headers.remove("x-amz-content-sha256");
    refused(
        verify_at(&wire, T),
        S3ErrorCode::InvalidRequest,
        400,
        "Missing required header for this request: x-amz-content-sha256",
    );
    for bad in [
        "unsigned-payload",
        "abc",
        &"g".repeat(64),
        &"a".repeat(63),
        &"a".repeat(65),
    ] {
        let (mut wire, _) = own_sign(&spec());
        set(&mut wire, "x-amz-content-sha256", bad);
        let err = verify_at(&wire, T).unwrap_err();
        assert_eq!(
            (err.code, err.argument_name),
            (S3ErrorCode::InvalidArgument, Some("x-amz-content-sha256"))
        );
        assert!(
            err.message
                .starts_with("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, ")
        );
        assert_eq!(err.reason, Some(Reason::SigV4PayloadHash));
    }
    for ecdsa in [
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    ] {
        let (mut wire, _) = own_sign(&spec());
        set(&mut wire, "x-amz-content-sha256", ecdsa);
        let err = verify_at(&wire, T).unwrap_err();
        assert_eq!(
            (err.code, err.status()),
            (S3ErrorCode::NotImplemented, StatusCode::NOT_IMPLEMENTED)
        );
    }
    let upper = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    let mode = PayloadMode::parse(upper.as_bytes()).unwrap();
    assert_eq!(mode, PayloadMode::parse(EMPTY_SHA256.as_bytes()).unwrap());
    for (text, streaming) in [
        (STREAMING_SIGNED, true),
        (STREAMING_SIGNED_TRAILER, true),
        (STREAMING_UNSIGNED_TRAILER, true),
        (UNSIGNED_PAYLOAD, false),
    ] {
        assert_eq!(
            PayloadMode::parse(text.as_bytes()).unwrap().is_streaming(),
            streaming
        );
    }
}

#[test]
fn header_auth_allows_exactly_fifteen_minutes_of_skew_either_way() {
    let (wire, _) = own_sign(&spec());
    for now in [T - 900, T, T + 900] {
        verify_at(&wire, now).unwrap();
    }
    let message = "The difference between the request time and the current time is too large.";
    for now in [T - 901, T + 901] {
        refused(
            verify_at(&wire, now),
            S3ErrorCode::RequestTimeTooSkewed,
            403,
            message,
        );
    }
}

#[test]
fn reads_the_date_from_x_amz_date_else_from_date() {
    let message = "AWS authentication requires a valid Date or x-amz-date header";
    for bad in [
        "20261127T000000",
        "2026-11-27T00:00:00Z",
        "20261131T000000Z",
        "20261127T240000Z",
    ] {
        let (mut wire, _) = own_sign(&spec());
        set(&mut wire, "x-amz-date", bad);
        set(&mut wire, "date", "Fri, 27 Nov 2026 00:00:00 GMT");
        refused(verify_at(&wire, T), S3ErrorCode::AccessDenied, 403, message);
    }
    let (mut wire, _) = own_sign(&spec());
    wire.headers.remove("x-amz-date");
    refused(verify_at(&wire, T), S3ErrorCode::AccessDenied, 403, message);
    set(&mut wire, "date", "Fri, 27 Nov 2026 01:00:00 GMT");
    assert_eq!(
        verify_at(&wire, T).unwrap_err().code,
        S3ErrorCode::RequestTimeTooSkewed
    );
    // Within the skew the date is taken; the signed x-amz-date is gone, so the signature
    // cannot match.
    set(&mut wire, "date", "Fri, 27 Nov 2026 00:00:00 GMT");
    assert_eq!(
        verify_at(&wire, T).unwrap_err().code,
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn refuses_malformed_authorization_components() {
    let three = "The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.";
    let edits = [
        (", Signature=", ", Sig="),
        (", SignedHeaders=", ", Signature=x, SignedHeaders="),
        (", SignedHeaders=", ", Foo=bar, SignedHeaders="),
        ("SignedHeaders=host;", "SignedHeaders=;host;"),
        (
            "SignedHeaders=host;x-amz-content-sha256",
            "SignedHeaders=x-amz-content-sha256;host",
        ),
        ("SignedHeaders=host", "SignedHeaders=Host"),
        ("SignedHeaders=host;", "SignedHeaders=host;host;"),
        ("SignedHeaders=host;", "SignedHeaders=host;;"),
        ("SignedHeaders=host;", "SignedHeaders=ho st;"),
        (", Signature=", "; , Signature="),
        ("Credential=", "Credential"),
    ];
    for (from, to) in edits {
        let (mut wire, _) = own_sign(&spec());
        edit_authorization(&mut wire, from, to);
        refused(verify_at(&wire, T), MALFORMED, 400, three);
    }
    // S3 takes a comma with or without spaces after it.
    for sep in [",", ",   "] {
        let (mut wire, _) = own_sign(&spec());
        edit_authorization(&mut wire, ", ", sep);
        verify_at(&wire, T).unwrap();
    }
}

#[test]
fn refuses_a_credential_scope_that_is_not_this_endpoints() {
    let prefix = "The authorization header is malformed; ";
    let cases = [
        (
            "/20261127/us-east-1/s3/aws4_request",
            "/20261127/us-east-1/s3",
            "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
        ),
        (
            "/20261127/",
            "/2026112/",
            "incorrect date format \"2026112\". This date in the credential must be in the format \"yyyyMMdd\".",
        ),
        (
            "/us-east-1/",
            "/us-west-2/",
            "the region 'us-west-2' is wrong; expecting 'us-east-1'",
        ),
        (
            "/us-east-1/",
            "//",
            "a non-empty region must be provided in the credential.",
        ),
        (
            "/s3/",
            "/ec2/",
            "incorrect service \"ec2\". This endpoint belongs to \"s3\".",
        ),
        (
            "/aws4_request",
            "/aws4_requests",
            "incorrect terminal \"aws4_requests\". This endpoint uses \"aws4_request\".",
        ),
        (
            "/20261127/",
            "/20261126/",
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ),
    ];
    for (from, to, message) in cases {
        let (mut wire, _) = own_sign(&spec());
        edit_authorization(&mut wire, from, to);
        refused(
            verify_at(&wire, T),
            MALFORMED,
            400,
            &format!("{prefix}{message}"),
        );
    }
}

#[test]
fn refuses_headers_s3_requires_signed_when_they_are_not() {
    let message = "There were headers present in the request which were not signed";
    for (name, value) in [
        ("x-amz-meta-late", "1"),
        ("x-amz-acl", "private"),
        ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
        ("x-amz-security-token", "t"),
    ] {
        let (mut wire, _) = own_sign(&spec());
        wire.headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        refused(verify_at(&wire, T), S3ErrorCode::AccessDenied, 403, message);
    }
    // Other headers need not be signed.
    let (mut wire, _) = own_sign(&spec());
    set(&mut wire, "user-agent", "sdk");
    set(&mut wire, "content-type", "text/plain");
    verify_at(&wire, T).unwrap();
    // `host` always must be.
    let mut unhosted = spec();
    unhosted.headers.retain(|(n, _)| n != "host");
    let (wire, _) = own_sign(&unhosted);
    refused(verify_at(&wire, T), S3ErrorCode::AccessDenied, 403, message);
}

#[test]
fn refuses_an_unknown_key_a_session_token_and_a_wrong_signature() {
    let (mut wire, _) = own_sign(&spec());
    edit_authorization(&mut wire, "Credential=AKIDORACLE", "Credential=AKIDOTHER");
    refused(
        verify_at(&wire, T),
        S3ErrorCode::InvalidAccessKeyId,
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    );
    let mut with_token = spec();
    with_token
        .headers
        .push(("x-amz-security-token".to_owned(), "token".to_owned()));
    let (wire, _) = own_sign(&with_token);
    refused(
        verify_at(&wire, T),
        S3ErrorCode::InvalidToken,
        400,
        "The provided token is malformed or otherwise invalid.",
    );
    let (mut wire, _) = own_sign(&spec());
    let signature = wire.signature.clone();
    edit_authorization(&mut wire, &signature, &signature.to_uppercase());
    refused(
        verify_at(&wire, T),
        S3ErrorCode::SignatureDoesNotMatch,
        403,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    );
    let wrong = Verifier::new("us-east-1").verify(
        &own_sign(&spec()).0.request(),
        &|_: &str| Some(SecretKey::new("other")),
        at(T),
    );
    assert_eq!(wrong.unwrap_err().code, S3ErrorCode::SignatureDoesNotMatch);
}

fn forwarded(headers: &[(&str, &str)], query: Option<&str>) -> Result<(), S3Error> {
    let mut map = HeaderMap::new();
    for (n, v) in headers {
        map.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    check_forwarded_scope(&map, query)
}

#[test]
fn passthrough_forwards_only_credentials_scoped_to_s3() {
    let s3 = "AWS4-HMAC-SHA256 Credential=AK/20261203/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
    for (headers, query) in [
        (vec![("authorization", s3)], None),
        (vec![("authorization", "AWS AK:c2lnbmF0dXJl")], None),
        (
            vec![(
                "authorization",
                "AWS4-ECDSA-P256-SHA256 Credential=AK/20261203/s3/aws4_request, SignedHeaders=host, Signature=00",
            )],
            None,
        ),
        (
            vec![],
            Some("X-Amz-Credential=AK%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=x"),
        ),
        // An S3 request may store an object of any content type.
        (
            vec![
                ("authorization", s3),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            None,
        ),
        (vec![("content-type", "application/json")], None),
        (vec![], None),
    ] {
        assert!(forwarded(&headers, query).is_ok(), "{headers:?} {query:?}");
    }
    let tables = "AWS4-HMAC-SHA256 Credential=AK/20261203/us-east-1/s3tables/aws4_request, SignedHeaders=host, Signature=00";
    for (headers, query, code) in [
        (
            vec![("authorization", tables)],
            None,
            S3ErrorCode::AuthorizationHeaderMalformed,
        ),
        // Any spelling a lenient store might read.
        (
            vec![(
                "authorization",
                "aws4-hmac-sha256 credential=AK/20261203/us-east-1/s3tables/aws4_request,SignedHeaders=host",
            )],
            None,
            S3ErrorCode::AuthorizationHeaderMalformed,
        ),
        (
            vec![("authorization", s3), ("authorization", tables)],
            None,
            S3ErrorCode::AuthorizationHeaderMalformed,
        ),
        (
            vec![(
                "authorization",
                "AWS4-HMAC-SHA256 Credential = AK/20261203/us-east-1/s3tables/aws4_request, SignedHeaders=host, Signature=00",
            )],
            None,
            S3ErrorCode::AuthorizationHeaderMalformed,
        ),
        // A scope a store could find elsewhere in the value.
        (
            vec![(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AK/20261203/us-east-1/s3/aws4_request, SignedHeaders=host;x/s3tables/aws4_request, Signature=00",
            )],
            None,
            S3ErrorCode::AuthorizationHeaderMalformed,
        ),
        (
            vec![(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AK, Signature=00",
            )],
            None,
            S3ErrorCode::AuthorizationHeaderMalformed,
        ),
        (
            vec![],
            Some(
                "list-type=2&x-amz-credential=AK%2F20261203%2Fus-east-1%2Fs3tables%2Faws4_request",
            ),
            S3ErrorCode::AuthorizationQueryParametersError,
        ),
        (
            vec![("content-type", "Application/X-Amz-Json-1.1; charset=utf-8")],
            None,
            S3ErrorCode::NotImplemented,
        ),
    ] {
        let err = forwarded(&headers, query).unwrap_err();
        assert_eq!(err.code, code, "{headers:?} {query:?}");
    }
    let err = forwarded(&[("authorization", tables)], None).unwrap_err();
    assert_eq!(
        err.message,
        "The authorization header is malformed; incorrect service \"s3tables\". This endpoint belongs to \"s3\"."
    );
    assert_eq!(err.reason, Some(Reason::SigV4Malformed));
}
