//! One handler per contract operation. Each validates what docs/openapi.yaml promises to
//! validate, so schema-violating requests get a documented 4xx problem. The shared preamble
//! (device token, Idempotency-Key, resident session, JSON body) is the extractors in `http`;
//! every answer is one of the typed structs in `crate::cloud::api` that the client decodes.

use super::db::next_counter;
use super::documents::{self, account_in, Issue};
use super::http::*;
use super::records::{HfHistory, Medical, MiProfile, Period, SiHistory, Ym};
use super::{civil, fleet, payments};
use crate::cloud::api::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use bianmin_idcard::{mask_id_number, mask_name, IdNumber};
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

type S = State<Arc<SimState>>;
type Res = Result<Response, ApiError>;

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v1/devices/enroll", post(enroll))
        .route("/v1/devices/heartbeat", post(heartbeat))
        .route("/v1/catalog", get(catalog))
        .route("/v1/identity/sessions", post(open_session))
        .route("/v1/identity/sessions/current", delete(revoke_session))
        .route("/v1/social-insurance/summary", get(si_summary))
        .route("/v1/social-insurance/records", get(si_records))
        .route("/v1/social-insurance/certificates", post(si_certificate))
        .route("/v1/medical-insurance/account", get(mi_account))
        .route("/v1/medical-insurance/transactions", get(mi_transactions))
        .route("/v1/medical-insurance/statements", post(mi_statement))
        .route("/v1/housing-fund/account", get(hf_account))
        .route("/v1/housing-fund/deposit-proofs", post(hf_proof))
        .route("/v1/certificates/{no}", get(verify_certificate))
        .route("/_sim/fault", axum::routing::put(set_fault))
        .route("/_sim/enrollment-codes", post(sim_enrollment_code))
        .route("/_sim/payments/{id}/pay", post(sim_pay))
        .route("/_sim/payment-ttl", axum::routing::put(sim_payment_ttl))
        .route("/_sim/bills/pay", post(sim_pay_elsewhere))
        .route("/_sim/devices", get(sim_devices))
        .route("/_sim/devices/{id}", get(sim_device))
        .route("/_sim/devices/{id}/commands", post(sim_queue_command))
        .route("/v1/bills", get(bills))
        .route("/v1/bills/accounts", get(utility_accounts))
        .route("/v1/payments", post(create_payment))
        .route("/v1/payments/{id}", get(payment))
        .route("/v1/payments/{id}/close", post(close_payment))
        .route("/v1/household/certificate-types", get(household_types))
        .route("/v1/household/applications", post(household_application))
        .route("/v1/halls/{hall}/queues", get(hall_queues))
        .route("/v1/queue/tickets", post(queue_ticket))
        .route("/v1/cases", get(cases))
        .route("/v1/cases/{no}", get(case))
        .route("/v1/cases/{no}/rating", post(rate_case))
        .route("/v1/cases/{no}/progress", get(case_progress))
        .route("/v1/service-ratings", post(rate_service))
        .route("/v1/reports/categories", get(report_categories))
        .route("/v1/reports", post(submit_report))
        .route("/v1/assistance/programs", get(programs))
        .route("/v1/assistance/eligibility", post(eligibility))
        .route("/v1/assistance/applications", post(assistance_application))
        .route("/v1/guides", get(guides))
        .merge(super::admin::routes())
        .fallback(|| async { ApiError::not_found("not_found", "No such resource") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed here",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fault_layer,
        ))
        .with_state(state)
}

/// A seeded reference list (catalogue, categories, programs…), as its contract type.
fn reference<T: DeserializeOwned>(state: &SimState, kind: &str) -> Result<T, ApiError> {
    let conn = state.conn.lock().expect("db lock");
    let text: String =
        conn.query_row("SELECT json FROM reference WHERE kind = ?1", [kind], |r| {
            r.get(0)
        })?;
    serde_json::from_str(&text).map_err(|e| {
        tracing::error!(error = %e, kind, "seeded reference data does not match its type");
        ApiError::internal()
    })
}

fn check_len(field: &str, v: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(ApiError::bad_request(format!(
            "{field} must have {min} to {max} characters"
        )));
    }
    Ok(())
}

fn check_phone(v: &str) -> Result<(), ApiError> {
    let b = v.as_bytes();
    if b.len() == 11 && b[0] == b'1' && b.iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "phone must be an 11-digit mainland mobile number",
        ))
    }
}

/// `YYYY-MM` for months, as the contract's `month` format.
fn check_month(field: &str, v: &str) -> Result<(), ApiError> {
    chrono::NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| v.len() == 7)
        .map(|_| ())
        .ok_or_else(|| ApiError::bad_request(format!("{field} must be a month, YYYY-MM")))
}

pub(super) fn code(prefix: &str, n: i64) -> String {
    format!(
        "{prefix}{}{:06}",
        chrono::Utc::now().with_timezone(&CST).format("%Y"),
        n
    )
}

/// A case's 查询码: six digits, so a resident can type it on a kiosk's numeric keypad.
fn query_code() -> String {
    let n = u32::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..4]
            .try_into()
            .expect("4 bytes"),
    );
    format!("{:06}", n % 1_000_000)
}

fn new_case(
    conn: &Connection,
    id: Option<&str>,
    kind: &str,
    title: &Text,
    payload: &impl Serialize,
) -> Result<CaseReceipt, ApiError> {
    let n = next_counter(conn, "case")?;
    let case_no = code("BM", n);
    let qc = query_code();
    let now = now_rfc3339();
    let payload = serde_json::to_string(payload).map_err(|_| ApiError::internal())?;
    conn.execute(
        "INSERT INTO cases VALUES (?1, ?2, ?3, ?4, 'received', ?5, ?6, ?7, 1, ?8)",
        params![case_no, id, title.zh, title.en, now, qc, kind, payload],
    )?;
    conn.execute(
        "INSERT INTO case_events VALUES (?1, 'received', ?2)",
        params![case_no, now],
    )?;
    Ok(CaseReceipt {
        case_no,
        query_code: qc,
    })
}

