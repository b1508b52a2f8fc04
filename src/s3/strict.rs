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

use super::error::{Reason, S3Error, S3ErrorCode};

mod headers;
mod query;

pub use headers::{check_headers, copy_source_object, fold_content_encoding};
pub use query::{Pair as QueryPair, Query, edited as edited_query, value as query_value};

/// Metric reason of a path that could be read differently.
pub const REASON_PATH: Reason = Reason::AmbiguousPath;
/// Metric reason of a query string that could be read differently.
pub const REASON_QUERY: Reason = Reason::AmbiguousQuery;
/// Metric reason of headers that could be read differently.
pub const REASON_HEADER: Reason = Reason::AmbiguousHeader;
/// Metric reason of a `Connection` header naming an end-to-end field.
pub const REASON_CONNECTION: Reason = Reason::AmbiguousConnection;
/// Metric reason of a Host the proxy cannot place.
pub const REASON_HOST: Reason = Reason::AmbiguousHost;
/// Metric reason of a form upload the proxy cannot fully check.
pub const REASON_FORM: Reason = Reason::AmbiguousForm;

/// A refusal: 400 `InvalidRequest` with `reason` for the metrics.
pub fn ambiguous(reason: Reason, message: impl Into<std::borrow::Cow<'static, str>>) -> S3Error {
    S3Error::new(S3ErrorCode::InvalidRequest, message).with_reason(reason)
}

