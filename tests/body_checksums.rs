//! A body's `x-amz-checksum-*` against the real stores in both modes: a PutObject or
//! UploadPart whose body does not match the checksum it announces — plain, or in signed
//! aws-chunked chunks — is refused and the store keeps nothing, read directly from the
//! store. SeaweedFS 4.48 and Garage 2.5 check it themselves; Ceph RGW 16.2 ignores it
//! and keeps the body (probed), so in passthrough the proxy checks it there; resign mode
//! checks it everywhere, including when the end of the body comes later than its payload
//! (RGW keeps a body once it has the announced payload). A body that matches is kept,
//! byte for byte. A CompleteMultipartUpload's whole-object checksum, which RGW and
//! SeaweedFS may ignore, is refused there (`501`), and no object is made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::convert::Infallible;
use std::pin::Pin;
use std::time::Duration;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::Request;
use http_body::Frame;
use http_body_util::{BodyExt as _, StreamBody};
use support::resign::exists;
use support::s3::{crc32_base64, create_upload, data, failure};
use support::wire::{direct_client, route};
use support::{
    Mode, RawClient, RawResponse, Store, bucket_name, client_tls, signed, signed_chunks,
    store_client, store_proxy_mode, store_upload_id, xml_code,
};

/// The answer to a body that does not match its CRC32: the proxy's, or where the store
/// checks in passthrough the store's own (Garage names it `InvalidDigest`).
fn refused(store: &Store, mode: Mode, resp: &RawResponse, what: &str) {
    // Where the store's own answer comes back.
    let by_store = mode == Mode::Passthrough && store.name != "RGW";
    let code = match by_store && store.name == "GARAGE" {
        true => "InvalidDigest",
        false => "BadDigest",
    };
    let body = resp.text();
    assert_eq!(resp.status, 400, "{what}: {body}");
    assert_eq!(xml_code(&body).as_deref(), Some(code), "{what}: {body}");
    if !by_store {
        assert!(
            body.contains("The CRC32 you specified did not match the calculated checksum."),
            "{what}: {body}"
        );
    }
}

/// A request body sent in two writes with a pause between.
type Paced = StreamBody<Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>>;

/// `body` up to `at`, then after 200 ms the rest.
fn paced(body: &Bytes, at: usize) -> Paced {
    let pieces = [(body.slice(..at), 0), (body.slice(at..), 200)];
    let stream = futures_util::stream::iter(pieces).then(|(piece, pause)| async move {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        Ok(Frame::data(piece))
    });
    StreamBody::new(Box::pin(stream))
}

