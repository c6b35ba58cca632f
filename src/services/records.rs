//! The shape 社保, 医保 and 公积金 share: an account's summary → a period → the table of its
//! records → a document (certificate, statement, proof) previewed → printed. Each service is a
//! [`Book`]: what its account, records and document are, and how they read. The flow, the pages,
//! the month pickers and the misissuance guard are written once, here.

use super::shapes::{NotAnswered, Pending};
use super::{Ctx, Input, Next, Notice, Paper, ScreenCtx, Service};
use crate::cloud::api::Certificate;
use crate::cloud::{CloudClient, CloudError, ResidentToken, Submission};
use crate::printing::{templates, ReceiptImage};
use crate::session::PageId;
use crate::time::{date_of, short_time, Month};
use crate::view::{ChoiceView, ColumnView, FlowView, IdentifyMode, InputMode, ResultKind, RowView};
use bianmin_printer::Receipt;

/// The longest period a resident can ask for at the kiosk (the window handles longer ones).
const MAX_MONTHS: i32 = 60;

/// One service's records: its account, its rows, its document.
#[async_trait::async_trait]
pub trait Book: Send + Sync + 'static {
    type Account: Send + Sync;
    type Row: Send + Sync;
    /// The document request (a submission answered by a [`Certificate`]).
    type Request: Submission<Answer = Certificate>;

    /// String keys: the summary page's title, the records choice (empty: the service has no
    /// records table), and the document choice.
    const SUMMARY: &'static str;
    const RECORDS: &'static str;
    const DOCUMENT: &'static str;

    async fn account(cloud: &CloudClient, s: &ResidentToken) -> Result<Self::Account, CloudError>;

    /// The records of a period (only called when the service has records).
    async fn rows(
        cloud: &CloudClient,
        s: &ResidentToken,
        from: Month,
        to: Month,
    ) -> Result<Vec<Self::Row>, CloudError>;

    /// The summary's lines (gaps and other things to act on marked as warnings).
    fn summary(a: &Self::Account, s: &ScreenCtx<'_>) -> Vec<RowView>;

    fn columns() -> Vec<ColumnView>;
    fn cells(row: &Self::Row, s: &ScreenCtx<'_>) -> Vec<String>;
    /// The total line under the table (as many cells as columns).
    fn total(rows: &[Self::Row], s: &ScreenCtx<'_>) -> Vec<String>;

    /// What the document is for, when it is not for a period: (id, string key) choices.
    fn purposes() -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// The document request for a period or a purpose.
    fn request(period: Option<(Month, Month)>, purpose: Option<&str>) -> Option<Self::Request>;
}

/// What the resident is choosing a period for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Records,
    Document,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Summary,
    Period(Goal),
    /// The document's purpose (a document not tied to a period).
    Purpose,
    MonthFrom(Goal),
    MonthTo(Goal, Month),
    Table,
    Document,
    Printed,
}

impl Step {
    fn page(self) -> PageId {
        match self {
            Step::Summary | Step::Period(_) | Step::Purpose => PageId::Form,
            Step::MonthFrom(_) | Step::MonthTo(..) => PageId::Input,
            Step::Table => PageId::Table,
            Step::Document => PageId::Document,
            Step::Printed => PageId::Result,
        }
    }
}

/// What 重试 does again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redo {
    Load,
    Rows,
    Document,
}

/// A document the cloud issued for this resident and this request, ready to print.
struct Issued {
    cert: Certificate,
    receipt: Receipt,
    preview: ReceiptImage,
}

/// The flow of one records service for one visit.
pub struct RecordsFlow<B: Book> {
    steps: Vec<Step>,
    account: Option<B::Account>,
    period: Option<(Month, Month)>,
    purpose: Option<&'static str>,
    rows: Vec<B::Row>,
    /// Digits typed on the month keypad, and why they were refused.
    digits: String,
    refused: Option<&'static str>,
    /// The document request: one Idempotency-Key across retries of the same request.
    submission: Pending<B::Request>,
    issued: Option<Issued>,
    paper: Paper,
    notice: Option<Notice>,
    failed: Option<Redo>,
}

