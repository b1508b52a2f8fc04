//! SSE-C request validation as AWS S3 does it (reference/ssec-spec.md §3): header
//! parsing for the destination and copy-source groups, checked in AWS's order with
//! AWS's status, Code, Message and `ArgumentName`. Key material never leaves this
//! module: callers get a [`KeyDigest`], errors never echo a key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};
use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq;

use super::error::{Reason, S3Error, S3ErrorCode};
use super::op::S3Op;

/// AWS's prefix of most SSE-C messages.
const RSSECPK: &str = "Requests specifying Server Side Encryption with Customer provided keys";
/// AWS puts this `ArgumentName` on every SSE-C `InvalidArgument` (sic, even for the
/// customer headers).
const ARGUMENT_NAME: &str = "x-amz-server-side-encryption";
/// The only algorithm SSE-C supports.
pub const AES256: &str = "AES256";

/// Which of the two SSE-C header groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `x-amz-server-side-encryption-customer-*`: the object written or read.
    Destination,
    /// `x-amz-copy-source-server-side-encryption-customer-*`: the copy source.
    CopySource,
}

/// How an operation uses a key; decides which checks apply and which error a key of
/// the wrong length gets (spec V7, S3, S6, S10, S12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// PutObject, PostObject, CreateMultipartUpload, CopyObject's destination.
    Write,
    /// UploadPart and UploadPartCopy's destination: must match the upload's key.
    Part,
    /// GetObject, HeadObject, GetObjectAttributes, SelectObjectContent: MD5 optional.
    Read,
    /// The source of CopyObject / UploadPartCopy: MD5 optional.
    CopySource,
    /// CompleteMultipartUpload and ListParts: checked only when all three are present.
    Complete,
}

/// The raw values of one header group, as received (none decoded yet).
#[derive(Clone, Copy, Default)]
pub struct RawTriple<'a> {
    /// Algorithm header value.
    pub algorithm: Option<&'a [u8]>,
    /// Key header value (secret: never formatted; see the manual `Debug`).
    key: Option<&'a [u8]>,
    /// Key-MD5 header value.
    pub key_md5: Option<&'a [u8]>,
}

impl<'a> RawTriple<'a> {
    /// A triple from explicit values (POST Object form fields).
    pub fn new(
        algorithm: Option<&'a [u8]>,
        key: Option<&'a [u8]>,
        key_md5: Option<&'a [u8]>,
    ) -> Self {
        Self {
            algorithm,
            key,
            key_md5,
        }
    }

    /// Whether any of the three headers is present.
    pub fn is_present(&self) -> bool {
        self.algorithm.is_some() || self.key.is_some() || self.key_md5.is_some()
    }

    /// Whether all three headers are present.
    pub fn is_complete(&self) -> bool {
        self.algorithm.is_some() && self.key.is_some() && self.key_md5.is_some()
    }
}

impl std::fmt::Debug for RawTriple<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawTriple")
            .field("algorithm", &self.algorithm.map(String::from_utf8_lossy))
            .field("key", &self.key.map(|_| "<redacted>"))
            .field("key_md5", &self.key_md5.map(String::from_utf8_lossy))
            .finish()
    }
}

/// The SSE-C facts of a request that passed validation, kept in request extensions
/// for the response side (confirmation, multipart records, error translation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Digest of the destination key, when the request carries one that applies.
    pub destination: Option<KeyDigest>,
    /// Digest of the copy-source key.
    pub source: Option<KeyDigest>,
}

/// Which usage a group has in an operation; `None` when the operation does not take
/// that group (its headers are then forwarded untouched, after the transport check).
pub fn usage_for(op: S3Op, group: Group) -> Option<Usage> {
    use S3Op::*;
    match (group, op) {
        (Group::Destination, PutObject | PostObject | CreateMultipartUpload | CopyObject) => {
            Some(Usage::Write)
        }
        (Group::Destination, UploadPart | UploadPartCopy) => Some(Usage::Part),
        (
            Group::Destination,
            GetObject | HeadObject | GetObjectAttributes | GetObjectTorrent | SelectObjectContent,
        ) => Some(Usage::Read),
        (Group::Destination, CompleteMultipartUpload | ListParts) => Some(Usage::Complete),
        (Group::CopySource, CopyObject | UploadPartCopy) => Some(Usage::CopySource),
        _ => None,
    }
}

/// Every header check of spec §3.1 for one request, in AWS's order: transport, the
/// copy-source group, the destination group, then conflicts with other SSE headers.
pub fn check_request(op: S3Op, headers: &HeaderMap, tls: bool) -> Result<Checked, S3Error> {
    check_groups(op, &Groups::from_headers(headers), tls)
}

