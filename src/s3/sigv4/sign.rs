//! The signer: SigV4 header authentication for a request the proxy sends to the store,
//! built with the same canonical request as verification (AWS IAM user guide, "Create a
//! signed AWS API request"), so what is verified and what is re-signed cannot drift apart.

use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::canonical::{ALGORITHM, Parts, canonical_request, push_joined, string_to_sign};
use super::crypto::{SecretKey, Signature, SigningKey};
use super::time::AmzDate;
use crate::s3::error::S3Error;
use crate::s3::headers::{AMZ_DATE, CONTENT_SHA256};

/// An access key pair to sign with.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret key.
    pub secret_key: SecretKey,
}

/// The headers a signature adds to a request, and what chunk signing needs.
#[derive(Clone)]
pub struct Signed {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    pub authorization: HeaderValue,
    /// `x-amz-date`.
    pub x_amz_date: HeaderValue,
    /// `x-amz-content-sha256`.
    pub x_amz_content_sha256: HeaderValue,
    /// The signature, seed of a chunk chain.
    pub signature: Signature,
    /// The scope's key.
    pub signing_key: SigningKey,
    /// `yyyymmdd/region/service/aws4_request`.
    pub scope: String,
    /// The signing time.
    pub date: AmzDate,
}

/// Signs `parts` for `region` and `service` at `now`. Every header in `parts.headers` is
/// signed (the caller passes exactly the headers to sign, `host` among them; an
/// `authorization` there is ignored), together with the `x-amz-date` and
/// `x-amz-content-sha256: payload_hash` this adds. `InternalError` if a header value or
/// the access key id cannot be written into a header.
pub fn sign(
    parts: &Parts<'_>,
    payload_hash: &str,
    credentials: &Credentials,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<Signed, S3Error> {
    sign_with(
        parts,
        payload_hash,
        &credentials.access_key_id,
        |date| SigningKey::derive(&credentials.secret_key, date, region, service),
        region,
        service,
        now,
    )
}

/// [`sign`] with the signing key of the request's date from `key_for` (a cache of
/// derived keys), for `access_key_id`.
pub fn sign_with(
    parts: &Parts<'_>,
    payload_hash: &str,
    access_key_id: &str,
    key_for: impl FnOnce(&str) -> SigningKey,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<Signed, S3Error> {
    let date = AmzDate::from_system_time(now);
    let x_amz_date = value(date.as_str())?;
    let x_amz_content_sha256 = value(payload_hash)?;
    let mut headers: HeaderMap = parts.headers.clone();
    headers.remove(http::header::AUTHORIZATION);
    headers.insert(AMZ_DATE, x_amz_date.clone());
    headers.insert(CONTENT_SHA256, x_amz_content_sha256.clone());
    let mut signed: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    signed.sort_unstable();
    let parts = Parts {
        headers: &headers,
        ..*parts
    };
    let canonical = canonical_request(&parts, &signed, payload_hash, false)?;
    let scope = format!("{}/{region}/{service}/aws4_request", date.date());
    let signing_key = key_for(date.date());
    let signature = signing_key.sign(string_to_sign(&date, &scope, &canonical).as_bytes());
    let mut authorization = String::with_capacity(256);
    authorization.push_str(ALGORITHM);
    authorization.push_str(" Credential=");
    authorization.push_str(access_key_id);
    authorization.push('/');
    authorization.push_str(&scope);
    authorization.push_str(", SignedHeaders=");
    push_joined(&mut authorization, &signed, ';');
    authorization.push_str(", Signature=");
    authorization.push_str(signature.as_str());
    Ok(Signed {
        authorization: value(&authorization)?,
        x_amz_date,
        x_amz_content_sha256,
        signature,
        signing_key,
        scope,
        date,
    })
}

impl std::fmt::Debug for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Authorization` is a sensitive header: it is left out, as from logs.
        f.debug_struct("Signed")
            .field("signature", &self.signature)
            .field("signing_key", &self.signing_key)
            .field("scope", &self.scope)
            .field("date", &self.date)
            .finish_non_exhaustive()
    }
}

fn value(text: &str) -> Result<HeaderValue, S3Error> {
    HeaderValue::from_str(text).map_err(|_| S3Error::internal())
}
