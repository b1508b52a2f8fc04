//! Thin tower wiring around the pure logic in `s3`; assembled in `stack`.

pub mod classify;
pub mod error_response;
pub mod etag;
pub mod ssec;
pub mod trace;
