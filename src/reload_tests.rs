//! Reloads of the resign credential table, driven as SIGHUP drives them: a changed
//! secret file or client table is seen by the next look-up; a broken file keeps the
//! running table and is counted as a failed reload; a passthrough process keeps none.

use std::sync::atomic::AtomicI64;

use arc_swap::ArcSwapOption;

use super::*;
use crate::metrics::ReloadLabels;

const APP: &str = "APPACCESSKEY00000001";
const APP_SECRET: &str = "app-secret-0123456789abcdef";
const APP_SECRET_V2: &str = "app-secret-rotated-0123456789";
const CLIENT_OPS: &str =
    "\n[[auth.clients]]\naccess_key = \"OPSACCESSKEY00000001\"\nsecret_key_file = \"ops.secret\"\n";

/// A configuration directory (certificate, key, secrets, `proxy.toml`) and a reloader
/// over it, holding the table a request would read.
struct Running {
    dir: tempfile::TempDir,
    reloader: Reloader,
    credentials: LiveCredentials,
    metrics: Arc<Metrics>,
}

fn config_text(mode: &str, extra_clients: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\
         [upstream]\nendpoint = \"http://127.0.0.1:1\"\n\
         [upstream.credentials]\naccess_key = \"minioadmin\"\nsecret_key_file = \"store.secret\"\n\
         [auth]\nmode = \"{mode}\"\nbinding_key_file = \"binding.key\"\n\
         [[auth.clients]]\naccess_key = \"{APP}\"\nsecret_key_file = \"app.secret\"\n{extra_clients}"
    )
}

