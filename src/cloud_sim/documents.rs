//! The three documents — 社保 certificates, 医保 statements, 公积金 deposit proofs — made from
//! the residents' records (`records`), each naming its holder, the request and the session it
//! answers; and their public verification with its attempt budgets.

use super::db::next_counter;
use super::http::{ApiError, SimState};
use super::records::*;
use crate::cloud::api::*;
use bianmin_idcard::{mask_id_number, mask_name};
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The last month whose contributions are settled (the month before this one).
pub fn last_month() -> Ym {
    Ym::of(&crate::time::now()).plus(-1)
}

/// The resident's records at one office, as stored; `404 no_account` when they have none there.
pub fn account_in<T: DeserializeOwned>(
    conn: &Connection,
    id: &str,
    kind: &str,
) -> Result<T, ApiError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT json FROM accounts WHERE id_number = ?1 AND kind = ?2",
            params![id, kind],
            |r| r.get(0),
        )
        .optional()?;
    text.and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(no_account)
}

pub fn no_account() -> ApiError {
    ApiError::not_found("no_account", "The resident has no account for this service")
}

fn no_records(what: &str) -> ApiError {
    ApiError::unprocessable(
        "no_records_in_period",
        format!("There are no {what} in this period: choose another period"),
    )
}

/// Whom a document names, from the population register, masked exactly as the identity
/// session's `ResidentSummary` is.
pub fn holder(conn: &Connection, id: &str) -> Result<DocumentHolder, ApiError> {
    let name: String = conn
        .query_row(
            "SELECT name FROM residents WHERE id_number = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(no_account)?;
    Ok(DocumentHolder {
        name_masked: mask_name(&name),
        id_masked: mask_id_number(id),
        name,
    })
}

/// What a document answers: the request (its Idempotency-Key), the resident's session, and the
/// base its verification URL starts with.
pub struct Issue<'a> {
    pub request_id: &'a str,
    pub session_id: &'a str,
    pub public_base: &'a str,
}

/// Verification codes printed on documents (typed rarely, scanned mostly): no 0/O or 1/I to
/// confuse them. 32 symbols, so every byte maps without bias.
pub const VERIFY_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn verify_code() -> String {
    uuid::Uuid::new_v4().as_bytes()[..8]
        .iter()
        .map(|b| VERIFY_ALPHABET[*b as usize % VERIFY_ALPHABET.len()] as char)
        .collect()
}

fn line(zh: &str, en: &str, value: impl Into<String>) -> CertificateLine {
    CertificateLine {
        label: Text::new(zh, en),
        value: value.into(),
    }
}

/// Numbers the document, dates it (valid for three months), names its holder, request and
/// session, and keeps it for verification.
fn issue(
    conn: &Connection,
    id: &str,
    kind: DocumentKind,
    title: Text,
    lines: Vec<CertificateLine>,
    table: Option<DocumentTable>,
    how: &Issue,
) -> Result<Certificate, ApiError> {
    let n = next_counter(conn, "certificate")?;
    let now = crate::time::now();
    let prefix = match kind {
        DocumentKind::SocialInsuranceCertificate => "SB",
        DocumentKind::MedicalStatement => "YB",
        DocumentKind::HousingFundProof => "GJ",
    };
    let no = format!("{prefix}{}{n:06}", now.format("%Y"));
    let code = verify_code();
    let valid_until = now
        .checked_add_months(chrono::Months::new(3))
        .unwrap_or(now);
    let secs = chrono::SecondsFormat::Secs;
    let cert = Certificate {
        verify_url: format!(
            "{}/v1/certificates/{no}?verify_code={code}",
            how.public_base
        ),
        certificate_no: no,
        kind,
        verify_code: code,
        title,
        holder: holder(conn, id)?,
        request_id: how.request_id.into(),
        session_id: how.session_id.into(),
        issued_at: now.to_rfc3339_opts(secs, false),
        valid_until: valid_until.to_rfc3339_opts(secs, false),
        lines,
        table,
    };
    let stored = serde_json::to_string(&cert).map_err(|_| ApiError::internal())?;
    conn.execute(
        "INSERT INTO certificates VALUES (?1, ?2, ?3)",
        params![cert.certificate_no, id, stored],
    )?;
    Ok(cert)
}

fn columns(cols: &[(&str, &str)]) -> Vec<Text> {
    cols.iter().map(|(zh, en)| Text::new(zh, en)).collect()
}

