//! The ListBuckets filter (`s3::list_buckets::filter`) on arbitrary bytes.
//!
//! Input: byte 0 = the scope (names allowed: those whose first byte is at most it), the
//! rest = the store's answer.
//!
//! Invariants:
//! - it never panics, and its output is never longer than its input;
//! - a scope that allows every name changes nothing;
//! - what it keeps, filtered again, is accepted and unchanged, and every bucket name in
//!   it is one the scope allows (nothing refused survives).

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::list_buckets::filter;

fuzz_target!(|data: &[u8]| {
    let [limit, body @ ..] = data else {
        return;
    };
    let allows = |name: &str| name.bytes().next().is_none_or(|b| b <= *limit);
    let Ok(kept) = filter(body, allows) else {
        return;
    };
    assert!(kept.len() <= body.len());
    assert_eq!(
        filter(body, |_| true).as_deref(),
        Ok(body),
        "allow-all changed it"
    );
    let seen = RefCell::new(Vec::new());
    let again = filter(&kept, |name| {
        seen.borrow_mut().push(name.to_owned());
        true
    })
    .expect("the filtered document is accepted again");
    assert_eq!(again, kept);
    for name in seen.into_inner() {
        assert!(allows(&name), "a refused bucket survived: {name:?}");
    }
});
