//! Shapes several services share, so a new service is configuration of a shape, not a copy of
//! another service's flow:
//! - [`Questions`]: the walk through an application's questions (choices on the choice page,
//!   free text or digits on the input page), step by step back, then the confirm page.
//! - [`Pending`]: one creating call through the outbox: written once, delivered (again) while
//!   the resident waits, with one mapping from how it ended to what the resident is told.

use super::{Next, Notice};
use crate::cloud::{CloudClient, ResidentToken, Submission};
use crate::outbox::{Delivery, Outbox, Submitted};
use crate::session::PageId;

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
