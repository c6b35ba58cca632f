//! The health gate: a release switched to stays only when it proves healthy; otherwise the
//! release it replaced comes back, the bad one is remembered and never taken again, and the
//! reason waits in the status for the next heartbeat.
//!
//! Two parties judge, because a broken release cannot be trusted to judge itself:
//! - the service manager's hooks around every start ([`Gate::before_start`],
//!   [`Gate::after_stop`]), run with the *previous* release's binary (`RELEASES/previous`), count
//!   the trial release's starts that end before it was proven healthy — a crash, a kill for not
//!   reporting READY in time, a watchdog kill, any exit — and roll back after
//!   [`CrashLoop::restarts`] of them within [`CrashLoop::within`];
//! - the release on trial itself ([`Gate::started`], [`Gate::unhealthy`], [`Gate::confirm`]):
//!   it rolls back at once when a device that passed under the last good release fails its
//!   check, and confirms itself after READY and a probation without a crash.

use crate::error::UpdateError;
use crate::install;
use crate::status::{record, RolledBack, TrialFailure, UpdateStatus};
use jiff::{SignedDuration, Timestamp};
use semver::Version;
use std::path::PathBuf;

/// When repeated ends of a release on trial count as a crash loop.
#[derive(Debug, Clone, Copy)]
pub struct CrashLoop {
    pub restarts: u32,
    pub within: SignedDuration,
}

impl Default for CrashLoop {
    /// Three starts in ten minutes.
    fn default() -> Self {
        CrashLoop {
            restarts: 3,
            within: SignedDuration::from_mins(10),
        }
    }
}

/// Where the releases and the update state are.
#[derive(Debug, Clone)]
pub struct Gate {
    pub releases_dir: PathBuf,
    pub data_dir: PathBuf,
    pub crash_loop: CrashLoop,
}

/// What a starting release learns about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Not on trial: a release proven healthy before (or one run outside the releases folder).
    Settled,
    /// On trial: it must not fail any of `healthy_devices` and must stay up for the probation.
    OnTrial {
        previous: Option<Version>,
        healthy_devices: Vec<String>,
    },
    /// A rollback away from this release was cut short (it is known bad): finish it.
    RollBack { reason: String },
}

/// How systemd says a start ended (`$SERVICE_RESULT`, `$EXIT_CODE`, `$EXIT_STATUS` in
/// `ExecStopPost=`), in words for the rollback's reason.
pub fn describe_end(service_result: &str, exit_code: &str, exit_status: &str) -> String {
    match (service_result, exit_code) {
        ("timeout", _) => "did not report ready within the start limit".into(),
        ("watchdog", _) => "stopped answering the watchdog".into(),
        (_, "killed" | "dumped") => format!("crashed (signal {exit_status})"),
        ("success", _) | (_, "exited") if exit_status == "0" || exit_status.is_empty() => {
            "exited before it was proven healthy".into()
        }
        (_, "exited") => format!("exited with status {exit_status}"),
        ("", "") => "ended before it was proven healthy".into(),
        (result, code) => format!("ended ({result}, {code} {exit_status})"),
    }
}

impl Gate {
    fn record(&self, change: impl FnOnce(&mut UpdateStatus)) -> Result<(), UpdateError> {
        record(&self.data_dir, &self.releases_dir, change)
    }

    pub fn status(&self) -> UpdateStatus {
        UpdateStatus::load(&self.data_dir)
    }

    /// Before the service manager starts `current`: which release is starting.
    pub fn before_start(&self) -> Result<(), UpdateError> {
        let launching = install::current_version(&self.releases_dir);
        self.record(|s| s.launching = launching)
    }

