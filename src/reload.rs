//! Live reload of the certificate, key and client CA (the listener's rustls
//! configuration), the `[ssec]` policy, the log level and, in resign mode, the
//! credential table and its secret files — on changes to those files (see
//! `file_events`), on SIGHUP, and by a periodic check. A broken new file keeps what is
//! running, is logged and counted. Settings that cannot change live are reported.

mod file_events;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use md5::{Digest as _, Md5};
use tokio::sync::{mpsc, watch};

use crate::config::{AuthMode, Config, LiveSsec, RestartOnly};
use crate::credentials::{Credentials, LiveCredentials};
use crate::metrics::Metrics;
use crate::tls::load_material;
use file_events::FileEvents;

/// Changes the log filter of the running process.
pub type LogLevelSetter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// What a reload can swap, and what it compares against.
pub struct Reloader {
    file: PathBuf,
    /// The restart-only settings the process started with: the file's are compared
    /// against them.
    started: RestartOnly,
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
    credentials: LiveCredentials,
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
    /// The resign mode's credential table (`None` in passthrough mode).
    pub credentials: LiveCredentials,
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
            started: running.restart.clone(),
            latest: running,
            applied,
            failed: None,
            tls: swappable.tls,
            tls_fingerprint: swappable.tls_fingerprint,
            cert_not_after: swappable.cert_not_after,
            live: swappable.live,
            credentials: swappable.credentials,
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
        let t = &new.live.tls;
        match load_material(&t.cert, &t.key, t.client_ca.as_deref()) {
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
        ok &= self.reload_credentials(&new, why);
        if **self.live.load() != new.live.ssec {
            self.live.store(Arc::new(new.live.ssec.clone()));
            tracing::info!(trigger = why, "ssec policy reloaded");
        }
        let level = &new.live.log_level;
        if *level != self.latest.live.log_level {
            match self.set_log_level.as_ref().map(|set| set(level)) {
                Some(Ok(())) => tracing::info!(level = %level, "log level reloaded"),
                Some(Err(e)) => {
                    ok = false;
                    tracing::warn!(error = %e, "log level not changed");
                }
                None => tracing::info!("log level not reloaded: RUST_LOG is set"),
            }
        }
        for key in self.started.changed_keys(&new.restart) {
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

impl Reloader {
    /// In resign mode, reads the credential table of `new` and swaps it in if it
    /// differs; false when a secret file cannot be used (the running table stays).
    fn reload_credentials(&self, new: &Config, why: &'static str) -> bool {
        // A file that changed modes is reported as a restart-only change; the running
        // mode keeps its table.
        let Some(settings) = new.live.auth.as_ref() else {
            return true;
        };
        if self.started.auth.mode != AuthMode::Resign {
            return true;
        }
        match Credentials::load(settings) {
            Ok(loaded) => {
                if self.credentials.load().as_deref() != Some(&loaded) {
                    let clients = loaded.client_count();
                    self.credentials.store(Some(Arc::new(loaded)));
                    tracing::info!(trigger = why, clients, "credentials reloaded");
                    self.metrics.reload("credentials", true);
                }
                true
            }
            Err(e) => {
                tracing::warn!(trigger = why, error = %e, "credentials reload failed; keeping the running credentials");
                self.metrics.reload("credentials", false);
                false
            }
        }
    }
}

/// Digest of the configuration file and every file it names that a reload reads.
fn files_digest(config: &Config) -> [u8; 16] {
    raw_digest(&config.watched_files())
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

#[cfg(test)]
#[path = "reload_tests.rs"]
mod tests;
