//! What a request announces about its checksum, and the check of its body against it.
//! PutObject and UploadPart (AWS S3 API reference): one `x-amz-checksum-*` header, or one
//! `x-amz-checksum-*` trailer field named by `x-amz-trailer` in an aws-chunked body, with
//! an optional `x-amz-sdk-checksum-algorithm`; CreateMultipartUpload:
//! `x-amz-checksum-algorithm` and `x-amz-checksum-type`.
//!
//! AWS's reference gives no texts for these errors. The messages are S3's as recorded by
//! servers built to answer like it: OpenStack Swift's s3api (`s3request.py`), moto and
//! versitygw, which agree on every text used here.

use http::{HeaderMap, HeaderValue};

use super::{Algorithm, Checksum, ChecksumType, Hasher};
use crate::s3::chunked::Framing;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::{
    AMZ_TRAILER, CHECKSUM_ALGORITHM, CHECKSUM_MODE, CHECKSUM_PREFIX, CHECKSUM_TYPE,
    SDK_CHECKSUM_ALGORITHM,
};

/// Where a request's checksum comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announced {
    /// No checksum: nothing to verify.
    None,
    /// An `x-amz-checksum-*` header, known before the body.
    Header(Checksum),
    /// An aws-chunked trailer field named [`Algorithm::header`], read after the body.
    Trailer(Algorithm),
}

impl Announced {
    /// The algorithm announced, if any.
    pub fn algorithm(&self) -> Option<Algorithm> {
        match self {
            Self::None => None,
            Self::Header(sum) => Some(sum.algorithm()),
            Self::Trailer(algorithm) => Some(*algorithm),
        }
    }
}

/// Reads what a PutObject or UploadPart request announces. `framing` is the request's
/// aws-chunked framing (`None` when its body is not aws-chunked): its `declared` names are
/// the trailer fields `x-amz-trailer` announces.
pub fn announced(headers: &HeaderMap, framing: Option<&Framing>) -> Result<Announced, S3Error> {
    let in_header = header_checksum(headers)?;
    let in_trailer = trailer_checksum(headers, framing)?;
    let announced = match (in_header, in_trailer) {
        (Some(_), Some(_)) => {
            // S3 drops the second sentence when the two are a header and a trailer.
            return Err(invalid("Expecting a single x-amz-checksum- header"));
        }
        (Some(sum), None) => Announced::Header(sum),
        (None, Some(algorithm)) => Announced::Trailer(algorithm),
        (None, None) => Announced::None,
    };
    let Some(sdk) = single(headers, &SDK_CHECKSUM_ALGORITHM)? else {
        return Ok(announced);
    };
    let sdk = Algorithm::from_name(sdk.as_bytes()).ok_or_else(unsupported)?;
    match announced.algorithm() {
        None => Err(invalid(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.",
        )),
        Some(algorithm) if algorithm != sdk => Err(invalid(
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        )),
        Some(_) => Ok(announced),
    }
}

/// The one `x-amz-checksum-<algorithm>` header, if any, with a well-formed value.
fn header_checksum(headers: &HeaderMap) -> Result<Option<Checksum>, S3Error> {
    let mut found: Option<(Algorithm, &HeaderValue)> = None;
    for (name, value) in headers {
        let is_checksum = name.as_str().starts_with(CHECKSUM_PREFIX)
            && ![&CHECKSUM_ALGORITHM, &CHECKSUM_TYPE, &CHECKSUM_MODE].contains(&name);
        if !is_checksum {
            continue;
        }
        let algorithm = Algorithm::from_header(name.as_str().as_bytes()).ok_or_else(|| {
            invalid("The algorithm type you specified in x-amz-checksum- header is invalid.")
        })?;
        if found.is_some() {
            return Err(multiple());
        }
        found = Some((algorithm, value));
    }
    let Some((algorithm, value)) = found else {
        return Ok(None);
    };
    Checksum::from_base64(algorithm, value.as_bytes())
        .map(Some)
        .ok_or_else(|| {
            invalid(format!(
                "Value for {} header is invalid.",
                algorithm.header().as_str()
            ))
        })
}

