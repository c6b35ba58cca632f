//! 生活缴费: utility accounts and bills, and the payment order state machine the cloud owns.
//!
//! An order is `pending` from creation until its time runs out (`expired`, read lazily), the kiosk
//! closes it (`closed`) or the resident's phone pays it (`paid`; in the simulator that is
//! `POST /_sim/payments/{id}/pay`). A bill is never paid twice: when an order is paid whose bill
//! another order paid meanwhile, that part of the money goes back (`refund`). One open order per
//! bill set: asking again for the same bills answers the order already open.

use super::db::next_counter;
use super::handlers::code;
use super::http::{now_rfc3339, ApiError, CST};
use super::records::Ym;
use crate::cloud::api::{
    Bill, BillList, Payment, PaymentRequest, PaymentStatus, Refund, Text, UtilityAccount,
    UtilityAccounts, UTILITIES,
};
use bianmin_idcard::mask_name;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::time::Duration;

pub fn status_name(s: PaymentStatus) -> &'static str {
    match s {
        PaymentStatus::Pending => "pending",
        PaymentStatus::Paid => "paid",
        PaymentStatus::Expired => "expired",
        PaymentStatus::Closed => "closed",
    }
}

fn status_of(s: &str) -> PaymentStatus {
    match s {
        "paid" => PaymentStatus::Paid,
        "expired" => PaymentStatus::Expired,
        "closed" => PaymentStatus::Closed,
        _ => PaymentStatus::Pending,
    }
}

/// Who is paid.
pub fn payee(utility: &str) -> Text {
    match utility {
        "water" => Text::new("成都市自来水有限责任公司", "Chengdu Water Co., Ltd."),
        "electricity" => Text::new(
            "国网成都供电公司",
            "State Grid Chengdu Power Supply Company",
        ),
        _ => Text::new("成都城市燃气有限责任公司", "Chengdu City Gas Co., Ltd."),
    }
}

/// `m3` for water and gas, `kwh` for electricity.
pub fn usage_unit(utility: &str) -> &'static str {
    if utility == "electricity" {
        "kwh"
    } else {
        "m3"
    }
}

/// How many digits an account number of the utility has: water 8, electricity 10, gas 9.
pub fn account_digits(utility: &str) -> usize {
    match utility {
        "water" => 8,
        "electricity" => 10,
        _ => 9,
    }
}

/// `400` for an unknown utility or a number that is not 8 to 10 digits (the contract's pattern),
/// `422 invalid_account` for a number of another utility's length.
pub fn check_account(utility: &str, account: &str) -> Result<(), ApiError> {
    if !UTILITIES.contains(&utility) {
        return Err(ApiError::bad_request(
            "utility must be water, electricity or gas",
        ));
    }
    if !(8..=10).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("account must be 8 to 10 digits"));
    }
    let n = account_digits(utility);
    if account.len() != n {
        return Err(ApiError::unprocessable(
            "invalid_account",
            format!("A {utility} account number has {n} digits"),
        ));
    }
    Ok(())
}

/// An address as a resident may see it on a public screen: the street and number, the rest
/// hidden (`四川省成都市成华区建设南路18号3栋2单元501` → `建设南路18号***`).
pub fn mask_address(address: &str) -> String {
    let mut rest = address;
    for marker in ["街道", "区", "县", "市", "省"] {
        if let Some(i) = rest.rfind(marker) {
            let tail = &rest[i + marker.len()..];
            if !tail.is_empty() {
                rest = tail;
                break;
            }
        }
    }
    let shown: String = match rest.find('号') {
        Some(i) => rest[..i + '号'.len_utf8()].to_string(),
        None => rest.chars().take(6).collect(),
    };
    format!("{shown}***")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&CST)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

// ---- Accounts and bills ----

fn bill_row(r: &rusqlite::Row<'_>, utility: &str) -> rusqlite::Result<Bill> {
    Ok(Bill {
        bill_id: r.get(0)?,
        period: r.get(1)?,
        usage: r.get(2)?,
        usage_unit: usage_unit(utility).into(),
        amount_fen: r.get(3)?,
        due_date: r.get(4)?,
        status: r.get(5)?,
    })
}

