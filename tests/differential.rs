//! Parser differentials (issue 10): requests a store reads differently from the proxy —
//! headers named in `Connection`, encoded path delimiters and dot segments, encoded and
//! repeated query names, repeated and underscore header names, virtual-hosted `Host`,
//! GetObjectTorrent, aws-chunked trailer fields. Each variant goes straight to the store first (a positive control: it
//! is accepted and would leave what the policy forbids, or the store's reading is pinned),
//! then through the proxy, which refuses it; then the store is read directly. Every test
//! runs per store and `auth.mode`: in resign mode the request through the proxy is signed
//! with the client's proxy credentials (controls keep the store's), and what the proxy let
//! through would reach the store with the store's own signature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::at_rest::count;
use support::s3::{Key, crc32_base64, object_names};
use support::wire::{
    ALGORITHM, Build, BuildPart, COPY_SOURCE, Endpoint, Env, Findings, KEY, KEY_MD5, Reply, Wire,
    between, contains, enc, encode_first, env, header, policy, proxy_with, ssec, ssec_empty,
    underscored,
};
use support::{Mode, ModeProxy, Store};

/// Attack 1: SSE-C headers that a `Connection` header also names are hop-by-hop to a
/// proxy that honours it; validated, then stripped, they leave a plain write upstream
/// (PutObject, CopyObject, CreateMultipartUpload, UploadPart). Naming any end-to-end
/// header the request carries is refused.
async fn connection_cannot_name_end_to_end_headers(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "connection");
    e.baseline(&mut f).await;
    let k1 = Key::new(0);
    e.put_plain(&e.allow, "src", b"plain copy source").await;
    let id = e.upload(&e.req, "mpu", &k1).await;
    let names = format!("{ALGORITHM}, {KEY}, {KEY_MD5}");
    let mixed = "keep-alive, X-Amz-Server-Side-Encryption-Customer-Key,X-AMZ-SERVER-SIDE-\
                 ENCRYPTION-CUSTOMER-ALGORITHM ,  x-amz-server-side-encryption-customer-key-MD5";
    let put = |stem: &str, who: &str, connection: &[&str]| {
        let mut w = e.put(&e.req, stem, who).unsigned(ssec(&k1));
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
        e.refuses(&mut f, label, &build("proxy")).await;
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
    e.refuses(&mut f, label, &create("proxy")).await;

    let label = "UploadPart, Connection names the SSE-C headers";
    let part = |n: u32, who: &str| {
        Wire::new("PUT", format!("/{}/mpu", e.req))
            .query(format!("partNumber={n}&uploadId={}", uid(who, &id)))
            .unsigned(ssec(&k1))
            .unsigned_header("connection", &names)
            .body(e.data(who, "conn-part"))
    };
    let (direct, proxied) = (part(1, "direct").hop_stripped(), part(2, "proxy"));
    // SeaweedFS stores a keyless part of an SSE-C upload in plaintext; RGW and Garage
    // refuse it.
    e.pinned(&mut f, label, (&direct, &proxied), e.per(200, 400, 400))
        .await;

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
            e.put(&e.req, "conn-ct", "proxy")
                .signed(ssec(&k1))
                .unsigned_header("content-type", "text/plain")
                .unsigned_header("connection", "content-type"),
        ),
        (
            "Connection names x-amz-content-sha256",
            e.put(&e.req, "conn-sha", "proxy")
                .signed(ssec(&k1))
                .unsigned_header("connection", "x-amz-content-sha256"),
        ),
    ];
    for (label, w) in &refused_only {
        e.refuses(&mut f, label, w).await;
    }

    let parts = e.parts(&e.req, "mpu", &id).await;
    let want: Vec<i32> = e.per(vec![1], vec![], vec![]);
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
async fn path_is_read_once(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "path");
    e.baseline(&mut f).await;
    e.put_plain(&e.allow, "src", b"plain copy source").await;
    let legacy = e.data("legacy", "legacy");
    e.put_plain(&e.req, "legacy", &legacy).await;
    let req = e.req.clone();
    // `PUT {before}{stem}-{who}` with a marked body: the variants differ in the path
    // before the key.
    let put = |before: &str, stem: &str, who: &str| {
        Wire::new("PUT", format!("{before}{stem}-{who}")).body(e.data(who, stem))
    };

    // Writes SeaweedFS and RGW decode into a plaintext object in the require bucket;
    // Garage reads the bucket segment raw and refuses them.
    let writes: Vec<(&str, &str, Build<'_>)> = vec![
        (
            "%2F between bucket and key: PutObject",
            "slash-put",
            Box::new(|who: &str| put(&format!("/{req}%2F"), "slash-put", who)),
        ),
        (
            "%2f (lower case): PutObject",
            "slash-lower",
            Box::new(|who: &str| put(&format!("/{req}%2f"), "slash-lower", who)),
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
            Box::new(|who: &str| e.put(&encode_first(&req), "enc-bucket", who)),
        ),
    ];
    for (label, stem, build) in &writes {
        let control = e.direct(&build("direct")).await;
        let plain =
            control.status == 200 && e.read(&req, &format!("{stem}-direct"), None).await.is_ok();
        f.control(
            label,
            &control,
            e.per(plain, plain, control.status >= 400 && !plain),
            e.per(
                "stored in plaintext in the require bucket",
                "stored in plaintext in the require bucket",
                "Garage: refused (it does not decode `%2F` or the bucket segment)",
            ),
        );
        e.refuses(&mut f, label, &build("proxy")).await;
    }

    // A whole plaintext multipart upload through `%2F`: create, part, complete.
    let label = "%2F: CreateMultipartUpload, UploadPart, Complete without SSE-C";
    let mpu = |who: &str| Wire::new("POST", format!("/{req}%2Fslash-mpu-{who}")).query("uploads");
    let control = e.direct(&mpu("direct")).await;
    let done = finish_upload(
        &e,
        true,
        &control,
        &format!("/{req}%2Fslash-mpu-direct"),
        "direct",
    )
    .await;
    let plain = done && e.read(&req, "slash-mpu-direct", None).await.is_ok();
    f.control(
        label,
        &control,
        e.per(plain, plain, control.status >= 400 && !plain),
        e.per(
            "a completed plaintext object",
            "a completed plaintext object",
            "Garage: refused",
        ),
    );
    let through = e.refuses(&mut f, label, &mpu("proxy")).await;
    if through.status == 200 {
        // Let the record show how far the bypass goes through the proxy.
        let done = finish_upload(
            &e,
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
    let data = control.status == 200 && control.body == legacy;
    f.control(
        label,
        &control,
        e.per(data, data, control.status == 404),
        e.per(
            "the object's data",
            "the object's data",
            "Garage: 404 (no bucket of that name)",
        ),
    );
    let through = e.refuses(&mut f, label, &get).await;
    f.check(
        !contains(&through.body, e.marker("legacy", "legacy").as_bytes()),
        || format!("{label}: the proxy's answer carries the object's data"),
    );

    // Readings the stores agree on with a naive proxy, refused all the same: SeaweedFS
    // refuses dot segments, RGW and Garage keep them literally in the key; `//` is 405 on
    // SeaweedFS and RGW, Garage skips the empty segment.
    // (label, path before the key, key stem, SeaweedFS's, RGW's and Garage's status)
    let dots = [
        (
            "empty bucket segment: //bucket/key",
            format!("//{req}/"),
            "dslash",
            405,
            405,
            200,
        ),
        (
            "/allow-bucket/../require-bucket/key",
            format!("/{}/../{req}/", e.allow),
            "dot",
            400,
            200,
            200,
        ),
        (
            "/allow-bucket/%2E%2E/require-bucket/key",
            format!("/{}/%2E%2E/{req}/", e.allow),
            "edot",
            400,
            200,
            200,
        ),
        (
            "dot-dot inside the key: /bucket/a/../key",
            format!("/{req}/a/../"),
            "kdot",
            400,
            200,
            200,
        ),
        (
            "dot segment: /bucket/./key",
            format!("/{req}/./"),
            "sdot",
            400,
            200,
            200,
        ),
        (
            "encoded dot segment: /bucket/%2E/key",
            format!("/{req}/%2E/"),
            "esdot",
            400,
            200,
            200,
        ),
    ];
    for (label, before, stem, seaweedfs, rgw, garage) in &dots {
        let (direct, proxied) = (put(before, stem, "direct"), put(before, stem, "proxy"));
        let want = e.per(*seaweedfs, *rgw, *garage);
        e.pinned(&mut f, label, (&direct, &proxied), want).await;
    }
    if e.store.name != "SEAWEEDFS" {
        // RGW and Garage do not resolve dot segments: the keys are literal, in the bucket
        // named.
        let allow = object_names(&e.s3, &e.allow).await;
        let want = [
            format!("../{req}/dot-direct"),
            format!("../{req}/edot-direct"),
        ];
        f.check(want.iter().all(|k| allow.contains(k)), || {
            format!("dot segments kept literally: {}: {allow:?}", e.allow)
        });
    }
    if e.store.name == "GARAGE" {
        // Garage skips the empty segment: `//bucket/key` is a PutObject to the bucket.
        let held = object_names(&e.s3, &req).await;
        let want = ["./sdot-direct", "a/../kdot-direct", "dslash-direct"];
        f.check(want.iter().all(|k| held.contains(&(*k).to_owned())), || {
            format!("Garage's readings of `//` and dot segments: {req}: {held:?}")
        });
    }
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.allow])
        .await;
    f.finish();
}

