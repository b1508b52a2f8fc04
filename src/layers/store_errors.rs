//! Store errors in AWS's words: where a store answers an SSE-C read with an error that
//! means what AWS says differently (`s3::store::Store::translate`), the client gets
//! AWS's answer. Only small error bodies are read; anything else passes unchanged.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use tower::{Layer, Service};

use crate::error::{BoxError, ProxyError};
use crate::layers::buffered::{Buffered, read_bounded};
use crate::layers::finish::{Finish, Next};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::ssec::Checked;
use crate::s3::store::{LiveStore, Store};
use crate::s3::xml::first_element;

/// Largest store error read whole.
const MAX_ERROR: usize = 64 * 1024;

/// Adds [`StoreErrors`].
#[derive(Clone, Debug)]
pub struct StoreErrorsLayer {
    store: Arc<LiveStore>,
}

impl StoreErrorsLayer {
    /// A layer translating the errors of `store`.
    pub fn new(store: Arc<LiveStore>) -> Self {
        Self { store }
    }
}

impl<S> Layer<S> for StoreErrorsLayer {
    type Service = StoreErrors<S>;
    fn layer(&self, inner: S) -> StoreErrors<S> {
        StoreErrors {
            inner,
            store: Arc::clone(&self.store),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct StoreErrors<S> {
    inner: S,
    store: Arc<LiveStore>,
}

/// What translation needs to know about the request.
#[derive(Clone, Copy, Debug)]
pub struct Asked {
    store: Store,
    op: S3Op,
    /// Whether the request carried a key the proxy validated.
    keyed: bool,
    head: bool,
}

impl<S, B, RB> Service<Request<B>> for StoreErrors<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = ProxyError>,
    RB: Body<Data = Bytes> + Send + Unpin + 'static,
    RB::Error: Into<BoxError>,
{
    type Response = Response<Buffered<RB>>;
    type Error = ProxyError;
    type Future = Finish<S::Future, Option<Asked>, Response<RB>, Response<Buffered<RB>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let store = self.store.get();
        let asked = req
            .extensions()
            .get::<S3Request>()
            .filter(|s3| store.translates(s3.op))
            .map(|s3| Asked {
                store,
                op: s3.op,
                keyed: req
                    .extensions()
                    .get::<Checked>()
                    .is_some_and(|c| c.destination.is_some()),
                head: req.method() == Method::HEAD,
            });
        Finish::new(self.inner.call(req), asked, finish)
    }
}

fn finish<RB>(
    asked: Option<Asked>,
    result: Result<Response<RB>, ProxyError>,
) -> Next<Response<Buffered<RB>>>
where
    RB: Body<Data = Bytes> + Send + Unpin + 'static,
    RB::Error: Into<BoxError>,
{
    let (asked, response) = match (asked, result) {
        (Some(asked), Ok(response)) if response.status().is_client_error() => (asked, response),
        (_, other) => return Next::Done(other.map(|r| r.map(Buffered::new))),
    };
    let status = response.status().as_u16();
    if asked.head {
        return Next::Done(
            match asked
                .store
                .translate(asked.op, asked.keyed, status, None, None)
            {
                Some(e) => Err(ProxyError::Translated(e)),
                None => Ok(response.map(Buffered::new)),
            },
        );
    }
    Next::Later(Box::pin(async move {
        let (parts, body) = response.into_parts();
        let read = read_bounded(body, MAX_ERROR)
            .await
            .map_err(|e| ProxyError::BadGateway(e.into()))?;
        if read.whole {
            let code = first_element(&read.bytes, "Code");
            let message = first_element(&read.bytes, "Message");
            let translated = asked.store.translate(
                asked.op,
                asked.keyed,
                status,
                code.as_deref(),
                message.as_deref(),
            );
            if let Some(e) = translated {
                return Err(ProxyError::Translated(e));
            }
        }
        Ok(Response::from_parts(parts, read.into_body()))
    }))
}

#[cfg(test)]
#[path = "store_errors_tests.rs"]
mod tests;
