//! The command line: `validate` accepts good files and names the key path of bad ones;
//! the run command refuses to start on a bad file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use support::{BIN, Pki};

fn config(pki: &Pki, cert: &Path, key: &Path, extra: &str) -> String {
    let _ = pki;
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}\n{extra}\n[upstream]\nendpoint = \"http://127.0.0.1:1\"\n",
        cert.display().to_string(),
        key.display().to_string()
    )
}

fn validate(pki: &Pki, text: &str) -> (bool, String) {
    let path = pki.dir.path().join(format!("v-{}.toml", support::unique()));
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn validate_accepts_a_good_file() {
    let pki = Pki::new();
    let (ok, out) = validate(&pki, &config(&pki, &pki.cert_path, &pki.key_path, ""));
    assert!(ok, "{out}");
    assert!(out.contains("\nok: "), "{out}");
    // It says how Hosts are read and what the store must agree with.
    assert!(
        out.starts_with("addressing: path-style for IP addresses"),
        "{out}"
    );
    assert!(out.contains("rgw_dns_name"), "{out}");
    let vhost = config(&pki, &pki.cert_path, &pki.key_path, "").replace(
        "[upstream]",
        "virtual_host_suffixes = [\"s3.example.com\"]\npath_style_hosts = [\"gw.example.org\"]\n[upstream]",
    );
    let (ok, out) = validate(&pki, &vhost);
    assert!(ok, "{out}");
    assert!(
        out.contains("(gw.example.org)") && out.contains("(s3.example.com)"),
        "{out}"
    );
}

#[test]
fn validate_names_the_key_path_of_each_problem() {
    let pki = Pki::new();
    let good = config(&pki, &pki.cert_path, &pki.key_path, "");
    let (other_cert, other_key) = pki.leaf("other", &["localhost"]);
    let garbage = pki.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a pem file").unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            good.replace("[upstream]", "[upstream]\ntimeout = 3"),
            "upstream.timeout",
        ),
        (
            good.replace("listen = \"127.0.0.1:0\"", "listen = \"localhost:x\""),
            "server.listen",
        ),
        (
            config(&pki, &pki.dir.path().join("missing.pem"), &pki.key_path, ""),
            "server.tls_cert",
        ),
        (config(&pki, &garbage, &pki.key_path, ""), "server.tls_cert"),
        (config(&pki, &pki.cert_path, &garbage, ""), "server.tls_key"),
        (
            config(&pki, &pki.cert_path, &other_key, ""),
            "server.tls_key",
        ),
        (
            config(&pki, &other_cert, &pki.key_path, ""),
            "server.tls_key",
        ),
        (
            good.replace(
                "http://127.0.0.1:1",
                "https://127.0.0.1:1\"\nca_file = \"nope.pem",
            ),
            "upstream.ca_file",
        ),
        (
            good.replace("[upstream]", "admin_listen = \"127.0.0.1\"\n[upstream]"),
            "server.admin_listen",
        ),
        (
            good.replace("[upstream]", "path_style_hosts = [\"a:1\"]\n[upstream]"),
            "server.path_style_hosts[0]",
        ),
        (
            good.replace(
                "[upstream]",
                "virtual_host_suffixes = [\"s3.example.com\"]\npath_style_hosts = [\"gw.example.org\", \"b.s3.example.com\"]\n[upstream]",
            ),
            "server.path_style_hosts[1]",
        ),
    ];
    for (text, key) in cases {
        let (ok, out) = validate(&pki, &text);
        assert!(!ok, "accepted a bad file for {key}: {out}");
        assert!(out.contains(key), "{key} not named in: {out}");
    }
}

#[test]
fn validate_warns_about_keys_over_a_plain_http_upstream() {
    let pki = Pki::new();
    let good = config(&pki, &pki.cert_path, &pki.key_path, "");
    let path = pki.dir.path().join("http.toml");
    std::fs::write(&path, &good).unwrap();
    let out = Command::new(BIN)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: upstream.endpoint: http: customer keys travel to the store unencrypted"
        ),
        "{stderr}"
    );
    std::fs::write(&path, format!("{good}\n[ssec]\ndefault = \"forbid\"\n")).unwrap();
    let out = Command::new(BIN)
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "no SSE-C, no warning"
    );
}

#[test]
fn run_refuses_to_start_with_a_bad_file() {
    let pki = Pki::new();
    let path = pki.dir.path().join("bad.toml");
    std::fs::write(&path, "[server]\nlisten = 1\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.listen"));
}

