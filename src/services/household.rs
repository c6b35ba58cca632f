//! 5 居住证·户籍: an application for a residence permit or a household document, with a card.
//! Type (the cloud says which the resident may apply for, and why not) → address (one of the
//! resident's registered addresses) → mobile number (keypad) → how to collect it → confirm. The
//! application goes through the outbox ([`Application`]): accepted, the 受理回执 is printed with
//! the promised date, the pickup place, the fee and a QR code of the progress page; the cloud
//! unreachable, the resident leaves with an offline receipt and it is sent later.
//!
//! The types are cached for offline use without what is the resident's own: the cache never
//! holds one resident's eligibility or addresses for the next. Offline, the types are offered
//! without a verdict (the cloud judges the application when it arrives) and the address is the
//! one on the register.

use super::shapes::{is_mobile, Application, Asked, Questions};
use super::{
    cached, mask_phone, Ctx, IdentityNeed, Input, Needs, Next, Notice, ScreenCtx, Service,
    ServiceSpec,
};
use crate::cloud::api::{
    HouseholdApplicationRequest, HouseholdCertificateType, HouseholdCertificateTypes, Pickup,
};
use crate::printing::templates;
use crate::session::PageId;
use crate::view::{ChoiceView, FlowView, IdentifyMode, InputMode, RowView};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "household",
    needs: Needs {
        identity: IdentityNeed::Required,
        prints: true,
        offline: true,
    },
    start: || Box::<HouseholdFlow>::default(),
    warm: Some(|cloud, store| {
        Box::pin(async move {
            let fetched = cloud.household_certificate_types(None).await;
            cached(store, TYPES_CACHE, fetched.map(|t| resident_free(&t)));
        })
    }),
    upkeep: None,
};

/// The cache key of the certificate types (without any resident's eligibility or addresses).
pub const TYPES_CACHE: &str = "household_certificate_types";

/// What the address is when the resident's addresses could not be fetched (offline): the
/// register's, as the cloud holds it.
const REGISTERED_ADDRESS: &str = "以户籍登记地址为准";

/// The types as anyone may see them: no eligibility, no addresses.
fn resident_free(t: &HouseholdCertificateTypes) -> HouseholdCertificateTypes {
    HouseholdCertificateTypes {
        types: t
            .types
            .iter()
            .map(|ty| HouseholdCertificateType {
                eligibility: None,
                ..ty.clone()
            })
            .collect(),
        addresses: Vec::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Type,
    Address,
    Phone,
    Pickup,
}

fn asked(step: Step) -> Asked {
    match step {
        Step::Phone => Asked::Keypad,
        _ => Asked::Choice,
    }
}

pub fn pickup_key(p: Pickup) -> &'static str {
    match p {
        Pickup::Window => "hh.pickup.window",
        Pickup::Locker => "hh.pickup.locker",
        Pickup::Mail => "hh.pickup.mail",
    }
}

fn pickup_detail(p: Pickup) -> &'static str {
    match p {
        Pickup::Window => "hh.pickup.window.detail",
        Pickup::Locker => "hh.pickup.locker.detail",
        Pickup::Mail => "hh.pickup.mail.detail",
    }
}

pub struct HouseholdFlow {
    questions: Questions<Step>,
    types: Vec<HouseholdCertificateType>,
    addresses: Vec<String>,
    /// The types came from the cache: nobody has judged this resident's eligibility yet.
    offline: bool,
    ty: Option<usize>,
    address: Option<String>,
    phone: Option<String>,
    pickup: Option<Pickup>,
    application: Application<HouseholdApplicationRequest>,
    notice: Option<Notice>,
}

impl Default for HouseholdFlow {
    fn default() -> Self {
        HouseholdFlow {
            questions: Questions::new(Step::Type, asked),
            types: Vec::new(),
            addresses: Vec::new(),
            offline: false,
            ty: None,
            address: None,
            phone: None,
            pickup: None,
            application: Application::default(),
            notice: None,
        }
    }
}

