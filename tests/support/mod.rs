//! Test harness: certificates made at test time, the real binary started on free
//! ports, real stores found through the environment that `dev/stores` writes, clients.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod at_rest;
pub mod form;
pub mod mock;
pub mod resign;
pub mod s3;
pub mod wire;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A test CA and a server certificate for localhost, 127.0.0.1 and *.s3.localhost.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub ca_path: PathBuf,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ssec-proxy test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca_cert.pem()).unwrap();
        let (cert_path, key_path) = Self::leaf_into(
            &issuer,
            dir.path(),
            "server",
            &["localhost", "127.0.0.1", "*.s3.localhost"],
        );
        Self {
            ca_pem: ca_cert.pem(),
            ca_path,
            cert_path,
            key_path,
            dir,
            issuer,
        }
    }

    /// Issues another leaf (for reload and mismatch tests).
    pub fn leaf(&self, name: &str, sans: &[&str]) -> (PathBuf, PathBuf) {
        Self::leaf_into(&self.issuer, self.dir.path(), name, sans)
    }

    fn leaf_into(
        issuer: &Issuer<'_, KeyPair>,
        dir: &Path,
        name: &str,
        sans: &[&str],
    ) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, issuer).unwrap();
        let cert_path = dir.join(format!("{name}.pem"));
        let key_path = dir.join(format!("{name}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

/// What goes into the proxy's configuration file besides certificates and addresses.
#[derive(Clone, Default)]
pub struct ProxyOptions {
    /// `upstream.endpoint`.
    pub endpoint: String,
    /// Extra lines in `[upstream]`.
    pub upstream: String,
    /// Extra lines in `[server]`.
    pub server: String,
    /// Lines of `[ssec]` (tests default to `default = "allow"`).
    pub ssec: String,
    /// Further tables, appended as is.
    pub tables: String,
    /// `RUST_LOG` for the process.
    pub rust_log: Option<String>,
    /// Certificate and key files instead of the PKI's server pair.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// Leave `upstream.store` to its default (`auto`) instead of `generic`.
    pub default_store: bool,
}

impl ProxyOptions {
    pub fn endpoint(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            ssec: "default = \"allow\"".into(),
            ..Self::default()
        }
    }
}

/// The real binary, running.
pub struct Proxy {
    child: Child,
    pub pki: Arc<Pki>,
    pub s3_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    pub config_path: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
}

pub const BIN: &str = env!("CARGO_BIN_EXE_ssec-proxy");

impl Proxy {
    pub fn start(options: ProxyOptions) -> Self {
        Self::start_with(Arc::new(Pki::new()), options)
    }

    pub fn start_with(pki: Arc<Pki>, options: ProxyOptions) -> Self {
        let config_path = pki.dir.path().join(format!("proxy-{}.toml", unique()));
        // Mock stores are not recognisable and must not see a request of the proxy's
        // own: tests name the store, or set `store = "auto"` to test recognition.
        let store_line = if options.upstream.contains("store =") || options.default_store {
            ""
        } else {
            "store = \"generic\"\n"
        };
        // Clients reach the proxy at `localhost`, which RGW and an unknown store may
        // read as a bucket unless it is listed (the dev RGW's `rgw dns name` is
        // `localhost`, so it reads it path-style).
        let listed = match options.server.contains("path_style_hosts") {
            true => "",
            false => "path_style_hosts = [\"localhost\"]\n",
        };
        let config = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             tls_cert = {cert:?}\ntls_key = {key:?}\n{listed}{server}\n\
             [upstream]\nendpoint = {endpoint:?}\n{store_line}{upstream}\n\
             [log]\nformat = \"json\"\nlevel = \"debug\"\n[ssec]\n{ssec}\n{tables}\n",
            cert = options
                .tls_files
                .as_ref()
                .map_or(&pki.cert_path, |f| &f.0)
                .display()
                .to_string(),
            key = options
                .tls_files
                .as_ref()
                .map_or(&pki.key_path, |f| &f.1)
                .display()
                .to_string(),
            server = options.server,
            endpoint = options.endpoint,
            upstream = options.upstream,
            ssec = options.ssec,
            tables = options.tables,
        );
        std::fs::write(&config_path, config).unwrap();
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG");
        if let Some(filter) = &options.rust_log {
            command.env("RUST_LOG", filter);
        }
        let mut child = command.spawn().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let logs = Arc::clone(&logs);
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let listening = line.contains("\"listening\"");
                    logs.lock().unwrap().push(line.clone());
                    if listening {
                        let _ = tx.send(line);
                    }
                }
            });
        }
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "proxy did not start; logs:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let s3_addr = value["s3.addr"].as_str().unwrap().parse().unwrap();
        let admin_addr = value["admin.addr"].as_str().and_then(|a| a.parse().ok());
        Self {
            child,
            pki,
            s3_addr,
            admin_addr,
            config_path,
            logs,
        }
    }

    /// `https://localhost:<port>` (the certificate's name).
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.s3_addr.port())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until a log line contains `needle`; lines arrive through a
    /// pipe, a little after the response.
    pub fn wait_log(&self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = self.logs().into_iter().find(|l| l.contains(needle)) {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to the process (`kill -s SIG`).
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `GET` on the admin listener: (status, body).
    pub async fn admin(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(self.admin_addr.expect("admin listener"))
            .await
            .unwrap();
        tcp.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.unwrap();
        let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_owned());
        (status, body)
    }

    /// Rewrites the configuration file (for reload tests).
    pub fn rewrite_config(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config_path).unwrap();
        let tmp = self.config_path.with_extension("tmp");
        std::fs::write(&tmp, edit(text)).unwrap();
        std::fs::rename(&tmp, &self.config_path).unwrap();
    }

    /// Peak resident set size of the process so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmHWM:") * 1024
    }

    /// Current resident set size (VmRSS), in bytes.
    pub fn rss(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmRSS:") * 1024
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A bucket name unique to this run.
pub fn bucket_name(prefix: &str) -> String {
    format!("{prefix}-{}", unique()).to_ascii_lowercase()
}

/// A real store, from the environment written by `dev/stores`.
#[derive(Clone, Debug)]
pub struct Store {
    pub name: &'static str,
    pub http: String,
    /// The store's TLS endpoint; Garage has none and serves plain HTTP only, so for it
    /// this is `http` again.
    pub https: String,
    pub access_key: String,
    pub secret_key: String,
    pub ca: PathBuf,
    /// SeaweedFS data directory (volume files), to check what is stored at rest.
    pub data_dir: Option<PathBuf>,
    /// Ceph configuration, for `rados` checks at rest.
    pub ceph_conf: Option<PathBuf>,
}

impl Store {
    /// The store named `SEAWEEDFS`, `RGW` or `GARAGE`, or `None` when not configured. When
    /// `SSEC_REQUIRE_STORES=1` (CI), a missing store is a test failure, not a skip.
    pub fn from_env(name: &'static str) -> Option<Self> {
        let var = |suffix: &str| std::env::var(format!("SSEC_TEST_{name}_{suffix}")).ok();
        let Some(http) = var("HTTP") else {
            if std::env::var("SSEC_REQUIRE_STORES").as_deref() == Ok("1") {
                panic!(
                    "SSEC_TEST_{name}_HTTP is not set but SSEC_REQUIRE_STORES=1: run through dev/test"
                );
            }
            eprintln!("SKIPPED: store {name} not configured (run through dev/test)");
            return None;
        };
        record_store_test(name);
        Some(Self {
            name,
            https: match var("HTTPS") {
                Some(https) => https,
                None if name == "GARAGE" => http.clone(),
                None => panic!("SSEC_TEST_{name}_HTTPS is not set"),
            },
            access_key: var("ACCESS_KEY").expect("store access key"),
            secret_key: var("SECRET_KEY").expect("store secret key"),
            ca: PathBuf::from(var("CA").expect("store CA")),
            data_dir: var("DATA").map(PathBuf::from),
            ceph_conf: var("CEPH_CONF").map(PathBuf::from),
            http,
        })
    }

    pub fn seaweedfs() -> Option<Self> {
        Self::from_env("SEAWEEDFS")
    }

    pub fn rgw() -> Option<Self> {
        Self::from_env("RGW")
    }

    pub fn garage() -> Option<Self> {
        Self::from_env("GARAGE")
    }
}

/// Appends "<store> <test name>" to `$SSEC_STORE_TESTS_LOG`, so CI can check that
/// every test against a real store really ran against it.
fn record_store_test(store: &str) {
    use std::io::Write as _;
    let Ok(path) = std::env::var("SSEC_STORE_TESTS_LOG") else {
        return;
    };
    let name = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    // One write of the whole line: the file is opened for appending, so lines from
    // test processes running in parallel cannot interleave.
    file.write_all(format!("{store} {name}\n").as_bytes())
        .unwrap();
}

/// How the proxy reaches a real store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Plain HTTP to the store.
    Http,
    /// Plain HTTP with `X-Forwarded-Proto: https` (RGW's trust mode).
    HttpForwardedProto,
    /// The store's own TLS endpoint.
    Https,
}

