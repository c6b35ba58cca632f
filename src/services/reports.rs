//! 7 诉求·隐患上报: an appeal or a hazard report, with or without a card. Kind → category (from
//! the cloud, cached for offline use) → where (the kiosk's own community, and which part) → what
//! (常用语) → named or anonymous (with a card) → confirm. The submission goes through the outbox:
//! written durably first, then delivered; without a network the resident gets an offline receipt
//! with a local number, and the report is sent when the network returns.

use super::{short_time, Ctx, Next};
use crate::cloud::api::{CaseReceipt, ReportCategories, ReportCategory, ReportKind, ReportRequest, Text};
use crate::outbox::{Outbox, Outcome};
use crate::printing::templates;
use crate::session::PageId;
use crate::storage::Store;
use crate::view::{ChoiceView, ResultKind, RowView};
use std::sync::{Arc, Mutex};

/// Where in the community, as the UI names it (key) and as the report says it (Chinese).
const PLACES: [(&str, &str); 4] = [
    ("report.place.building", "楼道或单元内"),
    ("report.place.yard", "小区公共区域"),
    ("report.place.street", "道路或街面"),
    ("report.place.other", "其他位置（请工作人员联系确认）"),
];

/// 常用语: what residents most often report, per kind.
const PHRASES: [(ReportKind, &str, &str); 9] = [
    (ReportKind::Hazard, "report.phrase.wires", "电线裸露或私拉乱接"),
    (ReportKind::Hazard, "report.phrase.exit", "消防通道被占用"),
    (ReportKind::Hazard, "report.phrase.gas", "闻到燃气异味"),
    (ReportKind::Hazard, "report.phrase.manhole", "井盖缺失或破损"),
    (ReportKind::Hazard, "report.phrase.light", "路灯不亮"),
    (ReportKind::Appeal, "report.phrase.noise", "夜间噪声扰民"),
    (ReportKind::Appeal, "report.phrase.rubbish", "垃圾清运不及时"),
    (ReportKind::Appeal, "report.phrase.property", "物业服务问题"),
    (ReportKind::Appeal, "report.phrase.suggestion", "对办事流程的建议"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Kind,
    Category,
    Place,
    Phrase,
    Named,
}

pub struct ReportsFlow {
    outbox: Arc<Outbox>,
    store: Arc<Mutex<Store>>,
    step: Step,
    categories: Vec<ReportCategory>,
    kind: Option<ReportKind>,
    category: Option<ReportCategory>,
    place: Option<usize>,
    phrase: Option<usize>,
    anonymous: bool,
    /// The outbox entry once submitted: a second tap never submits twice.
    submitted: Option<i64>,
}

impl ReportsFlow {
    pub fn new(outbox: Arc<Outbox>, store: Arc<Mutex<Store>>) -> Self {
        ReportsFlow {
            outbox,
            store,
            step: Step::Kind,
            categories: Vec::new(),
            kind: None,
            category: None,
            place: None,
            phrase: None,
            anonymous: true,
            submitted: None,
        }
    }

    pub async fn open(&mut self, ctx: &mut Ctx<'_>) -> Next {
        // Categories from the cloud, cached for the day the network is down.
        match ctx.cloud.report_categories().await {
            Ok(c) => {
                if let Ok(s) = self.store.lock() {
                    let _ = s.cache_put("report_categories", &serde_json::to_string(&c).expect("json"));
                }
                self.categories = c.categories;
            }
            Err(e) => {
                tracing::warn!(kind = e.kind(), "report categories from the cache");
                let cached = self.store.lock().ok().and_then(|s| s.cache_get("report_categories").ok().flatten());
                self.categories = cached.and_then(|c| serde_json::from_str::<ReportCategories>(&c).ok()).map(|c| c.categories).unwrap_or_default();
            }
        }
        self.step = Step::Kind;
        self.fill(ctx);
        Next::Go(PageId::Form)
    }

    fn fill(&self, ctx: &mut Ctx<'_>) {
        let choice = |id: &str, title: &str| ChoiceView { id: id.into(), title: title.into(), enabled: true, ..Default::default() };
        let v = &mut *ctx.view;
        match self.step {
            Step::Kind => {
                v.form_title = "report.kind".into();
                v.form_hint = "report.kind.hint".into();
                v.choices = vec![choice("hazard", "report.kind.hazard"), choice("appeal", "report.kind.appeal")];
            }
            Step::Category => {
                v.form_title = "report.category".into();
                v.form_hint = String::new();
                v.choices = self
                    .categories
                    .iter()
                    .filter(|c| Some(c.kind) == self.kind)
                    .map(|c| choice(&c.code, c.name.get(ctx.lang)))
                    .collect();
            }
            Step::Place => {
                v.form_title = "report.place".into();
                v.form_hint = String::new();
                v.choices = PLACES.iter().map(|(key, _)| ChoiceView { detail: ctx.site.community.clone(), ..choice(key, key) }).collect();
            }
            Step::Phrase => {
                v.form_title = "report.phrase".into();
                v.form_hint = "report.phrase.hint".into();
                v.choices = PHRASES.iter().filter(|p| Some(p.0) == self.kind).map(|p| choice(p.1, p.1)).collect();
            }
            Step::Named => {
                v.form_title = "report.named".into();
                v.form_hint = "report.named.hint".into();
                v.choices = vec![choice("named", "report.named.yes"), choice("anonymous", "report.named.no")];
            }
        }
    }

    pub async fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        match self.step {
            Step::Kind => {
                self.kind = Some(if id == "appeal" { ReportKind::Appeal } else { ReportKind::Hazard });
                self.step = Step::Category;
            }
            Step::Category => {
                self.category = self.categories.iter().find(|c| c.code == id).cloned();
                self.step = Step::Place;
            }
            Step::Place => {
                self.place = PLACES.iter().position(|p| p.0 == id);
                self.step = Step::Phrase;
            }
            Step::Phrase => {
                self.phrase = PHRASES.iter().position(|p| p.1 == id);
                if ctx.resident.is_some() {
                    self.step = Step::Named;
                } else {
                    self.anonymous = true;
                    self.fill_confirm(ctx);
                    return Next::Go(PageId::Confirm);
                }
            }
            Step::Named => {
                self.anonymous = id == "anonymous";
                self.fill_confirm(ctx);
                return Next::Go(PageId::Confirm);
            }
        }
        self.fill(ctx);
        // Each step is a new page, so "back" returns to the previous question.
        Next::Go(PageId::Form)
    }

    fn request(&self, ctx: &Ctx<'_>) -> Option<ReportRequest> {
        let (kind, category, place, phrase) = (self.kind?, self.category.as_ref()?, self.place?, self.phrase?);
        Some(ReportRequest {
            kind,
            category: category.code.clone(),
            location: format!("{}{} {}", ctx.site.street_office, ctx.site.community, PLACES[place].1),
            description: PHRASES[phrase].2.to_string(),
            anonymous: self.anonymous,
            contact_phone: None,
        })
    }

    fn fill_confirm(&self, ctx: &mut Ctx<'_>) {
        let Some(req) = self.request(ctx) else { return };
        let category = self.category.as_ref().map(|c| c.name.get(ctx.lang).to_string()).unwrap_or_default();
        let kind = if req.kind == ReportKind::Hazard { "report.kind.hazard" } else { "report.kind.appeal" };
        ctx.view.confirm_title = "report.confirm".into();
        ctx.view.confirm_rows = vec![
            RowView::with_unit("report.row.kind", kind, "key"),
            RowView::new("report.row.category", category),
            RowView::with_unit("report.row.place", PLACES[self.place.unwrap_or(0)].0, "key"),
            RowView::with_unit("report.row.what", PHRASES[self.phrase.unwrap_or(0)].1, "key"),
            RowView::with_unit("report.row.named", if self.anonymous { "report.named.no" } else { "report.named.yes" }, "key"),
        ];
    }

    pub async fn confirm(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let Some(req) = self.request(ctx) else { return Next::Stay };
        let id = match self.submitted {
            Some(id) => id,
            None => {
                let session = if self.anonymous { None } else { ctx.resident.map(|r| &r.token) };
                match self.outbox.enqueue_report(&req, session) {
                    Ok(q) => {
                        self.submitted = Some(q.id);
                        q.id
                    }
                    Err(e) => {
                        // Nothing was kept: say so plainly rather than pretend.
                        tracing::error!(error = %e, "report could not be stored");
                        super::show_error(ctx.view, "report.store_failed", "report.store_failed.msg", true);
                        return Next::Go(PageId::Result);
                    }
                }
            }
        };
        // Deliver now if the cloud answers; the outbox worker keeps trying otherwise.
        let outcome = self.outbox.deliver_entry(ctx.cloud, id).await;
        let title = self.category.as_ref().map(|c| Text { zh: format!("{}：{}", if req.kind == ReportKind::Hazard { "隐患" } else { "诉求" }, c.name.zh), en: c.name.en.clone() });
        let title = title.unwrap_or_default();
        let local_no = self.outbox.local_no(id).unwrap_or_default();
        match outcome {
            Some(Outcome::Delivered(r)) => self.show_receipt(ctx, &title, &r),
            Some(Outcome::Refused(_)) => {
                super::show_error(ctx.view, "error.refused", "error.refused.msg", false);
            }
            _ => self.show_offline(ctx, &title, &local_no),
        }
        Next::Replace(PageId::Result)
    }

    fn show_receipt(&self, ctx: &mut Ctx<'_>, title: &Text, r: &CaseReceipt) {
        let now = crate::cloud_sim::now_rfc3339();
        let v = &mut *ctx.view;
        v.result_kind = ResultKind::Success;
        v.result_title = "report.done".into();
        v.result_headline = r.case_no.clone();
        v.result_message = "report.done.msg".into();
        v.result_rows = vec![RowView::new("case_no", r.case_no.clone()), RowView::new("report.row.query_code", r.query_code.clone()), RowView::new("report.row.submitted", short_time(&now))];
        v.can_retry = false;
        let masked = ctx.resident.filter(|_| !self.anonymous).map(|s| s.summary.name_masked.clone());
        let receipt = templates::acceptance_receipt(ctx.site, title, r, &now, masked.as_deref());
        ctx.print(&receipt);
    }

    fn show_offline(&self, ctx: &mut Ctx<'_>, title: &Text, local_no: &str) {
        let now = crate::cloud_sim::now_rfc3339();
        let v = &mut *ctx.view;
        v.result_kind = ResultKind::Info;
        v.result_title = "report.offline".into();
        v.result_headline = local_no.to_string();
        v.result_message = "report.offline.msg".into();
        v.result_rows = vec![RowView::new("report.row.local_no", local_no.to_string()), RowView::new("report.row.submitted", short_time(&now))];
        v.can_retry = false;
        let receipt = templates::offline_receipt(ctx.site, title, local_no, &now);
        ctx.print(&receipt);
    }

    /// One question back; `Next::Go(Home)`-like fallthrough is signalled by `Next::Go(Form)`
    /// meaning "nothing to step back to".
    pub fn back(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let previous = match self.step {
            Step::Kind => return Next::Go(PageId::Form),
            Step::Category => Step::Kind,
            Step::Place => Step::Category,
            Step::Phrase => Step::Place,
            Step::Named => Step::Phrase,
        };
        self.step = previous;
        self.fill(ctx);
        Next::Stay
    }

    pub fn relabel(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.fill(ctx);
        if self.place.is_some() && self.phrase.is_some() {
            self.fill_confirm(ctx);
        }
        Next::Stay
    }
}
