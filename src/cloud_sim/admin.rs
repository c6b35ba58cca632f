//! The admin side of the simulated cloud: admin credentials with roles, the fleet list with each
//! kiosk's status and the reasons for it, one kiosk's history, commands for one kiosk or a
//! site, the versioned catalogue, rollout status from the kiosks' update reports, the audit
//! trail of every admin action, and the public "can this kiosk do it?" page per site.

use super::http::*;
use crate::cloud::admin::*;
use crate::cloud::api::{Catalog, Condition, DeviceHealth, Site};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS admin_credentials (token TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS catalog_versions (version TEXT PRIMARY KEY, published_at TEXT NOT NULL, published_by TEXT NOT NULL,
    json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sites (hall_id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS device_sites (device_id TEXT PRIMARY KEY, hall_id TEXT NOT NULL);
"#;

/// A kiosk not heard from for three default heartbeat intervals is offline (a fleet set to
/// beat less often sets it longer: `cloud-sim --offline-after-secs`).
static OFFLINE_AFTER_S: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(180);

pub fn set_offline_after(after: Duration) {
    OFFLINE_AFTER_S.store(after.as_secs().max(1), std::sync::atomic::Ordering::Relaxed);
}

fn offline_after_s() -> i64 {
    OFFLINE_AFTER_S.load(std::sync::atomic::Ordering::Relaxed) as i64
}
/// The outbox is stuck when its oldest submission has waited this long.
const OUTBOX_STUCK_S: u64 = 600;
/// A clock this far from the cloud's breaks receipts' times and TLS.
const CLOCK_OFF_MS: i64 = 30_000;
const DISK_LOW_MB: u64 = 200;

type S = State<Arc<SimState>>;
type Res = Result<Response, ApiError>;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/admin/whoami", get(whoami))
        .route("/v1/admin/devices", get(devices))
        .route("/v1/admin/devices/{id}", get(device))
        .route("/v1/admin/commands", axum::routing::post(queue_commands))
        .route("/v1/admin/catalog", get(catalog).post(publish_catalog))
        .route("/v1/admin/rollouts", get(rollouts))
        .route("/v1/admin/audit", get(audit).post(note_audit))
        .route("/public/sites/{hall}/kiosks.json", get(public_site_json))
        .route("/public/sites/{hall}/kiosks", get(public_site_page))
}

/// Seeds the simulator's own hall as a site (the example every enrolled kiosk stands in).
pub fn seed(conn: &Connection) -> rusqlite::Result<()> {
    add_site(conn, &super::seed::site())
}

pub fn add_site(conn: &Connection, site: &Site) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO sites (hall_id, json) VALUES (?1, ?2)",
        params![
            site.hall_id,
            serde_json::to_string(site).expect("sites serialise")
        ],
    )?;
    Ok(())
}

pub fn add_credential(
    conn: &Connection,
    token: &str,
    name: &str,
    role: AdminRole,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO admin_credentials (token, name, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (token) DO UPDATE SET name = ?2, role = ?3",
        params![token, name, role.code()],
    )?;
    Ok(())
}

// ---- Who is asking ----

/// The admin behind `Authorization: Bearer <admin token>` (`401 unauthorized` otherwise; a
/// device token is not an admin credential). `who` names the credential, and the console user
/// acting through it when the console says (`X-Admin-User`).
#[derive(Debug, Clone)]
pub struct Admin {
    pub who: String,
    pub role: AdminRole,
}

impl FromRequestParts<Arc<SimState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<SimState>,
    ) -> Result<Self, ApiError> {
        admin(state, &parts.headers)
    }
}

fn admin(state: &SimState, headers: &HeaderMap) -> Result<Admin, ApiError> {
    let unauthorized = || unauthorized("admin credential");
    let token = bearer(headers, "admin credential")?;
    let conn = state.conn.lock().expect("db lock");
    let (name, role): (String, String) = conn
        .query_row(
            "SELECT name, role FROM admin_credentials WHERE token = ?1",
            [token],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(unauthorized)?;
    let role: AdminRole = role.parse().map_err(|_| ApiError::internal())?;
    let user = match headers.get("x-admin-user") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|u| {
                    !u.is_empty() && u.len() <= 64 && u.bytes().all(|b| b.is_ascii_graphic())
                })
                .ok_or_else(|| {
                    ApiError::bad_request("X-Admin-User must be 1-64 visible ASCII characters")
                })?,
        ),
    };
    Ok(Admin {
        who: match user {
            Some(u) => format!("{u} (via {name})"),
            None => name,
        },
        role,
    })
}

