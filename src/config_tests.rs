use super::*;

const MINIMAL: &str = r#"
[server]
listen = "127.0.0.1:8443"
tls_cert = "certs/server.pem"
tls_key = "/abs/server.key"

[upstream]
endpoint = "http://127.0.0.1:8333"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/ssec/proxy.toml"))
}

fn key_of(text: &str) -> String {
    parse(text).unwrap_err().key().unwrap().to_owned()
}

#[test]
fn parses_minimal_file_with_fail_closed_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.restart.server.listen, "127.0.0.1:8443".parse().unwrap());
    assert_eq!(c.live.tls.cert, PathBuf::from("/etc/ssec/certs/server.pem"));
    assert_eq!(c.live.tls.key, PathBuf::from("/abs/server.key"));
    assert_eq!(
        c.restart.server.admin_listen,
        Some("127.0.0.1:9901".parse().unwrap())
    );
    assert_eq!(c.restart.server.max_header_bytes, 65536);
    assert_eq!(c.restart.upstream.scheme, Scheme::HTTP);
    assert_eq!(c.restart.upstream.authority.as_str(), "127.0.0.1:8333");
    assert_eq!(c.restart.upstream.store, StoreSetting::Auto);
    assert!(!c.restart.upstream.forwarded_proto);
    assert_eq!(c.restart.auth.mode, AuthMode::Passthrough);
    assert_eq!(c.restart.etag.mode, EtagMode::Canonical);
}

#[test]
fn parses_the_shipped_example() {
    let text = include_str!("../proxy.toml");
    let c = Config::parse(text, Path::new("proxy.toml")).unwrap();
    assert_eq!(c.restart.upstream.scheme, Scheme::HTTPS);
}

#[test]
fn names_unknown_keys_with_their_path() {
    assert_eq!(key_of(&format!("{MINIMAL}\nbogus = 1")), "upstream.bogus");
    assert_eq!(
        key_of(&MINIMAL.replace("[upstream]", "[upstream]\ntimeout = 3")),
        "upstream.timeout"
    );
    assert_eq!(key_of(&format!("[extra]\n{MINIMAL}")), "extra");
}

#[test]
fn names_missing_and_mistyped_keys() {
    let e = parse(&MINIMAL.replace("listen = \"127.0.0.1:8443\"\n", "")).unwrap_err();
    assert!(e.to_string().contains("listen"), "{e}");
    assert_eq!(
        key_of(&MINIMAL.replace("[upstream]", "[upstream]\nforwarded_proto = \"yes\"")),
        "upstream.forwarded_proto"
    );
    assert_eq!(
        key_of(&MINIMAL.replace("[upstream]", "[upstream]\nstore = \"s3\"")),
        "upstream.store"
    );
}

#[test]
fn rejects_bad_addresses_and_endpoints() {
    assert_eq!(
        key_of(&MINIMAL.replace("127.0.0.1:8443", "localhost")),
        "server.listen"
    );
    assert_eq!(
        key_of(&MINIMAL.replace("[upstream]", "[server.x]\n[upstream]")),
        "server.x"
    );
    for bad in [
        "ftp://h:1",
        "127.0.0.1:8333",
        "http://h:1/path",
        "http://u:p@h:1",
        "http://h:1/?q",
    ] {
        assert_eq!(
            key_of(&MINIMAL.replace("http://127.0.0.1:8333", bad)),
            "upstream.endpoint",
            "{bad}"
        );
    }
}

#[test]
fn rejects_zero_and_malformed_durations() {
    let with = |line: &str| MINIMAL.replace("[upstream]", &format!("[upstream]\n{line}"));
    assert_eq!(
        key_of(&with("idle_timeout = \"0s\"")),
        "upstream.idle_timeout"
    );
    assert_eq!(
        key_of(&with("connect_timeout = \"soon\"")),
        "upstream.connect_timeout"
    );
    assert_eq!(
        parse(&with("idle_timeout = \"2m 30s\""))
            .unwrap()
            .restart
            .upstream
            .idle_timeout,
        Duration::from_secs(150)
    );
}

