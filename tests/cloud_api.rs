//! The typed client against the simulator over real HTTP on 127.0.0.1: every area of the
//! contract, idempotency, problem+json mapping, and the injected faults.

mod support;

use bianmin::cloud::api::*;
use bianmin::cloud::{CloudClient, CloudError, ResidentToken};
use bianmin::cloud_sim::{CloudSim, Fault};
use bianmin_idcard::simulator::demo_residents;
use std::time::Duration;

const CODE: &str = "TEST-ENROL-1";

async fn sim(dir: &tempfile::TempDir) -> CloudSim {
    support::cloud::sim(dir.path(), CODE).await
}

async fn enrolled(sim: &CloudSim) -> (CloudClient, EnrollResponse) {
    support::cloud::enrolled(sim, "T-1", Duration::from_secs(3)).await
}

async fn session(c: &CloudClient, resident: usize) -> (ResidentToken, ResidentSummary) {
    let (token, s) = support::cloud::identity(c, resident, false).await;
    (token, s.resident)
}

fn problem_code(e: CloudError) -> (u16, String) {
    match e {
        CloudError::Problem(p) => (p.status, p.code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn enrolment_and_device_auth() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = CloudClient::new(&sim.url(), Duration::from_secs(3)).unwrap();
    let bad = c
        .enroll(&EnrollRequest {
            enrollment_code: "WRONG".into(),
            serial: "x".into(),
            model: "y".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(problem_code(bad), (403, "invalid_enrollment_code".into()));
    // No token yet: every device call is refused with problem details.
    assert_eq!(
        problem_code(c.catalog().await.unwrap_err()),
        (401, "unauthorized".into())
    );
    let (c, e) = enrolled(&sim).await;
    assert!(e.device_token.starts_with("dev_"));
    assert_eq!(e.site.hall_id, "chenghua-jianshelu");
    // The simulator's own code enrols one kiosk, once: a second kiosk with it is refused, and the
    // refusal names the code.
    let with_code = |serial: &str| EnrollRequest {
        enrollment_code: CODE.into(),
        serial: serial.into(),
        model: "test".into(),
    };
    let fresh = CloudClient::new(&sim.url(), Duration::from_secs(3)).unwrap();
    assert!(fresh.enroll(&with_code("T-first")).await.is_ok());
    match fresh.enroll(&with_code("T-second")).await.unwrap_err() {
        CloudError::Problem(p) => {
            assert_eq!((p.status, p.code.as_str()), (403, "enrollment_code_used"));
            assert!(p.title.contains(CODE), "{}", p.title);
        }
        other => panic!("expected a problem, got {other:?}"),
    }
    let cat = c.catalog().await.unwrap();
    let codes: Vec<&str> = cat.services.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(
        codes,
        SERVICE_CODES.to_vec(),
        "the eight service codes, in order"
    );
    let hb = c
        .heartbeat(&HeartbeatRequest {
            app_version: "0.1.0".into(),
            uptime_s: 5,
            printer: "ok".into(),
            card_reader: "ok".into(),
            pending_outbox: 0,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(hb.server_time.ends_with("+08:00"), "{}", hb.server_time);
}

#[tokio::test]
async fn identity_sessions_mask_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (c, _) = enrolled(&sim).await;
    let (token, who) = session(&c, 0).await;
    assert_eq!(who.name_masked, "张*国");
    assert!(who.id_masked.starts_with("510108********"));
    assert!(who.elderly && who.age >= 76);
    c.cases(&token).await.unwrap();
    c.revoke_identity_session(&token).await.unwrap();
    assert_eq!(
        problem_code(c.cases(&token).await.unwrap_err()),
        (401, "session_invalid".into())
    );

    // An expired card and a bad check digit are refused as such.
    let expired = &demo_residents()[4];
    let e = c
        .open_identity_session(&IdentitySessionRequest {
            card_type: "resident_id".into(),
            id_number: expired.id_number.as_str().into(),
            name: expired.name.clone(),
            valid_to: expired.valid_to.wire(),
        })
        .await
        .unwrap_err();
    assert_eq!(problem_code(e), (422, "card_expired".into()));
    let e = c
        .open_identity_session(&IdentitySessionRequest {
            card_type: "resident_id".into(),
            id_number: "110105194912310021".into(),
            name: "测试".into(),
            valid_to: "long-term".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(problem_code(e), (422, "invalid_id_number".into()));
}

#[tokio::test]
async fn queue_tickets_are_created_once_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (c, e) = enrolled(&sim).await;
    let queues = c.hall_queues(&e.site.hall_id).await.unwrap();
    assert!(queues.len() >= 4);
    let social = queues
        .iter()
        .find(|q| q.business == "social")
        .unwrap()
        .clone();
    let req = QueueTicketRequest {
        hall_id: e.site.hall_id.clone(),
        business: "social".into(),
        priority: Priority::Normal,
    };
    let t1 = c.create_queue_ticket(&req, None, "key-1").await.unwrap();
    let again = c.create_queue_ticket(&req, None, "key-1").await.unwrap();
    assert_eq!(t1, again, "same Idempotency-Key → the first answer");
    assert_eq!(sim.count("tickets"), 1);
    assert_eq!(t1.waiting_ahead, social.waiting);
    let t2 = c.create_queue_ticket(&req, None, "key-2").await.unwrap();
    assert_ne!(t1.ticket_no, t2.ticket_no);
    assert_eq!(t2.waiting_ahead, t1.waiting_ahead + 1);
    assert_eq!(sim.count("tickets"), 2);
    // Reusing a key for another request is refused, and creates nothing.
    let other = QueueTicketRequest {
        business: "household".into(),
        ..req.clone()
    };
    assert_eq!(
        problem_code(
            c.create_queue_ticket(&other, None, "key-1")
                .await
                .unwrap_err()
        ),
        (422, "idempotency_key_reused".into())
    );
    assert_eq!(sim.count("tickets"), 2);

    // Elderly priority needs the card of a resident aged 60+.
    let elderly = QueueTicketRequest {
        priority: Priority::Elderly,
        ..req.clone()
    };
    assert_eq!(
        problem_code(
            c.create_queue_ticket(&elderly, None, "key-3")
                .await
                .unwrap_err()
        ),
        (403, "priority_not_eligible".into())
    );
    let (young, _) = session(&c, 1).await;
    assert_eq!(
        problem_code(
            c.create_queue_ticket(&elderly, Some(&young), "key-4")
                .await
                .unwrap_err()
        ),
        (403, "priority_not_eligible".into())
    );
    let (old, _) = session(&c, 0).await;
    let t = c
        .create_queue_ticket(&elderly, Some(&old), "key-5")
        .await
        .unwrap();
    assert_eq!(t.waiting_ahead, 0);
    assert!(t.ticket_no.contains('V'));

    assert_eq!(
        problem_code(c.hall_queues("no-such-hall").await.unwrap_err()),
        (404, "unknown_hall".into())
    );
    let unknown = QueueTicketRequest {
        business: "karaoke".into(),
        ..req
    };
    assert_eq!(
        problem_code(
            c.create_queue_ticket(&unknown, None, "key-6")
                .await
                .unwrap_err()
        ),
        (404, "unknown_business".into())
    );
}

#[tokio::test]
async fn cases_move_through_the_back_office() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (c, _) = enrolled(&sim).await;
    let (me, _) = session(&c, 0).await;
    let list = c.cases(&me).await.unwrap();
    let statuses: Vec<CaseStatus> = list.cases.iter().map(|c| c.status).collect();
    assert!(
        statuses.contains(&CaseStatus::Received)
            && statuses.contains(&CaseStatus::Reviewing)
            && statuses.contains(&CaseStatus::Rejected)
    );
    let (other, _) = session(&c, 1).await;
    let all_statuses: Vec<CaseStatus> = c
        .cases(&other)
        .await
        .unwrap()
        .cases
        .iter()
        .map(|c| c.status)
        .chain(statuses.iter().copied())
        .collect();
    for s in [
        CaseStatus::Received,
        CaseStatus::Accepted,
        CaseStatus::Reviewing,
        CaseStatus::Special,
        CaseStatus::Completed,
        CaseStatus::Delivered,
        CaseStatus::Rejected,
    ] {
        assert!(all_statuses.contains(&s), "seeded cases cover {s:?}");
    }

    // A hazard report, anonymous: a case number and a query code; visible by the code only.
    let receipt = c
        .submit_report(
            &ReportRequest {
                kind: ReportKind::Hazard,
                category: "fire".into(),
                location: "建设南路18号 3栋楼道".into(),
                description: "楼道堆放杂物，堵塞消防通道".into(),
                anonymous: true,
                contact_phone: None,
            },
            None,
            "report-1",
        )
        .await
        .unwrap();
    assert_eq!(
        problem_code(c.case(&receipt.case_no, Some(&me), None).await.unwrap_err()),
        (404, "case_not_found".into())
    );
    let d = c
        .case(&receipt.case_no, None, Some(&receipt.query_code))
        .await
        .unwrap();
    assert_eq!(d.status, CaseStatus::Received);
    sim.advance_cases();
    sim.advance_cases();
    let d = c
        .case(&receipt.case_no, None, Some(&receipt.query_code))
        .await
        .unwrap();
    assert_eq!(d.status, CaseStatus::Reviewing);
    assert_eq!(d.history.len(), 3);
    assert!(!d.rating_allowed);
    sim.advance_cases();
    assert!(
        c.case(&receipt.case_no, None, Some(&receipt.query_code))
            .await
            .unwrap()
            .rating_allowed
    );
}

#[tokio::test]
async fn every_service_area_answers() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (c, _) = enrolled(&sim).await;
    let (me, _) = session(&c, 1).await;
    let si = c.social_insurance_summary(&me).await.unwrap();
    assert!(si.contribution_months > 0);
    let recs = c
        .social_insurance_records(&me, "2026-01", "2026-06")
        .await
        .unwrap();
    assert_eq!(recs.records.len(), 6 * 5, "one per month per 险种");
    let cert_req = CertificateRequest {
        kind: CertificateKind::Contribution,
        from: "2026-01".into(),
        to: "2026-06".into(),
    };
    let cert = c.submit(&cert_req, Some(&me), "cert-1").await.unwrap();
    assert!(cert.verify_url.is_ascii() && cert.verify_url.contains(&cert.certificate_no));
    let again = c.submit(&cert_req, Some(&me), "cert-1").await.unwrap();
    assert_eq!(cert.certificate_no, again.certificate_no);
    assert_eq!(sim.count("certificates"), 1);
    assert_eq!(
        problem_code(
            c.social_insurance_records(&me, "2026-13", "2026-06")
                .await
                .unwrap_err()
        )
        .0,
        400
    );

    assert!(c.medical_account(&me).await.unwrap().balance_fen > 0);
    let txs = c
        .medical_transactions(&me, "2026-01", "2026-03")
        .await
        .unwrap()
        .transactions;
    assert!(!txs.is_empty());
    assert!(txs
        .iter()
        .all(|t| t.time.as_str() >= "2026-01" && t.time.as_str() < "2026-04"));
    c.submit(
        &StatementRequest {
            from: "2026-01".into(),
            to: "2026-03".into(),
        },
        Some(&me),
        "st-1",
    )
    .await
    .unwrap();
    assert!(c.housing_fund_account(&me).await.unwrap().balance_fen > 0);
    c.submit(
        &DepositProofRequest {
            purpose: ProofPurpose::Loan,
        },
        Some(&me),
        "hf-1",
    )
    .await
    .unwrap();

    // 李秀英's water account (docs/scenarios.md); tests/cloud_services.rs covers payments in full.
    let bills = c.bills("water", "20010002").await.unwrap();
    assert_eq!(bills.holder_masked, "李*英");
    let unpaid: Vec<&Bill> = bills
        .bills
        .iter()
        .filter(|b| b.status == "unpaid")
        .collect();
    let pay = c
        .create_payment(
            &PaymentRequest {
                utility: "water".into(),
                account: "20010002".into(),
                bill_ids: vec![unpaid[0].bill_id.clone()],
                amount_fen: unpaid[0].amount_fen + 1,
            },
            "pay-0",
        )
        .await
        .unwrap_err();
    assert_eq!(problem_code(pay), (422, "amount_mismatch".into()));
    let pay = c
        .create_payment(
            &PaymentRequest {
                utility: "water".into(),
                account: "20010002".into(),
                bill_ids: vec![unpaid[0].bill_id.clone()],
                amount_fen: unpaid[0].amount_fen,
            },
            "pay-1",
        )
        .await
        .unwrap();
    assert_eq!(pay.status, PaymentStatus::Pending);
    assert!(pay.qr_payload.is_ascii());
    assert_eq!(
        c.payment(&pay.payment_id).await.unwrap().status,
        PaymentStatus::Pending
    );
    assert_eq!(
        problem_code(c.bills("water", "99999999").await.unwrap_err()),
        (404, "account_not_found".into())
    );

    let types = c.household_certificate_types(Some(&me)).await.unwrap();
    let proof = types
        .types
        .iter()
        .find(|t| t.code == "household_proof")
        .unwrap();
    assert!(proof.eligibility.as_ref().unwrap().eligible);
    let r = c
        .household_application(
            &me,
            &HouseholdApplicationRequest {
                type_: proof.code.clone(),
                phone: "13800001001".into(),
                address: types.addresses[0].clone(),
                pickup: Pickup::Window,
            },
            "hh-1",
        )
        .await
        .unwrap();
    assert!(r.case_no.starts_with("BM"));
    assert_eq!(
        problem_code(
            c.household_application(
                &me,
                &HouseholdApplicationRequest {
                    type_: "x".into(),
                    phone: "123".into(),
                    address: "a".into(),
                    pickup: Pickup::Mail,
                },
                "hh-2"
            )
            .await
            .unwrap_err()
        )
        .0,
        400
    );

    let programs = c.assistance_programs().await.unwrap();
    assert!(programs.programs.len() >= 3);
    // 李秀英's 户籍 is in 武侯区: not this district's 低保.
    let dibao = EligibilityRequest {
        program: "dibao".into(),
    };
    let e = c.assistance_eligibility(&me, &dibao).await.unwrap();
    assert_eq!(e.verdict, EligibilityVerdict::NotEligible);
    assert!(!e.reasons.is_empty());
    let app = AssistanceApplicationRequest {
        program: "dibao".into(),
        household_size: Some(3),
        income_band: Some(IncomeBand::Over3000),
        phone: Some("13800001001".into()),
        financial_check_consent: true,
    };
    assert_eq!(
        problem_code(
            c.assistance_application(&me, &app, "as-1")
                .await
                .unwrap_err()
        ),
        (422, "not_eligible".into())
    );

    let g = c.guides("居住证").await.unwrap();
    assert_eq!(g.guides.len(), 1);
    assert_eq!(c.guides("").await.unwrap().guides.len(), 3);
    assert!(c
        .report_categories()
        .await
        .unwrap()
        .categories
        .iter()
        .any(|c| c.kind == ReportKind::Appeal));
}

#[tokio::test]
async fn faults_become_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (c, e) = enrolled(&sim).await;
    c.hall_queues(&e.site.hall_id).await.unwrap();

    sim.set_fault(Fault::Down);
    let err = c.hall_queues(&e.site.hall_id).await.unwrap_err();
    assert!(matches!(err, CloudError::Unreachable(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(c.reachable(), Some(false));

    sim.set_fault(Fault::ServerError);
    let err = c.hall_queues(&e.site.hall_id).await.unwrap_err();
    assert!(
        matches!(&err, CloudError::Problem(p) if p.status == 500),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(c.reachable(), Some(true));

    sim.set_fault(Fault::Malformed);
    assert!(matches!(
        c.hall_queues(&e.site.hall_id).await.unwrap_err(),
        CloudError::Malformed(_)
    ));

    sim.set_fault(Fault::Slow(Duration::from_secs(2)));
    let quick = CloudClient::new(&sim.url(), Duration::from_millis(300)).unwrap();
    quick.set_device_token(&e.device_token);
    let started = std::time::Instant::now();
    assert!(matches!(
        quick.hall_queues(&e.site.hall_id).await.unwrap_err(),
        CloudError::Timeout(300)
    ));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the timeout is honoured"
    );

    sim.set_fault(Fault::None);
    c.hall_queues(&e.site.hall_id).await.unwrap();
    let calls = c.take_calls();
    assert!(
        calls
            .iter()
            .all(|r| r.error.as_deref() != Some("circuit_open")),
        "failures in between reset the count"
    );
    assert!(calls
        .iter()
        .any(|r| r.status == 0 && r.error.as_deref() == Some("unreachable")));
    assert!(
        calls.iter().all(|r| !r.path.contains('?')),
        "queries never reach the call log"
    );
}

#[tokio::test]
async fn unknown_routes_and_bad_bodies_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (_, e) = enrolled(&sim).await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/v1/nowhere", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = http
        .post(format!("{}/v1/queue/tickets", sim.url()))
        .bearer_auth(&e.device_token)
        .header("content-type", "application/json")
        .header("idempotency-key", "k")
        .body("{\"hall_id\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let p: Problem = r.json().await.unwrap();
    assert_eq!(p.code, "invalid_request");
    let r = http
        .post(format!("{}/v1/queue/tickets", sim.url()))
        .bearer_auth(&e.device_token)
        .header("content-type", "application/json")
        .body("{\"hall_id\": \"chenghua-jianshelu\", \"business\": \"social\", \"priority\": \"normal\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "Idempotency-Key is required");
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let (c, e) = enrolled(&sim).await;
    sim.set_fault(Fault::Down);
    for _ in 0..bianmin::cloud::BREAKER_THRESHOLD {
        assert!(matches!(
            c.hall_queues(&e.site.hall_id).await.unwrap_err(),
            CloudError::Unreachable(_)
        ));
    }
    sim.set_fault(Fault::None);
    // Open: the call does not even reach the (healthy) cloud.
    let started = std::time::Instant::now();
    let err = c.hall_queues(&e.site.hall_id).await.unwrap_err();
    assert!(
        matches!(&err, CloudError::Unreachable(m) if m.contains("circuit")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(50));
    assert!(err.is_retryable());
    let calls = c.take_calls();
    assert_eq!(calls.last().unwrap().error.as_deref(), Some("circuit_open"));
}