impl<B: Book> Default for RecordsFlow<B> {
    fn default() -> Self {
        RecordsFlow {
            steps: Vec::new(),
            account: None,
            period: None,
            purpose: None,
            rows: Vec::new(),
            digits: String::new(),
            refused: None,
            submission: Pending::default(),
            issued: None,
            paper: Paper::default(),
            notice: None,
            failed: None,
        }
    }
}

#[async_trait::async_trait]
impl<B: Book> Service for RecordsFlow<B> {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open if ctx.resident.is_none() => Next::Identify { optional: false },
            Input::Open => self.load(ctx, false).await,
            Input::Identified => self.load(ctx, true).await,
            Input::Choose(id) => self.choose(ctx, &id).await,
            Input::Key(k) => {
                self.key(&k);
                Next::Stay
            }
            Input::Submit(_) => self.month_entered(ctx).await,
            Input::Confirm if self.top() == Some(Step::Table) => {
                // 打印证明 under the table: the document for the period on screen.
                self.document(ctx).await
            }
            Input::Confirm | Input::Print if self.top() == Some(Step::Document) => self.print(ctx),
            Input::Print => {
                self.paper.reprint(ctx.printer);
                Next::Stay
            }
            Input::Retry => match self.failed {
                Some(Redo::Load) => self.load(ctx, false).await,
                Some(Redo::Rows) => self.records(ctx).await,
                Some(Redo::Document) => self.document(ctx).await,
                None => Next::Stay,
            },
            Input::Back => self.back(),
            other => other.ignored(),
        }
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        v.identify.mode = IdentifyMode::Required;
        if let Some(a) = &self.account {
            v.form.title = B::SUMMARY.into();
            v.form.rows = B::summary(a, s);
            let mut choices = Vec::new();
            if !B::RECORDS.is_empty() {
                choices.push(ChoiceView::new("records", B::RECORDS));
            }
            choices.push(ChoiceView::new("document", B::DOCUMENT));
            v.form.choices = choices;
        }
        match self.top() {
            Some(Step::Period(goal)) => {
                v.form.title = match goal {
                    Goal::Records => "records.period.records",
                    Goal::Document => "records.period.document",
                }
                .into();
                v.form.hint = "records.period.hint".into();
                v.form.rows = Vec::new();
                v.form.choices = period_choices();
            }
            Some(Step::Purpose) => {
                v.form.title = "records.purpose".into();
                v.form.rows = Vec::new();
                v.form.choices = B::purposes()
                    .into_iter()
                    .map(|(id, key)| ChoiceView::new(id, key))
                    .collect();
            }
            Some(Step::MonthFrom(_)) | Some(Step::MonthTo(..)) => {
                v.input.mode = InputMode::Month;
                v.input.title = if matches!(self.top(), Some(Step::MonthFrom(_))) {
                    "records.month.from"
                } else {
                    "records.month.to"
                }
                .into();
                v.input.hint = self.refused.unwrap_or("records.month.hint").into();
                v.input.error = self.refused.is_some();
                v.input.value = month_display(&self.digits);
            }
            _ => {}
        }
        if let Some((from, to)) = self.period {
            v.table.title = B::RECORDS.into();
            v.table.subtitle = format!("{from} — {to}");
            v.table.columns = B::columns();
            v.table.rows = self.rows.iter().map(|r| B::cells(r, s)).collect();
            if !self.rows.is_empty() {
                v.table.total = B::total(&self.rows, s);
            }
            v.table.action = B::DOCUMENT.into();
        }
        if let Some(d) = &self.issued {
            v.document.title = "document.preview".into();
            v.document.hint = "document.preview.hint".into();
            v.document.preview = Some(d.preview.clone());
        }
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
        } else if let (Some(Step::Printed), Some(d)) = (self.top(), &self.issued) {
            let r = &mut v.result;
            r.kind = ResultKind::Success;
            r.title = "document.printed".into();
            r.headline = s.text(&d.cert.title).to_string();
            r.message = "document.printed.msg".into();
            r.rate = d.cert.certificate_no.clone();
            r.rows = vec![
                RowView::new("document.no", d.cert.certificate_no.clone()),
                RowView::new("document.verify_code", d.cert.verify_code.clone()),
                RowView::new("document.issued_at", short_time(&d.cert.issued_at)),
                RowView::new("document.valid_until", date_of(&d.cert.valid_until)),
            ];
            self.paper.show(&mut v);
        }
        v
    }
}

