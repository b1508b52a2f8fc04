//! POST Object (browser form upload): reading the form fields that precede the `file`
//! part of a `multipart/form-data` body (RFC 7578, RFC 2046 §5.1), so their SSE-C fields
//! can be validated before the store sees the request. The bytes read are forwarded as
//! they are, then the file part streams, watched by [`Tail`] until the closing delimiter.
//!
//! The reading is strict: anything Go's `mime/multipart` (SeaweedFS, MinIO) or RGW's
//! form reader could take differently from this one is refused (`Ambiguity`).

mod part;
pub mod policy;
pub mod rewrite;
mod tail;
#[cfg(test)]
mod tests;

pub use tail::Tail;

use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::sigv4;
use part::{Finder, PartHead};

/// Longest form prefix (fields before `file`) the proxy reads before giving up.
pub const MAX_PREFIX: usize = 256 * 1024;

/// Longest boundary RFC 2046 allows.
pub const MAX_BOUNDARY: usize = 70;

/// The form fields before the file part, names lower-cased, and where the file's
/// content starts.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields {
    fields: Vec<(String, Vec<u8>)>,
    file_at: Option<usize>,
    /// Where the delimiter after the last field starts (the file part's, or the
    /// closing one).
    rest_at: usize,
    /// The file part's `filename` parameter.
    filename: Option<Vec<u8>>,
}

impl Fields {
    /// The value of a field (case-insensitive name; names are unique).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Offset in the body of the file part's first content byte; `None` when the form
    /// ended (closing delimiter) before a file part.
    pub fn file_at(&self) -> Option<usize> {
        self.file_at
    }

    /// Offset in the body of the delimiter that follows the last field: the file part's
    /// (its header block and content follow) or the closing one.
    pub fn rest_at(&self) -> usize {
        self.rest_at
    }

    /// The file part's `filename` parameter (unquoted), if it has one.
    pub fn filename(&self) -> Option<&[u8]> {
        self.filename.as_deref()
    }

    /// The fields in the order received, names lower-cased.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The object the form writes: its `key` field with `${filename}` replaced as S3
    /// does; `None` without a UTF-8 `key` field.
    pub fn object_key(&self) -> Option<String> {
        policy::expand(self, self.filename())
            .into_iter()
            .find(|(name, _)| name == "key")
            .and_then(|(_, value)| String::from_utf8(value).ok())
    }
}

/// Refuses a form with a field value carrying a control character but tab: RGW turns
/// the text after a line break into a header of its own on every read of the object,
/// so the store and the proxy would not read the value alike.
pub fn check_values(fields: &Fields) -> Result<(), S3Error> {
    fields
        .iter()
        .try_for_each(|(name, value)| check_value(name, value))
}

/// Refuses a form AWS refuses for what it lacks: a `key` field, or a file part
/// (SeaweedFS and RGW store an empty object from a form without a file, whatever its
/// policy's `content-length-range` says).
pub fn check_required(fields: &Fields) -> Result<(), S3Error> {
    if fields.get("key").is_none() {
        return Err(S3Error::new(
            S3ErrorCode::InvalidArgument,
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        )
        .with_argument_name("key")
        .with_reason(Reason::MalformedPost));
    }
    if fields.file_at().is_none() {
        return Err(S3Error::new(
            S3ErrorCode::InvalidArgument,
            "POST requires exactly one file upload per request.",
        )
        .with_argument_name("file")
        .with_reason(Reason::MalformedPost));
    }
    Ok(())
}

/// Byte order marks (UTF-8, UTF-16 LE and BE) that Garage strips from the start of a
/// field's value and decodes it by (the `multer` crate's `Field::text`); the other
/// stores and the proxy keep the bytes.
const BYTE_ORDER_MARKS: [&[u8]; 3] = [b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF"];

/// [`check_values`] for one field.
pub fn check_value(name: &str, value: &[u8]) -> Result<(), S3Error> {
    let why = if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        "has a line break or another control character"
    } else if BYTE_ORDER_MARKS.iter().any(|bom| value.starts_with(bom)) {
        "starts with a byte order mark"
    } else {
        return Ok(());
    };
    Err(crate::s3::strict::ambiguous(
        crate::s3::strict::REASON_FORM,
        format!("The form field {name} {why}, which stores read differently."),
    ))
}

impl sigv4::FormAuth for Fields {
    fn field(&self, name: &str) -> Option<&[u8]> {
        self.get(name)
    }
}

