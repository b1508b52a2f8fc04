use http::{HeaderValue, Method, Request, StatusCode};
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::layers::test_support::{Log, Seen, answer, named, pieces, recorder, target};

/// A DeleteObjects body naming these keys, as clients write it.
fn key_list(keys: &[&str]) -> String {
    let objects: String = keys
        .iter()
        .map(|k| format!("<Object><Key>{k}</Key></Object>"))
        .collect();
    format!("<Delete><Quiet>true</Quiet>{objects}</Delete>")
}

async fn delete(store: Store, op: S3Op, body: &str, streaming: bool) -> Seen {
    delete_as(store, op, body, streaming, false).await
}

async fn delete_as(store: Store, op: S3Op, body: &str, streaming: bool, opaque: bool) -> Seen {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(DeleteKeysLayer::new(named(store), opaque))
        .service(recorder(&log, |_| Ok(answer(StatusCode::OK, &[], ""))));
    let split = body.len() / 2;
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/b?delete")
        .body(pieces(&[
            &body.as_bytes()[..split],
            &body.as_bytes()[split..],
        ]))
        .expect("a test request");
    req.extensions_mut()
        .insert(target(op, Some("b"), None, None));
    if streaming {
        req.headers_mut().insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        );
    }
    let _ = svc.oneshot(req).await;
    log.only()
}

#[tokio::test]
async fn a_key_list_passes_whole_when_every_key_does() {
    let body = key_list(&["a", "b/c", "&amp;x", ".uploadsX/y", "x/.uploads/y"]);
    let seen = delete(Store::Seaweedfs, S3Op::DeleteObjects, &body, false).await;
    assert!(seen.body_error.is_none(), "{:?}", seen.body_error);
    assert_eq!(seen.body, body.as_bytes());
}

#[tokio::test]
async fn a_key_in_the_uploads_folder_or_with_an_empty_segment_fails_the_body() {
    for key in [
        ".uploads/0a_1/0001_x.part",
        "/.uploads/0a_1/0001_x.part",
        "&#46;uploads/0a_1/0001_x.part",
        ".upl<![CDATA[oads]]>/0a_1/p",
        ".up<!-- -->loads/0a_1/p",
        "a//b",
    ] {
        assert_refused_beside_a_fine_key(key, "SeaweedFS").await;
    }
}

/// A list of `key` after a key that passes fails whole, with a message naming `why`.
async fn assert_refused_beside_a_fine_key(key: &str, why: &str) {
    let body = key_list(&["fine", key]);
    let seen = delete(Store::Seaweedfs, S3Op::DeleteObjects, &body, false).await;
    assert!(seen.body.is_empty(), "{key}: sent");
    let error = seen.body_error.expect("refused");
    assert!(error.contains(why), "{key}: {error}");
}

#[tokio::test]
async fn a_key_with_a_dot_segment_fails_the_body() {
    for key in [
        "..",
        ".",
        "../other/k",
        "a/../../other/k",
        "a/./b",
        "a/..",
        "&#46;&#46;/other/k",
        ".<![CDATA[.]]>/other/k",
    ] {
        assert_refused_beside_a_fine_key(key, "segment").await;
    }
    // Dots that are not a whole segment are a key like any other.
    let body = key_list(&["...", "a..b/c", ".a/b.", "a/.../b"]);
    let seen = delete(Store::Seaweedfs, S3Op::DeleteObjects, &body, false).await;
    assert!(seen.body_error.is_none(), "{:?}", seen.body_error);
    assert_eq!(seen.body, body.as_bytes());
}

#[tokio::test]
async fn a_key_list_read_otherwise_fails_the_body() {
    for body in [
        "<Delete><Object><Key>a</Object></Delete>".to_owned(),
        "<Delete><Object><Key>a</Key></Object>".to_owned(),
        "<!DOCTYPE d [<!ENTITY e \".uploads\">]><Delete><Object><Key>&e;/x</Key></Object></Delete>"
            .to_owned(),
        "<Delete><Object><Key>&e;</Key></Object></Delete>".to_owned(),
        "<Delete><Object><Key>&#0;</Key></Object></Delete>".to_owned(),
        // Go keeps only the element's own text: `.uploads/0a_1/p` to SeaweedFS.
        "<Delete><Object><Key>.<x>ZZ</x>uploads/0a_1/p</Key></Object></Delete>".to_owned(),
        "<Delete><Object><Key>.<x/>uploads/0a_1/p</Key></Object></Delete>".to_owned(),
    ] {
        let seen = delete(Store::Seaweedfs, S3Op::DeleteObjects, &body, false).await;
        assert!(seen.body.is_empty(), "{body}: sent");
        let error = seen.body_error.expect("refused");
        assert!(error.contains("MalformedXML"), "{body}: {error}");
    }
    let large = key_list(&[&*"k".repeat(1024); 4200]);
    let seen = delete(Store::Seaweedfs, S3Op::DeleteObjects, &large, false).await;
    assert!(seen.body.is_empty());
    assert!(seen.body_error.expect("refused").contains("larger than"));
}

