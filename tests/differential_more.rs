//! More parser differentials (after issue 10's fix): requests the proxy reads as one
//! thing and a store as another, found by probing the stores directly.
//!
//! * RGW reads a path-style bucket `tenant:bucket` as bucket `bucket` of `tenant`, and
//!   `:bucket` as `bucket` of the default (empty) tenant; the proxy applies the policy of
//!   a bucket literally named `:bucket` (no rule matches it, so `ssec.default`).
//! * RGW 16.2 has no RenameObject: `PUT /b/k?renameObject` is a PutObject to it, while the
//!   proxy classifies it as RenameObject, which no policy covers.
//!
//! Each variant goes straight to the store first (positive control), then through the
//! proxy, then the store is read directly. The helpers below the tests are copied from
//! `tests/differential.rs` (same signer, same raw exchange).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(dead_code, unused_imports)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use http_body_util::Full;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use support::at_rest::{count, marked};
use support::s3::{Key, failure, object_names};
use support::{
    Proxy, ProxyOptions, RawClient, Route, Store, bucket_name, s3_client, store_client,
    store_proxy, unique, xml_code,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const ALGORITHM: &str = "x-amz-server-side-encryption-customer-algorithm";
const KEY: &str = "x-amz-server-side-encryption-customer-key";
const KEY_MD5: &str = "x-amz-server-side-encryption-customer-key-md5";
const COPY_SOURCE: &str = "x-amz-copy-source";

/// A variant's request, built for `who` ("direct" or "proxy"): the same bytes but for
/// the names and plaintext markers in them.
type Build<'a> = Box<dyn Fn(&str) -> Wire + 'a>;
/// The same, with a part number.
type BuildPart<'a> = Box<dyn Fn(u32, &str) -> Wire + 'a>;
/// The same, for an endpoint (a virtual-hosted Host carries the endpoint's port).
type BuildFor<'a> = Box<dyn Fn(&Endpoint, &str) -> Wire + 'a>;

/// `require` by default; `allow-*`, `forbid-*`, and `listed-*` (require, only K1).
fn policy() -> String {
    format!(
        "default = \"require\"\n\
         [[ssec.buckets]]\nbucket = \"allow-*\"\npolicy = \"allow\"\n\
         [[ssec.buckets]]\nbucket = \"forbid-*\"\npolicy = \"forbid\"\n\
         [[ssec.buckets]]\nbucket = \"listed-*\"\npolicy = \"require\"\n\
         key_md5_allowlist = [{:?}]\n",
        Key::new(0).md5
    )
}

/// Attack A: `PUT /:forbid-…/k` with SSE-C. RGW splits a `tenant:bucket` path segment
/// (`rgw_parse_url_bucket`; an empty tenant is the default one) and writes into the
/// `forbid` bucket; the proxy applies the policy of a bucket named `:forbid-…` (the
/// default, `require`), so SSE-C passes. The same with an unlisted key in the
/// allow-listed bucket.
async fn tenant_prefixed_bucket_is_read_once(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "tenant-bucket");
    e.baseline(&mut f).await;
    let k2 = Key::new(1);
    let cases: Vec<(&str, &String, &str)> = vec![
        (
            "PutObject with SSE-C to /:<forbid bucket>/k",
            &e.forbid,
            "tenant-forbid",
        ),
        (
            "PutObject with an unlisted key to /:<listed bucket>/k",
            &e.listed,
            "tenant-listed",
        ),
    ];
    for (label, bucket, stem) in &cases {
        let put = |who: &str| {
            Wire::new("PUT", format!("/:{bucket}/{stem}-{who}"))
                .signed(ssec(&k2))
                .body(e.data(who, stem))
        };
        let control = e.direct(&put("direct")).await;
        let how = e.how_stored(bucket, &format!("{stem}-direct")).await;
        // RGW: the object lands in the real bucket under K2; SeaweedFS: no such bucket name.
        let ok = match e.store.name {
            "RGW" => control.status == 200 && how == "under K2",
            _ => control.status == 400 && how == "unreadable",
        };
        let what = e.per(
            "400 InvalidBucketName",
            "200, stored under K2 in the real bucket",
        );
        f.control(label, &control, ok, what);
        let through = e.proxied(&put("proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
        let how = e.how_stored(bucket, &format!("{stem}-proxy")).await;
        f.check(how == "unreadable", || {
            format!("{label}: through the proxy, {bucket} now holds {stem}-proxy {how}")
        });
    }
    // A plaintext GET of a `require` object through `/:bucket` is refused today only
    // because `ssec.default` is `require` here; with `default = "allow"` it would pass.
    e.holds_nothing_from_proxy(&mut f, &[&e.forbid, &e.listed])
        .await;
    f.finish();
}

/// Attack B: `PUT /b/k?renameObject` with a body. The proxy classifies RenameObject (no
/// SSE-C required, key not checked against the allow-list); RGW 16.2 has no RenameObject
/// and stores the body as a PutObject: plaintext in a `require` bucket, or an unlisted key
/// in an allow-listed one.
async fn rename_object_is_a_write(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "rename-object");
    e.baseline(&mut f).await;
    let k2 = Key::new(1);
    let plain = |who: &str| {
        Wire::new("PUT", format!("/{}/rename-plain-{who}", e.req))
            .query("renameObject")
            .body(e.data(who, "rename-plain"))
    };
    let unlisted = |who: &str| {
        Wire::new("PUT", format!("/{}/rename-listed-{who}", e.listed))
            .query("renameObject")
            .signed(ssec(&k2))
            .body(e.data(who, "rename-listed"))
    };
    let cases: Vec<(&str, &String, &str, Build<'_>, &str)> = vec![
        (
            "PUT ?renameObject with a plaintext body, require bucket",
            &e.req,
            "rename-plain",
            Box::new(plain),
            "plaintext",
        ),
        (
            "PUT ?renameObject with an unlisted key, allow-listed bucket",
            &e.listed,
            "rename-listed",
            Box::new(unlisted),
            "under K2",
        ),
    ];
    for (label, bucket, stem, build, rgw_stores) in &cases {
        let control = e.direct(&build("direct")).await;
        let how = e.how_stored(bucket, &format!("{stem}-direct")).await;
        // RGW 16.2 writes the body (PutObject); SeaweedFS refuses (400, nothing stored).
        let ok = match e.store.name {
            "RGW" => control.status == 200 && how == *rgw_stores,
            _ => control.status >= 400 && how == "unreadable",
        };
        let what = format!("RGW: 200 and the object {rgw_stores}; SeaweedFS: refused");
        f.control(label, &control, ok, &what);
        let through = e.proxied(&build("proxy")).await;
        f.rejected(label, &through);
        let how = e.how_stored(bucket, &format!("{stem}-proxy")).await;
        f.check(how == "unreadable", || {
            format!("{label}: through the proxy, {bucket} now holds {stem}-proxy {how}")
        });
    }
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.listed])
        .await;
    f.finish();
}