impl std::fmt::Debug for Fields {
    // Field values include keys and signatures: print names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fields")
            .field(
                "names",
                &self.fields.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("file_at", &self.file_at)
            .finish()
    }
}

/// Result of looking at the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The fields before the file part (or before the end of a form without one).
    Fields(Fields),
    /// More bytes are needed.
    Incomplete,
    /// The body is not multipart/form-data as announced.
    Malformed(&'static str),
    /// A store could read the form differently from this reader.
    Ambiguous(Ambiguity),
}

/// Why a form upload is refused as ambiguous: what a store could read differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ambiguity {
    /// SSE-C, SSE or copy-source headers on a form upload.
    #[error("x-amz-server-side-encryption* or x-amz-copy-source* headers on a form upload")]
    Headers,
    /// A Content-Type parameter a store could read differently.
    #[error(
        "a Content-Type parameter that is repeated, empty, in RFC 2231 form or not a plain token or quoted string, or a boundary outside RFC 2046's characters (no spaces)"
    )]
    ContentTypeParams,
    /// Bytes before the first delimiter.
    #[error("bytes before the first boundary")]
    Preamble,
    /// Spaces or tabs after a boundary.
    #[error("whitespace after a boundary")]
    DelimiterPadding,
    /// The boundary string where it is not a delimiter.
    #[error("the boundary string inside a part, or a delimiter not preceded by CRLF")]
    BoundaryInPart,
    /// A part header line a store could read differently.
    #[error(
        "a part header that is folded, has a name that is not a token, or has control characters"
    )]
    PartHeader,
    /// A Content-Disposition a store could read differently.
    #[error(
        "a part whose Content-Disposition is not exactly one form-data; name=\"token\" (a filename only on the file part; no repeated, upper-case, RFC 2231 or other parameters)"
    )]
    Disposition,
    /// A transfer encoding Go decodes and RGW does not.
    #[error("a Content-Transfer-Encoding other than 7bit, 8bit or binary")]
    TransferEncoding,
    /// A field part whose `Content-Type` names a charset other than UTF-8, which Garage
    /// decodes the value from.
    #[error("a field part whose Content-Type names a charset other than UTF-8")]
    FieldCharset,
    /// A field given twice.
    #[error("a field name given twice (names compare without case)")]
    DuplicateField,
    /// Another part, or anything but the closing delimiter, after the file part.
    #[error(
        "a part after the file part, or anything but the closing delimiter after the file's content"
    )]
    AfterFile,
    /// The body ended, or the store answered, before the closing delimiter.
    #[error("no closing delimiter after the file part")]
    Unterminated,
}

impl Ambiguity {
    /// The answer for the client: 400 `InvalidRequest`, reason `ambiguous_form`.
    pub fn to_s3(self) -> S3Error {
        let message = match self {
            Self::Headers => "A form upload (POST Object) takes SSE-C as form fields before the file: x-amz-server-side-encryption* and x-amz-copy-source* headers are refused on it, because a store could use them instead of the fields.".into(),
            other => format!(
                "The form upload is refused because an object store could read it differently from this proxy: {other}."
            ),
        };
        S3Error::new(S3ErrorCode::InvalidRequest, message).with_reason(Reason::AmbiguousForm)
    }
}

/// Why a form upload is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not multipart/form-data (`MalformedPOSTRequest`, reason `malformed_post`).
    Malformed(&'static str),
    /// See [`Ambiguity`].
    Ambiguous(Ambiguity),
}

impl Refusal {
    /// The answer for the client.
    pub fn to_s3(self) -> S3Error {
        match self {
            Self::Malformed(why) => S3Error::new(
                S3ErrorCode::MalformedPOSTRequest,
                format!(
                    "The body of your POST request is not well-formed multipart/form-data: {why}."
                ),
            )
            .with_reason(Reason::MalformedPost),
            Self::Ambiguous(a) => a.to_s3(),
        }
    }
}

