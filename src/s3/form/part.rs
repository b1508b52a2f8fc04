//! The header block of one form part (RFC 7578 §4.2, RFC 2046 §5.1.1), read the strict
//! way: only what Go's `textproto`/`mime` and RGW's `read_form_part_header` /
//! `parse_boundary_params` read alike is accepted. Also the boundary search.

use super::{Ambiguity, Refusal};
use crate::s3::headers::is_tchar;

/// A part's name and its `filename` parameter, unquoted, if it has one.
#[derive(Debug)]
pub(super) struct PartHead {
    pub name: String,
    pub filename: Option<Vec<u8>>,
    /// Whether a `Content-Type` of the part names a `charset` other than UTF-8.
    pub foreign_charset: bool,
}

/// Length of the header block at the start of `rest`, its blank line included; `None`
/// until the blank line has arrived.
pub(super) fn head_len(rest: &[u8]) -> Option<usize> {
    if rest.starts_with(b"\r\n") {
        return Some(2);
    }
    find_crlf2(rest).map(|i| i + 4)
}

impl PartHead {
    /// Reads a header block (as measured by [`head_len`]).
    ///
    /// Go folds lines that start with whitespace into the previous one; RGW trims them
    /// and takes a whitespace-only line as the end of the block. Go takes the first of
    /// repeated headers, RGW the last. Go decodes `quoted-printable` parts; RGW does not.
    pub fn parse(block: &[u8]) -> Result<Self, Refusal> {
        let mut lines = block.strip_suffix(b"\r\n").unwrap_or(block);
        let mut disposition = None;
        let mut count = 0;
        let mut foreign_charset = false;
        while let Some(end) = find(lines, b"\r\n") {
            let line = &lines[..end];
            lines = &lines[end + 2..];
            let (name, value) = header_line(line)?;
            if name.eq_ignore_ascii_case(b"content-disposition") {
                count += 1;
                disposition = Some(value);
            } else if name.eq_ignore_ascii_case(b"content-transfer-encoding")
                && !["7bit", "8bit", "binary"]
                    .iter()
                    .any(|e| value.eq_ignore_ascii_case(e.as_bytes()))
            {
                return Err(Ambiguity::TransferEncoding.into());
            } else if name.eq_ignore_ascii_case(b"content-type") {
                foreign_charset |= names_foreign_charset(value);
            }
        }
        match (count, disposition) {
            (1, Some(value)) => disposition_params(value).map(|head| PartHead {
                foreign_charset,
                ..head
            }),
            (0, _) | (_, None) => Err(Refusal::Malformed("a part without Content-Disposition")),
            _ => Err(Ambiguity::Disposition.into()),
        }
    }
}

/// Splits one header line into a token name and a trimmed value.
fn header_line(line: &[u8]) -> Result<(&[u8], &[u8]), Ambiguity> {
    let folded = line.first().is_none_or(|&b| b == b' ' || b == b'\t');
    let controls = line.iter().any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f));
    if folded || controls {
        return Err(Ambiguity::PartHeader);
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(Ambiguity::PartHeader)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !is_token(name) {
        return Err(Ambiguity::PartHeader);
    }
    Ok((name, trim(value)))
}

/// `form-data; name="token"` with an optional `filename` and nothing else.
fn disposition_params(value: &[u8]) -> Result<PartHead, Refusal> {
    let mut pieces = value.split(|&b| b == b';');
    let kind = pieces.next().map(trim).unwrap_or_default();
    if !kind.eq_ignore_ascii_case(b"form-data") {
        return Err(Ambiguity::Disposition.into());
    }
    let mut name = None;
    let mut filename = None;
    for piece in pieces {
        let eq = piece
            .iter()
            .position(|&b| b == b'=')
            .ok_or(Ambiguity::Disposition)?;
        let value = param_value(trim(&piece[eq + 1..])).ok_or(Ambiguity::Disposition)?;
        // Exact, lower-case names: Go lower-cases them, RGW matches them by case.
        match trim(&piece[..eq]) {
            b"name" if name.is_none() && is_token(value) => {
                name = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"filename" if filename.is_none() => filename = Some(value.to_vec()),
            _ => return Err(Ambiguity::Disposition.into()),
        }
    }
    let name = name.ok_or(Ambiguity::Disposition)?;
    Ok(PartHead {
        name,
        filename,
        foreign_charset: false,
    })
}

/// Whether a part's `Content-Type` value has a `charset` parameter that is not UTF-8
/// (or cannot be read): Garage decodes a field's value from the charset it names (the
/// `multer` crate's `Field::text`), the other stores and the proxy take its bytes.
fn names_foreign_charset(value: &[u8]) -> bool {
    value.split(|&b| b == b';').skip(1).any(|param| {
        let (name, value) = match param.iter().position(|&b| b == b'=') {
            Some(eq) => (trim(&param[..eq]), trim(&param[eq + 1..])),
            None => (trim(param), &[][..]),
        };
        name.eq_ignore_ascii_case(b"charset")
            && !param_value(value).is_some_and(|v| {
                v.eq_ignore_ascii_case(b"utf-8") || v.eq_ignore_ascii_case(b"utf8")
            })
    })
}

/// A parameter value both readers take alike: a token, or a quoted string without
/// backslashes, quotes or control characters inside. Returns the value unquoted.
pub(super) fn param_value(value: &[u8]) -> Option<&[u8]> {
    match value {
        [b'"', inner @ .., b'"'] => inner
            .iter()
            .all(|&b| b >= 0x80 || ((0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'))
            .then_some(inner),
        token if is_token(token) => Some(token),
        _ => None,
    }
}

/// RFC 9110 `token`: one or more `tchar`.
pub(super) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Optional whitespace (RFC 9110 `OWS`).
pub(super) fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t');
    match (start, end) {
        (Some(a), Some(b)) => &s[a..=b],
        _ => &[],
    }
}

fn find_crlf2(haystack: &[u8]) -> Option<usize> {
    find(haystack, b"\r\n\r\n")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Finds `--boundary` in bytes (Boyer–Moore–Horspool: file contents can be large).
#[derive(Clone)]
pub(super) struct Finder {
    needle: Vec<u8>,
    skip: Box<[usize; 256]>,
}

impl Finder {
    /// A finder for `needle` (at least one byte to be useful; empty finds nothing).
    pub fn new(needle: Vec<u8>) -> Self {
        let mut skip = Box::new([needle.len().max(1); 256]);
        if let Some((_, init)) = needle.split_last() {
            for (i, &b) in init.iter().enumerate() {
                skip[usize::from(b)] = init.len() - i;
            }
        }
        Self { needle, skip }
    }

    /// The bytes searched for.
    pub fn needle(&self) -> &[u8] {
        &self.needle
    }

    /// Offset of the first occurrence in `haystack`.
    pub fn find(&self, haystack: &[u8]) -> Option<usize> {
        let (&last, init) = self.needle.split_last()?;
        let n = self.needle.len();
        let mut at = 0;
        while let Some(window) = haystack.get(at..at + n) {
            let end = window[n - 1];
            if end == last && &window[..n - 1] == init {
                return Some(at);
            }
            at += self.skip[usize::from(end)];
        }
        None
    }
}

impl std::fmt::Debug for Finder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finder")
            .field("len", &self.needle.len())
            .finish()
    }
}
