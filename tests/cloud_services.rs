//! 生活缴费, 居住证/户籍, 民政救助 and 好差评 through the kiosk's client against the simulator over
//! real HTTP on 127.0.0.1: the payment state machine (one open order per bill set, expiry, close,
//! the phone paying, refunds instead of double charges), household eligibility and receipts,
//! assistance verdicts, and the rating rules.

mod support;

use bianmin::cloud::api::*;
use bianmin::cloud::{CloudClient, CloudError, ResidentToken};
use bianmin::cloud_sim::{CloudSim, SimOptions};
use std::time::Duration;

const CODE: &str = "TEST-ENROL-2";

async fn sim(dir: &tempfile::TempDir) -> CloudSim {
    support::cloud::sim(dir.path(), CODE).await
}

async fn enrolled(sim: &CloudSim) -> CloudClient {
    support::cloud::enrolled(sim, "T-2", Duration::from_secs(5))
        .await
        .0
}

/// The n-th demo resident's session (from 0, as `demo_residents()`); the card is read as valid.
async fn session(c: &CloudClient, resident: usize) -> ResidentToken {
    support::cloud::identity(c, resident, true).await.0
}

fn problem_code(e: CloudError) -> (u16, String) {
    match e {
        CloudError::Problem(p) => (p.status, p.code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

/// `POST /_sim/payments/{id}/pay`: the resident's phone pays.
async fn phone_pays(sim: &CloudSim, id: &str, channel: Option<&str>) -> (u16, serde_json::Value) {
    let http = reqwest::Client::new();
    let mut r = http.post(format!("{}/_sim/payments/{id}/pay", sim.url()));
    if let Some(ch) = channel {
        r = r
            .header("content-type", "application/json")
            .body(format!("{{\"channel\": \"{ch}\"}}"));
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn unpaid(list: &BillList) -> Vec<Bill> {
    list.bills
        .iter()
        .filter(|b| b.status == "unpaid")
        .cloned()
        .collect()
}

fn order(list: &BillList, bills: &[&Bill]) -> PaymentRequest {
    PaymentRequest {
        utility: list.utility.clone(),
        account: list.account.clone(),
        bill_ids: bills.iter().map(|b| b.bill_id.clone()).collect(),
        amount_fen: bills.iter().map(|b| b.amount_fen).sum(),
    }
}

fn close(id: &str) -> PaymentCloseRequest {
    PaymentCloseRequest {
        payment_id: id.into(),
        reason: CloseReason::Left,
    }
}

#[tokio::test]
async fn bills_accounts_and_their_formats() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let water = c.bills("water", "20010001").await.unwrap();
    assert_eq!(water.holder_masked, "张*国");
    assert_eq!(water.address, "建设南路18号***");
    assert_eq!(water.payee.zh, "成都市自来水有限责任公司");
    assert_eq!(unpaid(&water).len(), 2);
    assert!(water.bills.len() > 2, "paid history too");
    assert!(water
        .bills
        .iter()
        .all(|b| b.usage_unit == "m3" && b.usage > 0));
    assert!(
        water.bills.windows(2).all(|w| w[0].period > w[1].period),
        "newest first"
    );
    let power = c.bills("electricity", "3001000001").await.unwrap();
    assert_eq!(power.payee.zh, "国网成都供电公司");
    assert!(power.bills.iter().all(|b| b.usage_unit == "kwh"));
    assert_eq!(unpaid(&power).len(), 3);
    let gas = c.bills("gas", "400100001").await.unwrap();
    assert_eq!(gas.payee.zh, "成都城市燃气有限责任公司");
    // 陈美华's gas: every bill paid.
    let all_paid = c.bills("gas", "400100004").await.unwrap();
    assert!(!all_paid.bills.is_empty() && unpaid(&all_paid).is_empty());
    // The soak accounts: two unpaid bills each, first and last of each utility.
    for (u, a) in [
        ("water", "10000001"),
        ("water", "10000200"),
        ("electricity", "1000000200"),
        ("gas", "100000200"),
    ] {
        assert_eq!(unpaid(&c.bills(u, a).await.unwrap()).len(), 2, "{u} {a}");
    }
    for (u, a) in [
        ("water", "100000001"),
        ("gas", "10000001"),
        ("electricity", "100000001"),
    ] {
        assert_eq!(
            problem_code(c.bills(u, a).await.unwrap_err()),
            (422, "invalid_account".into()),
            "{u} {a}"
        );
    }
    for (u, a) in [("water", "1000000"), ("electricity", "10000001a")] {
        assert_eq!(
            problem_code(c.bills(u, a).await.unwrap_err()).0,
            400,
            "{u} {a}"
        );
    }
    assert_eq!(
        problem_code(c.bills("water", "99999999").await.unwrap_err()),
        (404, "account_not_found".into())
    );

    // The resident's own accounts, addresses masked.
    let zhang = session(&c, 0).await;
    let mine = c.utility_accounts(&zhang).await.unwrap().accounts;
    let listed: Vec<(&str, &str)> = mine
        .iter()
        .map(|a| (a.utility.as_str(), a.account.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("water", "20010001"),
            ("electricity", "3001000001"),
            ("gas", "400100001")
        ]
    );
    assert!(mine.iter().all(|a| a.address_masked == "建设南路18号***"));
    let wang = session(&c, 2).await;
    assert_eq!(c.utility_accounts(&wang).await.unwrap().accounts.len(), 1);
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/v1/bills/accounts", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a device token and a session are needed");
}

#[tokio::test]
async fn one_open_order_per_bill_set_and_idempotent_creation() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let list = c.bills("water", "20010002").await.unwrap();
    let bills = unpaid(&list);
    let both = order(&list, &[&bills[0], &bills[1]]);
    let first = c.create_payment(&both, "pay-a").await.unwrap();
    assert_eq!(first.status, PaymentStatus::Pending);
    assert_eq!(first.amount_fen, both.amount_fen);
    assert_eq!(first.bills.len(), 2);
    assert_eq!(first.payee.zh, "成都市自来水有限责任公司");
    assert!(first.qr_payload.is_ascii() && first.qr_payload.contains(&first.payment_id));
    assert!(first.paid_at.is_none() && first.receipt_no.is_none() && first.channel.is_none());
    // Same key: the first answer. Another key, the same bills (in another order): the same order.
    assert_eq!(c.create_payment(&both, "pay-a").await.unwrap(), first);
    let reversed = PaymentRequest {
        bill_ids: both.bill_ids.iter().rev().cloned().collect(),
        ..both.clone()
    };
    let again = c.create_payment(&reversed, "pay-b").await.unwrap();
    assert_eq!(
        (&again.payment_id, &again.qr_payload),
        (&first.payment_id, &first.qr_payload)
    );
    // Another bill set is another order.
    let one = c
        .create_payment(&order(&list, &[&bills[0]]), "pay-c")
        .await
        .unwrap();
    assert_ne!(one.payment_id, first.payment_id);
    assert_eq!(sim.payment_orders(PaymentStatus::Pending), 2);
    // Nothing pays itself: still pending a while later.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        c.payment(&first.payment_id).await.unwrap().status,
        PaymentStatus::Pending
    );
    // The key used for other bills is refused.
    assert_eq!(
        problem_code(
            c.create_payment(&order(&list, &[&bills[1]]), "pay-a")
                .await
                .unwrap_err()
        ),
        (422, "idempotency_key_reused".into())
    );
    // Once the open order is closed, the same bills make a new one.
    c.close_payment(&close(&first.payment_id), "close-a")
        .await
        .unwrap();
    let fresh = c.create_payment(&both, "pay-d").await.unwrap();
    assert_ne!(fresh.payment_id, first.payment_id);
    assert_eq!(
        problem_code(c.payment("PAY-NOPE").await.unwrap_err()),
        (404, "payment_not_found".into())
    );
}

#[tokio::test]
async fn refusals_on_creation() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let list = c.bills("electricity", "3001000004").await.unwrap();
    let bills = unpaid(&list);
    let mut wrong = order(&list, &[&bills[0]]);
    wrong.amount_fen += 1;
    assert_eq!(
        problem_code(c.create_payment(&wrong, "k1").await.unwrap_err()),
        (422, "amount_mismatch".into())
    );
    // A bill of another account.
    let other = c.bills("water", "20010004").await.unwrap();
    let mut foreign = order(&list, &[&bills[0]]);
    foreign.bill_ids = vec![unpaid(&other)[0].bill_id.clone()];
    assert_eq!(
        problem_code(c.create_payment(&foreign, "k2").await.unwrap_err()),
        (404, "bill_not_found".into())
    );
    // A paid bill of the history.
    let paid = list.bills.iter().find(|b| b.status == "paid").unwrap();
    assert_eq!(
        problem_code(
            c.create_payment(&order(&list, &[paid]), "k3")
                .await
                .unwrap_err()
        ),
        (409, "bill_already_paid".into())
    );
    // Paid through the kiosk's order: a later order for it is refused.
    let p = c
        .create_payment(&order(&list, &[&bills[0]]), "k4")
        .await
        .unwrap();
    assert_eq!(phone_pays(&sim, &p.payment_id, None).await.0, 200);
    assert_eq!(
        problem_code(
            c.create_payment(&order(&list, &[&bills[0], &bills[1]]), "k5")
                .await
                .unwrap_err()
        ),
        (409, "bill_already_paid".into())
    );
    let mut bad = order(&list, &[&bills[1]]);
    bad.account = "123456789".into();
    assert_eq!(
        problem_code(c.create_payment(&bad, "k6").await.unwrap_err()),
        (422, "invalid_account".into())
    );
    bad.account = "3001009999".into();
    assert_eq!(
        problem_code(c.create_payment(&bad, "k7").await.unwrap_err()),
        (404, "account_not_found".into())
    );
    let dup = PaymentRequest {
        bill_ids: vec![bills[1].bill_id.clone(), bills[1].bill_id.clone()],
        amount_fen: bills[1].amount_fen * 2,
        ..order(&list, &[])
    };
    assert_eq!(
        problem_code(c.create_payment(&dup, "k8").await.unwrap_err()).0,
        400
    );
}

