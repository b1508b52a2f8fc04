//! Configuration: `proxy.toml` parsed into typed values.
//!
//! Raw serde structs (every table rejects unknown keys) become a typed [`Config`];
//! every error names the key path (`server.listen`). Relative file paths are resolved
//! against the directory of the configuration file. Defaults fail closed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use serde::Deserialize;

use crate::s3::policy::{BucketPolicies, Policy, Rule};
use crate::s3::ssec::KeyDigest;
pub use crate::s3::store::{Store, UnknownUploads};

/// A configuration problem, naming the file and the key path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The configuration file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key is missing, unknown, or has a bad value.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// The configuration file.
        file: String,
        /// Dotted key path (`server.listen`), or `(root)`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// The dotted key path the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Read { .. } => None,
            Self::Invalid { key, .. } => Some(key),
        }
    }
}

/// The whole, typed configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// `[server]`: the client-facing side.
    pub server: ServerConfig,
    /// `[upstream]`: the store.
    pub upstream: UpstreamConfig,
    /// `[auth] mode`.
    pub auth: AuthMode,
    /// `[etag] mode`.
    pub etag: EtagMode,
    /// `[log]`.
    pub log: LogConfig,
    /// `[ssec]`.
    pub ssec: SsecConfig,
}

/// `[ssec]`: what SSE-C the proxy demands and how it tracks multipart uploads.
#[derive(Clone, Debug, PartialEq)]
pub struct SsecConfig {
    /// `default` and `[[ssec.buckets]]`.
    pub policies: BucketPolicies,
    /// What to do with parts of uploads this replica has no record of.
    pub unknown_uploads: UnknownUploads,
    /// Most multipart uploads remembered per replica.
    pub max_tracked_uploads: usize,
    /// How long an upload is remembered.
    pub upload_record_ttl: Duration,
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// TLS listener for S3 traffic.
    pub listen: SocketAddr,
    /// PEM certificate chain.
    pub tls_cert: PathBuf,
    /// PEM private key.
    pub tls_key: PathBuf,
    /// Plain-HTTP admin listener (`/livez`, `/readyz`); `None` when set to `""`.
    pub admin_listen: Option<SocketAddr>,
    /// Host suffixes for virtual-hosted-style addressing (`bucket.<suffix>`).
    pub virtual_host_suffixes: Vec<String>,
    /// Host names with dots that the store reads path-style.
    pub path_style_hosts: Vec<String>,
    /// Largest accepted request header section, in bytes.
    pub max_header_bytes: usize,
    /// Time a client has to send a complete request header section.
    pub header_read_timeout: Duration,
    /// Time a client has to complete the TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Runtime worker threads; `None` = one per CPU.
    pub worker_threads: Option<usize>,
    /// Optional plain-HTTP S3 listener (same pod); SSE-C is refused there.
    pub plain_listen: Option<SocketAddr>,
    /// PEM CA bundle: when set, clients must present a certificate it issued.
    pub tls_client_ca: Option<PathBuf>,
    /// After SIGTERM, how long new requests are still served while load balancers
    /// notice `/readyz` failing.
    pub shutdown_delay: Duration,
    /// Then, how long in-flight requests may take to finish.
    pub shutdown_grace: Duration,
    /// How often certificate, key and configuration files are checked for changes
    /// (besides file-change notifications and SIGHUP).
    pub reload_interval: Duration,
    /// Most client connections open at once (all listeners); more are closed at once.
    pub max_connections: usize,
}

/// `[upstream]`.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamConfig {
    /// `http` or `https`: decides TLS to the store.
    pub scheme: Scheme,
    /// Host and port of the store.
    pub authority: Authority,
    /// Extra PEM trust roots for an https store.
    pub ca_file: Option<PathBuf>,
    /// Add `X-Forwarded-Proto: https` (RGW `rgw_trust_forwarded_https`).
    pub forwarded_proto: bool,
    /// Which store is behind the proxy, for its known behaviours.
    pub store: Store,
    /// Limit on establishing a connection (TCP and TLS) to the store.
    pub connect_timeout: Duration,
    /// Limit on a request making no progress in either direction.
    pub idle_timeout: Duration,
    /// How long an unused pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Most idle pooled connections kept to the store.
    pub pool_max_idle: usize,
    /// How often `/readyz` checks that the store accepts connections.
    pub probe_interval: Duration,
}

