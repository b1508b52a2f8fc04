use super::*;

/// Reads `value` (TOML) as the key `v` of a table, as the configuration file does.
fn read<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, String> {
    #[derive(Deserialize)]
    struct Table<T> {
        v: T,
    }
    toml::from_str::<Table<T>>(&format!("v = {value}"))
        .map(|t| t.v)
        .map_err(|e| e.message().to_owned())
}

fn refusal<T: serde::de::DeserializeOwned + std::fmt::Debug>(value: &str) -> String {
    read::<T>(value).unwrap_err()
}

#[test]
fn reads_durations_written_as_text() {
    let d = |value| read::<HumanDuration>(value).unwrap().0;
    assert_eq!(d("\"10s\""), Duration::from_secs(10));
    assert_eq!(d("\"2m 30s\""), Duration::from_secs(150));
    assert_eq!(d("\"7d\""), Duration::from_secs(7 * 24 * 3600));
    assert_eq!(d("\"250ms\""), Duration::from_millis(250));
    assert_eq!(d("\"0s\""), Duration::ZERO);
    assert_eq!(
        read::<NonZeroDuration>("\"90s\"").unwrap(),
        NonZeroDuration::secs(90)
    );
}

#[test]
fn refuses_malformed_and_zero_durations() {
    let e = refusal::<HumanDuration>("\"soon\"");
    assert!(
        e.starts_with("`soon` is not a duration like \"10s\": "),
        "{e}"
    );
    for bad in ["\"10\"", "\"\"", "\"-1s\"", "\"10 parsecs\""] {
        assert!(
            refusal::<HumanDuration>(bad).contains("is not a duration"),
            "{bad}"
        );
    }
    assert_eq!(
        refusal::<NonZeroDuration>("\"0s\""),
        "must be greater than zero"
    );
    assert!(refusal::<NonZeroDuration>("\"soon\"").contains("is not a duration"));
    // A number is not a duration: the unit must be written.
    assert!(refusal::<NonZeroDuration>("10").contains("invalid type: integer `10`"));
}

#[test]
fn reads_listen_addresses() {
    let a = |value| read::<ListenAddr>(value).unwrap().0;
    assert_eq!(
        a("\"127.0.0.1:8443\""),
        SocketAddr::from(([127, 0, 0, 1], 8443))
    );
    assert_eq!(a("\"0.0.0.0:0\"").port(), 0);
    assert!(a("\"[::1]:9901\"").is_ipv6());
    assert_eq!(
        refusal::<ListenAddr>("\"localhost:8443\""),
        "`localhost:8443` is not an address like 127.0.0.1:8443"
    );
    for bad in ["\"127.0.0.1\"", "\"\"", "\"127.0.0.1:99999\"", "\"::1:80\""] {
        assert!(
            refusal::<ListenAddr>(bad).contains("is not an address"),
            "{bad}"
        );
    }
}

#[test]
fn optional_listen_address_is_off_when_empty() {
    assert_eq!(read::<OptionalListenAddr>("\"\"").unwrap().0, None);
    assert_eq!(
        read::<OptionalListenAddr>("\"127.0.0.1:9901\"").unwrap().0,
        Some(SocketAddr::from(([127, 0, 0, 1], 9901)))
    );
    assert_eq!(
        refusal::<OptionalListenAddr>("\"127.0.0.1\""),
        "`127.0.0.1` is not an address like 127.0.0.1:8443"
    );
    assert_eq!(OptionalListenAddr::default().0, None);
}

#[test]
fn host_names_are_lower_cased_without_a_leading_dot() {
    let h = |value| read::<HostName>(value).unwrap().0;
    assert_eq!(h("\".S3.Example.com\""), "s3.example.com");
    assert_eq!(h("\"gw.example.org\""), "gw.example.org");
    for bad in [
        "\"a/b\"",
        "\"s3.example.com:443\"",
        "\"a b\"",
        "\"\"",
        "\".\"",
    ] {
        assert!(
            refusal::<HostName>(bad).contains("is not a host name like s3.example.com"),
            "{bad}"
        );
    }
}

#[test]
fn file_paths_resolve_against_the_configuration_directory() {
    let dir = Path::new("/etc/ssec");
    let p = |value| read::<FilePath>(value).unwrap();
    assert_eq!(
        p("\"certs/server.pem\"").resolve(Some(dir)),
        PathBuf::from("/etc/ssec/certs/server.pem")
    );
    assert_eq!(
        p("\"/abs/server.key\"").resolve(Some(dir)),
        PathBuf::from("/abs/server.key")
    );
    // `proxy.toml` in the working directory: its parent is "", and paths stay relative.
    assert_eq!(
        p("\"certs/a.pem\"").resolve(Path::new("proxy.toml").parent()),
        PathBuf::from("certs/a.pem")
    );
    assert_eq!(p("\"a.pem\"").resolve(None), PathBuf::from("a.pem"));
    assert_eq!(refusal::<FilePath>("\"\""), "must name a file");
    assert!(refusal::<FilePath>("1").contains("invalid type"));
}

