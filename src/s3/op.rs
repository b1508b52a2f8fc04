//! S3 operation classification: method + path + query + Host → (operation, bucket, key).
//!
//! Done once per request (the `classify` layer) and read from request extensions by
//! every later layer. Follows the request syntax of each operation in AWS's S3 API
//! reference, for path-style and virtual-hosted-style addressing.

use http::Method;
use percent_encoding::percent_decode_str;

/// An S3 operation, named as in AWS's API reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the names are AWS's operation names
pub enum S3Op {
    // Service.
    ListBuckets,
    // Buckets.
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    ListObjects,
    ListObjectsV2,
    ListObjectVersions,
    ListMultipartUploads,
    DeleteObjects,
    PostObject,
    /// `GET /bucket?<sub>` for a bucket configuration subresource.
    GetBucketConfig(BucketSub),
    /// `PUT /bucket?<sub>`.
    PutBucketConfig(BucketSub),
    /// `DELETE /bucket?<sub>`.
    DeleteBucketConfig(BucketSub),
    // Objects.
    GetObject,
    HeadObject,
    PutObject,
    CopyObject,
    DeleteObject,
    GetObjectAcl,
    PutObjectAcl,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    GetObjectAttributes,
    GetObjectRetention,
    PutObjectRetention,
    GetObjectLegalHold,
    PutObjectLegalHold,
    GetObjectTorrent,
    RestoreObject,
    SelectObjectContent,
    RenameObject,
    // Multipart uploads.
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    /// CORS preflight (`OPTIONS`), on a bucket or an object.
    CorsPreflight,
    /// Anything else: forwarded, never given SSE-C semantics.
    Unknown,
}

/// Bucket configuration subresources (query parameter names), a closed set so that
/// metric labels stay bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BucketSub {
    Accelerate,
    Acl,
    Analytics,
    Cors,
    Encryption,
    IntelligentTiering,
    Inventory,
    Lifecycle,
    Location,
    Logging,
    MetadataTable,
    Metrics,
    Notification,
    ObjectLock,
    OwnershipControls,
    Policy,
    PolicyStatus,
    PublicAccessBlock,
    Replication,
    RequestPayment,
    Tagging,
    Versioning,
    Website,
}

impl BucketSub {
    const ALL: [(&'static str, BucketSub); 23] = [
        ("accelerate", Self::Accelerate),
        ("acl", Self::Acl),
        ("analytics", Self::Analytics),
        ("cors", Self::Cors),
        ("encryption", Self::Encryption),
        ("intelligent-tiering", Self::IntelligentTiering),
        ("inventory", Self::Inventory),
        ("lifecycle", Self::Lifecycle),
        ("location", Self::Location),
        ("logging", Self::Logging),
        ("metadataTable", Self::MetadataTable),
        ("metrics", Self::Metrics),
        ("notification", Self::Notification),
        ("object-lock", Self::ObjectLock),
        ("ownershipControls", Self::OwnershipControls),
        ("policy", Self::Policy),
        ("policyStatus", Self::PolicyStatus),
        ("publicAccessBlock", Self::PublicAccessBlock),
        ("replication", Self::Replication),
        ("requestPayment", Self::RequestPayment),
        ("tagging", Self::Tagging),
        ("versioning", Self::Versioning),
        ("website", Self::Website),
    ];

    fn from_query_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }

    /// The subresource as spelled in the query string.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("unknown", |(n, _)| n)
    }
}