#[tokio::test]
async fn an_order_expires_after_a_short_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/_sim/payment-ttl", sim.url()))
        .header("content-type", "application/json")
        .body(r#"{"seconds": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let list = c.bills("gas", "400100005").await.unwrap();
    let bills = unpaid(&list);
    let req = order(&list, &[&bills[0]]);
    let p = c.create_payment(&req, "ttl-1").await.unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(&p.expires_at).unwrap();
    let left = created.signed_duration_since(chrono::Utc::now());
    assert!(left <= chrono::Duration::seconds(2), "{left}");
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let expired = c.payment(&p.payment_id).await.unwrap();
    assert_eq!(expired.status, PaymentStatus::Expired);
    assert!(expired.status.is_final());
    // Too late for the phone; nothing is charged and the bill stays unpaid.
    let (status, body) = phone_pays(&sim, &p.payment_id, Some("alipay")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("payment_not_payable"))
    );
    assert_eq!(unpaid(&c.bills("gas", "400100005").await.unwrap()).len(), 3);
    // A close finds it expired and leaves it so.
    let closed = c
        .close_payment(&close(&p.payment_id), "ttl-close")
        .await
        .unwrap();
    assert_eq!(closed.status, PaymentStatus::Expired);
    // The same bills now make a new order (the old one is not open any more).
    sim.set_payment_ttl(SimOptions::DEFAULT_PAYMENT_TTL);
    let next = c.create_payment(&req, "ttl-2").await.unwrap();
    assert_ne!(next.payment_id, p.payment_id);
    assert_eq!(next.status, PaymentStatus::Pending);
    let bad = http
        .put(format!("{}/_sim/payment-ttl", sim.url()))
        .header("content-type", "application/json")
        .body(r#"{"seconds": 0}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn closing_a_pending_order_and_closing_a_paid_one() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let list = c.bills("water", "20010005").await.unwrap();
    let bills = unpaid(&list);
    let p = c
        .create_payment(&order(&list, &[&bills[0]]), "c-1")
        .await
        .unwrap();
    let closed = c
        .close_payment(&close(&p.payment_id), "c-close")
        .await
        .unwrap();
    assert_eq!(closed.status, PaymentStatus::Closed);
    assert_eq!(
        c.close_payment(&close(&p.payment_id), "c-close")
            .await
            .unwrap(),
        closed,
        "the same key: the same answer"
    );
    assert_eq!(
        c.close_payment(&close(&p.payment_id), "c-close-2")
            .await
            .unwrap()
            .status,
        PaymentStatus::Closed
    );
    let (status, body) = phone_pays(&sim, &p.payment_id, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("payment_not_payable"))
    );
    assert_eq!(
        c.payment(&p.payment_id).await.unwrap().status,
        PaymentStatus::Closed
    );

    // Paid on the phone before the kiosk's close arrives: the close answers the paid order.
    let q = c
        .create_payment(&order(&list, &[&bills[1]]), "c-2")
        .await
        .unwrap();
    let (status, _) = phone_pays(&sim, &q.payment_id, Some("unionpay")).await;
    assert_eq!(status, 200);
    let settled = c
        .close_payment(
            &PaymentCloseRequest {
                payment_id: q.payment_id.clone(),
                reason: CloseReason::Unknown,
            },
            "c-close-3",
        )
        .await
        .unwrap();
    assert_eq!(settled.status, PaymentStatus::Paid);
    assert_eq!(settled.channel.as_deref(), Some("unionpay"));
    assert!(settled.receipt_no.as_deref().unwrap().starts_with("RC"));
    assert!(settled.paid_at.is_some() && settled.refund.is_none());

    // The body must name the path's order; an unknown order is not found.
    let http = reqwest::Client::new();
    let token = {
        // The client holds the token; a mismatched body needs a raw call.
        let e = CloudClient::new(&sim.url(), Duration::from_secs(3)).unwrap();
        e.enroll(&EnrollRequest {
            enrollment_code: sim.issue_enrollment_code(),
            serial: "T-raw".into(),
            model: "test".into(),
        })
        .await
        .unwrap()
        .device_token
    };
    let r = http
        .post(format!("{}/v1/payments/{}/close", sim.url(), q.payment_id))
        .bearer_auth(&token)
        .header("idempotency-key", "raw-1")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"payment_id": "{}", "reason": "left"}}"#,
            p.payment_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Problem>().await.unwrap().code,
        "payment_id_mismatch"
    );
    assert_eq!(
        problem_code(
            c.close_payment(&close("PAY2026999999"), "c-close-4")
                .await
                .unwrap_err()
        ),
        (404, "payment_not_found".into())
    );
}

