//! Configuration: `proxy.toml` parsed into typed values.
//!
//! serde reads each key straight into a typed value (`file`, `values`; every table
//! rejects unknown keys); every error names the file and the key path (`server.listen`).
//! Relative file paths are resolved against the directory of the configuration file.
//! Defaults fail closed.

mod file;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use serde::Deserialize;

use crate::s3::policy::{BucketPolicies, Policy};
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
        let de = toml::de::Deserializer::parse(text).map_err(|e| toml_error(file, "", &e))?;
        let raw: file::File = serde_path_to_error::deserialize(de)
            .map_err(|e| toml_error(file, &e.path().to_string(), e.inner()))?;
        raw.build(file)
    }
}

/// Turns a toml/serde error into one line: the key path, the message, the position.
fn toml_error(file: &Path, key: &str, e: &toml::de::Error) -> ConfigError {
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
    ConfigError::Invalid {
        file: file.display().to_string(),
        key,
        message,
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
