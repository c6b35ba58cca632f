//! The three documents (社保 certificates, 医保 statements, 公积金 deposit proofs) and their
//! public verification, against the simulator over real HTTP on 127.0.0.1: whose they are, what
//! they say, idempotency, refusals, the verification budget, and the `wrong_holder` and `late`
//! faults.

mod support;

use bianmin::cloud::api::*;
use bianmin::cloud::{CloudClient, CloudError, ResidentToken};
use bianmin::cloud_sim::{CloudSim, Fault};
use chrono::{DateTime, Datelike, FixedOffset, Months};
use std::time::{Duration, Instant};

const CODE: &str = "TEST-ENROL-DOCS";
// Demo residents by picker position (from 0 here).
const ZHANG: usize = 0;
const LI: usize = 1;
const WANG: usize = 2;
const CHEN: usize = 3;

async fn sim(dir: &tempfile::TempDir) -> CloudSim {
    support::cloud::sim(dir.path(), CODE).await
}

async fn enrolled(sim: &CloudSim) -> CloudClient {
    enrolled_with_token(sim).await.0
}

async fn enrolled_with_token(sim: &CloudSim) -> (CloudClient, String) {
    let (c, e) = support::cloud::enrolled(sim, "T-DOCS", Duration::from_secs(10)).await;
    (c, e.device_token)
}

/// The whole identity session (token, session id, masked summary) for a demo resident. The card
/// is read as long-term valid, so the resident with the expired card can be asked too.
async fn session(c: &CloudClient, resident: usize) -> (ResidentToken, IdentitySession) {
    support::cloud::identity(c, resident, true).await
}

