//! Bianmin's signed updates, in the spirit of Bottlerocket's tuftool and updog: TUF (The Update
//! Framework) through the `tough` crate, never hand-made signing.
//!
//! - The admin side ([`ReleaseRepo`]) keeps a static TUF repository (`metadata/`, `targets/`, the
//!   layout tuftool writes) that any web server or CDN can serve: one target per release archive,
//!   whose `custom` field in targets.json carries the [`ReleaseInfo`] (version, minimum version to
//!   update from, waves, paused, revoked).
//! - The kiosk side ([`Updater`]) verifies the repository with a persistent datastore (so a
//!   rollback or a freeze is caught across reboots), picks the newest release this kiosk may take
//!   ([`choose_release`]), downloads it (size and hash checked by tough while reading), unpacks it
//!   into `RELEASES/X.Y.Z` and switches the `RELEASES/current` symlink atomically
//!   ([`install`]). What happened is kept in an [`UpdateStatus`] for `bianmin update status` and
//!   the heartbeat.
//! - The health gate ([`Gate`]) keeps a switched-to release only when it proves healthy, and
//!   otherwise brings back the one before it.

mod error;
mod fault;
pub mod gate;
pub mod install;
mod keys;
mod meta;
mod release;
mod status;
mod updater;

pub use error::{InstallError, ReleaseError, UpdateError};
pub use gate::{CrashLoop, Gate, Start};
pub use keys::{KeysDir, Role};
pub use meta::{
    choose_release, device_bucket, target_name, Candidate, Choice, ReleaseInfo, Skipped, Wave,
    CUSTOM_FIELD,
};
pub use release::{Expiries, InitOptions, ReleaseRepo, RepoRelease};
pub use status::{RolledBack, Trial, TrialFailure, UpdateStatus, GOOD_KEPT, STATUS_FILE};
pub use updater::{Applied, CheckReport, Staged, Updater, UpdaterOptions};

/// What tough's types say about time and repositories, re-exported for tests and callers that
/// build an expiry or look at a loaded repository.
pub use jiff::{SignedDuration, Timestamp};
pub use semver::Version;
