//! What `x-amz-content-sha256` says about the body (AWS S3 API reference, "Common Request
//! Headers" and "Authenticating Requests (AWS Signature Version 4)"), and the incremental
//! check of a signed payload's hash.

use super::crypto::{Sha256, parse_hex32};
use super::refuse;
use crate::s3::error::S3Error;

/// `UNSIGNED-PAYLOAD`.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`.
pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`.
pub const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// SigV4a streaming modes: S3 takes them; the proxy does not verify ECDSA.
const STREAMING_ECDSA: [&str; 2] = [
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
];

/// How the body is covered by the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadMode {
    /// A hex SHA-256: the body must hash to it (else `XAmzContentSHA256Mismatch`).
    Signed([u8; 32]),
    /// `UNSIGNED-PAYLOAD`: the body is not covered.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: aws-chunked, each chunk signed.
    StreamingSigned,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked, unsigned chunks and trailer.
    StreamingUnsignedTrailer,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks, then a signed trailer.
    StreamingSignedTrailer,
}

impl PayloadMode {
    /// Reads `x-amz-content-sha256` as S3 does: the keywords spelt exactly, or 64 hex
    /// digits of either case. SigV4a's streaming modes are `NotImplemented` here.
    pub fn parse(value: &[u8]) -> Result<Self, S3Error> {
        let mode = match value {
            v if v == UNSIGNED_PAYLOAD.as_bytes() => Self::Unsigned,
            v if v == STREAMING_SIGNED.as_bytes() => Self::StreamingSigned,
            v if v == STREAMING_UNSIGNED_TRAILER.as_bytes() => Self::StreamingUnsignedTrailer,
            v if v == STREAMING_SIGNED_TRAILER.as_bytes() => Self::StreamingSignedTrailer,
            v if STREAMING_ECDSA.iter().any(|e| e.as_bytes() == v) => {
                return Err(refuse::ecdsa_payload());
            }
            v => Self::Signed(parse_hex32(v).ok_or_else(refuse::bad_content_sha256)?),
        };
        Ok(mode)
    }

    /// Whether the body is aws-chunked.
    pub fn is_streaming(self) -> bool {
        !matches!(self, Self::Signed(_) | Self::Unsigned)
    }

    /// Whether each chunk carries a signature to check with a [`super::ChunkChain`].
    pub fn signs_chunks(self) -> bool {
        matches!(self, Self::StreamingSigned | Self::StreamingSignedTrailer)
    }

    /// Whether the trailer carries `x-amz-trailer-signature`.
    pub fn signs_trailer(self) -> bool {
        self == Self::StreamingSignedTrailer
    }

    /// A hasher for the body of a signed payload; `None` for the other modes.
    pub fn hasher(self) -> Option<PayloadHasher> {
        match self {
            Self::Signed(expected) => Some(PayloadHasher {
                expected,
                hash: Sha256::new(),
            }),
            _ => None,
        }
    }
}

/// Hashes a body as it streams and checks it against the signed SHA-256 at its end.
#[derive(Debug)]
pub struct PayloadHasher {
    expected: [u8; 32],
    hash: Sha256,
}

impl PayloadHasher {
    /// A hasher expecting `expected`.
    pub fn new(expected: [u8; 32]) -> Self {
        Self {
            expected,
            hash: Sha256::new(),
        }
    }

    /// Feeds body bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.hash.update(data);
    }

    /// At the end of the body: `XAmzContentSHA256Mismatch` unless it hashed to the signed
    /// value. (Both hashes are public: a plain comparison leaks nothing.)
    pub fn finish(self) -> Result<(), S3Error> {
        if self.hash.finish() == self.expected {
            Ok(())
        } else {
            Err(refuse::content_sha256_mismatch())
        }
    }
}