#[tokio::test]
async fn paying_twice_is_refused_and_charges_once() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let list = c.bills("electricity", "3001000006").await.unwrap();
    let bills = unpaid(&list);
    let p = c
        .create_payment(&order(&list, &[&bills[0], &bills[1]]), "t-1")
        .await
        .unwrap();
    let (status, body) = phone_pays(&sim, &p.payment_id, Some("alipay")).await;
    assert_eq!(status, 200);
    let paid: Payment = serde_json::from_value(body).unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert_eq!(paid.channel.as_deref(), Some("alipay"));
    assert_eq!(c.payment(&p.payment_id).await.unwrap(), paid);
    let (status, body) = phone_pays(&sim, &p.payment_id, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("payment_already_paid"))
    );
    assert_eq!(
        sim.pay(&p.payment_id, "wechat").unwrap_err().code,
        "payment_already_paid"
    );
    assert_eq!(c.payment(&p.payment_id).await.unwrap(), paid, "unchanged");
    assert!(unpaid(&c.bills("electricity", "3001000006").await.unwrap()).is_empty());
    assert_eq!(sim.payment_orders(PaymentStatus::Paid), 1);
    assert_eq!(sim.double_charged(), 0);
    let (status, _) = phone_pays(&sim, "PAY-NOPE", None).await;
    assert_eq!(status, 404);
    let (status, body) = phone_pays(&sim, &p.payment_id, Some("cash")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn two_orders_over_one_bill_both_paid_the_second_is_refunded() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let list = c.bills("electricity", "3001000003").await.unwrap();
    let bills = unpaid(&list);
    assert_eq!(bills.len(), 3);
    // The phone app's order (one bill) and the kiosk's (that bill and another).
    let app = c
        .create_payment(&order(&list, &[&bills[0]]), "app")
        .await
        .unwrap();
    let kiosk = c
        .create_payment(&order(&list, &[&bills[0], &bills[1]]), "kiosk")
        .await
        .unwrap();
    assert_ne!(app.payment_id, kiosk.payment_id);
    let first = sim.pay(&app.payment_id, "wechat").unwrap();
    assert!(first.refund.is_none());
    let second = sim.pay(&kiosk.payment_id, "wechat").unwrap();
    assert_eq!(second.status, PaymentStatus::Paid);
    let refund = second
        .refund
        .clone()
        .expect("the bill paid twice is refunded");
    assert_eq!(refund.amount_fen, bills[0].amount_fen);
    assert_eq!(refund.reason, "bill_already_paid");
    assert!(refund.refunded_at.ends_with("+08:00"));
    assert_eq!(c.payment(&kiosk.payment_id).await.unwrap(), second);
    let now = c.bills("electricity", "3001000003").await.unwrap();
    let left = unpaid(&now);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].bill_id, bills[2].bill_id);
    assert_eq!(sim.double_charged(), 0);
    assert_eq!(sim.refunded_orders(), 1);
    assert_eq!(sim.payment_orders(PaymentStatus::Paid), 2);

    // Every bill of an order already paid: all of it goes back.
    let list = c.bills("water", "20010006").await.unwrap();
    let bills = unpaid(&list);
    let small = c
        .create_payment(&order(&list, &[&bills[0]]), "small")
        .await
        .unwrap();
    let big = c
        .create_payment(&order(&list, &[&bills[0], &bills[1]]), "big")
        .await
        .unwrap();
    assert!(sim.pay(&big.payment_id, "alipay").unwrap().refund.is_none());
    let late = sim.pay(&small.payment_id, "wechat").unwrap();
    assert_eq!(late.status, PaymentStatus::Paid);
    assert_eq!(late.refund.unwrap().amount_fen, late.amount_fen);
    assert_eq!(sim.double_charged(), 0);
    assert_eq!(sim.refunded_orders(), 2);
}

