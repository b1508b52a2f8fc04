//! Table tests for reading a request's checksum announcement and verifying its body: one
//! row per S3 answer, with S3's message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::HeaderMap;

use super::*;
use crate::s3::chunked::Framing;

const DATA: &[u8] = b"123456789";
const CRC32: &str = "y/Q5Jg==";
const CRC32C: &str = "4waSgw==";
const SHA256: &str = "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=";

const MULTIPLE: &str =
    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.";
const UNSUPPORTED: &str = "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]";
const MALFORMED_TRAILER: &str = "The request contained trailing data that was not well-formed or did not conform to our published schema.";

/// Request headers, as name and value pairs.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn headers(pairs: Pairs) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    map
}

/// Reads the announcement of a request with these headers, its framing read from them too.
fn read(pairs: Pairs) -> Result<Announced, S3Error> {
    let map = headers(pairs);
    let framing = Framing::from_headers(&map).unwrap();
    announced(&map, framing.as_ref())
}

fn sum(algorithm: Algorithm, value: &str) -> Checksum {
    Checksum::from_base64(algorithm, value.as_bytes()).unwrap()
}

const TRAILER_MODE: (&str, &str) = ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
const SIGNED_TRAILER_MODE: (&str, &str) = (
    "x-amz-content-sha256",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
);
const STREAMING_MODE: (&str, &str) = ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");

#[test]
fn reads_what_a_request_announces() {
    let table: Vec<(Pairs, Announced)> = vec![
        (&[], Announced::None),
        (&[("x-amz-checksum-mode", "ENABLED")], Announced::None),
        (
            &[("x-amz-checksum-crc32", CRC32)],
            Announced::Header(sum(Algorithm::Crc32, CRC32)),
        ),
        (
            &[
                ("x-amz-checksum-sha256", SHA256),
                ("x-amz-sdk-checksum-algorithm", "SHA256"),
            ],
            Announced::Header(sum(Algorithm::Sha256, SHA256)),
        ),
        (
            &[
                ("x-amz-checksum-crc32c", CRC32C),
                ("x-amz-sdk-checksum-algorithm", "crc32c"),
            ],
            Announced::Header(sum(Algorithm::Crc32c, CRC32C)),
        ),
        (
            &[TRAILER_MODE, ("x-amz-trailer", "x-amz-checksum-crc64nvme")],
            Announced::Trailer(Algorithm::Crc64Nvme),
        ),
        (
            &[
                SIGNED_TRAILER_MODE,
                ("x-amz-trailer", "X-Amz-Checksum-Sha1"),
                ("x-amz-sdk-checksum-algorithm", "SHA1"),
            ],
            Announced::Trailer(Algorithm::Sha1),
        ),
        // A trailer mode with no trailer announced.
        (&[TRAILER_MODE], Announced::None),
        (
            &[TRAILER_MODE, ("x-amz-checksum-crc32", CRC32)],
            Announced::Header(sum(Algorithm::Crc32, CRC32)),
        ),
    ];
    for (pairs, want) in table {
        assert_eq!(read(pairs), Ok(want), "{pairs:?}");
    }
}

