//! 8 民政救助: an application for social assistance, with a card. Program (its conditions in
//! plain words) → the cloud's pre-check from what it already knows (likely eligible, needs
//! review, or not eligible, with its reasons; never "approved": the office decides) → the
//! questions the program asks, one a page (household size, income band, mobile number, consent
//! to the household financial check) → confirm. The application goes through the outbox
//! ([`Application`]): its 受理回执 names the time limit and what happens next; if the cloud drops
//! after the pre-check, the resident leaves with an offline receipt and it is sent later. The
//! pre-check itself needs the cloud, so the service does not start offline.

use super::shapes::{is_mobile, Application, Asked, Questions};
use super::{
    mask_phone, Ctx, IdentityNeed, Input, Needs, Next, Notice, ScreenCtx, Service, ServiceSpec,
};
use crate::cloud::api::{
    AssistanceApplicationRequest, AssistanceProgram, AssistanceQuestion, Eligibility,
    EligibilityRequest, EligibilityVerdict, IncomeBand,
};
use crate::printing::templates;
use crate::session::PageId;
use crate::view::{ChoiceView, FlowView, IdentifyMode, InputMode, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "assistance",
    needs: Needs {
        identity: IdentityNeed::Required,
        prints: true,
        offline: false,
    },
    start: || Box::<AssistanceFlow>::default(),
    warm: None,
    upkeep: None,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Program,
    /// The pre-check's verdict, with 申请 when the resident may apply.
    Verdict,
    Ask(AssistanceQuestion),
}

fn asked(step: Step) -> Asked {
    match step {
        Step::Ask(AssistanceQuestion::Phone) => Asked::Keypad,
        _ => Asked::Choice,
    }
}

/// Household sizes as big choices: 1 … 5, and 6 or more.
const SIZES: [(&str, &str, u32); 6] = [
    ("1", "assist.size.1", 1),
    ("2", "assist.size.2", 2),
    ("3", "assist.size.3", 3),
    ("4", "assist.size.4", 4),
    ("5", "assist.size.5", 5),
    ("6", "assist.size.6", 6),
];

const BANDS: [(IncomeBand, &str); 4] = [
    (IncomeBand::Under800, "assist.income.under_800"),
    (IncomeBand::From800To1500, "assist.income.800_1500"),
    (IncomeBand::From1500To3000, "assist.income.1500_3000"),
    (IncomeBand::Over3000, "assist.income.over_3000"),
];

fn band_key(b: IncomeBand) -> &'static str {
    BANDS.iter().find(|x| x.0 == b).map(|x| x.1).unwrap_or("")
}

fn verdict_key(v: EligibilityVerdict) -> &'static str {
    match v {
        EligibilityVerdict::LikelyEligible => "assist.verdict.likely",
        EligibilityVerdict::NeedsReview => "assist.verdict.review",
        EligibilityVerdict::NotEligible => "assist.verdict.not",
    }
}

pub struct AssistanceFlow {
    questions: Questions<Step>,
    programs: Vec<AssistanceProgram>,
    program: Option<usize>,
    eligibility: Option<Eligibility>,
    household_size: Option<u32>,
    income: Option<IncomeBand>,
    phone: Option<String>,
    /// `Some(false)`: the resident said 不同意 (the application cannot go on).
    consent: Option<bool>,
    application: Application<AssistanceApplicationRequest>,
    notice: Option<Notice>,
}

impl Default for AssistanceFlow {
    fn default() -> Self {
        AssistanceFlow {
            questions: Questions::new(Step::Program, asked),
            programs: Vec::new(),
            program: None,
            eligibility: None,
            household_size: None,
            income: None,
            phone: None,
            consent: None,
            application: Application::default(),
            notice: None,
        }
    }
}

