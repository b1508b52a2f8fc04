//! The canonical request and the string to sign, as S3 builds them (AWS S3 API reference,
//! "Signature Calculations for the Authorization Header", "Task 1: Create a Canonical
//! Request"): no path normalization, the path encoded once, the query decoded and
//! re-encoded and sorted, header values trimmed of spaces.

use http::{HeaderMap, HeaderValue};

use super::crypto::push_sha256_hex;
use super::refuse;
use super::time::AmzDate;
use crate::s3::error::S3Error;

/// `AWS4-HMAC-SHA256`, the algorithm of requests.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The presigned-URL parameter that carries the signature and is not itself signed.
pub const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";

/// What the canonical request is built from.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    /// The method, as sent.
    pub method: &'a str,
    /// The request-target path, as received (still percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

/// How the canonical URI is made from the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathReading {
    /// The path as sent, encoded once ([`canonical_uri`]): how a client's signature is
    /// checked, as S3 does.
    AsSent,
    /// The path decoded, then encoded once ([`decoded_canonical_uri`]): how the stores
    /// check the signature of a request the proxy sends them.
    Decoded,
}

/// The canonical request: method, URI, query, headers, signed header list, payload hash,
/// one per line. `signed` are lower-case names, sorted without repeats (the caller checks
/// that); `skip_signature` drops `X-Amz-Signature` from the query (presigned).
#[cfg(test)]
pub fn canonical_request(
    parts: &Parts<'_>,
    signed: &[&str],
    payload_hash: &str,
    skip_signature: bool,
) -> Result<String, S3Error> {
    let values = signed_values(parts.headers, signed, |_| false)?;
    let reading = PathReading::AsSent;
    write_canonical(
        parts,
        reading,
        signed,
        &values,
        payload_hash,
        skip_signature,
    )
}

/// The values of the `signed` headers, each tagged with its name's place in `signed` and
/// sorted by it (a stable sort: repeats keep the order received), as [`write_canonical`]
/// takes them. One pass over the headers rather than a look-up per signed name; the same
/// pass refuses a header that `must_sign` picks and that is not signed (S3's
/// `AccessDenied`, "There were headers present in the request which were not signed").
pub fn signed_values<'h>(
    headers: &'h HeaderMap,
    signed: &[&str],
    must_sign: impl Fn(&str) -> bool,
) -> Result<Vec<(usize, &'h HeaderValue)>, S3Error> {
    let mut values: Vec<(usize, &HeaderValue)> = Vec::with_capacity(signed.len() + 2);
    for (name, value) in headers {
        match signed.binary_search(&name.as_str()) {
            Ok(at) => values.push((at, value)),
            Err(_) if must_sign(name.as_str()) => return Err(refuse::unsigned_headers()),
            Err(_) => {}
        }
    }
    values.sort_by_key(|&(at, _)| at);
    Ok(values)
}

/// The canonical request of `values`, each tagged with its name's place in `signed` and
/// sorted by it. A name in `signed` without a value cannot have been signed as sent.
pub fn write_canonical(
    parts: &Parts<'_>,
    reading: PathReading,
    signed: &[&str],
    values: &[(usize, &HeaderValue)],
    payload_hash: &str,
    skip_signature: bool,
) -> Result<String, S3Error> {
    let mut out = String::with_capacity(512);
    out.push_str(parts.method);
    out.push('\n');
    match reading {
        PathReading::AsSent => canonical_uri(parts.path, &mut out)?,
        PathReading::Decoded => decoded_canonical_uri(parts.path, &mut out)?,
    }
    out.push('\n');
    canonical_query(parts.query.unwrap_or(""), skip_signature, &mut out)?;
    out.push('\n');
    let mut values = values.iter().peekable();
    for (at, name) in signed.iter().enumerate() {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        while let Some((_, value)) = values.next_if(|(i, _)| *i == at) {
            if !first {
                out.push(',');
            }
            first = false;
            canonical_header_value(value, &mut out)?;
        }
        if first {
            return Err(refuse::signature_mismatch());
        }
        out.push('\n');
    }
    out.push('\n');
    push_joined(&mut out, signed, ';');
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// `AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex SHA-256 of the canonical request>`.
pub fn string_to_sign(date: &AmzDate, scope: &str, canonical_request: &str) -> String {
    let mut out = String::with_capacity(ALGORITHM.len() + scope.len() + 100);
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(date.as_str());
    out.push('\n');
    out.push_str(scope);
    out.push('\n');
    push_sha256_hex(canonical_request.as_bytes(), &mut out);
    out
}

/// Appends `items` separated by `sep`.
pub fn push_joined(out: &mut String, items: &[&str], sep: char) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(item);
    }
}

