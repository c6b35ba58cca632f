//! Signed updates in the running kiosk (docs/admin.md), over the `bianmin-update` crate.
//!
//! - An agent task checks the repository every `update.check_minutes` and when the cloud sends
//!   `check_update`; a release for this kiosk is downloaded, verified and unpacked beside the
//!   running one at any time (that disturbs nobody), then *staged*.
//! - The kiosk task switches to a staged release only when it is idle (attract page, no card,
//!   no goodbye, nothing printing): it self-tests its devices (the baseline), switches
//!   `current`, and restarts; the service manager starts the new `current`.
//! - At start ([`Updates::up`]) a release on trial self-tests its devices; one that passed in
//!   the baseline and fails now rolls it back at once. Otherwise it tells systemd READY=1 (a
//!   unit with `Type=notify` kills a start that never does, which the gate hooks count), pings
//!   the watchdog from the kiosk task's loop, and is kept after `update.probation_s`.

use crate::cloud::api::{CommandAck, CommandResult, DeviceCommand};
use crate::config::UpdateSection;
use crate::health::systemd::{notify, Watchdog};
use bianmin_update::{Gate, Staged, Start, UpdateStatus, Updater, UpdaterOptions, Version};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The devices' self-test as the health gate reads it, by the self-test's names (`printer`,
/// `reader`, `audio`, `display`, `storage`; the clock and the cloud depend on the network, not
/// on the release, and are not part of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceResults {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
}

impl DeviceResults {
    /// A warning (paper near its end, no sound: captions carry on) neither passes nor fails:
    /// a device that passed and now only warns does not roll a release back.
    pub fn from_report(report: &crate::selftest::SelftestReport) -> DeviceResults {
        use crate::selftest::Outcome;
        let mut r = DeviceResults::default();
        for (name, check) in report.devices.iter() {
            match check.result {
                Outcome::Pass => r.passed.push(name.to_string()),
                Outcome::Fail => r.failed.push(name.to_string()),
                Outcome::Warn | Outcome::Skipped => {}
            }
        }
        r
    }
}

/// Ends the app so the service manager starts it again (through `current`).
pub type Restart = Arc<dyn Fn() + Send + Sync>;

/// A check asked for by the cloud, answered with its outcome.
struct Check {
    reply: Option<oneshot::Sender<(CommandResult, String)>>,
}

/// The kiosk's side of updates and of the health gate.
pub struct Updates {
    gate: Gate,
    /// None when no repository is configured (or its root is missing): no checks.
    updater: Option<Arc<Updater>>,
    checks: Option<mpsc::UnboundedSender<Check>>,
    staged: Arc<Mutex<Option<Version>>>,
    running: Version,
    start: Start,
    probation: Duration,
    every: Duration,
    watchdog: Watchdog,
    restart: Restart,
}

impl Updates {
    pub fn new(
        config: &UpdateSection,
        data_dir: &Path,
        device_id: &str,
        restart: Restart,
    ) -> Updates {
        let running: Version = crate::version::version()
            .parse()
            .expect("the build's version is semver");
        let gate = Gate {
            releases_dir: config.releases_dir.clone(),
            data_dir: data_dir.to_path_buf(),
            crash_loop: config.crash_loop(),
        };
        let start = gate.started(&running).unwrap_or_else(|e| {
            tracing::error!(error = %e, "update state unreadable; starting as a kept release");
            Start::Settled
        });
        if let Start::OnTrial { previous, .. } = &start {
            tracing::info!(release = %running, previous = ?previous.as_ref().map(|p| p.to_string()), "new release on trial");
        }
        let updater = (!config.repo_url.is_empty()).then(|| {
            Arc::new(Updater::new(UpdaterOptions {
                repo_url: config.repo_url.clone(),
                root: config.root.clone(),
                data_dir: data_dir.to_path_buf(),
                releases_dir: config.releases_dir.clone(),
                device_id: device_id.to_string(),
                built_version: running.clone(),
            }))
        });
        Updates {
            gate,
            updater,
            checks: None,
            staged: Arc::default(),
            running,
            start,
            probation: Duration::from_secs(config.probation_s),
            every: Duration::from_secs(config.check_minutes * 60),
            watchdog: Watchdog::from_env(),
            restart,
        }
    }

    /// Starts the agent that checks and stages releases (on the current runtime).
    pub fn spawn_agent(&mut self) {
        let Some(updater) = self.updater.clone() else {
            return;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.checks = Some(tx);
        tokio::spawn(agent(
            updater,
            self.every,
            rx,
            self.staged.clone(),
            self.running.clone(),
        ));
    }

    /// A release on trial checks its devices before it reports ready.
    pub fn on_trial(&self) -> bool {
        matches!(self.start, Start::OnTrial { .. })
    }

    /// The kiosk is up (its first page pushed). `check` is the start-up self-test of its
    /// devices, run when [`Updates::on_trial`]. Reports READY to the service manager, or rolls
    /// back (and restarts) when the release on trial fails a device that passed under the last
    /// good one; returns false then.
    pub fn up(&mut self, check: Option<DeviceResults>) -> bool {
        match std::mem::replace(&mut self.start, Start::Settled) {
            Start::RollBack { reason } => {
                self.roll_back(&reason);
                return false;
            }
            Start::OnTrial {
                previous,
                healthy_devices,
            } => {
                let check = check.unwrap_or_default();
                let failed: Vec<&str> = check
                    .failed
                    .iter()
                    .filter(|d| healthy_devices.contains(d))
                    .map(String::as_str)
                    .collect();
                if !failed.is_empty() {
                    let reason = format!(
                        "{} failed the start-up self-test under {} (passed under {})",
                        failed.join(", "),
                        self.running,
                        previous
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "the previous release".into())
                    );
                    self.roll_back(&reason);
                    return false;
                }
                self.keep_after_probation(Some(check.passed));
            }
            Start::Settled => {
                if self.updater.is_some() {
                    self.keep_after_probation(None);
                }
            }
        }
        notify("READY=1");
        tracing::info!(release = %self.running, "ready");
        true
    }

