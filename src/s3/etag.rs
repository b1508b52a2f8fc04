//! Canonical ETags (DESIGN "ETags"): every ETag a client sees is a well-formed strong
//! entity tag (RFC 9110 §8.8.3), `"<32 lower hex>"` or `"<32 lower hex>-N"`, unquoted
//! only where AWS's own format is (GetObjectAttributes). Values are otherwise kept.

use md5::{Digest as _, Md5};

/// Whether the bare value (no quotes) is an S3 ETag: 32 hex digits, optionally `-N`.
pub(crate) fn is_s3_tag(bare: &str) -> bool {
    let (hex, parts) = match bare.split_once('-') {
        Some((hex, n)) => (hex, Some(n)),
        None => (bare, None),
    };
    hex.len() == 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && parts
            .is_none_or(|n| !n.is_empty() && n.len() <= 5 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The value without surrounding whitespace and one pair of quotes (XML entity or
/// literal), or `None` for weak tags, which are left alone.
pub(crate) fn bare(value: &str) -> Option<&str> {
    let v = value.trim();
    if v.starts_with("W/") {
        return None;
    }
    let v = v
        .strip_prefix("&quot;")
        .and_then(|s| s.strip_suffix("&quot;"))
        .or_else(|| {
            v.strip_prefix("&#34;")
                .and_then(|s| s.strip_suffix("&#34;"))
        })
        .or_else(|| v.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .unwrap_or(v);
    Some(v)
}

/// Canonical form of an ETag header value; `None` when it is already canonical or
/// cannot be made so (weak tags, values with quotes or control characters inside).
pub fn canonical_header(value: &str) -> Option<String> {
    let inner = bare(value)?;
    let fixed = if is_s3_tag(inner) {
        format!("\"{}\"", inner.to_ascii_lowercase())
    } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
        format!("\"{inner}\"")
    } else {
        return None;
    };
    (fixed != value).then_some(fixed)
}

/// Canonical content of an XML `<ETag>` element (`&quot;…&quot;`, or bare when
/// `quoted` is false); `None` when it should be left as it is.
pub fn canonical_xml(content: &str, quoted: bool) -> Option<String> {
    let inner = bare(content)?;
    if inner.is_empty()
        || !inner
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'&' && b != b'<')
    {
        return None;
    }
    let inner = if is_s3_tag(inner) {
        inner.to_ascii_lowercase()
    } else {
        inner.to_owned()
    };
    let fixed = if quoted {
        format!("&quot;{inner}&quot;")
    } else {
        inner
    };
    (fixed != content).then_some(fixed)
}

/// The multipart ETag S3 stores compute: MD5 over the binary part digests, then `-N`.
/// Fed the part ETags of a CompleteMultipartUpload request in order.
#[derive(Clone, Debug, Default)]
pub struct MultipartEtag {
    md5: Md5,
    parts: u32,
    invalid: bool,
}

impl MultipartEtag {
    /// Adds one part's ETag (quoted or not).
    pub fn push(&mut self, etag: &str) {
        let Some(inner) = bare(etag) else {
            self.invalid = true;
            return;
        };
        if let Some(digest) = digest_of(inner) {
            self.md5.update(digest);
            self.parts += 1;
        } else {
            self.invalid = true;
        }
    }

    /// `<hex>-N`, or `None` when a part ETag was not an MD5-style tag.
    pub fn finish(self) -> Option<String> {
        if self.invalid || self.parts == 0 {
            return None;
        }
        let mut etag = hex_of(&self.md5.finalize().into());
        etag.push_str(&format!("-{}", self.parts));
        Some(etag)
    }
}

/// The 16 bytes of an ETag's 32 hex digits (either case); `None` for anything else.
pub(crate) fn digest_of(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut digest = [0u8; 16];
    for (out, pair) in digest.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        *out = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(digest)
}

/// The 32 lower-case hex digits of an ETag's 16 bytes.
pub(crate) fn hex_of(digest: &[u8; 16]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(40);
    for b in digest {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_header_values() {
        let hex = "0123456789ABCDEF0123456789abcdef";
        assert_eq!(
            canonical_header(hex).as_deref(),
            Some("\"0123456789abcdef0123456789abcdef\"")
        );
        assert_eq!(
            canonical_header(&format!("\"{hex}-12\"")).as_deref(),
            Some("\"0123456789abcdef0123456789abcdef-12\"")
        );
        assert_eq!(
            canonical_header("\"0123456789abcdef0123456789abcdef\""),
            None
        );
        assert_eq!(
            canonical_header("opaque-tag").as_deref(),
            Some("\"opaque-tag\"")
        );
        assert_eq!(canonical_header("W/\"weak\""), None);
        assert_eq!(canonical_header("\"\""), None);
        assert_eq!(canonical_header("a\"b"), None);
    }

    #[test]
    fn repairs_xml_content_quoted_and_unquoted() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            canonical_xml(&format!("\"{hex}\""), true).as_deref(),
            Some(&*format!("&quot;{hex}&quot;"))
        );
        assert_eq!(canonical_xml(&format!("&quot;{hex}&quot;"), true), None);
        assert_eq!(
            canonical_xml(hex, true).as_deref(),
            Some(&*format!("&quot;{hex}&quot;"))
        );
        assert_eq!(
            canonical_xml(&format!("&quot;{hex}&quot;"), false).as_deref(),
            Some(hex)
        );
        assert_eq!(canonical_xml(hex, false), None);
        assert_eq!(canonical_xml("", true), None);
    }

    #[test]
    fn computes_the_multipart_etag_from_part_etags() {
        // md5(md5("a") ‖ md5("b")) with -2, as S3 stores report for a two-part upload.
        let a = "0cc175b9c0f1b6a831c399e269772661";
        let b = "92eb5ffee6ae2fec3ad71c777531578f";
        let mut m = MultipartEtag::default();
        m.push(&format!("\"{a}\""));
        m.push(b);
        let mut concat = Vec::new();
        for h in [a, b] {
            concat.extend((0..16).map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap()));
        }
        let want: String = Md5::digest(&concat)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        assert_eq!(m.finish(), Some(format!("{want}-2")));
        let mut bad = MultipartEtag::default();
        bad.push("not-hex");
        assert_eq!(bad.finish(), None);
        assert_eq!(MultipartEtag::default().finish(), None);
    }
}
