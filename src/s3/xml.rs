//! XML in S3 bodies: a streaming `<ETag>` rewriter for responses, a collector for the
//! part list of CompleteMultipartUpload requests, and single-element extraction from
//! small bounded bodies.
//!
//! The streaming scanner is hand-written because it must pass every other byte through
//! untouched, chunk by chunk, with a small fixed carry: re-serialising with an XML
//! writer would change bytes the proxy has no business changing. Extraction from
//! complete small documents uses quick-xml.

use quick_xml::Reader;
use quick_xml::events::Event;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::etag::{MultipartEtag, canonical_xml};
use super::opaque::{Direction, ObjectEtags, OpaqueEtags};

/// Longest `<ETag>` content the scanner holds; longer elements pass through unchanged.
pub const MAX_ELEMENT: usize = 1024;
/// Longest `<Key>` content the scanner holds: a 1,024-byte key, XML-escaped.
pub const MAX_KEY_ELEMENT: usize = 8 << 10;

/// An element the scanner finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Element {
    Etag,
    Key,
}

impl Element {
    const ALL: [Self; 2] = [Self::Etag, Self::Key];

    fn open(self) -> &'static [u8] {
        match self {
            Self::Etag => b"<ETag>",
            Self::Key => b"<Key>",
        }
    }

    fn close(self) -> &'static [u8] {
        match self {
            Self::Etag => b"</ETag>",
            Self::Key => b"</Key>",
        }
    }

    fn max(self) -> usize {
        match self {
            Self::Etag => MAX_ELEMENT,
            Self::Key => MAX_KEY_ELEMENT,
        }
    }
}

/// What the scanner hands over of an element: its content, or `None` when it was too
/// long to hold (it passes through unchanged).
type OnElement<'a> = dyn FnMut(Element, Option<&[u8]>) -> Option<Vec<u8>> + 'a;

/// Finds `<ETag>…</ETag>` elements (and, when asked, `<Key>…</Key>`) in a byte stream
/// fed in arbitrary pieces.
#[derive(Debug, Default)]
struct Scanner {
    carry: Vec<u8>,
    inside: Option<Element>,
    /// Whether `<Key>` elements are reported too.
    keys: bool,
}

