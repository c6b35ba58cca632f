//! Every call that creates something at the cloud is a [`Submission`]: a request type that names
//! its path, its answer, and when it may be delivered. The outbox stores and delivers them all the
//! same way; a new creating call is one more `impl`, not a new outbox route.

use super::api::{
    ApplicationReceipt, AssistanceApplicationRequest, AssistanceReceipt, CaseReceipt, Certificate,
    CertificateRequest, DepositProofRequest, HouseholdApplicationRequest, Payment,
    PaymentCloseRequest, PaymentRequest, QueueTicket, QueueTicketRequest, Rating, RatingRequest,
    ReportRequest, ServiceRating, ServiceRatingRequest, StatementRequest,
};
use serde::{de::DeserializeOwned, Serialize};

pub trait Submission: Serialize + DeserializeOwned + Send + Sync {
    /// The contract's path (POST, with an Idempotency-Key).
    const PATH: &'static str;
    /// Worth delivering only while the resident waits at the kiosk: a queue ticket delivered
    /// after they left would call a number nobody holds. Abandoned when the session ends.
    const ONLINE_ONLY: bool;
    /// When the resident's session ended before the network came back, deliver it without the
    /// session (the case stays the resident's by its query code) rather than lose it.
    const WITHOUT_SESSION_WHEN_EXPIRED: bool;
    /// What the cloud answers.
    type Answer: Serialize + DeserializeOwned + Send;

    /// Where this request is posted: [`Submission::PATH`], unless the path names what the
    /// request acts on (a payment's close).
    fn path(&self) -> String {
        Self::PATH.to_string()
    }
}

impl Submission for ReportRequest {
    const PATH: &'static str = "/v1/reports";
    const ONLINE_ONLY: bool = false;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = true;
    type Answer = CaseReceipt;
}

impl Submission for QueueTicketRequest {
    const PATH: &'static str = "/v1/queue/tickets";
    const ONLINE_ONLY: bool = true;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = QueueTicket;
}

// Documents are online-only: a certificate is worth printing only for the resident standing at
// the kiosk, and one delivered after they left must never come out for the next resident.

impl Submission for CertificateRequest {
    const PATH: &'static str = "/v1/social-insurance/certificates";
    const ONLINE_ONLY: bool = true;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = Certificate;
}

impl Submission for StatementRequest {
    const PATH: &'static str = "/v1/medical-insurance/statements";
    const ONLINE_ONLY: bool = true;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = Certificate;
}

impl Submission for DepositProofRequest {
    const PATH: &'static str = "/v1/housing-fund/deposit-proofs";
    const ONLINE_ONLY: bool = true;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = Certificate;
}

// A payment order is worth opening only while the resident stands before its QR code: one
// created after they left would be a code nobody scans.
impl Submission for PaymentRequest {
    const PATH: &'static str = "/v1/payments";
    const ONLINE_ONLY: bool = true;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = Payment;
}

// A close must reach the cloud whatever happens to the kiosk: it settles an order whose outcome
// the kiosk does not know (and answers "paid" when the resident paid after all).
impl Submission for PaymentCloseRequest {
    const PATH: &'static str = "/v1/payments/{payment_id}/close";
    const ONLINE_ONLY: bool = false;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = Payment;

    fn path(&self) -> String {
        format!(
            "/v1/payments/{}/close",
            super::client::enc(&self.payment_id)
        )
    }
}

// Applications are kept like reports: delivered when the network returns. They are the
// resident's own, so they go with the resident's session.
impl Submission for HouseholdApplicationRequest {
    const PATH: &'static str = "/v1/household/applications";
    const ONLINE_ONLY: bool = false;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = ApplicationReceipt;
}

impl Submission for AssistanceApplicationRequest {
    const PATH: &'static str = "/v1/assistance/applications";
    const ONLINE_ONLY: bool = false;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = AssistanceReceipt;
}

// Ratings are kept until delivered, once per case or use of a service (its Idempotency-Key).
impl Submission for ServiceRatingRequest {
    const PATH: &'static str = "/v1/service-ratings";
    const ONLINE_ONLY: bool = false;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = false;
    type Answer = ServiceRating;
}

// A case's rating: the case number is in the path and repeated in the body.
impl Submission for RatingRequest {
    const PATH: &'static str = "/v1/cases/{case_no}/rating";
    const ONLINE_ONLY: bool = false;
    const WITHOUT_SESSION_WHEN_EXPIRED: bool = true;
    type Answer = Rating;

    fn path(&self) -> String {
        format!("/v1/cases/{}/rating", super::client::enc(&self.case_no))
    }
}