#[tokio::test]
async fn bills_paid_elsewhere_leave_the_kiosk_s_order_open_and_refund_it() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let list = c.bills("water", "10000150").await.unwrap();
    let bills = unpaid(&list);
    let refs: Vec<&Bill> = bills.iter().collect();
    let kiosk = c
        .create_payment(&order(&list, &refs), "kiosk")
        .await
        .unwrap();
    // The phone app pays the same bills through its own order, not the kiosk's.
    let app = sim.pay_elsewhere("water", "10000150").unwrap();
    assert_ne!(app.payment_id, kiosk.payment_id);
    assert_eq!(app.status, PaymentStatus::Paid);
    assert_eq!(
        c.payment(&kiosk.payment_id).await.unwrap().status,
        PaymentStatus::Pending
    );
    assert_eq!(
        sim.pay_elsewhere("water", "10000150").unwrap_err().code,
        "bill_already_paid"
    );
    let late = sim.pay(&kiosk.payment_id, "wechat").unwrap();
    assert_eq!(late.refund.unwrap().amount_fen, late.amount_fen);
    assert_eq!(sim.double_charged(), 0);
}

#[tokio::test]
async fn a_soak_of_a_hundred_and_twenty_payments() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    for i in 0..120u64 {
        let account = (10_000_001 + i).to_string();
        let list = c.bills("water", &account).await.unwrap();
        let bills = unpaid(&list);
        let refs: Vec<&Bill> = bills.iter().collect();
        let p = c
            .create_payment(&order(&list, &refs), &format!("soak-{i}"))
            .await
            .unwrap();
        // The kiosk polls, and repeats the request once (as after a timeout).
        let again = c
            .create_payment(&order(&list, &refs), &format!("soak-{i}"))
            .await
            .unwrap();
        assert_eq!(again.payment_id, p.payment_id);
        sim.pay(&p.payment_id, "wechat").unwrap();
        let closed = c
            .close_payment(&close(&p.payment_id), &format!("soak-close-{i}"))
            .await
            .unwrap();
        assert_eq!(closed.status, PaymentStatus::Paid);
    }
    assert_eq!(sim.payment_orders(PaymentStatus::Paid), 120);
    assert_eq!(sim.double_charged(), 0);
    assert_eq!(sim.refunded_orders(), 0);
}

