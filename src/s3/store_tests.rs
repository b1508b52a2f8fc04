use super::*;
use crate::s3::ssec::KeyDigest;
use http::StatusCode;

/// Every store setting.
const EVERY_STORE: [Store; 5] = [
    Store::Generic,
    Store::Rgw,
    Store::Seaweedfs,
    Store::Minio,
    Store::Garage,
];

fn checked(dest: Option<u8>, source: Option<u8>) -> Checked {
    Checked {
        destination: dest.map(|b| KeyDigest::of_key(&[b; 32])),
        source: source.map(|b| KeyDigest::of_key(&[b; 32])),
    }
}

#[test]
fn refuses_what_each_store_gets_wrong() {
    use S3Op::*;
    let rows = [
        (Store::Rgw, CopyObject, checked(Some(1), None), true),
        (Store::Rgw, CopyObject, checked(None, Some(1)), true),
        (Store::Rgw, CopyObject, checked(None, None), false),
        (Store::Rgw, UploadPartCopy, checked(Some(1), Some(1)), false),
        (Store::Rgw, UploadPartCopy, checked(Some(1), Some(2)), true),
        (Store::Rgw, UploadPartCopy, checked(None, Some(2)), true),
        (Store::Rgw, UploadPartCopy, checked(Some(1), None), false),
        (
            Store::Seaweedfs,
            UploadPartCopy,
            checked(Some(1), None),
            true,
        ),
        (
            Store::Seaweedfs,
            UploadPartCopy,
            checked(None, Some(1)),
            true,
        ),
        (Store::Seaweedfs, UploadPartCopy, checked(None, None), false),
        (Store::Seaweedfs, CopyObject, checked(None, Some(1)), true),
        (
            Store::Seaweedfs,
            CopyObject,
            checked(Some(2), Some(1)),
            false,
        ),
        (Store::Seaweedfs, CopyObject, checked(Some(2), None), false),
        (Store::Generic, CopyObject, checked(Some(1), Some(2)), false),
        (
            Store::Minio,
            UploadPartCopy,
            checked(Some(1), Some(2)),
            false,
        ),
        (Store::Garage, CopyObject, checked(Some(1), None), false),
        (Store::Rgw, RenameObject, checked(None, None), true),
        (Store::Seaweedfs, RenameObject, checked(None, None), true),
        (Store::Generic, RenameObject, checked(None, None), true),
        (Store::Minio, RenameObject, checked(None, None), true),
        (Store::Garage, RenameObject, checked(None, None), true),
        // Bucket configurations read as the bucket's own requests.
        (
            Store::Rgw,
            GetBucketConfig(BucketSub::Encryption),
            checked(None, None),
            true,
        ),
        (
            Store::Rgw,
            DeleteBucketConfig(BucketSub::Metrics),
            checked(None, None),
            true,
        ),
        (
            Store::Rgw,
            GetBucketConfig(BucketSub::Versioning),
            checked(None, None),
            false,
        ),
        (
            Store::Seaweedfs,
            PutBucketConfig(BucketSub::Website),
            checked(None, None),
            true,
        ),
        (
            Store::Seaweedfs,
            GetBucketConfig(BucketSub::Website),
            checked(None, None),
            false,
        ),
        (
            Store::Seaweedfs,
            GetBucketConfig(BucketSub::MetadataTable),
            checked(None, None),
            true,
        ),
        (
            Store::Seaweedfs,
            PutBucketConfig(BucketSub::Cors),
            checked(None, None),
            false,
        ),
        (
            Store::Garage,
            GetBucketConfig(BucketSub::MetadataTable),
            checked(None, None),
            true,
        ),
        (
            Store::Garage,
            DeleteBucketConfig(BucketSub::Website),
            checked(None, None),
            false,
        ),
        (
            Store::Generic,
            GetBucketConfig(BucketSub::Encryption),
            checked(None, None),
            false,
        ),
    ];
    for (store, op, c, refused) in rows {
        let got = store.refusal(op, &c, false);
        assert_eq!(got.is_some(), refused, "{store:?} {op:?} {c:?}");
        if let Some(e) = got {
            assert_eq!(e.status().as_u16(), 501);
            assert_eq!(e.code, S3ErrorCode::NotImplemented);
        }
        // Resign mode performs every refused copy itself; nothing else changes.
        let copy = matches!(op, CopyObject | UploadPartCopy);
        let resigned = store.refusal(op, &c, true);
        assert_eq!(
            resigned.is_some(),
            refused && !copy,
            "{store:?} {op:?} {c:?}"
        );
        if refused && copy {
            assert_ne!(
                store.copy_plan(op, &c),
                CopyPlan::Native,
                "{store:?} {op:?}"
            );
        }
    }
}

