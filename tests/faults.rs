//! Faults, on loopback only, each bounded in time and count: the store down at start
//! and mid-run, the store dying mid-response, clients aborting, slow stores, slow and
//! abusive clients, connection floods, and garbage on the TLS port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::mock::MockStore;
use support::{Proxy, ProxyOptions, RawClient, client_tls, xml_code};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn get(proxy: &Proxy, path: &str) -> Request<Full<Bytes>> {
    Request::get(format!("{}{path}", proxy.url()))
        .body(Full::default())
        .unwrap()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn tls_stream(proxy: &Proxy) -> tokio_rustls::client::TlsStream<TcpStream> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_tls(&proxy.pki.ca_pem, None)));
    let tcp = TcpStream::connect(proxy.s3_addr).await.unwrap();
    connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

/// Reads until the peer closes; `None` if it is still open after `limit`.
async fn closed_within<S: AsyncReadExt + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn store_down_at_start_and_mid_run_answers_503_then_recovers() {
    // Reserve a port for the store, then start the proxy while nothing listens there.
    let port = support::free_port();
    let proxy = Proxy::start(ProxyOptions {
        upstream: "probe_interval = \"200ms\"\nconnect_timeout = \"500ms\"".into(),
        ..ProxyOptions::endpoint(format!("http://127.0.0.1:{port}"))
    });
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let r = client.send(get(&proxy, "/b/k")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(xml_code(&r.text()).as_deref(), Some("ServiceUnavailable"));
    assert_eq!(
        proxy.admin("/readyz").await.1,
        "not ready: store unreachable\nupstream.store: generic (configured)\n"
    );

    // The store comes up: the proxy recovers without a restart.
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let store = support::mock::MockStore::serve(
        listener,
        Arc::new(|_| http::Response::new(Full::default())),
    )
    .await;
    eventually("ready", async || proxy.admin("/readyz").await.0 == 200).await;
    assert_eq!(
        client.send(get(&proxy, "/b/k")).await.status,
        StatusCode::OK
    );

    // And goes away mid-run.
    drop(store);
    eventually("503 again", async || {
        let fresh = RawClient::new(&proxy.pki.ca_pem, false);
        fresh.send(get(&proxy, "/b/k")).await.status == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    eventually("not ready", async || proxy.admin("/readyz").await.0 == 503).await;
}

/// A store that reads a request, answers with the bytes of `reply`, keeps the
/// connection open for `hold`, then drops it.
async fn raw_store(reply: Vec<u8>, hold: Duration) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reply = Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&reply).await;
                tokio::time::sleep(hold).await;
            });
        }
    });
    addr
}

/// A store that announces `announced` bytes, sends `sent`, then dies: no more bytes,
/// no final chunk.
async fn dying_store(announced: usize, sent: usize, chunked: bool) -> std::net::SocketAddr {
    let mut reply = if chunked {
        format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{sent:x}\r\n")
    } else {
        format!("HTTP/1.1 200 OK\r\ncontent-length: {announced}\r\n\r\n")
    }
    .into_bytes();
    reply.resize(reply.len() + sent, b'd');
    raw_store(reply, Duration::ZERO).await
}

#[tokio::test]
async fn a_store_dying_mid_get_is_an_error_never_a_short_body() {
    for chunked in [false, true] {
        for h2 in [false, true] {
            let addr = dying_store(1 << 20, 100_000, chunked).await;
            let proxy = Proxy::start(ProxyOptions::endpoint(format!("http://{addr}")));
            let client = RawClient::new(&proxy.pki.ca_pem, h2);
            let result = client.try_send(get(&proxy, "/b/k")).await;
            assert!(
                result.is_err(),
                "chunked={chunked} h2={h2}: got a complete response {:?}",
                result.map(|r| r.body.len())
            );
        }
    }
}

