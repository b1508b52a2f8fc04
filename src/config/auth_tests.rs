//! The resign keys of the configuration contract: what a good file gives, and each rule
//! as a table of files with the key path and message they are refused with.

use std::path::{Path, PathBuf};

use crate::config::{AuthMode, Config, ConfigError};

use super::*;

const BASE: &str = r#"
[server]
listen = "127.0.0.1:8443"
tls_cert = "certs/server.pem"
tls_key = "certs/server.key"

[upstream]
endpoint = "https://127.0.0.1:9000"
"#;

const CLIENT: &str = r#"
[[auth.clients]]
access_key = "APPACCESSKEY00000001"
secret_key_file = "secrets/app.secret"
"#;

const STORE: &str = r#"
[upstream.credentials]
access_key = "STOREACCESSKEY000001"
secret_key_file = "/run/secrets/store.secret"
"#;

const INLINE_CLIENT_SECRET: &str = "inline-client-secret-0123456789";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/ssec/proxy.toml"))
}

const NO_BINDING_KEY: &str = "auth.binding_key_file: unset: multipart uploads are checked against this replica's memory only (ssec.unknown_uploads decides about parts of uploads it does not know); set a binding key, the same on every replica, to bind them to their key on any replica";

fn resign(extra: &str) -> String {
    format!("{BASE}\n[auth]\nmode = \"resign\"\n{extra}\n{CLIENT}\n{STORE}")
}

fn refused(text: &str) -> (String, String) {
    match parse(text).unwrap_err() {
        ConfigError::Invalid { key, message, .. } => (key, message),
        e => panic!("{e}"),
    }
}

#[test]
fn reads_a_resign_configuration_with_its_defaults() {
    let c = parse(&resign("")).unwrap();
    assert_eq!(c.restart.auth.mode, AuthMode::Resign);
    let auth = c.live.auth.unwrap();
    assert_eq!(
        auth,
        ResignSettings {
            region: "us-east-1".to_owned(),
            binding_key_file: None,
            clients: vec![ClientSettings {
                access_key: "APPACCESSKEY00000001".to_owned(),
                secret: SecretSource::File(PathBuf::from("/etc/ssec/secrets/app.secret")),
                buckets: BucketScope::All,
                manage_access: false,
            }],
            store: StoreCredentialSettings {
                access_key: "STOREACCESSKEY000001".to_owned(),
                secret: SecretSource::File(PathBuf::from("/run/secrets/store.secret")),
                region: "us-east-1".to_owned(),
            },
            bucket_keys: Vec::new(),
        }
    );
}

#[test]
fn the_store_region_defaults_to_the_client_region() {
    let c = parse(&resign(
        "region = \"eu-west-3\"\nbinding_key_file = \"secrets/binding.key\"",
    ))
    .unwrap();
    let auth = c.live.auth.unwrap();
    assert_eq!(auth.region, "eu-west-3");
    assert_eq!(auth.store.region, "eu-west-3");
    assert_eq!(
        auth.binding_key_file.as_deref(),
        Some(Path::new("/etc/ssec/secrets/binding.key"))
    );
    let text = resign("region = \"eu-west-3\"").replace(
        "[upstream.credentials]",
        "[upstream.credentials]\nregion = \"garage\"",
    );
    let auth = parse(&text).unwrap().live.auth.unwrap();
    assert_eq!(
        (auth.region.as_str(), auth.store.region.as_str()),
        ("eu-west-3", "garage")
    );
}

#[test]
fn passthrough_mode_has_no_resign_settings_and_no_warning() {
    let c = parse(BASE).unwrap();
    assert_eq!(c.restart.auth.mode, AuthMode::Passthrough);
    assert_eq!(c.live.auth, None);
    assert_eq!(c.auth_summary(), "auth.mode: passthrough");
    let c = parse(&format!("{BASE}\n[auth]\nmode = \"passthrough\"\n")).unwrap();
    assert_eq!(c.live.auth, None);
}

#[test]
fn passthrough_mode_refuses_every_resign_key_by_name() {
    let needs = "needs auth.mode = \"resign\" (the mode is \"passthrough\")";
    for (text, key) in [
        (
            format!("{BASE}\n[auth]\nregion = \"us-east-1\"\n"),
            "auth.region",
        ),
        (
            format!("{BASE}\n[auth]\nmode = \"passthrough\"\nbinding_key_file = \"b.key\"\n"),
            "auth.binding_key_file",
        ),
        (format!("{BASE}\n{CLIENT}"), "auth.clients"),
        (format!("{BASE}\n[auth]\nclients = []\n"), "auth.clients"),
        (format!("{BASE}\n{STORE}"), "upstream.credentials"),
    ] {
        assert_eq!(refused(&text), (key.to_owned(), needs.to_owned()), "{text}");
    }
}

