//! Table tests from reference/ssec-spec.md §3.1–§3.3: every V-row for every operation
//! that takes SSE-C, the order rows, and properties of the parser.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

use super::*;
use crate::s3::headers::{
    COPY_SOURCE, COPY_SOURCE_SSE_C_ALGORITHM, COPY_SOURCE_SSE_C_KEY, COPY_SOURCE_SSE_C_KEY_MD5,
    SSE, SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5,
};

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn key(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn md5_b64(bytes: &[u8]) -> String {
    b64(&Md5::digest(bytes))
}

const K: fn() -> Vec<u8> = || key(32, 0);

/// Headers for one group from optional (algorithm, key, md5) texts.
fn group(
    headers: &mut HeaderMap,
    group: Group,
    alg: Option<&str>,
    k: Option<&str>,
    m: Option<&str>,
) {
    let (a, kk, mm) = match group {
        Group::Destination => (SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5),
        Group::CopySource => (
            COPY_SOURCE_SSE_C_ALGORITHM,
            COPY_SOURCE_SSE_C_KEY,
            COPY_SOURCE_SSE_C_KEY_MD5,
        ),
    };
    for (name, value) in [(a, alg), (kk, k), (mm, m)] {
        if let Some(v) = value {
            headers.insert(name, HeaderValue::from_str(v).unwrap());
        }
    }
}

/// What a case must produce: `Ok`, or (status, code, message prefix).
#[derive(Clone, Copy, Debug)]
enum Want {
    Ok,
    Err(u16, &'static str, &'static str),
}

const SECURE: Want = Want::Err(
    400,
    "InvalidArgument",
    "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
);
const V1: Want = Want::Err(
    400,
    "InvalidArgument",
    "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
);
const V2: Want = Want::Err(
    400,
    "InvalidArgument",
    "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
);
const V3: Want = Want::Err(
    400,
    "InvalidArgument",
    "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.",
);
const V4: Want = Want::Err(
    400,
    "InvalidArgument",
    "The secret key was invalid - too short.",
);
const V5: Want = Want::Err(
    400,
    "InvalidArgument",
    "The calculated MD5 hash of the key did not match the hash that was provided.",
);
const V6: Want = Want::Err(
    400,
    "InvalidEncryptionAlgorithmError",
    "The Encryption request you specified is not valid. Supported value: AES256.",
);
const V7: Want = Want::Err(
    400,
    "InvalidArgument",
    "The secret key was invalid for the specified algorithm.",
);
const S3_READ: Want = Want::Err(
    403,
    "AccessDenied",
    "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.",
);
const S6_S10: Want = Want::Err(
    400,
    "InvalidRequest",
    "The provided encryption parameters did not match the ones used originally.",
);
const V8: Want = Want::Err(
    400,
    "InvalidArgument",
    "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
);
const NOT_SUPPORTED: Want = Want::Err(
    400,
    "InvalidArgument",
    "x-amz-server-side-encryption header is not supported for this operation.",
);

/// The V-rows as (name, algorithm, key, md5, want for writes, want for reads,
/// want for parts, want for copy sources).
#[allow(clippy::type_complexity)]
fn v_rows() -> Vec<(
    &'static str,
    Option<String>,
    Option<String>,
    Option<String>,
    [Want; 4],
)> {
    let k = K();
    let (kb, km) = (b64(&k), md5_b64(&k));
    let other = md5_b64(&key(32, 9));
    let short = key(16, 3);
    let ten = key(10, 5);
    let aes = Some("AES256".to_owned());
    let s = |v: &str| Some(v.to_owned());
    vec![
        ("valid", aes.clone(), s(&kb), s(&km), [Want::Ok; 4]),
        (
            "V1 key and md5 without algorithm",
            None,
            s(&kb),
            s(&km),
            [V1; 4],
        ),
        ("V1 md5 only", None, None, s(&km), [V1; 4]),
        ("V1 key only", None, s(&kb), None, [V1; 4]),
        ("V2 algorithm only", aes.clone(), None, None, [V2; 4]),
        ("V2 empty algorithm only", s(""), None, None, [V2; 4]),
        ("V2 algorithm and md5", aes.clone(), None, s(&km), [V2; 4]),
        (
            "V3 no md5",
            aes.clone(),
            s(&kb),
            None,
            [V3, Want::Ok, V3, Want::Ok],
        ),
        ("V4 empty key", aes.clone(), s(""), s(&km), [V4; 4]),
        ("V4 key 'a'", aes.clone(), s("a"), s(&km), [V4; 4]),
        ("V4 key 'ZZ'", aes.clone(), s("ZZ"), s(&km), [V4; 4]),
        ("V4 key '####'", aes.clone(), s("####"), s(&km), [V4; 4]),
        ("V4 all three empty", s(""), s(""), s(""), [V4; 4]),
        (
            "V5 md5 of another key",
            aes.clone(),
            s(&kb),
            s(&other),
            [V5; 4],
        ),
        ("V5 empty md5", aes.clone(), s(&kb), s(""), [V5; 4]),
        (
            "V5 md5 not base64",
            aes.clone(),
            s(&kb),
            s("!!!!not-base64!!!!"),
            [V5; 4],
        ),
        (
            "V5 md5 unpadded",
            aes.clone(),
            s(&kb),
            s(km.trim_end_matches('=')),
            [V5; 4],
        ),
        (
            "V5 key unpadded",
            aes.clone(),
            s(kb.trim_end_matches('=')),
            s(&km),
            [V5; 4],
        ),
        (
            "V5 url-safe key",
            aes.clone(),
            s(&kb.replace('+', "-").replace('/', "_")),
            s(&km),
            [if kb.contains(['+', '/']) {
                V5
            } else {
                Want::Ok
            }; 4],
        ),
        ("V6 AES128", s("AES128"), s(&kb), s(&km), [V6; 4]),
        ("V6 lower-case aes256", s("aes256"), s(&kb), s(&km), [V6; 4]),
        ("V6 empty algorithm", s(""), s(&kb), s(&km), [V6; 4]),
        (
            "V7 16-byte key",
            aes.clone(),
            s(&b64(&short)),
            s(&md5_b64(&short)),
            [V7, S3_READ, S6_S10, S6_S10],
        ),
        (
            "V7 33-byte key",
            aes.clone(),
            s(&b64(&key(33, 1))),
            s(&md5_b64(&key(33, 1))),
            [V7, S3_READ, S6_S10, S6_S10],
        ),
        (
            "order: bad algorithm and garbage key → MD5",
            s("AES128"),
            s("garbage"),
            s(&km),
            [V5; 4],
        ),
        (
            "order: bad algorithm and 10-byte key with its MD5 → algorithm",
            s("AES128"),
            s(&b64(&ten)),
            s(&md5_b64(&ten)),
            [V6; 4],
        ),
        (
            "order: 10-byte key and mismatched MD5 → MD5",
            aes.clone(),
            s(&b64(&ten)),
            s(&km),
            [V5; 4],
        ),
        ("no headers", None, None, None, [Want::Ok; 4]),
    ]
}

fn assert_want(result: Result<Checked, S3Error>, want: Want, context: &str, secret: &str) {
    match (result, want) {
        (Ok(_), Want::Ok) => {}
        (Err(e), Want::Err(status, code, message)) => {
            assert_eq!(e.status().as_u16(), status, "{context}: {e}");
            assert_eq!(e.code.as_str(), code, "{context}: {e}");
            assert_eq!(e.message, message, "{context}");
            let xml = e.to_xml("/b/k", "ID");
            if !secret.is_empty() {
                assert!(!xml.contains(secret), "{context}: key echoed in {xml}");
            }
        }
        (got, want) => panic!("{context}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn every_v_row_for_every_operation_and_group() {
    let ops = [
        (S3Op::PutObject, Group::Destination, 0),
        (S3Op::CreateMultipartUpload, Group::Destination, 0),
        (S3Op::CopyObject, Group::Destination, 0),
        (S3Op::PostObject, Group::Destination, 0),
        (S3Op::UploadPart, Group::Destination, 2),
        (S3Op::UploadPartCopy, Group::Destination, 2),
        (S3Op::GetObject, Group::Destination, 1),
        (S3Op::HeadObject, Group::Destination, 1),
        (S3Op::GetObjectAttributes, Group::Destination, 1),
        (S3Op::CopyObject, Group::CopySource, 3),
        (S3Op::UploadPartCopy, Group::CopySource, 3),
    ];
    for (op, g, column) in ops {
        for (name, alg, k, m, wants) in v_rows() {
            let mut headers = HeaderMap::new();
            group(&mut headers, g, alg.as_deref(), k.as_deref(), m.as_deref());
            let context = format!("{} {:?} {name}", op.as_str(), g);
            let secret = k.clone().unwrap_or_default();
            let secret = if secret.len() > 4 {
                secret
            } else {
                String::new()
            };
            assert_want(
                check_request(op, &headers, true),
                wants[column],
                &context,
                &secret,
            );
            // V0 precedes every value check.
            if alg.is_some() || k.is_some() || m.is_some() {
                assert_want(
                    check_request(op, &headers, false),
                    SECURE,
                    &format!("{context} over http"),
                    &secret,
                );
            }
        }
    }
}

/// A whole, valid triple of `group` naming key `k`.
fn valid_group(headers: &mut HeaderMap, group_of: Group, k: &[u8]) {
    group(
        headers,
        group_of,
        Some("AES256"),
        Some(&b64(k)),
        Some(&md5_b64(k)),
    );
}

#[test]
fn valid_requests_return_the_key_digest_per_group() {
    let k1 = K();
    let k2 = key(32, 1);
    let mut headers = HeaderMap::new();
    group(
        &mut headers,
        Group::CopySource,
        Some("AES256"),
        Some(&b64(&k1)),
        None,
    );
    valid_group(&mut headers, Group::Destination, &k2);
    let checked = check_request(S3Op::CopyObject, &headers, true).unwrap();
    assert_eq!(checked.source, Some(KeyDigest::of_key(&k1)));
    assert_eq!(checked.destination, Some(KeyDigest::of_key(&k2)));
    assert_eq!(
        check_request(S3Op::PutObject, &HeaderMap::new(), true).unwrap(),
        Checked::default()
    );
}

#[test]
fn copy_source_group_is_validated_before_destination() {
    let k = K();
    let mut headers = HeaderMap::new();
    group(
        &mut headers,
        Group::CopySource,
        Some("AES128"),
        Some(&b64(&k)),
        Some(&md5_b64(&k)),
    );
    group(
        &mut headers,
        Group::Destination,
        Some("AES256"),
        Some(&b64(&k)),
        Some("AAAAAAAAAAAAAAAAAAAAAA=="),
    );
    for op in [S3Op::CopyObject, S3Op::UploadPartCopy] {
        assert_want(check_request(op, &headers, true), V6, op.as_str(), "");
    }
}

#[test]
fn sse_header_conflicts_follow_aws() {
    let k = K();
    for (op, sse, want) in [
        (S3Op::PutObject, "AES256", V8),
        (S3Op::PutObject, "aws:kms", V8),
        (S3Op::CreateMultipartUpload, "AES256", V8),
        (S3Op::CopyObject, "aws:kms", V8),
        (S3Op::UploadPart, "AES256", NOT_SUPPORTED),
        (S3Op::GetObject, "AES256", NOT_SUPPORTED),
    ] {
        let mut headers = HeaderMap::new();
        valid_group(&mut headers, Group::Destination, &k);
        headers.insert(SSE, HeaderValue::from_static(sse).clone());
        let result = check_request(op, &headers, true);
        assert_want(result.clone(), want, op.as_str(), "");
        if matches!(want, Want::Err(_, _, m) if m.starts_with("Server Side")) {
            assert_eq!(result.unwrap_err().argument_value.as_deref(), Some(sse));
        }
    }
    // Plain SSE-S3 without SSE-C is the store's business.
    let mut headers = HeaderMap::new();
    headers.insert(SSE, HeaderValue::from_static("AES256"));
    assert!(check_request(S3Op::PutObject, &headers, true).is_ok());
}

#[test]
fn a_kms_key_id_needs_aws_kms_on_a_write() {
    const ALONE: &str = "Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms";
    let k = K();
    let kms_key_id = crate::s3::headers::SSE_KMS_KEY_ID;
    // (operation, with SSE-C, x-amz-server-side-encryption, refused with)
    let cases: [(S3Op, bool, Option<&str>, Option<&str>); 12] = [
        (S3Op::PutObject, false, None, Some(ALONE)),
        (S3Op::PutObject, true, None, Some(ALONE)),
        (S3Op::CopyObject, true, None, Some(ALONE)),
        (S3Op::CreateMultipartUpload, false, None, Some(ALONE)),
        (S3Op::PostObject, false, Some("AES256"), Some(ALONE)),
        (S3Op::PutObject, false, Some("aws:kms:"), Some(ALONE)),
        // SSE-C with another method: the conflict comes first, as before.
        (
            S3Op::PutObject,
            true,
            Some("aws:kms"),
            Some(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
            ),
        ),
        // SSE-KMS as S3 takes it: the store's business.
        (S3Op::PutObject, false, Some("aws:kms"), None),
        (S3Op::CopyObject, false, Some("aws:kms:dsse"), None),
        // Not a write: stores read no KMS key there.
        (S3Op::UploadPart, true, None, None),
        (S3Op::GetObject, true, None, None),
        (S3Op::CompleteMultipartUpload, true, None, None),
    ];
    for (op, sse_c, sse, refused) in cases {
        let mut headers = HeaderMap::new();
        if sse_c {
            valid_group(&mut headers, Group::Destination, &k);
        }
        if let Some(sse) = sse {
            headers.insert(SSE, HeaderValue::from_str(sse).unwrap());
        }
        headers.insert(kms_key_id.clone(), HeaderValue::from_static("alias/app"));
        let result = check_request(op, &headers, true);
        let what = format!("{op:?} sse-c {sse_c} {sse:?}");
        match refused {
            None => assert!(result.is_ok(), "{what}: {result:?}"),
            Some(message) => {
                let err = result.expect_err(&what);
                assert_eq!(err.code, S3ErrorCode::InvalidArgument, "{what}");
                assert_eq!(err.message, message, "{what}");
                assert_eq!(err.status(), 400, "{what}");
            }
        }
    }
}

#[test]
fn complete_and_list_parts_ignore_partial_triples() {
    let k = K();
    for op in [S3Op::CompleteMultipartUpload, S3Op::ListParts] {
        let mut headers = HeaderMap::new();
        group(&mut headers, Group::Destination, Some("AES999"), None, None);
        assert!(
            check_request(op, &headers, true)
                .unwrap()
                .destination
                .is_none()
        );
        let mut headers = HeaderMap::new();
        group(
            &mut headers,
            Group::Destination,
            Some("AES256"),
            Some(&b64(&k)),
            Some(&md5_b64(&key(32, 4))),
        );
        assert_want(check_request(op, &headers, true), V5, op.as_str(), "");
        assert_want(check_request(op, &headers, false), SECURE, op.as_str(), "");
    }
}

#[test]
fn other_operations_ignore_sse_c_values_but_not_transport() {
    let mut headers = HeaderMap::new();
    group(&mut headers, Group::Destination, Some("junk"), None, None);
    assert!(check_request(S3Op::DeleteObject, &headers, true).is_ok());
    assert_want(
        check_request(S3Op::DeleteObject, &headers, false),
        SECURE,
        "delete over http",
        "",
    );
}

#[test]
fn invalid_algorithm_is_echoed_only_when_short_and_plain() {
    let k = K();
    let mut headers = HeaderMap::new();
    group(
        &mut headers,
        Group::Destination,
        Some(&b64(&k)),
        Some(&b64(&k)),
        Some(&md5_b64(&k)),
    );
    let err = check_request(S3Op::PutObject, &headers, true).unwrap_err();
    assert_eq!(err.code, S3ErrorCode::InvalidEncryptionAlgorithmError);
    assert_eq!(
        err.argument_value, None,
        "a key-sized value is never echoed"
    );
}

#[test]
fn non_canonical_base64_that_aws_accepts_is_refused_with_a_clear_message() {
    let k = K();
    let spaced = format!("{} {}", &b64(&k)[..20], &b64(&k)[20..]);
    let mut headers = HeaderMap::new();
    group(
        &mut headers,
        Group::Destination,
        Some("AES256"),
        Some(&spaced),
        Some(&md5_b64(&k)),
    );
    let err = check_request(S3Op::PutObject, &headers, true).unwrap_err();
    assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    assert!(err.message.contains("standard, padded base64"));
}

#[test]
fn lenient_decoding_follows_aws_quirks() {
    let k = K();
    let text = b64(&k);
    assert_eq!(lenient_base64(text.as_bytes()), k);
    assert_eq!(
        lenient_base64(format!("{text}=").as_bytes()),
        k,
        "extra padding ignored"
    );
    assert_eq!(
        lenient_base64(format!("{} !#\t{}", &text[..8], &text[8..]).as_bytes()),
        k
    );
    assert_eq!(
        lenient_base64(text.trim_end_matches('=').as_bytes()).len(),
        30,
        "partial quantum dropped"
    );
    for empty in ["", "a", "ZZ", "####"] {
        assert!(lenient_base64(empty.as_bytes()).is_empty(), "{empty}");
    }
}

#[test]
fn digest_debug_and_triple_debug_hide_values() {
    let k = K();
    let kb = b64(&k);
    let raw = RawTriple::new(Some(b"AES256"), Some(kb.as_bytes()), None);
    assert!(!format!("{raw:?}").contains(&kb));
    assert_eq!(format!("{:?}", KeyDigest::of_key(&k)), "KeyDigest(..)");
    let d = KeyDigest::of_key(&k);
    assert_eq!(KeyDigest::from_base64(&d.to_base64()), Some(d));
}

/// Every header `Groups::from_headers` reads, and some it must pass over.
const SCANNED: [HeaderName; 12] = [
    SSE_C_ALGORITHM,
    SSE_C_KEY,
    SSE_C_KEY_MD5,
    COPY_SOURCE_SSE_C_ALGORITHM,
    COPY_SOURCE_SSE_C_KEY,
    COPY_SOURCE_SSE_C_KEY_MD5,
    SSE,
    COPY_SOURCE,
    HeaderName::from_static("x-amz-server-side-encryption-customer-key-md"),
    HeaderName::from_static("x-amz-copy-source-range"),
    HeaderName::from_static("server-side-encryption-customer-key"),
    HeaderName::from_static("x-amz-date"),
];

proptest! {
    /// The one-pass scan finds, for each name, the first value a look-up finds, with
    /// repeated and unrelated headers in any order.
    #[test]
    fn one_pass_scan_matches_lookups(
        entries in proptest::collection::vec((0..SCANNED.len(), "[ -~]{0,12}"), 0..24),
    ) {
        let mut headers = HeaderMap::new();
        for (i, value) in &entries {
            headers.append(SCANNED[*i].clone(), HeaderValue::from_str(value).unwrap());
        }
        let g = Groups::from_headers(&headers);
        let get = |name: &HeaderName| headers.get(name).map(HeaderValue::as_bytes);
        prop_assert_eq!(g.destination.algorithm, get(&SSE_C_ALGORITHM));
        prop_assert_eq!(g.destination.key, get(&SSE_C_KEY));
        prop_assert_eq!(g.destination.key_md5, get(&SSE_C_KEY_MD5));
        prop_assert_eq!(g.copy_source.algorithm, get(&COPY_SOURCE_SSE_C_ALGORITHM));
        prop_assert_eq!(g.copy_source.key, get(&COPY_SOURCE_SSE_C_KEY));
        prop_assert_eq!(g.copy_source.key_md5, get(&COPY_SOURCE_SSE_C_KEY_MD5));
        prop_assert_eq!(g.sse, headers.get(SSE));
        prop_assert_eq!(g.copy_source_path, headers.get(COPY_SOURCE));
    }

    #[test]
    fn never_panics_on_arbitrary_header_bytes(
        alg in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        k in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..128)),
        m in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        op in 0usize..6,
        tls: bool,
    ) {
        let ops = [S3Op::PutObject, S3Op::UploadPart, S3Op::GetObject, S3Op::CopyObject, S3Op::UploadPartCopy, S3Op::CompleteMultipartUpload];
        let mut headers = HeaderMap::new();
        for (name, value) in [(SSE_C_ALGORITHM, &alg), (SSE_C_KEY, &k), (COPY_SOURCE_SSE_C_KEY_MD5, &m)] {
            if let Some(v) = value.as_ref().and_then(|v| HeaderValue::from_bytes(v).ok()) {
                headers.insert(name, v);
            }
        }
        let _ = check_request(ops[op], &headers, tls);
        let raw = RawTriple::new(alg.as_deref(), k.as_deref(), m.as_deref());
        for usage in [Usage::Write, Usage::Read, Usage::Part, Usage::CopySource, Usage::Complete] {
            if let (Err(e), Some(k)) = (validate(&raw, usage), &k)
                && k.len() > 24
            {
                let xml = e.to_xml("/", "ID");
                prop_assert!(!xml.as_bytes().windows(k.len()).any(|w| w == &k[..]));
            }
        }
    }

    #[test]
    fn accepts_every_valid_random_key(raw in proptest::array::uniform32(any::<u8>())) {
        let mut headers = HeaderMap::new();
        group(&mut headers, Group::Destination, Some("AES256"), Some(&b64(&raw)), Some(&md5_b64(&raw)));
        group(&mut headers, Group::CopySource, Some("AES256"), Some(&b64(&raw)), Some(&md5_b64(&raw)));
        for op in [S3Op::PutObject, S3Op::UploadPart, S3Op::GetObject, S3Op::CopyObject, S3Op::UploadPartCopy, S3Op::CreateMultipartUpload, S3Op::HeadObject] {
            let checked = check_request(op, &headers, true).unwrap();
            prop_assert_eq!(checked.destination, Some(KeyDigest::of_key(&raw)));
        }
    }
}