/// `[auth] mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Clients sign for the store; the proxy changes nothing the signature covers.
    Passthrough,
}

/// `[etag] mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EtagMode {
    /// Every ETag the client sees is a well-formed entity tag; values are kept.
    Canonical,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// Filter directive (`info`, `ssec_proxy=debug`); `RUST_LOG` overrides it.
    pub level: String,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: RawServer,
    upstream: RawUpstream,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    etag: RawEtag,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    ssec: RawSsec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSsec {
    #[serde(default = "default_policy")]
    default: Policy,
    #[serde(default)]
    buckets: Vec<RawBucketRule>,
    unknown_uploads: Option<UnknownUploads>,
    #[serde(default = "default_max_tracked_uploads")]
    max_tracked_uploads: usize,
    #[serde(default = "default_upload_record_ttl")]
    upload_record_ttl: String,
}

impl Default for RawSsec {
    fn default() -> Self {
        Self {
            default: default_policy(),
            buckets: Vec::new(),
            unknown_uploads: None,
            max_tracked_uploads: default_max_tracked_uploads(),
            upload_record_ttl: default_upload_record_ttl(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBucketRule {
    bucket: String,
    policy: Policy,
    key_md5_allowlist: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: String,
    tls_cert: PathBuf,
    tls_key: PathBuf,
    #[serde(default = "default_admin_listen")]
    admin_listen: String,
    #[serde(default)]
    virtual_host_suffixes: Vec<String>,
    #[serde(default)]
    path_style_hosts: Vec<String>,
    #[serde(default = "default_max_header_bytes")]
    max_header_bytes: usize,
    #[serde(default = "default_header_read_timeout")]
    header_read_timeout: String,
    #[serde(default = "default_tls_handshake_timeout")]
    tls_handshake_timeout: String,
    worker_threads: Option<usize>,
    plain_listen: Option<String>,
    tls_client_ca: Option<PathBuf>,
    #[serde(default = "default_shutdown_delay")]
    shutdown_delay: String,
    #[serde(default = "default_shutdown_grace")]
    shutdown_grace: String,
    #[serde(default = "default_reload_interval")]
    reload_interval: String,
    #[serde(default = "default_max_connections")]
    max_connections: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    endpoint: String,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    forwarded_proto: bool,
    #[serde(default = "default_store")]
    store: Store,
    #[serde(default = "default_connect_timeout")]
    connect_timeout: String,
    #[serde(default = "default_idle_timeout")]
    idle_timeout: String,
    #[serde(default = "default_pool_idle_timeout")]
    pool_idle_timeout: String,
    #[serde(default = "default_pool_max_idle")]
    pool_max_idle: usize,
    #[serde(default = "default_probe_interval")]
    probe_interval: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    mode: AuthMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEtag {
    mode: EtagMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    #[serde(default = "default_log_format")]
    format: LogFormat,
    #[serde(default = "default_log_level")]
    level: String,
}

impl Default for RawAuth {
    fn default() -> Self {
        Self {
            mode: AuthMode::Passthrough,
        }
    }
}

impl Default for RawEtag {
    fn default() -> Self {
        Self {
            mode: EtagMode::Canonical,
        }
    }
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: default_log_format(),
            level: default_log_level(),
        }
    }
}

fn default_admin_listen() -> String {
    "127.0.0.1:9901".to_owned()
}
fn default_max_header_bytes() -> usize {
    64 * 1024
}
fn default_header_read_timeout() -> String {
    "10s".to_owned()
}
fn default_tls_handshake_timeout() -> String {
    "10s".to_owned()
}
fn default_store() -> Store {
    Store::Generic
}
fn default_connect_timeout() -> String {
    "5s".to_owned()
}
fn default_idle_timeout() -> String {
    "60s".to_owned()
}
fn default_pool_idle_timeout() -> String {
    "90s".to_owned()
}
fn default_pool_max_idle() -> usize {
    256
}
fn default_shutdown_delay() -> String {
    "5s".to_owned()
}
fn default_shutdown_grace() -> String {
    "30s".to_owned()
}
fn default_reload_interval() -> String {
    "60s".to_owned()
}
fn default_max_connections() -> usize {
    4096
}
fn default_probe_interval() -> String {
    "5s".to_owned()
}
fn default_policy() -> Policy {
    Policy::Require
}
fn default_max_tracked_uploads() -> usize {
    100_000
}
fn default_upload_record_ttl() -> String {
    "7d".to_owned()
}
fn default_log_format() -> LogFormat {
    LogFormat::Json
}
fn default_log_level() -> String {
    "info".to_owned()
}

/// Smallest header limit accepted: hyper's HTTP/1 read buffer cannot be smaller.
const MIN_HEADER_BYTES: usize = 8 * 1024;

/// The part of `[ssec]` that reloads without a restart.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSsec {
    /// `ssec.default` and `ssec.buckets`.
    pub policies: BucketPolicies,
    /// `ssec.unknown_uploads`.
    pub unknown_uploads: UnknownUploads,
}

impl Config {
    /// Reads and parses a configuration file.
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.display().to_string(),
            source,
        })?;
        Self::parse(&text, file)
    }

    /// The part of `[ssec]` that reloads without a restart.
    pub fn live_ssec(&self) -> LiveSsec {
        LiveSsec {
            policies: self.ssec.policies.clone(),
            unknown_uploads: self.ssec.unknown_uploads,
        }
    }

    /// How Hosts are read, and what the store must agree with (printed by `validate`).
    pub fn addressing_note(&self) -> String {
        let s = &self.server;
        let list = |names: &[String]| match names {
            [] => "none".to_owned(),
            names => names.join(", "),
        };
        format!(
            "addressing: path-style for IP addresses, single-label hosts (localhost) and server.path_style_hosts ({}); virtual-hosted for <bucket>.<suffix> with server.virtual_host_suffixes ({}); any other Host is refused. The store's own DNS names (RGW rgw_dns_name, SeaweedFS -domainName, MinIO MINIO_DOMAIN, Garage root_domain) must be exactly server.virtual_host_suffixes, and no path_style_hosts entry may end with one of them",
            list(&s.path_style_hosts),
            list(&s.virtual_host_suffixes),
        )
    }

    /// Things that are allowed but deserve the operator's attention.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let sse_c_possible = self.ssec.policies.default != Policy::Forbid
            || self
                .ssec
                .policies
                .rules
                .iter()
                .any(|r| r.policy != Policy::Forbid);
        if self.upstream.scheme == Scheme::HTTP && sse_c_possible {
            out.push(
                "upstream.endpoint: http: customer keys travel to the store unencrypted; use https unless the store is on the same host or pod network you trust".to_owned(),
            );
            if self.upstream.store == Store::Minio {
                out.push(
                    "upstream.endpoint: MinIO refuses SSE-C unless it serves TLS itself; use https"
                        .to_owned(),
                );
            }
        }
        if self.server.plain_listen.is_some() {
            out.push("server.plain_listen: plain-HTTP S3 listener enabled; requests carrying SSE-C headers are refused there".to_owned());
        }
        out
    }

    /// Parses configuration text; `file` names it in errors and anchors relative paths.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let cx = Cx { file };
        let de = toml::de::Deserializer::parse(text).map_err(|e| cx.toml_error("(root)", &e))?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            cx.toml_error(&key, e.inner())
        })?;
        cx.build(raw)
    }
}

