//! Opaque ETags (DESIGN "ETags", `[etag] mode = "opaque"`): the 128 bits of every S3
//! ETag a client sees are a keyed permutation of the store's, tweaked by the object it
//! belongs to, and every ETag that comes back in is mapped back. The `-N` of a
//! multipart ETag is kept. No state: every replica with the same binding key maps the
//! same way.
//!
//! The permutation is AES-256 of the one 16-byte block between two XORs of a per-object
//! mask (`E(x ⊕ Δ) ⊕ Δ`, the LRW/XEX form of a tweakable block cipher), where
//! `Δ = HMAC-SHA-256(bucket, key)` truncated to 16 bytes, both keys derived from
//! `auth.binding_key_file`. Without the tweak, two objects with the same content would
//! show the same value everywhere, and anyone able to write one object could tell
//! which other objects hold content they know; with it, equal content under another
//! name (or bucket) shows an unrelated value.
//!
//! The ETags of an upload's parts (UploadPart, UploadPartCopy, ListParts and the part
//! list of CompleteMultipartUpload) are tweaked by the upload too, under a mask of
//! their own (`Δ = HMAC-SHA-256(bucket, key, store upload ID)` under another derived
//! key): on stores where an SSE-C part's ETag is its plaintext's MD5 (SeaweedFS, RGW)
//! a part shares the digest of a one-part object of the same content, so a part
//! uploaded at an object's key would otherwise show the value the object's listing
//! shows, and tell whether a guess is its content.
//!
//! A permutation, not a MAC: the proxy must turn the client's value back into the
//! store's to forward a conditional or a CompleteMultipartUpload part list. A value that
//! is not an S3 ETag (32 hex digits, optionally `-N`) is left as it is both ways.

use std::sync::Arc;

use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::hmac;

use super::etag::{bare, digest_of, hex_of, is_s3_tag};

/// Derivation label of the permutation key (the binding key also tags upload IDs).
const LABEL: &[u8] = b"ssec-proxy opaque etag v1";
/// Derivation label of the key of the per-object masks.
const TWEAK_LABEL: &[u8] = b"ssec-proxy opaque etag tweak v1";
/// Derivation label of the key of the per-upload masks of part ETags.
const PART_TWEAK_LABEL: &[u8] = b"ssec-proxy opaque part etag tweak v1";

/// The permutation, keyed.
pub struct OpaqueEtags {
    encrypt: EncryptingKey,
    decrypt: DecryptingKey,
    tweak: hmac::Key,
    part_tweak: hmac::Key,
}

impl std::fmt::Debug for OpaqueEtags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueEtags(..)")
    }
}

/// Which way a value is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The store's value to the client's.
    Hide,
    /// The client's value to the store's.
    Reveal,
}

