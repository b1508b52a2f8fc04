//! Properties: secrets stay out of `Debug`, signatures compare only as their exact digits,
//! dates parse strictly and round-trip, arbitrary input never panics, and changing any one
//! byte a signature covers is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::UNIX_EPOCH;

use http::{HeaderValue, Method};
use proptest::prelude::*;

use super::oracle_tests::{ACCESS_KEY, SECRET, Wire, own_sign, spec_strategy, store};
use super::tests::{MALFORMED, T, at, spec, verify_at};
use super::*;
use crate::s3::error::S3ErrorCode;

#[test]
fn secrets_never_show_in_debug_output() {
    let secret = SecretKey::new(SECRET);
    assert!(!format!("{secret:?}").contains(SECRET));
    let (wire, signed) = own_sign(&spec());
    let verified = verify_at(&wire, T).unwrap();
    for text in [
        format!("{verified:?}"),
        format!("{signed:?}"),
        format!("{:?}", verified.chunk_chain()),
    ] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
        assert!(!text.contains(verified.signature.as_str()), "{text}");
    }
}

#[test]
fn signatures_match_only_their_own_64_lower_case_digits() {
    let key = SigningKey::derive(&SecretKey::new(SECRET), "20261127", "us-east-1", "s3");
    let signature = key.sign(b"text");
    assert!(signature.matches(signature.as_str().as_bytes()));
    assert!(!signature.matches(signature.as_str().to_uppercase().as_bytes()));
    assert!(!signature.matches(&signature.as_str().as_bytes()[..63]));
    assert!(!signature.matches(format!("{signature}0").as_bytes()));
    assert!(!signature.matches(b""));
}

#[test]
fn amz_dates_parse_strictly_and_round_trip() {
    for bad in [
        "",
        "20261127T000000",
        "20260230T000000Z",
        "20261301T000000Z",
        "19691231T235959Z",
        "2026112aT000000Z",
        "20261127 000000Z",
        "20261127T000060Z",
    ] {
        assert!(AmzDate::parse(bad.as_bytes()).is_none(), "{bad}");
    }
    for good in [
        "19700101T000000Z",
        "20000229T235959Z",
        "20261127T123456Z",
        "99991231T235959Z",
    ] {
        let date = AmzDate::parse(good.as_bytes()).unwrap();
        assert_eq!(AmzDate::from_system_time(date.system_time()).as_str(), good);
    }
}

proptest! {
    #[test]
    fn amz_date_formatting_and_parsing_agree(secs in 0u64..253_402_300_799) {
        let date = AmzDate::from_system_time(at(secs));
        prop_assert_eq!(AmzDate::parse(date.as_str().as_bytes()), Some(date));
        prop_assert_eq!(date.system_time(), at(secs));
    }

    #[test]
    fn verification_never_panics_on_arbitrary_authorization_and_query(
        authorization in "[ -~]{0,200}",
        query in "[ -~]{0,200}",
    ) {
        let (mut wire, _) = own_sign(&spec());
        if let Ok(value) = HeaderValue::from_str(&authorization) {
            wire.headers.insert("authorization", value);
        }
        wire.query = Some(query);
        let _ = verify_at(&wire, T);
    }

    #[test]
    fn changing_any_one_signed_byte_is_refused(
        spec in spec_strategy(),
        target in 0usize..7,
        at_byte in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let (mut wire, _) = own_sign(&spec);
        let now = spec.time.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let original = wire.clone();
        let ok = mutate(&mut wire, target, at_byte, replacement);
        prop_assume!(ok && !same_meaning(&original, &wire));
        let err = Verifier::new(&spec.region).verify(&wire.request(), &store(), at(now)).unwrap_err();
        let allowed: &[S3ErrorCode] = match target {
            0..=3 => &[S3ErrorCode::SignatureDoesNotMatch, S3ErrorCode::InvalidURI],
            4 => &[S3ErrorCode::SignatureDoesNotMatch, MALFORMED],
            5 => &[S3ErrorCode::InvalidAccessKeyId, MALFORMED, S3ErrorCode::InvalidArgument],
            _ => &[S3ErrorCode::SignatureDoesNotMatch, S3ErrorCode::AccessDenied, S3ErrorCode::RequestTimeTooSkewed, MALFORMED],
        };
        prop_assert!(allowed.contains(&err.code), "{:?} for target {}", err.code, target);
    }
}