#[test]
fn copy_plans() {
    use S3Op::*;
    for (store, op, c, plan) in [
        (
            Store::Rgw,
            CopyObject,
            checked(Some(1), None),
            CopyPlan::Stream,
        ),
        (
            Store::Rgw,
            CopyObject,
            checked(None, None),
            CopyPlan::Native,
        ),
        (
            Store::Rgw,
            UploadPartCopy,
            checked(Some(1), Some(1)),
            CopyPlan::Native,
        ),
        (
            Store::Rgw,
            UploadPartCopy,
            checked(Some(1), Some(2)),
            CopyPlan::Stream,
        ),
        (
            Store::Seaweedfs,
            CopyObject,
            checked(Some(2), Some(1)),
            CopyPlan::VerifySource,
        ),
        (
            Store::Seaweedfs,
            CopyObject,
            checked(Some(2), None),
            CopyPlan::Native,
        ),
        (
            Store::Seaweedfs,
            UploadPartCopy,
            checked(Some(1), None),
            CopyPlan::Stream,
        ),
        (
            Store::Garage,
            UploadPartCopy,
            checked(Some(1), Some(2)),
            CopyPlan::Native,
        ),
        (
            Store::Generic,
            CopyObject,
            checked(Some(1), Some(2)),
            CopyPlan::Native,
        ),
    ] {
        assert_eq!(store.copy_plan(op, &c), plan, "{store:?} {op:?} {c:?}");
    }
}

#[test]
fn generic_confirms_every_sse_c_write() {
    for op in [
        S3Op::PutObject,
        S3Op::PostObject,
        S3Op::CreateMultipartUpload,
        S3Op::UploadPart,
        S3Op::UploadPartCopy,
        S3Op::CopyObject,
    ] {
        assert!(Store::Generic.confirms(op), "{op:?}");
    }
    assert!(!Store::Generic.confirms(S3Op::GetObject));
    assert!(!Store::Seaweedfs.confirms(S3Op::CreateMultipartUpload));
    assert!(Store::Seaweedfs.confirms(S3Op::PutObject));
    assert!(!Store::Rgw.confirms(S3Op::PostObject));
    assert!(Store::Rgw.confirms(S3Op::CreateMultipartUpload));
}

#[test]
fn translates_store_wording_to_aws() {
    let md5 = "The calculated MD5 hash of the key did not match the hash that was provided.";
    let wrong = Store::Rgw
        .translate(
            S3Op::GetObject,
            true,
            400,
            Some("InvalidArgument"),
            Some(md5),
        )
        .unwrap();
    assert_eq!(
        (wrong.status().as_u16(), wrong.code),
        (403, S3ErrorCode::AccessDenied)
    );
    assert!(
        Store::Rgw
            .translate(S3Op::HeadObject, true, 400, None, None)
            .is_some()
    );
    assert!(
        Store::Rgw
            .translate(S3Op::HeadObject, false, 400, None, None)
            .is_none()
    );
    assert!(
        Store::Rgw
            .translate(S3Op::GetObject, true, 400, Some("InvalidRequest"), None)
            .is_none()
    );
    assert!(
        Store::Rgw
            .translate(
                S3Op::PutObject,
                true,
                400,
                Some("InvalidArgument"),
                Some(md5)
            )
            .is_none()
    );
    let sw = Store::Seaweedfs
        .translate(
            S3Op::GetObject,
            true,
            403,
            Some("AccessDenied"),
            Some("Access Denied."),
        )
        .unwrap();
    assert_eq!(sw.message, ssec::wrong_key().message);
    let head = Store::Seaweedfs.translate(S3Op::HeadObject, true, 403, None, None);
    assert_eq!(head.map(|e| e.message), Some(ssec::wrong_key().message));
    assert!(
        Store::Seaweedfs
            .translate(S3Op::HeadObject, false, 403, None, None)
            .is_none()
    );
    let head = Store::Seaweedfs.translate(S3Op::HeadObject, false, 400, None, None);
    assert_eq!(head.map(|e| e.code), Some(S3ErrorCode::InvalidRequest));
    let no_key = Store::Seaweedfs
        .translate(
            S3Op::GetObject,
            false,
            400,
            Some("InvalidArgument"),
            Some("Requests specifying Server Side Encryption with Customer provided keys must provide the customer key."),
        )
        .unwrap();
    assert_eq!(
        (no_key.status().as_u16(), no_key.code),
        (400, S3ErrorCode::InvalidRequest)
    );
    assert!(
        Store::Generic
            .translate(
                S3Op::GetObject,
                true,
                400,
                Some("InvalidArgument"),
                Some(md5)
            )
            .is_none()
    );
}

