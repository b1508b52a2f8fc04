//! Configuration: `proxy.toml` parsed into typed values, split by type into what
//! applies only after a restart ([`RestartOnly`]) and what a reload applies
//! ([`Reloadable`]).
//!
//! serde reads each key straight into a typed value (`file`, `values`; every table
//! rejects unknown keys); every error names the file and the key path (`server.listen`).
//! Relative file paths are resolved against the directory of the configuration file.
//! Defaults fail closed.

mod auth;
mod file;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use serde::Deserialize;

pub use self::auth::{
    BucketKeyFiles, BucketScope, ClientSettings, DEFAULT_REGION, InjectDerive, InjectFiles,
    MIN_CLIENT_SECRET, ResignSettings, SecretSource, StoreCredentialSettings,
};
use crate::s3::policy::{BucketPolicies, Policy};
pub use crate::s3::store::{Store, StoreSetting, UnknownUploads};

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
    /// What is read once at start: a change in the file applies after a restart.
    pub restart: RestartOnly,
    /// What a reload applies to the running process.
    pub live: Reloadable,
}

/// Every setting that is read once at start, by table. A change to one of them in the
/// file is reported by a reload ([`RestartOnly::changed_keys`]) and applies after a
/// restart.
#[derive(Clone, Debug, PartialEq)]
pub struct RestartOnly {
    /// `[server]`, but for the TLS files.
    pub server: ServerConfig,
    /// `[upstream]`.
    pub upstream: UpstreamConfig,
    /// `[ssec]`'s multipart upload tracking.
    pub ssec: UploadTracking,
    /// `log.format`.
    pub log: LogOutput,
    /// `[auth]`.
    pub auth: AuthConfig,
    /// `[etag]`.
    pub etag: EtagConfig,
}

impl RestartOnly {
    /// The keys (`server.listen`) whose values differ in `new`, in the order of the
    /// tables and their fields, each once.
    pub fn changed_keys(&self, new: &Self) -> Vec<&'static str> {
        // Every table named, no `..`: a table added to `RestartOnly` does not compile
        // until it is compared here.
        let Self {
            server,
            upstream,
            ssec,
            log,
            auth,
            etag,
        } = self;
        let mut keys = Vec::new();
        server.changed_keys(&new.server, &mut keys);
        upstream.changed_keys(&new.upstream, &mut keys);
        ssec.changed_keys(&new.ssec, &mut keys);
        log.changed_keys(&new.log, &mut keys);
        auth.changed_keys(&new.auth, &mut keys);
        etag.changed_keys(&new.etag, &mut keys);
        keys
    }
}

