//! 7 诉求·隐患上报: an appeal or a hazard report, with or without a card. Kind → category (from
//! the cloud, cached for offline use) → where (the kiosk's own community, and which part) → what
//! (常用语) → named or anonymous (with a card) → confirm. The submission goes through the outbox:
//! written durably first, then delivered; without a network the resident gets an offline receipt
//! with a local number, and the report is sent when the network returns.

use super::{short_time, Ctx, Next};
use crate::cloud::api::{
    CaseReceipt, ReportCategories, ReportCategory, ReportKind, ReportRequest, Text,
};
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
    (
        ReportKind::Hazard,
        "report.phrase.wires",
        "电线裸露或私拉乱接",
    ),
    (ReportKind::Hazard, "report.phrase.exit", "消防通道被占用"),
    (ReportKind::Hazard, "report.phrase.gas", "闻到燃气异味"),
    (
        ReportKind::Hazard,
        "report.phrase.manhole",
        "井盖缺失或破损",
    ),
    (ReportKind::Hazard, "report.phrase.light", "路灯不亮"),
    (ReportKind::Appeal, "report.phrase.noise", "夜间噪声扰民"),
    (
        ReportKind::Appeal,
        "report.phrase.rubbish",
        "垃圾清运不及时",
    ),
    (ReportKind::Appeal, "report.phrase.property", "物业服务问题"),
    (
        ReportKind::Appeal,
        "report.phrase.suggestion",
        "对办事流程的建议",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Kind,
    Category,
    Place,
    Phrase,
    /// Optional free text (补充说明), on the input page.
    Text,
    /// Optional contact phone, on the keypad.
    Phone,
    Named,
}

/// Where "back" leads from the current question.
#[derive(Debug, PartialEq, Eq)]
pub enum Back {
    /// The previous question is on the same page: shown.
    Shown,
    /// The previous question is on the form page.
    ToForm,
    /// There is no previous question: leave the service's first page.
    Leave,
}