macro_rules! per_store {
    ($($name:ident),* $(,)?) => {
        mod seaweedfs {
            use super::*;
            $(#[tokio::test] async fn $name() { let store = require_store!(seaweedfs); super::$name(store).await; })*
        }
        mod rgw {
            use super::*;
            $(#[tokio::test] async fn $name() { let store = require_store!(rgw); super::$name(store).await; })*
        }
    };
}

per_store!(
    tenant_prefixed_bucket_is_read_once,
    rename_object_is_a_write
);

// ---------------------------------------------------------------------------------------
// Copied from tests/differential.rs.

// ---------------------------------------------------------------------------------------
// Environment: the proxy in front of one store, buckets for each policy, direct clients.

struct Env {
    store: Store,
    proxy: Proxy,
    /// The store itself, for positive controls.
    direct: Endpoint,
    /// The proxy in front of it.
    via: Endpoint,
    /// An SDK client straight to the store: what it really holds.
    s3: Client,
    /// An SDK client through the proxy, for set-up the proxy must see (uploads).
    c: Client,
    req: String,
    allow: String,
    forbid: String,
    listed: String,
    tag: String,
}

async fn env(store: Store) -> Env {
    let proxy = store_proxy(&store, route(&store), &policy());
    let s3 = direct_client(&store);
    let c = store_client(&proxy, &store);
    let [req, allow, forbid, listed] = ["req", "allow", "forbid", "listed"].map(bucket_name);
    for b in [&req, &allow, &forbid, &listed] {
        s3.create_bucket()
            .bucket(b)
            .send()
            .await
            .unwrap_or_else(|err| panic!("CreateBucket {b}: {:?}", failure(&err)));
    }
    Env {
        direct: Endpoint::store(&store),
        via: Endpoint::proxy(&proxy),
        tag: unique().replace('-', ""),
        store,
        proxy,
        s3,
        c,
        req,
        allow,
        forbid,
        listed,
    }
}

/// The store's TLS endpoint for RGW (it refuses SSE-C over plain HTTP), plain HTTP for
/// SeaweedFS, as in `ssec_stores.rs`.
fn route(store: &Store) -> Route {
    match store.name {
        "RGW" => Route::Https,
        _ => Route::Http,
    }
}

fn direct_url(store: &Store) -> &str {
    match store.name {
        "RGW" => &store.https,
        _ => &store.http,
    }
}

fn direct_client(store: &Store) -> Client {
    let ca = std::fs::read_to_string(&store.ca).unwrap();
    s3_client(
        direct_url(store),
        &ca,
        &store.access_key,
        &store.secret_key,
        true,
    )
}

/// A second proxy with `virtual_host_suffixes = ["localhost"]`, as RGW's `rgw dns name`.
fn suffix_proxy(store: &Store) -> Proxy {
    let (endpoint, upstream) = match store.name {
        "RGW" => (
            store.https.clone(),
            format!(
                "store = \"rgw\"\nca_file = {:?}",
                store.ca.display().to_string()
            ),
        ),
        _ => (store.http.clone(), "store = \"seaweedfs\"".to_owned()),
    };
    Proxy::start(ProxyOptions {
        upstream,
        server: "virtual_host_suffixes = [\"localhost\"]".into(),
        ssec: policy(),
        ..ProxyOptions::endpoint(endpoint)
    })
}

impl Env {
    /// `seaweedfs` or `rgw`, by the store under test.
    fn per<T>(&self, seaweedfs: T, rgw: T) -> T {
        match self.store.name {
            "RGW" => rgw,
            _ => seaweedfs,
        }
    }

    /// Plaintext marker of what `who` ("direct", "proxy", …) sent for `stem`; every
    /// proxy marker starts with [`Env::proxy_prefix`].
    fn marker(&self, who: &str, stem: &str) -> String {
        format!("PLAIN-{who}-{}-{stem}-", self.tag)
    }

    fn proxy_prefix(&self) -> String {
        format!("PLAIN-proxy-{}-", self.tag)
    }

    /// 4 KiB of incompressible data carrying [`Env::marker`].
    fn data(&self, who: &str, stem: &str) -> Vec<u8> {
        marked(4096, &self.marker(who, stem), 7)
    }

    async fn direct(&self, w: &Wire) -> Reply {
        self.send(&self.direct, w).await
    }

    async fn proxied(&self, w: &Wire) -> Reply {
        self.send(&self.via, w).await
    }

    async fn send(&self, ep: &Endpoint, w: &Wire) -> Reply {
        let bytes = w.encode(&self.store, &ep.host);
        let head = w.method == "HEAD";
        tokio::time::timeout(Duration::from_secs(30), ep.exchange(&bytes, head))
            .await
            .expect("a response within 30 s")
    }

    /// The request over HTTP/2 to the proxy (`:authority` is the signed host).
    async fn proxied_h2(&self, w: &Wire) -> Reply {
        let host = self.via.host.clone();
        let (headers, body) = w.signed_parts(&self.store, &host);
        let target = w.target();
        let mut req = http::Request::builder()
            .method(w.method)
            .uri(format!("https://{host}{target}"));
        for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
            req = req.header(name.as_str(), value.as_str());
        }
        let raw = RawClient::new(&self.proxy.pki.ca_pem, true);
        let res = raw
            .send(req.body(Full::new(Bytes::from(body))).unwrap())
            .await;
        Reply {
            status: res.status.as_u16(),
            head: format!("{:?}", res.headers),
            body: res.body.to_vec(),
        }
    }

    async fn put_plain(&self, bucket: &str, key: &str, data: &[u8]) {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(data.to_vec()))
            .send()
            .await
            .unwrap_or_else(|err| panic!("PUT {bucket}/{key}: {:?}", failure(&err)));
    }

    /// GET straight from the store, with `k` or without a key. Raw, not the SDK: SeaweedFS
    /// repeats the key-MD5 response header, which the SDK cannot parse.
    async fn read(
        &self,
        bucket: &str,
        key: &str,
        k: Option<&Key>,
    ) -> Result<Vec<u8>, (u16, String)> {
        let key: Vec<String> = key.split('/').map(enc).collect();
        let mut get = Wire::new("GET", format!("/{bucket}/{}", key.join("/")));
        if let Some(k) = k {
            get = get.signed(ssec(k));
        }
        let reply = self.direct(&get).await;
        match reply.status {
            200 => Ok(reply.body),
            status => Err((status, reply.code())),
        }
    }

    /// CreateMultipartUpload with `k` through the proxy, so that it knows the upload.
    async fn upload(&self, bucket: &str, key: &str, k: &Key) -> String {
        let out = self
            .c
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&k.b64)
            .sse_customer_key_md5(&k.md5)
            .send()
            .await
            .unwrap_or_else(|err| panic!("CreateMultipartUpload: {:?}", failure(&err)));
        out.upload_id().unwrap().to_owned()
    }

    /// Part numbers the store holds for an upload (ListParts, straight from the store).
    async fn parts(&self, bucket: &str, key: &str, id: &str) -> Vec<i32> {
        let out = self
            .s3
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await
            .unwrap_or_else(|err| panic!("ListParts: {:?}", failure(&err)));
        let mut parts: Vec<i32> = out.parts().iter().filter_map(|p| p.part_number()).collect();
        parts.sort_unstable();
        parts
    }

    /// Keys of the uploads in progress in `bucket` (straight from the store).
    async fn uploads(&self, bucket: &str) -> Vec<String> {
        let out = self
            .s3
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|err| panic!("ListMultipartUploads: {:?}", failure(&err)));
        out.uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_owned))
            .collect()
    }

    /// After a CreateMultipartUpload answered `created` on `path` (raw, `%2F` and all):
    /// one part and CompleteMultipartUpload on the same path, straight to the store or
    /// through the proxy. Says how far it got.
    async fn finish_upload(&self, direct: bool, created: &Reply, path: &str, who: &str) -> bool {
        let Some(id) = between(&created.body, "<UploadId>", "</UploadId>") else {
            return false;
        };
        let ep = if direct { &self.direct } else { &self.via };
        let part = Wire::new("PUT", path)
            .query(format!("partNumber=1&uploadId={}", enc(&id)))
            .body(self.data(who, "slash-mpu"));
        let part = self.send(ep, &part).await;
        let Some(etag) = header(&part.head, "etag") else {
            return false;
        };
        let xml = format!(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>\
             </Part></CompleteMultipartUpload>"
        );
        let done = Wire::new("POST", path)
            .query(format!("uploadId={}", enc(&id)))
            .body(xml.into_bytes());
        self.send(ep, &done).await.status == 200
    }

    /// How an object is stored, for the record: plaintext, under K1, under K2.
    async fn how_stored(&self, bucket: &str, key: &str) -> &'static str {
        if self.read(bucket, key, None).await.is_ok() {
            "plaintext"
        } else if self.read(bucket, key, Some(&Key::new(0))).await.is_ok() {
            "under K1"
        } else if self.read(bucket, key, Some(&Key::new(1))).await.is_ok() {
            "under K2"
        } else {
            "unreadable"
        }
    }

    /// A well-formed SSE-C write and read through the proxy with the same signer: the
    /// refusals below are about the variant, not about how these requests are made.
    async fn baseline(&self, f: &mut Findings) {
        let k1 = Key::new(0);
        let data = self.data("baseline", "baseline");
        let path = format!("/{}/baseline", self.req);
        let put = Wire::new("PUT", path.clone())
            .signed(ssec(&k1))
            .body(data.clone());
        let put = self.proxied(&put).await;
        let get = self
            .proxied(&Wire::new("GET", path).signed(ssec(&k1)))
            .await;
        f.check(
            put.status == 200 && get.status == 200 && get.body == data,
            || {
                format!(
                    "baseline: SSE-C PUT and GET through the proxy answered {} and {}",
                    put.summary(),
                    get.summary()
                )
            },
        );
    }

    /// The store holds nothing the refused requests carried: no key or upload named
    /// `…proxy…` in `buckets`, and no proxy marker at rest.
    async fn holds_nothing_from_proxy(&self, f: &mut Findings, buckets: &[&String]) {
        for bucket in buckets {
            let mut stray = Vec::new();
            for key in object_names(&self.s3, bucket).await {
                if key.contains("proxy") {
                    let how = self.how_stored(bucket, &key).await;
                    stray.push(format!("{key} ({how})"));
                }
            }
            for key in self.uploads(bucket).await {
                if key.contains("proxy") {
                    stray.push(format!("{key} (upload in progress)"));
                }
            }
            f.check(stray.is_empty(), || {
                format!("{bucket} holds what was sent through the proxy: {stray:?}")
            });
        }
        let prefix = self.proxy_prefix();
        let at_rest: usize = match self.store.data_dir {
            // SeaweedFS: one search of all volume files.
            Some(_) => count(&self.store, buckets[0], &prefix),
            None => buckets.iter().map(|b| count(&self.store, b, &prefix)).sum(),
        };
        f.check(at_rest == 0, || {
            format!("{at_rest} plaintext markers sent through the proxy are at rest")
        });
    }
}