/// The proxy in front of a real store, with `store` set to its kind and `ssec` as the
/// lines of the `[ssec]` table.
pub fn store_proxy(store: &Store, route: Route, ssec: &str) -> Proxy {
    store_proxy_as(store, route, ssec, &store_kind(store), String::new())
}

/// `upstream.store` naming `store`'s kind.
pub fn store_kind(store: &Store) -> String {
    let kind = match store.name {
        "RGW" => "rgw",
        "GARAGE" => "garage",
        _ => "seaweedfs",
    };
    format!("store = \"{kind}\"")
}

/// The proxy in front of a real store as a new user runs it: no `upstream.store`, so
/// the default (`auto`) applies.
pub fn store_proxy_auto(store: &Store, route: Route, ssec: &str) -> Proxy {
    store_proxy_as(store, route, ssec, "", String::new())
}

/// The proxy in resign mode in front of a real store, with `clients` as for
/// [`resign_tables`]; the returned directory holds the secrets and must outlive it.
pub fn resign_proxy(
    store: &Store,
    route: Route,
    ssec: &str,
    clients: &[(&str, &str, Option<&str>)],
) -> (Proxy, tempfile::TempDir) {
    let (tables, secrets) = resign_tables(store, clients);
    let proxy = store_proxy_as(store, route, ssec, &store_kind(store), tables);
    (proxy, secrets)
}

