//! The heartbeat: every interval, and at once when a device's condition changes, the kiosk tells
//! the cloud how it is and carries out what the cloud asks. Beats the cloud does not get are kept
//! (bounded) and sent with the next one that gets through, so the history has no hole. Commands
//! are carried out once each — a command the kiosk has seen is never run again, only
//! re-acknowledged — and their acknowledgements are kept in the kiosk's database until a
//! heartbeat has delivered them.

use super::HealthBoard;
use crate::cloud::api::{CommandAck, CommandResult, DeviceCommand, HeartbeatRequest, MissedBeat};
use crate::cloud::CloudClient;
use crate::storage::Store;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Beats kept while the cloud is away (a day at one a minute).
const MISSED_KEPT: usize = 1440;
/// A device change never makes beats closer than this.
const MIN_GAP: Duration = Duration::from_secs(1);

/// Carries a command out on the kiosk (which waits until no resident is using it where the
/// command needs that) and answers its acknowledgement.
pub type CarryOut = Arc<dyn Fn(DeviceCommand) -> oneshot::Receiver<CommandAck> + Send + Sync>;
/// Asks the kiosk to read its devices' status now (the printer's DLE EOT) before a beat.
pub type Refresh = Arc<dyn Fn() -> oneshot::Receiver<()> + Send + Sync>;
/// Restarts the app (called after the acknowledgement of `restart_when_idle` was delivered).
pub type Restart = Arc<dyn Fn() + Send + Sync>;

pub struct Heartbeat {
    pub cloud: CloudClient,
    pub store: Arc<Mutex<Store>>,
    pub board: HealthBoard,
    pub interval: Duration,
    pub carry_out: CarryOut,
    pub refresh: Refresh,
    pub restart: Restart,
}

impl Heartbeat {
    /// Runs until the runtime stops.
    pub async fn run(self) {
        let wake = Arc::new(tokio::sync::Notify::new());
        let running: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut missed: VecDeque<MissedBeat> = VecDeque::new();
        let mut next = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = self.board.changed() => {}
                _ = wake.notified() => {}
            }
            // What the printer says now, not what it said at the last job.
            if let Ok(done) = tokio::time::timeout(Duration::from_secs(5), (self.refresh)()).await {
                let _ = done;
            }
            let (snapshot, acks) = {
                let store = self.store.lock().expect("store lock");
                let acks: Vec<CommandAck> = store
                    .commands_unacked()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|j| serde_json::from_str(j).ok())
                    .collect();
                (self.board.snapshot(&store, self.cloud.link()), acks)
            };
            let printer = snapshot.devices.printer.condition.health().to_string();
            let card_reader = snapshot.devices.readers_condition().health().to_string();
            let req = HeartbeatRequest {
                app_version: snapshot.app_version.clone(),
                uptime_s: snapshot.uptime_s,
                printer: printer.clone(),
                card_reader: card_reader.clone(),
                pending_outbox: snapshot.outbox_pending,
                health: Some(snapshot.devices.clone()),
                acks: acks.clone(),
                missed: missed.iter().cloned().collect(),
            };
            let sent = std::time::Instant::now();
            let local_sent = crate::time::now();
            match self.cloud.heartbeat(&req).await {
                Ok(answer) => {
                    let rtt = sent.elapsed();
                    if let Ok(server) = chrono::DateTime::parse_from_rfc3339(&answer.server_time) {
                        let local_mid =
                            local_sent + chrono::Duration::from_std(rtt / 2).unwrap_or_default();
                        self.board
                            .heartbeat_answered((local_mid - server).num_milliseconds());
                    }
                    self.board.metrics.heartbeat("answered");
                    if !missed.is_empty() {
                        tracing::info!(
                            missed = missed.len(),
                            "the cloud is back: missed beats delivered"
                        );
                        missed.clear();
                    }
                    let ids: Vec<String> = acks.iter().map(|a| a.id.clone()).collect();
                    if let Err(e) = self.store.lock().expect("store lock").commands_acked(&ids) {
                        tracing::error!(error = %e, "command acknowledgements not recorded");
                    }
                    // The kiosk restarts only once the cloud has the acknowledgement of the
                    // command that asked for it (else it would be asked again after the restart).
                    if !acks.is_empty() && self.board.restart_requested() {
                        tracing::info!("restarting at the cloud's request (the kiosk is idle)");
                        (self.restart)();
                    }
                    for command in answer.commands {
                        self.take(command, &running, &wake);
                    }
                }
                Err(e) => {
                    self.board.metrics.heartbeat("missed");
                    tracing::warn!(error = %e, missed = missed.len() + 1, "heartbeat not delivered");
                    if missed.len() == MISSED_KEPT {
                        missed.pop_front();
                    }
                    missed.push_back(MissedBeat {
                        at: crate::time::now_rfc3339(),
                        printer,
                        card_reader,
                        pending_outbox: snapshot.outbox_pending,
                    });
                }
            }
            next = tokio::time::Instant::now() + self.interval;
            // A device change wakes the loop at once, but never sooner than MIN_GAP.
            tokio::time::sleep(MIN_GAP).await;
        }
    }

    /// A command from an answer: carried out once (on its own task, so a command that waits for
    /// the kiosk to be idle never holds the beat up), or re-acknowledged if it was done before.
    fn take(
        &self,
        command: DeviceCommand,
        running: &Arc<Mutex<HashSet<String>>>,
        wake: &Arc<tokio::sync::Notify>,
    ) {
        let store = self.store.clone();
        match store.lock().expect("store lock").command_ack(&command.id) {
            Ok(Some(_)) => {
                // Done before; the cloud has not seen the ack yet: it goes again.
                let _ = store
                    .lock()
                    .expect("store lock")
                    .command_resend(&command.id);
                wake.notify_one();
                return;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "command log unreadable; command left for later");
                return;
            }
        }
        if !running
            .lock()
            .expect("running lock")
            .insert(command.id.clone())
        {
            return;
        }
        tracing::info!(id = %command.id, command = %command.command, "cloud command received");
        let (running, wake, board) = (running.clone(), wake.clone(), self.board.clone());
        let done = if DeviceCommand::KNOWN.contains(&command.command.as_str()) {
            Some((self.carry_out)(command.clone()))
        } else {
            None
        };
        tokio::spawn(async move {
            let ack = match done {
                Some(rx) => rx.await.unwrap_or_else(|_| CommandAck {
                    id: command.id.clone(),
                    result: CommandResult::Failed,
                    detail: Some("the kiosk stopped before the command finished".into()),
                    report: None,
                    log_lines: None,
                }),
                None => CommandAck {
                    id: command.id.clone(),
                    result: CommandResult::Refused,
                    detail: Some(format!(
                        "unknown command {:?} (this kiosk knows: {})",
                        command.command,
                        DeviceCommand::KNOWN.join(", ")
                    )),
                    report: None,
                    log_lines: None,
                },
            };
            board.metrics.command(&command.command);
            tracing::info!(id = %ack.id, command = %command.command, result = ?ack.result, "cloud command carried out");
            let json = serde_json::to_string(&ack).expect("ack serialises");
            if let Err(e) =
                store
                    .lock()
                    .expect("store lock")
                    .command_done(&ack.id, &command.command, &json)
            {
                tracing::error!(error = %e, "command outcome not recorded");
            }
            running.lock().expect("running lock").remove(&ack.id);
            // The acknowledgement goes out now rather than a whole interval later.
            wake.notify_one();
        });
    }
}