/// Everything that went wrong over a table of variants, so that one run reports every
/// variant: a store whose reading changed, a request the proxy let through.
struct Findings {
    test: String,
    failed: Vec<String>,
}

impl Findings {
    fn new(e: &Env, test: &str) -> Self {
        Self {
            test: format!("{} {test}", e.store.name),
            failed: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.failed.push(what());
        }
    }

    /// A positive control: the store's answer to the request sent straight to it.
    fn control(&mut self, label: &str, reply: &Reply, ok: bool, expected: &str) {
        eprintln!("[{}] {label}: direct {}", self.test, reply.summary());
        self.check(ok, || {
            format!(
                "control, {label}: direct {} ({}), expected {expected}",
                reply.summary(),
                reply.snippet()
            )
        });
    }

    /// The proxy refused the request, whatever its answer.
    fn rejected(&mut self, label: &str, reply: &Reply) {
        eprintln!("[{}] {label}: proxy {}", self.test, reply.summary());
        self.check(reply.status >= 400, || {
            format!(
                "proxy, {label}: {} ({}), want a refusal",
                reply.summary(),
                reply.snippet()
            )
        });
    }

    /// The proxy refused the request with `status` and `code`.
    fn refused(&mut self, label: &str, reply: &Reply, status: u16, code: &str) {
        eprintln!("[{}] {label}: proxy {}", self.test, reply.summary());
        self.check(reply.status == status && reply.code() == code, || {
            format!(
                "proxy, {label}: {} ({}), want {status} {code}",
                reply.summary(),
                reply.snippet()
            )
        });
    }

