//! S3 operation classification: method + path + query + Host → (operation, bucket, key).
//!
//! Done once per request (the `classify` layer) and read from request extensions by
//! every later layer. Follows the request syntax of each operation in AWS's S3 API
//! reference, for path-style and virtual-hosted-style addressing.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, Uri};

use super::error::S3Error;
use super::headers::COPY_SOURCE;
use super::strict::{self, Addressing, HostReading, Placement, Query};

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
    /// Anything else: refused by the classify layer, in both modes.
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

    /// Whether S3 has a `PUT /bucket?<sub>` for it: not `location`, `policyStatus` or
    /// `metadataTable` (created by a POST), a PUT of which stores read as a CreateBucket.
    fn has_put(self) -> bool {
        !matches!(
            self,
            Self::Location | Self::PolicyStatus | Self::MetadataTable
        )
    }

    /// Whether S3 has a `DELETE /bucket?<sub>` for it. Stores read the others (and some
    /// they do not implement) as a DeleteBucket.
    fn has_delete(self) -> bool {
        matches!(
            self,
            Self::Analytics
                | Self::Cors
                | Self::Encryption
                | Self::IntelligentTiering
                | Self::Inventory
                | Self::Lifecycle
                | Self::MetadataTable
                | Self::Metrics
                | Self::OwnershipControls
                | Self::Policy
                | Self::PublicAccessBlock
                | Self::Replication
                | Self::Tagging
                | Self::Website
        )
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
    /// Whether the Content-Type names `multipart/form-data`, anywhere (POST Object).
    pub is_form: bool,
}

/// What stores look for in a Content-Type to take a POST as a form upload.
const FORM_MARK: &[u8] = b"multipart/form-dat";

impl<'a> Target<'a> {
    /// What classification looks at in a request head; `host` is the Host the client
    /// addressed (the URI authority, else the `Host` field).
    pub fn from_head(method: &'a Method, uri: &'a Uri, headers: &HeaderMap, host: &'a str) -> Self {
        // SeaweedFS and MinIO route a POST as a form upload when the Content-Type
        // matches the unanchored regular expression `multipart/form-data*`, anywhere in
        // the value (`multipart/mixed; x="multipart/form-data"` is one), and Go's
        // multipart reader then takes any multipart body. Such a value is a form here
        // too, and the form check refuses what is not exactly `multipart/form-data`.
        let is_form = headers.get(CONTENT_TYPE).is_some_and(|v| {
            v.as_bytes()
                .windows(FORM_MARK.len())
                .any(|w| w.eq_ignore_ascii_case(FORM_MARK))
        });
        Self {
            method,
            path: uri.path(),
            query: uri.query(),
            host,
            has_copy_source: headers.contains_key(COPY_SOURCE),
            is_form,
        }
    }
}

/// Splits the addressed bucket and key out of the Host and path, as the store reads
/// them, or refuses (see [`strict`]).
pub fn address(
    host: &str,
    path: &str,
    addressing: &Addressing,
    reading: HostReading,
) -> Result<(Option<String>, Option<String>), S3Error> {
    let path = path.strip_prefix('/').unwrap_or(path);
    match addressing.place(host, reading)? {
        Placement::VirtualHosted(bucket) => {
            Ok((Some(bucket.to_owned()), strict::virtual_hosted(path)?))
        }
        Placement::PathStyle => strict::path_style(path),
    }
}

/// Classifies a request, or refuses one a store could read as another operation or
/// target.
pub fn classify(
    target: &Target<'_>,
    addressing: &Addressing,
    reading: HostReading,
) -> Result<S3Request, S3Error> {
    let (bucket, key) = address(target.host, target.path, addressing, reading)?;
    let mut params = Query::parse(target.query)?;
    let op = match (&bucket, &key) {
        (None, _) => service_op(target.method, &params),
        (Some(_), None) => bucket_op(target, &params),
        (Some(_), Some(_)) => object_op(target, &params)?,
    };
    if target.is_form && *target.method == Method::POST && op != S3Op::PostObject {
        // Stores decide a form upload by the content type alone (RGW) or by the route
        // (SeaweedFS); a form body on another POST could be read either way.
        return Err(strict::ambiguous(
            strict::REASON_FORM,
            "A multipart/form-data body is accepted only as a POST Object form upload, without sub-resource parameters.",
        ));
    }
    Ok(S3Request {
        op,
        bucket,
        key,
        upload_id: params.take_upload_id(),
    })
}

/// ListBuckets' own query parameters. Any other is not ListBuckets: RGW answers
/// `GET /?usage` with the account's usage of every bucket, which no client scope could
/// cut down.
const LIST_BUCKETS_PARAMS: [&str; 5] = [
    "max-buckets",
    "continuation-token",
    "prefix",
    "bucket-region",
    "x-id",
];

/// Whether a query parameter authenticates the request rather than selecting what it
/// does: SigV4's presigned parameters, and SigV2's (passthrough mode).
fn is_auth_param(name: &str) -> bool {
    crate::s3::sigv4::PRESIGN_PARAMS.contains(&name)
        || matches!(name, "AWSAccessKeyId" | "Signature" | "Expires")
}

fn service_op(method: &Method, params: &Query<'_>) -> S3Op {
    let listing = || {
        params
            .names()
            .iter()
            .all(|n| LIST_BUCKETS_PARAMS.contains(n) || is_auth_param(n))
    };
    match *method {
        Method::GET if listing() => S3Op::ListBuckets,
        Method::OPTIONS => S3Op::CorsPreflight,
        _ => S3Op::Unknown,
    }
}

