//! The kiosk task: owns the session engine and the active service flow, turns UI commands and
//! reader events into engine inputs and cloud calls, and pushes a [`ViewState`] after each.
//! Runs on the tokio runtime; never on the UI thread.

use crate::cloud::api::{Catalog, IdentitySessionRequest, Site};
use crate::cloud::{CloudClient, CloudError, ResidentToken};
use crate::printing::PrintService;
use crate::services::{
    cases::CasesFlow, guides::GuidesFlow, queue::QueueFlow, reports::ReportsFlow, show_cloud_error,
    show_error, Ctx, Next, ServiceCode,
};
use crate::session::{Effect, PageId, Prompt, ResidentSession, SessionEngine, Timing, WipeReason};
use crate::storage::Store;
use crate::view::{FlowView, ResultKind, TileView, ViewState};
use crate::Lang;
use bianmin_idcard::simulator::SimulatorHandle;
use bianmin_idcard::{Identity, ReaderEvent};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the UI asks for (one variant per adapter callback).
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
    Choose(String),
    Confirm,
    Retry,
    Print,
    SkipIdentify,
    ViewReceipt,
    InputKey(String),
    InputSubmit(String),
    InputSkip,
    DemoInsert(usize),
    DemoRemove,
}

#[derive(Debug)]
pub enum Command {
    Ui(UiCommand),
    Reader(ReaderEvent),
}

/// What happened, for transcripts and tests (never personal data).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct KioskLog {
    pub spoken: Vec<Prompt>,
    pub wipes: Vec<WipeReason>,
    pub staff_calls: u32,
}

pub type PushView = Arc<dyn Fn(ViewState) + Send + Sync>;

/// What a flow may use, borrowed field by field so the flow itself can be borrowed beside it.
macro_rules! flow_ctx {
    ($k:expr) => {
        Ctx {
            cloud: &$k.cloud,
            site: &$k.site,
            lang: $k.engine.lang(),
            resident: $k.engine.resident(),
            printer: &mut $k.printer,
            view: &mut $k.view,
            outbox: &$k.outbox,
        }
    };
}

enum ActiveFlow {
    None,
    Queue(QueueFlow),
    Guides(GuidesFlow),
    Cases(CasesFlow),
    Reports(Box<ReportsFlow>),
}

pub struct KioskSetup {
    pub timing: Timing,
    pub default_lang: Lang,
    pub landscape: bool,
    pub cloud: CloudClient,
    pub store: Arc<Mutex<Store>>,
    pub site: Site,
    pub printer: PrintService,
    pub outbox: Arc<crate::outbox::Outbox>,
    /// The catalogue, when start-up already fetched it.
    pub catalog: Option<Catalog>,
    /// Demo mode: the simulated reader's handle and the residents on the picker.
    pub demo: Option<(SimulatorHandle, Vec<Identity>)>,
    pub push: PushView,
}

