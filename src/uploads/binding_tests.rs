use super::*;

fn binder() -> Binder {
    Binder::new(&[7u8; 32])
}

fn digest(byte: u8) -> KeyDigest {
    KeyDigest::of_key(&[byte; 32])
}

#[test]
fn a_bound_id_opens_to_the_store_id_and_its_key() {
    let b = binder();
    let id = b.bind("bkt", "a/b c", "2~xYz", Some(&digest(1)));
    assert!(id.starts_with("2~xYz."), "{id}");
    let Opened::Bound(bound) = b.open("bkt", "a/b c", &id) else {
        panic!("not bound: {id}");
    };
    assert_eq!(bound.store_id, "2~xYz");
    assert!(bound.encrypted());
    assert!(b.key_matches("bkt", "a/b c", &bound, &digest(1)));
    assert!(!b.key_matches("bkt", "a/b c", &bound, &digest(2)));

    let plain = b.bind("bkt", "k", "id.with.dots", None);
    let Opened::Bound(bound) = b.open("bkt", "k", &plain) else {
        panic!("not bound: {plain}");
    };
    assert_eq!(bound.store_id, "id.with.dots");
    assert!(!bound.encrypted());
    assert!(!b.key_matches("bkt", "k", &bound, &digest(1)));
}

#[test]
fn ids_for_other_objects_other_keys_or_altered_are_forged() {
    let b = binder();
    let id = b.bind("bkt", "obj", "abc123", Some(&digest(1)));
    assert_eq!(b.open("bkt", "obj2", &id), Opened::Forged);
    assert_eq!(b.open("bkt2", "obj", &id), Opened::Forged);
    assert_eq!(
        Binder::new(&[8u8; 32]).open("bkt", "obj", &id),
        Opened::Forged
    );
    // Another store ID under the same tag.
    let (_, tag) = id.rsplit_once('.').unwrap();
    assert_eq!(
        b.open("bkt", "obj", &format!("abc124.{tag}")),
        Opened::Forged
    );
    assert_eq!(b.open("bkt", "obj", &format!(".{tag}")), Opened::Forged);
    // An encrypted upload's tag cannot be turned into a plain one by dropping its key MAC.
    let mut raw = URL_SAFE_NO_PAD.decode(tag).unwrap();
    raw[0] = PLAIN;
    raw.truncate(1 + MAC_LEN);
    let plain = format!("abc123.{}", URL_SAFE_NO_PAD.encode(&raw));
    assert_eq!(b.open("bkt", "obj", &plain), Opened::Forged);
    // Every single-byte change of the tag, the key MAC included, forges the ID.
    let tag_bytes = URL_SAFE_NO_PAD.decode(tag).unwrap();
    for i in 0..tag_bytes.len() {
        let mut changed = tag_bytes.clone();
        changed[i] ^= 0x01;
        let altered = format!("abc123.{}", URL_SAFE_NO_PAD.encode(&changed));
        let opened = b.open("bkt", "obj", &altered);
        assert!(
            matches!(opened, Opened::Forged | Opened::Untagged),
            "byte {i}: {opened:?}"
        );
    }
}

#[test]
fn store_ids_are_untagged() {
    let b = binder();
    for id in ["abc", "2~Zt6nOTrJq4d9xV", "a.b", "a.", "0123456789abcdef"] {
        assert_eq!(b.open("bkt", "obj", id), Opened::Untagged, "{id}");
    }
}
