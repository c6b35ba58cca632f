//! Serving: the accept loop (which is where "cloud down" is played), fault injection, problem
//! responses, and the request helpers every handler shares (auth, body, query, idempotency).

use super::{db, documents, handlers, payments, seed};
use crate::cloud::api::{Payment, PaymentStatus};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

pub use crate::time::{now_rfc3339, CST};

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub db: PathBuf,
    /// The codes a technician types to enrol a kiosk: each enrols one kiosk once (a code already
    /// used stays used when the simulator restarts on the same database). More are issued by
    /// [`CloudSim::issue_enrollment_code`] or `POST /_sim/enrollment-codes`.
    pub enrollment_codes: Vec<String>,
    /// How often the back office moves each open case one status along.
    pub case_step: Duration,
    /// How long a payment order's QR can be paid (`PUT /_sim/payment-ttl` changes it while the
    /// simulator runs); [`SimOptions::DEFAULT_PAYMENT_TTL`] unless a test wants it short.
    pub payment_ttl: Duration,
}

impl SimOptions {
    /// Five minutes, as the payment channels give a QR order.
    pub const DEFAULT_PAYMENT_TTL: Duration = Duration::from_secs(300);
}

/// What the simulated network and cloud do to requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Connections are closed at once, open ones included.
    Down,
    /// Every answer is delayed by this long.
    Slow(Duration),
    /// Every call answers 500 with problem details.
    ServerError,
    /// Every call answers 200 with a body that is not the promised JSON.
    Malformed,
    /// The three document endpoints (社保 certificates, 医保 statements, 公积金 proofs) answer a
    /// well-formed document of another resident (another holder, request and session); the
    /// resident's own document is still issued and kept for the Idempotency-Key. Everything else
    /// works.
    WrongHolder,
    /// The three document endpoints answer correctly, but only this long after they have done
    /// the work; everything else answers at once.
    Late(Duration),
}

/// The document endpoints that `WrongHolder` and `Late` play with.
pub const DOCUMENT_PATHS: [&str; 3] = [
    "/v1/social-insurance/certificates",
    "/v1/medical-insurance/statements",
    "/v1/housing-fund/deposit-proofs",
];

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" => Fault::None,
            "down" => Fault::Down,
            "slow" => Fault::Slow(Duration::from_secs(8)),
            "error" => Fault::ServerError,
            "malformed" => Fault::Malformed,
            "wrong_holder" => Fault::WrongHolder,
            "late" => Fault::Late(Duration::from_secs(3)),
            other => match other.strip_prefix("late:").map(str::parse::<u64>) {
                Some(Ok(ms)) => Fault::Late(Duration::from_millis(ms)),
                _ => {
                    return Err(format!(
                        "unknown fault {other:?} (none, down, slow, error, malformed, wrong_holder, late, late:MS)"
                    ))
                }
            },
        })
    }
}

pub struct SimState {
    pub conn: Mutex<Connection>,
    pub fault: Mutex<Fault>,
    /// Where the simulator listens (the verification base when a request names no Host).
    pub addr: SocketAddr,
    /// The public base of printed verification URLs, when configured; otherwise the URL the
    /// simulator was reached at (`http://` + the request's Host).
    pub public_base: Mutex<Option<String>>,
    /// Wrong verification attempts, per certificate number and per client address.
    pub verify_attempts: Mutex<documents::Attempts>,
    /// Wrong query codes on the public case progress page, per case number and per address.
    pub progress_attempts: Mutex<documents::Attempts>,
    /// How long a new payment order can be paid.
    pub payment_ttl: Mutex<Duration>,
}

impl SimState {
    pub fn new(conn: Connection, addr: SocketAddr) -> SimState {
        SimState {
            conn: Mutex::new(conn),
            fault: Mutex::new(Fault::None),
            addr,
            public_base: Mutex::new(
                std::env::var(PUBLIC_BASE_ENV)
                    .ok()
                    .map(|b| b.trim_end_matches('/').to_string())
                    .filter(|b| !b.is_empty() && b.is_ascii()),
            ),
            verify_attempts: Mutex::new(documents::Attempts::default()),
            progress_attempts: Mutex::new(documents::Attempts::default()),
            payment_ttl: Mutex::new(SimOptions::DEFAULT_PAYMENT_TTL),
        }
    }

