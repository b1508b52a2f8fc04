//! More parser differentials (after issue 10's fix): requests the proxy reads as one
//! thing and a store as another, found by probing the stores directly.
//!
//! * RGW reads a path-style bucket `tenant:bucket` as bucket `bucket` of `tenant`, and
//!   `:bucket` as `bucket` of the default (empty) tenant; the proxy applies the policy of
//!   a bucket literally named `:bucket` (no rule matches it, so `ssec.default`).
//! * RGW 16.2 has no RenameObject: `PUT /b/k?renameObject` is a PutObject to it, while the
//!   proxy classifies it as RenameObject, which no policy covers.
//! * RGW 16.2 does not discard the unread body of a request that carried `Expect:
//!   100-continue`: a GET's body is read as the next request on the connection and run.
//!
//! Each variant goes straight to the store first (positive control), then through the
//! proxy, then the store is read directly, with the harness of `tests/differential.rs`
//! (`support::wire`: the same signer, the same raw exchange), in both auth modes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::s3::Key;
use support::wire::{Canon, Findings, Wire, env, ssec};
use support::{Mode, Store};

/// Attack A: `PUT /:forbid-…/k` with SSE-C. RGW splits a `tenant:bucket` path segment
/// (`rgw_parse_url_bucket`; an empty tenant is the default one) and writes into the
/// `forbid` bucket; the proxy applies the policy of a bucket named `:forbid-…` (the
/// default, `require`), so SSE-C passes. The same with an unlisted key in the
/// allow-listed bucket.
async fn tenant_prefixed_bucket_is_read_once(store: Store, mode: Mode) {
    let e = env(store, mode).await;
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
        let put = |who: &str| e.put(&format!(":{bucket}"), stem, who).signed(ssec(&k2));
        let control = e.direct(&put("direct")).await;
        let how = e.how_stored(bucket, &format!("{stem}-direct")).await;
        // RGW: the object lands in the real bucket under K2; SeaweedFS: no such bucket
        // name; Garage: no such bucket.
        let ok = match e.store.name {
            "RGW" => control.status == 200 && how == "under K2",
            "GARAGE" => control.status == 404 && how == "unreadable",
            _ => control.status == 400 && how == "unreadable",
        };
        let what = e.per(
            "400 InvalidBucketName",
            "200, stored under K2 in the real bucket",
            "404 NoSuchBucket",
        );
        f.control(label, &control, ok, what);
        e.refuses(&mut f, label, &put("proxy")).await;
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
async fn rename_object_is_a_write(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "rename-object");
    e.baseline(&mut f).await;
    let k2 = Key::new(1);
    // (label, bucket, key stem, SSE-C key, how RGW stores the body)
    let cases = [
        (
            "PUT ?renameObject with a plaintext body, require bucket",
            &e.req,
            "rename-plain",
            None,
            "plaintext",
        ),
        (
            "PUT ?renameObject with an unlisted key, allow-listed bucket",
            &e.listed,
            "rename-listed",
            Some(&k2),
            "under K2",
        ),
    ];
    for (label, bucket, stem, key, rgw_stores) in cases {
        let build = |who: &str| {
            e.put(bucket, stem, who)
                .query("renameObject")
                .signed(key.map(ssec).unwrap_or_default())
        };
        let control = e.direct(&build("direct")).await;
        let how = e.how_stored(bucket, &format!("{stem}-direct")).await;
        // RGW 16.2 and Garage write the body (PutObject); SeaweedFS refuses (400, nothing
        // stored).
        let ok = match e.store.name {
            "RGW" | "GARAGE" => control.status == 200 && how == rgw_stores,
            _ => control.status >= 400 && how == "unreadable",
        };
        let what = format!("RGW, Garage: 200 and the object {rgw_stores}; SeaweedFS: refused");
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

/// Attack C: a ListBuckets with `Expect: 100-continue` whose body is a whole PutObject of
/// plaintext into the `require` bucket, signed for the store. RGW 16.2 answers the GET,
/// then reads the body as the next request and stores the plaintext; SeaweedFS and
/// Garage discard it. The proxy answers `Expect` itself and does not forward it, so RGW
/// discards the body too.
async fn a_body_the_store_does_not_read_is_not_run(store: Store, mode: Mode) {
    let e = env(store, mode).await;
    let mut f = Findings::new(&e, "expect-body");
    e.baseline(&mut f).await;
    let stem = "expect-smuggled";
    let smuggled = |who: &str| {
        e.put(&e.req, stem, who)
            .encode_as(&e.store, Canon::of(&e.store), &e.direct.host)
    };
    let get = |who: &str| {
        // ListBuckets: RGW reads (and so discards) the body of a ListObjects itself.
        Wire::new("GET", "/")
            .unsigned_header("expect", "100-continue")
            .body(smuggled(who))
    };
    let label = "GET with Expect: 100-continue and a PutObject as its body";
    // The store runs a smuggled request after answering the GET, on the same connection.
    let linger = std::time::Duration::from_secs(2);
    let control = e.send_lingering(&e.direct, &get("direct"), linger).await;
    let how = e.how_stored(&e.req, &format!("{stem}-direct")).await;
    let ok = control.status == 200 && how == e.per("unreadable", "plaintext", "unreadable");
    let what = "200; RGW: the body run as a request, plaintext stored; others: nothing stored";
    f.control(label, &control, ok, what);
    let through = e.send_lingering(&e.via, &get("proxy"), linger).await;
    f.check(through.status == 200, || {
        format!("{label}: through the proxy {}", through.summary())
    });
    let how = e.how_stored(&e.req, &format!("{stem}-proxy")).await;
    f.check(how == "unreadable", || {
        format!(
            "{label}: through the proxy, {} now holds {stem}-proxy {how}",
            e.req
        )
    });
    e.holds_nothing_from_proxy(&mut f, &[&e.req]).await;
    f.finish();
}

per_store_and_mode!(
    tenant_prefixed_bucket_is_read_once,
    rename_object_is_a_write,
    a_body_the_store_does_not_read_is_not_run
);
