//! POST Object form parsing (`s3::form::parse`), the boundary parameter of the
//! Content-Type (`s3::form::boundary`) and the streaming check of the file part's
//! content (`s3::form::Tail`).
//!
//! Input: the first line (up to `\n`) is a Content-Type value, the rest is the body.
//! The boundary is `form::boundary(content_type)`, or, when it is refused, the first
//! line itself (any string: `parse` and `Tail` are public and must not panic on any
//! boundary).
//!
//! Invariants: an accepted boundary is 1..=70 RFC 2046 characters without space; the
//! proxy parses the body as it arrives, so for every cut, a prefix that is not
//! `Incomplete` gives the same answer as the whole body; the fields read contain no
//! `--boundary` and no name twice; the tail's verdict does not depend on how the body
//! is split into frames, and matches a naive reading (the first `--boundary` after the
//! file's first byte must be CRLF `--boundary--`).
//!
//! Resign mode on the fields read: the form signature check (`Verifier::verify_form`)
//! and the policy (`PostPolicy`) refuse with a 4xx and never panic; the form rewritten
//! for the store (`form::rewrite::for_store`) is never an internal error (the fields it
//! writes always read back), parses, verifies under the store's key, and ends with the
//! client's bytes from the file part on.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::error::S3ErrorCode;
use ssec_proxy::s3::form::policy::{LengthRange, PostPolicy};
use ssec_proxy::s3::form::rewrite::{StoreSigner, for_store};
use ssec_proxy::s3::form::{self, Ambiguity, Fields, Parsed, Tail};
use ssec_proxy::s3::sigv4::{SecretKey, SigningKey, Verifier};

#[path = "../common/chunking.rs"]
mod chunking;
use chunking::chunking;

const FIELDS: [&str; 6] = [
    "key",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
    "policy",
    "file",
];

fuzz_target!(|data: &[u8]| {
    let (first, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let content_type = String::from_utf8_lossy(first);
    let boundary = match form::boundary(&content_type) {
        Ok(b) => {
            assert!(!b.is_empty() && b.len() <= 70, "boundary {b:?}");
            assert!(!b.contains([' ', '"', '\\', ';']), "boundary {b:?}");
            b
        }
        Err(_) => content_type.into_owned(),
    };
    let delimiter = format!("--{boundary}").into_bytes();

    let whole = form::parse(body, &boundary);
    if let Parsed::Fields(fields) = &whole {
        for name in FIELDS {
            if let Some(value) = fields.get(name) {
                assert!(find(value, &delimiter).is_none(), "boundary in {name}");
            }
        }
        let _ = format!("{fields:?}");
        if let Some(at) = fields.file_at() {
            assert!(at <= body.len());
            check_tail(&boundary, &delimiter, &body[at..]);
        }
        check_resign(&boundary, body, fields);
    }

    // Any cut for small bodies, a spread of cuts for larger ones.
    let step = (body.len() / 64).max(1);
    for cut in (0..body.len()).step_by(step) {
        let part = form::parse(&body[..cut], &boundary);
        if part != Parsed::Incomplete {
            assert_eq!(
                part, whole,
                "prefix of {cut} bytes disagrees with the whole body"
            );
        }
    }
});

const CLIENT: &str = "FUZZCLIENT";
const STORE: &str = "FUZZSTORE";

/// The form signature, the policy and the rewrite for the store, on the fields read.
fn check_resign(boundary: &str, body: &[u8], fields: &Fields) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let clients = |key: &str| (key == CLIENT).then(|| SecretKey::new("fuzz-client-secret"));
    if let Err(e) = Verifier::new("us-east-1").verify_form(fields, &clients) {
        let status = e.code.status().as_u16();
        assert!(matches!(status, 400 | 403), "{:?} is {status}", e.code);
    }
    let mut range = LengthRange::ANY;
    if let Some(Ok(policy)) = form::policy::encoded(fields).map(PostPolicy::decode) {
        let _ = policy.check(fields, "bucket", fields.filename(), now);
        range = policy.length_range();
    }
    let secret = SecretKey::new("fuzz-store-secret");
    let key_for = |day: &str| SigningKey::derive(&secret, day, "store-region", "s3");
    let signer = StoreSigner {
        access_key_id: STORE,
        region: "store-region",
        key_for: &key_for,
    };
    let out = match for_store(body, boundary, fields, "bucket", range, &signer, now, None) {
        Ok((out, injected)) => {
            assert!(injected.is_none(), "nothing to inject, no store fields");
            out
        }
        Err(e) => {
            assert_ne!(e.code, S3ErrorCode::InternalError, "{e}");
            return;
        }
    };
    let Parsed::Fields(back) = form::parse(&out, boundary) else {
        panic!("the store's form does not parse");
    };
    let stores = |key: &str| (key == STORE).then(|| SecretKey::new("fuzz-store-secret"));
    match Verifier::new("store-region").verify_form(&back, &stores) {
        Ok(signed) => assert_eq!(signed.access_key_id, STORE),
        Err(e) => panic!("the store's form does not verify: {e}"),
    }
    assert_eq!(&out[back.rest_at()..], &body[fields.rest_at()..]);
}

/// The tail's verdict on `rest`, whole and in frames, against a naive reading.
fn check_tail(boundary: &str, delimiter: &[u8], rest: &[u8]) {
    let run = |pieces: &[usize]| {
        let mut tail = Tail::new(boundary);
        let mut from = 0;
        for &len in pieces {
            tail.feed(&rest[from..from + len])?;
            from += len;
        }
        tail.finish()
    };
    let whole = run(&[rest.len()]);
    let seed = rest.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    assert_eq!(
        run(&chunking(seed, rest.len())),
        whole,
        "framing changed the verdict"
    );
    let naive = match find(rest, delimiter) {
        None => Err(Ambiguity::Unterminated),
        Some(p) if p < 2 || &rest[p - 2..p] != b"\r\n" => Err(Ambiguity::BoundaryInPart),
        Some(p) => match &rest[p + delimiter.len()..] {
            [b'-', b'-', ..] => Ok(()),
            [] | [b'-'] => Err(Ambiguity::Unterminated),
            _ => Err(Ambiguity::AfterFile),
        },
    };
    assert_eq!(whole, naive, "tail verdict");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
