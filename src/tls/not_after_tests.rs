//! `notAfter`: certificates made by rcgen on both sides of the UTCTime/GeneralizedTime
//! boundary (2050), hand-built DER for what rcgen does not write, malformed times and
//! truncations, and a property that arbitrary bytes are refused without a panic.

use std::sync::LazyLock;
use std::time::Duration;

use proptest::prelude::*;

use super::*;

/// An rcgen certificate to corrupt, made once.
static CERTIFICATE: LazyLock<Vec<u8>> = LazyLock::new(|| rcgen_certificate(2050, 1, 1, 0).0);

/// A self-signed rcgen certificate expiring `seconds` after midnight UTC of the date,
/// and rcgen's own idea of that instant.
fn rcgen_certificate(year: i32, month: u8, day: u8, seconds: u64) -> (Vec<u8>, i64) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_after = rcgen::date_time_ymd(year, month, day) + Duration::from_secs(seconds);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.der().to_vec(), params.not_after.unix_timestamp())
}

/// One DER element, with a short or long-form length.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = contents.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// A structurally minimal certificate: optional version, serial 1, empty algorithm and
/// names, the given validity times, then an empty signature algorithm and signature.
fn handmade(version: bool, not_before: &[u8], not_after: &[u8]) -> Vec<u8> {
    let mut tbs = vec![];
    if version {
        tbs.extend(der(VERSION, &der(INTEGER, &[2])));
    }
    tbs.extend(der(INTEGER, &[1]));
    tbs.extend(der(SEQUENCE, &[]));
    tbs.extend(der(SEQUENCE, &[]));
    tbs.extend(der(SEQUENCE, &[not_before, not_after].concat()));
    tbs.extend(der(SEQUENCE, &[]));
    let certificate = [der(SEQUENCE, &tbs), der(SEQUENCE, &[]), der(0x03, &[0])].concat();
    der(SEQUENCE, &certificate)
}

fn utc(text: &str) -> Vec<u8> {
    der(UTC_TIME, text.as_bytes())
}

fn generalized(text: &str) -> Vec<u8> {
    der(GENERALIZED_TIME, text.as_bytes())
}

