//! Configuration parsing (`config::Config::parse`) on arbitrary UTF-8 text.
//!
//! Invalid UTF-8 is dropped (the proxy reads the file with `read_to_string`).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ssec_proxy::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("/tmp/fuzz.toml")) {
        Ok(config) => {
            let _ = config.warnings();
            let live = &config.live.ssec;
            for bucket in [None, Some("vault"), Some("public-x"), Some("")] {
                let _ = live.policies.for_bucket(bucket);
            }
            assert!(config.restart.changed_keys(&config.restart).is_empty());
            let _ = format!("{config:?}");
        }
        Err(err) => {
            let _ = err.to_string();
            let _ = err.key();
        }
    }
});