    /// After a start of the service ended, however it ended (`how`, from [`describe_end`]): a
    /// release on trial that ended before it was proven healthy collects a failure, and
    /// enough of them within the window roll it back. Returns the rollback, if there was one.
    pub fn after_stop(&self, how: &str) -> Result<Option<RolledBack>, UpdateError> {
        let status = self.status();
        let Some(trial) = status.trial.clone() else {
            return Ok(None);
        };
        // The old release stopping to restart into the new one is no failure of the new one.
        if status.launching.as_ref() != Some(&trial.version) {
            return Ok(None);
        }
        let now = Timestamp::now();
        self.record(|s| {
            if let Some(t) = s.trial.as_mut() {
                t.failures.push(TrialFailure {
                    at: now,
                    how: how.to_string(),
                });
            }
        })?;
        let since = now - self.crash_loop.within;
        let failures = self
            .status()
            .trial
            .map(|t| t.failures.iter().filter(|f| f.at >= since).count())
            .unwrap_or(0);
        if failures < self.crash_loop.restarts as usize {
            return Ok(None);
        }
        let reason = format!(
            "{failures} starts within {} min ended before it was healthy (last: {how})",
            self.crash_loop.within.as_mins()
        );
        self.rollback(&reason).map(Some)
    }

    /// At the start of the kiosk running `running`: is it on trial?
    pub fn started(&self, running: &Version) -> Result<Start, UpdateError> {
        let status = self.status();
        let Some(trial) = status.trial.clone() else {
            return Ok(Start::Settled);
        };
        if trial.version == *running {
            if let Some(r) = status.known_bad.contains(running).then_some(()).and(
                status
                    .rolled_back
                    .as_ref()
                    .filter(|r| r.version == *running),
            ) {
                return Ok(Start::RollBack {
                    reason: r.reason.clone(),
                });
            }
            return Ok(Start::OnTrial {
                previous: trial.previous,
                healthy_devices: status.healthy_devices,
            });
        }
        if install::current_version(&self.releases_dir).as_ref() != Some(&trial.version) {
            // The power went between writing the trial and switching: the old release runs,
            // and the new one stays pending for the next idle moment.
            self.record(|s| s.trial = None)?;
        }
        Ok(Start::Settled)
    }

    /// The release on trial found itself unhealthy (a device that passed before fails): back
    /// to the previous release now.
    pub fn unhealthy(&self, reason: &str) -> Result<RolledBack, UpdateError> {
        self.rollback(reason)
    }

    /// The release `running` stayed healthy through its probation (or was not on trial): it
    /// stays, joins the good releases kept on disk, and `healthy_devices` become what the next
    /// release must not fail. Releases neither good nor running are removed.
    pub fn confirm(
        &self,
        running: &Version,
        healthy_devices: Vec<String>,
    ) -> Result<(), UpdateError> {
        let on_trial = self.status().trial.is_some_and(|t| t.version == *running);
        let current = install::current_version(&self.releases_dir);
        self.record(|s| {
            if on_trial {
                s.trial = None;
            }
            s.healthy_devices = healthy_devices;
            // A binary run from outside the releases folder proves nothing about one inside.
            if current.as_ref() == Some(running) {
                s.proven_good(running);
            }
        })?;
        if on_trial {
            // The release it replaced stays too, good or not yet proven (a kiosk's first).
            let mut keep = self.status().to_keep(current.as_ref());
            keep.extend(install::previous_version(&self.releases_dir));
            install::prune(&self.releases_dir, &keep)?;
        }
        Ok(())
    }

    /// Just before switching away from the running release (the kiosk idle): the devices that
    /// pass their check under it now are what the release on trial must not fail.
    pub fn baseline(&self, healthy_devices: Vec<String>) -> Result<(), UpdateError> {
        self.record(|s| s.healthy_devices = healthy_devices)
    }

