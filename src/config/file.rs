//! `proxy.toml` as written: one struct per table, each key read by serde straight into
//! a typed value (see `values`), unknown keys refused, defaults filled in. [`File::build`]
//! splits it into what applies after a restart and what a reload applies, after the
//! checks that span several keys.

use std::path::Path;

use http::uri::Scheme;
use serde::Deserialize;

use super::auth::{AuthTable, BucketKeyFiles, InjectDerive, InjectFiles, StoreCredentialsTable};
use super::values::{
    AtLeast, BucketGlob, Endpoint, FilePath, HostName, HumanDuration, KeyMd5, ListenAddr,
    NonZeroDuration, OptionalListenAddr,
};
use super::{
    Config, ConfigError, EtagConfig, EtagMode, LiveSsec, LogFormat, LogOutput, Reloadable,
    RestartOnly, ServerConfig, TlsFiles, UnknownUploads, UploadTracking, UpstreamConfig,
};
use crate::s3::policy::{BucketPolicies, Policy, Rule};
use crate::s3::store::StoreSetting;

/// Smallest header limit accepted: hyper's HTTP/1 read buffer cannot be smaller.
const MIN_HEADER_BYTES: usize = 8 * 1024;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    server: ServerTable,
    upstream: UpstreamTable,
    #[serde(default)]
    auth: AuthTable,
    #[serde(default)]
    etag: EtagConfig,
    #[serde(default)]
    log: LogTable,
    #[serde(default)]
    ssec: SsecTable,
}

/// `[server]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerTable {
    listen: ListenAddr,
    tls_cert: FilePath,
    tls_key: FilePath,
    tls_client_ca: Option<FilePath>,
    #[serde(default = "default_admin_listen")]
    admin_listen: OptionalListenAddr,
    #[serde(default)]
    plain_listen: OptionalListenAddr,
    #[serde(default)]
    virtual_host_suffixes: Vec<HostName>,
    #[serde(default)]
    path_style_hosts: Vec<HostName>,
    #[serde(default = "count::<{ 64 * 1024 }, MIN_HEADER_BYTES>")]
    max_header_bytes: AtLeast<MIN_HEADER_BYTES>,
    #[serde(default = "secs::<10>")]
    header_read_timeout: NonZeroDuration,
    #[serde(default = "secs::<10>")]
    tls_handshake_timeout: NonZeroDuration,
    worker_threads: Option<AtLeast<1>>,
    #[serde(default = "count::<4096, 1>")]
    max_connections: AtLeast<1>,
    #[serde(default = "default_shutdown_delay")]
    shutdown_delay: HumanDuration,
    #[serde(default = "secs::<30>")]
    shutdown_grace: NonZeroDuration,
    #[serde(default = "secs::<60>")]
    reload_interval: NonZeroDuration,
}

/// `[upstream]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamTable {
    endpoint: Endpoint,
    ca_file: Option<FilePath>,
    #[serde(default)]
    forwarded_proto: bool,
    #[serde(default = "default_store")]
    store: StoreSetting,
    #[serde(default = "secs::<5>")]
    connect_timeout: NonZeroDuration,
    #[serde(default = "secs::<60>")]
    idle_timeout: NonZeroDuration,
    #[serde(default = "secs::<90>")]
    pool_idle_timeout: NonZeroDuration,
    #[serde(default = "default_pool_max_idle")]
    pool_max_idle: usize,
    #[serde(default = "secs::<5>")]
    probe_interval: NonZeroDuration,
    /// `[upstream.credentials]`: resign mode only.
    credentials: Option<StoreCredentialsTable>,
}

/// `[log]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogTable {
    #[serde(default = "default_log_format")]
    format: LogFormat,
    #[serde(default = "default_log_level")]
    level: String,
    file: Option<FilePath>,
}

/// `[ssec]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SsecTable {
    #[serde(default = "default_policy")]
    default: Policy,
    #[serde(default)]
    buckets: Vec<BucketRuleTable>,
    /// Unset: the store's default ([`Store::default_unknown_uploads`]).
    unknown_uploads: Option<UnknownUploads>,
    #[serde(default = "count::<100_000, 1>")]
    max_tracked_uploads: AtLeast<1>,
    #[serde(default = "secs::<{ 7 * 24 * 3600 }>")]
    upload_record_ttl: NonZeroDuration,
}