    fn roll_back(&self, reason: &str) {
        match self.gate.unhealthy(reason) {
            Ok(r) => tracing::error!(
                release = %r.version,
                back_to = ?r.to.as_ref().map(|v| v.to_string()),
                reason,
                "release rolled back; restarting into the previous one"
            ),
            Err(e) => tracing::error!(error = %e, reason, "release unhealthy but not rolled back"),
        }
        (self.restart)();
    }

    /// After the probation without a crash the running release is kept (and joins the good
    /// releases kept on disk); `passed` (the start-up self-test's, when there was one) becomes
    /// what the next release is held to.
    fn keep_after_probation(&self, passed: Option<Vec<String>>) {
        let (gate, running, probation) = (self.gate.clone(), self.running.clone(), self.probation);
        tokio::spawn(async move {
            tokio::time::sleep(probation).await;
            let status = gate.status();
            let on_trial = status.trial.is_some_and(|t| t.version == running);
            let passed = passed.unwrap_or(status.healthy_devices);
            match gate.confirm(&running, passed) {
                Ok(()) if on_trial => {
                    tracing::info!(release = %running, "release kept: healthy through its probation")
                }
                Ok(()) => {}
                Err(e) => tracing::error!(error = %e, "update state not recorded"),
            }
        });
    }

    /// From the kiosk task's loop: the systemd watchdog, when it asked for one.
    pub fn watchdog(&mut self) {
        self.watchdog.ping_if_due();
    }

    /// A release downloaded and unpacked, waiting for the kiosk to be idle.
    pub fn staged(&self) -> Option<Version> {
        self.staged.lock().expect("staged lock").clone()
    }

    /// Switches to the staged release and restarts into it (the kiosk is idle). `baseline`:
    /// the devices' self-test under this release just now, what the new one must not fail.
    pub fn switch_and_restart(
        &self,
        version: &Version,
        baseline: DeviceResults,
    ) -> Result<(), String> {
        *self.staged.lock().expect("staged lock") = None;
        let updater = self.updater.as_ref().ok_or("no update repository")?;
        self.gate
            .baseline(baseline.passed)
            .map_err(|e| e.to_string())?;
        let applied = updater.switch_staged(version).map_err(|e| e.to_string())?;
        tracing::info!(?applied, "release switched while idle; restarting into it");
        (self.restart)();
        Ok(())
    }

    /// The cloud's `check_update`: checks now; the acknowledgement says what was found.
    pub fn check_now(&self, command: DeviceCommand, reply: oneshot::Sender<CommandAck>) {
        let id = command.id;
        let ack = move |result, detail: String| CommandAck {
            id: id.clone(),
            result,
            detail: Some(detail),
            report: None,
            log_lines: None,
        };
        let Some(checks) = &self.checks else {
            let _ = reply.send(ack(
                CommandResult::Refused,
                "this kiosk takes no updates (update.repo_url is empty)".into(),
            ));
            return;
        };
        let (tx, rx) = oneshot::channel();
        if checks.send(Check { reply: Some(tx) }).is_err() {
            let _ = reply.send(ack(
                CommandResult::Failed,
                "the update agent stopped".into(),
            ));
            return;
        }
        tokio::spawn(async move {
            let (result, detail) = rx
                .await
                .unwrap_or((CommandResult::Failed, "the update agent stopped".into()));
            let _ = reply.send(ack(result, detail));
        });
    }
}

/// Checks on a schedule and on request; stages what it finds.
async fn agent(
    updater: Arc<Updater>,
    every: Duration,
    mut checks: mpsc::UnboundedReceiver<Check>,
    staged: Arc<Mutex<Option<Version>>>,
    running: Version,
) {
    let mut next = tokio::time::Instant::now() + every;
    loop {
        let check = tokio::select! {
            _ = tokio::time::sleep_until(next) => Check { reply: None },
            c = checks.recv() => match c {
                Some(c) => c,
                None => return,
            },
        };
        next = tokio::time::Instant::now() + every;
        let on_trial = UpdateStatus::load(&updater.options().data_dir)
            .trial
            .is_some_and(|t| t.version == running);
        let outcome = if on_trial {
            // Never switch away from a release before it has proven itself (its predecessor
            // is what a rollback needs).
            (
                CommandResult::Done,
                format!("{running} is on trial; checking again once it is kept"),
            )
        } else {
            match updater.stage().await {
                Ok(Staged::Ready { version }) => {
                    tracing::info!(release = %version, "release staged; switching once the kiosk is idle");
                    *staged.lock().expect("staged lock") = Some(version.clone());
                    (
                        CommandResult::Done,
                        format!("release {version} staged; switching once the kiosk is idle"),
                    )
                }
                Ok(Staged::UpToDate { running }) => (
                    CommandResult::Done,
                    format!("up to date: running {running}"),
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "update check failed");
                    (CommandResult::Failed, e.to_string())
                }
            }
        };
        if let Some(reply) = check.reply {
            let _ = reply.send(outcome);
        }
    }
}