    pub fn payment_ttl(&self) -> Duration {
        *self.payment_ttl.lock().expect("ttl lock")
    }

    pub fn fault(&self) -> Fault {
        *self.fault.lock().expect("fault lock")
    }
}

/// Sets the public base of verification URLs for a standalone simulator behind a proxy
/// (e.g. `https://zwfw.example.gov.cn`).
pub const PUBLIC_BASE_ENV: &str = "BIANMIN_SIM_PUBLIC_BASE";

/// A running simulator. Dropping it does not stop it; it lives as long as its runtime.
pub struct CloudSim {
    addr: SocketAddr,
    state: Arc<SimState>,
    kill: watch::Sender<u64>,
}

impl CloudSim {
    /// Binds `listen` and serves on the current tokio runtime.
    pub async fn start(listen: SocketAddr, options: SimOptions) -> anyhow::Result<CloudSim> {
        let conn = db::open(&options.db)?;
        seed::seed(&conn)?;
        super::admin::seed(&conn)?;
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        for code in &options.enrollment_codes {
            db::add_enrollment_code(&conn, code)?;
        }
        let state = SimState::new(conn, addr);
        *state.payment_ttl.lock().expect("ttl lock") = options.payment_ttl;
        let state = Arc::new(state);
        let (kill, _) = watch::channel(0u64);
        let router = handlers::router(state.clone());
        tokio::spawn(accept_loop(listener, router, state.clone(), kill.clone()));
        tokio::spawn(back_office(state.clone(), options.case_step));
        tracing::info!(%addr, "cloud simulator listening");
        Ok(CloudSim { addr, state, kill })
    }

    /// Accepts `token` as an admin credential named `name` with `role`.
    pub fn add_admin(
        &self,
        token: &str,
        name: &str,
        role: crate::cloud::admin::AdminRole,
    ) -> anyhow::Result<()> {
        let conn = self.state.conn.lock().expect("db lock");
        super::admin::add_credential(&conn, token, name, role)?;
        Ok(())
    }

    /// Kiosks not heard from for this long are offline (three heartbeat intervals).
    pub fn set_offline_after(&self, after: Duration) {
        super::admin::set_offline_after(after);
    }

    /// Starts `n` synthetic kiosks heartbeating every `every` (`--fleet N`).
    pub fn start_fleet(&self, n: usize, every: Duration) -> anyhow::Result<()> {
        super::synthetic::start(self.state.clone(), n, every)?;
        Ok(())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.state.fault.lock().expect("fault lock") = fault;
        if fault == Fault::Down {
            self.kill.send_modify(|n| *n += 1);
        }
    }

    /// Printed verification URLs start with this base (e.g. `https://zwfw.example.gov.cn`)
    /// instead of the URL the simulator was reached at; `None` goes back to that.
    pub fn set_public_base(&self, base: Option<&str>) {
        *self.state.public_base.lock().expect("base lock") =
            base.map(|b| b.trim_end_matches('/').to_string());
    }

