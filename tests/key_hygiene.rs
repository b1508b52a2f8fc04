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

/// Injected keys (resign mode) the same way: plain S3 requests that get the bucket's key,
/// a read that falls back to the previous key, a read under a key the proxy does not
/// hold, over TLS and the plain listener, with every crate at `trace`; then `validate`.
/// No form of either key, nor the key MD5 the client never sent, may appear in a log
/// line, a response (headers and body), the metrics, `validate`'s or `rekey`'s output.
#[tokio::test]
async fn seaweedfs_injected_keys_never_reach_logs_responses_or_validate_at_trace_level() {
    use aws_sdk_s3::primitives::ByteStream;
    let store = require_store!(seaweedfs);
    const APP: &str = "APPACCESSKEY00000001";
    const APP_SECRET: &str = "app-secret-0123456789abcdefghijklmnop";
    let (tables, dir) = support::resign_tables(&store, &[(APP, APP_SECRET, None)]);
    let (current, previous, unknown) = (Key::new(50), Key::new(51), Key::new(52));
    let key_file = |name: &str, k: &Key| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{}\n", k.b64)).unwrap();
        path.display().to_string()
    };
    let rules = format!(
        "[[ssec.buckets]]\nbucket = \"inj-*\"\npolicy = \"require\"\ninject_key_file = {:?}\nprevious_key_files = [{:?}]\n",
        key_file("current.key", &current),
        key_file("previous.key", &previous),
    );
    let proxy = Proxy::start(ProxyOptions {
        upstream: "store = \"seaweedfs\"".into(),
        server: "plain_listen = \"127.0.0.1:0\"".into(),
        ssec: "default = \"allow\"".into(),
        tables: format!("{tables}{rules}"),
        rust_log: Some("trace".into()),
        ..ProxyOptions::endpoint(store.http.clone())
    });
    let bucket = bucket_name("inj");
    let mut seen = Vec::new();
    let app = support::s3_client(&proxy.url(), &proxy.pki.ca_pem, APP, APP_SECRET, true);
    app.create_bucket().bucket(&bucket).send().await.unwrap();
    app.put_object()
        .bucket(&bucket)
        .key("obj")
        .body(ByteStream::from_static(b"payload"))
        .send()
        .await
        .unwrap();
    // Objects under the previous key and under one the proxy does not hold, written
    // straight to the store.
    let direct = support::s3_client(
        &store.http,
        &proxy.pki.ca_pem,
        &store.access_key,
        &store.secret_key,
        true,
    );
    for (name, k) in [("old", &previous), ("lost", &unknown)] {
        direct
            .put_object()
            .bucket(&bucket)
            .key(name)
            .body(ByteStream::from_static(b"elsewhere"))
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&k.b64)
            .sse_customer_key_md5(&k.md5)
            .send()
            .await
            .unwrap();
    }
    // Raw, so every response header and body is seen as sent.
    let client = support::resign_client(&store);
    let as_app = support::Store {
        access_key: APP.to_owned(),
        secret_key: APP_SECRET.to_owned(),
        ..client
    };
    let base = format!("{}/{bucket}", proxy.url());
    for h2 in [false, true] {
        let raw = RawClient::new(&proxy.pki.ca_pem, h2);
        for (method, path) in [
            ("GET", "obj"),
            ("HEAD", "obj"),
            ("GET", "old"),
            ("HEAD", "old"),
            ("GET", "lost"),
            ("PUT", "new"),
        ] {
            let url = format!("{base}/{path}");
            // Reads without a body: only those can be tried with the previous key.
            let body = if method == "PUT" { &b"x"[..] } else { b"" };
            let r = raw
                .send(signed(&as_app, method, &url, &[], Bytes::from_static(body)))
                .await;
            seen.push(format!("{} {:?} {}", r.status, r.headers, r.text()));
        }
    }
    assert!(seen.iter().any(|s| s.starts_with("403")), "{seen:?}");
    // obj and old (GET, HEAD), new: 200 on both protocols; lost: 403.
    let ok = seen.iter().filter(|s| s.starts_with("200")).count();
    assert_eq!(ok, 10, "{seen:?}");
    // A client's own (wrong) key on an injected object: SeaweedFS answers the HEAD
    // with the MD5 of the object's real key, which must not reach the client.
    let own = Key::new(53);
    let own_headers = [
        (ALG, "AES256"),
        (KEY, own.b64.as_str()),
        (MD5, own.md5.as_str()),
    ];
    for method in ["HEAD", "GET"] {
        let raw = RawClient::new(&proxy.pki.ca_pem, false);
        let r = raw
            .send(signed(
                &as_app,
                method,
                &format!("{base}/obj"),
                &own_headers,
                Bytes::new(),
            ))
            .await;
        assert_eq!(r.status.as_u16(), 403, "{method}: {}", r.text());
        seen.push(format!("{} {:?} {}", r.status, r.headers, r.text()));
    }
    // The plain listener (a sidecar's loopback): injection needs no TLS from the client.
    let line = proxy.wait_log("\"listening\"").unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let plain = v["plain.addr"].as_str().unwrap().to_owned();
    let raw = RawClient::new(&proxy.pki.ca_pem, false);
    let r = raw
        .send(signed(
            &as_app,
            "GET",
            &format!("http://{plain}/{bucket}/obj"),
            &[],
            Bytes::new(),
        ))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    seen.push(format!("{:?} {}", r.headers, r.text()));
    std::thread::sleep(std::time::Duration::from_millis(300));
    seen.push(proxy.admin("/metrics").await.1);
    let validate = std::process::Command::new(support::BIN)
        .args(["validate", "--config"])
        .arg(&proxy.config_path)
        .output()
        .unwrap();
    assert!(validate.status.success(), "{validate:?}");
    seen.push(format!(
        "{}{}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr)
    ));
    // rekey: a dry run, then the rewrite of `old` from the previous key (its skip
    // line names `lost`).
    for extra in [&["--dry-run"][..], &[]] {
        let rekey = std::process::Command::new(support::BIN)
            .args(["rekey", "--config"])
            .arg(&proxy.config_path)
            .args(["--bucket", &bucket])
            .args(extra)
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&rekey.stdout),
            String::from_utf8_lossy(&rekey.stderr)
        );
        assert!(rekey.status.success(), "{out}");
        assert!(
            out.contains(" 1, skipped 3 (current 2, not encrypted 0, unknown key 1"),
            "{out}"
        );
        assert!(out.contains("skipped: lost: under a key"), "{out}");
        seen.push(out);
    }
    let logs = proxy.logs();
    assert!(
        logs.iter().any(|l| l.contains("TRACE")),
        "trace level was on"
    );
    for k in [&current, &previous, &unknown] {
        for secret in forms_of(k).into_iter().chain([k.md5.clone()]) {
            for line in &logs {
                assert!(
                    !line.contains(&secret),
                    "key material in a log line: {line}"
                );
            }
            for text in &seen {
                assert!(!text.contains(&secret), "key material in: {text}");
            }
        }
    }
    println!(
        "searched {} log lines and {} responses/outputs for 5 forms of 3 injected keys",
        logs.len(),
        seen.len()
    );
}