#[test]
fn translates_garages_wording_to_aws() {
    let garage = |keyed, message| {
        Store::Garage
            .translate(
                S3Op::GetObject,
                keyed,
                400,
                Some("InvalidRequest"),
                Some(message),
            )
            .map(|e| (e.status().as_u16(), e.code, e.message))
    };
    let wrong = ssec::wrong_key();
    assert_eq!(
        garage(
            true,
            "Bad request: Invalid encryption key, could not decrypt object metadata.: aead::Error"
        ),
        Some((403, S3ErrorCode::AccessDenied, wrong.message))
    );
    let encrypted = ssec::object_encrypted();
    assert_eq!(
        garage(false, "Bad request: Object is encrypted"),
        Some((400, S3ErrorCode::InvalidRequest, encrypted.message))
    );
    let plain = ssec::not_encrypted();
    assert_eq!(
        garage(true, "Bad request: Trying to decrypt a plaintext object"),
        Some((400, S3ErrorCode::InvalidRequest, plain.message))
    );
    // The same words with the other `keyed`, or anything else: as the store sent it.
    assert_eq!(garage(true, "Bad request: Object is encrypted"), None);
    assert_eq!(
        garage(false, "Bad request: Trying to decrypt a plaintext object"),
        None
    );
    assert_eq!(garage(true, "Bad request: something else"), None);
    // HEAD: a bare 400 means a wrong key or a plaintext object; it is not guessed.
    assert!(
        Store::Garage
            .translate(S3Op::HeadObject, true, 400, None, None)
            .is_none()
    );
}

#[test]
fn a_bucket_is_listed_before_its_delete_where_the_store_would_delete_its_objects() {
    // SeaweedFS deletes a bucket with objects (seen on the store); an unknown store is
    // not trusted not to. RGW, Garage and MinIO answer 409 themselves.
    for (store, looks) in [
        (Store::Seaweedfs, true),
        (Store::Generic, true),
        (Store::Rgw, false),
        (Store::Garage, false),
        (Store::Minio, false),
    ] {
        assert_eq!(store.deletes_full_buckets(), looks, "{store:?}");
    }
}

#[test]
fn unknown_upload_defaults_fail_closed_where_the_store_is_lax() {
    assert_eq!(
        Store::Seaweedfs.default_unknown_uploads(),
        UnknownUploads::Reject
    );
    assert_eq!(
        Store::Generic.default_unknown_uploads(),
        UnknownUploads::Reject
    );
    assert_eq!(Store::Rgw.default_unknown_uploads(), UnknownUploads::Allow);
}

fn answer(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
    pairs
        .iter()
        .map(|(n, v)| {
            (
                http::HeaderName::from_static(n),
                http::HeaderValue::from_static(v),
            )
        })
        .collect()
}

/// The headers the stores sent to an unauthenticated `GET /` here (SeaweedFS 4.48,
/// Ceph RGW 16.2.15).
#[test]
fn identifies_the_stores_from_their_own_answers_and_nothing_else() {
    let seaweedfs = answer(&[
        ("server", "SeaweedFS 8000GB 4.48"),
        ("x-amz-request-id", "18ECD02DAB67167CEA5CE1A7"),
    ]);
    assert_eq!(
        identify(&seaweedfs, b""),
        Some(Identified {
            store: Store::Seaweedfs,
            evidence: "Server: SeaweedFS 8000GB 4.48".into()
        })
    );
    let rgw = answer(&[(
        "x-amz-request-id",
        "tx00000b159a12a2163d73e-006b0d6251-100e-default",
    )]);
    assert_eq!(identify(&rgw, b"").map(|i| i.store), Some(Store::Rgw));
    for unsure in [
        answer(&[]),
        answer(&[("server", "MinIO")]),
        answer(&[
            ("server", "nginx"),
            (
                "x-amz-request-id",
                "tx00000b159a12a2163d73e-006b0d6251-100e-default",
            ),
        ]),
        answer(&[("x-amz-request-id", "tx0000-006b0d6251-100e-default")]),
        answer(&[(
            "x-amz-request-id",
            "tx00000b159a12a2163d73e-006b0d6251-100e",
        )]),
        answer(&[("x-amz-request-id", "4442587FB7D0A2F9")]),
    ] {
        assert_eq!(identify(&unsure, b""), None, "{unsure:?}");
    }
    // Garage 2.5.0's whole answer: 403, no Server, no request id, and this body.
    let garage = answer(&[("content-type", "application/xml")]);
    let body = br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Forbidden: Garage does not support anonymous access yet</Message><Resource>/</Resource><Region>us-east-1</Region></Error>"#;
    assert_eq!(
        identify(&garage, body).map(|i| i.store),
        Some(Store::Garage)
    );
    // The same words behind another server, or anywhere but the message: not Garage.
    let proxied = answer(&[("server", "nginx")]);
    assert_eq!(identify(&proxied, body), None);
    assert_eq!(
        identify(
            &garage,
            b"<Key>Forbidden: Garage does not support anonymous access</Key>"
        ),
        None
    );
    assert_eq!(identify(&garage, b""), None);
}