/// `auth.mode` of a proxy under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Clients sign with the store's credentials.
    Passthrough,
    /// Clients hold only the proxy's credentials; the proxy signs for the store.
    Resign,
}

/// A client of the proxy in resign mode, allowed every bucket.
pub const RESIGN_ACCESS: &str = "SUITECLIENTACCESS001";
/// Its secret key.
pub const RESIGN_SECRET: &str = "suite-client-secret-0123456789abcdef";

/// A proxy in front of a real store in either mode, and the credentials its clients
/// hold: the store's own in passthrough mode, only the proxy's in resign mode.
pub struct ModeProxy {
    pub proxy: Proxy,
    /// The store as a client of the proxy sees it: its credentials are the client's.
    pub client: Store,
    _secrets: Option<tempfile::TempDir>,
}

impl std::ops::Deref for ModeProxy {
    type Target = Proxy;
    fn deref(&self) -> &Proxy {
        &self.proxy
    }
}

/// [`store_proxy`] in `mode`.
pub fn store_proxy_mode(store: &Store, route: Route, ssec: &str, mode: Mode) -> ModeProxy {
    match mode {
        Mode::Passthrough => ModeProxy {
            proxy: store_proxy(store, route, ssec),
            client: store.clone(),
            _secrets: None,
        },
        Mode::Resign => {
            let (proxy, secrets) =
                resign_proxy(store, route, ssec, &[(RESIGN_ACCESS, RESIGN_SECRET, None)]);
            ModeProxy {
                proxy,
                client: resign_client(store),
                _secrets: Some(secrets),
            }
        }
    }
}

/// `store` as a client of a proxy in resign mode sees it: with [`RESIGN_ACCESS`]'s keys.
pub fn resign_client(store: &Store) -> Store {
    Store {
        access_key: RESIGN_ACCESS.to_owned(),
        secret_key: RESIGN_SECRET.to_owned(),
        ..store.clone()
    }
}