/// `GET /v1/bills`: newest first, paid history included.
pub fn bill_list(conn: &Connection, utility: &str, account: &str) -> Result<BillList, ApiError> {
    check_account(utility, account)?;
    let holder: Option<(String, String)> = conn
        .query_row(
            "SELECT holder, address FROM utility_accounts WHERE utility = ?1 AND account = ?2",
            params![utility, account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((holder, address)) = holder else {
        return Err(ApiError::not_found(
            "account_not_found",
            "No such utility account",
        ));
    };
    let mut stmt = conn.prepare(
        "SELECT bill_id, period, usage, amount_fen, due_date, status FROM utility_bills
         WHERE utility = ?1 AND account = ?2 ORDER BY period DESC",
    )?;
    let bills = stmt
        .query_map(params![utility, account], |r| bill_row(r, utility))?
        .collect::<Result<_, _>>()?;
    Ok(BillList {
        utility: utility.into(),
        account: account.into(),
        holder_masked: mask_name(&holder),
        address: mask_address(&address),
        payee: payee(utility),
        bills,
    })
}

/// `GET /v1/bills/accounts`: the resident's own accounts.
pub fn accounts_of(conn: &Connection, id_number: &str) -> Result<UtilityAccounts, ApiError> {
    let mut stmt = conn.prepare(
        "SELECT utility, account, address FROM utility_accounts WHERE id_number = ?1
         ORDER BY CASE utility WHEN 'water' THEN 0 WHEN 'electricity' THEN 1 ELSE 2 END, account",
    )?;
    let accounts = stmt
        .query_map([id_number], |r| {
            Ok(UtilityAccount {
                utility: r.get(0)?,
                account: r.get(1)?,
                address_masked: mask_address(&r.get::<_, String>(2)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(UtilityAccounts { accounts })
}

// ---- Orders ----

fn qr_payload(payment_id: &str) -> String {
    format!("https://pay.example.gov.cn/p/{payment_id}")
}

/// Reads an order, turning a pending one whose time has run out into `expired` (and keeping it so).
pub fn load(conn: &Connection, id: &str) -> Result<Option<Payment>, ApiError> {
    type Row = (
        String,
        String,
        String,
        i64,
        String,
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = conn
        .query_row(
            "SELECT utility, account, bills, amount_fen, status, expires_ms, expires_at, paid_at,
                    channel, receipt_no, refund FROM payment_orders WHERE payment_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            },
        )
        .optional()?;
    let Some((
        utility,
        account,
        bills,
        amount,
        status,
        exp_ms,
        expires_at,
        paid_at,
        channel,
        receipt_no,
        refund,
    )) = row
    else {
        return Ok(None);
    };
    let mut status = status_of(&status);
    if status == PaymentStatus::Pending && now_ms() >= exp_ms {
        conn.execute(
            "UPDATE payment_orders SET status = 'expired' WHERE payment_id = ?1 AND status = 'pending'",
            [id],
        )?;
        status = PaymentStatus::Expired;
    }
    let bills: Vec<Bill> = serde_json::from_str(&bills).map_err(|_| ApiError::internal())?;
    let refund: Option<Refund> = match refund {
        Some(r) => Some(serde_json::from_str(&r).map_err(|_| ApiError::internal())?),
        None => None,
    };
    Ok(Some(Payment {
        payment_id: id.into(),
        status,
        payee: payee(&utility),
        utility,
        account,
        bills,
        amount_fen: amount,
        qr_payload: qr_payload(id),
        expires_at,
        paid_at,
        channel,
        receipt_no,
        refund,
    }))
}

fn not_found() -> ApiError {
    ApiError::not_found("payment_not_found", "No such payment")
}

/// The bill set's key: its ids sorted.
fn bill_set(ids: &[String]) -> String {
    let mut v: Vec<&str> = ids.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.join(",")
}

/// The checks a schema states (400): 1–12 bills, none twice, a positive amount.
pub fn check_request(req: &PaymentRequest) -> Result<(), ApiError> {
    if req.bill_ids.is_empty() || req.bill_ids.len() > 12 {
        return Err(ApiError::bad_request("bill_ids must list 1 to 12 bills"));
    }
    let mut seen = std::collections::HashSet::new();
    if !req.bill_ids.iter().all(|b| seen.insert(b.as_str())) {
        return Err(ApiError::bad_request("bill_ids must not name a bill twice"));
    }
    if req
        .bill_ids
        .iter()
        .any(|b| b.is_empty() || b.chars().count() > 32)
    {
        return Err(ApiError::bad_request("a bill id has 1 to 32 characters"));
    }
    if req.amount_fen < 1 {
        return Err(ApiError::bad_request("amount_fen must be at least 1"));
    }
    check_account(&req.utility, &req.account)
}

/// `POST /v1/payments` (inside the Idempotency-Key's transaction).
pub fn create(
    conn: &Connection,
    device: &str,
    req: &PaymentRequest,
    ttl: Duration,
) -> Result<Payment, ApiError> {
    let known: bool = conn.query_row(
        "SELECT COUNT(*) FROM utility_accounts WHERE utility = ?1 AND account = ?2",
        params![req.utility, req.account],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !known {
        return Err(ApiError::not_found(
            "account_not_found",
            "No such utility account",
        ));
    }
    let mut bills = Vec::with_capacity(req.bill_ids.len());
    for id in &req.bill_ids {
        let bill = conn
            .query_row(
                "SELECT bill_id, period, usage, amount_fen, due_date, status FROM utility_bills
                 WHERE bill_id = ?1 AND utility = ?2 AND account = ?3",
                params![id, req.utility, req.account],
                |r| bill_row(r, &req.utility),
            )
            .optional()?
            .ok_or_else(|| {
                ApiError::not_found(
                    "bill_not_found",
                    "A bill in the list is not a bill of this account",
                )
            })?;
        bills.push(bill);
    }
    if bills.iter().any(|b| b.status != "unpaid") {
        return Err(ApiError::conflict(
            "bill_already_paid",
            "A bill in the list is already paid",
        ));
    }
    let total: i64 = bills.iter().map(|b| b.amount_fen).sum();
    if total != req.amount_fen {
        return Err(ApiError::unprocessable(
            "amount_mismatch",
            "amount_fen does not match the bills",
        ));
    }
    let set = bill_set(&req.bill_ids);
    let now = now_ms();
    // One open order per bill set: the same bills again answer the order already open.
    let open: Option<String> = conn
        .query_row(
            "SELECT payment_id FROM payment_orders WHERE bill_set = ?1 AND utility = ?2
             AND account = ?3 AND status = 'pending' AND expires_ms > ?4
             ORDER BY created_ms DESC LIMIT 1",
            params![set, req.utility, req.account, now],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = open {
        return load(conn, &id)?.ok_or_else(ApiError::internal);
    }
    let n = next_counter(conn, "payment")?;
    let id = code("PAY", n);
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let expires_ms = now + ttl_ms;
    let bills_json = serde_json::to_string(&bills).map_err(|_| ApiError::internal())?;
    conn.execute(
        "INSERT INTO payment_orders (payment_id, device_id, utility, account, bill_set, bills,
            amount_fen, status, created_ms, expires_ms, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10)",
        params![
            id,
            device,
            req.utility,
            req.account,
            set,
            bills_json,
            total,
            now,
            expires_ms,
            rfc3339_ms(expires_ms)
        ],
    )?;
    load(conn, &id)?.ok_or_else(ApiError::internal)
}

/// `POST /v1/payments/{id}/close`: a pending order closes; any other stays as it is (a paid one
/// answers paid).
pub fn close(conn: &Connection, id: &str) -> Result<Payment, ApiError> {
    let p = load(conn, id)?.ok_or_else(not_found)?;
    if p.status != PaymentStatus::Pending {
        return Ok(p);
    }
    conn.execute(
        "UPDATE payment_orders SET status = 'closed' WHERE payment_id = ?1 AND status = 'pending'",
        [id],
    )?;
    load(conn, id)?.ok_or_else(ApiError::internal)
}

pub const CHANNELS: [&str; 3] = ["wechat", "alipay", "unionpay"];

/// The resident's phone pays: a pending order becomes paid, its bills paid by it; a bill that
/// another order paid meanwhile is not paid again, and its money goes back (`refund`).
pub fn pay(conn: &Connection, id: &str, channel: &str) -> Result<Payment, ApiError> {
    if !CHANNELS.contains(&channel) {
        return Err(ApiError::bad_request(
            "channel must be wechat, alipay or unionpay",
        ));
    }
    let tx = conn.unchecked_transaction()?;
    let p = load(&tx, id)?.ok_or_else(not_found)?;
    match p.status {
        PaymentStatus::Pending => {}
        PaymentStatus::Paid => {
            tx.commit()?;
            return Err(ApiError::conflict(
                "payment_already_paid",
                "This order is paid already; nothing was charged again",
            ));
        }
        PaymentStatus::Expired | PaymentStatus::Closed => {
            tx.commit()?;
            return Err(ApiError::conflict(
                "payment_not_payable",
                "This order has expired or was closed; nothing was charged",
            ));
        }
    }
    let now = now_rfc3339();
    let mut charged = Vec::new();
    let mut returned = 0i64;
    for b in &p.bills {
        let status: String = tx.query_row(
            "SELECT status FROM utility_bills WHERE bill_id = ?1",
            [&b.bill_id],
            |r| r.get(0),
        )?;
        if status == "unpaid" {
            tx.execute(
                "UPDATE utility_bills SET status = 'paid', paid_by = ?1 WHERE bill_id = ?2",
                params![id, b.bill_id],
            )?;
            charged.push(b.bill_id.clone());
        } else {
            returned += b.amount_fen;
        }
    }
    let refund = (returned > 0).then(|| Refund {
        amount_fen: returned,
        reason: "bill_already_paid".into(),
        refunded_at: now.clone(),
    });
    let n = next_counter(&tx, "receipt")?;
    let refund_json = match &refund {
        Some(r) => Some(serde_json::to_string(r).map_err(|_| ApiError::internal())?),
        None => None,
    };
    tx.execute(
        "UPDATE payment_orders SET status = 'paid', paid_at = ?1, channel = ?2, receipt_no = ?3,
            charged = ?4, refund = ?5 WHERE payment_id = ?6",
        params![
            now,
            channel,
            code("RC", n),
            serde_json::to_string(&charged).map_err(|_| ApiError::internal())?,
            refund_json,
            id
        ],
    )?;
    let paid = load(&tx, id)?.ok_or_else(ApiError::internal)?;
    tx.commit()?;
    Ok(paid)
}

/// Bills kept (not refunded) by more than one paid order.
pub fn double_charged(conn: &Connection) -> rusqlite::Result<i64> {
    let mut stmt = conn.prepare(
        "SELECT charged FROM payment_orders WHERE status = 'paid' AND charged IS NOT NULL",
    )?;
    let mut times: HashMap<String, i64> = HashMap::new();
    for charged in stmt.query_map([], |r| r.get::<_, String>(0))? {
        for bill in serde_json::from_str::<Vec<String>>(&charged?).unwrap_or_default() {
            *times.entry(bill).or_default() += 1;
        }
    }
    Ok(times.values().filter(|&&n| n > 1).count() as i64)
}

// ---- Seed ----

/// One account's bills: `unpaid` months up to last month, `paid` months before them. Usage and
/// amounts are derived from the account and month, so they are the same every time.
struct Seeded<'a> {
    utility: &'a str,
    account: &'a str,
    holder: &'a str,
    address: &'a str,
    owner: Option<&'a str>,
    unpaid: i32,
    paid: i32,
}

fn seed_account(tx: &Connection, a: Seeded<'_>, last: Ym) -> rusqlite::Result<()> {
    let Seeded {
        utility,
        account,
        holder,
        address,
        owner,
        unpaid,
        paid,
    } = a;
    tx.execute(
        "INSERT OR REPLACE INTO utility_accounts VALUES (?1, ?2, ?3, ?4, ?5)",
        params![utility, account, holder, address, owner],
    )?;
    let letter = &utility[..1].to_ascii_uppercase();
    for i in 0..unpaid + paid {
        let month = last.plus(-i);
        let h = account
            .bytes()
            .chain(month.to_string().bytes())
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let (usage, amount) = match utility {
            "water" => {
                let u = 8 + (h % 15) as i64;
                (u, u * 345)
            }
            "electricity" => {
                let u = 120 + (h % 260) as i64;
                (u, (u * 5224 + 50) / 100)
            }
            _ => {
                let u = 10 + (h % 26) as i64;
                (u, u * 289)
            }
        };
        let due = month.plus(1);
        tx.execute(
            "INSERT OR REPLACE INTO utility_bills VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)",
            params![
                format!("{letter}{account}-{}{:02}", month.year(), month.month()),
                utility,
                account,
                month.to_string(),
                usage,
                amount,
                format!("{due}-25"),
                if i < unpaid { "unpaid" } else { "paid" }
            ],
        )?;
    }
    Ok(())
}

/// The first soak account of each utility, and how many there are: `SOAK_FIRST[u] + 0 ..
/// SOAK_FIRST[u] + SOAK_ACCOUNTS - 1`, each with two unpaid bills and no owner.
pub const SOAK_FIRST: [(&str, u64); 3] = [
    ("water", 10_000_001),
    ("electricity", 1_000_000_001),
    ("gas", 100_000_001),
];
pub const SOAK_ACCOUNTS: u64 = 200;

/// The demo residents' accounts (see docs/scenarios.md): (resident, utility, account, address,
/// unpaid months, paid months).
pub const DEMO_ACCOUNTS: [(usize, &str, &str, &str, i32, i32); 13] = [
    (
        0,
        "water",
        "20010001",
        "成都市成华区建设南路18号3栋2单元501",
        2,
        3,
    ),
    (
        0,
        "electricity",
        "3001000001",
        "成都市成华区建设南路18号3栋2单元501",
        3,
        3,
    ),
    (
        0,
        "gas",
        "400100001",
        "成都市成华区建设南路18号3栋2单元501",
        2,
        3,
    ),
    (
        1,
        "water",
        "20010002",
        "成都市成华区建设南路22号2栋1单元301",
        2,
        3,
    ),
    (
        1,
        "electricity",
        "3001000002",
        "成都市成华区建设南路22号2栋1单元301",
        2,
        3,
    ),
    (
        2,
        "electricity",
        "3001000003",
        "成都市成华区建设北路二段5号1栋1单元1203",
        3,
        2,
    ),
    (3, "water", "20010004", "成都市成华区望平街2号1栋4号", 2, 3),
    (
        3,
        "electricity",
        "3001000004",
        "成都市成华区望平街2号1栋4号",
        3,
        3,
    ),
    // Every bill paid.
    (3, "gas", "400100004", "成都市成华区望平街2号1栋4号", 0, 6),
    (4, "water", "20010005", "成都市青羊区草市街9号2栋302", 2, 3),
    (4, "gas", "400100005", "成都市青羊区草市街9号2栋302", 3, 3),
    (
        5,
        "water",
        "20010006",
        "成都市锦江区红星路三段1号A座1508",
        2,
        3,
    ),
    (
        5,
        "electricity",
        "3001000006",
        "成都市锦江区红星路三段1号A座1508",
        2,
        3,
    ),
];

/// Accounts and bills anew (demo residents' accounts and the soak accounts); orders are forgotten.
pub fn seed(tx: &Connection, residents: &[(String, String)], last: Ym) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM utility_accounts; DELETE FROM utility_bills; DELETE FROM payment_orders;
         DELETE FROM idempotency WHERE route = 'payments' OR route LIKE 'payments/%';",
    )?;
    for (n, utility, account, address, unpaid, paid) in DEMO_ACCOUNTS {
        let Some((id, name)) = residents.get(n) else {
            continue;
        };
        let a = Seeded {
            utility,
            account,
            holder: name,
            address,
            owner: Some(id),
            unpaid,
            paid,
        };
        seed_account(tx, a, last)?;
    }
    for (utility, first) in SOAK_FIRST {
        for i in 0..SOAK_ACCOUNTS {
            let account = (first + i).to_string();
            let address = format!("成都市成华区测试路{}号", i + 1);
            let a = Seeded {
                utility,
                account: &account,
                holder: "测试用户",
                address: &address,
                owner: None,
                unpaid: 2,
                paid: 0,
            };
            seed_account(tx, a, last)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_to_the_street_and_number() {
        assert_eq!(
            mask_address("成都市成华区建设南路18号3栋2单元501"),
            "建设南路18号***"
        );
        assert_eq!(
            mask_address("四川省成都市成华区建设路街道建设南路18号"),
            "建设南路18号***"
        );
        assert_eq!(
            mask_address("四川省绵阳市涪城区城厢街道临园路东段12号"),
            "临园路东段12号***"
        );
        assert_eq!(mask_address("某地"), "某地***");
    }

    #[test]
    fn account_numbers_have_the_utility_s_digits() {
        assert!(check_account("water", "20010001").is_ok());
        assert!(check_account("electricity", "3001000001").is_ok());
        assert!(check_account("gas", "400100001").is_ok());
        for (u, a) in [
            ("water", "200100011"),
            ("gas", "4001000011"),
            ("electricity", "20010001"),
        ] {
            assert_eq!(check_account(u, a).unwrap_err().code, "invalid_account");
        }
        for (u, a) in [
            ("water", "2001000"),
            ("gas", "40010000a"),
            ("gas", "40010000100"),
        ] {
            assert_eq!(check_account(u, a).unwrap_err().code, "invalid_request");
        }
        assert_eq!(
            check_account("heat", "1").unwrap_err().code,
            "invalid_request"
        );
    }
}