impl OpaqueEtags {
    /// The permutation under `auth.binding_key_file`'s 32 bytes; `None` only if the
    /// crypto library refuses AES-256 (then opaque mode fails closed).
    pub fn new(binding_key: &[u8; 32]) -> Option<Self> {
        let root = hmac::Key::new(hmac::HMAC_SHA256, binding_key);
        let derived = hmac::sign(&root, LABEL);
        let key = || UnboundCipherKey::new(&AES_256, derived.as_ref()).ok();
        Some(Self {
            encrypt: EncryptingKey::ecb(key()?).ok()?,
            decrypt: DecryptingKey::ecb(key()?).ok()?,
            tweak: hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&root, TWEAK_LABEL).as_ref()),
            part_tweak: hmac::Key::new(
                hmac::HMAC_SHA256,
                hmac::sign(&root, PART_TWEAK_LABEL).as_ref(),
            ),
        })
    }

    /// The permutation of the ETags of `bucket`/`key` (the key as the store names it:
    /// percent-decoded, unescaped).
    pub fn object(self: &Arc<Self>, bucket: &str, key: &str) -> ObjectEtags {
        self.masked(&self.tweak, &[bucket, key])
    }

    /// The permutation of the part ETags of the upload `upload_id` (the store's ID,
    /// decoded) of `bucket`/`key`: unrelated to the object's and to any other
    /// upload's.
    pub fn parts(self: &Arc<Self>, bucket: &str, key: &str, upload_id: &str) -> ObjectEtags {
        self.masked(&self.part_tweak, &[bucket, key, upload_id])
    }

    /// The permutation under the mask `tweak` gives `fields`: each but the last
    /// prefixed by its length, so that no two lists of fields read alike.
    fn masked(self: &Arc<Self>, tweak: &hmac::Key, fields: &[&str]) -> ObjectEtags {
        let mut context = hmac::Context::with_key(tweak);
        if let Some((last, leading)) = fields.split_last() {
            for field in leading {
                context.update(&(field.len() as u64).to_be_bytes());
                context.update(field.as_bytes());
            }
            context.update(last.as_bytes());
        }
        let mut mask = [0; 16];
        mask.copy_from_slice(&context.sign().as_ref()[..16]);
        ObjectEtags {
            etags: Arc::clone(self),
            mask,
        }
    }

    /// A permutation under a fresh random mask: for a value that must not be linked to
    /// any object's (a listing entry whose object the proxy cannot name with
    /// certainty). Its values reveal to nothing a client can use. `None` only when
    /// the system has no randomness to give.
    pub fn unlinkable(self: &Arc<Self>) -> Option<ObjectEtags> {
        let mut mask = [0; 16];
        aws_lc_rs::rand::fill(&mut mask).ok()?;
        Some(ObjectEtags {
            etags: Arc::clone(self),
            mask,
        })
    }

    /// The 16-byte block, permuted `direction`'s way.
    fn block(&self, block: &mut [u8; 16], mask: &[u8; 16], direction: Direction) -> bool {
        let xor = |block: &mut [u8; 16]| block.iter_mut().zip(mask).for_each(|(b, m)| *b ^= m);
        xor(block);
        let done = match direction {
            Direction::Hide => self.encrypt.encrypt(block).is_ok(),
            Direction::Reveal => self.decrypt.decrypt(block, DecryptionContext::None).is_ok(),
        };
        xor(block);
        done
    }
}

/// The permutation of one object's ETags.
#[derive(Clone)]
pub struct ObjectEtags {
    etags: Arc<OpaqueEtags>,
    mask: [u8; 16],
}

impl std::fmt::Debug for ObjectEtags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ObjectEtags(..)")
    }
}

impl ObjectEtags {
    /// The bare ETag (`<32 hex>` or `<32 hex>-N`, no quotes) mapped `direction`'s way,
    /// in lower case; `None` when it is not an S3 ETag.
    pub fn map_bare(&self, bare: &str, direction: Direction) -> Option<String> {
        if !is_s3_tag(bare) {
            return None;
        }
        let (hex, parts) = bare.split_at(32);
        let mut block = digest_of(hex)?;
        if !self.etags.block(&mut block, &self.mask, direction) {
            return None;
        }
        let mut mapped = hex_of(&block);
        mapped.push_str(parts);
        Some(mapped)
    }

    /// An ETag as written in a header or an XML element (quoted, `&quot;`-quoted or
    /// bare, `W/` kept) with its value mapped and its wrapping kept; `None` when it
    /// holds no S3 ETag.
    pub fn map_wrapped(&self, value: &str, direction: Direction) -> Option<String> {
        let trimmed = value.trim_start();
        let lead = &value[..value.len() - trimmed.len()];
        let (weak, rest) = match trimmed.strip_prefix("W/") {
            Some(rest) => ("W/", rest),
            None => ("", trimmed),
        };
        let inner = bare(rest)?;
        let mapped = self.map_bare(inner, direction)?;
        // `inner` is a slice of `rest`: keep what surrounds it byte for byte.
        let start = inner.as_ptr() as usize - rest.as_ptr() as usize;
        let end = start + inner.len();
        Some(format!(
            "{lead}{weak}{}{mapped}{}",
            &rest[..start],
            &rest[end..]
        ))
    }