/// Attack 4: query names. Stores decode names (`%75ploads` is `uploads`); SeaweedFS takes
/// the first of repeated names, RGW the last. Names that are not plain tokens, a raw `;`,
/// repeats, flags with values, two selectors, and header parameters in the query are refused.
/// Upload `id` (as the proxy gave it) in a query sent by `who`: the store's own ID for
/// the controls sent straight to the store.
fn uid(who: &str, id: &str) -> String {
    enc(if who == "direct" {
        support::store_upload_id(id)
    } else {
        id
    })
}

async fn query_is_read_once(store: Store, mode: Mode) {
    let e = env(store, mode).await;
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
        e.refuses(&mut f, label, &w("proxy")).await;
    }

    let steer: Vec<(&str, BuildPart<'_>, u16, u16, u16)> = vec![
        (
            "uploadId=A&uploadId=B, a K2 part (B's key)",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{req}/steer"))
                    .query(format!(
                        "partNumber={n}&uploadId={}&uploadId={}",
                        uid(who, &a),
                        uid(who, &b)
                    ))
                    .signed(ssec(&k2))
                    .body(e.data(who, "twice"))
            }),
            200,
            200,
            400,
        ),
        (
            "%75ploadId: a keyless part into an SSE-C upload (allow bucket)",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{allow}/steer"))
                    .query(format!("partNumber={n}&%75ploadId={}", uid(who, &c)))
                    .body(e.data(who, "encid"))
            }),
            200,
            400,
            400,
        ),
        (
            "%70artNumber: a K2 part into the K1 upload",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{req}/steer"))
                    .query(format!("%70artNumber={n}&uploadId={}", uid(who, &a)))
                    .signed(ssec(&k2))
                    .body(e.data(who, "encpn"))
            }),
            200,
            400,
            400,
        ),
        (
            "partNumber twice",
            Box::new(|n: u32, who: &str| {
                Wire::new("PUT", format!("/{req}/steer"))
                    .query(format!(
                        "partNumber={n}&partNumber={}&uploadId={}",
                        n + 1,
                        uid(who, &b)
                    ))
                    .signed(ssec(&k2))
                    .body(e.data(who, "pntwice"))
            }),
            200,
            200,
            400,
        ),
    ];
    for (i, (label, build, seaweedfs, rgw, garage)) in steer.iter().enumerate() {
        let n = 10 * (i as u32 + 1);
        let (direct, proxied) = (build(n, "direct"), build(n + 5, "proxy"));
        let want = e.per(*seaweedfs, *rgw, *garage);
        e.pinned(&mut f, label, (&direct, &proxied), want).await;
    }
    // Where the controls' parts went: SeaweedFS reads the first uploadId and partNumber and
    // takes parts under another key or none; RGW reads the last and refuses bad keys;
    // Garage refuses a repeated parameter and a part under another key or none.
    let got = (
        e.parts(&req, "steer", &a).await,
        e.parts(&req, "steer", &b).await,
        e.parts(&allow, "steer", &c).await,
    );
    let want: (Vec<i32>, Vec<i32>, Vec<i32>) = e.per(
        (vec![1, 10, 30], vec![40], vec![20]),
        (vec![1], vec![10, 41], vec![]),
        (vec![1], vec![], vec![]),
    );
    f.check(got == want, || {
        format!("parts (A, B, C) = {got:?}, want {want:?} (the controls' only)")
    });

    // PUTs with a body and a query the stores read as another operation, by status.
    let puts = [
        // Every store reads it as PutObjectTagging (SeaweedFS 400 MalformedXML, RGW 404,
        // Garage 501).
        (
            "tagging with a value (tagging=x) and a body",
            "flag",
            "tagging=x",
            (400, 404, 501),
        ),
        // RGW reads a name `acl;` (PutObject, plaintext); SeaweedFS reads `acl` (no such
        // key); Garage refuses the name.
        ("raw ; in the query: ?acl;", "semi", "acl;", (404, 200, 400)),
    ];
    for (label, stem, query, (seaweedfs, rgw, garage)) in puts {
        let w = |who: &str| e.put(&req, stem, who).query(query);
        let want = e.per(seaweedfs, rgw, garage);
        e.pinned(&mut f, label, (&w("direct"), &w("proxy")), want)
            .await;
    }

    let label = "two selectors: GET ?acl&torrent";
    let w = Wire::new("GET", format!("/{req}/legacy")).query("acl&torrent");
    let control = e.direct(&w).await;
    let acl = control.status == 200 && contains(&control.body, b"AccessControlPolicy");
    f.control(
        label,
        &control,
        e.per(acl, acl, control.status == 400),
        e.per("the ACL", "the ACL", "Garage: 400 (two keywords)"),
    );
    e.refuses(&mut f, label, &w).await;

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
    e.refuses(&mut f, label, &w("proxy")).await;

    // Go's url.ParseQuery drops a pair it cannot unescape: SeaweedFS would read a plain
    // PutObject where a reader that keeps the pair sees PutObjectTagging.
    let label = "a bad escape: PUT ?tagging=%2p with a body";
    let w = |who: &str| e.put(&req, "qesc", who).query("tagging=%2p");
    let control = e.direct(&w("direct")).await;
    let plain = e.read(&req, "qesc-direct", None).await.is_ok();
    f.control(
        label,
        &control,
        e.per(control.status == 200 && plain, !plain, !plain),
        "SeaweedFS: a plaintext object in the require bucket; RGW, Garage: no object",
    );
    let through = e.proxied(&w("proxy")).await;
    f.refused(label, &through, 400, "InvalidURI");

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
    let w = |who: &str| e.put(&e.forbid, "qssec", who).query(in_query(&k1));
    let control = e.direct(&w("direct")).await;
    // Neither store reads them: the object is plain (allowed there); refused regardless.
    let plain = e.read(&e.forbid, "qssec-direct", None).await.is_ok();
    f.control(
        label,
        &control,
        control.status == 200 && plain,
        "ignored by the store",
    );
    e.refuses(&mut f, label, &w("proxy")).await;

    let others: Vec<(&str, Wire)> = vec![
        (
            "copy source in the query",
            Wire::new("PUT", format!("/{req}/qcs-proxy"))
                .query(format!("{COPY_SOURCE}={}", enc(&format!("/{allow}/src"))))
                .signed(ssec(&k1)),
        ),
        (
            "SSE-S3 in the query",
            e.put(&req, "qsse", "proxy")
                .query("x-amz-server-side-encryption=AES256")
                .signed(ssec(&k1)),
        ),
        (
            "SSE-C parameters in the query next to the headers (allow-listed bucket)",
            e.put(&e.listed, "qlisted", "proxy")
                .query(in_query(&k2))
                .signed(ssec(&k1)),
        ),
    ];
    for (label, w) in &others {
        e.refuses(&mut f, label, w).await;
    }
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.allow, &e.forbid, &e.listed])
        .await;
    f.finish();
}