/// Declares a table of restart-only settings, each field named as its key in the
/// file, and its `changed_keys`, which names the keys (`table.field`) whose values
/// differ. A field read from a key of another name says so with `=> key` (the store's
/// `scheme` and `authority` both come from `endpoint`). Adding a field is all it takes
/// for a reload to report a change to it.
macro_rules! restart_only_table {
    (
        $(#[$attr:meta])*
        pub struct $name:ident in $table:ident {
            $(
                $(#[$field_attr:meta])*
                pub $field:ident: $ty:ty $(=> $key:ident)?,
            )+
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $(
                $(#[$field_attr])*
                pub $field: $ty,
            )+
        }

        impl $name {
            /// Appends the keys whose values differ in `new`, skipping those already
            /// there.
            fn changed_keys(&self, new: &Self, keys: &mut Vec<&'static str>) {
                $(
                    let key = restart_only_table!(@key $table $field $($key)?);
                    if self.$field != new.$field && !keys.contains(&key) {
                        keys.push(key);
                    }
                )+
            }
        }
    };
    (@key $table:ident $field:ident) => {
        concat!(stringify!($table), ".", stringify!($field))
    };
    (@key $table:ident $field:ident $key:ident) => {
        concat!(stringify!($table), ".", stringify!($key))
    };
}

restart_only_table! {
    /// `[server]`, but for the TLS files (see [`TlsFiles`]).
    pub struct ServerConfig in server {
        /// TLS listener for S3 traffic.
        pub listen: SocketAddr,
        /// Plain-HTTP admin listener (`/livez`, `/readyz`); `None` when set to `""`.
        pub admin_listen: Option<SocketAddr>,
        /// Optional plain-HTTP S3 listener (same pod); SSE-C is refused there.
        pub plain_listen: Option<SocketAddr>,
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
        /// Most client connections open at once (all listeners); more are closed at once.
        pub max_connections: usize,
        /// After SIGTERM, how long new requests are still served while load balancers
        /// notice `/readyz` failing.
        pub shutdown_delay: Duration,
        /// Then, how long in-flight requests may take to finish.
        pub shutdown_grace: Duration,
        /// How often certificate, key and configuration files are checked for changes
        /// (besides file-change notifications and SIGHUP).
        pub reload_interval: Duration,
    }
}

restart_only_table! {
    /// `[upstream]`.
    pub struct UpstreamConfig in upstream {
        /// `http` or `https`: decides TLS to the store.
        pub scheme: Scheme => endpoint,
        /// Host and port of the store.
        pub authority: Authority => endpoint,
        /// Extra PEM trust roots for an https store.
        pub ca_file: Option<PathBuf>,
        /// Add `X-Forwarded-Proto: https` (RGW `rgw_trust_forwarded_https`).
        pub forwarded_proto: bool,
        /// Which store is behind the proxy, for its known behaviours (`auto`:
        /// recognised from its answers).
        pub store: StoreSetting,
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
}

restart_only_table! {
    /// `[ssec]`'s multipart upload tracking (the policies reload: see [`LiveSsec`]).
    pub struct UploadTracking in ssec {
        /// Most multipart uploads remembered per replica.
        pub max_tracked_uploads: usize,
        /// How long an upload is remembered.
        pub upload_record_ttl: Duration,
    }
}

restart_only_table! {
    /// `log.format` and `log.file` (`log.level` reloads: see [`Reloadable`]).
    pub struct LogOutput in log {
        /// Output format.
        pub format: LogFormat,
        /// Where every line goes, appended; stdout when unset.
        pub file: Option<PathBuf>,
    }
}

restart_only_table! {
    /// `auth.mode` (the resign settings reload: see [`ResignSettings`]).
    pub struct AuthConfig in auth {
        /// How requests are authenticated.
        pub mode: AuthMode,
    }
}

restart_only_table! {
    /// `[etag]`; the file reads it as written.
    #[derive(Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct EtagConfig in etag {
        /// What ETags clients see.
        pub mode: EtagMode,
    }
}

/// `[auth] mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Clients sign for the store; the proxy changes nothing the signature covers.
    #[default]
    Passthrough,
    /// The proxy verifies clients' signatures against its own credential table
    /// (`[[auth.clients]]`) and signs for the store with `[upstream.credentials]`.
    Resign,
}

/// `[etag] mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EtagMode {
    /// Every ETag the client sees is a well-formed entity tag; values are kept.
    #[default]
    Canonical,
    /// Resign mode only: canonical, and the 128 bits of every S3 ETag are a keyed
    /// permutation of the store's (`auth.binding_key_file`), mapped back on input.
    Opaque,
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

/// Every setting a reload applies to the running process.
#[derive(Clone, Debug, PartialEq)]
pub struct Reloadable {
    /// `server.tls_cert`, `server.tls_key`, `server.tls_client_ca`: read again, and
    /// applied to new connections.
    pub tls: TlsFiles,
    /// `[ssec]` policies: applied to the next request.
    pub ssec: LiveSsec,
    /// `log.level`: filter directive (`info`, `ssec_proxy=debug`); `RUST_LOG`
    /// overrides it.
    pub log_level: String,
    /// `auth.region`, `auth.binding_key_file`, `[[auth.clients]]` and
    /// `[upstream.credentials]`, with the secret files read again: `None` in passthrough
    /// mode.
    pub auth: Option<ResignSettings>,
}

/// The listener's certificate, key and client CA files.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsFiles {
    /// `server.tls_cert`: PEM certificate chain.
    pub cert: PathBuf,
    /// `server.tls_key`: PEM private key.
    pub key: PathBuf,
    /// `server.tls_client_ca`: PEM CA bundle; when set, clients must present a
    /// certificate it issued.
    pub client_ca: Option<PathBuf>,
}

/// The part of `[ssec]` that reloads without a restart: what the SSE-C layer reads on
/// every request.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSsec {
    /// `ssec.default` and `ssec.buckets`.
    pub policies: BucketPolicies,
    /// `ssec.unknown_uploads`: what to do with parts of uploads this replica has no
    /// record of; unset, the store's default ([`Store::default_unknown_uploads`]).
    pub unknown_uploads: Option<UnknownUploads>,
}

