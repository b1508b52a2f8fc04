//! One interpretation, or refusal: the request head read the way S3 stores read it, and
//! anything a store could read differently refused before it is forwarded.
//!
//! The proxy decides on its reading; the store acts on its own (DESIGN.md, "One
//! interpretation, or refusal"). Paths and query names are percent-decoded as stores
//! decode them (Go's `net/url` in SeaweedFS, `url_decode` in RGW); where stores differ
//! from each other or from the proxy — encoded `/` in a bucket, dot segments, repeated
//! or encoded query names, repeated or underscore-spelled headers, fields a `Connection`
//! header would remove, a Host that may or may not name a bucket — the request is
//! refused with 400 (`InvalidURI` for bytes that are not a URI at all, else
//! `InvalidRequest`).

use std::net::IpAddr;

use http::{HeaderMap, HeaderName};

use super::error::{S3Error, S3ErrorCode};
use super::headers::COPY_SOURCE;

/// Metric reason of a path that could be read differently.
pub const REASON_PATH: &str = "ambiguous_path";
/// Metric reason of a query string that could be read differently.
pub const REASON_QUERY: &str = "ambiguous_query";
/// Metric reason of headers that could be read differently.
pub const REASON_HEADER: &str = "ambiguous_header";
/// Metric reason of a `Connection` header naming an end-to-end field.
pub const REASON_CONNECTION: &str = "ambiguous_connection";
/// Metric reason of a Host the proxy cannot place.
pub const REASON_HOST: &str = "ambiguous_host";
/// Metric reason of a form upload the proxy cannot fully check.
pub const REASON_FORM: &str = "ambiguous_form";

/// A refusal: 400 `InvalidRequest` with `reason` for the metrics.
pub fn ambiguous(
    reason: &'static str,
    message: impl Into<std::borrow::Cow<'static, str>>,
) -> S3Error {
    S3Error::new(S3ErrorCode::InvalidRequest, message).with_reason(reason)
}

fn invalid_uri() -> S3Error {
    S3Error::new(S3ErrorCode::InvalidURI, "Couldn't parse the specified URI.")
        .with_reason("invalid_uri")
}