#[test]
fn rejects_ca_file_for_plain_http_upstream() {
    let text = MINIMAL.replace("[upstream]", "[upstream]\nca_file = \"ca.pem\"");
    assert_eq!(key_of(&text), "upstream.ca_file");
}

#[test]
fn empty_admin_listen_disables_admin() {
    let text = MINIMAL.replace("[upstream]", "admin_listen = \"\"\n[upstream]");
    assert_eq!(parse(&text).unwrap().restart.server.admin_listen, None);
}

#[test]
fn normalizes_virtual_host_suffixes() {
    let text = MINIMAL.replace(
        "[upstream]",
        "virtual_host_suffixes = [\".S3.Example.com\"]\n[upstream]",
    );
    assert_eq!(
        parse(&text).unwrap().restart.server.virtual_host_suffixes,
        vec!["s3.example.com"]
    );
    let bad = MINIMAL.replace(
        "[upstream]",
        "virtual_host_suffixes = [\"a/b\"]\n[upstream]",
    );
    assert_eq!(key_of(&bad), "server.virtual_host_suffixes[0]");
}

#[test]
fn ssec_defaults_to_require_and_store_specific_unknown_uploads() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.live.ssec.policies.default, Policy::Require);
    assert!(c.live.ssec.policies.rules.is_empty());
    // Unset: the store's default, decided per request ([`Store::default_unknown_uploads`]).
    assert_eq!(c.live.ssec.unknown_uploads, None);
    let rgw = parse(&MINIMAL.replace("[upstream]", "[upstream]\nstore = \"rgw\"")).unwrap();
    assert_eq!(rgw.restart.upstream.store, StoreSetting::Named(Store::Rgw));
    let bad = MINIMAL.replace("[upstream]", "[upstream]\nstore = \"s3\"");
    assert_eq!(key_of(&bad), "upstream.store");
}

#[test]
fn parses_bucket_rules_with_allowlists() {
    let text = format!(
        "{MINIMAL}\n[ssec]\ndefault = \"allow\"\nunknown_uploads = \"allow\"\n\
         [[ssec.buckets]]\nbucket = \"public-*\"\npolicy = \"forbid\"\n\
         [[ssec.buckets]]\nbucket = \"vault\"\npolicy = \"require\"\nkey_md5_allowlist = [\"zZ0MVlsXnkA0dTQ7RnfyVQ==\"]\n"
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.live.ssec.policies.default, Policy::Allow);
    assert_eq!(c.live.ssec.unknown_uploads, Some(UnknownUploads::Allow));
    assert_eq!(
        c.live.ssec.policies.for_bucket(Some("public-x")).policy,
        Policy::Forbid
    );
    assert_eq!(
        c.live
            .ssec
            .policies
            .for_bucket(Some("vault"))
            .allowlist
            .map(<[_]>::len),
        Some(1)
    );
}

#[test]
fn names_bad_bucket_rules() {
    let bad_glob = format!("{MINIMAL}\n[[ssec.buckets]]\nbucket = \"a[\"\npolicy = \"allow\"\n");
    assert_eq!(key_of(&bad_glob), "ssec.buckets[0].bucket");
    let bad_md5 = format!(
        "{MINIMAL}\n[[ssec.buckets]]\nbucket = \"a\"\npolicy = \"allow\"\nkey_md5_allowlist = [\"zZ0MVlsXnkA0dTQ7RnfyVQ==\", \"nope\"]\n"
    );
    assert_eq!(key_of(&bad_md5), "ssec.buckets[0].key_md5_allowlist[1]");
    let bad_policy = format!("{MINIMAL}\n[ssec]\ndefault = \"maybe\"\n");
    assert_eq!(key_of(&bad_policy), "ssec.default");
    let unknown =
        format!("{MINIMAL}\n[[ssec.buckets]]\nbucket = \"a\"\npolicy = \"allow\"\nextra = 1\n");
    assert_eq!(key_of(&unknown), "ssec.buckets[0].extra");
}

