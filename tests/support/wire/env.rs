//! The proxy in front of one real store with a bucket for each policy, the store's own
//! endpoint for positive controls, and SDK clients to set up and to read what the store
//! really holds.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use http_body_util::Full;

use super::{Canon, Endpoint, Findings, Reply, Wire, enc, ssec};
use crate::support::at_rest::{count, marked};
use crate::support::s3::{Key, failure, object_names};
use crate::support::{
    Mode, ModeProxy, Proxy, ProxyOptions, RESIGN_ACCESS, RESIGN_SECRET, RawClient, Route, Store,
    bucket_name, resign_client, resign_tables, s3_client, store_client, unique,
};

/// A variant's request, built for `who` ("direct" or "proxy"): the same bytes but for
/// the names and plaintext markers in them.
pub type Build<'a> = Box<dyn Fn(&str) -> Wire + 'a>;
/// The same, with a part number.
pub type BuildPart<'a> = Box<dyn Fn(u32, &str) -> Wire + 'a>;

/// `require` by default; `allow-*`, `forbid-*`, and `listed-*` (require, only K1).
pub fn policy() -> String {
    format!(
        "default = \"require\"\n\
         [[ssec.buckets]]\nbucket = \"allow-*\"\npolicy = \"allow\"\n\
         [[ssec.buckets]]\nbucket = \"forbid-*\"\npolicy = \"forbid\"\n\
         [[ssec.buckets]]\nbucket = \"listed-*\"\npolicy = \"require\"\n\
         key_md5_allowlist = [{:?}]\n",
        Key::new(0).md5
    )
}

/// The proxy in front of one store, the store itself, and a bucket per policy.
pub struct Env {
    pub store: Store,
    pub mode: Mode,
    /// The proxy in `mode`, and the credentials its clients hold.
    pub proxy: ModeProxy,
    /// The store itself, for positive controls.
    pub direct: Endpoint,
    /// The proxy in front of it.
    pub via: Endpoint,
    /// An SDK client straight to the store: what it really holds.
    pub s3: Client,
    /// An SDK client through the proxy with the client's credentials, for set-up the
    /// proxy must see (uploads).
    pub c: Client,
    pub req: String,
    pub allow: String,
    pub forbid: String,
    pub listed: String,
    /// Unique to this run, in every marker and in names that are not in a bucket.
    pub tag: String,
}