/// The one checksum trailer field `x-amz-trailer` announces, if any.
fn trailer_checksum(
    headers: &HeaderMap,
    framing: Option<&Framing>,
) -> Result<Option<Algorithm>, S3Error> {
    let declared = match framing {
        Some(framing) if framing.trailer => framing.declared.as_slice(),
        // `x-amz-trailer` on a body that cannot carry a trailer.
        _ if headers.contains_key(AMZ_TRAILER) => return Err(malformed_trailer()),
        _ => return Ok(None),
    };
    let mut found = None;
    for name in declared {
        let algorithm = Algorithm::from_header(name.as_bytes()).ok_or_else(|| {
            invalid("The value specified in the x-amz-trailer header is not supported")
        })?;
        if found.is_some() {
            return Err(multiple());
        }
        found = Some(algorithm);
    }
    Ok(found)
}

/// Checks a body against what its request announced, as the body streams past.
#[derive(Debug)]
pub struct Verifier {
    hasher: Hasher,
    sent: Option<Checksum>,
}

impl Verifier {
    /// A verifier for an announcement; `None` when there is nothing to verify.
    pub fn new(announced: &Announced) -> Option<Self> {
        let (algorithm, sent) = match *announced {
            Announced::None => return None,
            Announced::Header(sum) => (sum.algorithm(), Some(sum)),
            Announced::Trailer(algorithm) => (algorithm, None),
        };
        Some(Self {
            hasher: Hasher::new(algorithm),
            sent,
        })
    }

    /// Feeds the next bytes of the body (the decoded payload of an aws-chunked body).
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    /// The end of the body. `trailer` is the value of the trailer field when the checksum
    /// was announced in `x-amz-trailer`; a header's value is already known. Returns the
    /// checksum of the body when it matches.
    pub fn finish(self, trailer: Option<&[u8]>) -> Result<Checksum, S3Error> {
        let algorithm = self.hasher.algorithm();
        let sent = match (self.sent, trailer) {
            (Some(sent), _) => sent,
            (None, None) => return Err(malformed_trailer()),
            (None, Some(value)) => Checksum::from_base64(algorithm, value).ok_or_else(|| {
                invalid(format!(
                    "Value for {} trailing header is invalid.",
                    algorithm.header().as_str()
                ))
            })?,
        };
        let computed = self.hasher.finish();
        computed.verify(&sent)?;
        Ok(computed)
    }
}

/// Reads a CreateMultipartUpload request's `x-amz-checksum-algorithm` and
/// `x-amz-checksum-type`: `None` without an algorithm, else the algorithm and the type
/// (the algorithm's default when none is named).
pub fn multipart(headers: &HeaderMap) -> Result<Option<(Algorithm, ChecksumType)>, S3Error> {
    let algorithm = single(headers, &CHECKSUM_ALGORITHM)?;
    let ty = single(headers, &CHECKSUM_TYPE)?;
    let Some(algorithm) = algorithm else {
        return match ty {
            None => Ok(None),
            Some(_) => Err(invalid(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            )),
        };
    };
    let algorithm = Algorithm::from_name(algorithm.as_bytes()).ok_or_else(unsupported)?;
    let ty = match ty {
        None => algorithm.default_type(),
        Some(ty) => ChecksumType::from_name(ty.as_bytes())
            .ok_or_else(|| invalid("Value for x-amz-checksum-type header is invalid."))?,
    };
    if !algorithm.supports(ty) {
        return Err(invalid(format!(
            "The {} checksum type cannot be used with the {} checksum algorithm.",
            ty.name(),
            algorithm.name().to_ascii_lowercase()
        )));
    }
    Ok(Some((algorithm, ty)))
}

/// The value of a header that may be given once; a repeat is refused.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &http::HeaderName,
) -> Result<Option<&'a HeaderValue>, S3Error> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(Some(value)),
        (Some(_), Some(_)) => Err(invalid(format!(
            "Value for {} header is invalid.",
            name.as_str()
        ))),
    }
}

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> S3Error {
    S3Error::new(S3ErrorCode::InvalidRequest, message).with_reason(Reason::ChecksumHeader)
}

fn multiple() -> S3Error {
    invalid("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
}

fn unsupported() -> S3Error {
    invalid(
        "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
    )
}

/// The answer `chunked.rs` gives a malformed trailer, for a trailer announced on a body
/// that cannot carry one, or announced and missing.
fn malformed_trailer() -> S3Error {
    S3Error::new(
        S3ErrorCode::MalformedTrailerError,
        "The request contained trailing data that was not well-formed or did not conform to our published schema.",
    )
    .with_reason(Reason::ChecksumHeader)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
