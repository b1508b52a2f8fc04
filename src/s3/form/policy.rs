//! POST Object policies (AWS S3 developer guide: "POST Policy" /
//! `sigv4-HTTPPOSTConstructPolicy`, "Browser-Based Uploads Using POST"): the form's
//! base64 `policy` field, its expiration, its conditions on the form fields, the rule that
//! every field is covered by a condition, and `content-length-range` on the file.
//!
//! AWS documents the rules but not its answers; the codes and messages here are S3's as
//! recorded answering real requests (LocalStack's AWS-validated POST tests; S3 errors
//! quoted in aws-sdk-js#1514, boto3#4514, s3_direct_upload#29, moxie#165 and others):
//! * expired: 403 `AccessDenied` "Invalid according to Policy: Policy expired.";
//! * a failed condition: 403 `AccessDenied` "Invalid according to Policy: Policy Condition
//!   failed: [\"eq\", \"$key\", \"x\"]", simple conditions printed as `eq`;
//! * an uncovered field: 403 `AccessDenied` "Invalid according to Policy: Extra input
//!   fields: name";
//! * the file's length: 400 `EntityTooSmall` / `EntityTooLarge` ("Your proposed upload is
//!   smaller than the minimum allowed size", "… exceeds the maximum allowed size"),
//!   bounds inclusive, numbers or strings of digits;
//! * a malformed document: 400 `InvalidPolicyDocument` "Invalid Policy: …" (`Invalid
//!   JSON.`, the Simple-Condition texts, `Unexpected: 'name'`, `Invalid 'expiration'
//!   value: '…'` were recorded; the others follow versitygw's, modelled on S3's).
//!
//! The signature over the policy is not checked here: SigV4 signs [`encoded`] as received.

mod document;

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use document::MAX_CONDITIONS;
use document::{Condition, Rule};

use super::Fields;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};

/// Longest `policy` field accepted: S3 allows 20 KB of form fields and boundaries before
/// the file ("The form data and boundaries (excluding the contents of the file) cannot
/// exceed 20KB"; 20,480 bytes as S3 reports `MaxPostPreDataLengthBytes`).
pub const MAX_POLICY: usize = 20 * 1024;

/// Fields no condition needs to name: the SigV4 and SigV2 documents' lists (`file` is
/// never among [`Fields`]); names with the prefix `x-ignore-` are exempt too.
const EXEMPT: [&str; 4] = ["policy", "x-amz-signature", "signature", "awsaccesskeyid"];

/// The prefix of fields S3 ignores.
const IGNORED_PREFIX: &str = "x-ignore-";

/// The `policy` field as received (names compare without case): the string the SigV4
/// signature covers. `None` for an anonymous form.
pub fn encoded(fields: &Fields) -> Option<&[u8]> {
    fields.get("policy")
}

/// A decoded POST policy.
#[derive(Debug)]
pub struct PostPolicy {
    expiration: SystemTime,
    rules: Vec<Rule>,
}

/// Why a form upload does not meet its policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// The document is not one S3 reads: the text after "Invalid Policy: ".
    Document(String),
    /// The expiration has passed.
    Expired,
    /// A condition failed; the condition as S3 prints it.
    Condition(String),
    /// A field that no condition names.
    ExtraField(String),
    /// The file is shorter than `content-length-range` allows.
    TooSmall {
        /// The file's length.
        length: u64,
        /// The smallest length allowed.
        min: u64,
    },
    /// The file is longer than `content-length-range` allows.
    TooLarge {
        /// The file's length, or the length read so far.
        length: u64,
        /// The largest length allowed.
        max: u64,
    },
}

impl PolicyError {
    /// The answer for the client.
    pub fn to_s3(&self) -> S3Error {
        let (code, message, reason) = match self {
            Self::Document(why) => (
                S3ErrorCode::InvalidPolicyDocument,
                format!("Invalid Policy: {why}"),
                Reason::PostPolicyDocument,
            ),
            Self::Expired => (
                S3ErrorCode::AccessDenied,
                "Invalid according to Policy: Policy expired.".to_owned(),
                Reason::PostPolicy,
            ),
            Self::Condition(text) => (
                S3ErrorCode::AccessDenied,
                format!("Invalid according to Policy: Policy Condition failed: {text}"),
                Reason::PostPolicy,
            ),
            Self::ExtraField(name) => (
                S3ErrorCode::AccessDenied,
                format!("Invalid according to Policy: Extra input fields: {name}"),
                Reason::PostPolicy,
            ),
            Self::TooSmall { .. } => (
                S3ErrorCode::EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed size".to_owned(),
                Reason::PostPolicy,
            ),
            Self::TooLarge { .. } => (
                S3ErrorCode::EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size".to_owned(),
                Reason::PostPolicy,
            ),
        };
        S3Error::new(code, message).with_reason(reason)
    }
}

impl PostPolicy {
    /// Decodes the `policy` field: standard padded base64 of a UTF-8 JSON document of at
    /// most [`MAX_POLICY`] bytes (as encoded) and [`MAX_CONDITIONS`] conditions.
    pub fn decode(encoded: &[u8]) -> Result<Self, PolicyError> {
        let invalid = |why: &str| PolicyError::Document(why.to_owned());
        if encoded.len() > MAX_POLICY {
            return Err(invalid("the policy is longer than 20480 bytes."));
        }
        let json = STANDARD
            .decode(encoded)
            .map_err(|_| invalid("invalid Base64 encoding."))?;
        let doc = document::parse(&json).map_err(|why| invalid(&why))?;
        let expiration = expiration(&doc.expiration)
            .ok_or_else(|| invalid(&format!("Invalid 'expiration' value: '{}'", doc.expiration)))?;
        Ok(Self {
            expiration,
            rules: doc.rules,
        })
    }