#[test]
fn resign_mode_refuses_missing_and_inconsistent_keys() {
    let one_client = resign("");
    let second = CLIENT.replace("secrets/app.secret", "secrets/other.secret");
    for (text, key, message) in [
        (
            format!("{BASE}\n[auth]\nmode = \"resign\"\n{STORE}"),
            "auth.clients",
            "auth.mode = \"resign\" needs at least one [[auth.clients]]",
        ),
        (
            format!("{BASE}\n[auth]\nmode = \"resign\"\nclients = []\n{STORE}"),
            "auth.clients",
            "auth.mode = \"resign\" needs at least one [[auth.clients]]",
        ),
        (
            format!("{BASE}\n[auth]\nmode = \"resign\"\n{CLIENT}"),
            "upstream.credentials",
            "is required with auth.mode = \"resign\": the proxy signs for the store with these",
        ),
        (
            format!("{one_client}\n{second}"),
            "auth.clients[1].access_key",
            "`APPACCESSKEY00000001` is also auth.clients[0].access_key",
        ),
        (
            one_client.replace("secret_key_file = \"secrets/app.secret\"", ""),
            "auth.clients[0].secret_key_file",
            "is required (or, for tests, an inline secret_key)",
        ),
        (
            one_client.replace(
                "secret_key_file = \"secrets/app.secret\"",
                &format!("secret_key_file = \"a\"\nsecret_key = \"{INLINE_CLIENT_SECRET}\""),
            ),
            "auth.clients[0].secret_key",
            "set secret_key_file or secret_key, not both",
        ),
        (
            one_client.replace("secret_key_file = \"/run/secrets/store.secret\"", ""),
            "upstream.credentials.secret_key_file",
            "is required (or, for tests, an inline secret_key)",
        ),
        (
            one_client.replace(
                "secret_key_file = \"/run/secrets/store.secret\"",
                "secret_key_file = \"a\"\nsecret_key = \"minioadmin\"",
            ),
            "upstream.credentials.secret_key",
            "set secret_key_file or secret_key, not both",
        ),
        (
            one_client.replace(
                "secret_key_file = \"secrets/app.secret\"",
                "secret_key = \"short-one\"",
            ),
            "auth.clients[0].secret_key",
            "is 9 characters; at least 16 are required (AWS's secret keys are 40)",
        ),
        (
            one_client.replace(
                "secret_key_file = \"secrets/app.secret\"",
                "secret_key_file = \"a\"\nbuckets = []",
            ),
            "auth.clients[0].buckets",
            "is empty, which allows no bucket; leave it out to allow every bucket",
        ),
    ] {
        assert_eq!(
            refused(&text),
            (key.to_owned(), message.to_owned()),
            "{text}"
        );
    }
}

#[test]
fn resign_keys_with_bad_values_are_named_by_key() {
    let text = resign("");
    let client =
        |line: &str| text.replace("[[auth.clients]]", &format!("[[auth.clients]]\n{line}"));
    for (text, key, message) in [
        (
            resign("region = \"US East\""),
            "auth.region",
            "is not a region like us-east-1",
        ),
        (
            text.replace("mode = \"resign\"", "mode = \"sigv2\""),
            "auth.mode",
            "unknown variant `sigv2`",
        ),
        (
            resign("binding_key_file = \"\""),
            "auth.binding_key_file",
            "must name a file",
        ),
        (resign("bogus = 1"), "auth.bogus", "unknown key"),
        (client("bogus = 1"), "auth.clients[0].bogus", "unknown key"),
        (
            text.replace("APPACCESSKEY00000001", "APP/KEY"),
            "auth.clients[0].access_key",
            "`APP/KEY` is not an access key",
        ),
        (
            client("buckets = [\"app-*\", \"a[\"]"),
            "auth.clients[0].buckets[1]",
            "`a[` is not a glob",
        ),
        (
            client("secret_key = \"\""),
            "auth.clients[0].secret_key",
            "is empty",
        ),
        (
            text.replace(
                "[upstream.credentials]",
                "[upstream.credentials]\nbogus = 1",
            ),
            "upstream.credentials.bogus",
            "unknown key",
        ),
        (
            text.replace(
                "[upstream.credentials]",
                "[upstream.credentials]\nregion = \"\"",
            ),
            "upstream.credentials.region",
            "is not a region",
        ),
        (
            text.replace("STOREACCESSKEY000001", "s k"),
            "upstream.credentials.access_key",
            "is not an access key",
        ),
    ] {
        let (k, m) = refused(&text);
        assert_eq!(k, key, "{text}");
        assert!(m.contains(message), "{key}: {m}");
    }
}

