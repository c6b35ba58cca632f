//! 我的办件: where a resident's cases stand. With a card: the resident's cases. Without one (an
//! anonymous report, a receipt from a neighbour's visit): the case number and 查询码 from the
//! receipt, on the keypad. A rejected case says why and what to do next; a case that began as an
//! offline report on this kiosk shows its local number (LX…) beside the case number.

use super::shapes::{Asked, Questions};
use super::{Ctx, IdentityNeed, Input, Needs, Next, Notice, ScreenCtx, Service, ServiceSpec};
use crate::cloud::api::{CaseDetail, CaseStatus, CaseSummary};
use crate::cloud::CloudError;
use crate::session::PageId;
use crate::time::short_time;
use crate::view::{ChoiceView, FlowView, IdentifyMode, InputMode, ResultKind, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "my_cases",
    needs: Needs {
        // A card lists the resident's cases; without one, a case is looked up by its number.
        identity: IdentityNeed::Optional,
        prints: false,
        offline: false,
    },
    start: || Box::<CasesFlow>::default(),
    warm: None,
    upkeep: None,
};

/// The case-number prefixes the cloud gives (诉求·隐患 reports, applications).
const PREFIXES: [&str; 2] = ["BM", "SQ"];
const CASE_DIGITS: usize = 10;
const CODE_DIGITS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    CaseNo,
    Code,
}

fn asked(_: Ask) -> Asked {
    Asked::Keypad
}

#[derive(Debug, Default)]
pub struct CasesFlow {
    cases: Vec<CaseSummary>,
    /// The case last asked for (retry asks again), and its 查询码 when looked up without a card.
    last: Option<(String, Option<String>)>,
    detail: Option<CaseDetail>,
    /// The local number of the shown case, when it began offline on this kiosk.
    local_no: Option<String>,
    /// Local numbers (LX…) of listed cases that began offline on this kiosk.
    local_nos: Vec<(String, String)>,
    lookup: Option<Questions<Ask>>,
    case_digits: String,
    /// A looked-up case is on the result page (back returns to the keypad).
    at_result: bool,
    notice: Option<Notice>,
}

/// The contract's status code (`accepted`, `rejected`…), also the UI's `status.*` key suffix.
pub fn status_code(s: CaseStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl Service for CasesFlow {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open => match ctx.resident {
                Some(_) => self.list(ctx).await,
                None => Next::Identify { optional: true },
            },
            Input::Identified => {
                self.lookup = None;
                match self.list(ctx).await {
                    Next::Go(p) => Next::Replace(p),
                    other => other,
                }
            }
            Input::SkipIdentify => {
                self.lookup = Some(Questions::new(Ask::CaseNo, asked));
                Next::Go(PageId::Input)
            }
            Input::Choose(no) => {
                if ctx.resident.is_none() {
                    return Next::Identify { optional: true };
                }
                self.show(ctx, &no, None).await
            }
            Input::Key(k) => match self.lookup.as_mut() {
                Some(q) => {
                    let max = match q.current() {
                        Ask::CaseNo => CASE_DIGITS,
                        Ask::Code => CODE_DIGITS,
                    };
                    q.key(&k, max)
                }
                None => Next::Stay,
            },
            Input::Submit(_) => self.answer(ctx).await,
            Input::Retry => match self.last.clone() {
                Some((no, code)) => self.show(ctx, &no, code.as_deref()).await,
                None => self.list(ctx).await,
            },
            Input::Back if self.at_result => {
                self.at_result = false;
                Next::Back
            }
            Input::Back => match self.lookup.as_mut() {
                Some(q) => {
                    let next = q.back();
                    if q.current() == Ask::CaseNo && next == Next::Stay {
                        // Back on the case number: what was typed for it comes back.
                        q.clear_digits();
                        for d in self.case_digits.chars() {
                            q.key(&d.to_string(), CASE_DIGITS);
                        }
                    }
                    next
                }
                None => Next::Back,
            },
            other => other.ignored(),
        }
    }

    fn identity_ended(&mut self) -> bool {
        // A lookup by number needs no card; the resident's own list leaves with the card.
        self.lookup.is_some() && self.cases.is_empty()
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        v.identify.mode = IdentifyMode::Optional;
        v.identify.hint = "identify.hint.cases".into();
        v.identify.skip = "identify.skip.cases".into();
        v.form.title = "cases.pick".into();
        v.form.hint = if self.cases.is_empty() {
            "cases.none"
        } else {
            "cases.hint"
        }
        .into();
        v.form.choices = self
            .cases
            .iter()
            .map(|c| ChoiceView {
                detail: match self.local_nos.iter().find(|(no, _)| *no == c.case_no) {
                    Some((_, local)) => format!("{} · {local}", c.case_no),
                    None => c.case_no.clone(),
                },
                badge: format!("status.{}", status_code(c.status)),
                ..ChoiceView::new(c.case_no.clone(), s.text(&c.title))
            })
            .collect();
        if let Some(q) = &self.lookup {
            v.input.mode = InputMode::Phone;
            let (title, hint) = match q.current() {
                Ask::CaseNo => ("cases.lookup.no", "cases.lookup.no.hint"),
                Ask::Code => ("cases.lookup.code", "cases.lookup.code.hint"),
            };
            v.input.title = title.into();
            v.input.error = q.refused().is_some();
            v.input.hint = q.refused().unwrap_or(hint).into();
            v.input.value = q.digits().to_string();
        }
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
        } else if let Some(c) = &self.detail {
            let r = &mut v.result;
            let rejected = c.status == CaseStatus::Rejected;
            r.kind = if rejected {
                ResultKind::Error
            } else {
                ResultKind::Info
            };
            r.title = s.text(&c.title).into();
            // 好差评 of a finished case, once, by the resident it belongs to.
            if c.rating_allowed && s.resident.is_some() {
                r.rate = format!("case:{}", c.case_no);
            }
            r.rows = vec![RowView::new("case_no", c.case_no.clone())];
            if let Some(local) = &self.local_no {
                r.rows
                    .push(RowView::new("report.row.local_no_was", local.clone()));
            }
            r.rows.push(RowView::with_unit(
                "status",
                status_code(c.status),
                "status",
            ));
            if let Some(reason) = &c.reason {
                r.rows.push(RowView::new("case.reason", s.text(reason)));
            }
            if let Some(next) = &c.next_step {
                r.rows.push(RowView::new("case.next_step", s.text(next)));
            }
            // The whole history, newest first, each step with its time.
            r.rows.extend(c.history.iter().rev().map(|e| RowView {
                warn: false,
                label: short_time(&e.at),
                value: status_code(e.status),
                unit: "status".into(),
            }));
        }
        v
    }
}