/// One `#[tokio::test]` per store and mode for each `async fn(Store, Mode)` named:
/// `seaweedfs::passthrough::<name>`, `seaweedfs::resign::<name>`, and the same for `rgw`
/// and `garage`. `@stores [seaweedfs, rgw]; names...` limits them to the stores named.
#[macro_export]
macro_rules! per_store_and_mode {
    (@stores []; $($name:ident),* $(,)?) => {};
    (@stores [$store:ident $(, $rest:ident)*]; $($name:ident),* $(,)?) => {
        mod $store {
            $crate::per_store_and_mode!(@modes $store; $($name),*);
        }
        $crate::per_store_and_mode!(@stores [$($rest),*]; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::per_store_and_mode!(@stores [seaweedfs, rgw, garage]; $($name),*);
    };
    (@modes $store:ident; $($name:ident),*) => {
        mod passthrough {
            $(#[tokio::test] async fn $name() {
                let store = $crate::require_store!($store);
                super::super::$name(store, $crate::support::Mode::Passthrough).await;
            })*
        }
        mod resign {
            $(#[tokio::test] async fn $name() {
                let store = $crate::require_store!($store);
                super::super::$name(store, $crate::support::Mode::Resign).await;
            })*
        }
    };
}

fn store_proxy_as(
    store: &Store,
    route: Route,
    ssec: &str,
    store_line: &str,
    tables: String,
) -> Proxy {
    let default_store = store_line.is_empty();
    let (endpoint, upstream) = match route {
        Route::Http => (store.http.clone(), store_line.to_owned()),
        Route::HttpForwardedProto => (
            store.http.clone(),
            format!("{store_line}\nforwarded_proto = true"),
        ),
        Route::Https => (
            store.https.clone(),
            format!(
                "{store_line}\nca_file = {:?}",
                store.ca.display().to_string()
            ),
        ),
    };
    Proxy::start(ProxyOptions {
        upstream,
        ssec: ssec.to_owned(),
        default_store,
        tables,
        ..ProxyOptions::endpoint(endpoint)
    })
}

/// An SDK client for the proxy in front of `store`. RGW 16.2 cannot read the
/// aws-chunked bodies with checksum trailers that SDKs send over HTTPS by default
/// (backends.md §3.4); SeaweedFS can, so it gets the SDK's default.
pub fn store_client(proxy: &Proxy, store: &Store) -> aws_sdk_s3::Client {
    s3_client(
        &proxy.url(),
        &proxy.pki.ca_pem,
        &store.access_key,
        &store.secret_key,
        store.name == "RGW",
    )
}

/// Returns from the test (skips) when the store is not configured.
#[macro_export]
macro_rules! require_store {
    ($store:ident) => {
        match $crate::support::Store::$store() {
            Some(store) => store,
            None => return,
        }
    };
}

/// One `#[tokio::test]` per store for each `async fn(Store)` named: `seaweedfs::<name>`,
/// `rgw::<name>` and `garage::<name>`, each through [`require_store!`] (so CI sees it ran
/// against its store). `@stores [seaweedfs, rgw]; names...` limits them to the stores named.
#[macro_export]
macro_rules! per_store {
    (@stores []; $($name:ident),* $(,)?) => {};
    (@stores [$store:ident $(, $rest:ident)*]; $($name:ident),* $(,)?) => {
        mod $store {
            $(#[tokio::test] async fn $name() { let store = $crate::require_store!($store); super::$name(store).await; })*
        }
        $crate::per_store!(@stores [$($rest),*]; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::per_store!(@stores [seaweedfs, rgw, garage]; $($name),*);
    };
}

/// An aws-sdk-s3 client for `endpoint`, trusting `ca_pem`, path style, us-east-1.
/// `when_required` sets checksum calculation as `AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED`.
/// An SDK client for the store itself over its TLS endpoint: what it really holds.
pub fn direct_client(store: &Store) -> aws_sdk_s3::Client {
    let ca = std::fs::read_to_string(&store.ca).expect("the store's CA");
    s3_client(
        &store.https,
        &ca,
        &store.access_key,
        &store.secret_key,
        true,
    )
}

pub fn s3_client(
    endpoint: &str,
    ca_pem: &str,
    access: &str,
    secret: &str,
    when_required: bool,
) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{
        Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    };
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(
                    TrustStore::empty().with_pem_certificate(ca_pem.as_bytes().to_vec()),
                )
                .build()
                .unwrap(),
        )
        .build_https();
    let mut config = aws_sdk_s3::Config::builder()
        .credentials_provider(Credentials::new(access, secret, None, None, "test"))
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(http);
    if when_required {
        config = config
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

/// A raw HTTPS client (HTTP/1.1 or HTTP/2 by ALPN) trusting `ca_pem`, for requests
/// that SDKs would not send.
pub struct RawClient<B = Full<Bytes>> {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, B>,
}

pub struct RawResponse {
    pub status: http::StatusCode,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A rustls client configuration trusting `ca_pem`, with an optional client certificate.
pub fn client_tls(ca_pem: &str, identity: Option<(&Path, &Path)>) -> rustls::ClientConfig {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            builder
                .with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(key).unwrap())
                .unwrap()
        }
    }
}