    /// Counts rows of a simulator table, for tests that check "created exactly once".
    pub fn count(&self, table: &str) -> i64 {
        assert!(table.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        let conn = self.state.conn.lock().expect("db lock");
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap_or(-1)
    }

    /// How long new payment orders can be paid from now on (as `PUT /_sim/payment-ttl`).
    pub fn set_payment_ttl(&self, ttl: Duration) {
        *self.state.payment_ttl.lock().expect("ttl lock") = ttl;
    }

    /// The resident's phone pays a payment order (as `POST /_sim/payments/{id}/pay`): the order
    /// as it stands afterwards, or the refusal (`payment_not_found`, `payment_already_paid`,
    /// `payment_not_payable`).
    pub fn pay(&self, payment_id: &str, channel: &str) -> Result<Payment, Problem> {
        let conn = self.state.conn.lock().expect("db lock");
        payments::pay(&conn, payment_id, channel).map_err(|e| e.problem())
    }

    /// Another channel (a phone app, another kiosk) pays every unpaid bill of the account through
    /// an order of its own (never one the kiosk has open): the paid order, or the refusal
    /// (`bill_already_paid` when nothing is unpaid, `account_not_found`, `invalid_account`).
    pub fn pay_elsewhere(&self, utility: &str, account: &str) -> Result<Payment, Problem> {
        let conn = self.state.conn.lock().expect("db lock");
        payments::pay_elsewhere(&conn, utility, account, "alipay").map_err(|e| e.problem())
    }

    /// Bills that ended up paid by more than one order without the money coming back: must be 0.
    pub fn double_charged(&self) -> i64 {
        let conn = self.state.conn.lock().expect("db lock");
        payments::double_charged(&conn).unwrap_or(-1)
    }

    /// Payment orders in a state (`pending`, `paid`, `expired`, `closed`), as stored: a pending
    /// order past its time counts as pending until someone reads it.
    pub fn payment_orders(&self, status: PaymentStatus) -> i64 {
        let conn = self.state.conn.lock().expect("db lock");
        conn.query_row(
            "SELECT COUNT(*) FROM payment_orders WHERE status = ?1",
            [payments::status_name(status)],
            |r| r.get(0),
        )
        .unwrap_or(-1)
    }

    /// Paid orders whose money (all or part) was returned because a bill was already paid.
    pub fn refunded_orders(&self) -> i64 {
        let conn = self.state.conn.lock().expect("db lock");
        conn.query_row(
            "SELECT COUNT(*) FROM payment_orders WHERE refund IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap_or(-1)
    }

    /// A fresh single-use enrolment code (as `POST /_sim/enrollment-codes`): what the street
    /// office's admin hands a technician for one kiosk.
    pub fn issue_enrollment_code(&self) -> String {
        let conn = self.state.conn.lock().expect("db lock");
        db::issue_enrollment_code(&conn).expect("the simulator's database takes a code")
    }

    /// Runs one back-office step now (tests do not wait for the clock).
    pub fn advance_cases(&self) {
        let conn = self.state.conn.lock().expect("db lock");
        if let Err(e) = advance(&conn) {
            tracing::warn!(error = %e, "back office step failed");
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    state: Arc<SimState>,
    kill: watch::Sender<u64>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if *state.fault.lock().expect("fault lock") == Fault::Down {
            drop(stream);
            continue;
        }
        // The client's address, for the verification endpoint's per-address budget.
        let service = hyper_util::service::TowerToHyperService::new(
            router.clone().layer(axum::Extension(ClientAddr(peer))),
        );
        let mut killed = kill.subscribe();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = killed.changed() => {}
            }
        });
    }
}

async fn back_office(state: Arc<SimState>, step: Duration) {
    let mut tick = tokio::time::interval(step.max(Duration::from_millis(100)));
    tick.tick().await;
    loop {
        tick.tick().await;
        let conn = state.conn.lock().expect("db lock");
        if let Err(e) = advance(&conn) {
            tracing::warn!(error = %e, "back office step failed");
        }
    }
}

/// One back-office step: every moving case goes one status along; every queue calls one number.
fn advance(conn: &Connection) -> rusqlite::Result<()> {
    use crate::cloud::api::CaseStatus;
    let mut stmt = conn.prepare("SELECT case_no, status FROM cases WHERE auto_advance = 1")?;
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let now = now_rfc3339();
    for (case_no, status) in rows {
        let Ok(current) = serde_json::from_value::<CaseStatus>(serde_json::Value::String(status))
        else {
            continue;
        };
        if let Some(next) = current.next() {
            let s = serde_json::to_value(next).expect("json");
            let s = s.as_str().expect("string");
            conn.execute(
                "UPDATE cases SET status = ?1, updated_at = ?2 WHERE case_no = ?3",
                params![s, now, case_no],
            )?;
            conn.execute(
                "INSERT INTO case_events VALUES (?1, ?2, ?3)",
                params![case_no, s, now],
            )?;
        }
    }
    conn.execute(
        "UPDATE queues SET waiting = waiting - 1 WHERE waiting > 0",
        [],
    )?;
    Ok(())
}

// ---- Problems ----

// What the problem and typed answers, and the extractors below, use.
use crate::cloud::api::Problem;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use serde::Serialize;

/// An RFC 9457 refusal with a machine `code`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            title: title.into(),
        }
    }
    pub fn bad_request(title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", title)
    }
    pub fn not_found(code: &'static str, title: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, title)
    }
    pub fn unprocessable(code: &'static str, title: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
    }
    pub fn conflict(code: &'static str, title: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, title)
    }
    /// The problem details this refusal answers with.
    pub fn problem(&self) -> Problem {
        Problem {
            type_: "about:blank".into(),
            title: self.title.clone(),
            status: self.status.as_u16(),
            code: self.code.into(),
            detail: None,
        }
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The service had an internal error",
        )
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        tracing::error!(error = %e, "simulator database error");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(self.status, self.code, &self.title)
    }
}