/// The shell command `proxy.toml` documents for making the certificate and key it names:
/// the comment lines after "To try this file as it is", joined at their backslashes.
fn documented_certificate_command(example: &str) -> String {
    example
        .lines()
        .skip_while(|l| !l.contains("To try this file as it is"))
        .skip_while(|l| !l.starts_with("#   "))
        .take_while(|l| l.starts_with("#   "))
        .map(|l| l.trim_start_matches('#').trim().trim_end_matches('\\'))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn shipped_example_validates_once_its_documented_certificate_command_ran() {
    let pki = Pki::new();
    let dir = pki.dir.path().join("example");
    std::fs::create_dir_all(&dir).unwrap();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/proxy.toml")).unwrap();
    std::fs::write(dir.join("proxy.toml"), &example).unwrap();
    let validate = || {
        Command::new(BIN)
            .args(["validate", "--config"])
            .arg(dir.join("proxy.toml"))
            .output()
            .unwrap()
    };

    // Out of the box the certificate is missing, and validate names it.
    let out = validate();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.pem"));

    let command = documented_certificate_command(&example);
    assert!(command.contains("openssl req"), "{command}");
    let made = Command::new("sh")
        .args(["-c", &command])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{command}: {made:?}");
    let out = validate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The resign tables, naming secret files in `pki.dir` (written by [`secret_files`]).
const RESIGN: &str = r#"
[upstream.credentials]
access_key = "STOREACCESSKEY000001"
secret_key_file = "secrets/store.secret"

[auth]
mode = "resign"
binding_key_file = "secrets/binding.key"

[[auth.clients]]
access_key = "APPACCESSKEY00000001"
secret_key_file = "secrets/app.secret"
buckets = ["app-*"]
"#;

const APP_SECRET: &str = "app-secret-do-not-print-0123456789";

fn secret_files(pki: &Pki) {
    let dir = pki.dir.path().join("secrets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.secret"), format!("{APP_SECRET}\n")).unwrap();
    std::fs::write(dir.join("store.secret"), "store-secret-do-not-print\r\n").unwrap();
    // base64 of 32 bytes, as `openssl rand -base64 32` writes it.
    std::fs::write(
        dir.join("binding.key"),
        "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n",
    )
    .unwrap();
}

#[test]
fn validate_accepts_a_resign_file_and_says_so_without_a_secret() {
    let pki = Pki::new();
    secret_files(&pki);
    let text = config(&pki, &pki.cert_path, &pki.key_path, "") + RESIGN;
    let (ok, out) = validate(&pki, &text);
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "\nauth.mode: resign (1 client; region us-east-1; store region us-east-1; binding key set; key injection off)\n"
        ),
        "{out}"
    );
    assert!(out.contains("\nok: "), "{out}");
    assert!(!out.contains("do-not-print"), "{out}");
    assert!(
        !out.contains("auth.clients[0].secret_key:"),
        "no inline warning: {out}"
    );
    let (ok, out) = validate(&pki, &config(&pki, &pki.cert_path, &pki.key_path, ""));
    assert!(ok && out.contains("\nauth.mode: passthrough\n"), "{out}");
}

#[test]
fn validate_names_the_key_path_of_each_unusable_secret_file() {
    let pki = Pki::new();
    secret_files(&pki);
    let good = config(&pki, &pki.cert_path, &pki.key_path, "") + RESIGN;
    std::fs::write(pki.dir.path().join("secrets/empty.secret"), "\n").unwrap();
    std::fs::write(pki.dir.path().join("secrets/short.key"), [0u8; 31]).unwrap();
    for (text, key, problem) in [
        (
            good.replace("secrets/app.secret", "secrets/missing.secret"),
            "auth.clients[0].secret_key_file",
            "missing.secret: cannot read",
        ),
        (
            good.replace("secrets/store.secret", "secrets/empty.secret"),
            "upstream.credentials.secret_key_file",
            "empty.secret: is empty",
        ),
        (
            good.replace("secrets/binding.key", "secrets/short.key"),
            "auth.binding_key_file",
            "short.key: is 31 bytes and not base64 text",
        ),
        (
            good.replace("[upstream.credentials]", "[upstream.credential]"),
            "upstream.credential",
            "unknown key",
        ),
        (
            good.replace("mode = \"resign\"", "mode = \"passthrough\""),
            "auth.binding_key_file",
            "needs auth.mode = \"resign\"",
        ),
    ] {
        let (ok, out) = validate(&pki, &text);
        assert!(!ok, "accepted a bad file for {key}: {out}");
        assert!(
            out.contains(&format!("{key}: ")),
            "{key} not named in: {out}"
        );
        assert!(out.contains(problem), "{problem} not in: {out}");
        assert!(!out.contains("do-not-print"), "{out}");
    }
}

#[test]
fn validate_warns_about_an_inline_secret_without_printing_it() {
    let pki = Pki::new();
    secret_files(&pki);
    let text = config(&pki, &pki.cert_path, &pki.key_path, "")
        + &RESIGN.replace(
            "secret_key_file = \"secrets/app.secret\"",
            &format!("secret_key = \"{APP_SECRET}\""),
        );
    let (ok, out) = validate(&pki, &text);
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: auth.clients[0].secret_key: the secret is written in the configuration file; outside tests use auth.clients[0].secret_key_file"),
        "{out}"
    );
    assert!(!out.contains("do-not-print"), "{out}");
}

#[test]
fn run_refuses_a_resign_file_whose_secret_file_is_missing() {
    let pki = Pki::new();
    secret_files(&pki);
    std::fs::remove_file(pki.dir.path().join("secrets/app.secret")).unwrap();
    let path = pki.dir.path().join("resign.toml");
    std::fs::write(
        &path,
        config(&pki, &pki.cert_path, &pki.key_path, "") + RESIGN,
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("auth.clients[0].secret_key_file"),
        "{stderr}"
    );
}
