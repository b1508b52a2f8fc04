//! The form a resign-mode proxy sends the store (AWS S3 API reference, "Browser-Based
//! Uploads Using POST (AWS Signature Version 4)", "POST Policy"): the client's fields,
//! minus its authentication, plus a policy written by the proxy (a short expiration and
//! an `eq` condition on the bucket and on every field forwarded) signed with the store's
//! credentials. The file part's bytes follow as received.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::policy::{LengthRange, expand};
use super::{Fields, Parsed, parse};
use crate::inject::BucketKeys;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5};
use crate::s3::sigv4::{FormScope, SigningKey};
use crate::s3::ssec::AES256;
use crate::s3::strict;

/// How long the store takes the proxy's policy: it checks it when the form arrives
/// (RGW) or once the file is read (SeaweedFS), so this bounds an upload's duration.
pub const STORE_POLICY_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Fields the proxy does not forward: the client's authentication (replaced by the
/// proxy's) and `bucket`, which only the path names.
const NOT_FORWARDED: [&str; 7] = [
    "policy",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-signature",
    "x-amz-security-token",
    "bucket",
];

/// What the names of the SSE-C fields start with: a form with any of them keeps its
/// own (a broken set is refused by the SSE-C checks) and gets no injected key.
const SSE_C_FIELDS: &str = "x-amz-server-side-encryption-customer-";

/// The object's Content-Type when the form has no `Content-Type` field, as S3 stores it.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// The variable S3 replaces by the file's name in field values.
const FILENAME_VARIABLE: &[u8] = b"${filename}";

/// Who signs the form for the store.
pub struct StoreSigner<'a> {
    /// `upstream.credentials.access_key`.
    pub access_key_id: &'a str,
    /// `upstream.credentials.region`.
    pub region: &'a str,
    /// The store's signing key for a date (`yyyymmdd`).
    pub key_for: &'a dyn Fn(&str) -> SigningKey,
}