fn problem(e: CloudError) -> (u16, String) {
    match e {
        CloudError::Problem(p) => (p.status, p.code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

fn now() -> DateTime<FixedOffset> {
    chrono::Utc::now().with_timezone(&bianmin::cloud_sim::CST)
}

/// `YYYY-MM`, `back` months before this one.
fn month_back(back: u32) -> String {
    let d = now().date_naive().with_day(1).unwrap() - Months::new(back);
    format!("{:04}-{:02}", d.year(), d.month())
}

fn contribution(from: &str, to: &str) -> CertificateRequest {
    CertificateRequest {
        kind: CertificateKind::Contribution,
        from: from.into(),
        to: to.into(),
    }
}

/// Columns on 80 mm paper: 48 half-width characters a line (CJK and the dash count two).
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn fits_80mm(t: &DocumentTable, lang_zh: bool) {
    let n = t.columns.len();
    let mut widest = vec![0usize; n];
    for (i, c) in t.columns.iter().enumerate() {
        widest[i] = width(if lang_zh { &c.zh } else { &c.en });
    }
    for row in t.rows.iter().chain(t.total.iter()) {
        assert_eq!(row.len(), n, "every row has a cell per column: {row:?}");
        for (i, cell) in row.iter().enumerate() {
            widest[i] = widest[i].max(width(cell));
        }
    }
    let line = widest.iter().sum::<usize>() + (n - 1);
    assert!(line <= 48, "{line} columns wide: {widest:?} {t:?}");
}

/// What every document must say about whose it is and what it answers.
fn names_its_owner(c: &Certificate, who: &IdentitySession, name: &str, key: &str, sim: &CloudSim) {
    assert_eq!(c.holder.name, name);
    assert_eq!(
        c.holder.name_masked, who.resident.name_masked,
        "the session's masking"
    );
    assert_eq!(
        c.holder.id_masked, who.resident.id_masked,
        "the session's masking"
    );
    assert_eq!(c.request_id, key);
    assert_eq!(c.session_id, who.session_id);
    assert_eq!(
        c.verify_url,
        format!(
            "{}/v1/certificates/{}?verify_code={}",
            sim.url(),
            c.certificate_no,
            c.verify_code
        )
    );
    assert!(c.verify_url.is_ascii());
    let issued = DateTime::parse_from_rfc3339(&c.issued_at).unwrap();
    let until = DateTime::parse_from_rfc3339(&c.valid_until).unwrap();
    assert!(c.issued_at.ends_with("+08:00"));
    assert_eq!(until, issued.checked_add_months(Months::new(3)).unwrap());
    assert!((now() - issued).num_seconds().abs() < 60);
    let t = c.table.as_ref().expect("a table");
    fits_80mm(t, true);
    fits_80mm(t, false);
    assert!(!c.lines.is_empty());
}

#[tokio::test]
async fn each_document_names_its_holder_request_and_session() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let (me, who) = session(&c, LI).await;
    assert!(who.session_id.starts_with("ses_"));
    assert_ne!(
        who.session_id, who.session_token,
        "the id is not the credential"
    );

    // 社保 缴费证明: a calendar year at one employer and base is one row.
    let year = c
        .submit(&contribution("2024-01", "2024-12"), Some(&me), "si-2024")
        .await
        .unwrap();
    assert_eq!(year.kind, DocumentKind::SocialInsuranceCertificate);
    names_its_owner(&year, &who, "李秀英", "si-2024", &sim);
    let t = year.table.as_ref().unwrap();
    assert_eq!(t.columns[1].zh, "险种");
    assert_eq!(
        t.rows,
        vec![vec![
            "2024-01—2024-12".to_string(),
            "养医失工生".into(),
            "12".into(),
            t.rows[0][3].clone()
        ]]
    );
    assert!(t.rows[0][3].ends_with(".00") && t.rows[0][3].len() >= 7);
    assert_eq!(t.total.as_ref().unwrap()[2], "12");

    // Across the 断缴 and the change of employer.
    let gap = c
        .submit(&contribution("2018-07", "2020-06"), Some(&me), "si-gap")
        .await
        .unwrap();
    let rows: Vec<&str> = gap
        .table
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(
        rows,
        [
            "2018-07—2018-12",
            "2019-01—2019-02",
            "2019-09—2019-12",
            "2020-01—2020-06"
        ]
    );
    let line = |c: &Certificate, zh: &str| {
        c.lines
            .iter()
            .find(|l| l.label.zh == zh)
            .unwrap_or_else(|| panic!("no line {zh}: {:?}", c.lines))
            .value
            .clone()
    };
    assert_eq!(line(&gap, "期间断缴"), "2019-03—2019-08");
    assert_eq!(line(&gap, "期间缴费月数"), "18");
    assert_eq!(gap.table.as_ref().unwrap().total.as_ref().unwrap()[2], "18");
    // The summary and the records agree with the paper.
    let summary = c.social_insurance_summary(&me).await.unwrap();
    assert_eq!(
        summary.gaps,
        vec![MonthSpan {
            from: "2019-03".into(),
            to: "2019-08".into()
        }]
    );
    assert_eq!(summary.status, SchemeStatus::Contributing);
    assert!(summary
        .schemes
        .iter()
        .all(|s| s.status == SchemeStatus::Contributing));
    assert_eq!(summary.last_paid_month, month_back(1));
    assert_eq!(summary.insured_place, "成都市武侯区");
    let records = c
        .social_insurance_records(&me, "2018-07", "2020-06")
        .await
        .unwrap()
        .records;
    assert_eq!(records.len(), 18 * 5, "one per month per 险种");
    assert!(records
        .iter()
        .all(|r| r.month.as_str() < "2019-03" || r.month.as_str() > "2019-08"));
    let employers: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.employer.as_str()).collect();
    assert_eq!(employers.len(), 2, "an employer change: {employers:?}");
    let personal: i64 = records.iter().map(|r| r.personal_fen).sum();
    assert_eq!(
        line(&gap, "个人缴费合计(元)"),
        format!("{}.{:02}", personal / 100, personal % 100)
    );

    // 参保证明: one row per 险种.
    let part = c
        .submit(
            &CertificateRequest {
                kind: CertificateKind::Participation,
                from: "2024-01".into(),
                to: "2024-12".into(),
            },
            Some(&me),
            "si-part",
        )
        .await
        .unwrap();
    names_its_owner(&part, &who, "李秀英", "si-part", &sim);
    assert_ne!(part.title, year.title);
    let schemes: Vec<&str> = part
        .table
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(schemes, ["养老", "医疗", "失业", "工伤", "生育"]);

    // 医保 对账单: the period's transactions, with a total line.
    let (from, to) = (month_back(3), month_back(1));
    let st = c
        .submit(
            &StatementRequest {
                from: from.clone(),
                to: to.clone(),
            },
            Some(&me),
            "mi-1",
        )
        .await
        .unwrap();
    assert_eq!(st.kind, DocumentKind::MedicalStatement);
    names_its_owner(&st, &who, "李秀英", "mi-1", &sim);
    let txs = c
        .medical_transactions(&me, &from, &to)
        .await
        .unwrap()
        .transactions;
    let t = st.table.as_ref().unwrap();
    assert_eq!(t.rows.len(), txs.len());
    assert!(!txs.is_empty());
    let yuan = |f: i64| format!("{}.{:02}", f / 100, f % 100);
    for (row, tx) in t.rows.iter().zip(&txs) {
        assert!(row[0].len() == 5 || row[0].len() == 10, "MM-DD: {row:?}");
        assert!(tx.time[5..].starts_with(&row[0][row[0].len() - 5..]));
        assert!(["门诊", "住院", "药店"].contains(&row[1].as_str()));
        assert_eq!(row[2], yuan(tx.total_fen));
        assert_eq!(row[3], yuan(tx.fund_paid_fen));
        assert_eq!(row[4], yuan(tx.self_paid_fen));
    }
    let total = t.total.as_ref().unwrap();
    assert_eq!(total[2], yuan(txs.iter().map(|t| t.total_fen).sum()));

    // 公积金 缴存证明: the last twelve deposits.
    let hf = c
        .submit(
            &DepositProofRequest {
                purpose: ProofPurpose::Loan,
            },
            Some(&me),
            "hf-1",
        )
        .await
        .unwrap();
    assert_eq!(hf.kind, DocumentKind::HousingFundProof);
    names_its_owner(&hf, &who, "李秀英", "hf-1", &sim);
    let t = hf.table.as_ref().unwrap();
    assert_eq!(t.rows.len(), 12);
    assert_eq!(t.rows.last().unwrap()[0], month_back(1));
    let acct = c.housing_fund_account(&me).await.unwrap();
    assert_eq!(acct.status, HousingFundStatus::Normal);
    assert_eq!(t.rows.last().unwrap()[3], yuan(acct.monthly_deposit_fen));
    assert_eq!(
        acct.personal_deposit_fen + acct.employer_deposit_fen,
        acct.monthly_deposit_fen
    );

    // Another resident's session gets their own holder.
    let (him, his) = session(&c, WANG).await;
    let other = c
        .submit(&contribution("2024-01", "2024-12"), Some(&him), "si-wang")
        .await
        .unwrap();
    names_its_owner(&other, &his, "王小明", "si-wang", &sim);
    assert_ne!(other.holder, year.holder);
}

#[tokio::test]
async fn a_repeated_key_returns_the_same_document() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let (me, _) = session(&c, LI).await;
    let req = contribution("2025-01", "2025-06");
    let first = c.submit(&req, Some(&me), "same-key").await.unwrap();
    let again = c.submit(&req, Some(&me), "same-key").await.unwrap();
    assert_eq!(first.certificate_no, again.certificate_no);
    assert_eq!(first.verify_code, again.verify_code);
    assert_eq!(sim.count("certificates"), 1);
    // Another request, or the same request from another session, under that key is refused.
    let other = contribution("2025-01", "2025-07");
    assert_eq!(
        problem(c.submit(&other, Some(&me), "same-key").await.unwrap_err()),
        (422, "idempotency_key_reused".into())
    );
    let (me_again, _) = session(&c, LI).await;
    assert_eq!(
        problem(
            c.submit(&req, Some(&me_again), "same-key")
                .await
                .unwrap_err()
        ),
        (422, "idempotency_key_reused".into())
    );
    assert_eq!(sim.count("certificates"), 1);
}

