//! aws-chunked framing: AWS's documented example, every way a body can be malformed,
//! and properties (round trip; the result does not depend on how the body is split).

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

use super::*;

fn framing(signing: Signing, trailer: bool, length: Option<u64>, declared: &[&str]) -> Framing {
    Framing {
        signing,
        trailer,
        decoded_length: length,
        declared: declared.iter().map(|d| (*d).to_owned()).collect(),
    }
}

/// Feeds `body` in pieces of `piece` bytes; the payload and the end result.
fn run(framing: &Framing, body: &[u8], piece: usize) -> (Vec<u8>, Result<u64, ChunkedError>) {
    let mut decoder = Decoder::new(framing.clone());
    let mut payload = Vec::new();
    for part in body.chunks(piece.max(1)) {
        if let Err(e) = decoder.feed(part, |d| payload.extend_from_slice(d)) {
            return (payload, Err(e));
        }
    }
    let end = decoder.finish();
    (payload, end)
}

fn check(framing: &Framing, body: &[u8]) -> Result<u64, ChunkedError> {
    let whole = run(framing, body, body.len());
    for piece in [1, 2, 3, 7, 64] {
        assert_eq!(run(framing, body, piece), whole, "piece {piece}");
    }
    whole.1
}

const CRC: &str = "x-amz-checksum-crc32";
const SIG: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";

#[test]
fn accepts_aws_documented_signed_example() {
    // AWS S3 API reference, "Transferring Payload in Multiple Chunks": 66,560 bytes of
    // 'a' in a 64 KiB chunk and a 1 KiB chunk.
    let payload = vec![b'a'; 66_560];
    let mut body = format!("10000;chunk-signature={SIG}\r\n").into_bytes();
    body.extend_from_slice(&payload[..65_536]);
    body.extend_from_slice(
        b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
    );
    body.extend_from_slice(&payload[65_536..]);
    body.extend_from_slice(
        b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
    );
    let f = framing(Signing::Hmac, false, Some(66_560), &[]);
    assert_eq!(check(&f, &body), Ok(66_560));
    let (out, _) = run(&f, &body, 1000);
    assert_eq!(out, payload);
}

#[test]
fn accepts_sdk_shaped_trailer_bodies() {
    // Upper-case sizes and a checksum trailer, as aws-sdk-rust writes them.
    let body = format!("A\r\n0123456789\r\n5\r\nabcde\r\n0\r\n{CRC}:NhCmhg==\r\n\r\n");
    let f = framing(Signing::Unsigned, true, Some(15), &[CRC]);
    assert_eq!(check(&f, body.as_bytes()), Ok(15));
    // Signed trailer: chunk signatures, the checksum, then the trailer signature.
    let body = format!(
        "3;chunk-signature={SIG}\r\nabc\r\n0;chunk-signature={SIG}\r\n{CRC}:NhCmhg==\r\nx-amz-trailer-signature:{SIG}\r\n\r\n"
    );
    let f = framing(Signing::Hmac, true, Some(3), &[CRC]);
    assert_eq!(check(&f, body.as_bytes()), Ok(3));
    // Without x-amz-decoded-content-length the length is not checked.
    let f = framing(Signing::Unsigned, true, None, &[CRC]);
    let body = format!("1\r\nz\r\n0\r\n{CRC}:NhCmhg==\r\n\r\n");
    assert_eq!(check(&f, body.as_bytes()), Ok(1));
    // An empty payload is the final chunk alone.
    let f = framing(Signing::Hmac, false, Some(0), &[]);
    assert_eq!(
        check(&f, format!("0;chunk-signature={SIG}\r\n\r\n").as_bytes()),
        Ok(0)
    );
}

/// A chunk's payload and the signature of its end.
type Chunk = (Vec<u8>, Vec<u8>);

/// What `feed_events` reports for `body` fed in pieces of `piece` bytes: each chunk's
/// payload and the signature of its end.
fn chunk_events(framing: &Framing, body: &[u8], piece: usize) -> (Vec<Chunk>, Decoder) {
    let mut decoder = Decoder::new(framing.clone());
    let mut chunks = vec![(Vec::new(), Vec::new())];
    for part in body.chunks(piece) {
        let fed = decoder.feed_events(part, |event| match event {
            Event::Data(data) => chunks.last_mut().unwrap().0.extend_from_slice(data),
            Event::ChunkEnd(signature) => {
                chunks.last_mut().unwrap().1 = signature.to_vec();
                chunks.push((Vec::new(), Vec::new()));
            }
        });
        fed.unwrap();
    }
    decoder.finish().unwrap();
    chunks.pop();
    (chunks, decoder)
}

