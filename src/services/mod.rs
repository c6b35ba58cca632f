//! The convenience services, each one module behind one interface ([`Service`]), found by its
//! code in the [`Registry`]. A service says what it needs ([`Needs`]), answers the resident's
//! inputs ([`Input`] → [`Next`]), and describes its current screen from its own state
//! ([`Service::screen`], pure: a language switch only re-renders). The kiosk task names none of
//! them. Services share the pages (choice, input, confirm, result, print) and the pieces below
//! (a [`Notice`] for what went wrong, [`Paper`] for what was printed).

mod assistance;
mod cases;
mod guides;
mod household;
mod housing_fund;
mod medical_insurance;
mod queue;
pub mod rating;
pub mod records;
mod reports;
pub mod shapes;
mod social_insurance;
mod utility_bills;

pub use reports::mask_phone;

use crate::cloud::api::{ResidentSummary, Site, Text};
use crate::cloud::{CloudClient, CloudError};
use crate::outbox::Outbox;
use crate::printing::{JobOwner, PrintService, Printed, ReceiptImage};
use crate::session::{PageId, ResidentSession};
use crate::storage::Store;
use crate::view::{FlowView, PrintState, ResultKind, ResultView};
use crate::Lang;
use bianmin_printer::Receipt;
use std::sync::Mutex;

/// The eight services of the government catalogue, in the order of the home page. A catalogue
/// service this kiosk has no module for sends the resident to a window.
pub const CATALOG_CODES: [&str; 8] = crate::cloud::api::SERVICE_CODES;

/// Whether a service needs the resident's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityNeed {
    /// Anyone may use it; a card changes nothing.
    None,
    /// A card adds something (e.g. elderly priority, a named report).
    Optional,
    /// Nothing can be done without a card.
    Required,
}

/// What a service needs before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub identity: IdentityNeed,
    /// Its result is paper: it does not start while the printer cannot print.
    pub prints: bool,
    /// It can take the resident's submission while the cloud is unreachable.
    pub offline: bool,
}

/// Everything a resident (or the reader) can tell a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The tile was tapped: load what the first page needs.
    Open,
    /// An option on the choice page.
    Choose(String),
    /// A key on the input page's keypad (a digit, "back" or "clear").
    Key(String),
    /// The input page's answer (empty when left blank).
    Submit(String),
    /// "Skip" on the input page.
    Skip,
    Confirm,
    Retry,
    /// Print the paper again after a failed print.
    Print,
    /// The card the identify page asked for was read and accepted by the cloud.
    Identified,
    /// "Continue without a card" on an optional identify page.
    SkipIdentify,
    /// The back button.
    Back,
    /// Time passed: the service asked to be asked again ([`Service::poll_every`]), e.g. to
    /// learn whether an order on screen was paid.
    Tick,
}

impl Input {
    /// What a service answers to an input it has no use for: back goes one page back, the rest
    /// change nothing.
    pub fn ignored(&self) -> Next {
        match self {
            Input::Back => Next::Back,
            _ => Next::Stay,
        }
    }
}

/// Where the kiosk goes after an input.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Show this page (with a back step).
    Go(PageId),
    /// Show this page in place of the current one (no way "back" into a finished step).
    Replace(PageId),
    /// Ask for the resident's card; the service continues with `Identified` (or `SkipIdentify`).
    Identify { optional: bool },
    /// One page back (the service had no earlier question on this page).
    Back,
    /// The screen changed (or nothing did) on the same page.
    Stay,
}

/// What a service may use while it handles an input.
pub struct Ctx<'a> {
    pub cloud: &'a CloudClient,
    pub site: &'a Site,
    pub lang: Lang,
    pub resident: Option<&'a ResidentSession>,
    pub printer: &'a mut PrintService,
    /// Creating calls go through the outbox (durable, one Idempotency-Key for life).
    pub outbox: &'a Outbox,
    /// Caches of reference data for offline use.
    pub store: &'a Mutex<Store>,
    /// This visit (one resident at the kiosk, from the first tap to the wipe).
    pub visit: &'a str,
    /// Card removals as the readers saw them, ahead of the kiosk's own queue of events.
    pub card: &'a CardWatch,
}