/// Both header groups of a request and the headers checked with them, read once.
#[derive(Clone, Copy, Debug, Default)]
pub struct Groups<'a> {
    /// `x-amz-server-side-encryption-customer-*`.
    pub destination: RawTriple<'a>,
    /// `x-amz-copy-source-server-side-encryption-customer-*`.
    pub copy_source: RawTriple<'a>,
    /// `x-amz-server-side-encryption`.
    pub sse: Option<&'a HeaderValue>,
    /// `x-amz-server-side-encryption-aws-kms-key-id`.
    pub kms_key_id: Option<&'a HeaderValue>,
    /// `x-amz-copy-source`.
    pub copy_source_path: Option<&'a HeaderValue>,
}

impl<'a> Groups<'a> {
    /// Reads both groups, `x-amz-server-side-encryption` and `x-amz-copy-source` in one
    /// pass over the headers. A repeated header counts as its first value.
    ///
    /// Written as a scan rather than eight `HeaderMap::get` calls: these are long custom
    /// names, which `HeaderMap` hashes byte by byte on every look-up (about half of the
    /// validation's time), while a request carries only a dozen or so headers, and a
    /// name that does not start with `x-amz-` is passed over after one comparison.
    pub fn from_headers(headers: &'a HeaderMap) -> Self {
        fn first<T>(slot: &mut Option<T>, value: T) {
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        let mut g = Self::default();
        for (name, value) in headers {
            let Some(rest) = name.as_str().strip_prefix("x-amz-") else {
                continue;
            };
            let bytes = value.as_bytes();
            match rest {
                "server-side-encryption-customer-algorithm" => {
                    first(&mut g.destination.algorithm, bytes)
                }
                "server-side-encryption-customer-key" => first(&mut g.destination.key, bytes),
                "server-side-encryption-customer-key-md5" => {
                    first(&mut g.destination.key_md5, bytes)
                }
                "copy-source-server-side-encryption-customer-algorithm" => {
                    first(&mut g.copy_source.algorithm, bytes)
                }
                "copy-source-server-side-encryption-customer-key" => {
                    first(&mut g.copy_source.key, bytes)
                }
                "copy-source-server-side-encryption-customer-key-md5" => {
                    first(&mut g.copy_source.key_md5, bytes)
                }
                "server-side-encryption" => first(&mut g.sse, value),
                "server-side-encryption-aws-kms-key-id" => first(&mut g.kms_key_id, value),
                "copy-source" => first(&mut g.copy_source_path, value),
                _ => {}
            }
        }
        g
    }

    /// Whether any SSE-C header of either group is present.
    pub fn any(&self) -> bool {
        self.destination.is_present() || self.copy_source.is_present()
    }
}

/// [`check_request`] on groups already read; `sse` is `x-amz-server-side-encryption`.
pub fn check_groups(op: S3Op, groups: &Groups<'_>, tls: bool) -> Result<Checked, S3Error> {
    check_secure(groups.any(), tls)?;
    let mut checked = Checked::default();
    for (group, raw) in [
        (Group::CopySource, &groups.copy_source),
        (Group::Destination, &groups.destination),
    ] {
        let Some(usage) = usage_for(op, group) else {
            continue;
        };
        let applies = match usage {
            Usage::Complete => raw.is_complete(),
            _ => raw.is_present(),
        };
        if !applies {
            continue;
        }
        let digest = validate(raw, usage)?;
        match group {
            Group::CopySource => checked.source = Some(digest),
            Group::Destination => checked.destination = Some(digest),
        }
    }
    if let Some(usage) = usage_for(op, Group::Destination) {
        check_sse_conflict(
            groups.sse,
            groups.kms_key_id.is_some(),
            usage,
            checked.destination.is_some(),
        )?;
    }
    Ok(checked)
}

/// MD5 of a customer key: what the proxy remembers and compares, never the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyDigest([u8; 16]);

impl KeyDigest {
    /// Parses the base64 form used in `…-key-MD5` headers and configuration.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The digest of a raw key.
    pub fn of_key(key: &[u8]) -> Self {
        Self(Md5::digest(key).into())
    }

    /// Base64, as in `x-amz-server-side-encryption-customer-key-MD5`.
    pub fn to_base64(self) -> String {
        STANDARD.encode(self.0)
    }

