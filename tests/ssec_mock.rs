//! SSE-C behaviour that needs a store misbehaving on purpose: a mock that "forgets"
//! to encrypt (no echo, wrong echo), the transport rule on the plain listener, and the
//! proof that rejected requests never reach the store. Real-store evidence for the same
//! rules is in `ssec_stores.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use support::mock::{MockStore, Recorded};
use support::s3::Key;
use support::{Proxy, ProxyOptions, RawClient, xml_code};

const ALG: &str = "x-amz-server-side-encryption-customer-algorithm";
const KEY: &str = "x-amz-server-side-encryption-customer-key";
const MD5: &str = "x-amz-server-side-encryption-customer-key-md5";

fn with_key(mut b: http::request::Builder, k: &Key) -> http::request::Builder {
    b = b
        .header(ALG, "AES256")
        .header(KEY, &k.b64)
        .header(MD5, &k.md5);
    b
}

/// A store that answers every request 200 and echoes what `echo` returns.
async fn store(echo: fn(&Recorded) -> Option<(String, String)>) -> MockStore {
    MockStore::start(Arc::new(move |r: &Recorded| {
        let mut resp = Response::new(Full::new(Bytes::new()));
        if let Some((alg, md5)) = echo(r) {
            resp.headers_mut().insert(ALG, alg.parse().unwrap());
            resp.headers_mut().insert(MD5, md5.parse().unwrap());
        }
        if r.uri.query().is_some_and(|q| q.contains("uploads")) {
            *resp.body_mut() = Full::new(Bytes::from_static(
                b"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>",
            ));
        }
        resp
    }))
    .await
}

fn proxy(store: &MockStore, kind: &str, ssec: &str) -> Proxy {
    Proxy::start(ProxyOptions {
        upstream: format!("store = \"{kind}\""),
        ssec: ssec.to_owned(),
        ..ProxyOptions::endpoint(store.url())
    })
}

async fn send(
    proxy: &Proxy,
    b: http::request::Builder,
    body: &'static [u8],
) -> support::RawResponse {
    RawClient::new(&proxy.pki.ca_pem, false)
        .send(b.body(Full::new(Bytes::from_static(body))).unwrap())
        .await
}

fn put(proxy: &Proxy, path: &str) -> http::request::Builder {
    Request::builder()
        .method(Method::PUT)
        .uri(format!("{}{path}", proxy.url()))
}

#[tokio::test]
async fn a_store_that_forgets_to_encrypt_is_not_reported_as_success() {
    let k = Key::new(0);
    let forgetful = store(|_| None).await;
    let p = proxy(&forgetful, "generic", "default = \"require\"");
    let r = send(&p, with_key(put(&p, "/b/k"), &k), b"data").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text());
    assert_eq!(xml_code(&r.text()).as_deref(), Some("BadGateway"));
    assert!(r.text().contains("did not confirm"));
    assert_eq!(
        forgetful.requests().len(),
        1,
        "the write did reach the store"
    );
    assert!(
        p.wait_log("store_unconfirmed").is_some(),
        "logged: {:?}",
        p.logs()
    );

    // An echo of another key's MD5 is no confirmation either.
    let liar = store(|_| Some(("AES256".into(), Key::new(9).md5))).await;
    let p = proxy(&liar, "generic", "default = \"require\"");
    let r = send(&p, with_key(put(&p, "/b/k"), &k), b"data").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);

    // A faithful store: the same write succeeds.
    let honest = store(|r| {
        let md5 = r.headers.get(MD5)?.to_str().ok()?.to_owned();
        Some(("AES256".into(), md5))
    })
    .await;
    let p = proxy(&honest, "generic", "default = \"require\"");
    let r = send(&p, with_key(put(&p, "/b/k"), &k), b"data").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn silent_multipart_create_fails_on_generic_and_passes_where_exempt() {
    let k = Key::new(0);
    let silent = store(|_| None).await;
    let create = |p: &Proxy| {
        with_key(
            Request::builder()
                .method(Method::POST)
                .uri(format!("{}/b/k?uploads", p.url())),
            &k,
        )
    };
    let generic = proxy(&silent, "generic", "default = \"require\"");
    assert_eq!(
        send(&generic, create(&generic), b"").await.status,
        StatusCode::BAD_GATEWAY
    );
    // SeaweedFS never echoes on CreateMultipartUpload yet encrypts (checked at rest in
    // ssec_stores.rs); its parts are confirmed instead.
    let seaweed = proxy(&silent, "seaweedfs", "default = \"require\"");
    let r = send(&seaweed, create(&seaweed), b"").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("<UploadId>up-1</UploadId>"));
    let part = send(
        &seaweed,
        with_key(put(&seaweed, "/b/k?partNumber=1&uploadId=up-1"), &k),
        b"p",
    )
    .await;
    assert_eq!(
        part.status,
        StatusCode::BAD_GATEWAY,
        "parts must be confirmed"
    );
}