#[async_trait::async_trait]
impl Service for HouseholdFlow {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open if ctx.resident.is_none() => Next::Identify { optional: false },
            Input::Open => self.open(ctx, false).await,
            Input::Identified => self.open(ctx, true).await,
            Input::Retry if self.types.is_empty() => self.open(ctx, true).await,
            Input::Choose(id) => self.choose(&id),
            Input::Key(k) => self.questions.key(&k, 11),
            Input::Submit(v) => self.phone_entered(&v),
            Input::Skip => self.phone_entered(""),
            Input::Confirm | Input::Retry => self.confirm(ctx).await,
            Input::Print => self.application.reprint(ctx),
            Input::Back => self.questions.back(),
            other => other.ignored(),
        }
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        v.identify.mode = IdentifyMode::Required;
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
            return v;
        }
        match self.questions.current() {
            Step::Type => {
                v.form.title = "hh.type".into();
                let refused = |t: &HouseholdCertificateType| {
                    t.eligibility.as_ref().is_some_and(|e| !e.eligible)
                };
                v.form.hint = if self.offline {
                    "hh.type.offline"
                } else if self.types.iter().any(refused) {
                    "hh.type.hint"
                } else {
                    ""
                }
                .into();
                v.form.choices = self
                    .types
                    .iter()
                    .map(|t| {
                        let refused = t.eligibility.as_ref().filter(|e| !e.eligible);
                        ChoiceView {
                            // Why not, in the cloud's words; else what the type asks of anyone.
                            detail: match refused {
                                Some(e) => e
                                    .reason
                                    .as_ref()
                                    .map(|r| s.text(r).to_string())
                                    .unwrap_or_else(|| "hh.not_eligible".into()),
                                None => s.text(&t.requirement).to_string(),
                            },
                            badge: if refused.is_some() {
                                "hh.not_eligible".into()
                            } else {
                                String::new()
                            },
                            enabled: refused.is_none(),
                            ..ChoiceView::new(&t.code, s.text(&t.name))
                        }
                    })
                    .collect();
            }
            // The choice page behind the keypad keeps the address question asked on it.
            Step::Address | Step::Phone => {
                v.form.title = "hh.address".into();
                v.form.hint = "hh.address.hint".into();
                v.form.choices = if self.addresses.is_empty() {
                    vec![ChoiceView::new("registered", "hh.address.registered")]
                } else {
                    self.addresses
                        .iter()
                        .enumerate()
                        .map(|(i, a)| ChoiceView::new(i.to_string(), a.clone()))
                        .collect()
                };
            }
            Step::Pickup => {
                v.form.title = "hh.pickup".into();
                v.form.choices = self
                    .current_type()
                    .map(|t| t.pickup.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| ChoiceView {
                        detail: pickup_detail(p).into(),
                        ..ChoiceView::new(pickup_key(p), pickup_key(p))
                    })
                    .collect();
            }
        }
        v.input.mode = InputMode::Phone;
        v.input.title = "app.phone".into();
        v.input.error = self.questions.refused().is_some();
        v.input.hint = self.questions.refused().unwrap_or("app.phone.hint").into();
        v.input.value = self.questions.digits().to_string();
        self.fill_confirm(s, &mut v);
        let fee = self.current_type().map(|t| t.fee_fen).unwrap_or(0);
        self.application.show(&mut v, |a, r| {
            r.rows
                .push(RowView::new("hh.row.promised", a.promised_date.clone()));
            r.rows.push(RowView::with_unit(
                "hh.row.pickup",
                pickup_key(a.pickup),
                "key",
            ));
            r.rows.push(RowView::new(
                "hh.row.place",
                s.text(&a.pickup_place).to_string(),
            ));
            if fee > 0 {
                r.rows
                    .push(RowView::with_unit("hh.row.fee", yuan(fee), "yuan"));
            }
            if a.pickup == Pickup::Locker {
                r.message = "hh.done.locker".into();
            }
        });
        v
    }
}

/// `2000` fen → `20.00`.
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

impl HouseholdFlow {
    fn current_type(&self) -> Option<&HouseholdCertificateType> {
        self.ty.and_then(|i| self.types.get(i))
    }

    async fn open(&mut self, ctx: &mut Ctx<'_>, from_identify: bool) -> Next {
        let Some(r) = ctx.resident else {
            return Next::Identify { optional: false };
        };
        // With the resident's session: their eligibility per type and their addresses. Only the
        // resident-free part is cached.
        let fetched = ctx.cloud.household_certificate_types(Some(&r.token)).await;
        self.notice = None;
        match fetched {
            Ok(t) => {
                cached(ctx.store, TYPES_CACHE, Ok(resident_free(&t)));
                self.types = t.types;
                self.addresses = t.addresses;
                self.offline = false;
            }
            Err(e) => {
                let notice = Notice::cloud(&e);
                match cached::<HouseholdCertificateTypes>(ctx.store, TYPES_CACHE, Err(e)) {
                    Some(t) if !t.types.is_empty() => {
                        self.types = resident_free(&t).types;
                        self.addresses.clear();
                        self.offline = true;
                    }
                    _ => {
                        self.notice = Some(notice);
                        return Next::Go(PageId::Result);
                    }
                }
            }
        }
        self.questions = Questions::new(Step::Type, asked);
        if from_identify {
            Next::Replace(PageId::Form)
        } else {
            Next::Go(PageId::Form)
        }
    }

