//! 7 诉求·隐患上报: an appeal or a hazard report, with or without a card. Kind → category (from
//! the cloud, cached for offline use) → where (the kiosk's own community, and which part) → what
//! (常用语) → named or anonymous (with a card) → confirm. The submission goes through the outbox:
//! written durably first, then delivered; without a network the resident gets an offline receipt
//! with a local number, and the report is sent when the network returns.

use super::shapes::{Asked, NotAnswered, Pending, Questions};
use super::{
    cached, Ctx, IdentityNeed, Input, Needs, Next, Notice, Paper, ScreenCtx, Service, ServiceSpec,
};
use crate::cloud::api::{
    CaseReceipt, ReportCategories, ReportCategory, ReportKind, ReportRequest, Text,
};
use crate::printing::templates;
use crate::session::PageId;
use crate::time::{now_rfc3339, short_time};
use crate::view::{ChoiceView, FlowView, InputMode, PrintState, ResultKind, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "reports",
    needs: Needs {
        identity: IdentityNeed::Optional,
        prints: false,
        offline: true,
    },
    start: || Box::<ReportsFlow>::default(),
    warm: Some(|cloud, store| {
        Box::pin(async move {
            let fetched = cloud.report_categories().await;
            cached(store, CATEGORIES_CACHE, fetched);
        })
    }),
    upkeep: None,
};

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
    /// Named or anonymous (only with a card).
    Named,
}

fn asked(step: Step) -> Asked {
    match step {
        Step::Text => Asked::Text,
        Step::Phone => Asked::Keypad,
        _ => Asked::Choice,
    }
}

/// `13812345678` → `138****5678`.
pub fn mask_phone(p: &str) -> String {
    if p.len() == 11 && p.is_ascii() {
        format!("{}****{}", &p[..3], &p[7..])
    } else {
        "*".repeat(p.chars().count())
    }
}

/// What the resident was told after confirming.
#[derive(Debug)]
enum Done {
    /// The cloud accepted it: case number and 查询码.
    Accepted(CaseReceipt, String),
    /// Kept in the outbox, to be sent when the network returns: the local number.
    Offline(String, String),
}

/// The report being put together: the answers, the way through the questions, and once
/// confirmed, the submission and what came of it.
#[derive(Debug)]
pub struct ReportsFlow {
    questions: Questions<Step>,
    categories: Vec<ReportCategory>,
    kind: Option<ReportKind>,
    category: Option<ReportCategory>,
    place: Option<usize>,
    phrase: Option<usize>,
    anonymous: bool,
    extra: Option<String>,
    phone: Option<String>,
    submission: Pending<ReportRequest>,
    done: Option<Done>,
    notice: Option<Notice>,
    paper: Paper,
}

impl Default for ReportsFlow {
    fn default() -> Self {
        ReportsFlow {
            questions: Questions::new(Step::Kind, asked),
            categories: Vec::new(),
            kind: None,
            category: None,
            place: None,
            phrase: None,
            anonymous: true,
            extra: None,
            phone: None,
            submission: Pending::default(),
            done: None,
            notice: None,
            paper: Paper::default(),
        }
    }
}

