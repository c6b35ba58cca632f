//! The kiosk task: owns the session engine and the service the resident is using, turns UI
//! commands and reader events into engine inputs and service inputs, and pushes a [`ViewState`]
//! after each. Runs on the tokio runtime; never on the UI thread. It knows services only through
//! the [`Registry`] and the [`Service`] interface.

use crate::cloud::api::{Catalog, CommandResult, IdentitySessionRequest, Site};
use crate::cloud::{CloudClient, Link, ResidentToken};
use crate::outbox::Outbox;
use crate::printing::{JobOwner, PrintService, Printed, Unavailable};
use crate::privacy::{Field, Revoked, SessionRecord};
use crate::services::rating::{Rated, ResultRating};
use crate::services::{
    self, CardWatch, Ctx, IdentityNeed, Input, Next, Notice, Registry, ScreenCtx, Service,
    ServiceSpec,
};
use crate::session::{Effect, PageId, Prompt, ResidentSession, SessionEngine, Timing, WipeReason};
use crate::storage::Store;
use crate::technician::{
    PinGate, Stage, TechnicianAction, TechnicianCards, TechnicianPage, TestCard, Verdict,
};
use crate::view::{
    ChromeView, FlowView, GoodbyeView, HomeView, IdentifyMode, PrintState, TileView, ViewState,
};
use crate::voice::{prompts, Utterance, Voice};
use crate::Lang;
use bianmin_idcard::ReaderEvent;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What a service may use while it handles an input, from the kiosk's own fields (a macro, not a
/// method: the active service is borrowed beside it).
macro_rules! service_ctx {
    ($k:ident) => {
        Ctx {
            cloud: &$k.cloud,
            site: &$k.site,
            lang: $k.engine.lang(),
            resident: $k.engine.resident(),
            printer: &mut $k.printer,
            outbox: &$k.outbox,
            store: &$k.store,
            visit: &$k.visit,
            card: &$k.card,
        }
    };
}

/// What the UI asks for: the frame's own buttons, or an input for the service.
#[derive(Debug, Clone)]
pub enum UiCommand {
    Start,
    Back,
    Home,
    CallStaff,
    ToggleLanguage,
    ToggleElderly,
    MoreTime,
    Finish,
    OpenService(String),
    ViewReceipt,
    /// On the goodbye page: print the 隐私凭条.
    PrintPrivacySlip,
    /// On the goodbye page: done.
    DismissGoodbye,
    /// 好差评 on a result page: a score from 1 to 5.
    Rate(u8),
    /// 好差评: a quick phrase (reason code) chosen or unchosen.
    RatingReason(String),
    /// 好差评: send a poor rating with its reasons.
    SendRating,
    /// Choose, confirm, keypad, … (never `Open`, `Identified` or `Back`: the kiosk sends those).
    Service(Input),
    /// A touch on no control: it silences the kiosk and counts as activity.
    Touched,
    /// 重听: the last prompt again.
    Repeat,
    Louder,
    Quieter,
    /// The resident is typing free text (the on-screen keyboard composes on the UI thread):
    /// only keeps the session from timing out.
    Typing,
    /// A long press in the attract page's corner: the technician page's PIN pad.
    TechnicianLongPress,
    /// A key on the PIN pad: a digit, `back` or `clear`.
    TechnicianKey(String),
    TechnicianSubmit,
    /// A button on the technician page (or 取消 on its pad).
    Technician(TechnicianAction),
}

#[derive(Debug)]
pub enum Command {
    Ui(UiCommand),
    Reader(ReaderEvent),
    /// Before a heartbeat: read the devices' status now (answered when done).
    RefreshHealth(tokio::sync::oneshot::Sender<()>),
    /// A command from the cloud, answered with its acknowledgement. Commands that use the
    /// printer or restart the app wait until no resident is using the kiosk.
    Device(
        crate::cloud::api::DeviceCommand,
        tokio::sync::oneshot::Sender<crate::cloud::api::CommandAck>,
    ),
    /// Answered once everything sent before has been handled and the view it left is on its
    /// way to the UI (views go to the UI thread in order, ahead of the answer's wake-up): what
    /// the scenario runner waits on instead of sleeping.
    #[cfg_attr(not(feature = "sim"), allow(dead_code))]
    Barrier(tokio::sync::oneshot::Sender<()>),
}

/// What happened, for transcripts and tests (never personal data).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct KioskLog {
    pub spoken: Vec<Prompt>,
    /// Every utterance started (phrase ids and captions), in order.
    pub said: Vec<crate::voice::Said>,
    pub wipes: Vec<WipeReason>,
    pub staff_calls: u32,
    /// Card reader events the kiosk task has handled (a card put down or taken away, a failed
    /// read): the scenario runner waits for its card to arrive by this count.
    pub reader_events: u64,
}

pub type PushView = Arc<dyn Fn(ViewState) + Send + Sync>;

pub struct KioskSetup {
    pub timing: Timing,
    pub default_lang: Lang,
    pub landscape: bool,
    pub cloud: CloudClient,
    pub store: Arc<Mutex<Store>>,
    pub site: Site,
    pub printer: PrintService,
    pub outbox: Arc<Outbox>,
    pub registry: Registry,
    /// The catalogue, when start-up already fetched it.
    pub catalog: Option<Catalog>,
    pub push: PushView,
    pub voice: Voice,
    /// Where devices' conditions are recorded (heartbeat, metrics, technician page).
    pub health: crate::health::HealthBoard,
    /// The configuration the kiosk started with, and its file (`reload_config` compares).
    pub config: crate::config::Config,
    pub config_file: Option<std::path::PathBuf>,
    /// Signed updates and the health gate (switches only when idle).
    pub updates: crate::updates::Updates,
}

/// How much of the self-test a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelftestRun {
    /// The cloud's `run_selftest`: a test page, the clock and the cloud too.
    Full,
    /// The update health gate's, around a switch: the devices only, no paper used, nothing
    /// that depends on the network.
    Devices,
}

/// The service the resident is using.
struct Active {
    spec: ServiceSpec,
    service: Box<dyn Service>,
}