#[test]
fn bad_values_are_named_by_key_with_what_was_expected_and_where() {
    let e = parse(&MINIMAL.replace("127.0.0.1:8443", "localhost")).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(
            "/etc/ssec/proxy.toml: server.listen: `localhost` is not an address like 127.0.0.1:8443 (at byte "
        ),
        "{text}"
    );
    let with = |line: &str| MINIMAL.replace("[upstream]", &format!("{line}\n[upstream]"));
    for (line, key, message) in [
        (
            "max_connections = 0",
            "server.max_connections",
            "must be at least 1",
        ),
        (
            "worker_threads = 0",
            "server.worker_threads",
            "must be at least 1",
        ),
        (
            "max_header_bytes = 4096",
            "server.max_header_bytes",
            "must be at least 8192",
        ),
        (
            "shutdown_grace = \"0s\"",
            "server.shutdown_grace",
            "must be greater than zero",
        ),
        (
            "plain_listen = \"8080\"",
            "server.plain_listen",
            "`8080` is not an address",
        ),
        (
            "tls_client_ca = \"\"",
            "server.tls_client_ca",
            "must name a file",
        ),
    ] {
        let e = parse(&with(line)).unwrap_err();
        assert_eq!(e.key(), Some(key), "{line}");
        assert!(e.to_string().contains(message), "{line}: {e}");
    }
    // `0s` turns the shutdown delay off.
    let c = parse(&with("shutdown_delay = \"0s\"")).unwrap();
    assert_eq!(c.restart.server.shutdown_delay, Duration::ZERO);
    let e = parse(&format!("{MINIMAL}\n[ssec]\nmax_tracked_uploads = 0\n")).unwrap_err();
    assert_eq!(e.key(), Some("ssec.max_tracked_uploads"));
}

/// Every restart-only key set to something other than its value in `MINIMAL`.
const EVERY_RESTART_ONLY_KEY_CHANGED: &str = r#"
[server]
listen = "127.0.0.1:9443"
tls_cert = "certs/server.pem"
tls_key = "/abs/server.key"
admin_listen = ""
plain_listen = "127.0.0.1:8080"
virtual_host_suffixes = ["s3.example.com"]
path_style_hosts = ["gw.example.org"]
max_header_bytes = 32768
header_read_timeout = "5s"
tls_handshake_timeout = "5s"
worker_threads = 2
max_connections = 10
shutdown_delay = "0s"
shutdown_grace = "1s"
reload_interval = "1s"

[upstream]
endpoint = "https://127.0.0.1:8334"
ca_file = "ca.pem"
forwarded_proto = true
store = "rgw"
connect_timeout = "1s"
idle_timeout = "1s"
pool_idle_timeout = "1s"
pool_max_idle = 1
probe_interval = "1s"

[upstream.credentials]
access_key = "STOREACCESSKEY000001"
secret_key_file = "store.secret"

[auth]
mode = "resign"

[[auth.clients]]
access_key = "APPACCESSKEY00000001"
secret_key_file = "app.secret"

[ssec]
max_tracked_uploads = 5
upload_record_ttl = "1h"

[log]
format = "text"
file = "logs/proxy.log"
"#;

#[test]
fn names_each_changed_restart_only_key_as_written_in_the_file() {
    let old = parse(MINIMAL).unwrap();
    let new = parse(EVERY_RESTART_ONLY_KEY_CHANGED).unwrap();
    let keys = old.restart.changed_keys(&new.restart);
    assert_eq!(
        keys,
        [
            "server.listen",
            "server.admin_listen",
            "server.plain_listen",
            "server.virtual_host_suffixes",
            "server.path_style_hosts",
            "server.max_header_bytes",
            "server.header_read_timeout",
            "server.tls_handshake_timeout",
            "server.worker_threads",
            "server.max_connections",
            "server.shutdown_delay",
            "server.shutdown_grace",
            "server.reload_interval",
            "upstream.endpoint",
            "upstream.ca_file",
            "upstream.forwarded_proto",
            "upstream.store",
            "upstream.connect_timeout",
            "upstream.idle_timeout",
            "upstream.pool_idle_timeout",
            "upstream.pool_max_idle",
            "upstream.probe_interval",
            "ssec.max_tracked_uploads",
            "ssec.upload_record_ttl",
            "log.format",
            "log.file",
            "auth.mode",
        ]
    );
    assert_eq!(
        new.restart.log.file.as_deref(),
        Some(Path::new("/etc/ssec/logs/proxy.log")),
        "relative to the configuration file"
    );
    // Each is a key the file has, in the table it names.
    let file: toml::Table = toml::from_str(EVERY_RESTART_ONLY_KEY_CHANGED).unwrap();
    for key in &keys {
        let (table, name) = key.split_once('.').unwrap();
        assert!(file[table].get(name).is_some(), "{key}");
    }
    assert!(new.restart.changed_keys(&new.restart).is_empty());
}