#[tokio::test]
async fn household_eligibility_per_resident_and_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let anonymous = c.household_certificate_types(None).await.unwrap();
    assert!(anonymous.addresses.is_empty());
    let codes: Vec<&str> = anonymous.types.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "residence_permit_new",
            "residence_permit_renew",
            "residence_permit_endorse",
            "household_proof",
            "kinship_proof"
        ]
    );
    assert!(anonymous.types.iter().all(|t| t.eligibility.is_none()
        && !t.pickup.is_empty()
        && !t.materials.is_empty()
        && t.processing_days > 0));

    let eligible = |types: &HouseholdCertificateTypes, code: &str| {
        types
            .types
            .iter()
            .find(|t| t.code == code)
            .and_then(|t| t.eligibility.clone())
            .unwrap()
    };
    // 张建国: 户籍 here; no 居住证 needed; 户籍证明 yes; one address.
    let zhang = session(&c, 0).await;
    let zt = c.household_certificate_types(Some(&zhang)).await.unwrap();
    assert!(!eligible(&zt, "residence_permit_new").eligible);
    assert!(eligible(&zt, "household_proof").eligible);
    assert!(eligible(&zt, "kinship_proof").eligible);
    assert_eq!(zt.addresses.len(), 1);
    // 李秀英: two addresses.
    let li = session(&c, 1).await;
    let lt = c.household_certificate_types(Some(&li)).await.unwrap();
    assert_eq!(lt.addresses.len(), 2);
    assert!(eligible(&lt, "household_proof").eligible);
    // 王小明: registered four months ago, not yet six.
    let wang = session(&c, 2).await;
    let wt = c.household_certificate_types(Some(&wang)).await.unwrap();
    let e = eligible(&wt, "residence_permit_new");
    assert!(!e.eligible);
    assert!(e.reason.unwrap().zh.contains("未满半年"));
    assert!(!eligible(&wt, "residence_permit_renew").eligible);
    assert!(!eligible(&wt, "household_proof").eligible);
    assert_eq!(wt.addresses.len(), 2);
    // 林嘉欣: holds a permit, so she may renew it.
    let lin = session(&c, 5).await;
    let lnt = c.household_certificate_types(Some(&lin)).await.unwrap();
    assert!(eligible(&lnt, "residence_permit_renew").eligible);
    assert!(!eligible(&lnt, "residence_permit_new").eligible);
    assert!(!eligible(&lnt, "residence_permit_endorse").eligible);

    // An application: its case, promised date, pickup place and a public progress page.
    let apply = |type_: &str, pickup, address: &str| HouseholdApplicationRequest {
        type_: type_.into(),
        phone: "13800001001".into(),
        address: address.into(),
        pickup,
    };
    let home = zt.addresses[0].clone();
    let mail = apply("household_proof", Pickup::Mail, &home);
    let r = c
        .household_application(&zhang, &mail, "hh-1")
        .await
        .unwrap();
    assert!(r.case_no.starts_with("BM"));
    assert_eq!(r.pickup, Pickup::Mail);
    assert_eq!(r.pickup_place.zh, "邮寄至 建设南路18号***");
    let today = chrono::Utc::now()
        .with_timezone(&bianmin::cloud_sim::CST)
        .date_naive();
    assert_eq!(
        r.promised_date,
        (today + chrono::Duration::days(3))
            .format("%Y-%m-%d")
            .to_string()
    );
    assert!(r.progress_url.is_ascii());
    assert!(r.progress_url.ends_with(&format!(
        "/v1/cases/{}/progress?query_code={}",
        r.case_no, r.query_code
    )));
    assert_eq!(
        c.household_application(&zhang, &mail, "hh-1")
            .await
            .unwrap(),
        r,
        "the same key: the same receipt"
    );
    let mine = c.cases(&zhang).await.unwrap();
    assert!(
        mine.cases.iter().any(|k| k.case_no == r.case_no),
        "in 我的办件"
    );
    // The progress page needs no device token.
    let page = reqwest::get(&r.progress_url).await.unwrap();
    assert_eq!(page.status(), 200);
    let d: CaseDetail = page.json().await.unwrap();
    assert_eq!(d.case_no, r.case_no);
    let wrong = reqwest::get(format!(
        "{}/v1/cases/{}/progress?query_code=000000x",
        sim.url(),
        r.case_no
    ))
    .await
    .unwrap();
    assert_eq!(wrong.status(), 404);

    let window = c
        .household_application(
            &zhang,
            &apply("kinship_proof", Pickup::Window, &home),
            "hh-2",
        )
        .await
        .unwrap();
    assert!(window.pickup_place.zh.contains("2号窗口"));
    let locker = c
        .household_application(
            &li,
            &apply("household_proof", Pickup::Locker, &lt.addresses[1]),
            "hh-3",
        )
        .await
        .unwrap();
    assert_eq!(locker.pickup_place.zh, "便民服务中心一楼智能柜");
    let renew = c
        .household_application(
            &lin,
            &apply("residence_permit_renew", Pickup::Window, &lnt.addresses[0]),
            "hh-4",
        )
        .await
        .unwrap();
    assert_eq!(
        renew.promised_date,
        (today + chrono::Duration::days(15))
            .format("%Y-%m-%d")
            .to_string()
    );

    // Refusals.
    for (who, req, want) in [
        (
            &wang,
            apply("residence_permit_new", Pickup::Window, &wt.addresses[0]),
            "not_eligible",
        ),
        (
            &zhang,
            apply("kinship_proof", Pickup::Mail, &home),
            "pickup_not_offered",
        ),
        (
            &zhang,
            apply("household_proof", Pickup::Mail, "成都市某某路1号"),
            "unknown_address",
        ),
        (
            &li,
            apply("household_proof", Pickup::Mail, &home),
            "unknown_address",
        ),
    ] {
        let key = format!("hh-refused-{want}-{}", req.address.len());
        assert_eq!(
            problem_code(c.household_application(who, &req, &key).await.unwrap_err()),
            (422, want.into()),
            "{} {:?}",
            req.type_,
            req.pickup
        );
    }
    assert_eq!(
        problem_code(
            c.household_application(&zhang, &apply("passport", Pickup::Window, &home), "hh-5")
                .await
                .unwrap_err()
        ),
        (404, "unknown_certificate_type".into())
    );
    let bad_phone = HouseholdApplicationRequest {
        phone: "123".into(),
        ..apply("household_proof", Pickup::Window, &home)
    };
    assert_eq!(
        problem_code(
            c.household_application(&zhang, &bad_phone, "hh-6")
                .await
                .unwrap_err()
        )
        .0,
        400
    );
}