/// The canonical URI: the path as received, each byte outside RFC 3986's unreserved set
/// and `/` percent-encoded once, and escapes already present kept as they are.
///
/// S3 signs the path it received without normalizing it (no `.`/`..` resolution, `//`
/// kept) and without encoding it a second time: aws-sdk-s3 signs with
/// `PercentEncodingMode::Single` and `UriPathNormalizationMode::Disabled`, botocore's
/// `S3SigV4Auth` signs `urlsplit(url).path` as is. For a path every SDK sends (already
/// encoded once) this is that path byte for byte, so `%2F` stays distinct from `/` and
/// `%2B` from `+`. Raw bytes that a request line may carry but an SDK would have encoded
/// (`!`, `+`, `@`, bytes past ASCII in tests) are encoded here as the SDKs encode them.
/// A `%` that does not start an escape is not a URI (`InvalidURI`, as `strict` answers).
pub fn canonical_uri(path: &str, out: &mut String) -> Result<(), S3Error> {
    if path.is_empty() {
        out.push('/');
        return Ok(());
    }
    let bytes = path.as_bytes();
    // Runs that need no escaping are copied whole.
    let mut run = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'/' || is_unreserved(b) {
            i += 1;
            continue;
        }
        out.push_str(path.get(run..i).unwrap_or_default());
        if b == b'%' {
            let escape = bytes.get(i..i + 3).filter(|e| is_hex(e[1]) && is_hex(e[2]));
            let Some(escape) = escape else {
                return Err(refuse::invalid_uri());
            };
            out.extend(escape.iter().map(|&c| char::from(c)));
            i += 3;
        } else {
            push_escape(out, b);
            i += 1;
        }
        run = i;
    }
    out.push_str(path.get(run..).unwrap_or_default());
    Ok(())
}

/// The canonical URI as SeaweedFS 4.48, Ceph RGW 16.2, Garage 2.5 and MinIO build it
/// to check a signature: the path percent-decoded, then encoded once as AWS's
/// `UriEncode` with `/` kept. An escape of an unreserved byte reads as the byte (`%7E`
/// as `~`), every other escape in upper-case hex (`%5c` as `%5C`, `%2F` as `/`); for the
/// paths SDKs send this is [`canonical_uri`]'s result. Checked against the three stores
/// directly: a request to `/b/%2E%2E%5Cfoo` verifies only when signed as `/b/..%5Cfoo`.
pub fn decoded_canonical_uri(path: &str, out: &mut String) -> Result<(), S3Error> {
    if path.is_empty() {
        out.push('/');
        return Ok(());
    }
    let bytes = path.as_bytes();
    // Most paths need neither decoding nor escaping: copied whole.
    if bytes.iter().all(|&b| b == b'/' || is_unreserved(b)) {
        out.push_str(path);
        return Ok(());
    }
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let byte = if b == b'%' {
            let escape = bytes
                .get(i + 1..i + 3)
                .filter(|e| is_hex(e[0]) && is_hex(e[1]));
            let Some(&[hi, lo]) = escape else {
                return Err(refuse::invalid_uri());
            };
            let hex = |c: u8| char::from(c).to_digit(16).unwrap_or(0) as u8;
            i += 3;
            (hex(hi) << 4) | hex(lo)
        } else {
            i += 1;
            b
        };
        if byte == b'/' || is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            push_escape(out, byte);
        }
    }
    Ok(())
}

/// The canonical query: every `name=value` pair decoded (`+` is a space, as in
/// `application/x-www-form-urlencoded`, and as aws-sigv4 reads it), re-encoded with
/// [`uri_encode`], sorted by name then value, a missing `=` read as an empty value, empty
/// pairs (`a&&b`) dropped.
pub fn canonical_query(query: &str, skip_signature: bool, out: &mut String) -> Result<(), S3Error> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_query_component(name)?;
        if skip_signature && name == X_AMZ_SIGNATURE.as_bytes() {
            continue;
        }
        let value = decode_query_component(value)?;
        pairs.push((uri_encode(&name), uri_encode(&value)));
    }
    pairs.sort_unstable();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    Ok(())
}

/// Percent-decodes one query name or value; `+` is a space.
pub fn decode_query_component(raw: &str) -> Result<Vec<u8>, S3Error> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    return Err(refuse::invalid_uri());
                };
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// AWS's `UriEncode`: unreserved bytes kept, every other byte `%XX` in upper-case hex.
pub fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            push_escape(&mut out, b);
        }
    }
    out
}

/// One header value's canonical form, trimmed of spaces (only spaces: S3 keeps tabs) with
/// runs of spaces collapsed; repeats are joined with `,` by the caller, in the order
/// received. A value that is not UTF-8 cannot have been signed as sent.
fn canonical_header_value(value: &HeaderValue, out: &mut String) -> Result<(), S3Error> {
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| refuse::signature_mismatch())?;
    let text = text.trim_matches(' ');
    // Most values have no space at all: a `memchr` settles those.
    let bytes = text.as_bytes();
    if !bytes.contains(&b' ') || !bytes.windows(2).any(|pair| pair == b"  ") {
        out.push_str(text);
        return Ok(());
    }
    let mut last_space = false;
    for c in text.chars() {
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    Ok(())
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn push_escape(out: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(DIGITS[usize::from(b >> 4)]));
    out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
}