impl CasesFlow {
    async fn list(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let Some(r) = ctx.resident else {
            return Next::Identify { optional: true };
        };
        self.last = None;
        match ctx.cloud.cases(&r.token).await {
            Ok(list) => {
                self.notice = None;
                self.local_nos = list
                    .cases
                    .iter()
                    .filter_map(|c| {
                        ctx.outbox
                            .local_no_of_case(&c.case_no)
                            .map(|l| (c.case_no.clone(), l))
                    })
                    .collect();
                self.cases = list.cases;
                Next::Go(PageId::Form)
            }
            Err(e) => {
                self.notice = Some(Notice::cloud(&e));
                Next::Go(PageId::Result)
            }
        }
    }

    /// The keypad's answer in the lookup.
    async fn answer(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let Some(q) = self.lookup.as_mut() else {
            return Next::Stay;
        };
        let digits = q.digits().to_string();
        match q.current() {
            Ask::CaseNo => {
                if digits.len() != CASE_DIGITS {
                    return q.refuse("cases.lookup.bad_no");
                }
                self.case_digits = digits;
                q.clear_digits();
                q.advance(Some(Ask::Code))
            }
            Ask::Code => {
                if digits.len() != CODE_DIGITS {
                    return q.refuse("cases.lookup.bad_code");
                }
                let case_digits = self.case_digits.clone();
                self.find(ctx, &case_digits, &digits).await
            }
        }
    }

    /// Tries each case-number prefix with the digits and the 查询码.
    async fn find(&mut self, ctx: &mut Ctx<'_>, digits: &str, code: &str) -> Next {
        for prefix in PREFIXES {
            let no = format!("{prefix}{digits}");
            match ctx.cloud.case(&no, None, Some(code)).await {
                Ok(c) => return self.shown(ctx, c, (no, Some(code.to_string()))),
                Err(CloudError::Problem(p)) if p.status == 404 => continue,
                Err(e) => return self.failed(&e, (no, Some(code.to_string()))),
            }
        }
        self.last = None;
        self.detail = None;
        self.at_result = true;
        self.notice = Some(Notice::error(
            "cases.not_found",
            "cases.not_found.msg",
            false,
        ));
        Next::Go(PageId::Result)
    }

    async fn show(&mut self, ctx: &mut Ctx<'_>, case_no: &str, code: Option<&str>) -> Next {
        let session = if code.is_none() {
            ctx.resident.map(|r| &r.token)
        } else {
            None
        };
        let key = (case_no.to_string(), code.map(str::to_string));
        match ctx.cloud.case(case_no, session, code).await {
            Ok(c) => self.shown(ctx, c, key),
            Err(e) => self.failed(&e, key),
        }
    }

    fn shown(&mut self, ctx: &Ctx<'_>, c: CaseDetail, key: (String, Option<String>)) -> Next {
        self.notice = None;
        self.local_no = ctx.outbox.local_no_of_case(&c.case_no);
        self.detail = Some(c);
        self.at_result = key.1.is_some();
        self.last = Some(key);
        Next::Go(PageId::Result)
    }

    fn failed(&mut self, e: &CloudError, key: (String, Option<String>)) -> Next {
        self.notice = Some(Notice::cloud(e));
        self.at_result = key.1.is_some();
        self.last = Some(key);
        Next::Go(PageId::Result)
    }
}
