//! What the kiosk makes of cloud answers, malformed ones included. Property tests throw
//! arbitrary statuses, content types and bodies at the real client over HTTP on 127.0.0.1 and
//! check the exact outcome; the response types are checked against contract examples
//! (docs/openapi.yaml: required and optional fields, extra fields tolerated) and for a lossless
//! serialise/decode round trip, which the simulator relies on (it answers with these types).
//! Bounded in cases.
//!
//! The client's mapping (src/cloud/client.rs `finish`, src/cloud/error.rs):
//! - 2xx: the body (`null` when 204 or empty) decodes as the answer type → `Ok`; otherwise
//!   `CloudError::Malformed`. The content type is not looked at.
//! - any other final status with `Content-Type: application/problem+json` and a body that parses
//!   as a `Problem` → `CloudError::Problem`, whose `status` is the HTTP status.
//! - any other final status without both → `CloudError::Malformed`.
//! - no readable HTTP answer at all → `Unreachable` / `Timeout` (transport), never `Ok`.

use bianmin::cloud::api::*;
use bianmin::cloud::{CloudClient, CloudError};
use proptest::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("ticket_no"),
            Just("status"),
            Just("received"),
            Just("code"),
            Just("")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("ticket_no".to_string()),
                    Just("business".to_string()),
                    Just("waiting_ahead".to_string()),
                    Just("estimated_wait_min".to_string()),
                    Just("issued_at".to_string()),
                    Just("cases".to_string()),
                    Just("code".to_string()),
                    Just("status".to_string()),
                    Just("title".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---- Response types: contract examples, optionality, round trip ----

/// A valid answer of type `T` per docs/openapi.yaml, and its top-level fields the contract
/// leaves optional.
struct Example {
    name: &'static str,
    value: Value,
    optional: &'static [&'static str],
    check: fn(&Value) -> Result<(), String>,
}