/// A case status as stored (its wire name).
fn case_status(s: &str) -> rusqlite::Result<CaseStatus> {
    CaseStatus::deserialize(s.into_deserializer()).map_err(|e: serde::de::value::Error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

// ---- Device ----

async fn enroll(State(s): S, Body(req): Body<EnrollRequest>) -> Res {
    check_len("serial", &req.serial, 1, 64)?;
    check_len("model", &req.model, 1, 64)?;
    // The code is checked and spent under one lock: two kiosks racing with one code get one
    // enrolment between them.
    let conn = s.conn.lock().expect("db lock");
    let used: Option<Option<(String, String)>> = conn
        .query_row(
            "SELECT used_by, used_at FROM enrollment_codes WHERE code = ?1",
            [&req.enrollment_code],
            |r| {
                let by: Option<String> = r.get(0)?;
                let at: Option<String> = r.get(1)?;
                Ok(by.zip(at))
            },
        )
        .optional()?;
    match used {
        None => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_enrollment_code",
                "The enrollment code is not valid",
            ))
        }
        Some(Some((by, at))) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "enrollment_code_used",
                format!(
                    "The enrollment code {} has already been used (to enrol {by} at {at}); each code enrols one kiosk once",
                    req.enrollment_code
                ),
            ))
        }
        Some(None) => {}
    }
    let n = next_counter(&conn, "device")?;
    let device_id = format!("kiosk-{n:04}");
    let token = format!("dev_{}", uuid::Uuid::new_v4().simple());
    let at = now_rfc3339();
    conn.execute(
        "INSERT INTO devices VALUES (?1, ?2, ?3, ?4, ?5)",
        params![device_id, token, req.serial, req.model, at],
    )?;
    conn.execute(
        "UPDATE enrollment_codes SET used_by = ?1, used_at = ?2 WHERE code = ?3",
        params![device_id, at, req.enrollment_code],
    )?;
    created(&EnrollResponse {
        device_id,
        device_token: token,
        site: super::seed::site(),
    })
}

/// Simulator only: a fresh single-use enrolment code, as a street office's admin issues one.
async fn sim_enrollment_code(State(s): S) -> Res {
    let conn = s.conn.lock().expect("db lock");
    let code = super::db::issue_enrollment_code(&conn)?;
    created(&serde_json::json!({ "enrollment_code": code }))
}

async fn heartbeat(State(s): S, device: Device, Body(req): Body<HeartbeatRequest>) -> Res {
    fleet::validate(&req)?;
    let commands = with_conn(&s, |c| fleet::heartbeat(c, &device.0, &req))?;
    ok(&HeartbeatResponse {
        // Milliseconds: the kiosk derives its clock offset from this.
        server_time: crate::time::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
        commands,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    command: String,
    #[serde(default)]
    argument: Option<String>,
}

/// `POST /_sim/devices/{id}/commands` with `{"command", "argument"}` (simulator only; the admin
/// API comes with the fleet console): queues a command for the kiosk's next heartbeat.
async fn sim_queue_command(State(s): S, Path(id): Path<String>, body: axum::body::Bytes) -> Res {
    let b: CommandBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("The body is not valid: {e}")))?;
    let command_id = with_conn(&s, |c| {
        fleet::queue_command(c, &id, &b.command, b.argument.as_deref())
    })?;
    created(&serde_json::json!({ "id": command_id }))
}

/// `GET /_sim/devices`: every device with its last heartbeat.
async fn sim_devices(State(s): S) -> Res {
    ok(&with_conn(&s, fleet::devices)?)
}

/// `GET /_sim/devices/{id}`: one device, its beats and its commands.
async fn sim_device(State(s): S, Path(id): Path<String>) -> Res {
    ok(&with_conn(&s, |c| fleet::device(c, &id))?)
}

async fn catalog(State(s): S, _: Device) -> Res {
    ok(&reference::<Catalog>(&s, "catalog")?)
}

// ---- Identity ----

