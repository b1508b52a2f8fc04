//! The streaming `<ETag>` rewriter and part-ETag collector (`s3::xml`), single-element
//! extraction (`s3::xml::first_element`), every element's text (`element_texts`, the
//! DeleteObjects key reader), and ETag canonicalisation (`s3::etag`) on
//! arbitrary bytes fed in arbitrary pieces.
//!
//! Input: byte 0 = flags (bit 0: quoted output; bit 1: `replace_empty_with` set;
//! bits 2-3: canonical, opaque for one object, opaque listing, opaque listing with
//! percent-encoded keys; bits 4-6: element name for `first_element`), byte 1 = seed
//! of the chunking, the rest = the body.
//!
//! Invariants:
//! - a body without `<ETag>` comes out of the rewriter byte for byte, however chunked;
//! - a body no longer than `MAX_ELEMENT` (so no element can reach the give-up limit)
//!   is rewritten and collected the same whatever the chunking (in listing modes, to
//!   the same length: unnamed entries get random values);
//! - rewriting in canonical mode is idempotent;
//! - `element_texts` finds no more texts than the body has elements of that name, and
//!   (it never panics);
//! - `canonical_header`/`canonical_xml` are idempotent and give well-formed tags;
//! - opaque ETags (`s3::opaque`): a part list the revealer takes keeps its length and
//!   holds no `ETag` but in `<ETag>` elements whose values it mapped; mapping a value
//!   keeps its length and wrapping, and revealing undoes hiding; a revealed condition
//!   holds only `*`, quoted 32-hex tags and the unmatched value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::etag::{canonical_header, canonical_xml};
use ssec_proxy::s3::opaque::{Direction, ObjectEtags, OpaqueEtags, UNMATCHED};
use ssec_proxy::s3::xml::{
    EtagRewriter, MAX_ELEMENT, PartEtagCollector, element_texts, first_element, reveal_part_list,
};
use std::sync::{Arc, LazyLock};

#[path = "../common/chunking.rs"]
mod chunking;
use chunking::chunking;

const NAMES: [&str; 8] = [
    "ETag", "Code", "UploadId", "Key", "Message", "Error", "Bucket", "",
];
const EMPTY_VALUE: &str = "0123456789abcdef0123456789abcdef-2";

/// How the rewriter hides values.
#[derive(Clone, Copy)]
enum Mode {
    Canonical,
    Object,
    /// A listing, its keys percent-encoded or not.
    Listing(bool),
}

fn rewrite(body: &[u8], sizes: &[usize], quoted: bool, empty: bool, mode: Mode) -> Vec<u8> {
    let mut r = EtagRewriter::new(quoted);
    r.replace_empty_with(empty.then(|| EMPTY_VALUE.to_owned()));
    match mode {
        Mode::Canonical => {}
        Mode::Object => r.hide_with(OBJECT.clone()),
        Mode::Listing(url) => r.hide_listing_with(Arc::clone(&ETAGS), "b", url),
    }
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut pos = 0;
    for &n in sizes {
        out.extend(r.feed(&body[pos..pos + n]));
        pos += n;
    }
    // An empty piece is allowed anywhere.
    out.extend(r.feed(&[]));
    out.extend(r.finish());
    out
}

fn collect(body: &[u8], sizes: &[usize]) -> Option<String> {
    let mut c = PartEtagCollector::default();
    let mut pos = 0;
    for &n in sizes {
        c.feed(&body[pos..pos + n]);
        pos += n;
    }
    c.finish()
}

static ETAGS: LazyLock<Arc<OpaqueEtags>> =
    LazyLock::new(|| Arc::new(OpaqueEtags::new(&[5; 32]).expect("AES-256")));
static OBJECT: LazyLock<ObjectEtags> = LazyLock::new(|| ETAGS.object("b", "k"));

fn check_part_list(body: &[u8]) {
    let Ok(revealed) = reveal_part_list(body, &OBJECT) else {
        return;
    };
    assert_eq!(revealed.len(), body.len(), "revealing changed the length");
    let text = std::str::from_utf8(&revealed).expect("taken as UTF-8");
    assert!(!text.contains("<!") && !text.contains("&#"));
    // Every ETag element holds one S3 ETag, and hiding it gives back what was sent.
    let mut pos = 0;
    while let Some(i) = text[pos..].find("<ETag>") {
        let start = pos + i + "<ETag>".len();
        let len = text[start..].find("</ETag>").expect("terminated");
        let store = &text[start..start + len];
        let sent = std::str::from_utf8(&body[start..start + len]).expect("UTF-8");
        let hidden = OBJECT
            .map_wrapped(store, Direction::Hide)
            .expect("an S3 ETag");
        assert_eq!(hidden.to_ascii_lowercase(), sent.to_ascii_lowercase());
        pos = start + len;
    }
}

