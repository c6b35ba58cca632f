//! What the UI shows, as plain data: the kiosk task builds a [`ViewState`] and the bridge copies
//! each part into the adapter global of its page (only the parts that changed). Strings here are
//! keys (translated in the UI) or data (names from the cloud, masked resident names, numbers) —
//! never fixed display text.

use crate::session::PageId;
use crate::Lang;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileView {
    pub code: String,
    /// The catalogue's name in the current language; empty → the UI's own translated name.
    pub title: String,
    pub enabled: bool,
    pub needs_card: bool,
    /// A status key shown on the tile (e.g. what the service can do while offline), or empty.
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChoiceView {
    pub id: String,
    pub title: String,
    pub detail: String,
    /// A status key shown as a badge (e.g. a case status), or empty.
    pub badge: String,
    pub enabled: bool,
    /// Queue statistics (people waiting, minutes); `None` hides them.
    pub waiting: Option<(u32, u32)>,
}

impl ChoiceView {
    /// An enabled choice with a title (a key or data).
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        ChoiceView {
            id: id.into(),
            title: title.into(),
            enabled: true,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowView {
    pub label: String,
    pub value: String,
    pub unit: String,
    /// Something the resident should act on (e.g. months without contributions).
    pub warn: bool,
}

impl RowView {
    pub fn new(label: &str, value: impl Into<String>) -> Self {
        RowView {
            label: label.into(),
            value: value.into(),
            unit: String::new(),
            warn: false,
        }
    }
    pub fn with_unit(label: &str, value: impl Into<String>, unit: &str) -> Self {
        RowView {
            label: label.into(),
            value: value.into(),
            unit: unit.into(),
            warn: false,
        }
    }
    pub fn warning(mut self) -> Self {
        self.warn = true;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultKind {
    #[default]
    Success,
    Error,
    Info,
}

/// The identify page: a card is needed, or only adds something (e.g. elderly priority).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentifyMode {
    #[default]
    Required,
    Optional,
}

/// The input page: a line of free text (on-screen keyboard) or digits on the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputMode {
    #[default]
    Text,
    Phone,
    /// A month as YYYYMM on the keypad (shown as 2026年01月).
    Month,
    /// A number that must be given (an account or order number): digits, no skip.
    Number,
}

/// Where the resident's paper is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrintState {
    /// Nothing printed in this step.
    #[default]
    None,
    Printing,
    Done,
    PaperOut,
    Failed,
}

/// The receipt as printed, from the print path's own rendering.
pub use crate::printing::ReceiptImage as Preview;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifyView {
    pub mode: IdentifyMode,
    /// Optional mode: what a card adds, and the way on without one (string keys).
    pub hint: String,
    pub skip: String,
}

/// The shared choice page (with facts above the choices, e.g. an account's summary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormView {
    pub title: String,
    pub hint: String,
    pub rows: Vec<RowView>,
    pub choices: Vec<ChoiceView>,
}

/// A column of the table page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnView {
    /// A string key.
    pub title: String,
    /// Amounts and counts: right-aligned.
    pub numeric: bool,
    /// Its share of the row's width.
    pub weight: u32,
}

impl ColumnView {
    pub fn new(title: &str, numeric: bool, weight: u32) -> Self {
        ColumnView {
            title: title.into(),
            numeric,
            weight,
        }
    }
}

/// The shared table page: rows × columns, paged to the screen by the UI (上一页/下一页).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableView {
    /// String keys.
    pub title: String,
    /// Data: what the table covers (e.g. the period).
    pub subtitle: String,
    pub columns: Vec<ColumnView>,
    /// Data cells (already in the resident's language where they are words).
    pub rows: Vec<Vec<String>>,
    /// The total line (as many cells as columns), or empty.
    pub total: Vec<String>,
    /// A string key for the button under the table (e.g. print a certificate), or empty.
    pub action: String,
}

/// The document preview: what will be printed, before it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentView {
    /// String keys.
    pub title: String,
    pub hint: String,
    pub preview: Option<Preview>,
}

/// The shared input page (text or keypad).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputView {
    pub mode: InputMode,
    pub title: String,
    pub hint: String,
    pub error: bool,
    /// What the keypad holds so far (shown masked where the page says so).
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfirmView {
    pub title: String,
    pub rows: Vec<RowView>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultView {
    pub kind: ResultKind,
    pub title: String,
    pub headline: String,
    pub message: String,
    pub rows: Vec<RowView>,
    pub can_print: bool,
    pub can_retry: bool,
    /// A finished use of a service the resident may rate (好差评): what is rated (the case,
    /// ticket, payment or certificate number). Empty: nothing to rate.
    pub rate: String,
    /// What the kiosk says of this result beyond its kind (a ticket's number, an amount paid).
    pub spoken: Option<SpokenResult>,
}

/// A result's figures, spoken from voice-pack pieces (see `crate::voice::prompts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpokenResult {
    /// A queue ticket: its number ("A023") and the people ahead.
    Ticket { number: String, ahead: u32 },
    /// A bill paid: the amount in fen and the utility ("water", "electricity", "gas").
    Paid { fen: u64, utility: String },
}