/// Percent-decodes `raw` the way stores do for paths and query values, refusing what
/// they could decode differently: a `%` not followed by two hex digits, and bytes that
/// do not decode to UTF-8.
pub fn decode(raw: &str) -> Result<String, S3Error> {
    if !raw.contains('%') {
        return Ok(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let hex = |at: usize| bytes.get(at).and_then(|c| (*c as char).to_digit(16));
        match (hex(i + 1), hex(i + 2)) {
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => return Err(invalid_uri()),
        }
        i += 3;
    }
    String::from_utf8(out).map_err(|_| invalid_uri())
}

/// Refuses an object key with a `.` or `..` segment: some stores (and every HTTP
/// library that cleans paths) resolve them, others keep them as part of the key.
fn check_key(key: &str) -> Result<(), S3Error> {
    if key.split('/').any(|s| s == "." || s == "..") {
        return Err(ambiguous(
            REASON_PATH,
            "The object key has a \".\" or \"..\" segment, which stores read differently.",
        ));
    }
    Ok(())
}

/// Splits a path-style path (after its leading `/`) into the bucket and the decoded key.
///
/// The bucket segment must be literal: bucket names never need percent-encoding, and a
/// store that decodes before splitting reads `a%2Fb` as bucket `a`, key `b`.
pub fn path_style(path: &str) -> Result<(Option<String>, Option<String>), S3Error> {
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    if bucket.contains('%') {
        return Err(ambiguous(
            REASON_PATH,
            "The bucket name in the path is percent-encoded; send it literally.",
        ));
    }
    if bucket == "." || bucket == ".." || (bucket.is_empty() && !key.is_empty()) {
        return Err(ambiguous(
            REASON_PATH,
            "The path does not start with a bucket name.",
        ));
    }
    Ok((non_empty(bucket.to_owned()), virtual_hosted(key)?))
}

/// The decoded key of a virtual-hosted-style path (after its leading `/`).
pub fn virtual_hosted(path: &str) -> Result<Option<String>, S3Error> {
    let key = decode(path)?;
    check_key(&key)?;
    Ok(non_empty(key))
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// How the proxy is told to read the Host (`server.virtual_host_suffixes`,
/// `server.path_style_hosts`), lower-case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addressing {
    /// `<bucket>.<suffix>` is virtual-hosted; `<suffix>` itself is path-style.
    pub virtual_host_suffixes: Vec<String>,
    /// Hosts with dots that the store reads path-style.
    pub path_style_hosts: Vec<String>,
}

/// Where the bucket of a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement<'a> {
    /// In the first path segment.
    PathStyle,
    /// In the Host.
    VirtualHosted(&'a str),
}

impl Addressing {
    /// Places `host` (a Host value, possibly with a port).
    ///
    /// Virtual-hosted when it is `<bucket>.<suffix>` for exactly one suffix; path-style
    /// when it is a suffix, a listed path-style host, an IP literal or a single label
    /// (`localhost`): no store can read those as `<bucket>.<domain>`. Any other name may
    /// be `<bucket>.<the store's domain>` to the store, so it is refused.
    pub fn place<'h>(&self, host: &'h str) -> Result<Placement<'h>, S3Error> {
        let name = strip_port(host);
        let mut buckets = self.virtual_host_suffixes.iter().filter_map(|suffix| {
            let cut = name.len().checked_sub(suffix.len() + 1)?;
            let (bucket, rest) = name.split_at_checked(cut)?;
            (rest.as_bytes().first() == Some(&b'.') && rest[1..].eq_ignore_ascii_case(suffix))
                .then_some(bucket)
                .filter(|b| !b.is_empty())
        });
        match (buckets.next(), buckets.next()) {
            (Some(bucket), None) if is_bucket_name(bucket) => {
                return Ok(Placement::VirtualHosted(bucket));
            }
            (Some(_), _) => {
                return Err(ambiguous(
                    REASON_HOST,
                    "The Host does not name one bucket under server.virtual_host_suffixes.",
                ));
            }
            (None, _) => {}
        }
        let listed = |list: &[String]| list.iter().any(|h| h.eq_ignore_ascii_case(name));
        let ip = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name)
            .parse::<IpAddr>()
            .is_ok();
        if ip
            || !name.contains('.')
            || listed(&self.virtual_host_suffixes)
            || listed(&self.path_style_hosts)
        {
            return Ok(Placement::PathStyle);
        }
        Err(ambiguous(
            REASON_HOST,
            "The Host is neither in server.path_style_hosts nor under server.virtual_host_suffixes, so the proxy cannot tell whether the store reads it as a bucket name.",
        ))
    }
}

/// A bucket label of a Host: lower-case only, since stores may lower-case a Host (DNS
/// names are case-insensitive) while bucket rules compare case-sensitively.
fn is_bucket_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'))
}

/// The host name of a Host value: without the port; IPv6 literals keep their brackets.
pub fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.find(']').map_or(host, |i| &host[..i + 2]);
    }
    host.split_once(':').map_or(host, |(name, _)| name)
}

/// Query parameters whose presence selects the operation; each must appear alone, with
/// an empty value. `uploadId` selects too but carries a value.
const FLAGS: [&str; 33] = [
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "uploads",
    "versioning",
    "versions",
    "website",
];

/// Parameters with values the proxy reads.
const VALUED: [&str; 3] = ["uploadId", "partNumber", "list-type"];

/// A query string read strictly: every name a plain token, none repeated, at most one
/// selector.
#[derive(Debug, Default)]
pub struct Query<'a> {
    names: Vec<&'a str>,
    upload_id: Option<String>,
    list_type: Option<&'a str>,
    part_number: bool,
    selectors: u8,
}

