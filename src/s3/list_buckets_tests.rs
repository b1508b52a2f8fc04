//! The ListBuckets filter: buckets outside the scope and the continuation token cut out
//! byte-exactly, everything else kept as sent; names read with their entities resolved; anything the filter
//! cannot read with certainty refused; arbitrary bytes never panic it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;

fn app(name: &str) -> bool {
    name.starts_with("app-")
}

fn bucket(name: &str) -> String {
    format!(
        "<Bucket><Name>{name}</Name><CreationDate>2026-11-30T18:00:00.000Z</CreationDate></Bucket>"
    )
}

/// A store's answer listing `buckets`, with a continuation token.
fn doc(buckets: &str) -> String {
    doc_with(buckets, "<ContinuationToken>tok&lt;en</ContinuationToken>")
}

/// What the filter leaves of [`doc`]`(buckets)` when it keeps every bucket given.
fn shown(buckets: &str) -> String {
    doc_with(buckets, "")
}

fn doc_with(buckets: &str, token: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Owner><ID>owner-id</ID><DisplayName>Owner &amp; Co</DisplayName></Owner>\
         <Buckets>{buckets}</Buckets>\
         {token}<Prefix>a</Prefix>\
         </ListAllMyBucketsResult>"
    )
}

fn filtered(xml: &str) -> Result<String, Malformed> {
    filter(xml.as_bytes(), app).map(|out| String::from_utf8(out).unwrap())
}

#[test]
fn keeps_only_the_allowed_buckets_and_every_other_byte() {
    let input = doc(&[bucket("app-a"), bucket("other-b"), bucket("app-c")].concat());
    let want = shown(&[bucket("app-a"), bucket("app-c")].concat());
    assert_eq!(filtered(&input).unwrap(), want);
}

#[test]
fn a_list_with_no_allowed_bucket_keeps_an_empty_buckets_element() {
    let input = doc(&[bucket("other-a"), bucket("other-b")].concat());
    assert_eq!(filtered(&input).unwrap(), shown(""));
    assert_eq!(filtered(&doc("")).unwrap(), shown(""));
}

#[test]
fn a_pretty_printed_answer_keeps_its_layout_around_the_kept_buckets() {
    let input = "<ListAllMyBucketsResult>\n  <Buckets>\n    <Bucket>\n      <Name>other</Name>\n    </Bucket>\n    <Bucket>\n      <Name>app-1</Name>\n    </Bucket>\n  </Buckets>\n</ListAllMyBucketsResult>\n";
    let want = "<ListAllMyBucketsResult>\n  <Buckets>\n    \n    <Bucket>\n      <Name>app-1</Name>\n    </Bucket>\n  </Buckets>\n</ListAllMyBucketsResult>\n";
    assert_eq!(filtered(input).unwrap(), want);
}

#[test]
fn names_are_read_with_their_entities_and_cdata_resolved() {
    // `&#97;pp-1` is "app-1": allowed, and kept as the store spelled it.
    // `&#111;ther` is "other" and `app&#45;x` is "app-x"; `ap<![CDATA[p-]]>2` is "app-2".
    let kept = [
        bucket("&#97;pp-1"),
        bucket("app&#45;x"),
        bucket("ap<![CDATA[p-]]>2"),
        bucket("app-&lt;&amp;&gt;"),
    ];
    let input = doc(&[
        kept[0].clone(),
        bucket("&#111;ther"),
        kept[1].clone(),
        bucket("<![CDATA[app-]]>&#x2F;"),
        kept[2].clone(),
        kept[3].clone(),
    ]
    .concat());
    // "app-/" is allowed by the test's scope too: only "other" goes.
    let out = filtered(&input).unwrap();
    assert!(!out.contains("&#111;ther"), "{out}");
    for k in &kept {
        assert!(out.contains(k.as_str()), "{k} kept: {out}");
    }
    // Names are compared resolved: "app-&#49;" is "app-1", "app-1&#x41;" is "app-1A".
    let one = |n: &str| n == "app-1";
    let input = doc(&[bucket("app-&#49;"), bucket("app-1&#x41;")].concat());
    assert_eq!(
        filter(input.as_bytes(), one).unwrap(),
        shown(&bucket("app-&#49;")).as_bytes()
    );
}

#[test]
fn the_name_is_the_buckets_own_child_and_prefixed_names_count() {
    let nested = "<Bucket><Owner><Name>app-1</Name></Owner><Name>other</Name></Bucket>";
    assert_eq!(filtered(&doc(nested)).unwrap(), shown(""));
    let prefixed = "<s3:Bucket><s3:Name>other</s3:Name></s3:Bucket><s3:Bucket><s3:Name>app-1</s3:Name></s3:Bucket>";
    assert_eq!(
        filtered(&doc(prefixed)).unwrap(),
        shown("<s3:Bucket><s3:Name>app-1</s3:Name></s3:Bucket>")
    );
    // A <Bucket> outside <Buckets> is still a bucket.
    let stray =
        "<ListAllMyBucketsResult><Bucket><Name>other</Name></Bucket></ListAllMyBucketsResult>";
    assert_eq!(
        filtered(stray).unwrap(),
        "<ListAllMyBucketsResult></ListAllMyBucketsResult>"
    );
}

