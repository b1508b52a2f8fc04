//! POST Object form parsing (`s3::form::parse`) and the boundary parameter of the
//! Content-Type (`s3::form::boundary`).
//!
//! Input: the first line (up to `\n`) is a Content-Type value, the rest is the body.
//! The boundary is `form::boundary(content_type)`, or, when it has none, the first
//! line itself (any string: `parse` is public and must not panic on any boundary).
//!
//! Invariants: a boundary found is 1..=70 bytes; the proxy parses the body as it
//! arrives, so for every cut, a prefix that is not `Incomplete` gives the same answer
//! as the whole body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::form::{self, Parsed};

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
        Some(b) => {
            assert!(!b.is_empty() && b.len() <= 70, "boundary {b:?}");
            b
        }
        None => content_type.into_owned(),
    };

    let whole = form::parse(body, &boundary);
    if let Parsed::Fields(fields) = &whole {
        for name in FIELDS {
            let _ = fields.get(name);
        }
        let _ = format!("{fields:?}");
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
