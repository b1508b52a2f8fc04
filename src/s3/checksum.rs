//! S3 flexible checksums (AWS S3 User Guide, "Checking object integrity"; API reference,
//! PutObject, UploadPart and CreateMultipartUpload request headers): the five algorithms,
//! an incremental hasher, and the values, which are base64 of the big-endian digest.
//! What a request announces (a header or an aws-chunked trailer) is read by [`announced`]
//! and checked by [`Verifier`], with S3's error codes and messages.

mod request;

pub use request::{Announced, Verifier, announced, multipart};

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderName;
use subtle::ConstantTimeEq;

use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::{
    CHECKSUM_CRC32, CHECKSUM_CRC32C, CHECKSUM_CRC64NVME, CHECKSUM_SHA1, CHECKSUM_SHA256,
};

/// Longest digest of any algorithm (SHA-256).
const MAX_DIGEST: usize = 32;

/// A checksum algorithm S3 supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// CRC-32 as in ISO-HDLC, zlib and Ethernet (check value `cbf43926`).
    Crc32,
    /// CRC-32C, Castagnoli (check value `e3069283`).
    Crc32c,
    /// CRC-64/NVME (check value `ae8b14860a799888`); S3's default.
    Crc64Nvme,
    /// SHA-1 (FIPS 180-4).
    Sha1,
    /// SHA-256 (FIPS 180-4).
    Sha256,
}

/// How a multipart upload's checksum covers the object (`x-amz-checksum-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumType {
    /// One checksum of the whole object (CRCs only).
    FullObject,
    /// A checksum of the parts' checksums, with a `-N` part count.
    Composite,
}

impl Algorithm {
    /// Every algorithm, in the order AWS lists them.
    pub const ALL: [Self; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// The name as AWS spells it in `x-amz-sdk-checksum-algorithm`,
    /// `x-amz-checksum-algorithm` and its messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The header (and trailer field) that carries a value of this algorithm.
    pub const fn header(self) -> HeaderName {
        match self {
            Self::Crc32 => CHECKSUM_CRC32,
            Self::Crc32c => CHECKSUM_CRC32C,
            Self::Crc64Nvme => CHECKSUM_CRC64NVME,
            Self::Sha1 => CHECKSUM_SHA1,
            Self::Sha256 => CHECKSUM_SHA256,
        }
    }

    /// Length of the raw digest in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// The algorithm of a name (`CRC32`, …), in any case.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The algorithm of a header or trailer name (`x-amz-checksum-crc32`, …), in any case.
    pub fn from_header(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.header().as_str().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Whether a multipart upload may use this algorithm with `ty` (User Guide, "Checking
    /// object integrity", "Using part-level checksums for multipart uploads"): CRC-64/NVME
    /// is full-object only, the SHAs composite only, CRC-32 and CRC-32C either.
    pub const fn supports(self, ty: ChecksumType) -> bool {
        !matches!(
            (self, ty),
            (Self::Crc64Nvme, ChecksumType::Composite)
                | (Self::Sha1 | Self::Sha256, ChecksumType::FullObject)
        )
    }

    /// The type a multipart upload gets when it names no `x-amz-checksum-type`.
    pub const fn default_type(self) -> ChecksumType {
        match self {
            Self::Crc64Nvme => ChecksumType::FullObject,
            _ => ChecksumType::Composite,
        }
    }

    /// A hasher for this algorithm.
    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }
}

impl ChecksumType {
    /// The value as AWS spells it in `x-amz-checksum-type`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::FullObject => "FULL_OBJECT",
            Self::Composite => "COMPOSITE",
        }
    }

    /// The type of an `x-amz-checksum-type` value (exact spelling).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        [Self::FullObject, Self::Composite]
            .into_iter()
            .find(|t| t.name().as_bytes() == name)
    }
}

/// A checksum value: an algorithm and its raw digest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    algorithm: Algorithm,
    /// The digest in its first `algorithm.digest_len()` bytes; the rest are zero.
    bytes: [u8; MAX_DIGEST],
}

