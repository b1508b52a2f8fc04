//! POST Object (browser form uploads): reads the form fields before the file part and
//! leaves them ([`form::Fields`]) for the SSE-C layer to check like the headers of a
//! PutObject; forwards the fields read, then streams the rest, watched until the
//! closing delimiter so no part after the file reaches the store complete. Every other
//! request passes through untouched. The form rules live in `s3::form`.
//! In resign mode (the auth layer's `FormAuthPending`) the form's signature and policy
//! are verified here and its start is rewritten for the store (`resign`); the file's
//! length is checked against `content-length-range` as it streams.

mod resign;

pub use resign::FormKey;

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use pin_project_lite::pin_project;
use tower::{Layer, Service, ServiceExt as _};

use crate::error::{BoxError, ProxyError};
use crate::forwarding::ConnInfo;
use crate::layers::auth::FormAuthPending;
use crate::layers::finish::{Finish, Next};
use crate::layers::inject::Injected;
use crate::layers::stream::{plus, seen};
use crate::s3::error::S3Error;
use crate::s3::form::policy::{LengthRange, PolicyError};
use crate::s3::form::{self, Ambiguity, Parsed, Refusal, Tail};
use crate::s3::headers::{COPY_SOURCE, SSE};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::ssec::{self, Groups};

/// Adds [`PostObject`].
#[derive(Clone, Copy, Debug)]
pub struct PostObjectLayer {
    form_timeout: Duration,
}

impl PostObjectLayer {
    /// A layer giving clients `form_timeout` to send each piece of the form fields.
    pub fn new(form_timeout: Duration) -> Self {
        Self { form_timeout }
    }
}

impl<S> Layer<S> for PostObjectLayer {
    type Service = PostObject<S>;
    fn layer(&self, inner: S) -> PostObject<S> {
        PostObject {
            inner,
            form_timeout: self.form_timeout,
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct PostObject<S> {
    inner: S,
    form_timeout: Duration,
}

impl<S, B, RB> Service<Request<B>> for PostObject<S>
where
    S: Service<Request<FormBody<B>>, Response = Response<RB>, Error = ProxyError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = ProxyError;
    type Future = Finish<S::Future, (), Response<RB>, Response<RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let post = req
            .extensions()
            .get::<S3Request>()
            .is_some_and(|s3| s3.op == S3Op::PostObject);
        if !post {
            return Finish::new(self.inner.call(req.map(FormBody::new)), (), pass);
        }
        // The fields must be read before the inner service is called: take the ready
        // service, leave a clone.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Finish::later(Box::pin(post_object(inner, self.form_timeout, req)))
    }
}

fn pass<T>((): (), result: Result<T, ProxyError>) -> Next<T> {
    Next::Done(result)
}

/// Reads and checks the fields, forwards, and settles the answer against the watch.
async fn post_object<S, B, RB>(
    inner: S,
    form_timeout: Duration,
    req: Request<B>,
) -> Result<Response<RB>, ProxyError>
where
    S: Service<Request<FormBody<B>>, Response = Response<RB>, Error = ProxyError>,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let tls = req.extensions().get::<ConnInfo>().is_some_and(|c| c.tls);
    let boundary = form_boundary(req.headers(), tls)?;
    let (mut parts, mut body) = req.into_parts();
    let mut read = BytesMut::new();
    let fields = loop {
        match form::parse(&read, &boundary) {
            Parsed::Fields(fields) => break fields,
            Parsed::Malformed(why) => return Err(Refusal::Malformed(why).to_s3().into()),
            Parsed::Ambiguous(a) => return Err(a.to_s3().into()),
            Parsed::Incomplete if read.len() > form::MAX_PREFIX => {
                let why = "form fields before the file are too large";
                return Err(Refusal::Malformed(why).to_s3().into());
            }
            Parsed::Incomplete => {}
        }
        match tokio::time::timeout(form_timeout, body.frame()).await {
            Err(_) => return Err(ProxyError::ClientTimeout),
            Ok(None) => return Err(Refusal::Malformed("the body ended early").to_s3().into()),
            Ok(Some(Err(e))) => return Err(ProxyError::ClientBody(e.into())),
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    read.extend_from_slice(data);
                }
            }
        }
    };
    let read = read.freeze();
    form::check_values(&fields)?;
    let (prefix, range, injected) = match parts.extensions.remove::<FormAuthPending>() {
        Some(FormAuthPending(credentials)) => {
            let form = resign::Form {
                fields: &fields,
                read: &read,
                boundary: &boundary,
            };
            resign::for_store(&credentials, &form, &mut parts, SystemTime::now())?
        }
        None => {
            form::check_required(&fields)?;
            (read.clone(), LengthRange::ANY, None)
        }
    };
    let watch = watch_file(&boundary, &fields, &read, range, body.is_end_stream())?;
    // The SSE-C checks read the fields the store gets: the client's, or with an
    // injected key the store's.
    match injected {
        Some(store_fields) => {
            parts.extensions.insert(store_fields);
            parts.extensions.insert(Injected {
                destination: true,
                source: false,
            });
        }
        None => {
            parts.extensions.insert(fields);
        }
    }
    let body = FormBody {
        prefix: (!prefix.is_empty()).then_some(prefix),
        inner: body,
        watch: watch.clone(),
    };
    let result = inner.oneshot(Request::from_parts(parts, body)).await;
    settle(watch, result)
}

