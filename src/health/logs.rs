//! Logging: structured to journald when the kiosk runs under systemd (stderr otherwise), and the
//! last lines kept in memory for the cloud's `upload_logs` command. The kiosk never logs names or
//! ID numbers (codes, numbers of tickets and cases, device names only), so what is kept here may
//! leave the kiosk.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Lines kept for upload.
const KEPT: usize = 1000;

fn ring() -> &'static Mutex<VecDeque<String>> {
    static RING: OnceLock<Mutex<VecDeque<String>>> = OnceLock::new();
    RING.get_or_init(|| Mutex::new(VecDeque::with_capacity(KEPT)))
}

/// The last `n` log lines (at most 1000), oldest first.
pub fn recent(n: usize) -> Vec<String> {
    let ring = ring().lock().expect("log ring lock");
    let skip = ring.len().saturating_sub(n.min(KEPT));
    ring.iter().skip(skip).cloned().collect()
}

/// Keeps every event as one line: `time level target: message key=value …`.
struct RingLayer;

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Line(format!(
            "{} {} {}:",
            crate::time::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
            meta.level(),
            meta.target()
        ));
        event.record(&mut line);
        let mut ring = ring().lock().expect("log ring lock");
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(line.0);
    }
}

/// Installs the process's logging. Under systemd (`JOURNAL_STREAM` set) events go to journald
/// with their fields as journal fields; otherwise to stderr. `RUST_LOG` filters as usual.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,symphonia=warn".into());
    let journald = std::env::var_os("JOURNAL_STREAM")
        .is_some()
        .then(|| tracing_journald::layer().ok())
        .flatten()
        .map(|l| l.with_syslog_identifier("bianmin".into()));
    let stderr = journald
        .is_none()
        .then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    tracing_subscriber::registry()
        .with(filter)
        .with(journald)
        .with(stderr)
        .with(RingLayer)
        .init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ring_keeps_the_last_lines_with_their_fields() {
        let sub = tracing_subscriber::registry().with(super::RingLayer);
        use tracing_subscriber::layer::SubscriberExt;
        tracing::subscriber::with_default(sub, || {
            for i in 0..1005 {
                tracing::info!(n = i, code = "printer_paper_out", "line");
            }
        });
        let last = super::recent(3);
        assert_eq!(last.len(), 3);
        assert!(
            last[2].contains("line n=1004 code=\"printer_paper_out\""),
            "{}",
            last[2]
        );
        assert_eq!(super::recent(5000).len(), 1000);
    }
}
