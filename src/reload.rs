//! Live reload of the certificate, key and client CA (the listener's rustls
//! configuration), the `[ssec]` policy and the log level — on changes to those files
//! (see `file_events`), on SIGHUP, and by a periodic check. A broken new file keeps
//! what is running, is logged and counted. Settings that cannot change live are
//! reported as such.

mod file_events;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use md5::{Digest as _, Md5};
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::config::LiveSsec;
use crate::metrics::Metrics;
use crate::tls::load_material;
use file_events::FileEvents;

/// Changes the log filter of the running process.
pub type LogLevelSetter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// What a reload can swap, and what it compares against.
pub struct Reloader {
    file: PathBuf,
    /// The configuration the process started with: restart-only settings are compared
    /// against it.
    started: Config,
    /// The last configuration read successfully (its files are the ones watched).
    latest: Config,
    /// Digest of the files behind the running state, to skip re-reads that change nothing.
    applied: [u8; 16],
    /// Digest of the last files that failed, to log a broken file once, not every tick.
    failed: Option<[u8; 16]>,
    tls: Arc<ArcSwap<rustls::ServerConfig>>,
    tls_fingerprint: [u8; 16],
    cert_not_after: Arc<AtomicI64>,
    live: Arc<ArcSwap<LiveSsec>>,
    metrics: Arc<Metrics>,
    set_log_level: Option<LogLevelSetter>,
    files: FileEvents,
}

/// The state a reload swaps, as handed over by the server at start.
pub struct Swappable {
    /// The listener's rustls configuration.
    pub tls: Arc<ArcSwap<rustls::ServerConfig>>,
    /// Digest of the TLS files it was built from.
    pub tls_fingerprint: [u8; 16],
    /// Expiry of the served certificate.
    pub cert_not_after: Arc<AtomicI64>,
    /// The `[ssec]` policy.
    pub live: Arc<ArcSwap<LiveSsec>>,
}

impl Reloader {
    /// A reloader for `running`, read from `running.file`.
    pub fn new(
        running: Config,
        swappable: Swappable,
        metrics: Arc<Metrics>,
        set_log_level: Option<LogLevelSetter>,
    ) -> Self {
        let applied = files_digest(&running);
        let files = FileEvents::new(&running);
        Self {
            files,
            file: running.file.clone(),
            latest: running.clone(),
            started: running,
            applied,
            failed: None,
            tls: swappable.tls,
            tls_fingerprint: swappable.tls_fingerprint,
            cert_not_after: swappable.cert_not_after,
            live: swappable.live,
            metrics,
            set_log_level,
        }
    }

    /// Reloads on every trigger (SIGHUP, file changes) and every `interval`, until
    /// `stopped`.
    pub async fn run(
        mut self,
        mut triggers: mpsc::UnboundedReceiver<&'static str>,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(self.started.server.reload_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            let why = tokio::select! {
                Some(why) = triggers.recv() => why,
                Some(()) = self.files.rx.recv() => "file change",
                _ = tick.tick() => "periodic check",
                _ = stopped.wait_for(|s| *s) => return,
            };
            // Let a burst of file events (a Secret update is several) settle.
            tokio::time::sleep(Duration::from_millis(200)).await;
            while self.files.rx.try_recv().is_ok() {}
            self.reload(why);
            self.files.follow(&self.latest);
        }
    }

    /// Reads the configuration and the files it names again and applies what changed.
    pub fn reload(&mut self, why: &'static str) {
        let new = match Config::load(&self.file) {
            Ok(new) => new,
            Err(e) => {
                let digest = raw_digest(&[self.file.as_path()]);
                if self.failed != Some(digest) {
                    self.failed = Some(digest);
                    tracing::warn!(trigger = why, error = %e, "configuration reload failed; keeping the running configuration");
                    self.metrics.reload("config", false);
                }
                return;
            }
        };
        let digest = files_digest(&new);
        if digest == self.applied || self.failed == Some(digest) {
            return;
        }
        let mut ok = true;
        let s = &new.server;
        match load_material(&s.tls_cert, &s.tls_key, s.tls_client_ca.as_deref()) {
            Ok(material) if material.fingerprint != self.tls_fingerprint => {
                self.tls.store(material.config);
                self.tls_fingerprint = material.fingerprint;
                self.cert_not_after
                    .store(material.not_after, Ordering::Relaxed);
                tracing::info!(trigger = why, "certificate reloaded");
                self.metrics.reload("certificate", true);
            }
            Ok(_) => {}
            Err(e) => {
                ok = false;
                tracing::warn!(trigger = why, error = %e, "certificate reload failed; keeping the served certificate");
                self.metrics.reload("certificate", false);
            }
        }
        let live = new.live_ssec();
        if **self.live.load() != live {
            self.live.store(Arc::new(live));
            tracing::info!(trigger = why, "ssec policy reloaded");
        }
        if new.log.level != self.latest.log.level {
            match self.set_log_level.as_ref().map(|set| set(&new.log.level)) {
                Some(Ok(())) => tracing::info!(level = %new.log.level, "log level reloaded"),
                Some(Err(e)) => {
                    ok = false;
                    tracing::warn!(error = %e, "log level not changed");
                }
                None => tracing::info!("log level not reloaded: RUST_LOG is set"),
            }
        }
        for key in restart_only_changes(&self.started, &new) {
            tracing::warn!(
                key,
                "setting changed in the file; it applies after a restart"
            );
        }
        self.metrics.reload("config", ok);
        if ok {
            self.applied = digest;
            self.failed = None;
        } else {
            self.failed = Some(digest);
        }
        self.latest = new;
    }
}

