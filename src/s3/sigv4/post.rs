//! SigV4 for browser form uploads (AWS S3 API reference, "Authenticating Requests in
//! Browser-Based Uploads Using POST (AWS Signature Version 4)"): the form's
//! `x-amz-signature` is the hex HMAC-SHA256 of the `policy` field, as received, under the
//! signing key of the `x-amz-credential` scope. Verified against the credential table,
//! and produced for the store.

use std::time::SystemTime;

use super::canonical::ALGORITHM;
use super::crypto::{Signature, SigningKey};
use super::parse;
use super::refuse::{self, Location};
use super::time::AmzDate;
use super::{CredentialStore, SERVICE, Verifier};
use crate::s3::error::S3Error;

/// The fields of a form upload that authenticate it (names as S3 reads them, without
/// case); the form reader gives their values.
pub trait FormAuth {
    /// The value of the field `name` (lower-case), if the form has it.
    fn field(&self, name: &str) -> Option<&[u8]>;
}

/// A form whose signature verified: who signed its policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormSigned {
    /// The access key id of `x-amz-credential`.
    pub access_key_id: String,
    /// The time of `x-amz-date`.
    pub date: AmzDate,
}

/// The authentication fields of a form the proxy signs for the store, but the
/// signature: its policy names them, so they are known before it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormScope {
    /// `x-amz-algorithm`.
    pub algorithm: &'static str,
    /// `x-amz-credential`: `AK/yyyymmdd/region/s3/aws4_request`.
    pub credential: String,
    /// `x-amz-date`: `yyyyMMddTHHmmssZ`.
    pub date: String,
}

impl FormScope {
    /// The fields for `access_key_id` in `region` at `now`.
    pub fn new(access_key_id: &str, region: &str, now: SystemTime) -> Self {
        let date = AmzDate::from_system_time(now);
        Self {
            algorithm: ALGORITHM,
            credential: format!(
                "{access_key_id}/{}/{region}/{SERVICE}/aws4_request",
                date.date()
            ),
            date: date.as_str().to_owned(),
        }
    }

    /// `x-amz-signature` of the base64 `policy`; `key_for` gives the signing key of a
    /// date (`yyyymmdd`).
    pub fn sign(&self, policy: &[u8], key_for: &dyn Fn(&str) -> SigningKey) -> Signature {
        key_for(self.date.get(..8).unwrap_or_default()).sign(policy)
    }
}

impl Verifier {
    /// Verifies a form's SigV4 signature over its `policy` field. A form without policy
    /// or signature, or signed with Signature Version 2 (`AWSAccessKeyId`, `signature`),
    /// is 403 `AccessDenied`; an unknown key `InvalidAccessKeyId`; a wrong signature
    /// `SignatureDoesNotMatch`. The policy's content is not read here.
    pub fn verify_form(
        &self,
        form: &dyn FormAuth,
        credentials: &dyn CredentialStore,
    ) -> Result<FormSigned, S3Error> {
        let (Some(policy), Some(provided), None, None) = (
            form.field("policy"),
            form.field("x-amz-signature"),
            form.field("awsaccesskeyid"),
            form.field("signature"),
        ) else {
            return Err(refuse::anonymous());
        };
        if form.field("x-amz-algorithm") != Some(ALGORITHM.as_bytes()) {
            return Err(refuse::unsupported_mechanism());
        }
        let text = |name: &str| form.field(name).and_then(|v| std::str::from_utf8(v).ok());
        let location = Location::Header;
        let credential =
            text("x-amz-credential").ok_or_else(|| refuse::credential_format(location))?;
        let credential = parse::credential(credential, location, &self.region, &self.service)?;
        let date = text("x-amz-date")
            .and_then(|d| AmzDate::parse(d.as_bytes()))
            .ok_or_else(refuse::no_date)?;
        if credential.date != date.date() {
            let detail = "Invalid credential date. Date is not the same as X-Amz-Date.";
            return Err(refuse::malformed(location, detail));
        }
        if form.field("x-amz-security-token").is_some() {
            return Err(refuse::invalid_token());
        }
        let key = credentials
            .signing_key(
                credential.access_key_id,
                credential.date,
                &self.region,
                &self.service,
            )
            .ok_or_else(refuse::unknown_key)?;
        if !key.sign(policy).matches(provided) {
            return Err(refuse::signature_mismatch());
        }
        Ok(FormSigned {
            access_key_id: credential.access_key_id.to_owned(),
            date,
        })
    }
}

#[cfg(test)]
#[path = "post_tests.rs"]
mod tests;