#[test]
fn reports_each_chunk_end_with_its_signature_and_hands_out_the_trailer() {
    let other = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
    let last = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";
    let body = format!(
        "3;chunk-signature={SIG}\r\nabc\r\n2;chunk-signature={other}\r\nde\r\n\
         0;chunk-signature={last}\r\n{CRC}:\t NhCmhg== \r\nx-amz-trailer-signature:{SIG}\r\n\r\n"
    );
    let f = framing(Signing::Hmac, true, Some(5), &[CRC]);
    for piece in [1, 2, 5, 64, body.len()] {
        let (chunks, decoder) = chunk_events(&f, body.as_bytes(), piece);
        let expected: Vec<Chunk> = [("abc", SIG), ("de", other), ("", last)]
            .iter()
            .map(|(d, s)| (d.as_bytes().to_vec(), s.as_bytes().to_vec()))
            .collect();
        assert_eq!(chunks, expected, "piece {piece}");
        let trailers: Vec<(&str, &[u8])> = decoder.trailers().collect();
        assert_eq!(trailers, [(CRC, &b"NhCmhg=="[..])]);
        assert_eq!(decoder.trailer_signature(), Some(SIG.as_bytes()));
    }
    // Unsigned chunks end with an empty signature; no trailer signature.
    let body = format!("2\r\nab\r\n0\r\n{CRC}:NhCmhg==\r\n\r\n");
    let f = framing(Signing::Unsigned, true, Some(2), &[CRC]);
    let (chunks, decoder) = chunk_events(&f, body.as_bytes(), 3);
    assert_eq!(
        chunks,
        [(b"ab".to_vec(), Vec::new()), (Vec::new(), Vec::new())]
    );
    assert_eq!(decoder.trailer_signature(), None);
}

