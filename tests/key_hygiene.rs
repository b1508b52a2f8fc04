//! Key material never reaches a log line, a metric or an error body, even with every crate
//! logging at `trace`: requests carrying a known key (valid, invalid, wrong, over
//! HTTP/1.1 and HTTP/2, as headers and as POST form fields) go through the proxy to
//! SeaweedFS, then every captured line and body is searched for the key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use bytes::Bytes;
use http_body_util::Full;
use support::s3::Key;
use support::{Proxy, ProxyOptions, RawClient, bucket_name, python, signed};

const ALG: &str = "x-amz-server-side-encryption-customer-algorithm";
const KEY: &str = "x-amz-server-side-encryption-customer-key";
const MD5: &str = "x-amz-server-side-encryption-customer-key-md5";

fn forms_of(k: &Key) -> Vec<String> {
    let hex = k.hex();
    vec![
        k.b64.clone(),
        hex.clone(),
        hex.to_uppercase(),
        k.b64.trim_end_matches('=').to_owned(),
    ]
}

#[tokio::test]
async fn seaweedfs_keys_never_reach_logs_or_error_bodies_at_trace_level() {
    let store = require_store!(seaweedfs);
    let proxy = Proxy::start(ProxyOptions {
        upstream: "store = \"seaweedfs\"".into(),
        server: "plain_listen = \"127.0.0.1:0\"".into(),
        ssec: "default = \"require\"".into(),
        rust_log: Some("trace".into()),
        ..ProxyOptions::endpoint(store.http.clone())
    });
    let k = Key::new(0); // the key tests/clients/post_object.py uses too
    let wrong = Key::new(1);
    let bucket = bucket_name("hygiene");
    let base = format!("{}/{bucket}", proxy.url());
    let mut bodies = Vec::new();
    for h2 in [false, true] {
        let raw = RawClient::new(&proxy.pki.ca_pem, h2);
        let send = |method: &str,
                    url: String,
                    headers: Vec<(&'static str, String)>,
                    body: &'static [u8]| {
            let headers: Vec<(&str, String)> = headers;
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            signed(&store, method, &url, &pairs, Bytes::from_static(body))
        };
        let good = vec![
            (ALG, "AES256".to_owned()),
            (KEY, k.b64.clone()),
            (MD5, k.md5.clone()),
        ];
        let requests = vec![
            send("PUT", base.clone(), vec![], b""),
            send("PUT", format!("{base}/obj"), good.clone(), b"payload"),
            send("GET", format!("{base}/obj"), good.clone(), b""),
            send("HEAD", format!("{base}/obj"), good.clone(), b""),
            send(
                "GET",
                format!("{base}/obj"),
                vec![
                    (ALG, "AES256".into()),
                    (KEY, wrong.b64.clone()),
                    (MD5, wrong.md5.clone()),
                ],
                b"",
            ),
            send(
                "PUT",
                format!("{base}/bad"),
                vec![
                    (ALG, "AES256".into()),
                    (KEY, k.b64.clone()),
                    (MD5, wrong.md5.clone()),
                ],
                b"x",
            ),
            send(
                "PUT",
                format!("{base}/alg"),
                vec![
                    (ALG, k.b64.clone()),
                    (KEY, k.b64.clone()),
                    (MD5, k.md5.clone()),
                ],
                b"x",
            ),
            send(
                "PUT",
                format!("{base}/short"),
                vec![
                    (ALG, "AES256".into()),
                    (KEY, k.b64[..20].to_owned()),
                    (MD5, k.md5.clone()),
                ],
                b"x",
            ),
            send(
                "PUT",
                format!("{base}/obj?partNumber=1&uploadId=nope"),
                good.clone(),
                b"x",
            ),
        ];
        for req in requests {
            let r = raw.send(req).await;
            bodies.push(r.text());
        }
    }
    // Over the plain listener the key is refused before anything looks at it.
    let line = proxy.wait_log("\"listening\"").unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let plain = v["plain.addr"].as_str().unwrap().to_owned();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = http::Request::put(format!("http://{plain}/{bucket}/p"))
        .header(ALG, "AES256")
        .header(KEY, &k.b64)
        .header(MD5, &k.md5)
        .body(Full::new(Bytes::from_static(b"x")))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    bodies.push(String::from_utf8_lossy(&body).into_owned());
    // POST Object form fields.
    let file = proxy.pki.dir.path().join("f.bin");
    std::fs::write(&file, b"form payload").unwrap();
    for mode in ["k1", "bad-md5"] {
        let out = python(
            "post_object.py",
            &[
                ("S3_ENDPOINT", proxy.url()),
                ("S3_CA", proxy.pki.ca_path.display().to_string()),
                ("S3_ACCESS_KEY", store.access_key.clone()),
                ("S3_SECRET_KEY", store.secret_key.clone()),
            ],
            &[&bucket, "form", mode, &file.display().to_string()],
        );
        bodies.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    // Log lines arrive through a pipe; give the last ones a moment.
    std::thread::sleep(std::time::Duration::from_millis(300));

    let metrics = proxy.admin("/metrics").await.1;
    assert!(
        metrics.contains("ssec_rejections_total"),
        "metrics were produced"
    );
    bodies.push(metrics);
    let logs = proxy.logs();
    assert!(
        logs.len() > 50,
        "trace logging produced output ({} lines)",
        logs.len()
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("TRACE") || l.contains("\"level\":\"TRACE\"")),
        "trace level was on"
    );
    for secret in forms_of(&k).into_iter().chain(forms_of(&wrong)) {
        for line in &logs {
            assert!(!line.contains(&secret), "key in a log line: {line}");
        }
        for body in &bodies {
            assert!(!body.contains(&secret), "key in an error body: {body}");
        }
    }
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("<Code>InvalidArgument</Code>")),
        "error paths were exercised"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("must be made over a secure connection"))
    );
    println!(
        "searched {} log lines and {} bodies for 8 key forms",
        logs.len(),
        bodies.len()
    );
}