pub struct Kiosk {
    engine: SessionEngine,
    landscape: bool,
    cloud: CloudClient,
    store: Arc<Mutex<Store>>,
    site: Site,
    printer: PrintService,
    outbox: Arc<crate::outbox::Outbox>,
    demo: Option<(SimulatorHandle, Vec<Identity>)>,
    push: PushView,
    catalog: Option<Catalog>,
    flow: ActiveFlow,
    service: Option<ServiceCode>,
    view: FlowView,
    busy: bool,
    staff_called_until: Option<Instant>,
    last_pushed: Option<String>,
    log: Arc<Mutex<KioskLog>>,
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
            demo: setup.demo,
            push: setup.push,
            catalog: setup.catalog,
            flow: ActiveFlow::None,
            service: None,
            view: FlowView::default(),
            busy: false,
            staff_called_until: None,
            last_pushed: None,
            log: Arc::default(),
        }
    }

    pub fn log(&self) -> Arc<Mutex<KioskLog>> {
        self.log.clone()
    }

    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        self.load_catalog().await;
        self.push_view(true);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                _ = tick.tick() => self.tick(),
            }
            self.push_view(false);
        }
    }

    async fn load_catalog(&mut self) {
        // Reference data the offline-capable services need when the network is down.
        if let Ok(c) = self.cloud.report_categories().await {
            if let Ok(store) = self.store.lock() {
                let _ = store.cache_put(
                    "report_categories",
                    &serde_json::to_string(&c).expect("json"),
                );
            }
        }
        let fetched = match self.catalog.take() {
            Some(c) => Ok(c),
            None => self.cloud.catalog().await,
        };
        match fetched {
            Ok(c) => {
                if let Ok(store) = self.store.lock() {
                    let _ = store.cache_put("catalog", &serde_json::to_string(&c).expect("json"));
                }
                self.catalog = Some(c);
            }
            Err(e) => {
                tracing::warn!(
                    kind = e.kind(),
                    "catalogue not fetched; using the cached one"
                );
                let cached = self
                    .store
                    .lock()
                    .ok()
                    .and_then(|s| s.cache_get("catalog").ok().flatten());
                self.catalog = cached.and_then(|c| serde_json::from_str(&c).ok());
            }
        }
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if self.staff_called_until.is_some_and(|t| now >= t) {
            self.staff_called_until = None;
        }
        if self.busy {
            return;
        }
        let fx = self.engine.tick(now);
        self.apply(fx);
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::RevokeSession(token) => self.revoke(token),
                Effect::Speak(p) => {
                    tracing::info!(prompt = ?p, "speak");
                    self.log.lock().expect("log lock").spoken.push(p);
                }
                Effect::Wiped(reason) => {
                    // A ticket never delivered while its resident waited is not sent later.
                    if let Err(e) = self.outbox.abandon_online_only() {
                        tracing::error!(error = %e, "outbox clean-up failed");
                    }
                    self.flow = ActiveFlow::None;
                    self.service = None;
                    self.view = FlowView::default();
                    self.log.lock().expect("log lock").wipes.push(reason);
                    self.audit("session_end", &format!("{reason:?}"));
                }
            }
        }
    }

    /// Revokes the cloud session without holding up the screen; a failure is logged, and the
    /// session expires at the cloud on its own.
    fn revoke(&self, token: ResidentToken) {
        let cloud = self.cloud.clone();
        tokio::spawn(async move {
            if let Err(e) = cloud.revoke_identity_session(&token).await {
                tracing::warn!(
                    kind = e.kind(),
                    "resident session not revoked; it will expire at the cloud"
                );
            }
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
            Command::Ui(ui) => {
                self.engine.touch(now);
                match ui {
                    UiCommand::Start => {
                        let fx = self.engine.start(now);
                        self.apply(fx);
                    }
                    UiCommand::Back => {
                        // A multi-question flow steps back one question at a time.
                        let page = self.engine.page();
                        let in_wizard = matches!(page, PageId::Form | PageId::Input)
                            && matches!(self.flow, ActiveFlow::Reports(_));
                        match if in_wizard {
                            self.step_back()
                        } else {
                            crate::services::reports::Back::Leave
                        } {
                            crate::services::reports::Back::Shown => {}
                            _ => {
                                self.engine.back(now);
                            }
                        }
                    }
                    UiCommand::Home => {
                        if self.engine.page() == PageId::Attract {
                            let fx = self.engine.start(now);
                            self.apply(fx);
                        }
                        self.engine.home(now);
                    }
                    UiCommand::CallStaff => {
                        self.staff_called_until = Some(now + Duration::from_secs(8));
                        self.log.lock().expect("log lock").staff_calls += 1;
                        self.audit("call_staff", self.engine.page().name());
                    }
                    UiCommand::ToggleLanguage => {
                        self.engine.set_lang(self.engine.lang().other(), now);
                        self.relabel();
                    }
                    UiCommand::ToggleElderly => self.engine.toggle_elderly(now),
                    UiCommand::MoreTime => self.engine.more_time(now),
                    UiCommand::Finish => {
                        let fx = self.engine.finish(now);
                        self.apply(fx);
                    }
                    UiCommand::OpenService(code) => self.open_service(&code).await,
                    UiCommand::Choose(id) => self.step(FlowInput::Choose(id)).await,
                    UiCommand::Confirm => self.step(FlowInput::Confirm).await,
                    UiCommand::Retry => self.step(FlowInput::Retry).await,
                    UiCommand::Print => self.step(FlowInput::Print).await,
                    UiCommand::SkipIdentify => self.step(FlowInput::SkipIdentify).await,
                    UiCommand::InputKey(k) => self.step(FlowInput::InputKey(k)).await,
                    UiCommand::InputSubmit(v) => self.step(FlowInput::InputSubmit(v)).await,
                    UiCommand::InputSkip => self.step(FlowInput::InputSkip).await,
                    UiCommand::ViewReceipt => {
                        if self.view.preview.is_some() {
                            self.engine.go(PageId::Print, now);
                        }
                    }
                    UiCommand::DemoInsert(i) => {
                        if let Some((handle, residents)) = &self.demo {
                            if let Some(id) = residents.get(i) {
                                handle.insert(id.clone());
                            }
                        }
                    }
                    UiCommand::DemoRemove => {
                        if let Some((handle, _)) = &self.demo {
                            handle.remove();
                        }
                    }
                }
            }
        }
    }

    async fn reader_event(&mut self, ev: ReaderEvent) {
        let now = Instant::now();
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
                show_error(
                    &mut self.view,
                    "error.card_invalid",
                    "error.card_invalid.msg",
                    false,
                );
                self.engine.go(PageId::Result, now);
            }
            ReaderEvent::CardRemoved { .. } => {
                let fx = self.engine.card_removed(now);
                self.apply(fx);
            }
            ReaderEvent::CardInserted { identity, .. } => {
                let today = chrono::Utc::now()
                    .with_timezone(&crate::cloud_sim::CST)
                    .date_naive();
                let expired = identity.is_expired_on(today);
                let card_type = identity.card_type.code();
                let fx = self.engine.card_inserted(*identity, now);
                self.apply(fx);
                self.audit("card_inserted", card_type);
                if expired {
                    show_error(
                        &mut self.view,
                        "error.card_expired",
                        "error.card_expired.msg",
                        false,
                    );
                    self.engine.go(PageId::Result, now);
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
                self.engine.identified(
                    ResidentSession {
                        token: ResidentToken::new(s.session_token),
                        summary: s.resident,
                    },
                    now,
                );
                self.audit("identified", if elderly { "elderly" } else { "adult" });
                if self.engine.page() == PageId::Identify {
                    self.step(FlowInput::Identified).await;
                }
            }
            Err(e) => {
                let next = show_cloud_error(&mut self.view, &e);
                self.navigate(next);
            }
        }
    }

    async fn open_service(&mut self, code: &str) {
        let Some(service) = ServiceCode::from_code(code) else {
            tracing::warn!(code, "unknown service code from the UI");
            return;
        };
        if self.engine.page() == PageId::Attract {
            let fx = self.engine.start(Instant::now());
            self.apply(fx);
        }
        self.service = Some(service);
        self.view = FlowView {
            service_code: service.code().into(),
            service_title: self.catalog_name(service).unwrap_or_default(),
            ..Default::default()
        };
        self.audit("open_service", service.code());
        if !service.on_kiosk() {
            self.view.result_kind = ResultKind::Info;
            self.view.result_title = "service.window".into();
            self.view.result_message = "service.window.msg".into();
            self.navigate(Next::Go(PageId::Result));
            return;
        }
        if service.prints() {
            // Tell the resident now, not after they have chosen everything.
            if let Some(why) = tokio::task::block_in_place(|| self.printer.unavailable()) {
                self.audit("printer_unavailable", why);
                let (title, message) = if why == "paper_out" {
                    ("printer.paper_out", "printer.unavailable.msg")
                } else {
                    ("printer.failed", "printer.unavailable.msg")
                };
                show_error(&mut self.view, title, message, false);
                self.navigate(Next::Go(PageId::Result));
                return;
            }
        }
        self.flow = match service {
            ServiceCode::QueueAndCases => ActiveFlow::Queue(QueueFlow::default()),
            ServiceCode::Guides => ActiveFlow::Guides(GuidesFlow::default()),
            ServiceCode::Reports => ActiveFlow::Reports(Box::new(ReportsFlow::new(
                self.outbox.clone(),
                self.store.clone(),
            ))),
            _ => ActiveFlow::Cases(CasesFlow::default()),
        };
        self.step(FlowInput::Open).await;
    }

    fn catalog_name(&self, service: ServiceCode) -> Option<String> {
        let lang = self.engine.lang();
        self.catalog
            .as_ref()?
            .services
            .iter()
            .find(|s| s.code == service.code())
            .map(|s| s.name.get(lang).to_string())
    }

    /// Runs one input through the active flow, with the busy overlay up while it waits.
    async fn step(&mut self, input: FlowInput) {
        if matches!(self.flow, ActiveFlow::None) {
            return;
        }
        self.set_busy(true);
        let mut ctx = flow_ctx!(self);
        let next = match &mut self.flow {
            ActiveFlow::None => Next::Stay,
            ActiveFlow::Queue(f) => match input {
                FlowInput::Open => f.open(&mut ctx).await,
                FlowInput::Choose(id) => f.choose(&mut ctx, &id).await,
                FlowInput::Confirm => f.confirm(&mut ctx).await,
                FlowInput::Retry => f.retry(&mut ctx).await,
                FlowInput::Print => f.print(&mut ctx).await,
                FlowInput::Identified => f.identified(&mut ctx).await,
                FlowInput::SkipIdentify => f.skip_identify(&mut ctx).await,
                FlowInput::InputKey(_) | FlowInput::InputSubmit(_) | FlowInput::InputSkip => {
                    Next::Stay
                }
            },
            ActiveFlow::Guides(f) => match input {
                FlowInput::Open => f.open(&mut ctx).await,
                FlowInput::Choose(id) => f.choose(&mut ctx, &id).await,
                FlowInput::Retry => f.retry(&mut ctx).await,
                _ => Next::Stay,
            },
            ActiveFlow::Reports(f) => match input {
                FlowInput::Open => f.open(&mut ctx).await,
                FlowInput::Choose(id) => f.choose(&mut ctx, &id).await,
                FlowInput::Confirm => f.confirm(&mut ctx).await,
                FlowInput::InputKey(k) => f.input_key(&mut ctx, &k),
                FlowInput::InputSubmit(v) => f.input_submit(&mut ctx, &v),
                FlowInput::InputSkip => f.input_skip(&mut ctx),
                _ => Next::Stay,
            },
            ActiveFlow::Cases(f) => match input {
                FlowInput::Open => f.open(&mut ctx).await,
                FlowInput::Choose(id) => f.choose(&mut ctx, &id).await,
                FlowInput::Retry => f.retry(&mut ctx).await,
                FlowInput::Identified => f.identified(&mut ctx).await,
                _ => Next::Stay,
            },
        };
        self.set_busy(false);
        self.navigate(next);
    }

    /// One question back in a multi-question flow.
    fn step_back(&mut self) -> crate::services::reports::Back {
        let mut ctx = flow_ctx!(self);
        match &mut self.flow {
            ActiveFlow::Reports(f) => f.back(&mut ctx),
            _ => crate::services::reports::Back::Leave,
        }
    }

    fn navigate(&mut self, next: Next) {
        let now = Instant::now();
        match next {
            Next::Go(p) => self.engine.go(p, now),
            Next::Replace(p) => self.engine.replace(p, now),
            Next::Identify { optional } => {
                self.view.identify_mode = if optional { "optional" } else { "required" }.into();
                self.engine.go(PageId::Identify, now);
                self.apply(vec![Effect::Speak(Prompt::PlaceCard)]);
            }
            Next::Stay => {}
        }
    }

    fn relabel(&mut self) {
        self.view.service_title = self
            .service
            .and_then(|s| self.catalog_name(s))
            .unwrap_or_default();
        let mut ctx = flow_ctx!(self);
        let _ = match &mut self.flow {
            ActiveFlow::Queue(f) => f.relabel(&mut ctx),
            ActiveFlow::Guides(f) => f.relabel(&mut ctx),
            ActiveFlow::Cases(f) => f.relabel(&mut ctx),
            ActiveFlow::Reports(f) => f.relabel(&mut ctx),
            ActiveFlow::None => Next::Stay,
        };
    }

    fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
        self.push_view(false);
    }

    fn tiles(&self) -> Vec<TileView> {
        let lang = self.engine.lang();
        let offline = self.cloud.reachable() == Some(false);
        ServiceCode::HOME_TILES
            .iter()
            .map(|s| {
                let entry = self
                    .catalog
                    .as_ref()
                    .and_then(|c| c.services.iter().find(|e| e.code == s.code()));
                TileView {
                    code: s.code().into(),
                    title: entry
                        .map(|e| e.name.get(lang).to_string())
                        .unwrap_or_default(),
                    enabled: entry.map(|e| e.enabled).unwrap_or(true),
                    needs_card: entry
                        .map(|e| e.requires_identity)
                        .unwrap_or(*s == ServiceCode::MyCases),
                    // Offline, each service says what it can still do.
                    status: match (offline, s) {
                        (false, _) => String::new(),
                        (true, ServiceCode::Reports) => "tile.offline_ok".into(),
                        (true, _) => "tile.offline".into(),
                    },
                }
            })
            .collect()
    }

    pub fn view_state(&self) -> ViewState {
        let now = Instant::now();
        let lang = self.engine.lang();
        let resident = self.engine.resident();
        ViewState {
            page: self.engine.page(),
            lang,
            elderly: self.engine.elderly(),
            landscape: self.landscape,
            countdown: if self.busy {
                None
            } else {
                self.engine.countdown(now)
            },
            busy: self.busy,
            identified: resident.is_some(),
            greeting_name: resident
                .map(|r| r.summary.name_masked.clone())
                .unwrap_or_default(),
            remind_take_card: self.engine.remind_take_card(),
            staff_called: self.staff_called_until.is_some(),
            offline: self.cloud.reachable() == Some(false),
            can_go_back: self.engine.can_go_back(),
            site_name: format!("{} 便民服务中心", self.site.community),
            tiles: self.tiles(),
            notice: self
                .catalog
                .as_ref()
                .and_then(|c| c.notices.first())
                .map(|n| format!("{}：{}", n.title.get(lang), n.body.get(lang)))
                .unwrap_or_default(),
            demo: self.demo.is_some(),
            demo_cards: self
                .demo
                .as_ref()
                .map(|(_, rs)| {
                    rs.iter()
                        .enumerate()
                        .map(|(i, r)| {
                            format!("{}. {} · {}", i + 1, r.name_masked(), r.card_type.code())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            card_present: self.engine.card_present(),
            flow: self.view.clone(),
        }
    }

    /// Pushes the view when it changed (or always, when `force`).
    fn push_view(&mut self, force: bool) {
        let v = self.view_state();
        let fingerprint = format!(
            "{}|{:?}",
            serde_json::to_string(&v).unwrap_or_default(),
            v.flow.preview.as_ref().map(|p| Arc::as_ptr(&p.grey))
        );
        if !force && self.last_pushed.as_deref() == Some(fingerprint.as_str()) {
            return;
        }
        self.last_pushed = Some(fingerprint);
        (self.push)(v);
    }
}

enum FlowInput {
    Open,
    Choose(String),
    Confirm,
    Retry,
    Print,
    Identified,
    SkipIdentify,
    InputKey(String),
    InputSubmit(String),
    InputSkip,
}

/// Errors of the kiosk's own start-up, before the screen can say anything.
pub fn describe_startup_error(e: &CloudError) -> String {
    match e {
        CloudError::Problem(p) if p.code == "invalid_enrollment_code" => {
            "the enrollment code was refused by the cloud".into()
        }
        other => other.to_string(),
    }
}