impl Ctx<'_> {
    /// The paper is this visit's, for this request.
    pub fn owner(&self, request: &str) -> JobOwner {
        JobOwner {
            visit: self.visit.to_string(),
            request: request.to_string(),
        }
    }

    /// The identified resident is still the one at the kiosk: their card has not left since they
    /// identified, even if the kiosk has not yet handled the removal (an answer that arrives
    /// after the card was pulled belongs to nobody at the kiosk).
    pub fn resident_present(&self) -> bool {
        self.resident
            .is_some_and(|r| r.card_epoch == self.card.removals())
    }

    /// Writes to the audit log (never personal data).
    pub fn audit(&self, action: &str, detail: &str) {
        if let Ok(s) = self.store.lock() {
            if let Err(e) = s.audit(action, detail) {
                tracing::error!(error = %e, action, "audit entry not written");
            }
        }
    }
}

/// Counts card removals as the reader threads see them. The kiosk task handles reader events
/// in order, after the input it is busy with; a service waiting on the cloud asks this to know
/// whether the card it identified with is still there.
#[derive(Debug, Clone, Default)]
pub struct CardWatch(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl CardWatch {
    pub fn removals(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Called by the reader thread before it forwards a removal.
    pub fn removed(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// What a service may look at while it describes its screen.
pub struct ScreenCtx<'a> {
    pub lang: Lang,
    pub site: &'a Site,
    pub resident: Option<&'a ResidentSummary>,
    /// The screen is 1920×1080: wide rows, few of them.
    pub landscape: bool,
}

impl ScreenCtx<'_> {
    /// Between a table cell's parts: on one line where the screen is wide, else one over the
    /// other.
    pub fn cell_break(&self) -> &'static str {
        if self.landscape {
            " · "
        } else {
            "\n"
        }
    }

    pub fn text<'t>(&self, t: &'t Text) -> &'t str {
        t.get(self.lang)
    }
}

/// One convenience service. A new instance serves one visit of one resident and is dropped when
/// the resident leaves it or the session ends.
#[async_trait::async_trait]
pub trait Service: Send {
    /// Answers one input; returns where the kiosk goes next.
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next;

    /// The current screen, from the service's own state.
    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView;

    /// The card was pulled mid-way. Answers whether the service can go on without it, having
    /// dropped what the card gave (a named report becomes anonymous, an elderly-priority ticket
    /// not yet issued a standard one); `false` (the default) ends the session.
    fn identity_ended(&mut self) -> bool {
        false
    }

    /// While `Some`, the kiosk sends [`Input::Tick`] this often (a payment's QR waits on the
    /// cloud, not on the resident).
    fn poll_every(&self) -> Option<std::time::Duration> {
        None
    }

    /// The resident is busy elsewhere (paying on their phone): the page does not time out.
    fn holds_session(&self) -> bool {
        false
    }

    /// The resident is leaving the service (home, another service, the session ended) while
    /// it may hold something open at the cloud; what it hands over goes through the outbox.
    fn leaving(&mut self, _outbox: &Outbox, _store: &Mutex<Store>) {}
}

/// What a service's background upkeep may use (no resident: nobody is at the kiosk for it).
pub struct Upkeep<'a> {
    pub cloud: &'a CloudClient,
    pub store: &'a Mutex<Store>,
    pub outbox: &'a Outbox,
    pub site: &'a Site,
    /// The first pass after the kiosk started.
    pub starting: bool,
}

/// A service's background upkeep, run after every outbox pass (e.g. settling payment orders
/// whose resident has left).
pub type UpkeepFn =
    for<'a> fn(
        &'a Upkeep<'a>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// A service as the registry knows it.
#[derive(Clone, Copy)]
pub struct ServiceSpec {
    /// The catalogue's service code (or our own, for tiles outside the catalogue).
    pub code: &'static str,
    pub needs: Needs,
    /// A fresh instance for one visit.
    pub start: fn() -> Box<dyn Service>,
    /// Reference data the service keeps cached for offline use, refreshed at start-up.
    pub warm: Option<Warm>,
    /// Work the service does in the background, with nobody at the kiosk.
    pub upkeep: Option<UpkeepFn>,
}

/// Fetches a service's reference data into the cache.
pub type Warm = for<'a> fn(
    &'a CloudClient,
    &'a Mutex<Store>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Service codes → services. The kiosk asks the registry; it names no service itself.
#[derive(Clone)]
pub struct Registry {
    specs: Vec<ServiceSpec>,
}