    fn finish(self) {
        assert!(
            self.failed.is_empty(),
            "{}: {} finding(s):\n  {}",
            self.test,
            self.failed.len(),
            self.failed.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------------------------------
// Requests written byte for byte, signed (SigV4) as the store canonicalises them.

/// One request: method, path and query exactly as given, headers in order.
#[derive(Clone, Debug)]
struct Wire {
    method: &'static str,
    path: String,
    query: Option<String>,
    /// Covered by the signature.
    signed: Vec<(String, String)>,
    /// Sent after the signed ones, left out of the signature.
    unsigned: Vec<(String, String)>,
    /// The Host header, when not the endpoint's own.
    host: Option<String>,
    body: Vec<u8>,
}

impl Wire {
    fn new(method: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: None,
            signed: Vec::new(),
            unsigned: Vec::new(),
            host: None,
            body: Vec::new(),
        }
    }

    fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    fn signed(mut self, headers: Vec<(String, String)>) -> Self {
        self.signed.extend(headers);
        self
    }

    fn header(self, name: &str, value: &str) -> Self {
        self.signed(vec![(name.to_owned(), value.to_owned())])
    }

    fn unsigned(mut self, headers: Vec<(String, String)>) -> Self {
        self.unsigned.extend(headers);
        self
    }

    fn unsigned_header(self, name: &str, value: &str) -> Self {
        self.unsigned(vec![(name.to_owned(), value.to_owned())])
    }

    fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// The request as a proxy honouring `Connection` forwards it: without `Connection`
    /// and the fields it names (RFC 9110 §7.6.1).
    fn hop_stripped(&self) -> Self {
        let named: Vec<String> = self
            .signed
            .iter()
            .chain(&self.unsigned)
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
            .collect();
        let keep = |(n, _): &(String, String)| {
            let n = n.to_ascii_lowercase();
            n != "connection" && !named.contains(&n)
        };
        let mut out = self.clone();
        out.signed.retain(keep);
        out.unsigned.retain(keep);
        out
    }

    /// Every header as sent (host first, then signed, unsigned, authorization,
    /// content-length) and the body.
    fn signed_parts(&self, store: &Store, default_host: &str) -> (Vec<(String, String)>, Vec<u8>) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let time = UNIX_EPOCH + Duration::from_secs(secs);
        let stamp = aws_smithy_types::DateTime::from_secs(i64::try_from(secs).unwrap())
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap();
        let amz_date: String = stamp.chars().filter(|c| *c != '-' && *c != ':').collect();
        let host = self.host.clone().unwrap_or_else(|| default_host.to_owned());
        let mut signed = vec![
            ("host".to_owned(), host),
            ("x-amz-date".to_owned(), amz_date.clone()),
            (
                "x-amz-content-sha256".to_owned(),
                "UNSIGNED-PAYLOAD".to_owned(),
            ),
        ];
        signed.extend(self.signed.iter().cloned());
        let names: BTreeSet<String> = signed.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let mut sent: Vec<(String, String)> = signed;
        sent.extend(self.unsigned.iter().cloned());
        let mut canonical_headers = String::new();
        for name in &names {
            canonical_headers
                .push_str(&format!("{name}:{}\n", canonical_value(store, &sent, name)));
        }
        let signed_names = names.iter().cloned().collect::<Vec<_>>().join(";");
        let canonical_request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed_names}\nUNSIGNED-PAYLOAD",
            self.method,
            canonical_uri(&self.path),
            canonical_query(store, self.query.as_deref()),
        );
        let scope = format!("{}/us-east-1/s3/aws4_request", &amz_date[..8]);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        let key =
            aws_sigv4::sign::v4::generate_signing_key(&store.secret_key, time, "us-east-1", "s3");
        let signature = aws_sigv4::sign::v4::calculate_signature(key, to_sign.as_bytes());
        sent.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_names}, \
                 Signature={signature}",
                store.access_key
            ),
        ));
        if !self.body.is_empty() || matches!(self.method, "PUT" | "POST") {
            sent.push(("content-length".into(), self.body.len().to_string()));
        }
        (sent, self.body.clone())
    }

    /// The HTTP/1.1 bytes.
    fn encode(&self, store: &Store, default_host: &str) -> Vec<u8> {
        let (headers, body) = self.signed_parts(store, default_host);
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target());
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend(body);
        out
    }
}

