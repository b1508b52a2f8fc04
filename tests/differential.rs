//! Parser differentials (issue 10): requests a store reads differently from the proxy —
//! headers named in `Connection`, encoded path delimiters and dot segments, encoded and
//! repeated query names, repeated and underscore header names, virtual-hosted `Host`,
//! GetObjectTorrent. Each variant goes straight to the store first (a positive control: it
//! is accepted and would leave what the policy forbids, or the store's reading is pinned),
//! then through the proxy, which refuses it; then the store is read directly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

/// Attack 1: SSE-C headers that a `Connection` header also names are hop-by-hop to a
/// proxy that honours it; validated, then stripped, they leave a plain write upstream
/// (PutObject, CopyObject, CreateMultipartUpload, UploadPart). Naming any end-to-end
/// header the request carries is refused.
async fn connection_cannot_name_end_to_end_headers(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "connection");
    e.baseline(&mut f).await;
    let k1 = Key::new(0);
    e.put_plain(&e.allow, "src", b"plain copy source").await;
    let id = e.upload(&e.req, "mpu", &k1).await;
    let names = format!("{ALGORITHM}, {KEY}, {KEY_MD5}");
    let mixed = "keep-alive, X-Amz-Server-Side-Encryption-Customer-Key,X-AMZ-SERVER-SIDE-\
                 ENCRYPTION-CUSTOMER-ALGORITHM ,  x-amz-server-side-encryption-customer-key-MD5";
    let put = |stem: &str, who: &str, connection: &[&str]| {
        let mut w = Wire::new("PUT", format!("/{}/{stem}-{who}", e.req))
            .unsigned(ssec(&k1))
            .body(e.data(who, stem));
        for value in connection {
            w = w.unsigned_header("connection", value);
        }
        w
    };
    let copy = |who: &str| {
        Wire::new("PUT", format!("/{}/conn-copy-{who}", e.req))
            .header(COPY_SOURCE, &format!("/{}/src", e.allow))
            .unsigned(ssec(&k1))
            .unsigned_header("connection", &names)
    };
    let writes: Vec<(&str, &str, Build<'_>)> = vec![
        (
            "PutObject, Connection names the three SSE-C headers",
            "conn-put",
            Box::new(|who: &str| put("conn-put", who, &[names.as_str()])),
        ),
        (
            "PutObject, Connection in mixed case among other tokens",
            "conn-mixed",
            Box::new(|who: &str| put("conn-mixed", who, &[mixed])),
        ),
        (
            "PutObject, a second Connection header names them",
            "conn-second",
            Box::new(|who: &str| put("conn-second", who, &["keep-alive", names.as_str()])),
        ),
        (
            "CopyObject of a plain source, Connection names the SSE-C headers",
            "conn-copy",
            Box::new(copy),
        ),
    ];
    for (label, stem, build) in &writes {
        // What the store receives from a proxy that strips what `Connection` names.
        let control = e.direct(&build("direct").hop_stripped()).await;
        let key = format!("{stem}-direct");
        let plain = control.status == 200 && e.read(&e.req, &key, None).await.is_ok();
        f.control(
            label,
            &control,
            plain,
            "stored in plaintext (GET without key: 200)",
        );
        let through = e.proxied(&build("proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }
    let at_rest = count(&e.store, &e.req, &e.marker("direct", "conn-put"));
    f.check(at_rest > 0, || {
        "control: the stripped PutObject's plaintext is at rest".into()
    });

    let label = "CreateMultipartUpload, Connection names the SSE-C headers";
    let create = |who: &str| {
        Wire::new("POST", format!("/{}/conn-mpu-{who}", e.req))
            .query("uploads")
            .unsigned(ssec(&k1))
            .unsigned_header("connection", &names)
    };
    let control = e.direct(&create("direct").hop_stripped()).await;
    let plain = e
        .uploads(&e.req)
        .await
        .contains(&"conn-mpu-direct".to_owned());
    f.control(
        label,
        &control,
        control.status == 200 && plain,
        "a plaintext upload",
    );
    let through = e.proxied(&create("proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");

    let label = "UploadPart, Connection names the SSE-C headers";
    let part = |n: u32, who: &str| {
        Wire::new("PUT", format!("/{}/mpu", e.req))
            .query(format!("partNumber={n}&uploadId={}", enc(&id)))
            .unsigned(ssec(&k1))
            .unsigned_header("connection", &names)
            .body(e.data(who, "conn-part"))
    };
    let control = e.direct(&part(1, "direct").hop_stripped()).await;
    // SeaweedFS stores a keyless part of an SSE-C upload in plaintext; RGW refuses it.
    let want = e.per(200, 400);
    f.control(
        label,
        &control,
        control.status == want,
        &format!("status {want}"),
    );
    let through = e.proxied(&part(2, "proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");

    let refused_only: Vec<(&str, Wire)> = vec![
        (
            "Connection names x-amz-copy-source",
            Wire::new("PUT", format!("/{}/conn-cs-proxy", e.req))
                .signed(ssec(&k1))
                .unsigned_header(COPY_SOURCE, &format!("/{}/src", e.allow))
                .unsigned_header("connection", COPY_SOURCE),
        ),
        (
            "Connection names content-type",
            Wire::new("PUT", format!("/{}/conn-ct-proxy", e.req))
                .signed(ssec(&k1))
                .unsigned_header("content-type", "text/plain")
                .unsigned_header("connection", "content-type")
                .body(e.data("proxy", "conn-ct")),
        ),
        (
            "Connection names x-amz-content-sha256",
            Wire::new("PUT", format!("/{}/conn-sha-proxy", e.req))
                .signed(ssec(&k1))
                .unsigned_header("connection", "x-amz-content-sha256")
                .body(e.data("proxy", "conn-sha")),
        ),
    ];
    for (label, w) in &refused_only {
        let through = e.proxied(w).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }

    let parts = e.parts(&e.req, "mpu", &id).await;
    let want: Vec<i32> = e.per(vec![1], vec![]);
    f.check(parts == want, || {
        format!("upload parts {parts:?}, want {want:?} (the control's only)")
    });
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.allow])
        .await;
    f.finish();
}

/// Attack 2: encoded delimiters and dot segments in the path. Stores decode `%2F`, so
/// `PUT /bucket%2Fkey` is an object write to them and a bucket operation to a proxy that
/// splits first; a percent-encoded bucket segment, a `.`/`..` segment, or an empty bucket
/// segment before a key is refused.
async fn path_is_read_once(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "path");
    e.baseline(&mut f).await;
    e.put_plain(&e.allow, "src", b"plain copy source").await;
    let legacy = e.data("legacy", "legacy");
    e.put_plain(&e.req, "legacy", &legacy).await;
    let req = e.req.clone();

    // Writes both stores decode into a plaintext object in the require bucket.
    let writes: Vec<(&str, &str, Build<'_>)> = vec![
        (
            "%2F between bucket and key: PutObject",
            "slash-put",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}%2Fslash-put-{who}")).body(e.data(who, "slash-put"))
            }),
        ),
        (
            "%2f (lower case): PutObject",
            "slash-lower",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}%2fslash-lower-{who}"))
                    .body(e.data(who, "slash-lower"))
            }),
        ),
        (
            "%2F: CopyObject of a plain source",
            "slash-copy",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}%2Fslash-copy-{who}"))
                    .header(COPY_SOURCE, &format!("/{}/src", e.allow))
            }),
        ),
        (
            "percent-encoded bucket segment: PutObject",
            "enc-bucket",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{}/enc-bucket-{who}", encode_first(&req)))
                    .body(e.data(who, "enc-bucket"))
            }),
        ),
    ];
    for (label, stem, build) in &writes {
        let control = e.direct(&build("direct")).await;
        let plain =
            control.status == 200 && e.read(&req, &format!("{stem}-direct"), None).await.is_ok();
        f.control(
            label,
            &control,
            plain,
            "stored in plaintext in the require bucket",
        );
        let through = e.proxied(&build("proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }

    // A whole plaintext multipart upload through `%2F`: create, part, complete.
    let label = "%2F: CreateMultipartUpload, UploadPart, Complete without SSE-C";
    let mpu = |who: &str| Wire::new("POST", format!("/{req}%2Fslash-mpu-{who}")).query("uploads");
    let control = e.direct(&mpu("direct")).await;
    let done = e
        .finish_upload(
            true,
            &control,
            &format!("/{req}%2Fslash-mpu-direct"),
            "direct",
        )
        .await;
    let plain = done && e.read(&req, "slash-mpu-direct", None).await.is_ok();
    f.control(label, &control, plain, "a completed plaintext object");
    let through = e.proxied(&mpu("proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");
    if through.status == 200 {
        // Let the record show how far the bypass goes through the proxy.
        let done = e
            .finish_upload(
                false,
                &through,
                &format!("/{req}%2Fslash-mpu-proxy"),
                "proxy",
            )
            .await;
        f.check(false, || {
            format!("{label}: completed through the proxy: {done}")
        });
    }

    let label = "%2F: GetObject of a plaintext object without a key";
    let get = Wire::new("GET", format!("/{req}%2Flegacy"));
    let control = e.direct(&get).await;
    f.control(
        label,
        &control,
        control.status == 200 && control.body == legacy,
        "the object's data",
    );
    let through = e.proxied(&get).await;
    f.refused(label, &through, 400, "InvalidRequest");
    f.check(
        !contains(&through.body, e.marker("legacy", "legacy").as_bytes()),
        || format!("{label}: the proxy's answer carries the object's data"),
    );

    // Readings the stores agree on with a naive proxy, refused all the same: SeaweedFS
    // refuses dot segments, RGW keeps them literally in the key; `//` is 405 on both.
    let dots: Vec<(&str, Build<'_>, u16, u16)> = vec![
        (
            "empty bucket segment: //bucket/key",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("//{req}/dslash-{who}")).body(e.data(who, "dslash"))
            }),
            405,
            405,
        ),
        (
            "/allow-bucket/../require-bucket/key",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{}/../{req}/dot-{who}", e.allow))
                    .body(e.data(who, "dot"))
            }),
            400,
            200,
        ),
        (
            "/allow-bucket/%2E%2E/require-bucket/key",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{}/%2E%2E/{req}/edot-{who}", e.allow))
                    .body(e.data(who, "edot"))
            }),
            400,
            200,
        ),
        (
            "dot-dot inside the key: /bucket/a/../key",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}/a/../kdot-{who}")).body(e.data(who, "kdot"))
            }),
            400,
            200,
        ),
        (
            "dot segment: /bucket/./key",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}/./sdot-{who}")).body(e.data(who, "sdot"))
            }),
            400,
            200,
        ),
        (
            "encoded dot segment: /bucket/%2E/key",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}/%2E/esdot-{who}")).body(e.data(who, "esdot"))
            }),
            400,
            200,
        ),
    ];
    for (label, build, seaweedfs, rgw) in &dots {
        let control = e.direct(&build("direct")).await;
        let want = e.per(*seaweedfs, *rgw);
        f.control(
            label,
            &control,
            control.status == want,
            &format!("status {want}"),
        );
        let through = e.proxied(&build("proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }
    if e.store.name == "RGW" {
        // RGW does not resolve dot segments: the keys are literal, in the bucket named.
        let allow = object_names(&e.s3, &e.allow).await;
        let want = [
            format!("../{req}/dot-direct"),
            format!("../{req}/edot-direct"),
        ];
        f.check(want.iter().all(|k| allow.contains(k)), || {
            format!("RGW keeps dot segments literally: {}: {allow:?}", e.allow)
        });
    }
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.allow])
        .await;
    f.finish();
}

