//! Lingering close (RFC 9112 §9.6, "Tear-down": a server "SHOULD NOT close a connection
//! until it has received [the client's] … or until a reasonable time has passed"): when
//! the proxy answers before it has read a request's body (a refusal on the head, a body
//! refused mid-stream) and closes the connection, the kernel answers the body bytes still
//! arriving with a TCP reset, and the reset can destroy the answer before the client reads
//! it — the client sees "broken pipe" instead of S3's error. So the transport's shutdown
//! first closes the write side (TLS `close_notify`, then FIN), then reads and discards what
//! the client still sends, until it closes too or a bound is reached, as nginx's
//! `lingering_close` does. hyper has no such option, so the stream does it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// How long a closing connection keeps reading what the client still sends.
pub const LINGER_TIME: Duration = Duration::from_secs(2);

/// How many bytes a closing connection reads and discards at most.
pub const LINGER_BYTES: u64 = 16 << 20;

/// Size of the buffer discarded bytes are read into.
const SCRATCH: usize = 16 << 10;

pin_project! {
    /// A transport whose shutdown lingers; reads and writes pass through.
    pub struct Linger<T> {
        #[pin]
        inner: T,
        draining: Option<Drain>,
    }
}

/// What is left of the lingering.
struct Drain {
    deadline: Pin<Box<Sleep>>,
    left: u64,
}

impl<T> Linger<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            draining: None,
        }
    }
}

impl<T: AsyncRead> AsyncRead for Linger<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite> AsyncWrite for Linger<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    /// Closes the write side, then reads and discards until the client closes, an error,
    /// [`LINGER_TIME`] or [`LINGER_BYTES`]; the socket closes when the stream drops.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.project();
        if this.draining.is_none() {
            ready!(this.inner.as_mut().poll_shutdown(cx))?;
            *this.draining = Some(Drain {
                deadline: Box::pin(tokio::time::sleep(LINGER_TIME)),
                left: LINGER_BYTES,
            });
        }
        let Some(drain) = this.draining.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; SCRATCH];
        loop {
            if drain.deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(this.inner.as_mut().poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => {
                    drain.left = drain.left.saturating_sub(buf.filled().len() as u64);
                    if drain.left == 0 {
                        return Poll::Ready(Ok(()));
                    }
                }
                // The client closed, or the connection failed: nothing left to wait for.
                Ok(()) | Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
#[path = "linger_tests.rs"]
mod tests;