impl Registry {
    /// The services this kiosk carries out.
    pub fn standard() -> Registry {
        Registry {
            specs: vec![
                social_insurance::SPEC,
                medical_insurance::SPEC,
                housing_fund::SPEC,
                utility_bills::SPEC,
                household::SPEC,
                queue::SPEC,
                reports::SPEC,
                assistance::SPEC,
                guides::SPEC,
                cases::SPEC,
            ],
        }
    }

    /// Adds (or replaces) a service.
    pub fn with(mut self, spec: ServiceSpec) -> Registry {
        self.specs.retain(|s| s.code != spec.code);
        self.specs.push(spec);
        self
    }

    pub fn specs(&self) -> impl Iterator<Item = &ServiceSpec> {
        self.specs.iter()
    }

    pub fn get(&self, code: &str) -> Option<&ServiceSpec> {
        self.specs.iter().find(|s| s.code == code)
    }

    /// The home page's tiles: the catalogue's eight, then the kiosk's own services.
    pub fn tile_codes(&self) -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = CATALOG_CODES.to_vec();
        codes.extend(
            self.specs
                .iter()
                .map(|s| s.code)
                .filter(|c| !CATALOG_CODES.contains(c)),
        );
        codes
    }
}

/// What went wrong (or what the resident should know instead), for the result page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: ResultKind,
    /// String keys.
    pub title: &'static str,
    pub message: &'static str,
    /// Trying again can help.
    pub retry: bool,
}

impl Notice {
    pub fn error(title: &'static str, message: &'static str, retry: bool) -> Notice {
        Notice {
            kind: ResultKind::Error,
            title,
            message,
            retry,
        }
    }

    pub fn info(title: &'static str, message: &'static str) -> Notice {
        Notice {
            kind: ResultKind::Info,
            title,
            message,
            retry: false,
        }
    }

    /// A clear, translated message for a cloud failure, with retry when trying again can help.
    pub fn cloud(err: &CloudError) -> Notice {
        tracing::warn!(
            kind = err.kind(),
            code = err.code().unwrap_or(""),
            "cloud call failed"
        );
        let (title, message, retry) = match err {
            CloudError::Unreachable(_) => ("error.unreachable", "error.unreachable.msg", true),
            CloudError::Timeout(_) => ("error.timeout", "error.timeout.msg", true),
            CloudError::Malformed(_) => ("error.malformed", "error.malformed.msg", true),
            CloudError::Problem(p) if p.code == "priority_not_eligible" => {
                ("error.priority", "error.priority.msg", false)
            }
            CloudError::Problem(p) if p.code == "card_expired" => {
                ("error.card_expired", "error.card_expired.msg", false)
            }
            CloudError::Problem(p) if p.code == "invalid_id_number" => {
                ("error.card_invalid", "error.card_invalid.msg", false)
            }
            CloudError::Problem(p) if p.code == "no_account" => {
                ("error.no_account", "error.no_account.msg", false)
            }
            CloudError::Problem(p) if p.code == "no_records_in_period" => {
                ("error.no_records", "error.no_records.msg", false)
            }
            CloudError::Problem(p) if p.code == "range_too_long" => {
                ("error.range_too_long", "error.range_too_long.msg", false)
            }
            CloudError::Problem(p) if p.code == "bill_already_paid" => {
                ("bills.already_paid", "bills.already_paid.msg", false)
            }
            // The cloud answered, with a fault of its own: not the network's doing.
            CloudError::Problem(p) if p.status >= 500 || p.status == 429 => {
                ("error.server", "error.server.msg", true)
            }
            CloudError::Problem(_) => ("error.refused", "error.refused.msg", false),
        };
        Notice::error(title, message, retry)
    }

    /// The result page says this, and nothing else.
    pub fn show(&self, r: &mut ResultView) {
        *r = ResultView {
            kind: self.kind,
            title: self.title.into(),
            message: self.message.into(),
            can_retry: self.retry,
            ..Default::default()
        };
    }
}

/// The paper a service printed in this step: the receipt (to print again after a fault) and how
/// it came out.
#[derive(Debug, Default)]
pub struct Paper {
    receipt: Option<Receipt>,
    owner: Option<JobOwner>,
    printed: Option<Printed>,
    image: Option<ReceiptImage>,
    /// The request's one paper ([`Paper::print_once`]): printed again only through its job.
    once: bool,
}

