//! Thin tower wiring around the pure logic in `s3`; assembled in `stack`. Each layer
//! wraps the request and response bodies it needs with its own body type and maps its
//! own errors; the leaf (`upstream`) takes any body.

pub mod auth;
pub mod aws_chunked;
pub mod bucket_delete;
pub mod buffered;
pub mod classify;
pub mod copy;
pub mod delete_keys;
pub mod error_response;
pub mod etag;
pub mod finish;
pub mod held;
pub mod inject;
pub mod list_buckets;
pub mod multipart;
pub mod payload;
pub mod post_object;
pub mod resign;
pub mod ssec;
pub mod store_errors;
pub mod stream;
pub mod trace;

#[cfg(test)]
pub(crate) mod test_support;