impl Checksum {
    /// A checksum from a raw digest of the algorithm's length.
    pub fn from_digest(algorithm: Algorithm, digest: &[u8]) -> Option<Self> {
        if digest.len() != algorithm.digest_len() {
            return None;
        }
        let mut bytes = [0; MAX_DIGEST];
        bytes[..digest.len()].copy_from_slice(digest);
        Some(Self { algorithm, bytes })
    }

    /// A checksum from its header form: standard, padded base64 (RFC 4648 §4) with no
    /// other characters and no non-zero pad bits, of exactly the algorithm's digest length.
    pub fn from_base64(algorithm: Algorithm, value: &[u8]) -> Option<Self> {
        // A base64 digest is at most 44 characters: a longer value is not decoded at all.
        if value.len() > MAX_DIGEST.div_ceil(3) * 4 {
            return None;
        }
        let decoded = STANDARD.decode(value).ok()?;
        Self::from_digest(algorithm, &decoded)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The raw digest (big-endian for the CRCs).
    pub fn digest(&self) -> &[u8] {
        &self.bytes[..self.algorithm.digest_len()]
    }

    /// The header form: base64 of the digest.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.digest())
    }

    /// Whether two checksums are equal: same algorithm, same digest (constant time in the
    /// digest).
    pub fn matches(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && bool::from(self.bytes.ct_eq(&other.bytes))
    }

    /// Checks the checksum of the body as received (`self`) against the one the client
    /// sent: 400 `BadDigest` when they differ.
    pub fn verify(&self, sent: &Self) -> Result<(), S3Error> {
        if self.matches(sent) {
            Ok(())
        } else {
            Err(bad_digest(sent.algorithm))
        }
    }
}

impl std::fmt::Debug for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.to_base64())
    }
}

/// 400 `BadDigest` as AWS answers a body that does not match its checksum:
/// "The CRC32 you specified did not match the calculated checksum." (the algorithm as
/// `name()` spells it; captured from S3 in aws/aws-sdk-ruby#3322 and in the AWS-compatible
/// gateways OpenStack Swift s3api, LocalStack and versitygw).
pub fn bad_digest(algorithm: Algorithm) -> S3Error {
    S3Error::new(
        S3ErrorCode::BadDigest,
        format!(
            "The {} you specified did not match the calculated checksum.",
            algorithm.name()
        ),
    )
    .with_reason(Reason::ChecksumMismatch)
}

/// An incremental checksum: feed the body as it streams, then [`finish`](Self::finish).
pub struct Hasher {
    algorithm: Algorithm,
    state: State,
}

enum State {
    /// Boxed: crc-fast's state carries its folding keys (about 300 bytes).
    Crc(Box<crc_fast::Digest>),
    Sha(digest::Context),
}

impl Hasher {
    /// A hasher with nothing fed yet.
    pub fn new(algorithm: Algorithm) -> Self {
        use crc_fast::CrcAlgorithm as Crc;
        let crc = |algorithm| State::Crc(Box::new(crc_fast::Digest::new(algorithm)));
        let state = match algorithm {
            Algorithm::Crc32 => crc(Crc::Crc32IsoHdlc),
            Algorithm::Crc32c => crc(Crc::Crc32Iscsi),
            Algorithm::Crc64Nvme => crc(Crc::Crc64Nvme),
            Algorithm::Sha1 => State::Sha(digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY)),
            Algorithm::Sha256 => State::Sha(digest::Context::new(&digest::SHA256)),
        };
        Self { algorithm, state }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Feeds the next bytes of the body.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc(crc) => crc.update(data),
            State::Sha(sha) => sha.update(data),
        }
    }

    /// The checksum of everything fed.
    pub fn finish(self) -> Checksum {
        let mut bytes = [0; MAX_DIGEST];
        match self.state {
            State::Crc(crc) => {
                let value = crc.finalize().to_be_bytes();
                // A 32-bit CRC is the low half of the u64.
                let len = self.algorithm.digest_len();
                bytes[..len].copy_from_slice(&value[value.len() - len..]);
            }
            State::Sha(sha) => {
                let out = sha.finish();
                let out = out.as_ref();
                let len = out.len().min(MAX_DIGEST);
                bytes[..len].copy_from_slice(&out[..len]);
            }
        }
        Checksum {
            algorithm: self.algorithm,
            bytes,
        }
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "checksum_tests.rs"]
mod tests;