struct Cx<'a> {
    file: &'a Path,
}

impl Cx<'_> {
    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.display().to_string(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// Turns a toml/serde error into one line: the key path, the message, the position.
    fn toml_error(&self, key: &str, e: &toml::de::Error) -> ConfigError {
        let mut message = e.message().trim().to_owned();
        let mut key = if key.is_empty() || key == "." {
            "(root)".to_owned()
        } else {
            key.to_owned()
        };
        if let Some(name) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            // serde_path_to_error already ends the path with the key; older paths stop
            // at the table.
            let named = key == name || key.ends_with(&format!(".{name}"));
            key = match key.as_str() {
                _ if named => key,
                "(root)" => name.to_owned(),
                table => format!("{table}.{name}"),
            };
            message = format!("unknown key ({message})");
        }
        if let Some(span) = e.span() {
            message = format!("{message} (at byte {})", span.start);
        }
        self.invalid(&key, message)
    }

    fn path(&self, value: PathBuf) -> PathBuf {
        match self.file.parent() {
            Some(dir) if value.is_relative() => dir.join(value),
            _ => value,
        }
    }

    /// Host names (no port), lower-case, without a leading dot.
    fn host_names(&self, key: &str, names: Vec<String>) -> Result<Vec<String>, ConfigError> {
        let mut out = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            let name = name.trim_start_matches('.').to_ascii_lowercase();
            if name.is_empty() || name.contains(['/', ':', ' ']) {
                return Err(self.invalid(
                    &format!("{key}[{i}]"),
                    "must be a host name like s3.example.com",
                ));
            }
            out.push(name);
        }
        Ok(out)
    }

    fn addr(&self, key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
        value.parse().map_err(|_| {
            self.invalid(
                key,
                format!("`{value}` is not an address like 127.0.0.1:8443"),
            )
        })
    }

    fn duration(&self, key: &str, value: &str) -> Result<Duration, ConfigError> {
        match humantime::parse_duration(value) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(self.invalid(key, "must be greater than zero")),
            Err(e) => Err(self.invalid(
                key,
                format!("`{value}` is not a duration like \"10s\": {e}"),
            )),
        }
    }

    /// A duration that may be zero (`"0s"` turns the delay off).
    fn duration_or_zero(&self, key: &str, value: &str) -> Result<Duration, ConfigError> {
        humantime::parse_duration(value).map_err(|e| {
            self.invalid(
                key,
                format!("`{value}` is not a duration like \"10s\": {e}"),
            )
        })
    }

    fn build(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let upstream = self.upstream(raw.upstream)?;
        Ok(Config {
            file: self.file.to_path_buf(),
            server: self.server(raw.server)?,
            ssec: self.ssec(raw.ssec, upstream.store)?,
            upstream,
            auth: raw.auth.mode,
            etag: raw.etag.mode,
            log: LogConfig {
                format: raw.log.format,
                level: raw.log.level,
            },
        })
    }

    fn server(&self, raw: RawServer) -> Result<ServerConfig, ConfigError> {
        if raw.max_header_bytes < MIN_HEADER_BYTES {
            return Err(self.invalid(
                "server.max_header_bytes",
                format!("must be at least {MIN_HEADER_BYTES}"),
            ));
        }
        if raw.worker_threads == Some(0) {
            return Err(self.invalid("server.worker_threads", "must be at least 1"));
        }
        let suffixes =
            self.host_names("server.virtual_host_suffixes", raw.virtual_host_suffixes)?;
        let path_style_hosts = self.host_names("server.path_style_hosts", raw.path_style_hosts)?;
        for (i, host) in path_style_hosts.iter().enumerate() {
            if let Some(suffix) = suffixes.iter().find(|s| host.ends_with(&format!(".{s}"))) {
                return Err(self.invalid(
                    &format!("server.path_style_hosts[{i}]"),
                    format!("is under server.virtual_host_suffixes entry {suffix}, which reads it as a bucket"),
                ));
            }
        }
        Ok(ServerConfig {
            listen: self.addr("server.listen", &raw.listen)?,
            tls_cert: self.path(raw.tls_cert),
            tls_key: self.path(raw.tls_key),
            admin_listen: match raw.admin_listen.as_str() {
                "" => None,
                value => Some(self.addr("server.admin_listen", value)?),
            },
            virtual_host_suffixes: suffixes,
            path_style_hosts,
            max_header_bytes: raw.max_header_bytes,
            header_read_timeout: self
                .duration("server.header_read_timeout", &raw.header_read_timeout)?,
            tls_handshake_timeout: self
                .duration("server.tls_handshake_timeout", &raw.tls_handshake_timeout)?,
            worker_threads: raw.worker_threads,
            plain_listen: match raw.plain_listen.as_deref() {
                None | Some("") => None,
                Some(value) => Some(self.addr("server.plain_listen", value)?),
            },
            tls_client_ca: raw.tls_client_ca.map(|p| self.path(p)),
            shutdown_delay: self.duration_or_zero("server.shutdown_delay", &raw.shutdown_delay)?,
            shutdown_grace: self.duration("server.shutdown_grace", &raw.shutdown_grace)?,
            reload_interval: self.duration("server.reload_interval", &raw.reload_interval)?,
            max_connections: match raw.max_connections {
                0 => return Err(self.invalid("server.max_connections", "must be at least 1")),
                n => n,
            },
        })
    }

    fn ssec(&self, raw: RawSsec, store: Store) -> Result<SsecConfig, ConfigError> {
        let mut rules = Vec::with_capacity(raw.buckets.len());
        for (i, rule) in raw.buckets.into_iter().enumerate() {
            let pattern = glob::Pattern::new(&rule.bucket).map_err(|e| {
                self.invalid(
                    &format!("ssec.buckets[{i}].bucket"),
                    format!("not a glob: {e}"),
                )
            })?;
            let allowlist = match rule.key_md5_allowlist {
                None => None,
                Some(list) => {
                    let mut digests = Vec::with_capacity(list.len());
                    for (j, text) in list.iter().enumerate() {
                        let digest = KeyDigest::from_base64(text).ok_or_else(|| {
                            self.invalid(
                                &format!("ssec.buckets[{i}].key_md5_allowlist[{j}]"),
                                "must be the base64 MD5 of a key, as in x-amz-server-side-encryption-customer-key-MD5",
                            )
                        })?;
                        digests.push(digest);
                    }
                    Some(digests)
                }
            };
            rules.push(Rule {
                pattern,
                policy: rule.policy,
                allowlist,
            });
        }
        if raw.max_tracked_uploads == 0 {
            return Err(self.invalid("ssec.max_tracked_uploads", "must be at least 1"));
        }
        Ok(SsecConfig {
            policies: BucketPolicies {
                default: raw.default,
                rules,
            },
            unknown_uploads: raw
                .unknown_uploads
                .unwrap_or(store.default_unknown_uploads()),
            max_tracked_uploads: raw.max_tracked_uploads,
            upload_record_ttl: self.duration("ssec.upload_record_ttl", &raw.upload_record_ttl)?,
        })
    }

    fn upstream(&self, raw: RawUpstream) -> Result<UpstreamConfig, ConfigError> {
        const KEY: &str = "upstream.endpoint";
        let uri: http::Uri = raw
            .endpoint
            .parse()
            .map_err(|_| self.invalid(KEY, format!("`{}` is not a URL", raw.endpoint)))?;
        let scheme = match uri.scheme() {
            Some(s) if *s == Scheme::HTTP || *s == Scheme::HTTPS => s.clone(),
            _ => return Err(self.invalid(KEY, "must start with http:// or https://")),
        };
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| self.invalid(KEY, "must name a host"))?;
        if authority.as_str().contains('@') {
            return Err(self.invalid(KEY, "must not carry credentials"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(self.invalid(KEY, "must not have a path or query"));
        }
        if raw.ca_file.is_some() && scheme == Scheme::HTTP {
            return Err(self.invalid("upstream.ca_file", "only applies to an https endpoint"));
        }
        Ok(UpstreamConfig {
            scheme,
            authority,
            ca_file: raw.ca_file.map(|p| self.path(p)),
            forwarded_proto: raw.forwarded_proto,
            store: raw.store,
            connect_timeout: self.duration("upstream.connect_timeout", &raw.connect_timeout)?,
            idle_timeout: self.duration("upstream.idle_timeout", &raw.idle_timeout)?,
            pool_idle_timeout: self
                .duration("upstream.pool_idle_timeout", &raw.pool_idle_timeout)?,
            pool_max_idle: raw.pool_max_idle,
            probe_interval: self.duration("upstream.probe_interval", &raw.probe_interval)?,
        })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
