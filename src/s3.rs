//! Pure S3 logic: no tower types, no I/O. Unit- and property-tested.

pub mod error;
pub mod headers;
pub mod op;
pub mod ssec;
