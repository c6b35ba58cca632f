//! Serving: the accept loop (which is where "cloud down" is played), fault injection, problem
//! responses, and the request helpers every handler shares (auth, body, query, idempotency).

use super::{db, handlers, seed};
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
    /// The code a technician types to enrol a kiosk.
    pub enrollment_code: String,
    /// How often the back office moves each open case one status along.
    pub case_step: Duration,
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
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" => Fault::None,
            "down" => Fault::Down,
            "slow" => Fault::Slow(Duration::from_secs(8)),
            "error" => Fault::ServerError,
            "malformed" => Fault::Malformed,
            other => {
                return Err(format!(
                    "unknown fault {other:?} (none, down, slow, error, malformed)"
                ))
            }
        })
    }
}

pub struct SimState {
    pub conn: Mutex<Connection>,
    pub enrollment_code: String,
    pub fault: Mutex<Fault>,
}

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
        let state = Arc::new(SimState {
            conn: Mutex::new(conn),
            enrollment_code: options.enrollment_code.clone(),
            fault: Mutex::new(Fault::None),
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (kill, _) = watch::channel(0u64);
        let router = handlers::router(state.clone());
        tokio::spawn(accept_loop(listener, router, state.clone(), kill.clone()));
        tokio::spawn(back_office(state.clone(), options.case_step));
        tracing::info!(%addr, "cloud simulator listening");
        Ok(CloudSim { addr, state, kill })
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

    /// Counts rows of a simulator table, for tests that check "created exactly once".
    pub fn count(&self, table: &str) -> i64 {
        assert!(table.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        let conn = self.state.conn.lock().expect("db lock");
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap_or(-1)
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
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
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
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
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
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        tracing::error!(error = %e, "simulator database error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The service had an internal error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(self.status, self.code, &self.title)
    }
}

pub fn problem_response(status: StatusCode, code: &str, title: &str) -> Response {
    let body = serde_json::json!({"type": "about:blank", "title": title, "status": status.as_u16(), "code": code});
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

pub async fn fault_layer(
    axum::extract::State(state): axum::extract::State<Arc<SimState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let fault = *state.fault.lock().expect("fault lock");
    match fault {
        Fault::None | Fault::Down => next.run(req).await,
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

// ---- Request helpers ----

pub fn device_id(state: &SimState, headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid device token is required",
        )
    };
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let conn = state.conn.lock().expect("db lock");
    conn.query_row(
        "SELECT device_id FROM devices WHERE token = ?1",
        [token],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(unauthorized)
}

/// The resident behind `X-Resident-Session`, if the header is present and the session live.
pub fn resident(state: &SimState, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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
    let row: Option<(String, i64, i64)> = conn
        .query_row(
            "SELECT id_number, expires_at, revoked FROM sessions WHERE token = ?1",
            [token],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        Some((id, exp, 0)) if exp > chrono::Utc::now().timestamp() => Ok(Some(id)),
        _ => Err(expired()),
    }
}

pub fn require_resident(state: &SimState, headers: &HeaderMap) -> Result<String, ApiError> {
    resident(state, headers)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_required",
            "This service needs the resident's card (X-Resident-Session)",
        )
    })
}

pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid: {e}")))
}

pub fn query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("The query is not valid: {e}")))
}

/// Runs `create` once per (device, Idempotency-Key): a repeat with the same key and request
/// returns the first answer and creates nothing; the same key with another request is refused.
/// The request's Idempotency-Key; checked before anything else a creating call validates.
pub fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(String::from)
        .ok_or_else(|| {
            ApiError::bad_request(
                "An Idempotency-Key header (1-128 visible ASCII characters) is required",
            )
        })
}

pub fn idempotent(
    state: &SimState,
    device: &str,
    key: &str,
    route: &str,
    request: &serde_json::Value,
    create: impl FnOnce(&Connection) -> Result<serde_json::Value, ApiError>,
) -> Result<Response, ApiError> {
    let request_text = format!("{route} {request}");
    let conn = state.conn.lock().expect("db lock");
    let earlier: Option<(String, u16, String)> = conn
        .query_row(
            "SELECT request, status, body FROM idempotency WHERE device_id = ?1 AND key = ?2",
            params![device, key],
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
        let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let mut r = json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            &value,
        );
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(r);
    }
    let tx = conn.unchecked_transaction()?;
    let value = create(&tx)?;
    tx.execute(
        "INSERT INTO idempotency VALUES (?1, ?2, ?3, ?4, 201, ?5)",
        params![device, key, route, request_text, value.to_string()],
    )?;
    tx.commit()?;
    Ok(json_response(StatusCode::CREATED, &value))
}
