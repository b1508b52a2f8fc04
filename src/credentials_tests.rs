//! The credential table read from real files: look-ups by access key, the store's
//! credentials, the binding key, and each unusable file named by its key path.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::config::Config;
use crate::s3::sigv4::{SecretKey, SigningKey};

const APP_SECRET: &str = "app-secret-0123456789abcdefghijklmnopq";
const OPS_SECRET: &str = "ops-secret-0123456789abcdefghijklmnopq";
const STORE_SECRET: &str = "storepass9";

/// A directory holding a resign configuration and its secret files.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let files = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        files.write("app.secret", format!("{APP_SECRET}\n").as_bytes());
        files.write("ops.secret", format!("{OPS_SECRET}\r\n").as_bytes());
        files.write("store.secret", STORE_SECRET.as_bytes());
        files.write(
            "binding.key",
            format!("{}\n", STANDARD.encode([7u8; 32])).as_bytes(),
        );
        files
    }

    fn write(&self, name: &str, content: &[u8]) {
        std::fs::write(self.dir.path().join(name), content).unwrap();
    }

    fn settings(&self) -> ResignSettings {
        let text = r#"
            [server]
            listen = "127.0.0.1:0"
            tls_cert = "cert.pem"
            tls_key = "key.pem"
            [upstream]
            endpoint = "http://127.0.0.1:1"
            [upstream.credentials]
            access_key = "minioadmin"
            secret_key_file = "store.secret"
            region = "garage"
            [auth]
            mode = "resign"
            region = "eu-west-1"
            binding_key_file = "binding.key"
            [[auth.clients]]
            access_key = "APPACCESSKEY00000001"
            secret_key_file = "app.secret"
            buckets = ["app-*"]
            [[auth.clients]]
            access_key = "OPSACCESSKEY00000001"
            secret_key_file = "ops.secret"
        "#;
        let config = Config::parse(text, &self.dir.path().join("proxy.toml")).unwrap();
        config.live.auth.unwrap()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

#[test]
fn looks_up_each_client_by_access_key_with_its_secret_and_buckets() {
    let files = Files::new();
    let table = Credentials::load(&files.settings()).unwrap();
    assert_eq!(table.client_count(), 2);
    let app = table.client("APPACCESSKEY00000001").unwrap();
    assert_eq!(app.secret.expose(), APP_SECRET.as_bytes());
    assert!(app.buckets.allows("app-data") && !app.buckets.allows("ops-data"));
    let ops = table.client("OPSACCESSKEY00000001").unwrap();
    assert_eq!(ops.secret.expose(), OPS_SECRET.as_bytes(), "CRLF trimmed");
    assert!(ops.buckets.allows("ops-data") && ops.buckets.allows("app-data"));
    for unknown in [
        "appaccesskey00000001",
        "APPACCESSKEY0000000",
        "",
        "minioadmin",
    ] {
        assert!(table.client(unknown).is_none(), "{unknown}");
    }
}

#[test]
fn holds_the_store_credentials_region_and_binding_key() {
    let files = Files::new();
    let table = Credentials::load(&files.settings()).unwrap();
    assert_eq!(table.region(), "eu-west-1");
    let store = table.store();
    assert_eq!(store.access_key, "minioadmin");
    assert_eq!(store.secret.expose(), STORE_SECRET.as_bytes());
    assert_eq!(store.region, "garage");
    assert_eq!(table.binding_key().unwrap().expose(), &[7u8; 32]);
}

#[test]
fn names_the_key_path_and_file_of_the_first_unusable_secret() {
    for (name, content, key, problem) in [
        (
            "binding.key",
            &b"\n"[..],
            "auth.binding_key_file",
            "is empty",
        ),
        (
            "binding.key",
            &[1u8; 31][..],
            "auth.binding_key_file",
            "is 31 bytes and not base64 text",
        ),
        (
            "app.secret",
            b"",
            "auth.clients[0].secret_key_file",
            "is empty",
        ),
        (
            "ops.secret",
            b"short\n",
            "auth.clients[1].secret_key_file",
            "is 5 characters; at least 16 are required",
        ),
        (
            "store.secret",
            b"  \n",
            "upstream.credentials.secret_key_file",
            "is empty",
        ),
    ] {
        let files = Files::new();
        files.write(name, content);
        let e = Credentials::load(&files.settings()).unwrap_err();
        assert_eq!(e.key, key);
        assert_eq!(e.file, files.path(name));
        assert!(e.problem.starts_with(problem), "{name}: {e}");
    }
    let files = Files::new();
    std::fs::remove_file(files.dir.path().join("store.secret")).unwrap();
    let e = Credentials::load(&files.settings()).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "upstream.credentials.secret_key_file: {}: cannot read: ",
            files.path("store.secret")
        )),
        "{e}"
    );
}