impl Scanner {
    /// Feeds a piece. `on_element` gets each element's content and may return a
    /// replacement (for an `<ETag>`); when `out` is given, the (rewritten) stream is
    /// appended to it.
    fn feed(
        &mut self,
        input: &[u8],
        mut out: Option<&mut Vec<u8>>,
        on_element: &mut OnElement<'_>,
    ) {
        let owned;
        let data: &[u8] = if self.carry.is_empty() {
            input
        } else {
            self.carry.extend_from_slice(input);
            owned = std::mem::take(&mut self.carry);
            &owned
        };
        let mut emit = |bytes: &[u8]| {
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(bytes);
            }
        };
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            if let Some(element) = self.inside {
                let close = element.close();
                match find(rest, close) {
                    Some(end) if end > element.max() => {
                        // Not an element we understand, whatever the chunking: pass it on.
                        on_element(element, None);
                        emit(&rest[..end + close.len()]);
                        pos += end + close.len();
                        self.inside = None;
                    }
                    Some(end) => {
                        let content = &rest[..end];
                        match on_element(element, Some(content)) {
                            Some(replacement) => emit(&replacement),
                            None => emit(content),
                        }
                        emit(close);
                        pos += end + close.len();
                        self.inside = None;
                    }
                    None if rest.len() > element.max() + close.len() => {
                        // Not an element we understand: give up on it.
                        on_element(element, None);
                        emit(rest);
                        self.inside = None;
                        return;
                    }
                    None => {
                        self.carry = rest.to_vec();
                        return;
                    }
                }
            } else {
                match self.next_open(rest) {
                    Some((start, element)) => {
                        let open = element.open().len();
                        emit(&rest[..start + open]);
                        pos += start + open;
                        self.inside = Some(element);
                    }
                    None => {
                        // Keep a tail that could be the start of an opening tag.
                        let keep = (1..Element::Etag.open().len())
                            .rev()
                            .find(|&n| {
                                rest.len() >= n
                                    && self.elements().any(|e| rest.ends_with(&e.open()[..n]))
                            })
                            .unwrap_or(0);
                        emit(&rest[..rest.len() - keep]);
                        self.carry = rest[rest.len() - keep..].to_vec();
                        return;
                    }
                }
            }
        }
    }

    /// The elements looked for.
    fn elements(&self) -> impl Iterator<Item = Element> {
        let keys = self.keys;
        Element::ALL
            .into_iter()
            .filter(move |e| keys || *e == Element::Etag)
    }

    /// Where the first opening tag looked for starts in `rest`, and which it is.
    fn next_open(&self, rest: &[u8]) -> Option<(usize, Element)> {
        let mut from = 0;
        while let Some(at) = rest[from..].iter().position(|&b| b == b'<') {
            let start = from + at;
            if let Some(e) = self
                .elements()
                .find(|e| rest[start..].starts_with(e.open()))
            {
                return Some((start, e));
            }
            from = start + 1;
        }
        None
    }

    /// Whatever is still held (an unterminated element or a partial tag).
    fn finish(&mut self) -> Vec<u8> {
        self.inside = None;
        std::mem::take(&mut self.carry)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Largest listing body held whole to learn, from the store's own
/// `<EncodingType>url</EncodingType>`, whether its keys are percent-encoded (1,000
/// entries of 1,024-byte keys, encoded, stay under 4 MiB). Past it, entries get
/// unlinkable values.
pub const MAX_HELD_LISTING: usize = 8 << 20;

/// Bytes of listings held at once across every request; a listing that would go past
/// it is not held any further (its entries get unlinkable values).
pub const MAX_HELD_LISTINGS: usize = 64 << 20;

/// Bytes of listings held now.
static HELD: Budget = Budget::new(MAX_HELD_LISTINGS);

/// A number of bytes shared by every request holding bodies of one kind.
#[derive(Debug)]
pub struct Budget {
    held: AtomicUsize,
    max: usize,
}

impl Budget {
    /// A budget of `max` bytes.
    pub const fn new(max: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            max,
        }
    }

    /// Takes `n` bytes, if they are there.
    pub fn take(&self, n: usize) -> bool {
        let mut now = self.held.load(Ordering::Relaxed);
        loop {
            let Some(next) = now.checked_add(n).filter(|&t| t <= self.max) else {
                return false;
            };
            match self
                .held
                .compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => now = seen,
            }
        }
    }

    /// Gives back `n` bytes taken.
    pub fn give(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::Relaxed);
    }
}

/// How a listing's `<Key>` elements are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keys {
    /// XML-escaped.
    Raw,
    /// Percent-encoded, then XML-escaped (the store said `<EncodingType>url`).
    Url,
    /// Not known: every entry gets an unlinkable value.
    Unknown,
}

/// How an [`EtagRewriter`] hides values (opaque mode).
#[derive(Debug)]
enum Hiding {
    /// Every ETag of the body is the one object's.
    Object(ObjectEtags),
    /// A listing: each ETag is the object named by the `<Key>` before it.
    Listing {
        etags: Arc<OpaqueEtags>,
        bucket: String,
        keys: Keys,
        /// The object of the entry being read; `None` before a readable `<Key>`.
        current: Option<ObjectEtags>,
    },
}

impl Hiding {
    /// The ETag `value` (canonical) hidden as the object at hand's. In a listing, an
    /// ETag whose object the proxy cannot name with certainty (no readable `<Key>`
    /// before it, or keys written in a way not known) gets an unlinkable value, empty
    /// if the system has no randomness.
    fn hide(&mut self, value: &str) -> Option<String> {
        match self {
            Self::Object(o) => o.map_wrapped(value, Direction::Hide),
            Self::Listing {
                etags,
                keys,
                current,
                ..
            } => match current.as_ref().filter(|_| *keys != Keys::Unknown) {
                Some(o) => o.map_wrapped(value, Direction::Hide),
                None => match etags.unlinkable() {
                    Some(o) => o.map_wrapped(value, Direction::Hide),
                    None => Some(String::new()),
                },
            },
        }
    }

