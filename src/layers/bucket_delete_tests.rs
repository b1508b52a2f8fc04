use super::*;

#[test]
fn a_listing_holds_anything_with_an_object_a_version_or_a_delete_marker() {
    let empty_v2 = br#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#;
    let empty_versions = br#"<ListVersionsResult><Name>b</Name><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListVersionsResult>"#;
    assert!(!holds_anything(empty_v2).unwrap());
    assert!(!holds_anything(empty_versions).unwrap());
    // An entry's name deeper down is not an entry.
    let nested =
        br#"<ListBucketResult><CommonPrefixes><Contents/></CommonPrefixes></ListBucketResult>"#;
    assert!(!holds_anything(nested).unwrap());
    for listing in [
        &br#"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>"#[..],
        br#"<ListVersionsResult><Version><Key>a</Key><VersionId>null</VersionId></Version></ListVersionsResult>"#,
        br#"<ListVersionsResult><DeleteMarker><Key>a</Key></DeleteMarker><IsTruncated>true</IsTruncated></ListVersionsResult>"#,
        br#"<s3:ListBucketResult xmlns:s3="x"><s3:Contents/></s3:ListBucketResult>"#,
    ] {
        assert!(holds_anything(listing).unwrap());
    }
}

#[test]
fn an_unreadable_listing_fails_closed() {
    for listing in [
        &b"<ListVersionsResult><Version>"[..],
        b"<ListVersionsResult>",
        b"",
        b"</a>",
        b"<a></b>",
        b"<a/><b/>",
        b"<a></a><b><Contents/></b>",
    ] {
        assert!(matches!(
            holds_anything(listing),
            Err(ProxyError::BadGateway(_))
        ));
    }
}

#[test]
fn bucket_not_empty_is_s3s_answer() {
    let e = not_empty();
    assert_eq!(e.status(), StatusCode::CONFLICT);
    assert_eq!(e.code.as_str(), "BucketNotEmpty");
    assert_eq!(e.reason, Some(Reason::BucketNotEmpty));
}