/// Attack 5: repeated SSE-C headers (RGW reads the last, SeaweedFS the first) and header
/// names with `_` (RGW folds them into the `-` names, as CGI variables, the later winning).
/// Repeats of SSE-C, SSE, copy-source, Content-Type and x-amz-content-sha256, and `_` names
/// that normalise to x-amz-/content- headers, are refused; so is a write naming a KMS key
/// without `aws:kms`, and a store's own fields (`Seaweed-*`, `X-SeaweedFS-*`).
async fn headers_are_read_once(store: Store, mode: Mode) {
    let e = env(store, mode).await;
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
    // Garage reads as SeaweedFS: the first value, underscore names ignored.
    let keyed: Vec<(&str, Build<'_>, Option<&Key>, Option<&Key>)> = vec![
        (
            "allow-listed key first, another key last",
            Box::new(|who: &str| {
                e.put(listed, "rep-keys", who)
                    .signed(twice(ssec(&k1), ssec(&k2)))
            }),
            Some(&k1),
            Some(&k2),
        ),
        (
            "a valid SSE-C set, then the same names empty",
            Box::new(|who: &str| {
                e.put(req, "rep-empty", who)
                    .signed(twice(ssec(&k1), ssec_empty()))
            }),
            Some(&k1),
            None,
        ),
        (
            "underscore names with a key, forbid bucket",
            Box::new(|who: &str| e.put(forbid, "under", who).unsigned(underscored(ssec(&k1)))),
            None,
            Some(&k1),
        ),
        (
            "allowed key in hyphen names, another in underscore names",
            Box::new(|who: &str| {
                e.put(listed, "under-keys", who)
                    .signed(ssec(&k1))
                    .unsigned(underscored(ssec(&k2)))
            }),
            Some(&k1),
            Some(&k2),
        ),
        (
            "a valid SSE-C set, then underscore names empty",
            Box::new(|who: &str| {
                e.put(req, "under-empty", who)
                    .signed(ssec(&k1))
                    .unsigned(underscored(ssec_empty()))
            }),
            Some(&k1),
            None,
        ),
    ];
    for (label, build, seaweedfs, rgw_key) in &keyed {
        let direct = build("direct");
        let control = e.direct(&direct).await;
        let used = e.per(*seaweedfs, *rgw_key, *seaweedfs);
        let (bucket, key) = direct.path[1..].split_once('/').unwrap();
        let readable = e.read(bucket, key, used).await.is_ok();
        let what = match used {
            Some(k) if k.md5 == k1.md5 => "stored under K1",
            Some(_) => "stored under K2 (not allowed there)",
            None => "stored in plaintext",
        };
        f.control(label, &control, control.status == 200 && readable, what);
        e.refuses(&mut f, label, &build("proxy")).await;
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
        e.refuses(&mut f, label, &build("proxy")).await;
        let leaked = e.read(allow, &format!("{stem}-proxy"), None).await;
        f.check(leaked.as_deref().ok() != Some(&legacy[..]), || {
            format!("{label}: the require bucket's object was copied through the proxy")
        });
    }

    let refused_only: Vec<(&str, Wire)> = vec![
        (
            "Content-Type twice",
            e.put(req, "rep-ct", "proxy")
                .signed(ssec(&k1))
                .header("content-type", "text/plain")
                .header("content-type", "image/png"),
        ),
        (
            "x-amz-content-sha256 twice",
            e.put(req, "rep-sha", "proxy")
                .signed(ssec(&k1))
                .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ),
        (
            "x-amz-server-side-encryption twice",
            e.put(allow, "rep-sse", "proxy")
                .header("x-amz-server-side-encryption", "AES256")
                .header("x-amz-server-side-encryption", "aws:kms"),
        ),
        (
            "content_type",
            e.put(req, "under-ct", "proxy")
                .signed(ssec(&k1))
                .unsigned_header("content_type", "text/html"),
        ),
        (
            "X_Amz_Server_Side_Encryption_Customer_Key (mixed case)",
            e.put(forbid, "under-mixed", "proxy")
                .unsigned_header("X_Amz_Server_Side_Encryption_Customer_Algorithm", "AES256")
                .unsigned_header("X_Amz_Server_Side_Encryption_Customer_Key", &k1.b64)
                .unsigned_header("X_Amz_Server_Side_Encryption_Customer_Key_MD5", &k1.md5),
        ),
    ];
    for (label, w) in &refused_only {
        e.refuses(&mut f, label, w).await;
    }

    // HTTP trailers after a chunked body: S3 reads none and the proxy checks none, but
    // announced by `Trailer` they would reach the store, and Garage 2.5 stops (a panic in
    // its trailer reader) on trailers without `x-amz-trailer`, so no direct control is
    // sent. Refused; the bucket holds nothing from the proxy (checked below).
    for (label, trailer, announced) in [
        (
            "HTTP trailers announced by Trailer",
            "x-amz-meta-late: 1",
            "x-amz-meta-late",
        ),
        (
            "an SSE-C key as an HTTP trailer",
            &*format!("{KEY}: {}\r\n{KEY_MD5}: {}", k2.b64, k2.md5),
            &*format!("{KEY}, {KEY_MD5}"),
        ),
    ] {
        let w = e
            .put(req, "trailer", "proxy")
            .signed(ssec(&k1))
            .unsigned_header("trailer", announced);
        let through = e.proxied_chunked(&w, trailer).await;
        f.refused(label, &through, 400, "InvalidRequest");
        let signed = e.proxied_chunked(&w.all_signed(), trailer).await;
        f.refused(
            &format!("{label} (all signed)"),
            &signed,
            400,
            "InvalidRequest",
        );
    }

    // A KMS key id without `aws:kms`: S3 refuses the write; stores read it differently
    // (MinIO as a request for SSE-KMS, RGW ignores it next to SSE-C).
    let kms = "x-amz-server-side-encryption-aws-kms-key-id";
    let kms_alone = [
        (
            "KMS key id alone",
            e.put(allow, "kms-alone", "proxy").header(kms, "alias/app"),
        ),
        (
            "SSE-C and a KMS key id",
            e.put(req, "kms-ssec", "proxy")
                .signed(ssec(&k1))
                .header(kms, "alias/app"),
        ),
    ];
    for (label, w) in &kms_alone {
        let through = e.proxied(w).await;
        f.refused(label, &through, 400, "InvalidArgument");
    }

    // A store's own request fields: SeaweedFS keeps a client's `Seaweed-X-Amz-Version-Id`
    // on the entry as its version id (a direct HEAD shows it), and takes SSE-S3 key data
    // and IVs from `X-SeaweedFS-SSE-*`. S3 gives these names no meaning: refused for every
    // store.
    let forged = format!("forged-{}", e.tag);
    let own = |who: &str| {
        e.put(allow, "own-field", who)
            .header("seaweed-x-amz-version-id", &forged)
    };
    let label = "Seaweed-X-Amz-Version-Id on a plain write";
    let control = e.direct(&own("direct")).await;
    let kept = e
        .direct(&Wire::new("HEAD", format!("/{allow}/own-field-direct")))
        .await
        .head
        .to_ascii_lowercase()
        .contains(&format!("seaweed-x-amz-version-id: {forged}"));
    let seaweedfs = e.store.name == "SEAWEEDFS";
    let what = if seaweedfs {
        "200, kept as the entry's version id"
    } else {
        "200, the field not kept"
    };
    f.control(
        label,
        &control,
        control.status == 200 && kept == seaweedfs,
        what,
    );
    e.refuses(&mut f, label, &own("proxy")).await;
    let label = "X-SeaweedFS-SSE-S3-Key-Data and -Base-IV with AES256";
    let w = e
        .put(allow, "own-sse", "proxy")
        .header("x-amz-server-side-encryption", "AES256")
        .header("x-seaweedfs-sse-s3-key-data", "AAAA")
        .header("x-seaweedfs-sse-s3-base-iv", "AAAAAAAAAAAAAAAAAAAAAA==");
    e.refuses(&mut f, label, &w).await;

    // The same repeats over HTTP/2: the refusal does not depend on the protocol.
    let label = "HTTP/2: allow-listed key first, another key last";
    let w = e
        .put(listed, "h2-keys", "proxy")
        .signed(twice(ssec(&k1), ssec(&k2)));
    let through = e.proxied_h2(&w).await;
    f.refused(label, &through, 400, "InvalidRequest");

    e.holds_nothing_from_proxy(&mut f, &[req, listed, forbid, allow])
        .await;
    f.finish();
}

