//! What a release says about itself in the signed targets.json, and which release a kiosk takes.
//!
//! Each release archive is one TUF target named [`target_name`]; its `custom` field holds a
//! [`ReleaseInfo`] under [`CUSTOM_FIELD`]. Because it sits inside targets.json it is signed by the
//! targets key like the archive's hash, so a pause, a revoke or a wider wave is as trustworthy as
//! the release itself.

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};

/// The key of the release's record in a target's `custom` map.
pub const CUSTOM_FIELD: &str = "bianmin";

/// The TUF target name of a release's archive.
pub fn target_name(version: &Version) -> String {
    format!("bianmin-{version}.tar.gz")
}

/// A release as the admin published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInfo {
    pub version: Version,
    /// Kiosks running anything older must first take an intermediate release (e.g. one that
    /// migrates the data folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<Version>,
    /// Cumulative rollout steps: at `opens_at`, `percent` of the fleet may take the release.
    pub waves: Vec<Wave>,
    /// The rollout is stopped: kiosks that have not taken it wait.
    #[serde(default)]
    pub paused: bool,
    /// Withdrawn for good: kiosks that have not taken it never will.
    #[serde(default)]
    pub revoked: bool,
}

/// One rollout step, Bottlerocket-style: devices whose [`device_bucket`] is below `percent` may
/// take the release from `opens_at` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    pub percent: u8,
    pub opens_at: Timestamp,
}

/// A device's place in the fleet, 0..100, from SHA-256 of its id: stable across runs and
/// releases, so "10 %" is the same tenth of the kiosks every time, and nobody can pick it.
pub fn device_bucket(device_id: &str) -> u8 {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, device_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    // 2^64 mod 100 = 16: the skew towards low buckets is 16 in 2^64, nothing a fleet notices.
    (u64::from_be_bytes(first) % 100) as u8
}

impl ReleaseInfo {
    /// The share of the fleet that may take the release at `now` (the widest wave open by then).
    pub fn open_percent(&self, now: Timestamp) -> u8 {
        self.waves
            .iter()
            .filter(|w| w.opens_at <= now)
            .map(|w| w.percent.min(100))
            .max()
            .unwrap_or(0)
    }

    /// Why a device in `bucket` running `running` may not take this release at `now`, if any.
    pub fn refusal(&self, running: &Version, bucket: u8, now: Timestamp) -> Option<Skipped> {
        if self.version <= *running {
            return Some(Skipped::NotNewer);
        }
        if self.revoked {
            return Some(Skipped::Revoked);
        }
        if self.paused {
            return Some(Skipped::Paused);
        }
        if let Some(min) = &self.min_version {
            if running < min {
                return Some(Skipped::BelowMinimum(min.clone()));
            }
        }
        let open = self.open_percent(now);
        if bucket >= open {
            return Some(Skipped::NotInWave {
                bucket,
                open_percent: open,
            });
        }
        None
    }
}

/// Why a listed release is not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Skipped {
    /// Not newer than the running release (a downgrade is never offered).
    NotNewer,
    Revoked,
    Paused,
    /// The kiosk runs something older than the release's minimum version.
    BelowMinimum(Version),
    /// The waves open so far do not reach this kiosk's bucket.
    NotInWave {
        bucket: u8,
        open_percent: u8,
    },
    /// This kiosk installed it before and it did not come up healthy.
    KnownBad,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::NotNewer => write!(f, "not newer than the running release"),
            Skipped::Revoked => write!(f, "revoked"),
            Skipped::Paused => write!(f, "rollout paused"),
            Skipped::BelowMinimum(min) => write!(f, "needs {min} or newer to update from"),
            Skipped::NotInWave {
                bucket,
                open_percent,
            } => write!(
                f,
                "this kiosk's wave has not opened (bucket {bucket}, {open_percent} % open)"
            ),
            Skipped::KnownBad => write!(f, "it failed its health check here before"),
        }
    }
}

/// A release listed in the repository and what this kiosk makes of it.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub version: Version,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
}

/// The outcome of [`choose_release`]: the release to take (if any) and every listed one with
/// the reason it was or was not taken, newest first.
#[derive(Debug, Clone)]
pub struct Choice {
    pub take: Option<ReleaseInfo>,
    pub listed: Vec<Candidate>,
}

/// The newest release a kiosk running `running`, in `bucket`, may take at `now`; `known_bad`
/// are versions that failed their health check on this kiosk.
pub fn choose_release(
    releases: impl IntoIterator<Item = ReleaseInfo>,
    running: &Version,
    bucket: u8,
    known_bad: &[Version],
    now: Timestamp,
) -> Choice {
    let mut releases: Vec<ReleaseInfo> = releases.into_iter().collect();
    releases.sort_by(|a, b| b.version.cmp(&a.version));
    let mut take = None;
    let mut listed = Vec::with_capacity(releases.len());
    for r in releases {
        let skipped = r
            .refusal(running, bucket, now)
            .or_else(|| known_bad.contains(&r.version).then_some(Skipped::KnownBad));
        if skipped.is_none() && take.is_none() {
            take = Some(r.clone());
        }
        listed.push(Candidate {
            version: r.version,
            skipped,
        });
    }
    Choice { take, listed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(v: &str, percent: u8) -> ReleaseInfo {
        ReleaseInfo {
            version: v.parse().unwrap(),
            min_version: None,
            waves: vec![Wave {
                percent,
                opens_at: Timestamp::UNIX_EPOCH,
            }],
            paused: false,
            revoked: false,
        }
    }

    #[test]
    fn the_newest_eligible_release_is_taken_and_older_ones_never() {
        let running: Version = "0.2.0".parse().unwrap();
        let now = Timestamp::now();
        let mut paused = release("0.4.0", 100);
        paused.paused = true;
        let c = choose_release(
            [release("0.1.0", 100), release("0.3.0", 100), paused],
            &running,
            50,
            &[],
            now,
        );
        assert_eq!(c.take.unwrap().version.to_string(), "0.3.0");
        assert_eq!(c.listed[0].skipped, Some(Skipped::Paused));
        assert_eq!(c.listed[2].skipped, Some(Skipped::NotNewer));
        let c = choose_release(
            [release("0.3.0", 100)],
            &running,
            1,
            &["0.3.0".parse().unwrap()],
            now,
        );
        assert!(c.take.is_none());
    }

    #[test]
    fn a_wave_opens_by_bucket_and_time() {
        let mut r = release("1.0.0", 10);
        r.waves.push(Wave {
            percent: 60,
            opens_at: Timestamp::now() + jiff::SignedDuration::from_hours(1),
        });
        let running: Version = "0.1.0".parse().unwrap();
        assert!(r.refusal(&running, 9, Timestamp::now()).is_none());
        assert!(r.refusal(&running, 10, Timestamp::now()).is_some());
        let later = Timestamp::now() + jiff::SignedDuration::from_hours(2);
        assert!(r.refusal(&running, 59, later).is_none());
        let mut min = release("1.0.0", 100);
        min.min_version = Some("0.5.0".parse().unwrap());
        assert!(matches!(
            min.refusal(&running, 0, Timestamp::now()),
            Some(Skipped::BelowMinimum(_))
        ));
    }
}
