//! What the updater last did, kept as JSON in the data folder for `bianmin update status`, the
//! technician page and the heartbeat (which reports a rollback with its reason).

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file name of the status in the data folder.
pub const STATUS_FILE: &str = "update-status.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateStatus {
    /// The release `current` points at.
    pub current: Option<Version>,
    /// The last good release before it (kept on disk to go back to).
    pub previous: Option<Version>,
    /// A release chosen and not yet switched to (waiting for the kiosk to be idle).
    pub pending: Option<Version>,
    pub last_check: Option<Timestamp>,
    /// The last check's or apply's failure, cleared by the next success.
    pub last_error: Option<String>,
    /// The last automatic rollback, until the heartbeat has reported it.
    pub rolled_back: Option<RolledBack>,
    /// Releases that failed their health check here: never taken again.
    pub known_bad: Vec<Version>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledBack {
    pub version: Version,
    pub reason: String,
}

impl UpdateStatus {
    /// The saved status; none yet (or an unreadable one) is the empty status.
    pub fn load(data_dir: &Path) -> UpdateStatus {
        std::fs::read(data_dir.join(STATUS_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves by a rename, so a power cut leaves the old status or the new one.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(STATUS_FILE);
        let tmp = data_dir.join(format!("{STATUS_FILE}.tmp"));
        let json = serde_json::to_vec_pretty(self).expect("the status is JSON");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
    }
}