#[test]
fn reads_store_endpoints() {
    let e = read::<Endpoint>("\"https://store.internal:9000\"").unwrap();
    assert_eq!(e.scheme, Scheme::HTTPS);
    assert_eq!(e.authority.as_str(), "store.internal:9000");
    let e = read::<Endpoint>("\"http://127.0.0.1:8333/\"").unwrap();
    assert_eq!(e.scheme, Scheme::HTTP);
    assert_eq!(e.authority.as_str(), "127.0.0.1:8333");
}

#[test]
fn refuses_endpoints_that_are_not_a_bare_http_url() {
    for (bad, why) in [
        ("\"ftp://h:1\"", "must start with http:// or https://"),
        ("\"127.0.0.1:8333\"", "must start with http:// or https://"),
        ("\"/just/a/path\"", "must start with http:// or https://"),
        ("\"http://h:1/path\"", "must not have a path or query"),
        ("\"http://h:1/?q\"", "must not have a path or query"),
        ("\"http://u:p@h:1\"", "must not carry credentials"),
        ("\"http://h:1:2:3\"", "`http://h:1:2:3` is not a URL"),
        ("\"\"", "`` is not a URL"),
    ] {
        assert_eq!(refusal::<Endpoint>(bad), why, "{bad}");
    }
}

#[test]
fn counts_have_a_floor() {
    assert_eq!(read::<AtLeast<1>>("1").unwrap(), AtLeast(1));
    assert_eq!(read::<AtLeast<8192>>("65536").unwrap(), AtLeast(65536));
    assert_eq!(refusal::<AtLeast<1>>("0"), "must be at least 1");
    assert_eq!(refusal::<AtLeast<8192>>("8191"), "must be at least 8192");
    assert!(refusal::<AtLeast<1>>("-1").contains("-1"));
    assert!(refusal::<AtLeast<1>>("\"3\"").contains("invalid type"));
}

#[test]
fn reads_bucket_globs() {
    let g = read::<BucketGlob>("\"public-*\"").unwrap().0;
    assert!(g.matches("public-x") && !g.matches("private"));
    assert!(read::<BucketGlob>("\"vault\"").unwrap().0.matches("vault"));
    let e = refusal::<BucketGlob>("\"a[\"");
    assert!(e.starts_with("`a[` is not a glob: "), "{e}");
}

#[test]
fn reads_key_digests_in_header_form() {
    let d = read::<KeyMd5>("\"zZ0MVlsXnkA0dTQ7RnfyVQ==\"").unwrap().0;
    assert_eq!(d.to_base64(), "zZ0MVlsXnkA0dTQ7RnfyVQ==");
    // Not 16 bytes, not base64.
    for bad in ["\"AAAA\"", "\"nope\"", "\"\""] {
        assert!(
            refusal::<KeyMd5>(bad).starts_with("must be the base64 MD5 of a key"),
            "{bad}"
        );
    }
    // The digest is never printed.
    assert_eq!(format!("{:?}", KeyMd5(d)), "KeyMd5(KeyDigest(..))");
}

#[test]
fn reads_regions_as_clients_sign_them() {
    for good in [
        "us-east-1",
        "us-gov-west-1",
        "eu-central-2",
        "garage",
        "default",
        "zg_1",
    ] {
        assert_eq!(read::<Region>(&format!("{good:?}")).unwrap().0, good);
    }
    let long = "a".repeat(64);
    for bad in [
        "",
        "US-EAST-1",
        "us east 1",
        "us-east-1/s3",
        "-us",
        "é",
        long.as_str(),
    ] {
        let e = refusal::<Region>(&format!("{bad:?}"));
        assert!(
            e.ends_with(
                "is not a region like us-east-1 (lowercase letters, digits, - and _, at most 63)"
            ),
            "{bad}: {e}"
        );
    }
}

#[test]
fn reads_access_keys_within_bounds() {
    let max = "A".repeat(128);
    for good in [
        "AKIAIOSFODNN7EXAMPLE",
        "minioadmin",
        "GK31c2f218a2e44f485b94239e",
        "app_key.v2-x",
        "abc",
        max.as_str(),
    ] {
        assert_eq!(read::<AccessKey>(&format!("{good:?}")).unwrap().0, good);
    }
    let long = "A".repeat(129);
    for bad in [
        "",
        "ab",
        "AKIA/2024",
        "AKIA EXAMPLE",
        "AKIA,X",
        "AKIA=X",
        long.as_str(),
    ] {
        let e = refusal::<AccessKey>(&format!("{bad:?}"));
        assert!(
            e.ends_with("is not an access key (3 to 128 of A-Z a-z 0-9 _ . -)"),
            "{bad}: {e}"
        );
    }
}
