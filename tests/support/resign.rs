//! The proxy in resign mode in front of a real store, with two clients (`APP` for every
//! bucket, with `manage_access`; `SCOPED` for `scoped-*` only, without), and what the
//! store really holds.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use http_body_util::Full;

use super::s3::object_names;
use super::{
    Proxy, ProxyOptions, RawClient, Store, bucket_name, resign_tables_with, s3_client, signed,
    store_kind,
};

pub const APP: &str = "APPACCESSKEY00000001";
pub const APP_SECRET: &str = "app-secret-0123456789abcdefghijklmnop";
pub const SCOPED: &str = "SCOPEDKEY00000000001";
pub const SCOPED_SECRET: &str = "scoped-secret-0123456789abcdefghijkl";

/// The proxy in resign mode in front of `store` over plain HTTP (the store's TLS is not
/// what is tested here), with two clients: `APP` for every bucket and allowed to manage
/// access (ACLs, bucket policies), `SCOPED` for `scoped-*` only and not allowed to. Secrets come from files, as Kubernetes mounts them.
pub struct Resign {
    pub proxy: Proxy,
    pub store: Store,
    _secrets: tempfile::TempDir,
}

impl Resign {
    pub fn start(store: &Store) -> Self {
        Self::start_with(store, "")
    }

    /// [`Resign::start`] with `extra` tables appended to the configuration.
    pub fn start_with(store: &Store, extra: &str) -> Self {
        Self::start_as(store, &store_kind(store), extra)
    }

    /// [`Resign::start_with`] with `kind` (`store = "…"`) in place of the store's own.
    pub fn start_as(store: &Store, kind: &str, extra: &str) -> Self {
        let (mut tables, secrets) = resign_tables_with(
            store,
            &[
                (APP, APP_SECRET, None),
                (SCOPED, SCOPED_SECRET, Some("scoped-*")),
            ],
            &[APP],
        );
        // RGW takes SSE-C over plain HTTP only from a proxy it trusts to have had TLS.
        let mut upstream = kind.to_owned();
        if store.name == "RGW" {
            upstream.push_str("\nforwarded_proto = true");
        }
        tables.push_str(extra);
        let proxy = Proxy::start(ProxyOptions {
            upstream,
            tables,
            ..ProxyOptions::endpoint(store.http.clone())
        });
        Self {
            proxy,
            store: store.clone(),
            _secrets: secrets,
        }
    }

    /// An SDK client with its defaults (checksums, aws-chunked uploads over TLS) holding
    /// `access`/`secret`.
    pub fn client(&self, access: &str, secret: &str) -> Client {
        s3_client(
            &self.proxy.url(),
            &self.proxy.pki.ca_pem,
            access,
            secret,
            false,
        )
    }

    /// The store itself, with its own credentials: what it really holds.
    pub fn direct(&self) -> Client {
        s3_client(
            &self.store.http,
            &self.proxy.pki.ca_pem,
            &self.store.access_key,
            &self.store.secret_key,
            true,
        )
    }

    /// `store` with the credentials of a proxy client, for hand-signed requests.
    pub fn as_client(&self, access: &str, secret: &str) -> Store {
        Store {
            access_key: access.to_owned(),
            secret_key: secret.to_owned(),
            ..self.store.clone()
        }
    }

    pub fn raw(&self) -> RawClient {
        RawClient::new(&self.proxy.pki.ca_pem, false)
    }

    /// A new bucket (made by `APP`) holding an object `secret`.
    pub async fn bucket_with_secret(&self, prefix: &str) -> String {
        let app = self.client(APP, APP_SECRET);
        let bucket = bucket_name(prefix);
        app.create_bucket().bucket(&bucket).send().await.unwrap();
        app.put_object()
            .bucket(&bucket)
            .key("secret")
            .body(ByteStream::from_static(b"the source"))
            .send()
            .await
            .unwrap();
        bucket
    }

    /// An empty PUT of `path` through the proxy, signed by `access`/`secret`.
    pub fn signed_put(&self, access: &str, secret: &str, path: &str) -> http::Request<Full<Bytes>> {
        let url = format!("{}{path}", self.proxy.url());
        signed(
            &self.as_client(access, secret),
            "PUT",
            &url,
            &[],
            Bytes::new(),
        )
    }
}

pub async fn exists(direct: &Client, bucket: &str, key: &str) -> bool {
    // An object's HEAD has a length; Garage reads `HEAD /bucket//` (key "/") as a
    // HeadBucket and answers 200 without one.
    direct
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok_and(|head| head.content_length().is_some())
        || object_names(direct, bucket).await.iter().any(|k| k == key)
}