#[test]
fn the_store_secret_has_no_minimum_length_but_client_secrets_do() {
    // Stores choose their own secrets (MinIO's `minioadmin` is 10 characters); the
    // proxy's clients are the operator's choice.
    let files = Files::new();
    files.write("store.secret", b"x\n");
    assert!(Credentials::load(&files.settings()).is_ok());
    files.write("app.secret", b"x\n");
    assert!(Credentials::load(&files.settings()).is_err());
}

#[test]
fn inline_secrets_need_no_file() {
    let settings = ResignSettings {
        region: "us-east-1".to_owned(),
        binding_key_file: None,
        clients: vec![crate::config::ClientSettings {
            access_key: "APPACCESSKEY00000001".to_owned(),
            secret: SecretSource::Inline(
                crate::secret::secret_access_key(APP_SECRET.as_bytes(), 16).unwrap(),
            ),
            buckets: BucketScope::All,
            manage_access: false,
        }],
        store: crate::config::StoreCredentialSettings {
            access_key: "minioadmin".to_owned(),
            secret: SecretSource::Inline(
                crate::secret::secret_access_key(STORE_SECRET.as_bytes(), 1).unwrap(),
            ),
            region: "us-east-1".to_owned(),
        },
        bucket_keys: Vec::new(),
    };
    let table = Credentials::load(&settings).unwrap();
    let app = table.client("APPACCESSKEY00000001").unwrap();
    assert_eq!(app.secret.expose(), APP_SECRET.as_bytes());
    assert!(table.binding_key().is_none());
}

#[test]
fn the_table_prints_no_secret() {
    let files = Files::new();
    let table = Credentials::load(&files.settings()).unwrap();
    let shown = format!("{table:?} {table:#?}");
    for secret in [APP_SECRET, OPS_SECRET, STORE_SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(!shown.contains("7, 7, 7"), "{shown}");
    assert!(
        shown.contains("APPACCESSKEY00000001"),
        "access keys are not secret"
    );
}

#[test]
fn tables_from_the_same_files_are_equal_and_a_changed_file_is_not() {
    let files = Files::new();
    let settings = files.settings();
    let a = Credentials::load(&settings).unwrap();
    assert_eq!(a, Credentials::load(&settings).unwrap());
    files.write("ops.secret", b"ops-secret-rotated-0123456789");
    assert_ne!(a, Credentials::load(&settings).unwrap());
}

/// The signature `key` makes of a fixed text, to compare keys without exposing them.
fn signature_of(key: &SigningKey) -> String {
    key.sign(b"text").as_str().to_owned()
}

fn derived(secret: &str, date: &str, region: &str) -> String {
    signature_of(&SigningKey::derive(
        &SecretKey::new(secret),
        date,
        region,
        "s3",
    ))
}

#[test]
fn signing_keys_are_derived_per_client_day_and_region_and_kept() {
    let files = Files::new();
    let table = Credentials::load(&files.settings()).unwrap();
    for date in ["20261130", "20261201"] {
        for _ in 0..2 {
            let key = table
                .client_signing_key("APPACCESSKEY00000001", date, "eu-west-1")
                .unwrap();
            assert_eq!(signature_of(&key), derived(APP_SECRET, date, "eu-west-1"));
        }
        let key = table
            .client_signing_key("OPSACCESSKEY00000001", date, "eu-west-1")
            .unwrap();
        assert_eq!(signature_of(&key), derived(OPS_SECRET, date, "eu-west-1"));
        let store = table.store_signing_key(date);
        assert_eq!(signature_of(&store), derived(STORE_SECRET, date, "garage"));
    }
    assert!(
        table
            .client_signing_key("NOBODY", "20261130", "eu-west-1")
            .is_none()
    );
}

#[test]
fn a_reloaded_table_never_reuses_keys_derived_from_the_old_secrets() {
    let files = Files::new();
    let old = Credentials::load(&files.settings()).unwrap();
    let before = old
        .client_signing_key("APPACCESSKEY00000001", "20261130", "eu-west-1")
        .unwrap();
    files.write("app.secret", b"a-new-app-secret-0123456789abcdef\n");
    let new = Credentials::load(&files.settings()).unwrap();
    let after = new
        .client_signing_key("APPACCESSKEY00000001", "20261130", "eu-west-1")
        .unwrap();
    assert_ne!(signature_of(&before), signature_of(&after));
    assert_eq!(
        signature_of(&after),
        derived("a-new-app-secret-0123456789abcdef", "20261130", "eu-west-1")
    );
}
