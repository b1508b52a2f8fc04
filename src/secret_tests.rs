//! Secret files as operators write them (trailing newline, CRLF, base64 with and
//! without padding) and as they break (empty, short, long, missing, unreadable), and
//! that no output ever carries the secret.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KEY: &str = "auth.clients[0].secret_key_file";

fn file_with(content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

fn secret_from(content: &[u8]) -> Result<Secret, SecretError> {
    let (_dir, path) = file_with(content);
    read_secret_access_key(&path, KEY, 16)
}

fn key_from(content: &[u8]) -> Result<Key32, SecretError> {
    let (_dir, path) = file_with(content);
    read_key32(&path, "auth.binding_key_file")
}

fn key_bytes() -> [u8; 32] {
    // Whitespace bytes at both ends: a raw key is taken as it is, never trimmed.
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    key[0] = b'\n';
    key[31] = b' ';
    key
}

#[test]
fn a_secret_file_ignores_surrounding_whitespace() {
    for content in [
        SECRET.to_owned(),
        format!("{SECRET}\n"),
        format!("{SECRET}\r\n"),
        format!("  {SECRET}\t\n\n"),
    ] {
        let secret = secret_from(content.as_bytes()).unwrap();
        assert_eq!(secret.expose(), SECRET.as_bytes(), "{content:?}");
    }
}

#[test]
fn a_secret_file_must_hold_one_line_of_visible_ascii() {
    for (content, problem) in [
        ("", "is empty"),
        (" \r\n\t", "is empty"),
        ("abcdefgh ijklmnopqr", "not visible ASCII"),
        ("abcdefghij\nklmnopqr", "not visible ASCII"),
        ("abcdéfghijklmnopqr", "not visible ASCII"),
        ("short-secret", "is 12 characters; at least 16 are required"),
    ] {
        let e = secret_from(content.as_bytes()).unwrap_err();
        assert!(e.to_string().contains(problem), "{content:?}: {e}");
        assert_eq!(e.key, KEY);
    }
}

#[test]
fn a_missing_or_unreadable_secret_file_is_named_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.secret");
    let e = read_secret_access_key(&missing, KEY, 1).unwrap_err();
    assert_eq!(e.key, KEY);
    assert_eq!(e.file, missing.display().to_string());
    assert!(e.problem.starts_with("cannot read: "), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("{KEY}: {}: cannot read", missing.display())),
        "{e}"
    );

    let e = read_key32(dir.path(), "auth.binding_key_file").unwrap_err();
    assert_eq!(e.problem, "is not a regular file");

    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).unwrap();
    assert!(
        read_secret_access_key(&dangling, KEY, 1)
            .unwrap_err()
            .problem
            .starts_with("cannot read")
    );
}

#[test]
fn an_unreadable_secret_file_is_refused_as_the_os_refuses_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path) = file_with(SECRET.as_bytes());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads it anyway; then so does the proxy.
    match std::fs::read(&path) {
        Ok(_) => assert!(read_secret_access_key(&path, KEY, 1).is_ok()),
        Err(_) => {
            let e = read_secret_access_key(&path, KEY, 1).unwrap_err();
            assert!(e.problem.contains("ermission denied"), "{e}");
        }
    }
}

#[test]
fn a_secret_file_larger_than_the_bound_is_refused_unread() {
    let e = secret_from(&vec![b'a'; MAX_SECRET_FILE + 1]).unwrap_err();
    assert_eq!(
        e.problem,
        "is larger than 4096 bytes; a secret file holds one key"
    );
    // At the bound it is read (and then judged as a secret).
    assert!(secret_from(&vec![b'a'; MAX_SECRET_FILE]).is_ok());
}

#[test]
fn a_key_file_holds_32_raw_bytes_or_their_base64() {
    let key = key_bytes();
    let raw = key_from(&key).unwrap();
    assert_eq!(raw.expose(), &key);
    for text in [
        STANDARD.encode(key),
        STANDARD_NO_PAD.encode(key),
        format!("{}\n", STANDARD.encode(key)),
        format!("{}\r\n", STANDARD_NO_PAD.encode(key)),
        format!("  {}  \n", STANDARD.encode(key)),
    ] {
        assert_eq!(key_from(text.as_bytes()).unwrap(), raw, "{text:?}");
    }
}

#[test]
fn a_key_file_of_any_other_length_is_refused_with_its_length() {
    let key = key_bytes();
    let mut with_newline = key.to_vec();
    with_newline.push(b'\n');
    for (content, problem) in [
        (key[..31].to_vec(), "is 31 bytes and not base64 text"),
        ([&key[..], b"x"].concat(), "is 33 bytes and not base64 text"),
        (with_newline, "is 33 bytes and not base64 text"),
        (Vec::new(), "is empty"),
        (b"\n\n".to_vec(), "is empty"),
        (
            STANDARD.encode(&key[..16]).into_bytes(),
            "is base64 text of 16 bytes; a key is exactly 32 bytes",
        ),
        (
            STANDARD.encode([key, key].concat()).into_bytes(),
            "is base64 text of 64 bytes",
        ),
        (
            STANDARD.encode([key, key, key, key].concat()).into_bytes(),
            "is base64 text of more than 96 bytes",
        ),
        (
            STANDARD.encode([&key[..], b"x"].concat()).into_bytes(),
            "is base64 text of 33 bytes",
        ),
    ] {
        let e = key_from(&content).unwrap_err();
        assert!(e.problem.starts_with(problem), "{content:?}: {e}");
        assert_eq!(e.key, "auth.binding_key_file");
    }
}

#[test]
fn a_key_file_in_the_url_safe_alphabet_is_refused() {
    // Chosen so that the URL-safe text has `-` or `_`.
    let key = [0xfb; 32];
    let text = URL_SAFE_NO_PAD.encode(key);
    assert!(text.contains(['-', '_']));
    assert!(key_from(text.as_bytes()).is_err());
}

#[test]
fn no_error_and_no_debug_output_carries_the_secret() {
    let secret = secret_from(SECRET.as_bytes()).unwrap();
    let key = key_from(STANDARD.encode(key_bytes()).as_bytes()).unwrap();
    for shown in [
        format!("{secret:?}"),
        format!("{key:?}"),
        format!("{:#?}", (&secret, &key)),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(!shown.contains("10, 48"), "no key byte in {shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    // A file that is almost right: its content appears in no error.
    for content in [
        format!("{SECRET} {SECRET}"),
        format!("{SECRET}\nSECONDLINE"),
        "tooshortSECRET".to_owned(),
    ] {
        let e = secret_from(content.as_bytes()).unwrap_err().to_string();
        assert!(!e.contains("SECRET") && !e.contains("wJalr"), "{e}");
    }
    let e = key_from(b"notbase64!!SECRETSECRET")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("SECRET"), "{e}");
}

#[test]
fn secrets_compare_by_content() {
    let a = secret_access_key(SECRET.as_bytes(), 1).unwrap();
    assert_eq!(a, secret_access_key(SECRET.as_bytes(), 1).unwrap());
    assert_ne!(a, secret_access_key(&SECRET.as_bytes()[1..], 1).unwrap());
    assert_ne!(
        a,
        secret_access_key(SECRET.replace('Y', "Z").as_bytes(), 1).unwrap()
    );
    let k = key32(&key_bytes()).unwrap();
    assert_eq!(k, key32(&key_bytes()).unwrap());
    assert_ne!(k, key32(&[0; 32]).unwrap());
}
