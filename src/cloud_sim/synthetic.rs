//! A simulated fleet (`bianmin cloud-sim --fleet N`): synthetic kiosks in five halls that
//! heartbeat through the same code a real kiosk's beat goes through, with varied health (paper
//! near its end or out, a cover open, a reader lost, a stuck outbox, a clock off, silent
//! kiosks), running the current release or the next one by their wave bucket (a few rolled
//! back), and carrying out the commands queued for them: acknowledged on their next beat, as a
//! real kiosk does. So the console can be seen and tested at a realistic size.

use super::http::SimState;
use crate::cloud::api::*;
use rusqlite::{params, Connection};
use std::sync::Arc;
use std::time::Duration;

/// The halls the synthetic kiosks stand in (the simulator's own hall first).
fn sites() -> Vec<Site> {
    let hall = |id: &str, office: &str, community: &str, en: &str, address: &str| Site {
        street_office: office.into(),
        community: community.into(),
        community_en: Some(en.into()),
        hall_id: id.into(),
        address: address.into(),
    };
    vec![
        super::seed::site(),
        hall(
            "chenghua-erxianqiao",
            "成华区二仙桥街道办事处",
            "二仙桥东社区",
            "Erxianqiao East Community",
            "成都市成华区二仙桥东三路6号 党群服务中心",
        ),
        hall(
            "chenghua-mengzhuiwan",
            "成华区猛追湾街道办事处",
            "望平社区",
            "Wangping Community",
            "成都市成华区望平街22号 便民服务站",
        ),
        hall(
            "jinjiang-shuyuan",
            "锦江区书院街街道办事处",
            "和平社区",
            "Heping Community",
            "成都市锦江区和平街9号 社区服务中心",
        ),
        hall(
            "jinjiang-niushikou",
            "锦江区牛市口街道办事处",
            "净居寺社区",
            "Jingjusi Community",
            "成都市锦江区净居寺路3号 便民服务大厅",
        ),
    ]
}

/// What a synthetic kiosk suffers from (fixed per kiosk, so the console's filters have stable
/// answers): chosen by its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    None,
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    ReaderLost,
    OutboxStuck,
    ClockOff,
    Silent,
}

fn trouble(i: usize) -> Trouble {
    match i {
        i if i % 47 == 19 => Trouble::Silent,
        i if i % 37 == 5 => Trouble::PaperOut,
        i if i % 23 == 3 => Trouble::PaperNearEnd,
        i if i % 71 == 7 => Trouble::CoverOpen,
        i if i % 53 == 11 => Trouble::ReaderLost,
        i if i % 61 == 13 => Trouble::OutboxStuck,
        i if i % 89 == 17 => Trouble::ClockOff,
        _ => Trouble::None,
    }
}

/// The release after this one (what the synthetic wave has taken).
fn next_release() -> String {
    let v = bianmin_update::Version::parse(env!("CARGO_PKG_VERSION")).expect("our version");
    format!("{}.{}.0", v.major, v.minor + 1)
}

struct Kiosk {
    index: usize,
    device_id: String,
    trouble: Trouble,
    /// Commands carried out, acknowledged on the next beat.
    acks: Vec<CommandAck>,
    version: String,
    update: UpdateReport,
}

/// Enrols `n` synthetic kiosks (once: a restart on the same database keeps them) and beats for
/// them every `every`, spread over the interval.
pub fn start(state: Arc<SimState>, n: usize, every: Duration) -> rusqlite::Result<()> {
    let kiosks = {
        let conn = state.conn.lock().expect("db lock");
        enrol(&conn, n)?
    };
    tokio::spawn(beat(state, kiosks, every));
    Ok(())
}

fn enrol(conn: &Connection, n: usize) -> rusqlite::Result<Vec<Kiosk>> {
    let sites = sites();
    for s in &sites {
        super::admin::add_site(conn, s)?;
    }
    let current = env!("CARGO_PKG_VERSION").to_string();
    let next = next_release();
    let mut kiosks = Vec::with_capacity(n);
    for i in 1..=n {
        let device_id = format!("fleet-{i:04}");
        let site = &sites[i % sites.len()];
        conn.execute(
            "INSERT OR IGNORE INTO devices (device_id, token, serial, model, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                device_id,
                format!("fleet_{}", uuid::Uuid::new_v4().simple()),
                format!("BM-{i:05}"),
                "simulated",
                crate::time::now_rfc3339()
            ],
        )?;
        conn.execute(
            "INSERT OR IGNORE INTO device_sites (device_id, hall_id) VALUES (?1, ?2)",
            params![device_id, site.hall_id],
        )?;
        // The first wave (10 %) has the next release; one in seven of those went back.
        let bucket = bianmin_update::device_bucket(&device_id);
        let (version, update) = if bucket < 10 && i % 7 == 0 {
            (
                current.clone(),
                UpdateReport {
                    current: Some(current.clone()),
                    rolled_back: Some(RollbackReport {
                        version: next.clone(),
                        to: Some(current.clone()),
                        reason: "the printer failed its self-test under the new release".into(),
                        at: Some(crate::time::now_rfc3339()),
                    }),
                    ..UpdateReport::default()
                },
            )
        } else if bucket < 10 && i % 11 == 0 {
            // Offered, and its download keeps failing.
            (
                current.clone(),
                UpdateReport {
                    current: Some(current.clone()),
                    last_error: Some(
                        "the download stopped: no space left on the data partition".into(),
                    ),
                    ..UpdateReport::default()
                },
            )
        } else if bucket < 10 {
            (
                next.clone(),
                UpdateReport {
                    current: Some(next.clone()),
                    previous: Some(current.clone()),
                    ..UpdateReport::default()
                },
            )
        } else {
            (
                current.clone(),
                UpdateReport {
                    current: Some(current.clone()),
                    ..UpdateReport::default()
                },
            )
        };
        let trouble = trouble(i);
        if trouble == Trouble::Silent {
            // Heard from once, two hours ago.
            let then = (crate::time::now() - chrono::Duration::hours(2)).to_rfc3339();
            conn.execute(
                "INSERT OR IGNORE INTO device_health (device_id, last_seen, app_version, uptime_s, printer, card_reader, pending_outbox)
                 VALUES (?1, ?2, ?3, 0, 'ok', 'ok', 0)",
                params![device_id, then, version],
            )?;
        }
        kiosks.push(Kiosk {
            index: i,
            device_id,
            trouble,
            acks: Vec::new(),
            version,
            update,
        });
    }
    Ok(kiosks)
}