#[test]
fn a_live_store_settles_auto_once_and_keeps_a_named_store() {
    for (i, store) in STORES.iter().enumerate() {
        assert_eq!(usize::from(*store as u8), i, "{store:?}");
    }
    let auto = LiveStore::new(StoreSetting::Auto);
    assert_eq!(auto.get(), Store::Generic);
    assert!(auto.pending());
    let seaweedfs = answer(&[("server", "SeaweedFS 8000GB 4.48")]);
    assert!(
        auto.settle(StatusCode::FORBIDDEN, &seaweedfs, b"")
            .is_some()
    );
    assert_eq!(auto.get(), Store::Seaweedfs);
    assert!(!auto.pending());
    assert!(
        auto.describe()
            .starts_with("auto: seaweedfs (recognised by Server: SeaweedFS")
    );
    let rgw = answer(&[(
        "x-amz-request-id",
        "tx00000b159a12a2163d73e-006b0d6251-100e-default",
    )]);
    assert_eq!(
        auto.settle(StatusCode::FORBIDDEN, &rgw, b""),
        None,
        "settled once"
    );
    assert_eq!(auto.get(), Store::Seaweedfs);

    let unsure = LiveStore::new(StoreSetting::Auto);
    assert!(
        unsure
            .settle(StatusCode::OK, &answer(&[("server", "MinIO")]), b"")
            .is_some()
    );
    assert_eq!(unsure.get(), Store::Generic);
    assert!(
        !unsure.pending(),
        "an answer that names no known store settles generic"
    );

    // A store starting, or a load balancer in front of one, answers 5xx: that names
    // no store, and settles nothing; the store is recognised from a later answer.
    let starting = LiveStore::new(StoreSetting::Auto);
    let balancer = answer(&[("server", "nginx")]);
    for status in [StatusCode::BAD_GATEWAY, StatusCode::SERVICE_UNAVAILABLE] {
        assert_eq!(starting.settle(status, &balancer, b"<html>"), None);
        assert!(starting.pending());
        assert!(starting.describe().starts_with("auto: not recognised yet"));
    }
    assert!(
        starting
            .settle(StatusCode::SERVICE_UNAVAILABLE, &seaweedfs, b"")
            .is_some(),
        "a 5xx that names the store recognises it"
    );
    assert_eq!(starting.get(), Store::Seaweedfs);
    assert!(!starting.pending());

    let named = LiveStore::new(StoreSetting::Named(Store::Rgw));
    assert!(!named.pending());
    assert_eq!(named.settle(StatusCode::OK, &seaweedfs, b""), None);
    assert_eq!(named.get(), Store::Rgw);
    assert_eq!(named.describe(), "rgw (configured)");
}

