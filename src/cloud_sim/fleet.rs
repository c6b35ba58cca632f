//! The simulator's device table: each kiosk's last heartbeat and health, its beat history
//! (including the beats it sent late, after being offline), and the commands queued for it with
//! their acknowledgements. A command is offered in every heartbeat answer until the kiosk
//! acknowledges it; the first ack counts, later ones are only counted as duplicates.

use super::http::{now_rfc3339, ApiError};
use crate::cloud::api::{DeviceCommand, HeartbeatRequest};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS device_health (device_id TEXT PRIMARY KEY, last_seen TEXT NOT NULL, app_version TEXT NOT NULL,
    uptime_s INTEGER NOT NULL, printer TEXT NOT NULL, card_reader TEXT NOT NULL, pending_outbox INTEGER NOT NULL, health TEXT);
CREATE TABLE IF NOT EXISTS device_beats (id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, at TEXT NOT NULL,
    received_at TEXT NOT NULL, late INTEGER NOT NULL, printer TEXT NOT NULL, card_reader TEXT NOT NULL,
    pending_outbox INTEGER NOT NULL, printer_state TEXT);
CREATE INDEX IF NOT EXISTS device_beats_device ON device_beats (device_id, id);
CREATE TABLE IF NOT EXISTS device_commands (id TEXT PRIMARY KEY, device_id TEXT NOT NULL, command TEXT NOT NULL, argument TEXT,
    issued_at TEXT NOT NULL, offered INTEGER NOT NULL DEFAULT 0, acked_at TEXT, result TEXT, detail TEXT, report TEXT,
    log_lines TEXT, duplicate_acks INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS device_commands_device ON device_commands (device_id, acked_at);
"#;

/// Beats kept per device (the console's history chart needs a day at one a minute).
const BEATS_KEPT: i64 = 2000;

fn check_len(field: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(())
}

/// Validates what the contract bounds beyond the types (lengths, list sizes).
pub fn validate(req: &HeartbeatRequest) -> Result<(), ApiError> {
    for (field, v) in [("printer", &req.printer), ("card_reader", &req.card_reader)] {
        if !["ok", "warning", "error"].contains(&v.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{field} must be ok, warning or error"
            )));
        }
    }
    if req.app_version.is_empty() || req.app_version.chars().count() > 32 {
        return Err(ApiError::bad_request(
            "app_version must be 1 to 32 characters",
        ));
    }
    if req.acks.len() > 100 || req.missed.len() > 1000 {
        return Err(ApiError::bad_request(
            "at most 100 acks and 1000 missed beats per heartbeat",
        ));
    }
    for m in &req.missed {
        for (field, v) in [("printer", &m.printer), ("card_reader", &m.card_reader)] {
            if !["ok", "warning", "error"].contains(&v.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "missed[].{field} must be ok, warning or error"
                )));
            }
        }
        check_len("missed[].at", &m.at, 40)?;
    }
    for a in &req.acks {
        check_len("acks[].id", &a.id, 64)?;
        if let Some(d) = &a.detail {
            check_len("acks[].detail", d, 2000)?;
        }
        if a.log_lines.as_ref().is_some_and(|l| l.len() > 1000) {
            return Err(ApiError::bad_request("at most 1000 log lines"));
        }
    }
    if let Some(h) = &req.health {
        if h.readers.len() > 16 || h.last_errors.len() > 50 {
            return Err(ApiError::bad_request(
                "at most 16 readers and 50 error codes",
            ));
        }
        for r in &h.readers {
            check_len("health.readers[].name", &r.name, 128)?;
            check_len("health.readers[].state", &r.state, 32)?;
        }
        for e in &h.last_errors {
            check_len("health.last_errors[].code", &e.code, 64)?;
        }
        check_len("health.audio.detail", &h.audio.detail, 200)?;
        if let Some(u) = &h.update {
            for v in [&u.current, &u.previous, &u.pending, &u.trial]
                .into_iter()
                .flatten()
            {
                check_len("health.update versions", v, 64)?;
            }
            if let Some(t) = &u.last_check_at {
                check_len("health.update.last_check_at", t, 40)?;
            }
            if let Some(e) = &u.last_error {
                check_len("health.update.last_error", e, 2000)?;
            }
            if let Some(r) = &u.rolled_back {
                check_len("health.update.rolled_back.version", &r.version, 64)?;
                if let Some(to) = &r.to {
                    check_len("health.update.rolled_back.to", to, 64)?;
                }
                if let Some(at) = &r.at {
                    check_len("health.update.rolled_back.at", at, 40)?;
                }
                check_len("health.update.rolled_back.reason", &r.reason, 2000)?;
            }
        }
    }
    Ok(())
}

