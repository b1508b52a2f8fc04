//! One HTTP/1.1 exchange per connection, over TCP or TLS, read back by hand (RFC 9112
//! message framing: Content-Length, chunked, or until close) so that whatever a store
//! or the proxy answers is kept, even when it answers before reading the whole body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::env::direct_url;
use crate::support::{Proxy, Store, client_tls, xml_code};

/// Where requests go: a store's own endpoint or the proxy.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    /// The Host header a request carries unless it sets its own.
    pub host: String,
    /// A proxy: requests to it are signed with the credentials its clients hold.
    pub proxy: bool,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Endpoint {
    /// The store itself, at [`direct_url`].
    pub fn store(store: &Store) -> Self {
        let url = direct_url(store);
        let (scheme, authority) = url.split_once("://").unwrap();
        let authority = authority.trim_end_matches('/');
        let tls =
            (scheme == "https").then(|| connector(&std::fs::read_to_string(&store.ca).unwrap()));
        Self {
            addr: authority.parse().unwrap(),
            host: authority.to_owned(),
            proxy: false,
            tls,
        }
    }

    /// The proxy's TLS listener.
    pub fn proxy(proxy: &Proxy) -> Self {
        Self {
            addr: proxy.s3_addr,
            host: format!("localhost:{}", proxy.s3_addr.port()),
            proxy: true,
            tls: Some(connector(&proxy.pki.ca_pem)),
        }
    }

    /// Writes `bytes` on a new connection and reads one response (no body for a HEAD).
    pub async fn exchange(&self, bytes: &[u8], head: bool) -> Reply {
        self.exchange_lingering(bytes, head, Duration::ZERO).await
    }

    /// [`Endpoint::exchange`], then the connection kept open for `linger`, whatever else
    /// arrives read and dropped: a server that reads more requests from the bytes sent
    /// gets to run them.
    pub async fn exchange_lingering(&self, bytes: &[u8], head: bool, linger: Duration) -> Reply {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        match &self.tls {
            None => roundtrip(tcp, bytes, head, linger).await,
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
                roundtrip(tls.connect(name, tcp).await.unwrap(), bytes, head, linger).await
            }
        }
    }
}

fn connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut tls = client_tls(ca_pem, None);
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(tls))
}

/// A response: status, head as text, body.
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    /// The S3 error code in the body, or empty.
    pub fn code(&self) -> String {
        xml_code(&String::from_utf8_lossy(&self.body)).unwrap_or_default()
    }

    /// `status code`, for the record.
    pub fn summary(&self) -> String {
        format!("{} {}", self.status, self.code())
            .trim_end()
            .to_owned()
    }

    /// The start of the body, for a failure message.
    pub fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(160).collect()
    }
}

async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    bytes: &[u8],
    head: bool,
    linger: Duration,
) -> Reply {
    // A server may answer and close before it read the whole body: keep its answer.
    let _ = s.write_all(bytes).await;
    let _ = s.flush().await;
    let mut buf = Vec::new();
    // Interim responses (`100 Continue`) are skipped: the reply is the final one.
    let (head_text, mut rest, status) = loop {
        let Some(end) = find(&buf, b"\r\n\r\n") else {
            if !fill(&mut s, &mut buf).await {
                panic!(
                    "connection closed before a response: {:?}",
                    String::from_utf8_lossy(&buf)
                );
            }
            continue;
        };
        let head_text = String::from_utf8_lossy(&buf[..end]).into_owned();
        let rest = buf.split_off(end + 4);
        let status: u16 = head_text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if (100..200).contains(&status) && status != 101 {
            buf = rest;
            continue;
        }
        break (head_text, rest, status);
    };
    let no_body = head || status == 204 || status == 304 || status < 200;
    let body = if no_body {
        Vec::new()
    } else if let Some(len) = header(&head_text, "content-length").and_then(|v| v.parse().ok()) {
        while rest.len() < len && fill(&mut s, &mut rest).await {}
        rest.truncate(len);
        rest
    } else if header(&head_text, "transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(&mut s, rest).await
    } else {
        while fill(&mut s, &mut rest).await {}
        rest
    };
    if !linger.is_zero() {
        let drain = async { while fill(&mut s, &mut Vec::new()).await {} };
        let _ = tokio::time::timeout(linger, drain).await;
    }
    Reply {
        status,
        head: head_text,
        body,
    }
}

/// Reads more into `buf`; false at the end of the stream (or an unclean TLS close).
async fn fill<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match s.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn dechunk<S: AsyncRead + Unpin>(s: &mut S, mut raw: Vec<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(&raw, b"\r\n") {
                break i;
            }
            if !fill(s, &mut raw).await {
                return body;
            }
        };
        let line = String::from_utf8_lossy(&raw[..line_end]).into_owned();
        let size =
            usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 {
            return body;
        }
        while raw.len() < line_end + 2 + size + 2 {
            if !fill(s, &mut raw).await {
                return body;
            }
        }
        body.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw.drain(..line_end + 2 + size + 2);
    }
}

/// The first value of header `name` in a response head.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// The text between the first `open` and the next `close` in `body`.
pub fn between(body: &[u8], open: &str, close: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(text[start..end].to_owned())
}