/// Attack 4: query names. Stores decode names (`%75ploads` is `uploads`); SeaweedFS takes
/// the first of repeated names, RGW the last. Names that are not plain tokens, a raw `;`,
/// repeats, flags with values, two selectors, and header parameters in the query are refused.
async fn query_is_read_once(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "query");
    e.baseline(&mut f).await;
    let (k1, k2) = (Key::new(0), Key::new(1));
    e.put_plain(&e.allow, "src", b"plain copy source").await;
    e.put_plain(&e.req, "legacy", &e.data("legacy", "legacy"))
        .await;
    // Uploads the proxy saw created: A (K1) and B (K2) on one key, C (K1) in `allow-*`.
    let a = e.upload(&e.req, "steer", &k1).await;
    let b = e.upload(&e.req, "steer", &k2).await;
    let c = e.upload(&e.allow, "steer", &k1).await;
    let (req, allow) = (e.req.clone(), e.allow.clone());
    // The signer's query form reaches the store: a well-formed part 1 of A.
    let part = Wire::new("PUT", format!("/{req}/steer"))
        .query(format!("partNumber=1&uploadId={}", enc(&a)))
        .signed(ssec(&k1))
        .body(e.data("baseline", "part"));
    let part = e.proxied(&part).await;
    f.check(part.status == 200, || {
        format!("baseline: UploadPart through the proxy: {}", part.summary())
    });

    for (label, query, stem) in [
        (
            "%75ploads: CreateMultipartUpload without SSE-C",
            "%75ploads",
            "qenc",
        ),
        (
            "upload%73: CreateMultipartUpload without SSE-C",
            "upload%73",
            "qenc2",
        ),
    ] {
        let w = |who: &str| Wire::new("POST", format!("/{req}/{stem}-{who}")).query(query);
        let control = e.direct(&w("direct")).await;
        let created = e.uploads(&req).await.contains(&format!("{stem}-direct"));
        f.control(
            label,
            &control,
            control.status == 200 && created,
            "a plaintext upload in the require bucket",
        );
        let through = e.proxied(&w("proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }

    let steer: Vec<(&str, BuildPart<'_>, u16, u16)> = vec![
        (
            "uploadId=A&uploadId=B, a K2 part (B's key)",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{req}/steer"))
                    .query(format!(
                        "partNumber={n}&uploadId={}&uploadId={}",
                        enc(&a),
                        enc(&b)
                    ))
                    .signed(ssec(&k2))
                    .body(e.data(who, "twice"))
            }),
            200,
            200,
        ),
        (
            "%75ploadId: a keyless part into an SSE-C upload (allow bucket)",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{allow}/steer"))
                    .query(format!("partNumber={n}&%75ploadId={}", enc(&c)))
                    .body(e.data(who, "encid"))
            }),
            200,
            400,
        ),
        (
            "%70artNumber: a K2 part into the K1 upload",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{req}/steer"))
                    .query(format!("%70artNumber={n}&uploadId={}", enc(&a)))
                    .signed(ssec(&k2))
                    .body(e.data(who, "encpn"))
            }),
            200,
            400,
        ),
        (
            "partNumber twice",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{req}/steer"))
                    .query(format!(
                        "partNumber={n}&partNumber={}&uploadId={}",
                        n + 1,
                        enc(&b)
                    ))
                    .signed(ssec(&k2))
                    .body(e.data(who, "pntwice"))
            }),
            200,
            200,
        ),
    ];
    for (i, (label, build, seaweedfs, rgw)) in steer.iter().enumerate() {
        let n = 10 * (i as u32 + 1);
        let control = e.direct(&build(n, "direct")).await;
        let want = e.per(*seaweedfs, *rgw);
        f.control(
            label,
            &control,
            control.status == want,
            &format!("status {want}"),
        );
        let through = e.proxied(&build(n + 5, "proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }
    // Where the controls' parts went: SeaweedFS reads the first uploadId and partNumber and
    // takes parts under another key or none; RGW reads the last and refuses bad keys.
    let got = (
        e.parts(&req, "steer", &a).await,
        e.parts(&req, "steer", &b).await,
        e.parts(&allow, "steer", &c).await,
    );
    let want: (Vec<i32>, Vec<i32>, Vec<i32>) = e.per(
        (vec![1, 10, 30], vec![40], vec![20]),
        (vec![1], vec![10, 41], vec![]),
    );
    f.check(got == want, || {
        format!("parts (A, B, C) = {got:?}, want {want:?} (the controls' only)")
    });

    let label = "tagging with a value (tagging=x) and a body";
    let w = |who: &str| {
        Wire::new("PUT", format!("/{req}/flag-{who}"))
            .query("tagging=x")
            .body(e.data(who, "flag"))
    };
    let control = e.direct(&w("direct")).await;
    // Both stores read it as PutObjectTagging (SeaweedFS 400 MalformedXML, RGW 404).
    let want = e.per(400, 404);
    f.control(
        label,
        &control,
        control.status == want,
        &format!("status {want}"),
    );
    let through = e.proxied(&w("proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");

    let label = "two selectors: GET ?acl&torrent";
    let w = Wire::new("GET", format!("/{req}/legacy")).query("acl&torrent");
    let control = e.direct(&w).await;
    let acl = contains(&control.body, b"AccessControlPolicy");
    f.control(
        label,
        &control,
        control.status == 200 && acl,
        "the stores answer the ACL",
    );
    let through = e.proxied(&w).await;
    f.refused(label, &through, 400, "InvalidRequest");

    let label = "raw ; in the query: ?acl;";
    let w = |who: &str| {
        Wire::new("PUT", format!("/{req}/semi-{who}"))
            .query("acl;")
            .body(e.data(who, "semi"))
    };
    let control = e.direct(&w("direct")).await;
    // RGW reads a name `acl;` (PutObject, plaintext); SeaweedFS reads `acl` (no such key).
    let want = e.per(404, 200);
    f.control(
        label,
        &control,
        control.status == want,
        &format!("status {want}"),
    );
    let through = e.proxied(&w("proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");

    let label = "+ in a name: ?uploads+";
    let w = |who: &str| Wire::new("POST", format!("/{req}/plus-{who}")).query("uploads+");
    let control = e.direct(&w("direct")).await;
    let created = e.uploads(&req).await.contains(&"plus-direct".to_owned());
    f.control(
        label,
        &control,
        control.status >= 400 && !created,
        "not an upload to either store",
    );
    let through = e.proxied(&w("proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");

    let in_query = |k: &Key| {
        [
            ("algorithm", "AES256"),
            ("key", k.b64.as_str()),
            ("key-MD5", k.md5.as_str()),
        ]
        .iter()
        .map(|(n, v)| format!("x-amz-server-side-encryption-customer-{n}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
    };
    let label = "SSE-C parameters in the query (forbid bucket)";
    let w = |who: &str| {
        Wire::new("PUT", format!("/{}/qssec-{who}", e.forbid))
            .query(in_query(&k1))
            .body(e.data(who, "qssec"))
    };
    let control = e.direct(&w("direct")).await;
    // Neither store reads them: the object is plain (allowed there); refused regardless.
    let plain = e.read(&e.forbid, "qssec-direct", None).await.is_ok();
    f.control(
        label,
        &control,
        control.status == 200 && plain,
        "ignored by the store",
    );
    let through = e.proxied(&w("proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");

    let others: Vec<(&str, Wire)> = vec![
        (
            "copy source in the query",
            Wire::new("PUT", format!("/{req}/qcs-proxy"))
                .query(format!("{COPY_SOURCE}={}", enc(&format!("/{allow}/src"))))
                .signed(ssec(&k1)),
        ),
        (
            "SSE-S3 in the query",
            Wire::new("PUT", format!("/{req}/qsse-proxy"))
                .query("x-amz-server-side-encryption=AES256")
                .signed(ssec(&k1))
                .body(e.data("proxy", "qsse")),
        ),
        (
            "SSE-C parameters in the query next to the headers (allow-listed bucket)",
            Wire::new("PUT", format!("/{}/qlisted-proxy", e.listed))
                .query(in_query(&k2))
                .signed(ssec(&k1))
                .body(e.data("proxy", "qlisted")),
        ),
    ];
    for (label, w) in &others {
        let through = e.proxied(w).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.allow, &e.forbid, &e.listed])
        .await;
    f.finish();
}

/// Attack 5: repeated SSE-C headers (RGW reads the last, SeaweedFS the first) and header
/// names with `_` (RGW folds them into the `-` names, as CGI variables, the later winning).
/// Repeats of SSE-C, SSE, copy-source, Content-Type and x-amz-content-sha256, and `_` names
/// that normalise to x-amz-/content- headers, are refused.
async fn headers_are_read_once(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "headers");
    e.baseline(&mut f).await;
    let (k1, k2) = (Key::new(0), Key::new(1));
    e.put_plain(&e.allow, "src", b"plain copy source").await;
    let legacy = e.data("legacy", "legacy");
    e.put_plain(&e.req, "legacy", &legacy).await;
    let (req, listed, forbid, allow) = (&e.req, &e.listed, &e.forbid, &e.allow);
    let rgw = e.store.name == "RGW";
    let twice = |a: Vec<(String, String)>, b: Vec<(String, String)>| [a, b].concat();

    // (label, request, the key SeaweedFS and RGW were shown to use; `None`: plaintext).
    let keyed: Vec<(&str, Build<'_>, Option<&Key>, Option<&Key>)> = vec![
        (
            "allow-listed key first, another key last",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{listed}/rep-keys-{who}"))
                    .signed(twice(ssec(&k1), ssec(&k2)))
                    .body(e.data(who, "rep-keys"))
            }),
            Some(&k1),
            Some(&k2),
        ),
        (
            "a valid SSE-C set, then the same names empty",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}/rep-empty-{who}"))
                    .signed(twice(ssec(&k1), ssec_empty()))
                    .body(e.data(who, "rep-empty"))
            }),
            Some(&k1),
            None,
        ),
        (
            "underscore names with a key, forbid bucket",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{forbid}/under-{who}"))
                    .unsigned(underscored(ssec(&k1)))
                    .body(e.data(who, "under"))
            }),
            None,
            Some(&k1),
        ),
        (
            "allowed key in hyphen names, another in underscore names",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{listed}/under-keys-{who}"))
                    .signed(ssec(&k1))
                    .unsigned(underscored(ssec(&k2)))
                    .body(e.data(who, "under-keys"))
            }),
            Some(&k1),
            Some(&k2),
        ),
        (
            "a valid SSE-C set, then underscore names empty",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{req}/under-empty-{who}"))
                    .signed(ssec(&k1))
                    .unsigned(underscored(ssec_empty()))
                    .body(e.data(who, "under-empty"))
            }),
            Some(&k1),
            None,
        ),
    ];
    for (label, build, seaweedfs, rgw_key) in &keyed {
        let direct = build("direct");
        let control = e.direct(&direct).await;
        let used = e.per(*seaweedfs, *rgw_key);
        let (bucket, key) = direct.path[1..].split_once('/').unwrap();
        let readable = e.read(bucket, key, used).await.is_ok();
        let what = match used {
            Some(k) if k.md5 == k1.md5 => "stored under K1",
            Some(_) => "stored under K2 (not allowed there)",
            None => "stored in plaintext",
        };
        f.control(label, &control, control.status == 200 && readable, what);
        let through = e.proxied(&build("proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }

    // A second copy source, or `x_amz_copy_source`: RGW copies the plaintext object of
    // the require bucket into the allow bucket, a read without SSE-C.
    let src = format!("/{allow}/src");
    let old = format!("/{req}/legacy");
    let copies: Vec<(&str, &str, Build<'_>, bool)> = vec![
        (
            "x-amz-copy-source twice: allow source first, require source last",
            "rep-cs",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{allow}/rep-cs-{who}"))
                    .header(COPY_SOURCE, &src)
                    .header(COPY_SOURCE, &old)
            }),
            rgw,
        ),
        (
            "x_amz_copy_source names a require-bucket source",
            "under-cs",
            Box::new(|who: &str| {
                Wire::new("PUT", format!("/{allow}/under-cs-{who}"))
                    .unsigned_header("x_amz_copy_source", &old)
                    .body(b"body, not a copy".to_vec())
            }),
            rgw,
        ),
    ];
    for (label, stem, build, copies_legacy) in &copies {
        let control = e.direct(&build("direct")).await;
        let got = e
            .read(allow, &format!("{stem}-direct"), None)
            .await
            .unwrap_or_default();
        let ok = control.status == 200 && (got == legacy) == *copies_legacy;
        let what = if *copies_legacy {
            "a copy of the require bucket's object"
        } else {
            "not that copy"
        };
        f.control(label, &control, ok, what);
        let through = e.proxied(&build("proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
        let leaked = e.read(allow, &format!("{stem}-proxy"), None).await;
        f.check(leaked.as_deref().ok() != Some(&legacy[..]), || {
            format!("{label}: the require bucket's object was copied through the proxy")
        });
    }

    let refused_only: Vec<(&str, Wire)> = vec![
        (
            "Content-Type twice",
            Wire::new("PUT", format!("/{req}/rep-ct-proxy"))
                .signed(ssec(&k1))
                .header("content-type", "text/plain")
                .header("content-type", "image/png")
                .body(e.data("proxy", "rep-ct")),
        ),
        (
            "x-amz-content-sha256 twice",
            Wire::new("PUT", format!("/{req}/rep-sha-proxy"))
                .signed(ssec(&k1))
                .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
                .body(e.data("proxy", "rep-sha")),
        ),
        (
            "x-amz-server-side-encryption twice",
            Wire::new("PUT", format!("/{allow}/rep-sse-proxy"))
                .header("x-amz-server-side-encryption", "AES256")
                .header("x-amz-server-side-encryption", "aws:kms")
                .body(e.data("proxy", "rep-sse")),
        ),
        (
            "content_type",
            Wire::new("PUT", format!("/{req}/under-ct-proxy"))
                .signed(ssec(&k1))
                .unsigned_header("content_type", "text/html")
                .body(e.data("proxy", "under-ct")),
        ),
        (
            "X_Amz_Server_Side_Encryption_Customer_Key (mixed case)",
            Wire::new("PUT", format!("/{forbid}/under-mixed-proxy"))
                .unsigned_header("X_Amz_Server_Side_Encryption_Customer_Algorithm", "AES256")
                .unsigned_header("X_Amz_Server_Side_Encryption_Customer_Key", &k1.b64)
                .unsigned_header("X_Amz_Server_Side_Encryption_Customer_Key_MD5", &k1.md5)
                .body(e.data("proxy", "under-mixed")),
        ),
    ];
    for (label, w) in &refused_only {
        let through = e.proxied(w).await;
        f.refused(label, &through, 400, "InvalidRequest");
    }

    // The same repeats over HTTP/2: the refusal does not depend on the protocol.
    let label = "HTTP/2: allow-listed key first, another key last";
    let w = Wire::new("PUT", format!("/{listed}/h2-keys-proxy"))
        .signed(twice(ssec(&k1), ssec(&k2)))
        .body(e.data("proxy", "h2-keys"));
    let through = e.proxied_h2(&w).await;
    f.refused(label, &through, 400, "InvalidRequest");

    e.holds_nothing_from_proxy(&mut f, &[req, listed, forbid, allow])
        .await;
    f.finish();
}

/// Attack 6: with no `virtual_host_suffixes`, a Host `bucket.localhost` is path style to a
/// naive proxy (`PUT /k` creates bucket `k`) but an object write in `bucket` to RGW (whose
/// `rgw dns name` is `localhost`). SeaweedFS has no domain and reads it path style. A Host
/// the proxy cannot place is refused; with the suffix configured the policy applies.
async fn host_is_read_once(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "host");
    e.baseline(&mut f).await;
    let k1 = Key::new(0);
    let legacy = e.data("legacy", "legacy");
    e.put_plain(&e.req, "legacy", &legacy).await;
    let suffix = suffix_proxy(&e.store);
    let suffixed = Endpoint::proxy(&suffix);
    let tag = e.tag.clone();
    let rgw = e.store.name == "RGW";
    let port = |ep: &Endpoint| ep.addr.port();
    let vhost = |bucket: &str, ep: &Endpoint| format!("{bucket}.localhost:{}", port(ep));

    // (label, request given the endpoint and who, bucket RGW writes to, key stem, SSE-C?)
    let writes: Vec<(&str, BuildFor<'_>, &String, &str, bool)> = vec![
        (
            "require bucket: PutObject without SSE-C",
            Box::new(|ep: &Endpoint, who: &str| {
                Wire::new("PUT", format!("/vh-put-{tag}-{who}"))
                    .host(vhost(&e.req, ep))
                    .body(e.data(who, "vh-put"))
            }),
            &e.req,
            "vh-put",
            false,
        ),
        (
            "forbid bucket: PutObject with SSE-C",
            Box::new(|ep: &Endpoint, who: &str| {
                Wire::new("PUT", format!("/vh-forbid-{tag}-{who}"))
                    .host(vhost(&e.forbid, ep))
                    .signed(ssec(&k1))
                    .body(e.data(who, "vh-forbid"))
            }),
            &e.forbid,
            "vh-forbid",
            true,
        ),
        (
            "require bucket, domain in upper case",
            Box::new(|ep: &Endpoint, who: &str| {
                Wire::new("PUT", format!("/vh-upper-{tag}-{who}"))
                    .host(format!("{}.LOCALHOST:{}", e.req, port(ep)))
                    .body(e.data(who, "vh-upper"))
            }),
            &e.req,
            "vh-upper",
            false,
        ),
    ];
    if rgw {
        // Virtual-hosted through the proxy that knows the suffix: an SSE-C write lands.
        let w = Wire::new("PUT", format!("/vh-base-{tag}"))
            .host(vhost(&e.req, &suffixed))
            .signed(ssec(&k1))
            .body(e.data("baseline", "vh"));
        let put = e.send(&suffixed, &w).await;
        let stored = e
            .read(&e.req, &format!("vh-base-{tag}"), Some(&k1))
            .await
            .is_ok();
        f.check(put.status == 200 && stored, || {
            format!(
                "baseline: virtual-hosted SSE-C PUT through the proxy: {}",
                put.summary()
            )
        });
    }
    let mut made_buckets = Vec::new();
    for (label, build, bucket, stem, keyed) in &writes {
        let control = e.direct(&build(&e.direct, "direct")).await;
        let key = format!("{stem}-{tag}-direct");
        let ok = if rgw {
            // RGW: an object in the bucket the Host names; readable without a key only
            // when plaintext.
            control.status == 200 && e.read(bucket, &key, None).await.is_ok() != *keyed
        } else {
            // SeaweedFS: path style, the "key" is a new bucket.
            made_buckets.push(key.clone());
            control.status == 200 && e.s3.head_bucket().bucket(&key).send().await.is_ok()
        };
        let what = match (rgw, keyed) {
            (true, false) => "RGW: plaintext object in the require bucket",
            (true, true) => "RGW: SSE-C object in the forbid bucket",
            (false, _) => "SeaweedFS: path style (the key is a new bucket)",
        };
        f.control(label, &control, ok, what);
        let through = e.proxied(&build(&e.via, "proxy")).await;
        f.refused(label, &through, 400, "InvalidRequest");
        // Configured as a suffix, the Host is virtual-hosted and the policy applies.
        let placed = e.send(&suffixed, &build(&suffixed, "suffix")).await;
        f.refused(
            &format!("{label} (suffix configured)"),
            &placed,
            403,
            "AccessDenied",
        );
    }

    let label = "require bucket: GetObject without a key";
    let get = |ep: &Endpoint| Wire::new("GET", "/legacy").host(vhost(&e.req, ep));
    let control = e.direct(&get(&e.direct)).await;
    let ok = match rgw {
        true => control.status == 200 && control.body == legacy,
        false => control.status == 404,
    };
    let what = e.per("SeaweedFS: bucket `legacy`, 404", "RGW: the object's data");
    f.control(label, &control, ok, what);
    let through = e.proxied(&get(&e.via)).await;
    f.refused(label, &through, 400, "InvalidRequest");
    let leaked = contains(&through.body, e.marker("legacy", "legacy").as_bytes());
    f.check(!leaked, || {
        format!("{label}: the proxy's answer carries the object's data")
    });
    let placed = e.send(&suffixed, &get(&suffixed)).await;
    f.refused(
        &format!("{label} (suffix configured)"),
        &placed,
        403,
        "AccessDenied",
    );

    let label = "Host with a trailing dot";
    let w = |ep: &Endpoint, who: &str| {
        Wire::new("PUT", format!("/vh-dot-{tag}-{who}"))
            .host(format!("{}.localhost.:{}", e.req, port(ep)))
            .body(e.data(who, "vh-dot"))
    };
    let control = e.direct(&w(&e.direct, "direct")).await;
    if !rgw {
        made_buckets.push(format!("vh-dot-{tag}-direct"));
    }
    let want = e.per(200, 404);
    f.control(
        label,
        &control,
        control.status == want,
        &format!("status {want}"),
    );
    let through = e.proxied(&w(&e.via, "proxy")).await;
    f.refused(label, &through, 400, "InvalidRequest");

    for bucket in &made_buckets {
        let _ = e.s3.delete_bucket().bucket(bucket).send().await;
    }
    let buckets = e.s3.list_buckets().send().await.unwrap();
    let from_proxy: Vec<&str> = buckets
        .buckets()
        .iter()
        .filter_map(|b| b.name())
        .filter(|n| n.contains(&tag) && !n.ends_with("-direct"))
        .filter(|n| n.starts_with("vh-"))
        .collect();
    f.check(from_proxy.is_empty(), || {
        format!("buckets created through the proxy: {from_proxy:?}")
    });
    for bucket in from_proxy {
        let _ = e.s3.delete_bucket().bucket(bucket).send().await;
    }
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.forbid])
        .await;
    f.finish();
}