pub fn problem_response(status: StatusCode, code: &str, title: &str) -> Response {
    let body = Problem {
        type_: "about:blank".into(),
        title: title.into(),
        status: status.as_u16(),
        code: code.into(),
        detail: None,
    };
    let text = serde_json::to_string(&body).expect("a problem always serialises");
    let mut r = (status, text).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// An `application/json` answer from one of the contract's typed structs (`crate::cloud::api`),
/// the same types the client decodes.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => json_text_response(status, text),
        Err(e) => {
            tracing::error!(error = %e, "simulator answer does not serialise");
            ApiError::internal().into_response()
        }
    }
}

fn json_text_response(status: StatusCode, text: String) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// `200 OK` with a typed body.
pub fn ok<T: Serialize>(body: &T) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, body))
}

/// `201 Created` with a typed body.
pub fn created<T: Serialize>(body: &T) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::CREATED, body))
}

pub async fn fault_layer(
    axum::extract::State(state): axum::extract::State<Arc<SimState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let fault = state.fault();
    // The simulator's own controls are never faulted (a fault must be removable).
    if req.uri().path().starts_with("/_sim/") {
        return next.run(req).await;
    }
    match fault {
        Fault::None | Fault::Down | Fault::WrongHolder => next.run(req).await,
        Fault::Late(d) => {
            let document = DOCUMENT_PATHS.contains(&req.uri().path());
            let answer = next.run(req).await;
            if document {
                tokio::time::sleep(d).await;
            }
            answer
        }
        Fault::Slow(d) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Fault::ServerError => problem_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Injected server error",
        ),
        Fault::Malformed => {
            let mut r = (StatusCode::OK, "{\"ticket_no\": 12, \"truncated").into_response();
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            r
        }
    }
}

// ---- Extractors: the preamble every handler shares, written once ----
//
// Handlers list them in the order the checks must run (axum runs extractors left to right, the
// body last): device token, then Idempotency-Key, then resident session, then the JSON body.

/// The enrolled device behind `Authorization: Bearer <device token>`; `401 unauthorized` otherwise.
#[derive(Debug, Clone)]
pub struct Device(pub String);

impl FromRequestParts<Arc<SimState>> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<SimState>,
    ) -> Result<Self, ApiError> {
        device_id(state, &parts.headers).map(Device)
    }
}

/// The `Authorization: Bearer` credential, or `401 unauthorized` saying what kind is needed.
pub fn bearer<'h>(headers: &'h HeaderMap, kind: &str) -> Result<&'h str, ApiError> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized(kind))
}

pub fn unauthorized(kind: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("A valid {kind} is required"),
    )
}

fn device_id(state: &SimState, headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || unauthorized("device token");
    let token = bearer(headers, "device token")?;
    let conn = state.conn.lock().expect("db lock");
    conn.query_row(
        "SELECT device_id FROM devices WHERE token = ?1",
        [token],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(unauthorized)
}

/// The resident behind a live `X-Resident-Session`. As an extractor it is required
/// (`401 session_required` without the header); `Option<Resident>` is for the operations whose
/// contract makes the session optional. Either way a header naming a dead or unknown session is
/// `401 session_invalid`.
#[derive(Debug, Clone)]
pub struct Resident {
    pub id_number: String,
    /// The session token itself (for revoking it).
    pub token: String,
    /// The session's opaque id, which documents name (`session_id`); not a credential.
    pub session_id: String,
}

impl FromRequestParts<Arc<SimState>> for Resident {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<SimState>,
    ) -> Result<Self, ApiError> {
        resident(state, &parts.headers)?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "session_required",
                "This service needs the resident's card (X-Resident-Session)",
            )
        })
    }
}

impl OptionalFromRequestParts<Arc<SimState>> for Resident {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<SimState>,
    ) -> Result<Option<Self>, ApiError> {
        resident(state, &parts.headers)
    }
}

