//! `ssec-proxy rekey`: rewrites every object of an injecting bucket that is still under
//! one of its `previous_key_files` to the current key, in place, talking to the store
//! directly with `[upstream.credentials]`.
//!
//! Each object is first asked about (HEAD) with the current key, then with each
//! previous key in order: the store's answer and its key-MD5 echo say which key the
//! object is under. Objects already under the current key, plaintext objects and
//! objects under a key the configuration does not hold are left alone, so a second run
//! finds nothing to do and an interrupted run resumes where it stopped.
//!
//! The rewrite is the store's own SSE-C CopyObject of the object onto itself
//! (`x-amz-metadata-directive: REPLACE` with the metadata HEAD returned: SeaweedFS and
//! RGW refuse a copy onto itself that changes only the key), conditional on the ETag
//! that was checked (`x-amz-copy-source-if-match`). A store that cannot copy SSE-C
//! objects (Ceph RGW 16.2 answers 501) gets a streamed GET with the old key into a PUT
//! with the new one — a multipart upload of ranged GETs above `part_size` — with the
//! same metadata and tags; memory stays bounded by the stream buffers. Every rewrite is
//! checked afterwards (HEAD with the new key: confirmed, same length). Nothing is ever
//! deleted: a failed rewrite leaves the object as it was (a failed multipart upload is
//! aborted).

use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH,
    CONTENT_TYPE, ETAG, EXPIRES, IF_MATCH, RANGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{Empty, Full};
use tokio::task::JoinSet;

use crate::error::ProxyError;
use crate::inject::{BucketKeys, Group, SsecKey};
use crate::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY_MD5};
use crate::s3::sigv4::uri_encode;
use crate::s3::xml::{first_element, records};
use crate::store_client::{StoreClient, object_path, read_body};
use crate::upstream::UpstreamBody;

/// The smallest part S3 takes (all but the last part of a multipart upload).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Largest listing page, error or result document read into memory.
const MAX_DOCUMENT: usize = 8 * 1024 * 1024;

/// What to rekey, and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// The bucket.
    pub bucket: String,
    /// Only keys starting with this.
    pub prefix: String,
    /// Check and count, write nothing.
    pub dry_run: bool,
    /// Objects worked on at once (at least 1).
    pub jobs: usize,
    /// Part size of a streamed rewrite; larger objects are rewritten as multipart
    /// uploads (at least [`MIN_PART_SIZE`]).
    pub part_size: u64,
}

/// What happened to one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Already under the current key.
    Current,
    /// Rewritten from a previous key to the current one.
    Rewritten,
    /// Under a previous key; `--dry-run` wrote nothing.
    WouldRewrite,
    /// Not encrypted with SSE-C: rekey does not encrypt plaintext objects.
    Plaintext,
    /// Under a key the configuration does not hold.
    UnknownKey,
    /// Listed, then gone before it was read.
    Gone,
    /// Could not be rewritten; the object is as it was. The reason names no key.
    Failed(String),
}

/// Counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Objects listed and looked at.
    pub checked: u64,
    /// Rewritten to the current key (or, with `--dry-run`, that would be).
    pub rewritten: u64,
    /// Already under the current key.
    pub current: u64,
    /// Not SSE-C encrypted.
    pub plaintext: u64,
    /// Under no key the configuration holds.
    pub unknown_key: u64,
    /// Gone before they were read.
    pub gone: u64,
    /// Failed.
    pub failed: u64,
}

impl Tally {
    fn add(&mut self, outcome: &Outcome) {
        self.checked += 1;
        let count = match outcome {
            Outcome::Current => &mut self.current,
            Outcome::Rewritten | Outcome::WouldRewrite => &mut self.rewritten,
            Outcome::Plaintext => &mut self.plaintext,
            Outcome::UnknownKey => &mut self.unknown_key,
            Outcome::Gone => &mut self.gone,
            Outcome::Failed(_) => &mut self.failed,
        };
        *count += 1;
    }

    /// Objects left alone.
    pub fn skipped(&self) -> u64 {
        self.current + self.plaintext + self.unknown_key + self.gone
    }
}

