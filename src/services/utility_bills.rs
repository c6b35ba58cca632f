//! 4 生活缴费: water, power and gas bills, card optional. Utility → account (typed on the keypad,
//! its format checked; with a card on the reader, the resident's own accounts offered) → unpaid
//! bills (period, usage, amount; all chosen, each can be left out) → confirm the total → a
//! payment QR with the amount, the payee and a countdown → paid → the receipt, printed from the
//! cloud's answer.
//!
//! The kiosk is never in the money path: the cloud owns each order's state (pending → paid |
//! expired | closed). The order is created through the outbox (one Idempotency-Key: the same
//! order and QR however often it is asked again); the kiosk polls it while the QR is up, closes
//! it when its time runs out or the resident leaves (a close that finds it paid answers paid),
//! and when it loses contact says 支付结果确认中 — never "failed" — gives the resident a slip with
//! the order number, and settles the order later ([`settle`]). Every order this kiosk showed is
//! in its ledger (`payment_orders`) until the cloud says how it ended; a paid one has exactly
//! one receipt in the spool, printed for the resident who paid, or held for them to ask for.

use super::shapes::{Asked, Pending, Questions};
use super::{
    Ctx, IdentityNeed, Input, Needs, Next, Notice, Paper, ScreenCtx, Service, ServiceSpec, Upkeep,
};
use crate::cloud::api::{
    BillList, CloseReason, Payment, PaymentCloseRequest, PaymentRequest, PaymentStatus,
    UtilityAccount, UTILITIES,
};
use crate::cloud::CloudError;
use crate::outbox::{Outbox, Submitted};
use crate::printing::{templates, JobOwner};
use crate::session::PageId;
use crate::storage::Store;
use crate::time::short_time;
use crate::view::{ChoiceView, FlowView, InputMode, PaymentView, Preview, ResultKind, RowView};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SPEC: ServiceSpec = ServiceSpec {
    code: "utility_bills",
    needs: Needs {
        identity: IdentityNeed::Optional,
        prints: true,
        offline: false,
    },
    start: || Box::<UtilityBills>::default(),
    warm: None,
    upkeep: Some(|u| Box::pin(settle(u))),
};

/// How often the order is asked about while its QR is up.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// Without an answer for this long while the QR is up, the outcome is unknown.
const UNKNOWN_AFTER: Duration = Duration::from_secs(8);

/// An account number's length for each utility (the utilities' own formats; digits only).
pub fn account_digits(utility: &str) -> usize {
    match utility {
        "water" => 8,
        "electricity" => 10,
        _ => 9,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Utility,
    /// The resident's own accounts (with a card), or "another account".
    Accounts,
    /// The account number on the keypad.
    Account,
    /// The unpaid bills, each chosen or not.
    Bills,
    /// Look up an order by its number (from a 支付确认单) to see how it ended.
    Lookup,
}

fn asked(step: Step) -> Asked {
    match step {
        Step::Account | Step::Lookup => Asked::Keypad,
        _ => Asked::Choice,
    }
}

/// Where the order on screen stands, as far as the kiosk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No order yet.
    Choosing,
    /// The QR is up; the cloud last answered at `contact`.
    Showing { contact: Instant },
    /// The kiosk lost contact: 支付结果确认中. Still asking, in case contact comes back while the
    /// resident is here.
    Unknown,
    /// The cloud said how the order ended.
    Ended(PaymentStatus),
}