/// `13812345678` → `138****5678`.
pub fn mask_phone(p: &str) -> String {
    if p.len() == 11 && p.is_ascii() {
        format!("{}****{}", &p[..3], &p[7..])
    } else {
        "*".repeat(p.chars().count())
    }
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
    extra: Option<String>,
    phone: Option<String>,
    /// Digits typed so far on the keypad.
    digits: String,
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
            extra: None,
            phone: None,
            digits: String::new(),
            submitted: None,
        }
    }

    pub async fn open(&mut self, ctx: &mut Ctx<'_>) -> Next {
        // Categories from the cloud, cached for the day the network is down.
        match ctx.cloud.report_categories().await {
            Ok(c) => {
                if let Ok(s) = self.store.lock() {
                    let _ = s.cache_put(
                        "report_categories",
                        &serde_json::to_string(&c).expect("json"),
                    );
                }
                self.categories = c.categories;
            }
            Err(e) => {
                tracing::warn!(kind = e.kind(), "report categories from the cache");
                let cached = self
                    .store
                    .lock()
                    .ok()
                    .and_then(|s| s.cache_get("report_categories").ok().flatten());
                self.categories = cached
                    .and_then(|c| serde_json::from_str::<ReportCategories>(&c).ok())
                    .map(|c| c.categories)
                    .unwrap_or_default();
            }
        }
        self.step = Step::Kind;
        self.fill(ctx);
        Next::Go(PageId::Form)
    }

    fn fill(&self, ctx: &mut Ctx<'_>) {
        let choice = |id: &str, title: &str| ChoiceView {
            id: id.into(),
            title: title.into(),
            enabled: true,
            ..Default::default()
        };
        let v = &mut *ctx.view;
        match self.step {
            Step::Kind => {
                v.form_title = "report.kind".into();
                v.form_hint = "report.kind.hint".into();
                v.choices = vec![
                    choice("hazard", "report.kind.hazard"),
                    choice("appeal", "report.kind.appeal"),
                ];
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
                v.choices = PLACES
                    .iter()
                    .map(|(key, _)| ChoiceView {
                        detail: ctx.site.community.clone(),
                        ..choice(key, key)
                    })
                    .collect();
            }
            Step::Phrase => {
                v.form_title = "report.phrase".into();
                v.form_hint = "report.phrase.hint".into();
                v.choices = PHRASES
                    .iter()
                    .filter(|p| Some(p.0) == self.kind)
                    .map(|p| choice(p.1, p.1))
                    .collect();
            }
            Step::Text => {
                v.input_mode = "text".into();
                v.input_title = "report.text".into();
                v.input_hint = "report.text.hint".into();
                v.input_error = false;
                v.input_value.clear();
            }
            Step::Phone => {
                v.input_mode = "phone".into();
                v.input_title = "report.phone".into();
                if !v.input_error {
                    v.input_hint = "report.phone.hint".into();
                }
                v.input_value = self.digits.clone();
            }
            Step::Named => {
                v.form_title = "report.named".into();
                v.form_hint = "report.named.hint".into();
                v.choices = vec![
                    choice("named", "report.named.yes"),
                    choice("anonymous", "report.named.no"),
                ];
            }
        }
    }

    pub async fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        match self.step {
            Step::Kind => {
                self.kind = Some(if id == "appeal" {
                    ReportKind::Appeal
                } else {
                    ReportKind::Hazard
                });
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
                self.step = Step::Text;
                self.fill(ctx);
                return Next::Go(PageId::Input);
            }
            Step::Text | Step::Phone => return Next::Stay,
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

    /// A key on the phone keypad.
    pub fn input_key(&mut self, ctx: &mut Ctx<'_>, key: &str) -> Next {
        if self.step != Step::Phone {
            return Next::Stay;
        }
        match key {
            "back" => {
                self.digits.pop();
            }
            "clear" => self.digits.clear(),
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() && self.digits.len() < 11 => {
                self.digits.push_str(d)
            }
            _ => {}
        }
        ctx.view.input_error = false;
        self.fill(ctx);
        Next::Stay
    }

    /// The input page's answer (empty = skipped).
    pub fn input_submit(&mut self, ctx: &mut Ctx<'_>, value: &str) -> Next {
        match self.step {
            Step::Text => {
                let text: String = value
                    .trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                self.extra = (!text.is_empty()).then_some(text);
                self.step = Step::Phone;
                ctx.view.input_error = false;
                self.fill(ctx);
                Next::Stay
            }
            Step::Phone => {
                let p = value.trim();
                if !p.is_empty()
                    && !(p.len() == 11
                        && p.starts_with('1')
                        && p.bytes().all(|b| b.is_ascii_digit()))
                {
                    ctx.view.input_error = true;
                    ctx.view.input_hint = "report.phone.bad".into();
                    self.fill(ctx);
                    return Next::Stay;
                }
                self.phone = (!p.is_empty()).then(|| p.to_string());
                self.after_inputs(ctx)
            }
            _ => Next::Stay,
        }
    }

    pub fn input_skip(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match self.step {
            Step::Text => self.input_submit(ctx, ""),
            Step::Phone => {
                self.digits.clear();
                self.input_submit(ctx, "")
            }
            _ => Next::Stay,
        }
    }

    fn after_inputs(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if ctx.resident.is_some() {
            self.step = Step::Named;
            self.fill(ctx);
            Next::Go(PageId::Form)
        } else {
            self.anonymous = true;
            self.fill_confirm(ctx);
            Next::Go(PageId::Confirm)
        }
    }

    fn request(&self, ctx: &Ctx<'_>) -> Option<ReportRequest> {
        let (kind, category, place, phrase) = (
            self.kind?,
            self.category.as_ref()?,
            self.place?,
            self.phrase?,
        );
        let mut description = PHRASES[phrase].2.to_string();
        if let Some(extra) = &self.extra {
            description.push_str("；");
            description.push_str(extra);
        }
        Some(ReportRequest {
            kind,
            category: category.code.clone(),
            location: format!(
                "{}{} {}",
                ctx.site.street_office, ctx.site.community, PLACES[place].1
            ),
            description,
            anonymous: self.anonymous,
            contact_phone: self.phone.clone(),
        })
    }

    fn fill_confirm(&self, ctx: &mut Ctx<'_>) {
        let Some(req) = self.request(ctx) else { return };
        let category = self
            .category
            .as_ref()
            .map(|c| c.name.get(ctx.lang).to_string())
            .unwrap_or_default();
        let kind = if req.kind == ReportKind::Hazard {
            "report.kind.hazard"
        } else {
            "report.kind.appeal"
        };
        ctx.view.confirm_title = "report.confirm".into();
        ctx.view.confirm_rows = vec![
            RowView::with_unit("report.row.kind", kind, "key"),
            RowView::new("report.row.category", category),
            RowView::with_unit("report.row.place", PLACES[self.place.unwrap_or(0)].0, "key"),
            RowView::with_unit(
                "report.row.what",
                PHRASES[self.phrase.unwrap_or(0)].1,
                "key",
            ),
            RowView::with_unit(
                "report.row.named",
                if self.anonymous {
                    "report.named.no"
                } else {
                    "report.named.yes"
                },
                "key",
            ),
        ];
        if let Some(extra) = &self.extra {
            ctx.view
                .confirm_rows
                .insert(4, RowView::new("report.row.extra", extra.clone()));
        }
        if let Some(p) = &self.phone {
            ctx.view
                .confirm_rows
                .push(RowView::new("report.row.phone", mask_phone(p)));
        }
    }

    pub async fn confirm(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let Some(req) = self.request(ctx) else {
            return Next::Stay;
        };
        let id = match self.submitted {
            Some(id) => id,
            None => {
                let session = if self.anonymous {
                    None
                } else {
                    ctx.resident.map(|r| &r.token)
                };
                match self.outbox.enqueue_report(&req, session) {
                    Ok(q) => {
                        self.submitted = Some(q.id);
                        q.id
                    }
                    Err(e) => {
                        // Nothing was kept: say so plainly rather than pretend.
                        tracing::error!(error = %e, "report could not be stored");
                        super::show_error(
                            ctx.view,
                            "report.store_failed",
                            "report.store_failed.msg",
                            true,
                        );
                        return Next::Go(PageId::Result);
                    }
                }
            }
        };
        // Deliver now if the cloud answers; the outbox worker keeps trying otherwise.
        let outcome = self.outbox.deliver_entry(ctx.cloud, id).await;
        let title = self.category.as_ref().map(|c| Text {
            zh: format!(
                "{}：{}",
                if req.kind == ReportKind::Hazard {
                    "隐患"
                } else {
                    "诉求"
                },
                c.name.zh
            ),
            en: c.name.en.clone(),
        });
        let title = title.unwrap_or_default();
        let local_no = self.outbox.local_no(id).unwrap_or_default();
        match outcome {
            Some(Outcome::Delivered(v)) => match serde_json::from_value::<CaseReceipt>(v) {
                Ok(r) => self.show_receipt(ctx, &title, &r),
                Err(_) => self.show_offline(ctx, &title, &local_no),
            },
            Some(Outcome::Refused { .. }) => {
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
        v.result_rows = vec![
            RowView::new("case_no", r.case_no.clone()),
            RowView::new("report.row.query_code", r.query_code.clone()),
            RowView::new("report.row.submitted", short_time(&now)),
        ];
        v.can_retry = false;
        let masked = ctx
            .resident
            .filter(|_| !self.anonymous)
            .map(|s| s.summary.name_masked.clone());
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
        v.result_rows = vec![
            RowView::new("report.row.local_no", local_no.to_string()),
            RowView::new("report.row.submitted", short_time(&now)),
        ];
        v.can_retry = false;
        let receipt = templates::offline_receipt(ctx.site, title, local_no, &now);
        ctx.print(&receipt);
    }

    /// One question back.
    pub fn back(&mut self, ctx: &mut Ctx<'_>) -> Back {
        let (previous, to) = match self.step {
            Step::Kind => return Back::Leave,
            Step::Category => (Step::Kind, Back::Shown),
            Step::Place => (Step::Category, Back::Shown),
            Step::Phrase => (Step::Place, Back::Shown),
            Step::Text => (Step::Phrase, Back::ToForm),
            Step::Phone => (Step::Text, Back::Shown),
            Step::Named => (Step::Phone, Back::Shown),
        };
        self.step = previous;
        ctx.view.input_error = false;
        self.fill(ctx);
        to
    }

    pub fn relabel(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.fill(ctx);
        if self.place.is_some() && self.phrase.is_some() {
            self.fill_confirm(ctx);
        }
        Next::Stay
    }
}