    /// Points `current` back at the release the one on trial replaced, remembers the bad one
    /// (never taken again) and why, and removes it. The bad version and the reason are saved
    /// before the switch, so a power cut in between is finished by the next start.
    pub fn rollback(&self, reason: &str) -> Result<RolledBack, UpdateError> {
        let status = self.status();
        let trial = status
            .trial
            .clone()
            .ok_or_else(|| UpdateError::NothingToRollBack {
                reason: "no release is on trial".into(),
            })?;
        let to = trial
            .previous
            .clone()
            .or_else(|| install::previous_version(&self.releases_dir))
            .filter(|p| {
                self.releases_dir
                    .join(p.to_string())
                    .join("bin/bianmin")
                    .is_file()
            })
            .ok_or_else(|| UpdateError::NothingToRollBack {
                reason: format!("the release before {} is not on disk", trial.version),
            })?;
        let rolled = RolledBack {
            version: trial.version.clone(),
            reason: reason.to_string(),
            to: Some(to.clone()),
            at: Some(Timestamp::now()),
        };
        self.record(|s| {
            if !s.known_bad.contains(&trial.version) {
                s.known_bad.push(trial.version.clone());
            }
            s.rolled_back = Some(rolled.clone());
        })?;
        install::switch(&self.releases_dir, &to)?;
        // The good release before `to` becomes the one to go back to (the last two good ones
        // stay on disk).
        let before = status
            .good
            .iter()
            .rev()
            .find(|v| **v != to && **v != trial.version)
            .filter(|v| {
                self.releases_dir
                    .join(v.to_string())
                    .join("bin/bianmin")
                    .is_file()
            })
            .cloned();
        match &before {
            Some(b) => install::set_previous(&self.releases_dir, b)?,
            None => {
                let _ = std::fs::remove_file(self.releases_dir.join(install::PREVIOUS));
            }
        }
        self.record(|s| {
            s.trial = None;
            s.current = Some(to.clone());
            s.previous = before.clone();
            s.pending = None;
            s.proven_good(&to);
        })?;
        install::prune(&self.releases_dir, &self.status().to_keep(Some(&to)))?;
        Ok(rolled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Trial;

    fn release(dir: &std::path::Path, v: &str) -> Version {
        let bin = dir.join(v).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("bianmin"), v).unwrap();
        v.parse().unwrap()
    }

    /// 1.0.0 good and previous, 1.1.0 switched to and on trial.
    fn on_trial() -> (tempfile::TempDir, Gate) {
        let dir = tempfile::tempdir().unwrap();
        let gate = Gate {
            releases_dir: dir.path().join("releases"),
            data_dir: dir.path().join("data"),
            crash_loop: CrashLoop::default(),
        };
        let old = release(&gate.releases_dir, "1.0.0");
        let new = release(&gate.releases_dir, "1.1.0");
        install::switch(&gate.releases_dir, &old).unwrap();
        gate.record(|s| s.healthy_devices = vec!["printer".into()])
            .unwrap();
        install::set_previous(&gate.releases_dir, &old).unwrap();
        gate.record(|s| {
            s.trial = Some(Trial {
                version: new.clone(),
                previous: Some(old.clone()),
                switched_at: Timestamp::now(),
                failures: vec![],
            })
        })
        .unwrap();
        install::switch(&gate.releases_dir, &new).unwrap();
        (dir, gate)
    }

    #[test]
    fn a_crash_loop_rolls_back_and_the_old_release_stopping_does_not_count() {
        let (_d, gate) = on_trial();
        // The old release on its way out (launching was 1.0.0): not the new one's failure.
        gate.record(|s| s.launching = Some("1.0.0".parse().unwrap()))
            .unwrap();
        assert_eq!(
            gate.after_stop("exited before it was proven healthy")
                .unwrap(),
            None
        );
        for _ in 0..2 {
            gate.before_start().unwrap();
            assert_eq!(gate.after_stop("crashed (signal SEGV)").unwrap(), None);
        }
        gate.before_start().unwrap();
        let rolled = gate.after_stop("crashed (signal SEGV)").unwrap().unwrap();
        assert_eq!(rolled.version.to_string(), "1.1.0");
        assert!(rolled.reason.contains("3 starts"), "{}", rolled.reason);
        assert_eq!(
            install::current_version(&gate.releases_dir)
                .unwrap()
                .to_string(),
            "1.0.0"
        );
        let s = gate.status();
        assert_eq!(s.known_bad, vec!["1.1.0".parse::<Version>().unwrap()]);
        assert!(s.trial.is_none());
        assert!(!gate.releases_dir.join("1.1.0").exists());
        // Nothing on trial any more: further stops change nothing.
        assert_eq!(gate.after_stop("timeout").unwrap(), None);
    }

    #[test]
    fn the_release_on_trial_confirms_itself_or_rolls_back_when_a_device_fails() {
        let (_d, gate) = on_trial();
        let new: Version = "1.1.0".parse().unwrap();
        assert_eq!(
            gate.started(&new).unwrap(),
            Start::OnTrial {
                previous: Some("1.0.0".parse().unwrap()),
                healthy_devices: vec!["printer".into()]
            }
        );
        gate.confirm(&new, vec!["printer".into(), "audio".into()])
            .unwrap();
        assert_eq!(gate.started(&new).unwrap(), Start::Settled);
        assert!(
            gate.releases_dir.join("1.0.0").exists(),
            "the last two stay"
        );
        assert!(gate.rollback("late").is_err(), "nothing on trial");

        let (_d, gate) = on_trial();
        let rolled = gate.unhealthy("printer failed its check").unwrap();
        assert_eq!(rolled.to, Some("1.0.0".parse().unwrap()));
        assert_eq!(
            gate.status().rolled_back.unwrap().reason,
            "printer failed its check"
        );
    }

    #[test]
    fn the_last_two_good_releases_stay_through_a_rollback() {
        let (_d, gate) = on_trial();
        let (old, new): (Version, Version) = ("1.0.0".parse().unwrap(), "1.1.0".parse().unwrap());
        gate.record(|s| s.good = vec![old.clone()]).unwrap();
        gate.confirm(&new, vec![]).unwrap();
        assert_eq!(gate.status().good, vec![old.clone(), new.clone()]);
        // 1.2.0 on trial after 1.1.0: 1.0.0 stays on disk while it is tried.
        let bad = release(&gate.releases_dir, "1.2.0");
        install::set_previous(&gate.releases_dir, &new).unwrap();
        gate.record(|s| {
            s.trial = Some(Trial {
                version: bad.clone(),
                previous: Some(new.clone()),
                switched_at: Timestamp::now(),
                failures: vec![],
            })
        })
        .unwrap();
        install::switch(&gate.releases_dir, &bad).unwrap();
        let rolled = gate.rollback("crashed").unwrap();
        assert_eq!(rolled.to, Some(new.clone()));
        assert_eq!(
            install::installed_versions(&gate.releases_dir),
            vec![old.clone(), new.clone()]
        );
        assert_eq!(
            install::previous_version(&gate.releases_dir),
            Some(old.clone())
        );
        let s = gate.status();
        assert_eq!((s.current, s.previous), (Some(new), Some(old)));
    }

    #[test]
    fn a_trial_written_but_never_switched_to_is_cleared_by_the_old_release() {
        let (_d, gate) = on_trial();
        let old: Version = "1.0.0".parse().unwrap();
        install::switch(&gate.releases_dir, &old).unwrap();
        assert_eq!(gate.started(&old).unwrap(), Start::Settled);
        assert!(gate.status().trial.is_none());
    }

    #[test]
    fn systemd_endings_are_told_in_words() {
        assert!(describe_end("timeout", "killed", "TERM").contains("ready"));
        assert!(describe_end("watchdog", "killed", "ABRT").contains("watchdog"));
        assert_eq!(
            describe_end("signal", "killed", "SEGV"),
            "crashed (signal SEGV)"
        );
        assert_eq!(
            describe_end("exit-code", "exited", "3"),
            "exited with status 3"
        );
    }
}