/// Attack 6: with no `virtual_host_suffixes`, a Host `bucket.localhost` is path style to a
/// naive proxy (`PUT /k` creates bucket `k`) but an object write in `bucket` to RGW (whose
/// `rgw dns name` is `localhost`). SeaweedFS has no domain and reads it path style. A Host
/// the proxy cannot place is refused; with the suffix configured the policy applies, but a
/// Host in upper case is refused still (SeaweedFS matches its domain case-sensitively, RGW
/// does not).
async fn host_is_read_once(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "host");
    e.baseline(&mut f).await;
    let k1 = Key::new(0);
    let legacy = e.data("legacy", "legacy");
    e.put_plain(&e.req, "legacy", &legacy).await;
    let suffix = suffix_proxy(&e.store, e.mode);
    let suffixed = Endpoint::proxy(&suffix);
    let tag = e.tag.clone();
    let rgw = e.store.name == "RGW";
    let port = |ep: &Endpoint| ep.addr.port();
    let vhost = |bucket: &str, ep: &Endpoint| format!("{bucket}.localhost:{}", port(ep));

    // `PUT /{stem}-{tag}-{who}` to `ep` with Host `{bucket}.{domain}:{port}` and a marked
    // body; with SSE-C (K1) when `keyed`.
    let put = |bucket: &str, domain: &str, stem: &str, keyed: bool, ep: &Endpoint, who: &str| {
        let w = Wire::new("PUT", format!("/{stem}-{tag}-{who}"))
            .host(format!("{bucket}.{domain}:{}", port(ep)))
            .body(e.data(who, stem));
        if keyed { w.signed(ssec(&k1)) } else { w }
    };

    // (label, bucket RGW writes to, domain, key stem, SSE-C?, refusal with the suffix)
    let writes = [
        (
            "require bucket: PutObject without SSE-C",
            &e.req,
            "localhost",
            "vh-put",
            false,
            (403, "AccessDenied"),
        ),
        (
            "forbid bucket: PutObject with SSE-C",
            &e.forbid,
            "localhost",
            "vh-forbid",
            true,
            (403, "AccessDenied"),
        ),
        (
            "require bucket, domain in upper case",
            &e.req,
            "LOCALHOST",
            "vh-upper",
            false,
            (400, "InvalidRequest"),
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
    for (label, bucket, domain, stem, keyed, (status, code)) in writes {
        let build = |ep: &Endpoint, who: &str| put(bucket, domain, stem, keyed, ep, who);
        let control = e.direct(&build(&e.direct, "direct")).await;
        let key = format!("{stem}-{tag}-direct");
        let ok = match e.store.name {
            // RGW: an object in the bucket the Host names; readable without a key only
            // when plaintext.
            "RGW" => control.status == 200 && e.read(bucket, &key, None).await.is_ok() != keyed,
            // Garage: path style, a CreateBucket whose body is not XML.
            "GARAGE" => {
                control.status == 400 && e.s3.head_bucket().bucket(&key).send().await.is_err()
            }
            // SeaweedFS: path style, the "key" is a new bucket.
            _ => {
                made_buckets.push(key.clone());
                control.status == 200 && e.s3.head_bucket().bucket(&key).send().await.is_ok()
            }
        };
        let what = match (e.store.name, keyed) {
            ("RGW", false) => "RGW: plaintext object in the require bucket",
            ("RGW", true) => "RGW: SSE-C object in the forbid bucket",
            ("GARAGE", _) => "Garage: path style, 400 (the body is not a bucket configuration)",
            _ => "SeaweedFS: path style (the key is a new bucket)",
        };
        f.control(label, &control, ok, what);
        e.refuses(&mut f, label, &build(&e.via, "proxy")).await;
        // Configured as a suffix, a lower-case Host is virtual-hosted and the policy
        // applies; an upper-case one is refused as the stores read it differently.
        let placed = e.send(&suffixed, &build(&suffixed, "suffix")).await;
        f.refused(
            &format!("{label} (suffix configured)"),
            &placed,
            status,
            code,
        );
    }

    let label = "require bucket: GetObject without a key";
    let get = |ep: &Endpoint| Wire::new("GET", "/legacy").host(vhost(&e.req, ep));
    let control = e.direct(&get(&e.direct)).await;
    let ok = match rgw {
        true => control.status == 200 && control.body == legacy,
        false => control.status == 404,
    };
    let what = e.per(
        "SeaweedFS: bucket `legacy`, 404",
        "RGW: the object's data",
        "Garage: bucket `legacy`, 404",
    );
    f.control(label, &control, ok, what);
    let through = e.refuses(&mut f, label, &get(&e.via)).await;
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
    let w = |ep: &Endpoint, who: &str| put(&e.req, "localhost.", "vh-dot", false, ep, who);
    if e.store.name == "SEAWEEDFS" {
        made_buckets.push(format!("vh-dot-{tag}-direct"));
    }
    let (direct, proxied) = (w(&e.direct, "direct"), w(&e.via, "proxy"));
    e.pinned(&mut f, label, (&direct, &proxied), e.per(200, 404, 400))
        .await;

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

/// Attack 6b: RGW with a DNS name reads a Host that is none of its names, not an IP
/// address and a valid bucket name as the bucket itself (its CNAME fallback, without a DNS
/// lookup). `PUT /k` with `Host: <require bucket>` is a CreateBucket to a path-style
/// reader and a plaintext PutObject into the require bucket to RGW; `PUT /<allow
/// bucket>/k` with the same Host writes `<allow bucket>/k` into the require bucket. In
/// front of RGW the proxy takes a single name only when it is listed (the suite lists
/// `localhost`, RGW's own name).
async fn single_name_host_is_not_a_bucket(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "single-name-host");
    e.baseline(&mut f).await;
    let tag = e.tag.clone();
    // (label, path, the key RGW stores in the require bucket), `WHO` for the sender.
    let cases = [
        (
            "PUT /<key> with Host: <require bucket>",
            format!("/sn-put-{tag}-WHO"),
            format!("sn-put-{tag}-WHO"),
        ),
        (
            "PUT /<allow bucket>/<key> with Host: <require bucket>",
            format!("/{}/sn-in-{tag}-WHO", e.allow),
            format!("{}/sn-in-{tag}-WHO", e.allow),
        ),
    ];
    for (label, path, key) in cases {
        let build = |ep: &Endpoint, who: &str| {
            Wire::new("PUT", path.replace("WHO", who))
                .host(format!("{}:{}", e.req, ep.addr.port()))
                .body(e.data(who, "single"))
        };
        let control = e.direct(&build(&e.direct, "direct")).await;
        let stored = e.read(&e.req, &key.replace("WHO", "direct"), None).await;
        let what = "RGW: a plaintext object in the require bucket";
        f.control(
            label,
            &control,
            control.status == 200 && stored.is_ok(),
            what,
        );
        e.refuses(&mut f, label, &build(&e.via, "proxy")).await;
    }
    e.holds_nothing_from_proxy(&mut f, &[&e.req, &e.allow])
        .await;
    f.finish();
}

/// Attack 7: GetObjectTorrent reads an object; in a `require` bucket it needs SSE-C like
/// GET (SeaweedFS answers `?torrent` with the object's data).
async fn torrent_is_a_read(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "torrent");
    e.baseline(&mut f).await;
    let legacy = e.data("legacy", "legacy");
    e.put_plain(&e.req, "legacy", &legacy).await;
    let marker = e.marker("legacy", "legacy");

    let label = "GET ?torrent without a key";
    let w = Wire::new("GET", format!("/{}/legacy", e.req)).query("torrent");
    let control = e.direct(&w).await;
    // SeaweedFS serves the object; RGW 16.2 (torrents off by default) answers 400,
    // Garage 501.
    let ok = match e.store.name {
        "RGW" => control.status == 400,
        "GARAGE" => control.status == 501,
        _ => control.status == 200 && control.body == legacy,
    };
    let what = e.per("SeaweedFS: the object's data", "RGW: 400", "Garage: 501");
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

/// Attack 8: an aws-chunked trailer section travels inside the body, byte for byte in
/// passthrough. An `x-amz-trailer` naming more than the one checksum field S3 reads there
/// would hand the store fields the proxy never read as headers: an SSE-C key other than
/// the headers', user metadata, a second checksum. Each goes straight to the store first
/// (its reading pinned), then through the proxy, which refuses it before the store is
/// asked. One checksum, as SDKs send it, is stored under the headers' key either way.
/// Over HTTP/2, a payload mode with a space before it (stores trim it) is refused too.
async fn aws_chunked_trailer_is_one_checksum(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "trailer");
    e.baseline(&mut f).await;
    let (k1, k2) = (Key::new(0), Key::new(1));
    let listed = &e.listed;
    let write = |stem: &'static str, who: &str, announced: &str, extra: &str| {
        let data = e.data(who, stem);
        let trailer = format!("x-amz-checksum-crc32:{}\r\n{extra}", crc32_base64(&data));
        Wire::new("PUT", format!("/{listed}/{stem}-{who}"))
            .signed(ssec(&k1))
            .aws_chunked(&data, announced, &trailer)
    };

    // The positive control of the framing itself: one checksum, direct and through the
    // proxy. RGW (Pacific) does not know this mode, so passthrough gets its refusal;
    // resign mode sends it the payload decoded.
    let one = "x-amz-checksum-crc32";
    let takes = e.per(true, false, true);
    for (who, ep, want) in [
        ("direct", &e.direct, takes),
        ("via", &e.via, takes || mode == Mode::Resign),
    ] {
        let reply = e.send(ep, &write("one", who, one, "")).await;
        let stored = e.read(listed, &format!("one-{who}"), Some(&k1)).await;
        let ok = match want {
            true => reply.status == 200 && stored.as_deref() == Ok(&e.data(who, "one")[..]),
            false => reply.status == 400 && reply.code() == "XAmzContentSHA256Mismatch",
        };
        f.check(ok, || {
            format!("one checksum trailer ({who}): {}", reply.summary())
        });
    }

    // Every store here refuses these (SeaweedFS and Garage name the trailer invalid,
    // RGW the mode); S3 reads one checksum there. Refused by the proxy all the same.
    let (status, code) = e.per(
        (400, "InvalidRequest"),
        (400, "XAmzContentSHA256Mismatch"),
        (400, "InvalidRequest"),
    );
    let unsupported = "The value specified in the x-amz-trailer header is not supported";
    let single = "Expecting a single x-amz-checksum- header";
    let cases = [
        (
            "another SSE-C key after the checksum",
            "key",
            format!("{one}, {KEY}, {KEY_MD5}"),
            format!("{KEY}:{}\r\n{KEY_MD5}:{}\r\n", k2.b64, k2.md5),
            unsupported,
        ),
        (
            "user metadata after the checksum",
            "meta",
            format!("{one}, x-amz-meta-late"),
            "x-amz-meta-late:1\r\n".to_owned(),
            unsupported,
        ),
        (
            "a second checksum",
            "two",
            format!("{one}, x-amz-checksum-sha256"),
            "x-amz-checksum-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n".to_owned(),
            single,
        ),
    ];
    for (label, stem, announced, extra, message) in &cases {
        let control = e.direct(&write(stem, "direct", announced, extra)).await;
        let how = e.how_stored(listed, &format!("{stem}-direct")).await;
        let ok = control.status == status && control.code() == code && how == "unreadable";
        f.control(
            label,
            &control,
            ok,
            &format!("{status} {code}, nothing stored"),
        );
        let through = e
            .refuses(&mut f, label, &write(stem, "proxy", announced, extra))
            .await;
        f.said(label, &through, message);
    }
    // HTTP/2 hands a value on with whitespace around it, and stores trim before they
    // read: the payload mode after a space is aws-chunked to them. Sent over HTTP/1.1
    // (whose parser trims), bytes after the final chunk are stored by SeaweedFS and
    // Garage; over HTTP/2 the proxy refuses the padded value.
    let label = "HTTP/2: the payload mode after a space, bytes after the final chunk";
    let garbage = |who: &str| {
        let mut w = write("pad", who, one, "");
        w.body.extend_from_slice(b"GARBAGE");
        w
    };
    let control = e.direct(&garbage("direct")).await;
    f.control_status(label, &control, e.per(200, 400, 200));
    let through = e
        .proxied_h2_padded(&garbage("proxy"), Some("x-amz-content-sha256"))
        .await;
    f.refused(label, &through, 400, "InvalidRequest");
    f.said(label, &through, "begins or ends with whitespace");

    let label = "a checksum header and a checksum trailer";
    let w = write("both", "proxy", one, "").header(one, "AAAAAA==");
    let through = e.refuses(&mut f, label, &w).await;
    f.said(label, &through, single);

    e.holds_nothing_from_proxy(&mut f, &[listed]).await;
    f.finish();
}