#[derive(Debug)]
pub struct UtilityBills {
    questions: Questions<Step>,
    utility: &'static str,
    accounts: Vec<UtilityAccount>,
    account: String,
    bills: Option<BillList>,
    chosen: BTreeSet<String>,
    /// The order: written to the outbox once; a new order (after expiry or closing) is a new
    /// entry.
    order: Pending<PaymentRequest>,
    payment: Option<Payment>,
    qr: Option<Preview>,
    phase: Phase,
    notice: Option<Notice>,
    paper: Paper,
    /// What 重试 does again.
    redo: Redo,
    /// The close written to the outbox for the order on screen, if one was.
    close_entry: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redo {
    Bills,
    Order,
    Lookup,
}

impl Default for UtilityBills {
    fn default() -> Self {
        UtilityBills {
            questions: Questions::new(Step::Utility, asked),
            utility: "water",
            accounts: Vec::new(),
            account: String::new(),
            bills: None,
            chosen: BTreeSet::new(),
            order: Pending::default(),
            payment: None,
            qr: None,
            phase: Phase::Choosing,
            notice: None,
            paper: Paper::default(),
            redo: Redo::Bills,
            close_entry: None,
        }
    }
}

#[async_trait::async_trait]
impl Service for UtilityBills {
    async fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input) -> Next {
        match input {
            Input::Open => {
                *self = UtilityBills::default();
                Next::Go(PageId::Form)
            }
            Input::Choose(id) => self.choose(ctx, &id).await,
            Input::Key(k) => {
                let max = match self.questions.current() {
                    Step::Lookup => 16,
                    _ => account_digits(self.utility),
                };
                self.questions.key(&k, max)
            }
            Input::Submit(v) => self.submit(ctx, v.trim()).await,
            Input::Confirm => {
                if self.questions.confirming() && self.phase == Phase::Choosing {
                    self.create_order(ctx).await
                } else {
                    Next::Stay
                }
            }
            Input::Retry => match self.redo {
                Redo::Bills => self.load_bills(ctx).await,
                Redo::Order => {
                    // A new order for the same bills (the last one ended or never came), in
                    // place of the result that offered it.
                    self.order = Pending::default();
                    self.phase = Phase::Choosing;
                    match self.create_order(ctx).await {
                        Next::Go(page) => Next::Replace(page),
                        other => other,
                    }
                }
                Redo::Lookup => {
                    let no = self.questions.digits().to_string();
                    self.lookup(ctx, &no).await
                }
            },
            Input::Tick => self.poll(ctx).await,
            Input::Print => {
                self.paper.reprint(ctx.printer);
                Next::Stay
            }
            Input::Back => self.back(ctx).await,
            other => other.ignored(),
        }
    }

    fn poll_every(&self) -> Option<Duration> {
        match self.phase {
            Phase::Showing { .. } | Phase::Unknown => Some(POLL_EVERY),
            _ => None,
        }
    }

    fn holds_session(&self) -> bool {
        // The resident is paying on their phone: the page does not time out under them. The
        // order's own expiry ends the wait.
        matches!(self.phase, Phase::Showing { .. })
    }

    fn leaving(&mut self, outbox: &Outbox, store: &Mutex<Store>) {
        if let Some(p) = &self.payment {
            let reason = match self.phase {
                Phase::Showing { .. } => CloseReason::Left,
                Phase::Unknown => CloseReason::Unknown,
                _ => return,
            };
            hand_over(outbox, store, &p.payment_id, reason, self.close_entry);
        }
    }

    fn screen(&self, s: &ScreenCtx<'_>) -> FlowView {
        let mut v = FlowView::default();
        self.form(s, &mut v);
        match self.questions.current() {
            Step::Account => {
                v.input.mode = InputMode::Number;
                v.input.title = format!("bills.account.{}", self.utility);
                v.input.hint = self
                    .questions
                    .refused()
                    .unwrap_or(match self.utility {
                        "water" => "bills.account.hint8",
                        "electricity" => "bills.account.hint10",
                        _ => "bills.account.hint9",
                    })
                    .into();
                v.input.error = self.questions.refused().is_some();
                v.input.value = self.questions.digits().to_string();
            }
            Step::Lookup => {
                v.input.mode = InputMode::Number;
                v.input.title = "bills.lookup".into();
                v.input.hint = self
                    .questions
                    .refused()
                    .unwrap_or("bills.lookup.hint")
                    .into();
                v.input.error = self.questions.refused().is_some();
                v.input.value = self.questions.digits().to_string();
            }
            _ => {}
        }
        self.confirm_rows(s, &mut v);
        if let Some(p) = &self.payment {
            v.payment = PaymentView {
                qr: self.qr.clone(),
                amount: yuan(p.amount_fen),
                payee: s.text(&p.payee).to_string(),
                order_no: p.payment_id.clone(),
                seconds_left: seconds_until(&p.expires_at),
                checking: matches!(self.phase, Phase::Showing { contact } if contact.elapsed() > POLL_EVERY * 2),
            };
        }
        self.result(s, &mut v);
        v
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

/// Whole seconds from now until an RFC 3339 time (0 once it has passed).
fn seconds_until(at: &str) -> u32 {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .num_seconds()
                .max(0) as u32
        })
        .unwrap_or(0)
}

