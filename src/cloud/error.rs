//! Cloud failures, typed so each one gets the right resident-facing message and retry policy.

use super::api::Problem;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudError {
    /// No TCP connection (cable out, DNS, cloud down).
    #[error("the cloud cannot be reached: {0}")]
    Unreachable(String),
    /// Connected, but no answer in time.
    #[error("the cloud did not answer within {0} ms")]
    Timeout(u64),
    /// A documented refusal (RFC 9457 problem+json).
    #[error("the cloud refused ({}: {})", .0.status, .0.code)]
    Problem(Problem),
    /// An answer we cannot read: wrong JSON shape, or an error without problem details.
    #[error("the cloud sent an answer that cannot be read: {0}")]
    Malformed(String),
}

impl CloudError {
    /// Server-side and transport trouble is worth retrying with the same Idempotency-Key;
    /// a 4xx problem will answer the same every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            CloudError::Unreachable(_) | CloudError::Timeout(_) => true,
            CloudError::Problem(p) => p.status >= 500 || p.status == 429,
            CloudError::Malformed(_) => true,
        }
    }

    /// The problem `code`, when the cloud gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CloudError::Problem(p) => Some(&p.code),
            _ => None,
        }
    }

    /// A short machine tag for logs and transcripts (no personal data in any variant).
    pub fn kind(&self) -> &'static str {
        match self {
            CloudError::Unreachable(_) => "unreachable",
            CloudError::Timeout(_) => "timeout",
            CloudError::Problem(_) => "problem",
            CloudError::Malformed(_) => "malformed",
        }
    }
}