impl S3Op {
    /// A short, bounded name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ListBuckets => "ListBuckets",
            Self::CreateBucket => "CreateBucket",
            Self::DeleteBucket => "DeleteBucket",
            Self::HeadBucket => "HeadBucket",
            Self::ListObjects => "ListObjects",
            Self::ListObjectsV2 => "ListObjectsV2",
            Self::ListObjectVersions => "ListObjectVersions",
            Self::ListMultipartUploads => "ListMultipartUploads",
            Self::DeleteObjects => "DeleteObjects",
            Self::PostObject => "PostObject",
            Self::GetBucketConfig(_) => "GetBucketConfig",
            Self::PutBucketConfig(_) => "PutBucketConfig",
            Self::DeleteBucketConfig(_) => "DeleteBucketConfig",
            Self::GetObject => "GetObject",
            Self::HeadObject => "HeadObject",
            Self::PutObject => "PutObject",
            Self::CopyObject => "CopyObject",
            Self::DeleteObject => "DeleteObject",
            Self::GetObjectAcl => "GetObjectAcl",
            Self::PutObjectAcl => "PutObjectAcl",
            Self::GetObjectTagging => "GetObjectTagging",
            Self::PutObjectTagging => "PutObjectTagging",
            Self::DeleteObjectTagging => "DeleteObjectTagging",
            Self::GetObjectAttributes => "GetObjectAttributes",
            Self::GetObjectRetention => "GetObjectRetention",
            Self::PutObjectRetention => "PutObjectRetention",
            Self::GetObjectLegalHold => "GetObjectLegalHold",
            Self::PutObjectLegalHold => "PutObjectLegalHold",
            Self::GetObjectTorrent => "GetObjectTorrent",
            Self::RestoreObject => "RestoreObject",
            Self::SelectObjectContent => "SelectObjectContent",
            Self::RenameObject => "RenameObject",
            Self::CreateMultipartUpload => "CreateMultipartUpload",
            Self::UploadPart => "UploadPart",
            Self::UploadPartCopy => "UploadPartCopy",
            Self::CompleteMultipartUpload => "CompleteMultipartUpload",
            Self::AbortMultipartUpload => "AbortMultipartUpload",
            Self::ListParts => "ListParts",
            Self::CorsPreflight => "CorsPreflight",
            Self::Unknown => "Unknown",
        }
    }
}

/// The operation and its target, stored in request extensions by the classify layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Request {
    /// The operation.
    pub op: S3Op,
    /// Bucket name, when the request addresses one.
    pub bucket: Option<String>,
    /// Object key (percent-decoded), when the request addresses an object.
    pub key: Option<String>,
    /// `uploadId` query parameter (percent-decoded), for multipart operations.
    pub upload_id: Option<String>,
}

/// What classification looks at.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// Request method.
    pub method: &'a Method,
    /// Raw (percent-encoded) path, starting with `/`.
    pub path: &'a str,
    /// Raw query string, without `?`.
    pub query: Option<&'a str>,
    /// Host the client addressed (Host header or `:authority`), possibly with a port.
    pub host: &'a str,
    /// Whether `x-amz-copy-source` is present (CopyObject / UploadPartCopy).
    pub has_copy_source: bool,
    /// Whether the body is `multipart/form-data` (POST Object).
    pub is_form: bool,
}

/// Query parameters that matter for classification.
#[derive(Default)]
struct Params<'a> {
    names: Vec<&'a str>,
    upload_id: Option<&'a str>,
    list_type: Option<&'a str>,
}

impl<'a> Params<'a> {
    fn parse(query: Option<&'a str>) -> Self {
        let mut params = Self::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "uploadId" => params.upload_id = Some(value),
                "list-type" => params.list_type = Some(value),
                _ => {}
            }
            params.names.push(name);
        }
        params
    }

    fn has(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    fn bucket_sub(&self) -> Option<BucketSub> {
        self.names
            .iter()
            .find_map(|n| BucketSub::from_query_name(n))
    }
}

/// Splits the addressed bucket and key out of the Host and path.
///
/// Virtual-hosted style applies when the host (without port, case-insensitively) is
/// `<bucket>.<suffix>` for a configured suffix; otherwise the first path segment is
/// the bucket (path style).
pub fn address(host: &str, path: &str, suffixes: &[String]) -> (Option<String>, Option<String>) {
    let hostname = strip_port(host);
    let path = path.strip_prefix('/').unwrap_or(path);
    let vhost_bucket = suffixes.iter().find_map(|suffix| {
        let cut = hostname.len().checked_sub(suffix.len() + 1)?;
        let (bucket, rest) = hostname.split_at_checked(cut)?;
        (rest.as_bytes().first() == Some(&b'.') && rest[1..].eq_ignore_ascii_case(suffix))
            .then_some(bucket)
            .filter(|b| !b.is_empty())
    });
    match vhost_bucket {
        Some(bucket) => (Some(bucket.to_owned()), non_empty(decode(path))),
        None => {
            let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
            (non_empty(decode(bucket)), non_empty(decode(key)))
        }
    }
}

