//! Helpers for driving real stores through the proxy with aws-sdk-s3.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};

/// A customer key with its header encodings.
#[derive(Clone, Debug)]
pub struct Key {
    pub raw: [u8; 32],
    pub b64: String,
    pub md5: String,
}

impl Key {
    /// Bytes `seed..seed+32`: K1 = `Key::new(0)`, K2 = `Key::new(1)`.
    pub fn new(seed: u8) -> Self {
        let mut raw = [0u8; 32];
        for (i, b) in raw.iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u8);
        }
        Self {
            raw,
            b64: B64.encode(raw),
            md5: B64.encode(Md5::digest(raw)),
        }
    }

    /// The SSE-C request headers naming this key, for hand-made requests.
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", &self.b64),
            ("x-amz-server-side-encryption-customer-key-md5", &self.md5),
        ]
    }

    pub fn hex(&self) -> String {
        self.raw.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Deterministic test data of `len` bytes, different per `seed`.
/// The CRC32 of `data` as `x-amz-checksum-crc32` carries it (base64, big-endian).
pub fn crc32_base64(data: &[u8]) -> String {
    B64.encode(crc32fast::hash(data).to_be_bytes())
}

pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// HTTP status and S3 error code of a failed SDK call.
pub fn failure<E, R>(err: &SdkError<E, R>) -> (u16, String)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: HasStatus + std::fmt::Debug,
{
    let status = err.raw_response().map_or(0, HasStatus::status_u16);
    let code = match err {
        SdkError::ServiceError(e) => e.err().code().unwrap_or("").to_owned(),
        other => format!("{other:?}"),
    };
    (status, code)
}

pub trait HasStatus {
    fn status_u16(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_u16(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The keys in `bucket` (first page of ListObjectsV2), sorted, so a test can assert
/// exactly what the store holds.
pub async fn object_names(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListObjectsV2 {bucket}: {:?}", failure(&e)));
    let mut names: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    names.sort_unstable();
    names
}

/// CreateMultipartUpload of `bucket`/`key`, with SSE-C key `k` or none: the upload ID the
/// client got.
pub async fn create_upload(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    k: Option<&Key>,
) -> String {
    let mut req = client.create_multipart_upload().bucket(bucket).key(key);
    if let Some(k) = k {
        req = req.with_key(k);
    }
    let out = req
        .send()
        .await
        .unwrap_or_else(|err| panic!("CreateMultipartUpload: {:?}", failure(&err)));
    out.upload_id().unwrap().to_owned()
}

/// The three SSE-C headers of `key` on an SDK request: `.with_key(&key)`.
pub trait WithKey {
    fn with_key(self, key: &Key) -> Self;
}

macro_rules! with_key_for {
    ($($op:ident :: $builder:ident),* $(,)?) => {
        $(impl WithKey for aws_sdk_s3::operation::$op::builders::$builder {
            fn with_key(self, key: &Key) -> Self {
                self.sse_customer_algorithm("AES256")
                    .sse_customer_key(&key.b64)
                    .sse_customer_key_md5(&key.md5)
            }
        })*
    };
}

with_key_for!(
    put_object::PutObjectFluentBuilder,
    get_object::GetObjectFluentBuilder,
    head_object::HeadObjectFluentBuilder,
    get_object_attributes::GetObjectAttributesFluentBuilder,
    create_multipart_upload::CreateMultipartUploadFluentBuilder,
    upload_part::UploadPartFluentBuilder,
    list_parts::ListPartsFluentBuilder,
    complete_multipart_upload::CompleteMultipartUploadFluentBuilder,
    upload_part_copy::UploadPartCopyFluentBuilder,
    copy_object::CopyObjectFluentBuilder,
);

/// The three copy-source SSE-C headers of `key` on an SDK copy: `.with_source_key(&key)`.
pub trait WithSourceKey {
    fn with_source_key(self, key: &Key) -> Self;
}

macro_rules! with_source_key_for {
    ($($op:ident :: $builder:ident),* $(,)?) => {
        $(impl WithSourceKey for aws_sdk_s3::operation::$op::builders::$builder {
            fn with_source_key(self, key: &Key) -> Self {
                self.copy_source_sse_customer_algorithm("AES256")
                    .copy_source_sse_customer_key(&key.b64)
                    .copy_source_sse_customer_key_md5(&key.md5)
            }
        })*
    };
}

with_source_key_for!(
    upload_part_copy::UploadPartCopyFluentBuilder,
    copy_object::CopyObjectFluentBuilder,
);
