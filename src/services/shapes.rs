//! Shapes several services share, so a new service is configuration of a shape, not a copy of
//! another service's flow:
//! - [`Questions`]: the walk through an application's questions (choices on the choice page,
//!   free text or digits on the input page), step by step back, then the confirm page.
//! - [`Pending`]: one creating call through the outbox: written once, delivered (again) while
//!   the resident waits, with one mapping from how it ended to what the resident is told.
//! - [`Application`]: a resident's application on top of [`Pending`]: the 受理回执 printed when
//!   the cloud accepts it, an offline receipt with the kiosk's local number when the cloud cannot
//!   be reached, and the result page for both.

use super::{Ctx, Next, Notice, Paper};
use crate::cloud::api::{ApplicationReceipt, AssistanceReceipt, CaseReceipt, Text};
use crate::cloud::{CloudClient, ResidentToken, Submission};
use crate::outbox::{Delivery, Outbox, Submitted};
use crate::printing::templates;
use crate::session::PageId;
use crate::time::{now_rfc3339, short_time};
use crate::view::{FlowView, PrintState, ResultKind, ResultView, RowView};
use bianmin_printer::Receipt;

/// Where a question is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// Big options on the choice page.
    Choice,
    /// A line of free text on the input page.
    Text,
    /// Digits on the input page's keypad.
    Keypad,
}

impl Asked {
    fn page(self) -> PageId {
        match self {
            Asked::Choice => PageId::Form,
            Asked::Text | Asked::Keypad => PageId::Input,
        }
    }
}

/// The path through a service's questions `Q`: the current one, the ones answered before it
/// (for "back"), whether the confirm page is up, the keypad's digits and a refused answer.
/// The service keeps the answers; this keeps the way.
#[derive(Debug, Clone)]
pub struct Questions<Q> {
    asked: fn(Q) -> Asked,
    path: Vec<Q>,
    current: Q,
    confirming: bool,
    digits: String,
    refused: Option<&'static str>,
}

impl<Q: Copy + Eq> Questions<Q> {
    /// `asked` says where each question is asked.
    pub fn new(first: Q, asked: fn(Q) -> Asked) -> Self {
        Questions {
            asked,
            path: Vec::new(),
            current: first,
            confirming: false,
            digits: String::new(),
            refused: None,
        }
    }

    /// The question on screen (on the confirm page: the last one answered, which is behind it).
    pub fn current(&self) -> Q {
        self.current
    }

    pub fn confirming(&self) -> bool {
        self.confirming
    }

    /// The current question was answered: ask `next`, or show the confirm page when `None`.
    pub fn advance(&mut self, next: Option<Q>) -> Next {
        self.refused = None;
        match next {
            Some(q) => {
                self.path.push(self.current);
                self.current = q;
                Next::Go((self.asked)(q).page())
            }
            None => {
                self.confirming = true;
                Next::Go(PageId::Confirm)
            }
        }
    }

    /// One question back. On the same page the screen changes in place; otherwise the kiosk goes
    /// one page back (and from the first question, out of the service's first page).
    pub fn back(&mut self) -> Next {
        self.refused = None;
        if self.confirming {
            self.confirming = false;
            return Next::Back;
        }
        match self.path.pop() {
            None => Next::Back,
            Some(previous) => {
                let same_page = (self.asked)(previous).page() == (self.asked)(self.current).page();
                self.current = previous;
                if same_page {
                    Next::Stay
                } else {
                    Next::Back
                }
            }
        }
    }

    /// The answer was refused: the input page shows `hint` (a string key) as an error.
    pub fn refuse(&mut self, hint: &'static str) -> Next {
        self.refused = Some(hint);
        Next::Stay
    }

    pub fn refused(&self) -> Option<&'static str> {
        self.refused
    }

    /// A key on the keypad of a digits question: a digit (up to `max`), "back" or "clear".
    pub fn key(&mut self, key: &str, max: usize) -> Next {
        if (self.asked)(self.current) != Asked::Keypad || self.confirming {
            return Next::Stay;
        }
        match key {
            "back" => {
                self.digits.pop();
            }
            "clear" => self.digits.clear(),
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() && self.digits.len() < max => {
                self.digits.push_str(d)
            }
            _ => {}
        }
        self.refused = None;
        Next::Stay
    }

    /// The digits typed so far.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    pub fn clear_digits(&mut self) {
        self.digits.clear();
    }
}

/// One creating call of a service: written to the outbox once (so its Idempotency-Key holds
/// across retries and a lost answer is fetched again, never created twice), then delivered
/// while the resident waits.
#[derive(Debug)]
pub struct Pending<S> {
    entry: Option<Submitted<S>>,
}

impl<S> Default for Pending<S> {
    fn default() -> Self {
        Pending { entry: None }
    }
}

/// Why a submission was not answered, as the resident is told it.
#[derive(Debug)]
pub enum NotAnswered {
    /// The cloud will be asked again (offline-capable services keep it as accepted offline).
    Later(Notice),
    /// Refused for good.
    Refused(Notice),
    /// Nothing was kept (the kiosk's storage failed): trying again may help.
    NotStored(Notice),
}