#[test]
fn endpoint_is_named_once_whichever_part_changed() {
    let old = parse(MINIMAL).unwrap();
    for endpoint in [
        "https://127.0.0.1:8333",
        "http://127.0.0.1:9000",
        "https://h:1",
    ] {
        let new = parse(&MINIMAL.replace("http://127.0.0.1:8333", endpoint)).unwrap();
        assert_eq!(
            old.restart.changed_keys(&new.restart),
            ["upstream.endpoint"],
            "{endpoint}"
        );
    }
}

#[test]
fn reloadable_settings_need_no_restart() {
    let old = parse(MINIMAL).unwrap();
    let text = MINIMAL
        .replace("certs/server.pem", "certs/other.pem")
        .replace("/abs/server.key", "other.key")
        .replace("[upstream]", "tls_client_ca = \"clients.pem\"\n[upstream]")
        + "[log]\nlevel = \"debug\"\n[ssec]\ndefault = \"forbid\"\nunknown_uploads = \"allow\"\n\
           [[ssec.buckets]]\nbucket = \"b\"\npolicy = \"allow\"\n";
    let new = parse(&text).unwrap();
    assert!(old.restart.changed_keys(&new.restart).is_empty());
    assert_eq!(old.restart, new.restart);
    assert_eq!(
        new.live.tls,
        TlsFiles {
            cert: PathBuf::from("/etc/ssec/certs/other.pem"),
            key: PathBuf::from("/etc/ssec/other.key"),
            client_ca: Some(PathBuf::from("/etc/ssec/clients.pem")),
        }
    );
    assert_eq!(new.live.log_level, "debug");
    assert_eq!(new.live.ssec.policies.default, Policy::Forbid);
    assert_eq!(new.live.ssec.policies.rules.len(), 1);
    assert_eq!(new.live.ssec.unknown_uploads, Some(UnknownUploads::Allow));
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = parse(MINIMAL).unwrap();
    let secs = Duration::from_secs;
    assert_eq!(
        c.restart,
        RestartOnly {
            server: ServerConfig {
                listen: "127.0.0.1:8443".parse().unwrap(),
                admin_listen: Some("127.0.0.1:9901".parse().unwrap()),
                plain_listen: None,
                virtual_host_suffixes: vec![],
                path_style_hosts: vec![],
                max_header_bytes: 64 * 1024,
                header_read_timeout: secs(10),
                tls_handshake_timeout: secs(10),
                worker_threads: None,
                max_connections: 4096,
                shutdown_delay: secs(5),
                shutdown_grace: secs(30),
                reload_interval: secs(60),
            },
            upstream: UpstreamConfig {
                scheme: Scheme::HTTP,
                authority: Authority::from_static("127.0.0.1:8333"),
                ca_file: None,
                forwarded_proto: false,
                store: StoreSetting::Auto,
                connect_timeout: secs(5),
                idle_timeout: secs(60),
                pool_idle_timeout: secs(90),
                pool_max_idle: 256,
                probe_interval: secs(5),
            },
            ssec: UploadTracking {
                max_tracked_uploads: 100_000,
                upload_record_ttl: secs(7 * 24 * 3600),
            },
            log: LogOutput {
                format: LogFormat::Json,
                file: None,
            },
            auth: AuthConfig {
                mode: AuthMode::Passthrough,
            },
            etag: EtagConfig {
                mode: EtagMode::Canonical,
            },
        }
    );
    assert_eq!(c.live.tls.client_ca, None);
    assert_eq!(c.live.log_level, "info");
}