/// The proxy (with [`policy`]) in `mode` in front of `store`, and the four buckets
/// created.
pub async fn env(store: Store, mode: Mode) -> Env {
    let proxy = proxy_with(&store, "", &policy(), mode);
    let s3 = direct_client(&store);
    let c = store_client(&proxy, &proxy.client);
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
        mode,
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
/// SeaweedFS.
pub fn route(store: &Store) -> Route {
    match store.name {
        "RGW" => Route::Https,
        _ => Route::Http,
    }
}

/// The store's own URL along [`route`].
pub fn direct_url(store: &Store) -> &str {
    match route(store) {
        Route::Https => &store.https,
        Route::Http | Route::HttpForwardedProto => &store.http,
    }
}

/// An SDK client straight to the store, at [`direct_url`].
pub fn direct_client(store: &Store) -> Client {
    let ca = std::fs::read_to_string(&store.ca).unwrap();
    s3_client(
        direct_url(store),
        &ca,
        &store.access_key,
        &store.secret_key,
        true,
    )
}

/// The proxy in `mode` in front of `store` along [`route`], with `server` as extra lines
/// of `[server]` and `ssec` as the `[ssec]` table; in resign mode its one client is
/// [`RESIGN_ACCESS`], allowed every bucket.
pub fn proxy_with(store: &Store, server: &str, ssec: &str, mode: Mode) -> ModeProxy {
    let upstream = match route(store) {
        Route::Https => format!(
            "store = \"rgw\"\nca_file = {:?}",
            store.ca.display().to_string()
        ),
        Route::Http | Route::HttpForwardedProto => "store = \"seaweedfs\"".to_owned(),
    };
    let (tables, secrets, client) = match mode {
        Mode::Passthrough => (String::new(), None, store.clone()),
        Mode::Resign => {
            let (tables, secrets) = resign_tables(store, &[(RESIGN_ACCESS, RESIGN_SECRET, None)]);
            (tables, Some(secrets), resign_client(store))
        }
    };
    let proxy = Proxy::start(ProxyOptions {
        upstream,
        server: server.to_owned(),
        ssec: ssec.to_owned(),
        tables,
        ..ProxyOptions::endpoint(direct_url(store))
    });
    ModeProxy {
        proxy,
        client,
        _secrets: secrets,
    }
}

impl Env {
    /// `seaweedfs`, `rgw` or `garage`, by the store under test.
    pub fn per<T>(&self, seaweedfs: T, rgw: T, garage: T) -> T {
        match self.store.name {
            "RGW" => rgw,
            "GARAGE" => garage,
            _ => seaweedfs,
        }
    }

    /// Plaintext marker of what `who` ("direct", "proxy", …) sent for `stem`; every
    /// proxy marker starts with [`Env::proxy_prefix`].
    pub fn marker(&self, who: &str, stem: &str) -> String {
        format!("PLAIN-{who}-{}-{stem}-", self.tag)
    }

    pub fn proxy_prefix(&self) -> String {
        format!("PLAIN-proxy-{}-", self.tag)
    }

    /// 4 KiB of incompressible data carrying [`Env::marker`].
    pub fn data(&self, who: &str, stem: &str) -> Vec<u8> {
        marked(4096, &self.marker(who, stem), 7)
    }

    /// `PUT /{bucket}/{stem}-{who}` with [`Env::data`] as the body.
    pub fn put(&self, bucket: &str, stem: &str, who: &str) -> Wire {
        Wire::new("PUT", format!("/{bucket}/{stem}-{who}")).body(self.data(who, stem))
    }

    pub async fn direct(&self, w: &Wire) -> Reply {
        self.send(&self.direct, w).await
    }

    pub async fn proxied(&self, w: &Wire) -> Reply {
        self.send(&self.via, w).await
    }

    /// `w` to `ep`: to a store signed with its credentials as it reads requests, to a
    /// proxy with the credentials its clients hold (in resign mode, as the proxy reads
    /// requests: it verifies the signature itself).
    pub async fn send(&self, ep: &Endpoint, w: &Wire) -> Reply {
        let bytes = self.encode_for(ep, w);
        let head = w.method == "HEAD";
        tokio::time::timeout(Duration::from_secs(30), ep.exchange(&bytes, head))
            .await
            .expect("a response within 30 s")
    }

    /// [`Env::send`], the connection then kept open for `linger` (what else arrives is
    /// dropped), so that a server reading more requests from the body runs them.
    pub async fn send_lingering(&self, ep: &Endpoint, w: &Wire, linger: Duration) -> Reply {
        let bytes = self.encode_for(ep, w);
        let exchange = ep.exchange_lingering(&bytes, w.method == "HEAD", linger);
        tokio::time::timeout(Duration::from_secs(30) + linger, exchange)
            .await
            .expect("a response within 30 s")
    }

    /// `w`'s bytes for `ep`, signed as [`Env::send`] says.
    fn encode_for(&self, ep: &Endpoint, w: &Wire) -> Vec<u8> {
        match (ep.proxy, self.mode) {
            (true, Mode::Resign) => w.encode_as(&self.proxy.client, Canon::Proxy, &ep.host),
            _ => w.encode_as(&self.store, Canon::of(&self.store), &ep.host),
        }
    }

    /// `w` through the proxy with its body chunked and the `trailer` lines after it (HTTP
    /// trailers), signed as [`Env::send`] signs.
    pub async fn proxied_chunked(&self, w: &Wire, trailer: &str) -> Reply {
        let bytes = self.encode_for(&self.via, w);
        let split = bytes.windows(4).position(|p| p == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8(bytes[..split - 2].to_vec()).unwrap();
        let mut out: String = head
            .split_inclusive("\r\n")
            .filter(|line| !line.to_ascii_lowercase().starts_with("content-length:"))
            .collect();
        out.push_str("transfer-encoding: chunked\r\n\r\n");
        let body = &bytes[split..];
        let mut out = out.into_bytes();
        out.extend(format!("{:x}\r\n", body.len()).into_bytes());
        out.extend(body);
        out.extend(format!("\r\n0\r\n{trailer}\r\n\r\n").into_bytes());
        tokio::time::timeout(Duration::from_secs(30), self.via.exchange(&out, false))
            .await
            .expect("a response within 30 s")
    }

    /// `w` through the proxy, which must refuse it with 400 InvalidRequest. In resign mode
    /// too: the proxy reads the headers (`Connection` naming end-to-end headers, repeats,
    /// underscore names) before it verifies the signature, so a variant sending some
    /// headers unsigned is refused for what it is, not as unsigned. It then goes again
    /// with every header signed, as a client would send it that knows its signature ends
    /// at the proxy: refused the same way.
    pub async fn refuses(&self, f: &mut Findings, label: &str, w: &Wire) -> Reply {
        let through = self.proxied(w).await;
        f.refused(label, &through, 400, "InvalidRequest");
        if self.mode == Mode::Resign && !w.unsigned.is_empty() {
            let signed = self.proxied(&w.all_signed()).await;
            f.refused(
                &format!("{label} (all signed)"),
                &signed,
                400,
                "InvalidRequest",
            );
        }
        through
    }

    /// A variant whose reading the store's status shows: `direct` straight to the store
    /// is answered `want`, `proxied` is refused as [`Env::refuses`] has it.
    pub async fn pinned(
        &self,
        f: &mut Findings,
        label: &str,
        (direct, proxied): (&Wire, &Wire),
        want: u16,
    ) {
        let control = self.direct(direct).await;
        f.control_status(label, &control, want);
        self.refuses(f, label, proxied).await;
    }

    /// The request over HTTP/2 to the proxy (`:authority` is the signed host).
    pub async fn proxied_h2(&self, w: &Wire) -> Reply {
        self.proxied_h2_padded(w, None).await
    }

    /// [`Env::proxied_h2`] with a space before the value of the header `padded`: HTTP/2
    /// carries it as sent, and SigV4 signs the value trimmed.
    pub async fn proxied_h2_padded(&self, w: &Wire, padded: Option<&str>) -> Reply {
        let host = self.via.host.clone();
        let (headers, body) = match self.mode {
            Mode::Passthrough => w.signed_parts(&self.store, &host),
            Mode::Resign => w.signed_parts_as(&self.proxy.client, Canon::Proxy, &host),
        };
        let target = w.target();
        let mut req = http::Request::builder()
            .method(w.method)
            .uri(format!("https://{host}{target}"));
        for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
            match padded == Some(name.as_str()) {
                true => req = req.header(name.as_str(), format!(" {value}")),
                false => req = req.header(name.as_str(), value.as_str()),
            }
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

    pub async fn put_plain(&self, bucket: &str, key: &str, data: &[u8]) {
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
    pub async fn read(
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
    pub async fn upload(&self, bucket: &str, key: &str, k: &Key) -> String {
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
    /// `id` is the client's: in resign mode the store's ID followed by the proxy's tag.
    pub async fn parts(&self, bucket: &str, key: &str, id: &str) -> Vec<i32> {
        let out = self
            .s3
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(crate::support::store_upload_id(id))
            .send()
            .await
            .unwrap_or_else(|err| panic!("ListParts: {:?}", failure(&err)));
        let mut parts: Vec<i32> = out.parts().iter().filter_map(|p| p.part_number()).collect();
        parts.sort_unstable();
        parts
    }

    /// Keys of the uploads in progress in `bucket` (straight from the store).
    pub async fn uploads(&self, bucket: &str) -> Vec<String> {
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

    /// How an object is stored, for the record: plaintext, under K1, under K2.
    pub async fn how_stored(&self, bucket: &str, key: &str) -> &'static str {
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
    /// refusals are about the variant, not about how these requests are made.
    pub async fn baseline(&self, f: &mut Findings) {
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
    pub async fn holds_nothing_from_proxy(&self, f: &mut Findings, buckets: &[&String]) {
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
