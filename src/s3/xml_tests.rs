use super::*;

const HEX: &str = "0123456789abcdef0123456789abcdef";

fn rewrite_in_pieces(doc: &str, piece: usize, quoted: bool, empty: Option<&str>) -> String {
    let mut r = EtagRewriter::new(quoted);
    r.replace_empty_with(empty.map(str::to_owned));
    let mut out = Vec::new();
    for chunk in doc.as_bytes().chunks(piece) {
        out.extend(r.feed(chunk));
    }
    out.extend(r.finish());
    String::from_utf8(out).unwrap()
}

#[test]
fn rewrites_etags_in_listings_whatever_the_chunking() {
    let doc = format!(
        "<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>a&lt;ETag&gt;</Key><ETag>\"{}\"</ETag></Contents>\
         <Contents><Key>b</Key><ETag>&quot;{HEX}-3&quot;</ETag></Contents><Contents><ETag>{HEX}</ETag></Contents></ListBucketResult>",
        HEX.to_uppercase()
    );
    let want = format!(
        "<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>a&lt;ETag&gt;</Key><ETag>&quot;{HEX}&quot;</ETag></Contents>\
         <Contents><Key>b</Key><ETag>&quot;{HEX}-3&quot;</ETag></Contents><Contents><ETag>&quot;{HEX}&quot;</ETag></Contents></ListBucketResult>"
    );
    for piece in [1, 2, 3, 5, 6, 7, 13, 64, 4096] {
        assert_eq!(
            rewrite_in_pieces(&doc, piece, true, None),
            want,
            "piece {piece}"
        );
    }
}

#[test]
fn fills_an_empty_etag_when_the_value_is_known() {
    let doc = "<CompleteMultipartUploadResult><Location>x</Location><ETag></ETag></CompleteMultipartUploadResult>";
    let out = rewrite_in_pieces(doc, 4, true, Some(&format!("{HEX}-2")));
    assert!(
        out.contains(&format!("<ETag>&quot;{HEX}-2&quot;</ETag>")),
        "{out}"
    );
    assert_eq!(rewrite_in_pieces(doc, 4, true, None), doc);
}

#[test]
fn unquoted_mode_for_get_object_attributes() {
    let doc = format!(
        "<GetObjectAttributesResponse><ETag>\"{HEX}\"</ETag></GetObjectAttributesResponse>"
    );
    let out = rewrite_in_pieces(&doc, 3, false, None);
    assert_eq!(
        out,
        format!("<GetObjectAttributesResponse><ETag>{HEX}</ETag></GetObjectAttributesResponse>")
    );
}

#[test]
fn passes_oversized_or_unterminated_elements_through() {
    let long = format!("<a><ETag>{}</ETag></a>", "x".repeat(MAX_ELEMENT * 2));
    let just_over = format!("<a><ETag>\"{}\"</ETag></a>", "y".repeat(MAX_ELEMENT));
    for piece in [1, 7, 100, 1024, 4096, 1 << 16] {
        assert_eq!(
            rewrite_in_pieces(&long, piece, true, None),
            long,
            "piece {piece}"
        );
        assert_eq!(
            rewrite_in_pieces(&just_over, piece, true, None),
            just_over,
            "piece {piece}"
        );
    }
    let cut = "<a><ETag>\"abc";
    assert_eq!(rewrite_in_pieces(cut, 2, true, None), cut);
    let no_tags = "plain bytes <ETa and more <ETa";
    assert_eq!(rewrite_in_pieces(no_tags, 3, true, None), no_tags);
}

#[test]
fn collects_part_etags_from_a_complete_request() {
    let doc = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"{HEX}\"</ETag></Part>\
         <Part><PartNumber>2</PartNumber><ETag>&quot;{HEX}&quot;</ETag></Part></CompleteMultipartUpload>"
    );
    let mut whole = PartEtagCollector::default();
    whole.feed(doc.as_bytes());
    let mut pieces = PartEtagCollector::default();
    for c in doc.as_bytes().chunks(3) {
        pieces.feed(c);
    }
    let a = whole.finish().unwrap();
    assert!(a.ends_with("-2"));
    assert_eq!(Some(a), pieces.finish());
}

