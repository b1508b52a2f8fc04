//! `ssec-proxy --config FILE` runs the proxy; `ssec-proxy validate --config FILE` checks
//! the file and everything it references, exiting non-zero with the key path on error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ssec_proxy::config::Config;
use ssec_proxy::server::Server;
use ssec_proxy::{telemetry, tls};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(file) = cli.config else {
        eprintln!("error: --config FILE is required");
        return ExitCode::from(2);
    };
    match cli.command {
        Some(Command::Validate) => validate(&file),
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
    if let Err(e) = tls::load_certified_key(&config.server.tls_cert, &config.server.tls_key)
        .and_then(|_| tls::upstream_client_config(config.upstream.ca_file.as_deref()))
    {
        eprintln!("invalid: {}: {e}", file.display());
        return ExitCode::FAILURE;
    }
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    println!("ok: {}", file.display());
    ExitCode::SUCCESS
}

fn run(file: &Path) -> ExitCode {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("invalid: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&config.log);
    for warning in config.warnings() {
        tracing::warn!(warning = %warning, "configuration");
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = config.server.worker_threads {
        runtime.worker_threads(n);
    }
    let runtime = match runtime.build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let server = match Server::start(&config).await {
            Ok(server) => server,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        server.run_until(shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the process can only be killed; run forever.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
