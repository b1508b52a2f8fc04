//! Wire tests against a recording mock store: what the proxy forwards, byte for byte,
//! and how it answers when the store fails. Real-store evidence is in `stores_*.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use support::mock::MockStore;
use support::{Proxy, ProxyOptions, RawClient, xml_code};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An `Authorization` of SigV4 header authentication, as aws-chunked bodies need (the
/// mock store does not check it).
const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AK/20261205/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";

fn request(method: Method, uri: &str) -> http::request::Builder {
    Request::builder().method(method).uri(uri)
}

#[tokio::test]
async fn forwards_host_headers_query_and_body_unchanged_over_http1() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        server: "path_style_hosts = [\"signed-host.example\"]".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let body = Bytes::from(vec![7u8; 100_000]);
    let uri = format!(
        "{}/bucket/dir/a%20key?tagging=&versionId=x%2By&X-Amz-Signature=abc",
        proxy.url()
    );
    let response = client
        .send(
            request(Method::PUT, &uri)
                .header("host", "signed-host.example:9999")
                .header("x-amz-date", "20261127T000000Z")
                .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
                .header("authorization", "AWS4-HMAC-SHA256 Credential=AK/20261127/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
                .header("x-amz-meta-Mixed", "spaced   value")
                .header("x-amz-meta-multi", "one")
                .header("content-type", "application/octet-stream")
                .body(Full::new(body.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let seen = store.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, Method::PUT);
    assert_eq!(
        r.uri.to_string(),
        "/bucket/dir/a%20key?tagging=&versionId=x%2By&X-Amz-Signature=abc"
    );
    assert_eq!(r.headers["host"], "signed-host.example:9999");
    assert_eq!(r.headers["x-amz-date"], "20261127T000000Z");
    assert_eq!(r.headers["x-amz-meta-mixed"], "spaced   value");
    assert_eq!(r.headers["content-length"], "100000");
    assert!(
        r.headers["authorization"]
            .to_str()
            .unwrap()
            .ends_with("Signature=00")
    );
    assert_eq!(r.body, body);
}

#[tokio::test]
async fn forwards_h2_requests_with_authority_as_host() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    let client = RawClient::new(&proxy.pki.ca_pem, true);
    let response = client
        .send(
            request(Method::PUT, &format!("{}/b/k?x=1", proxy.url()))
                .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
                .header("content-length", "5")
                .body(Full::new(Bytes::from_static(b"hello")))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.version, Version::HTTP_2);
    let r = &store.requests()[0];
    assert_eq!(r.version, Version::HTTP_11);
    assert_eq!(
        r.headers["host"],
        format!("localhost:{}", proxy.s3_addr.port())
    );
    assert_eq!(r.uri.to_string(), "/b/k?x=1");
    assert_eq!(r.headers["content-length"], "5");
    assert_eq!(&r.body[..], b"hello");
}

/// Sends raw bytes over TLS and returns everything the proxy answers until it closes
/// or goes quiet.
async fn raw_exchange(proxy: &Proxy, bytes: &[u8]) -> String {
    let mut tls = tls_connect(proxy).await;
    // The proxy may answer and close before it has read everything (an oversized
    // header section): the write then fails, but the answer is already on its way.
    let _ = tls.write_all(bytes).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(2), tls.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A TLS connection to the proxy's S3 listener.
async fn tls_connect(proxy: &Proxy) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(proxy.pki.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(proxy.s3_addr).await.unwrap();
    connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test]
async fn forwards_chunked_and_aws_chunked_bodies_unchanged() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        server: "path_style_hosts = [\"signed.example\"]".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    // An aws-chunked body (STREAMING-UNSIGNED-PAYLOAD-TRAILER) sent with
    // Transfer-Encoding: chunked, as SDKs do over HTTPS.
    let aws_chunked = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
    let mut wire = format!(
        "PUT /b/k HTTP/1.1\r\nHost: signed.example\r\nAuthorization: {SIGV4}\r\n\
         x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n\
         content-encoding: aws-chunked\r\nx-amz-decoded-content-length: 5\r\nx-amz-trailer: x-amz-checksum-crc32\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n",
        aws_chunked.len()
    )
    .into_bytes();
    wire.extend_from_slice(aws_chunked);
    wire.extend_from_slice(b"\r\n0\r\n\r\n");
    let answer = raw_exchange(&proxy, &wire).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let r = &store.requests()[0];
    assert_eq!(&r.body[..], &aws_chunked[..]);
    assert_eq!(r.headers["transfer-encoding"], "chunked");
    assert!(r.headers.get("content-length").is_none());
    assert_eq!(r.headers["content-encoding"], "aws-chunked");
    assert_eq!(r.headers["x-amz-decoded-content-length"], "5");
    assert_eq!(r.headers["host"], "signed.example");
    assert!(r.headers.get("connection").is_none());
}

#[tokio::test]
async fn refuses_aws_chunked_bodies_that_break_their_framing() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    const CRC: &str = "x-amz-checksum-crc32:NhCmhg==\r\n";
    // (mode, decoded length, body, expected code); every body is whole as far as
    // Content-Length goes, only its aws-chunked framing is wrong.
    let big = "a".repeat(70_000);
    let sig = "0".repeat(64);
    let cases = [
        (
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "6",
            format!("5\r\nhello\r\n0\r\n{CRC}\r\n"),
            "IncompleteBody",
        ),
        (
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "70000",
            format!(
                "{:x}\r\n{big}\r\n0\r\nx-amz-checksum-sha256:AAAA\r\n\r\n",
                big.len()
            ),
            "MalformedTrailerError",
        ),
        (
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "70000",
            format!("{:x}\r\n{big}x\r\n0\r\n{CRC}\r\n", big.len()),
            "InvalidRequest",
        ),
        (
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "5",
            "5\r\nhello\r\n0\r\n\r\n".to_owned(),
            "InvalidRequest",
        ),
        // No checksum to hold the body back for: its first frames go before the
        // framing breaks at the end.
        (
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "70000",
            format!(
                "{:x};chunk-signature={sig}\r\n{big}x\r\n0;chunk-signature={sig}\r\n\r\n",
                big.len()
            ),
            "InvalidRequest",
        ),
        (
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "5",
            "5\r\nhello\r\n".to_owned(),
            "IncompleteBody",
        ),
        (
            "STREAMING-AWS4-HMAC-SHA512-PAYLOAD",
            "5",
            "5\r\nhello\r\n0\r\n\r\n".to_owned(),
            "InvalidArgument",
        ),
    ];
    for h2 in [false, true] {
        let client = RawClient::new(&proxy.pki.ca_pem, h2);
        for (mode, length, body, code) in &cases {
            let mut req = request(Method::PUT, &format!("{}/b/k", proxy.url()))
                .header("authorization", SIGV4)
                .header("x-amz-content-sha256", *mode)
                .header("content-encoding", "aws-chunked")
                .header("x-amz-decoded-content-length", *length);
            // Announced where the mode carries a trailer; elsewhere it is itself refused.
            if mode.ends_with("-TRAILER") {
                req = req.header("x-amz-trailer", "x-amz-checksum-crc32");
            }
            let r = client
                .send(req.body(Full::new(Bytes::from(body.clone()))).unwrap())
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{mode} {code} h2={h2}");
            assert_eq!(xml_code(&r.text()).as_deref(), Some(*code), "h2={h2}");
        }
    }
    // The store never received one of these bodies whole; those refused after their
    // first frames had gone out reached it cut short.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = store.requests();
    assert!(
        seen.iter().all(|r| &r.body[..] == b"<incomplete>"),
        "{:?}",
        seen.iter().map(|r| r.body.len()).collect::<Vec<_>>()
    );
    assert!(!seen.is_empty());
    let metrics = proxy.admin("/metrics").await.1;
    for reason in [
        "aws_chunked_length",
        "aws_chunked_trailer",
        "aws_chunked_framing",
        "aws_chunked_truncated",
        "aws_chunked_mode",
    ] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn strips_hop_by_hop_and_client_forwarding_headers() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        upstream: "forwarded_proto = true".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    let wire = "GET /b/k HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\n\
                Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n\
                Forwarded: proto=https;for=evil\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 6.6.6.6\r\n\
                X-Forwarded-Host: evil\r\nX-Amz-Date: 20261127T000000Z\r\n\r\n";
    let answer = raw_exchange(&proxy, wire.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let r = &store.requests()[0];
    let mut names: Vec<_> = r.headers.keys().map(|k| k.as_str().to_owned()).collect();
    names.sort();
    assert_eq!(names, ["host", "x-amz-date", "x-forwarded-proto"]);
    assert_eq!(r.headers["x-forwarded-proto"], "https");
    assert_eq!(r.headers.get_all("x-forwarded-proto").iter().count(), 1);
}

#[tokio::test]
async fn absolute_form_targets_never_reach_another_host() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    let wire = "GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n";
    let answer = raw_exchange(&proxy, wire.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let seen = store.requests();
    assert_eq!(seen.len(), 1, "the request went to the configured store");
    assert_eq!(seen[0].uri.to_string(), "/latest/meta-data");
    assert_eq!(seen[0].headers["host"], "169.254.169.254");
}

#[tokio::test]
async fn refuses_connect_and_malformed_requests_with_4xx() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    let answer = raw_exchange(
        &proxy,
        b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    let answer = raw_exchange(
        &proxy,
        b"GET /b/k HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let answer = raw_exchange(&proxy, b"GET /b/k HTTP/1.1\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>InvalidArgument</Code>"), "{answer}");
    let answer = raw_exchange(&proxy, b"\x16\x03\x01garbage\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 400") || answer.is_empty(),
        "{answer}"
    );
    assert!(store.requests().is_empty());
}

#[tokio::test]
async fn answers_oversized_headers_and_non_utf8_values_with_4xx() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        server: "max_header_bytes = 16384".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    // Above the configured limit: an S3 error from the proxy.
    let big = format!(
        "GET /b/k HTTP/1.1\r\nHost: localhost\r\nx-amz-meta-big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let answer = raw_exchange(&proxy, big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("<Code>RequestHeaderSectionTooLarge</Code>"),
        "{answer}"
    );
    assert!(answer.contains("<RequestId>"), "{answer}");
    // Far above: the HTTP layer refuses it before any parsing.
    let huge = format!(
        "GET /b/k HTTP/1.1\r\nHost: localhost\r\nx-amz-meta-big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let answer = raw_exchange(&proxy, huge.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let mut bad =
        b"GET /b/k HTTP/1.1\r\nHost: localhost\r\nx-amz-meta-x: \xff\xfe\r\nConnection: close\r\n\r\n"
            .to_vec();
    let answer = raw_exchange(&proxy, &bad).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("not valid UTF-8"), "{answer}");
    bad.clear();
    assert!(store.requests().is_empty());
}

#[tokio::test]
async fn store_unreachable_is_503_with_s3_error_and_request_id() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = Proxy::start(ProxyOptions::endpoint(format!("http://127.0.0.1:{port}")));
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let r = client
        .send(
            request(Method::GET, &format!("{}/b/k", proxy.url()))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(xml_code(&r.text()).as_deref(), Some("ServiceUnavailable"));
    let id = r.headers["x-amz-request-id"].to_str().unwrap().to_owned();
    assert!(r.text().contains(&format!("<RequestId>{id}</RequestId>")));
    let head = client
        .send(
            request(Method::HEAD, &format!("{}/b/k", proxy.url()))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(head.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn store_garbage_is_502_and_silence_is_504() {
    // A "store" that answers garbage, and one that accepts and never answers.
    let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_addr = garbage.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = garbage.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        }
    });
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    tokio::spawn(async move {
        while let Ok((s, _)) = silent.accept().await {
            keep.lock().unwrap().push(s);
        }
    });

    let proxy = Proxy::start(ProxyOptions::endpoint(format!("http://{garbage_addr}")));
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let r = client
        .send(
            request(Method::GET, &format!("{}/b/k", proxy.url()))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(xml_code(&r.text()).as_deref(), Some("BadGateway"));

    let proxy = Proxy::start(ProxyOptions {
        upstream: "idle_timeout = \"1s\"".into(),
        ..ProxyOptions::endpoint(format!("http://{silent_addr}"))
    });
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let started = std::time::Instant::now();
    let r = client
        .send(
            request(Method::GET, &format!("{}/b/k", proxy.url()))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(xml_code(&r.text()).as_deref(), Some("GatewayTimeout"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn passes_store_errors_and_head_responses_through() {
    let store = MockStore::start(Arc::new(|r| {
        let mut resp = Response::new(Full::new(Bytes::from_static(
            b"<Error><Code>NoSuchKey</Code></Error>",
        )));
        if r.method == Method::HEAD {
            *resp.body_mut() = Full::default();
            *resp.status_mut() = StatusCode::OK;
            resp.headers_mut()
                .insert("content-length", "1234".parse().unwrap());
            resp.headers_mut().insert(
                "etag",
                "\"0123456789abcdef0123456789abcdef\"".parse().unwrap(),
            );
        } else {
            *resp.status_mut() = StatusCode::NOT_FOUND;
        }
        resp
    }))
    .await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let r = client
        .send(
            request(Method::GET, &format!("{}/b/k", proxy.url()))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(xml_code(&r.text()).as_deref(), Some("NoSuchKey"));
    let r = client
        .send(
            request(Method::HEAD, &format!("{}/b/k", proxy.url()))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-length"], "1234");
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn admin_endpoints_answer_on_plain_http() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    let admin = proxy.admin_addr.unwrap();
    for (path, want) in [("/livez", "200"), ("/readyz", "200"), ("/nope", "404")] {
        let mut tcp = tokio::net::TcpStream::connect(admin).await.unwrap();
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.unwrap();
        assert!(
            out.starts_with(&format!("HTTP/1.1 {want}")),
            "{path}: {out}"
        );
    }
    assert!(store.requests().is_empty());
}

/// A store that answers an error without reading the request body and keeps the
/// connection open (RGW 16.2 does this) then reads the leftover body as a request: the
/// proxy must not reuse that connection, or the next client would get the answer to
/// whatever the previous client put in its body.
#[tokio::test]
async fn never_reuses_a_store_connection_that_may_hold_an_unread_body() {
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::clone(&lines);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // Answer each request head as soon as it is complete, never reading
                    // a body on purpose.
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        seen.lock()
                            .unwrap()
                            .push(head.lines().next().unwrap_or("").to_owned());
                        buf.drain(..end + 4);
                        // Each answer names the request it answers.
                        let line = head.lines().next().unwrap_or("").to_owned();
                        let status = if head.starts_with("PUT") {
                            "403 Forbidden"
                        } else {
                            "200 OK"
                        };
                        let reply = format!(
                            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{line}",
                            line.len()
                        );
                        if s.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    let proxy = Proxy::start(ProxyOptions::endpoint(format!("http://{addr}")));
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    for _ in 0..3 {
        let put = client
            .send(
                request(Method::PUT, &format!("{}/b/k", proxy.url()))
                    .body(Full::new(Bytes::from_static(smuggled.as_bytes())))
                    .unwrap(),
            )
            .await;
        assert_eq!(put.status, StatusCode::FORBIDDEN);
        let get = client
            .send(
                request(Method::GET, &format!("{}/b/k", proxy.url()))
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
        assert_eq!(get.status, StatusCode::OK);
        assert_eq!(
            get.text(),
            "GET /b/k HTTP/1.1",
            "the answer to another request"
        );
    }
    let seen = lines.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|l| l.starts_with("GET /b/k")).count(),
        3,
        "{seen:?}"
    );
}

/// Every request a store could read differently is refused with its S3 code, counted
/// under its reason, and never reaches the store (real-store evidence: differential.rs).
#[tokio::test]
async fn refuses_ambiguous_requests_before_the_store_and_counts_them() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        ssec: "default = \"allow\"".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    let sse = "x-amz-server-side-encryption-customer-algorithm: AES256\r\n";
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "PUT /req-b%2Fk",
            "Host: localhost\r\n",
            "InvalidRequest",
            "ambiguous_path",
        ),
        (
            "PUT /b/k%zz",
            "Host: localhost\r\n",
            "InvalidURI",
            "invalid_uri",
        ),
        (
            "PUT /b/k?%75ploads",
            "Host: localhost\r\n",
            "InvalidRequest",
            "ambiguous_query",
        ),
        (
            "PUT /b/k?partNumber=1&uploadId=A&uploadId=B",
            "Host: localhost\r\n",
            "InvalidRequest",
            "ambiguous_query",
        ),
        (
            "PUT /b/k",
            &format!("Host: localhost\r\n{sse}{sse}"),
            "InvalidRequest",
            "ambiguous_header",
        ),
        (
            "PUT /b/k",
            &format!(
                "Host: localhost\r\nConnection: {}\r\n{sse}",
                "x-amz-server-side-encryption-customer-algorithm"
            ),
            "InvalidRequest",
            "ambiguous_connection",
        ),
        (
            "PUT /k",
            "Host: req-b.localhost\r\n",
            "InvalidRequest",
            "ambiguous_host",
        ),
        (
            "POST /b/k?uploads",
            "Host: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n",
            "InvalidRequest",
            "ambiguous_form",
        ),
    ];
    for (line, headers, code, reason) in cases {
        let wire =
            format!("{line} HTTP/1.1\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n");
        let wire = wire.replacen(
            "Connection: close\r\n",
            "",
            usize::from(headers.contains("Connection:")),
        );
        let answer = raw_exchange(&proxy, wire.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{line}: {answer}");
        assert_eq!(
            xml_code(&answer).as_deref(),
            Some(*code),
            "{line}: {answer}"
        );
        let metrics = proxy.admin("/metrics").await.1;
        assert!(
            metrics.contains(&format!("code=\"{code}\",reason=\"{reason}\"")),
            "{reason} not counted: {metrics}"
        );
    }
    assert!(
        store.requests().is_empty(),
        "an ambiguous request reached the store"
    );
}

/// A request refused on its head while its body is still on the way gets its answer: the
/// proxy lingers on close (reads and discards the rest) instead of resetting the
/// connection under a client that sends its whole body before reading (as Python's
/// `http.client`, botocore's base, does).
#[tokio::test]
async fn a_body_refused_before_it_is_read_still_gets_its_answer() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    let body = vec![7u8; 4 << 20];
    let head = format!(
        "PUT /bucket/key HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\
         x-amz-server-side-encryption-customer-algorithm: AES256\r\n\r\n",
        body.len()
    );
    for _ in 0..8 {
        let mut tls = tls_connect(&proxy).await;
        tls.write_all(head.as_bytes()).await.unwrap();
        tls.write_all(&body)
            .await
            .expect("the whole body is taken, not reset");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer));
        // The proxy ends with close_notify, so the end is clean.
        read.await.unwrap().expect("the answer, then a clean end");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert!(answer.contains("<Code>InvalidArgument</Code>"), "{answer}");
    }
    // A pooled client (hyper's, as the SDKs use) reads the answer while it sends: told
    // `Connection: close`, it does not send the next request into the closing socket.
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    for size in [64 << 10, 1 << 20, 4 << 20] {
        for _ in 0..4 {
            let response = client
                .try_send(
                    request(Method::PUT, &format!("{}/bucket/key", proxy.url()))
                        .header("x-amz-server-side-encryption-customer-algorithm", "AES256")
                        .body(Full::new(Bytes::from(vec![7u8; size])))
                        .unwrap(),
                )
                .await
                .expect("the answer, not a closed connection");
            assert_eq!(response.status, StatusCode::BAD_REQUEST);
            assert_eq!(response.headers["connection"], "close");
        }
    }
    assert!(store.requests().is_empty());
}
