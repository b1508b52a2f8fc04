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
use crate::secret::Key32;

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
}

impl BucketKeys {
    /// The current key, then the previous ones.
    pub fn all(&self) -> impl Iterator<Item = &SsecKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }
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