    fn choose(&mut self, id: &str) -> Next {
        if self.questions.confirming() || self.application.filed().is_some() {
            return Next::Stay;
        }
        match self.questions.current() {
            Step::Type => {
                let Some(i) = self.types.iter().position(|t| t.code == id) else {
                    return Next::Stay;
                };
                // An ineligible type is not offered; its tap does nothing.
                if self.types[i]
                    .eligibility
                    .as_ref()
                    .is_some_and(|e| !e.eligible)
                {
                    return Next::Stay;
                }
                if self.ty != Some(i) {
                    self.pickup = None;
                }
                self.ty = Some(i);
                self.questions.advance(Some(Step::Address))
            }
            Step::Address => {
                self.address = if id == "registered" {
                    Some(REGISTERED_ADDRESS.to_string())
                } else {
                    id.parse::<usize>()
                        .ok()
                        .and_then(|i| self.addresses.get(i).cloned())
                };
                if self.address.is_none() {
                    return Next::Stay;
                }
                self.questions.advance(Some(Step::Phone))
            }
            Step::Pickup => {
                let offered = self.current_type().map(|t| t.pickup.clone());
                self.pickup = offered
                    .unwrap_or_default()
                    .into_iter()
                    .find(|p| pickup_key(*p) == id);
                if self.pickup.is_none() {
                    return Next::Stay;
                }
                self.questions.advance(None)
            }
            Step::Phone => Next::Stay,
        }
    }

    fn phone_entered(&mut self, value: &str) -> Next {
        if self.questions.confirming() || self.questions.current() != Step::Phone {
            return Next::Stay;
        }
        let p = value.trim();
        // The office sends progress and the pickup code to it: it is needed.
        if !is_mobile(p) {
            return self.questions.refuse("app.phone.bad");
        }
        self.phone = Some(p.to_string());
        self.questions.advance(Some(Step::Pickup))
    }

    fn request(&self) -> Option<HouseholdApplicationRequest> {
        Some(HouseholdApplicationRequest {
            type_: self.current_type()?.code.clone(),
            phone: self.phone.clone()?,
            address: self.address.clone()?,
            pickup: self.pickup?,
        })
    }

    fn fill_confirm(&self, s: &ScreenCtx<'_>, v: &mut FlowView) {
        let (Some(req), Some(t)) = (self.request(), self.current_type()) else {
            return;
        };
        v.confirm.title = "hh.confirm".into();
        let rows = &mut v.confirm.rows;
        rows.push(RowView::new("hh.row.type", s.text(&t.name).to_string()));
        let address = if req.address == REGISTERED_ADDRESS {
            RowView::with_unit("hh.row.address", "hh.address.registered", "key")
        } else {
            RowView::new("hh.row.address", req.address.clone())
        };
        rows.push(address);
        rows.push(RowView::new("app.row.phone", mask_phone(&req.phone)));
        rows.push(RowView::with_unit(
            "hh.row.pickup",
            pickup_key(req.pickup),
            "key",
        ));
        rows.push(if t.fee_fen > 0 {
            RowView::with_unit("hh.row.fee", yuan(t.fee_fen), "yuan")
        } else {
            RowView::with_unit("hh.row.fee", "hh.fee.free", "key")
        });
        rows.push(RowView::with_unit(
            "hh.row.days",
            t.processing_days.to_string(),
            "workdays",
        ));
    }

    async fn confirm(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let (Some(req), Some(t)) = (self.request(), self.current_type().cloned()) else {
            return Next::Stay;
        };
        let who = ctx.resident.map(|r| r.summary.name_masked.clone());
        let site = ctx.site;
        self.application
            .submit(ctx, &req, &t.name, |a, at| {
                templates::household_receipt(site, &t.name, a, at, t.fee_fen, who.as_deref())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::api::{Text, TypeEligibility};

    #[test]
    fn the_cache_holds_nothing_of_the_resident() {
        let t = HouseholdCertificateTypes {
            types: vec![HouseholdCertificateType {
                code: "residence_permit".into(),
                name: Text::new("居住证办理", "Residence permit"),
                requirement: Text::new("居住半年以上", "Six months"),
                materials: vec![],
                fee_fen: 0,
                processing_days: 15,
                pickup: vec![Pickup::Window],
                eligibility: Some(TypeEligibility {
                    eligible: false,
                    reason: Some(Text::new("户籍在本市", "Registered here")),
                }),
            }],
            addresses: vec!["成都市成华区建设南路 1 号".into()],
        };
        let free = resident_free(&t);
        assert!(free.addresses.is_empty());
        assert!(free.types.iter().all(|t| t.eligibility.is_none()));
        let json = serde_json::to_string(&free).unwrap();
        assert!(!json.contains("户籍在本市") && !json.contains("建设南路"));
    }
}
