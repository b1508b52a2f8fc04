//! Secrets of `auth.mode = "resign"` (DESIGN "Configuration contract"): S3 secret access
//! keys and 32-byte keys, read from files as Kubernetes mounts Secrets. They are wiped
//! when dropped, print as `<redacted>`, cannot be serialized and compare in constant
//! time. Errors name the configuration key and the file, never a byte of the content.

use std::fmt;
use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// Largest secret file read, in bytes: a secret access key is 40 characters, a base64
/// key 44; anything near this is not a secret file.
pub const MAX_SECRET_FILE: usize = 4096;

/// Length of a binding key (and, later, of an injected SSE-C key).
pub const KEY_LEN: usize = 32;

/// Secret bytes (an S3 secret access key): wiped on drop, redacted in `Debug`, compared
/// in constant time (only the length can be told apart).
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// The bytes, for the code that signs or verifies with them. Never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

/// A 32-byte key (`auth.binding_key_file`): wiped on drop, redacted in `Debug`,
/// compared in constant time.
#[derive(Clone)]
pub struct Key32(Zeroizing<[u8; KEY_LEN]>);

impl Key32 {
    /// A key from its bytes (a derived key).
    pub fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        Self(bytes)
    }

    /// The key bytes, for the code that keys a MAC or a permutation with them.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key32(<redacted>)")
    }
}

impl PartialEq for Key32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&*other.0).into()
    }
}

impl Eq for Key32 {}

/// A secret file that cannot be used: the key path, the file, and what is wrong — never
/// the content.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {file}: {problem}")]
pub struct SecretError {
    /// Dotted configuration key (`auth.clients[0].secret_key_file`).
    pub key: String,
    /// The file, as configured (resolved against the configuration's directory).
    pub file: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Reads an S3 secret access key from `file`, named `key` in errors: surrounding ASCII
/// whitespace (a trailing newline, CRLF) is dropped, the rest must pass
/// [`secret_access_key`] with at least `min_len` bytes.
pub fn read_secret_access_key(
    file: &Path,
    key: &str,
    min_len: usize,
) -> Result<Secret, SecretError> {
    let bytes = read_bounded(file).map_err(|problem| error(file, key, problem))?;
    secret_access_key(bytes.trim_ascii(), min_len).map_err(|problem| error(file, key, problem))
}

/// Reads a 32-byte key from `file`, named `key` in errors: see [`key32`].
pub fn read_key32(file: &Path, key: &str) -> Result<Key32, SecretError> {
    let bytes = read_bounded(file).map_err(|problem| error(file, key, problem))?;
    key32(&bytes).map_err(|problem| error(file, key, problem))
}

/// An S3 secret access key from its text (already trimmed): at least `min_len` bytes
/// (at least one), visible ASCII only, as AWS's and every store's keys are — a space or
/// a second line inside is a broken file, not a key.
pub fn secret_access_key(text: &[u8], min_len: usize) -> Result<Secret, String> {
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    if !text.iter().all(u8::is_ascii_graphic) {
        return Err(
            "holds a character that is not visible ASCII (a secret key is one line of letters, digits and symbols)"
                .to_owned(),
        );
    }
    if text.len() < min_len {
        return Err(format!(
            "is {} characters; at least {min_len} are required (AWS's secret keys are 40)",
            text.len()
        ));
    }
    Ok(Secret(Zeroizing::new(text.to_vec())))
}

/// A 32-byte key from a file's content: exactly 32 bytes are the key itself (raw, no
/// trimming: any byte may be part of it); anything else is base64 text (standard
/// alphabet, padding optional, surrounding ASCII whitespace ignored) of 32 bytes.
pub fn key32(content: &[u8]) -> Result<Key32, String> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if content.len() == KEY_LEN {
        key.copy_from_slice(content);
        return Ok(Key32(key));
    }
    let text = content.trim_ascii();
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    // Room for more than a key, so that a longer decoding is told apart from a
    // non-base64 file; wiped like the key.
    let mut decoded = Zeroizing::new([0u8; 3 * KEY_LEN]);
    match BASE64.decode_slice(text, &mut *decoded) {
        Ok(KEY_LEN) => {
            key.copy_from_slice(&decoded[..KEY_LEN]);
            Ok(Key32(key))
        }
        Ok(n) => Err(format!(
            "is base64 text of {n} bytes; a key is exactly {KEY_LEN} bytes"
        )),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => Err(format!(
            "is base64 text of more than {} bytes; a key is exactly {KEY_LEN} bytes",
            decoded.len()
        )),
        Err(base64::DecodeSliceError::DecodeError(_)) => Err(format!(
            "is {} bytes and not base64 text: a key file holds exactly {KEY_LEN} raw bytes, or their base64 text (a newline after raw bytes makes {} bytes)",
            content.len(),
            KEY_LEN + 1
        )),
    }
}

/// Standard base64, padded or not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The content of a regular file of at most [`MAX_SECRET_FILE`] bytes, read into one
/// buffer that is wiped on drop (no reallocation leaves a copy behind).
fn read_bounded(file: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let cannot = |e: std::io::Error| format!("cannot read: {e}");
    let meta = std::fs::metadata(file).map_err(cannot)?;
    if !meta.is_file() {
        return Err("is not a regular file".to_owned());
    }
    let too_large =
        || format!("is larger than {MAX_SECRET_FILE} bytes; a secret file holds one key");
    if meta.len() > MAX_SECRET_FILE as u64 {
        return Err(too_large());
    }
    let mut f = std::fs::File::open(file).map_err(cannot)?;
    let mut buf = Zeroizing::new(vec![0u8; MAX_SECRET_FILE + 1]);
    let mut len = 0;
    loop {
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cannot(e)),
        }
        // The file grew since its size was read.
        if len > MAX_SECRET_FILE {
            return Err(too_large());
        }
    }
    buf.truncate(len);
    Ok(buf)
}

fn error(file: &Path, key: &str, problem: String) -> SecretError {
    SecretError {
        key: key.to_owned(),
        file: file.display().to_string(),
        problem,
    }
}

#[cfg(test)]
#[path = "secret_tests.rs"]
mod tests;