async fn open_session(State(s): S, _: Device, Body(req): Body<IdentitySessionRequest>) -> Res {
    if ![
        "resident_id",
        "residence_permit",
        "foreign_permanent_resident",
        "social_security",
    ]
    .contains(&req.card_type.as_str())
    {
        return Err(ApiError::bad_request("card_type is not a supported card"));
    }
    check_len("name", &req.name, 1, 60)?;
    let id = IdNumber::parse(&req.id_number).map_err(|e| {
        ApiError::unprocessable(
            "invalid_id_number",
            format!("The ID number is not valid: {e}"),
        )
    })?;
    let today = chrono::Utc::now().with_timezone(&CST).date_naive();
    if req.valid_to != "long-term" {
        let to = chrono::NaiveDate::parse_from_str(&req.valid_to, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("valid_to must be YYYY-MM-DD or long-term"))?;
        if to < today {
            return Err(ApiError::unprocessable(
                "card_expired",
                "The card has expired",
            ));
        }
    }
    let conn = s.conn.lock().expect("db lock");
    // The population register knows everyone; the simulator learns unseeded residents on first sight.
    conn.execute(
        "INSERT OR IGNORE INTO residents VALUES (?1, ?2, NULL)",
        params![id.as_str(), req.name],
    )?;
    let token = format!("rs_{}", uuid::Uuid::new_v4().simple());
    // An opaque id for documents to name; it is not the token and opens nothing.
    let session_id = format!("ses_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let expires = chrono::Utc::now() + chrono::Duration::minutes(15);
    conn.execute(
        "INSERT INTO sessions VALUES (?1, ?2, ?3, 0, ?4)",
        params![token, id.as_str(), expires.timestamp(), session_id],
    )?;
    let age = id.age_on(today);
    created(&IdentitySession {
        session_token: token,
        session_id,
        expires_at: expires
            .with_timezone(&CST)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        resident: ResidentSummary {
            name_masked: mask_name(&req.name),
            id_masked: mask_id_number(id.as_str()),
            age,
            elderly: age >= 60,
        },
    })
}

async fn revoke_session(State(s): S, _: Device, resident: Resident) -> Res {
    let conn = s.conn.lock().expect("db lock");
    conn.execute(
        "UPDATE sessions SET revoked = 1 WHERE token = ?1",
        [&resident.token],
    )?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- 1 社保 / 2 医保 / 3 公积金 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthRange {
    from: String,
    to: String,
}

/// The longest period the record queries answer (ten years).
const MAX_RECORD_MONTHS: i32 = 120;
/// The longest period one medical statement covers.
const MAX_STATEMENT_MONTHS: i32 = 12;

/// Both ends checked as months (`400 invalid_request`); an inverted range is read the right way
/// round; longer than `max` months is `422 range_too_long`.
fn period(from: &str, to: &str, max: i32) -> Result<Period, ApiError> {
    check_month("from", from)?;
    check_month("to", to)?;
    let (a, b) = (
        Ym::parse(from).ok_or_else(|| ApiError::bad_request("from must be a month, YYYY-MM"))?,
        Ym::parse(to).ok_or_else(|| ApiError::bad_request("to must be a month, YYYY-MM"))?,
    );
    let p = Period {
        from: a.min(b),
        to: a.max(b),
    };
    if p.len() > max {
        return Err(ApiError::unprocessable(
            "range_too_long",
            format!("A period can cover at most {max} months"),
        ));
    }
    Ok(p)
}

fn with_conn<T>(
    s: &SimState,
    f: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let conn = s.conn.lock().expect("db lock");
    f(&conn)
}

async fn si_summary(State(s): S, _: Device, r: Resident) -> Res {
    let history: SiHistory = with_conn(&s, |c| account_in(c, &r.id_number, "social_insurance"))?;
    ok(&history
        .summary(documents::last_month())
        .ok_or_else(documents::no_account)?)
}

async fn si_records(State(s): S, _: Device, r: Resident, Query(q): Query<MonthRange>) -> Res {
    let range = period(&q.from, &q.to, MAX_RECORD_MONTHS)?;
    let history: SiHistory = with_conn(&s, |c| account_in(c, &r.id_number, "social_insurance"))?;
    ok(&ContributionRecords {
        records: history.records(range, documents::last_month()),
    })
}

/// The base of printed verification URLs: the configured public base, or the URL the simulator
/// was reached at (`http://` + Host, when it is a plain host[:port]).
fn public_base(s: &SimState, headers: &HeaderMap) -> String {
    if let Some(b) = s.public_base.lock().expect("base lock").clone() {
        return b;
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 261
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => format!("http://{}", s.addr),
    }
}

/// A document answer as the network delivers it: under the `wrong_holder` fault, a created
/// document is swapped for someone else's.
fn delivered(s: &SimState, r: &Resident, kind: DocumentKind, base: &str, answer: Response) -> Res {
    if s.fault() != Fault::WrongHolder || answer.status() != StatusCode::CREATED {
        return Ok(answer);
    }
    let other = with_conn(s, |c| documents::someone_elses(c, &r.id_number, kind, base))?;
    Ok(json_response(StatusCode::CREATED, &other))
}

async fn si_certificate(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    r: Resident,
    headers: HeaderMap,
    Body(req): Body<CertificateRequest>,
) -> Res {
    let range = period(&req.from, &req.to, MAX_RECORD_MONTHS)?;
    let base = public_base(&s, &headers);
    let route = "social-insurance/certificates";
    // The session is part of the request: the same key from another session is another request.
    let answer = idempotent(&s, &device, &key, route, &(&req, &r.session_id), |conn| {
        let how = Issue {
            request_id: &key.0,
            session_id: &r.session_id,
            public_base: &base,
        };
        documents::si_certificate(conn, &r.id_number, req.kind, range, &how)
    })?;
    delivered(
        &s,
        &r,
        DocumentKind::SocialInsuranceCertificate,
        &base,
        answer,
    )
}

fn medical(s: &SimState, id: &str) -> Result<(MiProfile, Option<SiHistory>), ApiError> {
    with_conn(s, |c| documents::medical_now(c, id))
}

async fn mi_account(State(s): S, _: Device, r: Resident) -> Res {
    let (profile, si) = medical(&s, &r.id_number)?;
    let med = Medical {
        id: &r.id_number,
        profile: &profile,
        si: si.as_ref(),
        now: crate::time::now(),
    };
    ok(&med.account())
}

async fn mi_transactions(State(s): S, _: Device, r: Resident, Query(q): Query<MonthRange>) -> Res {
    let range = period(&q.from, &q.to, MAX_RECORD_MONTHS)?;
    let (profile, si) = medical(&s, &r.id_number)?;
    let med = Medical {
        id: &r.id_number,
        profile: &profile,
        si: si.as_ref(),
        now: crate::time::now(),
    };
    ok(&MedicalTransactions {
        transactions: med.transactions(range),
    })
}

async fn mi_statement(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    r: Resident,
    headers: HeaderMap,
    Body(req): Body<StatementRequest>,
) -> Res {
    let range = period(&req.from, &req.to, MAX_STATEMENT_MONTHS)?;
    let base = public_base(&s, &headers);
    let route = "medical-insurance/statements";
    let answer = idempotent(&s, &device, &key, route, &(&req, &r.session_id), |conn| {
        let how = Issue {
            request_id: &key.0,
            session_id: &r.session_id,
            public_base: &base,
        };
        documents::mi_statement(conn, &r.id_number, range, &how)
    })?;
    delivered(&s, &r, DocumentKind::MedicalStatement, &base, answer)
}

async fn hf_account(State(s): S, _: Device, r: Resident) -> Res {
    let history: HfHistory = with_conn(&s, |c| account_in(c, &r.id_number, "housing_fund"))?;
    ok(&history
        .account(documents::last_month())
        .ok_or_else(documents::no_account)?)
}

async fn hf_proof(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    r: Resident,
    headers: HeaderMap,
    Body(req): Body<DepositProofRequest>,
) -> Res {
    let base = public_base(&s, &headers);
    let route = "housing-fund/deposit-proofs";
    let answer = idempotent(&s, &device, &key, route, &(&req, &r.session_id), |conn| {
        let how = Issue {
            request_id: &key.0,
            session_id: &r.session_id,
            public_base: &base,
        };
        documents::hf_proof(conn, &r.id_number, req.purpose, &how)
    })?;
    delivered(&s, &r, DocumentKind::HousingFundProof, &base, answer)
}

// ---- Verification (public) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyQuery {
    verify_code: String,
}

/// `GET /v1/certificates/{no}?verify_code=`: no device token (anyone holding the paper may
/// ask). A wrong code and an unknown number both answer `{valid: false}`; too many wrong codes
/// for a number, or from one address, answer `429 rate_limited` with `Retry-After`.
async fn verify_certificate(
    State(s): S,
    Path(no): Path<String>,
    client: ClientAddr,
    Query(q): Query<VerifyQuery>,
) -> Res {
    check_len("certificate_no", &no, 1, 32)?;
    check_len("verify_code", &q.verify_code, 1, 32)?;
    match documents::verify(&s, &no, &q.verify_code, client.0.ip())? {
        Ok(answer) => ok(&answer),
        Err(wait) => {
            let mut r = problem_response(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many wrong verification codes: try again later",
            );
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs.max(1)),
            );
            Ok(r)
        }
    }
}

