//! `auth.mode = "resign"` bucket scope against the real stores: a client limited to some
//! buckets lists only those (the store's ListBuckets answer cut down by the proxy, in
//! one page, without the store's continuation token), a client allowed every bucket
//! lists them all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use support::wire::direct_url;
use support::{RawClient, Route, Store, bucket_name, resign_proxy, s3_client, signed, unique};

const EVERY: &str = "EVERYBUCKETACCESS001";
const EVERY_SECRET: &str = "every-bucket-secret-0123456789abcdef";
const SCOPED: &str = "SCOPEDLISTACCESS0001";
const SCOPED_SECRET: &str = "scoped-list-secret-0123456789abcdefg";

/// A resign proxy with two clients, [`EVERY`] (no scope) and [`SCOPED`] (`glob`), and
/// an SDK client of the first.
fn every_and_scoped(
    store: &Store,
    glob: &str,
) -> (support::Proxy, tempfile::TempDir, aws_sdk_s3::Client) {
    let (proxy, secrets) = resign_proxy(
        store,
        Route::Http,
        "default = \"allow\"",
        &[
            (EVERY, EVERY_SECRET, None),
            (SCOPED, SCOPED_SECRET, Some(glob)),
        ],
    );
    let every = s3_client(&proxy.url(), &proxy.pki.ca_pem, EVERY, EVERY_SECRET, false);
    (proxy, secrets, every)
}

/// Bucket names an SDK client of `access`/`secret` lists through `proxy`.
async fn listed(proxy: &support::Proxy, access: &str, secret: &str) -> Vec<String> {
    let c = s3_client(&proxy.url(), &proxy.pki.ca_pem, access, secret, false);
    let out = c
        .list_buckets()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", proxy.logs().join("\n")));
    out.buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect()
}

/// Buckets `<prefix>-a…` and `<other>-b…` in the store; the scoped client, limited to
/// `<prefix>-*`, lists only the first, the other client lists both.
async fn a_scoped_client_lists_only_its_buckets(store: Store) {
    let prefix = format!("scope{}", unique().replace('-', ""));
    let other = format!("other{}", unique().replace('-', ""));
    let glob = format!("{prefix}-*");
    let (proxy, _secrets, every) = every_and_scoped(&store, &glob);
    let mine = bucket_name(&format!("{prefix}-a"));
    let theirs = bucket_name(&format!("{other}-b"));
    for b in [&mine, &theirs] {
        every.create_bucket().bucket(b).send().await.unwrap();
    }

    let scoped = listed(&proxy, SCOPED, SCOPED_SECRET).await;
    assert_eq!(
        scoped,
        std::slice::from_ref(&mine),
        "the scoped client's list"
    );
    let all = listed(&proxy, EVERY, EVERY_SECRET).await;
    assert!(all.contains(&mine) && all.contains(&theirs), "{all:?}");
    assert!(all.len() > scoped.len());

    // On the wire: the store's document, Owner included, with a length that matches and
    // no trace of the other bucket.
    let client = Store {
        access_key: SCOPED.to_owned(),
        secret_key: SCOPED_SECRET.to_owned(),
        ..store.clone()
    };
    let req = signed(
        &client,
        "GET",
        &format!("{}/", proxy.url()),
        &[],
        Bytes::new(),
    );
    let resp = RawClient::new(&proxy.pki.ca_pem, false).send(req).await;
    let text = resp.text();
    assert_eq!(resp.status, 200, "{text}");
    assert_eq!(
        resp.headers["content-length"],
        resp.body.len().to_string().as_str()
    );
    assert!(text.contains("<ListAllMyBucketsResult"), "{text}");
    assert!(text.contains("<Owner>"), "{text}");
    assert!(text.contains(&format!("<Name>{mine}</Name>")), "{text}");
    assert!(!text.contains(&other), "{text}");
}

/// A scoped client with no bucket in the store lists none, and the store's other
/// buckets stay invisible to it.
async fn a_scoped_client_without_buckets_lists_none(store: Store) {
    let glob = format!("none{}-*", unique().replace('-', ""));
    let (proxy, _secrets) = resign_proxy(
        &store,
        Route::Http,
        "default = \"allow\"",
        &[(SCOPED, SCOPED_SECRET, Some(&glob))],
    );
    assert!(listed(&proxy, SCOPED, SCOPED_SECRET).await.is_empty());
}

/// A scoped client's paging cannot show other buckets: SeaweedFS's continuation token
/// is the base64 of the next bucket's name, whatever its scope, and a token of the
/// client's making chooses where a page starts. The proxy drops `max-buckets` and
/// `continuation-token` for it and the token from the answer: one page holds every
/// bucket it may see, and nothing of the others.
async fn a_scoped_clients_paging_shows_no_other_bucket(store: Store) {
    let tag = unique().replace('-', "");
    // Names around the scoped client's, in the order stores list them.
    let mine = bucket_name(&format!("m{tag}-a"));
    let before = bucket_name(&format!("a{tag}-b"));
    let after = bucket_name(&format!("z{tag}-c"));
    let glob = format!("m{tag}-*");
    let (proxy, _secrets, every) = every_and_scoped(&store, &glob);
    for b in [&before, &mine, &after] {
        every.create_bucket().bucket(b).send().await.unwrap();
    }
    let get = async |base: &str, who: &Store, query: &str, ca: &str| {
        let req = signed(who, "GET", &format!("{base}/?{query}"), &[], Bytes::new());
        RawClient::new(ca, false).send(req).await
    };
    // The control: the store pages, and its token names the next bucket.
    let store_ca = std::fs::read_to_string(&store.ca).unwrap();
    let direct = get(direct_url(&store), &store, "max-buckets=1", &store_ca).await;
    let direct_text = direct.text();
    assert_eq!(direct.status, 200, "{direct_text}");
    let paged = direct_text.matches("<Bucket>").count();
    if store.name == "SEAWEEDFS" {
        assert_eq!(paged, 1, "control: SeaweedFS pages: {direct_text}");
        assert!(
            direct_text.contains("<ContinuationToken>"),
            "control: {direct_text}"
        );
    }

    let scoped = Store {
        access_key: SCOPED.to_owned(),
        secret_key: SCOPED_SECRET.to_owned(),
        ..store.clone()
    };
    let tokens = [&before, &mine, &after].map(|b| BASE64.encode(b.as_bytes()));
    for query in [
        "max-buckets=1".to_owned(),
        format!("max-buckets=1&continuation-token={}", tokens[0]),
        format!("continuation-token={}", tokens[2]),
        format!("max-buckets=1&prefix=m{tag}"),
    ] {
        let resp = get(&proxy.url(), &scoped, &query, &proxy.pki.ca_pem).await;
        let text = resp.text();
        assert_eq!(resp.status, 200, "{query}: {text}");
        assert!(
            text.contains(&format!("<Name>{mine}</Name>")),
            "{query}: {text}"
        );
        assert!(!text.contains("ContinuationToken"), "{query}: {text}");
        for other in [&before, &after] {
            let encoded = BASE64.encode(other.as_bytes());
            assert!(
                !text.contains(other.as_str()) && !text.contains(&encoded),
                "{query}: {other} shown: {text}"
            );
        }
    }
    // An SDK client's listing is the same one page.
    assert_eq!(
        listed(&proxy, SCOPED, SCOPED_SECRET).await,
        std::slice::from_ref(&mine)
    );
}

per_store!(
    a_scoped_clients_paging_shows_no_other_bucket,
    a_scoped_client_lists_only_its_buckets,
    a_scoped_client_without_buckets_lists_none,
);