impl UtilityBills {
    async fn choose(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Next {
        if self.questions.confirming() {
            return Next::Stay;
        }
        match self.questions.current() {
            Step::Utility => {
                if id == "lookup" {
                    self.questions.clear_digits();
                    return self.questions.advance(Some(Step::Lookup));
                }
                let Some(u) = UTILITIES.iter().find(|u| **u == id) else {
                    return Next::Stay;
                };
                self.utility = u;
                self.questions.clear_digits();
                // With a card, the resident's own accounts (the cloud knows them; the kiosk
                // keeps none).
                self.accounts.clear();
                if let Some(r) = ctx.resident {
                    if let Ok(a) = ctx.cloud.utility_accounts(&r.token).await {
                        self.accounts = a
                            .accounts
                            .into_iter()
                            .filter(|a| a.utility == self.utility)
                            .collect();
                    }
                }
                let next = if self.accounts.is_empty() {
                    Step::Account
                } else {
                    Step::Accounts
                };
                self.questions.advance(Some(next))
            }
            Step::Accounts => {
                if id == "other" {
                    return self.questions.advance(Some(Step::Account));
                }
                if !self.accounts.iter().any(|a| a.account == id) {
                    return Next::Stay;
                }
                self.account = id.to_string();
                self.load_bills(ctx).await
            }
            Step::Bills => {
                if id == "pay" {
                    if self.chosen.is_empty() {
                        return Next::Stay;
                    }
                    return self.questions.advance(None);
                }
                let unpaid = self.bills.as_ref().is_some_and(|l| {
                    l.bills
                        .iter()
                        .any(|b| b.bill_id == id && b.status == "unpaid")
                });
                if unpaid && !self.chosen.remove(id) {
                    self.chosen.insert(id.to_string());
                }
                Next::Stay
            }
            Step::Account | Step::Lookup => Next::Stay,
        }
    }

    async fn submit(&mut self, ctx: &mut Ctx<'_>, value: &str) -> Next {
        match self.questions.current() {
            Step::Account => {
                let n = account_digits(self.utility);
                if value.len() != n || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return self.questions.refuse(match n {
                        8 => "bills.account.bad8",
                        10 => "bills.account.bad10",
                        _ => "bills.account.bad9",
                    });
                }
                self.account = value.to_string();
                self.load_bills(ctx).await
            }
            Step::Lookup => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return self.questions.refuse("bills.lookup.bad");
                }
                self.lookup(ctx, value).await
            }
            _ => Next::Stay,
        }
    }

    async fn load_bills(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.redo = Redo::Bills;
        self.notice = None;
        match ctx.cloud.bills(self.utility, &self.account).await {
            Ok(list) => {
                self.chosen = list
                    .bills
                    .iter()
                    .filter(|b| b.status == "unpaid")
                    .map(|b| b.bill_id.clone())
                    .collect();
                let none = self.chosen.is_empty();
                self.bills = Some(list);
                if none {
                    self.notice = Some(Notice::info("bills.none", "bills.none.msg"));
                    return Next::Go(PageId::Result);
                }
                if self.questions.current() == Step::Bills {
                    Next::Stay
                } else {
                    self.questions.advance(Some(Step::Bills))
                }
            }
            Err(CloudError::Problem(p)) if p.code == "account_not_found" => {
                self.questions.refuse("bills.account.unknown")
            }
            Err(e) => {
                self.notice = Some(Notice::cloud(&e));
                Next::Go(PageId::Result)
            }
        }
    }

    fn request(&self) -> Option<PaymentRequest> {
        let list = self.bills.as_ref()?;
        let chosen: Vec<_> = list
            .bills
            .iter()
            .filter(|b| self.chosen.contains(&b.bill_id))
            .collect();
        (!chosen.is_empty()).then(|| PaymentRequest {
            utility: self.utility.to_string(),
            account: self.account.clone(),
            bill_ids: chosen.iter().map(|b| b.bill_id.clone()).collect(),
            amount_fen: chosen.iter().map(|b| b.amount_fen).sum(),
        })
    }

    /// Opens the order (through the outbox: asked again, the same order comes back) and shows
    /// its QR.
    async fn create_order(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.redo = Redo::Order;
        self.notice = None;
        let Some(req) = self.request() else {
            return Next::Stay;
        };
        match self.order.deliver(ctx.outbox, ctx.cloud, &req, None).await {
            Ok(p) if self.settling(ctx, &p.payment_id) => {
                // The cloud answered the open order of these bills, which this kiosk is closing
                // (the resident left it, or contact was lost): never show a QR whose close is on
                // its way. A moment later the cloud makes a new one.
                self.order = Pending::default();
                self.notice = Some(Notice::error("bills.settling", "bills.settling.msg", true));
                Next::Go(PageId::Result)
            }
            Ok(p) => {
                if let Ok(s) = ctx.store.lock() {
                    if let Err(e) = s.payment_opened(&p.payment_id, ctx.visit) {
                        tracing::error!(error = %e, "payment ledger not written");
                    }
                }
                ctx.audit("payment_opened", &p.payment_id);
                Next::Go(self.show(ctx, p))
            }
            Err(e) => {
                self.order = Pending::default();
                self.notice = Some(e.notice());
                Next::Go(PageId::Result)
            }
        }
    }

    /// The order was opened on this kiosk.
    fn ours(&self, ctx: &Ctx<'_>, payment_id: &str) -> bool {
        ctx.store
            .lock()
            .ok()
            .and_then(|s| s.payment_order_state(payment_id).ok().flatten())
            .is_some()
    }

    /// This kiosk is settling the order (its close is queued).
    fn settling(&self, ctx: &Ctx<'_>, payment_id: &str) -> bool {
        ctx.store
            .lock()
            .ok()
            .and_then(|s| s.payment_order_state(payment_id).ok().flatten())
            .is_some_and(|state| state == "settling")
    }

    /// The order as the cloud answered it: on screen, or ended.
    fn show(&mut self, ctx: &mut Ctx<'_>, p: Payment) -> PageId {
        let now = Instant::now();
        if self.qr.is_none() || self.payment.as_ref().map(|x| &x.qr_payload) != Some(&p.qr_payload)
        {
            self.qr = crate::printing::qr_image(&p.qr_payload, 8);
        }
        let status = p.status;
        self.payment = Some(p);
        self.close_entry = None;
        match status {
            PaymentStatus::Pending => {
                self.phase = Phase::Showing { contact: now };
                PageId::Payment
            }
            other => {
                self.ended(ctx, other);
                PageId::Result
            }
        }
    }

    /// The cloud said how the order ended: a paid one's receipt prints now, from its answer.
    fn ended(&mut self, ctx: &mut Ctx<'_>, status: PaymentStatus) {
        self.phase = Phase::Ended(status);
        let Some(p) = self.payment.clone() else {
            return;
        };
        if status == PaymentStatus::Paid {
            ctx.audit("payment_paid", &p.payment_id);
            let receipt = templates::payment_receipt(ctx.site, &p);
            // The paper is spooled before the ledger says paid, so a kiosk that dies in between
            // still finds the order to settle (and its one receipt).
            if ctx.resident.is_some() && !ctx.resident_present() {
                // The card left while the kiosk asked: the receipt waits for its resident.
                let owner = ctx.owner(&p.payment_id);
                if let Err(e) = crate::printing::hold_paper(ctx.store, &receipt, &owner) {
                    tracing::error!(error = %e, "payment receipt not held");
                }
            } else {
                self.paper.print_once(ctx, receipt, &p.payment_id);
            }
        } else {
            // Nothing was charged: a new order may be made for the same bills.
            self.order = Pending::default();
            self.redo = Redo::Order;
        }
        record(ctx.store, &p);
    }

    /// Asks the cloud how the order stands (the kiosk asks every [`POLL_EVERY`] while its QR is
    /// up, and while the outcome is unknown).
    async fn poll(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let now = Instant::now();
        let showing = match self.phase {
            Phase::Showing { .. } => true,
            Phase::Unknown => false,
            _ => return Next::Stay,
        };
        let Some(id) = self.payment.as_ref().map(|p| p.payment_id.clone()) else {
            return Next::Stay;
        };
        let expired_here = self
            .payment
            .as_ref()
            .is_some_and(|p| seconds_until(&p.expires_at) == 0);
        let answer = if expired_here && showing {
            // Its time ran out on screen: close it (a close that finds it paid answers paid).
            self.close_now(ctx, &id, CloseReason::Expired).await
        } else {
            match ctx.cloud.payment(&id).await {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!(kind = e.kind(), "payment status not known");
                    None
                }
            }
        };
        match (answer, self.phase) {
            (Some(p), _) if p.status == PaymentStatus::Pending => {
                self.phase = Phase::Showing { contact: now };
                if showing {
                    Next::Stay
                } else {
                    // Contact is back while the resident is still here: the QR again.
                    Next::Replace(PageId::Payment)
                }
            }
            (Some(p), _) => {
                let status = p.status;
                self.payment = Some(p);
                self.ended(ctx, status);
                Next::Replace(PageId::Result)
            }
            (None, Phase::Showing { contact })
                if now.duration_since(contact) >= UNKNOWN_AFTER || expired_here =>
            {
                self.unknown(ctx);
                Next::Replace(PageId::Result)
            }
            (None, _) => Next::Stay,
        }
    }

    /// Contact lost with the QR up: never "failed". The resident gets the order number on a
    /// slip; the order is settled through the outbox whether or not they stay.
    fn unknown(&mut self, ctx: &mut Ctx<'_>) {
        self.phase = Phase::Unknown;
        let Some(p) = self.payment.clone() else {
            return;
        };
        ctx.audit("payment_unknown", &p.payment_id);
        let slip = templates::payment_pending(ctx.site, &p, &crate::time::now_rfc3339());
        // One slip per order, however often contact comes and goes.
        self.paper
            .print_once(ctx, slip, &format!("{}-pending", p.payment_id));
    }

    async fn back(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match self.phase {
            Phase::Showing { .. } => {
                // Leaving the QR: close the order now; a close that finds it paid shows paid.
                let Some(id) = self.payment.as_ref().map(|p| p.payment_id.clone()) else {
                    return Next::Back;
                };
                match self.close_now(ctx, &id, CloseReason::Left).await {
                    Some(p) if p.status == PaymentStatus::Paid => {
                        self.payment = Some(p);
                        self.ended(ctx, PaymentStatus::Paid);
                        Next::Replace(PageId::Result)
                    }
                    Some(p) => {
                        let status = p.status;
                        self.payment = Some(p);
                        self.ended(ctx, status);
                        self.payment = None;
                        self.phase = Phase::Choosing;
                        Next::Back
                    }
                    None => {
                        // Not closed now: the outbox keeps trying, and upkeep settles it.
                        hand_over(
                            ctx.outbox,
                            ctx.store,
                            &id,
                            CloseReason::Left,
                            self.close_entry,
                        );
                        self.payment = None;
                        self.order = Pending::default();
                        self.phase = Phase::Choosing;
                        Next::Back
                    }
                }
            }
            Phase::Unknown => {
                // Back to the bills: the order is settled through the outbox; asking again
                // answers the same order while it is open, or says the bills are paid.
                if let Some(id) = self.payment.take().map(|p| p.payment_id) {
                    hand_over(
                        ctx.outbox,
                        ctx.store,
                        &id,
                        CloseReason::Unknown,
                        self.close_entry,
                    );
                }
                self.order = Pending::default();
                self.phase = Phase::Choosing;
                Next::Back
            }
            Phase::Ended(_) => {
                // 确认 again asks the cloud anew (a paid order's bills answer bill_already_paid),
                // never replays the order that ended.
                self.payment = None;
                self.order = Pending::default();
                self.phase = Phase::Choosing;
                Next::Back
            }
            Phase::Choosing => {
                if self.notice.take().is_some() {
                    return Next::Back;
                }
                self.questions.back()
            }
        }
    }

    /// Closes the order now, through the outbox (its key is kept, so a close asked again is the
    /// same close); a close that finds the order paid answers the paid order. `None`: not
    /// answered now (the outbox keeps the close and delivers it later).
    async fn close_now(
        &mut self,
        ctx: &mut Ctx<'_>,
        payment_id: &str,
        reason: CloseReason,
    ) -> Option<Payment> {
        let req = PaymentCloseRequest {
            payment_id: payment_id.to_string(),
            reason,
        };
        let mut close = Pending::<PaymentCloseRequest>::default();
        let answer = close.deliver(ctx.outbox, ctx.cloud, &req, None).await;
        if let Some(entry) = close.entry() {
            self.close_entry.get_or_insert(entry.id);
        }
        match answer {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(?e, "payment not closed now");
                None
            }
        }
    }

    /// An order looked up by its number (from a 支付确认单): how it ended, and a paid one's
    /// receipt (its one paper: held for the resident, or not yet printed) printed for them.
    async fn lookup(&mut self, ctx: &mut Ctx<'_>, digits: &str) -> Next {
        self.redo = Redo::Lookup;
        self.notice = None;
        let id = format!("PAY{digits}");
        match ctx.cloud.payment(&id).await {
            Ok(p) if !self.ours(ctx, &p.payment_id) => {
                // Paid on another kiosk or channel: its receipt is that channel's to give, and
                // an order number alone does not make a paper anyone's to take.
                self.notice = Some(Notice::info(
                    "bills.lookup.elsewhere",
                    "bills.lookup.elsewhere.msg",
                ));
                Next::Go(PageId::Result)
            }
            Ok(p) => {
                let status = p.status;
                self.payment = Some(p);
                self.utility = UTILITIES
                    .iter()
                    .find(|u| Some(**u) == self.payment.as_ref().map(|p| p.utility.as_str()))
                    .copied()
                    .unwrap_or("water");
                match status {
                    PaymentStatus::Pending => {
                        self.notice = Some(Notice::info(
                            "bills.lookup.pending",
                            "bills.lookup.pending.msg",
                        ));
                    }
                    other => self.ended(ctx, other),
                }
                Next::Go(PageId::Result)
            }
            Err(CloudError::Problem(p)) if p.code == "payment_not_found" => {
                self.questions.refuse("bills.lookup.unknown")
            }
            Err(e) => {
                self.notice = Some(Notice::cloud(&e));
                Next::Go(PageId::Result)
            }
        }
    }

    fn form(&self, s: &ScreenCtx<'_>, v: &mut FlowView) {
        let f = &mut v.form;
        let step = match self.questions.current() {
            // The keypad's page stands over the choice page it was reached from.
            Step::Account if self.accounts.is_empty() => Step::Utility,
            other => other,
        };
        match step {
            Step::Utility | Step::Lookup => {
                f.title = "bills.utility".into();
                f.hint = "bills.utility.hint".into();
                f.choices = UTILITIES
                    .iter()
                    .map(|u| ChoiceView::new(*u, format!("bills.utility.{u}")))
                    .collect();
                f.choices
                    .push(ChoiceView::new("lookup", "bills.lookup.choice"));
            }
            Step::Accounts | Step::Account => {
                f.title = "bills.accounts".into();
                f.hint = "bills.accounts.hint".into();
                f.choices = self
                    .accounts
                    .iter()
                    .map(|a| ChoiceView {
                        detail: a.address_masked.clone(),
                        ..ChoiceView::new(a.account.clone(), a.account.clone())
                    })
                    .collect();
                f.choices
                    .push(ChoiceView::new("other", "bills.accounts.other"));
            }
            Step::Bills => {
                let Some(list) = &self.bills else { return };
                f.title = "bills.list".into();
                f.hint = "bills.list.hint".into();
                f.rows = vec![
                    RowView::with_unit(
                        "bills.row.utility",
                        format!("bills.utility.{}", self.utility),
                        "key",
                    ),
                    RowView::new("bills.row.account", list.account.clone()),
                    RowView::new("bills.row.holder", list.holder_masked.clone()),
                    RowView::new("bills.row.address", list.address.clone()),
                    RowView::new("bills.row.payee", s.text(&list.payee).to_string()),
                ];
                for b in list.bills.iter().filter(|b| b.status == "unpaid") {
                    let unit = templates::usage_unit(&b.usage_unit);
                    let chosen = self.chosen.contains(&b.bill_id);
                    f.choices.push(ChoiceView {
                        detail: format!(
                            "{} {} · {} · {} {}",
                            b.usage,
                            s.text(&unit),
                            yuan_text(s, b.amount_fen),
                            if s.lang == crate::Lang::Zh {
                                "截止"
                            } else {
                                "due"
                            },
                            b.due_date
                        ),
                        badge: if chosen {
                            "bills.chosen".into()
                        } else {
                            "bills.not_chosen".into()
                        },
                        ..ChoiceView::new(b.bill_id.clone(), b.period.clone())
                    });
                }
                let total = self.request().map(|r| r.amount_fen).unwrap_or(0);
                f.choices.push(ChoiceView {
                    detail: yuan_text(s, total),
                    enabled: !self.chosen.is_empty(),
                    ..ChoiceView::new("pay", "bills.pay")
                });
            }
        }
    }

    fn confirm_rows(&self, s: &ScreenCtx<'_>, v: &mut FlowView) {
        let (Some(list), Some(req)) = (&self.bills, self.request()) else {
            return;
        };
        v.confirm.title = "bills.confirm".into();
        let rows = &mut v.confirm.rows;
        rows.push(RowView::with_unit(
            "bills.row.utility",
            format!("bills.utility.{}", self.utility),
            "key",
        ));
        rows.push(RowView::new("bills.row.account", list.account.clone()));
        rows.push(RowView::new("bills.row.holder", list.holder_masked.clone()));
        rows.push(RowView::new(
            "bills.row.payee",
            s.text(&list.payee).to_string(),
        ));
        for b in list
            .bills
            .iter()
            .filter(|b| self.chosen.contains(&b.bill_id))
        {
            rows.push(RowView::with_unit(
                "bills.row.period",
                format!("{} · {}", b.period, yuan(b.amount_fen)),
                "",
            ));
        }
        rows.push(RowView::with_unit(
            "bills.row.total",
            yuan(req.amount_fen),
            "yuan",
        ));
    }

    fn result(&self, s: &ScreenCtx<'_>, v: &mut FlowView) {
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
            return;
        }
        let Some(p) = &self.payment else { return };
        let r = &mut v.result;
        let mut rows = vec![
            RowView::with_unit(
                "bills.row.utility",
                format!("bills.utility.{}", p.utility),
                "key",
            ),
            RowView::new("bills.row.account", p.account.clone()),
            RowView::with_unit("bills.row.amount", yuan(p.amount_fen), "yuan"),
            RowView::new("bills.row.order", p.payment_id.clone()),
        ];
        match self.phase {
            Phase::Ended(PaymentStatus::Paid) => {
                r.kind = ResultKind::Success;
                r.title = "bills.paid".into();
                r.headline = yuan_text(s, p.amount_fen);
                r.message = "bills.paid.msg".into();
                rows.push(RowView::new(
                    "bills.row.payee",
                    s.text(&p.payee).to_string(),
                ));
                if let Some(at) = &p.paid_at {
                    rows.push(RowView::new("bills.row.paid_at", short_time(at)));
                }
                if let Some(no) = &p.receipt_no {
                    rows.push(RowView::new("bills.row.receipt", no.clone()));
                }
                if let Some(refund) = &p.refund {
                    rows.push(
                        RowView::with_unit("bills.row.refund", yuan(refund.amount_fen), "yuan")
                            .warning(),
                    );
                    r.message = "bills.refunded.msg".into();
                }
                r.rate = p.payment_id.clone();
                r.spoken = Some(crate::view::SpokenResult::Paid {
                    fen: u64::try_from(p.amount_fen).unwrap_or(0),
                    utility: p.utility.clone(),
                });
            }
            Phase::Ended(_) => {
                r.kind = ResultKind::Info;
                r.title = "bills.closed".into();
                r.message = "bills.closed.msg".into();
                r.can_retry = self.bills.is_some();
            }
            Phase::Unknown => {
                r.kind = ResultKind::Info;
                r.title = "bills.unknown".into();
                r.headline = p.payment_id.clone();
                r.message = "bills.unknown.msg".into();
            }
            _ => return,
        }
        r.rows = rows;
        self.paper.show(v);
    }
}

