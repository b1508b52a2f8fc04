//! What the bodies that check or count a stream as it passes share: reading a polled
//! frame, and adding bytes to a size hint.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// What a polled frame carries for a layer that watches the body: its data (empty for
/// trailers and for the end), and whether the body ended with it; `None` for an error,
/// which the watcher leaves alone. The connection stops polling once `is_end_stream`
/// says so, so the end is noticed with the last frame rather than waiting for a `None`
/// that may never be asked for.
pub fn seen<'a, B: Body<Data = Bytes>>(
    polled: &'a Option<Result<Frame<Bytes>, B::Error>>,
    inner: &B,
) -> Option<(&'a [u8], bool)> {
    match polled {
        None => Some((&[], true)),
        Some(Ok(frame)) => Some((
            frame.data_ref().map_or(&[][..], |d| &d[..]),
            inner.is_end_stream(),
        )),
        Some(Err(_)) => None,
    }
}

/// `hint` plus `extra` bytes.
pub fn plus(hint: SizeHint, extra: u64) -> SizeHint {
    let mut out = SizeHint::new();
    out.set_lower(hint.lower().saturating_add(extra));
    if let Some(upper) = hint.upper() {
        out.set_upper(upper.saturating_add(extra));
    }
    out
}