/// Replaces one byte of: 0 the method, 1 the path, 2 the query, 3 a signed header's value,
/// 4 the signature, 5 the credential, 6 `x-amz-date`. `false` if the result is not a
/// request at all (a byte HTTP would not carry there).
fn mutate(wire: &mut Wire, target: usize, at: prop::sample::Index, byte: u8) -> bool {
    let swap = |text: &str| -> Option<String> {
        let mut bytes = text.as_bytes().to_vec();
        if bytes.is_empty() {
            return None;
        }
        let i = at.index(bytes.len());
        (bytes[i] != byte).then(|| bytes[i] = byte)?;
        String::from_utf8(bytes).ok()
    };
    let uri_byte = byte.is_ascii_graphic() && !b"#?\"<>\\^`{|}".contains(&byte);
    match target {
        0 => swap(wire.method.as_str())
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .map(|m| wire.method = m)
            .is_some(),
        1 => uri_byte && byte != b'/' && swap(&wire.path).map(|p| wire.path = p).is_some(),
        2 => {
            uri_byte
                && wire
                    .query
                    .as_deref()
                    .and_then(swap)
                    .map(|q| wire.query = Some(q))
                    .is_some()
        }
        3 => {
            let Some((name, value)) = wire
                .headers
                .iter()
                .find(|(n, _)| n.as_str().starts_with("x-amz-meta") || *n == "host")
            else {
                return false;
            };
            let name = name.clone();
            let Some(value) =
                swap(value.to_str().unwrap()).and_then(|v| HeaderValue::from_str(&v).ok())
            else {
                return false;
            };
            wire.headers.insert(name, value);
            true
        }
        _ => {
            let (name, start, len) = match target {
                4 => (
                    "authorization",
                    wire.headers["authorization"].len() - 64,
                    64,
                ),
                5 => (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=".len(),
                    ACCESS_KEY.len() + 9,
                ),
                _ => ("x-amz-date", 0, 16),
            };
            let value = wire.headers[name].to_str().unwrap().to_owned();
            let Some(part) = swap(&value[start..start + len]) else {
                return false;
            };
            let Ok(value) = HeaderValue::from_str(&format!(
                "{}{part}{}",
                &value[..start],
                &value[start + len..]
            )) else {
                return false;
            };
            wire.headers.insert(name, value);
            true
        }
    }
}

/// Whether two requests read the same once canonical: a query escape's hex case, or
/// header whitespace that trimming removes, does not change what was signed.
fn same_meaning(a: &Wire, b: &Wire) -> bool {
    let canonical = |w: &Wire| {
        let parts = Parts {
            method: w.method.as_str(),
            path: &w.path,
            query: w.query.as_deref(),
            headers: &w.headers,
        };
        let names: Vec<&str> = w
            .headers
            .keys()
            .map(|n| n.as_str())
            .filter(|n| *n != "authorization")
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        canonical::canonical_request(&parts, &names, "", false).ok()
    };
    a.headers.get("authorization") == b.headers.get("authorization")
        && a.headers.get("x-amz-date") == b.headers.get("x-amz-date")
        && canonical(a).is_some()
        && canonical(a) == canonical(b)
}

