//! One handler per contract operation. Each validates what docs/openapi.yaml promises to
//! validate, so schema-violating requests get a documented 4xx problem.

use super::db::next_counter;
use super::http::*;
use crate::cloud::api::*;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use bianmin_idcard::{mask_id_number, mask_name, IdNumber};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
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
        .route("/v1/bills", get(bills))
        .route("/v1/payments", post(create_payment))
        .route("/v1/payments/{id}", get(payment))
        .route("/v1/household/certificate-types", get(household_types))
        .route("/v1/household/applications", post(household_application))
        .route("/v1/halls/{hall}/queues", get(hall_queues))
        .route("/v1/queue/tickets", post(queue_ticket))
        .route("/v1/cases", get(cases))
        .route("/v1/cases/{no}", get(case))
        .route("/v1/cases/{no}/rating", post(rate_case))
        .route("/v1/reports/categories", get(report_categories))
        .route("/v1/reports", post(submit_report))
        .route("/v1/assistance/programs", get(programs))
        .route("/v1/assistance/eligibility", post(eligibility))
        .route("/v1/assistance/applications", post(assistance_application))
        .route("/v1/guides", get(guides))
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

fn ok(v: Value) -> Res {
    Ok(json_response(StatusCode::OK, &v))
}

fn reference(state: &SimState, kind: &str) -> Result<Value, ApiError> {
    let conn = state.conn.lock().expect("db lock");
    let text: String =
        conn.query_row("SELECT json FROM reference WHERE kind = ?1", [kind], |r| {
            r.get(0)
        })?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

fn account(state: &SimState, id: &str, kind: &str) -> Result<Value, ApiError> {
    let conn = state.conn.lock().expect("db lock");
    let text: Option<String> = conn
        .query_row(
            "SELECT json FROM accounts WHERE id_number = ?1 AND kind = ?2",
            params![id, kind],
            |r| r.get(0),
        )
        .optional()?;
    text.and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            ApiError::not_found("no_account", "The resident has no account for this service")
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

fn code(prefix: &str, n: i64) -> String {
    format!(
        "{prefix}{}{:06}",
        chrono::Utc::now().with_timezone(&CST).format("%Y"),
        n
    )
}

/// Short codes residents type: no 0/O or 1/I to confuse them.
fn query_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    uuid::Uuid::new_v4().as_bytes()[..8]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn new_case(
    conn: &Connection,
    id: Option<&str>,
    kind: &str,
    title: &Text,
    payload: &Value,
) -> Result<Value, ApiError> {
    let n = next_counter(conn, "case")?;
    let case_no = code("BM", n);
    let qc = query_code();
    let now = now_rfc3339();
    conn.execute(
        "INSERT INTO cases VALUES (?1, ?2, ?3, ?4, 'received', ?5, ?6, ?7, 1, ?8)",
        params![
            case_no,
            id,
            title.zh,
            title.en,
            now,
            qc,
            kind,
            payload.to_string()
        ],
    )?;
    conn.execute(
        "INSERT INTO case_events VALUES (?1, 'received', ?2)",
        params![case_no, now],
    )?;
    Ok(json!({"case_no": case_no, "query_code": qc}))
}

// ---- Device ----

async fn enroll(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let req: EnrollRequest = json_body(&headers, &body)?;
    check_len("serial", &req.serial, 1, 64)?;
    check_len("model", &req.model, 1, 64)?;
    if req.enrollment_code != s.enrollment_code {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_enrollment_code",
            "The enrollment code is not valid",
        ));
    }
    let conn = s.conn.lock().expect("db lock");
    let n = next_counter(&conn, "device")?;
    let device_id = format!("kiosk-{n:04}");
    let token = format!("dev_{}", uuid::Uuid::new_v4().simple());
    conn.execute(
        "INSERT INTO devices VALUES (?1, ?2, ?3, ?4, ?5)",
        params![device_id, token, req.serial, req.model, now_rfc3339()],
    )?;
    let resp = EnrollResponse {
        device_id,
        device_token: token,
        site: super::seed::site(),
    };
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::to_value(resp).expect("json"),
    ))
}