/// Days from 1970-01-01, counted year by year and month by month.
fn naive_days(year: i64, month: i64, day: i64) -> i64 {
    let in_year = |y: i64| (1..=12).map(|m| days_in_month(y, m)).sum::<i64>();
    let years: i64 = if year >= 1970 {
        (1970..year).map(in_year).sum()
    } else {
        -(year..1970).map(in_year).sum::<i64>()
    };
    years + (1..month).map(|m| days_in_month(year, m)).sum::<i64>() + day - 1
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn reads_a_utc_time_not_after_from_an_rcgen_certificate() {
    let (cert, expected) = rcgen_certificate(2049, 12, 31, 86_399);
    assert!(contains(&cert, &utc("491231235959Z")));
    assert_eq!(expected, 2_524_607_999);
    assert_eq!(not_after(&cert), Ok(expected));
}

#[test]
fn reads_a_generalized_time_not_after_from_an_rcgen_certificate() {
    let (cert, expected) = rcgen_certificate(2050, 1, 1, 0);
    assert!(contains(&cert, &generalized("20500101000000Z")));
    assert_eq!(expected, 2_524_608_000);
    assert_eq!(not_after(&cert), Ok(expected));
}

#[test]
fn reads_rcgen_certificates_across_leap_days_centuries_and_the_epoch() {
    for (year, month, day, seconds) in [
        (2024, 2, 29, 12 * 3_600 + 34 * 60 + 56),
        (2100, 3, 1, 1),
        (2000, 2, 29, 0),
        (1970, 1, 1, 0),
        (1969, 12, 31, 86_399),
        (1950, 1, 1, 0),
        (1949, 12, 31, 86_399),
        (9999, 12, 31, 86_399),
    ] {
        let (cert, expected) = rcgen_certificate(year, month, day, seconds);
        assert_eq!(
            not_after(&cert),
            Ok(expected),
            "{year}-{month}-{day} +{seconds}s"
        );
    }
}

#[test]
fn reads_a_version_1_certificate_and_either_time_type_for_not_before() {
    let expected = Ok(1_700_000_000);
    let after = utc("231114221320Z");
    assert_eq!(
        not_after(&handmade(false, &utc("000101000000Z"), &after)),
        expected
    );
    assert_eq!(
        not_after(&handmade(true, &generalized("19000101000000Z"), &after)),
        expected
    );
    assert_eq!(
        not_after(&handmade(true, &utc("000101000000Z"), &after)),
        expected
    );
}

#[test]
fn reads_long_form_lengths() {
    // An issuer past 127 bytes needs the long form, and so do the SEQUENCEs around it.
    let mut tbs = der(INTEGER, &[1]);
    tbs.extend(der(SEQUENCE, &[]));
    tbs.extend(der(SEQUENCE, &[0; 300]));
    tbs.extend(der(
        SEQUENCE,
        &[utc("000101000000Z"), utc("231114221320Z")].concat(),
    ));
    let cert = der(SEQUENCE, &der(SEQUENCE, &tbs));
    assert_eq!(cert.get(..2), Some(&[SEQUENCE, 0x82][..]));
    assert_eq!(not_after(&cert), Ok(1_700_000_000));
}

#[test]
fn refuses_times_rfc_5280_does_not_allow() {
    let before = utc("000101000000Z");
    for bad in [
        utc("491231235959"),
        utc("4912312359Z"),
        utc("491231235959+0000"),
        utc("491231235959.5Z"),
        utc("4912312359590Z"),
        utc("4a1231235959Z"),
        utc("491331235959Z"),
        utc("490031235959Z"),
        utc("491232235959Z"),
        utc("230229000000Z"),
        utc("491231240000Z"),
        utc("491231236000Z"),
        utc("491231235960Z"),
        utc(""),
        generalized("20500101000000.5Z"),
        generalized("205001010000Z"),
        generalized("2050010100000Z"),
        generalized("20500101000000"),
        generalized("21000229000000Z"),
        der(0x13, b"20500101000000Z"),
    ] {
        assert!(
            not_after(&handmade(true, &before, &bad)).is_err(),
            "{bad:x?}"
        );
    }
}

#[test]
fn refuses_what_is_not_a_certificate() {
    let after = utc("231114221320Z");
    for bad in [
        vec![],
        vec![SEQUENCE],
        vec![SEQUENCE, 0x80, 0, 0],
        vec![SEQUENCE, 0x85, 0, 0, 0, 0, 1, 0],
        vec![SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff],
        vec![SEQUENCE, 0x82, 0x01],
        vec![0x1f, 0x01, 0x00],
        der(SEQUENCE, &der(0x1f, &[])),
        der(INTEGER, &[1]),
        der(SEQUENCE, &[]),
        der(SEQUENCE, &der(SEQUENCE, &[])),
        handmade(true, &after, &der(SEQUENCE, &[])),
        handmade(true, &der(SEQUENCE, &[]), &after),
        handmade(true, &after, &[]),
        b"-----BEGIN CERTIFICATE-----".to_vec(),
    ] {
        assert!(not_after(&bad).is_err(), "{bad:x?}");
    }
}

#[test]
fn refuses_every_truncation_of_a_real_certificate() {
    let (cert, expected) = rcgen_certificate(2030, 6, 15, 0);
    assert_eq!(not_after(&cert), Ok(expected));
    for end in 0..cert.len() {
        assert_eq!(not_after(&cert[..end]), Err(TRUNCATED), "cut at {end}");
    }
}

#[test]
fn ignores_bytes_after_the_certificate() {
    let (mut cert, expected) = rcgen_certificate(2030, 6, 15, 0);
    cert.extend_from_slice(b"trailing");
    assert_eq!(not_after(&cert), Ok(expected));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = not_after(&bytes);
    }

    #[test]
    fn corrupted_certificates_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut cert = CERTIFICATE.clone();
        for (at, byte) in flips {
            let i = at.index(cert.len());
            cert[i] = byte;
        }
        let _ = not_after(&cert);
    }

    #[test]
    fn every_valid_generalized_time_reads_back(
        year in 0i64..=9999, month in 1i64..=12, day in 1i64..=28,
        hour in 0i64..24, minute in 0i64..60, second in 0i64..60,
    ) {
        let text = format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}Z");
        let cert = handmade(true, &utc("000101000000Z"), &generalized(&text));
        let expected = naive_days(year, month, day) * 86_400
            + hour * 3_600 + minute * 60 + second;
        prop_assert_eq!(not_after(&cert), Ok(expected));
    }
}