/// `[[ssec.buckets]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketRuleTable {
    bucket: BucketGlob,
    policy: Policy,
    key_md5_allowlist: Option<Vec<KeyMd5>>,
    /// Resign mode: the key requests without SSE-C get.
    inject_key_file: Option<FilePath>,
    /// Resign mode: keys reads fall back to, newest first.
    previous_key_files: Option<Vec<FilePath>>,
    /// Resign mode: `object` derives each object's key from the injected key.
    inject_derive: Option<InjectDerive>,
}

impl Default for LogTable {
    fn default() -> Self {
        Self {
            format: default_log_format(),
            level: default_log_level(),
            file: None,
        }
    }
}

impl Default for SsecTable {
    fn default() -> Self {
        Self {
            default: default_policy(),
            buckets: Vec::new(),
            unknown_uploads: None,
            max_tracked_uploads: count::<100_000, 1>(),
            upload_record_ttl: secs::<{ 7 * 24 * 3600 }>(),
        }
    }
}

const fn secs<const N: u64>() -> NonZeroDuration {
    NonZeroDuration::secs(N)
}
const fn count<const N: usize, const MIN: usize>() -> AtLeast<MIN> {
    AtLeast(N)
}
fn default_admin_listen() -> OptionalListenAddr {
    OptionalListenAddr(Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9901))))
}
fn default_shutdown_delay() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(5))
}
fn default_store() -> StoreSetting {
    StoreSetting::Auto
}
fn default_pool_max_idle() -> usize {
    256
}
fn default_policy() -> Policy {
    Policy::Require
}
fn default_log_format() -> LogFormat {
    LogFormat::Json
}
fn default_log_level() -> String {
    "info".to_owned()
}

impl File {
    /// The typed configuration of `file` (which anchors relative paths), after the
    /// checks that involve more than one key.
    pub(super) fn build(self, file: &Path) -> Result<Config, ConfigError> {
        let Self {
            server: s,
            upstream: u,
            auth,
            etag,
            log,
            ssec,
        } = self;
        let invalid = |key: String, message: String| ConfigError::Invalid {
            file: file.display().to_string(),
            key,
            message,
        };
        let suffixes = host_names(s.virtual_host_suffixes);
        let path_style_hosts = host_names(s.path_style_hosts);
        for (i, host) in path_style_hosts.iter().enumerate() {
            if let Some(suffix) = suffixes.iter().find(|s| host.ends_with(&format!(".{s}"))) {
                return Err(invalid(
                    format!("server.path_style_hosts[{i}]"),
                    format!(
                        "is under server.virtual_host_suffixes entry {suffix}, which reads it as a bucket"
                    ),
                ));
            }
        }
        if u.ca_file.is_some() && u.endpoint.scheme == Scheme::HTTP {
            return Err(invalid(
                "upstream.ca_file".to_owned(),
                "only applies to an https endpoint".to_owned(),
            ));
        }
        let dir = file.parent();
        let (auth, mut resign) = auth
            .build(u.credentials, dir)
            .map_err(|(key, message)| invalid(key, message))?;
        if etag.mode == EtagMode::Opaque {
            let problem = match resign.as_ref() {
                None => Some(
                    "needs auth.mode = \"resign\": the proxy maps ETags that come back in (conditionals, part lists), which changes what the client signed",
                ),
                Some(r) if r.binding_key_file.is_none() => Some(
                    "needs auth.binding_key_file: the ETag permutation is keyed with it, the same on every replica",
                ),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                return Err(invalid("etag.mode".to_owned(), problem.to_owned()));
            }
        }
        let bucket_keys = inject_files(&ssec.buckets, resign.is_some(), dir)
            .map_err(|(key, message)| invalid(key, message))?;
        if let Some(resign) = resign.as_mut() {
            resign.bucket_keys = bucket_keys;
        }
        let restart = RestartOnly {
            server: ServerConfig {
                listen: s.listen.0,
                admin_listen: s.admin_listen.0,
                plain_listen: s.plain_listen.0,
                virtual_host_suffixes: suffixes,
                path_style_hosts,
                max_header_bytes: s.max_header_bytes.0,
                header_read_timeout: s.header_read_timeout.0,
                tls_handshake_timeout: s.tls_handshake_timeout.0,
                worker_threads: s.worker_threads.map(|n| n.0),
                max_connections: s.max_connections.0,
                shutdown_delay: s.shutdown_delay.0,
                shutdown_grace: s.shutdown_grace.0,
                reload_interval: s.reload_interval.0,
            },
            upstream: UpstreamConfig {
                scheme: u.endpoint.scheme,
                authority: u.endpoint.authority,
                ca_file: u.ca_file.map(|p| p.resolve(dir)),
                forwarded_proto: u.forwarded_proto,
                store: u.store,
                connect_timeout: u.connect_timeout.0,
                idle_timeout: u.idle_timeout.0,
                pool_idle_timeout: u.pool_idle_timeout.0,
                pool_max_idle: u.pool_max_idle,
                probe_interval: u.probe_interval.0,
            },
            ssec: UploadTracking {
                max_tracked_uploads: ssec.max_tracked_uploads.0,
                upload_record_ttl: ssec.upload_record_ttl.0,
            },
            log: LogOutput {
                format: log.format,
                file: log.file.map(|p| p.resolve(dir)),
            },
            auth,
            etag,
        };
        let live = Reloadable {
            tls: TlsFiles {
                cert: s.tls_cert.resolve(dir),
                key: s.tls_key.resolve(dir),
                client_ca: s.tls_client_ca.map(|p| p.resolve(dir)),
            },
            ssec: LiveSsec {
                policies: BucketPolicies {
                    default: ssec.default,
                    rules: ssec
                        .buckets
                        .into_iter()
                        .map(BucketRuleTable::rule)
                        .collect(),
                },
                unknown_uploads: ssec.unknown_uploads,
            },
            log_level: log.level,
            auth: resign,
        };
        Ok(Config {
            file: file.to_path_buf(),
            restart,
            live,
        })
    }
}