#[tokio::test]
async fn assistance_verdicts_and_applications() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let programs = c.assistance_programs().await.unwrap().programs;
    let asks = |code: &str| {
        programs
            .iter()
            .find(|p| p.code == code)
            .unwrap()
            .asks
            .clone()
    };
    use AssistanceQuestion::*;
    assert!(asks("elderly_subsidy").is_empty());
    assert_eq!(
        asks("dibao"),
        [HouseholdSize, IncomeBand, Phone, FinancialCheckConsent]
    );
    assert_eq!(
        asks("temporary"),
        [HouseholdSize, Phone, FinancialCheckConsent]
    );
    assert!(programs.iter().all(|p| !p.conditions.is_empty()));

    let check = |program: &str| EligibilityRequest {
        program: program.into(),
    };
    use EligibilityVerdict::*;
    let verdicts = [
        // 张建国 (76, 户籍 here)
        (0, "elderly_subsidy", NotEligible),
        (0, "dibao", NeedsReview),
        (0, "temporary", NeedsReview),
        (0, "heating", NeedsReview),
        // 李秀英 (户籍 in 武侯区)
        (1, "dibao", NotEligible),
        (1, "temporary", NeedsReview),
        // 陈美华 (86, 户籍 here, already on 低保)
        (3, "elderly_subsidy", LikelyEligible),
        (3, "dibao", NotEligible),
        (3, "temporary", NeedsReview),
        // 林嘉欣 (no mainland 户籍)
        (5, "elderly_subsidy", NotEligible),
    ];
    for (who, program, want) in verdicts {
        let s = session(&c, who).await;
        let e = c.assistance_eligibility(&s, &check(program)).await.unwrap();
        assert_eq!(
            e.verdict, want,
            "resident {who}, {program}: {:?}",
            e.reasons
        );
        assert_eq!(e.program, program);
        assert!(!e.reasons.is_empty(), "resident {who}, {program}");
    }
    let zhang = session(&c, 0).await;
    let old = c
        .assistance_eligibility(&zhang, &check("elderly_subsidy"))
        .await
        .unwrap();
    assert!(old.reasons[0].zh.contains("80"), "{:?}", old.reasons);
    assert_eq!(
        problem_code(
            c.assistance_eligibility(&zhang, &check("lottery"))
                .await
                .unwrap_err()
        ),
        (404, "unknown_program".into())
    );

    // 陈美华's 高龄津贴: nothing asked beyond the card.
    let chen = session(&c, 3).await;
    let bare = AssistanceApplicationRequest {
        program: "elderly_subsidy".into(),
        household_size: None,
        income_band: None,
        phone: None,
        financial_check_consent: false,
    };
    let r = c
        .assistance_application(&chen, &bare, "as-1")
        .await
        .unwrap();
    assert!(r.case_no.starts_with("BM"));
    assert_eq!(r.time_limit_days, 20);
    assert!(r.next_steps.iter().any(|s| s.zh.contains("公示")));
    assert!(r.progress_url.is_ascii() && r.progress_url.contains(&r.case_no));
    assert!(c
        .cases(&chen)
        .await
        .unwrap()
        .cases
        .iter()
        .any(|k| k.case_no == r.case_no));
    // 张建国's is refused; 陈美华's 低保 too (she has it).
    assert_eq!(
        problem_code(
            c.assistance_application(&zhang, &bare, "as-2")
                .await
                .unwrap_err()
        ),
        (422, "not_eligible".into())
    );
    let dibao = AssistanceApplicationRequest {
        program: "dibao".into(),
        household_size: Some(2),
        income_band: Some(bianmin::cloud::api::IncomeBand::Under800),
        phone: Some("13800001000".into()),
        financial_check_consent: true,
    };
    assert_eq!(
        problem_code(
            c.assistance_application(&chen, &dibao, "as-3")
                .await
                .unwrap_err()
        ),
        (422, "not_eligible".into())
    );
    // 张建国's 低保: every answer, and consent.
    let no_band = AssistanceApplicationRequest {
        income_band: None,
        ..dibao.clone()
    };
    assert_eq!(
        problem_code(
            c.assistance_application(&zhang, &no_band, "as-4")
                .await
                .unwrap_err()
        ),
        (422, "missing_answer".into())
    );
    let no_consent = AssistanceApplicationRequest {
        financial_check_consent: false,
        ..dibao.clone()
    };
    assert_eq!(
        problem_code(
            c.assistance_application(&zhang, &no_consent, "as-5")
                .await
                .unwrap_err()
        ),
        (422, "consent_required".into())
    );
    let r = c
        .assistance_application(&zhang, &dibao, "as-6")
        .await
        .unwrap();
    assert_eq!(r.time_limit_days, 30);
    assert!(r.next_steps.iter().any(|s| s.zh.contains("入户调查")));
    let bad_phone = AssistanceApplicationRequest {
        phone: Some("12".into()),
        ..dibao
    };
    assert_eq!(
        problem_code(
            c.assistance_application(&zhang, &bad_phone, "as-7")
                .await
                .unwrap_err()
        )
        .0,
        400
    );
}