#[test]
fn refuses_keys_with_double_slashes_or_in_the_uploads_folder_on_seaweedfs_only() {
    for key in ["a//b", "//lead", "trail//", "x///y"] {
        let e = Store::Seaweedfs.key_refusal(key).expect("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented, "{key}");
        assert_eq!(e.reason, Some(Reason::StoreRefusal));
    }
    assert!(Store::Seaweedfs.key_refusal("a/b/c").is_none());
    // SeaweedFS stores `\` as `/`: `a\b` is `a/b`, `\.uploads\x` is in the folder.
    for key in ["a\\b", "\\.uploads\\abc\\0002_x.part", "trail\\"] {
        let e = Store::Seaweedfs.key_refusal(key).expect("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented, "{key}");
        assert_eq!(e.reason, Some(Reason::StoreRefusal));
    }
    for key in [
        ".uploads/abc/0002_x.part",
        "/.uploads/abc",
        ".uploads",
        "/.uploads/",
    ] {
        let e = Store::Seaweedfs.key_refusal(key).expect("refused");
        assert!(e.message.contains("\".uploads/\""), "{key}: {}", e.message);
        assert_eq!(e.reason, Some(Reason::StoreRefusal));
    }
    // A leading `/` is dropped (SeaweedFS, Garage); `/` alone is the bucket.
    for store in [Store::Seaweedfs, Store::Garage] {
        for key in ["/", "/k", "/a/b"] {
            let e = store.key_refusal(key).expect("refused");
            assert!(
                e.message.contains("starts with \"/\""),
                "{store:?} {key}: {}",
                e.message
            );
            assert_eq!(e.reason, Some(Reason::StoreRefusal));
        }
        assert!(store.key_refusal("k/").is_none(), "{store:?}");
    }
    assert!(Store::Rgw.key_refusal("/k").is_none());
    for key in ["a/.uploads/x", ".uploadsx/y", "uploads/x", "x.uploads"] {
        assert!(Store::Seaweedfs.key_refusal(key).is_none(), "{key}");
    }
    for store in [Store::Rgw, Store::Generic, Store::Minio, Store::Garage] {
        assert!(store.key_refusal(".uploads/x").is_none(), "{store:?}");
    }
    for store in [Store::Rgw, Store::Generic, Store::Minio, Store::Garage] {
        assert!(store.key_refusal("a//b").is_none(), "{store:?}");
        assert!(store.key_refusal("a\\b").is_none(), "{store:?}");
    }
}

#[test]
fn refuses_copy_conditions_the_store_would_ignore() {
    use S3Op::*;
    let mut conditional = HeaderMap::new();
    conditional.insert(
        "x-amz-copy-source-if-none-match",
        http::HeaderValue::from_static("\"x\""),
    );
    let plain = HeaderMap::new();
    let none = checked(None, None);
    // An UploadPartCopy the proxy streams reads the source itself, conditionals included.
    let streamed = checked(Some(1), Some(2));
    for (store, op, headers, c, resign, refused) in [
        (Store::Rgw, CopyObject, &conditional, &none, false, true),
        (Store::Rgw, CopyObject, &conditional, &none, true, false),
        (Store::Rgw, CopyObject, &plain, &none, false, false),
        (Store::Rgw, UploadPartCopy, &conditional, &none, true, true),
        (Store::Rgw, UploadPartCopy, &conditional, &none, false, true),
        (
            Store::Rgw,
            UploadPartCopy,
            &conditional,
            &streamed,
            true,
            false,
        ),
        (
            Store::Rgw,
            UploadPartCopy,
            &conditional,
            &streamed,
            false,
            true,
        ),
        (Store::Rgw, UploadPartCopy, &plain, &none, false, false),
        (Store::Rgw, GetObject, &conditional, &none, false, false),
        (
            Store::Seaweedfs,
            CopyObject,
            &conditional,
            &none,
            false,
            false,
        ),
        (
            Store::Garage,
            UploadPartCopy,
            &conditional,
            &none,
            false,
            false,
        ),
    ] {
        let got = store.ignored_copy_conditions(op, headers, c, resign);
        assert_eq!(got.is_some(), refused, "{store:?} {op:?} resign={resign}");
        if let Some(e) = got {
            assert_eq!(e.code, S3ErrorCode::NotImplemented);
            assert_eq!(e.reason, Some(Reason::StoreRefusal));
        }
    }
}

#[test]
fn seaweedfs_listings_starting_inside_its_uploads_folder_are_refused() {
    for prefix in [
        ".uploads",
        ".uploads/",
        ".uploads/0a_1/",
        "//.uploads/x",
        "/.uploads",
        "\\.uploads\\",
        ".uploads\\0a_1",
    ] {
        let e = Store::Seaweedfs.listing_refusal(prefix).expect("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented, "{prefix}");
    }
    for prefix in [
        "",
        "/",
        ".upload",
        ".uploadsX/",
        "a/.uploads/",
        ". uploads/",
    ] {
        assert!(
            Store::Seaweedfs.listing_refusal(prefix).is_none(),
            "{prefix}"
        );
    }
    for store in [Store::Rgw, Store::Garage, Store::Generic, Store::Minio] {
        assert!(store.listing_refusal(".uploads/x").is_none(), "{store:?}");
        assert!(!store.checks_deleted_keys(), "{store:?}");
    }
    assert!(Store::Seaweedfs.checks_deleted_keys());
}

#[test]
fn seaweedfs_refuses_writes_to_a_folder_key_but_the_empty_folder_object() {
    use S3Op::{
        AbortMultipartUpload, CompleteMultipartUpload, CopyObject, CreateMultipartUpload,
        DeleteObject, GetObject, HeadObject, PostObject, PutObject, UploadPart, UploadPartCopy,
    };
    let writes = [
        PutObject,
        CopyObject,
        CreateMultipartUpload,
        UploadPart,
        UploadPartCopy,
        CompleteMultipartUpload,
        PostObject,
    ];
    for op in writes {
        let e = Store::Seaweedfs
            .folder_refusal(op, "dir/", false)
            .expect("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented, "{op:?}");
        assert_eq!(e.reason, Some(Reason::StoreRefusal));
        assert!(
            Store::Seaweedfs
                .folder_refusal(op, "dir/x", false)
                .is_none()
        );
    }
    assert!(
        Store::Seaweedfs
            .folder_refusal(PutObject, "dir/", true)
            .is_none()
    );
    assert!(
        Store::Seaweedfs
            .folder_refusal(CopyObject, "dir/", true)
            .is_some()
    );
    for op in [GetObject, HeadObject, DeleteObject, AbortMultipartUpload] {
        assert!(Store::Seaweedfs.folder_refusal(op, "dir/", false).is_none());
    }
    for store in [Store::Rgw, Store::Garage, Store::Minio, Store::Generic] {
        assert!(store.folder_refusal(PutObject, "dir/", false).is_none());
    }
}

#[test]
fn refuses_the_paths_seaweedfs_answers_itself() {
    use http::Method;
    // SeaweedFS routes on the decoded path: an escaped spelling is its health check too.
    let every_byte_escaped = "/%68%65%61%6C%74%68%7A";
    for path in [
        "/status",
        "/healthz",
        "/readyz",
        "/st%61tus",
        "/%72eadyz",
        every_byte_escaped,
    ] {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            let e = Store::Seaweedfs
                .path_refusal(&method, path)
                .expect("refused");
            assert_eq!(e.code, S3ErrorCode::NotImplemented, "{method} {path}");
            assert_eq!(e.reason, Some(Reason::StoreRefusal));
        }
        // Bucket writes and deletes are routed as S3; other stores have no such paths.
        for method in [Method::PUT, Method::POST, Method::DELETE] {
            assert!(Store::Seaweedfs.path_refusal(&method, path).is_none());
        }
        for store in [Store::Rgw, Store::Generic, Store::Minio, Store::Garage] {
            assert!(
                store.path_refusal(&Method::GET, path).is_none(),
                "{store:?}"
            );
        }
    }
    // With a trailing `/`, another case or below, SeaweedFS routes them as S3.
    for path in [
        "/status/",
        "/Status",
        "/healthz/k",
        "/readyzz",
        "/b/status",
        "/status%2F",
    ] {
        assert!(Store::Seaweedfs.path_refusal(&Method::GET, path).is_none());
    }
}

#[test]
fn refuses_a_copy_source_garage_reads_as_another_key() {
    for value in ["/b/k?versionId=7", "b/k?", "/b/x?/../k"] {
        let e = Store::Garage.copy_source_refusal(value).expect("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented, "{value}");
        assert_eq!(e.reason, Some(Reason::StoreRefusal));
    }
    assert!(
        Store::Garage
            .copy_source_refusal("/b/k%3FversionId%3D7")
            .is_none()
    );
    for store in [Store::Rgw, Store::Seaweedfs, Store::Generic, Store::Minio] {
        assert!(
            store.copy_source_refusal("/b/k?versionId=7").is_none(),
            "{store:?}"
        );
    }
}

#[test]
fn write_conditions_pass_only_where_the_store_applies_them() {
    use S3Op::{CompleteMultipartUpload, CopyObject, DeleteObject, GetObject, PutObject};
    let with = |name: &'static str| {
        let mut headers = HeaderMap::new();
        headers.insert(name, http::HeaderValue::from_static("\"0123\""));
        headers
    };
    let if_match = with("if-match");
    let (size, time) = (
        with("x-amz-if-match-size"),
        with("x-amz-if-match-last-modified-time"),
    );
    let mut star = HeaderMap::new();
    star.insert("if-none-match", http::HeaderValue::from_static("*"));
    let none = HeaderMap::new();
    let writes = [PutObject, CopyObject, CompleteMultipartUpload];
    // (store, op, headers, resign streams the copy, refused)
    let mut cases = Vec::new();
    for store in [
        Store::Seaweedfs,
        Store::Rgw,
        Store::Garage,
        Store::Minio,
        Store::Generic,
    ] {
        for op in writes {
            let applies = match store {
                Store::Seaweedfs => true,
                Store::Rgw => op == PutObject,
                Store::Minio => op != CopyObject,
                Store::Garage | Store::Generic => false,
            };
            // RGW's `If-None-Match: *` overwrites in a versioned bucket.
            let applies_star = applies && store != Store::Rgw;
            cases.push((store, op, &if_match, false, !applies));
            cases.push((store, op, &star, false, !applies_star));
        }
        cases.push((
            store,
            DeleteObject,
            &if_match,
            false,
            store != Store::Seaweedfs,
        ));
        cases.push((store, DeleteObject, &size, false, true));
        cases.push((store, DeleteObject, &time, false, true));
        // Reads and other requests are not writes.
        cases.push((store, GetObject, &if_match, false, false));
        cases.push((store, S3Op::UploadPart, &star, false, false));
        cases.push((store, PutObject, &none, false, false));
    }
    // Resign mode's own copy on RGW is a PutObject, which RGW applies If-Match to.
    cases.push((Store::Rgw, CopyObject, &if_match, true, false));
    cases.push((Store::Rgw, CopyObject, &star, true, true));
    cases.push((Store::Garage, CopyObject, &if_match, true, true));
    for (store, op, headers, proxy_writes, refused) in cases {
        let got = store.write_condition_refusal(op, headers, proxy_writes);
        assert_eq!(got.is_some(), refused, "{store:?} {op:?} {headers:?}");
        if let Some(e) = got {
            assert_eq!(e.code, S3ErrorCode::NotImplemented);
            assert_eq!(e.reason, Some(Reason::StoreRefusal));
            let name = headers.keys().next().expect("a condition").as_str();
            assert!(e.message.contains(name), "{}", e.message);
            assert!(
                e.message.contains(op.as_str()) || proxy_writes,
                "{}",
                e.message
            );
        }
    }
}

#[test]
fn an_append_is_refused_on_every_store() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-write-offset-bytes",
        http::HeaderValue::from_static("10"),
    );
    let e = Store::append_refusal(S3Op::PutObject, &headers).expect("refused");
    assert_eq!(e.code, S3ErrorCode::NotImplemented);
    assert_eq!(e.reason, Some(Reason::StoreRefusal));
    assert!(Store::append_refusal(S3Op::PutObject, &HeaderMap::new()).is_none());
    assert!(Store::append_refusal(S3Op::GetObject, &headers).is_none());
}

#[test]
fn a_completions_checksum_is_refused_where_the_store_would_not_check_it() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-checksum-type",
        http::HeaderValue::from_static("FULL_OBJECT"),
    );
    let all = EVERY_STORE;
    // The type alone asks for no check.
    for store in all {
        assert!(
            store
                .completion_refusal(S3Op::CompleteMultipartUpload, &headers)
                .is_none()
        );
    }
    headers.insert(
        "X-Amz-Checksum-CRC32",
        http::HeaderValue::from_static("AAAAAQ=="),
    );
    for store in all {
        let got = store.completion_refusal(S3Op::CompleteMultipartUpload, &headers);
        assert_eq!(got.is_none(), store == Store::Garage, "{store:?}");
        if let Some(e) = got {
            assert_eq!(e.code, S3ErrorCode::NotImplemented);
            assert_eq!(e.reason, Some(Reason::StoreRefusal));
            if store == Store::Rgw {
                assert_eq!(
                    e.message,
                    "Ceph RGW 16.2 ignores the x-amz-checksum-crc32 of a CompleteMultipartUpload and would complete the upload unconditionally, so the proxy refuses this request."
                );
            }
        }
        // A body's checksum is checked as it streams, not refused.
        assert!(
            store
                .completion_refusal(S3Op::PutObject, &headers)
                .is_none()
        );
    }
}