fn health_of(k: &Kiosk) -> (HeartbeatRequest, bool) {
    let state = match k.trouble {
        Trouble::PaperNearEnd => PrinterState::PaperNearEnd,
        Trouble::PaperOut => PrinterState::PaperOut,
        Trouble::CoverOpen => PrinterState::CoverOpen,
        _ => PrinterState::Ready,
    };
    let printer_condition = state.condition();
    let lost = k.trouble == Trouble::ReaderLost;
    let reader_condition = if lost {
        Condition::Error
    } else {
        Condition::Ok
    };
    let stuck = k.trouble == Trouble::OutboxStuck;
    let health = DeviceHealth {
        printer: PrinterHealth {
            condition: printer_condition,
            state,
            checked_at: Some(crate::time::now_rfc3339()),
        },
        readers: vec![ReaderHealth {
            name: "Synthetic SAM reader".into(),
            condition: reader_condition,
            state: if lost { "lost" } else { "attached" }.into(),
        }],
        audio: AudioHealth {
            condition: Condition::Ok,
            detail: String::new(),
        },
        outbox_oldest_pending_s: stuck.then_some(1800 + k.index as u64),
        spool_failures: 0,
        last_errors: match state {
            PrinterState::PaperOut => vec![RecentError {
                code: "printer_paper_out".into(),
                count: 1,
                last_at: crate::time::now_rfc3339(),
            }],
            _ => Vec::new(),
        },
        disk_free_mb: Some(6000),
        clock_offset_ms: Some(if k.trouble == Trouble::ClockOff {
            95_000
        } else {
            (k.index as i64 % 7) * 40
        }),
        update: Some(k.update.clone()),
    };
    (
        HeartbeatRequest {
            app_version: k.version.clone(),
            uptime_s: 3600 + k.index as u64 * 60,
            printer: printer_condition.health().into(),
            card_reader: reader_condition.health().into(),
            pending_outbox: if stuck { 4 } else { 0 },
            health: Some(health),
            acks: k.acks.clone(),
            missed: Vec::new(),
        },
        state == PrinterState::Ready,
    )
}

/// What a synthetic kiosk answers a command with.
fn carry_out(cmd: &DeviceCommand, can_print: bool, catalog_version: &str) -> CommandAck {
    let (result, detail) = match cmd.command.as_str() {
        DeviceCommand::PRINT_TEST_PAGE if !can_print => (
            CommandResult::Failed,
            "the printer cannot print (simulated kiosk)".to_string(),
        ),
        DeviceCommand::PRINT_TEST_PAGE => (
            CommandResult::Done,
            "test page printed (simulated kiosk)".into(),
        ),
        DeviceCommand::RELOAD_CATALOG => {
            (CommandResult::Done, format!("catalogue {catalog_version}"))
        }
        c if DeviceCommand::KNOWN.contains(&c) => {
            (CommandResult::Done, "done (simulated kiosk)".into())
        }
        other => (CommandResult::Refused, format!("unknown command {other}")),
    };
    CommandAck {
        id: cmd.id.clone(),
        result,
        detail: Some(detail),
        report: None,
        log_lines: None,
    }
}

async fn beat(state: Arc<SimState>, mut kiosks: Vec<Kiosk>, every: Duration) {
    let slots = every.as_secs().max(1) as usize;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: usize = 0;
    loop {
        tick.tick().await;
        let slot = n % slots;
        n += 1;
        let conn = state.conn.lock().expect("db lock");
        let catalog_version: String = conn
            .query_row(
                "SELECT json_extract(json, '$.version') FROM reference WHERE kind = 'catalog'",
                [],
                |r| r.get(0),
            )
            .unwrap_or_default();
        // Every kiosk once in the first second, then each in its own slot.
        for k in kiosks
            .iter_mut()
            .filter(|k| k.trouble != Trouble::Silent && (n == 1 || k.index % slots == slot))
        {
            let (req, can_print) = health_of(k);
            match super::fleet::heartbeat(&conn, &k.device_id, &req) {
                Ok(commands) => {
                    k.acks = commands
                        .iter()
                        .map(|c| carry_out(c, can_print, &catalog_version))
                        .collect();
                }
                Err(e) => {
                    tracing::warn!(device = %k.device_id, error = ?e.problem().code, "synthetic heartbeat refused")
                }
            }
        }
    }
}