/// The 好差评 strip on a result page that rates something (`ResultView::rate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingView {
    /// 1 (非常不满意) … 5 (非常满意); 0 before a tap.
    pub score: u8,
    /// The quick phrases (codes, e.g. `slow`) and whether each is chosen.
    pub reasons: Vec<(String, bool)>,
    pub sent: bool,
    /// Kept on the kiosk until the network returns.
    pub kept: bool,
    /// Could not be kept (storage trouble): the resident may try again.
    pub failed: bool,
}

impl Default for RatingView {
    fn default() -> Self {
        RatingView {
            score: 0,
            reasons: crate::cloud::api::RATING_REASONS
                .iter()
                .map(|c| (c.to_string(), false))
                .collect(),
            sent: false,
            kept: false,
            failed: false,
        }
    }
}

/// The payment page: the order's QR with what it pays, to whom, and how long it stays open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentView {
    pub qr: Option<Preview>,
    /// Yuan, e.g. `97.80`.
    pub amount: String,
    pub payee: String,
    pub order_no: String,
    pub seconds_left: u32,
    /// The cloud has not answered for a while: 正在确认….
    pub checking: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrintView {
    pub state: PrintState,
    pub preview: Option<Preview>,
}

/// Everything a service shows, page by page. A service describes it from its own state
/// ([`crate::services::Service::screen`]); the kiosk adds the service's code and title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowView {
    pub service_code: String,
    pub service_title: String,
    pub identify: IdentifyView,
    pub form: FormView,
    pub input: InputView,
    pub table: TableView,
    pub document: DocumentView,
    pub confirm: ConfirmView,
    pub result: ResultView,
    pub print: PrintView,
    pub payment: PaymentView,
    pub rating: RatingView,
}

/// The frame around every page, and the home and attract pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChromeView {
    pub page: PageId,
    pub lang: Lang,
    pub elderly: bool,
    pub landscape: bool,
    /// The last seconds before the page times out: the warning dialog.
    pub countdown: Option<u32>,
    /// Seconds before the page times out, shown discreetly while a resident is identified.
    pub seconds_left: Option<u32>,
    pub busy: bool,
    pub identified: bool,
    pub greeting_name: String,
    pub remind_take_card: bool,
    /// Staff were called in this session: the sign stays until the session ends.
    pub staff_called: bool,
    /// Minutes since staff were called.
    pub staff_called_min: Option<u32>,
    /// A message for this page (a string key), e.g. what happened when the card was pulled.
    pub toast: String,
    /// The cloud cannot be reached.
    pub offline: bool,
    /// The cloud answers too slowly.
    pub slow: bool,
    pub can_go_back: bool,
    /// A card is on the reader.
    pub card_present: bool,
    pub site_name: String,
    /// What the kiosk is saying (its caption), and the resident's volume (0–100).
    pub caption: String,
    pub volume: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomeView {
    pub tiles: Vec<TileView>,
    pub notice: String,
}

/// The goodbye page after an identified session: the 隐私凭条 and whether it was printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoodbyeView {
    pub rows: Vec<RowView>,
    pub print: PrintState,
}

/// The technician page: its PIN pad, or the page itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TechnicianStage {
    #[default]
    Pin,
    /// Too many wrong PINs: the pad refuses for a while.
    Locked,
    Open,
}

/// One audit log entry as the technician page lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLine {
    pub at: String,
    pub action: String,
    pub detail: String,
}

/// The technician page (see `crate::technician`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TechnicianView {
    pub stage: TechnicianStage,
    /// How many digits are typed (never the digits).
    pub pin_len: u32,
    /// The pad takes a PIN (`technician.pin_hash`), a technician card (`technician.cards`), or
    /// both.
    pub pin_entry: bool,
    pub card_entry: bool,
    /// A format key for the pad's message (a wrong PIN, the lockout) and its value.
    pub pin_message: String,
    pub pin_value: String,
    /// The health, as the heartbeat reports it.
    pub rows: Vec<RowView>,
    /// Recent error codes: the code, its count and when it was last seen.
    pub errors: Vec<RowView>,
    /// The last audit entries, newest first.
    pub audit: Vec<AuditLine>,
    /// The last self-test run from the page: a row a device (empty before any).
    pub selftest: Vec<RowView>,
    /// The last action's outcome: a format key and its value; empty before any.
    pub outcome: String,
    pub outcome_value: String,
    pub outcome_ok: bool,
    /// The test card: a state key, the reader's name, the card type's key and the number's tail.
    pub card_state: String,
    pub card_reader: String,
    pub card_type: String,
    pub card_tail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewState {
    pub chrome: ChromeView,
    pub home: HomeView,
    pub flow: FlowView,
    pub goodbye: GoodbyeView,
    pub technician: TechnicianView,
}
