//! The proxy's error type: raised by any layer, rendered once by `layers::error_response`.

use crate::s3::error::{S3Error, S3ErrorCode};

/// A boxed error from the transport (hyper, rustls, I/O).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request did not get the store's answer.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The proxy refused the request (client fault or policy); carries the S3 answer.
    #[error("rejected: {0}")]
    Rejected(#[from] S3Error),
    /// No connection to the store could be made.
    #[error("store unreachable")]
    Unreachable(#[source] BoxError),
    /// The store broke the exchange (reset, malformed response, TLS failure).
    #[error("store failed")]
    BadGateway(#[source] BoxError),
    /// The store made no progress within `upstream.idle_timeout`.
    #[error("store timed out")]
    UpstreamTimeout,
    /// The client stopped sending its body for `upstream.idle_timeout`.
    #[error("client stalled")]
    ClientTimeout,
    /// The client's request body failed (aborted or malformed framing).
    #[error("client body failed")]
    ClientBody(#[source] BoxError),
    /// The store reported success for an SSE-C write without confirming the key.
    #[error("store did not confirm SSE-C for {0}")]
    Unconfirmed(&'static str),
}

impl ProxyError {
    /// The S3 error the client receives.
    pub fn to_s3(&self) -> S3Error {
        match self {
            Self::Rejected(e) => e.clone(),
            Self::Unreachable(_) => S3Error::new(
                S3ErrorCode::ServiceUnavailable,
                "The object store is unreachable. Please retry.",
            ),
            Self::BadGateway(_) => S3Error::new(
                S3ErrorCode::BadGateway,
                "The object store did not return a valid response.",
            ),
            Self::UpstreamTimeout => S3Error::new(
                S3ErrorCode::GatewayTimeout,
                "The object store did not respond in time.",
            ),
            Self::ClientTimeout => S3Error::new(
                S3ErrorCode::RequestTimeout,
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
            ),
            Self::ClientBody(_) => S3Error::new(
                S3ErrorCode::IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ),
            Self::Unconfirmed(_) => S3Error::new(
                S3ErrorCode::BadGateway,
                "The object store did not confirm that it encrypted the data with the customer-provided key. Treat the write as failed.",
            ),
        }
    }

    /// Bounded outcome label for logs and metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Rejected(_) => "rejected",
            Self::Unreachable(_) => "store_unreachable",
            Self::BadGateway(_) => "store_failed",
            Self::UpstreamTimeout => "store_timeout",
            Self::ClientTimeout => "client_timeout",
            Self::ClientBody(_) => "client_aborted",
            Self::Unconfirmed(_) => "store_unconfirmed",
        }
    }
}

/// Renders an error chain on one line (`a: b: c`) for logs. Transport errors carry no
/// request data, so this never prints a header value.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}
