//! Sidecar operations: metrics, readiness, graceful shutdown, live reload of
//! certificates and policy, mTLS, and the access log — the real binary in front of a
//! recording mock store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{Full, StreamBody};
use support::mock::MockStore;
use support::s3::Key;
use support::{Pki, Proxy, ProxyOptions, RawClient, client_tls};

type Frames = StreamBody<tokio_stream_compat::Receiver>;

/// A body fed from a channel, so a test controls how fast an upload goes.
mod tokio_stream_compat {
    use super::*;
    pub struct Receiver(pub tokio::sync::mpsc::Receiver<Bytes>);
    impl futures_util::Stream for Receiver {
        type Item = Result<http_body::Frame<Bytes>, Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0
                .poll_recv(cx)
                .map(|o| o.map(|b| Ok(http_body::Frame::data(b))))
        }
    }
}

fn get(proxy: &Proxy, path: &str) -> Request<Full<Bytes>> {
    Request::get(format!("{}{path}", proxy.url()))
        .body(Full::default())
        .unwrap()
}

/// The certificate the listener presents, as DER.
async fn served_certificate(proxy: &Proxy) -> Vec<u8> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_tls(&proxy.pki.ca_pem, None)));
    let tcp = tokio::net::TcpStream::connect(proxy.s3_addr).await.unwrap();
    let tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn der_of(pem_path: &Path) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_file(pem_path)
        .unwrap()
        .to_vec()
}

fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_count_requests_rejections_bytes_and_connections_with_bounded_labels() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        ssec: "default = \"require\"\n[[ssec.buckets]]\nbucket = \"open-bucket\"\npolicy = \"allow\"\n".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    assert_eq!(client.send(get(&proxy, "/open-bucket/k")).await.status, 200);
    let put = Request::put(format!("{}/secret-bucket/k", proxy.url()))
        .body(Full::new(Bytes::from_static(b"12345")))
        .unwrap();
    assert_eq!(client.send(put).await.status, 403);
    let put = Request::put(format!("{}/open-bucket/k", proxy.url()))
        .body(Full::new(Bytes::from_static(b"1234567")))
        .unwrap();
    assert_eq!(client.send(put).await.status, 200);
    // A failed handshake.
    let mut raw = tokio::net::TcpStream::connect(proxy.s3_addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    drop(raw);

    let mut text = String::new();
    eventually("metrics", async || {
        text = proxy.admin("/metrics").await.1;
        metric(&text, "ssec_tls_handshake_failures_total").unwrap_or(0.0) >= 1.0
            && metric(&text, "ssec_requests_total{op=\"PutObject\",outcome=\"ok\"").is_some()
    })
    .await;
    assert_eq!(
        metric(
            &text,
            "ssec_requests_total{op=\"GetObject\",outcome=\"ok\",status_class=\"2xx\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "ssec_requests_total{op=\"PutObject\",outcome=\"rejected\",status_class=\"4xx\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &text,
            "ssec_rejections_total{code=\"AccessDenied\",reason=\"policy_require\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, "ssec_body_bytes_total{direction=\"in\"}"),
        Some(7.0),
        "the rejected body was never read"
    );
    assert!(metric(&text, "ssec_open_connections{listener=\"tls\"}").is_some());
    assert!(metric(&text, "ssec_store_duration_seconds_count{op=\"GetObject\"}").unwrap() >= 1.0);
    assert!(metric(&text, "ssec_proxy_duration_seconds_count{op=\"PutObject\"}").unwrap() >= 2.0);
    let expiry = metric(&text, "ssec_certificate_expiry_seconds").unwrap();
    assert!(expiry > 86_400.0, "certificate expiry in seconds: {expiry}");
    assert_eq!(metric(&text, "ssec_store_up"), Some(1.0));
    for secret in ["secret-bucket", "open-bucket", "127.0.0.1"] {
        assert!(!text.contains(secret), "{secret} in metrics");
    }
}

#[tokio::test]
async fn readyz_follows_the_store_and_livez_does_not() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        upstream: "probe_interval = \"200ms\"\nconnect_timeout = \"200ms\"".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    eventually("ready", async || proxy.admin("/readyz").await.0 == 200).await;
    drop(store);
    eventually("not ready", async || {
        proxy.admin("/readyz").await
            == (
                503,
                "not ready: store unreachable\nupstream.store: generic (configured)\n".into(),
            )
    })
    .await;
    assert_eq!(
        proxy.admin("/livez").await.0,
        200,
        "liveness never depends on the store"
    );
}

/// Streams `total` bytes in `chunks` pieces, one every `pace`.
fn slow_body(total: usize, chunks: usize, pace: Duration) -> (Frames, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(async move {
        for _ in 0..chunks {
            if tx
                .send(Bytes::from(vec![b'x'; total / chunks]))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(pace).await;
        }
    });
    (StreamBody::new(tokio_stream_compat::Receiver(rx)), task)
}

#[tokio::test]
async fn sigterm_drains_without_failing_in_flight_requests() {
    let store = MockStore::ok().await;
    let mut proxy = Proxy::start(ProxyOptions {
        server: "shutdown_delay = \"1s\"\nshutdown_grace = \"20s\"".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    eventually("ready", async || proxy.admin("/readyz").await.0 == 200).await;
    // A 32 MiB upload that takes about 3 s.
    const TOTAL: usize = 32 << 20;
    let (body, _feeder) = slow_body(TOTAL, 32, Duration::from_millis(90));
    let uploader = RawClient::<Frames>::with_tls(client_tls(&proxy.pki.ca_pem, None), false);
    let url = format!("{}/b/big", proxy.url());
    let upload = tokio::spawn(async move {
        let req = Request::put(url)
            .header("content-length", TOTAL.to_string())
            .body(body)
            .unwrap();
        uploader.try_send(req).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.signal("TERM");
    let started = Instant::now();
    eventually("readiness off", async || {
        proxy.admin("/readyz").await
            == (
                503,
                "not ready: shutting down\nupstream.store: generic (configured)\n".into(),
            )
    })
    .await;
    // During the delay, new connections are still served.
    let fresh = RawClient::new(&proxy.pki.ca_pem, false);
    assert_eq!(fresh.send(get(&proxy, "/b/during-delay")).await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    // After it, the listener is closed.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let late = RawClient::new(&proxy.pki.ca_pem, false);
    assert!(
        late.try_send(get(&proxy, "/b/late")).await.is_err(),
        "listener closed after the delay"
    );
    let result = upload
        .await
        .unwrap()
        .expect("the in-flight upload completed");
    assert_eq!(result.status, StatusCode::OK);
    let stored = store
        .requests()
        .into_iter()
        .find(|r| r.uri.path() == "/b/big")
        .unwrap();
    assert_eq!(stored.body.len(), TOTAL, "the store received every byte");
    let status = proxy
        .wait_exit(Duration::from_secs(10))
        .expect("process exited");
    assert!(status.success(), "graceful exit: {status:?}");
}

#[tokio::test]
async fn a_second_sigterm_exits_at_once() {
    let store = MockStore::ok().await;
    let mut proxy = Proxy::start(ProxyOptions {
        server: "shutdown_delay = \"30s\"".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    proxy.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    proxy.signal("INT");
    let status = proxy
        .wait_exit(Duration::from_secs(3))
        .expect("exited at once");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        !status.success(),
        "a forced exit is not a success: {status:?}"
    );
}

/// A Kubernetes Secret volume: files are symlinks into `..data`, itself a symlink to a
/// timestamped directory, swapped atomically on update.
struct SecretDir {
    root: PathBuf,
    n: u32,
}

impl SecretDir {
    fn new(root: PathBuf, cert: &Path, key: &Path) -> Self {
        std::fs::create_dir_all(&root).unwrap();
        let mut me = Self { root, n: 0 };
        me.publish(cert, key);
        for name in ["tls.crt", "tls.key"] {
            std::os::unix::fs::symlink(format!("..data/{name}"), me.root.join(name)).unwrap();
        }
        me
    }

    fn publish(&mut self, cert: &Path, key: &Path) {
        self.n += 1;
        let dir = format!("..2026_11_27_{:02}", self.n);
        std::fs::create_dir_all(self.root.join(&dir)).unwrap();
        std::fs::copy(cert, self.root.join(&dir).join("tls.crt")).unwrap();
        std::fs::copy(key, self.root.join(&dir).join("tls.key")).unwrap();
        let tmp = self.root.join("..data_tmp");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&dir, &tmp).unwrap();
        std::fs::rename(&tmp, self.root.join("..data")).unwrap();
    }

    fn files(&self) -> (PathBuf, PathBuf) {
        (self.root.join("tls.crt"), self.root.join("tls.key"))
    }
}

#[tokio::test]
async fn certificate_reloads_on_a_secret_update_without_dropping_connections() {
    let store = MockStore::ok().await;
    let pki = Arc::new(Pki::new());
    let (cert_b, key_b) = pki.leaf("server-b", &["localhost", "127.0.0.1"]);
    let mut secret = SecretDir::new(pki.dir.path().join("secret"), &pki.cert_path, &pki.key_path);
    let proxy = Proxy::start_with(
        Arc::clone(&pki),
        ProxyOptions {
            tls_files: Some(secret.files()),
            server: "reload_interval = \"1h\"".into(),
            ..ProxyOptions::endpoint(store.url())
        },
    );
    assert_eq!(served_certificate(&proxy).await, der_of(&pki.cert_path));
    let kept = RawClient::new(&pki.ca_pem, false);
    assert_eq!(kept.send(get(&proxy, "/b/before")).await.status, 200);

    secret.publish(&cert_b, &key_b);
    eventually("new certificate served", async || {
        served_certificate(&proxy).await == der_of(&cert_b)
    })
    .await;
    assert_eq!(
        kept.send(get(&proxy, "/b/after")).await.status,
        200,
        "the open connection still works"
    );
    let text = proxy.admin("/metrics").await.1;
    assert_eq!(
        metric(
            &text,
            "ssec_reloads_total{kind=\"certificate\",result=\"ok\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(proxy.wait_log("certificate reloaded").is_some());
}

#[tokio::test]
async fn a_broken_certificate_keeps_the_old_one_logs_and_counts() {
    let store = MockStore::ok().await;
    let pki = Arc::new(Pki::new());
    let dir = pki.dir.path().join("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    std::fs::copy(&pki.cert_path, &cert).unwrap();
    std::fs::copy(&pki.key_path, &key).unwrap();
    let proxy = Proxy::start_with(
        Arc::clone(&pki),
        ProxyOptions {
            tls_files: Some((cert.clone(), key.clone())),
            server: "reload_interval = \"1h\"".into(),
            ..ProxyOptions::endpoint(store.url())
        },
    );
    // A key that does not match the certificate.
    let (_, other_key) = pki.leaf("other", &["localhost"]);
    std::fs::copy(&other_key, &key).unwrap();
    eventually("failure counted", async || {
        metric(
            &proxy.admin("/metrics").await.1,
            "ssec_reloads_total{kind=\"certificate\",result=\"failed\"}",
        )
        .is_some_and(|n| n >= 1.0)
    })
    .await;
    assert!(proxy.wait_log("certificate reload failed").is_some());
    assert_eq!(
        served_certificate(&proxy).await,
        der_of(&pki.cert_path),
        "the old pair is still served"
    );
    // A valid new pair is picked up again.
    let (cert_b, key_b) = pki.leaf("server-b", &["localhost"]);
    std::fs::copy(&key_b, &key).unwrap();
    std::fs::copy(&cert_b, &cert).unwrap();
    eventually("the fixed pair is served", async || {
        served_certificate(&proxy).await == der_of(&cert_b)
    })
    .await;
}

/// Certificate files as links into a directory nobody watches: only SIGHUP or the
/// periodic check can notice them change.
fn unwatched_pair(pki: &Pki) -> (tempfile::TempDir, PathBuf, PathBuf, (PathBuf, PathBuf)) {
    let elsewhere = tempfile::tempdir().unwrap();
    let (target_cert, target_key) = (
        elsewhere.path().join("c.pem"),
        elsewhere.path().join("k.pem"),
    );
    std::fs::copy(&pki.cert_path, &target_cert).unwrap();
    std::fs::copy(&pki.key_path, &target_key).unwrap();
    let links = pki.dir.path().join(format!("links-{}", support::unique()));
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink(&target_cert, links.join("c.pem")).unwrap();
    std::os::unix::fs::symlink(&target_key, links.join("k.pem")).unwrap();
    (
        elsewhere,
        target_cert,
        target_key,
        (links.join("c.pem"), links.join("k.pem")),
    )
}

#[tokio::test]
async fn sighup_reloads_the_certificate() {
    let store = MockStore::ok().await;
    let pki = Arc::new(Pki::new());
    let (_keep, target_cert, target_key, files) = unwatched_pair(&pki);
    // Made before start: writing it into the watched configuration directory later
    // would itself trigger a reload.
    let (cert_b, key_b) = pki.leaf("server-b", &["localhost"]);
    let proxy = Proxy::start_with(
        Arc::clone(&pki),
        ProxyOptions {
            tls_files: Some(files),
            server: "reload_interval = \"1h\"".into(),
            ..ProxyOptions::endpoint(store.url())
        },
    );
    std::fs::copy(&key_b, &target_key).unwrap();
    std::fs::copy(&cert_b, &target_cert).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        served_certificate(&proxy).await,
        der_of(&pki.cert_path),
        "nothing noticed yet"
    );
    proxy.signal("HUP");
    eventually("reloaded on SIGHUP", async || {
        served_certificate(&proxy).await == der_of(&cert_b)
    })
    .await;
    assert!(proxy.wait_log("\"trigger\":\"SIGHUP\"").is_some());
}

#[tokio::test]
async fn the_periodic_check_sees_changes_the_watcher_cannot() {
    let store = MockStore::ok().await;
    let pki = Arc::new(Pki::new());
    let (_keep, target_cert, target_key, files) = unwatched_pair(&pki);
    let (cert_b, key_b) = pki.leaf("server-b", &["localhost"]);
    let proxy = Proxy::start_with(
        Arc::clone(&pki),
        ProxyOptions {
            tls_files: Some(files),
            server: "reload_interval = \"1s\"".into(),
            ..ProxyOptions::endpoint(store.url())
        },
    );
    std::fs::copy(&key_b, &target_key).unwrap();
    std::fs::copy(&cert_b, &target_cert).unwrap();
    eventually("periodic reload", async || {
        served_certificate(&proxy).await == der_of(&cert_b)
    })
    .await;
}

#[tokio::test]
async fn ssec_policy_reloads_and_restart_only_settings_are_reported() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        server: "reload_interval = \"1h\"".into(),
        ssec: "default = \"allow\"".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let k = Key::new(0);
    let keyed = || {
        Request::get(format!("{}/b/k", proxy.url()))
            .header("x-amz-server-side-encryption-customer-algorithm", "AES256")
            .header("x-amz-server-side-encryption-customer-key", &k.b64)
            .body(Full::default())
            .unwrap()
    };
    assert_eq!(client.send(keyed()).await.status, 200);
    proxy.rewrite_config(|t| {
        t.replace("default = \"allow\"", "default = \"forbid\"")
            .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\"")
    });
    eventually("policy applied", async || {
        client.send(keyed()).await.status == 403
    })
    .await;
    assert!(proxy.wait_log("ssec policy reloaded").is_some());
    let restart = proxy.wait_log("applies after a restart").unwrap();
    assert!(restart.contains("server.listen"), "{restart}");
    // A broken file keeps the running policy.
    proxy.rewrite_config(|t| t.replace("default = \"forbid\"", "default = \"sometimes\""));
    assert!(proxy.wait_log("configuration reload failed").is_some());
    assert_eq!(client.send(keyed()).await.status, 403);
}

#[tokio::test]
async fn mtls_refuses_clients_without_a_valid_certificate_at_the_handshake() {
    let store = MockStore::ok().await;
    let pki = Arc::new(Pki::new());
    let (client_cert, client_key) = pki.leaf("client-a", &["client-a"]);
    let stranger = Pki::new();
    let (stranger_cert, stranger_key) = stranger.leaf("stranger", &["stranger"]);
    let proxy = Proxy::start_with(
        Arc::clone(&pki),
        ProxyOptions {
            server: format!("tls_client_ca = {:?}", pki.ca_path.display().to_string()),
            ..ProxyOptions::endpoint(store.url())
        },
    );
    let ok = RawClient::<Full<Bytes>>::with_tls(
        client_tls(&pki.ca_pem, Some((&client_cert, &client_key))),
        false,
    );
    assert_eq!(ok.send(get(&proxy, "/b/k")).await.status, 200);
    for (what, identity) in [
        ("no certificate", None),
        (
            "another CA",
            Some((stranger_cert.as_path(), stranger_key.as_path())),
        ),
    ] {
        let client = RawClient::<Full<Bytes>>::with_tls(client_tls(&pki.ca_pem, identity), false);
        assert!(
            client.try_send(get(&proxy, "/b/k")).await.is_err(),
            "{what} was served"
        );
    }
    assert_eq!(store.requests().len(), 1);
    let text = proxy.admin("/metrics").await.1;
    assert!(
        metric(&text, "ssec_tls_handshake_failures_total").unwrap() >= 2.0,
        "{text}"
    );
}

#[tokio::test]
async fn one_access_line_per_request_without_keys_queries_or_credentials() {
    let store = MockStore::ok().await;
    let proxy = Proxy::start(ProxyOptions {
        ssec: "default = \"allow\"".into(),
        ..ProxyOptions::endpoint(store.url())
    });
    let client = RawClient::new(&proxy.pki.ca_pem, false);
    let k = Key::new(0);
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!(
            "{}/photos/cat.jpg?X-Amz-Signature=sig0123456789&x-id=PutObject",
            proxy.url()
        ))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDSECRET/20261203/us-east-1/s3/aws4_request, Signature=abcdef0123",
        )
        .header("x-amz-server-side-encryption-customer-algorithm", "AES256")
        .header("x-amz-server-side-encryption-customer-key", &k.b64)
        .header("x-amz-server-side-encryption-customer-key-md5", &k.md5)
        .body(Full::new(Bytes::from_static(b"hello")))
        .unwrap();
    let r = client.send(req).await;
    assert_eq!(r.status, 502, "the mock does not confirm SSE-C");
    let id = r.headers["x-amz-request-id"].to_str().unwrap().to_owned();
    let line = proxy
        .wait_log("\"target\":\"access\"")
        .expect("an access line");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["request.id"], id.as_str());
    assert_eq!(v["s3.op"], "PutObject");
    assert_eq!(v["s3.bucket"], "photos");
    assert_eq!(v["http.status"], 502);
    assert_eq!(v["bytes.in"], 5);
    assert!(v["bytes.out"].as_u64().unwrap() > 0);
    assert_eq!(v["outcome"], "store_unconfirmed");
    assert_eq!(v["s3.error"], "BadGateway");
    for field in [
        "duration.proxy_us",
        "duration.store_us",
        "duration.total_us",
    ] {
        assert!(v[field].as_u64().is_some(), "{field}: integer microseconds");
    }
    assert!(
        v["duration.total_us"].as_u64() >= v["duration.store_us"].as_u64(),
        "{v}"
    );
    assert_eq!(
        proxy
            .logs()
            .iter()
            .filter(|l| l.contains("\"target\":\"access\""))
            .count(),
        1
    );
    for secret in [
        "cat.jpg",
        "X-Amz-Signature",
        "sig0123456789",
        "AKIDSECRET",
        "abcdef0123",
        &k.b64,
        &k.md5,
    ] {
        assert!(
            !proxy.logs().iter().any(|l| l.contains(secret)),
            "{secret} logged"
        );
    }
}

/// `log.file`: every line goes to the file (one access line per request, up to the
/// last before SIGTERM), none to stdout.
#[tokio::test]
async fn log_file_gets_every_line_and_stdout_none() {
    let store = MockStore::ok().await;
    let pki = support::Pki::new();
    let log = pki.dir.path().join("logs").join("proxy.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let config = pki.dir.path().join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"\"\ntls_cert = {:?}\ntls_key = {:?}\n\
             shutdown_delay = \"0s\"\npath_style_hosts = [\"localhost\"]\n[upstream]\nendpoint = {:?}\n[ssec]\ndefault = \"allow\"\n\
             [log]\nfile = \"logs/proxy.log\"\n",
            pki.cert_path.display().to_string(),
            pki.key_path.display().to_string(),
            store.url(),
        ),
    )
    .unwrap();
    let child = std::process::Command::new(support::BIN)
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .env_remove("RUST_LOG")
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let listening = loop {
        if let Some(line) = read().lines().find(|l| l.contains("\"listening\"")) {
            break line.to_owned();
        }
        assert!(Instant::now() < deadline, "not listening: {}", read());
        std::thread::sleep(Duration::from_millis(20));
    };
    let v: serde_json::Value = serde_json::from_str(&listening).unwrap();
    let port = v["s3.addr"]
        .as_str()
        .unwrap()
        .parse::<std::net::SocketAddr>()
        .unwrap()
        .port();
    let client = RawClient::new(&pki.ca_pem, false);
    const REQUESTS: usize = 200;
    for i in 0..REQUESTS {
        let req = Request::get(format!("https://localhost:{port}/b/k{i}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(client.send(req).await.status, 200);
    }
    let kill = std::process::Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let text = read();
    let access = text
        .lines()
        .filter(|l| l.contains("\"target\":\"access\""))
        .count();
    assert_eq!(access, REQUESTS, "{text}");
    assert!(text.contains("shutdown: done"), "{text}");
    assert!(
        output.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}