#[test]
fn a_client_may_be_limited_to_bucket_globs() {
    let text = resign("").replace(
        "[[auth.clients]]",
        "[[auth.clients]]\nbuckets = [\"app-*\", \"shared\"]",
    );
    let auth = parse(&text).unwrap().live.auth.unwrap();
    let scope = &auth.clients[0].buckets;
    for (bucket, allowed) in [
        ("app-1", true),
        ("app-", true),
        ("shared", true),
        ("shared2", false),
        ("xapp-1", false),
        ("other", false),
    ] {
        assert_eq!(scope.allows(bucket), allowed, "{bucket}");
    }
    assert!(BucketScope::All.allows("anything"));
}

#[test]
fn inline_secrets_are_accepted_with_a_warning_that_does_not_show_them() {
    let text = resign("")
        .replace(
            "secret_key_file = \"secrets/app.secret\"",
            &format!("secret_key = \"  {INLINE_CLIENT_SECRET}\\n\""),
        )
        .replace(
            "secret_key_file = \"/run/secrets/store.secret\"",
            "secret_key = \"minioadmin\"",
        );
    let c = parse(&text).unwrap();
    let auth = c.live.auth.as_ref().unwrap();
    let SecretSource::Inline(secret) = &auth.clients[0].secret else {
        panic!("{:?}", auth.clients[0].secret);
    };
    assert_eq!(secret.expose(), INLINE_CLIENT_SECRET.as_bytes(), "trimmed");
    assert_eq!(
        c.warnings(),
        [
            "auth.clients[0].secret_key: the secret is written in the configuration file; outside tests use auth.clients[0].secret_key_file (a Kubernetes Secret mount)",
            "upstream.credentials.secret_key: the secret is written in the configuration file; outside tests use upstream.credentials.secret_key_file (a Kubernetes Secret mount)",
            NO_BINDING_KEY,
        ]
    );
    let shown = format!("{c:?}{:?}", c.warnings());
    assert!(
        !shown.contains(INLINE_CLIENT_SECRET) && !shown.contains("minioadmin"),
        "{shown}"
    );
    // Nor does a refusal of a bad one.
    let bad = text.replace(INLINE_CLIENT_SECRET, "bad secret with spaces");
    let e = parse(&bad).unwrap_err().to_string();
    assert!(!e.contains("spaces"), "{e}");
    // Files give no warning; a missing binding key does.
    assert_eq!(parse(&resign("")).unwrap().warnings(), [NO_BINDING_KEY]);
    let bound = resign("binding_key_file = \"b.key\"");
    assert!(parse(&bound).unwrap().warnings().is_empty());
}

#[test]
fn the_mode_is_restart_only_and_the_credential_table_reloads() {
    let old = parse(&resign("")).unwrap();
    let changed = resign("region = \"eu-west-1\"\nbinding_key_file = \"b.key\"")
        .replace("secrets/app.secret", "secrets/app-v2.secret")
        .replace(
            "[[auth.clients]]",
            "[[auth.clients]]\nbuckets = [\"app-*\"]",
        )
        + "\n[[auth.clients]]\naccess_key = \"SECONDCLIENT\"\nsecret_key_file = \"s2\"\n";
    let new = parse(&changed).unwrap();
    assert!(old.restart.changed_keys(&new.restart).is_empty());
    assert_ne!(old.live.auth, new.live.auth);
    assert_eq!(new.live.auth.as_ref().unwrap().clients.len(), 2);
    let passthrough = parse(BASE).unwrap();
    assert_eq!(
        passthrough.restart.changed_keys(&new.restart),
        ["auth.mode"]
    );
}

#[test]
fn a_reload_watches_every_secret_file_and_validate_summarises_the_mode() {
    let c = parse(&resign("binding_key_file = \"secrets/binding.key\"")).unwrap();
    let files: Vec<_> = c.live.auth.as_ref().unwrap().files();
    assert_eq!(
        files,
        [
            (
                "auth.binding_key_file".to_owned(),
                Path::new("/etc/ssec/secrets/binding.key")
            ),
            (
                "auth.clients[0].secret_key_file".to_owned(),
                Path::new("/etc/ssec/secrets/app.secret")
            ),
            (
                "upstream.credentials.secret_key_file".to_owned(),
                Path::new("/run/secrets/store.secret")
            ),
        ]
    );
    let watched = c.watched_files();
    for (_, file) in &files {
        assert!(watched.contains(file), "{}", file.display());
    }
    assert_eq!(
        c.auth_summary(),
        "auth.mode: resign (1 client; region us-east-1; store region us-east-1; binding key set; key injection off)"
    );
}