impl<'a> Query<'a> {
    /// Reads `raw` (without `?`).
    ///
    /// Names must be literal `[A-Za-z0-9._~-]` tokens: stores decode names (`%75ploadId`
    /// is `uploadId` to SeaweedFS), and some drop pairs with a `;`. A repeated name is
    /// refused because stores disagree on which copy counts (Go takes the first).
    pub fn parse(raw: Option<&'a str>) -> Result<Self, S3Error> {
        let mut query = Self::default();
        let Some(raw) = raw.filter(|q| !q.is_empty()) else {
            return Ok(query);
        };
        if raw.contains(';') {
            return Err(ambiguous(REASON_QUERY, "The query string contains \";\"."));
        }
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            query.read(name, value)?;
        }
        Ok(query)
    }

    fn read(&mut self, name: &'a str, value: &'a str) -> Result<(), S3Error> {
        let token = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-');
        if name.is_empty() || !name.bytes().all(token) {
            return Err(ambiguous(
                REASON_QUERY,
                "A query parameter name is encoded or has characters S3 names never have.",
            ));
        }
        if self.names.contains(&name) {
            return Err(ambiguous(
                REASON_QUERY,
                "A query parameter is repeated; stores differ on which value counts.",
            ));
        }
        let lower = |prefix: &str| {
            name.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        if lower("x-amz-server-side-encryption") || lower("x-amz-copy-source") {
            return Err(ambiguous(
                REASON_QUERY,
                "SSE-C and copy-source parameters are accepted as headers only, not in the query string.",
            ));
        }
        let known = FLAGS.iter().chain(VALUED.iter());
        if let Some(canonical) = known.clone().find(|k| k.eq_ignore_ascii_case(name))
            && *canonical != name
        {
            return Err(ambiguous(
                REASON_QUERY,
                "A query parameter name differs from S3's only in case.",
            ));
        }
        match name {
            "uploadId" => {
                if value.is_empty() || value.contains('+') {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "The uploadId parameter is not valid.",
                    ));
                }
                self.upload_id = Some(decode(value)?);
                self.selectors += 1;
            }
            "partNumber" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "The partNumber parameter is not a number.",
                    ));
                }
                self.part_number = true;
            }
            "list-type" => self.list_type = Some(value),
            _ if FLAGS.contains(&name) => {
                if !value.is_empty() {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "A sub-resource parameter has a value; stores differ on whether it still selects the sub-resource.",
                    ));
                }
                self.selectors += 1;
            }
            _ => {}
        }
        if self.selectors > 1 {
            return Err(ambiguous(
                REASON_QUERY,
                "The query string names more than one sub-resource.",
            ));
        }
        self.names.push(name);
        Ok(())
    }

    /// Whether a parameter is present.
    pub fn has(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    /// The names, in order.
    pub fn names(&self) -> &[&'a str] {
        &self.names
    }

    /// The decoded `uploadId`.
    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    /// Takes the decoded `uploadId`.
    pub fn take_upload_id(&mut self) -> Option<String> {
        self.upload_id.take()
    }

    /// Whether `uploadId` is present.
    pub fn is_multipart(&self) -> bool {
        self.has("uploadId")
    }

    /// Whether a sub-resource selector (`uploadId` included) is present.
    pub fn has_selector(&self) -> bool {
        self.selectors > 0
    }

    /// Whether `partNumber` is present.
    pub fn has_part_number(&self) -> bool {
        self.part_number
    }

    /// The raw `list-type` value.
    pub fn list_type(&self) -> Option<&str> {
        self.list_type
    }
}

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
/// and an `x-amz-copy-source` whose bucket is encoded.
pub fn check_headers(headers: &HeaderMap) -> Result<(), S3Error> {
    let mut previous: Option<&HeaderName> = None;
    let mut connection = false;
    // `HeaderMap` yields the values of a name one after the other, so a repeated field
    // is the same name twice in a row: no look-ups needed.
    for (name, _) in headers {
        let n = name.as_str();
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
        if n.contains('_') && reads_as_s3_field(&n.replace('_', "-")) {
            return Err(ambiguous(
                REASON_HEADER,
                format!("The header name {n} has \"_\"; some stores read it as \"-\"."),
            ));
        }
        connection |= name == http::header::CONNECTION;
    }
    if connection {
        check_connection(headers)?;
    }
    if let Some(source) = headers.get(COPY_SOURCE) {
        check_copy_source(source.as_bytes())?;
    }
    Ok(())
}

fn reads_as_s3_field(name: &str) -> bool {
    name.starts_with("x-amz-")
        || name.starts_with("content-")
        || matches!(
            name,
            "authorization" | "host" | "expect" | "connection" | "transfer-encoding"
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
    let Ok(value) = std::str::from_utf8(value) else {
        return Err(ambiguous(
            REASON_HEADER,
            "The x-amz-copy-source header is not valid.",
        ));
    };
    let value = value.strip_prefix('/').unwrap_or(value);
    if value.starts_with("arn:") {
        return Ok(());
    }
    let path = value.split_once('?').map_or(value, |(p, _)| p);
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

#[cfg(test)]
#[path = "strict_tests.rs"]
mod tests;
