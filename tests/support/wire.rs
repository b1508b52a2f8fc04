//! Requests written byte for byte and signed (SigV4, AWS's "Signature Calculations for the
//! Authorization Header") the way each store canonicalises them, so that a variant a
//! proxy would refuse reaches the store exactly as written. The parser-differential tests
//! (`tests/differential*.rs`) send them straight to a store and through the proxy; to a
//! proxy in resign mode they are signed as the proxy reads them, with a client's keys.

mod env;
mod exchange;
mod findings;

// Each test crate compiles the whole harness and uses a part of it.
#[allow(unused_imports)]
pub use {
    env::{Build, BuildPart, Env, direct_client, direct_url, env, policy, proxy_with, route},
    exchange::{Endpoint, Reply, between, contains, header},
    findings::Findings,
};

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};

use super::Store;
use super::s3::Key;

pub const ALGORITHM: &str = "x-amz-server-side-encryption-customer-algorithm";
pub const KEY: &str = "x-amz-server-side-encryption-customer-key";
pub const KEY_MD5: &str = "x-amz-server-side-encryption-customer-key-md5";
pub const COPY_SOURCE: &str = "x-amz-copy-source";

/// One request: method, path and query exactly as given, headers in order.
#[derive(Clone, Debug)]
pub struct Wire {
    pub method: &'static str,
    pub path: String,
    pub query: Option<String>,
    /// Covered by the signature.
    pub signed: Vec<(String, String)>,
    /// Sent after the signed ones, left out of the signature.
    pub unsigned: Vec<(String, String)>,
    /// The Host header, when not the endpoint's own.
    pub host: Option<String>,
    /// `x-amz-content-sha256`, also the payload line of the canonical request.
    pub payload: &'static str,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn new(method: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: None,
            signed: Vec::new(),
            unsigned: Vec::new(),
            host: None,
            payload: "UNSIGNED-PAYLOAD",
            body: Vec::new(),
        }
    }

    /// An aws-chunked body, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: `data` in one chunk,
    /// then `trailer` (whole lines, CRLF each) as the trailer section `x-amz-trailer`
    /// announces with `announced`.
    pub fn aws_chunked(mut self, data: &[u8], announced: &str, trailer: &str) -> Self {
        self.payload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
        let mut body = format!("{:x}\r\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n0\r\n{trailer}\r\n").as_bytes());
        self.body = body;
        self.header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", &data.len().to_string())
            .header("x-amz-trailer", announced)
    }

    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    pub fn signed(mut self, headers: Vec<(String, String)>) -> Self {
        self.signed.extend(headers);
        self
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        self.signed(vec![(name.to_owned(), value.to_owned())])
    }

    pub fn unsigned(mut self, headers: Vec<(String, String)>) -> Self {
        self.unsigned.extend(headers);
        self
    }

    pub fn unsigned_header(self, name: &str, value: &str) -> Self {
        self.unsigned(vec![(name.to_owned(), value.to_owned())])
    }

    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The request target: path and query as given.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// The same request with every header signed: in resign mode the client's signature
    /// ends at the proxy, so a client may sign what a store would never see.
    pub fn all_signed(&self) -> Self {
        let mut out = self.clone();
        out.signed.append(&mut out.unsigned);
        out
    }

    /// The request as a proxy honouring `Connection` forwards it: without `Connection`
    /// and the fields it names (RFC 9110 §7.6.1).
    pub fn hop_stripped(&self) -> Self {
        let named: Vec<String> = self
            .signed
            .iter()
            .chain(&self.unsigned)
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
            .collect();
        let keep = |(n, _): &(String, String)| {
            let n = n.to_ascii_lowercase();
            n != "connection" && !named.contains(&n)
        };
        let mut out = self.clone();
        out.signed.retain(keep);
        out.unsigned.retain(keep);
        out
    }

    /// Every header as sent (host first, then signed, unsigned, authorization,
    /// content-length) and the body, signed with `store`'s credentials the way it reads
    /// requests.
    pub fn signed_parts(
        &self,
        store: &Store,
        default_host: &str,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        self.signed_parts_as(store, Canon::of(store), default_host)
    }

    /// [`Wire::signed_parts`] with `creds`' keys, canonicalised as `canon` reads requests.
    pub fn signed_parts_as(
        &self,
        creds: &Store,
        canon: Canon,
        default_host: &str,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let time = UNIX_EPOCH + Duration::from_secs(secs);
        let stamp = aws_smithy_types::DateTime::from_secs(i64::try_from(secs).unwrap())
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap();
        let amz_date: String = stamp.chars().filter(|c| *c != '-' && *c != ':').collect();
        let host = self.host.clone().unwrap_or_else(|| default_host.to_owned());
        let mut signed = vec![
            ("host".to_owned(), host),
            ("x-amz-date".to_owned(), amz_date.clone()),
            ("x-amz-content-sha256".to_owned(), self.payload.to_owned()),
        ];
        signed.extend(self.signed.iter().cloned());
        let names: BTreeSet<String> = signed.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let mut sent: Vec<(String, String)> = signed;
        sent.extend(self.unsigned.iter().cloned());
        let mut canonical_headers = String::new();
        for name in &names {
            canonical_headers
                .push_str(&format!("{name}:{}\n", canonical_value(canon, &sent, name)));
        }
        let signed_names = names.iter().cloned().collect::<Vec<_>>().join(";");
        let canonical_request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed_names}\n{}",
            self.method,
            canonical_uri(canon, &self.path),
            canonical_query(canon, self.query.as_deref()),
            self.payload,
        );
        let scope = format!("{}/us-east-1/s3/aws4_request", &amz_date[..8]);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        let key =
            aws_sigv4::sign::v4::generate_signing_key(&creds.secret_key, time, "us-east-1", "s3");
        let signature = aws_sigv4::sign::v4::calculate_signature(key, to_sign.as_bytes());
        sent.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_names}, \
                 Signature={signature}",
                creds.access_key
            ),
        ));
        if !self.body.is_empty() || matches!(self.method, "PUT" | "POST") {
            sent.push(("content-length".into(), self.body.len().to_string()));
        }
        (sent, self.body.clone())
    }

    /// The HTTP/1.1 bytes, signed as [`Wire::signed_parts_as`].
    pub fn encode_as(&self, creds: &Store, canon: Canon, default_host: &str) -> Vec<u8> {
        let (headers, body) = self.signed_parts_as(creds, canon, default_host);
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target());
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend(body);
        out
    }
}