fn short_status(s: SchemeStatus) -> &'static str {
    match s {
        SchemeStatus::Contributing => "正常参保",
        SchemeStatus::Suspended => "暂停缴费",
        SchemeStatus::Retired => "已退休",
        SchemeStatus::NotInsured => "未参保",
    }
}

/// 社会保险参保证明 / 缴费证明 for the period; `422 no_records_in_period` when nothing was paid
/// in it.
pub fn si_certificate(
    conn: &Connection,
    id: &str,
    kind: CertificateKind,
    period: Period,
    how: &Issue,
) -> Result<Certificate, ApiError> {
    let history: SiHistory = account_in(conn, id, "social_insurance")?;
    let last = last_month();
    let summary = history.summary(last).ok_or_else(no_account)?;
    let rows = history.rows(period, last);
    if rows.is_empty() {
        return Err(no_records("social insurance contributions"));
    }
    let records = history.records(period, last);
    let months: i32 = rows.iter().map(SiRow::months).sum();
    let gaps: Vec<String> = history
        .gaps(last)
        .into_iter()
        .filter(|(from, to)| *from <= period.to && *to >= period.from)
        .map(|(from, to)| span_label(from.max(period.from), to.min(period.to)))
        .collect();
    let mut lines = vec![
        line(
            "参保状态",
            "Status",
            super::records::scheme_status_text(summary.status),
        ),
        line("参保单位", "Employer", summary.employer.clone()),
        line("参保地", "Insured in", summary.insured_place.clone()),
        line("首次参保", "Insured since", summary.insured_since.clone()),
        line("证明期间", "Period", period.label()),
        line("期间缴费月数", "Months paid in period", months.to_string()),
        line(
            "累计缴费月数",
            "Months paid in all",
            summary.contribution_months.to_string(),
        ),
        line(
            "期间断缴",
            "Gaps in period",
            if gaps.is_empty() {
                "无 None".to_string()
            } else {
                gaps.join(", ")
            },
        ),
    ];
    let (title, table) = match kind {
        CertificateKind::Contribution => {
            let personal: i64 = records.iter().map(|r| r.personal_fen).sum();
            let employer: i64 = records.iter().map(|r| r.employer_fen).sum();
            lines.push(line(
                "个人缴费合计(元)",
                "Paid by you (CNY)",
                yuan(personal),
            ));
            lines.push(line(
                "单位缴费合计(元)",
                "Paid by employers (CNY)",
                yuan(employer),
            ));
            let table = DocumentTable {
                columns: columns(&[
                    ("期间", "Period"),
                    ("险种", "Schemes"),
                    ("月数", "Months"),
                    ("基数(元)", "Base"),
                ]),
                rows: rows
                    .iter()
                    .map(|r| {
                        vec![
                            span_label(r.from, r.to),
                            scheme_chars(&r.schemes),
                            r.months().to_string(),
                            yuan(r.base_fen),
                        ]
                    })
                    .collect(),
                total: Some(vec![
                    "合计 Total".into(),
                    String::new(),
                    months.to_string(),
                    String::new(),
                ]),
            };
            (
                Text::new(
                    "社会保险个人缴费证明",
                    "Social insurance contribution certificate",
                ),
                table,
            )
        }
        CertificateKind::Participation => {
            let table = DocumentTable {
                columns: columns(&[
                    ("险种", "Scheme"),
                    ("状态", "Status"),
                    ("起", "From"),
                    ("止", "To"),
                    ("月数", "Months"),
                ]),
                rows: Scheme::ALL
                    .iter()
                    .map(|s| {
                        let paid: Vec<&ContributionRecord> =
                            records.iter().filter(|r| r.scheme == *s).collect();
                        let first_paid =
                            paid.first().map_or("—".to_string(), |r| r.month.clone());
                        let last_paid = paid.last().map_or("—".to_string(), |r| r.month.clone());
                        vec![
                            s.zh().to_string(),
                            short_status(history.standing(*s, last)).to_string(),
                            first_paid,
                            last_paid,
                            paid.len().to_string(),
                        ]
                    })
                    .collect(),
                total: None,
            };
            (
                Text::new(
                    "社会保险个人参保证明",
                    "Social insurance participation certificate",
                ),
                table,
            )
        }
    };
    issue(
        conn,
        id,
        DocumentKind::SocialInsuranceCertificate,
        title,
        lines,
        Some(table),
        how,
    )
}

