//! POST Object forms a store could read differently from the proxy, against SeaweedFS and
//! Ceph RGW. Each variant is first sent to the store directly, as a positive control: what
//! the store does with it (accepts it, and stores plaintext where SSE-C is required, or
//! SSE-C data where it is forbidden) is the evidence that the difference matters. Then
//! the same form goes through the proxy, which refuses it, and the store is read directly
//! to show it holds nothing the bucket's policy forbids. Each test runs in both auth
//! modes; in resign mode the form through the proxy carries a policy signed with the
//! client's proxy credentials, and the proxy checks it before the store sees the form.
//!
//! Run with `--no-capture` to see one `EVIDENCE` line per variant, store and mode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use support::at_rest::{count, marked};
use support::form::{Form, Post, Signer, signed_fields};
use support::s3::{Key, object_names};
use support::wire::{ALGORITHM, KEY, KEY_MD5, proxy_with, ssec, ssec_empty};
use support::{
    Mode, ModeProxy, Store, bucket_name, client_tls, direct_client, signed, unique, xml_code,
};

/// `require` by default; `*-forbid`, `*-allow`, and `*-k1only` (require, K1's digest only).
fn policy() -> String {
    format!(
        "default = \"require\"\n\
         [[ssec.buckets]]\nbucket = \"*-forbid\"\npolicy = \"forbid\"\n\
         [[ssec.buckets]]\nbucket = \"*-allow\"\npolicy = \"allow\"\n\
         [[ssec.buckets]]\nbucket = \"*-k1only\"\npolicy = \"require\"\nkey_md5_allowlist = [{:?}]\n",
        Key::new(0).md5
    )
}

type Http = HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Env {
    store: Store,
    mode: Mode,
    /// The proxy in `mode`; its `client` signs the forms sent through it.
    proxy: ModeProxy,
    /// The proxy's plain listener (`host:port`).
    plain: String,
    /// aws-sdk-s3 straight to the store's TLS endpoint.
    direct: aws_sdk_s3::Client,
    http: Http,
}

async fn env(store: Store, mode: Mode) -> Env {
    let proxy = proxy_with(&store, "plain_listen = \"127.0.0.1:0\"", &policy(), mode);
    let line = proxy.wait_log("\"listening\"").unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let plain = v["plain.addr"].as_str().unwrap().to_owned();
    let store_ca = std::fs::read_to_string(&store.ca).unwrap();
    let direct = direct_client(&store);
    let trust = format!("{store_ca}\n{}", proxy.pki.ca_pem);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_tls(&trust, None))
        .https_or_http()
        .enable_http1()
        .build();
    let http = HyperClient::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
    Env {
        store,
        mode,
        proxy,
        plain,
        direct,
        http,
    }
}

impl Env {
    /// A new bucket (created on the store directly) whose name ends in `suffix`.
    async fn bucket(&self, suffix: &str) -> String {
        let bucket = format!("{}{suffix}", bucket_name("dp"));
        self.direct
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        bucket
    }