#[test]
fn a_completions_object_size_is_refused_on_every_store() {
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-mp-object-size", http::HeaderValue::from_static("7"));
    for store in EVERY_STORE {
        let e = store
            .completion_refusal(S3Op::CompleteMultipartUpload, &headers)
            .unwrap_or_else(|| panic!("{store:?} completes an upload of the wrong size"));
        assert_eq!(e.code, S3ErrorCode::NotImplemented);
        assert_eq!(e.reason, Some(Reason::StoreRefusal));
        if store == Store::Garage {
            assert_eq!(
                e.message,
                "Garage 2.5 ignores the x-amz-mp-object-size of a CompleteMultipartUpload and would complete the upload unconditionally, so the proxy refuses this request."
            );
        }
        // Another operation's is no completion's.
        assert!(
            store
                .completion_refusal(S3Op::PutObject, &headers)
                .is_none()
        );
    }
}

#[test]
fn a_write_condition_has_one_reading_or_is_refused() {
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, http::HeaderValue::from_static(value));
        }
        headers
    };
    // SeaweedFS applies every condition of these: only the form is refused.
    for (pairs, code) in [
        (
            &[("if-none-match", "\"*\"")][..],
            S3ErrorCode::NotImplemented,
        ),
        (
            &[("if-none-match", "\"0123\"")],
            S3ErrorCode::NotImplemented,
        ),
        (
            &[("if-none-match", "*, \"x\"")],
            S3ErrorCode::NotImplemented,
        ),
        (&[("if-none-match", "W/*")], S3ErrorCode::NotImplemented),
        (&[("if-none-match", "")], S3ErrorCode::NotImplemented),
        (&[("if-match", "")], S3ErrorCode::InvalidArgument),
        (&[("if-match", "  ")], S3ErrorCode::InvalidArgument),
        (
            &[("if-match", "\"a\", \"b\"")],
            S3ErrorCode::InvalidArgument,
        ),
        (
            &[("if-match", "\"a\""), ("if-match", "\"b\"")],
            S3ErrorCode::InvalidArgument,
        ),
        (
            &[("if-none-match", "*"), ("if-none-match", "*")],
            S3ErrorCode::InvalidArgument,
        ),
    ] {
        let headers = headers(pairs);
        for op in [
            S3Op::PutObject,
            S3Op::CopyObject,
            S3Op::CompleteMultipartUpload,
            S3Op::DeleteObject,
        ] {
            let delete_none_match = op == S3Op::DeleteObject && pairs[0].0 == "if-none-match";
            let got = Store::Seaweedfs.write_condition_refusal(op, &headers, false);
            match delete_none_match {
                // DeleteObject has no If-None-Match: not read, not refused.
                true => assert!(got.is_none(), "{op:?} {pairs:?}"),
                false => {
                    let e = got.unwrap_or_else(|| panic!("{op:?} {pairs:?}: passed"));
                    assert_eq!(e.code, code, "{op:?} {pairs:?}");
                }
            }
        }
    }
    for pairs in [
        &[("if-none-match", "*")][..],
        &[("if-none-match", " * ")],
        &[("if-match", "\"0123\"")],
        &[("if-match", "\"0123-2\""), ("if-none-match", "*")],
    ] {
        let got = Store::Seaweedfs.write_condition_refusal(S3Op::PutObject, &headers(pairs), false);
        assert!(got.is_none(), "{pairs:?}: {got:?}");
    }
    // A time is no list: refused only as a condition no store applies.
    let time = headers(&[(
        "x-amz-if-match-last-modified-time",
        "Mon, 01 Jan 1990 00:00:00 GMT",
    )]);
    let e = Store::Seaweedfs.write_condition_refusal(S3Op::DeleteObject, &time, false);
    assert_eq!(e.expect("refused").code, S3ErrorCode::NotImplemented);
}

