//! The header section, read strictly: no repeated single-valued field, no `_`
//! spelling of an S3 field, no `Connection` naming one, a literal copy-source bucket,
//! no HTTP trailers announced, no value with whitespace around it.

use http::header::CONTENT_ENCODING;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{REASON_CONNECTION, REASON_HEADER, ambiguous, path_style};
use crate::s3::error::S3Error;
use crate::s3::headers::COPY_SOURCE;

/// Header fields a store reads as one value; a second line is refused because stores
/// differ on which line counts (RGW takes the last, Go's `Header.Get` the first).
fn single_valued(name: &str) -> bool {
    name.starts_with("x-amz-server-side-encryption")
        || name.starts_with("x-amz-copy-source")
        || matches!(
            name,
            "content-type"
                | "content-md5"
                | "content-encoding"
                | "content-length"
                | "authorization"
                | "x-amz-content-sha256"
                | "x-amz-decoded-content-length"
                | "x-amz-trailer"
                | "x-amz-date"
                | "x-amz-security-token"
                | "x-amz-metadata-directive"
        )
}

/// Joins the lines of a repeated `Content-Encoding` into one, as RFC 9110 §5.3 reads a
/// list field: AWS SDKs send a client's own coding and `aws-chunked` on lines of their
/// own. SigV4 signs the lines of a field trimmed and joined with `,`, so the one line
/// joined that way keeps the signature, and every store reads the whole list instead of
/// the first or the last line ([`check_headers`] refuses what is still repeated).
pub fn fold_content_encoding(headers: &mut HeaderMap) {
    let mut lines = headers.get_all(CONTENT_ENCODING).iter();
    if lines.next().is_none() || lines.next().is_none() {
        return;
    }
    let joined = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .map(|v| v.as_bytes().trim_ascii())
        .collect::<Vec<_>>()
        .join(&b","[..]);
    // Valid values joined by a comma are a valid value.
    if let Ok(value) = HeaderValue::from_bytes(&joined) {
        headers.insert(CONTENT_ENCODING, value);
    }
}

/// Hop-by-hop fields (RFC 9110 §7.6.1): a `Connection` header may name these whatever
/// they look like.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// Refuses header sections a store could read differently from the proxy: a repeated
/// single-valued field, a name with `_` that reads as an S3 field once `_` is `-` (RGW
/// maps names to CGI variables, where both spellings meet), a `Connection` header naming
/// an S3 field (`x-amz-*`, `content-*`, `authorization`, `host`, `expect`: it would be
/// validated, then removed as hop-by-hop),
/// an `x-amz-copy-source` whose bucket is encoded, a store's own fields
/// (`Seaweed-*`, `X-SeaweedFS-*`), an `Accept` asking for JSON or HTML, and a `Trailer`
/// field.
///
/// `Trailer` announces HTTP trailer fields after a chunked body. S3 gives them no
/// meaning (SDKs send a trailing checksum inside the aws-chunked body, named by
/// `x-amz-trailer`), the proxy checks none of them, and the stores differ: Garage 2.5
/// reads a checksum from them, and its process stops (a panic) on HTTP trailers without
/// `x-amz-trailer`. The store would be sent them only when announced, so the
/// announcement is refused; unannounced trailers end the body before the store.
///
/// A value that begins or ends with a space or tab is refused too. HTTP/1.1 parsing
/// trims it, but HTTP/2 hands it on as sent (RFC 9113 §8.2.1 calls such a field
/// malformed), and stores trim before they read: `x-amz-content-sha256:
/// " STREAMING-…"` is an aws-chunked body to Garage and SeaweedFS, not to a literal
/// reader, whose framing checks it would skip.
pub fn check_headers(headers: &HeaderMap) -> Result<(), S3Error> {
    let mut previous: Option<&HeaderName> = None;
    let mut connection = false;
    let mut copy_source = None;
    // `HeaderMap` yields the values of a name one after the other, so a repeated field
    // is the same name twice in a row: no look-ups needed.
    for (name, value) in headers {
        let n = name.as_str();
        if let [b' ' | b'\t', ..] | [.., b' ' | b'\t'] = value.as_bytes() {
            return Err(ambiguous(
                REASON_HEADER,
                format!(
                    "The header {n} has a value that begins or ends with whitespace; stores differ on whether they trim it."
                ),
            ));
        }
        if name == http::header::ACCEPT && asks_another_format(value.as_bytes()) {
            return Err(ambiguous(
                REASON_HEADER,
                "The Accept header asks for another answer format than XML, which some stores (Ceph RGW: JSON or HTML) then use; S3 answers in XML only.",
            ));
        }
        if previous == Some(name) {
            if single_valued(n) {
                return Err(ambiguous(
                    REASON_HEADER,
                    format!("The header {n} is repeated; stores differ on which value counts."),
                ));
            }
            continue;
        }
        previous = Some(name);
        if store_internal(n) {
            return Err(ambiguous(
                REASON_HEADER,
                format!("The header {n} is reserved for the store's own use."),
            ));
        }
        if n.contains('_') && reads_as_s3_field(&n.replace('_', "-")) {
            return Err(ambiguous(
                REASON_HEADER,
                format!("The header name {n} has \"_\"; some stores read it as \"-\"."),
            ));
        }
        if name == http::header::TRAILER {
            return Err(ambiguous(
                REASON_HEADER,
                "HTTP trailers (the Trailer header) are not supported: S3 does not read them and stores differ on what they do with them; send a trailing checksum in the aws-chunked body (x-amz-trailer).",
            ));
        }
        connection |= name == http::header::CONNECTION;
        if name == COPY_SOURCE {
            copy_source = Some(value);
        }
    }
    if connection {
        check_connection(headers)?;
    }
    if let Some(source) = copy_source {
        check_copy_source(source.as_bytes())?;
    }
    Ok(())
}