#[tokio::test]
async fn parts_must_carry_the_key_the_upload_was_created_with() {
    let k1 = Key::new(0);
    let k2 = Key::new(1);
    let echoing = store(|r| {
        let md5 = r.headers.get(MD5)?.to_str().ok()?.to_owned();
        Some(("AES256".into(), md5))
    })
    .await;
    let p = proxy(&echoing, "seaweedfs", "default = \"allow\"");
    let create = with_key(
        Request::builder()
            .method(Method::POST)
            .uri(format!("{}/b/k?uploads", p.url())),
        &k1,
    );
    assert_eq!(send(&p, create, b"").await.status, StatusCode::OK);
    let before = echoing.requests().len();
    let no_key = send(&p, put(&p, "/b/k?partNumber=1&uploadId=up-1"), b"p").await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert!(
        no_key
            .text()
            .contains("The multipart upload initiate requested encryption.")
    );
    let other_key = send(
        &p,
        with_key(put(&p, "/b/k?partNumber=1&uploadId=up-1"), &k2),
        b"p",
    )
    .await;
    assert_eq!(other_key.status, StatusCode::BAD_REQUEST);
    assert!(
        other_key
            .text()
            .contains("did not match the ones used originally")
    );
    assert_eq!(
        echoing.requests().len(),
        before,
        "rejected parts never reached the store"
    );
    let good = send(
        &p,
        with_key(put(&p, "/b/k?partNumber=1&uploadId=up-1"), &k1),
        b"p",
    )
    .await;
    assert_eq!(good.status, StatusCode::OK);
    // A part for an upload this replica never saw is refused on SeaweedFS.
    let unknown = send(
        &p,
        with_key(put(&p, "/b/k?partNumber=1&uploadId=other"), &k1),
        b"p",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.text().contains("no record"));
}

#[tokio::test]
async fn sse_c_on_the_plain_listener_is_refused_before_any_value_check() {
    let echoing = MockStore::ok().await;
    let p = Proxy::start(ProxyOptions {
        server: "plain_listen = \"127.0.0.1:0\"".into(),
        ssec: "default = \"allow\"".into(),
        ..ProxyOptions::endpoint(echoing.url())
    });
    let line = p
        .logs()
        .into_iter()
        .find(|l| l.contains("\"listening\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let plain = v["plain.addr"].as_str().unwrap().to_owned();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    for (alg, key) in [("AES256", Key::new(0).b64), ("junk", "short".to_owned())] {
        let req = Request::builder()
            .method(Method::PUT)
            .uri(format!("http://{plain}/b/k"))
            .header(ALG, alg)
            .header(KEY, key)
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("must be made over a secure connection."),
            "{text}"
        );
    }
    // Plain requests without SSE-C are served there.
    let req = Request::builder()
        .uri(format!("http://{plain}/b/k"))
        .body(Full::default())
        .unwrap();
    assert_eq!(client.request(req).await.unwrap().status(), StatusCode::OK);
    assert_eq!(echoing.requests().len(), 1);
}

#[tokio::test]
async fn policy_rejections_never_reach_the_store() {
    let k = Key::new(0);
    let s = MockStore::ok().await;
    let allowed = k.md5.clone();
    let p = proxy(
        &s,
        "generic",
        &format!(
            "default = \"require\"\n[[ssec.buckets]]\nbucket = \"public-*\"\npolicy = \"forbid\"\n\
             [[ssec.buckets]]\nbucket = \"vault\"\npolicy = \"require\"\nkey_md5_allowlist = [\"{allowed}\"]\n"
        ),
    );
    let cases = [
        (put(&p, "/b/k"), 403, "AccessDenied"),
        (with_key(put(&p, "/public-www/k"), &k), 403, "AccessDenied"),
        (
            with_key(put(&p, "/vault/k"), &Key::new(1)),
            403,
            "AccessDenied",
        ),
        (
            Request::builder()
                .method(Method::GET)
                .uri(format!("{}/b/k", p.url())),
            403,
            "AccessDenied",
        ),
        (
            put(&p, "/b/k")
                .header(ALG, "AES128")
                .header(KEY, &k.b64)
                .header(MD5, &k.md5),
            400,
            "InvalidEncryptionAlgorithmError",
        ),
        (
            put(&p, "/b/k")
                .header(ALG, "AES256")
                .header(KEY, &k.b64)
                .header(MD5, &Key::new(3).md5),
            400,
            "InvalidArgument",
        ),
        (
            with_key(put(&p, "/b/k"), &k).header("x-amz-server-side-encryption", "AES256"),
            400,
            "InvalidArgument",
        ),
        (
            with_key(put(&p, "/b/dst"), &k)
                .header("x-amz-copy-source", "public-x/src")
                .header(
                    "x-amz-copy-source-server-side-encryption-customer-algorithm",
                    "AES256",
                ),
            400,
            "InvalidArgument",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let r = send(&p, req, b"body").await;
        assert_eq!(r.status.as_u16(), status, "case {i}: {}", r.text());
        assert_eq!(xml_code(&r.text()).as_deref(), Some(code), "case {i}");
        assert!(!r.text().contains(&k.b64), "case {i}: key echoed");
    }
    // HEAD errors carry no body.
    let head = send(
        &p,
        Request::builder()
            .method(Method::HEAD)
            .uri(format!("{}/b/k", p.url())),
        b"",
    )
    .await;
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    assert!(head.body.is_empty());
    assert!(
        s.requests().is_empty(),
        "no rejected request reached the store"
    );
    // The allow-listed key passes.
    let echo = store(|r| {
        Some((
            "AES256".into(),
            r.headers.get(MD5)?.to_str().ok()?.to_owned(),
        ))
    })
    .await;
    let p = proxy(
        &echo,
        "generic",
        &format!(
            "[[ssec.buckets]]\nbucket = \"vault\"\npolicy = \"require\"\nkey_md5_allowlist = [\"{allowed}\"]\n"
        ),
    );
    assert_eq!(
        send(&p, with_key(put(&p, "/vault/k"), &k), b"x")
            .await
            .status,
        StatusCode::OK
    );
}
