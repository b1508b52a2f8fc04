//! POST Object (browser form upload): reading the form fields that precede the `file`
//! part of a `multipart/form-data` body (RFC 7578), so their SSE-C fields can be
//! validated before the store sees the request. The bytes read are forwarded as they
//! are, then the file part streams.
//!
//! Hand-written because the proxy must see the fields without consuming or re-encoding
//! the body; multipart crates parse into owned parts and would have to re-serialise.

/// Longest form prefix (fields before `file`) the proxy reads before giving up.
pub const MAX_PREFIX: usize = 256 * 1024;

/// The form fields before the file part, names lower-cased.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, Vec<u8>)>);

impl Fields {
    /// The first value of a field (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

impl std::fmt::Debug for Fields {
    // Field values include keys and signatures: print names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

/// Result of looking at the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The fields before the file part (or before the end of a form without one).
    Fields(Fields),
    /// More bytes are needed.
    Incomplete,
    /// The body is not multipart/form-data as announced.
    Malformed,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 70).then(|| value.to_owned())
    })
}

/// Parses the fields at the start of `body` (everything read so far).
pub fn parse(body: &[u8], boundary: &str) -> Parsed {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // The first delimiter may follow a preamble.
    let Some(first) = find(body, delimiter) else {
        return Parsed::Incomplete;
    };
    let mut pos = first + delimiter.len();
    let mut fields = Vec::new();
    loop {
        // After a delimiter: "--" ends the form, CRLF starts a part.
        let Some(after) = body.get(pos..pos + 2) else {
            return Parsed::Incomplete;
        };
        if after == b"--" {
            return Parsed::Fields(Fields(fields));
        }
        if after != b"\r\n" {
            return Parsed::Malformed;
        }
        pos += 2;
        let Some(head_len) = find(&body[pos..], b"\r\n\r\n") else {
            return Parsed::Incomplete;
        };
        let Some(name) = part_name(&body[pos..pos + head_len]) else {
            return Parsed::Malformed;
        };
        pos += head_len + 4;
        if name.eq_ignore_ascii_case("file") {
            return Parsed::Fields(Fields(fields));
        }
        let mut closing = Vec::with_capacity(delimiter.len() + 2);
        closing.extend_from_slice(b"\r\n");
        closing.extend_from_slice(delimiter);
        let Some(value_len) = find(&body[pos..], &closing) else {
            return Parsed::Incomplete;
        };
        fields.push((
            name.to_ascii_lowercase(),
            body[pos..pos + value_len].to_vec(),
        ));
        pos += value_len + closing.len();
    }
}

/// The `name` of a part from its header block.
fn part_name(head: &[u8]) -> Option<String> {
    let head = std::str::from_utf8(head).ok()?;
    head.split("\r\n").find_map(|line| {
        let (field, value) = line.split_once(':')?;
        if !field.trim().eq_ignore_ascii_case("content-disposition") {
            return None;
        }
        value.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("name")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)], with_file: bool) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"preamble\r\n");
        for (name, value) in fields {
            out.extend_from_slice(
                format!(
                    "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if with_file {
            out.extend_from_slice(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nFILE BYTES\r\n--XyZ--\r\n",
            );
        } else {
            out.extend_from_slice(b"--XyZ--\r\n");
        }
        out
    }

    #[test]
    fn reads_fields_up_to_the_file_part_at_any_cut() {
        let body = form(
            &[
                ("key", "dir/obj"),
                ("X-Amz-Server-Side-Encryption-Customer-Algorithm", "AES256"),
                ("policy", "eyJ9"),
            ],
            true,
        );
        let file_at = find(&body, b"FILE BYTES").unwrap();
        for cut in 0..body.len() {
            match parse(&body[..cut], "XyZ") {
                Parsed::Incomplete => assert!(cut < file_at, "cut {cut}"),
                Parsed::Fields(f) => {
                    assert!(cut >= file_at, "cut {cut}");
                    assert_eq!(f.get("key"), Some(&b"dir/obj"[..]));
                    assert_eq!(
                        f.get("x-amz-server-side-encryption-customer-algorithm"),
                        Some(&b"AES256"[..])
                    );
                }
                Parsed::Malformed => panic!("cut {cut}"),
            }
        }
    }

    #[test]
    fn a_form_without_file_ends_at_the_closing_delimiter() {
        let body = form(&[("key", "k")], false);
        assert!(
            matches!(parse(&body, "XyZ"), Parsed::Fields(f) if f.get("key") == Some(&b"k"[..]))
        );
    }

    #[test]
    fn rejects_parts_without_a_name_and_garbage_after_a_delimiter() {
        assert_eq!(
            parse(b"--B\r\nX: y\r\n\r\nv\r\n--B--", "B"),
            Parsed::Malformed
        );
        assert_eq!(parse(b"--Bjunk", "B"), Parsed::Malformed);
    }

    #[test]
    fn finds_the_boundary_parameter() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=x; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("text/plain; boundary=abc"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn debug_prints_names_only() {
        let body = form(
            &[("x-amz-server-side-encryption-customer-key", "SECRETVALUE")],
            true,
        );
        let Parsed::Fields(f) = parse(&body, "XyZ") else {
            panic!()
        };
        assert!(!format!("{f:?}").contains("SECRETVALUE"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse(&data, "B");
        }
    }
}