    /// Sends a form: `(status, body)`, or status 0 and the error if the exchange broke.
    async fn post(&self, url: &str, post: Post) -> (u16, String) {
        let mut req = http::Request::post(url);
        for (n, v) in &post.headers {
            req = req.header(n.as_str(), v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(post.body))).unwrap();
        let sent = tokio::time::timeout(Duration::from_secs(60), self.http.request(req)).await;
        match sent {
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                let body = resp.into_body().collect().await.map(|b| b.to_bytes());
                (
                    status,
                    String::from_utf8_lossy(&body.unwrap_or_default()).into_owned(),
                )
            }
            Ok(Err(e)) => (0, format!("{e:?}")),
            Err(_) => (0, "no answer in time".into()),
        }
    }

    fn store_url(&self, path: &str) -> String {
        format!("{}/{path}", self.store.https)
    }

    fn proxy_url(&self, path: &str) -> String {
        format!("{}/{path}", self.proxy.url())
    }

    /// One variant. The form `build` makes for the key `direct` (with 4 KiB of marked file
    /// data), its policy signed with the store's credentials, goes straight to the store at
    /// `path` in `bucket`: the positive control, whose plaintext, if it leaves any, the
    /// search at rest must find. The form for `proxied`, signed with the credentials the
    /// proxy's clients hold, goes through the proxy, which must refuse it with `refusal`
    /// and leave nothing under the key or at rest. Prints the evidence; returns the
    /// control's outcome.
    async fn differential(
        &self,
        variant: &str,
        (bucket, path): (&str, &str),
        refusal: (u16, &str),
        build: impl Fn(&Store, &str, &[u8]) -> Post,
    ) -> (u16, Held) {
        let (direct_marker, data) = content(4096);
        let direct = self
            .post(&self.store_url(path), build(&self.store, "direct", &data))
            .await;
        let direct = self.control(direct.0, bucket).await;
        if direct.1 == Held::Plaintext {
            let found = count(&self.store, bucket, &direct_marker);
            assert!(
                found > 0,
                "{variant}: the control's plaintext not found at rest"
            );
        }
        let (marker, data) = content(4096);
        let proxied = self
            .post(
                &self.proxy_url(path),
                build(&self.proxy.client, "proxied", &data),
            )
            .await;
        let line = self.refused(proxied, refusal, bucket, "proxied").await;
        assert_eq!(count(&self.store, bucket, &marker), 0, "plaintext at rest");
        evidence(&self.store, self.mode, variant, &direct, &line);
        direct
    }

    /// The positive control's outcome: the store's status for the form sent directly,
    /// and what it then holds under the key `direct`. Printed at once, as evidence.
    async fn control(&self, status: u16, bucket: &str) -> (u16, Held) {
        let held = self.held(bucket, "direct").await;
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        eprintln!("EVIDENCE {test}: store directly: {status} -> {held:?}");
        (status, held)
    }

    /// What the store holds under `key`, read directly.
    async fn held(&self, bucket: &str, key: &str) -> Held {
        if !object_names(&self.direct, bucket)
            .await
            .contains(&key.to_owned())
        {
            return Held::Nothing;
        }
        if self.get(bucket, key, None).await.is_some() {
            return Held::Plaintext;
        }
        for (name, k) in [("K1", Key::new(0)), ("K2", Key::new(1))] {
            if self.get(bucket, key, Some(&k)).await.is_some() {
                return Held::Encrypted(name);
            }
        }
        Held::Encrypted("another key")
    }

    /// GET straight from the store, raw: SeaweedFS repeats the key-MD5 header on SSE-C
    /// reads, which the SDK refuses.
    async fn get(&self, bucket: &str, key: &str, k: Option<&Key>) -> Option<Vec<u8>> {
        let url = self.store_url(&format!("{bucket}/{key}"));
        let headers = k.map(ssec).unwrap_or_default();
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let req = signed(&self.store, "GET", &url, &headers, Bytes::new());
        let resp = self.http.request(req).await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        Some(resp.into_body().collect().await.ok()?.to_bytes().to_vec())
    }

    /// Asserts the proxy refused with `status` and `code` and the store holds nothing
    /// under `key`; returns the line of evidence.
    async fn refused(
        &self,
        (status, body): (u16, String),
        expected: (u16, &str),
        bucket: &str,
        key: &str,
    ) -> String {
        assert_eq!(
            (status, xml_code(&body).as_deref()),
            (expected.0, Some(expected.1)),
            "{}: {body}",
            self.store.name
        );
        let held = self.held(bucket, key).await;
        assert_eq!(held, Held::Nothing, "{}: {key}", self.store.name);
        format!("proxy {status} {} -> {held:?}", expected.1)
    }
}