// ---- Simulator controls (not the contract) ----

/// `PUT /_sim/fault` with the fault's name as the body (`none`, `slow`, `error`, `malformed`,
/// `wrong_holder`, `late`, `late:MS`): plays a fault on a standalone simulator. `down` is
/// refused here, since nothing could lift it over HTTP.
async fn set_fault(State(s): S, body: String) -> Res {
    let fault: Fault = body.trim().parse().map_err(ApiError::bad_request)?;
    if fault == Fault::Down {
        return Err(ApiError::bad_request(
            "down cannot be set over HTTP (nothing could lift it)",
        ));
    }
    *s.fault.lock().expect("fault lock") = fault;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- 4 缴费 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BillQuery {
    utility: String,
    account: String,
}

async fn bills(State(s): S, _: Device, Query(q): Query<BillQuery>) -> Res {
    ok(&with_conn(&s, |c| {
        payments::bill_list(c, &q.utility, &q.account)
    })?)
}

async fn utility_accounts(State(s): S, _: Device, r: Resident) -> Res {
    ok(&with_conn(&s, |c| payments::accounts_of(c, &r.id_number))?)
}

async fn create_payment(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    Body(req): Body<PaymentRequest>,
) -> Res {
    payments::check_request(&req)?;
    let ttl = s.payment_ttl();
    idempotent(&s, &device, &key, "payments", &req, |conn| {
        payments::create(conn, &device.0, &req, ttl)
    })
}

async fn payment(State(s): S, Path(id): Path<String>, _: Device) -> Res {
    let p = with_conn(&s, |c| payments::load(c, &id))?;
    ok(&p.ok_or_else(|| ApiError::not_found("payment_not_found", "No such payment"))?)
}

async fn close_payment(
    State(s): S,
    Path(id): Path<String>,
    device: Device,
    key: IdempotencyKey,
    Body(req): Body<PaymentCloseRequest>,
) -> Res {
    if req.payment_id != id {
        return Err(ApiError::unprocessable(
            "payment_id_mismatch",
            "payment_id in the body must be the one in the path",
        ));
    }
    let route = format!("payments/{id}/close");
    idempotent_with(StatusCode::OK, &s, &device, &key, &route, &req, |conn| {
        payments::close(conn, &id)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    #[serde(default = "wechat")]
    channel: String,
}

fn wechat() -> String {
    "wechat".into()
}

/// `POST /_sim/payments/{id}/pay` (simulator only, no device token): the resident's phone pays,
/// by `{"channel": "wechat|alipay|unionpay"}` (default wechat; the body may be empty).
async fn sim_pay(State(s): S, Path(id): Path<String>, body: axum::body::Bytes) -> Res {
    let channel = if body.iter().all(u8::is_ascii_whitespace) {
        wechat()
    } else {
        serde_json::from_slice::<PayBody>(&body)
            .map_err(|e| ApiError::bad_request(format!("The body is not valid: {e}")))?
            .channel
    };
    ok(&with_conn(&s, |c| payments::pay(c, &id, &channel))?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElsewhereBody {
    utility: String,
    account: String,
}

/// `POST /_sim/bills/pay` with `{"utility", "account"}`: another channel (a phone app, another
/// kiosk) pays every unpaid bill of the account through an order of its own. Answers that order.
async fn sim_pay_elsewhere(State(s): S, body: axum::body::Bytes) -> Res {
    let b: ElsewhereBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("The body is not valid: {e}")))?;
    ok(&with_conn(&s, |c| {
        payments::pay_elsewhere(c, &b.utility, &b.account, "alipay")
    })?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TtlBody {
    seconds: u64,
}

/// `PUT /_sim/payment-ttl` with `{"seconds": N}` (1 to 86400): how long new orders can be paid.
async fn sim_payment_ttl(State(s): S, body: axum::body::Bytes) -> Res {
    let b: TtlBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("The body is not valid: {e}")))?;
    if !(1..=86_400).contains(&b.seconds) {
        return Err(ApiError::bad_request("seconds must be 1 to 86400"));
    }
    *s.payment_ttl.lock().expect("ttl lock") = std::time::Duration::from_secs(b.seconds);
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- 5 居住证/户籍 ----

fn civil_record(conn: &Connection, id: &str) -> Result<Option<civil::CivilRecord>, ApiError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT json FROM accounts WHERE id_number = ?1 AND kind = 'civil'",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    match text {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
            tracing::error!(error = %e, "seeded civil record does not match its type");
            ApiError::internal()
        }),
    }
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&CST).date_naive()
}