#[tokio::test]
async fn case_ratings_follow_the_reason_rules() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let zhang = session(&c, 0).await;
    // The seeded completed case of 张建国.
    let no = "SQ2026000104";
    assert!(c.case(no, Some(&zhang), None).await.unwrap().rating_allowed);
    let rate = |case_no: &str, score: u8, reasons: &[&str]| RatingRequest {
        case_no: case_no.into(),
        score,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        comment: String::new(),
    };
    for (req, want) in [
        (rate("SQ2026000100", 5, &[]), "case_no_mismatch"),
        (rate(no, 2, &[]), "reason_required"),
        (rate(no, 1, &["rude"]), "unknown_reason"),
    ] {
        assert_eq!(
            problem_code(c.rate_case(&zhang, no, &req, "r-bad").await.unwrap_err()),
            (422, want.into())
        );
    }
    // The case's rating as a submission (its path from the body).
    let good = rate(no, 2, &["slow", "unclear"]);
    let r = c.submit(&good, Some(&zhang), "r-1").await.unwrap();
    assert_eq!((r.case_no.as_str(), r.score), (no, 2));
    assert_eq!(
        c.rate_case(&zhang, no, &good, "r-1").await.unwrap().score,
        2
    );
    assert_eq!(
        problem_code(
            c.rate_case(&zhang, no, &rate(no, 5, &[]), "r-2")
                .await
                .unwrap_err()
        ),
        (409, "rating_not_allowed".into())
    );
    assert!(!c.case(no, Some(&zhang), None).await.unwrap().rating_allowed);
}

