//! The store-side framing: exact bytes for a small payload, and for any length and any
//! way the payload arrives, an encoding of exactly `encoded_length` bytes that the
//! proxy's own decoder reads back as the payload and its checksum.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::s3::checksum::Algorithm;
use crate::s3::chunked::{Decoder, Framing, Signing};

fn encode(payload: &[u8], algorithm: Algorithm, pieces: &[usize]) -> (Vec<u8>, u64) {
    let mut encoder = Encoder::new(payload.len() as u64, algorithm);
    let mut out = Vec::new();
    let mut rest = Bytes::copy_from_slice(payload);
    let mut sizes = pieces.iter().cycle();
    while !rest.is_empty() {
        let n = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let piece = rest.split_to(n);
        encoder
            .encode(piece, |b| out.extend_from_slice(&b))
            .expect("within the length");
    }
    let mut hasher = algorithm.hasher();
    hasher.update(payload);
    let end = encoder.finish(&hasher.finish()).expect("whole payload");
    out.extend_from_slice(&end);
    (out, encoder.encoded_length())
}

#[test]
fn frames_a_small_payload_as_the_sdks_do() {
    let (out, length) = encode(b"abc", Algorithm::Crc32, &[3]);
    assert_eq!(
        out,
        b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n".to_vec()
    );
    assert_eq!(length, out.len() as u64);
    let (out, length) = encode(b"", Algorithm::Crc32, &[]);
    assert_eq!(out, b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n".to_vec());
    assert_eq!(length, out.len() as u64);
}

#[test]
fn cuts_chunks_of_64_kib_whatever_the_pieces() {
    let payload = vec![7u8; 2 * CHUNK as usize + 5];
    let (out, _) = encode(&payload, Algorithm::Sha256, &[1000, 70_000, 3]);
    assert!(out.starts_with(b"10000\r\n"));
    let second = 7 + CHUNK as usize;
    assert_eq!(&out[second..second + 9], b"\r\n10000\r\n");
    let third = second + 9 + CHUNK as usize;
    assert_eq!(&out[third..third + 5], b"\r\n5\r\n");
    assert_eq!(&out[third + 10..third + 15], b"\r\n0\r\n");
}

#[test]
fn refuses_more_payload_than_announced_and_ends_only_when_whole() {
    let mut encoder = Encoder::new(2, Algorithm::Crc32);
    let mut sum = Algorithm::Crc32.hasher();
    sum.update(b"ab");
    let sum = sum.finish();
    encoder.encode(Bytes::from_static(b"a"), |_| {}).unwrap();
    assert!(encoder.finish(&sum).is_none(), "a byte is missing");
    assert!(encoder.encode(Bytes::from_static(b"bc"), |_| {}).is_err());
    let mut encoder = Encoder::new(2, Algorithm::Crc32);
    encoder.encode(Bytes::from_static(b"ab"), |_| {}).unwrap();
    assert!(
        encoder
            .finish(&Algorithm::Crc32c.hasher().finish())
            .is_none(),
        "another algorithm than announced"
    );
    assert!(encoder.finish(&sum).is_some());
}

proptest! {
    #[test]
    fn decodes_back_to_the_payload_and_its_checksum(
        length in prop_oneof![0usize..300, 65_530usize..65_540, 131_070usize..131_080, 0usize..200_000],
        pieces in proptest::collection::vec(1usize..70_000, 1..5),
        algorithm in proptest::sample::select(Algorithm::ALL.to_vec()),
    ) {
        let payload: Vec<u8> = (0..length).map(|i| (i * 31 % 251) as u8).collect();
        let (out, encoded_length) = encode(&payload, algorithm, &pieces);
        prop_assert_eq!(out.len() as u64, encoded_length);
        let name = algorithm.header().as_str().to_owned();
        let mut decoder = Decoder::new(Framing {
            signing: Signing::Unsigned,
            trailer: true,
            decoded_length: Some(length as u64),
            declared: vec![name.clone()],
        });
        let mut decoded = Vec::new();
        decoder.feed(&out, |d| decoded.extend_from_slice(d)).unwrap();
        prop_assert_eq!(decoder.finish(), Ok(length as u64));
        prop_assert_eq!(&decoded, &payload);
        let mut hasher = algorithm.hasher();
        hasher.update(&payload);
        let sent: Vec<(String, Vec<u8>)> =
            decoder.trailers().map(|(n, v)| (n.to_owned(), v.to_vec())).collect();
        prop_assert_eq!(sent, vec![(name, hasher.finish().to_base64().into_bytes())]);
    }
}