/// Whether `raw` has a `%` that does not start an escape (two hex digits).
fn has_bad_escape(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

fn invalid_uri() -> S3Error {
    S3Error::new(S3ErrorCode::InvalidURI, "Couldn't parse the specified URI.")
        .with_reason(Reason::InvalidUri)
}

/// Percent-decodes `raw` the way stores do for paths and query values, refusing what
/// they could decode differently: a `%` not followed by two hex digits, and bytes that
/// do not decode to UTF-8.
pub fn decode(raw: &str) -> Result<String, S3Error> {
    if !raw.contains('%') {
        return Ok(raw.to_owned());
    }
    if has_bad_escape(raw) {
        return Err(invalid_uri());
    }
    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b == b'%'
            && let [hi, lo, tail @ ..] = rest
        {
            out.push((hex(*hi) << 4) | hex(*lo));
            rest = tail;
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| invalid_uri())
}

/// Refuses an object key with a `.` or `..` segment: some stores (and every HTTP
/// library that cleans paths) resolve them, others keep them as part of the key. For
/// the keys of a path and of a copy source, and of a DeleteObjects list where the proxy
/// reads one (`layers::delete_keys`).
pub fn check_key(key: &str) -> Result<(), S3Error> {
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
/// The bucket segment must be a literal bucket name (`[A-Za-z0-9._-]`): a store that
/// decodes before splitting reads `a%2Fb` as bucket `a`, key `b`, and RGW reads
/// `tenant:bucket` (`:b` is bucket `b`).
pub fn path_style(path: &str) -> Result<(Option<String>, Option<String>), S3Error> {
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let literal = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
    if !bucket.bytes().all(literal) {
        return Err(ambiguous(
            REASON_PATH,
            "The bucket name in the path is percent-encoded or has characters bucket names never have; send it literally.",
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

/// How the store reads a Host that is not one of its own names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostReading {
    /// As path-style: SeaweedFS, MinIO and Garage read a bucket from the Host only as
    /// `<bucket>.<their domain>`.
    PathStyle,
    /// As the bucket, when it is a valid bucket name: RGW with any DNS name configured
    /// (`rgw dns name`, zonegroup hostnames) reads any other Host that is not an IP
    /// address that way (its CNAME fallback, without a DNS lookup), `Host: backups`
    /// included. An unknown store is assumed to do the same.
    AsBucket,
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
    /// Places `host` (a Host value, possibly with a port) for a store that reads
    /// unknown Hosts as `reading` says.
    ///
    /// Virtual-hosted when it is `<bucket>.<suffix>` for exactly one suffix; path-style
    /// when it is a suffix, a listed path-style host or an IP literal, and, for a store
    /// reading unknown Hosts path-style, a single label (`localhost`): no such store
    /// can read those as `<bucket>.<domain>`. Any other name may be `<bucket>.<the
    /// store's domain>` to the store, or the bucket itself to RGW, so it is refused, and
    /// so is a name that is both a listed host and `<bucket>.<another suffix>` (RGW
    /// reads a host equal to one of its domains path style).
    pub fn place<'h>(&self, host: &'h str, reading: HostReading) -> Result<Placement<'h>, S3Error> {
        let name = host_name(host)?;
        let listed = |list: &[String]| list.iter().any(|h| h.eq_ignore_ascii_case(name));
        let is_listed = || listed(&self.virtual_host_suffixes) || listed(&self.path_style_hosts);
        let mut buckets = self
            .virtual_host_suffixes
            .iter()
            .filter_map(|suffix| under(name, suffix))
            .filter(|b| !b.is_empty());
        match (buckets.next(), buckets.next()) {
            // RGW tries its names in sorted order, so a listed name that the Host also
            // ends with may give the bucket: with the suffix `example.com` and `com`
            // listed, `s3.example.com` is bucket `s3.example` to it. A name in both
            // lists reads the same bucket either way.
            (Some(bucket), None)
                if self
                    .path_style_hosts
                    .iter()
                    .any(|h| under(name, h).is_some_and(|b| b != bucket)) =>
            {
                return Err(ambiguous(
                    REASON_HOST,
                    "The Host is under server.virtual_host_suffixes but also ends with a server.path_style_hosts entry; the store may read another bucket name from it.",
                ));
            }
            (Some(bucket), None) if is_bucket_name(bucket) && !is_listed() => {
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
        let literal = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        // RGW matches every one of its names as a suffix of any Host, an IP address
        // included: with `1` listed, `17.0.0.1` is bucket `17.0.0` to it; and with
        // `example.com` listed, `s3.example.com` is bucket `s3`.
        let under_listed = || {
            self.path_style_hosts
                .iter()
                .any(|h| under(literal, h).is_some())
        };
        let ip = literal.parse::<IpAddr>().is_ok();
        if ip && under_listed() {
            return Err(ambiguous(
                REASON_HOST,
                "The Host is an IP address that ends with a server.path_style_hosts entry; the store may read the rest of it as a bucket name.",
            ));
        }
        if is_listed() && under_listed() {
            return Err(ambiguous(
                REASON_HOST,
                "The Host is listed but also ends with another server.path_style_hosts entry; the store may read the rest of it as a bucket name.",
            ));
        }
        let label = !name.contains('.');
        if ip || is_listed() || (label && reading == HostReading::PathStyle) {
            return Ok(Placement::PathStyle);
        }
        if label {
            return Err(ambiguous(
                REASON_HOST,
                "The Host is a single name that is not in server.path_style_hosts or server.virtual_host_suffixes; the store may read it as a bucket name (RGW does, for any name that is not one of its own).",
            ));
        }
        Err(ambiguous(
            REASON_HOST,
            "The Host is neither in server.path_style_hosts nor under server.virtual_host_suffixes, so the proxy cannot tell whether the store reads it as a bucket name.",
        ))
    }
}

/// What comes before `.<suffix>` (any case) in `name`, or `None` when `name` does not
/// end with it.
fn under<'n>(name: &'n str, suffix: &str) -> Option<&'n str> {
    let cut = name.len().checked_sub(suffix.len() + 1)?;
    let (before, rest) = name.split_at_checked(cut)?;
    (rest.as_bytes().first() == Some(&b'.') && rest[1..].eq_ignore_ascii_case(suffix))
        .then_some(before)
}

/// A bucket label of a Host: lower-case only, since stores may lower-case a Host (DNS
/// names are case-insensitive) while bucket rules compare case-sensitively.
fn is_bucket_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'))
}

/// The host name of a Host value, without the port; IPv6 literals keep their brackets.
///
/// Only `[a-z0-9.-]` names (or a bracketed IPv6 literal), then an optional `:port`: stores
/// differ on upper case (SeaweedFS's router matches its domain case-sensitively, RGW
/// case-insensitively) and on anything stranger.
fn host_name(host: &str) -> Result<&str, S3Error> {
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']').ok_or_else(bad_host)?;
        let literal = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
        if !host[1..end].bytes().all(literal) {
            return Err(bad_host());
        }
        host.split_at(end + 1)
    } else {
        let name = host.split(':').next().unwrap_or(host);
        let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
        if name.is_empty() || !name.bytes().all(plain) {
            return Err(bad_host());
        }
        host.split_at(name.len())
    };
    match port.strip_prefix(':') {
        None if port.is_empty() => Ok(name),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(name)
        }
        _ => Err(bad_host()),
    }
}

fn bad_host() -> S3Error {
    ambiguous(
        REASON_HOST,
        "The Host is not a lower-case host name or IP address with an optional port; stores differ on how they match anything else.",
    )
}

#[cfg(test)]
#[path = "strict_tests.rs"]
mod tests;