impl From<Ambiguity> for Refusal {
    fn from(a: Ambiguity) -> Self {
        Self::Ambiguous(a)
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type.
///
/// Go's `mime.ParseMediaType` lower-cases parameter names, decodes RFC 2231 forms and
/// backslash escapes and refuses repeats; RGW splits on `;` with no quoting, keeps the
/// last repeat and matches names by case. Only what both read alike is accepted.
pub fn boundary(content_type: &str) -> Result<String, Refusal> {
    let mut pieces = content_type.split(';');
    let kind = pieces.next().unwrap_or_default();
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(Refusal::Malformed(
            "the Content-Type is not multipart/form-data",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    let mut found = None;
    for piece in pieces {
        let (name, value) = piece.split_once('=').ok_or(Ambiguity::ContentTypeParams)?;
        let name = name.trim_matches(part::is_ows).to_ascii_lowercase();
        let value = value.trim_matches(part::is_ows);
        if !part::is_token(name.as_bytes())
            || name.contains('*')
            || names.contains(&name)
            || part::param_value(value.as_bytes()).is_none()
        {
            return Err(Ambiguity::ContentTypeParams.into());
        }
        if name == "boundary" {
            found = Some(boundary_value(value)?);
        }
        names.push(name);
    }
    found.ok_or(Refusal::Malformed("no boundary"))
}

/// A boundary value: RFC 2046 `bchars` without space, unquoted only where it is also
/// a token (so Go's token reading and RGW's raw reading agree), 1..=70 characters.
fn boundary_value(value: &str) -> Result<String, Ambiguity> {
    let (inner, quoted) = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => (inner, true),
        None => (value, false),
    };
    let ok = !inner.is_empty()
        && inner.len() <= MAX_BOUNDARY
        && inner.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'\'' | b'+' | b'_' | b'-' | b'.')
                || (quoted && matches!(b, b'(' | b')' | b',' | b'/' | b':' | b'=' | b'?'))
        });
    ok.then(|| inner.to_owned())
        .ok_or(Ambiguity::ContentTypeParams)
}

/// Parses the fields at the start of `body` (everything read so far).
///
/// Every occurrence of `--boundary` must be a delimiter: at the very start, or after
/// CRLF, and followed by CRLF (another part) or `--` (the end). RGW ends a part at any
/// `--boundary`, Go only at a delimiter line, which may carry trailing whitespace.
pub fn parse(body: &[u8], boundary: &str) -> Parsed {
    let finder = Finder::new(format!("--{boundary}").into_bytes());
    match parse_with(body, &finder) {
        Ok(Some(fields)) => Parsed::Fields(fields),
        Ok(None) => Parsed::Incomplete,
        Err(Refusal::Malformed(why)) => Parsed::Malformed(why),
        Err(Refusal::Ambiguous(a)) => Parsed::Ambiguous(a),
    }
}

fn parse_with(body: &[u8], finder: &Finder) -> Result<Option<Fields>, Refusal> {
    let delimiter = finder.needle();
    if !body.starts_with(delimiter) {
        return if delimiter.starts_with(body) {
            Ok(None)
        } else {
            Err(Ambiguity::Preamble.into())
        };
    }
    let mut pos = delimiter.len();
    let mut out = Fields::default();
    loop {
        out.rest_at = pos - delimiter.len();
        // After a delimiter: "--" ends the form, CRLF starts a part.
        let Some(after) = body.get(pos..pos + 2) else {
            return Ok(None);
        };
        match after {
            b"--" => return Ok(Some(out)),
            b"\r\n" => pos += 2,
            [b' ' | b'\t', _] => return Err(Ambiguity::DelimiterPadding.into()),
            _ => return Err(Refusal::Malformed("a boundary followed by other bytes")),
        }
        let rest = &body[pos..];
        let Some(head_len) = part::head_len(rest) else {
            // The header block is not complete yet; a boundary in it is already wrong.
            return match finder.find(rest) {
                Some(_) => Err(Ambiguity::BoundaryInPart.into()),
                None => Ok(None),
            };
        };
        if finder.find(&rest[..head_len]).is_some() {
            return Err(Ambiguity::BoundaryInPart.into());
        }
        let head = PartHead::parse(&rest[..head_len])?;
        pos += head_len;
        if head.name.eq_ignore_ascii_case("file") {
            out.file_at = Some(pos);
            out.filename = head.filename;
            return Ok(Some(out));
        }
        if head.filename.is_some() {
            // Go's ReadForm files a part with a filename under files, not values.
            return Err(Ambiguity::Disposition.into());
        }
        if head.foreign_charset {
            return Err(Ambiguity::FieldCharset.into());
        }
        let Some(end) = finder.find(&body[pos..]) else {
            return Ok(None);
        };
        let Some(value_len) = end
            .checked_sub(2)
            .filter(|&v| &body[pos + v..pos + end] == b"\r\n")
        else {
            return Err(Ambiguity::BoundaryInPart.into());
        };
        let name = head.name.to_ascii_lowercase();
        if out.fields.iter().any(|(n, _)| *n == name) {
            return Err(Ambiguity::DuplicateField.into());
        }
        out.fields.push((name, body[pos..pos + value_len].to_vec()));
        pos += end + delimiter.len();
    }
}