pub struct Kiosk {
    engine: SessionEngine,
    landscape: bool,
    cloud: CloudClient,
    store: Arc<Mutex<Store>>,
    site: Site,
    printer: PrintService,
    outbox: Arc<Outbox>,
    registry: Registry,
    push: PushView,
    catalog: Option<Catalog>,
    active: Option<Active>,
    /// The code of the tile last opened (also for catalogue services this kiosk sends to a window).
    opened: Option<String>,
    /// What the kiosk itself has to say on the result page (a card it cannot read, a printer
    /// that cannot print, a service at the window), over the service's own screen.
    notice: Option<Notice>,
    identify_mode: IdentifyMode,
    busy: bool,
    /// When staff were called in this session.
    staff_called_at: Option<Instant>,
    /// A message (string key) for the page it was shown on: it goes with that page, never
    /// mid-page, so nothing moves under a resident's finger.
    toast: Option<(&'static str, PageId)>,
    last_pushed: Option<ViewState>,
    log: Arc<Mutex<KioskLog>>,
    /// This visit's id (papers are printed for it only); a new one after each wipe.
    visit: String,
    card: CardWatch,
    /// What this visit did with the resident's personal data (for the 隐私凭条).
    privacy: SessionRecord,
    /// The goodbye page after an identified session, with its slip.
    goodbye: Option<Goodbye>,
    /// When the active service was last asked again ([`Service::poll_every`]).
    polled: Option<Instant>,
    /// The 好差评 of the service's finished result.
    rating: Option<crate::services::rating::ResultRating>,
    voice: Voice,
    /// The page prompt last started (a new page, mode or language says its own).
    page_prompt: Option<(Utterance, Lang)>,
    was_offline: bool,
    health: crate::health::HealthBoard,
    /// The technician page's PIN (none configured: no technician page).
    pin_gate: Option<PinGate>,
    /// The technician cards that open the page from its PIN pad.
    technician_cards: TechnicianCards,
    /// The technician page or its PIN pad, while it is up (over the attract page).
    technician: Option<TechnicianPage>,
    config: crate::config::Config,
    config_file: Option<std::path::PathBuf>,
    updates: crate::updates::Updates,
    /// Cloud commands waiting for the kiosk to be idle.
    deferred: Vec<(
        crate::cloud::api::DeviceCommand,
        tokio::sync::oneshot::Sender<crate::cloud::api::CommandAck>,
    )>,
}

/// How long the goodbye page (with the privacy slip) stays up when nobody touches it.
const GOODBYE_FOR: Duration = Duration::from_secs(30);

/// The goodbye page: the ended session's privacy slip, printable on request for that visit.
struct Goodbye {
    record: SessionRecord,
    visit: String,
    since: Instant,
    printed: Option<Printed>,
}

impl Kiosk {
    pub fn new(setup: KioskSetup) -> Self {
        Kiosk {
            engine: SessionEngine::new(setup.timing, setup.default_lang, Instant::now()),
            landscape: setup.landscape,
            cloud: setup.cloud,
            store: setup.store,
            site: setup.site,
            printer: setup.printer,
            outbox: setup.outbox,
            registry: setup.registry,
            push: setup.push,
            catalog: setup.catalog,
            active: None,
            opened: None,
            notice: None,
            identify_mode: IdentifyMode::Required,
            busy: false,
            staff_called_at: None,
            toast: None,
            last_pushed: None,
            log: Arc::default(),
            visit: new_visit(),
            card: CardWatch::default(),
            privacy: SessionRecord::default(),
            goodbye: None,
            polled: None,
            rating: None,
            voice: setup.voice,
            page_prompt: None,
            was_offline: false,
            pin_gate: PinGate::new(&setup.config.technician.pin_hash),
            technician_cards: TechnicianCards::new(&setup.config.technician.cards),
            technician: None,
            health: setup.health,
            config: setup.config,
            config_file: setup.config_file,
            updates: setup.updates,
            deferred: Vec::new(),
        }
    }

    /// The readers' removal counter: the reader threads bump it before they forward a removal.
    pub fn card_watch(&self) -> CardWatch {
        self.card.clone()
    }

