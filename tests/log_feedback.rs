//! Logging cannot feed itself: a proxy at `trace` whose log file sits in the directory
//! it watches for configuration changes stays quiet while idle, and a real change to
//! the configuration is still reloaded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, Pki};

/// What an idle proxy may add to its log over the quiet window: the store probe's
/// socket registration and the odd periodic line, never a line per file event (which
/// adds megabytes a second).
const IDLE_GROWTH_LIMIT: u64 = 2048;

/// The real binary with stdout and stderr going to `proxy.log` beside its
/// configuration and certificates, in the directory it watches.
struct LoggingProxy {
    child: Child,
    config: PathBuf,
    log: PathBuf,
}

impl LoggingProxy {
    /// Starts at `log.level = level`, with `RUST_LOG` set to `rust_log` or unset, and
    /// waits until it listens.
    fn start(pki: &Pki, level: &str, rust_log: Option<&str>) -> Self {
        let dir = pki.dir.path();
        let config = dir.join("proxy.toml");
        // A 1 s periodic check: a reload that changes nothing must log nothing either.
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"\"\n\
             tls_cert = {cert:?}\ntls_key = {key:?}\nreload_interval = \"1s\"\n\
             [upstream]\nendpoint = \"http://127.0.0.1:1\"\n\
             [log]\nformat = \"json\"\nlevel = {level:?}\n\
             [ssec]\ndefault = \"allow\"\n",
            cert = pki.cert_path.display().to_string(),
            key = pki.key_path.display().to_string(),
        );
        std::fs::write(&config, text).unwrap();
        let log = dir.join("proxy.log");
        let out = File::create(&log).unwrap();
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .env_remove("RUST_LOG");
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let proxy = Self {
            child: command.spawn().unwrap(),
            config,
            log,
        };
        assert!(
            proxy.wait_log("\"listening\"", Duration::from_secs(20)),
            "proxy did not start; log ends with:\n{}",
            proxy.tail()
        );
        proxy
    }

    fn size(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// The last few lines of the log, for failure messages.
    fn tail(&self) -> String {
        let mut file = File::open(&self.log).unwrap();
        let len = file.metadata().unwrap().len();
        file.seek(SeekFrom::Start(len.saturating_sub(1500)))
            .unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits up to `limit` for a log line containing `needle`.
    fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let text = std::fs::read(&self.log).unwrap_or_default();
            if String::from_utf8_lossy(&text).contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Asserts the log grows by at most `IDLE_GROWTH_LIMIT` over `window`. Checks often
    /// and fails at the first excess, so a looping proxy cannot fill the disk first.
    fn assert_quiet_for(&self, window: Duration, what: &str) {
        let (start, since) = (self.size(), Instant::now());
        while since.elapsed() < window {
            std::thread::sleep(Duration::from_millis(100));
            let grown = self.size().saturating_sub(start);
            assert!(
                grown <= IDLE_GROWTH_LIMIT,
                "{what}: the log grew by {grown} bytes in {:?}; it ends with:\n{}",
                since.elapsed(),
                self.tail()
            );
        }
        eprintln!(
            "{what}: the log grew by {} bytes in {window:?}",
            self.size().saturating_sub(start)
        );
    }
}

impl Drop for LoggingProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start-up lines settle, then an idle window, then a real change, then idle again.
fn stays_quiet_and_still_reloads(level: &str, rust_log: Option<&str>) {
    let pki = Pki::new();
    let proxy = LoggingProxy::start(&pki, level, rust_log);
    std::thread::sleep(Duration::from_secs(2));
    proxy.assert_quiet_for(Duration::from_secs(3), "idle");

    // Written beside the configuration and renamed over it, as editors and config
    // management do.
    let text = std::fs::read_to_string(&proxy.config).unwrap();
    let tmp = proxy.config.with_extension("tmp");
    std::fs::write(&tmp, text.replace("\"allow\"", "\"forbid\"")).unwrap();
    std::fs::rename(&tmp, &proxy.config).unwrap();
    assert!(
        proxy.wait_log("ssec policy reloaded", Duration::from_secs(10)),
        "the change was not reloaded; log ends with:\n{}",
        proxy.tail()
    );
    std::thread::sleep(Duration::from_millis(500));
    proxy.assert_quiet_for(Duration::from_secs(2), "after the reload");
}

#[test]
fn an_idle_proxy_at_trace_does_not_grow_a_log_in_its_watched_directory() {
    stays_quiet_and_still_reloads("trace", None);
}

#[test]
fn rust_log_trace_does_not_make_the_log_feed_itself() {
    stays_quiet_and_still_reloads("info", Some("trace"));
}