#[async_trait::async_trait]
impl Service for AssistanceFlow {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open if ctx.resident.is_none() => Next::Identify { optional: false },
            Input::Open => self.open(ctx, false).await,
            Input::Identified => self.open(ctx, true).await,
            Input::Retry if self.programs.is_empty() => self.open(ctx, true).await,
            Input::Choose(id) => self.choose(ctx, &id).await,
            Input::Key(k) => self.questions.key(&k, 11),
            Input::Submit(v) => self.phone_entered(&v),
            Input::Skip => self.phone_entered(""),
            Input::Confirm | Input::Retry => self.confirm(ctx).await,
            Input::Print => self.application.reprint(ctx),
            Input::Back => {
                self.notice = None;
                self.questions.back()
            }
            other => other.ignored(),
        }
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        v.identify.mode = IdentifyMode::Required;
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
        }
        let program = self.current();
        match self.questions.current() {
            Step::Program => {
                v.form.title = "assist.program".into();
                v.form.hint = "assist.program.hint".into();
                v.form.choices = self
                    .programs
                    .iter()
                    .map(|p| ChoiceView {
                        detail: p
                            .conditions
                            .iter()
                            .map(|c| s.text(c))
                            .collect::<Vec<_>>()
                            .join("\n"),
                        ..ChoiceView::new(&p.code, s.text(&p.name))
                    })
                    .collect();
            }
            Step::Verdict => {
                v.form.title = "assist.check".into();
                if let (Some(p), Some(e)) = (program, &self.eligibility) {
                    v.form.rows.push(RowView::new(
                        "assist.row.program",
                        s.text(&p.name).to_string(),
                    ));
                    let verdict =
                        RowView::with_unit("assist.row.verdict", verdict_key(e.verdict), "key");
                    let not = e.verdict == EligibilityVerdict::NotEligible;
                    v.form
                        .rows
                        .push(if not { verdict.warning() } else { verdict });
                    for r in &e.reasons {
                        v.form
                            .rows
                            .push(RowView::new("assist.row.reason", s.text(r).to_string()));
                    }
                    if not {
                        v.form.hint = "assist.not.hint".into();
                        v.form.choices = vec![ChoiceView::new("other", "assist.other")];
                    } else {
                        v.form.hint = if e.verdict == EligibilityVerdict::NeedsReview {
                            "assist.review.hint"
                        } else {
                            "assist.likely.hint"
                        }
                        .into();
                        v.form.choices = vec![
                            ChoiceView::new("apply", "assist.apply"),
                            ChoiceView::new("other", "assist.other"),
                        ];
                    }
                }
            }
            Step::Ask(AssistanceQuestion::HouseholdSize) => {
                v.form.title = "assist.size".into();
                v.form.hint = "assist.size.hint".into();
                v.form.choices = SIZES
                    .iter()
                    .map(|(id, key, _)| ChoiceView::new(*id, *key))
                    .collect();
            }
            // The choice page behind the keypad keeps the last question asked on it.
            Step::Ask(AssistanceQuestion::IncomeBand) | Step::Ask(AssistanceQuestion::Phone) => {
                v.form.title = "assist.income".into();
                v.form.hint = "assist.income.hint".into();
                v.form.choices = BANDS
                    .iter()
                    .map(|(_, key)| ChoiceView::new(*key, *key))
                    .collect();
            }
            Step::Ask(AssistanceQuestion::FinancialCheckConsent) => {
                v.form.title = "assist.consent".into();
                v.form.hint = "assist.consent.hint".into();
                if self.consent == Some(false) {
                    v.form.rows.push(
                        RowView::with_unit("assist.row.consent", "assist.consent.refused", "key")
                            .warning(),
                    );
                }
                v.form.choices = vec![
                    ChoiceView::new("agree", "assist.consent.agree"),
                    ChoiceView::new("disagree", "assist.consent.disagree"),
                ];
            }
        }
        v.input.mode = InputMode::Phone;
        v.input.title = "app.phone".into();
        v.input.error = self.questions.refused().is_some();
        v.input.hint = self.questions.refused().unwrap_or("app.phone.hint").into();
        v.input.value = self.questions.digits().to_string();
        self.fill_confirm(s, &mut v);
        if self.notice.is_none() {
            self.application.show(&mut v, |a, r| {
                r.rows.push(RowView::with_unit(
                    "assist.row.time_limit",
                    a.time_limit_days.to_string(),
                    "workdays",
                ));
                for (i, step) in a.next_steps.iter().enumerate() {
                    r.rows.push(RowView::new(
                        if i == 0 { "assist.row.next" } else { "" },
                        format!("{}. {}", i + 1, s.text(step)),
                    ));
                }
                r.message = "assist.done.msg".into();
            });
        }
        v
    }
}