/// The resident behind `X-Resident-Session`, if the header is present and the session live.
fn resident(state: &SimState, headers: &HeaderMap) -> Result<Option<Resident>, ApiError> {
    let Some(token) = headers.get("x-resident-session") else {
        return Ok(None);
    };
    let expired = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_invalid",
            "The resident session is invalid or has ended",
        )
    };
    let token = token.to_str().map_err(|_| expired())?;
    let conn = state.conn.lock().expect("db lock");
    let row: Option<(String, i64, i64, Option<String>)> = conn
        .query_row(
            "SELECT id_number, expires_at, revoked, session_id FROM sessions WHERE token = ?1",
            [token],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    match row {
        Some((id_number, exp, 0, Some(session_id))) if exp > chrono::Utc::now().timestamp() => {
            Ok(Some(Resident {
                id_number,
                token: token.to_string(),
                session_id,
            }))
        }
        _ => Err(expired()),
    }
}

/// The address a request came from (put on every connection by the accept loop).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(SocketAddr::from(([0, 0, 0, 0], 0)))))
    }
}

/// The `Idempotency-Key` of a creating POST: 1-128 visible ASCII characters, required
/// (`400 invalid_request` otherwise).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()))
            .map(|k| IdempotencyKey(k.to_string()))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "An Idempotency-Key header (1-128 visible ASCII characters) is required",
                )
            })
    }
}

/// A JSON request body of the contract's type `T`: `415 unsupported_media_type` unless it is sent
/// as `application/json`, `400 invalid_request` when it is not JSON or breaks the schema (unknown
/// fields, wrong types, missing fields: the request types deny what the contract forbids).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("The request body cannot be read: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::bad_request(format!("The request body is not valid: {e}")))
    }
}

/// A query string of type `T` (`400 invalid_request` when it does not parse).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| ApiError::bad_request(format!("The query is not valid: {e}")))
    }
}

// ---- Idempotent creation ----