/// Everything medical about the resident, as of now.
pub fn medical_now(
    conn: &Connection,
    id: &str,
) -> Result<(MiProfile, Option<SiHistory>), ApiError> {
    let profile: MiProfile = account_in(conn, id, "medical_insurance")?;
    let si: Option<SiHistory> = account_in(conn, id, "social_insurance").ok();
    Ok((profile, si))
}

/// 医疗保障个人结算对账单 for the period; `422 no_records_in_period` when nothing was settled
/// in it.
pub fn mi_statement(
    conn: &Connection,
    id: &str,
    period: Period,
    how: &Issue,
) -> Result<Certificate, ApiError> {
    let (profile, si) = medical_now(conn, id)?;
    let med = Medical {
        id,
        profile: &profile,
        si: si.as_ref(),
        now: crate::time::now(),
    };
    let txs = med.transactions(period);
    if txs.is_empty() {
        return Err(no_records("settled medical transactions"));
    }
    let account = med.account();
    let total: i64 = txs.iter().map(|t| t.total_fen).sum();
    let fund: i64 = txs.iter().map(|t| t.fund_paid_fen).sum();
    let own: i64 = txs.iter().map(|t| t.self_paid_fen).sum();
    let lines = vec![
        line(
            "参保类型",
            "Insured as",
            insured_type_text(profile.insured_type),
        ),
        line("参保地", "Insured in", profile.insured_place.clone()),
        line("对账期间", "Period", period.label()),
        line("结算笔数", "Transactions", txs.len().to_string()),
        line("费用总额(元)", "Total (CNY)", yuan(total)),
        line("统筹支付(元)", "Paid by the fund (CNY)", yuan(fund)),
        line("个人自付(元)", "Paid by you (CNY)", yuan(own)),
        line(
            "账户余额(元)",
            "Account balance (CNY)",
            yuan(account.balance_fen),
        ),
        line(
            "本年门诊统筹(元)",
            "Outpatient pool this year (CNY)",
            format!(
                "{} / {}",
                yuan(account.outpatient_pool_used_fen),
                yuan(account.outpatient_pool_limit_fen)
            ),
        ),
    ];
    let table = DocumentTable {
        columns: columns(&[
            ("日期", "Date"),
            ("类别", "Kind"),
            ("总额", "Total"),
            ("统筹", "Fund"),
            ("自付", "Self"),
        ]),
        rows: txs
            .iter()
            .map(|t| {
                vec![
                    statement_date(&t.time, period),
                    medical_kind_zh(t.kind).to_string(),
                    yuan(t.total_fen),
                    yuan(t.fund_paid_fen),
                    yuan(t.self_paid_fen),
                ]
            })
            .collect(),
        total: Some(vec![
            "合计 Total".into(),
            format!("{}笔", txs.len()),
            yuan(total),
            yuan(fund),
            yuan(own),
        ]),
    };
    issue(
        conn,
        id,
        DocumentKind::MedicalStatement,
        Text::new("医疗保障个人结算对账单", "Medical insurance statement"),
        lines,
        Some(table),
        how,
    )
}

fn purpose_text(p: ProofPurpose) -> &'static str {
    match p {
        ProofPurpose::Loan => "贷款 Loan",
        ProofPurpose::Rental => "租房 Rental",
        ProofPurpose::Transfer => "转移 Transfer",
        ProofPurpose::Other => "其他 Other",
    }
}