fn decodes<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(v.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// If `v` decodes as `T`, serialising the value and decoding it again gives the same value:
/// what the simulator serialises, the client reads back unchanged.
fn round_trips<T: Serialize + DeserializeOwned>(v: &Value) -> Result<bool, String> {
    let Ok(t) = serde_json::from_value::<T>(v.clone()) else {
        return Ok(false);
    };
    let w = serde_json::to_value(&t).map_err(|e| format!("does not serialise: {e}"))?;
    let t2 = serde_json::from_value::<T>(w.clone())
        .map_err(|e| format!("its own serialisation {w} does not decode: {e}"))?;
    let w2 = serde_json::to_value(&t2).map_err(|e| e.to_string())?;
    if w != w2 {
        return Err(format!("round trip changed {w} into {w2}"));
    }
    Ok(true)
}

macro_rules! example {
    ($t:ty, $optional:expr, $value:expr) => {
        Example {
            name: stringify!($t),
            value: $value,
            optional: $optional,
            check: decodes::<$t>,
        }
    };
}

fn text() -> Value {
    json!({"zh": "中文", "en": "English"})
}

fn examples() -> Vec<Example> {
    let t = text();
    let at = "2026-11-29T10:00:00+08:00";
    let cert = json!({"certificate_no": "SB2026000001", "kind": "social_insurance_certificate",
        "verify_code": "ABCD2345",
        "verify_url": "https://zwfw.example.gov.cn/v1/certificates/SB2026000001?verify_code=ABCD2345",
        "title": t, "holder": {"name": "李秀英", "name_masked": "李*英", "id_masked": "510107********0421"},
        "request_id": "k1", "session_id": "s1",
        "issued_at": at, "valid_until": "2027-02-28T23:59:59+08:00",
        "lines": [{"label": t, "value": "v"}],
        "table": {"columns": [t], "rows": [["2026-01"]], "total": ["1"]}});
    vec![
        example!(
            EnrollResponse,
            &[],
            json!({"device_id": "kiosk-0001", "device_token": "dev_x",
            "site": {"street_office": "s", "community": "c", "hall_id": "h", "address": "a"}})
        ),
        example!(
            HeartbeatResponse,
            &[],
            json!({"server_time": at,
            "commands": [{"id": "cmd_1", "command": "reload_catalog"},
                         {"id": "cmd_2", "command": "run_selftest", "argument": null, "issued_at": null},
                         {"id": "cmd_3", "command": "upload_logs", "argument": "200", "issued_at": at}]})
        ),
        example!(
            Catalog,
            &[],
            json!({"version": "2026.11.1",
            "services": [{"code": "social_insurance", "name": t, "enabled": true, "requires_identity": true}],
            "notices": [{"id": "n1", "title": t, "body": t}]})
        ),
        example!(
            IdentitySession,
            &[],
            json!({"session_token": "rs_x", "session_id": "ses_x", "expires_at": at,
            "resident": {"name_masked": "张*国", "id_masked": "510108********1234", "age": 76, "elderly": true}})
        ),
        example!(
            SocialInsuranceSummary,
            &[],
            json!({"status": "contributing", "insured_since": "2005-07",
            "employer": "e", "insured_place": "p", "contribution_months": 120, "last_paid_month": "2026-10",
            "monthly_base_fen": 520000, "pension_account_fen": 1560000,
            "schemes": [{"scheme": "pension", "status": "contributing"}],
            "gaps": [{"from": "2019-03", "to": "2019-08"}]})
        ),
        example!(
            ContributionRecords,
            &[],
            json!({"records": [{"month": "2026-01", "scheme": "work_injury", "employer": "e",
            "base_fen": 520000, "personal_fen": 41600, "employer_fen": 83200}]})
        ),
        example!(Certificate, &["table"], cert.clone()),
        example!(
            CertificateVerification,
            &[
                "kind",
                "holder_name_masked",
                "holder_id_masked",
                "issued_at",
                "valid_until"
            ],
            json!({"valid": true, "kind": "medical_statement", "holder_name_masked": "李*英",
            "holder_id_masked": "510107********0421", "issued_at": at, "valid_until": at})
        ),
        example!(
            MedicalAccount,
            &[],
            json!({"status": "active", "insured_type": "resident", "insured_place": "p",
            "balance_fen": 123456, "year_credited_fen": 240000, "year_spent_fen": 36500,
            "outpatient_pool_used_fen": 1000, "outpatient_pool_limit_fen": 50000})
        ),
        example!(
            MedicalTransactions,
            &[],
            json!({"transactions": [{"time": at, "institution": "i",
            "kind": "outpatient", "total_fen": 8000, "fund_paid_fen": 5600, "self_paid_fen": 2400}]})
        ),
        example!(
            HousingFundAccount,
            &[],
            json!({"account_no_masked": "5101********2300", "status": "sealed",
            "employer": "e", "balance_fen": 4567800, "monthly_deposit_fen": 104000,
            "personal_deposit_fen": 52000, "employer_deposit_fen": 52000, "base_fen": 433300,
            "last_deposit_month": "2026-10"})
        ),
        example!(
            BillList,
            &[],
            json!({"utility": "water", "account": "20010001", "holder_masked": "张*国",
            "address": "建设南路18号***", "payee": t,
            "bills": [{"bill_id": "W20010001-202611", "period": "2026-11", "usage": 12,
            "usage_unit": "m3", "amount_fen": 4140, "due_date": "2026-12-25", "status": "unpaid"}]})
        ),
        example!(
            UtilityAccounts,
            &[],
            json!({"accounts": [{"utility": "water", "account": "20010001",
            "address_masked": "建设南路18号***"}]})
        ),
        example!(
            Payment,
            &["paid_at", "channel", "receipt_no", "refund"],
            json!({"payment_id": "PAY2026000001", "status": "paid", "utility": "water",
            "account": "20010001", "payee": t,
            "bills": [{"bill_id": "W20010001-202611", "period": "2026-11", "usage": 12,
            "usage_unit": "m3", "amount_fen": 4140, "due_date": "2026-12-25", "status": "unpaid"}],
            "amount_fen": 4140, "qr_payload": "https://pay.example.gov.cn/p/PAY2026000001",
            "expires_at": at, "paid_at": at, "channel": "wechat", "receipt_no": "RC2026000001",
            "refund": {"amount_fen": 4140, "reason": "bill_already_paid", "refunded_at": at}})
        ),
        example!(
            HouseholdCertificateTypes,
            &["addresses"],
            json!({"types": [{"code": "household_proof", "name": t, "requirement": t,
            "materials": [t], "fee_fen": 0, "processing_days": 3, "pickup": ["window", "mail"],
            "eligibility": {"eligible": false, "reason": t}}],
            "addresses": ["四川省成都市成华区建设路街道建设南路18号"]})
        ),
        example!(
            ApplicationReceipt,
            &[],
            json!({"case_no": "BM2026000001", "query_code": "123456",
            "promised_date": "2026-12-09", "pickup": "locker", "pickup_place": t,
            "progress_url": "https://zwfw.example.gov.cn/v1/cases/BM2026000001/progress?query_code=123456"})
        ),
        example!(
            CaseReceipt,
            &[],
            json!({"case_no": "BM2026000001", "query_code": "ABCD2345"})
        ),
        example!(
            Vec<HallQueue>,
            &[],
            json!([{"business": "social", "name": t, "waiting": 5,
            "estimated_wait_min": 20}])
        ),
        example!(
            QueueTicket,
            &[],
            json!({"ticket_no": "A006", "business": "social", "waiting_ahead": 5,
            "estimated_wait_min": 20, "issued_at": at})
        ),
        example!(
            CaseList,
            &[],
            json!({"cases": [{"case_no": "SQ2026000100", "title": t,
            "status": "received", "updated_at": at}]})
        ),
        example!(
            CaseDetail,
            &[],
            json!({"case_no": "SQ2026000100", "title": t, "status": "completed",
            "updated_at": at, "history": [{"status": "received", "at": at}], "rating_allowed": true})
        ),
        example!(Rating, &[], json!({"case_no": "SQ2026000104", "score": 5})),
        example!(
            ServiceRating,
            &[],
            json!({"rating_id": "RT2026000001", "service": "utility_bills", "score": 2})
        ),
        example!(
            ReportCategories,
            &[],
            json!({"categories": [{"code": "noise", "kind": "appeal", "name": t}]})
        ),
        example!(
            AssistancePrograms,
            &[],
            json!({"programs": [{"code": "dibao", "name": t, "description": t,
            "conditions": [t], "income_limit_fen": 110000,
            "asks": ["household_size", "income_band", "phone", "financial_check_consent"]}]})
        ),
        example!(
            Eligibility,
            &[],
            json!({"program": "dibao", "verdict": "needs_review", "reasons": [t]})
        ),
        example!(
            AssistanceReceipt,
            &[],
            json!({"case_no": "BM2026000002", "query_code": "654321", "time_limit_days": 30,
            "next_steps": [t],
            "progress_url": "https://zwfw.example.gov.cn/v1/cases/BM2026000002/progress?query_code=654321"})
        ),
        example!(
            GuideList,
            &[],
            json!({"guides": [{"id": "g1", "title": t, "summary": t, "materials": [t],
            "window": "B 区 3 号窗口"}]})
        ),
        // The contract requires `type`; the client tolerates its absence (RFC 9457 defaults it).
        example!(
            Problem,
            &["type", "detail"],
            json!({"type": "about:blank", "title": "t", "status": 422,
            "code": "card_expired", "detail": "d"})
        ),
    ]
}

#[test]
fn every_response_type_takes_its_contract_example_and_refuses_what_the_contract_forbids() {
    for ex in examples() {
        let name = ex.name;
        (ex.check)(&ex.value).unwrap_or_else(|e| panic!("{name}: the example is refused: {e}"));
        // Answers may grow: an unknown field is ignored (the schemas allow additional properties).
        let mut grown = ex.value.clone();
        if let Some(o) = grown.as_object_mut() {
            o.insert("added_later".into(), json!({"any": ["thing"]}));
            (ex.check)(&grown).unwrap_or_else(|e| panic!("{name}: an added field is refused: {e}"));
        }
        let Some(fields) = ex.value.as_object() else {
            continue;
        };
        for key in fields.keys() {
            let mut without = ex.value.clone();
            without.as_object_mut().unwrap().remove(key);
            let optional = ex.optional.contains(&key.as_str());
            assert_eq!(
                (ex.check)(&without).is_ok(),
                optional,
                "{name}: without `{key}` the answer must be {}",
                if optional { "taken" } else { "refused" }
            );
            let mut wrong = ex.value.clone();
            wrong[key.as_str()] = json!({"not": "this"});
            assert!(
                (ex.check)(&wrong).is_err(),
                "{name}: `{key}` of the wrong shape must be refused"
            );
        }
    }
    // An undocumented case status is refused, not guessed.
    let mut v = json!({"case_no": "x", "title": text(), "status": "lost", "updated_at": "t"});
    assert!(decodes::<CaseSummary>(&v).is_err());
    v["status"] = json!("special");
    assert!(decodes::<CaseSummary>(&v).is_ok());
}

/// Every response type, for the round-trip property.
fn round_trip_all(v: &Value) -> Result<usize, String> {
    let mut decoded = 0;
    for ok in [
        round_trips::<EnrollResponse>(v),
        round_trips::<HeartbeatResponse>(v),
        round_trips::<Catalog>(v),
        round_trips::<IdentitySession>(v),
        round_trips::<SocialInsuranceSummary>(v),
        round_trips::<ContributionRecords>(v),
        round_trips::<Certificate>(v),
        round_trips::<CertificateVerification>(v),
        round_trips::<MedicalAccount>(v),
        round_trips::<MedicalTransactions>(v),
        round_trips::<HousingFundAccount>(v),
        round_trips::<BillList>(v),
        round_trips::<UtilityAccounts>(v),
        round_trips::<Payment>(v),
        round_trips::<HouseholdCertificateTypes>(v),
        round_trips::<ApplicationReceipt>(v),
        round_trips::<CaseReceipt>(v),
        round_trips::<Vec<HallQueue>>(v),
        round_trips::<QueueTicket>(v),
        round_trips::<CaseList>(v),
        round_trips::<CaseDetail>(v),
        round_trips::<Rating>(v),
        round_trips::<ServiceRating>(v),
        round_trips::<ReportCategories>(v),
        round_trips::<AssistancePrograms>(v),
        round_trips::<Eligibility>(v),
        round_trips::<AssistanceReceipt>(v),
        round_trips::<GuideList>(v),
        round_trips::<Problem>(v),
    ] {
        decoded += usize::from(ok?);
    }
    Ok(decoded)
}

#[test]
fn the_contract_examples_round_trip() {
    for ex in examples() {
        let n = round_trip_all(&ex.value).unwrap_or_else(|e| panic!("{}: {e}", ex.name));
        assert!(n >= 1, "{}: decodes as its own type", ex.name);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Arbitrary JSON is either refused or decoded losslessly, by every response type; never a
    /// panic.
    #[test]
    fn arbitrary_json_is_refused_or_decoded_losslessly(v in json()) {
        round_trip_all(&v).map_err(TestCaseError::fail)?;
    }

    /// Contract examples with arbitrary extra fields still decode, and round-trip.
    #[test]
    fn examples_with_extra_fields_still_decode(
        which in 0usize..24,
        extra in prop::collection::btree_map("[a-z_]{1,12}", json(), 0..4),
    ) {
        let examples = examples();
        let ex = &examples[which % examples.len()];
        let mut v = ex.value.clone();
        if let Some(o) = v.as_object_mut() {
            for (k, x) in extra {
                o.entry(k).or_insert(x);
            }
        }
        prop_assert!((ex.check)(&v).is_ok(), "{}: {v}", ex.name);
        prop_assert!(round_trip_all(&v).map_err(TestCaseError::fail)? >= 1);
    }
}

// ---- The client over HTTP ----

/// One canned HTTP answer on 127.0.0.1: reads the whole request (head and body), then answers
/// and closes, so no unread request bytes turn the close into a reset.
async fn serve_once(status: u16, content_type: &'static str, body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break;
                    }
                }
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
            let _ = s.shutdown().await;
        }
    });
    format!("http://{addr}")
}

fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(201),
        Just(204),
        Just(304),
        Just(400),
        Just(401),
        Just(404),
        Just(409),
        Just(422),
        Just(500),
        Just(503),
        100u16..600
    ]
}

fn problem_body() -> impl Strategy<Value = Vec<u8>> {
    (
        "[a-z_]{1,20}",
        prop_oneof![Just(422u16), Just(500), 0u16..1000],
        any::<bool>(),
    )
        .prop_map(|(code, status, typed)| {
            let mut p = json!({"title": "t", "status": status, "code": code});
            if typed {
                p["type"] = json!("about:blank");
            }
            p.to_string().into_bytes()
        })
}

fn ticket_body() -> impl Strategy<Value = Vec<u8>> {
    (0u32..100, 0u32..600).prop_map(|(ahead, wait)| {
        json!({"ticket_no": "A001", "business": "social", "waiting_ahead": ahead,
               "estimated_wait_min": wait, "issued_at": "2026-11-29T10:00:00+08:00"})
        .to_string()
        .into_bytes()
    })
}

/// What the client must make of `status` + `problem` content type + `body` (see the module doc).
#[derive(Debug, PartialEq)]
enum Expected {
    Ticket(QueueTicket),
    Problem(u16, String),
    Malformed,
    /// 1xx: not a final answer; the client must fail, never succeed or invent a problem.
    NoAnswer,
}

