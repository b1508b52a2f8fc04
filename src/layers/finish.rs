//! The future every checking layer returns: an early refusal, or the inner service's
//! future followed by the layer's own look at the result — synchronous in the common
//! case, a boxed future only when the layer must read a body first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;

use crate::error::ProxyError;

/// What a layer does with the inner service's result.
pub enum Next<T> {
    /// The answer, decided now.
    Done(Result<T, ProxyError>),
    /// The answer needs more work (reading a small body, say).
    Later(BoxFuture<'static, Result<T, ProxyError>>),
}

/// A layer's function over the inner result, with what it kept from the request.
pub type Finisher<C, I, T> = fn(C, Result<I, ProxyError>) -> Next<T>;

pin_project! {
    /// See the module docs.
    #[project = FinishProj]
    pub enum Finish<F, C, I, T> {
        /// Refused before the inner service was called.
        Refused { error: Option<ProxyError> },
        /// Waiting for the inner service.
        Waiting {
            #[pin]
            inner: F,
            ctx: Option<C>,
            finish: Finisher<C, I, T>,
        },
        /// The layer's own work on the answer.
        Later { fut: BoxFuture<'static, Result<T, ProxyError>> },
    }
}

impl<F, C, I, T> Finish<F, C, I, T> {
    /// Answers with `error` without calling the inner service.
    pub fn refuse(error: impl Into<ProxyError>) -> Self {
        Self::Refused {
            error: Some(error.into()),
        }
    }

    /// Answers with the result of `fut` (work that must read a body first).
    pub fn later(fut: BoxFuture<'static, Result<T, ProxyError>>) -> Self {
        Self::Later { fut }
    }

    /// Waits for `inner`, then hands its result and `ctx` to `finish`.
    pub fn new(inner: F, ctx: C, finish: Finisher<C, I, T>) -> Self {
        Self::Waiting {
            inner,
            ctx: Some(ctx),
            finish,
        }
    }
}

impl<F, C, I, T> Future for Finish<F, C, I, T>
where
    F: Future<Output = Result<I, ProxyError>>,
{
    type Output = Result<T, ProxyError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let next = match self.as_mut().project() {
            FinishProj::Refused { error } => {
                return Poll::Ready(Err(error.take().unwrap_or_else(polled_again)));
            }
            FinishProj::Later { fut } => return fut.as_mut().poll(cx),
            FinishProj::Waiting { inner, ctx, finish } => {
                let result = ready!(inner.poll(cx));
                match ctx.take() {
                    Some(ctx) => finish(ctx, result),
                    None => Next::Done(Err(polled_again())),
                }
            }
        };
        match next {
            Next::Done(result) => Poll::Ready(result),
            Next::Later(fut) => {
                self.set(Self::Later { fut });
                self.poll(cx)
            }
        }
    }
}

/// A future polled after it completed: a bug, answered as an internal error.
fn polled_again() -> ProxyError {
    crate::s3::error::S3Error::internal().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::error::S3ErrorCode;

    fn double(ctx: u32, r: Result<u32, ProxyError>) -> Next<u32> {
        Next::Done(r.map(|v| v * ctx))
    }

    fn later(ctx: u32, r: Result<u32, ProxyError>) -> Next<u32> {
        Next::Later(Box::pin(async move { r.map(|v| v + ctx) }))
    }

    #[tokio::test]
    async fn refuses_finishes_now_or_later() {
        let refused: Finish<futures_util::future::Ready<_>, u32, u32, u32> =
            Finish::refuse(crate::s3::error::S3Error::internal());
        let Err(ProxyError::Rejected(e)) = refused.await else {
            panic!("not refused");
        };
        assert_eq!(e.code, S3ErrorCode::InternalError);
        let now = Finish::new(futures_util::future::ready(Ok(21)), 2, double);
        assert_eq!(now.await.ok(), Some(42));
        let then = Finish::new(futures_util::future::ready(Ok(40)), 2, later);
        assert_eq!(then.await.ok(), Some(42));
    }
}