const INJECT: &str = r#"
[[ssec.buckets]]
bucket = "plain-*"
policy = "allow"

[[ssec.buckets]]
bucket = "app-*"
policy = "require"
inject_key_file = "keys/app-v2.key"
previous_key_files = ["keys/app-v1.key", "/run/keys/app-v0.key"]
"#;

#[test]
fn key_injection_reads_its_files_per_bucket_rule() {
    let c = parse(&format!("{}{INJECT}", resign(""))).unwrap();
    let auth = c.live.auth.as_ref().unwrap();
    assert_eq!(
        auth.bucket_keys.len(),
        2,
        "every rule, for first-match order"
    );
    assert_eq!(auth.bucket_keys[0].files, None);
    assert_eq!(
        auth.bucket_keys[1].files,
        Some(InjectFiles {
            current: PathBuf::from("/etc/ssec/keys/app-v2.key"),
            previous: vec![
                PathBuf::from("/etc/ssec/keys/app-v1.key"),
                PathBuf::from("/run/keys/app-v0.key")
            ],
            derive_per_object: false,
        })
    );
    let keys: Vec<_> = auth.key_files().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "ssec.buckets[1].inject_key_file",
            "ssec.buckets[1].previous_key_files[0]",
            "ssec.buckets[1].previous_key_files[1]",
        ]
    );
    let watched = c.watched_files();
    assert!(watched.contains(&Path::new("/run/keys/app-v0.key")));
    assert!(
        c.auth_summary()
            .ends_with("key injection on 1 bucket rule)")
    );
    // Without injection the rules are not kept.
    assert!(
        parse(&resign(""))
            .unwrap()
            .live
            .auth
            .unwrap()
            .bucket_keys
            .is_empty()
    );
}

#[test]
fn key_injection_is_refused_where_it_cannot_work() {
    let passthrough = format!("{BASE}{INJECT}");
    assert_eq!(
        refused(&passthrough),
        (
            "ssec.buckets[1].inject_key_file".to_owned(),
            "needs auth.mode = \"resign\" (the mode is \"passthrough\"): the proxy adds the key to requests its clients signed without it, so it must sign for the store itself".to_owned()
        )
    );
    let forbid = format!(
        "{}{}",
        resign(""),
        INJECT.replace("\"require\"", "\"forbid\"")
    );
    assert_eq!(refused(&forbid).0, "ssec.buckets[1].inject_key_file");
    let orphan = format!(
        "{}{}",
        resign(""),
        INJECT.replace("inject_key_file = \"keys/app-v2.key\"\n", "")
    );
    assert_eq!(
        refused(&orphan),
        (
            "ssec.buckets[1].previous_key_files".to_owned(),
            "needs inject_key_file (the key writes use)".to_owned()
        )
    );
    let empty = format!(
        "{}{}",
        resign(""),
        INJECT.replace("\"keys/app-v2.key\"", "\"\"")
    );
    assert_eq!(refused(&empty).0, "ssec.buckets[1].inject_key_file");
}

#[test]
fn key_files_readable_by_others_get_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    for (name, mode) in [("v2.key", 0o600), ("v1.key", 0o644)] {
        let path = dir.path().join(name);
        std::fs::write(&path, [7u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let text = format!("{}{INJECT}", resign(""))
        .replace("keys/app-v2.key", "v2.key")
        .replace(
            "\"keys/app-v1.key\", \"/run/keys/app-v0.key\"",
            "\"v1.key\"",
        );
    let c = Config::parse(&text, &dir.path().join("proxy.toml")).unwrap();
    let warnings: Vec<String> = c
        .warnings()
        .into_iter()
        .filter(|w| w != NO_BINDING_KEY)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("ssec.buckets[1].previous_key_files[0]: ")
            && warnings[0].contains("v1.key is readable by others than its owner (mode 0644)"),
        "{warnings:?}"
    );
}

#[test]
fn opaque_etags_need_resign_mode_and_a_binding_key() {
    let opaque = "\n[etag]\nmode = \"opaque\"\n";
    let (key, message) = refused(&format!("{BASE}{opaque}"));
    assert_eq!(key, "etag.mode");
    assert!(
        message.starts_with("needs auth.mode = \"resign\""),
        "{message}"
    );
    let (key, message) = refused(&format!("{}{opaque}", resign("")));
    assert_eq!(key, "etag.mode");
    assert!(
        message.starts_with("needs auth.binding_key_file"),
        "{message}"
    );
    let c = parse(&format!(
        "{}{opaque}",
        resign("binding_key_file = \"b.key\"")
    ))
    .unwrap();
    assert_eq!(c.restart.etag.mode, crate::config::EtagMode::Opaque);
}