    /// A `<Key>` was read (`None`: one too long to hold).
    fn key(&mut self, content: Option<&[u8]>) {
        if let Self::Listing {
            etags,
            bucket,
            keys,
            current,
        } = self
        {
            *current = content
                .and_then(|c| listed_key(c, *keys))
                .map(|key| etags.object(bucket, &key));
        }
    }
}

/// The key a listing's `<Key>` names: XML-unescaped, then percent-decoded (with `+` as a
/// space, as SDKs read it) when keys are percent-encoded. `None` when that cannot be
/// known: text that does not decode, or a U+FFFD, which stores write in place of
/// characters XML cannot carry (SeaweedFS), so that two keys would read alike.
fn listed_key(content: &[u8], keys: Keys) -> Option<String> {
    let text = std::str::from_utf8(content).ok()?;
    let unescaped = quick_xml::escape::unescape(text).ok()?;
    let key = match keys {
        Keys::Raw => unescaped.into_owned(),
        Keys::Url => percent_encoding::percent_decode_str(&unescaped.replace('+', " "))
            .decode_utf8()
            .ok()?
            .into_owned(),
        Keys::Unknown => return None,
    };
    (!key.contains('\u{fffd}')).then_some(key)
}

/// Rewrites every `<ETag>` in a response body to its canonical form (and, in opaque
/// mode, hides its value).
#[derive(Debug)]
pub struct EtagRewriter {
    scanner: Scanner,
    quoted: bool,
    /// Used for an empty `<ETag></ETag>` (RGW's CompleteMultipartUploadResult).
    empty: Option<String>,
    /// `[etag] mode = "opaque"`'s permutation.
    opaque: Option<Hiding>,
    /// A listing held whole until the store's `<EncodingType>` can be read.
    held: Option<Vec<u8>>,
    /// What `held` takes of the shared budget.
    reserved: usize,
}

impl Drop for EtagRewriter {
    fn drop(&mut self) {
        HELD.give(std::mem::take(&mut self.reserved));
    }
}

impl EtagRewriter {
    /// A rewriter producing `&quot;…&quot;` (or bare values when `quoted` is false,
    /// for GetObjectAttributes).
    pub fn new(quoted: bool) -> Self {
        Self {
            scanner: Scanner::default(),
            quoted,
            empty: None,
            opaque: None,
            held: None,
            reserved: 0,
        }
    }

    /// Hides every S3 ETag with `etags` (the one object's the body is about) after
    /// making it canonical.
    pub fn hide_with(&mut self, etags: ObjectEtags) {
        self.opaque = Some(Hiding::Object(etags));
    }

    /// Hides every S3 ETag of a listing of `bucket` with the permutation of the object
    /// the entry's `<Key>` names. With `encoding_asked` (the request had an
    /// `encoding-type`), the body is held whole (up to [`MAX_HELD_LISTING`]) and its
    /// keys read as percent-encoded only if the store says so
    /// (`<EncodingType>url</EncodingType>`): stores differ in which spellings they
    /// honour and in which listings (SeaweedFS 4.48 ignores it in ListObjectVersions),
    /// and a key read the wrong way would be another object's.
    pub fn hide_listing_with(
        &mut self,
        etags: Arc<OpaqueEtags>,
        bucket: &str,
        encoding_asked: bool,
    ) {
        self.scanner.keys = true;
        self.held = encoding_asked.then(Vec::new);
        self.opaque = Some(Hiding::Listing {
            etags,
            bucket: bucket.to_owned(),
            keys: Keys::Raw,
            current: None,
        });
    }

    /// Sets the value that replaces an empty `<ETag></ETag>`.
    pub fn replace_empty_with(&mut self, etag: Option<String>) {
        self.empty = etag;
    }

