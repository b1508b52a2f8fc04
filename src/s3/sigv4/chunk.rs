//! Chunk and trailer signatures of streaming uploads, as incremental state (AWS S3 API
//! reference, "Signature Calculations for the Authorization Header: Transferring Payload
//! in Multiple Chunks" and "…: Including Trailing Headers").
//!
//! ```text
//! AWS4-HMAC-SHA256-PAYLOAD\n<timestamp>\n<scope>\n<previous signature>\n
//!     <hex SHA-256 of "">\n<hex SHA-256 of the chunk data>
//! AWS4-HMAC-SHA256-TRAILER\n<timestamp>\n<scope>\n<previous signature>\n
//!     <hex SHA-256 of the trailer lines, each "name:value\n">
//! ```
//! The chain starts from the seed (request) signature; each signature becomes the
//! previous one of the next chunk, the final empty chunk's that of the trailer.

use super::crypto::{EMPTY_SHA256, Sha256, Signature, SigningKey, hex};
use super::refuse;
use super::time::AmzDate;
use crate::s3::error::S3Error;

const PAYLOAD_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";
const TRAILER_ALGORITHM: &str = "AWS4-HMAC-SHA256-TRAILER";

/// The signature chain of one aws-chunked body. Feed a chunk's data with
/// [`ChunkChain::update`] (in as many pieces as it arrives), then check the signature its
/// chunk line announced with [`ChunkChain::finish_chunk`].
#[derive(Debug)]
pub struct ChunkChain {
    key: SigningKey,
    date: AmzDate,
    scope: String,
    previous: Signature,
    chunk: Sha256,
}

impl ChunkChain {
    /// A chain from the request's signing key, time, scope and seed signature.
    pub fn new(key: SigningKey, date: AmzDate, scope: String, seed: Signature) -> Self {
        Self {
            key,
            date,
            scope,
            previous: seed,
            chunk: Sha256::new(),
        }
    }

    /// Feeds data of the current chunk.
    pub fn update(&mut self, data: &[u8]) {
        self.chunk.update(data);
    }

    /// Ends the current chunk: `SignatureDoesNotMatch` unless `provided` (the hex digits of
    /// its `chunk-signature=`) is its signature. On success the chain moves on; on failure
    /// the body must be abandoned.
    pub fn finish_chunk(&mut self, provided: &[u8]) -> Result<(), S3Error> {
        let data = std::mem::take(&mut self.chunk).finish();
        let mut hashes = String::with_capacity(129);
        hashes.push_str(EMPTY_SHA256);
        hashes.push('\n');
        hashes.push_str(&String::from_utf8_lossy(&hex(&data)));
        let expected = self.sign(PAYLOAD_ALGORITHM, &hashes);
        self.advance(expected, provided)
    }

    /// Checks the trailer's `x-amz-trailer-signature` over `trailers` (name, value), after
    /// the final chunk. Each becomes `name:value\n` with the name lower-cased and the value
    /// trimmed, in name order, as the SDKs write them.
    pub fn finish_trailer<'a>(
        &mut self,
        trailers: impl IntoIterator<Item = (&'a str, &'a str)>,
        provided: &[u8],
    ) -> Result<(), S3Error> {
        let mut lines: Vec<(String, &str)> = trailers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
            .collect();
        lines.sort_unstable();
        let mut hash = Sha256::new();
        for (name, value) in &lines {
            hash.update(name.as_bytes());
            hash.update(b":");
            hash.update(value.as_bytes());
            hash.update(b"\n");
        }
        let digest = String::from_utf8_lossy(&hex(&hash.finish())).into_owned();
        let expected = self.sign(TRAILER_ALGORITHM, &digest);
        self.advance(expected, provided)
    }

    /// The signature the next chunk (or the trailer) chains from.
    pub fn previous(&self) -> &Signature {
        &self.previous
    }

    fn sign(&self, algorithm: &str, hashes: &str) -> Signature {
        let previous = self.previous.as_str();
        let mut text = String::with_capacity(algorithm.len() + self.scope.len() + 220);
        for part in [algorithm, self.date.as_str(), &self.scope, previous] {
            text.push_str(part);
            text.push('\n');
        }
        text.push_str(hashes);
        self.key.sign(text.as_bytes())
    }

    fn advance(&mut self, expected: Signature, provided: &[u8]) -> Result<(), S3Error> {
        if !expected.matches(provided) {
            return Err(refuse::signature_mismatch());
        }
        self.previous = expected;
        Ok(())
    }
}