#[test]
fn refuses_what_s3_refuses_with_its_code_and_message() {
    use S3ErrorCode::{InvalidRequest, MalformedTrailerError};
    let table: Vec<(Pairs, S3ErrorCode, &str)> = vec![
        (
            &[
                ("x-amz-checksum-crc32", CRC32),
                ("x-amz-checksum-crc32c", CRC32C),
            ],
            InvalidRequest,
            MULTIPLE,
        ),
        (
            &[
                ("x-amz-checksum-crc32", CRC32),
                ("x-amz-checksum-crc32", CRC32),
            ],
            InvalidRequest,
            MULTIPLE,
        ),
        (
            &[("x-amz-checksum-md5", CRC32)],
            InvalidRequest,
            "The algorithm type you specified in x-amz-checksum- header is invalid.",
        ),
        (
            &[("x-amz-checksum-crc32", "y/Q5Jg")],
            InvalidRequest,
            "Value for x-amz-checksum-crc32 header is invalid.",
        ),
        (
            &[("x-amz-checksum-crc64nvme", CRC32)],
            InvalidRequest,
            "Value for x-amz-checksum-crc64nvme header is invalid.",
        ),
        (
            &[("x-amz-checksum-sha1", "cbf43926")],
            InvalidRequest,
            "Value for x-amz-checksum-sha1 header is invalid.",
        ),
        (
            &[(
                "x-amz-checksum-sha256",
                "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
            )],
            InvalidRequest,
            "Value for x-amz-checksum-sha256 header is invalid.",
        ),
        (
            &[
                TRAILER_MODE,
                ("x-amz-checksum-crc32", CRC32),
                ("x-amz-trailer", "x-amz-checksum-crc32c"),
            ],
            InvalidRequest,
            "Expecting a single x-amz-checksum- header",
        ),
        (
            &[
                TRAILER_MODE,
                ("x-amz-trailer", "x-amz-checksum-crc32, x-amz-checksum-sha1"),
            ],
            InvalidRequest,
            MULTIPLE,
        ),
        (
            &[TRAILER_MODE, ("x-amz-trailer", "x-amz-checksum-sha3")],
            InvalidRequest,
            "The value specified in the x-amz-trailer header is not supported",
        ),
        (
            &[TRAILER_MODE, ("x-amz-trailer", "x-amz-meta-later")],
            InvalidRequest,
            "The value specified in the x-amz-trailer header is not supported",
        ),
        (
            &[("x-amz-trailer", "x-amz-checksum-crc32")],
            MalformedTrailerError,
            MALFORMED_TRAILER,
        ),
        (
            &[STREAMING_MODE, ("x-amz-trailer", "x-amz-checksum-crc32")],
            MalformedTrailerError,
            MALFORMED_TRAILER,
        ),
        (
            &[("x-amz-sdk-checksum-algorithm", "CRC32")],
            InvalidRequest,
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.",
        ),
        (
            &[
                ("x-amz-checksum-crc32", CRC32),
                ("x-amz-sdk-checksum-algorithm", "SHA256"),
            ],
            InvalidRequest,
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        ),
        (
            &[
                TRAILER_MODE,
                ("x-amz-trailer", "x-amz-checksum-sha256"),
                ("x-amz-sdk-checksum-algorithm", "SHA1"),
            ],
            InvalidRequest,
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        ),
        (
            &[
                ("x-amz-checksum-crc32", CRC32),
                ("x-amz-sdk-checksum-algorithm", "MD4"),
            ],
            InvalidRequest,
            UNSUPPORTED,
        ),
        (
            &[
                ("x-amz-checksum-crc32", CRC32),
                ("x-amz-sdk-checksum-algorithm", "CRC32"),
                ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ],
            InvalidRequest,
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        ),
    ];
    for (pairs, code, message) in table {
        let err = read(pairs).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_ref()),
            (code, message),
            "{pairs:?}"
        );
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(err.reason, Some(Reason::ChecksumHeader));
    }
}

fn verify(
    announced: &Announced,
    pieces: &[&[u8]],
    trailer: Option<&str>,
) -> Result<Checksum, S3Error> {
    let mut verifier = Verifier::new(announced).unwrap();
    for piece in pieces {
        verifier.update(piece);
    }
    verifier.finish(trailer.map(str::as_bytes))
}

#[test]
fn verifies_a_header_checksum_against_the_body() {
    let announced = Announced::Header(sum(Algorithm::Crc32, CRC32));
    assert_eq!(
        verify(&announced, &[b"1234", b"", b"56789"], None),
        Ok(sum(Algorithm::Crc32, CRC32))
    );
    // A trailer value is not looked at when the header gave one.
    assert!(verify(&announced, &[DATA], Some("AAAAAA==")).is_ok());
    let err = verify(&announced, &[b"12345678"], None).unwrap_err();
    assert_eq!(err.code, S3ErrorCode::BadDigest);
    assert_eq!(
        err.message,
        "The CRC32 you specified did not match the calculated checksum."
    );
    assert!(Verifier::new(&Announced::None).is_none());
}