/// Settings that differ between the running and the new configuration but only take
/// effect after a restart.
pub fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let (o, n) = (&old.server, &new.server);
    let (ou, nu) = (&old.upstream, &new.upstream);
    let checks: [(&'static str, bool); 24] = [
        (
            "server.max_connections",
            o.max_connections != n.max_connections,
        ),
        ("server.listen", o.listen != n.listen),
        ("server.admin_listen", o.admin_listen != n.admin_listen),
        ("server.plain_listen", o.plain_listen != n.plain_listen),
        (
            "server.virtual_host_suffixes",
            o.virtual_host_suffixes != n.virtual_host_suffixes,
        ),
        (
            "server.path_style_hosts",
            o.path_style_hosts != n.path_style_hosts,
        ),
        (
            "server.max_header_bytes",
            o.max_header_bytes != n.max_header_bytes,
        ),
        (
            "server.header_read_timeout",
            o.header_read_timeout != n.header_read_timeout,
        ),
        (
            "server.tls_handshake_timeout",
            o.tls_handshake_timeout != n.tls_handshake_timeout,
        ),
        (
            "server.worker_threads",
            o.worker_threads != n.worker_threads,
        ),
        (
            "server.shutdown_delay",
            o.shutdown_delay != n.shutdown_delay,
        ),
        (
            "server.shutdown_grace",
            o.shutdown_grace != n.shutdown_grace,
        ),
        (
            "server.reload_interval",
            o.reload_interval != n.reload_interval,
        ),
        (
            "upstream.endpoint",
            ou.scheme != nu.scheme || ou.authority != nu.authority,
        ),
        ("upstream.ca_file", ou.ca_file != nu.ca_file),
        (
            "upstream.forwarded_proto",
            ou.forwarded_proto != nu.forwarded_proto,
        ),
        ("upstream.store", ou.store != nu.store),
        (
            "upstream.timeouts",
            ou.connect_timeout != nu.connect_timeout
                || ou.idle_timeout != nu.idle_timeout
                || ou.probe_interval != nu.probe_interval,
        ),
        (
            "upstream.pool",
            ou.pool_idle_timeout != nu.pool_idle_timeout || ou.pool_max_idle != nu.pool_max_idle,
        ),
        (
            "ssec.max_tracked_uploads",
            old.ssec.max_tracked_uploads != new.ssec.max_tracked_uploads,
        ),
        (
            "ssec.upload_record_ttl",
            old.ssec.upload_record_ttl != new.ssec.upload_record_ttl,
        ),
        ("log.format", old.log.format != new.log.format),
        ("auth.mode", old.auth != new.auth),
        ("etag.mode", old.etag != new.etag),
    ];
    checks
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(k, _)| k)
        .collect()
}

/// Digest of the configuration file and every file it names for the listener.
fn files_digest(config: &Config) -> [u8; 16] {
    let s = &config.server;
    let mut paths = vec![
        config.file.as_path(),
        s.tls_cert.as_path(),
        s.tls_key.as_path(),
    ];
    paths.extend(s.tls_client_ca.as_deref());
    raw_digest(&paths)
}

fn raw_digest(paths: &[&Path]) -> [u8; 16] {
    let mut digest = Md5::new();
    for path in paths {
        let bytes = std::fs::read(path).unwrap_or_default();
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    }
    digest.finalize().into()
}
