//! `ssec-proxy --config FILE` runs the proxy; `ssec-proxy validate --config FILE` checks
//! the file and everything it references, exiting non-zero with the key path on error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Many small, short-lived allocations on every thread: glibc's allocator spends a
/// tenth of the proxy's time there under load; mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::Arc;

use ssec_proxy::config::Config;
use ssec_proxy::credentials::Credentials;
use ssec_proxy::health::Identify;
use ssec_proxy::inject::BucketKeys;
use ssec_proxy::s3::store::LiveStore;
use ssec_proxy::server::{Exit, Server, Signal};
use ssec_proxy::store_client::StoreClient;
use ssec_proxy::{rekey, telemetry, tls};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "SSEC_PROXY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check the configuration and the files it references, then exit.
    Validate,
    /// Key injection's keys (resign mode).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Rewrite every object of an injecting bucket still under one of its
    /// previous_key_files to the current key, in place (resign mode). Resumable: a
    /// second run finds nothing to do. Exits non-zero if any object failed.
    Rekey {
        /// The bucket.
        #[arg(long)]
        bucket: String,
        /// Only objects whose key starts with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Check and count; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Objects rewritten at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: u16,
        /// Part size (MiB) where the store cannot copy SSE-C objects and rekey streams
        /// them; larger objects are written as multipart uploads.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(5..=5120))]
        part_size_mib: u64,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print (base64, for x-amz-server-side-encryption-customer-key) the SSE-C key an
    /// object is written under, so its data stays readable without the proxy: the
    /// bucket's injected key, or with inject_derive = "object" the object's own key.
    Derive {
        /// The bucket.
        #[arg(long)]
        bucket: String,
        /// The object key, as stored (not URL-encoded).
        #[arg(long)]
        key: String,
        /// Use previous_key_files[N] instead of inject_key_file.
        #[arg(long, value_name = "N")]
        previous: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(file) = cli.config else {
        eprintln!("error: --config FILE is required");
        return ExitCode::from(2);
    };
    match cli.command {
        Some(Command::Validate) => validate(&file),
        Some(Command::Key {
            command:
                KeyCommand::Derive {
                    bucket,
                    key,
                    previous,
                },
        }) => derive(&file, &bucket, &key, previous),
        Some(Command::Rekey {
            bucket,
            prefix,
            dry_run,
            jobs,
            part_size_mib,
        }) => rekey(
            &file,
            &rekey::Options {
                bucket,
                prefix,
                dry_run,
                jobs: usize::from(jobs),
                part_size: part_size_mib * 1024 * 1024,
            },
        ),
        None => run(&file),
    }
}

fn validate(file: &Path) -> ExitCode {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("invalid: {e}");
            return ExitCode::FAILURE;
        }
    };
    let t = &config.live.tls;
    if let Err(e) = tls::load_material(&t.cert, &t.key, t.client_ca.as_deref())
        .and_then(|_| tls::upstream_client_config(config.restart.upstream.ca_file.as_deref()))
    {
        eprintln!("invalid: {}: {e}", file.display());
        return ExitCode::FAILURE;
    }
    // Every secret file, read as a reload reads it (never printed).
    if let Some(Err(e)) = config.live.auth.as_ref().map(Credentials::load) {
        eprintln!("invalid: {}: {e}", file.display());
        return ExitCode::FAILURE;
    }
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    println!("{}", config.addressing_note());
    println!("{}", config.auth_summary());
    println!("upstream.store: {}", identify_store(&config));
    println!("ok: {}", file.display());
    ExitCode::SUCCESS
}

/// For the key commands: the configuration, its credential table (every secret file
/// read) and the keys of the rule injecting into `bucket`; otherwise the reason on
/// stderr.
fn injection(
    file: &Path,
    bucket: &str,
) -> Result<(Config, Arc<Credentials>, Arc<BucketKeys>), ExitCode> {
    let config = Config::load(file).map_err(|e| {
        eprintln!("invalid: {e}");
        ExitCode::FAILURE
    })?;
    let Some(settings) = config.live.auth.as_ref() else {
        eprintln!("error: key injection needs auth.mode = \"resign\"");
        return Err(ExitCode::FAILURE);
    };
    let credentials = Credentials::load(settings).map_err(|e| {
        eprintln!("invalid: {}: {e}", file.display());
        ExitCode::FAILURE
    })?;
    let Some(keys) = credentials.inject_keys(bucket).cloned() else {
        eprintln!("error: no ssec.buckets rule injects a key into bucket {bucket}");
        return Err(ExitCode::FAILURE);
    };
    Ok((config, Arc::new(credentials), keys))
}

/// `key derive`: the object's key on stdout, nothing else; errors on stderr.
fn derive(file: &Path, bucket: &str, key: &str, previous: Option<usize>) -> ExitCode {
    use base64::Engine as _;
    let keys = match injection(file, bucket) {
        Ok((_, _, keys)) => keys,
        Err(code) => return code,
    };
    let keys = keys.for_object(bucket, key);
    let chosen = match previous {
        None => Some(&keys.current),
        Some(n) => keys.previous.get(n),
    };
    let Some(chosen) = chosen else {
        eprintln!(
            "error: bucket {bucket}'s rule has {} previous key file(s)",
            keys.previous.len()
        );
        return ExitCode::FAILURE;
    };
    let encoded = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD.encode(chosen.expose().expose()),
    );
    println!("{}", encoded.as_str());
    ExitCode::SUCCESS
}