#[test]
fn verifies_a_trailer_checksum_against_the_body() {
    let announced = Announced::Trailer(Algorithm::Sha256);
    assert_eq!(
        verify(&announced, &[DATA], Some(SHA256)),
        Ok(sum(Algorithm::Sha256, SHA256))
    );
    let wrong = verify(&announced, &[b"12345678"], Some(SHA256)).unwrap_err();
    assert_eq!(
        (wrong.code, wrong.message.as_ref()),
        (
            S3ErrorCode::BadDigest,
            "The SHA256 you specified did not match the calculated checksum."
        )
    );
    let invalid = verify(&announced, &[DATA], Some(CRC32)).unwrap_err();
    assert_eq!(
        (invalid.code, invalid.message.as_ref()),
        (
            S3ErrorCode::InvalidRequest,
            "Value for x-amz-checksum-sha256 trailing header is invalid."
        )
    );
    let missing = verify(&announced, &[DATA], None).unwrap_err();
    assert_eq!(
        (missing.code, missing.message.as_ref()),
        (S3ErrorCode::MalformedTrailerError, MALFORMED_TRAILER)
    );
}

#[test]
fn reads_a_multipart_uploads_algorithm_and_type() {
    use ChecksumType::{Composite, FullObject};
    let ok: Vec<(Pairs, Option<(Algorithm, ChecksumType)>)> = vec![
        (&[], None),
        (
            &[("x-amz-checksum-algorithm", "CRC32")],
            Some((Algorithm::Crc32, Composite)),
        ),
        (
            &[("x-amz-checksum-algorithm", "crc64nvme")],
            Some((Algorithm::Crc64Nvme, FullObject)),
        ),
        (
            &[
                ("x-amz-checksum-algorithm", "CRC32C"),
                ("x-amz-checksum-type", "FULL_OBJECT"),
            ],
            Some((Algorithm::Crc32c, FullObject)),
        ),
        (
            &[
                ("x-amz-checksum-algorithm", "SHA1"),
                ("x-amz-checksum-type", "COMPOSITE"),
            ],
            Some((Algorithm::Sha1, Composite)),
        ),
    ];
    for (pairs, want) in ok {
        assert_eq!(multipart(&headers(pairs)), Ok(want), "{pairs:?}");
    }
    let refused: Vec<(Pairs, &str)> = vec![
        (
            &[("x-amz-checksum-type", "COMPOSITE")],
            "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
        ),
        (&[("x-amz-checksum-algorithm", "MD5")], UNSUPPORTED),
        (
            &[
                ("x-amz-checksum-algorithm", "CRC32"),
                ("x-amz-checksum-type", "PARTIAL"),
            ],
            "Value for x-amz-checksum-type header is invalid.",
        ),
        (
            &[
                ("x-amz-checksum-algorithm", "SHA256"),
                ("x-amz-checksum-type", "FULL_OBJECT"),
            ],
            "The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.",
        ),
        (
            &[
                ("x-amz-checksum-algorithm", "CRC64NVME"),
                ("x-amz-checksum-type", "COMPOSITE"),
            ],
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
        ),
        (
            &[
                ("x-amz-checksum-algorithm", "CRC32"),
                ("x-amz-checksum-algorithm", "SHA1"),
            ],
            "Value for x-amz-checksum-algorithm header is invalid.",
        ),
    ];
    for (pairs, message) in refused {
        let err = multipart(&headers(pairs)).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_ref()),
            (S3ErrorCode::InvalidRequest, message),
            "{pairs:?}"
        );
    }
}