/// The types, and with a session the resident's eligibility for each and their addresses.
fn household_types_for(
    s: &SimState,
    resident: Option<&Resident>,
) -> Result<HouseholdCertificateTypes, ApiError> {
    let mut types: HouseholdCertificateTypes = reference(s, "certificate_types")?;
    if let Some(r) = resident {
        let rec = with_conn(s, |c| civil_record(c, &r.id_number))?;
        let today = today();
        for t in &mut types.types {
            t.eligibility = Some(civil::type_eligibility(&t.code, rec.as_ref(), today));
        }
        types.addresses = rec.map(|r| r.addresses).unwrap_or_default();
    }
    Ok(types)
}

async fn household_types(State(s): S, _: Device, resident: Option<Resident>) -> Res {
    ok(&household_types_for(&s, resident.as_ref())?)
}

/// What a household application keeps besides its case: the type and how it is collected
/// (no phone, no address).
#[derive(Serialize)]
struct HouseholdPayload<'a> {
    #[serde(rename = "type")]
    type_: &'a str,
    pickup: Pickup,
}

/// `{base}/v1/cases/{case_no}/progress?query_code=CODE`: the public progress page of a case
/// (case numbers and query codes are ASCII letters and digits).
fn progress_url(base: &str, receipt: &CaseReceipt) -> String {
    format!(
        "{base}/v1/cases/{}/progress?query_code={}",
        receipt.case_no, receipt.query_code
    )
}

async fn household_application(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    r: Resident,
    headers: HeaderMap,
    Body(req): Body<HouseholdApplicationRequest>,
) -> Res {
    check_phone(&req.phone)?;
    check_len("address", &req.address, 1, 200)?;
    let types = household_types_for(&s, Some(&r))?;
    let Some(t) = types.types.iter().find(|t| t.code == req.type_) else {
        return Err(ApiError::not_found(
            "unknown_certificate_type",
            "No such certificate type",
        ));
    };
    if !t.eligibility.as_ref().is_some_and(|e| e.eligible) {
        return Err(ApiError::unprocessable(
            "not_eligible",
            "The resident cannot apply for this type (see its eligibility)",
        ));
    }
    if !t.pickup.contains(&req.pickup) {
        return Err(ApiError::unprocessable(
            "pickup_not_offered",
            "This type cannot be collected that way",
        ));
    }
    if !types.addresses.contains(&req.address) {
        return Err(ApiError::unprocessable(
            "unknown_address",
            "The address is not one of the resident's registered addresses",
        ));
    }
    let base = public_base(&s, &headers);
    let route = "household/applications";
    idempotent(&s, &device, &key, route, &(&req, &r.session_id), |conn| {
        let payload = HouseholdPayload {
            type_: &req.type_,
            pickup: req.pickup,
        };
        let receipt = new_case(conn, Some(&r.id_number), "household", &t.name, &payload)?;
        Ok(ApplicationReceipt {
            promised_date: civil::promised_date(t.processing_days),
            pickup: req.pickup,
            pickup_place: civil::pickup_place(req.pickup, &req.address),
            progress_url: progress_url(&base, &receipt),
            case_no: receipt.case_no,
            query_code: receipt.query_code,
        })
    })
}

// ---- 6 取号·办件 ----

async fn hall_queues(State(s): S, Path(hall): Path<String>, _: Device) -> Res {
    let conn = s.conn.lock().expect("db lock");
    let mut stmt = conn.prepare("SELECT business, name_zh, name_en, waiting, minutes_each FROM queues WHERE hall_id = ?1 ORDER BY prefix")?;
    let queues: Vec<HallQueue> = stmt
        .query_map([&hall], |r| {
            let waiting: u32 = r.get(3)?;
            let each: u32 = r.get(4)?;
            Ok(HallQueue {
                business: r.get(0)?,
                name: Text {
                    zh: r.get(1)?,
                    en: r.get(2)?,
                },
                waiting,
                estimated_wait_min: waiting * each,
            })
        })?
        .collect::<Result<_, _>>()?;
    if queues.is_empty() {
        return Err(ApiError::not_found("unknown_hall", "No such hall"));
    }
    ok(&queues)
}