#[tokio::test]
async fn a_service_is_rated_once_per_reference() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim(&dir).await;
    let c = enrolled(&sim).await;
    let rate = |service: &str, reference: &str, score: u8, reasons: &[&str]| ServiceRatingRequest {
        service: service.into(),
        reference: reference.into(),
        score,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        comment: String::new(),
    };
    let first = rate("utility_bills", "PAY2026000001", 5, &[]);
    let r = c.rate_service(&first, "s-1").await.unwrap();
    assert!(r.rating_id.starts_with("RT"));
    assert_eq!((r.service.as_str(), r.score), ("utility_bills", 5));
    let again = c.rate_service(&first, "s-1").await.unwrap();
    assert_eq!(
        again.rating_id, r.rating_id,
        "the same key: the same answer"
    );
    assert_eq!(
        problem_code(
            c.rate_service(&rate("utility_bills", "PAY2026000001", 4, &[]), "s-2")
                .await
                .unwrap_err()
        ),
        (409, "already_rated".into())
    );
    // Another use, another service (a kiosk's own code), and the reason rules.
    c.rate_service(
        &rate("utility_bills", "PAY2026000002", 1, &["machine"]),
        "s-3",
    )
    .await
    .unwrap();
    c.rate_service(&rate("guides", "g-residence-permit", 4, &[]), "s-4")
        .await
        .unwrap();
    for (req, want) in [
        (rate("cases", "BM1", 2, &[]), (422, "reason_required")),
        (rate("cases", "BM1", 3, &["late"]), (422, "unknown_reason")),
        (rate("Guides!", "x", 5, &[]), (400, "invalid_request")),
        (rate("cases", "BM1", 6, &[]), (400, "invalid_request")),
    ] {
        let got = problem_code(c.rate_service(&req, "s-bad").await.unwrap_err());
        assert_eq!((got.0, got.1.as_str()), want, "{}", req.service);
    }
}