impl RawClient {
    pub fn new(ca_pem: &str, h2: bool) -> Self {
        Self::with_tls(client_tls(ca_pem, None), h2)
    }
}

impl<B> RawClient<B>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    pub fn with_tls(tls: rustls::ClientConfig, h2: bool) -> Self {
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let connector = if h2 {
            builder.enable_http2().build()
        } else {
            builder.enable_http1().build()
        };
        let mut client = Client::builder(TokioExecutor::new());
        client.http2_only(h2);
        Self {
            client: client.build(connector),
        }
    }

    pub async fn send(&self, req: http::Request<B>) -> RawResponse {
        self.try_send(req).await.expect("response")
    }

    pub async fn try_send(&self, req: http::Request<B>) -> Result<RawResponse, String> {
        let response = tokio::time::timeout(Duration::from_secs(60), self.client.request(req))
            .await
            .map_err(|_| "no response in time".to_owned())?
            .map_err(|e| format!("{e:?}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("body: {e:?}"))?
            .to_bytes();
        Ok(RawResponse {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body,
        })
    }
}

/// Runs a Python script from `tests/clients/` with the venv's interpreter.
pub fn python(script: &str, env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".dev/venv/bin/python3");
    let interpreter = if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    };
    let mut command = Command::new(interpreter);
    command
        .arg(root.join("tests/clients").join(script))
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// A request signed with SigV4 (header auth, `UNSIGNED-PAYLOAD`) for `store`'s
/// credentials, for requests the SDK has no raw form of.
pub fn signed(
    store: &Store,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> http::Request<Full<Bytes>> {
    signed_for("s3", store, method, url, headers, body, "UNSIGNED-PAYLOAD")
}

/// Like [`signed`], signed for the API `service` (`s3`; `s3tables` for the S3 Tables API
/// some stores serve on their S3 port), with `payload` as the signed
/// `x-amz-content-sha256` (`STREAMING-UNSIGNED-PAYLOAD-TRAILER` for a hand-made
/// aws-chunked body).
pub fn signed_for(
    service: &str,
    store: &Store,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    payload: &str,
) -> http::Request<Full<Bytes>> {
    let now = std::time::SystemTime::now();
    signed_at(service, store, method, url, headers, body, payload, now)
}

/// A PUT of `data` as `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: chunks of `chunk` bytes,
/// each signed in the chain the request's signature starts (`aws_sigv4::sign_chunk`),
/// for `store`'s credentials, with `headers` signed too.
pub fn signed_chunks(
    store: &Store,
    url: &str,
    headers: &[(&str, &str)],
    data: &[u8],
    chunk: usize,
) -> http::Request<Full<Bytes>> {
    const SIGNATURE: usize = ";chunk-signature=".len() + 64;
    let time = std::time::SystemTime::now();
    let chunks: Vec<&[u8]> = data.chunks(chunk).chain([&[][..]]).collect();
    let encoded: usize = chunks
        .iter()
        .map(|c| format!("{:x}", c.len()).len() + SIGNATURE + 2 + c.len() + 2)
        .sum();
    let (encoded, decoded) = (encoded.to_string(), data.len().to_string());
    let mut all = vec![
        ("content-encoding", "aws-chunked"),
        ("content-length", encoded.as_str()),
        ("x-amz-decoded-content-length", decoded.as_str()),
    ];
    all.extend_from_slice(headers);
    let head = signed_at(
        "s3",
        store,
        "PUT",
        url,
        &all,
        Bytes::new(),
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        time,
    );
    let authorization = head.headers()["authorization"].to_str().unwrap();
    let mut previous = authorization
        .rsplit("Signature=")
        .next()
        .unwrap()
        .to_owned();
    let identity = identity(store);
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(time)
        .settings(())
        .build()
        .unwrap();
    let mut body = Vec::with_capacity(encoded.parse().unwrap());
    for c in chunks {
        let signature =
            aws_sigv4::sign::v4::sign_chunk(&Bytes::copy_from_slice(c), &previous, &params)
                .unwrap()
                .signature()
                .to_owned();
        body.extend_from_slice(format!("{:x};chunk-signature={signature}\r\n", c.len()).as_bytes());
        body.extend_from_slice(c);
        body.extend_from_slice(b"\r\n");
        previous = signature;
    }
    head.map(|_| Full::new(Bytes::from(body)))
}

/// `store`'s credentials as the signer takes them.
fn identity(store: &Store) -> aws_smithy_runtime_api::client::identity::Identity {
    aws_credential_types::Credentials::new(&store.access_key, &store.secret_key, None, None, "test")
        .into()
}

/// [`signed_for`] at `time`.
#[allow(clippy::too_many_arguments)]
pub fn signed_at(
    service: &str,
    store: &Store,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    payload: &str,
    time: std::time::SystemTime,
) -> http::Request<Full<Bytes>> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    let mut builder = http::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    let mut req = builder.body(Full::new(body)).unwrap();
    let host = req.uri().authority().unwrap().to_string();
    req.headers_mut().insert("host", host.parse().unwrap());
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let identity = identity(store);
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let pairs: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let signable = SignableRequest::new(
        method,
        url,
        pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        match payload {
            "UNSIGNED-PAYLOAD" => SignableBody::UnsignedPayload,
            other => SignableBody::Precomputed(other.to_owned()),
        },
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut req);
    req
}

