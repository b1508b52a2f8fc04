//! The rest of a form after the file part's headers, checked as it streams: the first
//! `--boundary` in the file's content must be the closing delimiter (CRLF `--boundary--`).
//!
//! The proxy reads fields only up to the file part, but Go's `ReadForm` (SeaweedFS)
//! reads every part and RGW reads the parts after the file too, so a part there could
//! carry fields this proxy never saw. Memory is bounded: at most the boundary's length
//! (plus three bytes) is carried from one frame to the next.

use super::Ambiguity;
use super::part::Finder;

/// Streaming check of a form's content after the file part's headers.
#[derive(Debug)]
pub struct Tail {
    finder: Finder,
    /// The last bytes fed (at most `needle + 1`), for a delimiter split between frames.
    carry: Vec<u8>,
    /// Bytes fed so far (until the delimiter is found).
    seen: u64,
    /// The file's length, once the delimiter after it was found.
    length: Option<u64>,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No `--boundary` yet.
    Scanning,
    /// CRLF `--boundary` seen; this many of the closing `--` too.
    Dashes(u8),
    /// The closing delimiter was seen; the epilogue is ignored by every store.
    Closed,
    /// Refused; every later call fails the same way.
    Refused(Ambiguity),
}

impl Tail {
    /// A check for a form with this boundary, starting at the file's first byte.
    pub fn new(boundary: &str) -> Self {
        Self {
            finder: Finder::new(format!("--{boundary}").into_bytes()),
            carry: Vec::new(),
            seen: 0,
            length: None,
            state: State::Scanning,
        }
    }

    /// Checks the next bytes of the body. An error means these bytes must not be
    /// forwarded: they would complete a form the proxy has not checked.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), Ambiguity> {
        let result = match self.state {
            State::Closed => Ok(()),
            State::Refused(a) => Err(a),
            State::Dashes(k) => self.dashes(k, data),
            State::Scanning => self.scan(data),
        };
        if let Err(a) = result {
            self.state = State::Refused(a);
        }
        result
    }

    /// The end of the body: the closing delimiter must have been seen.
    pub fn finish(&mut self) -> Result<(), Ambiguity> {
        match self.state {
            State::Closed => Ok(()),
            State::Refused(a) => Err(a),
            State::Scanning | State::Dashes(_) => {
                self.state = State::Refused(Ambiguity::Unterminated);
                Err(Ambiguity::Unterminated)
            }
        }
    }

    /// Whether the closing delimiter was seen (and nothing was refused before it).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The file's length, once the delimiter after it has been seen.
    pub fn file_len(&self) -> Option<u64> {
        self.length
    }

    /// The least the file's length can be, from the bytes fed so far: all but those
    /// that could still be the start of the delimiter after it (CRLF `--boundary`).
    pub fn file_len_at_least(&self) -> u64 {
        let delimiter = self.finder.needle().len() as u64 + 2;
        self.length
            .unwrap_or_else(|| self.seen.saturating_sub(delimiter))
    }

    /// Why the form was refused, if it was.
    pub fn refused(&self) -> Option<Ambiguity> {
        match self.state {
            State::Refused(a) => Some(a),
            _ => None,
        }
    }

    fn scan(&mut self, data: &[u8]) -> Result<(), Ambiguity> {
        let needle = self.finder.needle().len();
        // A delimiter that starts in the carried bytes ends within the first bytes of
        // `data`; later ones are found in `data` itself.
        let take = data.len().min(needle + 1);
        let mut seam = Vec::with_capacity(self.carry.len() + take);
        seam.extend_from_slice(&self.carry);
        seam.extend_from_slice(&data[..take]);
        let carried = self.carry.len() as i64;
        let found = match self.finder.find(&seam) {
            Some(i) => Some(i as i64 - carried),
            None => self.finder.find(data).map(|j| j as i64),
        };
        let Some(at) = found else {
            self.remember(data);
            return Ok(());
        };
        // `at` is relative to `data` (negative: in the carried bytes).
        let byte = |k: i64| -> Option<u8> {
            match usize::try_from(k) {
                Ok(i) => data.get(i).copied(),
                Err(_) => usize::try_from(carried + k)
                    .ok()
                    .and_then(|i| self.carry.get(i).copied()),
            }
        };
        let crlf_before = self.seen as i64 + at >= 2
            && byte(at - 2) == Some(b'\r')
            && byte(at - 1) == Some(b'\n');
        if !crlf_before {
            return Err(Ambiguity::BoundaryInPart);
        }
        self.length = u64::try_from(self.seen as i64 + at - 2).ok();
        let after = usize::try_from(at + needle as i64).unwrap_or(0);
        self.dashes(0, data.get(after..).unwrap_or_default())
    }

    /// After CRLF `--boundary`: `k` of the closing `--` seen so far.
    fn dashes(&mut self, mut k: u8, data: &[u8]) -> Result<(), Ambiguity> {
        for &b in data.iter().take(usize::from(2 - k.min(2))) {
            if b != b'-' {
                return Err(Ambiguity::AfterFile);
            }
            k += 1;
        }
        self.state = if k >= 2 {
            State::Closed
        } else {
            State::Dashes(k)
        };
        Ok(())
    }

    /// Keeps the last `needle + 1` bytes seen.
    fn remember(&mut self, data: &[u8]) {
        self.seen += data.len() as u64;
        let keep = self.finder.needle().len() + 1;
        if data.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&data[data.len() - keep..]);
        } else {
            self.carry.extend_from_slice(data);
            let excess = self.carry.len().saturating_sub(keep);
            self.carry.drain(..excess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_at_most_the_delimiter_and_one_byte_between_frames() {
        let boundary = "b".repeat(70);
        let mut tail = Tail::new(&boundary);
        for frame in [&[b'x'; 3][..], &[b'-'; 100_000], b"\r\n-", &[b'y'; 1]] {
            assert_eq!(tail.feed(frame), Ok(()));
            assert!(tail.carry.len() <= 73, "{}", tail.carry.len());
        }
        assert_eq!(tail.seen, 3 + 100_000 + 3 + 1);
    }

    #[test]
    fn the_finder_finds_the_first_occurrence() {
        let finder = Finder::new(b"--ab".to_vec());
        assert_eq!(finder.find(b"--a--ab--ab"), Some(3));
        assert_eq!(finder.find(b"--a"), None);
        assert_eq!(finder.find(b"b--ab"), Some(1));
        assert_eq!(Finder::new(Vec::new()).find(b"abc"), None);
    }
}
