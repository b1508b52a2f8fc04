//! Stateless multipart binding (resign mode, `auth.binding_key_file`): the upload ID a
//! client is given is the store's upload ID followed by a tag that authenticates it
//! for one bucket and object and says whether the upload was created with SSE-C, and
//! with which key (as a MAC of the key's MD5, never the digest itself). Any replica
//! holding the same binding key checks a part against the tag and restores the store's
//! ID, after restarts and with no memory of the upload.
//!
//! Form: `<store upload id>.<base64url tag>`, the tag being a mode byte, a 16-byte MAC
//! of bucket, object, store ID and the rest of the tag, and for SSE-C uploads a second
//! 16-byte MAC of bucket, object, store ID and the key's MD5. HMAC-SHA256 truncated to 128 bits, inputs length-prefixed
//! and domain-separated, so no field can be moved into another.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use crate::s3::ssec::KeyDigest;

/// The mode byte of an upload created without SSE-C.
const PLAIN: u8 = 1;
/// The mode byte of an upload created with SSE-C.
const ENCRYPTED: u8 = 2;
/// Length of each MAC in the tag.
const MAC_LEN: usize = 16;

/// What an upload ID a client sent says, once opened with the binding key.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened<'a> {
    /// Issued by a proxy holding the binding key, for this bucket and object.
    Bound(Bound<'a>),
    /// Not in the proxy's form: the store's own ID (from ListMultipartUploads, or an
    /// upload created before binding was configured).
    Untagged,
    /// In the proxy's form but its MAC does not hold: altered, made up, issued for
    /// another object, or under another binding key.
    Forged,
}

/// A bound upload ID, opened.
#[derive(Debug, PartialEq, Eq)]
pub struct Bound<'a> {
    /// The store's upload ID.
    pub store_id: &'a str,
    key_mac: Option<[u8; MAC_LEN]>,
}

impl Bound<'_> {
    /// Whether the upload was created with SSE-C.
    pub fn encrypted(&self) -> bool {
        self.key_mac.is_some()
    }
}

/// The binding key, ready to tag and open upload IDs.
pub struct Binder {
    key: hmac::Key,
}

impl std::fmt::Debug for Binder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Binder(..)")
    }
}

impl Binder {
    /// A binder keyed with `auth.binding_key_file`'s 32 bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The upload ID to give the client for the store's `store_id`.
    pub fn bind(
        &self,
        bucket: &str,
        object: &str,
        store_id: &str,
        digest: Option<&KeyDigest>,
    ) -> String {
        let mut sealed = Vec::with_capacity(1 + MAC_LEN);
        match digest {
            Some(digest) => {
                sealed.push(ENCRYPTED);
                sealed.extend_from_slice(&self.key_mac(bucket, object, store_id, digest));
            }
            None => sealed.push(PLAIN),
        }
        let mut tag = Vec::with_capacity(1 + 2 * MAC_LEN);
        tag.push(sealed[0]);
        tag.extend_from_slice(&self.id_mac(bucket, object, store_id, &sealed));
        tag.extend_from_slice(&sealed[1..]);
        format!("{store_id}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Reads `client_id`, an upload ID a client sent for `bucket`/`object`.
    pub fn open<'a>(&self, bucket: &str, object: &str, client_id: &'a str) -> Opened<'a> {
        let Some((store_id, tag)) = client_id.rsplit_once('.') else {
            return Opened::Untagged;
        };
        // Base64url of 17 or 33 bytes: anything else is not a tag of ours.
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return Opened::Untagged;
        };
        let (mode, macs) = match tag.split_first() {
            Some((&PLAIN, macs)) if macs.len() == MAC_LEN => (PLAIN, macs),
            Some((&ENCRYPTED, macs)) if macs.len() == 2 * MAC_LEN => (ENCRYPTED, macs),
            _ => return Opened::Untagged,
        };
        if store_id.is_empty() {
            return Opened::Forged;
        }
        let (id_mac, key_mac) = macs.split_at(MAC_LEN);
        let mut sealed = Vec::with_capacity(1 + MAC_LEN);
        sealed.push(mode);
        sealed.extend_from_slice(key_mac);
        let expected = self.id_mac(bucket, object, store_id, &sealed);
        if !bool::from(expected.ct_eq(id_mac)) {
            return Opened::Forged;
        }
        Opened::Bound(Bound {
            store_id,
            key_mac: key_mac.try_into().ok(),
        })
    }

    /// Whether `digest` is the key `bound` was created with (false for an upload
    /// created without SSE-C).
    pub fn key_matches(
        &self,
        bucket: &str,
        object: &str,
        bound: &Bound<'_>,
        digest: &KeyDigest,
    ) -> bool {
        let Some(key_mac) = bound.key_mac else {
            return false;
        };
        let expected = self.key_mac(bucket, object, bound.store_id, digest);
        expected.ct_eq(&key_mac).into()
    }

    /// Over the mode byte and the key MAC, so that no byte of the tag can change
    /// without the ID being forged.
    fn id_mac(&self, bucket: &str, object: &str, store_id: &str, sealed: &[u8]) -> [u8; MAC_LEN] {
        self.mac(b"ssec-proxy upload id v1", bucket, object, store_id, sealed)
    }

    fn key_mac(
        &self,
        bucket: &str,
        object: &str,
        store_id: &str,
        digest: &KeyDigest,
    ) -> [u8; MAC_LEN] {
        self.mac(
            b"ssec-proxy upload key v1",
            bucket,
            object,
            store_id,
            digest.as_bytes(),
        )
    }

    fn mac(
        &self,
        domain: &[u8],
        bucket: &str,
        object: &str,
        store_id: &str,
        last: &[u8],
    ) -> [u8; MAC_LEN] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for field in [
            domain,
            bucket.as_bytes(),
            object.as_bytes(),
            store_id.as_bytes(),
            last,
        ] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field);
        }
        let tag = ctx.sign();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&tag.as_ref()[..MAC_LEN]);
        out
    }
}

#[cfg(test)]
#[path = "binding_tests.rs"]
mod tests;