    pub fn log(&self) -> Arc<Mutex<KioskLog>> {
        self.log.clone()
    }

    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        self.load_catalog().await;
        self.push_view(true);
        self.refresh_health();
        // The health gate: a release on trial self-tests its devices and rolls back when one
        // that passed under the last good release fails; otherwise READY=1 for systemd.
        let check = if self.updates.on_trial() {
            let report = self.selftest(SelftestRun::Devices).await;
            Some(crate::updates::DeviceResults::from_report(&report))
        } else {
            None
        };
        if self.updates.up(check) {
            self.updates.spawn_agent();
        }
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                _ = tick.tick() => {
                    self.updates.watchdog();
                    self.tick();
                    self.run_deferred().await;
                    self.poll().await;
                }
            }
            self.push_view(false);
        }
    }

    async fn load_catalog(&mut self) {
        // Reference data the offline-capable services need when the network is down.
        for spec in self.registry.specs() {
            if let Some(warm) = spec.warm {
                warm(&self.cloud, &self.store).await;
            }
        }
        let fetched = match self.catalog.take() {
            Some(c) => Ok(c),
            None => self.cloud.catalog().await,
        };
        self.catalog = services::cached(&self.store, "catalog", fetched);
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if self.technician.as_ref().is_some_and(|t| t.idle(now)) {
            self.leave_technician("idle");
        }
        self.refresh_technician(now, false);
        if self
            .goodbye
            .as_ref()
            .is_some_and(|g| now.duration_since(g.since) > GOODBYE_FOR)
        {
            self.end_goodbye();
        }
        if self.engine.page() != PageId::Attract {
            self.goodbye = None;
        }
        if self
            .toast
            .is_some_and(|(_, page)| page != self.engine.page())
        {
            self.toast = None;
        }
        if self.busy {
            return;
        }
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.service.holds_session())
        {
            // The resident is paying on their phone: no timeout under them.
            self.engine.touch(now);
        }
        let fx = self.engine.tick(now);
        self.apply(fx);
        self.voice.pump();
        self.record_said();
    }

    /// Cloud commands that waited for the kiosk to be idle, carried out once it is.
    async fn run_deferred(&mut self) {
        if self.idle() {
            if let Some(version) = self.updates.staged() {
                // What the devices do under this release now is what the new one is held to.
                let report = self.selftest(SelftestRun::Devices).await;
                let baseline = crate::updates::DeviceResults::from_report(&report);
                self.audit("release_switch", &version.to_string());
                if let Err(e) = self.updates.switch_and_restart(&version, baseline) {
                    tracing::error!(error = %e, release = %version, "release not switched");
                }
            }
        }
        if self.idle() && !self.deferred.is_empty() {
            for (command, reply) in std::mem::take(&mut self.deferred) {
                let ack = self.carry_out(&command).await;
                let _ = reply.send(ack);
            }
        }
    }

    /// Nobody is using the kiosk: the attract page, no goodbye, no technician page, nothing
    /// printing.
    fn idle(&self) -> bool {
        self.engine.page() == PageId::Attract
            && self.technician.is_none()
            && self.goodbye.is_none()
            && self.active.is_none()
            && !self.busy
    }

    /// A cloud command: carried out now when it may be, else when the kiosk is next idle.
    async fn device_command(
        &mut self,
        command: crate::cloud::api::DeviceCommand,
        reply: tokio::sync::oneshot::Sender<crate::cloud::api::CommandAck>,
    ) {
        use crate::cloud::api::DeviceCommand as C;
        match command.command.as_str() {
            C::RELOAD_CATALOG => {
                self.catalog = None;
                let fetched = self.cloud.catalog().await;
                let ack = match fetched {
                    Ok(c) => {
                        let version = c.version.clone();
                        self.catalog = services::cached(&self.store, "catalog", Ok(c));
                        self.audit("catalog_reloaded", &version);
                        ack(
                            &command,
                            CommandResult::Done,
                            format!("catalogue {version}"),
                        )
                    }
                    Err(e) => {
                        // The cached catalogue stays in use.
                        let detail = e.to_string();
                        self.catalog = services::cached(&self.store, "catalog", Err(e));
                        ack(&command, CommandResult::Failed, detail)
                    }
                };
                let _ = reply.send(ack);
            }
            C::UPLOAD_LOGS => {
                let n = match command.argument.as_deref().map(str::parse::<usize>) {
                    None => Ok(200),
                    Some(Ok(n)) if (1..=1000).contains(&n) => Ok(n),
                    Some(_) => Err(()),
                };
                let _ = reply.send(match n {
                    Ok(n) => {
                        let lines = crate::health::logs::recent(n);
                        let mut a = ack(
                            &command,
                            CommandResult::Done,
                            format!("{} line(s)", lines.len()),
                        );
                        a.log_lines = Some(lines);
                        a
                    }
                    Err(()) => ack(
                        &command,
                        CommandResult::Refused,
                        "the argument must be a number of lines from 1 to 1000".into(),
                    ),
                });
            }
            // Checking and downloading disturb nobody; the switch waits for an idle kiosk.
            C::CHECK_UPDATE => self.updates.check_now(command, reply),
            _ if self.idle() => {
                let ack = self.carry_out(&command).await;
                let _ = reply.send(ack);
            }
            _ => {
                tracing::info!(command = %command.command, "cloud command waits until the kiosk is idle");
                self.deferred.push((command, reply));
            }
        }
    }

    /// The commands that need an idle kiosk.
    async fn carry_out(
        &mut self,
        command: &crate::cloud::api::DeviceCommand,
    ) -> crate::cloud::api::CommandAck {
        use crate::cloud::api::DeviceCommand as C;
        match command.command.as_str() {
            C::PRINT_TEST_PAGE => {
                let printed = self.print_test_page();
                self.audit("test_page", printed.code());
                let result = if printed == Printed::Done {
                    CommandResult::Done
                } else {
                    CommandResult::Failed
                };
                ack(command, result, format!("printed: {}", printed.code()))
            }
            C::RESTART_WHEN_IDLE => {
                self.audit("restart_requested", "cloud");
                self.health.request_restart();
                ack(command, CommandResult::Done, "restarting now (idle)".into())
            }
            C::RELOAD_CONFIG => self.reload_config(command),
            C::RUN_SELFTEST => {
                let report = self.selftest(SelftestRun::Full).await;
                let result = if report.ok {
                    CommandResult::Done
                } else {
                    CommandResult::Failed
                };
                let failed: Vec<&str> = report
                    .devices
                    .iter()
                    .into_iter()
                    .filter(|(_, c)| c.result == crate::selftest::Outcome::Fail)
                    .map(|(name, _)| name)
                    .collect();
                let mut a = ack(
                    command,
                    result,
                    if failed.is_empty() {
                        format!("self-test passed in {} ms", report.elapsed_ms)
                    } else {
                        format!("self-test failed: {}", failed.join(", "))
                    },
                );
                a.report = match serde_json::to_value(&report) {
                    Ok(serde_json::Value::Object(map)) => Some(map),
                    _ => None,
                };
                a
            }
            other => ack(
                command,
                CommandResult::Refused,
                format!("unknown command {other:?}"),
            ),
        }
    }

    /// The self-test with the devices the running kiosk owns: the printer through its spool (a
    /// test page with [`SelftestRun::Full`], its status only otherwise), the sound, the display,
    /// the data folder, and with [`SelftestRun::Full`] the clock and the cloud. The card readers
    /// are not asked for a test card here (no technician stands at the kiosk when the cloud
    /// asks); their state is in every heartbeat.
    pub async fn selftest(&mut self, run: SelftestRun) -> crate::selftest::SelftestReport {
        let full = run == SelftestRun::Full;
        use crate::selftest::{CloudTarget, KioskIdentity, PrinterTarget, SelftestTargets};
        let kiosk = self
            .store
            .lock()
            .map_err(|_| ())
            .and_then(|s| s.enrollment().map_err(|_| ()))
            .ok()
            .flatten()
            .map(|e| KioskIdentity {
                device_id: e.device_id.clone(),
                site: e.site.clone(),
            });
        let port = match self.config.printer.port.as_str() {
            "" => "simulated".to_string(),
            p => p.to_string(),
        };
        let targets = SelftestTargets {
            kiosk,
            printer: Some(PrinterTarget::Service {
                print: &mut self.printer,
                port,
            }),
            print_test_page: full,
            readers: None,
            card_wait: Duration::ZERO,
            voice: Some(Ok(&mut self.voice)),
            display: true,
            clock: full.then_some(&self.config.clock),
            data_dir: Some(self.health.data_dir()),
            cloud: full.then_some(CloudTarget {
                client: &self.cloud,
                url: &self.config.cloud.url,
                enrolled: true,
            }),
        };
        let report = crate::selftest::run(targets).await;
        self.audit("selftest", if report.ok { "passed" } else { "failed" });
        self.refresh_health();
        report
    }

    /// The configuration is read at start: a changed file that parses is applied by restarting
    /// once idle; one that does not parse is refused and the kiosk keeps what it runs on.
    fn reload_config(
        &mut self,
        command: &crate::cloud::api::DeviceCommand,
    ) -> crate::cloud::api::CommandAck {
        let Some(path) = self.config_file.clone() else {
            return ack(
                command,
                CommandResult::Refused,
                "this kiosk runs without a configuration file".into(),
            );
        };
        match crate::config::Config::load(Some(&path)) {
            Err(e) => {
                self.audit("config_refused", "reload");
                ack(command, CommandResult::Failed, e.to_string())
            }
            Ok((new, _)) if format!("{new:?}") == format!("{:?}", self.config) => ack(
                command,
                CommandResult::Done,
                "the configuration is unchanged".into(),
            ),
            Ok(_) => {
                self.audit("config_changed", "restart");
                self.health.request_restart();
                ack(
                    command,
                    CommandResult::Done,
                    "configuration changed: restarting now (idle) to apply it".into(),
                )
            }
        }
    }

    /// The printer's test page (a cloud command, the technician page's 测试打印): through the
    /// spool like any paper, owned by nobody; the health board hears how it went.
    fn print_test_page(&mut self) -> Printed {
        let page = crate::printing::templates::test_page(self.printer.width_dots());
        let printer = &mut self.printer;
        let printed = tokio::task::block_in_place(|| printer.print(&page)).state;
        self.refresh_health();
        printed
    }

    /// Reads the printer's status and the voice's state into the health board.
    fn refresh_health(&mut self) {
        let printer = &mut self.printer;
        tokio::task::block_in_place(|| {
            let _ = printer.status();
        });
        self.health.audio(self.voice.fault());
    }

    /// Says `u` now (`interrupt`) or after what is being said.
    fn say(&mut self, u: Utterance, interrupt: bool) {
        let lang = self.engine.lang();
        if interrupt {
            self.voice.say_now(u, lang);
        } else {
            self.voice.say_next(u, lang);
        }
        self.record_said();
    }

    /// Copies what the voice started into the log (transcripts, tests).
    fn record_said(&mut self) {
        if self.voice.said.is_empty() {
            return;
        }
        let said = std::mem::take(&mut self.voice.said);
        for s in &said {
            tracing::info!(phrases = ?s.phrases, ms = s.ms, private = s.private, "said");
        }
        crate::recent::extend(&mut self.log.lock().expect("log lock").said, said);
    }

    /// The page's own prompt, when the page (or its mode, or the language) changed; and the
    /// offline notice when the link goes down.
    fn speak_for(&mut self, v: &ViewState) {
        let lang = v.chrome.lang;
        let prompt = prompts::page(v);
        let key = (prompt.clone(), lang);
        if self.page_prompt.as_ref() != Some(&key) {
            self.page_prompt = Some(key);
            if v.chrome.page != PageId::Attract
                && !self.voice.just_said(&prompt, lang, Duration::from_secs(3))
            {
                self.voice.say_next(prompt, lang);
            }
        }
        if v.chrome.offline
            && !self.was_offline
            && !matches!(v.chrome.page, PageId::Attract | PageId::Technician)
        {
            self.voice.say_next(prompts::offline(), lang);
        }
        self.was_offline = v.chrome.offline;
        self.record_said();
    }

    /// Asks the active service again when it wants to be (a payment's QR polls the cloud).
    async fn poll(&mut self) {
        let due = match self.active.as_ref().and_then(|a| a.service.poll_every()) {
            Some(every) => self.polled.is_none_or(|t| t.elapsed() >= every),
            None => {
                self.polled = None;
                false
            }
        };
        if !due || self.busy {
            return;
        }
        self.polled = Some(Instant::now());
        let next = {
            let Some(active) = self.active.as_mut() else {
                return;
            };
            let mut ctx = service_ctx!(self);
            active.service.handle(&mut ctx, Input::Tick).await
        };
        self.navigate(next);
    }

    /// The resident leaves the active service: it hands over what it holds open.
    fn leave_active(&mut self) {
        if let Some(mut a) = self.active.take() {
            a.service.leaving(&self.outbox, &self.store);
        }
        self.rating = None;
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::RevokeSession(token) => self.revoke(token, self.privacy.revocation()),
                Effect::Speak(p) => {
                    tracing::info!(prompt = ?p, "speak");
                    crate::recent::push(&mut self.log.lock().expect("log lock").spoken, p);
                    if let Some(u) = prompts::event(p) {
                        // The warning and "take your card" cut in; the page's prompt follows.
                        self.say(u, true);
                    }
                }
                Effect::IdentityEnded => self.identity_ended(),
                Effect::Wiped(reason) => {
                    // A ticket never delivered while its resident waited is not sent later.
                    if let Err(e) = self.outbox.abandon_online_only() {
                        tracing::error!(error = %e, "outbox clean-up failed");
                    }
                    // Dropping the service drops everything it held for this resident.
                    self.leave_active();
                    // Nothing this visit asked for may come out for the next one.
                    tokio::task::block_in_place(|| self.printer.visit_ended(&self.visit));
                    let ended = std::mem::replace(&mut self.visit, new_visit());
                    let mut record = std::mem::take(&mut self.privacy);
                    // The slip is for a resident who is there to read it: not after a timeout.
                    if record.is_identified() && reason != WipeReason::Timeout {
                        for title in self.printed_in(&ended) {
                            record.printed(title);
                        }
                        self.goodbye = Some(Goodbye {
                            record,
                            visit: ended,
                            since: Instant::now(),
                            printed: None,
                        });
                    }
                    self.staff_called_at = None;
                    self.opened = None;
                    self.notice = None;
                    self.voice.session_ended();
                    crate::recent::push(&mut self.log.lock().expect("log lock").wipes, reason);
                    self.audit("session_end", &format!("{reason:?}"));
                }
            }
        }
    }

    /// The card was pulled mid-session. A service that needs no card goes on (told, so it can
    /// drop what the card gave it); otherwise the session ends. Either way the resident is told.
    fn identity_ended(&mut self) {
        // Mid-way through a service that can do without the card, what the resident has put
        // together is kept; at home, on a result, or in a service that needs the card, the
        // session ends.
        let midway = matches!(
            self.engine.page(),
            PageId::Form | PageId::Input | PageId::Confirm | PageId::Identify
        );
        let keep = midway
            && self
                .active
                .as_mut()
                .is_some_and(|a| a.service.identity_ended());
        self.audit(
            "card_removed",
            if keep {
                "service_kept"
            } else {
                "session_ended"
            },
        );
        if keep {
            self.show_toast("toast.card_removed.kept");
        } else {
            let fx = self.engine.wipe(WipeReason::CardRemoved, Instant::now());
            self.apply(fx);
            self.show_toast("toast.card_removed.ended");
        }
    }

    fn show_toast(&mut self, key: &'static str) {
        self.toast = Some((key, self.engine.page()));
    }

    /// Revokes the cloud session without holding up the screen; a failure is logged, and the
    /// session expires at the cloud on its own.
    fn revoke(&self, token: ResidentToken, outcome: Arc<Mutex<Revoked>>) {
        let cloud = self.cloud.clone();
        tokio::spawn(async move {
            let done = match cloud.revoke_identity_session(&token).await {
                Ok(()) => Revoked::Done,
                Err(e) => {
                    tracing::warn!(
                        kind = e.kind(),
                        "resident session not revoked; it will expire at the cloud"
                    );
                    Revoked::Failed
                }
            };
            *outcome.lock().expect("revoked lock") = done;
        });
    }

    fn audit(&self, action: &str, detail: &str) {
        if let Ok(store) = self.store.lock() {
            if let Err(e) = store.audit(action, detail) {
                tracing::error!(error = %e, "audit log write failed");
            }
        }
    }

    async fn handle(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Reader(ev) => self.reader_event(ev).await,
            Command::RefreshHealth(done) => {
                self.refresh_health();
                let _ = done.send(());
            }
            Command::Barrier(done) => {
                self.push_view(false);
                let _ = done.send(());
            }
            Command::Device(command, reply) => self.device_command(command, reply).await,
            Command::Ui(ui)
                if self.technician.is_some() || matches!(ui, UiCommand::TechnicianLongPress) =>
            {
                self.technician_ui(ui).await
            }
            Command::Ui(ui) => {
                self.engine.touch(now);
                // Any touch silences the kiosk; the next page speaks for itself.
                if !matches!(
                    ui,
                    UiCommand::Repeat | UiCommand::Louder | UiCommand::Quieter
                ) {
                    self.voice.stop();
                }
                match ui {
                    UiCommand::Start => {
                        let fx = self.engine.start(now);
                        self.apply(fx);
                    }
                    UiCommand::Back => {
                        let page = self.engine.page();
                        if self.active.is_some()
                            && self.notice.is_none()
                            && !matches!(page, PageId::Attract | PageId::Home)
                        {
                            // The service may step back one question on the same page.
                            self.step(Input::Back).await;
                        } else {
                            self.notice = None;
                            self.engine.back(now);
                        }
                    }
                    UiCommand::Home => {
                        if self.engine.page() == PageId::Attract {
                            let fx = self.engine.start(now);
                            self.apply(fx);
                        }
                        if self
                            .active
                            .as_ref()
                            .is_some_and(|a| a.service.holds_session())
                        {
                            // Leaving a QR the resident may just have paid: the service closes
                            // it first, and a paid order shows its result and receipt, not home.
                            self.step(Input::Back).await;
                            if self.engine.page() == PageId::Result {
                                return;
                            }
                        }
                        self.leave_active();
                        self.engine.home(Instant::now());
                    }
                    UiCommand::CallStaff => {
                        // Help is on its way until the session ends: the sign stays up.
                        self.staff_called_at.get_or_insert(now);
                        self.log.lock().expect("log lock").staff_calls += 1;
                        self.say(prompts::staff_called(), true);
                        self.audit("call_staff", self.engine.page().name());
                    }
                    // The screen is described anew in the new language on the next push.
                    UiCommand::ToggleLanguage => {
                        self.engine.set_lang(self.engine.lang().other(), now);
                        if let Some(g) = self.goodbye.as_mut() {
                            g.since = now;
                        }
                    }
                    UiCommand::ToggleElderly => self.engine.toggle_elderly(now),
                    UiCommand::MoreTime => self.engine.more_time(now),
                    UiCommand::Finish => {
                        let fx = self.engine.finish(now);
                        self.apply(fx);
                    }
                    UiCommand::OpenService(code) => self.open_service(&code).await,
                    UiCommand::PrintPrivacySlip => self.print_privacy_slip(),
                    UiCommand::DismissGoodbye => self.end_goodbye(),
                    UiCommand::Rate(score) => self.rate(Some(score), None).await,
                    UiCommand::RatingReason(code) => self.rate(None, Some(&code)).await,
                    UiCommand::SendRating => self.rate(None, None).await,
                    UiCommand::ViewReceipt => {
                        if self.flow_view().print.preview.is_some() {
                            self.engine.go(PageId::Print, now);
                        }
                    }
                    UiCommand::Service(input) => {
                        if !matches!(input, Input::Open | Input::Identified | Input::Back) {
                            self.step(input).await;
                        }
                    }
                    UiCommand::Touched => {}
                    UiCommand::Repeat => {
                        self.voice.repeat(self.engine.lang());
                        self.record_said();
                    }
                    UiCommand::Louder => {
                        self.voice.louder(self.engine.lang());
                        self.record_said();
                    }
                    UiCommand::Quieter => {
                        self.voice.quieter(self.engine.lang());
                        self.record_said();
                    }
                    // Touched above: that is all typing needs.
                    UiCommand::Typing => {}
                    // The technician's commands when the page is not up: stale, ignored.
                    UiCommand::TechnicianLongPress
                    | UiCommand::TechnicianKey(_)
                    | UiCommand::TechnicianSubmit
                    | UiCommand::Technician(_) => {}
                }
            }
        }
    }

    /// 好差评 of the result on screen: a score, a reason, or (neither) send.
    async fn rate(&mut self, score: Option<u8>, reason: Option<&str>) {
        let v = self.flow_view();
        let Some(rated) = Rated::from_view(&v.service_code, &v.result.rate) else {
            return;
        };
        if self.engine.page() != PageId::Result {
            return;
        }
        if self.rating.as_ref().is_none_or(|r| *r.rated() != rated) {
            self.rating = Some(ResultRating::new(rated));
        }
        let Some(rating) = self.rating.as_mut() else {
            return;
        };
        let mut ctx = service_ctx!(self);
        match (score, reason) {
            (Some(s), _) => rating.score(&mut ctx, s).await,
            (None, Some(code)) => rating.toggle_reason(code),
            (None, None) => rating.send(&mut ctx).await,
        }
    }

    /// Shows what the kiosk itself has to say on the result page.
    fn show_notice(&mut self, notice: Notice) {
        self.notice = Some(notice);
        self.engine.go(PageId::Result, Instant::now());
    }

    async fn reader_event(&mut self, ev: ReaderEvent) {
        let now = Instant::now();
        self.log.lock().expect("log lock").reader_events += 1;
        let ev = match self.technician_card(ev) {
            Some(ev) => ev,
            None => return,
        };
        match ev {
            ReaderEvent::ReaderAttached { reader } => {
                tracing::info!(%reader, "card reader attached")
            }
            ReaderEvent::ReaderLost { reader } => tracing::warn!(%reader, "card reader lost"),
            ReaderEvent::ReadFailed { reader, reason } => {
                tracing::warn!(%reader, %reason, "card read failed");
                self.audit(
                    "card_read_failed",
                    &format!("{reason:?}").chars().take(80).collect::<String>(),
                );
                self.show_notice(Notice::error(
                    "error.card_invalid",
                    "error.card_invalid.msg",
                    false,
                ));
            }
            ReaderEvent::CardRemoved { .. } => {
                let fx = self.engine.card_removed(now);
                self.apply(fx);
            }
            ReaderEvent::CardInserted { identity, .. } => {
                let expired = identity.is_expired_on(crate::time::today());
                let card_type = identity.card_type.code();
                self.goodbye = None;
                self.privacy.card_read(&identity);
                let fx = self.engine.card_inserted(*identity, now);
                self.apply(fx);
                self.audit("card_inserted", card_type);
                if expired {
                    if self.engine.page() == PageId::Identify
                        && self.identify_mode == IdentifyMode::Optional
                    {
                        // The card only added something here: go on without it, and say so.
                        self.step(Input::SkipIdentify).await;
                        self.show_toast("toast.card_expired.skip");
                        return;
                    }
                    self.show_notice(Notice::error(
                        "error.card_expired",
                        "error.card_expired.msg",
                        false,
                    ));
                    return;
                }
                let started = Instant::now();
                self.open_identity_session().await;
                tracing::info!(
                    us = started.elapsed().as_micros() as u64,
                    "card to greeting"
                );
            }
        }
    }

    async fn open_identity_session(&mut self) {
        let Some(id) = self.engine.pending_identity() else {
            return;
        };
        let req = IdentitySessionRequest {
            card_type: id.card_type.code().into(),
            id_number: id.id_number.as_str().into(),
            name: id.name.clone(),
            valid_to: id.valid_to.wire(),
        };
        self.set_busy(true);
        let result = self.cloud.open_identity_session(&req).await;
        drop(req);
        self.set_busy(false);
        let now = Instant::now();
        match result {
            Ok(s) => {
                let elderly = s.resident.elderly;
                // Exactly what the request above carried, by name.
                self.privacy.identified(
                    &[
                        Field::Name,
                        Field::IdNumber,
                        Field::CardType,
                        Field::Validity,
                    ],
                    &s.resident.id_masked,
                );
                self.engine.identified(
                    ResidentSession {
                        token: ResidentToken::new(s.session_token),
                        session_id: s.session_id,
                        summary: s.resident,
                        card_epoch: self.card.removals(),
                    },
                    now,
                );
                self.audit("identified", if elderly { "elderly" } else { "adult" });
                if let Some(r) = self.engine.resident() {
                    let u = prompts::card_read(&r.summary.id_masked);
                    self.say(u, false);
                }
                if self.engine.page() == PageId::Identify {
                    self.step(Input::Identified).await;
                }
            }
            Err(e) => self.show_notice(Notice::cloud(&e)),
        }
    }

    async fn open_service(&mut self, code: &str) {
        let known = services::CATALOG_CODES.contains(&code) || self.registry.get(code).is_some();
        if !known {
            // Never open something else in its place.
            tracing::warn!(code, "unknown service code from the UI");
            return;
        }
        self.health.metrics.session(code);
        if self.engine.page() == PageId::Attract {
            let fx = self.engine.start(Instant::now());
            self.apply(fx);
        }
        self.leave_active();
        self.notice = None;
        self.opened = Some(code.to_string());
        self.audit("open_service", code);
        let disabled = self
            .catalog
            .as_ref()
            .and_then(|c| c.services.iter().find(|s| s.code == code))
            .is_some_and(|s| !s.enabled);
        let started = if disabled {
            // The cloud's catalogue switched it off here: staff at a window do it.
            None
        } else {
            services::start(&self.registry, code)
        };
        let Some((spec, service)) = started else {
            // A catalogue service switched off here, or one this kiosk does not carry out.
            self.show_notice(Notice::info("service.window", "service.window.msg"));
            return;
        };
        if spec.needs.prints {
            // Tell the resident now, not after they have chosen everything.
            if let Some(why) = tokio::task::block_in_place(|| self.printer.unavailable()) {
                self.audit("printer_unavailable", why.code());
                let title = match why {
                    Unavailable::PaperOut => "printer.paper_out",
                    Unavailable::Fault => "printer.failed",
                };
                self.show_notice(Notice::error(title, "printer.unavailable.msg", false));
                return;
            }
        }
        self.active = Some(Active { spec, service });
        self.step(Input::Open).await;
    }

    /// A service's name in both languages (the catalogue's, or its code).
    fn catalog_text(&self, code: &str) -> crate::cloud::api::Text {
        self.catalog
            .as_ref()
            .and_then(|c| c.services.iter().find(|s| s.code == code))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| crate::cloud::api::Text::new(code, code))
    }

    /// What came out of the printer for a visit, by kind of paper.
    fn printed_in(&self, visit: &str) -> Vec<crate::cloud::api::Text> {
        let jobs = self
            .store
            .lock()
            .ok()
            .and_then(|s| s.spool_of_visit(visit).ok())
            .unwrap_or_default();
        jobs.into_iter()
            .filter(|(_, state)| state == "done")
            .map(|(template, _)| crate::printing::templates::paper_name(&template))
            .collect()
    }

    /// The goodbye page goes; what its reader switched (language, large text) goes with it.
    fn end_goodbye(&mut self) {
        if self.goodbye.take().is_some() && self.engine.page() == PageId::Attract {
            self.engine.reset_preferences();
        }
    }

    fn print_privacy_slip(&mut self) {
        let Some(g) = self.goodbye.as_mut() else {
            return;
        };
        if g.printed == Some(Printed::Done) {
            return;
        }
        g.since = Instant::now();
        let receipt = g.record.receipt(&self.site, &crate::time::now_rfc3339());
        let owner = JobOwner {
            visit: g.visit.clone(),
            request: "privacy_slip".into(),
        };
        let printer = &mut self.printer;
        let outcome = tokio::task::block_in_place(|| printer.print_for(&receipt, &owner));
        g.printed = Some(outcome.state);
    }

    fn catalog_name(&self, code: &str) -> Option<String> {
        let lang = self.engine.lang();
        self.catalog
            .as_ref()?
            .services
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.name.get(lang).to_string())
    }

    /// Runs one input through the active service, with the busy overlay up while it waits.
    async fn step(&mut self, input: Input) {
        if self.active.is_none() {
            return;
        }
        self.notice = None;
        if self.engine.resident().is_some() {
            if let Some(code) = self.active.as_ref().map(|a| a.spec.code) {
                let name = self.catalog_text(code);
                self.privacy.used(name);
            }
        }
        self.set_busy(true);
        let next = {
            let Some(active) = self.active.as_mut() else {
                return;
            };
            let mut ctx = service_ctx!(self);
            active.service.handle(&mut ctx, input).await
        };
        self.set_busy(false);
        self.navigate(next);
    }

    fn navigate(&mut self, next: Next) {
        let now = Instant::now();
        match next {
            Next::Go(p) => self.engine.go(p, now),
            Next::Replace(p) => self.engine.replace(p, now),
            Next::Identify { optional } => {
                self.identify_mode = if optional {
                    IdentifyMode::Optional
                } else {
                    IdentifyMode::Required
                };
                self.engine.go(PageId::Identify, now);
                self.apply(vec![Effect::Speak(Prompt::PlaceCard)]);
            }
            Next::Back => {
                self.engine.back(now);
            }
            Next::Stay => {}
        }
    }

    fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
        self.push_view(false);
    }

    fn tiles(&self) -> Vec<TileView> {
        let lang = self.engine.lang();
        let offline = self.cloud.reachable() == Some(false);
        self.registry
            .tile_codes()
            .into_iter()
            .map(|code| {
                let entry = self
                    .catalog
                    .as_ref()
                    .and_then(|c| c.services.iter().find(|e| e.code == code));
                let spec = self.registry.get(code);
                TileView {
                    code: code.into(),
                    title: entry
                        .map(|e| e.name.get(lang).to_string())
                        .unwrap_or_default(),
                    enabled: entry.map(|e| e.enabled).unwrap_or(true),
                    needs_card: entry.map(|e| e.requires_identity).unwrap_or_else(|| {
                        spec.is_some_and(|s| s.needs.identity == IdentityNeed::Required)
                    }),
                    // Offline, each service says what it can still do.
                    status: match (offline, spec) {
                        (false, _) => String::new(),
                        (true, Some(s)) if s.needs.offline => "tile.offline_ok".into(),
                        (true, _) => "tile.offline".into(),
                    },
                }
            })
            .collect()
    }

    /// The service's screen as it stands, in the current language, with the kiosk's own notice
    /// over it.
    fn flow_view(&self) -> FlowView {
        let lang = self.engine.lang();
        let mut v = match &self.active {
            Some(a) => a.service.screen(&ScreenCtx {
                lang,
                site: &self.site,
                resident: self.engine.resident().map(|r| &r.summary),
                landscape: self.landscape,
            }),
            None => FlowView::default(),
        };
        if let Some(code) = self
            .active
            .as_ref()
            .map(|a| a.spec.code)
            .or(self.opened.as_deref())
        {
            v.service_code = code.into();
            v.service_title = self.catalog_name(code).unwrap_or_default();
        }
        v.identify.mode = self.identify_mode;
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
            v.print = Default::default();
        }
        let rated = Rated::from_view(&v.service_code, &v.result.rate);
        if let (Some(r), Some(rated)) = (&self.rating, rated) {
            if *r.rated() == rated {
                v.rating = r.view();
            }
        }
        v
    }

    pub fn view_state(&self) -> ViewState {
        let now = Instant::now();
        let lang = self.engine.lang();
        let resident = self.engine.resident();
        let goodbye = self
            .goodbye
            .as_ref()
            .filter(|_| self.engine.page() == PageId::Attract);
        ViewState {
            chrome: ChromeView {
                page: if self.technician.is_some() {
                    PageId::Technician
                } else if goodbye.is_some() {
                    PageId::Goodbye
                } else {
                    self.engine.page()
                },
                lang,
                elderly: self.engine.elderly(),
                landscape: self.landscape,
                countdown: if self.busy {
                    None
                } else {
                    self.engine.countdown(now)
                },
                seconds_left: resident.and(self.engine.seconds_left(now)),
                busy: self.busy,
                identified: resident.is_some(),
                greeting_name: resident
                    .map(|r| r.summary.name_masked.clone())
                    .unwrap_or_default(),
                remind_take_card: self.engine.remind_take_card(),
                staff_called: self.staff_called_at.is_some(),
                staff_called_min: self
                    .staff_called_at
                    .map(|t| (now.duration_since(t).as_secs() / 60) as u32),
                toast: self
                    .toast
                    .filter(|(_, page)| *page == self.engine.page())
                    .map(|t| t.0)
                    .unwrap_or_default()
                    .into(),
                offline: self.cloud.link() == Some(Link::Down),
                slow: self.cloud.link() == Some(Link::Slow),
                can_go_back: self.engine.can_go_back(),
                card_present: self.engine.card_present(),
                site_name: match lang {
                    Lang::Zh => format!("{} 便民服务中心", self.site.community),
                    Lang::En => format!("{} Service Centre", self.site.community_in(lang)),
                },
                caption: self.voice.caption().to_string(),
                volume: self.voice.volume(),
            },
            home: HomeView {
                tiles: self.tiles(),
                // A notice is shown only when this kiosk can do what it points to.
                notice: self
                    .catalog
                    .as_ref()
                    .and_then(|c| {
                        c.notices.iter().find(|n| {
                            n.service
                                .as_deref()
                                .is_none_or(|code| self.registry.get(code).is_some())
                        })
                    })
                    .map(|n| {
                        let colon = if lang == Lang::Zh { "：" } else { ": " };
                        format!("{}{colon}{}", n.title.get(lang), n.body.get(lang))
                    })
                    .unwrap_or_default(),
            },
            flow: self.flow_view(),
            goodbye: goodbye
                .map(|g| GoodbyeView {
                    rows: g.record.rows(lang),
                    print: match g.printed {
                        None => PrintState::None,
                        Some(Printed::Done) => PrintState::Done,
                        Some(Printed::PaperOut) => PrintState::PaperOut,
                        Some(Printed::Failed) => PrintState::Failed,
                    },
                })
                .unwrap_or_default(),
            technician: self
                .technician
                .as_ref()
                .map(|t| {
                    let mut v = t.view(self.pin_gate.as_ref().and_then(|g| g.locked(now)));
                    v.pin_entry = self.pin_gate.is_some();
                    v.card_entry = !self.technician_cards.is_empty();
                    v
                })
                .unwrap_or_default(),
        }
    }

    /// Pushes the view when it changed (or always, when `force`).
    fn push_view(&mut self, force: bool) {
        let mut v = self.view_state();
        self.speak_for(&v);
        v.chrome.caption = self.voice.caption().to_string();
        v.chrome.volume = self.voice.volume();
        if !force && self.last_pushed.as_ref() == Some(&v) {
            return;
        }
        self.last_pushed = Some(v.clone());
        (self.push)(v);
    }
}

