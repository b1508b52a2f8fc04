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
    /// The store refused the request; carries its answer in AWS's words.
    #[error("store error: {0}")]
    Translated(S3Error),
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
    #[error("store did not confirm SSE-C for {op}")]
    Unconfirmed {
        /// The operation.
        op: &'static str,
        /// `upstream.store` as it applied.
        store: &'static str,
        /// The echo that was missing or wrong.
        missing: &'static str,
    },
}

impl ProxyError {
    /// The S3 error the client receives.
    pub fn to_s3(&self) -> S3Error {
        match self {
            Self::Rejected(e) | Self::Translated(e) => e.clone(),
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
            Self::Unconfirmed { .. } => S3Error::new(
                S3ErrorCode::BadGateway,
                "The object store did not confirm that it encrypted the data with the customer-provided key. Treat the write as failed.",
            ),
        }
    }

    /// The `E` that made the request body fail, when that is why the exchange failed:
    /// how a layer that wrapped the body recognises its own refusal.
    pub fn body_failure<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Self::ClientBody(e) | Self::BadGateway(e) => find_source::<E>(&**e),
            _ => None,
        }
    }

    /// How the request ended, for logs and metrics.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Rejected(_) => Outcome::Rejected,
            Self::Translated(_) => Outcome::StoreError,
            Self::Unreachable(_) => Outcome::StoreUnreachable,
            Self::BadGateway(_) => Outcome::StoreFailed,
            Self::UpstreamTimeout => Outcome::StoreTimeout,
            Self::ClientTimeout => Outcome::ClientTimeout,
            Self::ClientBody(_) => Outcome::ClientAborted,
            Self::Unconfirmed { .. } => Outcome::StoreUnconfirmed,
        }
    }
}

/// How a request ended: the bounded `outcome` label of metrics and the access line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The store's answer, a success or a redirect, went out whole.
    Ok,
    /// The store's error answer went out (in AWS's words where the store differs).
    StoreError,
    /// The response body was cut short.
    Incomplete,
    /// The proxy refused the request.
    Rejected,
    /// No connection to the store.
    StoreUnreachable,
    /// The store broke the exchange.
    StoreFailed,
    /// The store made no progress within the idle timeout.
    StoreTimeout,
    /// The client stopped sending its body.
    ClientTimeout,
    /// The client's body failed.
    ClientAborted,
    /// The store did not confirm an SSE-C write.
    StoreUnconfirmed,
}

impl Outcome {
    /// The label as exported.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::StoreError => "store_error",
            Self::Incomplete => "incomplete",
            Self::Rejected => "rejected",
            Self::StoreUnreachable => "store_unreachable",
            Self::StoreFailed => "store_failed",
            Self::StoreTimeout => "store_timeout",
            Self::ClientTimeout => "client_timeout",
            Self::ClientAborted => "client_aborted",
            Self::StoreUnconfirmed => "store_unconfirmed",
        }
    }
}

/// Whether an error of type `E` is anywhere in `err`'s source chain; a layer uses it
/// to recognise the failure of a body it wrapped once the leaf reports it.
pub fn find_source<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    sources(err).find_map(|e| e.downcast_ref::<E>())
}

/// `err` and every error below it.
pub fn sources<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| e.source())
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