/// 住房公积金缴存证明 with the last twelve deposits; `422 no_records_in_period` for an account
/// nothing was ever deposited into.
pub fn hf_proof(
    conn: &Connection,
    id: &str,
    purpose: ProofPurpose,
    how: &Issue,
) -> Result<Certificate, ApiError> {
    let history: HfHistory = account_in(conn, id, "housing_fund")?;
    let last = last_month();
    let deposits = history.deposits(last);
    let account = history
        .account(last)
        .ok_or_else(|| no_records("housing fund deposits"))?;
    let first = deposits
        .first()
        .map(|d| d.month.to_string())
        .unwrap_or_default();
    let lines = vec![
        line("公积金账号", "Account", account.account_no_masked.clone()),
        line(
            "账户状态",
            "Status",
            match account.status {
                HousingFundStatus::Normal => "正常缴存 Paying in",
                HousingFundStatus::Sealed => "封存 Sealed",
            },
        ),
        line("缴存单位", "Employer", account.employer.clone()),
        line("缴存基数(元)", "Base (CNY)", yuan(account.base_fen)),
        line(
            "月缴存额(元)",
            "Monthly deposit (CNY)",
            format!(
                "{} (个人 {} + 单位 {})",
                yuan(account.monthly_deposit_fen),
                yuan(account.personal_deposit_fen),
                yuan(account.employer_deposit_fen)
            ),
        ),
        line("账户余额(元)", "Balance (CNY)", yuan(account.balance_fen)),
        line("首次缴存", "First deposit", first),
        line("缴存至", "Paid up to", account.last_deposit_month.clone()),
        line(
            "累计缴存月数",
            "Months deposited",
            deposits.len().to_string(),
        ),
        line("证明用途", "Purpose", purpose_text(purpose)),
    ];
    let recent = &deposits[deposits.len().saturating_sub(12)..];
    let sum = |f: fn(&Deposit) -> i64| recent.iter().map(f).sum::<i64>();
    let table = DocumentTable {
        columns: columns(&[
            ("月份", "Month"),
            ("个人(元)", "Personal"),
            ("单位(元)", "Employer"),
            ("合计(元)", "Total"),
        ]),
        rows: recent
            .iter()
            .map(|d| {
                vec![
                    d.month.to_string(),
                    yuan(d.personal_fen),
                    yuan(d.employer_fen),
                    yuan(d.personal_fen + d.employer_fen),
                ]
            })
            .collect(),
        total: Some(vec![
            "合计 Total".into(),
            yuan(sum(|d| d.personal_fen)),
            yuan(sum(|d| d.employer_fen)),
            yuan(sum(|d| d.personal_fen + d.employer_fen)),
        ]),
    };
    issue(
        conn,
        id,
        DocumentKind::HousingFundProof,
        Text::new("住房公积金缴存证明", "Housing fund deposit certificate"),
        lines,
        Some(table),
        how,
    )
}

/// For the `wrong_holder` fault: a document of this kind that belongs to someone else — the
/// latest one issued to another resident, or a fresh one for another demo resident (named to
/// their latest session, or to a made-up one).
pub fn someone_elses(
    conn: &Connection,
    requester: &str,
    kind: DocumentKind,
    public_base: &str,
) -> Result<Certificate, ApiError> {
    let mut stmt = conn.prepare(
        "SELECT json FROM certificates WHERE id_number != ?1 ORDER BY rowid DESC LIMIT 200",
    )?;
    let earlier: Vec<String> = stmt
        .query_map([requester], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if let Some(c) = earlier
        .iter()
        .filter_map(|j| serde_json::from_str::<Certificate>(j).ok())
        .find(|c| c.kind == kind)
    {
        return Ok(c);
    }
    let last = last_month();
    for other in bianmin_idcard::simulator::demo_residents() {
        let id = other.id_number.as_str();
        if id == requester {
            continue;
        }
        let session: Option<String> = conn
            .query_row(
                "SELECT session_id FROM sessions WHERE id_number = ?1 AND session_id IS NOT NULL ORDER BY rowid DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let session = session.unwrap_or_else(|| format!("ses_{}", uuid::Uuid::new_v4().simple()));
        let request = uuid::Uuid::new_v4().to_string();
        let how = Issue {
            request_id: &request,
            session_id: &session,
            public_base,
        };
        let year = Period {
            from: last.plus(-11),
            to: last,
        };
        let made = match kind {
            DocumentKind::SocialInsuranceCertificate => {
                si_certificate(conn, id, CertificateKind::Contribution, year, &how)
            }
            DocumentKind::MedicalStatement => mi_statement(conn, id, year, &how),
            DocumentKind::HousingFundProof => hf_proof(conn, id, ProofPurpose::Other, &how),
        };
        if let Ok(c) = made {
            return Ok(c);
        }
    }
    tracing::error!("no other resident to play wrong_holder with");
    Err(ApiError::internal())
}

// ---- Verification ----

/// Wrong verification attempts in the last `WINDOW`, per certificate number (unknown numbers
/// included, so a number's existence is never shown) and per client address.
#[derive(Debug, Default)]
pub struct Attempts {
    numbers: HashMap<String, VecDeque<Instant>>,
    clients: HashMap<IpAddr, VecDeque<Instant>>,
}

pub const WINDOW: Duration = Duration::from_secs(600);
/// Wrong codes for one certificate number within `WINDOW` before it answers 429.
pub const WRONG_PER_NUMBER: usize = 10;
/// Wrong codes from one client address within `WINDOW` before it answers 429.
pub const WRONG_PER_CLIENT: usize = 60;

fn prune(q: &mut VecDeque<Instant>, now: Instant) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        q.pop_front();
    }
}