async fn queue_ticket(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    resident: Option<Resident>,
    Body(req): Body<QueueTicketRequest>,
) -> Res {
    if req.priority == Priority::Elderly {
        let today = chrono::Utc::now().with_timezone(&CST).date_naive();
        let elderly = resident
            .as_ref()
            .and_then(|r| IdNumber::parse(&r.id_number).ok())
            .is_some_and(|id| id.age_on(today) >= 60);
        if !elderly {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "priority_not_eligible",
                "Elderly priority needs the card of a resident aged 60 or over",
            ));
        }
    }
    idempotent(&s, &device, &key, "queue/tickets", &req, |conn| {
        let row: Option<(String, u32, u32, u32)> = conn
            .query_row(
                "SELECT prefix, waiting, minutes_each, next_no FROM queues WHERE hall_id = ?1 AND business = ?2",
                params![req.hall_id, req.business],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((prefix, waiting, each, next_no)) = row else {
            return Err(ApiError::not_found(
                "unknown_business",
                "No such hall or business",
            ));
        };
        // Priority tickets are called at the next free window: nobody is ahead of them.
        let elderly = req.priority == Priority::Elderly;
        let ahead = if elderly { 0 } else { waiting };
        let ticket_no = if elderly {
            format!("{prefix}V{:03}", next_no % 1000)
        } else {
            format!("{prefix}{:03}", next_no % 1000)
        };
        let issued_at = now_rfc3339();
        conn.execute("UPDATE queues SET waiting = waiting + 1, next_no = next_no + 1 WHERE hall_id = ?1 AND business = ?2", params![req.hall_id, req.business])?;
        conn.execute(
            "INSERT INTO tickets VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                ticket_no,
                req.hall_id,
                req.business,
                if elderly { "elderly" } else { "normal" },
                issued_at
            ],
        )?;
        Ok(QueueTicket {
            ticket_no,
            business: req.business.clone(),
            waiting_ahead: ahead,
            estimated_wait_min: ahead * each,
            issued_at,
        })
    })
}

/// A case's summary, its owner (if any) and its query code.
fn case_summary(
    conn: &Connection,
    case_no: &str,
) -> rusqlite::Result<Option<(CaseSummary, Option<String>, String)>> {
    conn.query_row(
        "SELECT case_no, title_zh, title_en, status, updated_at, id_number, query_code FROM cases WHERE case_no = ?1",
        [case_no],
        |r| {
            Ok((
                CaseSummary {
                    case_no: r.get(0)?,
                    title: Text {
                        zh: r.get(1)?,
                        en: r.get(2)?,
                    },
                    status: case_status(&r.get::<_, String>(3)?)?,
                    updated_at: r.get(4)?,
                },
                r.get(5)?,
                r.get(6)?,
            ))
        },
    )
    .optional()
}

