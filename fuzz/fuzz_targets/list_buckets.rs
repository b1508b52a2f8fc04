//! The ListBuckets filter (`s3::list_buckets::filter`) on arbitrary bytes.
//!
//! Input: byte 0 = the scope (names allowed: those whose first byte is at most it), the
//! rest = the store's answer.
//!
//! Invariants:
//! - it never panics, and its output is never longer than its input;
//! - a scope that allows every name keeps every bucket, in order (it drops only the
//!   document's `<ContinuationToken>`), and its output is accepted again unchanged;
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
    // Every bucket name a filter that allows all reads in `xml`, and what it keeps.
    let every = |xml: &[u8]| {
        let seen = RefCell::new(Vec::new());
        let out = filter(xml, |name| {
            seen.borrow_mut().push(name.to_owned());
            true
        });
        (out, seen.into_inner())
    };
    let (all, names) = every(body);
    let all = all.expect("accepted under one scope, so under any");
    let (all_again, names_again) = every(&all);
    assert_eq!(
        all_again.as_deref(),
        Ok(all.as_slice()),
        "allow-all is not stable"
    );
    assert_eq!(names_again, names, "allow-all dropped a bucket");
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