#[tokio::test]
async fn an_undecoded_aws_chunked_key_list_is_refused_on_every_store() {
    let body = key_list(&["a"]);
    for store in ALL {
        let seen = delete(store, S3Op::DeleteObjects, &body, true).await;
        assert!(seen.body.is_empty(), "{store:?}");
        let error = seen.body_error.expect("refused");
        assert!(error.contains("without aws-chunked"), "{store:?}: {error}");
    }
}

const ALL: [Store; 5] = [
    Store::Seaweedfs,
    Store::Rgw,
    Store::Garage,
    Store::Minio,
    Store::Generic,
];

#[tokio::test]
async fn other_stores_and_other_requests_pass_untouched() {
    let body = key_list(&[".uploads/0a_1/0001_x.part", "a//b"]);
    for (store, op, streaming) in [
        (Store::Rgw, S3Op::DeleteObjects, false),
        (Store::Garage, S3Op::DeleteObjects, false),
        (Store::Minio, S3Op::DeleteObjects, false),
        (Store::Generic, S3Op::DeleteObjects, false),
        (Store::Seaweedfs, S3Op::PutObject, true),
    ] {
        let seen = delete(store, op, &body, streaming).await;
        assert!(seen.body_error.is_none(), "{store:?} {op:?}");
        assert_eq!(seen.body, body.as_bytes());
    }
}

/// A one-entry list whose entry carries `condition`.
fn conditional_list(condition: &str) -> String {
    format!("<Delete><Object><Key>a</Key>{condition}</Object></Delete>")
}

const ETAG_CONDITION: &str = "<ETag>\"0123456789abcdef0123456789abcdef\"</ETag>";

#[tokio::test]
async fn an_entry_condition_the_store_ignores_fails_the_body() {
    let size = conditional_list("<Size>99</Size>");
    let time = conditional_list("<LastModifiedTime>2001-01-01T00:00:00Z</LastModifiedTime>");
    let etag = conditional_list(ETAG_CONDITION);
    let prefixed = conditional_list("<s3:Size xmlns:s3=\"urn:x\">99</s3:Size>");
    for store in ALL {
        for (body, element) in [
            (&size, "<Size>"),
            (&time, "<LastModifiedTime>"),
            (&prefixed, "<Size>"),
        ] {
            let seen = delete(store, S3Op::DeleteObjects, body, false).await;
            assert!(seen.body.is_empty(), "{store:?} {body}: sent");
            let e = seen.body_error.expect("refused");
            assert!(e.contains("NotImplemented"), "{store:?}: {e}");
            assert!(e.contains(element), "{store:?}: {e}");
        }
        // Only SeaweedFS applies an ETag condition.
        let seen = delete(store, S3Op::DeleteObjects, &etag, false).await;
        match store {
            Store::Seaweedfs => {
                assert!(seen.body_error.is_none(), "{:?}", seen.body_error);
                assert_eq!(seen.body, etag.as_bytes());
            }
            _ => {
                let e = seen.body_error.expect("refused");
                assert!(e.contains("<ETag> condition"), "{store:?}: {e}");
            }
        }
    }
    for empty in ["<ETag></ETag>", "<ETag/>", "<ETag> </ETag>"] {
        let body = conditional_list(empty);
        let seen = delete(Store::Seaweedfs, S3Op::DeleteObjects, &body, false).await;
        assert!(seen.body.is_empty(), "{empty}: sent");
        let e = seen.body_error.expect("refused");
        assert!(e.contains("InvalidArgument"), "{empty}: {e}");
    }
    let e = delete(Store::Garage, S3Op::DeleteObjects, &size, false)
        .await
        .body_error
        .expect("refused");
    assert!(e.contains("Garage 2.5 ignores"), "{e}");
    let e = delete(Store::Generic, S3Op::DeleteObjects, &size, false)
        .await
        .body_error
        .expect("refused");
    assert!(e.contains("upstream.store") && e.contains("generic"), "{e}");
}

#[tokio::test]
async fn with_opaque_etags_an_etag_condition_fails_the_body_on_every_store() {
    let conditional = conditional_list(ETAG_CONDITION);
    let plain = key_list(&["a", "b"]);
    for store in ALL {
        let seen = delete_as(store, S3Op::DeleteObjects, &conditional, false, true).await;
        let e = seen.body_error.expect("an ETag condition is refused");
        assert!(e.contains("opaque"), "{store:?}: {e}");
        let seen = delete_as(store, S3Op::DeleteObjects, &plain, false, true).await;
        assert!(
            seen.body_error.is_none(),
            "{store:?}: {:?}",
            seen.body_error
        );
        assert_eq!(seen.body, plain.as_bytes());
    }
    // Canonical ETags are the store's own: where the store applies the condition, it
    // means what it says.
    let seen = delete_as(
        Store::Seaweedfs,
        S3Op::DeleteObjects,
        &conditional,
        false,
        false,
    )
    .await;
    assert!(seen.body_error.is_none(), "{:?}", seen.body_error);
}
