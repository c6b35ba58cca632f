//! 我的办件: the identified resident's cases and where each one stands.

use super::{Ctx, IdentityNeed, Input, Needs, Next, Notice, ScreenCtx, Service, ServiceSpec};
use crate::cloud::api::{CaseDetail, CaseStatus, CaseSummary};
use crate::session::PageId;
use crate::time::short_time;
use crate::view::{ChoiceView, FlowView, ResultKind, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "my_cases",
    needs: Needs {
        identity: IdentityNeed::Required,
        prints: false,
        offline: false,
    },
    start: || Box::<CasesFlow>::default(),
    warm: None,
};

#[derive(Debug, Default)]
pub struct CasesFlow {
    cases: Vec<CaseSummary>,
    /// The case last asked for (retry asks again).
    last: Option<String>,
    detail: Option<CaseDetail>,
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
            Input::Open => self.list(ctx).await,
            Input::Identified => match self.list(ctx).await {
                Next::Go(p) => Next::Replace(p),
                other => other,
            },
            Input::Choose(no) => self.choose(ctx, &no).await,
            Input::Retry => match self.last.clone() {
                Some(no) => self.choose(ctx, &no).await,
                None => self.list(ctx).await,
            },
            other => other.ignored(),
        }
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
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
                detail: c.case_no.clone(),
                badge: format!("status.{}", status_code(c.status)),
                ..ChoiceView::new(c.case_no.clone(), s.text(&c.title))
            })
            .collect();
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
        } else if let Some(c) = &self.detail {
            let r = &mut v.result;
            r.kind = if c.status == CaseStatus::Rejected {
                ResultKind::Error
            } else {
                ResultKind::Info
            };
            r.title = s.text(&c.title).into();
            r.rows = vec![
                RowView::new("case_no", c.case_no.clone()),
                RowView::with_unit("status", status_code(c.status), "status"),
                RowView::new("updated_at", short_time(&c.updated_at)),
            ];
            // The history, newest first, without the current status again.
            r.rows
                .extend(c.history.iter().rev().skip(1).map(|e| RowView {
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
            return Next::Identify { optional: false };
        };
        self.last = None;
        match ctx.cloud.cases(&r.token).await {
            Ok(list) => {
                self.notice = None;
                self.cases = list.cases;
                Next::Go(PageId::Form)
            }
            Err(e) => {
                self.notice = Some(Notice::cloud(&e));
                Next::Go(PageId::Result)
            }
        }
    }

    async fn choose(&mut self, ctx: &mut Ctx<'_>, case_no: &str) -> Next {
        let Some(r) = ctx.resident else {
            return Next::Identify { optional: false };
        };
        self.last = Some(case_no.to_string());
        match ctx.cloud.case(case_no, Some(&r.token), None).await {
            Ok(c) => {
                self.notice = None;
                self.detail = Some(c);
            }
            Err(e) => self.notice = Some(Notice::cloud(&e)),
        }
        Next::Go(PageId::Result)
    }
}