fn bucket_op(target: &Target<'_>, params: &Query<'_>) -> S3Op {
    let sub = params
        .names()
        .iter()
        .find_map(|n| BucketSub::from_query_name(n));
    match *target.method {
        Method::GET if params.has("uploads") => S3Op::ListMultipartUploads,
        Method::GET if params.has("versions") => S3Op::ListObjectVersions,
        Method::GET => match sub {
            Some(sub) => S3Op::GetBucketConfig(sub),
            None if params.list_type() == Some("2") => S3Op::ListObjectsV2,
            None => S3Op::ListObjects,
        },
        Method::HEAD => S3Op::HeadBucket,
        // CreateBucket takes no parameter; RGW reads `PUT ?mdsearch` as a configuration.
        Method::PUT if sub.is_none() && !params.names().iter().all(|n| is_auth_param(n)) => {
            S3Op::Unknown
        }
        // A configuration S3 cannot set or delete this way is no S3 operation: SeaweedFS,
        // RGW and Garage read `DELETE ?versioning` as a DeleteBucket.
        Method::PUT => match sub {
            None => S3Op::CreateBucket,
            Some(sub) if sub.has_put() => S3Op::PutBucketConfig(sub),
            Some(_) => S3Op::Unknown,
        },
        Method::DELETE => match sub {
            None => S3Op::DeleteBucket,
            Some(sub) if sub.has_delete() => S3Op::DeleteBucketConfig(sub),
            Some(_) => S3Op::Unknown,
        },
        Method::POST if params.has("delete") => S3Op::DeleteObjects,
        Method::POST if target.is_form && !params.has_selector() => S3Op::PostObject,
        Method::OPTIONS => S3Op::CorsPreflight,
        _ => S3Op::Unknown,
    }
}

/// A sub-resource of a bucket only: its configurations but ACL and tagging (which
/// objects have too), DeleteObjects and ListObjectVersions. (`uploads` also creates an
/// upload at an object path.)
fn bucket_only(name: &str) -> bool {
    matches!(name, "delete" | "versions")
        || BucketSub::from_query_name(name)
            .is_some_and(|sub| !matches!(sub, BucketSub::Acl | BucketSub::Tagging))
}

fn object_op(target: &Target<'_>, params: &Query<'_>) -> Result<S3Op, S3Error> {
    if params.has("append") {
        // Ceph RGW appends to an object for `PUT ?append&position=N`, ignoring SSE-C
        // headers: the data would land in plaintext whatever the proxy checked.
        return Err(S3Error::new(
            super::error::S3ErrorCode::NotImplemented,
            "Appending to an object (?append) is not an S3 operation: Ceph RGW stores appended data without SSE-C, so the proxy refuses it.",
        )
        .with_reason(super::error::Reason::StoreRefusal));
    }
    // Stores read a bucket's sub-resource at an object path their own way: SeaweedFS
    // runs `POST ?delete` as DeleteObjects (deleting the body's keys, which an object
    // request here would not check) and `GET ?uploads` as ListMultipartUploads, and
    // writes nothing for `PUT ?policy`; a form upload carries its own parameters.
    let bucket_only = params.names().iter().any(|name| bucket_only(name));
    let listing_uploads = params.has("uploads") && *target.method != Method::POST;
    let form = target.is_form && *target.method == Method::POST;
    if !form && (bucket_only || listing_uploads) {
        return Err(strict::ambiguous(
            strict::REASON_QUERY,
            "A bucket sub-resource parameter addresses a bucket, not an object.",
        ));
    }
    let multipart = params.is_multipart();
    if *target.method == Method::PUT && multipart != params.has_part_number() {
        return Err(strict::ambiguous(
            strict::REASON_QUERY,
            "An upload part needs both uploadId and partNumber; a PUT with only one of them could be read as PutObject or as UploadPart.",
        ));
    }
    Ok(match *target.method {
        Method::GET if multipart => S3Op::ListParts,
        Method::GET if params.has("acl") => S3Op::GetObjectAcl,
        Method::GET if params.has("tagging") => S3Op::GetObjectTagging,
        Method::GET if params.has("attributes") => S3Op::GetObjectAttributes,
        Method::GET if params.has("retention") => S3Op::GetObjectRetention,
        Method::GET if params.has("legal-hold") => S3Op::GetObjectLegalHold,
        Method::GET if params.has("torrent") => S3Op::GetObjectTorrent,
        Method::GET => S3Op::GetObject,
        Method::HEAD => S3Op::HeadObject,
        Method::PUT if multipart => match target.has_copy_source {
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
        // Both stores take a form upload at an object path too (the form's key counts).
        Method::POST if target.is_form && !params.has_selector() => S3Op::PostObject,
        Method::OPTIONS => S3Op::CorsPreflight,
        _ => S3Op::Unknown,
    })
}

#[cfg(test)]
#[path = "op_tests.rs"]
mod tests;

/// Bucket names that are not buckets on Ceph RGW: its admin API (`rgw admin entry`),
/// Swift API and Swift authentication (`rgw swift url prefix`, `rgw swift auth entry`,
/// at their defaults). RGW serves `/swift/v1/<bucket>/<key>` with the Swift API, which
/// writes into `<bucket>` and ignores SSE-C: the proxy would check bucket `swift`.
/// Compared in any case: a store may match them so.
pub fn is_store_entry_point(bucket: &str) -> bool {
    const STORE_ENTRY_POINTS: [&str; 3] = ["admin", "swift", "auth"];
    STORE_ENTRY_POINTS
        .iter()
        .any(|e| e.eq_ignore_ascii_case(bucket))
}