/// What a store holds under a key.
#[derive(Debug, PartialEq, Eq)]
enum Held {
    Nothing,
    /// A GET without key returns it.
    Plaintext,
    /// Readable with this key only.
    Encrypted(&'static str),
}

fn evidence(store: &Store, mode: Mode, variant: &str, direct: impl std::fmt::Debug, proxy: &str) {
    eprintln!(
        "EVIDENCE {} {mode:?}: {variant}: direct {direct:?}; {proxy}",
        store.name
    );
}

/// A form that uploads `key` into `bucket`: the key and the signed policy fields.
fn upload(store: &Store, bucket: &str, key: &str) -> Form {
    Form::new().fields(&policy_fields(store, bucket, key, true))
}

/// The same with SSE-C conditions only when `ssec_conditions`.
fn upload_with(store: &Store, bucket: &str, key: &str, ssec_conditions: bool) -> Form {
    Form::new().fields(&policy_fields(store, bucket, key, ssec_conditions))
}

/// A form for SSE-C fields after the file, signed by `s`. In resign mode the proxy
/// checks the policy of a form itself, against the fields before the file: a condition
/// on SSE-C fields it has not seen there fails, as on S3 (403 AccessDenied, "Policy
/// Condition failed"). A client attacking through the proxy leaves them out of its
/// policy; that form is the one the proxy must refuse as ambiguous. The store, sent the
/// form directly, needs them (RGW wants a condition for every field it reads).
fn upload_then_fields(e: &Env, s: &Store, bucket: &str, key: &str) -> Form {
    let to_store = s.access_key == e.store.access_key && s.secret_key == e.store.secret_key;
    upload_with(s, bucket, key, e.mode == Mode::Passthrough || to_store)
}

/// `key` and the SigV4 POST policy fields for `bucket`; with `ssec_conditions`, the policy
/// lets the SSE-C fields take any value (so the store's policy check passes whether or
/// not it sees them, and RGW finds a condition for every field it reads).
fn policy_fields(
    store: &Store,
    bucket: &str,
    key: &str,
    ssec_conditions: bool,
) -> Vec<(String, String)> {
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!(["starts-with", "$key", ""]),
    ];
    if ssec_conditions {
        for name in [ALGORITHM, KEY, KEY_MD5] {
            conditions.push(json!(["starts-with", format!("${name}"), ""]));
        }
    }
    let signer = Signer {
        access_key: &store.access_key,
        secret_key: &store.secret_key,
        region: "us-east-1",
        expires_in: 600,
    };
    let mut fields = vec![("key".to_owned(), key.to_owned())];
    fields.extend(signed_fields(&signer, conditions));
    fields
}

/// Test data with a marker unique to this form, so plaintext at rest can be found.
fn content(len: usize) -> (String, Vec<u8>) {
    let marker = format!("PLAINTEXT-form-{}-", unique().replace('-', ""));
    let data = marked(len, &marker, 7);
    (marker, data)
}

const AMBIGUOUS: (u16, &str) = (400, "InvalidRequest");

/// SSE-C as request headers on a form upload, no SSE-C fields, in a `forbid` bucket:
/// the proxy used to check only the fields.
async fn sse_c_headers_on_a_form_are_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-forbid").await;
    let k1 = Key::new(0);
    // In resign mode too: the proxy refuses SSE-C headers on a form as ambiguous before
    // it would refuse them as x-amz-* headers no signature covers (403 AccessDenied).
    let variant = "SSE-C headers, no fields, forbid bucket";
    let direct = e
        .differential(variant, (&bucket, &bucket), AMBIGUOUS, |s, key, data| {
            let form = upload(s, &bucket, key).file(data);
            form.close().with_headers(ssec(&k1))
        })
        .await;
    let expected = match e.store.name {
        // RGW takes SSE-C for POST Object from the fields only.
        "RGW" => (204, Held::Plaintext),
        _ => (204, Held::Encrypted("K1")),
    };
    assert_eq!(direct, expected, "direct control");
}

