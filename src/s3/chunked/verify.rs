//! An aws-chunked body checked as `auth.mode = "resign"` needs it: the framing, every
//! chunk signature, the trailer signature and the announced checksum over the decoded
//! payload (AWS S3 API reference, "Signature Calculations for the Authorization Header:
//! Transferring Payload in Multiple Chunks" and "…: Including Trailing Headers"; User
//! Guide, "Checking object integrity").

use super::{Decoder, Event, Framing, Signing};
use crate::s3::checksum::{self, Algorithm, Announced, Checksum};
use crate::s3::error::S3Error;
use crate::s3::sigv4::{ChunkChain, Verified};

/// Decodes an aws-chunked body and checks what its signature and checksum announce. Feed
/// the body with [`Verifier::feed`] as it arrives, then [`Verifier::finish`] at its end:
/// only then is the body known good. Memory: the decoder's bounds, nothing per byte.
#[derive(Debug)]
pub struct Verifier {
    decoder: Decoder,
    /// The chunk-signature chain, when chunks are signed.
    chain: Option<ChunkChain>,
    /// Whether the trailer carries `x-amz-trailer-signature` to check.
    signs_trailer: bool,
    /// The checksum announced, as a header or a trailer.
    checksum: Option<checksum::Verifier>,
    /// The algorithm of a checksum announced as a trailer field.
    trailer_checksum: Option<Algorithm>,
    /// The trailer field's checksum, once the body's matched it.
    verified_trailer: Option<Checksum>,
    /// The first refusal; every later call repeats it.
    failed: Option<S3Error>,
}

impl Verifier {
    /// A verifier for a body of `framing`, in a request whose signature verified as
    /// `verified` and which announced `announced` (`checksum::announced`). Chunk and
    /// trailer signatures are checked when `verified.payload` signs them; the framing
    /// must agree with it (both are read from `x-amz-content-sha256`).
    pub fn new(verified: &Verified, framing: Framing, announced: &Announced) -> Self {
        let signs_chunks = verified.payload.signs_chunks();
        let failed = match (signs_chunks, framing.signing) {
            (true, Signing::Hmac) | (false, Signing::Unsigned) => None,
            // The verifier's reading and the framing's differ: a bug, not the client's.
            _ => Some(S3Error::internal()),
        };
        Self {
            decoder: Decoder::new(framing),
            chain: signs_chunks.then(|| verified.chunk_chain()),
            signs_trailer: verified.payload.signs_trailer(),
            checksum: checksum::Verifier::new(announced),
            trailer_checksum: match announced {
                Announced::Trailer(algorithm) => Some(*algorithm),
                Announced::None | Announced::Header(_) => None,
            },
            verified_trailer: None,
            failed,
        }
    }

    /// `x-amz-decoded-content-length`, when the request sent one.
    pub fn decoded_length(&self) -> Option<u64> {
        self.decoder.framing().decoded_length
    }

    /// The algorithm of a checksum announced as a trailer field (which a decoded body
    /// loses unless it is framed again for the store).
    pub fn trailer_algorithm(&self) -> Option<Algorithm> {
        self.trailer_checksum
    }

    /// The checksum a trailer field carried, after [`Verifier::finish`] found the body's
    /// equal to it.
    pub fn verified_trailer(&self) -> Option<Checksum> {
        self.verified_trailer
    }

    /// Payload bytes decoded so far.
    pub fn decoded(&self) -> u64 {
        self.decoder.decoded()
    }

    /// Consumes the next piece of the body, handing payload bytes to `payload` (slices of
    /// `input`). A refusal is S3's answer: the framing's, or 403 `SignatureDoesNotMatch`
    /// for a chunk signature. After one the body must be abandoned.
    pub fn feed(&mut self, input: &[u8], mut payload: impl FnMut(&[u8])) -> Result<(), S3Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut refused = None;
        let (chain, checksum) = (&mut self.chain, &mut self.checksum);
        let fed = self.decoder.feed_events(input, |event| match event {
            Event::Data(data) => {
                if let Some(chain) = chain.as_mut() {
                    chain.update(data);
                }
                if let Some(checksum) = checksum.as_mut() {
                    checksum.update(data);
                }
                payload(data);
            }
            Event::ChunkEnd(signature) => {
                if let Some(chain) = chain.as_mut()
                    && refused.is_none()
                    && let Err(e) = chain.finish_chunk(signature)
                {
                    refused = Some(e);
                }
            }
        });
        let result = match (fed, refused) {
            (Err(e), _) => Err(e.to_s3()),
            (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => Ok(()),
        };
        result.map_err(|e| self.fail(e))
    }

    /// The end of the body: the framing must be complete, then the trailer signature must
    /// match (403 `SignatureDoesNotMatch`), then the checksum (400 `BadDigest`).
    pub fn finish(&mut self) -> Result<(), S3Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.check_end();
        result.map_err(|e| self.fail(e))
    }

    fn check_end(&mut self) -> Result<(), S3Error> {
        self.decoder.finish().map_err(|e| e.to_s3())?;
        if self.signs_trailer {
            let (Some(chain), Some(signature)) =
                (self.chain.as_mut(), self.decoder.trailer_signature())
            else {
                return Err(S3Error::internal());
            };
            let fields = self
                .decoder
                .trailers()
                .map(|(name, value)| (name, std::str::from_utf8(value).unwrap_or_default()));
            chain.finish_trailer(fields, signature)?;
        }
        if let Some(checksum) = self.checksum.take() {
            let sent = self.trailer_checksum.and_then(|algorithm| {
                let name = algorithm.header();
                self.decoder
                    .trailers()
                    .find_map(|(n, value)| (n == name.as_str()).then_some(value))
            });
            let computed = checksum.finish(sent)?;
            if self.trailer_checksum.is_some() {
                self.verified_trailer = Some(computed);
            }
        }
        Ok(())
    }

    fn fail(&mut self, e: S3Error) -> S3Error {
        self.failed = Some(e.clone());
        e
    }
}
