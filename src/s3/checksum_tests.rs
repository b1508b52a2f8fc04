//! Known-answer tests for the five algorithms (the CRC catalogue's check values for
//! "123456789", FIPS 180-2 / RFC 6234 SHA vectors), cross-checks against the AWS SDK's own
//! checksums (`aws-smithy-checksums`) and `crc32fast` on random data fed in random pieces,
//! and the header form of values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn digest_of(algorithm: Algorithm, data: &[u8]) -> Checksum {
    let mut hasher = algorithm.hasher();
    hasher.update(data);
    hasher.finish()
}

/// The SDK's checksum of `data`, in header form.
fn oracle(algorithm: Algorithm, data: &[u8]) -> String {
    let smithy: aws_smithy_checksums::ChecksumAlgorithm = algorithm.name().parse().unwrap();
    let mut sum = smithy.into_impl();
    sum.update(data);
    sum.header_value().to_str().unwrap().to_owned()
}

const CHECK: &[u8] = b"123456789";
const LONG: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

#[test]
fn each_algorithm_gives_its_catalogue_check_value_and_fips_vectors() {
    let table: [(Algorithm, &[u8], &str); 11] = [
        (Algorithm::Crc32, CHECK, "cbf43926"),
        (Algorithm::Crc32c, CHECK, "e3069283"),
        (Algorithm::Crc64Nvme, CHECK, "ae8b14860a799888"),
        (Algorithm::Crc32, b"", "00000000"),
        (Algorithm::Crc64Nvme, b"", "0000000000000000"),
        (
            Algorithm::Sha1,
            b"abc",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        (
            Algorithm::Sha1,
            LONG,
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
        ),
        (
            Algorithm::Sha1,
            b"",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        (
            Algorithm::Sha256,
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            Algorithm::Sha256,
            LONG,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        (
            Algorithm::Sha256,
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    for (algorithm, data, want) in table {
        let sum = digest_of(algorithm, data);
        assert_eq!(sum.digest(), hex(want), "{algorithm:?} of {data:?}");
        assert_eq!(sum.digest().len(), algorithm.digest_len());
        assert_eq!(sum.algorithm(), algorithm);
    }
}

#[test]
fn header_values_are_base64_of_the_big_endian_digest() {
    // "123456789" as S3 shows it in x-amz-checksum-* headers.
    let table = [
        (Algorithm::Crc32, "y/Q5Jg=="),
        (Algorithm::Crc32c, "4waSgw=="),
        (Algorithm::Crc64Nvme, "rosUhgp5mIg="),
        (Algorithm::Sha1, "98O8HYCOBHMq32eZZczDTKeuNEE="),
        (
            Algorithm::Sha256,
            "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=",
        ),
    ];
    for (algorithm, want) in table {
        let sum = digest_of(algorithm, CHECK);
        assert_eq!(sum.to_base64(), want, "{algorithm:?}");
        assert_eq!(sum.to_base64(), oracle(algorithm, CHECK));
        assert_eq!(Checksum::from_base64(algorithm, want.as_bytes()), Some(sum));
    }
}

#[test]
fn values_must_be_canonical_padded_base64_of_the_digest_length() {
    let good = "y/Q5Jg==";
    assert!(Checksum::from_base64(Algorithm::Crc32, good.as_bytes()).is_some());
    for bad in [
        "y/Q5Jg",            // no padding
        "y/Q5Jh==",          // non-zero pad bits
        "y/Q5Jg== ",         // trailing space
        " y/Q5Jg==",         // leading space
        "y_Q5Jg==",          // URL-safe alphabet
        "cbf43926",          // hex
        "",                  // empty
        "y/Q5JgA=",          // five bytes
        "y/Q5",              // three bytes
        "rosUhgp5mIg=",      // a CRC-64 value
        &"A".repeat(10_000), // long
    ] {
        assert_eq!(
            Checksum::from_base64(Algorithm::Crc32, bad.as_bytes()),
            None,
            "{bad:?}"
        );
    }
    assert!(Checksum::from_base64(Algorithm::Crc32c, good.as_bytes()).is_some());
    assert_eq!(
        Checksum::from_base64(Algorithm::Sha256, good.as_bytes()),
        None
    );
}

#[test]
fn a_mismatch_is_bad_digest_with_aws_wording_for_each_algorithm() {
    for algorithm in Algorithm::ALL {
        let sent = Checksum::from_digest(algorithm, &vec![1; algorithm.digest_len()]).unwrap();
        let computed = digest_of(algorithm, CHECK);
        assert!(computed.verify(&computed).is_ok());
        let err = computed.verify(&sent).unwrap_err();
        assert_eq!(err.code, S3ErrorCode::BadDigest);
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(err.reason, Some(Reason::ChecksumMismatch));
        assert_eq!(
            err.message,
            format!(
                "The {} you specified did not match the calculated checksum.",
                algorithm.name()
            )
        );
    }
    // Same bytes under another algorithm do not match either.
    let crc32 = Checksum::from_digest(Algorithm::Crc32, &[1, 2, 3, 4]).unwrap();
    let crc32c = Checksum::from_digest(Algorithm::Crc32c, &[1, 2, 3, 4]).unwrap();
    assert!(!crc32.matches(&crc32c));
    assert!(Checksum::from_digest(Algorithm::Crc32, &[1, 2, 3]).is_none());
}

#[test]
fn names_and_headers_round_trip_in_any_case() {
    for algorithm in Algorithm::ALL {
        assert_eq!(
            Algorithm::from_name(algorithm.name().as_bytes()),
            Some(algorithm)
        );
        let lower = algorithm.name().to_ascii_lowercase();
        assert_eq!(Algorithm::from_name(lower.as_bytes()), Some(algorithm));
        let header = algorithm.header();
        assert_eq!(
            Algorithm::from_header(header.as_str().as_bytes()),
            Some(algorithm)
        );
        let upper = header.as_str().to_ascii_uppercase();
        assert_eq!(Algorithm::from_header(upper.as_bytes()), Some(algorithm));
    }
    for unknown in ["MD5", "CRC64", "SHA512", "", "crc32 "] {
        assert_eq!(Algorithm::from_name(unknown.as_bytes()), None, "{unknown}");
    }
    assert_eq!(Algorithm::from_header(b"x-amz-checksum-md5"), None);
    assert_eq!(
        ChecksumType::from_name(b"FULL_OBJECT"),
        Some(ChecksumType::FullObject)
    );
    assert_eq!(
        ChecksumType::from_name(b"COMPOSITE"),
        Some(ChecksumType::Composite)
    );
    assert_eq!(ChecksumType::from_name(b"composite"), None);
}

#[test]
fn multipart_types_follow_the_user_guide_table() {
    use ChecksumType::{Composite, FullObject};
    let table = [
        (Algorithm::Crc32, true, true, Composite),
        (Algorithm::Crc32c, true, true, Composite),
        (Algorithm::Crc64Nvme, true, false, FullObject),
        (Algorithm::Sha1, false, true, Composite),
        (Algorithm::Sha256, false, true, Composite),
    ];
    for (algorithm, full, composite, default) in table {
        assert_eq!(algorithm.supports(FullObject), full, "{algorithm:?}");
        assert_eq!(algorithm.supports(Composite), composite, "{algorithm:?}");
        assert_eq!(algorithm.default_type(), default, "{algorithm:?}");
    }
}

#[test]
fn debug_shows_the_algorithm_and_value() {
    let sum = digest_of(Algorithm::Crc32, CHECK);
    assert_eq!(format!("{sum:?}"), "CRC32:y/Q5Jg==");
    let hasher = Algorithm::Sha256.hasher();
    assert_eq!(format!("{hasher:?}"), "Hasher { algorithm: Sha256, .. }");
}

/// `data` cut at `cuts` (offsets taken modulo its length, in any order).
fn pieces(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    at.push(0);
    at.push(data.len());
    at.sort_unstable();
    at.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
}

proptest! {
    #[test]
    fn every_algorithm_agrees_with_the_sdk_on_data_fed_in_any_pieces(
        data in proptest::collection::vec(any::<u8>(), 0..5000),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        for algorithm in Algorithm::ALL {
            let mut hasher = Hasher::new(algorithm);
            for piece in pieces(&data, &cuts) {
                hasher.update(&piece);
            }
            let sum = hasher.finish();
            prop_assert_eq!(sum.to_base64(), oracle(algorithm, &data), "{:?}", algorithm);
            prop_assert_eq!(Checksum::from_base64(algorithm, sum.to_base64().as_bytes()), Some(sum));
        }
        // An implementation independent of crc-fast, for the CRC the SDK also takes from it.
        let crc32 = digest_of(Algorithm::Crc32, &data);
        prop_assert_eq!(crc32.digest(), &crc32fast::hash(&data).to_be_bytes()[..]);
    }

    #[test]
    fn arbitrary_bytes_as_a_value_never_panic(
        value in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        for algorithm in Algorithm::ALL {
            if let Some(sum) = Checksum::from_base64(algorithm, &value) {
                let text = sum.to_base64();
                prop_assert_eq!(text.as_bytes(), &value[..]);
            }
        }
    }
}
