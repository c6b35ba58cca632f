//! The simulator's SQLite store.

use rusqlite::Connection;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, token TEXT UNIQUE NOT NULL, serial TEXT, model TEXT, enrolled_at TEXT);
CREATE TABLE IF NOT EXISTS residents (id_number TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT);
CREATE TABLE IF NOT EXISTS accounts (id_number TEXT NOT NULL, kind TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (id_number, kind));
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, id_number TEXT NOT NULL, expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
    session_id TEXT);
CREATE TABLE IF NOT EXISTS idempotency (device_id TEXT NOT NULL, key TEXT NOT NULL, route TEXT NOT NULL, request TEXT NOT NULL,
    status INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (device_id, key));
CREATE TABLE IF NOT EXISTS queues (hall_id TEXT NOT NULL, business TEXT NOT NULL, name_zh TEXT NOT NULL, name_en TEXT NOT NULL,
    prefix TEXT NOT NULL, waiting INTEGER NOT NULL, minutes_each INTEGER NOT NULL, next_no INTEGER NOT NULL, PRIMARY KEY (hall_id, business));
CREATE TABLE IF NOT EXISTS tickets (ticket_no TEXT NOT NULL, hall_id TEXT NOT NULL, business TEXT NOT NULL, priority TEXT NOT NULL, issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (case_no TEXT PRIMARY KEY, id_number TEXT, title_zh TEXT NOT NULL, title_en TEXT NOT NULL,
    status TEXT NOT NULL, updated_at TEXT NOT NULL, query_code TEXT NOT NULL, kind TEXT NOT NULL, auto_advance INTEGER NOT NULL, payload TEXT);
CREATE TABLE IF NOT EXISTS case_events (case_no TEXT NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS case_notes (case_no TEXT PRIMARY KEY, reason_zh TEXT NOT NULL, reason_en TEXT NOT NULL,
    next_zh TEXT NOT NULL, next_en TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (case_no TEXT PRIMARY KEY, score INTEGER NOT NULL, comment TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS service_ratings (rating_id TEXT PRIMARY KEY, service TEXT NOT NULL, reference TEXT NOT NULL,
    score INTEGER NOT NULL, reasons TEXT NOT NULL, comment TEXT NOT NULL, device_id TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (service, reference));
CREATE TABLE IF NOT EXISTS utility_accounts (utility TEXT NOT NULL, account TEXT NOT NULL, holder TEXT NOT NULL,
    address TEXT NOT NULL, id_number TEXT, PRIMARY KEY (utility, account));
CREATE TABLE IF NOT EXISTS utility_bills (bill_id TEXT PRIMARY KEY, utility TEXT NOT NULL, account TEXT NOT NULL,
    period TEXT NOT NULL, usage INTEGER NOT NULL, amount_fen INTEGER NOT NULL, due_date TEXT NOT NULL, status TEXT NOT NULL,
    paid_by TEXT);
CREATE INDEX IF NOT EXISTS utility_bills_account ON utility_bills (utility, account);
CREATE TABLE IF NOT EXISTS payment_orders (payment_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, utility TEXT NOT NULL,
    account TEXT NOT NULL, bill_set TEXT NOT NULL, bills TEXT NOT NULL, amount_fen INTEGER NOT NULL, status TEXT NOT NULL,
    created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, expires_at TEXT NOT NULL, paid_at TEXT, channel TEXT,
    receipt_no TEXT, charged TEXT, refund TEXT);
CREATE INDEX IF NOT EXISTS payment_orders_bill_set ON payment_orders (bill_set, status);
CREATE TABLE IF NOT EXISTS certificates (certificate_no TEXT PRIMARY KEY, id_number TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reference (kind TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrollment_codes (code TEXT PRIMARY KEY, issued_at TEXT NOT NULL, used_by TEXT, used_at TEXT);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"#;

pub fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(super::fleet::SCHEMA)?;
    conn.execute_batch(super::admin::SCHEMA)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Brings a database made by an older simulator up to this schema (the demo keeps its file).
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_session_id: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('sessions') WHERE name = 'session_id'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    // Ratings name their reasons (好差评 quick phrases) since the 2026-12 contract.
    let has_reasons: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('ratings') WHERE name = 'reasons'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !has_reasons {
        conn.execute_batch("ALTER TABLE ratings ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';")?;
    }
    // Bills and payments of the old shape (a payment that paid itself) are gone: the simulator
    // keeps them in `utility_bills` and `payment_orders` now.
    conn.execute_batch("DROP TABLE IF EXISTS bills; DROP TABLE IF EXISTS payments;")?;
    // Commands name the admin who queued them since the fleet console.
    let has_issued_by: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('device_commands') WHERE name = 'issued_by'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !has_issued_by {
        conn.execute_batch("ALTER TABLE device_commands ADD COLUMN issued_by TEXT;")?;
    }
    if !has_session_id {
        // Sessions of the old shape have no id to name on documents: they end now.
        conn.execute_batch(
            "ALTER TABLE sessions ADD COLUMN session_id TEXT; UPDATE sessions SET revoked = 1;",
        )?;
    }
    Ok(())
}

/// The next value of a named counter (case numbers, receipt numbers).
pub fn next_counter(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO counters(name, value) VALUES (?1, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
        [name],
    )?;
    conn.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
        r.get(0)
    })
}

/// Makes `code` a valid enrolment code, unless it is one already (used or not: a used code
/// stays used across restarts).
pub fn add_enrollment_code(conn: &Connection, code: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO enrollment_codes(code, issued_at) VALUES (?1, ?2)",
        rusqlite::params![code, crate::time::now_rfc3339()],
    )?;
    Ok(())
}

/// A new random enrolment code, in the shape an admin reads out: `SIM-XXXX-XXXX`.
pub fn issue_enrollment_code(conn: &Connection) -> rusqlite::Result<String> {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let code = format!("SIM-{}-{}", &hex[..4], &hex[4..8]);
    add_enrollment_code(conn, &code)?;
    Ok(code)
}
