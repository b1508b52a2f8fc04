//! The container image (deploy/Containerfile; README "Container image") in front of a
//! real SeaweedFS, run as the manifests run it: read-only, non-root, configuration and
//! TLS files mounted. Needs podman and the image (`dev/image build`); without them the
//! test skips, and with `SSEC_REQUIRE_IMAGE=1` (CI) it fails instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::s3::{Key, data, failure};
use support::{Pki, Store, bucket_name, s3_client, unique};

const IMAGE: &str = concat!("localhost/ssec-proxy:", env!("CARGO_PKG_VERSION"));

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("podman {args:?}: {e}"))
}

/// True when podman has the image; otherwise the test skips, or fails under
/// `SSEC_REQUIRE_IMAGE=1`.
fn image_present() -> bool {
    let present = Command::new("podman")
        .args(["image", "exists", IMAGE])
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        let why = format!("podman or its image {IMAGE} is missing (run dev/image build as root)");
        assert!(
            std::env::var("SSEC_REQUIRE_IMAGE").as_deref() != Ok("1"),
            "{why}, but SSEC_REQUIRE_IMAGE=1"
        );
        eprintln!("SKIPPED: {why}");
    }
    present
}

/// The flags podman needs to run containers on this machine; dev/image says why.
fn run_flags() -> Vec<String> {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/dev/image"))
        .arg("flags")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Removes the container however the test ends.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.0]);
    }
}

/// The configuration and TLS files, readable by the image's user (65532) as a
/// Kubernetes ConfigMap and Secret volume are (0644).
fn mounts(pki: &Pki, store: &Store) -> (String, String) {
    let config = pki.dir.path().join("config");
    let tls = pki.dir.path().join("tls");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::write(
        config.join("proxy.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             tls_cert = \"/etc/ssec-proxy/tls/tls.crt\"\ntls_key = \"/etc/ssec-proxy/tls/tls.key\"\n\
             shutdown_delay = \"2s\"\n\n[upstream]\nendpoint = \"{}\"\nstore = \"seaweedfs\"\n\n\
             [ssec]\ndefault = \"require\"\n",
            store.http
        ),
    )
    .unwrap();
    std::fs::copy(&pki.cert_path, tls.join("tls.crt")).unwrap();
    std::fs::copy(&pki.key_path, tls.join("tls.key")).unwrap();
    for dir in [pki.dir.path(), &config, &tls] {
        chmod(dir, 0o755);
    }
    for file in [
        config.join("proxy.toml"),
        tls.join("tls.crt"),
        tls.join("tls.key"),
    ] {
        chmod(&file, 0o644);
    }
    (
        format!("{}:/etc/ssec-proxy/config:ro", config.display()),
        format!("{}:/etc/ssec-proxy/tls:ro", tls.display()),
    )
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The S3 and admin addresses from the container's `listening` log line.
fn listening(name: &str) -> (SocketAddr, SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = String::from_utf8_lossy(&podman(&["logs", name]).stdout).into_owned();
        if let Some(line) = logs.lines().find(|l| l.contains("\"listening\"")) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let addr = |k: &str| v[k].as_str().unwrap().parse().unwrap();
            return (addr("s3.addr"), addr("admin.addr"));
        }
        assert!(Instant::now() < deadline, "no listening line: {logs}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status of a plain HTTP GET on the admin listener.
fn admin_status(admin: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&admin, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

// Multi-threaded: the SDK's connections keep being served (an HTTP/2 GOAWAY and PING
// answered) while this thread blocks on podman, as a real client's would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_serves_sse_c_in_front_of_seaweedfs_read_only_and_drains_on_sigterm() {
    if !image_present() {
        return;
    }
    let store = require_store!(seaweedfs);
    let pki = Pki::new();
    let (config, tls) = mounts(&pki, &store);
    let name = format!("ssec-proxy-test-{}", unique());
    let mut args = vec!["run", "-d", "--name", &name];
    let flags = run_flags();
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--read-only", "--cap-drop", "ALL"]);
    args.extend([
        "--security-opt",
        "no-new-privileges",
        "-v",
        &config,
        "-v",
        &tls,
        IMAGE,
    ]);
    let out = podman(&args);
    assert!(out.status.success(), "{out:?}");
    let container = Container(name);
    let (s3, admin) = listening(&container.0);

    let deadline = Instant::now() + Duration::from_secs(20);
    while admin_status(admin, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(admin_status(admin, "/livez"), Some(200));

    let c = s3_client(
        &format!("https://localhost:{}", s3.port()),
        &pki.ca_pem,
        &store.access_key,
        &store.secret_key,
        false,
    );
    let bucket = bucket_name("image");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(7);
    let body = data(100_000, 7);
    c.put_object()
        .bucket(&bucket)
        .key("obj")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .body(body.clone().into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT: {:?}", failure(&e)));
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("obj")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes(), body);
    let refused = c.get_object().bucket(&bucket).key("obj").send().await;
    assert_eq!(failure(&refused.unwrap_err()).0, 403);

    // SIGTERM: readiness off at once, then a drained exit with status 0.
    let out = podman(&["kill", "--signal", "TERM", &container.0]);
    assert!(out.status.success(), "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while admin_status(admin, "/readyz") != Some(503) {
        assert!(
            Instant::now() < deadline,
            "readiness still on after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = podman(&["wait", &container.0]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{out:?}");
    let logs = podman(&["logs", &container.0]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains("shutdown: done"));
}