per_store_and_mode!(
    connection_cannot_name_end_to_end_headers,
    path_is_read_once,
    query_is_read_once,
    headers_are_read_once,
    host_is_read_once,
    torrent_is_a_read,
    aws_chunked_trailer_is_one_checksum,
);

/// Only RGW reads a Host as a bucket this way.
mod rgw_only {
    use super::single_name_host_is_not_a_bucket;
    crate::per_store_and_mode!(@stores [rgw]; single_name_host_is_not_a_bucket);
}

/// A second proxy with `virtual_host_suffixes = ["localhost"]`, as RGW's `rgw dns name`.
fn suffix_proxy(store: &Store, mode: Mode) -> ModeProxy {
    proxy_with(
        store,
        "virtual_host_suffixes = [\"localhost\"]",
        &policy(),
        mode,
    )
}

/// After a CreateMultipartUpload answered `created` on `path` (raw, `%2F` and all): one
/// part and CompleteMultipartUpload on the same path, straight to the store or through
/// the proxy. Says how far it got.
async fn finish_upload(e: &Env, direct: bool, created: &Reply, path: &str, who: &str) -> bool {
    let Some(id) = between(&created.body, "<UploadId>", "</UploadId>") else {
        return false;
    };
    let ep = if direct { &e.direct } else { &e.via };
    let part = Wire::new("PUT", path)
        .query(format!("partNumber=1&uploadId={}", enc(&id)))
        .body(e.data(who, "slash-mpu"));
    let part = e.send(ep, &part).await;
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
    e.send(ep, &done).await.status == 200
}
