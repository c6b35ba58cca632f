//! Numbered schema migrations. Append a new step; never edit a released one.

use super::StorageError;
use rusqlite::Connection;
use std::path::Path;

const STEPS: &[&str] = &[
    // 1: the foundation's tables.
    r#"
    CREATE TABLE device (id INTEGER PRIMARY KEY CHECK (id = 1), device_id TEXT NOT NULL, device_token TEXT NOT NULL,
                         site_json TEXT NOT NULL, enrolled_at TEXT NOT NULL);
    CREATE TABLE cache (key TEXT PRIMARY KEY, json TEXT NOT NULL, stored_at TEXT NOT NULL);
    CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
    CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE,
                         route TEXT NOT NULL, body_sealed BLOB NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                         next_attempt_at TEXT, result_json TEXT);
    CREATE TABLE print_spool (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, updated_at TEXT, template TEXT NOT NULL,
                              document_json TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('queued','sending','done','in_doubt','failed')),
                              reprint INTEGER NOT NULL DEFAULT 0);
    "#,
    // 2: the outbox's offline receipt number and its last delivery error.
    r#"
    ALTER TABLE outbox ADD COLUMN local_no TEXT;
    ALTER TABLE outbox ADD COLUMN last_error TEXT;
    "#,
    // 3: typed submissions: the route is the contract path, and online-only is the entry's own.
    r#"
    ALTER TABLE outbox ADD COLUMN online_only INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET route = '/v1/' || route WHERE route NOT LIKE '/%';
    UPDATE outbox SET online_only = 1 WHERE route = '/v1/queue/tickets';
    "#,
    // 4: a paper belongs to the visit and request that asked for it (a job in doubt from an
    // earlier visit is withheld, never printed for the next resident); the cloud's answers are
    // kept sealed, with only their numbers in the clear.
    r#"
    CREATE TABLE print_spool_v4 (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, updated_at TEXT, template TEXT NOT NULL,
                              document_json TEXT NOT NULL,
                              state TEXT NOT NULL CHECK (state IN ('queued','sending','done','in_doubt','failed','withheld')),
                              reprint INTEGER NOT NULL DEFAULT 0, visit TEXT, request_id TEXT);
    INSERT INTO print_spool_v4 (id, created_at, updated_at, template, document_json, state, reprint)
        SELECT id, created_at, updated_at, template, document_json, state, reprint FROM print_spool;
    DROP TABLE print_spool;
    ALTER TABLE print_spool_v4 RENAME TO print_spool;
    ALTER TABLE outbox ADD COLUMN result_sealed BLOB;
    "#,
    // 5: payment orders this kiosk opened, until the cloud says how each ended (the kiosk is never
    // in the money path, but it must never lose track of an order it showed); a paid order's
    // receipt may wait in the spool ('held') for a resident who left before it was known.
    r#"
    CREATE TABLE payment_orders (payment_id TEXT PRIMARY KEY, visit TEXT NOT NULL, state TEXT NOT NULL
                                 CHECK (state IN ('open','settling','paid','expired','closed')),
                                 created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                                 close_entry INTEGER);
    CREATE TABLE print_spool_v5 (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, updated_at TEXT, template TEXT NOT NULL,
                              document_json TEXT NOT NULL,
                              state TEXT NOT NULL CHECK (state IN ('queued','sending','done','in_doubt','failed','withheld','held')),
                              reprint INTEGER NOT NULL DEFAULT 0, visit TEXT, request_id TEXT);
    INSERT INTO print_spool_v5 SELECT id, created_at, updated_at, template, document_json, state, reprint, visit, request_id FROM print_spool;
    DROP TABLE print_spool;
    ALTER TABLE print_spool_v5 RENAME TO print_spool;
    CREATE INDEX print_spool_request ON print_spool(request_id);
    "#,
    // 6: commands from the cloud's heartbeat answers: each carried out once, its acknowledgement
    // kept until a heartbeat has delivered it.
    r#"
    CREATE TABLE device_commands (id TEXT PRIMARY KEY, command TEXT NOT NULL, received_at TEXT NOT NULL,
                                  ack_json TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0);
    "#,
];

pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StorageError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StorageError::TooNew {
            path: path.into(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, step) in STEPS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "storage schema migrated");
    }
    Ok(())
}