/// The keypad's digits as the month they are becoming: `2024` → `2024-__`, `20240` → `2024-0_`.
fn month_display(digits: &str) -> String {
    let mut shown: Vec<char> = "____-__".chars().collect();
    for (i, d) in digits.chars().take(6).enumerate() {
        shown[if i < 4 { i } else { i + 1 }] = d;
    }
    shown.into_iter().collect()
}

/// The period choices: the last 12 whole months, this year, last year, or from–to.
fn period_choices() -> Vec<ChoiceView> {
    let now = Month::current();
    vec![
        ChoiceView {
            detail: format!("{} — {}", now.plus(-12), now.plus(-1)),
            ..ChoiceView::new("last12", "records.period.last12")
        },
        ChoiceView {
            detail: format!("{} — {}", Month { month: 1, ..now }, now),
            ..ChoiceView::new("this_year", "records.period.this_year")
        },
        ChoiceView {
            detail: format!(
                "{} — {}",
                Month {
                    year: now.year - 1,
                    month: 1
                },
                Month {
                    year: now.year - 1,
                    month: 12
                }
            ),
            ..ChoiceView::new("last_year", "records.period.last_year")
        },
        ChoiceView::new("custom", "records.period.custom"),
    ]
}

fn period_of(choice: &str) -> Option<(Month, Month)> {
    let now = Month::current();
    match choice {
        // Twelve whole months: this month's contributions are not in yet.
        "last12" => Some((now.plus(-12), now.plus(-1))),
        "this_year" => Some((Month { month: 1, ..now }, now)),
        "last_year" => Some((
            Month {
                year: now.year - 1,
                month: 1,
            },
            Month {
                year: now.year - 1,
                month: 12,
            },
        )),
        _ => None,
    }
}

/// Why a document the cloud answered is not printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misissue {
    /// The card left (or the session ended) before the answer came.
    ResidentGone,
    /// The answer names another session.
    OtherSession,
    /// The answer names another request.
    OtherRequest,
    /// The answer names another resident.
    OtherHolder,
}

impl Misissue {
    pub fn code(self) -> &'static str {
        match self {
            Misissue::ResidentGone => "resident_gone",
            Misissue::OtherSession => "other_session",
            Misissue::OtherRequest => "other_request",
            Misissue::OtherHolder => "other_holder",
        }
    }
}

/// The misissuance guard: a document is for the resident at the kiosk, in this session, for
/// the request this kiosk made — or it is not printed. Never "the next job".
pub fn check_document(
    ctx: &Ctx<'_>,
    cert: &Certificate,
    request_id: Option<&str>,
) -> Result<(), Misissue> {
    let Some(r) = ctx.resident.filter(|_| ctx.resident_present()) else {
        return Err(Misissue::ResidentGone);
    };
    if cert.session_id != r.session_id {
        return Err(Misissue::OtherSession);
    }
    if request_id != Some(cert.request_id.as_str()) {
        return Err(Misissue::OtherRequest);
    }
    if cert.holder.id_masked != r.summary.id_masked
        || cert.holder.name_masked != r.summary.name_masked
    {
        return Err(Misissue::OtherHolder);
    }
    Ok(())
}

impl<B: Book> RecordsFlow<B> {
    fn top(&self) -> Option<Step> {
        self.steps.last().copied()
    }

