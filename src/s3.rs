//! Pure S3 logic: no tower types, no I/O. Unit- and property-tested.

pub mod checksum;
pub mod chunked;
pub mod error;
pub mod etag;
pub mod form;
pub mod headers;
pub mod list_buckets;
pub mod op;
pub mod opaque;
pub mod policy;
pub mod sigv4;
pub mod ssec;
pub mod store;
pub mod strict;
pub mod xml;
