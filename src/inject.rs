//! Injected SSE-C keys (`[[ssec.buckets]] inject_key_file`, `previous_key_files`; resign
//! mode only): the keys the proxy adds to requests that carry no SSE-C headers, read
//! from their files with the other secrets of the credential table and wiped when it is
//! replaced. The store gets ordinary SSE-C headers, so every object stays in the store's
//! own format, readable with the key without the proxy.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use md5::{Digest as _, Md5};
use zeroize::Zeroizing;

use crate::s3::headers::{
    COPY_SOURCE_SSE_C_ALGORITHM, COPY_SOURCE_SSE_C_KEY, COPY_SOURCE_SSE_C_KEY_MD5, SSE_C_ALGORITHM,
    SSE_C_KEY, SSE_C_KEY_MD5,
};
use crate::s3::ssec::AES256;
use crate::secret::{KEY_LEN, Key32};

/// One injected key, with the header values that carry it (computed once per load).
#[derive(Clone, PartialEq)]
pub struct SsecKey {
    key: Key32,
    /// The key in base64: as secret as the key, wiped on drop.
    base64: Zeroizing<String>,
    /// Base64 of the key's MD5.
    md5: String,
}

impl SsecKey {
    /// The key and its header values.
    pub fn new(key: Key32) -> Self {
        let base64 = Zeroizing::new(STANDARD.encode(key.expose()));
        let md5 = STANDARD.encode(Md5::digest(key.expose()));
        Self { key, base64, md5 }
    }

    /// The key bytes (for deriving keys from it). Never log them.
    pub fn expose(&self) -> &Key32 {
        &self.key
    }

    /// The key in base64, as the key header or a POST Object form field carries it.
    /// Never log it.
    pub fn base64(&self) -> &str {
        &self.base64
    }

    /// Base64 of the key's MD5, as the key-MD5 header carries it.
    pub fn md5_base64(&self) -> &str {
        &self.md5
    }

    /// Sets the three SSE-C headers of `group` to this key, replacing any value; the key
    /// header is marked sensitive (never logged, never indexed by HPACK).
    pub fn set(&self, headers: &mut HeaderMap, group: Group) {
        let [algorithm, key, md5] = group.names();
        headers.insert(algorithm, HeaderValue::from_static(AES256));
        // Base64 and its MD5 are visible ASCII: these cannot fail.
        if let Ok(mut value) = HeaderValue::from_str(&self.base64) {
            value.set_sensitive(true);
            headers.insert(key, value);
        }
        if let Ok(value) = HeaderValue::from_str(&self.md5) {
            headers.insert(md5, value);
        }
    }
}

impl fmt::Debug for SsecKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SsecKey(<redacted>)")
    }
}

/// Which SSE-C headers a key goes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `x-amz-server-side-encryption-customer-*`: the object written or read.
    Destination,
    /// `x-amz-copy-source-server-side-encryption-customer-*`: a copy's source.
    CopySource,
}

impl Group {
    /// The algorithm, key and key-MD5 header names.
    pub fn names(self) -> [HeaderName; 3] {
        match self {
            Self::Destination => [SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5],
            Self::CopySource => [
                COPY_SOURCE_SSE_C_ALGORITHM,
                COPY_SOURCE_SSE_C_KEY,
                COPY_SOURCE_SSE_C_KEY_MD5,
            ],
        }
    }

    /// Whether a request carries any header of this group (then the client chose its
    /// own key, or sent a broken set the SSE-C layer refuses: nothing is injected).
    pub fn sent(self, headers: &HeaderMap) -> bool {
        self.names().iter().any(|name| headers.contains_key(name))
    }
}

/// A bucket's keys: writes use the current one, reads try the previous ones in order
/// when the store says the key is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketKeys {
    /// `inject_key_file`.
    pub current: SsecKey,
    /// `previous_key_files`, in file order.
    pub previous: Vec<SsecKey>,
    /// `inject_derive = "object"`: each object gets its own key, derived from these.
    pub derive: bool,
}

impl BucketKeys {
    /// The current key, then the previous ones.
    pub fn all(&self) -> impl Iterator<Item = &SsecKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// The keys object `key` of `bucket` is written and read with: these, or with
    /// `inject_derive = "object"` each one's [`derive_object_key`].
    pub fn for_object(self: &Arc<Self>, bucket: &str, key: &str) -> Arc<Self> {
        if !self.derive {
            return Arc::clone(self);
        }
        let derive = |k: &SsecKey| SsecKey::new(derive_object_key(k.expose(), bucket, key));
        Arc::new(Self {
            current: derive(&self.current),
            previous: self.previous.iter().map(derive).collect(),
            derive: false,
        })
    }
}

/// HKDF-SHA256 salt of per-object keys: names the purpose and the version, so a key
/// derived here is never the output of another use of the bucket key.
pub const DERIVE_SALT: &[u8] = b"ssec-proxy inject_derive object v1";

/// An object's own key under `inject_derive = "object"` (README "Per-object keys"):
/// HKDF-SHA256 (RFC 5869) with the bucket key as input key material, [`DERIVE_SALT`]
/// as salt, and as info the bucket name and the object key, each as UTF-8 after a
/// 4-byte big-endian length (so no two (bucket, key) pairs share an info); 32 bytes.
pub fn derive_object_key(bucket_key: &Key32, bucket: &str, key: &str) -> Key32 {
    use aws_lc_rs::hkdf;
    struct Len32;
    impl hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            KEY_LEN
        }
    }
    // Object keys are at most 1024 bytes and bucket names 63; a request line is bounded
    // far below 4 GiB, so these cannot saturate.
    let len = |s: &str| u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes();
    let (bucket_len, key_len) = (len(bucket), len(key));
    let info: [&[u8]; 4] = [&bucket_len, bucket.as_bytes(), &key_len, key.as_bytes()];
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, DERIVE_SALT).extract(bucket_key.expose());
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    // Expanding 32 bytes of SHA-256 output cannot fail (the limit is 255 × 32).
    if let Ok(okm) = prk.expand(&info, Len32) {
        let _ = okm.fill(&mut *out);
    }
    Key32::from_bytes(out)
}

/// Every `[[ssec.buckets]]` pattern with its keys, in file order: the first pattern
/// matching a bucket decides, as for the policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InjectTable(Vec<(glob::Pattern, Option<Arc<BucketKeys>>)>);

impl InjectTable {
    /// A table of these rules.
    pub fn new(rules: Vec<(glob::Pattern, Option<Arc<BucketKeys>>)>) -> Self {
        Self(rules)
    }

    /// The keys injected into requests for `bucket`, if its rule has any.
    pub fn for_bucket(&self, bucket: &str) -> Option<&Arc<BucketKeys>> {
        self.0
            .iter()
            .find(|(pattern, _)| pattern.matches(bucket))
            .and_then(|(_, keys)| keys.as_ref())
    }

    /// Whether no bucket injects a key.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|(_, keys)| keys.is_none())
    }
}

#[cfg(test)]
#[path = "inject_tests.rs"]
mod tests;