/// Pulls the S3 error code out of an XML error body.
pub fn xml_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + 6;
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_owned())
}

/// The store's upload ID inside `id`, an upload ID a client got from the proxy: in
/// resign mode with a binding key the store's ID, a `.` and a tag of 23 or 44 base64url
/// characters; otherwise `id` itself.
pub fn store_upload_id(id: &str) -> &str {
    match id.rsplit_once('.') {
        Some((store, tag))
            if matches!(tag.len(), 23 | 44)
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            store
        }
        _ => id,
    }
}

/// The binding key of the suites' resign-mode proxies.
pub const BINDING_KEY: [u8; 32] = *b"suite-binding-key-0123456789abcd";

/// The `[auth]`, `[[auth.clients]]` and `[upstream.credentials]` tables of resign mode
/// in front of `store`: each client `(access key, secret, buckets)` and the store's own
/// credentials, every secret in a file (as Kubernetes mounts Secrets) in the returned
/// directory, which must outlive the proxy.
pub fn resign_tables(
    store: &Store,
    clients: &[(&str, &str, Option<&str>)],
) -> (String, tempfile::TempDir) {
    resign_tables_with(store, clients, &[])
}

/// [`resign_tables`], the clients named in `managers` with `manage_access = true`.
pub fn resign_tables_with(
    store: &Store,
    clients: &[(&str, &str, Option<&str>)],
    managers: &[&str],
) -> (String, tempfile::TempDir) {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{content}\n")).unwrap();
        path.display().to_string()
    };
    // Every replica of a deployment holds the same binding key; the suites' is fixed so
    // that two proxies started from these tables bind uploads alike.
    let binding = dir.path().join("binding.key");
    std::fs::write(&binding, BINDING_KEY).unwrap();
    let mut tables = format!(
        "[auth]\nmode = \"resign\"\nbinding_key_file = {:?}\n",
        binding.display().to_string()
    );
    for (i, (access, secret, buckets)) in clients.iter().enumerate() {
        let path = file(&format!("client-{i}.secret"), secret);
        write!(
            tables,
            "[[auth.clients]]\naccess_key = {access:?}\nsecret_key_file = {path:?}\n"
        )
        .unwrap();
        if let Some(b) = buckets {
            writeln!(tables, "buckets = [{b:?}]").unwrap();
        }
        if managers.contains(access) {
            tables.push_str("manage_access = true\n");
        }
    }
    let path = file("store.secret", &store.secret_key);
    write!(
        tables,
        "[upstream.credentials]\naccess_key = {:?}\nsecret_key_file = {path:?}\n",
        store.access_key
    )
    .unwrap();
    (tables, dir)
}