impl Running {
    fn start(mode: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let write = |name: &str, content: &[u8]| std::fs::write(dir.path().join(name), content);
        write("cert.pem", cert.cert.pem().as_bytes()).unwrap();
        write("key.pem", cert.signing_key.serialize_pem().as_bytes()).unwrap();
        write("app.secret", format!("{APP_SECRET}\n").as_bytes()).unwrap();
        write("ops.secret", b"ops-secret-0123456789abcdef\n").unwrap();
        write("store.secret", b"storepass9\n").unwrap();
        write("binding.key", &[9u8; 32]).unwrap();
        let file = dir.path().join("proxy.toml");
        let text = config_text(mode, "");
        let text = match mode {
            "resign" => text,
            _ => text
                .lines()
                .take_while(|l| !l.starts_with("[upstream.credentials]"))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        std::fs::write(&file, text).unwrap();
        let config = Config::load(&file).unwrap();
        let t = &config.live.tls;
        let material = load_material(&t.cert, &t.key, None).unwrap();
        let loaded = config
            .live
            .auth
            .as_ref()
            .map(|a| Credentials::load(a).unwrap());
        let credentials: LiveCredentials = Arc::new(ArcSwapOption::from_pointee(loaded));
        let metrics = Metrics::new();
        let swappable = Swappable {
            tls: Arc::new(ArcSwap::new(material.config)),
            tls_fingerprint: material.fingerprint,
            cert_not_after: Arc::new(AtomicI64::new(material.not_after)),
            live: Arc::new(ArcSwap::from_pointee(config.live.ssec.clone())),
            credentials: Arc::clone(&credentials),
        };
        let reloader = Reloader::new(config, swappable, Arc::clone(&metrics), None);
        Self {
            dir,
            reloader,
            credentials,
            metrics,
        }
    }

    fn write(&self, name: &str, content: &[u8]) {
        std::fs::write(self.dir.path().join(name), content).unwrap();
    }

    /// The secret a request signed with `access_key` would be verified against now.
    fn secret_of(&self, access_key: &str) -> Option<Vec<u8>> {
        let table = self.credentials.load_full()?;
        table.client(access_key).map(|c| c.secret.expose().to_vec())
    }

    fn reloads(&self, result: &'static str) -> u64 {
        let labels = ReloadLabels {
            kind: "credentials",
            result,
        };
        self.metrics.reloads.get_or_create(&labels).get()
    }
}

#[test]
fn a_changed_secret_file_is_seen_by_the_next_look_up() {
    let mut running = Running::start("resign");
    assert_eq!(running.secret_of(APP).unwrap(), APP_SECRET.as_bytes());
    running.write("app.secret", format!("{APP_SECRET_V2}\n").as_bytes());
    running.reloader.reload("SIGHUP");
    assert_eq!(running.secret_of(APP).unwrap(), APP_SECRET_V2.as_bytes());
    assert_eq!(running.reloads("ok"), 1);
    // Nothing changed: nothing swapped, nothing counted.
    running.reloader.reload("periodic check");
    assert_eq!(running.reloads("ok"), 1);
}

#[test]
fn the_store_secret_and_binding_key_reload_too() {
    let mut running = Running::start("resign");
    running.write("store.secret", b"storepass-rotated\n");
    running.write("binding.key", &[3u8; 32]);
    running.reloader.reload("file change");
    let table = running.credentials.load_full().unwrap();
    assert_eq!(table.store().secret.expose(), b"storepass-rotated");
    assert_eq!(table.binding_key().unwrap().expose(), &[3u8; 32]);
}

#[test]
fn a_broken_secret_file_keeps_the_running_table() {
    let mut running = Running::start("resign");
    for broken in [&b""[..], b"short\n", b"two words-0123456789abcdef"] {
        running.write("app.secret", broken);
        running.reloader.reload("SIGHUP");
        assert_eq!(running.secret_of(APP).unwrap(), APP_SECRET.as_bytes());
    }
    assert_eq!(running.reloads("failed"), 3);
    std::fs::remove_file(running.dir.path().join("app.secret")).unwrap();
    running.reloader.reload("SIGHUP");
    assert_eq!(running.secret_of(APP).unwrap(), APP_SECRET.as_bytes());
    // The same broken files are reported once, not at every periodic check.
    running.reloader.reload("periodic check");
    assert_eq!(running.reloads("failed"), 4);
    // Fixed, it applies.
    running.write("app.secret", APP_SECRET_V2.as_bytes());
    running.reloader.reload("SIGHUP");
    assert_eq!(running.secret_of(APP).unwrap(), APP_SECRET_V2.as_bytes());
}

#[test]
fn clients_added_removed_or_rescoped_in_the_file_apply_live() {
    let mut running = Running::start("resign");
    let file = running.dir.path().join("proxy.toml");
    assert_eq!(running.secret_of("OPSACCESSKEY00000001"), None);
    std::fs::write(&file, config_text("resign", CLIENT_OPS)).unwrap();
    running.reloader.reload("file change");
    assert_eq!(
        running.secret_of("OPSACCESSKEY00000001").unwrap(),
        b"ops-secret-0123456789abcdef"
    );
    let scoped = config_text("resign", "buckets = [\"app-*\"]\n");
    std::fs::write(&file, scoped).unwrap();
    running.reloader.reload("file change");
    assert_eq!(running.secret_of("OPSACCESSKEY00000001"), None);
    let table = running.credentials.load_full().unwrap();
    assert!(!table.client(APP).unwrap().buckets.allows("ops"));
    // A file naming a missing secret file keeps the running table.
    let missing = config_text("resign", CLIENT_OPS).replace("ops.secret", "gone.secret");
    std::fs::write(&file, missing).unwrap();
    running.reloader.reload("file change");
    assert_eq!(running.secret_of("OPSACCESSKEY00000001"), None);
    assert_eq!(running.reloads("failed"), 1);
}

#[test]
fn a_passthrough_process_holds_no_table_whatever_the_file_says() {
    let mut running = Running::start("passthrough");
    assert!(running.credentials.load().is_none());
    // The file turns to resign: a restart-only change; no table appears.
    std::fs::write(
        running.dir.path().join("proxy.toml"),
        config_text("resign", ""),
    )
    .unwrap();
    running.reloader.reload("file change");
    assert!(running.credentials.load().is_none());
    assert_eq!(running.reloads("ok") + running.reloads("failed"), 0);
}