/// SSE-C fields after the file part, in a `forbid` bucket; once small (refused from the
/// bytes the proxy read for the fields) and once after 2 MiB of file (refused as the body
/// streams to the store).
async fn sse_c_fields_after_the_file_are_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-forbid").await;
    let k1 = Key::new(0);
    let form = |s: &Store, key: &str, data: &[u8]| {
        let form = upload_then_fields(e, s, &bucket, key).file(data);
        form.fields(&ssec(&k1)).close()
    };
    let variant = "SSE-C fields after the file, forbid bucket";
    let direct = e
        .differential(variant, (&bucket, &bucket), AMBIGUOUS, form)
        .await;
    let (_, data) = content(2 << 20);
    let large = form(&e.proxy.client, "proxied-streamed", &data);
    let streamed = large.body.len();
    let proxied = e.post(&e.proxy_url(&bucket), large).await;
    let line = e
        .refused(proxied, AMBIGUOUS, &bucket, "proxied-streamed")
        .await;
    let metrics = e.proxy.admin("/metrics").await.1;
    assert!(
        metrics
            .contains("ssec_rejections_total{code=\"InvalidRequest\",reason=\"ambiguous_form\"} 2"),
        "{metrics}"
    );
    // The small form was refused before the store saw a byte; the large one streamed
    // to the store and was cut before its end.
    let forwarded: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ssec_body_bytes_total{direction=\"in\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(
        forwarded > 1 << 20 && forwarded < streamed,
        "forwarded {forwarded} of {streamed} bytes"
    );
    evidence(
        &e.store,
        e.mode,
        "SSE-C fields after 2 MiB of file, forbid bucket",
        &direct,
        &format!("{line}, {forwarded} of {streamed} bytes forwarded"),
    );
    let expected = match e.store.name {
        // RGW reads the parts after the file and ignores them.
        "RGW" => (204, Held::Plaintext),
        // Go's ReadForm reads every part; SeaweedFS applies the SSE-C fields.
        _ => (204, Held::Encrypted("K1")),
    };
    assert_eq!(direct, expected, "direct control");
}

/// SSE-C fields carrying a `filename` parameter, in a `require` bucket: Go files such a
/// part under files, not values.
async fn sse_c_fields_with_a_filename_are_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-req").await;
    let k1 = Key::new(0);
    let variant = "SSE-C fields with filename=, require bucket";
    let direct = e
        .differential(variant, (&bucket, &bucket), AMBIGUOUS, |s, key, data| {
            let form = upload(s, &bucket, key).fields_as_files(&ssec(&k1));
            form.file(data).close()
        })
        .await;
    let expected = match e.store.name {
        "RGW" => (204, Held::Encrypted("K1")),
        // SeaweedFS does not see SSE-C fields: plaintext in a bucket that requires SSE-C.
        _ => (204, Held::Plaintext),
    };
    assert_eq!(direct, expected, "direct control");
}

/// The SSE-C fields given twice: valid K1 fields then empty ones (`require` bucket), and
/// K1 then K2 (`*-k1only`): Go (SeaweedFS) takes the first value, RGW the last.
async fn duplicate_sse_c_fields_are_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let required = e.bucket("-req").await;
    let k1only = e.bucket("-k1only").await;
    let k1 = Key::new(0);
    let k2 = Key::new(1);
    let cases = [
        (
            "SSE-C fields then empty ones, require bucket",
            &required,
            ssec_empty(),
        ),
        (
            "K1 fields then K2 fields, K1-only bucket",
            &k1only,
            ssec(&k2),
        ),
    ];
    for (variant, bucket, second) in cases {
        let direct = e
            .differential(variant, (bucket, bucket), AMBIGUOUS, |s, key, data| {
                let form = upload(s, bucket, key).fields(&ssec(&k1));
                form.fields(&second).file(data).close()
            })
            .await;
        let expected = match (e.store.name, bucket == &required) {
            // RGW takes the last value: empty means no SSE-C, so plaintext.
            ("RGW", true) => (204, Held::Plaintext),
            // ... and K2, a key the bucket does not allow.
            ("RGW", false) => (204, Held::Encrypted("K2")),
            _ => (204, Held::Encrypted("K1")),
        };
        assert_eq!(direct, expected, "direct control: {variant}");
    }
}

/// A quoted-printable SSE-C field: Go decodes `=41ES256` to `AES256`, RGW does not.
async fn quoted_printable_fields_are_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-req").await;
    let k1 = Key::new(0);
    let variant = "quoted-printable SSE-C algorithm field";
    let direct = e
        .differential(variant, (&bucket, &bucket), AMBIGUOUS, |s, key, data| {
            upload(s, &bucket, key)
                .part(
                    &format!(
                        "Content-Disposition: form-data; name=\"{ALGORITHM}\"\r\nContent-Transfer-Encoding: quoted-printable"
                    ),
                    b"=41ES256",
                )
                .fields(&ssec(&k1)[1..])
                .file(data)
                .close()
        })
        .await;
    let expected = match e.store.name {
        "RGW" => (400, Held::Nothing),
        _ => (204, Held::Encrypted("K1")),
    };
    assert_eq!(direct, expected, "direct control");
}