#[tokio::test]
async fn periods_without_records_and_residents_without_accounts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let (me, _) = session(&c, LI).await;
    // Before insured_since (2008-07): nothing was paid.
    let e = c
        .submit(&contribution("2000-01", "2008-06"), Some(&me), "early")
        .await
        .unwrap_err();
    assert_eq!(problem(e), (422, "no_records_in_period".into()));
    // Inside the 断缴 only.
    let e = c
        .submit(&contribution("2019-03", "2019-08"), Some(&me), "gap")
        .await
        .unwrap_err();
    assert_eq!(problem(e), (422, "no_records_in_period".into()));
    let e = c
        .submit(
            &StatementRequest {
                from: "2019-03".into(),
                to: "2019-08".into(),
            },
            Some(&me),
            "mi-gap",
        )
        .await
        .unwrap_err();
    assert_eq!(
        problem(e),
        (422, "no_records_in_period".into()),
        "no medical cover while nothing was paid"
    );
    assert_eq!(sim.count("certificates"), 0);
    // A refusal keeps nothing: the key is still free.
    c.submit(&contribution("2010-01", "2010-12"), Some(&me), "early")
        .await
        .unwrap();

    // Too long a period; a month that is not one.
    let e = c
        .social_insurance_records(&me, "2010-01", "2020-01")
        .await
        .unwrap_err();
    assert_eq!(problem(e), (422, "range_too_long".into()));
    c.social_insurance_records(&me, "2010-01", "2019-12")
        .await
        .unwrap();
    let e = c
        .submit(
            &StatementRequest {
                from: "2025-01".into(),
                to: "2026-01".into(),
            },
            Some(&me),
            "mi-long",
        )
        .await
        .unwrap_err();
    assert_eq!(problem(e), (422, "range_too_long".into()));
    let e = c
        .medical_transactions(&me, "2025-13", "2026-01")
        .await
        .unwrap_err();
    assert_eq!(problem(e), (400, "invalid_request".into()));

    // 陈美华 never had a housing fund account.
    let (chen, _) = session(&c, CHEN).await;
    assert_eq!(
        problem(c.housing_fund_account(&chen).await.unwrap_err()),
        (404, "no_account".into())
    );
    let e = c
        .submit(
            &DepositProofRequest {
                purpose: ProofPurpose::Rental,
            },
            Some(&chen),
            "hf-chen",
        )
        .await
        .unwrap_err();
    assert_eq!(problem(e), (404, "no_account".into()));
}

