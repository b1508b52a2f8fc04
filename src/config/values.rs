//! The values of `proxy.toml` that serde reads straight into types: durations, listen
//! addresses, host names, file paths, the store endpoint, counts with a floor, bucket
//! globs, key digests, SigV4 regions and access keys. Each refuses a bad value with a message saying what was
//! expected; the key path and the byte position come from the parser around it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use serde::Deserialize;

use crate::s3::ssec::KeyDigest;

/// A duration written as text (`"10s"`, `"2m 30s"`, `"7d"`); `"0s"` is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        humantime::parse_duration(&text)
            .map(Self)
            .map_err(|e| format!("`{text}` is not a duration like \"10s\": {e}"))
    }
}

/// A duration written as text, greater than zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct NonZeroDuration(pub Duration);

impl NonZeroDuration {
    /// `secs` seconds (for defaults; zero is never asked for).
    pub const fn secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }
}

impl TryFrom<String> for NonZeroDuration {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match HumanDuration::try_from(text)? {
            HumanDuration(d) if d.is_zero() => Err("must be greater than zero".to_owned()),
            HumanDuration(d) => Ok(Self(d)),
        }
    }
}

/// An address to listen on: IP and port (`0.0.0.0:8443`, `[::1]:9901`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ListenAddr(pub SocketAddr);

impl TryFrom<String> for ListenAddr {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
            .map(Self)
            .map_err(|_| format!("`{text}` is not an address like 127.0.0.1:8443"))
    }
}

/// An address to listen on, or `""` for none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct OptionalListenAddr(pub Option<SocketAddr>);

impl TryFrom<String> for OptionalListenAddr {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "" => Ok(Self(None)),
            _ => ListenAddr::try_from(text).map(|ListenAddr(addr)| Self(Some(addr))),
        }
    }
}

/// A host name without port, lower-cased, a leading dot dropped (`.S3.Example.com` is
/// `s3.example.com`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HostName(pub String);

impl TryFrom<String> for HostName {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let name = text.trim_start_matches('.').to_ascii_lowercase();
        if name.is_empty() || name.contains(['/', ':', ' ']) {
            return Err(format!("`{text}` is not a host name like s3.example.com"));
        }
        Ok(Self(name))
    }
}

/// A file named in the configuration; a relative path is relative to the configuration
/// file's directory (see [`FilePath::resolve`]).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PathBuf")]
pub struct FilePath(PathBuf);

impl FilePath {
    /// The path, anchored at `dir` (the configuration file's directory) when relative.
    pub fn resolve(self, dir: Option<&Path>) -> PathBuf {
        match dir {
            Some(dir) if self.0.is_relative() => dir.join(self.0),
            _ => self.0,
        }
    }
}

impl TryFrom<PathBuf> for FilePath {
    type Error = &'static str;

    fn try_from(path: PathBuf) -> Result<Self, &'static str> {
        match path.as_os_str().is_empty() {
            true => Err("must name a file"),
            false => Ok(Self(path)),
        }
    }
}

/// The store's URL: `http://` or `https://`, a host and maybe a port, nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host and port.
    pub authority: Authority,
}

impl TryFrom<String> for Endpoint {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let uri: http::Uri = text.parse().map_err(|_| format!("`{text}` is not a URL"))?;
        let scheme = match uri.scheme() {
            Some(s) if *s == Scheme::HTTP || *s == Scheme::HTTPS => s.clone(),
            _ => return Err("must start with http:// or https://".to_owned()),
        };
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| "must name a host".to_owned())?;
        if authority.as_str().contains('@') {
            return Err("must not carry credentials".to_owned());
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err("must not have a path or query".to_owned());
        }
        Ok(Self { scheme, authority })
    }
}

/// A count of at least `MIN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "usize")]
pub struct AtLeast<const MIN: usize>(pub usize);

impl<const MIN: usize> TryFrom<usize> for AtLeast<MIN> {
    type Error = String;

    fn try_from(n: usize) -> Result<Self, String> {
        match n >= MIN {
            true => Ok(Self(n)),
            false => Err(format!("must be at least {MIN}")),
        }
    }
}

/// A bucket name or glob (`*`, `?`, `[…]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct BucketGlob(pub glob::Pattern);

impl TryFrom<String> for BucketGlob {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        glob::Pattern::new(&text)
            .map(Self)
            .map_err(|e| format!("`{text}` is not a glob: {e}"))
    }
}

/// The base64 MD5 of a customer key, as in `x-amz-server-side-encryption-customer-key-MD5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct KeyMd5(pub KeyDigest);

impl TryFrom<String> for KeyMd5 {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, &'static str> {
        KeyDigest::from_base64(&text).map(Self).ok_or(
            "must be the base64 MD5 of a key, as in x-amz-server-side-encryption-customer-key-MD5",
        )
    }
}

/// A SigV4 signing region (`us-east-1`), the third field of a credential scope. AWS's
/// names are lowercase letters, digits and `-`; stores name theirs freely (Garage
/// `garage`, RGW zonegroups such as `default`), so `_` is allowed too. Never `/`, the
/// scope's separator.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Region(pub String);

impl TryFrom<String> for Region {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let ok = (1..=63).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        match ok {
            true => Ok(Self(text)),
            false => Err(format!(
                "`{text}` is not a region like us-east-1 (lowercase letters, digits, - and _, at most 63)"
            )),
        }
    }
}

/// An access key ID, as clients send it in the credential scope. AWS's are 16–128 word
/// characters; stores accept shorter ones (MinIO from 3: `minioadmin`) and `.` or `-`.
/// Bounded to what needs no escaping in an `Authorization` header or a query string:
/// 3–128 of `A–Z a–z 0–9 _ . -`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AccessKey(pub String);

impl TryFrom<String> for AccessKey {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let ok = (3..=128).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        match ok {
            true => Ok(Self(text)),
            false => Err(format!(
                "`{text}` is not an access key (3 to 128 of A-Z a-z 0-9 _ . -)"
            )),
        }
    }
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