/// `12.30元` / `¥12.30`.
fn yuan_text(s: &ScreenCtx<'_>, fen: i64) -> String {
    match s.lang {
        crate::Lang::Zh => format!("{}元", yuan(fen)),
        crate::Lang::En => format!("¥{}", yuan(fen)),
    }
}

/// The resident left an order whose end is not known: the outbox closes it, and [`settle`]
/// reads how it ended.
fn hand_over(
    outbox: &Outbox,
    store: &Mutex<Store>,
    payment_id: &str,
    reason: CloseReason,
    written: Option<i64>,
) {
    let req = PaymentCloseRequest {
        payment_id: payment_id.to_string(),
        reason,
    };
    let entry = match written {
        Some(id) => Ok(id),
        None => outbox.submit(&req, None).map(|e| e.id),
    };
    match entry {
        Ok(entry) => {
            if let Ok(s) = store.lock() {
                if let Err(e) = s.payment_settling(payment_id, entry) {
                    tracing::error!(error = %e, "payment ledger not written");
                }
            }
        }
        Err(e) => {
            // The ledger still has the order; upkeep writes the close on its next pass.
            tracing::error!(error = %e, "payment close not stored");
            if let Ok(s) = store.lock() {
                let _ = s.payment_settling(payment_id, 0);
            }
        }
    }
}

