//! A body a layer has read the start of: the bytes read, then the unread rest. Layers
//! that must look at a small store answer (an upload id, an error to translate) read at
//! most a bound, and pass anything larger through unchanged.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use pin_project_lite::pin_project;

use crate::layers::stream::plus;

pin_project! {
    /// `prefix`, then the rest of `inner` (unless it was read to its end).
    pub struct Buffered<B> {
        prefix: Option<Bytes>,
        #[pin]
        inner: B,
        inner_done: bool,
    }
}

impl<B> Buffered<B> {
    /// `inner`, untouched.
    pub fn new(inner: B) -> Self {
        Self {
            prefix: None,
            inner,
            inner_done: false,
        }
    }
}

/// What [`read_bounded`] read.
pub struct Read<B> {
    /// The bytes read: the whole body when [`Read::whole`].
    pub bytes: Bytes,
    /// Whether the body ended within the bound.
    pub whole: bool,
    rest: B,
}

impl<B> Read<B> {
    /// The body again: the bytes read, then whatever was not.
    pub fn into_body(self) -> Buffered<B> {
        Buffered {
            prefix: (!self.bytes.is_empty()).then_some(self.bytes),
            inner: self.rest,
            inner_done: self.whole,
        }
    }

    /// `bytes` in place of the body: what was read and anything that was not.
    pub fn replace(self, bytes: Bytes) -> Buffered<B> {
        Buffered {
            prefix: (!bytes.is_empty()).then_some(bytes),
            inner: self.rest,
            inner_done: true,
        }
    }

    /// `bytes` in place of what was read, then whatever was not.
    pub fn replace_read(self, bytes: Bytes) -> Buffered<B> {
        Buffered {
            prefix: (!bytes.is_empty()).then_some(bytes),
            inner: self.rest,
            inner_done: self.whole,
        }
    }
}

/// Reads `body` until it ends or more than `limit` bytes were read.
pub async fn read_bounded<B>(mut body: B, limit: usize) -> Result<Read<B>, B::Error>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut buf = BytesMut::new();
    loop {
        match body.frame().await {
            None => break,
            Some(frame) => {
                if let Some(data) = frame?.data_ref() {
                    buf.extend_from_slice(data);
                }
                if buf.len() > limit {
                    return Ok(Read {
                        bytes: buf.freeze(),
                        whole: false,
                        rest: body,
                    });
                }
            }
        }
    }
    Ok(Read {
        bytes: buf.freeze(),
        whole: true,
        rest: body,
    })
}

impl<B: Body<Data = Bytes>> Body for Buffered<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if *this.inner_done {
            return Poll::Ready(None);
        }
        this.inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && (self.inner_done || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let read = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        if self.inner_done {
            return SizeHint::with_exact(read);
        }
        plus(self.inner.size_hint(), read)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{Full, StreamBody};

    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Body<Data = Bytes, Error = std::io::Error> + Unpin {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn small_bodies_are_read_whole_and_given_back() {
        let read = read_bounded(chunks(&["ab", "cd"]), 8).await.unwrap();
        assert!(read.whole);
        assert_eq!(read.bytes, "abcd");
        let body = read.into_body();
        assert_eq!(body.size_hint().exact(), Some(4));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcd");
    }

    #[tokio::test]
    async fn large_bodies_pass_through_unchanged() {
        let read = read_bounded(chunks(&["abc", "def", "ghi"]), 4)
            .await
            .unwrap();
        assert!(!read.whole);
        assert_eq!(read.bytes, "abcdef");
        assert_eq!(
            read.into_body().collect().await.unwrap().to_bytes(),
            "abcdefghi"
        );
        let untouched = Buffered::new(Full::new(Bytes::from_static(b"x")));
        assert_eq!(untouched.size_hint().exact(), Some(1));
    }

    #[tokio::test]
    async fn a_replaced_body_is_the_replacement_only() {
        let read = read_bounded(chunks(&["abc", "def", "ghi"]), 4)
            .await
            .unwrap();
        let body = read.replace(Bytes::from_static(b"xy"));
        assert_eq!(body.size_hint().exact(), Some(2));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "xy");
        let read = read_bounded(chunks(&["abc"]), 4).await.unwrap();
        let body = read.replace(Bytes::new());
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn a_replaced_start_is_followed_by_the_rest() {
        let read = read_bounded(chunks(&["abc", "def", "ghi"]), 4)
            .await
            .unwrap();
        assert!(!read.whole);
        let body = read.replace_read(Bytes::from_static(b"xy"));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "xyghi");
        let read = read_bounded(chunks(&["abc"]), 4).await.unwrap();
        let body = read.replace_read(Bytes::from_static(b"z"));
        assert_eq!(body.size_hint().exact(), Some(1));
    }

    #[tokio::test]
    async fn a_failing_body_fails_the_read() {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
            Ok(Frame::data(Bytes::from_static(b"a"))),
            Err(std::io::Error::other("cut")),
        ];
        let body = StreamBody::new(futures_util::stream::iter(frames));
        assert!(read_bounded(body, 8).await.is_err());
    }
}