    /// An `If-Match` / `If-None-Match` value (`*`, or a comma-separated list of entity
    /// tags) with each item mapped back to the store's, written canonically
    /// (`"<hex>"`, `W/"<hex>"`). Stores parse these loosely (SeaweedFS trims any number
    /// of quotes, RGW a lone one), so an item that is not exactly `*`, `"<tag>"`,
    /// `W/"<tag>"` or a bare `<tag>` for an S3 ETag becomes [`UNMATCHED`]: it matches
    /// nothing, as AWS reads an unknown tag, and cannot carry a store's own value past
    /// the mapping.
    pub fn reveal_condition(&self, value: &str) -> String {
        value
            .split(',')
            .map(|item| {
                let item = item.trim_matches([' ', '\t']);
                if item == "*" {
                    return item.to_owned();
                }
                let (weak, rest) = match item.strip_prefix("W/") {
                    Some(rest) => ("W/", rest),
                    None => ("", item),
                };
                let tag = rest
                    .strip_prefix('"')
                    .and_then(|r| r.strip_suffix('"'))
                    .unwrap_or(rest);
                match self.map_bare(tag, Direction::Reveal) {
                    Some(store) => format!("{weak}\"{store}\""),
                    None => UNMATCHED.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a conditional item that is not a well-formed S3 ETag is sent as: no store's
/// ETag (32 hex digits, however the store trims quotes) can equal it.
pub const UNMATCHED: &str = "\"unmatched\"";

#[cfg(test)]
mod tests {
    use super::*;

    fn etags() -> ObjectEtags {
        object(7, "bucket", "key")
    }

    fn object(seed: u8, bucket: &str, key: &str) -> ObjectEtags {
        Arc::new(OpaqueEtags::new(&[seed; 32]).unwrap()).object(bucket, key)
    }

    const STORE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn hides_and_reveals_keeping_the_part_count() {
        let e = etags();
        let hidden = e.map_bare(STORE, Direction::Hide).unwrap();
        assert_ne!(hidden, STORE);
        assert_eq!(hidden.len(), 32);
        assert!(
            hidden
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert_eq!(e.map_bare(&hidden, Direction::Reveal).unwrap(), STORE);

        let multi = format!("{STORE}-12");
        let hidden_multi = e.map_bare(&multi, Direction::Hide).unwrap();
        assert_eq!(hidden_multi, format!("{hidden}-12"));
        assert_eq!(e.map_bare(&hidden_multi, Direction::Reveal).unwrap(), multi);
        // Upper case in, lower case out.
        assert_eq!(
            e.map_bare(&hidden.to_ascii_uppercase(), Direction::Reveal)
                .unwrap(),
            STORE
        );
    }

    #[test]
    fn another_key_maps_differently() {
        let other = object(8, "bucket", "key");
        assert_ne!(
            etags().map_bare(STORE, Direction::Hide),
            other.map_bare(STORE, Direction::Hide)
        );
    }

    #[test]
    fn another_object_maps_differently() {
        let shown = etags().map_bare(STORE, Direction::Hide);
        for (bucket, key) in [
            ("bucket", "key2"),
            ("bucket", "Key"),
            ("bucket2", "key"),
            ("bucke", "tkey"),
            ("bucket", ""),
        ] {
            let other = object(7, bucket, key);
            assert_ne!(
                other.map_bare(STORE, Direction::Hide),
                shown,
                "{bucket}/{key}"
            );
            // And the client's value for one object reveals nothing of another's.
            let revealed = other.map_bare(shown.as_deref().unwrap(), Direction::Reveal);
            assert_ne!(revealed.as_deref(), Some(STORE), "{bucket}/{key}");
        }
        // The same object, from another (replica's) instance of the same key.
        assert_eq!(
            object(7, "bucket", "key").map_bare(STORE, Direction::Hide),
            shown
        );
    }

    #[test]
    fn an_uploads_parts_map_apart_from_the_object_and_other_uploads() {
        let root = Arc::new(OpaqueEtags::new(&[7; 32]).unwrap());
        let parts = root.parts("bucket", "key", "upload-1");
        let shown = parts.map_bare(STORE, Direction::Hide).unwrap();
        assert_eq!(parts.map_bare(&shown, Direction::Reveal).unwrap(), STORE);
        // The object's own value, the same content at the same key, differs.
        let object = root.object("bucket", "key");
        assert_ne!(object.map_bare(STORE, Direction::Hide).unwrap(), shown);
        assert_ne!(
            object.map_bare(&shown, Direction::Reveal).unwrap(),
            STORE,
            "a part's value read as the object's"
        );
        for (bucket, key, upload) in [
            ("bucket", "key", "upload-2"),
            ("bucket", "key", ""),
            ("bucket", "keyupload-1", ""),
            ("bucket", "ke", "yupload-1"),
            ("bucket2", "key", "upload-1"),
        ] {
            let other = root.parts(bucket, key, upload);
            assert_ne!(
                other.map_bare(STORE, Direction::Hide).unwrap(),
                shown,
                "{bucket}/{key}/{upload}"
            );
        }
        // Nor can an object's mask be spelled as an upload's.
        assert_ne!(
            root.object("bucket", "keyupload-1")
                .map_bare(STORE, Direction::Hide)
                .unwrap(),
            shown
        );
        // Another replica with the same binding key maps the same way.
        let replica = Arc::new(OpaqueEtags::new(&[7; 32]).unwrap());
        assert_eq!(
            replica
                .parts("bucket", "key", "upload-1")
                .map_bare(STORE, Direction::Hide)
                .unwrap(),
            shown
        );
    }

    #[test]
    fn keeps_the_wrapping() {
        let e = etags();
        let hidden = e.map_bare(STORE, Direction::Hide).unwrap();
        for (wrapped, expect) in [
            (format!("\"{STORE}\""), format!("\"{hidden}\"")),
            (
                format!("&quot;{STORE}&quot;"),
                format!("&quot;{hidden}&quot;"),
            ),
            (format!("&#34;{STORE}&#34;"), format!("&#34;{hidden}&#34;")),
            (STORE.to_owned(), hidden.clone()),
            (format!("W/\"{STORE}\""), format!("W/\"{hidden}\"")),
        ] {
            assert_eq!(e.map_wrapped(&wrapped, Direction::Hide).unwrap(), expect);
            assert_eq!(e.map_wrapped(&expect, Direction::Reveal).unwrap(), wrapped);
        }
    }

    #[test]
    fn leaves_other_values_alone() {
        let e = etags();
        for v in [
            "",
            "*",
            "\"abc\"",
            "\"0123\"",
            &format!("{STORE}-"),
            &format!("{STORE}x"),
        ] {
            assert_eq!(e.map_wrapped(v, Direction::Hide), None, "{v}");
        }
        assert_eq!(e.reveal_condition("*"), "*");
    }

    #[test]
    fn reveals_each_tag_of_a_condition_list() {
        let e = etags();
        let a = e.map_bare(STORE, Direction::Hide).unwrap();
        let other = "ffffffffffffffffffffffffffffffff";
        let b = e.map_bare(other, Direction::Hide).unwrap();
        assert_eq!(
            e.reveal_condition(&format!("\"{a}\", W/\"{b}\", {a} ,*")),
            format!("\"{STORE}\", W/\"{other}\", \"{STORE}\", *")
        );
    }

    #[test]
    fn loose_forms_match_nothing() {
        let e = etags();
        // Forms some store reads as a tag once it trims quotes or spaces: each would
        // carry a guessed store value past the mapping.
        for v in [
            format!("\"{STORE}"),
            format!("{STORE}\""),
            format!("\"\"{STORE}\"\""),
            format!("\"{STORE} \""),
            format!("&quot;{STORE}&quot;"),
            "\"x\"".to_owned(),
        ] {
            assert_eq!(e.reveal_condition(&v), UNMATCHED, "{v}");
        }
    }
}