impl NotAnswered {
    pub fn notice(self) -> Notice {
        match self {
            NotAnswered::Later(n) | NotAnswered::Refused(n) | NotAnswered::NotStored(n) => n,
        }
    }
}

impl<S: Submission> Pending<S> {
    /// The outbox entry, once written.
    pub fn entry(&self) -> Option<Submitted<S>> {
        self.entry
    }

    /// Writes `request` to the outbox (the first time only: later calls deliver what was
    /// written) and delivers it now.
    pub async fn deliver(
        &mut self,
        outbox: &Outbox,
        cloud: &CloudClient,
        request: &S,
        session: Option<&ResidentToken>,
    ) -> Result<S::Answer, NotAnswered> {
        let entry = match self.entry {
            Some(e) => e,
            None => match outbox.submit(request, session) {
                Ok(e) => *self.entry.insert(e),
                Err(e) => {
                    tracing::error!(error = %e, path = S::PATH, "submission could not be stored");
                    return Err(NotAnswered::NotStored(Notice::error(
                        "error.storage",
                        "error.storage.msg",
                        true,
                    )));
                }
            },
        };
        match outbox.deliver_now(cloud, entry).await {
            Delivery::Answered(a) => Ok(a),
            Delivery::Later(e) => Err(NotAnswered::Later(Notice::cloud(&e))),
            Delivery::Refused { error, code } => {
                // Final: a new attempt (e.g. a standard ticket instead of priority) is a new entry.
                self.entry = None;
                Err(NotAnswered::Refused(match error {
                    Some(e) => Notice::cloud(&e),
                    None => {
                        tracing::warn!(%code, path = S::PATH, "submission refused");
                        Notice::error("error.refused", "error.refused.msg", false)
                    }
                }))
            }
            Delivery::Lost => Err(NotAnswered::NotStored(Notice::error(
                "error.storage",
                "error.storage.msg",
                true,
            ))),
        }
    }
}

/// A mobile number as the cloud takes it: 11 digits starting with 1.
pub fn is_mobile(p: &str) -> bool {
    p.len() == 11 && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit())
}

/// An answer that names the case the cloud opened.
pub trait Acknowledged {
    fn case_no(&self) -> &str;
}

impl Acknowledged for CaseReceipt {
    fn case_no(&self) -> &str {
        &self.case_no
    }
}

impl Acknowledged for ApplicationReceipt {
    fn case_no(&self) -> &str {
        &self.case_no
    }
}

impl Acknowledged for AssistanceReceipt {
    fn case_no(&self) -> &str {
        &self.case_no
    }
}

/// How an application ended, as the resident was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filed<A> {
    /// The cloud accepted it: its answer, and when it was submitted.
    Accepted { answer: A, at: String },
    /// Kept in the outbox, to be sent when the network returns: the kiosk's local number.
    Offline { local_no: String, at: String },
}

/// A resident's application (居住证/户籍, 民政救助): one submission through the outbox, with the
/// resident's session. Accepted, its 受理回执 is printed (the service says what it holds); the
/// cloud unreachable, it is kept and the resident leaves with an offline receipt and the local
/// number; refused or not stored, the result page says so. Confirming twice never submits
/// twice. The result page is described here for every service that files applications.
pub struct Application<S: Submission> {
    pending: Pending<S>,
    filed: Option<Filed<S::Answer>>,
    notice: Option<Notice>,
    paper: Paper,
}

impl<S: Submission> Default for Application<S> {
    fn default() -> Self {
        Application {
            pending: Pending::default(),
            filed: None,
            notice: None,
            paper: Paper::default(),
        }
    }
}

