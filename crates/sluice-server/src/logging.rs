//! Where log lines go and how they look: standard error, filtered by `RUST_LOG` (default `info`),
//! as text or as one JSON object per line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the process's log subscriber. Text carries ANSI colours only when standard error is a
/// terminal, so a log file or journald gets plain lines. JSON lines carry the event's fields at the
/// top level and the enclosing request span (its id, action and queue) under `span`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