#[tokio::test]
async fn the_demo_residents_records_differ_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    // 张建国: retired, 城乡居民 medical insurance, a sealed housing fund.
    let (zhang, _) = session(&c, ZHANG).await;
    let si = c.social_insurance_summary(&zhang).await.unwrap();
    assert_eq!(si.status, SchemeStatus::Retired);
    let pension = si
        .schemes
        .iter()
        .find(|s| s.scheme == Scheme::Pension)
        .unwrap();
    assert_eq!(pension.status, SchemeStatus::Retired);
    let mi = c.medical_account(&zhang).await.unwrap();
    assert_eq!(mi.insured_type, MedicalInsuredType::Resident);
    assert!(mi.outpatient_pool_used_fen <= mi.outpatient_pool_limit_fen);
    assert!(mi.outpatient_pool_limit_fen > 0);
    let hf = c.housing_fund_account(&zhang).await.unwrap();
    assert_eq!(hf.status, HousingFundStatus::Sealed);
    assert_eq!(hf.monthly_deposit_fen, 0);
    // Several settled transactions a month, of several kinds and places; amounts add up.
    let txs = c
        .medical_transactions(&zhang, &month_back(6), &month_back(1))
        .await
        .unwrap()
        .transactions;
    assert!(txs.len() >= 6 * 2, "{}", txs.len());
    let places: std::collections::BTreeSet<&str> =
        txs.iter().map(|t| t.institution.as_str()).collect();
    assert!(places.len() >= 3);
    assert!(txs.iter().any(|t| t.kind == MedicalKind::Outpatient));
    assert!(txs.iter().any(|t| t.kind == MedicalKind::Pharmacy));
    assert!(txs
        .iter()
        .all(|t| t.total_fen == t.fund_paid_fen + t.self_paid_fen));
    assert!(txs.windows(2).all(|w| w[0].time <= w[1].time));
    let again = c
        .medical_transactions(&zhang, &month_back(6), &month_back(1))
        .await
        .unwrap()
        .transactions;
    assert_eq!(txs, again, "deterministic");
    // The retiree has no contributions to certify in recent years.
    let e = c
        .submit(
            &contribution(&month_back(12), &month_back(1)),
            Some(&zhang),
            "z",
        )
        .await
        .unwrap_err();
    assert_eq!(problem(e), (422, "no_records_in_period".into()));
    // 陈美华: a retired employee of the employee medical scheme.
    let (chen, _) = session(&c, CHEN).await;
    let mi = c.medical_account(&chen).await.unwrap();
    assert_eq!(mi.insured_type, MedicalInsuredType::RetiredEmployee);
    // 王小明: two employers.
    let (wang, _) = session(&c, WANG).await;
    let recs = c
        .social_insurance_records(&wang, "2022-01", "2023-12")
        .await
        .unwrap()
        .records;
    let employers: std::collections::BTreeSet<&str> =
        recs.iter().map(|r| r.employer.as_str()).collect();
    assert_eq!(employers.len(), 2);
}