impl<S: Submission> Application<S>
where
    S::Answer: Acknowledged,
{
    pub fn filed(&self) -> Option<&Filed<S::Answer>> {
        self.filed.as_ref()
    }

    /// Submits `request` (once: a second confirm or a retry delivers the same entry) and prints
    /// what came of it: `receipt(answer, submitted_at)` when accepted, the offline receipt
    /// titled `title` when kept for later.
    pub async fn submit(
        &mut self,
        ctx: &mut Ctx<'_>,
        request: &S,
        title: &Text,
        receipt: impl FnOnce(&S::Answer, &str) -> Receipt + Send,
    ) -> Next {
        if self.filed.is_some() {
            return Next::Replace(PageId::Result);
        }
        // An application is the resident's own: it goes with their session.
        let session = ctx.resident.map(|r| &r.token);
        let delivered = self
            .pending
            .deliver(ctx.outbox, ctx.cloud, request, session)
            .await;
        let now = now_rfc3339();
        self.notice = None;
        match delivered {
            Ok(answer) => {
                let no = answer.case_no().to_string();
                if ctx.resident_present() {
                    self.paper.print(ctx, receipt(&answer, &now), &no);
                } else {
                    // The card left while the cloud answered: the paper would be nobody's.
                    ctx.audit("receipt_withheld", &no);
                }
                self.filed = Some(Filed::Accepted { answer, at: now });
            }
            Err(NotAnswered::Later(_)) => {
                let local_no = self
                    .pending
                    .entry()
                    .and_then(|e| ctx.outbox.local_no(e))
                    .unwrap_or_default();
                if ctx.resident_present() {
                    let paper =
                        templates::application_offline_receipt(ctx.site, title, &local_no, &now);
                    self.paper.print(ctx, paper, &local_no);
                }
                self.filed = Some(Filed::Offline { local_no, at: now });
            }
            Err(NotAnswered::NotStored(_)) => {
                // Nothing was kept: say so plainly rather than pretend.
                self.notice = Some(Notice::error(
                    "app.store_failed",
                    "app.store_failed.msg",
                    true,
                ));
            }
            Err(refused) => self.notice = Some(refused.notice()),
        }
        Next::Replace(PageId::Result)
    }

    /// The receipt again after a printer fault (never a second copy of one that came out).
    pub fn reprint(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.paper.reprint(ctx.printer);
        Next::Stay
    }

    /// The result page: what went wrong, or the case (with `accepted` adding the service's own
    /// rows and message to the case number) and the rating strip, or the local number; the
    /// print state, and a reminder to note the numbers down when no paper came out.
    pub fn show(&self, v: &mut FlowView, accepted: impl FnOnce(&S::Answer, &mut ResultView)) {
        if let Some(n) = &self.notice {
            n.show(&mut v.result);
            return;
        }
        let Some(filed) = &self.filed else {
            return;
        };
        let r = &mut v.result;
        match filed {
            Filed::Accepted { answer, at } => {
                r.kind = ResultKind::Success;
                r.title = "app.done".into();
                r.headline = answer.case_no().to_string();
                r.message = "app.done.msg".into();
                r.rows = vec![
                    RowView::new("case_no", answer.case_no()),
                    RowView::new("report.row.submitted", short_time(at)),
                ];
                accepted(answer, r);
                r.rate = answer.case_no().to_string();
            }
            Filed::Offline { local_no, at } => {
                r.kind = ResultKind::Info;
                r.title = "app.offline".into();
                r.headline = local_no.clone();
                r.message = "app.offline.msg".into();
                r.rows = vec![
                    RowView::new("report.row.local_no", local_no.clone()),
                    RowView::new("report.row.submitted", short_time(at)),
                ];
            }
        }
        self.paper.show(v);
        if v.print.state != PrintState::Done && v.print.state != PrintState::None {
            v.result.message = match filed {
                Filed::Accepted { .. } => "app.note_down",
                Filed::Offline { .. } => "app.offline.note_down",
            }
            .into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Q {
        Kind,
        Category,
        Text,
        Phone,
        Named,
    }

    fn asked(q: Q) -> Asked {
        match q {
            Q::Kind | Q::Category | Q::Named => Asked::Choice,
            Q::Text => Asked::Text,
            Q::Phone => Asked::Keypad,
        }
    }

    #[test]
    fn back_steps_through_questions_in_place_or_a_page_back() {
        let mut q = Questions::new(Q::Kind, asked);
        assert_eq!(q.advance(Some(Q::Category)), Next::Go(PageId::Form));
        assert_eq!(q.advance(Some(Q::Text)), Next::Go(PageId::Input));
        assert_eq!(q.advance(Some(Q::Phone)), Next::Go(PageId::Input));
        assert_eq!(q.key("1", 11), Next::Stay);
        assert_eq!(q.key("x", 11), Next::Stay);
        assert_eq!(q.digits(), "1");
        assert_eq!(q.refuse("bad"), Next::Stay);
        assert_eq!(q.refused(), Some("bad"));
        assert_eq!(q.advance(Some(Q::Named)), Next::Go(PageId::Form));
        assert_eq!(q.refused(), None, "a new question starts without an error");
        assert_eq!(q.advance(None), Next::Go(PageId::Confirm));
        assert!(q.confirming());
        // Confirm → the question behind it, on its page.
        assert_eq!(q.back(), Next::Back);
        assert_eq!(q.current(), Q::Named);
        // Choice page → keypad: a page back; keypad → text: same page.
        assert_eq!(q.back(), Next::Back);
        assert_eq!(q.current(), Q::Phone);
        assert_eq!(q.back(), Next::Stay);
        assert_eq!(q.current(), Q::Text);
        assert_eq!(q.back(), Next::Back);
        assert_eq!(q.back(), Next::Stay);
        assert_eq!(q.current(), Q::Kind);
        assert_eq!(q.back(), Next::Back, "the first question leaves");
        assert_eq!(q.digits(), "1", "typed digits are kept when coming back");
    }

    #[test]
    fn keys_only_reach_a_keypad_question_and_stop_at_max() {
        let mut q = Questions::new(Q::Kind, asked);
        q.key("5", 3);
        assert_eq!(q.digits(), "", "no keypad on a choice question");
        q.advance(Some(Q::Phone));
        for k in ["1", "2", "3", "4"] {
            q.key(k, 3);
        }
        assert_eq!(q.digits(), "123");
        q.key("back", 3);
        assert_eq!(q.digits(), "12");
        q.key("clear", 3);
        assert_eq!(q.digits(), "");
    }
}