#[tokio::test]
async fn a_stalled_store_body_is_cut_after_the_idle_timeout() {
    let addr = raw_store(
        b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nfirst".to_vec(),
        Duration::from_secs(30),
    )
    .await;
    let proxy = Proxy::start(ProxyOptions {
        upstream: "idle_timeout = \"1s\"".into(),
        ..ProxyOptions::endpoint(format!("http://{addr}"))
    });
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let started = Instant::now();
    assert!(client.try_send(get(&proxy, "/b/k")).await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cut after about 1 s: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_aborting_mid_put_leaves_the_store_an_incomplete_body() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    let mut tls = tls_stream(&proxy).await;
    tls.write_all(b"PUT /b/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .unwrap();
    tls.write_all(&vec![b'x'; 100_000]).await.unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(tls);
    eventually("the store saw the request end", async || {
        !store.requests().is_empty()
    })
    .await;
    let seen = &store.requests()[0];
    assert_eq!(
        &seen.body[..],
        b"<incomplete>",
        "the store got an error, not a short body as complete"
    );
}

#[tokio::test]
async fn slowloris_clients_are_cut_by_the_header_read_timeout() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        server: "header_read_timeout = \"1s\"\ntls_handshake_timeout = \"1s\"".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    // Headers one byte at a time, never finished.
    let mut tls = tls_stream(&proxy).await;
    let started = Instant::now();
    tls.write_all(b"GET /b/k HTTP/1.1\r\n").await.unwrap();
    let trickle = async {
        for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if tls.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), trickle).await;
    let closed = closed_within(&mut tls, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "connection still open");
    assert!(started.elapsed() < Duration::from_secs(8));
    // A client that never starts TLS.
    let mut tcp = TcpStream::connect(proxy.s3_addr).await.unwrap();
    assert!(
        closed_within(&mut tcp, Duration::from_secs(4))
            .await
            .is_some(),
        "handshake timeout"
    );
    assert!(store.requests().is_empty());
}

