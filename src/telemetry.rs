//! Logging setup: `[log] format` (json | text), `level` (overridden by `RUST_LOG`) and
//! `file` (stdout when unset). Access lines have their own writer (`access_log`).
//! The level can change while running (configuration reload) unless `RUST_LOG` is set.
//! Targets that log once per file-system event stay at `info` whatever is asked.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, fmt, reload};

use crate::config::LogFormat;
use crate::reload::LogLevelSetter;

/// Installs the global subscriber, writing to stdout in `format`, filtered by `level`
/// (`log.level`). Returns how to change the level later, or `None` when `RUST_LOG`
/// decides it.
pub fn init(
    format: LogFormat,
    level: &str,
    file: Option<&Path>,
) -> std::io::Result<Option<LogLevelSetter>> {
    let writer = match file {
        Some(path) => BoxMakeWriter::new(Arc::new(append(path)?)),
        None => BoxMakeWriter::new(std::io::stdout),
    };
    let from_env = EnvFilter::try_from_default_env().ok();
    let pinned = from_env.is_some();
    let filter = from_env
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let output = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => fmt::layer().with_writer(writer).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(PerEventCap)
        .with(output)
        .try_init();
    if pinned {
        return Ok(None);
    }
    Ok(Some(Box::new(move |level: &str| {
        let filter = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    })))
}

/// Where log lines go: `log.file`, appended, or stdout.
pub fn output(file: Option<&Path>) -> std::io::Result<Box<dyn Write + Send>> {
    Ok(match file {
        Some(path) => Box::new(append(path)?),
        None => Box::new(std::io::stdout()),
    })
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Crates that log at `debug`/`trace` for every file-system event they see (notify:
/// "inotify event: …"). With the log file in a watched directory, each such line is
/// itself the next event: the proxy would fill its disk by itself.
const PER_EVENT_TARGETS: [&str; 1] = ["notify"];

/// Drops `debug` and `trace` events of `PER_EVENT_TARGETS`, whatever `log.level` or
/// `RUST_LOG` asks for. A layer of its own rather than directives in the `EnvFilter`:
/// a more specific user directive (`notify::inotify=trace`) cannot lift it, and it
/// gives no level hint, so it never widens the global maximum level.
struct PerEventCap;

impl PerEventCap {
    fn drops(metadata: &Metadata<'_>) -> bool {
        *metadata.level() > Level::INFO && logs_per_file_event(metadata.target())
    }
}

impl<S: Subscriber> Layer<S> for PerEventCap {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if Self::drops(metadata) {
            Interest::never()
        } else {
            Interest::always()
        }
    }

    // Records bridged from the `log` crate have no callsite: they are decided here.
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        !Self::drops(metadata)
    }
}

/// Whether `target` is one of `PER_EVENT_TARGETS` or a module inside one.
fn logs_per_file_event(target: &str) -> bool {
    PER_EVENT_TARGETS.iter().any(|krate| {
        target
            .strip_prefix(krate)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn caps_the_file_watcher_and_its_modules_only() {
        for target in ["notify", "notify::inotify"] {
            assert!(logs_per_file_event(target), "{target}");
        }
        for target in [
            "notify_debouncer_mini",
            "ssec_proxy::reload",
            "mio::poll",
            "",
        ] {
            assert!(!logs_per_file_event(target), "{target}");
        }
    }

    /// Collects formatted lines.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn drops_per_event_lines_even_at_trace() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new("trace,notify::inotify=trace"))
            .with(PerEventCap)
            .with(fmt::layer().with_writer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "notify::inotify", "inotify event");
            tracing::debug!(target: "notify::inotify", "unknown descriptor");
            tracing::info!(target: "notify::inotify", "watch not removed");
            tracing::trace!(target: "ssec_proxy::reload", "own trace");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("inotify event"), "{text}");
        assert!(!text.contains("unknown descriptor"), "{text}");
        assert!(text.contains("watch not removed"), "{text}");
        assert!(text.contains("own trace"), "{text}");
    }
}
