//! aws-chunked framing for the store, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: a payload of
//! known length in chunks of [`CHUNK`] bytes, then its checksum as the one trailer field.
//! Resign mode decodes a client's aws-chunked body to check it; a checksum the client
//! sent as a trailer would be lost with the framing, and some stores (Garage) want one
//! with every part of an upload created with a checksum algorithm. So the decoded payload
//! is framed again, unsigned (the proxy has checked it), and the verified checksum sent
//! as the trailer.
//!
//! Written by hand for the same reason as the decoder: the smithy encoder wraps its own
//! body type, and this one only cuts the slices it is handed (no payload byte is copied).

use bytes::Bytes;

use crate::s3::checksum::{Algorithm, Checksum};

/// Payload bytes per chunk, as the AWS SDKs send them.
pub const CHUNK: u64 = 64 * 1024;

/// More payload than the length the encoding was made for.
#[derive(Debug, thiserror::Error)]
#[error("aws-chunked payload longer than announced")]
pub struct Overrun;

/// Frames a payload of a length known in advance; see the module docs.
#[derive(Debug)]
pub struct Encoder {
    algorithm: Algorithm,
    /// The payload's length.
    length: u64,
    /// Payload bytes still to come.
    left: u64,
    /// Bytes still to come in the chunk being written.
    in_chunk: u64,
    /// Whether a chunk was opened (its CRLF goes before the next size line).
    opened: bool,
}

impl Encoder {
    /// An encoder for `length` payload bytes whose trailer carries an `algorithm` checksum.
    pub fn new(length: u64, algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            length,
            left: length,
            in_chunk: 0,
            opened: false,
        }
    }

    /// The payload's length.
    pub fn payload_length(&self) -> u64 {
        self.length
    }

    /// The algorithm of the trailer's checksum.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The length of the whole encoding: what `Content-Length` says.
    pub fn encoded_length(&self) -> u64 {
        let framed = |size: u64| hex_digits(size) + 2 + size + 2;
        let full = self.length / CHUNK;
        let rest = self.length % CHUNK;
        let trailer = self.algorithm.header().as_str().len() as u64
            + 1
            + (self.algorithm.digest_len() as u64).div_ceil(3) * 4
            + 2;
        full * framed(CHUNK) + if rest > 0 { framed(rest) } else { 0 } + 3 + trailer + 2
    }

    /// Frames the next payload bytes: hands `out` the pieces to send, in order (size
    /// lines, and slices of `data`).
    pub fn encode(&mut self, mut data: Bytes, mut out: impl FnMut(Bytes)) -> Result<(), Overrun> {
        while !data.is_empty() {
            if self.in_chunk == 0 {
                let size = self.left.min(CHUNK);
                if size == 0 {
                    return Err(Overrun);
                }
                let line = match self.opened {
                    true => format!("\r\n{size:x}\r\n"),
                    false => format!("{size:x}\r\n"),
                };
                out(Bytes::from(line));
                self.opened = true;
                self.in_chunk = size;
            }
            let n = usize::try_from(self.in_chunk).map_or(data.len(), |n| n.min(data.len()));
            out(data.split_to(n));
            self.in_chunk -= n as u64;
            self.left -= n as u64;
        }
        Ok(())
    }

    /// The end of the encoding once the whole payload was framed: the last chunk's CRLF,
    /// the final chunk and the trailer with `checksum`. `None` when payload is missing or
    /// `checksum` is not of the announced algorithm.
    pub fn finish(&self, checksum: &Checksum) -> Option<Bytes> {
        if self.left != 0 || self.in_chunk != 0 || checksum.algorithm() != self.algorithm {
            return None;
        }
        let close = if self.opened { "\r\n" } else { "" };
        let name = self.algorithm.header();
        let value = checksum.to_base64();
        Some(Bytes::from(format!(
            "{close}0\r\n{}:{value}\r\n\r\n",
            name.as_str()
        )))
    }
}

/// How many hex digits `n` takes (one for zero).
fn hex_digits(n: u64) -> u64 {
    u64::from((64 - n.leading_zeros()).div_ceil(4).max(1))
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