/// Runs `create` once per (device, Idempotency-Key) and answers `201` with what it made. A repeat
/// with the same key and request replays the first answer byte for byte (with
/// `Idempotent-Replayed: true`) and creates nothing; the same key with another request is
/// `422 idempotency_key_reused`. `create` runs in a transaction: if it refuses, nothing is kept
/// and the key stays free.
pub fn idempotent<Req: Serialize, T: Serialize>(
    state: &SimState,
    device: &Device,
    key: &IdempotencyKey,
    route: &str,
    request: &Req,
    create: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<Response, ApiError> {
    idempotent_with(
        StatusCode::CREATED,
        state,
        device,
        key,
        route,
        request,
        create,
    )
}

/// [`idempotent`] for a POST that acts on something rather than creating it (a payment's
/// close): it answers `status` (200) instead of 201, first time and on replay.
pub fn idempotent_with<Req: Serialize, T: Serialize>(
    answer: StatusCode,
    state: &SimState,
    device: &Device,
    key: &IdempotencyKey,
    route: &str,
    request: &Req,
    create: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<Response, ApiError> {
    let request = serde_json::to_value(request).map_err(|_| ApiError::internal())?;
    let request_text = format!("{route} {request}");
    let conn = state.conn.lock().expect("db lock");
    let earlier: Option<(String, u16, String)> = conn
        .query_row(
            "SELECT request, status, body FROM idempotency WHERE device_id = ?1 AND key = ?2",
            params![device.0, key.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((req, status, body)) = earlier {
        if req != request_text {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another request",
            ));
        }
        let mut r = json_text_response(StatusCode::from_u16(status).unwrap_or(answer), body);
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(r);
    }
    let tx = conn.unchecked_transaction()?;
    let made = create(&tx)?;
    let body = serde_json::to_string(&made).map_err(|_| ApiError::internal())?;
    tx.execute(
        "INSERT INTO idempotency VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![device.0, key.0, route, request_text, answer.as_u16(), body],
    )?;
    tx.commit()?;
    Ok(json_text_response(answer, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::api::{CaseReceipt, EnrollRequest};
    use axum::http::Request as HttpRequest;

    fn state() -> Arc<SimState> {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(db::SCHEMA).expect("schema");
        conn.execute(
            "INSERT INTO devices VALUES ('kiosk-0001', 'dev_ok', 's', 'm', 't')",
            [],
        )
        .expect("device");
        let later = chrono::Utc::now().timestamp() + 600;
        conn.execute(
            "INSERT INTO sessions VALUES ('rs_live', '110101194001010011', ?1, 0, 'ses_1'), ('rs_gone', '110101194001010011', ?1, 1, 'ses_2'), ('rs_old', '110101194001010011', 1, 0, 'ses_3'), ('rs_noid', '110101194001010011', ?1, 0, NULL)",
            [later],
        )
        .expect("sessions");
        Arc::new(SimState::new(
            conn,
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        ))
    }

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = HttpRequest::builder().uri("/v1/x?from=2026-01&to=2026-03");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("request").into_parts().0
    }

    fn refused<T: std::fmt::Debug>(r: Result<T, ApiError>) -> (u16, &'static str) {
        let e = r.expect_err("refused");
        (e.status.as_u16(), e.code)
    }

    #[test]
    fn faults_parse_from_their_names() {
        assert_eq!("wrong_holder".parse::<Fault>(), Ok(Fault::WrongHolder));
        assert_eq!(
            "late".parse::<Fault>(),
            Ok(Fault::Late(Duration::from_secs(3)))
        );
        assert_eq!(
            "late:250".parse::<Fault>(),
            Ok(Fault::Late(Duration::from_millis(250)))
        );
        for bad in ["late:", "late:soon", "wrong", "Late"] {
            let e = bad.parse::<Fault>().expect_err(bad);
            assert!(e.contains("wrong_holder") && e.contains("late:MS"), "{e}");
        }
    }

    #[tokio::test]
    async fn device_needs_a_known_bearer_token() {
        let s = state();
        let d = Device::from_request_parts(&mut parts(&[("authorization", "Bearer dev_ok")]), &s)
            .await
            .expect("known token");
        assert_eq!(d.0, "kiosk-0001");
        for h in [
            &[][..],
            &[("authorization", "Bearer dev_nope")][..],
            &[("authorization", "dev_ok")][..],
            &[("authorization", "Basic dev_ok")][..],
        ] {
            let r = Device::from_request_parts(&mut parts(h), &s).await;
            assert_eq!(refused(r), (401, "unauthorized"), "{h:?}");
        }
    }

    #[tokio::test]
    async fn resident_sessions_required_optional_and_invalid() {
        let s = state();
        let live = [("x-resident-session", "rs_live")];
        let r = <Resident as FromRequestParts<_>>::from_request_parts(&mut parts(&live), &s)
            .await
            .expect("live session");
        assert_eq!(
            (
                r.id_number.as_str(),
                r.token.as_str(),
                r.session_id.as_str()
            ),
            ("110101194001010011", "rs_live", "ses_1")
        );
        let none = <Resident as FromRequestParts<_>>::from_request_parts(&mut parts(&[]), &s).await;
        assert_eq!(refused(none), (401, "session_required"));
        let absent =
            <Option<Resident> as FromRequestParts<_>>::from_request_parts(&mut parts(&[]), &s)
                .await
                .expect("no header is fine where the session is optional");
        assert!(absent.is_none());
        for token in ["rs_gone", "rs_old", "rs_unknown", "rs_noid"] {
            let h = [("x-resident-session", token)];
            let r = <Resident as FromRequestParts<_>>::from_request_parts(&mut parts(&h), &s).await;
            assert_eq!(refused(r), (401, "session_invalid"), "{token}");
            let r =
                <Option<Resident> as FromRequestParts<_>>::from_request_parts(&mut parts(&h), &s)
                    .await;
            assert_eq!(refused(r), (401, "session_invalid"), "optional, {token}");
        }
    }

    #[tokio::test]
    async fn idempotency_keys_are_1_to_128_visible_ascii() {
        let long = "k".repeat(128);
        let too_long = "k".repeat(129);
        for ok in ["k", "a-b_c.1~!", long.as_str()] {
            let k = IdempotencyKey::from_request_parts(&mut parts(&[("idempotency-key", ok)]), &())
                .await
                .expect(ok);
            assert_eq!(k.0, ok);
        }
        let missing = IdempotencyKey::from_request_parts(&mut parts(&[]), &()).await;
        assert_eq!(refused(missing), (400, "invalid_request"));
        for bad in ["", "a b", too_long.as_str()] {
            let r =
                IdempotencyKey::from_request_parts(&mut parts(&[("idempotency-key", bad)]), &())
                    .await;
            assert_eq!(refused(r), (400, "invalid_request"), "{bad:?}");
        }
    }

    async fn body(ct: Option<&str>, text: &str) -> Result<Body<EnrollRequest>, ApiError> {
        let mut b = HttpRequest::builder()
            .method("POST")
            .uri("/v1/devices/enroll");
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let req = b
            .body(axum::body::Body::from(text.to_string()))
            .expect("request");
        Body::<EnrollRequest>::from_request(req, &()).await
    }

    #[tokio::test]
    async fn bodies_must_be_json_of_the_contract_type() {
        let good = r#"{"enrollment_code": "E", "serial": "s", "model": "m"}"#;
        let Body(req) = body(Some("application/json; charset=utf-8"), good)
            .await
            .expect("valid");
        assert_eq!(req.serial, "s");
        assert_eq!(
            refused(body(None, good).await),
            (415, "unsupported_media_type")
        );
        assert_eq!(
            refused(body(Some("text/plain"), good).await),
            (415, "unsupported_media_type")
        );
        for bad in [
            "{",
            "[]",
            r#"{"enrollment_code": "E", "serial": "s"}"#,
            r#"{"enrollment_code": "E", "serial": "s", "model": "m", "extra": 1}"#,
            r#"{"enrollment_code": 1, "serial": "s", "model": "m"}"#,
        ] {
            assert_eq!(
                refused(body(Some("application/json"), bad).await),
                (400, "invalid_request"),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn queries_parse_or_are_refused() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Range {
            from: String,
            to: String,
        }
        let Query(r) = Query::<Range>::from_request_parts(&mut parts(&[]), &())
            .await
            .expect("parses");
        assert_eq!((r.from.as_str(), r.to.as_str()), ("2026-01", "2026-03"));
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Other {
            #[allow(dead_code)]
            q: String,
        }
        let r = Query::<Other>::from_request_parts(&mut parts(&[]), &()).await;
        assert_eq!(refused(r), (400, "invalid_request"));
    }

    #[test]
    fn a_repeated_key_replays_the_first_answer_and_creates_nothing() {
        let s = state();
        let device = Device("kiosk-0001".into());
        let key = IdempotencyKey("k1".into());
        let runs = std::cell::Cell::new(0);
        let create = |conn: &Connection| -> Result<CaseReceipt, ApiError> {
            runs.set(runs.get() + 1);
            let n = db::next_counter(conn, "case")?;
            Ok(CaseReceipt {
                case_no: format!("BM{n}"),
                query_code: "Q".into(),
            })
        };
        let body_of = |r: Response| {
            let replayed = r.headers().contains_key("idempotent-replayed");
            let status = r.status();
            let bytes = futures_body(r);
            (status, replayed, bytes)
        };
        let first = idempotent(&s, &device, &key, "route", &("a", 1), create).expect("created");
        let again = idempotent(&s, &device, &key, "route", &("a", 1), create).expect("replayed");
        assert_eq!(runs.get(), 1, "created once");
        let (st1, rep1, b1) = body_of(first);
        let (st2, rep2, b2) = body_of(again);
        assert_eq!((st1, rep1), (StatusCode::CREATED, false));
        assert_eq!((st2, rep2), (StatusCode::CREATED, true));
        assert_eq!(b1, b2, "the first answer, byte for byte");
        let receipt: CaseReceipt = serde_json::from_slice(&b1).expect("a CaseReceipt");
        assert_eq!(receipt.case_no, "BM1");

        let other = idempotent(&s, &device, &key, "route", &("b", 2), create);
        assert_eq!(refused(other), (422, "idempotency_key_reused"));
        // Another device may use the same key for itself.
        let d2 = Device("kiosk-0002".into());
        idempotent(&s, &d2, &key, "route", &("b", 2), create).expect("its own key space");
        // A refusal keeps nothing: the key stays free.
        let k2 = IdempotencyKey("k2".into());
        let refuse = |_: &Connection| -> Result<CaseReceipt, ApiError> {
            Err(ApiError::unprocessable("not_eligible", "no"))
        };
        assert_eq!(
            refused(idempotent(&s, &device, &k2, "route", &(), refuse)),
            (422, "not_eligible")
        );
        idempotent(&s, &device, &k2, "route", &(), create).expect("key still free");
        assert_eq!(runs.get(), 3);
    }

    fn futures_body(r: Response) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(axum::body::to_bytes(r.into_body(), usize::MAX))
            .expect("body")
            .to_vec()
    }
}