#[test]
fn extracts_first_element_text() {
    let doc = b"<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>a&amp;b~1</UploadId></InitiateMultipartUploadResult>";
    assert_eq!(first_element(doc, "UploadId").as_deref(), Some("a&b~1"));
    assert_eq!(first_element(doc, "Missing"), None);
    assert_eq!(
        first_element(
            b"<Error><Code>InvalidArgument</Code><Message></Message></Error>",
            "Message"
        )
        .as_deref(),
        Some("")
    );
    assert_eq!(first_element(b"not xml <<<", "Code"), None);
}

proptest::proptest! {
    #[test]
    fn rewriting_never_panics_and_keeps_bytes_without_etags(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), piece in 1usize..64) {
        let mut r = EtagRewriter::new(true);
        let mut out = Vec::new();
        for c in data.chunks(piece) {
            out.extend(r.feed(c));
        }
        out.extend(r.finish());
        if find(&data, b"<ETag>").is_none() {
            proptest::prop_assert_eq!(out, data.clone());
        }
        let mut c = PartEtagCollector::default();
        c.feed(&data);
        let _ = c.finish();
        let _ = first_element(&data, "Code");
    }
}

#[test]
fn collects_the_fields_of_every_record() {
    let doc = b"<ListBucketResult><Name>b</Name><Contents><Key>a &amp; b</Key><Size>1</Size>\
        <Owner><ID>o</ID></Owner></Contents><Contents><Size>2</Size><Key>c&#x2F;d</Key>\
        </Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
    let got = records(doc, "Contents", &["Key", "Size"]).unwrap();
    assert_eq!(
        got,
        [
            [Some("a & b".to_owned()), Some("1".to_owned())],
            [Some("c/d".to_owned()), Some("2".to_owned())],
        ]
    );
    let tags = b"<Tagging><TagSet><Tag><Key>k</Key><Value/></Tag></TagSet></Tagging>";
    assert_eq!(
        records(tags, "Tag", &["Key", "Value"]).unwrap(),
        [[Some("k".to_owned()), Some(String::new())]]
    );
    assert_eq!(records(b"<a><b></a>", "b", &["c"]), None, "not well-formed");
}

#[test]
fn replaces_the_first_element_text_and_nothing_else() {
    let doc = b"<?xml version=\"1.0\"?>\n<ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Key>a&amp;b</Key><UploadId>s&amp;1</UploadId ><Part><ETag>&quot;x&quot;</ETag></Part><UploadId>second</UploadId></ListPartsResult>";
    let out = replace_first_element(doc, "UploadId", "s&1.tag<").unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "<?xml version=\"1.0\"?>\n<ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Key>a&amp;b</Key><UploadId>s&amp;1.tag&lt;</UploadId ><Part><ETag>&quot;x&quot;</ETag></Part><UploadId>second</UploadId></ListPartsResult>"
    );
    // The start of a longer document is enough; an empty element gets the text too.
    let start = b"<R><UploadId></UploadId><Part><PartNumber>1</Par";
    assert_eq!(
        replace_first_element(start, "UploadId", "x").unwrap(),
        b"<R><UploadId>x</UploadId><Part><PartNumber>1</Par"
    );
    assert_eq!(
        replace_first_element(b"<R><Key>k</Key></R>", "UploadId", "x"),
        None
    );
    assert_eq!(
        replace_first_element(b"<R><UploadId><A/></UploadId></R>", "UploadId", "x"),
        None
    );
}

#[test]
fn part_lists_with_multibyte_text_before_etag_are_refused_not_a_panic() {
    let etags = Arc::new(OpaqueEtags::new(&[9; 32]).expect("AES-256")).object("b", "k");
    // The fuzzer's input: "ETag" right after a two-byte character.
    let body = b"\t\x01&lt;UUU\x05<Code\n\"\"\no encodt xm\xdf\xacETag";
    assert!(reveal_part_list(body, &etags).is_err());
    let body = "<Part>é<ETag>x</ETag></Part>\u{7ec}etag".as_bytes();
    assert!(reveal_part_list(body, &etags).is_err());
}

/// A listing's body rewritten in opaque mode (`encoding_asked`: the request named an
/// `encoding-type`), fed in pieces of `piece` bytes.
fn hide_listing(body: &str, encoding_asked: bool, piece: usize) -> String {
    let etags = Arc::new(OpaqueEtags::new(&[9; 32]).expect("AES-256"));
    let mut r = EtagRewriter::new(true);
    r.hide_listing_with(etags, "b", encoding_asked);
    let mut out = Vec::new();
    for c in body.as_bytes().chunks(piece) {
        out.extend(r.feed(c));
    }
    out.extend(r.finish());
    String::from_utf8(out).expect("UTF-8")
}