impl AssistanceFlow {
    fn current(&self) -> Option<&AssistanceProgram> {
        self.program.and_then(|i| self.programs.get(i))
    }

    async fn open(&mut self, ctx: &mut Ctx<'_>, from_identify: bool) -> Next {
        if ctx.resident.is_none() {
            return Next::Identify { optional: false };
        }
        match ctx.cloud.assistance_programs().await {
            Ok(p) => {
                self.programs = p.programs;
                self.notice = None;
                self.questions = Questions::new(Step::Program, asked);
                if from_identify {
                    Next::Replace(PageId::Form)
                } else {
                    Next::Go(PageId::Form)
                }
            }
            Err(e) => {
                self.notice = Some(Notice::cloud(&e));
                Next::Go(PageId::Result)
            }
        }
    }

    /// The question after `step` that the program asks (`None`: the confirm page).
    fn after(&self, step: Step) -> Option<Step> {
        let asks = self.current().map(|p| p.asks.as_slice()).unwrap_or(&[]);
        let from = match step {
            Step::Program => return Some(Step::Verdict),
            Step::Verdict => 0,
            Step::Ask(q) => asks
                .iter()
                .position(|a| *a == q)
                .map_or(asks.len(), |i| i + 1),
        };
        asks.get(from).map(|q| Step::Ask(*q))
    }

