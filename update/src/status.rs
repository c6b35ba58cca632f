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
    /// The last automatic rollback (the heartbeat reports it with its reason).
    pub rolled_back: Option<RolledBack>,
    /// Releases that failed their health check here: never taken again.
    pub known_bad: Vec<Version>,
    /// A release switched to and not yet proven healthy (see [`crate::gate`]).
    pub trial: Option<Trial>,
    /// The release the service manager last started (recorded before each start by the gate,
    /// so a stop can be told apart: the trial release's, or the old one's on its way out).
    pub launching: Option<Version>,
    /// The devices that passed their check under the last release proven healthy: a new
    /// release on trial must not fail any of them.
    pub healthy_devices: Vec<String>,
    /// The last releases proven healthy here, newest last (at most [`GOOD_KEPT`]): they stay on
    /// disk, so a rollback always finds one and the one before it.
    pub good: Vec<Version>,
}

/// How many releases proven healthy stay on disk.
pub const GOOD_KEPT: usize = 2;

impl UpdateStatus {
    /// `running` proved healthy: it joins the good releases (the oldest beyond [`GOOD_KEPT`]
    /// leaves).
    pub fn proven_good(&mut self, running: &Version) {
        self.good.retain(|v| v != running);
        self.good.push(running.clone());
        let extra = self.good.len().saturating_sub(GOOD_KEPT);
        self.good.drain(..extra);
    }

    /// The releases that must stay on disk: the good ones, the one `current` names, the one on
    /// trial and the one waiting for an idle moment.
    pub fn to_keep(&self, current: Option<&Version>) -> Vec<Version> {
        let mut keep = self.good.clone();
        let trial = self.trial.as_ref().map(|t| &t.version);
        for v in [current, trial, self.pending.as_ref()]
            .into_iter()
            .flatten()
        {
            if !keep.contains(v) {
                keep.push(v.clone());
            }
        }
        keep
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledBack {
    pub version: Version,
    pub reason: String,
    /// Back to this release.
    pub to: Option<Version>,
    pub at: Option<Timestamp>,
}

/// A release on trial: switched to, restarted into, not yet healthy for long enough.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    pub version: Version,
    /// The release it replaced, to go back to.
    pub previous: Option<Version>,
    pub switched_at: Timestamp,
    /// Its starts that ended (crashed, killed for not reporting ready, or stopped) before it
    /// was proven healthy.
    #[serde(default)]
    pub failures: Vec<TrialFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialFailure {
    pub at: Timestamp,
    /// systemd's word for how the start ended (`exit-code`, `signal`, `core-dump`, `timeout`,
    /// `watchdog`, …) with the exit status when there is one.
    pub how: String,
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

/// Changes the saved status under `change`, after bringing `current` and `previous` in line with
/// the `current` symlink (the truth: a run cut short after its switch did not record it).
pub(crate) fn record(
    data_dir: &Path,
    releases_dir: &Path,
    change: impl FnOnce(&mut UpdateStatus),
) -> Result<(), crate::UpdateError> {
    let mut status = UpdateStatus::load(data_dir);
    let on_disk = crate::install::current_version(releases_dir);
    if on_disk.is_some() && on_disk != status.current {
        if status.current.is_some() {
            status.previous = status.current.take();
        }
        status.current = on_disk;
    }
    change(&mut status);
    status
        .save(data_dir)
        .map_err(|source| crate::UpdateError::State {
            path: data_dir.join(STATUS_FILE),
            source,
        })
}
