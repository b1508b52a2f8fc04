//! ListBuckets answers cut down to what a client may see (AWS API reference,
//! "ListBuckets": `ListAllMyBucketsResult`, `Buckets/Bucket/Name`): every `<Bucket>`
//! element whose name the client's scope does not allow is removed, and the
//! `<ContinuationToken>` (a store's token can spell the next bucket's name: SeaweedFS's
//! is its base64); every other byte of the document is kept as the store sent it. A
//! document that cannot be read with certainty is refused whole: nothing the filter did
//! not understand reaches the client.

use std::ops::Range;

use quick_xml::Reader;
use quick_xml::escape::unescape;
use quick_xml::events::Event;

/// The root element of a ListBuckets answer.
const ROOT: &str = "ListAllMyBucketsResult";
/// One bucket of the list.
const BUCKET: &str = "Bucket";
/// The token to the next page, a direct child of [`ROOT`].
const TOKEN: &str = "ContinuationToken";
/// A bucket's name, a direct child of [`BUCKET`].
const NAME: &str = "Name";

/// Why a ListBuckets answer could not be filtered. Names no bucket: the answer is the
/// store's, and the error is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the store's ListBuckets answer cannot be filtered: {0}")]
pub struct Malformed(&'static str);

/// `xml` without its `<ContinuationToken>` and the `<Bucket>` elements whose `<Name>`
/// (entities resolved) `allows` refuses. Any `<Bucket>` element counts, wherever it is,
/// must have exactly one `<Name>` of text and no `<Bucket>` inside; the document must be
/// one `ListAllMyBucketsResult` element, whole.
pub fn filter(xml: &[u8], allows: impl Fn(&str) -> bool) -> Result<Vec<u8>, Malformed> {
    let cut = cut_ranges(xml, allows)?;
    let removed: usize = cut.iter().map(ExactSizeIterator::len).sum();
    let mut out = Vec::with_capacity(xml.len() - removed);
    let mut at = 0;
    for range in cut {
        out.extend_from_slice(&xml[at..range.start]);
        at = range.end;
    }
    out.extend_from_slice(&xml[at..]);
    Ok(out)
}

/// A `<Bucket>` element being read: where it starts, how deep, its name so far.
struct Open {
    start: usize,
    depth: usize,
    name: Option<String>,
    /// Inside its `<Name>`.
    in_name: bool,
}

/// The reading of one document: how deep, whether the root was seen, the bucket
/// being read, and the ranges to cut.
#[derive(Default)]
struct Scan {
    depth: usize,
    root_seen: bool,
    open: Option<Open>,
    /// Where a `<ContinuationToken>` being read starts.
    token: Option<usize>,
    cut: Vec<Range<usize>>,
}

/// The byte ranges of the `<ContinuationToken>` and of the `<Bucket>` elements `allows`
/// refuses, in document order.
fn cut_ranges(xml: &[u8], allows: impl Fn(&str) -> bool) -> Result<Vec<Range<usize>>, Malformed> {
    let mut reader = Reader::from_reader(xml);
    let mut scan = Scan::default();
    loop {
        let start = offset(&reader)?;
        let event = reader
            .read_event()
            .map_err(|_| Malformed("not well-formed XML"))?;
        match event {
            Event::Start(e) => scan.start(e.local_name().as_ref(), start)?,
            Event::Empty(e) => scan.empty(e.local_name().as_ref(), start..offset(&reader)?)?,
            Event::End(_) => scan.end(offset(&reader)?, &allows)?,
            Event::Text(t) => scan.text(&t, true)?,
            Event::GeneralRef(r) => scan.text(&format!("&{};", &*r), true)?,
            Event::CData(c) => scan.text(&c, false)?,
            // A document type could declare entities the filter would read differently
            // from the client's parser; S3 never sends one.
            Event::DocType(_) => return Err(Malformed("a document type declaration")),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof if scan.root_seen && scan.depth == 0 => return Ok(scan.cut),
            Event::Eof => return Err(Malformed("the document ends early")),
        }
    }
}

impl Scan {
    /// An element `name` opens at byte `start`.
    fn start(&mut self, name: &str, start: usize) -> Result<(), Malformed> {
        if self.depth == 0 {
            if self.root_seen || name != ROOT {
                return Err(Malformed("not one ListAllMyBucketsResult element"));
            }
            self.root_seen = true;
        }
        self.depth += 1;
        if self.depth == 2 && name == TOKEN {
            self.token = Some(start);
        }
        match self.open.as_mut() {
            None if name == BUCKET => {
                self.open = Some(Open {
                    start,
                    depth: self.depth,
                    name: None,
                    in_name: false,
                });
            }
            Some(b) if b.in_name => return Err(Malformed("a bucket name holds elements")),
            Some(_) if name == BUCKET => return Err(Malformed("a bucket inside a bucket")),
            Some(b) if self.depth == b.depth + 1 && name == NAME => {
                set_name(b)?;
                b.in_name = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// An empty element `<name/>`, the bytes `range`.
    fn empty(&mut self, name: &str, range: Range<usize>) -> Result<(), Malformed> {
        if self.depth == 0 {
            return Err(Malformed("not one ListAllMyBucketsResult element"));
        }
        if self.depth == 1 && name == TOKEN {
            self.cut.push(range);
            return Ok(());
        }
        match self.open.as_mut() {
            None if name == BUCKET => Err(Malformed("a bucket has no name")),
            Some(b) if b.in_name => Err(Malformed("a bucket name holds elements")),
            Some(_) if name == BUCKET => Err(Malformed("a bucket inside a bucket")),
            Some(b) if self.depth == b.depth && name == NAME => set_name(b),
            _ => Ok(()),
        }
    }

    /// The innermost element closes; its last byte is before `end`.
    fn end(&mut self, end: usize, allows: &impl Fn(&str) -> bool) -> Result<(), Malformed> {
        let depth = self.depth;
        self.depth = depth.saturating_sub(1);
        if depth == 2
            && let Some(start) = self.token.take()
        {
            self.cut.push(start..end);
            return Ok(());
        }
        let Some(b) = self.open.as_mut() else {
            return Ok(());
        };
        if b.in_name && depth == b.depth + 1 {
            b.in_name = false;
        }
        if b.depth != depth {
            return Ok(());
        }
        let Some(Open { start, name, .. }) = self.open.take() else {
            return Ok(());
        };
        let name = name.ok_or(Malformed("a bucket has no name"))?;
        if !allows(&name) {
            self.cut.push(start..end);
        }
        Ok(())
    }

    /// Character data: `escaped` text (entities to resolve) or a CDATA section.
    fn text(&mut self, text: &str, escaped: bool) -> Result<(), Malformed> {
        match self.open.as_mut() {
            Some(b) if b.in_name => {
                let text = match escaped {
                    true => {
                        unescape(text).map_err(|_| Malformed("a bucket name cannot be read"))?
                    }
                    false => text.into(),
                };
                if let Some(name) = b.name.as_mut() {
                    name.push_str(&text);
                }
                Ok(())
            }
            _ if self.depth == 0 && !text.trim_ascii().is_empty() => {
                Err(Malformed("text outside the document element"))
            }
            _ => Ok(()),
        }
    }
}

/// Starts the name of `bucket`: one only.
fn set_name(bucket: &mut Open) -> Result<(), Malformed> {
    if bucket.name.is_some() {
        return Err(Malformed("a bucket has more than one name"));
    }
    bucket.name = Some(String::new());
    Ok(())
}

/// Where the reader is in the document.
fn offset(reader: &Reader<&[u8]>) -> Result<usize, Malformed> {
    usize::try_from(reader.buffer_position()).map_err(|_| Malformed("the document is too large"))
}

#[cfg(test)]
#[path = "list_buckets_tests.rs"]
mod tests;