#[test]
fn refuses_every_malformation() {
    use ChunkedError::{Framing as F, Length, Trailer as T, Truncated};
    let unsigned = framing(Signing::Unsigned, true, Some(3), &[CRC]);
    let signed = framing(Signing::Hmac, false, Some(3), &[]);
    let signed_trailer = framing(Signing::Hmac, true, Some(3), &[CRC]);
    let unbounded = framing(Signing::Unsigned, true, None, &[]);
    let tr = format!("{CRC}:AAAAAA==\r\n");
    let cases: Vec<(&Framing, String, ChunkedError)> = vec![
        (
            &unsigned,
            format!("x3\r\nabc\r\n0\r\n{tr}\r\n"),
            F("chunk size is not hexadecimal"),
        ),
        (
            &unsigned,
            format!("\r\nabc\r\n0\r\n{tr}\r\n"),
            F("chunk size is not hexadecimal"),
        ),
        (
            &unsigned,
            format!("{}3\r\nabc\r\n0\r\n{tr}\r\n", "0".repeat(16)),
            F("chunk size is not hexadecimal"),
        ),
        (
            &unsigned,
            format!("3{}\r\n", " ".repeat(MAX_LINE)),
            F("chunk line too long"),
        ),
        (
            &unsigned,
            format!("3\nabc\r\n0\r\n{tr}\r\n"),
            F("chunk line not ended by CRLF"),
        ),
        (
            &unsigned,
            format!("3\r\nabcd\r\n0\r\n{tr}\r\n"),
            F("chunk payload is longer than its size or not followed by CRLF"),
        ),
        (
            &unsigned,
            format!("3;x=y\r\nabc\r\n0\r\n{tr}\r\n"),
            F("chunk extension in an unsigned payload"),
        ),
        (&signed, "3\r\nabc\r\n".into(), F("chunk signature missing")),
        (
            &signed,
            format!("3;chunk-signature={}\r\nabc\r\n", &SIG[1..]),
            F("chunk signature malformed"),
        ),
        (
            &signed,
            format!("3;chunk-signature={}\r\nabc\r\n", SIG.to_uppercase()),
            F("chunk signature malformed"),
        ),
        (
            &signed,
            format!("3;signature={SIG}\r\nabc\r\n"),
            F("chunk signature malformed"),
        ),
        (
            &signed,
            format!("3;chunk-signature={SIG}\r\nabc\r\n0;chunk-signature={SIG}\r\n{tr}\r\n"),
            F("trailer in a mode without trailers"),
        ),
        (
            &signed,
            format!("3;chunk-signature={SIG}\r\nabc\r\n0;chunk-signature={SIG}\r\n\r\nx"),
            F("bytes follow the final chunk"),
        ),
        // Lengths: more than announced is refused at the chunk line, before its payload.
        (&unsigned, "4\r\n".into(), Length),
        (&unsigned, format!("2\r\nab\r\n0\r\n{tr}\r\n"), Length),
        (&unbounded, "ffffffffffffffff\r\n".into(), Truncated),
        (&unsigned, "3\r\nabc\r\n0\r\n".into(), Truncated),
        (&unsigned, "3\r\nab".into(), Truncated),
        (&unsigned, String::new(), Truncated),
        // Trailers.
        (
            &unsigned,
            "3\r\nabc\r\n0\r\n\r\n".into(),
            T("announced trailer missing"),
        ),
        (
            &unsigned,
            "3\r\nabc\r\n0\r\nx-amz-checksum-sha256:AAAA\r\n\r\n".into(),
            T("field not announced in x-amz-trailer"),
        ),
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\n{tr}{tr}\r\n"),
            T("field repeated"),
        ),
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\n{CRC}AAAA\r\n\r\n"),
            T("field without a colon"),
        ),
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\n{CRC}: \r\n\r\n"),
            T("field value malformed"),
        ),
        // Optional whitespace is a space or a tab; other control bytes are not trimmed.
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\n{CRC}:\x0cAAAAAA==\r\n\r\n"),
            T("field value malformed"),
        ),
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\n{CRC}:AAAAAA==\x0b\r\n\r\n"),
            T("field value malformed"),
        ),
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\n{CRC}:AAAA\n\r\n"),
            T("line not ended by CRLF"),
        ),
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\nx-amz-trailer-signature:{SIG}\r\n{tr}\r\n"),
            T("field not announced in x-amz-trailer"),
        ),
        (
            &unsigned,
            format!("3\r\nabc\r\n0\r\n{CRC}:{}\r\n\r\n", "A".repeat(MAX_TRAILER)),
            T("trailer section too long"),
        ),
        (
            &signed_trailer,
            format!("3;chunk-signature={SIG}\r\nabc\r\n0;chunk-signature={SIG}\r\n{tr}\r\n"),
            T("trailer signature missing"),
        ),
        (
            &signed_trailer,
            format!(
                "3;chunk-signature={SIG}\r\nabc\r\n0;chunk-signature={SIG}\r\nx-amz-trailer-signature:{SIG}\r\n{tr}\r\n"
            ),
            T("field after the trailer signature"),
        ),
        (
            &signed_trailer,
            format!(
                "3;chunk-signature={SIG}\r\nabc\r\n0;chunk-signature={SIG}\r\n{tr}x-amz-trailer-signature:abc\r\n\r\n"
            ),
            T("trailer signature malformed"),
        ),
    ];
    for (f, body, want) in cases {
        assert_eq!(check(f, body.as_bytes()), Err(want.clone()), "{body:?}");
    }
}

#[test]
fn stays_failed_after_an_error() {
    let mut d = Decoder::new(framing(Signing::Unsigned, false, None, &[]));
    let e = ChunkedError::Framing("chunk size is not hexadecimal");
    assert_eq!(d.feed(b"zz\r\n", |_| {}), Err(e.clone()));
    assert_eq!(d.feed(b"0\r\n\r\n", |_| {}), Err(e.clone()));
    assert_eq!(d.finish(), Err(e));
    assert!(!d.is_done());
}