impl Admin {
    /// Refuses a viewer: `403 forbidden` with what they tried.
    fn may_act(&self, what: &str) -> Result<(), ApiError> {
        if self.role.may_act() {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("A viewer cannot {what}; an operator's credential is needed"),
            ))
        }
    }

    /// The key space for this admin's Idempotency-Keys.
    fn key_space(&self) -> Device {
        Device(format!("admin:{}", self.who))
    }
}

fn record(
    conn: &Connection,
    who: &str,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> Result<AuditEntry, ApiError> {
    let at = now_rfc3339();
    conn.execute(
        "INSERT INTO admin_audit (at, who, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, who, action, target, detail],
    )?;
    Ok(AuditEntry {
        at,
        who: who.into(),
        action: action.into(),
        target: target.into(),
        detail: detail.map(str::to_string),
    })
}

// ---- The fleet ----

struct HealthRow {
    device_id: String,
    serial: Option<String>,
    model: Option<String>,
    site: String,
    site_name: Option<String>,
    last_seen: Option<String>,
    app_version: Option<String>,
    printer: Option<String>,
    card_reader: Option<String>,
    pending_outbox: Option<i64>,
    health: Option<String>,
    pending_commands: i64,
}

fn health_rows(conn: &Connection, only: Option<&str>) -> Result<Vec<HealthRow>, ApiError> {
    let mut stmt = conn.prepare(
        "SELECT d.device_id, d.serial, d.model, COALESCE(s.hall_id, ?2), h.last_seen, h.app_version, h.printer,
                h.card_reader, h.pending_outbox, h.health,
                (SELECT COUNT(*) FROM device_commands c WHERE c.device_id = d.device_id AND c.acked_at IS NULL),
                json_extract(t.json, '$.community')
         FROM devices d LEFT JOIN device_health h ON h.device_id = d.device_id
              LEFT JOIN device_sites s ON s.device_id = d.device_id
              LEFT JOIN sites t ON t.hall_id = COALESCE(s.hall_id, ?2)
         WHERE ?1 IS NULL OR d.device_id = ?1 ORDER BY d.device_id",
    )?;
    let rows = stmt
        .query_map(params![only, super::seed::HALL_ID], |r| {
            Ok(HealthRow {
                device_id: r.get(0)?,
                serial: r.get(1)?,
                model: r.get(2)?,
                site: r.get(3)?,
                last_seen: r.get(4)?,
                app_version: r.get(5)?,
                printer: r.get(6)?,
                card_reader: r.get(7)?,
                pending_outbox: r.get(8)?,
                health: r.get(9)?,
                pending_commands: r.get(10)?,
                site_name: r.get(11)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn seconds_since(at: &str, now: chrono::DateTime<chrono::FixedOffset>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| (now - t).num_seconds())
}

/// A kiosk's status and the reasons for it, from its last heartbeat.
fn assess(row: &HealthRow, now: chrono::DateTime<chrono::FixedOffset>) -> FleetDevice {
    let health: Option<DeviceHealth> = row
        .health
        .as_deref()
        .and_then(|h| serde_json::from_str(h).ok());
    let mut reasons = Vec::new();
    let silent_for = row.last_seen.as_deref().and_then(|t| seconds_since(t, now));
    let offline = match silent_for {
        None => {
            reasons.push(AttentionReason::new(AttentionReason::NEVER_SEEN, None));
            true
        }
        Some(s) if s > offline_after_s() => {
            reasons.push(AttentionReason::new(AttentionReason::OFFLINE, Some(s / 60)));
            true
        }
        Some(_) => false,
    };
    if let Some(h) = &health {
        let printer = match h.printer.state.code() {
            "paper_near_end" => Some(AttentionReason::PAPER_NEAR_END),
            "paper_out" => Some(AttentionReason::PAPER_OUT),
            "cover_open" => Some(AttentionReason::COVER_OPEN),
            "cutter_error" => Some(AttentionReason::CUTTER_ERROR),
            "offline" => Some(AttentionReason::PRINTER_OFFLINE),
            _ => None,
        };
        if let Some(code) = printer {
            reasons.push(AttentionReason::new(code, None));
        }
        if h.readers.iter().any(|r| r.state == "lost") {
            reasons.push(AttentionReason::new(AttentionReason::READER_LOST, None));
        } else if row.card_reader.as_deref() == Some("error") {
            reasons.push(AttentionReason::new(AttentionReason::READER_ERROR, None));
        }
        if let Some(age) = h
            .outbox_oldest_pending_s
            .filter(|age| *age >= OUTBOX_STUCK_S)
        {
            reasons.push(AttentionReason::new(
                AttentionReason::OUTBOX_STUCK,
                Some((age / 60) as i64),
            ));
        }
        if let Some(off) = h
            .clock_offset_ms
            .filter(|o| o.unsigned_abs() >= CLOCK_OFF_MS as u64)
        {
            reasons.push(AttentionReason::new(
                AttentionReason::CLOCK_OFF,
                Some(off / 1000),
            ));
        }
        if let Some(mb) = h.disk_free_mb.filter(|mb| *mb < DISK_LOW_MB) {
            reasons.push(AttentionReason::new(
                AttentionReason::DISK_LOW,
                Some(mb as i64),
            ));
        }
        if h.audio.condition == Condition::Error {
            reasons.push(AttentionReason::new(AttentionReason::AUDIO_ERROR, None));
        }
        // A rollback is news for a day; after that the kiosk simply runs the older release.
        if let Some(rb) = h.update.as_ref().and_then(|u| u.rolled_back.as_ref()) {
            let recent = rb
                .at
                .as_deref()
                .and_then(|t| seconds_since(t, now))
                .is_none_or(|s| s < 86_400);
            if recent {
                reasons.push(AttentionReason::new(AttentionReason::ROLLED_BACK, None));
            }
        }
    } else if !offline {
        // Only the summary: printer and reader as ok / warning / error.
        if row.printer.as_deref() == Some("error") {
            reasons.push(AttentionReason::new(AttentionReason::PRINTER_OFFLINE, None));
        }
        if row.card_reader.as_deref() == Some("error") {
            reasons.push(AttentionReason::new(AttentionReason::READER_ERROR, None));
        }
    }
    let status = if offline {
        FleetStatus::Offline
    } else if reasons.is_empty() {
        FleetStatus::Ok
    } else {
        FleetStatus::Attention
    };
    FleetDevice {
        device_id: row.device_id.clone(),
        serial: row.serial.clone(),
        model: row.model.clone(),
        site: row.site.clone(),
        site_name: row.site_name.clone(),
        app_version: row.app_version.clone(),
        last_seen: row.last_seen.clone(),
        status,
        reasons,
        printer_state: health.as_ref().map(|h| h.printer.state.code().to_string()),
        pending_outbox: row.pending_outbox,
        pending_commands: row.pending_commands,
    }
}

fn now_cst() -> chrono::DateTime<chrono::FixedOffset> {
    crate::time::now().fixed_offset()
}

pub fn fleet(conn: &Connection) -> Result<Vec<FleetDevice>, ApiError> {
    let now = now_cst();
    Ok(health_rows(conn, None)?
        .iter()
        .map(|r| assess(r, now))
        .collect())
}

fn matches(d: &FleetDevice, f: &FleetFilter) -> bool {
    f.site.as_ref().is_none_or(|s| &d.site == s)
        && f.status.is_none_or(|s| d.status == s)
        && f.version
            .as_ref()
            .is_none_or(|v| d.app_version.as_ref() == Some(v))
        && f.reason
            .as_ref()
            .is_none_or(|r| d.reasons.iter().any(|x| &x.code == r))
}

async fn whoami(_: State<Arc<SimState>>, a: Admin) -> Res {
    let name = a.who.clone();
    ok(&AdminIdentity { name, role: a.role })
}

async fn devices(State(s): S, _: Admin, Query(f): Query<FleetFilter>) -> Res {
    for v in [&f.site, &f.version, &f.reason].into_iter().flatten() {
        if v.chars().count() > 64 {
            return Err(ApiError::bad_request(
                "site, version and reason are at most 64 characters",
            ));
        }
    }
    let conn = s.conn.lock().expect("db lock");
    let all = fleet(&conn)?;
    let total = all.len();
    let devices = all.into_iter().filter(|d| matches(d, &f)).collect();
    ok(&FleetDevices { devices, total })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceQuery {
    beats: Option<usize>,
}

async fn device(
    State(s): S,
    _: Admin,
    Path(id): Path<String>,
    Query(q): Query<DeviceQuery>,
) -> Res {
    let conn = s.conn.lock().expect("db lock");
    let row = health_rows(&conn, Some(&id))?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("device_not_found", "No such device"))?;
    let dev = assess(&row, now_cst());
    let keep = q.beats.unwrap_or(240);
    if keep > 2000 {
        return Err(ApiError::bad_request("beats is at most 2000"));
    }
    let keep = keep as i64;
    let mut stmt = conn.prepare(
        "SELECT at, late, printer, card_reader, pending_outbox, printer_state FROM
           (SELECT * FROM device_beats WHERE device_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY at, id",
    )?;
    let beats = stmt
        .query_map(params![id, keep], |r| {
            Ok(DeviceBeat {
                at: r.get(0)?,
                late: r.get::<_, i64>(1)? != 0,
                printer: r.get(2)?,
                card_reader: r.get(3)?,
                pending_outbox: r.get(4)?,
                printer_state: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let commands = command_records(&conn, Some(&id), 50)?;
    let health: Option<serde_json::Value> = row
        .health
        .as_deref()
        .and_then(|h| serde_json::from_str(h).ok());
    let recent_errors = health
        .as_ref()
        .and_then(|h| serde_json::from_value::<DeviceHealth>(h.clone()).ok())
        .map(|h| {
            h.last_errors
                .into_iter()
                .map(|e| ErrorCount {
                    code: e.code,
                    count: e.count,
                    last_at: e.last_at,
                })
                .collect()
        })
        .unwrap_or_default();
    ok(&DeviceDetail {
        device: dev,
        beats,
        commands,
        recent_errors,
        health,
    })
}

fn command_records(
    conn: &Connection,
    device: Option<&str>,
    limit: i64,
) -> Result<Vec<CommandRecord>, ApiError> {
    let mut stmt = conn.prepare(
        "SELECT id, device_id, command, argument, issued_at, issued_by, offered, acked_at, result, detail
         FROM device_commands WHERE ?1 IS NULL OR device_id = ?1 ORDER BY issued_at DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![device, limit], |r| {
            Ok(CommandRecord {
                id: r.get(0)?,
                device_id: r.get(1)?,
                command: r.get(2)?,
                argument: r.get(3)?,
                issued_at: r.get(4)?,
                issued_by: r.get(5)?,
                offered: r.get(6)?,
                acked_at: r.get(7)?,
                result: r.get(8)?,
                detail: r.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

async fn queue_commands(
    State(s): S,
    a: Admin,
    key: IdempotencyKey,
    Body(req): Body<CommandRequest>,
) -> Res {
    a.may_act("send commands to kiosks")?;
    use crate::cloud::api::DeviceCommand as C;
    if !C::KNOWN.contains(&req.command.as_str()) {
        return Err(ApiError::unprocessable(
            "unknown_command",
            format!(
                "Unknown command {:?}; kiosks carry out {}",
                req.command,
                C::KNOWN.join(", ")
            ),
        ));
    }
    if let Some(arg) = &req.argument {
        if arg.chars().count() > 200 {
            return Err(ApiError::bad_request(
                "argument must be at most 200 characters",
            ));
        }
    }
    if req.devices.len() > 5000 || req.devices.iter().any(|d| d.chars().count() > 64) {
        return Err(ApiError::bad_request(
            "at most 5000 device ids of 64 characters",
        ));
    }
    if req.devices.is_empty() == req.site.is_none() {
        return Err(ApiError::bad_request("name either devices or a site"));
    }
    idempotent(&s, &a.key_space(), &key, "admin_commands", &req, |conn| {
        let targets: Vec<String> = match &req.site {
            Some(site) => fleet(conn)?
                .into_iter()
                .filter(|d| &d.site == site)
                .map(|d| d.device_id)
                .collect(),
            None => req.devices.clone(),
        };
        if targets.is_empty() {
            return Err(ApiError::not_found(
                "device_not_found",
                "No such device or site",
            ));
        }
        let mut commands = Vec::new();
        for device_id in &targets {
            let id = super::fleet::queue_command(
                conn,
                device_id,
                &req.command,
                req.argument.as_deref(),
            )?;
            conn.execute(
                "UPDATE device_commands SET issued_by = ?1 WHERE id = ?2",
                params![a.who, id],
            )?;
            commands.push(QueuedCommand {
                id,
                device_id: device_id.clone(),
            });
        }
        let target = match &req.site {
            Some(site) => format!("site {site} ({} kiosks)", targets.len()),
            None => targets.join(", "),
        };
        record(
            conn,
            &a.who,
            &format!("command {}", req.command),
            &target,
            req.argument.as_deref(),
        )?;
        Ok(CommandsQueued { commands })
    })
}

// ---- The catalogue ----

fn current_catalog(conn: &Connection) -> Result<Catalog, ApiError> {
    let text: String = conn.query_row(
        "SELECT json FROM reference WHERE kind = 'catalog'",
        [],
        |r| r.get(0),
    )?;
    serde_json::from_str(&text).map_err(|_| ApiError::internal())
}

fn catalog_state(conn: &Connection) -> Result<CatalogState, ApiError> {
    let catalog = current_catalog(conn)?;
    let mut stmt = conn.prepare(
        "SELECT version, published_at, published_by FROM catalog_versions ORDER BY rowid DESC LIMIT 21",
    )?;
    let mut history: Vec<CatalogVersion> = stmt
        .query_map([], |r| {
            Ok(CatalogVersion {
                version: r.get(0)?,
                published_at: r.get(1)?,
                published_by: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let (published_at, published_by) = match history.first() {
        Some(v) if v.version == catalog.version => {
            let v = history.remove(0);
            (Some(v.published_at), Some(v.published_by))
        }
        _ => (None, None),
    };
    history.truncate(20);
    Ok(CatalogState {
        catalog,
        published_at,
        published_by,
        history,
    })
}

async fn catalog(State(s): S, _: Admin) -> Res {
    let conn = s.conn.lock().expect("db lock");
    ok(&catalog_state(&conn)?)
}

async fn publish_catalog(
    State(s): S,
    a: Admin,
    key: IdempotencyKey,
    Body(draft): Body<CatalogDraft>,
) -> Res {
    a.may_act("publish the catalogue")?;
    validate_draft(&draft)?;
    idempotent(&s, &a.key_space(), &key, "admin_catalog", &draft, |conn| {
        let n = super::db::next_counter(conn, "catalog_version")?;
        let version = format!("{}.{n}", crate::time::now().format("%Y.%m.%d"));
        let catalog = Catalog {
            version: version.clone(),
            services: draft.services.clone(),
            notices: draft.notices.clone(),
        };
        let json = serde_json::to_string(&catalog).expect("catalogues serialise");
        conn.execute(
            "UPDATE reference SET json = ?1 WHERE kind = 'catalog'",
            [&json],
        )?;
        conn.execute(
            "INSERT INTO catalog_versions (version, published_at, published_by, json) VALUES (?1, ?2, ?3, ?4)",
            params![version, now_rfc3339(), a.who, json],
        )?;
        // Every kiosk picks the new version up on its next heartbeat (once: a kiosk that has a
        // reload waiting gets no second one).
        let ids: Vec<String> = {
            let mut stmt = conn.prepare(
                "SELECT d.device_id FROM devices d WHERE NOT EXISTS (SELECT 1 FROM device_commands c
                   WHERE c.device_id = d.device_id AND c.command = 'reload_catalog' AND c.acked_at IS NULL)",
            )?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids
        };
        for id in &ids {
            let cmd = super::fleet::queue_command(conn, id, "reload_catalog", None)?;
            conn.execute(
                "UPDATE device_commands SET issued_by = ?1 WHERE id = ?2",
                params![a.who, cmd],
            )?;
        }
        record(
            conn,
            &a.who,
            "publish catalogue",
            &version,
            Some(&format!(
                "{} services enabled, {} notices; {} kiosks asked to reload",
                catalog.services.iter().filter(|s| s.enabled).count(),
                catalog.notices.len(),
                ids.len()
            )),
        )?;
        catalog_state(conn)
    })
}

/// Whitespace as the contract's `\S` pattern reads it (ECMAScript `\s`), so a name the contract
/// admits is never refused here as blank.
fn ecma_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

fn validate_draft(d: &CatalogDraft) -> Result<(), ApiError> {
    const CODES: [&str; 8] = crate::cloud::api::SERVICE_CODES;
    let mut seen = std::collections::HashSet::new();
    for s in &d.services {
        if !CODES.contains(&s.code.as_str()) {
            return Err(ApiError::unprocessable(
                "unknown_service",
                format!("Unknown service {:?}", s.code),
            ));
        }
        if !seen.insert(s.code.as_str()) {
            return Err(ApiError::unprocessable(
                "duplicate_service",
                format!("Service {} is listed twice", s.code),
            ));
        }
        for t in [&s.name.zh, &s.name.en] {
            if t.chars().all(ecma_space) || t.chars().count() > 40 {
                return Err(ApiError::bad_request(
                    "service names must be 1 to 40 characters",
                ));
            }
        }
    }
    if d.notices.len() > 20 {
        return Err(ApiError::bad_request("at most 20 notices"));
    }
    for n in &d.notices {
        if n.id.is_empty() || n.id.chars().count() > 64 {
            return Err(ApiError::bad_request(
                "notice ids must be 1 to 64 characters",
            ));
        }
        for (t, max) in [
            (&n.title.zh, 60),
            (&n.title.en, 120),
            (&n.body.zh, 500),
            (&n.body.en, 1000),
        ] {
            if t.chars().all(ecma_space) || t.chars().count() > max {
                return Err(ApiError::bad_request(format!(
                    "notice {}: titles and bodies must be filled in, at most {max} characters",
                    n.id
                )));
            }
        }
        if let Some(svc) = &n.service {
            if !CODES.contains(&svc.as_str()) {
                return Err(ApiError::unprocessable(
                    "unknown_service",
                    format!("Notice {} names an unknown service {svc:?}", n.id),
                ));
            }
        }
    }
    Ok(())
}

// ---- Rollouts ----

async fn rollouts(State(s): S, _: Admin) -> Res {
    let conn = s.conn.lock().expect("db lock");
    let rows = health_rows(&conn, None)?;
    let mut by_version: BTreeMap<String, Vec<RolloutDevice>> = BTreeMap::new();
    let mut reporting = 0;
    let mut failing = Vec::new();
    for row in &rows {
        let Some(update) = row
            .health
            .as_deref()
            .and_then(|h| serde_json::from_str::<DeviceHealth>(h).ok())
            .and_then(|h| h.update)
        else {
            continue;
        };
        reporting += 1;
        let mut put = |version: &str, state, reason: Option<String>| {
            by_version
                .entry(version.to_string())
                .or_default()
                .push(RolloutDevice {
                    device_id: row.device_id.clone(),
                    state,
                    reason,
                })
        };
        // A release on trial is `current` already, but not kept yet: pending until it is.
        if let Some(v) = &update.current {
            let on_trial = update.trial.as_ref() == Some(v);
            put(
                v,
                if on_trial {
                    RolloutState::Pending
                } else {
                    RolloutState::Applied
                },
                None,
            );
        }
        let mut waiting: Vec<&String> = [&update.pending, &update.trial]
            .into_iter()
            .flatten()
            .filter(|v| Some(*v) != update.current.as_ref())
            .collect();
        waiting.dedup();
        for v in waiting {
            put(v, RolloutState::Pending, None);
        }
        if let Some(rb) = &update.rolled_back {
            put(
                &rb.version,
                RolloutState::RolledBack,
                Some(rb.reason.clone()),
            );
        }
        if let Some(e) = &update.last_error {
            failing.push(RolloutDevice {
                device_id: row.device_id.clone(),
                state: RolloutState::Failed,
                reason: Some(e.clone()),
            });
        }
    }
    let mut releases: Vec<ReleaseRollout> = by_version
        .into_iter()
        .map(|(version, devices)| {
            let count = |s| devices.iter().filter(|d| d.state == s).count();
            ReleaseRollout {
                applied: count(RolloutState::Applied),
                pending: count(RolloutState::Pending),
                rolled_back: count(RolloutState::RolledBack),
                failed: count(RolloutState::Failed),
                version,
                devices,
            }
        })
        .collect();
    // Newest release first.
    releases.sort_by(|a, b| {
        let v = |s: &str| semver_key(s);
        v(&b.version).cmp(&v(&a.version))
    });
    ok(&Rollouts {
        reporting,
        releases,
        failing,
    })
}

fn semver_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

// ---- Audit ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn audit(State(s): S, _: Admin, Query(q): Query<AuditQuery>) -> Res {
    let limit = q.limit.unwrap_or(100);
    if limit > 1000 {
        return Err(ApiError::bad_request("limit is at most 1000"));
    }
    let conn = s.conn.lock().expect("db lock");
    let mut stmt = conn.prepare(
        "SELECT at, who, action, target, detail FROM admin_audit ORDER BY id DESC LIMIT ?1",
    )?;
    let entries = stmt
        .query_map([limit as i64], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                who: r.get(1)?,
                action: r.get(2)?,
                target: r.get(3)?,
                detail: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    ok(&AuditTrail { entries })
}

async fn note_audit(
    State(s): S,
    a: Admin,
    key: IdempotencyKey,
    Body(note): Body<AuditNote>,
) -> Res {
    a.may_act("record actions")?;
    for (field, v, max) in [("action", &note.action, 64), ("target", &note.target, 200)] {
        if v.chars().all(ecma_space) || v.chars().count() > max {
            return Err(ApiError::bad_request(format!(
                "{field} must be 1 to {max} characters"
            )));
        }
    }
    if note
        .detail
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2000)
    {
        return Err(ApiError::bad_request(
            "detail must be at most 2000 characters",
        ));
    }
    idempotent(&s, &a.key_space(), &key, "admin_audit", &note, |conn| {
        record(
            conn,
            &a.who,
            &note.action,
            &note.target,
            note.detail.as_deref(),
        )
    })
}

// ---- "Can this kiosk do it?" (public) ----

fn public_site(conn: &Connection, hall: &str) -> Result<PublicSite, ApiError> {
    let site: Site = conn
        .query_row("SELECT json FROM sites WHERE hall_id = ?1", [hall], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|j| serde_json::from_str(&j).ok())
        .ok_or_else(|| ApiError::not_found("unknown_hall", "No such site"))?;
    let catalog = current_catalog(conn)?;
    let now = now_cst();
    let kiosks = health_rows(conn, None)?
        .iter()
        .filter(|r| r.site == hall)
        .map(|row| {
            let d = assess(row, now);
            let has = |code: &str| d.reasons.iter().any(|r| r.code == code);
            let online = d.status != FleetStatus::Offline;
            let paper_out = has(AttentionReason::PAPER_OUT);
            let can_print = online
                && !(paper_out
                    || has(AttentionReason::COVER_OPEN)
                    || has(AttentionReason::CUTTER_ERROR)
                    || has(AttentionReason::PRINTER_OFFLINE));
            // A kiosk that reports no reader at all (set up without one) cannot read cards either.
            let no_reader = row
                .health
                .as_deref()
                .and_then(|h| serde_json::from_str::<DeviceHealth>(h).ok())
                .is_some_and(|h| h.readers.is_empty());
            let can_read_cards = online
                && !no_reader
                && !(has(AttentionReason::READER_LOST) || has(AttentionReason::READER_ERROR));
            let services = if online {
                catalog
                    .services
                    .iter()
                    .filter(|s| s.enabled && (can_read_cards || !s.requires_identity))
                    .map(|s| s.code.clone())
                    .collect()
            } else {
                Vec::new()
            };
            PublicKiosk {
                // The kiosk's serial is on its case; device ids are the cloud's business.
                kiosk: d.serial.clone().unwrap_or_else(|| d.device_id.clone()),
                state: if !online {
                    "offline"
                } else if can_print && can_read_cards {
                    "available"
                } else {
                    "limited"
                }
                .into(),
                can_print,
                paper_out,
                can_read_cards,
                services,
                last_seen: d.last_seen,
            }
        })
        .collect();
    let mut kiosks: Vec<PublicKiosk> = kiosks;
    // What a resident can use first.
    kiosks.sort_by_key(|k| match k.state.as_str() {
        "available" => 0,
        "limited" => 1,
        _ => 2,
    });
    Ok(PublicSite {
        site,
        updated_at: now_rfc3339(),
        kiosks,
    })
}

async fn public_site_json(State(s): S, Path(hall): Path<String>) -> Res {
    let site = {
        let conn = s.conn.lock().expect("db lock");
        public_site(&conn, &hall)?
    };
    let mut r = ok(&site)?;
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("max-age=30"),
    );
    Ok(r)
}

async fn public_site_page(State(s): S, Path(hall): Path<String>) -> Res {
    let site = {
        let conn = s.conn.lock().expect("db lock");
        public_site(&conn, &hall)?
    };
    let catalog = {
        let conn = s.conn.lock().expect("db lock");
        current_catalog(&conn)?
    };
    let names: BTreeMap<String, String> = catalog
        .services
        .iter()
        .map(|s| (s.code.clone(), format!("{} {}", s.name.zh, s.name.en)))
        .collect();
    let mut env = minijinja::Environment::new();
    env.add_template("public.html", include_str!("public.html"))
        .map_err(|_| ApiError::internal())?;
    let html = env
        .get_template("public.html")
        .and_then(|t| {
            t.render(
                minijinja::context! { site => site.site, kiosks => site.kiosks,
                updated_at => site.updated_at, names => names },
            )
        })
        .map_err(|e| {
            tracing::error!(error = %e, "public site page not rendered");
            ApiError::internal()
        })?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "max-age=30")],
        Html(html),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last_seen: Option<String>, health: Option<DeviceHealth>) -> HealthRow {
        HealthRow {
            device_id: "kiosk-0001".into(),
            serial: None,
            model: None,
            site: "hall".into(),
            site_name: None,
            last_seen,
            app_version: Some("0.1.0".into()),
            printer: Some("ok".into()),
            card_reader: Some("ok".into()),
            pending_outbox: Some(0),
            health: health.map(|h| serde_json::to_string(&h).unwrap()),
            pending_commands: 0,
        }
    }

    fn codes(d: &FleetDevice) -> Vec<(&str, Option<i64>)> {
        d.reasons
            .iter()
            .map(|r| (r.code.as_str(), r.value))
            .collect()
    }

    #[test]
    fn status_and_reasons_follow_the_last_heartbeat() {
        let now = now_cst();
        let ago = |s: i64| Some((now - chrono::Duration::seconds(s)).to_rfc3339());
        let healthy = DeviceHealth {
            printer: crate::cloud::api::PrinterHealth {
                condition: Condition::Ok,
                state: crate::cloud::api::PrinterState::Ready,
                checked_at: None,
            },
            clock_offset_ms: Some(200),
            ..DeviceHealth::default()
        };
        let ok = assess(&row(ago(30), Some(healthy.clone())), now);
        assert_eq!(ok.status, FleetStatus::Ok);
        assert!(ok.reasons.is_empty());

        let never = assess(&row(None, None), now);
        assert_eq!(never.status, FleetStatus::Offline);
        assert_eq!(codes(&never), vec![("never_seen", None)]);

        // Silent past three intervals: offline, with the minutes; what it said last still shows.
        let mut paper_out = healthy.clone();
        paper_out.printer.state = crate::cloud::api::PrinterState::PaperOut;
        let silent = assess(&row(ago(600), Some(paper_out.clone())), now);
        assert_eq!(silent.status, FleetStatus::Offline);
        assert_eq!(
            codes(&silent),
            vec![("offline", Some(10)), ("printer_paper_out", None)]
        );

        let mut troubled = paper_out;
        troubled.outbox_oldest_pending_s = Some(1800);
        troubled.clock_offset_ms = Some(-45_000);
        troubled.disk_free_mb = Some(120);
        let d = assess(&row(ago(5), Some(troubled)), now);
        assert_eq!(d.status, FleetStatus::Attention);
        assert_eq!(
            codes(&d),
            vec![
                ("printer_paper_out", None),
                ("outbox_stuck", Some(30)),
                ("clock_off", Some(-45)),
                ("disk_low", Some(120)),
            ]
        );

        // A rollback is news for a day.
        let rolled = |at: Option<String>| {
            let mut h = healthy.clone();
            h.update = Some(crate::cloud::api::UpdateReport {
                rolled_back: Some(crate::cloud::api::RollbackReport {
                    version: "0.2.0".into(),
                    to: Some("0.1.0".into()),
                    reason: "crashed".into(),
                    at,
                }),
                ..Default::default()
            });
            assess(&row(ago(5), Some(h)), now)
        };
        assert_eq!(
            codes(&rolled(ago(3600))),
            vec![("update_rolled_back", None)]
        );
        assert!(rolled(ago(2 * 86_400)).reasons.is_empty());
    }
}
