//! Every call that creates something at the cloud is a [`Submission`]: a request type that names
//! its path, its answer, and when it may be delivered. The outbox stores and delivers them all the
//! same way; a new creating call is one more `impl`, not a new outbox route.

use super::api::{
    CaseReceipt, Certificate, CertificateRequest, DepositProofRequest, QueueTicket,
    QueueTicketRequest, ReportRequest, StatementRequest,
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