#[test]
fn the_continuation_token_goes_in_every_spelling() {
    // SeaweedFS's token is the base64 of the next bucket's name, in or out of scope.
    let buckets = bucket("app-a");
    for token in [
        "<ContinuationToken>b3RoZXItYg==</ContinuationToken>",
        "<ContinuationToken/>",
        "<ContinuationToken></ContinuationToken>",
        "<s3:ContinuationToken>b3RoZXItYg==</s3:ContinuationToken>",
        "<ContinuationToken><![CDATA[b3RoZXItYg==]]></ContinuationToken>",
        "<ContinuationToken>b3<!-- c -->Ro</ContinuationToken>",
    ] {
        let input = doc_with(&buckets, token);
        assert_eq!(filtered(&input).unwrap(), shown(&buckets), "{token}");
    }
    // Two are both cut; pretty-printed, the space around it stays.
    let input = doc_with(
        &buckets,
        "\n  <ContinuationToken>x</ContinuationToken>\n  <ContinuationToken>y</ContinuationToken>",
    );
    assert_eq!(filtered(&input).unwrap(), doc_with(&buckets, "\n  \n  "));
    // Only the document's own: an element of that name deeper down is not a token.
    let deep = bucket("app-<ContinuationToken>x</ContinuationToken>");
    assert!(
        filtered(&doc_with(&deep, "")).is_err(),
        "a name holding an element"
    );
    let owner = "<ListAllMyBucketsResult><Owner><ContinuationToken>x</ContinuationToken></Owner></ListAllMyBucketsResult>";
    assert_eq!(filtered(owner).unwrap(), owner);
}

#[test]
fn an_unreadable_answer_is_refused_whole() {
    let refused = [
        // Truncated, mismatched, or not XML at all.
        doc(&bucket("other")).replace("</ListAllMyBucketsResult>", ""),
        doc(&bucket("other")).replace("</Bucket>", "</Bucke>"),
        "not xml".to_owned(),
        String::new(),
        // Another root, or a second document after the first.
        "<Error><Code>x</Code></Error>".to_owned(),
        format!("{}{}", doc(""), doc(&bucket("other"))),
        format!("{}trailing", doc("")),
        // Buckets that cannot be decided.
        doc("<Bucket><CreationDate>x</CreationDate></Bucket>"),
        doc("<Bucket/>"),
        doc("<Bucket><Name>app-1</Name><Name>other</Name></Bucket>"),
        doc("<Bucket><Name>app-<b>1</b></Name></Bucket>"),
        doc("<Bucket><Name>app-1</Name><Bucket><Name>other</Name></Bucket></Bucket>"),
        doc("<Bucket><Name>app-1</Name><Bucket/></Bucket>"),
        doc("<Bucket><Name>&custom;</Name></Bucket>"),
        doc("<Bucket><Name>&#0;</Name></Bucket>"),
        // A document type could define entities.
        format!(
            "<!DOCTYPE x [<!ENTITY e \"other\">]>{}",
            doc("<Bucket><Name>&e;</Name></Bucket>")
        ),
    ];
    for xml in refused {
        assert!(filtered(&xml).is_err(), "accepted: {xml}");
    }
    assert!(
        filter(
            b"<ListAllMyBucketsResult>\xff</ListAllMyBucketsResult>",
            app
        )
        .is_err()
    );
}

#[test]
fn the_error_names_no_bucket() {
    let e = filtered(&doc(
        "<Bucket><Name>secret-name</Name><Name>x</Name></Bucket>",
    ))
    .unwrap_err();
    assert!(!e.to_string().contains("secret-name"), "{e}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_never_grow(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(out) = filter(&bytes, app) {
            prop_assert!(out.len() <= bytes.len());
        }
    }

    #[test]
    fn what_is_kept_is_accepted_again_unchanged_and_holds_no_refused_name(
        pieces in proptest::collection::vec(prop_oneof![
            "(app|other)-[a-z&;#0-9]{0,6}".prop_map(|n| bucket(&n)),
            Just("<Bucket><Name>x</Name><Bucket><Name>app-y</Name></Bucket></Bucket>".to_owned()),
            Just("<!-- c -->".to_owned()),
            Just("\n  ".to_owned()),
            Just("<Other><Name>other-z</Name></Other>".to_owned()),
        ], 0..8)
    ) {
        let input = doc(&pieces.concat());
        if let Ok(kept) = filter(input.as_bytes(), app) {
            let seen = std::cell::RefCell::new(Vec::new());
            let again = filter(&kept, |n| {
                seen.borrow_mut().push(n.to_owned());
                true
            });
            prop_assert_eq!(again.as_deref(), Ok(kept.as_slice()));
            prop_assert!(seen.into_inner().iter().all(|n| app(n)));
        }
    }

    #[test]
    fn every_allowed_bucket_survives_and_no_other(names in proptest::collection::vec("(app-|other-)[a-z0-9]{1,8}", 0..12)) {
        let input = doc(&names.iter().map(|n| bucket(n)).collect::<String>());
        let want = shown(&names.iter().filter(|n| app(n)).map(|n| bucket(n)).collect::<String>());
        prop_assert_eq!(filtered(&input).unwrap(), want);
    }
}