    /// Rewrites one piece; the output may hold back bytes until the next piece (a
    /// listing whose key encoding is not yet known: all of it).
    pub fn feed(&mut self, input: &[u8]) -> Vec<u8> {
        if let Some(held) = self.held.as_mut() {
            if held.len() + input.len() <= MAX_HELD_LISTING && HELD.take(input.len()) {
                self.reserved += input.len();
                held.extend_from_slice(input);
                return Vec::new();
            }
            let mut body = self.release(Keys::Unknown);
            body.extend_from_slice(input);
            return self.rewrite(&body);
        }
        self.rewrite(input)
    }

    /// The bytes still held at the end of the body.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = match self.held.as_ref() {
            Some(held) => {
                let keys = if find(held, b"<EncodingType>url</EncodingType>").is_some() {
                    Keys::Url
                } else {
                    Keys::Raw
                };
                let body = self.release(keys);
                self.rewrite(&body)
            }
            None => Vec::new(),
        };
        out.extend(self.scanner.finish());
        out
    }

    /// The held listing, its keys now read as `keys`.
    fn release(&mut self, keys: Keys) -> Vec<u8> {
        if let Some(Hiding::Listing { keys: k, .. }) = self.opaque.as_mut() {
            *k = keys;
        }
        HELD.give(std::mem::take(&mut self.reserved));
        self.held.take().unwrap_or_default()
    }

    fn rewrite(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + 16);
        let quoted = self.quoted;
        let empty = self.empty.as_deref();
        let opaque = &mut self.opaque;
        self.scanner
            .feed(input, Some(&mut out), &mut |element, content| {
                if element == Element::Key {
                    if let Some(hiding) = opaque.as_mut() {
                        hiding.key(content);
                    }
                    return None;
                }
                let text = std::str::from_utf8(content?).ok()?;
                let canonical = if text.trim().is_empty() {
                    let e = empty?;
                    Some(if quoted {
                        format!("&quot;{e}&quot;")
                    } else {
                        e.to_owned()
                    })
                } else {
                    canonical_xml(text, quoted)
                };
                let hidden = opaque
                    .as_mut()
                    .and_then(|h| h.hide(canonical.as_deref().unwrap_or(text)));
                hidden.or(canonical).map(String::into_bytes)
            });
        out
    }
}

/// Collects the part ETags of a CompleteMultipartUpload request as it streams past.
#[derive(Debug, Default)]
pub struct PartEtagCollector {
    scanner: Scanner,
    etag: MultipartEtag,
    /// In opaque mode, the client's part ETags are the store's mapped.
    opaque: Option<ObjectEtags>,
}

impl PartEtagCollector {
    /// A collector that reveals the client's (opaque) part ETags with `etags` first.
    pub fn revealing(etags: Option<ObjectEtags>) -> Self {
        Self {
            opaque: etags,
            ..Self::default()
        }
    }

    /// Looks at one piece of the request body.
    pub fn feed(&mut self, input: &[u8]) {
        let etag = &mut self.etag;
        let opaque = self.opaque.as_ref();
        self.scanner.feed(input, None, &mut |_, content| {
            let text = String::from_utf8_lossy(content?);
            match opaque.and_then(|o| o.map_wrapped(&text, Direction::Reveal)) {
                Some(store) => etag.push(&store),
                None => etag.push(&text),
            }
            None
        });
    }

    /// The multipart ETag the parts add up to, if every part ETag was MD5-style.
    pub fn finish(self) -> Option<String> {
        self.etag.finish()
    }
}

/// Largest CompleteMultipartUpload body opaque mode reads whole (10,000 parts with
/// their checksums stay well under it).
pub const MAX_PART_LIST: usize = 4 << 20;