/// The technician page (see `crate::technician` and docs/technician.md): reached from the
/// attract page only, by a long press in its corner and the PIN; never while a resident's
/// session is in progress, and no resident session starts from it.
impl Kiosk {
    async fn technician_ui(&mut self, ui: UiCommand) {
        let now = Instant::now();
        if let Some(t) = self.technician.as_mut() {
            t.last_touch = now;
        }
        match ui {
            UiCommand::TechnicianLongPress => self.open_pin_pad(now),
            UiCommand::TechnicianKey(k) => {
                if let Some(t) = self.technician.as_mut().filter(|t| t.stage == Stage::Pin) {
                    t.key(&k);
                    t.pin_message = None;
                }
            }
            UiCommand::TechnicianSubmit => self.technician_submit(now),
            UiCommand::Technician(action) => self.technician_action(action).await,
            UiCommand::ToggleLanguage => self.engine.set_lang(self.engine.lang().other(), now),
            // The resident's buttons are not on this page: nothing else reaches a session.
            _ => {}
        }
    }

    fn open_pin_pad(&mut self, now: Instant) {
        if self.pin_gate.is_none() && self.technician_cards.is_empty() {
            // Documented: without `technician.pin_hash` or `technician.cards` there is no
            // technician page.
            tracing::debug!("long press in the corner: no technician PIN or card is configured");
            return;
        }
        let in_session = self.engine.page() != PageId::Attract
            || self.engine.resident().is_some()
            || self.engine.pending_identity().is_some()
            || self.goodbye.is_some();
        if in_session || self.technician.is_some() {
            return;
        }
        self.voice.stop();
        self.technician = Some(TechnicianPage::pin_pad(now));
    }