/// Whether an `Accept` value makes Ceph RGW answer other than XML: RGW reads the value
/// up to its first `;` and answers JSON for `application/json` and HTML for
/// `text/html` (`RGWHandler_REST::allocate_formatter`), bodies the proxy's XML readers
/// (ETags, listings, errors) would pass on unread. Read here without case and blanks, so
/// a variant another version might take is refused too; a list of types (a browser's
/// `text/html,…`) is not one RGW takes.
fn asks_another_format(value: &[u8]) -> bool {
    let media = value.split(|&b| b == b';').next().unwrap_or_default();
    let media = media.trim_ascii();
    media.eq_ignore_ascii_case(b"application/json") || media.eq_ignore_ascii_case(b"text/html")
}

/// SeaweedFS's own request fields, which it reads from clients too: a client's
/// `Seaweed-X-Amz-Version-Id` is kept on the entry as its version id, and
/// `X-SeaweedFS-SSE-*` carry key data and IVs into its SSE-S3 and SSE-KMS paths. S3
/// gives these names no meaning, so no client needs them.
fn store_internal(name: &str) -> bool {
    name.starts_with("seaweed-") || name.starts_with("x-seaweedfs-")
}

fn reads_as_s3_field(name: &str) -> bool {
    name.starts_with("x-amz-")
        || name.starts_with("content-")
        || matches!(
            name,
            "authorization"
                | "host"
                | "expect"
                | "connection"
                | "transfer-encoding"
                // Conditionals: opaque ETag mode maps them.
                | "if-match"
                | "if-none-match"
                | "if-modified-since"
                | "if-unmodified-since"
        )
}

fn check_connection(headers: &HeaderMap) -> Result<(), S3Error> {
    let tokens = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    for token in tokens {
        let hop = HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(token));
        if !hop && reads_as_s3_field(&token.to_ascii_lowercase()) {
            return Err(ambiguous(
                REASON_CONNECTION,
                "The Connection header names an S3 header, which would be removed after it was checked.",
            ));
        }
    }
    Ok(())
}

/// `x-amz-copy-source` (`[/]bucket/key[?versionId=…]`, URL-encoded): the bucket must be
/// literal and the key must decode, for the same reasons as the request path.
fn check_copy_source(value: &[u8]) -> Result<(), S3Error> {
    // SDKs percent-encode the key; a raw byte outside visible ASCII is read by some
    // code as a value and by other code (`HeaderValue::to_str`) as no value at all.
    if !value.iter().all(u8::is_ascii_graphic) {
        return Err(ambiguous(
            REASON_HEADER,
            "The x-amz-copy-source header has characters that are not URL-encoded.",
        ));
    }
    let Ok(value) = std::str::from_utf8(value) else {
        return Err(ambiguous(
            REASON_HEADER,
            "The x-amz-copy-source header is not valid.",
        ));
    };
    if value.strip_prefix('/').unwrap_or(value).starts_with("arn:") {
        // The proxy cannot tell which bucket an access point names, so it could not
        // apply the source bucket's policy; SeaweedFS reads some ARNs as a PutObject.
        return Err(ambiguous(
            REASON_HEADER,
            "An access-point ARN as x-amz-copy-source is not supported: the proxy cannot apply the source bucket's policy.",
        ));
    }
    let path = copy_source_path(value);
    let bad = || {
        ambiguous(
            REASON_HEADER,
            "The x-amz-copy-source header is not a literal bucket followed by an encoded key.",
        )
    };
    match path_style(path).map_err(|_| bad())? {
        (Some(_), Some(_)) => Ok(()),
        _ => Err(bad()),
    }
}

/// The path part of an `x-amz-copy-source` value: `bucket/key`, without a leading `/`
/// or `?versionId=…`.
fn copy_source_path(value: &str) -> &str {
    let value = value.strip_prefix('/').unwrap_or(value);
    value.split_once('?').map_or(value, |(p, _)| p)
}

/// The bucket and decoded key an `x-amz-copy-source` value names, read as
/// [`check_headers`] checked it.
pub fn copy_source_object(value: &str) -> Option<(String, String)> {
    match path_style(copy_source_path(value)).ok()? {
        (Some(bucket), Some(key)) => Some((bucket, key)),
        _ => None,
    }
}