/// AWS's URI encoding: everything but unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `s` percent-encoded as AWS encodes a URI component.
pub fn enc(s: &str) -> String {
    percent_encode(s.as_bytes(), UNRESERVED).to_string()
}

/// The bucket with its first character percent-encoded.
pub fn encode_first(bucket: &str) -> String {
    format!("%{:02X}{}", bucket.as_bytes()[0], &bucket[1..])
}

/// Whose reading of a request its signature follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canon {
    SeaweedFs,
    Rgw,
    Garage,
    /// The proxy in resign mode, which reads requests as S3 does (`src/s3/sigv4/canonical.rs`).
    Proxy,
}

impl Canon {
    /// The store's own reading.
    pub fn of(store: &Store) -> Self {
        match store.name {
            "RGW" => Self::Rgw,
            "GARAGE" => Self::Garage,
            _ => Self::SeaweedFs,
        }
    }
}

/// The stores sign the decoded path, re-encoded segment by segment (`%2F` becomes `/`);
/// the proxy signs the path as sent, escapes kept and other reserved bytes encoded once.
fn canonical_uri(canon: Canon, raw: &str) -> String {
    if canon == Canon::Proxy {
        let bytes = raw.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
            if b == b'%' && hex(i + 1) && hex(i + 2) {
                out.push_str(&raw[i..i + 3]);
                i += 3;
                continue;
            }
            if b == b'/' {
                out.push('/');
            } else {
                out.push_str(&percent_encode(&[b], UNRESERVED).to_string());
            }
            i += 1;
        }
        return if out.is_empty() { "/".to_owned() } else { out };
    }
    let decoded: Vec<u8> = percent_decode_str(raw).collect();
    decoded
        .split(|b| *b == b'/')
        .map(|segment| percent_encode(segment, UNRESERVED).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Names and values decoded (`+` is a space) and re-encoded. SeaweedFS signs every pair,
/// sorted (as the proxy does); RGW signs one value per name, the last, as it reads them;
/// Garage (`url::form_urlencoded`) keeps a bad escape as text and sorts the joined
/// `name=value` strings.
fn canonical_query(canon: Canon, raw: Option<&str>) -> String {
    let recode = |s: &str| {
        let decoded: Vec<u8> = if canon == Canon::Garage {
            form_decode(s)
        } else {
            percent_decode_str(&s.replace('+', " ")).collect()
        };
        percent_encode(&decoded, UNRESERVED).to_string()
    };
    let mut pairs: Vec<(String, String)> = raw
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        // Go's url.ParseQuery drops a pair whose name or value has a bad escape.
        .filter(|p| canon != Canon::SeaweedFs || !bad_escape(p))
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (recode(n), recode(v))
        })
        .collect();
    if canon == Canon::Rgw {
        pairs = pairs
            .into_iter()
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
    }
    pairs.sort();
    let mut joined: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    if canon == Canon::Garage {
        joined.sort();
    }
    joined.join("&")
}