async fn heartbeat(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    device_id(&s, &headers)?;
    let req: HeartbeatRequest = json_body(&headers, &body)?;
    for (field, v) in [("printer", &req.printer), ("card_reader", &req.card_reader)] {
        if !["ok", "warning", "error"].contains(&v.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{field} must be ok, warning or error"
            )));
        }
    }
    check_len("app_version", &req.app_version, 1, 32)?;
    ok(json!({"server_time": now_rfc3339(), "commands": []}))
}

async fn catalog(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    ok(reference(&s, "catalog")?)
}

// ---- Identity ----

async fn open_session(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    device_id(&s, &headers)?;
    let req: IdentitySessionRequest = json_body(&headers, &body)?;
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
    let expires = chrono::Utc::now() + chrono::Duration::minutes(15);
    conn.execute(
        "INSERT INTO sessions VALUES (?1, ?2, ?3, 0)",
        params![token, id.as_str(), expires.timestamp()],
    )?;
    let age = id.age_on(today);
    let session = IdentitySession {
        session_token: token,
        expires_at: expires
            .with_timezone(&CST)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        resident: ResidentSummary {
            name_masked: mask_name(&req.name),
            id_masked: mask_id_number(id.as_str()),
            age,
            elderly: age >= 60,
        },
    };
    Ok(json_response(
        StatusCode::CREATED,
        &serde_json::to_value(session).expect("json"),
    ))
}

async fn revoke_session(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    require_resident(&s, &headers)?;
    let token = headers
        .get("x-resident-session")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let conn = s.conn.lock().expect("db lock");
    conn.execute("UPDATE sessions SET revoked = 1 WHERE token = ?1", [token])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- 1 社保 / 2 医保 / 3 公积金 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthRange {
    from: String,
    to: String,
}

/// A month range; an inverted one is read the right way round.
fn month_range(raw: Option<String>) -> Result<MonthRange, ApiError> {
    let r: MonthRange = query(raw)?;
    check_month("from", &r.from)?;
    check_month("to", &r.to)?;
    Ok(if r.from > r.to {
        MonthRange {
            from: r.to,
            to: r.from,
        }
    } else {
        r
    })
}

fn months(r: &MonthRange) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m): (i32, u32) = (
        r.from[..4].parse().unwrap_or(2026),
        r.from[5..].parse().unwrap_or(1),
    );
    while format!("{y:04}-{m:02}") <= r.to && out.len() < 120 {
        out.push(format!("{y:04}-{m:02}"));
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
    }
    out
}

async fn si_summary(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    let id = require_resident(&s, &headers)?;
    ok(account(&s, &id, "social_insurance")?)
}