fn shown(key: &str, store: &str) -> String {
    let etags = Arc::new(OpaqueEtags::new(&[9; 32]).expect("AES-256"));
    let hidden = etags
        .object("b", key)
        .map_bare(store, Direction::Hide)
        .expect("an S3 ETag");
    format!("&quot;{hidden}&quot;")
}

const SAME: &str = "0123456789abcdef0123456789abcdef";

fn entry(key: &str) -> String {
    format!(
        "<Contents><Key>{key}</Key><LastModified>t</LastModified><ETag>&quot;{SAME}&quot;</ETag><Size>1</Size></Contents>"
    )
}

/// A listing of `keys`, with `<EncodingType>` before the entries (`Some(true)`), after
/// them (`Some(false)`, as SeaweedFS writes it) or none.
fn listing(keys: &[&str], encoding: Option<bool>) -> String {
    let encoding_type = "<EncodingType>url</EncodingType>";
    let (before, after) = match encoding {
        Some(true) => (encoding_type, ""),
        Some(false) => ("", encoding_type),
        None => ("", ""),
    };
    format!(
        "<ListBucketResult><Name>b</Name><KeyMarker>m</KeyMarker>{before}{}{after}</ListBucketResult>",
        keys.iter().map(|k| entry(k)).collect::<String>()
    )
}

#[test]
fn listings_hide_each_etag_as_the_object_its_entry_names() {
    // The same content under three names: three unrelated values, each the one HEAD of
    // that object shows.
    let sent = listing(&["a", "a &amp; b", "dir/é"], None);
    let want = sent
        .replacen(&format!("&quot;{SAME}&quot;"), &shown("a", SAME), 1)
        .replacen(&format!("&quot;{SAME}&quot;"), &shown("a & b", SAME), 1)
        .replacen(&format!("&quot;{SAME}&quot;"), &shown("dir/é", SAME), 1);
    for piece in 1..sent.len() {
        assert_eq!(hide_listing(&sent, false, piece), want, "pieces of {piece}");
        assert_eq!(hide_listing(&sent, true, piece), want, "pieces of {piece}");
    }
}

#[test]
fn listing_keys_are_read_percent_encoded_only_when_the_store_says_so() {
    // The store says so, before or after the entries: `+` is a space.
    for at in [true, false] {
        let sent = listing(&["a+%26+b%2Bc%25"], Some(at));
        let got = hide_listing(&sent, true, 7);
        assert!(got.contains(&shown("a & b+c%", SAME)), "{got}");
    }
    // Asked, but the store did not encode (SeaweedFS's ListObjectVersions): the key is
    // the text as written, not the object `a b` a decoding would name.
    let sent = listing(&["a%20b"], None);
    let got = hide_listing(&sent, true, 7);
    assert!(got.contains(&shown("a%20b", SAME)), "{got}");
    assert!(!got.contains(&shown("a b", SAME)), "{got}");
    // Not asked: never decoded.
    let sent = listing(&["a%20b"], Some(true));
    assert!(hide_listing(&sent, false, 7).contains(&shown("a%20b", SAME)));
}

#[test]
fn entries_the_proxy_cannot_name_get_unlinkable_values() {
    let long = "k".repeat(MAX_KEY_ELEMENT + 1);
    for sent in [
        // An ETag before any key.
        format!("<R><ETag>&quot;{SAME}&quot;</ETag></R>"),
        // After a key too long to hold.
        listing(&[&long], None),
        // A key a store wrote with U+FFFD in place of a character XML cannot carry.
        listing(&["a\u{fffd}b"], None),
        listing(&["a%EF%BF%BDb"], Some(true)),
    ] {
        let first = hide_listing(&sent, true, 5);
        let second = hide_listing(&sent, true, 5);
        assert!(!first.contains(SAME));
        assert!(!first.contains(&shown("a\u{fffd}b", SAME)));
        assert!(!first.contains(&shown("", SAME)));
        assert_ne!(first, second, "the value links the entry to something");
    }
}

#[test]
fn a_budget_lends_up_to_its_size_and_takes_back_what_it_lent() {
    let budget = Budget::new(10);
    assert!(budget.take(6));
    assert!(!budget.take(5), "past the size");
    assert!(budget.take(4));
    assert!(!budget.take(1));
    budget.give(6);
    assert!(budget.take(6));
}