fn check_opaque(text: &str) {
    if let Some(hidden) = OBJECT.map_wrapped(text, Direction::Hide) {
        assert_eq!(hidden.len(), text.len(), "{text:?} -> {hidden:?}");
        let back = OBJECT
            .map_wrapped(&hidden, Direction::Reveal)
            .expect("a hidden value reveals");
        assert_eq!(back.to_ascii_lowercase(), text.to_ascii_lowercase());
    }
    for item in OBJECT.reveal_condition(text).split(", ") {
        let tag = item.strip_prefix("W/").unwrap_or(item);
        let hex = tag.trim_matches('"').split('-').next().unwrap_or_default();
        assert!(
            item == "*"
                || tag == UNMATCHED
                || (tag.len() >= 34
                    && tag.starts_with('"')
                    && tag.ends_with('"')
                    && hex.len() == 32
                    && hex.bytes().all(|b| b.is_ascii_hexdigit())),
            "{text:?} -> {item:?}"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn check_canonical(text: &str) {
    if let Some(fixed) = canonical_header(text) {
        assert!(fixed.len() >= 3 && fixed.starts_with('"') && fixed.ends_with('"'));
        assert!(fixed.bytes().all(|b| b.is_ascii_graphic()), "{fixed:?}");
        assert_eq!(
            canonical_header(&fixed),
            None,
            "header not idempotent: {fixed:?}"
        );
    }
    for quoted in [true, false] {
        if let Some(fixed) = canonical_xml(text, quoted) {
            assert!(!fixed.contains(['<', '"']), "{fixed:?}");
            if quoted {
                assert!(fixed.starts_with("&quot;") && fixed.ends_with("&quot;"));
            }
            assert_eq!(
                canonical_xml(&fixed, quoted),
                None,
                "xml (quoted={quoted}) not idempotent: {fixed:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, body @ ..] = data else {
        return;
    };
    let quoted = flags & 1 == 1;
    let empty = flags & 2 == 2;
    let name = NAMES[usize::from(flags >> 4) % NAMES.len()];
    let mode = match (flags >> 2) & 3 {
        0 => Mode::Canonical,
        1 => Mode::Object,
        n => Mode::Listing(n == 3),
    };

    let whole = [body.len()];
    let random = chunking(*seed, body.len());
    let out_whole = rewrite(body, &whole, quoted, empty, mode);
    let out_random = rewrite(body, &random, quoted, empty, mode);

    if !contains(body, b"<ETag>") {
        assert_eq!(out_whole, body, "body without <ETag> changed (whole)");
        assert_eq!(out_random, body, "body without <ETag> changed ({random:?})");
    }

    let collected = collect(body, &random);
    if body.len() <= MAX_ELEMENT {
        let ones = vec![1; body.len()];
        let out_ones = rewrite(body, &ones, quoted, empty, mode);
        if matches!(mode, Mode::Listing(_)) {
            // Entries the proxy cannot name get fresh random values: only their
            // lengths are fixed.
            assert_eq!(out_random.len(), out_whole.len(), "chunking {random:?}");
            assert_eq!(out_ones.len(), out_whole.len(), "byte-by-byte feeding");
        } else {
            assert_eq!(
                out_random, out_whole,
                "chunking {random:?} changed the output"
            );
            assert_eq!(
                out_ones, out_whole,
                "byte-by-byte feeding changed the output"
            );
        }
        assert_eq!(
            collected,
            collect(body, &whole),
            "chunking changed the part ETag"
        );
        assert_eq!(
            collected,
            collect(body, &ones),
            "byte-by-byte changed the part ETag"
        );
    }
    if let Some(etag) = &collected {
        assert!(etag.len() >= 34 && etag.as_bytes()[32] == b'-', "{etag}");
    }

    // Idempotent: a rewritten body is left as it is (canonical mode: opaque values
    // are hidden again on every pass).
    if matches!(mode, Mode::Canonical) {
        assert_eq!(
            rewrite(&out_whole, &[out_whole.len()], quoted, empty, mode),
            out_whole,
            "rewriting is not idempotent"
        );
    }

    let _ = first_element(body, name);
    let _ = first_element(&out_whole, "ETag");
    check_element_texts(body, name);

    check_part_list(body);

    check_canonical(&String::from_utf8_lossy(body));
    check_opaque(&String::from_utf8_lossy(body));
    if let Ok(inner) = std::str::from_utf8(body) {
        // Each line as a separate header value, as the store sends them one by one.
        for line in inner.lines().take(8) {
            check_canonical(line);
            check_opaque(line);
        }
    }
});

/// `element_texts` never panics and finds at most as many texts as start tags.
fn check_element_texts(body: &[u8], name: &str) {
    let Ok(texts) = element_texts(body, name) else {
        return;
    };
    if name.is_empty() {
        return;
    }
    let tags = String::from_utf8_lossy(body).matches('<').count();
    assert!(texts.len() <= tags, "more texts than tags");
}