/// How long until the oldest attempt leaves the window, when `q` holds `limit` or more.
fn spent(q: Option<&mut VecDeque<Instant>>, limit: usize, now: Instant) -> Option<Duration> {
    let q = q?;
    prune(q, now);
    (q.len() >= limit).then(|| WINDOW.saturating_sub(now.duration_since(q[q.len() - limit])))
}

impl Attempts {
    /// `Some(retry after)` when the number's or the client's budget is spent.
    pub fn blocked(&mut self, no: &str, client: IpAddr, now: Instant) -> Option<Duration> {
        let a = spent(self.numbers.get_mut(no), WRONG_PER_NUMBER, now);
        let b = spent(self.clients.get_mut(&client), WRONG_PER_CLIENT, now);
        a.max(b)
    }

    pub fn wrong(&mut self, no: &str, client: IpAddr, now: Instant) {
        if self.numbers.len() > 4096 {
            self.numbers.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
            self.clients.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
        }
        self.numbers
            .entry(no.to_string())
            .or_default()
            .push_back(now);
        self.clients.entry(client).or_default().push_back(now);
    }
}

/// Equal bytes, in time that depends on the length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

/// The public check of a printed document: `Ok(answer)`, or `Err(retry after)` when the
/// attempt budget is spent. A wrong code and an unknown number answer alike, `valid: false`.
pub fn verify(
    state: &SimState,
    no: &str,
    code: &str,
    client: IpAddr,
) -> Result<Result<CertificateVerification, Duration>, ApiError> {
    let now = Instant::now();
    if let Some(wait) = state
        .verify_attempts
        .lock()
        .expect("attempts lock")
        .blocked(no, client, now)
    {
        return Ok(Err(wait));
    }
    let stored: Option<String> = {
        let conn = state.conn.lock().expect("db lock");
        conn.query_row(
            "SELECT json FROM certificates WHERE certificate_no = ?1",
            [no],
            |r| r.get(0),
        )
        .optional()?
    };
    let cert = stored.and_then(|j| serde_json::from_str::<Certificate>(&j).ok());
    // Codes are printed in capitals; a typed one may not be.
    let typed = code.to_ascii_uppercase();
    // An unknown number is compared with a code of the same form, so it takes as long.
    let expected = cert.as_ref().map_or("XXXXXXXX", |c| c.verify_code.as_str());
    let right = constant_time_eq(typed.as_bytes(), expected.as_bytes()) && cert.is_some();
    match cert.filter(|_| right) {
        Some(c) => Ok(Ok(CertificateVerification {
            valid: true,
            kind: Some(c.kind),
            holder_name_masked: Some(c.holder.name_masked.clone()),
            holder_id_masked: Some(c.holder.id_masked.clone()),
            issued_at: Some(c.issued_at.clone()),
            valid_until: Some(c.valid_until.clone()),
        })),
        None => {
            state
                .verify_attempts
                .lock()
                .expect("attempts lock")
                .wrong(no, client, now);
            Ok(Ok(CertificateVerification {
                valid: false,
                kind: None,
                holder_name_masked: None,
                holder_id_masked: None,
                issued_at: None,
                valid_until: None,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_close_and_reopen() {
        let mut a = Attempts::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        for i in 0..WRONG_PER_NUMBER {
            assert!(a.blocked("SB1", ip, t0).is_none(), "attempt {i}");
            a.wrong("SB1", ip, t0);
        }
        let wait = a.blocked("SB1", ip, t0).expect("spent");
        assert!(wait > Duration::from_secs(590) && wait <= WINDOW);
        assert!(a.blocked("SB2", ip, t0).is_none(), "another number is fine");
        assert!(
            a.blocked("SB1", ip, t0 + WINDOW).is_none(),
            "the window passes"
        );
        // The client's budget spans numbers.
        let other: IpAddr = [10, 0, 0, 2].into();
        for i in 0..WRONG_PER_CLIENT {
            a.wrong(&format!("N{i}"), other, t0);
        }
        assert!(a.blocked("fresh", other, t0).is_some());
        assert!(a.blocked("fresh", ip, t0).is_none());
    }

    #[test]
    fn codes_compare_whole() {
        assert!(constant_time_eq(b"ABCD2345", b"ABCD2345"));
        assert!(!constant_time_eq(b"ABCD2345", b"ABCD2346"));
        assert!(!constant_time_eq(b"ABCD234", b"ABCD2345"));
        assert!(verify_code().bytes().all(|b| VERIFY_ALPHABET.contains(&b)));
    }
}