async fn checksums_are_checked_before_the_store_keeps_a_body(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let bucket = bucket_name("bodysum");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let body = data(70_000, 7);
    let (good, bad) = (crc32_base64(&body), crc32_base64(b"x"));
    let url = |key: &str| format!("{}/{bucket}/{key}", proxy.url());
    let put = |key: &str, value: &str, chunked: bool| {
        let headers = [("x-amz-checksum-crc32", value)];
        match chunked {
            false => signed(
                &proxy.client,
                "PUT",
                &url(key),
                &headers,
                Bytes::from(body.clone()),
            ),
            true => signed_chunks(&proxy.client, &url(key), &headers, &body, 16_384),
        }
    };
    for chunked in [false, true] {
        let what = if chunked { "signed chunks" } else { "plain" };
        let key = format!("wrong-{chunked}");
        let resp = raw.send(put(&key, &bad, chunked)).await;
        refused(&store, mode, &resp, what);
        assert!(
            !exists(&direct, &bucket, &key).await,
            "{what}: the store kept a body that failed its checksum"
        );
        let key = format!("right-{chunked}");
        let resp = raw.send(put(&key, &good, chunked)).await;
        assert_eq!(resp.status, 200, "{what}: {}", resp.text());
        let got = direct.get_object().bucket(&bucket).key(&key).send().await;
        let got = got.unwrap().body.collect().await.unwrap().into_bytes();
        assert!(got == body, "{what}: the store holds other bytes");
    }
    // Signed chunks whose end comes later than the payload, over HTTP/1.1 and HTTP/2:
    // RGW keeps a body once it has its announced payload, final chunk or not.
    for h2 in [false, true] {
        let raw = RawClient::<Paced>::with_tls(client_tls(&proxy.pki.ca_pem, None), h2);
        let key = format!("late-end-{h2}");
        let req = put(&key, &bad, true);
        let (head, sent) = req.into_parts();
        let sent = sent.collect().await.unwrap().to_bytes();
        let end = sent
            .windows(20)
            .rposition(|w| w == b"\r\n0;chunk-signature=")
            .unwrap();
        let resp = raw.send(Request::from_parts(head, paced(&sent, end))).await;
        refused(&store, mode, &resp, "signed chunks, end later");
        assert!(
            !exists(&direct, &bucket, &key).await,
            "signed chunks, end later, h2 {h2}: the store kept the body"
        );
    }
    // In passthrough, signed chunks under SigV2: RGW would keep the framed bytes as
    // sent, which is not what the proxy checked. Refused, and nothing kept.
    if mode == Mode::Passthrough {
        let req = put("sigv2", &good, true);
        let (mut head, sent) = req.into_parts();
        let v2 = format!("AWS {}:c2lnbmF0dXJl", proxy.client.access_key);
        head.headers.insert("authorization", v2.parse().unwrap());
        let resp = raw.send(Request::from_parts(head, sent)).await;
        assert_eq!(resp.status, 400, "SigV2 signed chunks: {}", resp.text());
        assert_eq!(xml_code(&resp.text()).as_deref(), Some("InvalidRequest"));
        assert!(
            !exists(&direct, &bucket, "sigv2").await,
            "SigV2 signed chunks: the store kept the body"
        );
    }
    // A part, the same way: refused, and the store lists no part.
    let id = create_upload(&client, &bucket, "upload", None).await;
    let part = |value: &str| {
        let target = format!("{}?partNumber=1&uploadId={id}", url("upload"));
        let headers = [("x-amz-checksum-crc32", value)];
        signed(
            &proxy.client,
            "PUT",
            &target,
            &headers,
            Bytes::from(body.clone()),
        )
    };
    let resp = raw.send(part(&bad)).await;
    refused(&store, mode, &resp, "UploadPart");
    let parts = direct
        .list_parts()
        .bucket(&bucket)
        .key("upload")
        .upload_id(store_upload_id(&id))
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "the store kept the part");
    let resp = raw.send(part(&good)).await;
    assert_eq!(resp.status, 200, "UploadPart: {}", resp.text());
    // The whole object's checksum on completion: checked by Garage, ignored by RGW and
    // (for an upload created without a checksum algorithm) SeaweedFS, so refused there.
    // Either way no object is made.
    let etag = resp.headers["etag"].to_str().unwrap().to_owned();
    let list = CompletedMultipartUpload::builder()
        .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
        .build();
    let complete = |checksum: Option<&str>, size: Option<i64>| {
        client
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("upload")
            .upload_id(&id)
            .multipart_upload(list.clone())
            .set_checksum_crc32(checksum.map(str::to_owned))
            .set_mpu_object_size(size)
            .send()
    };
    let err = complete(Some(&bad), None).await.unwrap_err();
    let expected = match store.name {
        "GARAGE" => (400, "InvalidDigest"),
        _ => (501, "NotImplemented"),
    };
    assert_eq!(failure(&err), (expected.0, expected.1.to_owned()));
    assert!(
        !exists(&direct, &bucket, "upload").await,
        "the store made an object whose checksum failed"
    );
    // The object size AWS compares with the parts': every store here ignores it.
    let wrong_size = i64::try_from(body.len()).unwrap() + 1;
    let err = complete(None, Some(wrong_size)).await.unwrap_err();
    assert_eq!(failure(&err), (501, "NotImplemented".to_owned()));
    assert!(
        !exists(&direct, &bucket, "upload").await,
        "the store made an object of another size than asked"
    );
    complete(None, None).await.unwrap();
    let got = direct
        .get_object()
        .bucket(&bucket)
        .key("upload")
        .send()
        .await;
    let got = got.unwrap().body.collect().await.unwrap().into_bytes();
    assert!(got == body, "the completed object holds other bytes");
}

