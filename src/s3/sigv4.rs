//! AWS Signature Version 4 for S3, verified and produced without I/O (AWS S3 API reference,
//! "Authenticating Requests (AWS Signature Version 4)"): header and presigned-query
//! verification against a credential table, the chunk and trailer signatures of streaming
//! uploads, and a signer for re-signing requests to the store. Inputs are the request as
//! received (method, raw path and query, headers) and the clock, passed in explicitly.

use std::collections::HashMap;
use std::time::SystemTime;

use http::{HeaderMap, Method};

mod canonical;
mod chunk;
pub(crate) mod crypto;
mod parse;
mod payload;
mod post;
mod refuse;
mod sign;
mod time;
mod verify;

pub use canonical::{Parts, canonical_uri, decoded_canonical_uri, uri_encode};
pub use chunk::ChunkChain;
pub use crypto::{EMPTY_SHA256, SecretKey, Sha256, Signature, SigningKey};
pub use parse::check_forwarded_scope;
pub use payload::{
    PayloadHasher, PayloadMode, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER, UNSIGNED_PAYLOAD,
};
pub use post::{FormAuth, FormScope, FormSigned};
pub use refuse::{Location, content_sha256_mismatch};
pub use sign::{Credentials, Signed, Signer, sign, sign_with};
pub use time::AmzDate;

use crate::s3::error::S3Error;

/// The service name S3 signs for.
pub const SERVICE: &str = "s3";
/// How far a header-signed request time may be from the clock, either way; and how far
/// ahead of it a presigned URL may be dated (S3 API reference, "Authenticating Requests":
/// "within 15 minutes"; `RequestTimeTooSkewed` beyond).
pub const MAX_SKEW_SECS: u64 = 15 * 60;

/// The query parameters of presigned query authentication (S3 API reference,
/// "Authenticating Requests: Using Query Parameters").
pub const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// Where secret keys come from: the proxy's credential table.
pub trait CredentialStore {
    /// The secret key of `access_key_id`, if it is known.
    fn secret_key(&self, access_key_id: &str) -> Option<SecretKey>;

    /// The signing key of `access_key_id` for one scope, if the key is known. A table
    /// may keep derived keys (four HMACs each) rather than derive one per request.
    fn signing_key(
        &self,
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Option<SigningKey> {
        let secret = self.secret_key(access_key_id)?;
        Some(SigningKey::derive(&secret, date, region, service))
    }
}

impl CredentialStore for HashMap<String, SecretKey> {
    fn secret_key(&self, access_key_id: &str) -> Option<SecretKey> {
        self.get(access_key_id).cloned()
    }
}

impl<F: Fn(&str) -> Option<SecretKey>> CredentialStore for F {
    fn secret_key(&self, access_key_id: &str) -> Option<SecretKey> {
        self(access_key_id)
    }
}

/// A request as received: what its signature covers.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// The request-target path as received, still percent-encoded.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The headers; `host` must be among them (for HTTP/2, from `:authority`).
    pub headers: &'a HeaderMap,
}

/// A request whose signature verified: who signed it and what the body still owes.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The access key id that signed.
    pub access_key_id: String,
    /// Header or presigned query.
    pub location: Location,
    /// The key of the request's scope, for chunk and trailer signatures.
    pub signing_key: SigningKey,
    /// `yyyymmdd/region/s3/aws4_request`.
    pub scope: String,
    /// The signed request time.
    pub date: AmzDate,
    /// The request's signature, the seed of a chunk chain.
    pub signature: Signature,
    /// The signed header names, lower-case, sorted, separated by `;` (as signed; see
    /// [`Verified::signed_headers`]).
    pub signed_header_list: String,
    /// What `x-amz-content-sha256` says about the body (`UNSIGNED-PAYLOAD` for a presigned
    /// URL without one).
    pub payload: PayloadMode,
}

impl Verified {
    /// The signed header names, lower-case, sorted.
    pub fn signed_headers(&self) -> impl Iterator<Item = &str> {
        self.signed_header_list.split(';')
    }

    /// The chunk-signature chain of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` body,
    /// seeded with this request's signature.
    pub fn chunk_chain(&self) -> ChunkChain {
        ChunkChain::new(
            self.signing_key.clone(),
            self.date,
            self.scope.clone(),
            self.signature,
        )
    }
}

/// The verifier of one endpoint: its region, checked against every credential scope.
#[derive(Clone, Debug)]
pub struct Verifier {
    region: String,
    service: String,
    profile: Profile,
}

/// What S3 demands beyond SigV4 itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    /// S3: `x-amz-content-sha256` required on header auth, no session tokens.
    S3,
    /// Plain SigV4 as AWS's signing test suite exercises it: a missing
    /// `x-amz-content-sha256` means an empty body, and session tokens are taken.
    #[cfg(test)]
    Generic,
}

impl Verifier {
    /// A verifier for S3 in `region`.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            service: SERVICE.to_owned(),
            profile: Profile::S3,
        }
    }

    /// A verifier for plain SigV4 in `region` and `service` (AWS's test suite).
    #[cfg(test)]
    fn generic(region: &str, service: &str) -> Self {
        Self {
            region: region.to_owned(),
            service: service.to_owned(),
            profile: Profile::Generic,
        }
    }

    /// The region credential scopes must name.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Verifies the request's signature, header or presigned, at time `now`. A request
    /// without one is `AccessDenied`; every other failure carries S3's code and message.
    pub fn verify(
        &self,
        request: &Request<'_>,
        credentials: &dyn CredentialStore,
        now: SystemTime,
    ) -> Result<Verified, S3Error> {
        verify::verify(self, request, credentials, now)
    }
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "sigv4_query_tests.rs"]
mod query_tests;

#[cfg(test)]
#[path = "sigv4_property_tests.rs"]
mod property_tests;

#[cfg(test)]
#[path = "sigv4_suite_tests.rs"]
mod suite_tests;

#[cfg(test)]
#[path = "sigv4_chunk_tests.rs"]
mod chunk_tests;

#[cfg(test)]
#[path = "sigv4_oracle_tests.rs"]
mod oracle_tests;