#[async_trait::async_trait]
impl Service for ReportsFlow {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open => self.open(ctx).await,
            Input::Choose(id) => self.choose(&id),
            Input::Key(k) => self.questions.key(&k, 11),
            Input::Submit(v) => self.answer(ctx, &v),
            Input::Skip => {
                if self.questions.current() == Step::Phone {
                    self.questions.clear_digits();
                }
                self.answer(ctx, "")
            }
            Input::Confirm | Input::Retry => self.confirm(ctx).await,
            Input::Print => {
                self.paper.reprint(ctx.printer);
                Next::Stay
            }
            Input::Back => self.questions.back(),
            other => other.ignored(),
        }
    }

    fn identity_ended(&mut self) -> bool {
        if self.done.is_some() {
            return false;
        }
        // Without the card the report can only be anonymous; the named question is skipped.
        self.anonymous = true;
        if self.questions.current() == Step::Named && !self.questions.confirming() {
            self.questions.advance(None);
        }
        true
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        let choice = |id: &str, title: &str| ChoiceView::new(id, title);
        match self.questions.current() {
            Step::Kind => {
                v.form.title = "report.kind".into();
                v.form.hint = "report.kind.hint".into();
                v.form.choices = vec![
                    choice("hazard", "report.kind.hazard"),
                    choice("appeal", "report.kind.appeal"),
                ];
            }
            Step::Category => {
                v.form.title = "report.category".into();
                v.form.choices = self
                    .categories
                    .iter()
                    .filter(|c| Some(c.kind) == self.kind)
                    .map(|c| choice(&c.code, s.text(&c.name)))
                    .collect();
            }
            Step::Place => {
                v.form.title = "report.place".into();
                v.form.choices = PLACES
                    .iter()
                    .map(|(key, _)| ChoiceView {
                        detail: s.site.community_in(s.lang).to_string(),
                        ..choice(key, key)
                    })
                    .collect();
            }
            // The choice page behind the input page keeps the last question asked on it.
            Step::Phrase | Step::Text | Step::Phone => {
                v.form.title = "report.phrase".into();
                v.form.hint = "report.phrase.hint".into();
                v.form.choices = PHRASES
                    .iter()
                    .filter(|p| Some(p.0) == self.kind)
                    .map(|p| choice(p.1, p.1))
                    .collect();
            }
            Step::Named => {
                v.form.title = "report.named".into();
                v.form.hint = "report.named.hint".into();
                v.form.choices = vec![
                    choice("named", "report.named.yes"),
                    choice("anonymous", "report.named.no"),
                ];
            }
        }
        match self.questions.current() {
            Step::Text => {
                v.input.mode = InputMode::Text;
                v.input.title = "report.text".into();
                v.input.hint = "report.text.hint".into();
            }
            Step::Phone | Step::Named => {
                v.input.mode = InputMode::Phone;
                v.input.title = "report.phone".into();
                v.input.error = self.questions.refused().is_some();
                v.input.hint = self
                    .questions
                    .refused()
                    .unwrap_or("report.phone.hint")
                    .into();
                v.input.value = self.questions.digits().to_string();
            }
            _ => {}
        }
        self.fill_confirm(s, &mut v);
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
        } else if let Some(done) = &self.done {
            let r = &mut v.result;
            match done {
                Done::Accepted(receipt, at) => {
                    r.kind = ResultKind::Success;
                    r.title = "report.done".into();
                    r.headline = receipt.case_no.clone();
                    r.rate = receipt.case_no.clone();
                    r.message = "report.done.msg".into();
                    r.rows = vec![
                        RowView::new("case_no", receipt.case_no.clone()),
                        RowView::new("report.row.query_code", receipt.query_code.clone()),
                        RowView::new("report.row.submitted", short_time(at)),
                    ];
                }
                Done::Offline(local_no, at) => {
                    r.kind = ResultKind::Info;
                    r.title = "report.offline".into();
                    r.headline = local_no.clone();
                    r.rate = local_no.clone();
                    r.message = "report.offline.msg".into();
                    r.rows = vec![
                        RowView::new("report.row.local_no", local_no.clone()),
                        RowView::new("report.row.submitted", short_time(at)),
                    ];
                }
            }
            self.paper.show(&mut v);
            // No paper: the numbers are only on the screen, so say to keep them.
            if v.print.state != PrintState::Done && v.print.state != PrintState::None {
                v.result.message = match done {
                    Done::Accepted(..) => "report.note_down",
                    Done::Offline(..) => "report.offline.note_down",
                }
                .into();
            }
        }
        v
    }
}

impl ReportsFlow {
    async fn open(&mut self, ctx: &mut Ctx<'_>) -> Next {
        // Categories from the cloud, cached for the day the network is down.
        let fetched = ctx.cloud.report_categories().await;
        self.categories = cached::<ReportCategories>(ctx.store, CATEGORIES_CACHE, fetched)
            .map(|c| c.categories)
            .unwrap_or_default();
        self.questions = Questions::new(Step::Kind, asked);
        Next::Go(PageId::Form)
    }

    fn choose(&mut self, id: &str) -> Next {
        if self.questions.confirming() {
            return Next::Stay;
        }
        let next = match self.questions.current() {
            Step::Kind => {
                self.kind = Some(if id == "appeal" {
                    ReportKind::Appeal
                } else {
                    ReportKind::Hazard
                });
                Step::Category
            }
            Step::Category => {
                self.category = self.categories.iter().find(|c| c.code == id).cloned();
                Step::Place
            }
            Step::Place => {
                self.place = PLACES.iter().position(|p| p.0 == id);
                Step::Phrase
            }
            Step::Phrase => {
                self.phrase = PHRASES.iter().position(|p| p.1 == id);
                Step::Text
            }
            Step::Named => {
                self.anonymous = id == "anonymous";
                return self.questions.advance(None);
            }
            Step::Text | Step::Phone => return Next::Stay,
        };
        self.questions.advance(Some(next))
    }

    /// The input page's answer (empty = skipped).
    fn answer(&mut self, ctx: &Ctx<'_>, value: &str) -> Next {
        if self.questions.confirming() {
            return Next::Stay;
        }
        match self.questions.current() {
            Step::Text => {
                let text: String = value
                    .trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                self.extra = (!text.is_empty()).then_some(text);
                self.questions.advance(Some(Step::Phone))
            }
            Step::Phone => {
                let p = value.trim();
                if !p.is_empty() && !super::shapes::is_mobile(p) {
                    return self.questions.refuse("report.phone.bad");
                }
                self.phone = (!p.is_empty()).then(|| p.to_string());
                // Naming oneself needs a card; without one the report is anonymous.
                if ctx.resident.is_some() {
                    self.questions.advance(Some(Step::Named))
                } else {
                    self.anonymous = true;
                    self.questions.advance(None)
                }
            }
            _ => Next::Stay,
        }
    }

