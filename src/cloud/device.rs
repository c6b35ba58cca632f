//! The device half of the contract: a kiosk's heartbeat (its health, the commands it carried out,
//! the beats it missed while the cloud was away) and the commands the cloud answers with.
//! Re-exported from [`super::api`]. Nothing here may carry personal data: readers are named by
//! their PC/SC name or port, errors by machine codes.

use super::api::lenient;
use serde::{Deserialize, Serialize};

/// How a device is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Not checked yet since start.
    #[default]
    Unknown,
    Ok,
    /// Works, but needs a look soon (paper near its end, no sound).
    Warning,
    /// Cannot do its job.
    Error,
}

impl Condition {
    /// The contract's three-valued `Health` (an unchecked device is worth a look).
    pub fn health(self) -> &'static str {
        match self {
            Condition::Ok => "ok",
            Condition::Unknown | Condition::Warning => "warning",
            Condition::Error => "error",
        }
    }
}

/// The printer's state as a machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    #[default]
    Unknown,
    Ready,
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    CutterError,
    /// No device at the port, or it does not answer.
    Offline,
}

impl PrinterState {
    pub fn condition(self) -> Condition {
        match self {
            PrinterState::Unknown => Condition::Unknown,
            PrinterState::Ready => Condition::Ok,
            PrinterState::PaperNearEnd => Condition::Warning,
            _ => Condition::Error,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            PrinterState::Unknown => "unknown",
            PrinterState::Ready => "ready",
            PrinterState::PaperNearEnd => "paper_near_end",
            PrinterState::PaperOut => "paper_out",
            PrinterState::CoverOpen => "cover_open",
            PrinterState::CutterError => "cutter_error",
            PrinterState::Offline => "offline",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PrinterHealth {
    pub condition: Condition,
    pub state: PrinterState,
    /// When the printer last answered a status request.
    #[serde(default)]
    pub checked_at: Option<String>,
}

/// One card reader: its PC/SC name or serial port, never a card's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderHealth {
    pub name: String,
    pub condition: Condition,
    /// `attached`, `lost`, or the last read failure's code (`garbled`, `timeout`, …).
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AudioHealth {
    pub condition: Condition,
    /// Why there is no sound (no device, no voice pack); empty when it speaks.
    #[serde(default)]
    pub detail: String,
}

/// An error code seen recently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecentError {
    pub code: String,
    #[serde(deserialize_with = "lenient::u32")]
    pub count: u32,
    pub last_at: String,
}

/// The devices and queues in detail (the heartbeat's `health`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeviceHealth {
    pub printer: PrinterHealth,
    #[serde(default)]
    pub readers: Vec<ReaderHealth>,
    #[serde(default)]
    pub audio: AudioHealth,
    /// Age of the oldest submission still waiting for the cloud.
    #[serde(default, deserialize_with = "lenient::nullable_u64")]
    pub outbox_oldest_pending_s: Option<u64>,
    /// Print jobs failed or left in doubt in the last 24 hours.
    #[serde(default, deserialize_with = "lenient::u32")]
    pub spool_failures: u32,
    #[serde(default)]
    pub last_errors: Vec<RecentError>,
    #[serde(default, deserialize_with = "lenient::nullable_u64")]
    pub disk_free_mb: Option<u64>,
    /// Local clock minus the cloud's, in ms (positive: the kiosk is ahead).
    #[serde(default, deserialize_with = "lenient::nullable_i64")]
    pub clock_offset_ms: Option<i64>,
    /// Signed updates, on a kiosk that takes them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object_or_null"
    )]
    pub update: Option<UpdateReport>,
}

/// Signed updates on this kiosk (docs/admin.md): the releases it has, what waits, and the last
/// automatic rollback with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateReport {
    /// The release `current` points at.
    #[serde(default)]
    pub current: Option<String>,
    /// The release kept to go back to.
    #[serde(default)]
    pub previous: Option<String>,
    /// Downloaded and unpacked, waiting for the kiosk to be idle.
    #[serde(default)]
    pub pending: Option<String>,
    /// Switched to and not yet proven healthy.
    #[serde(default)]
    pub trial: Option<String>,
    #[serde(default)]
    pub last_check_at: Option<String>,
    /// The last check's failure (verification, download, disk), cleared by the next success.
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default, deserialize_with = "lenient::object_or_null")]
    pub rolled_back: Option<RollbackReport>,
}