/// Why a run stopped before it had looked at every object.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    /// Listing the bucket failed.
    #[error("listing {bucket} failed: {reason}")]
    List {
        /// The bucket.
        bucket: String,
        /// What the store said.
        reason: String,
    },
}

/// Rekeys `options.bucket` with `keys` (the bucket's injection keys); `report` is called
/// after each object with the running tally and the object's name and outcome.
pub async fn run(
    client: &StoreClient,
    keys: &Arc<BucketKeys>,
    options: &Options,
    mut report: impl FnMut(&Tally, &str, &Outcome),
) -> Result<Tally, RekeyError> {
    let mut tally = Tally::default();
    let mut running: JoinSet<(String, Outcome)> = JoinSet::new();
    let jobs = options.jobs.max(1);
    let mut token: Option<String> = None;
    loop {
        let page = list(client, &options.bucket, &options.prefix, token.as_deref())
            .await
            .map_err(|reason| RekeyError::List {
                bucket: options.bucket.clone(),
                reason,
            })?;
        for name in page.keys {
            let name = match name {
                Ok(name) => name,
                Err(listed) => {
                    let failed = Outcome::Failed("the listed name is not UTF-8".to_owned());
                    settle(Ok((listed, failed)), &mut tally, &mut report);
                    continue;
                }
            };
            while running.len() >= jobs {
                if let Some(joined) = running.join_next().await {
                    settle(joined, &mut tally, &mut report);
                }
            }
            let object = Object {
                client: client.clone(),
                keys: keys.for_object(&options.bucket, &name),
                bucket: options.bucket.clone(),
                name,
                part_size: options.part_size.max(MIN_PART_SIZE),
            };
            let dry_run = options.dry_run;
            running.spawn(async move {
                let outcome = object.rekey(dry_run).await;
                (object.name, outcome)
            });
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    while let Some(joined) = running.join_next().await {
        settle(joined, &mut tally, &mut report);
    }
    Ok(tally)
}

/// Counts and reports a finished object; a task that died counts as failed.
fn settle(
    joined: Result<(String, Outcome), tokio::task::JoinError>,
    tally: &mut Tally,
    report: &mut impl FnMut(&Tally, &str, &Outcome),
) {
    let (name, outcome) = joined.unwrap_or_else(|_| {
        let failed = Outcome::Failed("the rewrite task stopped".to_owned());
        ("(unknown object)".to_owned(), failed)
    });
    tally.add(&outcome);
    report(tally, &name, &outcome);
}

/// The bucket's versioning status when it is not off (`Enabled` or `Suspended`): rekey
/// rewrites current versions only, and each rewrite adds a version.
pub async fn versioning(client: &StoreClient, bucket: &str) -> Option<String> {
    let target = format!("/{}?versioning", uri_encode(bucket.as_bytes()));
    let answer = get(client, "GetBucketVersioning", &target).await.ok()?;
    let ok = answer.status.is_success();
    first_element(&answer.body, "Status").filter(|status| ok && !status.is_empty())
}

/// One page of ListObjectsV2: the names, or as listed those that do not decode.
struct Page {
    keys: Vec<Result<String, String>>,
    next: Option<String>,
}

/// A name from a listing with `encoding-type=url`: `+` is a space (as AWS writes it),
/// `%XX` a byte; the bytes must be UTF-8.
fn url_decoded(encoded: &str) -> Option<String> {
    let plus = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

async fn list(
    client: &StoreClient,
    bucket: &str,
    prefix: &str,
    token: Option<&str>,
) -> Result<Page, String> {
    // Names URL-encoded: XML cannot carry every character a key may hold, and
    // SeaweedFS replaces those it cannot with U+FFFD in a plain listing.
    let mut target = format!(
        "/{}?encoding-type=url&list-type=2",
        uri_encode(bucket.as_bytes())
    );
    if let Some(token) = token {
        target.push_str("&continuation-token=");
        target.push_str(&uri_encode(token.as_bytes()));
    }
    if !prefix.is_empty() {
        target.push_str("&prefix=");
        target.push_str(&uri_encode(prefix.as_bytes()));
    }
    let answer = get(client, "ListObjectsV2", &target).await?;
    if !answer.status.is_success() {
        return Err(answer.refusal("ListObjectsV2"));
    }
    let body = answer.body;
    let contents = records(&body, "Contents", &["Key"]).ok_or("malformed listing")?;
    let keys: Vec<Result<String, String>> = contents
        .into_iter()
        .filter_map(|mut fields| fields.pop().flatten())
        .map(|encoded| url_decoded(&encoded).ok_or(encoded))
        .collect();
    let truncated = first_element(&body, "IsTruncated").is_some_and(|t| t == "true");
    let next = first_element(&body, "NextContinuationToken").filter(|t| !t.is_empty());
    match (truncated, next) {
        (false, _) => Ok(Page { keys, next: None }),
        (true, Some(next)) => Ok(Page {
            keys,
            next: Some(next),
        }),
        (true, None) => Err("a truncated listing without a continuation token".to_owned()),
    }
}

/// One object to look at.
struct Object {
    client: StoreClient,
    keys: Arc<BucketKeys>,
    bucket: String,
    name: String,
    part_size: u64,
}

/// What a HEAD with a key said.
enum Head {
    /// SSE-C under this key (confirmed by the key-MD5 echo), with the object's headers.
    Under(HeaderMap),
    /// Served without an SSE-C echo: the object is not encrypted.
    Plain,
    /// The store refused the key (400 or 403).
    Refused,
    /// No such object.
    Missing,
}

impl Object {
    async fn rekey(&self, dry_run: bool) -> Outcome {
        match self.find_key().await {
            Ok(Some(_)) if dry_run => Outcome::WouldRewrite,
            Ok(Some((old, head))) => match self.rewrite(&old, &head).await {
                Ok(()) => Outcome::Rewritten,
                Err(reason) => Outcome::Failed(reason),
            },
            Ok(None) => Outcome::Current,
            Err(outcome) => outcome,
        }
    }

    /// The previous key the object is under, with its HEAD; `None` if it is under the
    /// current key; an outcome if it is under neither.
    async fn find_key(&self) -> Result<Option<(SsecKey, HeaderMap)>, Outcome> {
        match self.head(Some(&self.keys.current)).await? {
            Head::Under(_) => return Ok(None),
            Head::Plain => return Err(Outcome::Plaintext),
            Head::Missing => return Err(Outcome::Gone),
            Head::Refused => {}
        }
        for previous in &self.keys.previous {
            match self.head(Some(previous)).await? {
                Head::Under(head) => return Ok(Some((previous.clone(), head))),
                Head::Plain => return Err(Outcome::Plaintext),
                Head::Missing => return Err(Outcome::Gone),
                Head::Refused => {}
            }
        }
        // Refused under every key: plaintext (a store that refuses keyed reads of
        // plaintext objects, as Garage does), or a key the configuration lacks.
        match self.head(None).await? {
            Head::Plain | Head::Under(_) => Err(Outcome::Plaintext),
            Head::Missing => Err(Outcome::Gone),
            Head::Refused => Err(Outcome::UnknownKey),
        }
    }

    async fn head(&self, key: Option<&SsecKey>) -> Result<Head, Outcome> {
        let mut headers = HeaderMap::new();
        if let Some(key) = key {
            key.set(&mut headers, Group::Destination);
        }
        let response = self
            .client
            .send(Method::HEAD, &self.path(), headers, Empty::<Bytes>::new())
            .await
            .map_err(|e| Outcome::Failed(format!("HEAD: {}", describe(&e))))?;
        let status = response.status();
        let headers = response.into_parts().0.headers;
        Ok(match status {
            StatusCode::OK => match key {
                Some(key) if confirms(&headers, key) => Head::Under(headers),
                Some(_) if headers.contains_key(SSE_C_KEY_MD5) => {
                    return Err(Outcome::Failed(
                        "HEAD: the store echoed another key's MD5".to_owned(),
                    ));
                }
                // Metadata of an SSE-C object, served without its key.
                None if headers.contains_key(SSE_C_ALGORITHM) => Head::Refused,
                _ => Head::Plain,
            },
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => Head::Refused,
            StatusCode::NOT_FOUND => Head::Missing,
            other => return Err(Outcome::Failed(format!("HEAD answered {other}"))),
        })
    }

    fn path(&self) -> String {
        object_path(&self.bucket, &self.name)
    }

    /// The object's metadata as a write carries it, from its HEAD.
    fn metadata(head: &HeaderMap) -> HeaderMap {
        const KEPT: [HeaderName; 6] = [
            CONTENT_TYPE,
            CONTENT_ENCODING,
            CONTENT_DISPOSITION,
            CONTENT_LANGUAGE,
            CACHE_CONTROL,
            EXPIRES,
        ];
        let mut out = HeaderMap::new();
        for (name, value) in head {
            let kept = KEPT.contains(name)
                || name.as_str().starts_with("x-amz-meta-")
                || name == "x-amz-website-redirect-location"
                || (name == "x-amz-storage-class" && value != "STANDARD");
            if kept {
                out.append(name.clone(), value.clone());
            }
        }
        out
    }

    async fn rewrite(&self, old: &SsecKey, head: &HeaderMap) -> Result<(), String> {
        // A write resets the object's ACL (a copy too): one with grants beyond the
        // owner's is put back after the rewrite.
        let acl = self.acl().await?;
        self.write(old, head).await?;
        let Some(acl) = acl else {
            return Ok(());
        };
        let target = format!("{}?acl", self.path());
        let op = "rewritten, but its ACL could not be put back: PutObjectAcl";
        let put = Method::PUT;
        let answer = exchange(
            &self.client,
            op,
            put,
            &target,
            HeaderMap::new(),
            Full::new(acl),
        );
        let answer = answer.await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(answer.refusal(op))
        }
    }

    /// The object's ACL document, if it grants more than its owner's full control
    /// (`None` too where the store has no ACLs).
    async fn acl(&self) -> Result<Option<Bytes>, String> {
        let target = format!("{}?acl", self.path());
        let answer = get(&self.client, "GetObjectAcl", &target).await?;
        if !answer.status.is_success() {
            return Ok(None);
        }
        let grants = records(&answer.body, "Grant", &[]).ok_or("malformed ACL")?;
        Ok((grants.len() > 1).then_some(answer.body))
    }

    /// The object written under the current key: a copy onto itself, or streamed.
    async fn write(&self, old: &SsecKey, head: &HeaderMap) -> Result<(), String> {
        let etag = head
            .get(ETAG)
            .cloned()
            .ok_or("HEAD answered without an ETag")?;
        let length = content_length(head).ok_or("HEAD answered without a length")?;
        let mut headers = Self::metadata(head);
        headers.insert(
            "x-amz-metadata-directive",
            HeaderValue::from_static("REPLACE"),
        );
        headers.insert("x-amz-copy-source-if-match", etag.clone());
        let source = HeaderValue::from_str(&self.path()).map_err(|e| e.to_string())?;
        headers.insert("x-amz-copy-source", source);
        old.set(&mut headers, Group::CopySource);
        self.keys.current.set(&mut headers, Group::Destination);
        let empty = Empty::<Bytes>::new();
        let path = self.path();
        let copied = exchange(
            &self.client,
            "CopyObject",
            Method::PUT,
            &path,
            headers,
            empty,
        );
        let copied = copied.await?;
        match copied.status {
            _ if copied.succeeded() => {}
            StatusCode::NOT_IMPLEMENTED => self.stream(old, head, &etag, length).await?,
            StatusCode::PRECONDITION_FAILED => {
                return Err("the object changed while it was checked; run again".to_owned());
            }
            _ => return Err(copied.refusal("CopyObject")),
        }
        self.verify(length).await
    }

    /// Confirms the object is now under the current key with its length.
    async fn verify(&self, length: u64) -> Result<(), String> {
        match self.head(Some(&self.keys.current)).await {
            Ok(Head::Under(head)) => {
                let now = content_length(&head);
                if now == Some(length) {
                    Ok(())
                } else {
                    Err(format!(
                        "after the rewrite the store holds {now:?} bytes, not {length}"
                    ))
                }
            }
            Ok(_) => Err("after the rewrite the object is not under the current key".to_owned()),
            Err(Outcome::Failed(reason)) => Err(reason),
            Err(_) => Err("after the rewrite the object cannot be read".to_owned()),
        }
    }

    /// The rewrite for a store that cannot copy SSE-C objects: the object read with the
    /// old key streams into a write with the new one.
    async fn stream(
        &self,
        old: &SsecKey,
        head: &HeaderMap,
        etag: &HeaderValue,
        length: u64,
    ) -> Result<(), String> {
        let mut write = Self::metadata(head);
        if let Some(tags) = self.tags(head).await? {
            write.insert("x-amz-tagging", tags);
        }
        self.keys.current.set(&mut write, Group::Destination);
        if length <= self.part_size {
            let body = self.read(old, etag, None).await?;
            write.insert(CONTENT_LENGTH, HeaderValue::from(length));
            let op = "PutObject";
            let path = self.path();
            let put = exchange(&self.client, op, Method::PUT, &path, write, body).await?;
            return self.confirmed(op, &put).map(drop);
        }
        let op = "CreateMultipartUpload";
        let target = format!("{}?uploads", self.path());
        let created = exchange(&self.client, op, Method::POST, &target, write, Empty::new());
        let created = created.await?;
        let upload = self.confirmed(op, &created)?;
        let upload = first_element(upload, "UploadId").ok_or("no UploadId")?;
        let result = self.parts(old, etag, length, &upload).await;
        if result.is_err() {
            // Best effort: the store expires abandoned uploads in any case.
            let target = format!("{}?uploadId={}", self.path(), uri_encode(upload.as_bytes()));
            let (delete, empty) = (Method::DELETE, Empty::<Bytes>::new());
            let abort = exchange(
                &self.client,
                "AbortMultipartUpload",
                delete,
                &target,
                HeaderMap::new(),
                empty,
            );
            let _ = abort.await;
        }
        result
    }

    /// Uploads the parts of a streamed rewrite and completes the upload.
    async fn parts(
        &self,
        old: &SsecKey,
        etag: &HeaderValue,
        length: u64,
        upload: &str,
    ) -> Result<(), String> {
        let upload = uri_encode(upload.as_bytes());
        let mut complete = String::from("<CompleteMultipartUpload>");
        let mut start = 0;
        let mut number = 1u32;
        while start < length {
            let end = (start + self.part_size).min(length);
            let body = self.read(old, etag, Some((start, end - 1))).await?;
            let mut headers = HeaderMap::new();
            self.keys.current.set(&mut headers, Group::Destination);
            headers.insert(CONTENT_LENGTH, HeaderValue::from(end - start));
            let target = format!("{}?partNumber={number}&uploadId={upload}", self.path());
            let op = format!("UploadPart {number}");
            let part = exchange(&self.client, &op, Method::PUT, &target, headers, body);
            let part = part.await?;
            self.confirmed(&op, &part)?;
            let part_etag = part
                .headers
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .ok_or("UploadPart answered without an ETag")?;
            complete.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
                quick_xml::escape::escape(part_etag)
            ));
            start = end;
            number += 1;
        }
        complete.push_str("</CompleteMultipartUpload>");
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        let op = "CompleteMultipartUpload";
        let target = format!("{}?uploadId={upload}", self.path());
        let body = Full::new(Bytes::from(complete));
        let completed = exchange(&self.client, op, Method::POST, &target, headers, body);
        let completed = completed.await?;
        if completed.succeeded() {
            Ok(())
        } else {
            Err(completed.refusal(op))
        }
    }

    /// The object (or bytes `first..=last` of it) read with `old`, as long as it is
    /// still the object that was checked.
    async fn read(
        &self,
        old: &SsecKey,
        etag: &HeaderValue,
        range: Option<(u64, u64)>,
    ) -> Result<UpstreamBody, String> {
        let mut headers = HeaderMap::new();
        old.set(&mut headers, Group::Destination);
        headers.insert(IF_MATCH, etag.clone());
        let want = match range {
            Some((first, last)) => {
                let value = HeaderValue::from_str(&format!("bytes={first}-{last}"))
                    .map_err(|e| e.to_string())?;
                headers.insert(RANGE, value);
                StatusCode::PARTIAL_CONTENT
            }
            None => StatusCode::OK,
        };
        let response = self
            .client
            .send(Method::GET, &self.path(), headers, Empty::<Bytes>::new())
            .await
            .map_err(|e| format!("GetObject: {}", describe(&e)))?;
        let status = response.status();
        if status == want && confirms(response.headers(), old) {
            return Ok(response.into_body());
        }
        if status == StatusCode::PRECONDITION_FAILED {
            return Err("the object changed while it was checked; run again".to_owned());
        }
        let body = read_body(response.into_body(), MAX_DOCUMENT)
            .await
            .unwrap_or_default();
        Err(format!("GetObject: {}", store_answer(status, &body)))
    }

    /// The object's tags as an `x-amz-tagging` value, if HEAD says it has any.
    async fn tags(&self, head: &HeaderMap) -> Result<Option<HeaderValue>, String> {
        let count = head
            .get("x-amz-tagging-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u32>().ok());
        if count.unwrap_or(0) == 0 {
            return Ok(None);
        }
        let target = format!("{}?tagging", self.path());
        let answer = get(&self.client, "GetObjectTagging", &target).await?;
        if !answer.status.is_success() {
            return Err(answer.refusal("GetObjectTagging"));
        }
        let tags = records(&answer.body, "Tag", &["Key", "Value"]).ok_or("malformed tag set")?;
        let mut value = String::new();
        for tag in tags {
            let [Some(key), Some(tag_value)] = tag.as_slice() else {
                return Err("malformed tag set".to_owned());
            };
            if !value.is_empty() {
                value.push('&');
            }
            value.push_str(&uri_encode(key.as_bytes()));
            value.push('=');
            value.push_str(&uri_encode(tag_value.as_bytes()));
        }
        HeaderValue::from_str(&value)
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// A write's answer: success with the current key confirmed, or the reason; the
    /// body (a small document) on success.
    fn confirmed<'a>(&self, op: &str, answer: &'a Answer) -> Result<&'a [u8], String> {
        if !answer.succeeded() {
            return Err(answer.refusal(op));
        }
        if !confirms(&answer.headers, &self.keys.current) {
            return Err(format!("{op}: the store did not confirm the key"));
        }
        Ok(&answer.body)
    }
}