async fn verify_raw(sim: &CloudSim, no: &str, code: &str) -> reqwest::Response {
    // No device token: anyone holding the paper may ask.
    reqwest::Client::new()
        .get(format!(
            "{}/v1/certificates/{no}?verify_code={code}",
            sim.url()
        ))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn verification_tells_only_the_holder_of_the_right_code() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let (me, who) = session(&c, LI).await;
    let cert = c
        .submit(&contribution("2024-01", "2024-12"), Some(&me), "v-1")
        .await
        .unwrap();
    let public = CloudClient::new(&sim.url(), Duration::from_secs(5)).unwrap();
    let v = public
        .verify_certificate(&cert.certificate_no, &cert.verify_code)
        .await
        .unwrap();
    assert_eq!(
        v,
        CertificateVerification {
            valid: true,
            kind: Some(DocumentKind::SocialInsuranceCertificate),
            holder_name_masked: Some(who.resident.name_masked.clone()),
            holder_id_masked: Some(who.resident.id_masked.clone()),
            issued_at: Some(cert.issued_at.clone()),
            valid_until: Some(cert.valid_until.clone()),
        }
    );
    // The printed URL itself works, as a phone scanning the QR would use it.
    let r = reqwest::get(&cert.verify_url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<CertificateVerification>().await.unwrap(), v);
    // A typed code may be in small letters.
    let lower = public
        .verify_certificate(&cert.certificate_no, &cert.verify_code.to_lowercase())
        .await
        .unwrap();
    assert!(lower.valid);

    // A wrong code and an unknown number: `{"valid":false}` and nothing else.
    let wrong = if cert.verify_code.starts_with('A') {
        "BBBBBBBB"
    } else {
        "AAAAAAAA"
    };
    let unknown = "SB2026999999";
    for (no, code) in [
        (cert.certificate_no.as_str(), wrong),
        (unknown, cert.verify_code.as_str()),
    ] {
        let r = verify_raw(&sim, no, code).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"valid": false}), "{no} {code}");
        let v = public.verify_certificate(no, code).await.unwrap();
        assert!(!v.valid && v.kind.is_none() && v.holder_name_masked.is_none());
    }
    // A missing code is a bad request, not an answer.
    let r = reqwest::get(format!(
        "{}/v1/certificates/{}",
        sim.url(),
        cert.certificate_no
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn too_many_wrong_codes_are_refused_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let (me, _) = session(&c, WANG).await;
    let cert = c
        .submit(&contribution("2024-01", "2024-12"), Some(&me), "rl-1")
        .await
        .unwrap();
    let no = cert.certificate_no.as_str();
    for i in 0..10 {
        let r = verify_raw(&sim, no, &format!("WR0NG{i:03}")).await;
        assert_eq!(r.status(), 200, "attempt {i}");
    }
    for code in ["WRONGXXX", cert.verify_code.as_str()] {
        let r = verify_raw(&sim, no, code).await;
        assert_eq!(r.status(), 429, "locked, even for the right code");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=600).contains(&retry), "{retry}");
        let p: Problem = r.json().await.unwrap();
        assert_eq!((p.status, p.code.as_str()), (429, "rate_limited"));
    }
    let public = CloudClient::new(&sim.url(), Duration::from_secs(5)).unwrap();
    let e = public
        .verify_certificate(no, &cert.verify_code)
        .await
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(problem(e), (429, "rate_limited".into()));

    // Another paper still answers, until this address has spent its own budget on guesses.
    let other = c
        .submit(&contribution("2023-01", "2023-12"), Some(&me), "rl-2")
        .await
        .unwrap();
    assert!(
        public
            .verify_certificate(&other.certificate_no, &other.verify_code)
            .await
            .unwrap()
            .valid
    );
    let mut refused_at = None;
    for i in 0..100 {
        let r = verify_raw(&sim, &format!("ZZ{i:010}"), "AAAAAAAA").await;
        if r.status() == 429 {
            refused_at = Some(i);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    // 11 wrong codes went before (10 answered, the 11th refused and not counted).
    assert_eq!(refused_at, Some(60 - 10), "the per-address budget");
    let r = verify_raw(&sim, &other.certificate_no, &other.verify_code).await;
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn the_wrong_holder_fault_answers_someone_elses_document() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let (wang, wang_who) = session(&c, WANG).await;
    let earlier = c
        .submit(&contribution("2024-01", "2024-06"), Some(&wang), "wang-si")
        .await
        .unwrap();
    let (me, who) = session(&c, LI).await;
    sim.set_fault(Fault::WrongHolder);
    // Other calls work as ever.
    assert_eq!(
        c.social_insurance_summary(&me).await.unwrap().insured_place,
        "成都市武侯区"
    );

    let si = c
        .submit(&contribution("2024-01", "2024-12"), Some(&me), "li-si")
        .await
        .unwrap();
    assert_eq!(si.kind, DocumentKind::SocialInsuranceCertificate);
    assert_eq!(
        si.certificate_no, earlier.certificate_no,
        "the last one issued to someone else"
    );
    assert_eq!(si.holder.name_masked, wang_who.resident.name_masked);
    assert_ne!(si.holder.id_masked, who.resident.id_masked);
    assert_ne!(si.request_id, "li-si");
    assert_ne!(si.session_id, who.session_id);

    // No earlier statement or proof of anyone else: fresh ones for another resident.
    let st = c
        .submit(
            &StatementRequest {
                from: month_back(2),
                to: month_back(1),
            },
            Some(&me),
            "li-mi",
        )
        .await
        .unwrap();
    let hf = c
        .submit(
            &DepositProofRequest {
                purpose: ProofPurpose::Other,
            },
            Some(&me),
            "li-hf",
        )
        .await
        .unwrap();
    for (doc, kind, key) in [
        (&st, DocumentKind::MedicalStatement, "li-mi"),
        (&hf, DocumentKind::HousingFundProof, "li-hf"),
    ] {
        assert_eq!(doc.kind, kind);
        assert_ne!(doc.holder.id_masked, who.resident.id_masked, "{kind:?}");
        assert_ne!(doc.holder.name, "李秀英");
        assert_ne!(doc.request_id, key);
        assert_ne!(doc.session_id, who.session_id);
        assert!(!doc.certificate_no.is_empty() && doc.verify_url.is_ascii());
        // It is a real document of its holder's: it verifies as theirs.
        let v = c
            .verify_certificate(&doc.certificate_no, &doc.verify_code)
            .await
            .unwrap();
        assert!(v.valid);
        assert_eq!(
            v.holder_id_masked.as_deref(),
            Some(doc.holder.id_masked.as_str())
        );
    }

    // Her own documents were issued all the same: with the fault gone, the same keys answer them.
    sim.set_fault(Fault::None);
    let own = c
        .submit(&contribution("2024-01", "2024-12"), Some(&me), "li-si")
        .await
        .unwrap();
    assert_eq!(own.holder.name, "李秀英");
    assert_eq!(own.request_id, "li-si");
    assert_eq!(own.session_id, who.session_id);
    assert_ne!(own.certificate_no, si.certificate_no);
}

#[tokio::test]
async fn the_late_fault_delays_documents_only() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (c, token) = enrolled_with_token(&sim).await;
    let (me, who) = session(&c, LI).await;
    sim.set_fault("late:1500".parse().unwrap());

    let started = Instant::now();
    c.social_insurance_summary(&me).await.unwrap();
    c.catalog().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "others answer at once"
    );

    let started = Instant::now();
    let doc = c
        .submit(&contribution("2024-01", "2024-12"), Some(&me), "late-1")
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(doc.request_id, "late-1");
    assert_eq!(doc.session_id, who.session_id);

    // A kiosk that gives up first retries with the same key and gets the one document made.
    let impatient = CloudClient::new(&sim.url(), Duration::from_millis(400)).unwrap();
    impatient.set_device_token(&token);
    let proof = DepositProofRequest {
        purpose: ProofPurpose::Loan,
    };
    let e = impatient
        .submit(&proof, Some(&me), "late-2")
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::Timeout(400)), "{e:?}");
    let retried = c.submit(&proof, Some(&me), "late-2").await.unwrap();
    assert_eq!(retried.request_id, "late-2");
    assert_eq!(
        sim.count("certificates"),
        2,
        "made once, while the first call waited"
    );
    sim.set_fault(Fault::None);
    let started = Instant::now();
    let again = c.submit(&proof, Some(&me), "late-2").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(700));
    assert_eq!(again.certificate_no, retried.certificate_no);
}

#[tokio::test]
async fn a_standalone_simulator_takes_faults_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let http = reqwest::Client::new();
    let put = |body: &'static str| {
        http.put(format!("{}/_sim/fault", sim.url()))
            .body(body)
            .send()
    };
    assert_eq!(put("error").await.unwrap().status(), 204);
    assert!(c.catalog().await.is_err(), "the fault is on");
    // The control itself is never faulted, so the fault can be lifted.
    assert_eq!(put("none").await.unwrap().status(), 204);
    c.catalog().await.unwrap();
    for bad in ["down", "bogus", "late:x"] {
        let r = put(bad).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let p: Problem = r.json().await.unwrap();
        assert_eq!(p.code, "invalid_request");
    }
    assert_eq!(put("late:200").await.unwrap().status(), 204);
    let (me, _) = session(&c, LI).await;
    let started = Instant::now();
    c.submit(&contribution("2024-01", "2024-03"), Some(&me), "http-late")
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
}