/// A release that did not come up healthy and was replaced by the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackReport {
    pub version: String,
    #[serde(default)]
    pub to: Option<String>,
    pub reason: String,
    #[serde(default)]
    pub at: Option<String>,
}

impl DeviceHealth {
    /// The card readers taken together: error when none works, warning when one does not.
    pub fn readers_condition(&self) -> Condition {
        if self.readers.is_empty() || self.readers.iter().all(|r| r.condition == Condition::Error) {
            Condition::Error
        } else if self.readers.iter().any(|r| r.condition != Condition::Ok) {
            Condition::Warning
        } else {
            Condition::Ok
        }
    }
}

/// How a command ended on the kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResult {
    Done,
    Failed,
    /// Not a command this kiosk knows, or a bad argument.
    Refused,
}

/// A command carried out, acknowledged in the next heartbeat (once; the cloud keeps offering a
/// command until it sees its ack, and the kiosk never carries one out twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandAck {
    pub id: String,
    pub result: CommandResult,
    #[serde(default)]
    pub detail: Option<String>,
    /// `run_selftest`: the self-test report.
    #[serde(default)]
    pub report: Option<serde_json::Map<String, serde_json::Value>>,
    /// `upload_logs`: the last log lines (structured, free of personal data).
    #[serde(default)]
    pub log_lines: Option<Vec<String>>,
}

/// A beat the cloud did not get (taken while it was unreachable), sent with the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissedBeat {
    pub at: String,
    pub printer: String,
    pub card_reader: String,
    #[serde(deserialize_with = "lenient::u32")]
    pub pending_outbox: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    pub app_version: String,
    #[serde(deserialize_with = "lenient::u64")]
    pub uptime_s: u64,
    /// Device health by device family: `ok`, `warning` or `error`.
    pub printer: String,
    pub card_reader: String,
    #[serde(deserialize_with = "lenient::u32")]
    pub pending_outbox: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<DeviceHealth>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<CommandAck>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<MissedBeat>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub server_time: String,
    pub commands: Vec<DeviceCommand>,
}

/// What the cloud asks of a kiosk. `command` is one of [`DeviceCommand::KNOWN`]; a kiosk refuses
/// (and acknowledges as refused) any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCommand {
    /// Unique per command: the kiosk acknowledges by it and never carries one out twice.
    pub id: String,
    pub command: String,
    #[serde(default)]
    pub argument: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
}

impl DeviceCommand {
    pub const RELOAD_CATALOG: &'static str = "reload_catalog";
    pub const RELOAD_CONFIG: &'static str = "reload_config";
    pub const PRINT_TEST_PAGE: &'static str = "print_test_page";
    pub const RUN_SELFTEST: &'static str = "run_selftest";
    /// Argument: how many lines (default 200, at most 1000).
    pub const UPLOAD_LOGS: &'static str = "upload_logs";
    pub const RESTART_WHEN_IDLE: &'static str = "restart_when_idle";
    /// Check the update repository now; a release found is switched to once the kiosk is idle.
    pub const CHECK_UPDATE: &'static str = "check_update";
    pub const KNOWN: [&'static str; 7] = [
        Self::RELOAD_CATALOG,
        Self::RELOAD_CONFIG,
        Self::PRINT_TEST_PAGE,
        Self::RUN_SELFTEST,
        Self::UPLOAD_LOGS,
        Self::RESTART_WHEN_IDLE,
        Self::CHECK_UPDATE,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_reports_are_objects_never_arrays_of_their_fields() {
        let with = |update: &str| {
            serde_json::from_str::<DeviceHealth>(&format!(
                r#"{{"printer":{{"state":"ready","condition":"ok"}},"audio":{{"condition":"ok"}},"update":{update}}}"#
            ))
        };
        assert!(with("[null, null]").is_err());
        assert!(with(r#"{"rolled_back":["1.2.3","crashed"]}"#).is_err());
        assert_eq!(with("null").unwrap().update, None);
        let report =
            with(r#"{"current":"1.2.4","rolled_back":{"version":"1.2.5","reason":"crashed"}}"#)
                .unwrap()
                .update
                .unwrap();
        assert_eq!(report.current.as_deref(), Some("1.2.4"));
        assert_eq!(report.rolled_back.unwrap().reason, "crashed");
    }
}