/// `ssec.buckets`' key files as key injection reads them: every rule's pattern (the
/// first match decides, as for the policy) with its files, checked across keys:
/// injection needs resign mode (the proxy adds headers the client did not sign and signs
/// for the store), `previous_key_files` needs `inject_key_file`, and a `forbid` bucket
/// cannot inject.
fn inject_files(
    rules: &[BucketRuleTable],
    resign: bool,
    dir: Option<&Path>,
) -> Result<Vec<BucketKeyFiles>, (String, String)> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let at = |name: &str| format!("ssec.buckets[{i}].{name}");
        let files = match (&rule.inject_key_file, &rule.previous_key_files) {
            (None, _) if rule.inject_derive.is_some() => {
                return Err((
                    at("inject_derive"),
                    "needs inject_key_file (the key objects' keys are derived from)".to_owned(),
                ));
            }
            (None, None) => None,
            (None, Some(_)) => {
                return Err((
                    at("previous_key_files"),
                    "needs inject_key_file (the key writes use)".to_owned(),
                ));
            }
            (Some(_), _) if !resign => {
                return Err((
                    at("inject_key_file"),
                    "needs auth.mode = \"resign\" (the mode is \"passthrough\"): the proxy adds the key to requests its clients signed without it, so it must sign for the store itself".to_owned(),
                ));
            }
            (Some(_), _) if matches!(rule.policy, Policy::Forbid | Policy::BlockWrites) => {
                return Err((
                    at("inject_key_file"),
                    "cannot be used with policy = \"forbid\" or \"block_writes\", which refuse SSE-C writes".to_owned(),
                ));
            }
            (Some(current), previous) => Some(InjectFiles {
                current: current.clone().resolve(dir),
                previous: previous
                    .iter()
                    .flatten()
                    .map(|p| p.clone().resolve(dir))
                    .collect(),
                derive_per_object: rule.inject_derive == Some(InjectDerive::Object),
            }),
        };
        out.push(BucketKeyFiles {
            pattern: rule.bucket.0.clone(),
            files,
        });
    }
    if out.iter().all(|b| b.files.is_none()) {
        out.clear();
    }
    Ok(out)
}

impl BucketRuleTable {
    fn rule(self) -> Rule {
        Rule {
            pattern: self.bucket.0,
            policy: self.policy,
            allowlist: self
                .key_md5_allowlist
                .map(|list| list.into_iter().map(|KeyMd5(digest)| digest).collect()),
        }
    }
}

fn host_names(names: Vec<HostName>) -> Vec<String> {
    names.into_iter().map(|HostName(name)| name).collect()
}