/// Attack 7: GetObjectTorrent reads an object; in a `require` bucket it needs SSE-C like
/// GET (SeaweedFS answers `?torrent` with the object's data).
async fn torrent_is_a_read(store: Store) {
    let e = env(store).await;
    let mut f = Findings::new(&e, "torrent");
    e.baseline(&mut f).await;
    let legacy = e.data("legacy", "legacy");
    e.put_plain(&e.req, "legacy", &legacy).await;
    let marker = e.marker("legacy", "legacy");

    let label = "GET ?torrent without a key";
    let w = Wire::new("GET", format!("/{}/legacy", e.req)).query("torrent");
    let control = e.direct(&w).await;
    // SeaweedFS serves the object; RGW 16.2 (torrents off by default) answers 400.
    let ok = match e.store.name {
        "RGW" => control.status == 400,
        _ => control.status == 200 && control.body == legacy,
    };
    let what = e.per("SeaweedFS: the object's data", "RGW: 400");
    f.control(label, &control, ok, what);
    let through = e.proxied(&w).await;
    f.refused(label, &through, 403, "AccessDenied");
    f.check(!contains(&through.body, marker.as_bytes()), || {
        format!("{label}: the proxy's answer carries the object's data")
    });

    let label = "GET without a key (the policy torrent must follow)";
    let through = e
        .proxied(&Wire::new("GET", format!("/{}/legacy", e.req)))
        .await;
    f.refused(label, &through, 403, "AccessDenied");

    let label = "GET ?torrent= (a flag with a value)";
    let w = Wire::new("GET", format!("/{}/legacy", e.req)).query("torrent=");
    let through = e.proxied(&w).await;
    f.check(through.status == 400 || through.status == 403, || {
        format!("{label}: proxy answered {}", through.summary())
    });
    f.check(!contains(&through.body, marker.as_bytes()), || {
        format!("{label}: the proxy's answer carries the object's data")
    });
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
    connection_cannot_name_end_to_end_headers,
    path_is_read_once,
    query_is_read_once,
    headers_are_read_once,
    host_is_read_once,
    torrent_is_a_read,
);

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
