//! The kiosk's health as the heartbeat, the metrics endpoint and the technician page see it:
//! the devices, the outbox, the print spool, the disk, the clock and recent error codes.
//!
//! Never personal data: readers are named by their PC/SC name or port, errors by machine codes.
//! The [`HealthBoard`] is written where things happen (the kiosk task after a printer status,
//! the reader threads on attach/lose, the voice on a fault) and read as a [`HealthSnapshot`];
//! a change of a device's condition wakes the heartbeat at once.

pub mod heartbeat;
pub mod logs;
pub mod metrics;
pub mod systemd;

pub use metrics::{Metrics, MetricsServer};

use crate::storage::Store;
use bianmin_idcard::ReaderEvent;
use bianmin_printer::{Paper, PrintError, PrinterStatus};
use serde::{Deserialize, Serialize};

pub use crate::cloud::api::{
    AudioHealth, Condition, DeviceHealth, PrinterHealth, PrinterState, ReaderHealth, RecentError,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Everything the heartbeat reports and the technician page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HealthSnapshot {
    pub app_version: String,
    pub uptime_s: u64,
    pub outbox_pending: u32,
    /// `up`, `slow`, `down` or `unknown`.
    pub cloud_link: String,
    /// When the cloud last answered a heartbeat.
    pub last_heartbeat_at: Option<String>,
    pub devices: DeviceHealth,
}

/// The printer's state after a status request (or a failed one).
pub fn printer_state(status: &Result<PrinterStatus, PrintError>) -> PrinterState {
    match status {
        Ok(s) if !s.online => PrinterState::Offline,
        Ok(s) if s.paper == Paper::Out => PrinterState::PaperOut,
        Ok(s) if s.cover_open => PrinterState::CoverOpen,
        Ok(s) if s.cutter_error => PrinterState::CutterError,
        Ok(s) if s.paper == Paper::NearEnd => PrinterState::PaperNearEnd,
        Ok(_) => PrinterState::Ready,
        Err(e) => match e.cause() {
            PrintError::PaperOut => PrinterState::PaperOut,
            PrintError::CoverOpen => PrinterState::CoverOpen,
            PrintError::CutterError => PrinterState::CutterError,
            _ => PrinterState::Offline,
        },
    }
}

/// How many distinct error codes the board remembers.
const ERROR_CODES_KEPT: usize = 20;

#[derive(Default)]
struct BoardState {
    printer: PrinterHealth,
    readers: BTreeMap<String, ReaderHealth>,
    audio: AudioHealth,
    errors: BTreeMap<String, RecentError>,
    clock_offset_ms: Option<i64>,
    last_heartbeat_at: Option<String>,
}

/// The shared, always-current health of this kiosk. Cheap to clone.
#[derive(Clone)]
pub struct HealthBoard {
    state: Arc<Mutex<BoardState>>,
    changed: Arc<tokio::sync::Notify>,
    started: Instant,
    data_dir: PathBuf,
    pub metrics: &'static Metrics,
    restart: Arc<std::sync::atomic::AtomicBool>,
}

impl HealthBoard {
    /// The data folder whose free space and durability it reports.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn new(data_dir: &Path) -> HealthBoard {
        HealthBoard {
            state: Arc::default(),
            changed: Arc::default(),
            started: Instant::now(),
            data_dir: data_dir.to_path_buf(),
            metrics: Metrics::global(),
            restart: Arc::default(),
        }
    }

    /// The kiosk is idle and a command asked for a restart: the heartbeat restarts the app once
    /// the command's acknowledgement is delivered.
    pub fn request_restart(&self) {
        self.restart
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn restart_requested(&self) -> bool {
        self.restart.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn update(&self, f: impl FnOnce(&mut BoardState) -> bool) {
        let changed = f(&mut self.state.lock().expect("health lock"));
        if changed {
            self.changed.notify_one();
        }
    }

    /// Wakes when a device's condition changed (the heartbeat reports at once).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// After any printer status request. A change of state wakes the heartbeat.
    pub fn printer_checked(&self, status: &Result<PrinterStatus, PrintError>) {
        let state = printer_state(status);
        if state != PrinterState::Ready {
            self.error(&format!("printer_{}", state.code()));
        }
        self.update(|b| {
            let was = b.printer.state;
            b.printer = PrinterHealth {
                condition: state.condition(),
                state,
                checked_at: Some(crate::time::now_rfc3339()),
            };
            was != state
        });
    }

    /// A reader thread's event: attach, loss and read failures (never the card).
    pub fn reader_event(&self, ev: &ReaderEvent) {
        let (reader, condition, state) = match ev {
            ReaderEvent::ReaderAttached { reader } => (reader, Condition::Ok, "attached".into()),
            ReaderEvent::ReaderLost { reader } => (reader, Condition::Error, "lost".into()),
            ReaderEvent::CardInserted { reader, .. } | ReaderEvent::CardRemoved { reader } => {
                (reader, Condition::Ok, "attached".into())
            }
            ReaderEvent::ReadFailed { reader, reason } => {
                let code = reason.code();
                self.error(&format!("reader_{code}"));
                (reader, Condition::Ok, code.to_string())
            }
        };
        if matches!(ev, ReaderEvent::ReaderLost { .. }) {
            self.error("reader_lost");
        }
        self.update(|b| {
            let new = ReaderHealth {
                name: reader.clone(),
                condition,
                state,
            };
            let was = b.readers.insert(reader.clone(), new);
            was.map(|w| w.condition) != Some(condition)
        });
    }

    /// The voice's fault (`None`: it speaks).
    pub fn audio(&self, fault: Option<String>) {
        self.update(|b| {
            let condition = if fault.is_some() {
                Condition::Warning
            } else {
                Condition::Ok
            };
            let changed = b.audio.condition != condition;
            b.audio = AudioHealth {
                condition,
                detail: fault.unwrap_or_default(),
            };
            changed
        });
    }

    /// Counts an error by its machine code (`printer_paper_out`, `cloud_timeout`, …).
    pub fn error(&self, code: &str) {
        self.metrics.error(code);
        let mut b = self.state.lock().expect("health lock");
        let at = crate::time::now_rfc3339();
        if !b.errors.contains_key(code) && b.errors.len() >= ERROR_CODES_KEPT {
            // Forget the code seen longest ago.
            if let Some(oldest) = b
                .errors
                .values()
                .min_by(|a, b| a.last_at.cmp(&b.last_at))
                .map(|e| e.code.clone())
            {
                b.errors.remove(&oldest);
            }
        }
        let e = b.errors.entry(code.to_string()).or_insert(RecentError {
            code: code.to_string(),
            count: 0,
            last_at: at.clone(),
        });
        e.count += 1;
        e.last_at = at;
    }

    /// After a heartbeat the cloud answered.
    pub fn heartbeat_answered(&self, clock_offset_ms: i64) {
        self.update(|b| {
            b.clock_offset_ms = Some(clock_offset_ms);
            b.last_heartbeat_at = Some(crate::time::now_rfc3339());
            false
        });
    }

    /// The whole picture now; the outbox, spool and disk are read from `store` and the data dir.
    pub fn snapshot(
        &self,
        store: &Store,
        cloud_link: Option<crate::cloud::Link>,
    ) -> HealthSnapshot {
        let b = self.state.lock().expect("health lock");
        let mut errors: Vec<RecentError> = b.errors.values().cloned().collect();
        errors.sort_by(|a, b| b.last_at.cmp(&a.last_at));
        let (pending, oldest) = store.outbox_pending_age().unwrap_or((0, None));
        HealthSnapshot {
            app_version: crate::version::version().into(),
            uptime_s: self.started.elapsed().as_secs(),
            outbox_pending: pending,
            cloud_link: match cloud_link {
                None => "unknown",
                Some(crate::cloud::Link::Up) => "up",
                Some(crate::cloud::Link::Slow) => "slow",
                Some(crate::cloud::Link::Down) => "down",
            }
            .into(),
            last_heartbeat_at: b.last_heartbeat_at.clone(),
            devices: DeviceHealth {
                printer: b.printer.clone(),
                readers: b.readers.values().cloned().collect(),
                audio: b.audio.clone(),
                outbox_oldest_pending_s: oldest,
                spool_failures: store.spool_failures_since_hours(24).unwrap_or(0),
                last_errors: errors,
                disk_free_mb: disk_free_mb(&self.data_dir),
                clock_offset_ms: b.clock_offset_ms,
                update: update_report(&self.data_dir),
            },
        }
    }
}

/// What the updater keeps in the data folder, as the heartbeat reports it (none on a kiosk that
/// has never checked for updates).
fn update_report(data_dir: &Path) -> Option<crate::cloud::api::UpdateReport> {
    let s = bianmin_update::UpdateStatus::load(data_dir);
    if s == bianmin_update::UpdateStatus::default() {
        return None;
    }
    let v = |v: &Option<bianmin_update::Version>| v.as_ref().map(|v| v.to_string());
    // Bounded as the contract bounds them (tough's errors can be long).
    let clip = |t: &str| t.chars().take(1000).collect::<String>();
    Some(crate::cloud::api::UpdateReport {
        current: v(&s.current),
        previous: v(&s.previous),
        pending: v(&s.pending),
        trial: s.trial.as_ref().map(|t| t.version.to_string()),
        last_check_at: s.last_check.map(|t| t.to_string()),
        last_error: s.last_error.as_deref().map(clip),
        rolled_back: s
            .rolled_back
            .as_ref()
            .map(|r| crate::cloud::api::RollbackReport {
                version: r.version.to_string(),
                to: v(&r.to),
                reason: clip(&r.reason),
                at: r.at.map(|t| t.to_string()),
            }),
    })
}

/// Free space for the kiosk's data, in MiB (what an unprivileged writer may use).
pub fn disk_free_mb(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid NUL-terminated string and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    (rc == 0).then(|| (st.f_bavail as u64).saturating_mul(st.f_frsize as u64) / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_states_map_to_conditions_and_changes_are_told() {
        let dir = tempfile_dir();
        let board = HealthBoard::new(&dir);
        let ok = Ok(PrinterStatus {
            online: true,
            cover_open: false,
            paper: Paper::Ok,
            cutter_error: false,
        });
        board.printer_checked(&ok);
        let store = Store::open_in(&dir).unwrap();
        let s = board.snapshot(&store, None);
        assert_eq!(s.devices.printer.state, PrinterState::Ready);
        assert_eq!(s.devices.printer.condition, Condition::Ok);
        board.printer_checked(&Err(PrintError::PaperOut));
        let s = board.snapshot(&store, None);
        assert_eq!(s.devices.printer.state, PrinterState::PaperOut);
        assert_eq!(s.devices.printer.condition, Condition::Error);
        assert_eq!(s.devices.last_errors[0].code, "printer_paper_out");
        assert!(s.devices.disk_free_mb.unwrap() > 0);
        // The change was told (a permit is stored for the next waiter).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), board.changed())
                .await
                .expect("a change wakes the heartbeat")
        });
    }

    #[test]
    fn readers_are_named_and_losses_counted() {
        let dir = tempfile_dir();
        let board = HealthBoard::new(&dir);
        let store = Store::open_in(&dir).unwrap();
        assert_eq!(
            board.snapshot(&store, None).devices.readers_condition(),
            Condition::Error
        );
        board.reader_event(&ReaderEvent::ReaderAttached {
            reader: "ACS ACR39U".into(),
        });
        board.reader_event(&ReaderEvent::ReaderAttached {
            reader: "/dev/bianmin-idreader".into(),
        });
        assert_eq!(
            board.snapshot(&store, None).devices.readers_condition(),
            Condition::Ok
        );
        board.reader_event(&ReaderEvent::ReaderLost {
            reader: "ACS ACR39U".into(),
        });
        let s = board.snapshot(&store, None);
        assert_eq!(s.devices.readers_condition(), Condition::Warning);
        assert_eq!(s.devices.last_errors[0].code, "reader_lost");
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "bianmin-health-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