    async fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        if self.questions.confirming() || self.application.filed().is_some() {
            return Next::Stay;
        }
        let step = self.questions.current();
        match step {
            Step::Program => {
                let Some(i) = self.programs.iter().position(|p| p.code == id) else {
                    return Next::Stay;
                };
                let Some(r) = ctx.resident else {
                    return Next::Identify { optional: false };
                };
                // The cloud judges from what it knows; the kiosk never guesses.
                let req = EligibilityRequest {
                    program: id.to_string(),
                };
                match ctx.cloud.assistance_eligibility(&r.token, &req).await {
                    Ok(e) => {
                        if self.program != Some(i) {
                            self.household_size = None;
                            self.income = None;
                            self.consent = None;
                        }
                        self.program = Some(i);
                        self.eligibility = Some(e);
                        self.notice = None;
                        {
                            let next = self.after(step);
                            self.questions.advance(next)
                        }
                    }
                    Err(e) => {
                        self.notice = Some(Notice::cloud(&e));
                        Next::Go(PageId::Result)
                    }
                }
            }
            Step::Verdict => match id {
                "apply"
                    if self
                        .eligibility
                        .as_ref()
                        .is_some_and(|e| e.verdict != EligibilityVerdict::NotEligible) =>
                {
                    let next = self.after(step);
                    self.questions.advance(next)
                }
                "other" => self.questions.back(),
                _ => Next::Stay,
            },
            Step::Ask(AssistanceQuestion::HouseholdSize) => {
                self.household_size = SIZES.iter().find(|s| s.0 == id).map(|s| s.2);
                if self.household_size.is_none() {
                    return Next::Stay;
                }
                {
                    let next = self.after(step);
                    self.questions.advance(next)
                }
            }
            Step::Ask(AssistanceQuestion::IncomeBand) => {
                self.income = BANDS.iter().find(|b| b.1 == id).map(|b| b.0);
                if self.income.is_none() {
                    return Next::Stay;
                }
                {
                    let next = self.after(step);
                    self.questions.advance(next)
                }
            }
            Step::Ask(AssistanceQuestion::FinancialCheckConsent) => match id {
                "agree" => {
                    self.consent = Some(true);
                    {
                        let next = self.after(step);
                        self.questions.advance(next)
                    }
                }
                "disagree" => {
                    // Without the check the office cannot decide: say so, stay.
                    self.consent = Some(false);
                    Next::Stay
                }
                _ => Next::Stay,
            },
            Step::Ask(AssistanceQuestion::Phone) => Next::Stay,
        }
    }

    fn phone_entered(&mut self, value: &str) -> Next {
        let step = self.questions.current();
        if self.questions.confirming() || step != Step::Ask(AssistanceQuestion::Phone) {
            return Next::Stay;
        }
        let p = value.trim();
        if !is_mobile(p) {
            return self.questions.refuse("app.phone.bad");
        }
        self.phone = Some(p.to_string());
        {
            let next = self.after(step);
            self.questions.advance(next)
        }
    }

    /// The application, once every question the program asks is answered.
    fn request(&self) -> Option<AssistanceApplicationRequest> {
        let p = self.current()?;
        let asks = |q| p.asks.contains(&q);
        if self
            .eligibility
            .as_ref()
            .is_none_or(|e| e.verdict == EligibilityVerdict::NotEligible || e.program != p.code)
        {
            return None;
        }
        let req = AssistanceApplicationRequest {
            program: p.code.clone(),
            household_size: self
                .household_size
                .filter(|_| asks(AssistanceQuestion::HouseholdSize)),
            income_band: self.income.filter(|_| asks(AssistanceQuestion::IncomeBand)),
            phone: self
                .phone
                .clone()
                .filter(|_| asks(AssistanceQuestion::Phone)),
            financial_check_consent: asks(AssistanceQuestion::FinancialCheckConsent)
                && self.consent == Some(true),
        };
        let answered = (!asks(AssistanceQuestion::HouseholdSize) || req.household_size.is_some())
            && (!asks(AssistanceQuestion::IncomeBand) || req.income_band.is_some())
            && (!asks(AssistanceQuestion::Phone) || req.phone.is_some())
            && (!asks(AssistanceQuestion::FinancialCheckConsent) || req.financial_check_consent);
        answered.then_some(req)
    }

    fn fill_confirm(&self, s: &ScreenCtx<'_>, v: &mut FlowView) {
        let (Some(req), Some(p)) = (self.request(), self.current()) else {
            return;
        };
        v.confirm.title = "assist.confirm".into();
        let rows = &mut v.confirm.rows;
        rows.push(RowView::new(
            "assist.row.program",
            s.text(&p.name).to_string(),
        ));
        if let Some(e) = &self.eligibility {
            rows.push(RowView::with_unit(
                "assist.row.verdict",
                verdict_key(e.verdict),
                "key",
            ));
        }
        if let Some(n) = req.household_size {
            let key = SIZES.iter().find(|x| x.2 == n).map(|x| x.1).unwrap_or("");
            rows.push(RowView::with_unit("assist.row.size", key, "key"));
        }
        if let Some(b) = req.income_band {
            rows.push(RowView::with_unit("assist.row.income", band_key(b), "key"));
        }
        if let Some(phone) = &req.phone {
            rows.push(RowView::new("app.row.phone", mask_phone(phone)));
        }
        if req.financial_check_consent {
            rows.push(RowView::with_unit(
                "assist.row.consent",
                "assist.consent.agree",
                "key",
            ));
        }
    }

    async fn confirm(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let (Some(req), Some(p)) = (self.request(), self.current().cloned()) else {
            return Next::Stay;
        };
        let who = ctx.resident.map(|r| r.summary.name_masked.clone());
        let site = ctx.site;
        self.application
            .submit(ctx, &req, &p.name, |a, at| {
                templates::assistance_receipt(site, &p.name, a, at, who.as_deref())
            })
            .await
    }
}
