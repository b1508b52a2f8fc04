//! The refusals of SigV4 verification, with S3's codes and messages (AWS S3 API reference,
//! "Error responses", and S3's answers as observed on the wire). Nothing secret is ever put
//! in a message: no key, no signature, no header value.

use std::borrow::Cow;

use crate::s3::error::{Reason, S3Error, S3ErrorCode};

const HEADER_MALFORMED: &str = "The authorization header is malformed; ";
const QUERY_CREDENTIAL: &str = "Error parsing the X-Amz-Credential parameter; ";
const CREDENTIAL_FORMAT: &str =
    "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";

/// Where the signature came from; decides the code of a malformed credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The `Authorization` header.
    Header,
    /// The `X-Amz-*` query parameters of a presigned URL.
    Query,
}

/// A malformed credential or header body, in the code and prefix of its location.
pub fn malformed(location: Location, detail: impl Into<Cow<'static, str>>) -> S3Error {
    let detail = detail.into();
    let (code, prefix) = match location {
        Location::Header => (S3ErrorCode::AuthorizationHeaderMalformed, HEADER_MALFORMED),
        Location::Query => (
            S3ErrorCode::AuthorizationQueryParametersError,
            QUERY_CREDENTIAL,
        ),
    };
    S3Error::new(code, format!("{prefix}{detail}")).with_reason(Reason::SigV4Malformed)
}

/// A credential that is not `AK/yyyymmdd/region/service/aws4_request`.
pub fn credential_format(location: Location) -> S3Error {
    malformed(location, CREDENTIAL_FORMAT)
}

/// `Authorization` without its three components, or with one S3 cannot read.
pub fn header_components() -> S3Error {
    malformed(
        Location::Header,
        "the authorization header requires three components: Credential, SignedHeaders, and \
         Signature.",
    )
}

/// 400 `AuthorizationQueryParametersError` with S3's message.
pub fn query_parameters(message: impl Into<Cow<'static, str>>) -> S3Error {
    S3Error::new(S3ErrorCode::AuthorizationQueryParametersError, message)
        .with_reason(Reason::SigV4Malformed)
}

/// A presigned URL that lacks one of its six parameters, or repeats one.
pub fn query_missing() -> S3Error {
    query_parameters(
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
         X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    )
}

/// Both an `Authorization` header and query authentication.
pub fn two_mechanisms() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidArgument,
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature \
         query string parameter or the Authorization header should be specified",
    )
    .with_argument_name("Authorization")
    .with_reason(Reason::SigV4Malformed)
}

/// An `Authorization` header without the one space after its scheme.
pub fn no_space() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidArgument,
        "Authorization header is invalid -- one and only one ' ' (space) required",
    )
    .with_argument_name("Authorization")
    .with_reason(Reason::SigV4Malformed)
}

/// An `Authorization` scheme S3 does not know.
pub fn unsupported_type() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidArgument,
        "Unsupported Authorization Type",
    )
    .with_argument_name("Authorization")
    .with_reason(Reason::SigV4Malformed)
}

/// Signature Version 2 or SigV4a, which S3 knows and the proxy does not verify: S3's answer
/// in the regions that take only `AWS4-HMAC-SHA256`.
pub fn unsupported_mechanism() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "The authorization mechanism you have provided is not supported. Please use \
         AWS4-HMAC-SHA256.",
    )
    .with_reason(Reason::SigV4Malformed)
}

/// A request with no signature at all.
pub fn anonymous() -> S3Error {
    S3Error::new(S3ErrorCode::AccessDenied, "Access Denied").with_reason(Reason::SigV4Missing)
}

/// No usable `x-amz-date` or `Date`.
pub fn no_date() -> S3Error {
    S3Error::new(
        S3ErrorCode::AccessDenied,
        "AWS authentication requires a valid Date or x-amz-date header",
    )
    .with_reason(Reason::SigV4Malformed)
}

/// A header-signed time more than 15 minutes from the clock.
pub fn skewed() -> S3Error {
    S3Error::new(
        S3ErrorCode::RequestTimeTooSkewed,
        "The difference between the request time and the current time is too large.",
    )
    .with_reason(Reason::SigV4Time)
}

/// A presigned URL past `X-Amz-Date + X-Amz-Expires`.
pub fn expired() -> S3Error {
    S3Error::new(S3ErrorCode::AccessDenied, "Request has expired").with_reason(Reason::SigV4Time)
}

/// A presigned URL dated more than 15 minutes ahead of the clock.
pub fn not_yet_valid() -> S3Error {
    S3Error::new(S3ErrorCode::AccessDenied, "Request is not valid yet")
        .with_reason(Reason::SigV4Time)
}

/// A header S3 requires to be signed (`host`, `content-md5`, `x-amz-*`) that is not.
pub fn unsigned_headers() -> S3Error {
    S3Error::new(
        S3ErrorCode::AccessDenied,
        "There were headers present in the request which were not signed",
    )
    .with_reason(Reason::SigV4UnsignedHeader)
}

/// An access key id not in the credential table.
pub fn unknown_key() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidAccessKeyId,
        "The AWS Access Key Id you provided does not exist in our records.",
    )
    .with_reason(Reason::SigV4UnknownKey)
}

/// A session token: the proxy's credentials are long-term keys, which take none.
pub fn invalid_token() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidToken,
        "The provided token is malformed or otherwise invalid.",
    )
    .with_reason(Reason::SigV4UnknownKey)
}

/// A signature that does not match (request, chunk or trailer).
pub fn signature_mismatch() -> S3Error {
    S3Error::new(
        S3ErrorCode::SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check \
         your key and signing method.",
    )
    .with_reason(Reason::SigV4Signature)
}

/// No `x-amz-content-sha256` on a header-signed request.
pub fn missing_content_sha256() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "Missing required header for this request: x-amz-content-sha256",
    )
    .with_reason(Reason::SigV4PayloadHash)
}

/// An `x-amz-content-sha256` that is neither a keyword S3 takes nor 64 hex digits.
pub fn bad_content_sha256() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidArgument,
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, \
         STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER \
         or a valid sha256 value.",
    )
    .with_argument_name("x-amz-content-sha256")
    .with_reason(Reason::SigV4PayloadHash)
}

/// A SigV4a (ECDSA) streaming payload: S3 takes it, the proxy does not verify it.
pub fn ecdsa_payload() -> S3Error {
    S3Error::new(
        S3ErrorCode::NotImplemented,
        "A header you provided implies functionality that is not implemented.",
    )
    .with_reason(Reason::SigV4PayloadHash)
}

/// A body that does not hash to the signed `x-amz-content-sha256`.
pub fn content_sha256_mismatch() -> S3Error {
    S3Error::new(
        S3ErrorCode::XAmzContentSHA256Mismatch,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
    .with_reason(Reason::SigV4PayloadHash)
}

/// A `%` that does not start an escape: not a URI.
pub fn invalid_uri() -> S3Error {
    S3Error::new(S3ErrorCode::InvalidURI, "Couldn't parse the specified URI.")
        .with_reason(Reason::InvalidUri)
}
