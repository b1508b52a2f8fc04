//! Logging setup: `[log] format` (json | text) and `level`, overridden by `RUST_LOG`.
//! The level can change while running (configuration reload) unless `RUST_LOG` is set.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, fmt, reload};

use crate::config::{LogConfig, LogFormat};
use crate::reload::LogLevelSetter;

/// Installs the global subscriber, writing to stdout. Returns how to change the level
/// later, or `None` when `RUST_LOG` decides it.
pub fn init(log: &LogConfig) -> Option<LogLevelSetter> {
    let from_env = EnvFilter::try_from_default_env().ok();
    let pinned = from_env.is_some();
    let filter = from_env
        .or_else(|| EnvFilter::try_new(&log.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let output = match log.format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Text => fmt::layer().boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .try_init();
    if pinned {
        return None;
    }
    Some(Box::new(move |level: &str| {
        let filter = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    }))
}