    fn technician_submit(&mut self, now: Instant) {
        let (Some(gate), Some(t)) = (self.pin_gate.as_mut(), self.technician.as_mut()) else {
            return;
        };
        if t.stage != Stage::Pin || t.entry.is_empty() {
            return;
        }
        let pin = std::mem::take(&mut t.entry);
        // Argon2 is tens of milliseconds of CPU, on purpose: off the async workers' hot path.
        let verdict = tokio::task::block_in_place(|| gate.try_pin(&pin, now));
        drop(pin);
        match verdict {
            Verdict::Open => {
                t.stage = Stage::Open;
                t.pin_message = None;
                self.audit("technician_page_opened", "");
                self.refresh_technician(now, true);
            }
            Verdict::Wrong { left } => {
                t.pin_message = Some(("tech.pin.wrong", left.to_string()));
                // Never the PIN: how many tries are left.
                self.audit("technician_pin_refused", &format!("{left} left"));
                self.health.error("technician_pin_refused");
            }
            Verdict::Locked { seconds } => {
                t.pin_message = None;
                self.audit("technician_pin_refused", &format!("locked {seconds} s"));
                self.health.error("technician_pin_refused");
            }
        }
    }

    /// Back to service: the attract page, in the kiosk's own language.
    fn leave_technician(&mut self, why: &str) {
        if let Some(t) = self.technician.take() {
            if t.stage == Stage::Open {
                self.audit("technician_page_closed", why);
            }
            self.engine.reset_preferences();
        }
    }