/// The base64 of `body`'s MD5, as `Content-MD5` carries it.
fn content_md5(body: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

/// The checks the stores make on object data only: a DeleteObjects list's checksum and
/// `Content-MD5` and a completion's `Content-MD5` (SeaweedFS 4.48, Ceph RGW 16.2 and
/// Garage 2.5 run them wrong, probed), checksum algorithms none of them knows
/// (`x-amz-checksum-sha512`, which they ignore), and checks sent in the query string
/// (which they read as headers only). Each is checked by the proxy or refused, and the
/// store keeps or makes nothing.
async fn checks_the_store_ignores_are_made_or_refused(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let bucket = bucket_name("listsum");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let url = |rest: &str| format!("{}/{bucket}{rest}", proxy.url());
    let put = |key: &str, headers: &[(&str, &str)]| {
        signed(
            &proxy.client,
            "PUT",
            &url(&format!("/{key}")),
            headers,
            Bytes::from_static(b"value"),
        )
    };
    let resp = raw.send(put("kept", &[])).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let list = Bytes::from_static(b"<Delete><Object><Key>kept</Key></Object></Delete>");
    let delete = |name: &str, value: &str| {
        let headers = [(name, value)];
        signed(
            &proxy.client,
            "POST",
            &url("?delete"),
            &headers,
            list.clone(),
        )
    };
    let (wrong_crc, wrong_md5) = (crc32_base64(b"x"), content_md5(b"x"));
    for (name, value, code) in [
        ("x-amz-checksum-crc32", wrong_crc.as_str(), "BadDigest"),
        ("content-md5", wrong_md5.as_str(), "BadDigest"),
        ("content-md5", "AAAA", "InvalidDigest"),
    ] {
        let resp = raw.send(delete(name, value)).await;
        let body = resp.text();
        assert_eq!(resp.status, 400, "DeleteObjects, {name}: {body}");
        assert_eq!(xml_code(&body).as_deref(), Some(code), "{name}: {body}");
        assert!(
            exists(&direct, &bucket, "kept").await,
            "DeleteObjects, {name} {value}: the store ran the list"
        );
    }
    // A checksum algorithm no store here checks.
    let sha512 = [("x-amz-checksum-sha512", "AAAA")];
    let resp = raw.send(put("sha512", &sha512)).await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(xml_code(&resp.text()).as_deref(), Some("InvalidRequest"));
    assert!(!exists(&direct, &bucket, "sha512").await);
    // A completion: its Content-MD5, an unknown algorithm's checksum, checks in the query.
    let id = create_upload(&client, &bucket, "upload", None).await;
    let part = signed(
        &proxy.client,
        "PUT",
        &url(&format!("/upload?partNumber=1&uploadId={id}")),
        &[],
        Bytes::from_static(b"part"),
    );
    let resp = raw.send(part).await;
    assert_eq!(resp.status, 200, "UploadPart: {}", resp.text());
    let etag = resp.headers["etag"].to_str().unwrap().to_owned();
    let parts = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let parts = Bytes::from(parts);
    let complete = |query: &str, headers: &[(&str, &str)]| {
        let target = url(&format!("/upload?uploadId={id}{query}"));
        signed(&proxy.client, "POST", &target, headers, parts.clone())
    };
    for (query, headers, status, code) in [
        (
            "",
            vec![("content-md5", wrong_md5.as_str())],
            400,
            "BadDigest",
        ),
        (
            "",
            vec![("x-amz-checksum-sha512", "AAAA")],
            501,
            "NotImplemented",
        ),
        ("&x-amz-mp-object-size=1", vec![], 400, "InvalidRequest"),
        (
            "&x-amz-checksum-crc32=AAAAAA%3D%3D",
            vec![],
            400,
            "InvalidRequest",
        ),
    ] {
        let resp = raw.send(complete(query, &headers)).await;
        let body = resp.text();
        assert_eq!(
            resp.status, status,
            "completion {query} {headers:?}: {body}"
        );
        assert_eq!(xml_code(&body).as_deref(), Some(code), "{body}");
        assert!(
            !exists(&direct, &bucket, "upload").await,
            "completion {query} {headers:?}: the store made the object"
        );
    }
    let right = content_md5(&parts);
    let resp = raw.send(complete("", &[("content-md5", &right)])).await;
    assert_eq!(resp.status, 200, "completion: {}", resp.text());
    assert!(exists(&direct, &bucket, "upload").await);
    // A delete in the query's form, then one whose Content-MD5 matches.
    let target = url("/kept?x-amz-if-match-size=1");
    let resp = raw
        .send(signed(&proxy.client, "DELETE", &target, &[], Bytes::new()))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(exists(&direct, &bucket, "kept").await);
    let resp = raw.send(delete("content-md5", &content_md5(&list))).await;
    assert_eq!(resp.status, 200, "DeleteObjects: {}", resp.text());
    assert!(
        !exists(&direct, &bucket, "kept").await,
        "DeleteObjects with the right Content-MD5 deleted nothing"
    );
}

per_store_and_mode!(
    checksums_are_checked_before_the_store_keeps_a_body,
    checks_the_store_ignores_are_made_or_refused
);
