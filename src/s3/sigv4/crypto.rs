//! SigV4's primitives (AWS IAM user guide, "Create a signed AWS API request", steps 3–4):
//! SHA-256, HMAC-SHA256, the signing-key chain, lower-case hex, and the constant-time
//! comparison of a signature. Digests and MACs come from aws-lc-rs, the crypto rustls uses.

use std::sync::Arc;

use aws_lc_rs::{digest, hmac};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The hex SHA-256 of the empty string, the payload hash of a body-less request.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A secret access key. Zeroized on drop; its `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    /// Wraps a secret access key.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Zeroizing::new(secret.into()))
    }

    /// The key's bytes, for the signing-key derivation only.
    fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The derived key of one scope (date, region, service): what signs the request, its
/// chunks and its trailer, kept as an HMAC key with its inner and outer pads already
/// hashed (a signature then costs the message's blocks only). Cloning shares it. The
/// derivation's intermediate keys are zeroized, and aws-lc clears the HMAC state when the
/// last clone drops; its `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(Arc<hmac::Key>);

impl SigningKey {
    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
    /// "aws4_request")`.
    pub fn derive(secret: &SecretKey, date: &str, region: &str, service: &str) -> Self {
        let mut seed = Zeroizing::new(Vec::with_capacity(4 + secret.expose().len()));
        seed.extend_from_slice(b"AWS4");
        seed.extend_from_slice(secret.expose());
        let k_date = Zeroizing::new(hmac_sha256(&seed, date.as_bytes()));
        let k_region = Zeroizing::new(hmac_sha256(k_date.as_ref(), region.as_bytes()));
        let k_service = Zeroizing::new(hmac_sha256(k_region.as_ref(), service.as_bytes()));
        let k_signing = Zeroizing::new(hmac_sha256(k_service.as_ref(), b"aws4_request"));
        Self(Arc::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            k_signing.as_ref(),
        )))
    }

    /// The hex HMAC-SHA256 of `string_to_sign` under this key: a signature.
    pub fn sign(&self, string_to_sign: &[u8]) -> Signature {
        let tag = hmac::sign(&self.0, string_to_sign);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        Signature(hex(&out))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// A SigV4 signature as it travels: 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 64]);

impl Signature {
    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        // Only `hex` builds one, from ASCII digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Whether `provided` spells this signature, compared in constant time. A provided
    /// value of another length (its length is not secret) or in upper case never matches,
    /// as S3 compares the hex strings.
    pub fn matches(&self, provided: &[u8]) -> bool {
        let Ok(provided) = <&[u8; 64]>::try_from(provided) else {
            return false;
        };
        // Compared as eight words: the same constant time as byte by byte, an eighth of
        // `subtle`'s optimization barriers.
        let words = |digits: &[u8; 64]| -> [u64; 8] {
            std::array::from_fn(|i| {
                let at = i * 8;
                u64::from_ne_bytes(std::array::from_fn(|j| digits[at + j]))
            })
        };
        bool::from(words(&self.0)[..].ct_eq(&words(provided)[..]))
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A signature is not a secret (it is sent in the clear) but says nothing useful
        // in a log either.
        write!(f, "Signature({}…)", &self.as_str()[..8])
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HMAC-SHA256 of `data` under `key`.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// An incremental SHA-256, for bodies and chunks fed as they stream.
#[derive(Clone)]
pub struct Sha256(digest::Context);

impl Sha256 {
    /// An empty hash.
    pub fn new() -> Self {
        Self(digest::Context::new(&digest::SHA256))
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> [u8; 32] {
        let d = self.0.finish();
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha256")
    }
}

/// Lower-case hex of a 32-byte digest.
pub fn hex(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

/// Lower-case hex SHA-256 of `data`, as a string.
#[cfg(test)]
pub fn sha256_hex(data: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    push_sha256_hex(data, &mut out);
    out
}

/// Appends the lower-case hex SHA-256 of `data` to `out`.
pub fn push_sha256_hex(data: &[u8], out: &mut String) {
    // The digits are ASCII: appended in one copy, not char by char.
    out.push_str(std::str::from_utf8(&hex(&sha256(data))).unwrap_or_default());
}

/// Parses 64 hex digits of either case (S3 takes both in `x-amz-content-sha256`).
pub fn parse_hex32(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}