    fn request(&self, site: &crate::cloud::api::Site) -> Option<ReportRequest> {
        let (kind, category, place, phrase) = (
            self.kind?,
            self.category.as_ref()?,
            self.place?,
            self.phrase?,
        );
        let mut description = PHRASES[phrase].2.to_string();
        if let Some(extra) = &self.extra {
            description.push('；');
            description.push_str(extra);
        }
        Some(ReportRequest {
            kind,
            category: category.code.clone(),
            location: format!(
                "{}{} {}",
                site.street_office, site.community, PLACES[place].1
            ),
            description,
            anonymous: self.anonymous,
            contact_phone: self.phone.clone(),
        })
    }

    fn fill_confirm(&self, s: &ScreenCtx<'_>, v: &mut FlowView) {
        let Some(req) = self.request(s.site) else {
            return;
        };
        let category = self
            .category
            .as_ref()
            .map(|c| s.text(&c.name).to_string())
            .unwrap_or_default();
        let kind = if req.kind == ReportKind::Hazard {
            "report.kind.hazard"
        } else {
            "report.kind.appeal"
        };
        v.confirm.title = "report.confirm".into();
        let rows = &mut v.confirm.rows;
        rows.push(RowView::with_unit("report.row.kind", kind, "key"));
        rows.push(RowView::new("report.row.category", category));
        rows.push(RowView::with_unit(
            "report.row.place",
            PLACES[self.place.unwrap_or(0)].0,
            "key",
        ));
        rows.push(RowView::with_unit(
            "report.row.what",
            PHRASES[self.phrase.unwrap_or(0)].1,
            "key",
        ));
        if let Some(extra) = &self.extra {
            rows.push(RowView::new("report.row.extra", extra.clone()));
        }
        rows.push(RowView::with_unit(
            "report.row.named",
            if self.anonymous {
                "report.named.no"
            } else {
                "report.named.yes"
            },
            "key",
        ));
        if let Some(p) = &self.phone {
            rows.push(RowView::new("report.row.phone", mask_phone(p)));
        }
    }

    async fn confirm(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.done.is_some() {
            // Already taken: a second tap never submits twice.
            return Next::Replace(PageId::Result);
        }
        let Some(req) = self.request(ctx.site) else {
            return Next::Stay;
        };
        let session = if self.anonymous {
            None
        } else {
            ctx.resident.map(|r| &r.token)
        };
        // Deliver now if the cloud answers; the outbox worker keeps trying otherwise.
        let delivered = self
            .submission
            .deliver(ctx.outbox, ctx.cloud, &req, session)
            .await;
        let title = self.receipt_title(req.kind);
        let now = now_rfc3339();
        self.notice = None;
        match delivered {
            Ok(r) => {
                let masked = ctx
                    .resident
                    .filter(|_| !self.anonymous)
                    .map(|s| s.summary.name_masked.clone());
                let receipt =
                    templates::acceptance_receipt(ctx.site, &title, &r, &now, masked.as_deref());
                self.paper.print(ctx, receipt, &r.case_no);
                self.done = Some(Done::Accepted(r, now));
            }
            Err(NotAnswered::Later(_)) => {
                // Kept in the outbox: the resident leaves with its local number.
                let local_no = self
                    .submission
                    .entry()
                    .and_then(|e| ctx.outbox.local_no(e))
                    .unwrap_or_default();
                let receipt = templates::offline_receipt(ctx.site, &title, &local_no, &now);
                self.paper.print(ctx, receipt, &local_no);
                self.done = Some(Done::Offline(local_no, now));
            }
            Err(NotAnswered::NotStored(_)) => {
                // Nothing was kept: say so plainly rather than pretend.
                self.notice = Some(Notice::error(
                    "report.store_failed",
                    "report.store_failed.msg",
                    true,
                ));
            }
            Err(refused) => self.notice = Some(refused.notice()),
        }
        Next::Replace(PageId::Result)
    }

    fn receipt_title(&self, kind: ReportKind) -> Text {
        self.category
            .as_ref()
            .map(|c| Text {
                zh: format!(
                    "{}：{}",
                    if kind == ReportKind::Hazard {
                        "隐患"
                    } else {
                        "诉求"
                    },
                    c.name.zh
                ),
                en: c.name.en.clone(),
            })
            .unwrap_or_default()
    }
}

/// The cache key of the report categories (also refreshed at start-up).
pub const CATEGORIES_CACHE: &str = "report_categories";