async fn cases(State(s): S, _: Device, r: Resident) -> Res {
    let conn = s.conn.lock().expect("db lock");
    let mut stmt = conn.prepare(
        "SELECT case_no FROM cases WHERE id_number = ?1 ORDER BY updated_at DESC, case_no DESC",
    )?;
    let nos: Vec<String> = stmt
        .query_map([&r.id_number], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut cases = Vec::new();
    for no in nos {
        if let Some((summary, _, _)) = case_summary(&conn, &no)? {
            cases.push(summary);
        }
    }
    ok(&CaseList { cases })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseQuery {
    query_code: Option<String>,
}

/// A case the caller may see: their own (by session) or any whose query code they hold.
/// Anything else is "not found", so case numbers cannot be probed.
fn visible_case(
    s: &SimState,
    resident: Option<&Resident>,
    no: &str,
    query_code: Option<&str>,
) -> Result<CaseSummary, ApiError> {
    let conn = s.conn.lock().expect("db lock");
    let not_found = || {
        ApiError::not_found(
            "case_not_found",
            "No such case for this resident or query code",
        )
    };
    let (summary, owner, code) = case_summary(&conn, no)?.ok_or_else(not_found)?;
    let by_session = resident.is_some_and(|r| owner.as_deref() == Some(r.id_number.as_str()));
    let by_code = query_code.is_some_and(|q| q == code);
    if !(by_session || by_code) {
        return Err(not_found());
    }
    Ok(summary)
}

fn done(status: CaseStatus) -> bool {
    matches!(status, CaseStatus::Completed | CaseStatus::Delivered)
}

async fn case(
    State(s): S,
    Path(no): Path<String>,
    _: Device,
    Query(q): Query<CaseQuery>,
    resident: Option<Resident>,
) -> Res {
    let summary = visible_case(&s, resident.as_ref(), &no, q.query_code.as_deref())?;
    ok(&with_conn(&s, |c| case_detail(c, summary))?)
}

fn case_detail(conn: &Connection, summary: CaseSummary) -> Result<CaseDetail, ApiError> {
    let no = &summary.case_no;
    let mut stmt =
        conn.prepare("SELECT status, at FROM case_events WHERE case_no = ?1 ORDER BY rowid")?;
    let history: Vec<CaseEvent> = stmt
        .query_map([no], |r| {
            Ok(CaseEvent {
                status: case_status(&r.get::<_, String>(0)?)?,
                at: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let rated: bool = conn.query_row(
        "SELECT COUNT(*) FROM ratings WHERE case_no = ?1",
        [no],
        |r| r.get::<_, i64>(0),
    )? > 0;
    let note: Option<(String, String, String, String)> = conn
        .query_row(
            "SELECT reason_zh, reason_en, next_zh, next_en FROM case_notes WHERE case_no = ?1",
            [no],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let (reason, next_step) = match note {
        Some((rz, re, nz, ne)) => (Some(Text::new(&rz, &re)), Some(Text::new(&nz, &ne))),
        None => (None, None),
    };
    Ok(CaseDetail {
        reason,
        next_step,
        rating_allowed: done(summary.status) && !rated,
        case_no: summary.case_no,
        title: summary.title,
        status: summary.status,
        updated_at: summary.updated_at,
        history,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressQuery {
    query_code: String,
}

/// `GET /v1/cases/{no}/progress?query_code=` (public, no device token): the progress page a
/// receipt's QR opens. An unknown case and a wrong code answer alike (`404 case_not_found`);
/// wrong codes are budgeted like the certificate verification (`429 rate_limited`).
async fn case_progress(
    State(s): S,
    Path(no): Path<String>,
    client: ClientAddr,
    Query(q): Query<ProgressQuery>,
) -> Res {
    check_len("case_no", &no, 1, 32)?;
    check_len("query_code", &q.query_code, 1, 32)?;
    let now = std::time::Instant::now();
    let ip = client.0.ip();
    if let Some(wait) = s
        .progress_attempts
        .lock()
        .expect("attempts lock")
        .blocked(&no, ip, now)
    {
        let mut r = problem_response(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many wrong query codes: try again later",
        );
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(secs.max(1)),
        );
        return Ok(r);
    }
    match visible_case(&s, None, &no, Some(q.query_code.as_str())) {
        Ok(summary) => ok(&with_conn(&s, |c| case_detail(c, summary))?),
        Err(e) => {
            if e.code == "case_not_found" {
                s.progress_attempts
                    .lock()
                    .expect("attempts lock")
                    .wrong(&no, ip, now);
            }
            Err(e)
        }
    }
}

/// The rules every rating shares: a score of 1 to 5, known reason codes, at least one reason
/// for a score of 2 or less, a comment of at most 500 characters.
fn check_rating(score: u8, reasons: &[String], comment: &str) -> Result<(), ApiError> {
    if !(1..=5).contains(&score) {
        return Err(ApiError::bad_request("score must be 1 to 5"));
    }
    check_len("comment", comment, 0, 500)?;
    if reasons.len() > RATING_REASONS.len() || reasons.iter().any(|r| r.chars().count() > 32) {
        return Err(ApiError::bad_request(
            "reasons lists at most 6 codes of at most 32 characters",
        ));
    }
    if let Some(r) = reasons
        .iter()
        .find(|r| !RATING_REASONS.contains(&r.as_str()))
    {
        return Err(ApiError::unprocessable(
            "unknown_reason",
            format!("{r:?} is not a rating reason"),
        ));
    }
    if score <= 2 && reasons.is_empty() {
        return Err(ApiError::unprocessable(
            "reason_required",
            "A score of 2 or less names at least one reason",
        ));
    }
    Ok(())
}

async fn rate_case(
    State(s): S,
    Path(no): Path<String>,
    device: Device,
    key: IdempotencyKey,
    r: Resident,
    Body(req): Body<RatingRequest>,
) -> Res {
    if req.case_no != no {
        return Err(ApiError::unprocessable(
            "case_no_mismatch",
            "case_no in the body must be the one in the path",
        ));
    }
    check_rating(req.score, &req.reasons, &req.comment)?;
    let summary = visible_case(&s, Some(&r), &no, None)?;
    let route = format!("cases/{no}/rating");
    idempotent(&s, &device, &key, &route, &req, |conn| {
        let rated: i64 = conn.query_row(
            "SELECT COUNT(*) FROM ratings WHERE case_no = ?1",
            [&no],
            |r| r.get(0),
        )?;
        if !done(summary.status) || rated > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "rating_not_allowed",
                "This case cannot be rated now",
            ));
        }
        let reasons = serde_json::to_string(&req.reasons).map_err(|_| ApiError::internal())?;
        conn.execute(
            "INSERT INTO ratings (case_no, score, comment, reasons) VALUES (?1, ?2, ?3, ?4)",
            params![no, req.score, req.comment, reasons],
        )?;
        Ok(Rating {
            case_no: no.clone(),
            score: req.score,
        })
    })
}

/// `POST /v1/service-ratings`: one rating per (service, reference).
async fn rate_service(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    Body(req): Body<ServiceRatingRequest>,
) -> Res {
    let service_ok = (1..=32).contains(&req.service.len())
        && req
            .service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_');
    if !service_ok {
        return Err(ApiError::bad_request(
            "service must be a service code: 1 to 32 of a-z and _",
        ));
    }
    check_len("reference", &req.reference, 1, 64)?;
    check_rating(req.score, &req.reasons, &req.comment)?;
    idempotent(&s, &device, &key, "service-ratings", &req, |conn| {
        let rated: i64 = conn.query_row(
            "SELECT COUNT(*) FROM service_ratings WHERE service = ?1 AND reference = ?2",
            params![req.service, req.reference],
            |r| r.get(0),
        )?;
        if rated > 0 {
            return Err(ApiError::conflict(
                "already_rated",
                "This use of the service has been rated already",
            ));
        }
        let n = next_counter(conn, "service_rating")?;
        let rating_id = code("RT", n);
        let reasons = serde_json::to_string(&req.reasons).map_err(|_| ApiError::internal())?;
        conn.execute(
            "INSERT INTO service_ratings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                rating_id,
                req.service,
                req.reference,
                req.score,
                reasons,
                req.comment,
                device.0,
                now_rfc3339()
            ],
        )?;
        Ok(ServiceRating {
            rating_id,
            service: req.service.clone(),
            score: req.score,
        })
    })
}

// ---- 7 诉求·隐患 ----

async fn report_categories(State(s): S, _: Device) -> Res {
    ok(&reference::<ReportCategories>(&s, "report_categories")?)
}

async fn submit_report(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    resident: Option<Resident>,
    Body(req): Body<ReportRequest>,
) -> Res {
    check_len("location", &req.location, 1, 200)?;
    check_len("description", &req.description, 1, 2000)?;
    if let Some(p) = &req.contact_phone {
        check_phone(p)?;
    }
    let cats: ReportCategories = reference(&s, "report_categories")?;
    let Some(cat) = cats
        .categories
        .into_iter()
        .find(|c| c.code == req.category && c.kind == req.kind)
    else {
        return Err(ApiError::unprocessable(
            "unknown_category",
            "No such category for this kind of report",
        ));
    };
    let owner = if req.anonymous {
        None
    } else {
        resident.map(|r| r.id_number)
    };
    idempotent(&s, &device, &key, "reports", &req, |conn| {
        let prefix = match req.kind {
            ReportKind::Appeal => Text::new("诉求", "Appeal"),
            ReportKind::Hazard => Text::new("隐患", "Hazard"),
        };
        let title = Text {
            zh: format!("{}：{}", prefix.zh, cat.name.zh),
            en: format!("{}: {}", prefix.en, cat.name.en),
        };
        new_case(conn, owner.as_deref(), "report", &title, &req)
    })
}

// ---- 8 民政救助 ----

async fn programs(State(s): S, _: Device) -> Res {
    ok(&reference::<AssistancePrograms>(&s, "programs")?)
}

/// The program and the cloud's verdict for the resident.
fn assess(
    s: &SimState,
    id: &str,
    program: &str,
) -> Result<(AssistanceProgram, Eligibility), ApiError> {
    let programs: AssistancePrograms = reference(s, "programs")?;
    let Some(p) = programs.programs.into_iter().find(|p| p.code == program) else {
        return Err(ApiError::not_found(
            "unknown_program",
            "No such assistance program",
        ));
    };
    let rec = with_conn(s, |c| civil_record(c, id))?;
    let verdict = civil::assess(&p, id, rec.as_ref());
    Ok((p, verdict))
}

async fn eligibility(
    State(s): S,
    _: Device,
    r: Resident,
    Body(req): Body<EligibilityRequest>,
) -> Res {
    ok(&assess(&s, &r.id_number, &req.program)?.1)
}

/// What an assistance application keeps besides its case: the answers its program asks for.
#[derive(Serialize)]
struct AssistancePayload<'a> {
    program: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    household_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    income_band: Option<IncomeBand>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    financial_check_consent: bool,
}

async fn assistance_application(
    State(s): S,
    device: Device,
    key: IdempotencyKey,
    r: Resident,
    headers: HeaderMap,
    Body(req): Body<AssistanceApplicationRequest>,
) -> Res {
    if let Some(p) = &req.phone {
        check_phone(p)?;
    }
    if req.household_size.is_some_and(|n| !(1..=20).contains(&n)) {
        return Err(ApiError::bad_request("household_size must be 1 to 20"));
    }
    let (program, verdict) = assess(&s, &r.id_number, &req.program)?;
    if verdict.verdict == EligibilityVerdict::NotEligible {
        return Err(ApiError::unprocessable(
            "not_eligible",
            "The resident does not meet this program's conditions (see the eligibility check)",
        ));
    }
    let asks = |q| program.asks.contains(&q);
    let missing = (asks(AssistanceQuestion::HouseholdSize) && req.household_size.is_none())
        || (asks(AssistanceQuestion::IncomeBand) && req.income_band.is_none())
        || (asks(AssistanceQuestion::Phone) && req.phone.is_none());
    if missing {
        return Err(ApiError::unprocessable(
            "missing_answer",
            "The program asks for an answer the application does not give",
        ));
    }
    if asks(AssistanceQuestion::FinancialCheckConsent) && !req.financial_check_consent {
        return Err(ApiError::unprocessable(
            "consent_required",
            "This program needs consent to the household financial check",
        ));
    }
    let payload = AssistancePayload {
        program: &program.code,
        household_size: req
            .household_size
            .filter(|_| asks(AssistanceQuestion::HouseholdSize)),
        income_band: req
            .income_band
            .filter(|_| asks(AssistanceQuestion::IncomeBand)),
        phone: req
            .phone
            .as_deref()
            .filter(|_| asks(AssistanceQuestion::Phone)),
        financial_check_consent: req.financial_check_consent
            && asks(AssistanceQuestion::FinancialCheckConsent),
    };
    let title = Text {
        zh: format!("{}申请", program.name.zh),
        en: format!("{} application", program.name.en),
    };
    let base = public_base(&s, &headers);
    let route = "assistance/applications";
    idempotent(&s, &device, &key, route, &(&req, &r.session_id), |conn| {
        let receipt = new_case(conn, Some(&r.id_number), "assistance", &title, &payload)?;
        let (time_limit_days, next_steps) = civil::after_application(&program.code);
        Ok(AssistanceReceipt {
            time_limit_days,
            next_steps,
            progress_url: progress_url(&base, &receipt),
            case_no: receipt.case_no,
            query_code: receipt.query_code,
        })
    })
}

// ---- Guides ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuideQuery {
    #[serde(default)]
    q: String,
}

async fn guides(State(s): S, _: Device, Query(q): Query<GuideQuery>) -> Res {
    check_len("q", &q.q, 0, 50)?;
    let all: GuideList = reference(&s, "guides")?;
    let needle = q.q.to_lowercase();
    let guides = all
        .guides
        .into_iter()
        .filter(|g| {
            needle.is_empty()
                || [&g.title.zh, &g.title.en, &g.summary.zh, &g.summary.en]
                    .iter()
                    .any(|t| t.to_lowercase().contains(&needle))
        })
        .collect();
    ok(&GuideList { guides })
}