    /// When the policy stops being valid (it is valid at that instant, not after).
    pub fn expiration(&self) -> SystemTime {
        self.expiration
    }

    /// Checks the form against the policy at `now`: not expired, every condition on the
    /// fields met, every field named by a condition. `bucket` is the bucket the form is
    /// posted to (a `bucket` condition tests it, not a field); `filename` is the file
    /// part's `filename` parameter, which replaces `${filename}` in every field first
    /// (only the text after its last `/` or `\`); without one, `${filename}` stays as is.
    /// The file's length is checked apart, with [`length_range`](Self::length_range).
    pub fn check(
        &self,
        fields: &Fields,
        bucket: &str,
        filename: Option<&[u8]>,
        now: SystemTime,
    ) -> Result<(), PolicyError> {
        if now > self.expiration {
            return Err(PolicyError::Expired);
        }
        let expanded = expand(fields, filename);
        let value = |field: &str| -> Option<&[u8]> {
            if field == "bucket" {
                return Some(bucket.as_bytes());
            }
            expanded
                .iter()
                .find(|(name, _)| name == field)
                .map(|(_, v)| v.as_slice())
        };
        for rule in &self.rules {
            let met = match &rule.condition {
                Condition::Eq { field, value: want } => value(field) == Some(want.as_bytes()),
                Condition::StartsWith { field, prefix } => {
                    value(field).is_some_and(|v| starts_with(field, v, prefix.as_bytes()))
                }
                Condition::Length { .. } => true,
                Condition::Never => false,
            };
            if !met {
                return Err(PolicyError::Condition(rule.text.clone()));
            }
        }
        for (name, _) in &expanded {
            let covered = EXEMPT.contains(&name.as_str())
                || name.starts_with(IGNORED_PREFIX)
                || self.rules.iter().any(|rule| rule.names(name));
            if !covered {
                return Err(PolicyError::ExtraField(name.clone()));
            }
        }
        Ok(())
    }

    /// The lengths `content-length-range` allows the file (every such condition applies);
    /// any length without one.
    pub fn length_range(&self) -> LengthRange {
        let mut range = LengthRange::ANY;
        for rule in &self.rules {
            if let Condition::Length { min, max } = rule.condition {
                range.min = range.min.max(min);
                range.max = range.max.min(max);
            }
        }
        range
    }
}

impl Rule {
    /// Whether this condition names the (lower-case) field.
    fn names(&self, field: &str) -> bool {
        match &self.condition {
            Condition::Eq { field: f, .. } | Condition::StartsWith { field: f, .. } => f == field,
            Condition::Length { .. } | Condition::Never => false,
        }
    }
}

/// The lengths a policy allows the file, both bounds inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthRange {
    /// The smallest length allowed.
    pub min: u64,
    /// The largest length allowed.
    pub max: u64,
}

impl LengthRange {
    /// Every length: no `content-length-range`.
    pub const ANY: Self = Self {
        min: 0,
        max: u64::MAX,
    };

    /// Checks the file's whole length, once known.
    pub fn check(&self, length: u64) -> Result<(), PolicyError> {
        self.check_running(length)?;
        if length < self.min {
            return Err(PolicyError::TooSmall {
                length,
                min: self.min,
            });
        }
        Ok(())
    }

    /// Checks the length read so far, as the file streams: fails as soon as it is past
    /// the maximum, so the rest need not be read.
    pub fn check_running(&self, so_far: u64) -> Result<(), PolicyError> {
        if so_far > self.max {
            return Err(PolicyError::TooLarge {
                length: so_far,
                max: self.max,
            });
        }
        Ok(())
    }
}

/// `starts-with`: a Content-Type is a comma-separated list whose every item must start
/// with the prefix; any other field is one string.
fn starts_with(field: &str, value: &[u8], prefix: &[u8]) -> bool {
    if field == "content-type" {
        value
            .split(|&b| b == b',')
            .all(|item| item.starts_with(prefix))
    } else {
        value.starts_with(prefix)
    }
}

/// The fields with `${filename}` replaced by the file name's last path segment.
pub(super) fn expand(fields: &Fields, filename: Option<&[u8]>) -> Vec<(String, Vec<u8>)> {
    const VARIABLE: &[u8] = b"${filename}";
    let Some(filename) = filename else {
        return fields.fields.clone();
    };
    let base = match filename.iter().rposition(|&b| b == b'/' || b == b'\\') {
        Some(i) => &filename[i + 1..],
        None => filename,
    };
    let replace = |value: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(value.len());
        let mut rest = value;
        while !rest.is_empty() {
            if rest.starts_with(VARIABLE) {
                out.extend_from_slice(base);
                rest = &rest[VARIABLE.len()..];
            } else {
                out.push(rest[0]);
                rest = &rest[1..];
            }
        }
        out
    };
    fields
        .fields
        .iter()
        .map(|(name, value)| (name.clone(), replace(value)))
        .collect()
}

/// An ISO 8601 UTC time as S3 takes it in `expiration`: `2026-12-30T12:00:00.000Z` or
/// without the fraction; no offset, no space for the `T` (S3 refused both).
fn expiration(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let shape = bytes.len() >= 20 && bytes.get(10) == Some(&b'T') && text.ends_with('Z');
    if !shape {
        return None;
    }
    humantime::parse_rfc3339(text).ok()
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