    /// Reads the health and the audit log again (every [`crate::technician::REFRESH_EVERY`],
    /// or now when `force`); asks the printer for its status now and then.
    fn refresh_technician(&mut self, now: Instant, force: bool) {
        let Some(t) = self.technician.as_mut().filter(|t| t.stage == Stage::Open) else {
            return;
        };
        if !force
            && t.refreshed
                .is_some_and(|r| now.duration_since(r) < crate::technician::REFRESH_EVERY)
        {
            return;
        }
        let check_printer = force
            || t.printer_checked
                .is_none_or(|c| now.duration_since(c) >= crate::technician::PRINTER_CHECK_EVERY);
        if check_printer {
            t.printer_checked = Some(now);
            // The printer's status and the voice's state, into the health board.
            self.refresh_health();
        }
        let Some(t) = self.technician.as_mut() else {
            return;
        };
        if let Ok(store) = self.store.lock() {
            t.health = self.health.snapshot(&store, self.cloud.link());
            t.audit = store
                .audit_recent(crate::technician::AUDIT_SHOWN)
                .unwrap_or_default();
        }
        t.refreshed = Some(now);
    }

    async fn technician_action(&mut self, action: TechnicianAction) {
        use crate::technician::Outcome;
        let open = self
            .technician
            .as_ref()
            .is_some_and(|t| t.stage == Stage::Open);
        if action == TechnicianAction::Leave {
            self.leave_technician("button");
            return;
        }
        if !open {
            return;
        }
        let outcome = match action {
            TechnicianAction::Leave => return,
            TechnicianAction::TestPrint => {
                let printed = self.print_test_page();
                self.audit("technician_test_print", printed.code());
                match printed {
                    Printed::Done => Outcome::ok("tech.print.done", ""),
                    Printed::PaperOut => Outcome::failed("tech.print.paper_out", ""),
                    Printed::Failed => Outcome::failed("tech.print.failed", ""),
                }
            }
            TechnicianAction::TestCard => {
                if let Some(t) = self.technician.as_mut() {
                    t.card = Some(TestCard::Waiting);
                }
                self.audit("technician_test_card", "waiting");
                Outcome::ok("tech.card.place", "")
            }
            TechnicianAction::TestSound => {
                self.say(prompts::test(), true);
                self.audit("technician_test_sound", "");
                match self.voice.fault() {
                    None => Outcome::ok("tech.sound.played", ""),
                    Some(why) => {
                        tracing::warn!(%why, "test sound: no audio output");
                        Outcome::failed("tech.sound.silent", "")
                    }
                }
            }
            TechnicianAction::DeliverOutbox => {
                self.set_busy(true);
                let pass = self.outbox.deliver_due_now(&self.cloud).await;
                self.set_busy(false);
                match pass {
                    Ok(p) => {
                        self.audit(
                            "technician_deliver_outbox",
                            &format!(
                                "delivered {} refused {} retrying {}",
                                p.delivered, p.refused, p.retrying
                            ),
                        );
                        if p.retrying > 0 {
                            Outcome::failed("tech.outbox.retrying", p.retrying.to_string())
                        } else {
                            Outcome::ok("tech.outbox.delivered", p.delivered.to_string())
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "outbox delivery from the technician page failed");
                        self.audit("technician_deliver_outbox", "failed");
                        Outcome::failed("tech.outbox.failed", "")
                    }
                }
            }
            TechnicianAction::Reprint => {
                // Only a paper nobody owns (a test page, a start-up job) can come out again
                // from here: see `PrintService::reprint_last_failed`.
                let printer = &mut self.printer;
                let reprinted = tokio::task::block_in_place(|| printer.reprint_last_failed());
                self.refresh_health();
                match reprinted {
                    None => {
                        self.audit("technician_reprint", "none");
                        Outcome::ok("tech.reprint.none", "")
                    }
                    Some((template, outcome)) => {
                        self.audit(
                            "technician_reprint",
                            &format!("{template} {}", outcome.state.code()),
                        );
                        if outcome.state == Printed::Done {
                            Outcome::ok("tech.reprint.done", template)
                        } else {
                            Outcome::failed("tech.reprint.failed", template)
                        }
                    }
                }
            }
            TechnicianAction::Selftest => {
                // The self-test the cloud's run_selftest runs (a test page, the sound, the
                // display, the clock, the data folder, the cloud); it audits itself.
                self.set_busy(true);
                let report = self.selftest(SelftestRun::Full).await;
                self.set_busy(false);
                let outcome = if report.ok {
                    Outcome::ok("tech.selftest.passed", report.elapsed_ms.to_string())
                } else {
                    Outcome::failed("tech.selftest.failed", report.elapsed_ms.to_string())
                };
                if let Some(t) = self.technician.as_mut() {
                    t.selftest = Some(report);
                }
                outcome
            }
        };
        if let Some(t) = self.technician.as_mut() {
            t.outcome = Some(outcome);
        }
        self.refresh_technician(Instant::now(), true);
    }