#[tokio::test]
async fn garbage_and_plain_http_on_the_tls_port_are_refused_and_counted() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions::endpoint(store.url()));
    for bytes in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &b"\x16\x03\x01\x00\x05hello"[..],
        &[0u8; 2048][..],
        &b"\x16\x03\x03\xff\xff"[..],
    ] {
        let mut tcp = TcpStream::connect(proxy.s3_addr).await.unwrap();
        let _ = tcp.write_all(bytes).await;
        let answer = closed_within(&mut tcp, Duration::from_secs(5))
            .await
            .expect("closed");
        assert!(!answer.starts_with(b"HTTP/1.1 200"));
    }
    // Counted as each connection ends, which may be just after the client saw it close.
    eventually("4 handshake failures counted", async || {
        let text = proxy.admin("/metrics").await.1;
        let failures: f64 = text
            .lines()
            .find(|l| l.starts_with("ssec_tls_handshake_failures_total"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap();
        failures >= 4.0
    })
    .await;
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    assert_eq!(
        client.send(get(&proxy, "/b/k")).await.status,
        200,
        "still serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_connection_attempts_at_once_are_bounded() {
    const ATTEMPTS: usize = 10_000;
    const LIMIT: usize = 256;
    rlimit::increase_nofile_limit(ATTEMPTS as u64 * 2 + 1024).unwrap();
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        server: format!("max_connections = {LIMIT}\ntls_handshake_timeout = \"3s\""),
        ..ProxyOptions::endpoint(store.url())
    });
    let before = proxy.rss();
    let started = Instant::now();
    let addr = proxy.s3_addr;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..ATTEMPTS {
        tasks.spawn(async move {
            let Ok(Ok(mut s)) =
                tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr)).await
            else {
                return (false, None);
            };
            // Hold it a while without a handshake, like an abusive client.
            let closed = closed_within(&mut s, Duration::from_secs(1)).await;
            (true, Some(closed.is_some()))
        });
    }
    let mut peak_rss = 0;
    let (mut connected, mut closed_early) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (ok, closed) = r.unwrap();
        connected += usize::from(ok);
        closed_early += usize::from(closed == Some(true));
        peak_rss = peak_rss.max(proxy.rss());
    }
    let elapsed = started.elapsed();
    let text = proxy.admin("/metrics").await.1;
    let refused: f64 = text
        .lines()
        .find(|l| l.starts_with("ssec_refused_connections_total"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    println!(
        "flood: {ATTEMPTS} attempts in {:.1} s, {connected} connected, {closed_early} closed within 1 s, {refused} refused over the limit of {LIMIT}; proxy RSS {:.1} MiB before, peak {:.1} MiB",
        elapsed.as_secs_f64(),
        before as f64 / 1048576.0,
        peak_rss.max(proxy.peak_rss()) as f64 / 1048576.0
    );
    assert!(refused > 0.0, "excess connections were refused");
    assert!(elapsed < Duration::from_secs(60));
    assert!(
        proxy.peak_rss() < 128 << 20,
        "memory bounded: {} bytes",
        proxy.peak_rss()
    );
    // Still serving once the flood is over.
    eventually("serving after the flood", async || {
        RawClient::new(&proxy.pki.ca_pem, false)
            .try_send(get(&proxy, "/b/k"))
            .await
            .is_ok_and(|r| r.status == 200)
    })
    .await;
}

/// Sends a signed SSE-C PUT of `announced` bytes as raw HTTP/1.1 over TLS, framed by
/// `Content-Length` or chunked, writes `sent` bytes of it, and either drops the
/// connection (`sent < announced`) or finishes and returns the response head.
async fn raw_ssec_put(
    proxy: &Proxy,
    store: &support::Store,
    path: &str,
    announced: usize,
    sent: usize,
    chunked: bool,
) -> Option<String> {
    let key = support::s3::Key::new(7);
    let length = announced.to_string();
    let framing = if chunked {
        ("transfer-encoding", "chunked")
    } else {
        ("content-length", length.as_str())
    };
    let req = support::signed(
        store,
        "PUT",
        &format!("{}{path}", proxy.url()),
        &[
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", &key.b64),
            ("x-amz-server-side-encryption-customer-key-md5", &key.md5),
            framing,
        ],
        Bytes::new(),
    );
    let mut head = format!("PUT {path} HTTP/1.1\r\n");
    for (name, value) in req.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut tls = tls_stream(proxy).await;
    tls.write_all(head.as_bytes()).await.unwrap();
    let data = support::s3::data(sent, 3);
    if chunked {
        for piece in data.chunks(256 * 1024) {
            tls.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .await
                .unwrap();
            tls.write_all(piece).await.unwrap();
            tls.write_all(b"\r\n").await.unwrap();
        }
    } else {
        tls.write_all(&data).await.unwrap();
    }
    if sent < announced {
        tls.flush().await.unwrap();
        // Long enough for the proxy to have forwarded what it got to the store.
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(tls);
        return None;
    }
    if chunked {
        tls.write_all(b"0\r\n\r\n").await.unwrap();
    }
    tls.flush().await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), tls.read(&mut buf))
        .await
        .expect("response within 30 s")
        .unwrap();
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Against the real store: a client that disappears in the middle of an SSE-C PUT, with
/// either framing, leaves no object behind; the same request sent whole is stored, so
/// the request itself was valid and only the abort kept it out.
#[tokio::test]
async fn seaweedfs_client_aborting_mid_put_commits_nothing() {
    let store = require_store!(seaweedfs);
    let proxy = support::store_proxy(&store, support::Route::Http, "default = \"require\"");
    let client = support::store_client(&proxy, &store);
    let bucket = support::bucket_name("abort");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = support::s3::Key::new(7);
    let exists = async |name: &str| {
        client
            .head_object()
            .bucket(&bucket)
            .key(name)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key.b64)
            .sse_customer_key_md5(&key.md5)
            .send()
            .await
            .map(|_| true)
            .or_else(|e| match support::s3::failure(&e).0 {
                404 => Ok(false),
                status => Err(status),
            })
            .unwrap()
    };

    const ANNOUNCED: usize = 4 << 20;
    for chunked in [false, true] {
        let name = if chunked {
            "aborted-chunked"
        } else {
            "aborted-length"
        };
        // Cut in the middle, and right after the head: SeaweedFS stores an empty object
        // when the connection ends before the first body byte, so the proxy does not
        // ask the store before the client has sent some.
        for sent in [1 << 20, 0] {
            let answer = raw_ssec_put(
                &proxy,
                &store,
                &format!("/{bucket}/{name}"),
                ANNOUNCED,
                sent,
                chunked,
            )
            .await;
            assert!(answer.is_none());
            // Give the store time to commit, were it going to.
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert!(
                !exists(name).await,
                "{name}: the store committed a PUT aborted after {sent} bytes"
            );
        }

        let whole = format!("{name}-whole");
        let head = raw_ssec_put(
            &proxy,
            &store,
            &format!("/{bucket}/{whole}"),
            ANNOUNCED,
            ANNOUNCED,
            chunked,
        )
        .await
        .unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{whole}: {head}");
        assert!(exists(&whole).await, "{whole}: not stored");
    }
    assert_eq!(
        support::s3::object_names(&client, &bucket).await,
        ["aborted-chunked-whole", "aborted-length-whole"]
    );
}
