//! The convenience services. Each is a small flow over the shared pages (form, identify,
//! confirm, result, print): it fills [`FlowView`] and tells the kiosk which page comes next.

pub mod cases;
pub mod guides;
pub mod queue;
pub mod reports;

use crate::cloud::api::{Site, Text};
use crate::cloud::{CloudClient, CloudError};
use crate::printing::PrintService;
use crate::session::{PageId, ResidentSession};
use crate::view::{FlowView, ResultKind};
use crate::Lang;
use bianmin_printer::Receipt;

/// The eight services of the catalogue, plus the two home tiles of our own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceCode {
    SocialInsurance,
    MedicalInsurance,
    HousingFund,
    UtilityBills,
    Household,
    QueueAndCases,
    Reports,
    Assistance,
    Guides,
    MyCases,
}

impl ServiceCode {
    pub const HOME_TILES: [ServiceCode; 10] = [
        ServiceCode::SocialInsurance,
        ServiceCode::MedicalInsurance,
        ServiceCode::HousingFund,
        ServiceCode::UtilityBills,
        ServiceCode::Household,
        ServiceCode::QueueAndCases,
        ServiceCode::Reports,
        ServiceCode::Assistance,
        ServiceCode::Guides,
        ServiceCode::MyCases,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ServiceCode::SocialInsurance => "social_insurance",
            ServiceCode::MedicalInsurance => "medical_insurance",
            ServiceCode::HousingFund => "housing_fund",
            ServiceCode::UtilityBills => "utility_bills",
            ServiceCode::Household => "household",
            ServiceCode::QueueAndCases => "queue_and_cases",
            ServiceCode::Reports => "reports",
            ServiceCode::Assistance => "assistance",
            ServiceCode::Guides => "guides",
            ServiceCode::MyCases => "my_cases",
        }
    }

    pub fn from_code(code: &str) -> Option<ServiceCode> {
        Self::HOME_TILES.into_iter().find(|s| s.code() == code)
    }

    /// Services whose result is paper: they cannot start while the printer cannot print.
    pub fn prints(self) -> bool {
        matches!(self, ServiceCode::QueueAndCases)
    }

    /// Services this kiosk carries out itself; the rest send the resident to a window for now.
    pub fn on_kiosk(self) -> bool {
        matches!(
            self,
            ServiceCode::QueueAndCases
                | ServiceCode::Guides
                | ServiceCode::MyCases
                | ServiceCode::Reports
        )
    }
}

/// What a flow wants next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Show this page (with a back step).
    Go(PageId),
    /// Show this page in place of the current one (no way "back" into a finished step).
    Replace(PageId),
    /// Ask for the resident's card; the flow continues in `identified` (or `skip_identify`).
    Identify {
        optional: bool,
    },
    Stay,
}

/// What a flow may use while it runs.
pub struct Ctx<'a> {
    pub cloud: &'a CloudClient,
    pub site: &'a Site,
    pub lang: Lang,
    pub resident: Option<&'a ResidentSession>,
    pub printer: &'a mut PrintService,
    pub view: &'a mut FlowView,
    /// Creating calls go through the outbox (durable, one Idempotency-Key for life).
    pub outbox: &'a crate::outbox::Outbox,
}

impl Ctx<'_> {
    pub fn text<'t>(&self, t: &'t Text) -> &'t str {
        t.get(self.lang)
    }

    /// Prints, and shows the outcome on the current page.
    pub fn print(&mut self, receipt: &Receipt) {
        // Serial I/O can take seconds: let the runtime move other tasks off this worker.
        let printer = &mut *self.printer;
        let outcome = tokio::task::block_in_place(|| printer.print(receipt));
        self.view.print_state = outcome.state.to_string();
        self.view.preview = outcome.preview;
        // A failed print can be tried again by the resident once the fault is cleared.
        self.view.can_print = outcome.state != "done";
    }
}

/// Fills the result page with a clear, translated message for a cloud failure. Offers retry
/// when trying again can help. Returns the page to show.
pub fn show_cloud_error(view: &mut FlowView, err: &CloudError) -> Next {
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
        CloudError::Problem(p) if p.status >= 500 || p.status == 429 => {
            ("error.unreachable", "error.unreachable.msg", true)
        }
        CloudError::Problem(_) => ("error.refused", "error.refused.msg", false),
    };
    show_error(view, title, message, retry);
    Next::Go(PageId::Result)
}

pub fn show_error(view: &mut FlowView, title: &str, message: &str, retry: bool) {
    view.result_kind = ResultKind::Error;
    view.result_title = title.into();
    view.result_message = message.into();
    view.result_headline.clear();
    view.result_rows.clear();
    view.can_retry = retry;
    view.can_print = false;
    view.print_state.clear();
    view.preview = None;
}

/// `2026-11-29T17:05:00+08:00` → `2026-11-29 17:05` for screens and paper.
pub fn short_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&crate::cloud_sim::CST)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}
