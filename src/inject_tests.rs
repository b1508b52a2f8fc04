use super::*;
use crate::s3::op::S3Op;
use crate::s3::ssec::{Groups, check_groups};
use crate::secret::key32;

fn key(byte: u8) -> SsecKey {
    SsecKey::new(key32(&[byte; 32]).unwrap())
}

#[test]
fn sets_a_triple_that_passes_awss_validation_with_the_key_sensitive() {
    let k = key(7);
    let mut headers = HeaderMap::new();
    k.set(&mut headers, Group::Destination);
    k.set(&mut headers, Group::CopySource);
    let checked = check_groups(S3Op::CopyObject, &Groups::from_headers(&headers), true).unwrap();
    let digest = checked.destination.unwrap();
    assert!(checked.source.unwrap().matches(&digest));
    assert_eq!(
        headers[SSE_C_KEY].to_str().unwrap(),
        STANDARD.encode([7u8; 32])
    );
    assert_eq!(
        headers[SSE_C_KEY_MD5].to_str().unwrap(),
        STANDARD.encode(Md5::digest([7u8; 32]))
    );
    assert!(headers[SSE_C_KEY].is_sensitive());
    assert!(headers[COPY_SOURCE_SSE_C_KEY].is_sensitive());
    assert_eq!(headers.len(), 6);
}

#[test]
fn replaces_rather_than_repeats() {
    let mut headers = HeaderMap::new();
    key(1).set(&mut headers, Group::Destination);
    key(2).set(&mut headers, Group::Destination);
    assert_eq!(headers.get_all(SSE_C_KEY).iter().count(), 1);
    assert_eq!(
        headers[SSE_C_KEY_MD5].to_str().unwrap(),
        key(2).md5_base64()
    );
}

#[test]
fn any_header_of_a_group_counts_as_sent() {
    for name in Group::Destination.names() {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static("x"));
        assert!(Group::Destination.sent(&headers));
        assert!(!Group::CopySource.sent(&headers));
    }
}

#[test]
fn the_first_matching_rule_decides() {
    let keys = Arc::new(BucketKeys {
        current: key(1),
        previous: vec![key(2)],
        derive: false,
    });
    let table = InjectTable::new(vec![
        (glob::Pattern::new("app-plain").unwrap(), None),
        (
            glob::Pattern::new("app-*").unwrap(),
            Some(Arc::clone(&keys)),
        ),
    ]);
    assert!(table.for_bucket("app-plain").is_none());
    assert_eq!(table.for_bucket("app-data"), Some(&keys));
    assert!(table.for_bucket("other").is_none());
    assert!(!table.is_empty());
    assert!(InjectTable::default().is_empty());
    let order: Vec<&str> = keys.all().map(SsecKey::md5_base64).collect();
    assert_eq!(order, [key(1).md5_base64(), key(2).md5_base64()]);
}

#[test]
fn debug_shows_no_key_material() {
    let k = key(0x41);
    let shown = format!(
        "{k:?} {:?}",
        BucketKeys {
            current: k.clone(),
            previous: vec![],
            derive: false,
        }
    );
    assert!(!shown.contains(&STANDARD.encode([0x41u8; 32])));
    assert!(!shown.contains(k.md5_base64()));
    assert!(!shown.contains("AAAA"));
}

/// Known answers computed independently (Python's hmac and hashlib, RFC 5869 by hand):
/// salt "ssec-proxy inject_derive object v1", info = be32(len bucket) bucket be32(len
/// key) key.
#[test]
fn derives_object_keys_as_documented() {
    let b64 = |k: &Key32| STANDARD.encode(k.expose());
    let k: [u8; 32] = std::array::from_fn(|i| i as u8);
    let k = key32(&k).unwrap();
    assert_eq!(
        b64(&derive_object_key(&k, "app-data", "reports/2026/q4.csv")),
        "vNfchngLVsE9YekAuhqpuRY7Iq/+NUJRpUJd+5h5Oz4="
    );
    // The length prefixes keep "app-dat" + "areports…" apart from "app-data" + "reports…".
    assert_eq!(
        b64(&derive_object_key(&k, "app-dat", "areports/2026/q4.csv")),
        "tM0Cz1hQMYNIG55dpjnv7d++iAg+y7lQA9QOuJpMAf8="
    );
    assert_eq!(
        b64(&derive_object_key(&key32(&[7; 32]).unwrap(), "b", "")),
        "V9OwwWBAv8hNEuxJQPZ1NMGkUMaBzv2TNjVGkGbcmXg="
    );
}

#[test]
fn derived_keys_replace_every_key_of_the_bucket() {
    let keys = Arc::new(BucketKeys {
        current: key(1),
        previous: vec![key(2)],
        derive: true,
    });
    let a = keys.for_object("b", "x");
    assert_eq!(
        a.current,
        SsecKey::new(derive_object_key(key(1).expose(), "b", "x"))
    );
    assert_eq!(
        a.previous,
        [SsecKey::new(derive_object_key(key(2).expose(), "b", "x"))]
    );
    assert_ne!(keys.for_object("b", "y").current, a.current);
    let plain = Arc::new(BucketKeys {
        derive: false,
        ..(*keys).clone()
    });
    assert!(Arc::ptr_eq(&plain.for_object("b", "x"), &plain));
}