    /// Goes to `step`: the same page changes in place, another page is a page forward.
    fn push(&mut self, step: Step) -> Next {
        let from = self.top().map(Step::page);
        self.steps.push(step);
        if from == Some(step.page()) {
            Next::Stay
        } else {
            Next::Go(step.page())
        }
    }

    fn fail(&mut self, redo: Option<Redo>, notice: Notice) -> Next {
        self.failed = redo;
        self.notice = Some(notice);
        Next::Go(PageId::Result)
    }

    fn back(&mut self) -> Next {
        if self.notice.take().is_some() {
            self.failed = None;
            return Next::Back;
        }
        let Some(mut left) = self.steps.pop() else {
            return Next::Back;
        };
        if left == Step::Printed && self.top() == Some(Step::Document) {
            // The result replaced the preview: back goes to where the preview came from.
            self.steps.pop();
            left = Step::Document;
        }
        if left == Step::Document {
            // Leaving the preview: a new request next time (another period, another paper).
            self.issued = None;
            self.submission = Pending::default();
        }
        self.refused = None;
        match self.top() {
            Some(now) if now.page() == left.page() => Next::Stay,
            Some(_) => Next::Back,
            None => {
                self.steps.push(left);
                Next::Back
            }
        }
    }

    async fn load(&mut self, ctx: &mut Ctx<'_>, from_identify: bool) -> Next {
        let Some(r) = ctx.resident else {
            return Next::Identify { optional: false };
        };
        match B::account(ctx.cloud, &r.token).await {
            Ok(a) => {
                self.account = Some(a);
                self.notice = None;
                self.failed = None;
                self.steps = vec![Step::Summary];
                if from_identify {
                    Next::Replace(PageId::Form)
                } else {
                    Next::Go(PageId::Form)
                }
            }
            Err(e) => self.fail(Some(Redo::Load), Notice::cloud(&e)),
        }
    }