fn expected(status: u16, problem: bool, body: &[u8]) -> Expected {
    if status < 200 {
        return Expected::NoAnswer;
    }
    // HTTP gives 204 and 304 no body, whatever the server sends after the head.
    let body: &[u8] = if matches!(status, 204 | 304) || body.is_empty() {
        b""
    } else {
        body
    };
    if (200..300).contains(&status) {
        let decode: &[u8] = if body.is_empty() { b"null" } else { body };
        return match serde_json::from_slice::<QueueTicket>(decode) {
            Ok(t) => Expected::Ticket(t),
            Err(_) => Expected::Malformed,
        };
    }
    match serde_json::from_slice::<Problem>(body) {
        Ok(p) if problem => Expected::Problem(status, p.code),
        _ => Expected::Malformed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn the_client_maps_every_answer_exactly(
        status in statuses(),
        problem in any::<bool>(),
        body in prop_oneof![
            json().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..64),
            Just(b"{\"type\":\"about:blank\",\"title\":\"t\",\"status\":422,\"code\":\"card_expired\"}".to_vec()),
            problem_body(),
            ticket_body(),
        ],
    ) {
        let want = expected(status, problem, &body);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let ct = if problem { "application/problem+json" } else { "application/json" };
            let url = serve_once(status, ct, body).await;
            let c = CloudClient::new(&url, Duration::from_secs(2)).unwrap();
            let req = QueueTicketRequest { hall_id: "h".into(), business: "b".into(), priority: Priority::Normal };
            let got = c.create_queue_ticket(&req, None, "k").await;
            match (&want, got) {
                (Expected::Ticket(t), Ok(got)) => prop_assert_eq!(t, &got),
                (Expected::Problem(status, code), Err(CloudError::Problem(p))) => {
                    prop_assert_eq!(p.status, *status, "the HTTP status, not the body's");
                    prop_assert_eq!(&p.code, code);
                }
                (Expected::Malformed, Err(CloudError::Malformed(_))) => {}
                (Expected::NoAnswer, Err(e)) => prop_assert!(
                    !matches!(e, CloudError::Problem(_)),
                    "a 1xx is no problem answer: {:?}", e
                ),
                (want, got) => prop_assert!(false, "status {}: wanted {:?}, got {:?}", status, want, got),
            }
            Ok(())
        })?;
    }
}