/// The plain reading of an `Authorization` value that the forwarding check must agree
/// with: lower-case the text, find every `/aws4_request` and `credential`, and read the
/// service before the one and the scope after `=` of the other.
fn forwarded_scope_by_text(value: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(value);
    let lower = text.to_ascii_lowercase();
    for (at, _) in lower.match_indices("/aws4_request") {
        let service = text[..at].rsplit('/').next().unwrap_or_default();
        if service != "s3" {
            return Err(format!("service {service}"));
        }
    }
    for (at, mark) in lower.match_indices("credential") {
        let rest = text[at + mark.len()..].trim_start_matches([' ', '\t']);
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let end = rest.find([',', ' ', '\t']).unwrap_or(rest.len());
        let mut parts = rest[..end].rsplit('/');
        let (Some(_), Some(service), Some(_), Some(_)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("format".to_owned());
        };
        if service != "s3" {
            return Err(format!("scope {service}"));
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn forwarded_scope_reads_authorization_as_its_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(b"/aws4_request".to_vec()),
                Just(b"/AWS4_Request".to_vec()),
                Just(b"Credential".to_vec()),
                Just(b"cREDENTIAL".to_vec()),
                Just(b"AK/20261203/us-east-1/".to_vec()),
                Just(b"s3".to_vec()),
                Just(b"s3tables".to_vec()),
                Just(b"\xc3\xa9".to_vec()),
                Just(b"\xff".to_vec()),
                prop::sample::select(vec![b"=".to_vec(), b" ".to_vec(), b"\t".to_vec(), b",".to_vec(), b"/".to_vec()]),
                proptest::collection::vec(0x20u8..0x7f, 0..6),
            ],
            0..14,
        )
    ) {
        let value = parts.concat();
        let Ok(header) = HeaderValue::from_bytes(&value) else {
            return Ok(());
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, header);
        let ours = check_forwarded_scope(&headers, None);
        let theirs = forwarded_scope_by_text(&value);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}: {:?} / {:?}", value.escape_ascii().to_string(), ours, theirs);
        if let (Err(ours), Err(theirs)) = (ours, theirs)
            && let Some(service) = theirs.strip_prefix("service ")
        {
            let quoted = format!("\"{service}\"");
            prop_assert!(ours.message.contains(&quoted), "{}", ours.message);
        }
    }
}

/// The canonical URI of a request the proxy signs for a store, as the stores build it:
/// decoded, then encoded once. Each pair was checked against SeaweedFS, RGW and Garage
/// directly: signed with the right side, the path on the left verified; signed as sent,
/// it did not.
#[test]
fn store_paths_are_signed_decoded_then_encoded_once() {
    let decoded = |path: &str| {
        let mut out = String::new();
        canonical::decoded_canonical_uri(path, &mut out).map(|()| out)
    };
    for (path, want) in [
        ("", "/"),
        ("/b/%2E%2E%5Cfoo", "/b/..%5Cfoo"),
        ("/b/a%5cb", "/b/a%5Cb"),
        ("/b/%41x", "/b/Ax"),
        ("/b/c%7Ed", "/b/c~d"),
        ("/b/e~f", "/b/e~f"),
        ("/b/x%2Fy", "/b/x/y"),
        ("/b/%c3%a9", "/b/%C3%A9"),
        ("/b/q%3Fr", "/b/q%3Fr"),
        ("/b/s%25t", "/b/s%25t"),
        ("/b/i+j", "/b/i%2Bj"),
        ("/b/m!n", "/b/m%21n"),
        ("/b//k", "/b//k"),
    ] {
        assert_eq!(decoded(path).unwrap(), want, "{path}");
    }
    for bad in ["/b/%", "/b/%4", "/b/%zz", "/b/%%41"] {
        assert_eq!(
            decoded(bad).unwrap_err().code,
            S3ErrorCode::InvalidURI,
            "{bad}"
        );
    }
}

proptest! {
    /// For every path an SDK sends (each key byte outside the unreserved set and `/`
    /// encoded once, upper-case hex), the store's reading is the path as sent: signing for
    /// the store changes nothing for the requests clients make.
    #[test]
    fn sdk_paths_read_the_same_decoded_and_as_sent(key in super::oracle_tests::key_strategy()) {
        use percent_encoding::utf8_percent_encode;
        let path = format!("/b/{}", utf8_percent_encode(&key, super::oracle_tests::KEY_SET));
        let (mut as_sent, mut decoded) = (String::new(), String::new());
        canonical::canonical_uri(&path, &mut as_sent).unwrap();
        canonical::decoded_canonical_uri(&path, &mut decoded).unwrap();
        prop_assert_eq!(&as_sent, &path);
        prop_assert_eq!(decoded, as_sent);
    }

    /// The store's reading is a fixed point: read again, a canonical URI stays as it is.
    #[test]
    fn the_stores_reading_is_stable(path in "(/|[a-zA-Z0-9~._ !+-]|%[0-9a-fA-F]{2}){0,24}") {
        let mut once = String::new();
        canonical::decoded_canonical_uri(&path, &mut once).unwrap();
        let mut twice = String::new();
        canonical::decoded_canonical_uri(&once, &mut twice).unwrap();
        prop_assert_eq!(twice, once);
    }
}