#[test]
fn the_stores_check_bodies_of_object_writes_only() {
    for op in [S3Op::PutObject, S3Op::UploadPart] {
        assert!(Store::Seaweedfs.checks_checksums(op));
        assert!(Store::Garage.checks_checksums(op));
        assert!(!Store::Rgw.checks_checksums(op), "RGW ignores checksums");
        for store in [Store::Seaweedfs, Store::Rgw, Store::Garage] {
            assert!(store.checks_content_md5(op), "{store:?}");
        }
    }
    for op in [
        S3Op::DeleteObjects,
        S3Op::CompleteMultipartUpload,
        S3Op::PutObjectTagging,
        S3Op::Unknown,
    ] {
        for store in EVERY_STORE {
            assert!(!store.checks_checksums(op), "{store:?} {op:?}");
            assert!(!store.checks_content_md5(op), "{store:?} {op:?}");
        }
    }
    // Stores not run here are trusted with nothing.
    assert!(!Store::Minio.checks_content_md5(S3Op::PutObject));
    assert!(!Store::Generic.checks_content_md5(S3Op::PutObject));
}

#[test]
fn a_completions_checksum_of_an_unknown_algorithm_is_refused_on_every_store() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-checksum-sha512",
        http::HeaderValue::from_static("AAAA"),
    );
    headers.insert(
        "x-amz-checksum-type",
        http::HeaderValue::from_static("FULL_OBJECT"),
    );
    for store in [Store::Rgw, Store::Seaweedfs, Store::Garage] {
        let e = store
            .completion_refusal(S3Op::CompleteMultipartUpload, &headers)
            .unwrap_or_else(|| panic!("{store:?}"));
        assert_eq!(e.code, S3ErrorCode::NotImplemented);
        assert!(e.message.contains("x-amz-checksum-sha512"), "{}", e.message);
    }
}
