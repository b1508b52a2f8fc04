//! ssec-proxy: a TLS-terminating reverse proxy that makes SSE-C (server-side encryption
//! with customer-provided keys) safe and uniform in front of S3-compatible stores.
//!
//! Request path: `server` (rustls, hyper) → `stack` (tower layers in `layers`) →
//! `upstream` (pooled hyper-util client). Pure S3 logic lives in `s3`.

pub mod access_log;
pub mod admin;
pub mod config;
pub mod credentials;
pub mod error;
pub mod forwarding;
pub mod health;
pub mod inject;
pub mod layers;
pub mod metrics;
pub mod rekey;
pub mod reload;
pub mod request_id;
pub mod s3;
pub mod secret;
pub mod server;
pub mod stack;
pub mod store_client;
pub mod telemetry;
pub mod tls;
pub mod uploads;
pub mod upstream;