/// Classifies a request.
pub fn classify(target: &Target<'_>, suffixes: &[String]) -> S3Request {
    let (bucket, key) = address(target.host, target.path, suffixes);
    let params = Params::parse(target.query);
    let op = match (&bucket, &key) {
        (None, _) => service_op(target.method),
        (Some(_), None) => bucket_op(target, &params),
        (Some(_), Some(_)) => object_op(target, &params),
    };
    let upload_id = params.upload_id.map(decode);
    S3Request {
        op,
        bucket,
        key,
        upload_id,
    }
}

fn service_op(method: &Method) -> S3Op {
    match *method {
        Method::GET => S3Op::ListBuckets,
        Method::OPTIONS => S3Op::CorsPreflight,
        _ => S3Op::Unknown,
    }
}

fn bucket_op(target: &Target<'_>, params: &Params<'_>) -> S3Op {
    let sub = params.bucket_sub();
    match *target.method {
        Method::GET if params.has("uploads") => S3Op::ListMultipartUploads,
        Method::GET if params.has("versions") => S3Op::ListObjectVersions,
        Method::GET => match sub {
            Some(sub) => S3Op::GetBucketConfig(sub),
            None if params.list_type == Some("2") => S3Op::ListObjectsV2,
            None => S3Op::ListObjects,
        },
        Method::HEAD => S3Op::HeadBucket,
        Method::PUT => sub.map_or(S3Op::CreateBucket, S3Op::PutBucketConfig),
        Method::DELETE => sub.map_or(S3Op::DeleteBucket, S3Op::DeleteBucketConfig),
        Method::POST if params.has("delete") => S3Op::DeleteObjects,
        Method::POST if target.is_form => S3Op::PostObject,
        Method::OPTIONS => S3Op::CorsPreflight,
        _ => S3Op::Unknown,
    }
}

fn object_op(target: &Target<'_>, params: &Params<'_>) -> S3Op {
    let multipart = params.upload_id.is_some();
    match *target.method {
        Method::GET if multipart => S3Op::ListParts,
        Method::GET if params.has("acl") => S3Op::GetObjectAcl,
        Method::GET if params.has("tagging") => S3Op::GetObjectTagging,
        Method::GET if params.has("attributes") => S3Op::GetObjectAttributes,
        Method::GET if params.has("retention") => S3Op::GetObjectRetention,
        Method::GET if params.has("legal-hold") => S3Op::GetObjectLegalHold,
        Method::GET if params.has("torrent") => S3Op::GetObjectTorrent,
        Method::GET => S3Op::GetObject,
        Method::HEAD => S3Op::HeadObject,
        Method::PUT if multipart && params.has("partNumber") => match target.has_copy_source {
            true => S3Op::UploadPartCopy,
            false => S3Op::UploadPart,
        },
        Method::PUT if params.has("acl") => S3Op::PutObjectAcl,
        Method::PUT if params.has("tagging") => S3Op::PutObjectTagging,
        Method::PUT if params.has("retention") => S3Op::PutObjectRetention,
        Method::PUT if params.has("legal-hold") => S3Op::PutObjectLegalHold,
        Method::PUT if params.has("renameObject") => S3Op::RenameObject,
        Method::PUT if target.has_copy_source => S3Op::CopyObject,
        Method::PUT => S3Op::PutObject,
        Method::DELETE if multipart => S3Op::AbortMultipartUpload,
        Method::DELETE if params.has("tagging") => S3Op::DeleteObjectTagging,
        Method::DELETE => S3Op::DeleteObject,
        Method::POST if params.has("uploads") => S3Op::CreateMultipartUpload,
        Method::POST if multipart => S3Op::CompleteMultipartUpload,
        Method::POST if params.has("restore") => S3Op::RestoreObject,
        Method::POST if params.has("select") => S3Op::SelectObjectContent,
        Method::OPTIONS => S3Op::CorsPreflight,
        _ => S3Op::Unknown,
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // An IPv6 literal keeps its brackets; any port follows the ']'.
        return rest.find(']').map_or(host, |i| &host[..i + 2]);
    }
    host.split_once(':').map_or(host, |(name, _)| name)
}

fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
#[path = "op_tests.rs"]
mod tests;