/// `application/x-www-form-urlencoded` decoding as the WHATWG URL standard has it (Garage
/// reads its query with `url::form_urlencoded`): `+` is a space, a `%` not followed by two
/// hex digits stays as it is.
fn form_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

/// A `%` not followed by two hex digits.
fn bad_escape(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        b[i] == b'%'
            && !b
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    })
}

/// The value a store signs for a header name: SeaweedFS (Go) joins repeated values with
/// commas; RGW reads headers as CGI variables (`_` and `-` fold together) and the last
/// one sent wins. The proxy joins them too, with runs of spaces collapsed; Garage joins
/// them, then collapses every run of whitespace.
fn canonical_value(canon: Canon, sent: &[(String, String)], name: &str) -> String {
    match canon {
        Canon::Rgw => sent
            .iter()
            .rfind(|(n, _)| n.to_ascii_lowercase().replace('_', "-") == name)
            .map_or(String::new(), |(_, v)| v.trim().to_owned()),
        Canon::SeaweedFs => sent
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect::<Vec<_>>()
            .join(","),
        Canon::Garage => sent
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(",")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        Canon::Proxy => sent
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| {
                v.trim_matches(' ')
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn sha256_hex(data: &[u8]) -> String {
    let rustls::SupportedCipherSuite::Tls13(suite) =
        rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256
    else {
        panic!("TLS13_AES_128_GCM_SHA256 is a TLS 1.3 suite");
    };
    let digest = suite.common.hash_provider.hash(data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The three SSE-C headers (or POST Object fields) for `k`.
pub fn ssec(k: &Key) -> Vec<(String, String)> {
    vec![
        (ALGORITHM.into(), "AES256".into()),
        (KEY.into(), k.b64.clone()),
        (KEY_MD5.into(), k.md5.clone()),
    ]
}

/// The three SSE-C names with empty values.
pub fn ssec_empty() -> Vec<(String, String)> {
    [ALGORITHM, KEY, KEY_MD5]
        .map(|n| (n.to_owned(), String::new()))
        .to_vec()
}

/// The same headers with `_` for `-` in their names (CGI spelling).
pub fn underscored(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .map(|(n, v)| (n.replace('-', "_"), v))
        .collect()
}