/// AWS's URI encoding: everything but unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    percent_encode(s.as_bytes(), UNRESERVED).to_string()
}

/// The bucket with its first character percent-encoded.
fn encode_first(bucket: &str) -> String {
    format!("%{:02X}{}", bucket.as_bytes()[0], &bucket[1..])
}

/// Both stores sign the decoded path, re-encoded segment by segment (`%2F` becomes `/`).
fn canonical_uri(raw: &str) -> String {
    let decoded: Vec<u8> = percent_decode_str(raw).collect();
    decoded
        .split(|b| *b == b'/')
        .map(|segment| percent_encode(segment, UNRESERVED).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Names and values decoded (`+` is a space) and re-encoded. SeaweedFS signs every pair,
/// sorted; RGW signs one value per name, the last, as it reads them.
fn canonical_query(store: &Store, raw: Option<&str>) -> String {
    let recode = |s: &str| {
        let decoded: Vec<u8> = percent_decode_str(&s.replace('+', " ")).collect();
        percent_encode(&decoded, UNRESERVED).to_string()
    };
    let mut pairs: Vec<(String, String)> = raw
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (recode(n), recode(v))
        })
        .collect();
    if store.name == "RGW" {
        pairs = pairs
            .into_iter()
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
    }
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value a store signs for a header name: SeaweedFS (Go) joins repeated values with
/// commas; RGW reads headers as CGI variables (`_` and `-` fold together) and the last
/// one sent wins.
fn canonical_value(store: &Store, sent: &[(String, String)], name: &str) -> String {
    match store.name {
        "RGW" => sent
            .iter()
            .rfind(|(n, _)| n.to_ascii_lowercase().replace('_', "-") == name)
            .map_or(String::new(), |(_, v)| v.trim().to_owned()),
        _ => sent
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn sha256_hex(data: &[u8]) -> String {
    let rustls::SupportedCipherSuite::Tls13(suite) =
        rustls::crypto::aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256
    else {
        panic!("TLS13_AES_128_GCM_SHA256 is a TLS 1.3 suite");
    };
    let digest = suite.common.hash_provider.hash(data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn ssec(k: &Key) -> Vec<(String, String)> {
    vec![
        (ALGORITHM.into(), "AES256".into()),
        (KEY.into(), k.b64.clone()),
        (KEY_MD5.into(), k.md5.clone()),
    ]
}

fn ssec_empty() -> Vec<(String, String)> {
    [ALGORITHM, KEY, KEY_MD5]
        .map(|n| (n.to_owned(), String::new()))
        .to_vec()
}

fn underscored(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .map(|(n, v)| (n.replace('-', "_"), v))
        .collect()
}

// ---------------------------------------------------------------------------------------
// One HTTP/1.1 exchange per connection, over TCP or TLS.

#[derive(Clone)]
struct Endpoint {
    addr: SocketAddr,
    /// The Host header a request carries unless it sets its own.
    host: String,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Endpoint {
    fn store(store: &Store) -> Self {
        let url = direct_url(store);
        let (scheme, authority) = url.split_once("://").unwrap();
        let authority = authority.trim_end_matches('/');
        let tls =
            (scheme == "https").then(|| connector(&std::fs::read_to_string(&store.ca).unwrap()));
        Self {
            addr: authority.parse().unwrap(),
            host: authority.to_owned(),
            tls,
        }
    }

    fn proxy(proxy: &Proxy) -> Self {
        Self {
            addr: proxy.s3_addr,
            host: format!("localhost:{}", proxy.s3_addr.port()),
            tls: Some(connector(&proxy.pki.ca_pem)),
        }
    }

    async fn exchange(&self, bytes: &[u8], head: bool) -> Reply {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        match &self.tls {
            None => roundtrip(tcp, bytes, head).await,
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
                roundtrip(tls.connect(name, tcp).await.unwrap(), bytes, head).await
            }
        }
    }
}

fn connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut tls = support::client_tls(ca_pem, None);
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(tls))
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn code(&self) -> String {
        xml_code(&String::from_utf8_lossy(&self.body)).unwrap_or_default()
    }

    fn summary(&self) -> String {
        format!("{} {}", self.status, self.code())
            .trim_end()
            .to_owned()
    }

    fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(160).collect()
    }
}

async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, bytes: &[u8], head: bool) -> Reply {
    // A server may answer and close before it read the whole body: keep its answer.
    let _ = s.write_all(bytes).await;
    let _ = s.flush().await;
    let mut buf = Vec::new();
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if !fill(&mut s, &mut buf).await {
            panic!(
                "connection closed before a response: {:?}",
                String::from_utf8_lossy(&buf)
            );
        }
    };
    let head_text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut rest = buf.split_off(end + 4);
    let status = head_text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let no_body = head || status == 204 || status == 304 || status < 200;
    let body = if no_body {
        Vec::new()
    } else if let Some(len) = header(&head_text, "content-length").and_then(|v| v.parse().ok()) {
        while rest.len() < len && fill(&mut s, &mut rest).await {}
        rest.truncate(len);
        rest
    } else if header(&head_text, "transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(&mut s, rest).await
    } else {
        while fill(&mut s, &mut rest).await {}
        rest
    };
    Reply {
        status,
        head: head_text,
        body,
    }
}

/// Reads more into `buf`; false at the end of the stream (or an unclean TLS close).
async fn fill<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match s.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn dechunk<S: AsyncRead + Unpin>(s: &mut S, mut raw: Vec<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(&raw, b"\r\n") {
                break i;
            }
            if !fill(s, &mut raw).await {
                return body;
            }
        };
        let line = String::from_utf8_lossy(&raw[..line_end]).into_owned();
        let size =
            usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 {
            return body;
        }
        while raw.len() < line_end + 2 + size + 2 {
            if !fill(s, &mut raw).await {
                return body;
            }
        }
        body.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw.drain(..line_end + 2 + size + 2);
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn between(body: &[u8], open: &str, close: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(text[start..end].to_owned())
}