impl Config {
    /// Reads and parses a configuration file.
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        // Wiped after parsing: it may hold an inline secret_key.
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.display().to_string(),
            source,
        })?;
        Self::parse(&zeroize::Zeroizing::new(text), file)
    }

    /// Parses configuration text; `file` names it in errors and anchors relative paths.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let de = toml::de::Deserializer::parse(text).map_err(|e| toml_error(file, "", &e))?;
        let raw: file::File = serde_path_to_error::deserialize(de)
            .map_err(|e| toml_error(file, &e.path().to_string(), e.inner()))?;
        raw.build(file)
    }

    /// The files a reload reads again: this file, the listener's TLS files and the
    /// secret files.
    pub fn watched_files(&self) -> Vec<&Path> {
        let t = &self.live.tls;
        let mut files = vec![self.file.as_path(), t.cert.as_path(), t.key.as_path()];
        files.extend(t.client_ca.as_deref());
        if let Some(auth) = &self.live.auth {
            files.extend(auth.files().into_iter().map(|(_, file)| file));
        }
        files
    }

    /// The authentication mode and its clients, for `validate` (no secret, no file
    /// content): `auth.mode: resign (2 clients; region us-east-1)`.
    pub fn auth_summary(&self) -> String {
        self.live.auth.as_ref().map_or_else(
            || "auth.mode: passthrough".to_owned(),
            ResignSettings::summary,
        )
    }

    /// How Hosts are read, and what the store must agree with (printed by `validate`).
    pub fn addressing_note(&self) -> String {
        let s = &self.restart.server;
        let list = |names: &[String]| match names {
            [] => "none".to_owned(),
            names => names.join(", "),
        };
        format!(
            "addressing: path-style for IP addresses, single-label hosts (localhost; not for store rgw or generic, which may read them as bucket names) and server.path_style_hosts ({}); virtual-hosted for <bucket>.<suffix> with server.virtual_host_suffixes ({}); any other Host is refused. The store's own DNS names (RGW rgw_dns_name, SeaweedFS -domainName, MinIO MINIO_DOMAIN, Garage root_domain) must be exactly server.virtual_host_suffixes, and no path_style_hosts entry may end with one of them",
            list(&s.path_style_hosts),
            list(&s.virtual_host_suffixes),
        )
    }

    /// Things that are allowed but deserve the operator's attention.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let policies = &self.live.ssec.policies;
        let sse_c_possible = policies.default != Policy::Forbid
            || policies.rules.iter().any(|r| r.policy != Policy::Forbid);
        let upstream = &self.restart.upstream;
        if upstream.scheme == Scheme::HTTP && sse_c_possible {
            out.push(
                "upstream.endpoint: http: customer keys travel to the store unencrypted; use https unless the store is on the same host or pod network you trust".to_owned(),
            );
            if upstream.store == StoreSetting::Named(Store::Minio) {
                out.push(
                    "upstream.endpoint: MinIO refuses SSE-C unless it serves TLS itself; use https"
                        .to_owned(),
                );
            }
        }
        if self.restart.server.plain_listen.is_some() {
            out.push("server.plain_listen: plain-HTTP S3 listener enabled; requests carrying SSE-C headers are refused there".to_owned());
        }
        out.extend(self.live.auth.iter().flat_map(ResignSettings::warnings));
        out
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
