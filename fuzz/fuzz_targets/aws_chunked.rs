//! The aws-chunked framing decoder (`s3::chunked`) on arbitrary bodies fed in arbitrary
//! pieces, and on bodies encoded from arbitrary payloads.
//!
//! Input: byte 0 = flags (bits 0-1: signing, unsigned / HMAC / ECDSA; bit 2: trailer
//! mode; bit 3: `x-amz-decoded-content-length` sent; bits 4-7: its value when sent, or
//! the announced-length error for the round trip), byte 1 = seed of the chunking, the
//! rest = the body (and, for the round trip, the payload).
//!
//! Invariants:
//! - the outcome (payload bytes, decoded length, error) is the same however the body is
//!   split: whole, in random pieces, byte by byte;
//! - an accepted body handed out exactly as many payload bytes as it reports, and that
//!   many as `x-amz-decoded-content-length` says when sent;
//! - a payload encoded with any chunk sizes decodes to itself, and is refused with
//!   `Length` when the announced length is off;
//! - header parsing never panics and keeps its bounds.

#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::chunked::{ChunkedError, Decoder, Framing, MAX_TRAILERS, Signing, encode};

#[path = "../common/chunking.rs"]
mod chunking;
use chunking::chunking;

const CRC: &str = "x-amz-checksum-crc32";
const SIG: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

type Outcome = (Vec<u8>, Result<u64, ChunkedError>);

fn run(framing: &Framing, body: &[u8], sizes: &[usize]) -> Outcome {
    let mut decoder = Decoder::new(framing.clone());
    let mut payload = Vec::new();
    let mut pos = 0;
    for &n in sizes {
        if let Err(e) = decoder.feed(&body[pos..pos + n], |d| payload.extend_from_slice(d)) {
            assert!(!decoder.is_done());
            return (payload, Err(e));
        }
        pos += n;
        assert!(decoder.decoded() >= payload.len() as u64);
    }
    let end = decoder.finish();
    (payload, end)
}

fn header_map(text: &[u8]) -> HeaderMap {
    let names = [
        "x-amz-content-sha256",
        "x-amz-decoded-content-length",
        "x-amz-trailer",
        "x-amz-trailer",
    ];
    let mut headers = HeaderMap::new();
    for (name, value) in names.iter().zip(text.split(|&b| b == b'\n')) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(*name, value);
        }
    }
    headers
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, body @ ..] = data else {
        return;
    };
    let signing = match flags & 3 {
        0 | 3 => Signing::Unsigned,
        1 => Signing::Hmac,
        _ => Signing::Ecdsa,
    };
    let trailer = flags & 4 != 0 || signing == Signing::Unsigned;
    let announced = (flags & 8 != 0).then_some(u64::from(flags >> 4));
    let framing = Framing {
        signing,
        trailer,
        decoded_length: announced,
        declared: if trailer {
            vec![CRC.to_owned()]
        } else {
            vec![]
        },
    };

    let whole = run(&framing, body, &[body.len()]);
    let random = run(&framing, body, &chunking(*seed, body.len()));
    assert_eq!(random, whole, "random pieces changed the outcome");
    if body.len() <= 512 {
        let ones = vec![1; body.len()];
        assert_eq!(run(&framing, body, &ones), whole, "byte by byte changed it");
    }
    if let (payload, Ok(n)) = &whole {
        assert_eq!(payload.len() as u64, *n);
        if let Some(announced) = announced {
            assert_eq!(*n, announced);
        }
    }

    // Round trip: the body as a payload, encoded with chunk sizes from the seed.
    let mut trailers = Vec::new();
    if trailer {
        trailers.push((CRC, "AAAAAA=="));
        if signing != Signing::Unsigned {
            trailers.push(("x-amz-trailer-signature", SIG));
        }
    }
    let sizes = chunking(seed.wrapping_add(1), body.len());
    let encoded = encode(body, &sizes, signing, &trailers);
    let exact = Framing {
        decoded_length: Some(body.len() as u64),
        ..framing.clone()
    };
    let pieces = chunking(*seed, encoded.len());
    assert_eq!(
        run(&exact, &encoded, &pieces),
        (body.to_vec(), Ok(body.len() as u64)),
        "encoded payload did not round-trip"
    );
    let off = u64::from(flags >> 4) + 1;
    for wrong in [
        body.len() as u64 + off,
        (body.len() as u64).saturating_sub(off),
    ] {
        if wrong == body.len() as u64 {
            continue;
        }
        let lying = Framing {
            decoded_length: Some(wrong),
            ..framing.clone()
        };
        assert_eq!(
            run(&lying, &encoded, &pieces).1,
            Err(ChunkedError::Length),
            "announced {wrong} for {} bytes",
            body.len()
        );
    }

    // Headers: never a panic, bounds kept.
    if let Ok(Some(f)) = Framing::from_headers(&header_map(body)) {
        assert!(f.declared.len() <= MAX_TRAILERS);
        assert!(f.trailer || f.declared.is_empty());
    }
});