    async fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        match self.top() {
            Some(Step::Summary) => match id {
                "records" if !B::RECORDS.is_empty() => self.push(Step::Period(Goal::Records)),
                "document" if B::purposes().is_empty() => self.push(Step::Period(Goal::Document)),
                "document" => self.push(Step::Purpose),
                _ => Next::Stay,
            },
            Some(Step::Period(goal)) => match period_of(id) {
                Some(p) => {
                    self.period_chosen(p);
                    self.run(ctx, goal).await
                }
                None if id == "custom" => {
                    self.digits.clear();
                    self.refused = None;
                    self.push(Step::MonthFrom(goal))
                }
                None => Next::Stay,
            },
            Some(Step::Purpose) => {
                let Some((purpose, _)) = B::purposes().into_iter().find(|(p, _)| *p == id) else {
                    return Next::Stay;
                };
                if self.purpose != Some(purpose) {
                    self.submission = Pending::default();
                }
                self.purpose = Some(purpose);
                self.document(ctx).await
            }
            _ => Next::Stay,
        }
    }

    fn period_chosen(&mut self, p: (Month, Month)) {
        if self.period != Some(p) {
            // Another period is another document: a new request.
            self.submission = Pending::default();
            self.rows.clear();
        }
        self.period = Some(p);
    }

    async fn run(&mut self, ctx: &mut Ctx<'_>, goal: Goal) -> Next {
        match goal {
            Goal::Records => self.records(ctx).await,
            Goal::Document => self.document(ctx).await,
        }
    }

    fn key(&mut self, k: &str) {
        if !matches!(self.top(), Some(Step::MonthFrom(_) | Step::MonthTo(..))) {
            return;
        }
        self.refused = None;
        match k {
            "back" => {
                self.digits.pop();
            }
            "clear" => self.digits.clear(),
            d if d.len() == 1 && d.bytes().all(|b| b.is_ascii_digit()) && self.digits.len() < 6 => {
                self.digits.push_str(d)
            }
            _ => {}
        }
    }

    async fn month_entered(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let step = self.top();
        let Some(Step::MonthFrom(goal) | Step::MonthTo(goal, _)) = step else {
            return Next::Stay;
        };
        let Some(m) = Month::from_digits(&self.digits) else {
            self.refused = Some("records.month.invalid");
            return Next::Stay;
        };
        if m > Month::current() {
            self.refused = Some("records.month.future");
            return Next::Stay;
        }
        match step {
            Some(Step::MonthFrom(_)) => {
                self.digits.clear();
                self.push(Step::MonthTo(goal, m))
            }
            Some(Step::MonthTo(_, from)) => {
                if m < from {
                    self.refused = Some("records.month.order");
                    return Next::Stay;
                }
                if from.span_to(m) > MAX_MONTHS {
                    self.refused = Some("records.month.too_long");
                    return Next::Stay;
                }
                self.period_chosen((from, m));
                self.run(ctx, goal).await
            }
            _ => Next::Stay,
        }
    }

    async fn records(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let (Some(r), Some((from, to))) = (ctx.resident, self.period) else {
            return Next::Stay;
        };
        match B::rows(ctx.cloud, &r.token, from, to).await {
            Ok(rows) => {
                self.rows = rows;
                self.notice = None;
                self.failed = None;
                self.push(Step::Table)
            }
            Err(e) => self.fail(Some(Redo::Rows), Notice::cloud(&e)),
        }
    }

    /// Asks the cloud for the document, checks it is this resident's answer to this request,
    /// and shows the preview. Nothing is printed yet.
    async fn document(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let Some(r) = ctx.resident else {
            return Next::Stay;
        };
        let purpose = self.purpose.filter(|_| !B::purposes().is_empty());
        let period = self.period.filter(|_| purpose.is_none());
        let Some(request) = B::request(period, purpose) else {
            return Next::Stay;
        };
        let delivered = self
            .submission
            .deliver(ctx.outbox, ctx.cloud, &request, Some(&r.token))
            .await;
        let cert = match delivered {
            Ok(c) => c,
            Err(NotAnswered::Refused(n)) => {
                self.submission = Pending::default();
                return self.fail(None, n);
            }
            Err(other) => return self.fail(Some(Redo::Document), other.notice()),
        };
        let request_id = self
            .submission
            .entry()
            .and_then(|e| ctx.outbox.request_id(e));
        if let Err(why) = check_document(ctx, &cert, request_id.as_deref()) {
            return self.withhold(ctx, &cert, why);
        }
        let receipt = templates::document(ctx.site, &cert, ctx.printer.width_dots());
        let preview = ctx.printer.preview(&receipt);
        self.issued = Some(Issued {
            cert,
            receipt,
            preview,
        });
        self.notice = None;
        self.failed = None;
        self.paper.clear();
        self.push(Step::Document)
    }

    /// Prints the previewed document, once, if the resident it names is still here.
    fn print(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let Some(d) = &self.issued else {
            return Next::Stay;
        };
        if ctx
            .resident
            .is_none_or(|r| r.session_id != d.cert.session_id)
            || !ctx.resident_present()
        {
            let cert = d.cert.clone();
            return self.withhold(ctx, &cert, Misissue::ResidentGone);
        }
        let (receipt, no) = (d.receipt.clone(), d.cert.certificate_no.clone());
        self.paper.print(ctx, receipt, &no);
        self.steps.push(Step::Printed);
        // No way back into the preview: a second tap must not print a second copy.
        Next::Replace(PageId::Result)
    }

    /// A document that is not this resident's, or no longer has its resident: nothing is
    /// printed or shown, the resident is sent to staff, and the audit log says why.
    fn withhold(&mut self, ctx: &mut Ctx<'_>, cert: &Certificate, why: Misissue) -> Next {
        tracing::warn!(
            reason = why.code(),
            certificate = %cert.certificate_no,
            "document withheld: not for the resident at the kiosk"
        );
        ctx.audit(
            "document_withheld",
            &format!("{} {}", why.code(), cert.certificate_no),
        );
        self.issued = None;
        self.submission = Pending::default();
        self.fail(
            None,
            Notice::error("document.withheld", "document.withheld.msg", false),
        )
    }
}
