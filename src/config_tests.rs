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
    assert_eq!(c.server.listen, "127.0.0.1:8443".parse().unwrap());
    assert_eq!(
        c.server.tls_cert,
        PathBuf::from("/etc/ssec/certs/server.pem")
    );
    assert_eq!(c.server.tls_key, PathBuf::from("/abs/server.key"));
    assert_eq!(
        c.server.admin_listen,
        Some("127.0.0.1:9901".parse().unwrap())
    );
    assert_eq!(c.server.max_header_bytes, 65536);
    assert_eq!(c.upstream.scheme, Scheme::HTTP);
    assert_eq!(c.upstream.authority.as_str(), "127.0.0.1:8333");
    assert_eq!(c.upstream.store, Store::Generic);
    assert!(!c.upstream.forwarded_proto);
    assert_eq!(c.auth, AuthMode::Passthrough);
    assert_eq!(c.etag, EtagMode::Canonical);
}

#[test]
fn parses_the_shipped_example() {
    let text = include_str!("../proxy.toml");
    let c = Config::parse(text, Path::new("proxy.toml")).unwrap();
    assert_eq!(c.upstream.scheme, Scheme::HTTPS);
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
    assert_eq!(parse(&text).unwrap().server.admin_listen, None);
}

#[test]
fn normalizes_virtual_host_suffixes() {
    let text = MINIMAL.replace(
        "[upstream]",
        "virtual_host_suffixes = [\".S3.Example.com\"]\n[upstream]",
    );
    assert_eq!(
        parse(&text).unwrap().server.virtual_host_suffixes,
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
    assert_eq!(c.ssec.policies.default, Policy::Require);
    assert!(c.ssec.policies.rules.is_empty());
    assert_eq!(c.ssec.unknown_uploads, UnknownUploads::Reject);
    let rgw = parse(&MINIMAL.replace("[upstream]", "[upstream]\nstore = \"rgw\"")).unwrap();
    assert_eq!(rgw.ssec.unknown_uploads, UnknownUploads::Allow);
}

#[test]
fn parses_bucket_rules_with_allowlists() {
    let text = format!(
        "{MINIMAL}\n[ssec]\ndefault = \"allow\"\nunknown_uploads = \"allow\"\n\
         [[ssec.buckets]]\nbucket = \"public-*\"\npolicy = \"forbid\"\n\
         [[ssec.buckets]]\nbucket = \"vault\"\npolicy = \"require\"\nkey_md5_allowlist = [\"zZ0MVlsXnkA0dTQ7RnfyVQ==\"]\n"
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.ssec.policies.default, Policy::Allow);
    assert_eq!(c.ssec.unknown_uploads, UnknownUploads::Allow);
    assert_eq!(
        c.ssec.policies.for_bucket(Some("public-x")).policy,
        Policy::Forbid
    );
    assert_eq!(
        c.ssec
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
    assert_eq!(c.server.shutdown_delay, Duration::ZERO);
    let e = parse(&format!("{MINIMAL}\n[ssec]\nmax_tracked_uploads = 0\n")).unwrap_err();
    assert_eq!(e.key(), Some("ssec.max_tracked_uploads"));
}