    /// The digest's bytes, for a MAC over them.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Constant-time comparison.
    pub fn matches(&self, other: &KeyDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Constant-time comparison with raw digest bytes of any length.
    pub fn matches_bytes(&self, other: &[u8]) -> bool {
        other.len() == 16 && bool::from(self.0.ct_eq(other))
    }
}

impl std::fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

/// Spec V0: any SSE-C header on a request that did not arrive over TLS is refused
/// before any value is looked at.
pub fn check_secure(any_sse_c: bool, tls: bool) -> Result<(), S3Error> {
    if any_sse_c && !tls {
        return Err(
            invalid_argument(format!("{RSSECPK} must be made over a secure connection."))
                .with_reason(Reason::V0),
        );
    }
    Ok(())
}

/// Validates one group that is present, in AWS's order: presence, zero-length key,
/// MD5, algorithm, key length. Returns the key's digest.
///
/// `Usage::Complete` groups that are not complete are the caller's to ignore.
pub fn validate(raw: &RawTriple<'_>, usage: Usage) -> Result<KeyDigest, S3Error> {
    let reads = matches!(usage, Usage::Read | Usage::CopySource);
    let Some(algorithm) = raw.algorithm else {
        return Err(invalid_argument(format!(
            "{RSSECPK} must provide a valid encryption algorithm."
        ))
        .with_reason(Reason::V1));
    };
    let Some(key_text) = raw.key else {
        return Err(
            invalid_argument(format!("{RSSECPK} must provide an appropriate secret key."))
                .with_reason(Reason::V2),
        );
    };
    if raw.key_md5.is_none() && !reads {
        return Err(invalid_argument(format!(
            "{RSSECPK} must provide the client calculated MD5 of the secret key."
        ))
        .with_reason(Reason::V3));
    }
    let (key, key_canonical) = decode(key_text);
    let key = Secret(key);
    if key.0.is_empty() {
        return Err(
            invalid_argument("The secret key was invalid - too short.").with_reason(Reason::V4)
        );
    }
    let digest = KeyDigest::of_key(&key.0);
    let md5 = raw.key_md5.map(decode);
    if let Some((md5, _)) = &md5
        && !digest.matches_bytes(md5)
    {
        return Err(invalid_argument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        )
        .with_reason(Reason::V5));
    }
    if algorithm != AES256.as_bytes() {
        let mut err = S3Error::new(
            S3ErrorCode::InvalidEncryptionAlgorithmError,
            "The Encryption request you specified is not valid. Supported value: AES256.",
        )
        .with_argument_name(ARGUMENT_NAME)
        .with_reason(Reason::V6);
        if let Some(value) = echoable(algorithm) {
            err = err.with_argument_value(value);
        }
        return Err(err);
    }
    if key.0.len() != 32 {
        return Err(wrong_length(usage));
    }
    // AWS decodes leniently; the stores behind the proxy do not, and the header reaches
    // them unchanged. Refuse non-canonical forms here rather than let the store answer.
    if !key_canonical || md5.is_some_and(|(_, canonical)| !canonical) {
        return Err(invalid_argument(
            "The customer key and its MD5 must be standard, padded base64 (RFC 4648 §4) with no other characters.",
        )
        .with_reason(Reason::NonCanonicalBase64));
    }
    Ok(digest)
}

/// Spec V8/V9 and S5: `x-amz-server-side-encryption` next to SSE-C on a write, or on an
/// operation that does not take it (UploadPart, UploadPartCopy, GetObject, HeadObject).
/// Then a write naming a KMS key (`kms_key_id`) without `aws:kms` or `aws:kms:dsse`:
/// S3 refuses it; stores differ (SeaweedFS 4.48 takes both with 200, RGW refuses the key
/// id alone and ignores it next to SSE-C, MinIO reads it alone as a request for SSE-KMS).
pub fn check_sse_conflict(
    sse: Option<&http::HeaderValue>,
    kms_key_id: bool,
    usage: Usage,
    has_sse_c: bool,
) -> Result<(), S3Error> {
    if let Some(sse) = sse {
        match usage {
            Usage::Part | Usage::Read => {
                return Err(invalid_argument(
                    "x-amz-server-side-encryption header is not supported for this operation.",
                )
                .with_reason(Reason::S5));
            }
            Usage::Write if has_sse_c => {
                let mut err = invalid_argument(
                    "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
                )
                .with_reason(Reason::V8);
                if let Some(value) = echoable(sse.as_bytes()) {
                    err = err.with_argument_value(value);
                }
                return Err(err);
            }
            Usage::Write | Usage::CopySource | Usage::Complete => {}
        }
    }
    let kms = sse.is_some_and(|v| matches!(v.as_bytes(), b"aws:kms" | b"aws:kms:dsse"));
    if kms_key_id && !kms && matches!(usage, Usage::Write) {
        return Err(invalid_argument(
            "Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
        )
        .with_reason(Reason::KmsKeyAlone));
    }
    Ok(())
}

/// The error for a key of the wrong length (MD5 matching), per usage.
fn wrong_length(usage: Usage) -> S3Error {
    match usage {
        Usage::Write => invalid_argument("The secret key was invalid for the specified algorithm.")
            .with_reason(Reason::V7),
        Usage::Read => S3Error::new(
            S3ErrorCode::AccessDenied,
            format!("{RSSECPK} must provide the correct secret key."),
        )
        .with_reason(Reason::S3),
        Usage::Part | Usage::CopySource => parameters_mismatch(),
        Usage::Complete => complete_mismatch(),
    }
}

/// Spec S6/S10/S13: the key differs from the one the object or upload was created with.
pub fn parameters_mismatch() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "The provided encryption parameters did not match the ones used originally.",
    )
    .with_reason(Reason::S10)
}