async fn si_records(State(s): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Res {
    device_id(&s, &headers)?;
    let id = require_resident(&s, &headers)?;
    let range = month_range(q)?;
    let acct = account(&s, &id, "social_insurance")?;
    let base = acct["monthly_base_fen"].as_i64().unwrap_or(0);
    let employer = acct["employer"].as_str().unwrap_or("").to_string();
    let last = acct["last_paid_month"].as_str().unwrap_or("").to_string();
    let records: Vec<Value> = months(&range)
        .into_iter()
        .filter(|m| *m <= last && m.as_str() >= "2005-07")
        .map(|m| json!({"month": m, "employer": employer, "base_fen": base, "personal_fen": base * 8 / 100, "employer_fen": base * 16 / 100}))
        .collect();
    ok(json!({"records": records}))
}

fn issue_certificate(
    conn: &Connection,
    id: &str,
    kind: &str,
    title: Text,
    lines: Vec<(Text, String)>,
) -> Result<Value, ApiError> {
    let n = next_counter(conn, "certificate")?;
    let no = code("ZM", n);
    let verify = query_code();
    let cert = json!({
        "certificate_no": no,
        "verify_code": verify,
        "verify_url": format!("https://zwfw.example.gov.cn/verify/{no}?code={verify}"),
        "title": title,
        "issued_at": now_rfc3339(),
        "lines": lines.into_iter().map(|(label, value)| json!({"label": label, "value": value})).collect::<Vec<_>>(),
    });
    conn.execute(
        "INSERT INTO certificates VALUES (?1, ?2, ?3)",
        params![
            no,
            id,
            json!({"kind": kind, "certificate": cert}).to_string()
        ],
    )?;
    Ok(cert)
}

fn fen(v: &Value) -> String {
    let f = v.as_i64().unwrap_or(0);
    format!("{}.{:02}", f / 100, f % 100)
}

async fn si_certificate(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let id = require_resident(&s, &headers)?;
    let req: CertificateRequest = json_body(&headers, &body)?;
    if !["contribution", "participation"].contains(&req.kind.as_str()) {
        return Err(ApiError::bad_request(
            "kind must be contribution or participation",
        ));
    }
    let range = month_range(Some(format!("from={}&to={}", req.from, req.to)))?;
    let acct = account(&s, &id, "social_insurance")?;
    let request = serde_json::to_value(&req).expect("json");
    idempotent(
        &s,
        &device,
        &key,
        "social-insurance/certificates",
        &request,
        |conn| {
            let title = if req.kind == "contribution" {
                Text::new(
                    "社会保险缴费证明",
                    "Social insurance contribution certificate",
                )
            } else {
                Text::new(
                    "社会保险参保证明",
                    "Social insurance participation certificate",
                )
            };
            issue_certificate(
                conn,
                &id,
                "social_insurance",
                title,
                vec![
                    (
                        Text::new("参保状态", "Status"),
                        acct["status"].as_str().unwrap_or("").into(),
                    ),
                    (
                        Text::new("参保单位", "Employer"),
                        acct["employer"].as_str().unwrap_or("").into(),
                    ),
                    (
                        Text::new("证明期间", "Period"),
                        format!("{} — {}", range.from, range.to),
                    ),
                    (
                        Text::new("累计缴费月数", "Months contributed"),
                        acct["contribution_months"].to_string(),
                    ),
                    (
                        Text::new("缴费基数(元)", "Monthly base (CNY)"),
                        fen(&acct["monthly_base_fen"]),
                    ),
                ],
            )
        },
    )
}

async fn mi_account(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    let id = require_resident(&s, &headers)?;
    ok(account(&s, &id, "medical_insurance")?)
}

async fn mi_transactions(State(s): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Res {
    device_id(&s, &headers)?;
    let id = require_resident(&s, &headers)?;
    let range = month_range(q)?;
    account(&s, &id, "medical_insurance")?;
    let places = [
        "成华区社区卫生服务中心",
        "四川省人民医院",
        "大药房(建设路店)",
    ];
    let tx: Vec<Value> = months(&range)
        .iter()
        .filter(|m| m.as_str() <= "2026-11")
        .enumerate()
        .map(|(i, m)| {
            let total = 8_000 + (i as i64 * 3_700) % 20_000;
            json!({"time": format!("{m}-12T10:30:00+08:00"), "institution": places[i % 3], "kind": (["outpatient", "inpatient", "pharmacy"][i % 3]),
                   "total_fen": total, "fund_paid_fen": total * 7 / 10, "self_paid_fen": total - total * 7 / 10})
        })
        .collect();
    ok(json!({"transactions": tx}))
}

async fn mi_statement(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let id = require_resident(&s, &headers)?;
    let req: StatementRequest = json_body(&headers, &body)?;
    let range = month_range(Some(format!("from={}&to={}", req.from, req.to)))?;
    let acct = account(&s, &id, "medical_insurance")?;
    let request = serde_json::to_value(&req).expect("json");
    idempotent(
        &s,
        &device,
        &key,
        "medical-insurance/statements",
        &request,
        |conn| {
            issue_certificate(
                conn,
                &id,
                "medical_insurance",
                Text::new(
                    "医疗保险个人账户对账单",
                    "Medical insurance account statement",
                ),
                vec![
                    (
                        Text::new("对账期间", "Period"),
                        format!("{} — {}", range.from, range.to),
                    ),
                    (
                        Text::new("账户余额(元)", "Balance (CNY)"),
                        fen(&acct["balance_fen"]),
                    ),
                    (
                        Text::new("本年划入(元)", "Credited this year (CNY)"),
                        fen(&acct["year_credited_fen"]),
                    ),
                    (
                        Text::new("本年支出(元)", "Spent this year (CNY)"),
                        fen(&acct["year_spent_fen"]),
                    ),
                ],
            )
        },
    )
}

async fn hf_account(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    let id = require_resident(&s, &headers)?;
    ok(account(&s, &id, "housing_fund")?)
}

async fn hf_proof(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let id = require_resident(&s, &headers)?;
    let req: DepositProofRequest = json_body(&headers, &body)?;
    if !["loan", "rental", "transfer", "other"].contains(&req.purpose.as_str()) {
        return Err(ApiError::bad_request(
            "purpose must be loan, rental, transfer or other",
        ));
    }
    let acct = account(&s, &id, "housing_fund")?;
    let request = serde_json::to_value(&req).expect("json");
    idempotent(
        &s,
        &device,
        &key,
        "housing-fund/deposit-proofs",
        &request,
        |conn| {
            issue_certificate(
                conn,
                &id,
                "housing_fund",
                Text::new("住房公积金缴存证明", "Housing fund deposit certificate"),
                vec![
                    (
                        Text::new("公积金账号", "Account"),
                        acct["account_no_masked"].as_str().unwrap_or("").into(),
                    ),
                    (
                        Text::new("缴存单位", "Employer"),
                        acct["employer"].as_str().unwrap_or("").into(),
                    ),
                    (
                        Text::new("月缴存额(元)", "Monthly deposit (CNY)"),
                        fen(&acct["monthly_deposit_fen"]),
                    ),
                    (
                        Text::new("账户余额(元)", "Balance (CNY)"),
                        fen(&acct["balance_fen"]),
                    ),
                    (
                        Text::new("缴存至", "Paid up to"),
                        acct["last_deposit_month"].as_str().unwrap_or("").into(),
                    ),
                ],
            )
        },
    )
}

// ---- 4 缴费 ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BillQuery {
    utility: String,
    account: String,
}

async fn bills(State(s): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Res {
    device_id(&s, &headers)?;
    let q: BillQuery = query(q)?;
    if !["water", "electricity", "gas"].contains(&q.utility.as_str()) {
        return Err(ApiError::bad_request(
            "utility must be water, electricity or gas",
        ));
    }
    check_len("account", &q.account, 1, 32)?;
    let conn = s.conn.lock().expect("db lock");
    let mut stmt = conn.prepare(
        "SELECT bill_id, period, amount_fen, due_date, status, holder, address FROM bills WHERE utility = ?1 AND account = ?2 ORDER BY period DESC",
    )?;
    let rows: Vec<(Value, String, String)> = stmt
        .query_map(params![q.utility, q.account], |r| {
            Ok((
                json!({"bill_id": r.get::<_, String>(0)?, "period": r.get::<_, String>(1)?, "amount_fen": r.get::<_, i64>(2)?,
                       "due_date": r.get::<_, String>(3)?, "status": r.get::<_, String>(4)?}),
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let Some((_, holder, address)) = rows.first().cloned() else {
        return Err(ApiError::not_found(
            "account_not_found",
            "No such utility account",
        ));
    };
    ok(
        json!({"utility": q.utility, "account": q.account, "holder_masked": mask_name(&holder), "address": address,
              "bills": rows.into_iter().map(|r| r.0).collect::<Vec<_>>()}),
    )
}

async fn create_payment(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let req: PaymentRequest = json_body(&headers, &body)?;
    if req.bill_ids.is_empty() || req.bill_ids.len() > 12 {
        return Err(ApiError::bad_request("bill_ids must list 1 to 12 bills"));
    }
    let request = serde_json::to_value(&req).expect("json");
    idempotent(&s, &device, &key, "payments", &request, |conn| {
        let mut total = 0i64;
        for id in &req.bill_ids {
            let row: Option<(i64, String)> = conn
                .query_row(
                    "SELECT amount_fen, status FROM bills WHERE bill_id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match row {
                None => {
                    return Err(ApiError::not_found(
                        "bill_not_found",
                        "A bill in the list does not exist",
                    ))
                }
                Some((_, status)) if status != "unpaid" => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "bill_already_paid",
                        "A bill in the list is already paid",
                    ))
                }
                Some((amount, _)) => total += amount,
            }
        }
        if total != req.amount_fen {
            return Err(ApiError::unprocessable(
                "amount_mismatch",
                "amount_fen does not match the bills",
            ));
        }
        let n = next_counter(conn, "payment")?;
        let id = code("PAY", n);
        let expires = (chrono::Utc::now() + chrono::Duration::minutes(10)).with_timezone(&CST);
        conn.execute(
            "INSERT INTO payments VALUES (?1, ?2, ?3, 'pending', ?4, ?5, NULL, NULL)",
            params![
                id,
                serde_json::to_string(&req.bill_ids).expect("json"),
                total,
                chrono::Utc::now().timestamp(),
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            ],
        )?;
        Ok(
            json!({"payment_id": id, "status": "pending", "amount_fen": total,
                  "qr_payload": format!("https://pay.example.gov.cn/p/{id}"),
                  "expires_at": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)}),
        )
    })
}

/// The simulated resident scans and pays 5 s after the QR is shown.
const SIMULATED_PAY_DELAY_S: i64 = 5;

async fn payment(State(s): S, headers: HeaderMap, Path(id): Path<String>) -> Res {
    device_id(&s, &headers)?;
    let conn = s.conn.lock().expect("db lock");
    let row: Option<(String, i64, String, i64, String, Option<String>, Option<String>)> = conn
        .query_row("SELECT bill_ids, amount_fen, status, created_at, expires_at, paid_at, receipt_no FROM payments WHERE payment_id = ?1", [&id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
    let Some((bill_ids, amount, mut status, created, expires, mut paid_at, mut receipt_no)) = row
    else {
        return Err(ApiError::not_found("payment_not_found", "No such payment"));
    };
    if status == "pending" && chrono::Utc::now().timestamp() - created >= SIMULATED_PAY_DELAY_S {
        let n = next_counter(&conn, "receipt")?;
        status = "paid".into();
        paid_at = Some(now_rfc3339());
        receipt_no = Some(code("RC", n));
        conn.execute("UPDATE payments SET status = 'paid', paid_at = ?1, receipt_no = ?2 WHERE payment_id = ?3", params![paid_at, receipt_no, id])?;
        for b in serde_json::from_str::<Vec<String>>(&bill_ids).unwrap_or_default() {
            conn.execute("UPDATE bills SET status = 'paid' WHERE bill_id = ?1", [b])?;
        }
    }
    let mut v = json!({"payment_id": id, "status": status, "amount_fen": amount,
                       "qr_payload": format!("https://pay.example.gov.cn/p/{id}"), "expires_at": expires});
    if let (Some(p), Some(r)) = (paid_at, receipt_no) {
        v["paid_at"] = json!(p);
        v["receipt_no"] = json!(r);
    }
    ok(v)
}

// ---- 5 居住证/户籍 ----

async fn household_types(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    ok(reference(&s, "certificate_types")?)
}

async fn household_application(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let id = require_resident(&s, &headers)?;
    let req: HouseholdApplicationRequest = json_body(&headers, &body)?;
    check_phone(&req.phone)?;
    check_len("address", &req.address, 1, 200)?;
    let types: HouseholdCertificateTypes =
        serde_json::from_value(reference(&s, "certificate_types")?).expect("seeded");
    let Some(t) = types.types.into_iter().find(|t| t.code == req.type_) else {
        return Err(ApiError::not_found(
            "unknown_certificate_type",
            "No such certificate type",
        ));
    };
    let request = serde_json::to_value(&req).expect("json");
    idempotent(
        &s,
        &device,
        &key,
        "household/applications",
        &request,
        |conn| {
            new_case(
                conn,
                Some(&id),
                "household",
                &t.name,
                &json!({"type": req.type_}),
            )
        },
    )
}

// ---- 6 取号·办件 ----

async fn hall_queues(State(s): S, headers: HeaderMap, Path(hall): Path<String>) -> Res {
    device_id(&s, &headers)?;
    let conn = s.conn.lock().expect("db lock");
    let mut stmt = conn.prepare("SELECT business, name_zh, name_en, waiting, minutes_each FROM queues WHERE hall_id = ?1 ORDER BY prefix")?;
    let queues: Vec<Value> = stmt
        .query_map([&hall], |r| {
            let waiting: u32 = r.get(3)?;
            let each: u32 = r.get(4)?;
            Ok(json!({"business": r.get::<_, String>(0)?, "name": {"zh": r.get::<_, String>(1)?, "en": r.get::<_, String>(2)?},
                      "waiting": waiting, "estimated_wait_min": waiting * each}))
        })?
        .collect::<Result<_, _>>()?;
    if queues.is_empty() {
        return Err(ApiError::not_found("unknown_hall", "No such hall"));
    }
    ok(Value::Array(queues))
}

async fn queue_ticket(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let resident = resident(&s, &headers)?;
    let req: QueueTicketRequest = json_body(&headers, &body)?;
    if req.priority == Priority::Elderly {
        let today = chrono::Utc::now().with_timezone(&CST).date_naive();
        let elderly = resident
            .as_deref()
            .and_then(|id| IdNumber::parse(id).ok())
            .is_some_and(|id| id.age_on(today) >= 60);
        if !elderly {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "priority_not_eligible",
                "Elderly priority needs the card of a resident aged 60 or over",
            ));
        }
    }
    let request = serde_json::to_value(&req).expect("json");
    idempotent(&s, &device, &key, "queue/tickets", &request, |conn| {
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
        let ahead = if req.priority == Priority::Elderly {
            0
        } else {
            waiting
        };
        let ticket_no = if req.priority == Priority::Elderly {
            format!("{prefix}V{:03}", next_no % 1000)
        } else {
            format!("{prefix}{:03}", next_no % 1000)
        };
        let issued_at = now_rfc3339();
        conn.execute("UPDATE queues SET waiting = waiting + 1, next_no = next_no + 1 WHERE hall_id = ?1 AND business = ?2", params![req.hall_id, req.business])?;
        let priority = serde_json::to_value(req.priority).expect("json");
        conn.execute(
            "INSERT INTO tickets VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                ticket_no,
                req.hall_id,
                req.business,
                priority.as_str().unwrap_or("normal"),
                issued_at
            ],
        )?;
        Ok(
            json!({"ticket_no": ticket_no, "business": req.business, "waiting_ahead": ahead, "estimated_wait_min": ahead * each, "issued_at": issued_at}),
        )
    })
}

fn case_summary(
    conn: &Connection,
    case_no: &str,
) -> rusqlite::Result<Option<(Value, Option<String>, String)>> {
    conn.query_row(
        "SELECT case_no, title_zh, title_en, status, updated_at, id_number, query_code FROM cases WHERE case_no = ?1",
        [case_no],
        |r| {
            Ok((
                json!({"case_no": r.get::<_, String>(0)?, "title": {"zh": r.get::<_, String>(1)?, "en": r.get::<_, String>(2)?},
                       "status": r.get::<_, String>(3)?, "updated_at": r.get::<_, String>(4)?}),
                r.get(5)?,
                r.get(6)?,
            ))
        },
    )
    .optional()
}

async fn cases(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    let id = require_resident(&s, &headers)?;
    let conn = s.conn.lock().expect("db lock");
    let mut stmt = conn.prepare(
        "SELECT case_no FROM cases WHERE id_number = ?1 ORDER BY updated_at DESC, case_no DESC",
    )?;
    let nos: Vec<String> = stmt
        .query_map([&id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut list = Vec::new();
    for no in nos {
        if let Some((v, _, _)) = case_summary(&conn, &no)? {
            list.push(v);
        }
    }
    ok(json!({"cases": list}))
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
    headers: &HeaderMap,
    no: &str,
    query_code: Option<&str>,
) -> Result<Value, ApiError> {
    let resident = resident(s, headers)?;
    let conn = s.conn.lock().expect("db lock");
    let not_found = || {
        ApiError::not_found(
            "case_not_found",
            "No such case for this resident or query code",
        )
    };
    let (summary, owner, code) = case_summary(&conn, no)?.ok_or_else(not_found)?;
    let by_session = resident.is_some() && resident == owner;
    let by_code = query_code.is_some_and(|q| q == code);
    if !(by_session || by_code) {
        return Err(not_found());
    }
    Ok(summary)
}

async fn case(
    State(s): S,
    headers: HeaderMap,
    Path(no): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    device_id(&s, &headers)?;
    let q: CaseQuery = query(q)?;
    let mut v = visible_case(&s, &headers, &no, q.query_code.as_deref())?;
    let conn = s.conn.lock().expect("db lock");
    let mut stmt =
        conn.prepare("SELECT status, at FROM case_events WHERE case_no = ?1 ORDER BY rowid")?;
    let history: Vec<Value> = stmt
        .query_map([&no], |r| {
            Ok(json!({"status": r.get::<_, String>(0)?, "at": r.get::<_, String>(1)?}))
        })?
        .collect::<Result<_, _>>()?;
    let rated: bool = conn.query_row(
        "SELECT COUNT(*) FROM ratings WHERE case_no = ?1",
        [&no],
        |r| r.get::<_, i64>(0),
    )? > 0;
    let done = matches!(v["status"].as_str(), Some("completed" | "delivered"));
    v["history"] = json!(history);
    v["rating_allowed"] = json!(done && !rated);
    ok(v)
}

async fn rate_case(State(s): S, headers: HeaderMap, Path(no): Path<String>, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let id = require_resident(&s, &headers)?;
    let req: RatingRequest = json_body(&headers, &body)?;
    if !(1..=5).contains(&req.score) {
        return Err(ApiError::bad_request("score must be 1 to 5"));
    }
    check_len("comment", &req.comment, 0, 500)?;
    let summary = visible_case(&s, &headers, &no, None)?;
    let _ = id;
    let request = serde_json::to_value(&req).expect("json");
    idempotent(
        &s,
        &device,
        &key,
        &format!("cases/{no}/rating"),
        &request,
        |conn| {
            let done = matches!(summary["status"].as_str(), Some("completed" | "delivered"));
            let rated: i64 = conn.query_row(
                "SELECT COUNT(*) FROM ratings WHERE case_no = ?1",
                [&no],
                |r| r.get(0),
            )?;
            if !done || rated > 0 {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "rating_not_allowed",
                    "This case cannot be rated now",
                ));
            }
            conn.execute(
                "INSERT INTO ratings VALUES (?1, ?2, ?3)",
                params![no, req.score, req.comment],
            )?;
            Ok(json!({"case_no": no, "score": req.score}))
        },
    )
}

// ---- 7 诉求·隐患 ----

async fn report_categories(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    ok(reference(&s, "report_categories")?)
}

async fn submit_report(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let resident = resident(&s, &headers)?;
    let req: ReportRequest = json_body(&headers, &body)?;
    check_len("location", &req.location, 1, 200)?;
    check_len("description", &req.description, 1, 2000)?;
    if let Some(p) = &req.contact_phone {
        check_phone(p)?;
    }
    let cats: ReportCategories =
        serde_json::from_value(reference(&s, "report_categories")?).expect("seeded");
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
    let owner = if req.anonymous { None } else { resident };
    let request = serde_json::to_value(&req).expect("json");
    idempotent(&s, &device, &key, "reports", &request, |conn| {
        let prefix = match req.kind {
            ReportKind::Appeal => Text::new("诉求", "Appeal"),
            ReportKind::Hazard => Text::new("隐患", "Hazard"),
        };
        let title = Text {
            zh: format!("{}：{}", prefix.zh, cat.name.zh),
            en: format!("{}: {}", prefix.en, cat.name.en),
        };
        new_case(conn, owner.as_deref(), "report", &title, &request)
    })
}

// ---- 8 民政救助 ----

async fn programs(State(s): S, headers: HeaderMap) -> Res {
    device_id(&s, &headers)?;
    ok(reference(&s, "programs")?)
}

fn assess(
    s: &SimState,
    id: &str,
    program: &str,
    size: u32,
    income: i64,
) -> Result<Value, ApiError> {
    if !(1..=20).contains(&size) {
        return Err(ApiError::bad_request("household_size must be 1 to 20"));
    }
    if !(0..=100_000_000).contains(&income) {
        return Err(ApiError::bad_request(
            "monthly_income_fen must be 0 to 100000000",
        ));
    }
    let programs: AssistancePrograms =
        serde_json::from_value(reference(s, "programs")?).expect("seeded");
    let Some(p) = programs.programs.into_iter().find(|p| p.code == program) else {
        return Err(ApiError::not_found(
            "unknown_program",
            "No such assistance program",
        ));
    };
    let today = chrono::Utc::now().with_timezone(&CST).date_naive();
    let age = IdNumber::parse(id).map(|i| i.age_on(today)).unwrap_or(0);
    let mut reasons = Vec::new();
    if income / i64::from(size) > p.income_limit_fen {
        reasons.push(Text::new(
            "家庭人均月收入高于标准",
            "Monthly income per person is above the limit",
        ));
    }
    if p.code == "elderly_subsidy" && age < 80 {
        reasons.push(Text::new("需年满80周岁", "Applicants must be 80 or over"));
    }
    if p.code == "heating" && age < 60 {
        reasons.push(Text::new("需年满60周岁", "Applicants must be 60 or over"));
    }
    Ok(
        json!({"program": p.code, "eligible": reasons.is_empty(), "reasons": reasons, "name": p.name}),
    )
}

async fn eligibility(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    device_id(&s, &headers)?;
    let id = require_resident(&s, &headers)?;
    let req: EligibilityRequest = json_body(&headers, &body)?;
    let mut v = assess(
        &s,
        &id,
        &req.program,
        req.household_size,
        req.monthly_income_fen,
    )?;
    v.as_object_mut().expect("object").remove("name");
    ok(v)
}

async fn assistance_application(State(s): S, headers: HeaderMap, body: Bytes) -> Res {
    let device = device_id(&s, &headers)?;
    let key = idempotency_key(&headers)?;
    let id = require_resident(&s, &headers)?;
    let req: AssistanceApplicationRequest = json_body(&headers, &body)?;
    check_phone(&req.phone)?;
    let v = assess(
        &s,
        &id,
        &req.program,
        req.household_size,
        req.monthly_income_fen,
    )?;
    if v["eligible"] != json!(true) {
        return Err(ApiError::unprocessable(
            "not_eligible",
            "The household does not meet this program's conditions",
        ));
    }
    let name: Text = serde_json::from_value(v["name"].clone()).unwrap_or_default();
    let title = Text {
        zh: format!("{}申请", name.zh),
        en: format!("{} application", name.en),
    };
    let request = serde_json::to_value(&req).expect("json");
    idempotent(
        &s,
        &device,
        &key,
        "assistance/applications",
        &request,
        |conn| new_case(conn, Some(&id), "assistance", &title, &request),
    )
}

// ---- Guides ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuideQuery {
    #[serde(default)]
    q: String,
}

async fn guides(State(s): S, headers: HeaderMap, RawQuery(q): RawQuery) -> Res {
    device_id(&s, &headers)?;
    let q: GuideQuery = query(q)?;
    check_len("q", &q.q, 0, 50)?;
    let all: GuideList = serde_json::from_value(reference(&s, "guides")?).expect("seeded");
    let needle = q.q.to_lowercase();
    let hits: Vec<Guide> = all
        .guides
        .into_iter()
        .filter(|g| {
            needle.is_empty()
                || [&g.title.zh, &g.title.en, &g.summary.zh, &g.summary.en]
                    .iter()
                    .any(|t| t.to_lowercase().contains(&needle))
        })
        .collect();
    ok(json!({"guides": hits}))
}