impl Paper {
    /// Prints `receipt` now, for this visit and `request` (the number it answers).
    pub fn print(&mut self, ctx: &mut Ctx<'_>, receipt: Receipt, request: &str) {
        let owner = ctx.owner(request);
        self.print_owned(ctx.printer, receipt, owner);
    }

    fn print_owned(&mut self, printer: &mut PrintService, receipt: Receipt, owner: JobOwner) {
        // Serial I/O can take seconds: let the runtime move other tasks off this worker.
        let outcome = tokio::task::block_in_place(|| printer.print_for(&receipt, &owner));
        self.printed = Some(outcome.state);
        self.image = outcome.preview;
        self.receipt = Some(receipt);
        self.owner = Some(owner);
    }

    /// Prints the one paper of `request` (a payment's receipt): a copy held for the resident or
    /// one that did not come out is sent again (补打); one that came out is not printed twice.
    pub fn print_once(&mut self, ctx: &mut Ctx<'_>, receipt: Receipt, request: &str) {
        let owner = ctx.owner(request);
        let printer = &mut *ctx.printer;
        let outcome = tokio::task::block_in_place(|| printer.print_once(&receipt, &owner));
        match outcome {
            Some(o) => {
                self.printed = Some(o.state);
                self.image = o.preview;
            }
            None => {
                self.printed = Some(Printed::Done);
                self.image = Some(ctx.printer.preview(&receipt));
            }
        }
        self.receipt = Some(receipt);
        self.owner = Some(owner);
        self.once = true;
    }

    /// Prints the same receipt again (the resident pressed "print" after a fault was cleared).
    /// A receipt that came out is not printed twice.
    pub fn reprint(&mut self, printer: &mut PrintService) {
        if self.printed == Some(Printed::Done) {
            return;
        }
        if let (Some(r), Some(owner)) = (self.receipt.take(), self.owner.take()) {
            if self.once {
                // The same job again, never a second paper of the request.
                let outcome = tokio::task::block_in_place(|| printer.print_once(&r, &owner));
                if let Some(o) = outcome {
                    self.printed = Some(o.state);
                    self.image = o.preview;
                } else {
                    self.printed = Some(Printed::Done);
                }
                self.receipt = Some(r);
                self.owner = Some(owner);
                return;
            }
            self.print_owned(printer, r, owner);
        }
    }

    pub fn clear(&mut self) {
        *self = Paper::default();
    }

    /// The print state on the result and print pages, and the "print" button after a fault.
    pub fn show(&self, v: &mut FlowView) {
        v.print.state = match self.printed {
            None => PrintState::None,
            Some(Printed::Done) => PrintState::Done,
            Some(Printed::PaperOut) => PrintState::PaperOut,
            Some(Printed::Failed) => PrintState::Failed,
        };
        v.print.preview = self.image.clone();
        v.result.can_print = self.printed.is_some_and(|p| p != Printed::Done);
    }
}

/// The registry lookup and instance creation, used by the kiosk: one place that says what an
/// unknown code does (nothing, and a warning).
pub fn start(registry: &Registry, code: &str) -> Option<(ServiceSpec, Box<dyn Service>)> {
    let spec = *registry.get(code)?;
    Some((spec, (spec.start)()))
}

/// Keeps a list of reference data fresh in the cache and falls back to it when the cloud cannot
/// be reached (offline-capable services).
pub fn cached<T: serde::Serialize + serde::de::DeserializeOwned>(
    store: &Mutex<Store>,
    key: &str,
    fetched: Result<T, CloudError>,
) -> Option<T> {
    match fetched {
        Ok(v) => {
            if let Ok(s) = store.lock() {
                match serde_json::to_string(&v) {
                    Ok(json) => {
                        if let Err(e) = s.cache_put(key, &json) {
                            tracing::warn!(key, error = %e, "cache not written");
                        }
                    }
                    Err(e) => tracing::warn!(key, error = %e, "cache not serialised"),
                }
            }
            Some(v)
        }
        Err(e) => {
            tracing::warn!(key, kind = e.kind(), "from the cache");
            let cached = store
                .lock()
                .ok()
                .and_then(|s| s.cache_get(key).ok().flatten())?;
            serde_json::from_str(&cached).ok()
        }
    }
}