/// Spec S9: a part without SSE-C for an upload created with SSE-C.
pub fn part_missing_encryption() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.",
    )
    .with_reason(Reason::S9)
}

/// Spec S12: CompleteMultipartUpload with a key that is not the upload's.
pub fn complete_mismatch() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "The object was stored using a form of Server Side Encryption. Correct SSE-C request parameters are required for this request when specifying checksums for each part.",
    )
    .with_reason(Reason::S12)
}

/// Spec S1: a read without SSE-C of an object stored with SSE-C.
pub fn object_encrypted() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
    )
}

/// Spec S4: a read with SSE-C headers of an object stored without SSE-C.
pub fn not_encrypted() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "The encryption parameters are not applicable to this object.",
    )
}

/// Spec S2/S3: a read with a key that is not the object's.
pub fn wrong_key() -> S3Error {
    S3Error::new(
        S3ErrorCode::AccessDenied,
        format!("{RSSECPK} must provide the correct secret key."),
    )
}

/// Whether `e` is [`wrong_key`]'s answer.
pub fn is_wrong_key(e: &S3Error) -> bool {
    e.code == S3ErrorCode::AccessDenied && e.message == wrong_key().message
}

fn invalid_argument(message: impl Into<std::borrow::Cow<'static, str>>) -> S3Error {
    S3Error::new(S3ErrorCode::InvalidArgument, message).with_argument_name(ARGUMENT_NAME)
}

/// A header value short and plain enough to echo in `ArgumentValue` (an algorithm
/// name). Anything as long as a base64 key is never echoed, whatever header it came in.
fn echoable(value: &[u8]) -> Option<String> {
    (value.len() <= 24 && value.iter().all(|b| b.is_ascii_graphic()))
        .then(|| String::from_utf8_lossy(value).into_owned())
}

/// Decoded key bytes, wiped when dropped.
struct Secret(Vec<u8>);

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Base64 decoding as AWS S3 does it for SSE-C headers (spec §1.3): characters outside
/// the alphabet and `=` are ignored, the rest is read in quanta of four, a trailing
/// partial quantum is dropped, and `=` inside a quantum ends it. Written by hand because
/// no decoder reproduces these rules, and the order of AWS's errors depends on them.
pub fn lenient_base64(input: &[u8]) -> Vec<u8> {
    fn sextet(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut quantum = [0u8; 4];
    let mut filled = 0;
    for &c in input {
        if c != b'=' && sextet(c).is_none() {
            continue;
        }
        quantum[filled] = c;
        filled += 1;
        if filled < 4 {
            continue;
        }
        filled = 0;
        let (bits, len) = quantum
            .iter()
            .map_while(|&c| sextet(c))
            .fold((0u32, 0usize), |(acc, len), s| {
                ((acc << 6) | u32::from(s), len + 1)
            });
        let bytes = (bits << (6 * (4 - len))).to_be_bytes();
        let n = match len {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[1..1 + n]);
    }
    out
}

/// Decodes a header value as AWS does, and says whether it was canonical: standard,
/// padded base64 and nothing else. For canonical input both decodings agree, so the
/// strict decoder (fast) answers and the lenient one only runs for the rest.
fn decode(input: &[u8]) -> (Vec<u8>, bool) {
    match STANDARD.decode(input) {
        Ok(bytes) => (bytes, true),
        Err(_) => (lenient_base64(input), false),
    }
}

#[cfg(test)]
#[path = "ssec_tests.rs"]
mod tests;