/// The ledger learns how an order ended.
fn record(store: &Mutex<Store>, p: &Payment) {
    if p.status.is_final() {
        let state = match p.status {
            PaymentStatus::Paid => "paid",
            PaymentStatus::Expired => "expired",
            _ => "closed",
        };
        if let Ok(s) = store.lock() {
            if let Err(e) = s.payment_state(&p.payment_id, state) {
                tracing::error!(error = %e, "payment ledger not written");
            }
        }
    }
}

/// Settles the orders nobody stands before any more (left, contact lost, or a kiosk restarted
/// mid-payment): each gets a close through the outbox, and when the cloud's answer is in, the
/// ledger records it; a paid order's receipt is held in the spool for its resident to ask for
/// (生活缴费 → 查询缴费结果), never printed for whoever stands at the kiosk now.
pub async fn settle(u: &Upkeep<'_>) {
    let orders = match u.store.lock() {
        Ok(s) => {
            if u.starting {
                // Nobody stands before an order a previous run left open.
                let _ = s.payments_orphaned();
            }
            s.payments_settling().unwrap_or_default()
        }
        Err(_) => return,
    };
    for (payment_id, visit, close_entry) in orders {
        let entry = match close_entry {
            Some(id) if id > 0 => Submitted::<PaymentCloseRequest>::of(id),
            _ => {
                // No close was written (a restart, or storage trouble): write it now.
                let req = PaymentCloseRequest {
                    payment_id: payment_id.clone(),
                    reason: CloseReason::Unknown,
                };
                match u.outbox.submit(&req, None) {
                    Ok(e) => {
                        if let Ok(s) = u.store.lock() {
                            let _ = s.payment_settling(&payment_id, e.id);
                        }
                        e
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "payment close not stored");
                        continue;
                    }
                }
            }
        };
        let answer = match u.outbox.answer(entry) {
            Ok(Some(p)) => Some(p),
            Ok(None) if u.outbox.failed(entry) => {
                // The close was refused for good (e.g. the order is unknown): ask directly.
                u.cloud.payment(&payment_id).await.ok()
            }
            _ => None,
        };
        let Some(p) = answer else { continue };
        if !p.status.is_final() {
            continue;
        }
        if p.status == PaymentStatus::Paid {
            let receipt = templates::payment_receipt(u.site, &p);
            let owner = JobOwner {
                visit,
                request: p.payment_id.clone(),
            };
            if let Err(e) = crate::printing::hold_paper(u.store, &receipt, &owner) {
                tracing::error!(error = %e, "payment receipt not held");
                continue;
            }
        }
        record(u.store, &p);
        if let Ok(s) = u.store.lock() {
            let _ = s.audit(
                "payment_settled",
                &format!("{} {:?}", p.payment_id, p.status),
            );
        }
    }
}