/// A form upload sent to an object path (`POST /bucket/anything`) without SSE-C, in a
/// `require` bucket: both stores take it as a form upload.
async fn forms_to_an_object_path_are_checked(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-req").await;
    let path = format!("{bucket}/anything");
    let variant = "form to an object path, require bucket";
    let direct = e
        .differential(
            variant,
            (&bucket, &path),
            (403, "AccessDenied"),
            |s, key, data| upload(s, &bucket, key).file(data).close(),
        )
        .await;
    assert_eq!(e.held(&bucket, "anything").await, Held::Nothing);
    assert_eq!(direct, (204, Held::Plaintext), "direct control");
}

/// A form without a file part, and one without a `key` field, in a `require` bucket
/// with SSE-C fields: AWS refuses both (400 InvalidArgument). Both stores store an empty
/// object from the first, whatever the policy's `content-length-range`; the proxy answers both
/// as AWS, before the store.
async fn forms_without_a_file_or_a_key_are_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-req").await;
    let k1 = Key::new(0);
    let refusal = (400, "InvalidArgument");
    let variant = "no key field, require bucket";
    // First: its control, which names no key, must find nothing under `direct`.
    let no_key = e
        .differential(variant, (&bucket, &bucket), refusal, |s, key, data| {
            let fields = policy_fields(s, &bucket, key, true);
            let fields: Vec<_> = fields.into_iter().filter(|(n, _)| n != "key").collect();
            Form::new()
                .fields(&fields)
                .fields(&ssec(&k1))
                .file(data)
                .close()
        })
        .await;
    let variant = "no file part, require bucket";
    let no_file = e
        .differential(variant, (&bucket, &bucket), refusal, |s, key, _| {
            upload(s, &bucket, key).fields(&ssec(&k1)).close()
        })
        .await;
    // Both stores store an empty object from a form without a file.
    assert_eq!(
        no_file,
        (204, Held::Encrypted("K1")),
        "direct control without a file"
    );
    assert_eq!(no_key, (400, Held::Nothing), "direct control without a key");
}

/// A form under another multipart type whose Content-Type names multipart/form-data in
/// a parameter: SeaweedFS takes a POST as a form upload when its Content-Type matches
/// `multipart/form-data*` anywhere, and Go's reader takes any multipart body; RGW wants
/// the media type itself. At the bucket and at an object path.
async fn a_form_under_another_multipart_type_is_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    for at_object in [false, true] {
        let bucket = e.bucket("-req").await;
        let path = if at_object {
            format!("{bucket}/anything")
        } else {
            bucket.clone()
        };
        let path = path.as_str();
        let variant =
            format!("multipart/mixed naming multipart/form-data at /{path}, require bucket");
        let direct = e
            .differential(
                &variant,
                (&bucket, path),
                (400, "MalformedPOSTRequest"),
                |s, key, data| {
                    let mut post = upload(s, &bucket, key).file(data).close();
                    let (name, value) = &mut post.headers[0];
                    assert_eq!(name, "content-type");
                    *value = format!(
                        "{}; x=\"multipart/form-data\"",
                        value.replacen("multipart/form-data", "multipart/mixed", 1)
                    );
                    post
                },
            )
            .await;
        let expected = match e.store.name {
            "RGW" => (400, Held::Nothing),
            _ => (204, Held::Plaintext),
        };
        assert_eq!(direct, expected, "direct control: {variant}");
    }
}