/// The least time rekey waits for the store without progress (a copy's answer).
const REKEY_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// `rekey`: a progress line on stderr when it is a terminal, one line on stderr per
/// object left alone for a reason worth knowing or failed, the summary on stdout.
fn rekey(file: &Path, options: &rekey::Options) -> ExitCode {
    use std::io::{IsTerminal as _, Write as _};
    let bucket = &options.bucket;
    let (config, credentials, keys) = match injection(file, bucket) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // A copy answers only once it is done: a large object's can take minutes.
    let mut upstream = config.restart.upstream.clone();
    upstream.idle_timeout = upstream.idle_timeout.max(REKEY_IDLE_TIMEOUT);
    let client = match StoreClient::new(&upstream, Arc::clone(&credentials)) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("invalid: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let terminal = std::io::stderr().is_terminal();
    let report = |tally: &rekey::Tally, name: &str, outcome: &rekey::Outcome| {
        let mut err = std::io::stderr().lock();
        // Names escaped: a key's control characters must not forge a line.
        let name = name.escape_debug();
        let line = match outcome {
            rekey::Outcome::Failed(reason) => Some(format!("failed: {name}: {reason}")),
            rekey::Outcome::UnknownKey => Some(format!(
                "skipped: {name}: under a key the configuration does not hold"
            )),
            rekey::Outcome::Plaintext => Some(format!("skipped: {name}: not encrypted")),
            rekey::Outcome::Gone => Some(format!("skipped: {name}: listed, then not found")),
            _ => None,
        };
        if terminal {
            let _ = write!(err, "\r\x1b[K");
        }
        if let Some(line) = line {
            let _ = writeln!(err, "{line}");
        }
        if terminal {
            let _ = write!(
                err,
                "checked {}  {} {}  skipped {}  failed {}",
                tally.checked,
                if options.dry_run {
                    "to rewrite"
                } else {
                    "rewritten"
                },
                tally.rewritten,
                tally.skipped(),
                tally.failed
            );
        }
    };
    let result = runtime.block_on(async {
        if let Some(status) = rekey::versioning(&client, bucket).await {
            eprintln!(
                "warning: versioning on {bucket} is {status}: rekey rewrites current versions only (older versions stay under their keys) and each rewrite adds a version"
            );
        }
        rekey::run(&client, &keys, options, report).await
    });
    if terminal {
        eprintln!();
    }
    let tally = match result {
        Ok(tally) => tally,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "rekey {bucket}{}{}: checked {}, {} {}, skipped {} (current {}, not encrypted {}, unknown key {}, gone {}), failed {}",
        if options.prefix.is_empty() {
            ""
        } else {
            " prefix "
        },
        options.prefix,
        tally.checked,
        if options.dry_run {
            "would rewrite"
        } else {
            "rewritten"
        },
        tally.rewritten,
        tally.skipped(),
        tally.current,
        tally.plaintext,
        tally.unknown_key,
        tally.gone,
        tally.failed,
    );
    if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What `upstream.store` means for this file: the named store, or under `auto` what
/// the store answers now (one unauthenticated `GET /`, bounded by the connect timeout).
fn identify_store(config: &Config) -> String {
    let upstream = &config.restart.upstream;
    let store = Arc::new(LiveStore::new(upstream.store));
    if !store.pending() {
        return store.describe();
    }
    // `validate` already loaded this configuration without error.
    let Ok(tls) = tls::upstream_client_config(upstream.ca_file.as_deref()) else {
        return store.describe();
    };
    let Some(identify) = Identify::pending(upstream, tls, &store) else {
        return store.describe();
    };
    let asked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(identify.once(upstream.connect_timeout)));
    match asked {
        Ok(true) => store.describe(),
        Ok(false) => {
            "auto: the store did not answer; requests are refused until it does".to_owned()
        }
        Err(e) => format!("auto: cannot ask the store ({e})"),
    }
}

fn run(file: &Path) -> ExitCode {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("invalid: {e}");
            return ExitCode::FAILURE;
        }
    };
    let log = &config.restart.log;
    let set_log_level =
        match telemetry::init(log.format, &config.live.log_level, log.file.as_deref()) {
            Ok(setter) => setter,
            Err(e) => {
                eprintln!("invalid: log.file: {e}");
                return ExitCode::FAILURE;
            }
        };
    for warning in config.warnings() {
        tracing::warn!(warning = %warning, "configuration");
    }
    // The control runtime: signals, admin endpoints, probe, reloads. Traffic runs on
    // the server's own worker threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start runtime");
            return ExitCode::FAILURE;
        }
    };
    let exit = runtime.block_on(async {
        let signals = match signals() {
            Ok(signals) => signals,
            Err(e) => {
                tracing::error!(error = %e, "cannot install signal handlers");
                return None;
            }
        };
        let server = match Server::start(&config, set_log_level).await {
            Ok(server) => server,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                eprintln!("error: {e}");
                return None;
            }
        };
        Some(server.run(signals).await)
    });
    // Connections still open after the grace period are cut here.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match exit {
        Some(Exit::Graceful) => ExitCode::SUCCESS,
        Some(Exit::GraceExpired | Exit::Forced) | None => ExitCode::FAILURE,
    }
}

/// SIGTERM and SIGINT ask for shutdown (a second one forces it); SIGHUP asks for a
/// reload.
fn signals() -> std::io::Result<tokio::sync::mpsc::UnboundedReceiver<Signal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                _ = term.recv() => Signal::Terminate,
                _ = int.recv() => Signal::Terminate,
                _ = hup.recv() => Signal::Reload,
            };
            if tx.send(signal).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}