/// A CompleteMultipartUpload body with its part ETags mapped back to the store's
/// (opaque mode), each in place: the length does not change. Stores read the list with
/// real XML parsers, so anything that could hide an `<ETag>` from this byte-level
/// reading is refused: comments, CDATA, DOCTYPE and entity declarations (`<!`),
/// character references (`&#`), any other spelling of the element name (`<ETag >`,
/// `<s3:ETag>`, another case), and an element whose content is not one S3 ETag.
pub fn reveal_part_list(body: &[u8], etags: &ObjectEtags) -> Result<Vec<u8>, &'static str> {
    const OPEN_TAG: &str = "<ETag>";
    const CLOSE_TAG: &str = "</ETag>";
    let text = std::str::from_utf8(body).map_err(|_| "is not UTF-8")?;
    if text.contains("<!") || text.contains("&#") {
        return Err("has a comment, CDATA section, declaration or character reference");
    }
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find("etag") {
        let open = (pos + found).checked_sub(1).ok_or("names ETag oddly")?;
        // Bytes: the byte before a match may be inside a multi-byte character.
        if !text.as_bytes()[open..].starts_with(OPEN_TAG.as_bytes()) {
            return Err("names ETag other than as <ETag>…</ETag>");
        }
        let start = open + OPEN_TAG.len();
        let len = text[start..]
            .find(CLOSE_TAG)
            .ok_or("has an unterminated <ETag>")?;
        let content = &text[start..start + len];
        let store = etags
            .map_wrapped(content, Direction::Reveal)
            .ok_or("has an <ETag> that is not one S3 ETag")?;
        out.push_str(&text[pos..start]);
        out.push_str(&store);
        out.push_str(CLOSE_TAG);
        pos = start + len + CLOSE_TAG.len();
    }
    out.push_str(&text[pos..]);
    Ok(out.into_bytes())
}

/// The text of the first element called `name` in a complete, small document,
/// with entity references resolved.
pub fn first_element(xml: &[u8], name: &str) -> Option<String> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut raw: Option<String> = None;
    loop {
        match (reader.read_event_into(&mut buf).ok()?, raw.as_mut()) {
            (Event::Start(e), None) if e.local_name().as_ref() == name => raw = Some(String::new()),
            (Event::Text(t), Some(raw)) => raw.push_str(&t),
            (Event::GeneralRef(r), Some(raw)) => {
                raw.push('&');
                raw.push_str(&r);
                raw.push(';');
            }
            (Event::End(_), Some(raw)) => {
                return quick_xml::escape::unescape(raw)
                    .ok()
                    .map(|t| t.into_owned());
            }
            (Event::Eof, _) => return None,
            _ => {}
        }
        buf.clear();
    }
}

/// `xml` with the text of its first element called `name` replaced by `text` (escaped);
/// every other byte kept. `xml` may be the start of a longer document, as long as the
/// element is within it. `None` if there is no such element.
pub fn replace_first_element(xml: &[u8], name: &str, text: &str) -> Option<Vec<u8>> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut start = None;
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) if start.is_none() && e.local_name().as_ref() == name => {
                start = Some(usize::try_from(reader.buffer_position()).ok()?);
            }
            Event::End(_) if start.is_some() => {
                let start = start?;
                let after = usize::try_from(reader.buffer_position()).ok()?;
                let end = start + find_last(xml.get(start..after)?, b"</")?;
                let escaped = quick_xml::escape::escape(text);
                let mut out = Vec::with_capacity(xml.len() + escaped.len());
                out.extend_from_slice(&xml[..start]);
                out.extend_from_slice(escaped.as_bytes());
                out.extend_from_slice(&xml[end..]);
                return Some(out);
            }
            // An element inside the one sought: not a text element.
            Event::Start(_) | Event::Empty(_) if start.is_some() => return None,
            Event::Eof => return None,
            _ => {}
        }
        buf.clear();
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// For every element called `record` in a complete, small document, the text of its
/// child elements named in `fields` (in that order; `None` where absent), entity
/// references resolved: the `<Contents>` of a listing, the `<Tag>`s of a tag set.
/// `None` if the document is not well-formed.
pub fn records(xml: &[u8], record: &str, fields: &[&str]) -> Option<Vec<Vec<Option<String>>>> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<Vec<Option<String>>> = None;
    let mut capturing: Option<(usize, String)> = None;
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) => {
                let name = e.local_name().into_inner();
                if current.is_none() {
                    if name == record {
                        current = Some(vec![None; fields.len()]);
                    }
                } else if capturing.is_none()
                    && let Some(i) = fields.iter().position(|f| *f == name)
                {
                    capturing = Some((i, String::new()));
                }
            }
            Event::Empty(e) => {
                if let Some(fields_of) = current.as_mut()
                    && capturing.is_none()
                    && let Some(i) = fields
                        .iter()
                        .position(|f| *f == e.local_name().into_inner())
                {
                    fields_of[i] = Some(String::new());
                }
            }
            Event::Text(t) => {
                if let Some((_, raw)) = capturing.as_mut() {
                    raw.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, raw)) = capturing.as_mut() {
                    raw.push('&');
                    raw.push_str(&r);
                    raw.push(';');
                }
            }
            Event::End(e) => {
                if let Some((i, raw)) = capturing.take() {
                    let text = quick_xml::escape::unescape(&raw).ok()?.into_owned();
                    if let Some(fields_of) = current.as_mut() {
                        fields_of[i] = Some(text);
                    }
                } else if e.local_name().into_inner() == record
                    && let Some(done) = current.take()
                {
                    out.push(done);
                }
            }
            Event::Eof => return Some(out),
            _ => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;