/// Records a heartbeat (and the beats it brings late), takes its acks, and answers the commands
/// still waiting for this device.
pub fn heartbeat(
    conn: &Connection,
    device_id: &str,
    req: &HeartbeatRequest,
) -> Result<Vec<DeviceCommand>, ApiError> {
    let now = now_rfc3339();
    let health = req
        .health
        .as_ref()
        .map(|h| serde_json::to_string(h).expect("health serialises"));
    conn.execute(
        "INSERT INTO device_health (device_id, last_seen, app_version, uptime_s, printer, card_reader, pending_outbox, health)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (device_id) DO UPDATE SET last_seen = ?2, app_version = ?3, uptime_s = ?4, printer = ?5,
             card_reader = ?6, pending_outbox = ?7, health = COALESCE(?8, health)",
        params![
            device_id,
            now,
            req.app_version,
            req.uptime_s.min(i64::MAX as u64) as i64,
            req.printer,
            req.card_reader,
            req.pending_outbox,
            health
        ],
    )?;
    for m in &req.missed {
        conn.execute(
            "INSERT INTO device_beats (device_id, at, received_at, late, printer, card_reader, pending_outbox)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)",
            params![device_id, m.at, now, m.printer, m.card_reader, m.pending_outbox],
        )?;
    }
    conn.execute(
        "INSERT INTO device_beats (device_id, at, received_at, late, printer, card_reader, pending_outbox, printer_state)
         VALUES (?1, ?2, ?2, 0, ?3, ?4, ?5, ?6)",
        params![
            device_id,
            now,
            req.printer,
            req.card_reader,
            req.pending_outbox,
            req.health.as_ref().map(|h| h.printer.state.code())
        ],
    )?;
    conn.execute(
        "DELETE FROM device_beats WHERE device_id = ?1 AND id <= (SELECT MAX(id) FROM device_beats WHERE device_id = ?1) - ?2",
        params![device_id, BEATS_KEPT],
    )?;
    for a in &req.acks {
        let result = serde_json::to_value(a.result).expect("result serialises");
        let first = conn.execute(
            "UPDATE device_commands SET acked_at = ?1, result = ?2, detail = ?3, report = ?4, log_lines = ?5
             WHERE id = ?6 AND device_id = ?7 AND acked_at IS NULL",
            params![
                now,
                result.as_str(),
                a.detail,
                a.report.as_ref().map(|r| Value::Object(r.clone()).to_string()),
                a.log_lines.as_ref().map(|l| json!(l).to_string()),
                a.id,
                device_id
            ],
        )?;
        if first == 0 {
            // Acknowledged before (or not this device's): counted, never applied twice.
            conn.execute(
                "UPDATE device_commands SET duplicate_acks = duplicate_acks + 1 WHERE id = ?1 AND device_id = ?2",
                params![a.id, device_id],
            )?;
        }
    }
    let mut stmt = conn.prepare(
        "SELECT id, command, argument, issued_at FROM device_commands
         WHERE device_id = ?1 AND acked_at IS NULL ORDER BY issued_at, id",
    )?;
    let commands: Vec<DeviceCommand> = stmt
        .query_map([device_id], |r| {
            Ok(DeviceCommand {
                id: r.get(0)?,
                command: r.get(1)?,
                argument: r.get(2)?,
                issued_at: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    conn.execute(
        "UPDATE device_commands SET offered = offered + 1 WHERE device_id = ?1 AND acked_at IS NULL",
        [device_id],
    )?;
    Ok(commands)
}

/// Queues a command for a device; answers its id.
pub fn queue_command(
    conn: &Connection,
    device_id: &str,
    command: &str,
    argument: Option<&str>,
) -> Result<String, ApiError> {
    let known: Option<String> = conn
        .query_row(
            "SELECT device_id FROM devices WHERE device_id = ?1",
            [device_id],
            |r| r.get(0),
        )
        .optional()?;
    if known.is_none() {
        return Err(ApiError::not_found("device_not_found", "No such device"));
    }
    if command.is_empty() || command.len() > 64 {
        return Err(ApiError::bad_request("command must be 1 to 64 characters"));
    }
    let id = format!("cmd_{}", uuid::Uuid::new_v4().simple());
    conn.execute(
        "INSERT INTO device_commands (id, device_id, command, argument, issued_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, device_id, command, argument, now_rfc3339()],
    )?;
    Ok(id)
}

/// Every enrolled device with its last heartbeat (the fleet view).
pub fn devices(conn: &Connection) -> Result<Value, ApiError> {
    let mut stmt = conn.prepare(
        "SELECT d.device_id, d.serial, d.model, d.enrolled_at, h.last_seen, h.app_version, h.uptime_s, h.printer,
                h.card_reader, h.pending_outbox, h.health,
                (SELECT COUNT(*) FROM device_commands c WHERE c.device_id = d.device_id AND c.acked_at IS NULL)
         FROM devices d LEFT JOIN device_health h ON h.device_id = d.device_id ORDER BY d.device_id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let health: Option<String> = r.get(10)?;
            Ok(json!({
                "device_id": r.get::<_, String>(0)?,
                "serial": r.get::<_, Option<String>>(1)?,
                "model": r.get::<_, Option<String>>(2)?,
                "enrolled_at": r.get::<_, Option<String>>(3)?,
                "last_seen": r.get::<_, Option<String>>(4)?,
                "app_version": r.get::<_, Option<String>>(5)?,
                "uptime_s": r.get::<_, Option<i64>>(6)?,
                "printer": r.get::<_, Option<String>>(7)?,
                "card_reader": r.get::<_, Option<String>>(8)?,
                "pending_outbox": r.get::<_, Option<i64>>(9)?,
                "health": health.and_then(|h| serde_json::from_str::<Value>(&h).ok()),
                "pending_commands": r.get::<_, i64>(11)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(rows))
}

/// One device: its last heartbeat, its beats (newest last) and its commands.
pub fn device(conn: &Connection, device_id: &str) -> Result<Value, ApiError> {
    let all = devices(conn)?;
    let me = all
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["device_id"] == device_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("device_not_found", "No such device"))?;
    let mut stmt = conn.prepare(
        "SELECT at, received_at, late, printer, card_reader, pending_outbox, printer_state FROM device_beats
         WHERE device_id = ?1 ORDER BY at, id",
    )?;
    let beats = stmt
        .query_map([device_id], |r| {
            Ok(json!({
                "at": r.get::<_, String>(0)?,
                "received_at": r.get::<_, String>(1)?,
                "late": r.get::<_, i64>(2)? != 0,
                "printer": r.get::<_, String>(3)?,
                "card_reader": r.get::<_, String>(4)?,
                "pending_outbox": r.get::<_, i64>(5)?,
                "printer_state": r.get::<_, Option<String>>(6)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT id, command, argument, issued_at, offered, acked_at, result, detail, report, log_lines, duplicate_acks
         FROM device_commands WHERE device_id = ?1 ORDER BY issued_at, id",
    )?;
    let commands = stmt
        .query_map([device_id], |r| {
            let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str::<Value>(&s).ok());
            Ok(json!({
                "id": r.get::<_, String>(0)?,
                "command": r.get::<_, String>(1)?,
                "argument": r.get::<_, Option<String>>(2)?,
                "issued_at": r.get::<_, String>(3)?,
                "offered": r.get::<_, i64>(4)?,
                "acked_at": r.get::<_, Option<String>>(5)?,
                "result": r.get::<_, Option<String>>(6)?,
                "detail": r.get::<_, Option<String>>(7)?,
                "report": parse(r.get(8)?),
                "log_lines": parse(r.get(9)?),
                "duplicate_acks": r.get::<_, i64>(10)?,
            }))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"device": me, "beats": beats, "commands": commands}))
}