/// The form's start as the store gets it: every field of `fields` (read from `read`
/// with `boundary`; no value may hold a control character but tab) but the client's
/// authentication and `bucket`, `${filename}`
/// replaced as S3 does, a `content-type` field of `binary/octet-stream` when the form
/// has none or an empty one, then the proxy's authentication fields, then `read` from the
/// delimiter after the last field on (the file part's head and what was read of its
/// content). `range` is the client's `content-length-range`, repeated for the store.
/// With `inject` (the bucket's injected keys) and no SSE-C field in the form, the three
/// SSE-C fields of the object's current key are added (and pinned by the policy, like
/// every field); the store's fields are then returned too, for the SSE-C checks.
#[allow(clippy::too_many_arguments)]
pub fn for_store(
    read: &[u8],
    boundary: &str,
    fields: &Fields,
    bucket: &str,
    range: LengthRange,
    signer: &StoreSigner<'_>,
    now: SystemTime,
    inject: Option<&Arc<BucketKeys>>,
) -> Result<(Vec<u8>, Option<Fields>), S3Error> {
    let mut forwarded = Vec::new();
    for (name, value) in expand(fields, fields.filename()) {
        if NOT_FORWARDED.contains(&name.as_str()) {
            continue;
        }
        let value = store_value(&name, value)?;
        forwarded.push((name, value));
    }
    let inject = inject.filter(|_| {
        !forwarded
            .iter()
            .any(|(name, _)| name.starts_with(SSE_C_FIELDS))
    });
    if let Some(keys) = inject {
        let object = forwarded
            .iter()
            .find(|(name, _)| name == "key")
            .map_or("", |(_, value)| value.as_str());
        let keys = keys.for_object(bucket, object);
        let key = &keys.current;
        forwarded.extend([
            (SSE_C_ALGORITHM.as_str().to_owned(), AES256.to_owned()),
            (SSE_C_KEY.as_str().to_owned(), key.base64().to_owned()),
            (
                SSE_C_KEY_MD5.as_str().to_owned(),
                key.md5_base64().to_owned(),
            ),
        ]);
    }
    if !forwarded.iter().any(|(name, _)| name == "content-type") {
        // The object's type is the field's, else S3's default: SeaweedFS would take
        // the file part's own Content-Type, which no policy covers.
        forwarded.push(("content-type".to_owned(), DEFAULT_CONTENT_TYPE.to_owned()));
    }
    let scope = FormScope::new(signer.access_key_id, signer.region, now);
    let scope_fields = [
        ("x-amz-algorithm", scope.algorithm.to_owned()),
        ("x-amz-credential", scope.credential.clone()),
        ("x-amz-date", scope.date.clone()),
    ];
    forwarded.extend(scope_fields.map(|(n, v)| (n.to_owned(), v)));
    let policy = STANDARD.encode(policy(&forwarded, bucket, range, now).to_string());
    let signature = scope.sign(policy.as_bytes(), signer.key_for);
    forwarded.push(("policy".to_owned(), policy));
    forwarded.push(("x-amz-signature".to_owned(), signature.as_str().to_owned()));
    let mut out = Vec::with_capacity(read.len() + 2 * forwarded.len() * 80);
    for (name, value) in &forwarded {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let rest_at = out.len();
    out.extend_from_slice(read.get(fields.rest_at()..).unwrap_or_default());
    let store_fields = check(&out, boundary, &forwarded, fields, rest_at)?;
    Ok((out, inject.map(|_| store_fields)))
}

/// The value a field is forwarded with: UTF-8 without `${filename}` (a policy for the
/// store pins it as is) nor control characters but tab (RGW turns the text after a
/// line break into a header of its own on every read of the object), a `key` the
/// stores read alike, an empty `content-type` as S3's default (SeaweedFS would take
/// the file part's Content-Type instead).
fn store_value(name: &str, value: Vec<u8>) -> Result<String, S3Error> {
    let value = String::from_utf8(value)
        .ok()
        .filter(|v| !contains(v.as_bytes(), FILENAME_VARIABLE))
        .ok_or_else(|| unsigned_field(name))?;
    super::check_value(name, value.as_bytes())?;
    if name == "key" {
        check_key(&value)?;
    }
    if name == "content-type" && value.trim().is_empty() {
        return Ok(DEFAULT_CONTENT_TYPE.to_owned());
    }
    Ok(value)
}

/// The proxy's policy: `{"bucket": …}`, `["eq", "$name", value]` for every field
/// forwarded and for the algorithm, credential and date fields, and the client's
/// `content-length-range` when it had one.
fn policy(
    forwarded: &[(String, String)],
    bucket: &str,
    range: LengthRange,
    now: SystemTime,
) -> Value {
    let mut conditions = vec![json!({ "bucket": bucket })];
    for (name, value) in forwarded {
        conditions.push(json!(["eq", format!("${name}"), value]));
    }
    if range.min > 0 || range.max < u64::MAX {
        conditions.push(json!(["content-length-range", range.min, range.max]));
    }
    let expiration = humantime::format_rfc3339_seconds(now + STORE_POLICY_LIFETIME);
    json!({ "expiration": expiration.to_string(), "conditions": conditions })
}

/// The form written must read back as the fields meant, the file where it was: a value
/// holding the boundary would end its part early.
fn check(
    out: &[u8],
    boundary: &str,
    meant: &[(String, String)],
    fields: &Fields,
    rest_at: usize,
) -> Result<Fields, S3Error> {
    let Parsed::Fields(read) = parse(out, boundary) else {
        return Err(S3Error::internal());
    };
    let same_fields = read
        .iter()
        .eq(meant.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let file_at = fields
        .file_at()
        .and_then(|at| at.checked_sub(fields.rest_at()))
        .map(|offset| rest_at + offset);
    if same_fields && read.file_at() == file_at && read.rest_at() == rest_at {
        Ok(read)
    } else {
        Err(S3Error::internal())
    }
}

/// Refuses a `key` (`${filename}` replaced) that a store would store under another
/// key: SeaweedFS reads `\\` as `/`, drops a leading `/` and empty segments and stores
/// `dir/` as `dir/dir` (`/` as the bucket's name); it refuses dot segments, which RGW
/// keeps.
fn check_key(key: &str) -> Result<(), S3Error> {
    let renamed = key.contains('\\')
        || key.starts_with('/')
        || key.ends_with('/')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if renamed {
        return Err(strict::ambiguous(
            strict::REASON_FORM,
            "The form's key has a \"\\\", starts or ends with \"/\", or has an empty, \".\" or \"..\" segment, which stores read as another key.",
        ));
    }
    Ok(())
}

/// 501: a field value the proxy cannot put in a policy for the store as is.
fn unsigned_field(name: &str) -> S3Error {
    S3Error::new(
        S3ErrorCode::NotImplemented,
        format!(
            "With auth.mode = \"resign\", form field values must be UTF-8, and ${{filename}} needs a file name: the field {name} cannot be signed for the store."
        ),
    )
    .with_reason(Reason::ResignUnsupported)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
