//! 好差评: the rating a finished use of a service offers on its result page (any service: the
//! service names what is rated in `ResultView::rate`, the kiosk shows the strip and sends it).
//! Five levels, 非常满意 … 非常不满意; 不满意 or below asks why (quick phrases). Skipping is one
//! tap: 完成, as on every result page. A rating goes through the outbox once — its
//! Idempotency-Key is kept, so asking again never rates twice — and waits there when the network
//! is down.

use super::shapes::{NotAnswered, Pending};
use super::Ctx;
use crate::cloud::api::{RatingRequest, ServiceRatingRequest, RATING_REASONS};
use crate::view::RatingView;
use std::collections::BTreeSet;

/// What a result page rates: a case of 我的办件 (rated as the case, with the resident's session),
/// or one use of a service (its ticket, payment, case or certificate number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rated {
    Case(String),
    Use { service: String, reference: String },
}

impl Rated {
    /// `rate` on a result: `case:BM…` for a case, else the reference of a use of `service`.
    pub fn from_view(service: &str, rate: &str) -> Option<Rated> {
        if rate.is_empty() {
            return None;
        }
        Some(match rate.strip_prefix("case:") {
            Some(no) => Rated::Case(no.to_string()),
            None => Rated::Use {
                service: service.to_string(),
                reference: rate.to_string(),
            },
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    No,
    /// The cloud has it.
    Yes,
    /// Kept in the outbox until the network returns.
    Kept,
}

/// One result's rating as the resident gives it.
#[derive(Debug)]
pub struct ResultRating {
    rated: Rated,
    score: Option<u8>,
    reasons: BTreeSet<&'static str>,
    case: Pending<RatingRequest>,
    service: Pending<ServiceRatingRequest>,
    sent: Sent,
    failed: bool,
}

/// 不满意 (2) and below ask why.
pub fn needs_reason(score: u8) -> bool {
    score <= 2
}

impl ResultRating {
    pub fn new(rated: Rated) -> Self {
        ResultRating {
            rated,
            score: None,
            reasons: BTreeSet::new(),
            case: Pending::default(),
            service: Pending::default(),
            sent: Sent::No,
            failed: false,
        }
    }

    pub fn rated(&self) -> &Rated {
        &self.rated
    }

    /// A score was tapped: a good one is sent at once, a poor one waits for its reasons.
    pub async fn score(&mut self, ctx: &mut Ctx<'_>, score: u8) {
        if self.sent != Sent::No || !(1..=5).contains(&score) {
            return;
        }
        self.score = Some(score);
        if !needs_reason(score) {
            self.reasons.clear();
            self.send(ctx).await;
        }
    }

    pub fn toggle_reason(&mut self, code: &str) {
        if self.sent != Sent::No {
            return;
        }
        if let Some(c) = RATING_REASONS.iter().find(|c| **c == code) {
            if !self.reasons.remove(c) {
                self.reasons.insert(c);
            }
        }
    }

    /// Sends the rating (a poor one needs a reason first).
    pub async fn send(&mut self, ctx: &mut Ctx<'_>) {
        let Some(score) = self.score else { return };
        if self.sent != Sent::No || (needs_reason(score) && self.reasons.is_empty()) {
            return;
        }
        let reasons: Vec<String> = self.reasons.iter().map(|r| r.to_string()).collect();
        let outcome = match &self.rated {
            Rated::Case(no) => {
                let req = RatingRequest {
                    case_no: no.clone(),
                    score,
                    reasons,
                    comment: String::new(),
                };
                let session = ctx.resident.map(|r| &r.token);
                self.case
                    .deliver(ctx.outbox, ctx.cloud, &req, session)
                    .await
                    .map(|_| ())
            }
            Rated::Use { service, reference } => {
                let req = ServiceRatingRequest {
                    service: service.clone(),
                    reference: reference.clone(),
                    score,
                    reasons,
                    comment: String::new(),
                };
                self.service
                    .deliver(ctx.outbox, ctx.cloud, &req, None)
                    .await
                    .map(|_| ())
            }
        };
        self.failed = false;
        match outcome {
            Ok(()) => self.sent = Sent::Yes,
            Err(NotAnswered::Later(_)) => self.sent = Sent::Kept,
            Err(NotAnswered::Refused(_)) => {
                // Rated already (e.g. on another kiosk): nothing more to do here.
                self.sent = Sent::Yes;
            }
            Err(NotAnswered::NotStored(_)) => self.failed = true,
        }
        ctx.audit("rating", &format!("{score} {:?}", self.sent));
    }

    pub fn view(&self) -> RatingView {
        RatingView {
            score: self.score.unwrap_or(0),
            reasons: RATING_REASONS
                .iter()
                .map(|c| (c.to_string(), self.reasons.contains(c)))
                .collect(),
            sent: self.sent == Sent::Yes,
            kept: self.sent == Sent::Kept,
            failed: self.failed,
        }
    }
}
