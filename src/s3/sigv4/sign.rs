//! The signer: SigV4 header authentication for a request the proxy sends to the store,
//! built with the same canonical request as verification (AWS IAM user guide, "Create a
//! signed AWS API request"), so what is verified and what is re-signed cannot drift apart.

use std::time::SystemTime;

use http::header::AUTHORIZATION;
use http::{HeaderName, HeaderValue};

use super::canonical::{
    ALGORITHM, Parts, PathReading, push_joined, string_to_sign, write_canonical,
};
use super::crypto::{SecretKey, Signature, SigningKey};
use super::payload::UNSIGNED_PAYLOAD;
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

/// Who signs a request: an access key id, its scope's region and service, and where its
/// signing key for a date (`yyyymmdd`) comes from (derived, or a cache of derived keys).
pub struct Signer<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The scope's region.
    pub region: &'a str,
    /// The scope's service.
    pub service: &'a str,
    /// The signing key of a date.
    pub key_for: &'a dyn Fn(&str) -> SigningKey,
}

/// Signs `parts` for `region` and `service` at `now`, the path as stores read it
/// (decoded, then encoded once: `PathReading::Decoded`). Every header in `parts.headers` is
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
    let signer = Signer {
        access_key_id: &credentials.access_key_id,
        region,
        service,
        key_for: &|date| SigningKey::derive(&credentials.secret_key, date, region, service),
    };
    sign_with(parts, |_| true, payload_hash, &signer, now)
}

/// [`sign`] by `signer`, signing only the headers of `parts` that `select` picks (the
/// others are sent unsigned); `authorization`, `x-amz-date` and `x-amz-content-sha256`
/// in `parts` are replaced by the signature's own.
pub fn sign_with(
    parts: &Parts<'_>,
    select: impl Fn(&HeaderName) -> bool,
    payload_hash: &str,
    signer: &Signer<'_>,
    now: SystemTime,
) -> Result<Signed, S3Error> {
    let date = AmzDate::from_system_time(now);
    let x_amz_date = value(date.as_str())?;
    let x_amz_content_sha256 = if payload_hash == UNSIGNED_PAYLOAD {
        HeaderValue::from_static(UNSIGNED_PAYLOAD)
    } else {
        value(payload_hash)?
    };
    let replaced =
        |name: &HeaderName| name == AUTHORIZATION || name == AMZ_DATE || name == CONTENT_SHA256;
    let mut entries: Vec<(&str, &HeaderValue)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !replaced(name) && select(name))
        .map(|(name, value)| (name.as_str(), value))
        .collect();
    let (date_name, hash_name) = (AMZ_DATE, CONTENT_SHA256);
    entries.push((date_name.as_str(), &x_amz_date));
    entries.push((hash_name.as_str(), &x_amz_content_sha256));
    // Stable: a repeated header's values keep their order.
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut signed: Vec<&str> = Vec::with_capacity(entries.len());
    let mut values = Vec::with_capacity(entries.len());
    for &(name, value) in &entries {
        if signed.last() != Some(&name) {
            signed.push(name);
        }
        values.push((signed.len() - 1, value));
    }
    let canonical = write_canonical(
        parts,
        PathReading::Decoded,
        &signed,
        &values,
        payload_hash,
        false,
    )?;
    let scope = super::parse::scope(date.date(), signer.region, signer.service);
    let signing_key = (signer.key_for)(date.date());
    let signature = signing_key.sign(string_to_sign(&date, &scope, &canonical).as_bytes());
    let mut authorization = String::with_capacity(256);
    authorization.push_str(ALGORITHM);
    authorization.push_str(" Credential=");
    authorization.push_str(signer.access_key_id);
    authorization.push('/');
    authorization.push_str(&scope);
    authorization.push_str(", SignedHeaders=");
    push_joined(&mut authorization, &signed, ';');
    authorization.push_str(", Signature=");
    authorization.push_str(signature.as_str());
    // The header takes the string's buffer as it is, without a copy.
    let authorization = HeaderValue::from_maybe_shared(bytes::Bytes::from(authorization))
        .map_err(|_| S3Error::internal())?;
    Ok(Signed {
        authorization,
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