/// Largest DeleteObjects body read whole for its keys (1,000 keys of up to 1,024 bytes
/// with their version IDs stay well under it).
pub const MAX_DELETE_LIST: usize = 4 << 20;

/// The text of every element called `name` (any namespace, any depth) of a complete
/// document, as a Go `encoding/xml` reader takes it: character data and CDATA sections
/// joined, comments skipped, references resolved, line ends normalized. Refuses what
/// such a reader could take otherwise or not at all: an element inside one called
/// `name`, a document type declaration, an entity other than XML's five, a malformed
/// or unterminated document, bytes that are not UTF-8.
pub fn element_texts(xml: &[u8], name: &str) -> Result<Vec<String>, &'static str> {
    let text = std::str::from_utf8(xml).map_err(|_| "is not UTF-8")?;
    let mut reader = Reader::from_str(text);
    let mut texts = Vec::new();
    // The text of the open element called `name` (nothing opens inside it).
    let mut open: Option<String> = None;
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|_| "is not well-formed XML")?;
        match (event, open.as_mut()) {
            (Event::DocType(_), _) => return Err("has a document type declaration"),
            // Go's reader keeps only an element's own text, skipping its children: a
            // text spelled around one would read differently here.
            (Event::Start(_) | Event::Empty(_), Some(_)) => {
                return Err("has an element inside an element it reads");
            }
            (Event::Start(e), None) => {
                depth += 1;
                if e.local_name().as_ref() == name {
                    open = Some(String::new());
                }
            }
            (Event::Empty(e), None) if e.local_name().as_ref() == name => {
                texts.push(String::new());
            }
            (Event::End(_), _) => {
                texts.extend(open.take());
                depth = depth.checked_sub(1).ok_or("is not well-formed XML")?;
            }
            (Event::Text(t), Some(text)) => text.push_str(&t.xml10_content()),
            (Event::CData(c), Some(text)) => text.push_str(&c.xml10_content()),
            (Event::GeneralRef(r), open) => {
                let resolved = reference(&r)?;
                if let Some(text) = open {
                    text.push_str(&resolved);
                }
            }
            (Event::Eof, _) if depth == 0 => return Ok(texts),
            (Event::Eof, _) => return Err("ends inside an element"),
            _ => {}
        }
    }
}

/// A character or entity reference resolved; only XML's five entities exist here.
fn reference(r: &quick_xml::events::BytesRef<'_>) -> Result<String, &'static str> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => quick_xml::escape::resolve_predefined_entity(r)
            .map(str::to_owned)
            .ok_or("has an entity XML does not define"),
        Err(_) => Err("has a character reference to no character"),
    }
}