    /// A reader's event while the technician page is up: a card there is a test card (its reader,
    /// type and the masked number's tail, no identity session). While only the PIN pad is up, a
    /// card means a resident has come: the pad goes and the card is handled as ever. Returns the
    /// event when the session should have it.
    fn technician_card(&mut self, ev: ReaderEvent) -> Option<ReaderEvent> {
        let Some(stage) = self.technician.as_ref().map(|t| t.stage) else {
            return Some(ev);
        };
        if stage == Stage::Pin {
            if let ReaderEvent::CardInserted { identity, .. } = &ev {
                // Argon2 per registered card: off the async workers' hot path.
                let technician = !self.technician_cards.is_empty()
                    && tokio::task::block_in_place(|| {
                        self.technician_cards.matches(&identity.id_number)
                    });
                if technician {
                    // The identity (zeroized on drop) goes no further: no session starts.
                    drop(ev);
                    let now = Instant::now();
                    if let Some(t) = self.technician.as_mut() {
                        t.stage = Stage::Open;
                        t.pin_message = None;
                        t.entry.clear();
                        t.last_touch = now;
                    }
                    self.audit("technician_page_opened", "card");
                    self.refresh_technician(now, true);
                    return None;
                }
            }
            if matches!(
                ev,
                ReaderEvent::CardInserted { .. } | ReaderEvent::ReadFailed { .. }
            ) {
                // A resident's card: the pad gives way to the resident's session.
                self.technician = None;
            }
            return Some(ev);
        }
        let card = match ev {
            ReaderEvent::CardInserted { reader, identity } => {
                let card_type = identity.card_type.code();
                let read = TestCard::Read {
                    tail: crate::technician::tail_of(&identity.id_masked()),
                    expired: identity.is_expired_on(crate::time::today()),
                    reader,
                    card_type,
                };
                // The identity (zeroized on drop) goes no further.
                drop(identity);
                read
            }
            ReaderEvent::ReadFailed { reader, reason } => TestCard::Failed {
                reader,
                code: reason.code(),
            },
            other => return Some(other),
        };
        let detail = match &card {
            TestCard::Read { card_type, .. } => format!("read {card_type}"),
            TestCard::Failed { code, .. } => format!("failed {code}"),
            TestCard::Waiting => String::new(),
        };
        self.audit("technician_test_card", &detail);
        if let Some(t) = self.technician.as_mut() {
            t.card = Some(card);
            t.last_touch = Instant::now();
        }
        None
    }
}

fn ack(
    command: &crate::cloud::api::DeviceCommand,
    result: CommandResult,
    detail: String,
) -> crate::cloud::api::CommandAck {
    crate::cloud::api::CommandAck {
        id: command.id.clone(),
        result,
        detail: Some(detail),
        report: None,
        log_lines: None,
    }
}

fn new_visit() -> String {
    uuid::Uuid::new_v4().to_string()
}
