//! 我的办件: the identified resident's cases and where each one stands.

use super::{short_time, show_cloud_error, Ctx, Next};
use crate::cloud::api::{CaseStatus, CaseSummary};
use crate::session::PageId;
use crate::view::{ChoiceView, ResultKind, RowView};

#[derive(Debug, Default)]
pub struct CasesFlow {
    cases: Vec<CaseSummary>,
    last: Option<String>,
}

pub fn status_code(s: CaseStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

impl CasesFlow {
    pub async fn open(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if ctx.resident.is_none() {
            return Next::Identify { optional: false };
        }
        self.list(ctx).await
    }

    pub async fn identified(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match self.list(ctx).await {
            Next::Go(p) => Next::Replace(p),
            other => other,
        }
    }

    async fn list(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let Some(r) = ctx.resident else {
            return Next::Identify { optional: false };
        };
        self.last = None;
        match ctx.cloud.cases(&r.token).await {
            Ok(list) => {
                self.cases = list.cases;
                self.fill_choices(ctx);
                Next::Go(PageId::Form)
            }
            Err(e) => show_cloud_error(ctx.view, &e),
        }
    }

    pub fn relabel(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.fill_choices(ctx);
        Next::Stay
    }

    fn fill_choices(&self, ctx: &mut Ctx<'_>) {
        ctx.view.form_title = "cases.pick".into();
        ctx.view.form_hint = if self.cases.is_empty() {
            "cases.none".into()
        } else {
            "cases.hint".into()
        };
        ctx.view.choices = self
            .cases
            .iter()
            .map(|c| ChoiceView {
                id: c.case_no.clone(),
                title: ctx.text(&c.title).into(),
                detail: c.case_no.clone(),
                badge: format!("status.{}", status_code(c.status)),
                enabled: true,
                waiting: None,
            })
            .collect();
    }

    pub async fn choose(&mut self, ctx: &mut Ctx<'_>, case_no: &str) -> Next {
        let Some(r) = ctx.resident else {
            return Next::Identify { optional: false };
        };
        self.last = Some(case_no.to_string());
        match ctx.cloud.case(case_no, Some(&r.token), None).await {
            Ok(c) => {
                let v = &mut *ctx.view;
                v.result_kind = if c.status == CaseStatus::Rejected {
                    ResultKind::Error
                } else {
                    ResultKind::Info
                };
                v.result_title = c.title.get(ctx.lang).into();
                v.result_headline.clear();
                v.result_message.clear();
                let mut rows = vec![
                    RowView::new("case_no", c.case_no.clone()),
                    RowView::with_unit("status", status_code(c.status), "status"),
                    RowView::new("updated_at", short_time(&c.updated_at)),
                ];
                for e in c.history.iter().rev().skip(1) {
                    rows.push(RowView::with_unit("", status_code(e.status), "status"));
                    let last = rows.len() - 1;
                    rows[last].label = short_time(&e.at);
                }
                v.result_rows = rows;
                v.can_print = false;
                v.can_retry = false;
                v.print_state.clear();
                Next::Go(PageId::Result)
            }
            Err(e) => show_cloud_error(ctx.view, &e),
        }
    }

    pub async fn retry(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match self.last.clone() {
            Some(no) => self.choose(ctx, &no).await,
            None => self.list(ctx).await,
        }
    }
}