/// The body check failed the upload, or the store answered success before the closing
/// delimiter went by: either way the store may have read a form this proxy did not
/// check whole, so it is not reported as a success.
fn settle<RB>(
    watch: Option<FormWatch>,
    result: Result<Response<RB>, ProxyError>,
) -> Result<Response<RB>, ProxyError> {
    let Some(watch) = watch else {
        return result;
    };
    if let Some(e) = watch.refused() {
        return Err(e.into());
    }
    let response = result?;
    if response.status().is_success() && !watch.is_closed() {
        return Err(Ambiguity::Unterminated.to_s3().into());
    }
    Ok(response)
}

/// The form's boundary, after the header rules of a form upload: SSE-C headers on the
/// plain listener are V0; SSE-C, SSE and copy-source headers are refused (a store may
/// read them instead of the fields); the Content-Type (a repeat never gets here).
fn form_boundary(headers: &HeaderMap, tls: bool) -> Result<String, S3Error> {
    let groups = Groups::from_headers(headers);
    ssec::check_secure(
        groups.destination.is_present() || groups.copy_source.is_present(),
        tls,
    )?;
    let forbidden = |name: &http::HeaderName| {
        let name = name.as_str();
        name.starts_with(SSE.as_str()) || name.starts_with(COPY_SOURCE.as_str())
    };
    if headers.keys().any(forbidden) {
        return Err(Ambiguity::Headers.to_s3());
    }
    // A repeated Content-Type never gets here: the classify layer refuses it
    // (`s3::strict::check_headers`).
    let content_type = headers
        .get(CONTENT_TYPE)
        .ok_or_else(|| Refusal::Malformed("no Content-Type").to_s3())?
        .to_str()
        .map_err(|_| Refusal::Malformed("a Content-Type that is not ASCII").to_s3())?;
    form::boundary(content_type).map_err(Refusal::to_s3)
}

/// Starts the check of the file part's content (from its first byte, already in
/// `read`) up to the closing delimiter. `None` when the form had no file part.
fn watch_file(
    boundary: &str,
    fields: &form::Fields,
    read: &[u8],
    range: LengthRange,
    ended: bool,
) -> Result<Option<FormWatch>, S3Error> {
    let Some(at) = fields.file_at() else {
        return Ok(None);
    };
    let watch = FormWatch(Arc::new(Mutex::new(Watch {
        tail: Tail::new(boundary),
        range,
        policy: None,
    })));
    if watch
        .feed(read.get(at..).unwrap_or_default(), ended)
        .is_err()
    {
        return Err(watch.refused().unwrap_or_else(S3Error::internal));
    }
    Ok(Some(watch))
}

/// The rest of a form after the file part starts, checked as it streams ([`Tail`]),
/// and the file's length against the policy's range; shared by the body and the answer
/// that reads the verdict.
#[derive(Clone, Debug)]
struct FormWatch(Arc<Mutex<Watch>>);

#[derive(Debug)]
struct Watch {
    tail: Tail,
    range: LengthRange,
    /// The file's length was refused.
    policy: Option<PolicyError>,
}

impl Watch {
    fn feed(&mut self, data: &[u8], ended: bool) -> Result<(), BoxError> {
        if self.policy.is_some() {
            return Err(LENGTH_REFUSED.into());
        }
        self.tail.feed(data)?;
        if ended {
            self.tail.finish()?;
        }
        let length = match self.tail.file_len() {
            Some(length) => self.range.check(length),
            None => self.range.check_running(self.tail.file_len_at_least()),
        };
        if let Err(e) = length {
            self.policy = Some(e);
            return Err(LENGTH_REFUSED.into());
        }
        Ok(())
    }
}

/// The body error of a file outside `content-length-range` (the answer is the watch's).
const LENGTH_REFUSED: &str = "the file's length is outside the policy's content-length-range";

impl FormWatch {
    fn watch(&self) -> MutexGuard<'_, Watch> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks the next bytes; at the end of the body the form must be closed.
    fn feed(&self, data: &[u8], ended: bool) -> Result<(), BoxError> {
        self.watch().feed(data, ended)
    }

    fn is_closed(&self) -> bool {
        self.watch().tail.is_closed()
    }

    /// Why the form was refused, if it was: the file's length first (the frame that
    /// ended it was held back), else an ambiguity.
    fn refused(&self) -> Option<S3Error> {
        let watch = self.watch();
        if let Some(e) = &watch.policy {
            return Some(e.to_s3());
        }
        watch.tail.refused().map(Ambiguity::to_s3)
    }
}

pin_project! {
    /// The client's body: for a POST Object form, the fields already read, then the
    /// rest, checked as it streams; bytes that would complete a form with a part after
    /// the file, or end it without its closing delimiter, fail with an [`Ambiguity`]
    /// instead of being forwarded. Any other body passes through.
    pub struct FormBody<B> {
        prefix: Option<Bytes>,
        #[pin]
        inner: B,
        watch: Option<FormWatch>,
    }
}

impl<B> FormBody<B> {
    fn new(inner: B) -> Self {
        Self {
            prefix: None,
            inner,
            watch: None,
        }
    }
}

impl<B> Body for FormBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        if let (Some(watch), Some((data, ended))) =
            (this.watch.as_ref(), seen(&polled, &*this.inner))
        {
            // A refused frame is replaced: the store must not get the last byte.
            watch.feed(data, ended)?;
        }
        Poll::Ready(polled.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        plus(
            self.inner.size_hint(),
            self.prefix.as_ref().map_or(0, |p| p.len() as u64),
        )
    }
}

#[cfg(test)]
#[path = "post_object_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "post_object_resign_tests.rs"]
mod resign_tests;
