//! What a reverse proxy must do to a message it forwards (RFC 9110 §7.6): drop
//! hop-by-hop fields, drop the client's forwarding claims, and leave every other field,
//! the target and the body exactly as received so a SigV4 signature stays valid.

use http::header::{CONNECTION, HOST, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::{FORWARDED, KEEP_ALIVE, PROXY_CONNECTION, X_FORWARDED_PREFIX};

/// Whether the request arrived over TLS. Request extension set by the listener; a
/// request without it counts as plaintext.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    /// TLS listener (true) or the plain listener (false).
    pub tls: bool,
    /// The client's address.
    pub client: Option<std::net::SocketAddr>,
}

/// The host the client addressed ([`request_host`]), resolved once by the classify
/// layer and sent to the store as `Host`. Request extension.
#[derive(Clone, Debug)]
pub struct ClientHost(pub HeaderValue);

/// Removes the hop-by-hop fields of RFC 9110 §7.6.1: `Connection`, every field it
/// names, `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade`.
///
/// `Transfer-Encoding` is re-created by the outgoing connection when the body has no
/// `Content-Length`; `Trailer` is end-to-end (RFC 9110 §6.6.2) and kept.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages have none: one pass over the names instead of a lookup per field.
    const HOP: [HeaderName; 6] = [
        CONNECTION,
        PROXY_CONNECTION,
        KEEP_ALIVE,
        TE,
        TRANSFER_ENCODING,
        UPGRADE,
    ];
    if !headers.keys().any(|name| HOP.contains(name)) {
        return;
    }
    let listed: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    for name in listed {
        headers.remove(name.as_str());
    }
    for name in HOP {
        headers.remove(name);
    }
}

/// Removes `Forwarded` and every `X-Forwarded-*` field a client sent: the proxy is the
/// only party allowed to make forwarding claims to the store.
pub fn strip_forwarding_claims(headers: &mut HeaderMap) {
    let names: Vec<_> = headers
        .keys()
        .filter(|name| **name == FORWARDED || name.as_str().starts_with(X_FORWARDED_PREFIX))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// The host the client addressed and signed: the URI authority (HTTP/2 `:authority`,
/// or an HTTP/1.1 absolute-form target, RFC 9112 §3.2.2), else the `Host` field.
pub fn request_host(uri: &Uri, headers: &HeaderMap) -> Result<HeaderValue, S3Error> {
    let mut hosts = headers.get_all(HOST).iter();
    if let Some(authority) = uri.authority() {
        // An absolute-form target (or HTTP/2 `:authority`) and a Host naming another
        // host: a signature over `Host` would cover a request for another bucket.
        let differs = |host: &HeaderValue| {
            !host
                .as_bytes()
                .eq_ignore_ascii_case(authority.as_str().as_bytes())
        };
        if hosts.any(differs) {
            return Err(S3Error::new(
                S3ErrorCode::InvalidArgument,
                "The Host header does not match the host of the request target.",
            )
            .with_reason(Reason::BadHost));
        }
        return HeaderValue::from_str(authority.as_str()).map_err(|_| invalid_host());
    }
    match (hosts.next(), hosts.next()) {
        (Some(host), None) if !host.is_empty() => Ok(host.clone()),
        (None, _) => Err(
            S3Error::new(S3ErrorCode::InvalidArgument, "A Host header is required.")
                .with_reason(Reason::BadHost),
        ),
        _ => Err(invalid_host()),
    }
}

fn invalid_host() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidArgument,
        "The Host header is not valid.",
    )
    .with_reason(Reason::BadHost)
}

/// Checks the request header section: total size within `max_bytes` (names, values and
/// the four bytes of `": "` and CRLF per field), and every value valid UTF-8.
pub fn check_header_section(headers: &HeaderMap, max_bytes: usize) -> Result<(), S3Error> {
    let mut total = 0usize;
    for (name, value) in headers {
        total = total.saturating_add(name.as_str().len() + value.len() + 4);
        if std::str::from_utf8(value.as_bytes()).is_err() {
            return Err(S3Error::new(
                S3ErrorCode::InvalidArgument,
                format!("The value of header {} is not valid UTF-8.", name.as_str()),
            )
            .with_reason(Reason::NonUtf8Header));
        }
    }
    if total > max_bytes {
        return Err(S3Error::new(
            S3ErrorCode::RequestHeaderSectionTooLarge,
            format!(
                "Your request header section exceeds the maximum allowed size of {max_bytes} bytes."
            ),
        )
        .with_reason(Reason::HeadersTooLarge));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn strips_hop_by_hop_and_connection_listed_fields() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Custom"),
            ("connection", "close"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("x-custom", "1"),
            ("trailer", "x-amz-checksum-crc32"),
            ("x-amz-date", "20260101T000000Z"),
            ("content-encoding", "aws-chunked"),
            ("expect", "100-continue"),
        ]);
        strip_hop_by_hop(&mut h);
        let mut names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["content-encoding", "expect", "trailer", "x-amz-date"]
        );
    }

    #[test]
    fn strips_every_client_forwarding_claim() {
        let mut h = map(&[
            ("forwarded", "proto=https"),
            ("x-forwarded-proto", "https"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("x-forwarded-host", "evil"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ]);
        strip_forwarding_claims(&mut h);
        let names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-amz-content-sha256"]);
    }

    #[test]
    fn host_comes_from_authority_then_host_header() {
        let h = map(&[("host", "bucket.s3.example.com:8443")]);
        assert_eq!(
            request_host(&Uri::from_static("/k"), &h).unwrap(),
            "bucket.s3.example.com:8443"
        );
        let abs = Uri::from_static("https://bucket.s3.example.com:8443/k");
        assert_eq!(
            request_host(&abs, &h).unwrap(),
            "bucket.s3.example.com:8443"
        );
        assert_eq!(
            request_host(&abs, &map(&[("host", "BUCKET.s3.example.com:8443")])).unwrap(),
            "bucket.s3.example.com:8443"
        );
        assert_eq!(
            request_host(&abs, &HeaderMap::new()).unwrap(),
            "bucket.s3.example.com:8443"
        );
        // A signature over Host must not stand for a request to another host.
        let other = Uri::from_static("https://other-bucket.s3.example.com:8443/k");
        let e = request_host(&other, &h).unwrap_err();
        assert_eq!(e.reason, Some(Reason::BadHost));
        assert!(request_host(&Uri::from_static("/k"), &HeaderMap::new()).is_err());
        let two = map(&[("host", "a"), ("host", "b")]);
        assert!(request_host(&Uri::from_static("/k"), &two).is_err());
    }

    #[test]
    fn limits_header_section_and_requires_utf8() {
        let h = map(&[("x-amz-meta-a", &"v".repeat(100))]);
        assert!(check_header_section(&h, 1000).is_ok());
        let err = check_header_section(&h, 50).unwrap_err();
        assert_eq!(err.code, S3ErrorCode::RequestHeaderSectionTooLarge);
        let mut bad = HeaderMap::new();
        bad.insert(
            "x-amz-meta-b",
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(
            check_header_section(&bad, 1000).unwrap_err().code,
            S3ErrorCode::InvalidArgument
        );
        let mut utf8 = HeaderMap::new();
        utf8.insert(
            "x-amz-meta-c",
            HeaderValue::from_bytes("é".as_bytes()).unwrap(),
        );
        assert!(check_header_section(&utf8, 1000).is_ok());
    }
}