#[test]
fn errors_map_to_s3_answers() {
    let codes = [
        (ChunkedError::Framing("x"), S3ErrorCode::InvalidRequest),
        (ChunkedError::Length, S3ErrorCode::IncompleteBody),
        (ChunkedError::Truncated, S3ErrorCode::IncompleteBody),
        (
            ChunkedError::Trailer("x"),
            S3ErrorCode::MalformedTrailerError,
        ),
    ];
    for (e, code) in codes {
        let s3 = e.to_s3();
        assert_eq!(s3.code, code);
        assert_eq!(s3.status(), http::StatusCode::BAD_REQUEST);
        assert!(
            s3.reason
                .is_some_and(|r| r.as_str().starts_with("aws_chunked_"))
        );
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[test]
fn reads_the_framing_from_headers() {
    let sha = "x-amz-content-sha256";
    assert_eq!(Framing::from_headers(&headers(&[])), Ok(None));
    assert_eq!(
        Framing::from_headers(&headers(&[(sha, "UNSIGNED-PAYLOAD")])),
        Ok(None)
    );
    assert_eq!(
        Framing::from_headers(&headers(&[
            (sha, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-decoded-content-length", "66560"),
            (
                "x-amz-trailer",
                "X-Amz-Checksum-CRC32, x-amz-checksum-sha256"
            ),
        ])),
        Ok(Some(framing(
            Signing::Unsigned,
            true,
            Some(66_560),
            &["x-amz-checksum-crc32", "x-amz-checksum-sha256"]
        )))
    );
    for (mode, signing, trailer) in MODES {
        let f = Framing::from_headers(&headers(&[(sha, mode), ("x-amz-trailer", CRC)]))
            .unwrap()
            .unwrap();
        assert_eq!((f.signing, f.trailer), (signing, trailer), "{mode}");
        assert_eq!(f.declared.len(), usize::from(trailer), "{mode}");
    }
    let refused = |pairs: &[(&str, &str)]| Framing::from_headers(&headers(pairs)).unwrap_err();
    let e = refused(&[(sha, "STREAMING-AWS4-HMAC-SHA512-PAYLOAD")]);
    assert_eq!(e.code, S3ErrorCode::InvalidArgument);
    assert_eq!(e.argument_name, Some("x-amz-content-sha256"));
    for bad in ["-1", "", "1.5", "12345678901234567890", "+3"] {
        let e = refused(&[
            (sha, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("x-amz-decoded-content-length", bad),
        ]);
        assert_eq!(
            e.argument_name,
            Some("x-amz-decoded-content-length"),
            "{bad}"
        );
    }
    let trailer_mode = (sha, "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    let many = (0..=MAX_TRAILERS)
        .map(|i| format!("x-amz-t{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for bad in [
        "a, A",
        "x-amz-trailer-signature",
        "bad name",
        "x:y",
        many.as_str(),
    ] {
        let e = refused(&[trailer_mode, ("x-amz-trailer", bad)]);
        assert_eq!(e.argument_name, Some("x-amz-trailer"), "{bad}");
    }
}

fn any_framing() -> impl Strategy<Value = Framing> {
    (
        prop_oneof![
            Just(Signing::Unsigned),
            Just(Signing::Hmac),
            Just(Signing::Ecdsa)
        ],
        any::<bool>(),
        proptest::option::of(0u64..64),
    )
        .prop_map(|(signing, trailer, length)| {
            let trailer = trailer || signing == Signing::Unsigned;
            framing(signing, trailer, length, if trailer { &[CRC] } else { &[] })
        })
}

proptest! {
    #[test]
    fn encoded_bodies_decode_to_their_payload(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        sizes in proptest::collection::vec(1usize..80, 0..8),
        f in any_framing(),
        piece in 1usize..40,
    ) {
        let mut f = f;
        f.decoded_length = Some(payload.len() as u64);
        let mut trailers = vec![];
        if f.trailer {
            trailers.push((CRC, "AAAAAA=="));
            if f.signing != Signing::Unsigned {
                trailers.push(("x-amz-trailer-signature", SIG));
            }
        }
        let body = encode(&payload, &sizes, f.signing, &trailers);
        let (out, end) = run(&f, &body, piece);
        prop_assert_eq!(end, Ok(payload.len() as u64));
        prop_assert_eq!(out, payload);
    }

    #[test]
    fn splitting_never_changes_the_result(
        body in proptest::collection::vec(
            prop_oneof![
                Just(b'0'), Just(b'3'), Just(b'a'), Just(b'\r'), Just(b'\n'), Just(b';'),
                Just(b':'), any::<u8>()
            ],
            0..200,
        ),
        f in any_framing(),
        piece in 1usize..17,
    ) {
        let whole = run(&f, &body, body.len());
        prop_assert_eq!(run(&f, &body, piece), whole.clone());
        prop_assert_eq!(run(&f, &body, 1), whole.clone());
        if let (payload, Ok(n)) = whole {
            prop_assert_eq!(payload.len() as u64, n);
        }
    }
}
