//! Typed async client for the cloud API v1 on reqwest (rustls). Every call has a timeout;
//! problem+json answers become [`CloudError::Problem`].

use super::api::*;
use super::error::CloudError;
use super::submission::Submission;
use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// One call as the transcript and the audit log see it: no bodies, no personal data.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    /// HTTP status, or 0 when no answer came.
    pub status: u16,
    pub millis: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The resident's session token (`X-Resident-Session`), wiped from memory on drop.
#[derive(Clone)]
pub struct ResidentToken(Zeroizing<String>);

impl ResidentToken {
    pub fn new(token: String) -> Self {
        ResidentToken(Zeroizing::new(token))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ResidentToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResidentToken(…)")
    }
}

/// How the cloud answered the last call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Up,
    /// Connected, but no answer in time.
    Slow,
    /// No connection at all.
    Down,
}

#[derive(Clone)]
pub struct CloudClient {
    http: reqwest::Client,
    base: String,
    device_token: Arc<Mutex<Option<Zeroizing<String>>>>,
    timeout: Duration,
    calls: Arc<Mutex<Vec<CallRecord>>>,
    /// How the last call reached the cloud (None before the first call).
    link: Arc<Mutex<Option<Link>>>,
    breaker: Arc<Mutex<Breaker>>,
}

/// After a few transport failures in a row the cloud is taken as down for a while: calls fail at
/// once instead of each making the resident wait out a timeout. The first call after the pause
/// goes through; if it fails too, the pause starts again.
#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

pub const BREAKER_THRESHOLD: u32 = 3;
pub const BREAKER_PAUSE: Duration = Duration::from_secs(10);

impl CloudClient {
    /// `base` is the cloud's root URL (`http://127.0.0.1:8080`); `timeout` bounds every call.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, CloudError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .timeout(timeout)
            .user_agent(concat!("bianmin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CloudError::Unreachable(e.to_string()))?;
        Ok(CloudClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            device_token: Arc::new(Mutex::new(None)),
            timeout,
            calls: Arc::default(),
            link: Arc::default(),
            breaker: Arc::default(),
        })
    }

    pub fn set_device_token(&self, token: &str) {
        *self.device_token.lock().expect("token lock") = Some(Zeroizing::new(token.to_string()));
    }

    /// Whether the cloud answered the last call in time (the offline tiles follow this).
    pub fn reachable(&self) -> Option<bool> {
        self.link().map(|l| l == Link::Up)
    }

    /// How the last call reached the cloud: answered, too slow, or not at all (the banner says
    /// which).
    pub fn link(&self) -> Option<Link> {
        *self.link.lock().expect("link lock")
    }