/// Two Content-Type headers with different boundaries over a body that is a form under
/// each: the first boundary's form carries SSE-C, the last one's does not. SeaweedFS
/// reads the first header, RGW the last.
async fn two_content_types_are_refused(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-req").await;
    let k1 = Key::new(0);
    let variant = "two Content-Type headers, require bucket";
    let direct = e
        .differential(variant, (&bucket, &bucket), AMBIGUOUS, |s, key, data| {
            let last = upload(s, &bucket, key).file(data).close();
            let first = upload(s, &bucket, key).fields(&ssec(&k1));
            let first = first.file(data).close();
            // The last boundary's form comes first (RGW takes no preamble); Go skips it as
            // the preamble of the first boundary's form.
            Post {
                headers: [first.headers, last.headers].concat(),
                body: [last.body, first.body].concat(),
            }
        })
        .await;
    let expected = match e.store.name {
        "RGW" => (204, Held::Plaintext),
        _ => (204, Held::Encrypted("K1")),
    };
    assert_eq!(direct, expected, "direct control");
}

/// SSE-C in a form on the proxy's plain listener (`allow` bucket): as fields, as
/// headers, as fields after the file, as fields with a filename. The store's own
/// plain HTTP endpoint is the control.
async fn the_plain_listener_refuses_sse_c_in_forms(store: Store, mode: Mode) {
    let e = &env(store, mode).await;
    let bucket = e.bucket("-allow").await;
    let k1 = Key::new(0);
    let (_, data) = content(4096);
    // Signed with the store's credentials for the store, the client's for the proxy.
    let signer = |key: &str| {
        if key == "direct" {
            &e.store
        } else {
            &e.proxy.client
        }
    };
    let form = |key: &str| upload(signer(key), &bucket, key);
    let fields = |key: &str| form(key).fields(&ssec(&k1)).file(&data).close();
    let direct = e
        .post(&format!("{}/{bucket}", e.store.http), fields("direct"))
        .await;
    let direct = e.control(direct.0, &bucket).await;
    let plain = format!("http://{}/{bucket}", e.plain);
    let secure = (400, "InvalidArgument");
    // (key, form, the proxy's refusal)
    let variants = [
        ("fields", fields("fields"), secure),
        (
            "headers",
            form("headers").file(&data).close().with_headers(ssec(&k1)),
            secure,
        ),
        (
            "after",
            upload_then_fields(e, signer("after"), &bucket, "after")
                .file(&data)
                .fields(&ssec(&k1))
                .close(),
            AMBIGUOUS,
        ),
        (
            "filename",
            form("filename")
                .fields_as_files(&ssec(&k1))
                .file(&data)
                .close(),
            AMBIGUOUS,
        ),
    ];
    let mut lines = Vec::new();
    for (key, post, refusal) in variants {
        let r = e.post(&plain, post).await;
        if refusal == secure {
            let why = "must be made over a secure connection.";
            assert!(r.1.contains(why), "{key}: {}", r.1);
        }
        lines.push(e.refused(r, refusal, &bucket, key).await);
    }
    evidence(
        &e.store,
        e.mode,
        "SSE-C fields over plain HTTP (store's own http endpoint)",
        &direct,
        &lines.join(", "),
    );
    let expected = match e.store.name {
        // RGW refuses SSE-C over plain HTTP itself (without forwarded-proto trust).
        "RGW" => (400, Held::Nothing),
        _ => (204, Held::Encrypted("K1")),
    };
    assert_eq!(direct, expected, "direct control");
}

// Not Garage: it refuses a form unless every field has a condition in the policy and
// every condition a field before the file, and it reads no field after the file; the
// direct controls here are built for SeaweedFS's and RGW's laxer readings. Garage's own
// form readings (byte order marks, charsets) are tested in tests/folder_keys.rs.
per_store_and_mode!(
    @stores [seaweedfs, rgw];
    sse_c_headers_on_a_form_are_refused,
    sse_c_fields_after_the_file_are_refused,
    sse_c_fields_with_a_filename_are_refused,
    duplicate_sse_c_fields_are_refused,
    quoted_printable_fields_are_refused,
    forms_to_an_object_path_are_checked,
    forms_without_a_file_or_a_key_are_refused,
    two_content_types_are_refused,
    a_form_under_another_multipart_type_is_refused,
    the_plain_listener_refuses_sse_c_in_forms,
);