/// A store's answer whose body is a small document.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    /// Success, and no error document in the body (a copy or a completion can fail
    /// after its 200).
    fn succeeded(&self) -> bool {
        self.status.is_success() && first_element(&self.body, "Code").is_none()
    }

    /// The refusal as a line naming `op`.
    fn refusal(&self, op: &str) -> String {
        format!("{op}: {}", store_answer(self.status, &self.body))
    }
}

/// Sends a request whose answer is a small document and reads it; a failure is a line
/// naming `op`.
async fn exchange<B>(
    client: &StoreClient,
    op: &str,
    method: Method,
    target: &str,
    headers: HeaderMap,
    body: B,
) -> Result<Answer, String>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<crate::error::BoxError>,
{
    let response = client
        .send(method, target, headers, body)
        .await
        .map_err(|e| format!("{op}: {}", describe(&e)))?;
    let (parts, body) = response.into_parts();
    let body = read_body(body, MAX_DOCUMENT)
        .await
        .map_err(|e| format!("{op}: {e}"))?;
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// A GET without headers or body, answered by a small document.
async fn get(client: &StoreClient, op: &str, target: &str) -> Result<Answer, String> {
    let empty = Empty::<Bytes>::new();
    exchange(client, op, Method::GET, target, HeaderMap::new(), empty).await
}

/// An object's length, from its HEAD.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Whether a response confirms SSE-C under `key`: every key-MD5 echo (SeaweedFS repeats
/// the field) names it.
fn confirms(headers: &HeaderMap, key: &SsecKey) -> bool {
    let mut echoes = headers
        .get_all(SSE_C_KEY_MD5)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .peekable();
    echoes.peek().is_some() && echoes.all(|md5| md5 == key.md5_base64())
}

/// A store's refusal in a line: status, and the S3 code when the body has one.
fn store_answer(status: StatusCode, body: &[u8]) -> String {
    match first_element(body, "Code") {
        Some(code) => format!("{status} {code}"),
        None => status.to_string(),
    }
}

/// A transport failure in a line, with its causes (no key material can be in them: the
/// errors come from the connection, never from header values).
fn describe(e: &ProxyError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "rekey_tests.rs"]
mod tests;