    /// Calls made so far (for transcripts); drained by the caller.
    pub fn take_calls(&self) -> Vec<CallRecord> {
        std::mem::take(&mut *self.calls.lock().expect("calls lock"))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(dyn erased::Body + Sync)>,
        session: Option<&ResidentToken>,
        idempotency_key: Option<&str>,
    ) -> Result<T, CloudError> {
        let started = Instant::now();
        let path_only = path.split('?').next().unwrap_or(path).to_string();
        if self
            .breaker
            .lock()
            .expect("breaker lock")
            .open_until
            .is_some_and(|t| started < t)
        {
            crate::recent::push(
                &mut self.calls.lock().expect("calls lock"),
                CallRecord {
                    method: method.to_string(),
                    path: path_only,
                    status: 0,
                    millis: 0,
                    error: Some("circuit_open".into()),
                },
            );
            return Err(CloudError::Unreachable(
                "the cloud is taken as down for a moment (circuit open)".into(),
            ));
        }
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(tok) = self.device_token.lock().expect("token lock").as_ref() {
            req = req.bearer_auth(tok.as_str());
        }
        if let Some(s) = session {
            req = req.header("X-Resident-Session", s.as_str());
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_json());
        }
        let result = self.finish::<T>(req).await;
        let link = match &result {
            Err((_, CloudError::Unreachable(_))) => Link::Down,
            Err((_, CloudError::Timeout(_))) => Link::Slow,
            _ => Link::Up,
        };
        let transport_failure = link != Link::Up;
        *self.link.lock().expect("link lock") = Some(link);
        {
            let mut b = self.breaker.lock().expect("breaker lock");
            if transport_failure {
                b.failures += 1;
                if b.failures >= BREAKER_THRESHOLD {
                    b.open_until = Some(Instant::now() + BREAKER_PAUSE);
                    tracing::warn!(failures = b.failures, "cloud unreachable: pausing calls");
                }
            } else {
                b.failures = 0;
                b.open_until = None;
            }
        }
        let (status, error) = match &result {
            Ok((s, _)) => (*s, None),
            Err((s, e)) => (*s, Some(e.kind().to_string())),
        };
        // Log the route, not the query string: queries may carry account numbers.
        tracing::debug!(method = %method, path = %path_only, status, ms = started.elapsed().as_millis() as u64, "cloud call");
        crate::recent::push(
            &mut self.calls.lock().expect("calls lock"),
            CallRecord {
                method: method.to_string(),
                path: path_only,
                status,
                millis: started.elapsed().as_millis() as u64,
                error,
            },
        );
        result.map(|(_, t)| t).map_err(|(_, e)| e)
    }

    async fn finish<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, T), (u16, CloudError)> {
        read_answer(req, self.timeout).await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        session: Option<&ResidentToken>,
    ) -> Result<T, CloudError> {
        self.call(Method::GET, path, None, session, None).await
    }

    async fn post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        session: Option<&ResidentToken>,
        idempotency_key: Option<&str>,
    ) -> Result<T, CloudError> {
        self.call(
            Method::POST,
            path,
            Some(&erased::Json(body)),
            session,
            idempotency_key,
        )
        .await
    }

    // ---- Device ----

    /// A creating call (see [`Submission`]): POST to its path with its Idempotency-Key.
    pub async fn submit<S: Submission>(
        &self,
        req: &S,
        session: Option<&ResidentToken>,
        key: &str,
    ) -> Result<S::Answer, CloudError> {
        self.post(&req.path(), req, session, Some(key)).await
    }

    /// A stored submission, as the outbox holds it: its path and JSON body.
    pub async fn submit_stored(
        &self,
        path: &str,
        body: &serde_json::Value,
        session: Option<&ResidentToken>,
        key: &str,
    ) -> Result<serde_json::Value, CloudError> {
        self.post(path, body, session, Some(key)).await
    }

    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, CloudError> {
        self.post("/v1/devices/enroll", req, None, None).await
    }

    pub async fn heartbeat(&self, req: &HeartbeatRequest) -> Result<HeartbeatResponse, CloudError> {
        self.post("/v1/devices/heartbeat", req, None, None).await
    }

    pub async fn catalog(&self) -> Result<Catalog, CloudError> {
        self.get("/v1/catalog", None).await
    }

    // ---- Identity ----

    pub async fn open_identity_session(
        &self,
        req: &IdentitySessionRequest,
    ) -> Result<IdentitySession, CloudError> {
        self.post("/v1/identity/sessions", req, None, None).await
    }

    pub async fn revoke_identity_session(&self, session: &ResidentToken) -> Result<(), CloudError> {
        self.call::<()>(
            Method::DELETE,
            "/v1/identity/sessions/current",
            None,
            Some(session),
            None,
        )
        .await
    }

    // ---- 1 社保 ----

    pub async fn social_insurance_summary(
        &self,
        s: &ResidentToken,
    ) -> Result<SocialInsuranceSummary, CloudError> {
        self.get("/v1/social-insurance/summary", Some(s)).await
    }

    pub async fn social_insurance_records(
        &self,
        s: &ResidentToken,
        from: &str,
        to: &str,
    ) -> Result<ContributionRecords, CloudError> {
        self.get(
            &format!("/v1/social-insurance/records?from={from}&to={to}"),
            Some(s),
        )
        .await
    }

    // ---- verification (public) ----

    /// Checks a printed document the way anyone holding it can: no device token, no session.
    pub async fn verify_certificate(
        &self,
        certificate_no: &str,
        verify_code: &str,
    ) -> Result<CertificateVerification, CloudError> {
        let url = format!(
            "{}/v1/certificates/{}?verify_code={}",
            self.base,
            enc(certificate_no),
            enc(verify_code)
        );
        self.finish::<CertificateVerification>(self.http.get(&url))
            .await
            .map(|(_, v)| v)
            .map_err(|(_, e)| e)
    }

    // ---- 2 医保 ----

    pub async fn medical_account(&self, s: &ResidentToken) -> Result<MedicalAccount, CloudError> {
        self.get("/v1/medical-insurance/account", Some(s)).await
    }

    pub async fn medical_transactions(
        &self,
        s: &ResidentToken,
        from: &str,
        to: &str,
    ) -> Result<MedicalTransactions, CloudError> {
        self.get(
            &format!("/v1/medical-insurance/transactions?from={from}&to={to}"),
            Some(s),
        )
        .await
    }

    // ---- 3 公积金 ----

    pub async fn housing_fund_account(
        &self,
        s: &ResidentToken,
    ) -> Result<HousingFundAccount, CloudError> {
        self.get("/v1/housing-fund/account", Some(s)).await
    }

    // ---- 4 缴费 ----

    pub async fn bills(&self, utility: &str, account: &str) -> Result<BillList, CloudError> {
        self.get(
            &format!(
                "/v1/bills?utility={}&account={}",
                enc(utility),
                enc(account)
            ),
            None,
        )
        .await
    }

    /// The resident's own utility accounts (paid from before).
    pub async fn utility_accounts(&self, s: &ResidentToken) -> Result<UtilityAccounts, CloudError> {
        self.get("/v1/bills/accounts", Some(s)).await
    }

    pub async fn create_payment(
        &self,
        req: &PaymentRequest,
        key: &str,
    ) -> Result<Payment, CloudError> {
        self.submit(req, None, key).await
    }

    pub async fn payment(&self, id: &str) -> Result<Payment, CloudError> {
        self.get(&format!("/v1/payments/{}", enc(id)), None).await
    }

    /// Closes an order that was not paid; a close that finds it paid answers the paid order.
    pub async fn close_payment(
        &self,
        req: &PaymentCloseRequest,
        key: &str,
    ) -> Result<Payment, CloudError> {
        self.submit(req, None, key).await
    }

    // ---- 5 居住证/户籍 ----

    /// The types, and with a resident session the resident's eligibility for each and their
    /// registered addresses.
    pub async fn household_certificate_types(
        &self,
        session: Option<&ResidentToken>,
    ) -> Result<HouseholdCertificateTypes, CloudError> {
        self.get("/v1/household/certificate-types", session).await
    }

    pub async fn household_application(
        &self,
        s: &ResidentToken,
        req: &HouseholdApplicationRequest,
        key: &str,
    ) -> Result<ApplicationReceipt, CloudError> {
        self.submit(req, Some(s), key).await
    }

    // ---- 6 取号·办件 ----

    pub async fn hall_queues(&self, hall_id: &str) -> Result<Vec<HallQueue>, CloudError> {
        self.get(&format!("/v1/halls/{}/queues", enc(hall_id)), None)
            .await
    }

    pub async fn create_queue_ticket(
        &self,
        req: &QueueTicketRequest,
        session: Option<&ResidentToken>,
        key: &str,
    ) -> Result<QueueTicket, CloudError> {
        self.submit(req, session, key).await
    }

    pub async fn cases(&self, s: &ResidentToken) -> Result<CaseList, CloudError> {
        self.get("/v1/cases", Some(s)).await
    }

    /// A case by number: with the resident's session, or with the query code printed on a receipt.
    pub async fn case(
        &self,
        case_no: &str,
        session: Option<&ResidentToken>,
        query_code: Option<&str>,
    ) -> Result<CaseDetail, CloudError> {
        let mut path = format!("/v1/cases/{}", enc(case_no));
        if let Some(q) = query_code {
            path.push_str(&format!("?query_code={}", enc(q)));
        }
        self.get(&path, session).await
    }

    pub async fn rate_case(
        &self,
        s: &ResidentToken,
        case_no: &str,
        req: &RatingRequest,
        key: &str,
    ) -> Result<Rating, CloudError> {
        self.post(
            &format!("/v1/cases/{}/rating", enc(case_no)),
            req,
            Some(s),
            Some(key),
        )
        .await
    }

    pub async fn rate_service(
        &self,
        req: &ServiceRatingRequest,
        key: &str,
    ) -> Result<ServiceRating, CloudError> {
        self.submit(req, None, key).await
    }

    // ---- 7 诉求·隐患 ----

    pub async fn report_categories(&self) -> Result<ReportCategories, CloudError> {
        self.get("/v1/reports/categories", None).await
    }

    pub async fn submit_report(
        &self,
        req: &ReportRequest,
        session: Option<&ResidentToken>,
        key: &str,
    ) -> Result<CaseReceipt, CloudError> {
        self.submit(req, session, key).await
    }

    // ---- 8 民政救助 ----

    pub async fn assistance_programs(&self) -> Result<AssistancePrograms, CloudError> {
        self.get("/v1/assistance/programs", None).await
    }

    pub async fn assistance_eligibility(
        &self,
        s: &ResidentToken,
        req: &EligibilityRequest,
    ) -> Result<Eligibility, CloudError> {
        self.post("/v1/assistance/eligibility", req, Some(s), None)
            .await
    }

    pub async fn assistance_application(
        &self,
        s: &ResidentToken,
        req: &AssistanceApplicationRequest,
        key: &str,
    ) -> Result<AssistanceReceipt, CloudError> {
        self.submit(req, Some(s), key).await
    }

    // ---- Guides ----

    pub async fn guides(&self, q: &str) -> Result<GuideList, CloudError> {
        self.get(&format!("/v1/guides?q={}", enc(q)), None).await
    }
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters pass).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends a request and reads its answer: the JSON of `T` on success, else the problem details
/// (the HTTP status authoritative), or what kind of transport failure it was. Shared by the
/// device client and the admin client.
pub(super) async fn read_answer<T: DeserializeOwned>(
    req: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(u16, T), (u16, CloudError)> {
    let resp = req
        .send()
        .await
        .map_err(|e| (0, transport_error(e, timeout)))?;
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| (status.as_u16(), transport_error(e, timeout)))?;
    if status.is_success() {
        let body: &[u8] = if status == StatusCode::NO_CONTENT || bytes.is_empty() {
            b"null"
        } else {
            &bytes
        };
        return serde_json::from_slice(body)
            .map(|t| (status.as_u16(), t))
            .map_err(|e| {
                (
                    status.as_u16(),
                    CloudError::Malformed(format!("{status}: {e}")),
                )
            });
    }
    let problem = if is_problem {
        serde_json::from_slice::<Problem>(&bytes).ok()
    } else {
        None
    };
    Err((
        status.as_u16(),
        match problem {
            // The HTTP status is authoritative (retry policy keys on it), whatever the body says.
            Some(p) => CloudError::Problem(Problem {
                status: status.as_u16(),
                ..p
            }),
            None => CloudError::Malformed(format!("{status} without problem details")),
        },
    ))
}

fn transport_error(e: reqwest::Error, timeout: Duration) -> CloudError {
    if e.is_timeout() {
        CloudError::Timeout(timeout.as_millis() as u64)
    } else if e.is_decode() || e.is_body() {
        CloudError::Malformed(e.to_string())
    } else {
        // Connection refused, reset or closed mid-answer: the network or the cloud is down.
        CloudError::Unreachable(e.to_string())
    }
}

mod erased {
    //! Lets `call` take any serialisable body without being generic over it.
    pub trait Body {
        fn to_json(&self) -> Vec<u8>;
    }
    pub struct Json<'a, B: serde::Serialize>(pub &'a B);
    impl<B: serde::Serialize> Body for Json<'_, B> {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec(self.0).expect("request bodies always serialise")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encoding_keeps_unreserved_only() {
        assert_eq!(super::enc("hall-01"), "hall-01");
        assert_eq!(super::enc("a b/水"), "a%20b%2F%E6%B0%B4");
    }
}
