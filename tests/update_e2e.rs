//! Signed updates end to end, with real parts: the kiosk (the real binary, headless, on its
//! attract page) heartbeats to the standalone cloud simulator, takes its releases from a TUF
//! repository published with `bianmin release` and served over HTTP on 127.0.0.1, and runs
//! under a small service manager in this test that does what systemd does with
//! kiosk-image/bianmin.service: its ExecStartPre / ExecStart / ExecStopPost lines (paths moved
//! into a temporary folder, `kiosk` run as `demo --headless` against the simulator),
//! Type=notify with a start timeout, the watchdog, Restart=always, and $SERVICE_RESULT,
//! $EXIT_CODE, $EXIT_STATUS for the stop hook. Only the time limits are shorter.
//!
//! - X.Y.Z+1 is the same binary with another version in its version slot (src/version.rs):
//!   the kiosk takes it on the cloud's `check_update` while idle, restarts into it, and its
//!   heartbeat reports X.Y.Z+1, kept after its probation.
//! - X.Y.Z+2 crashes at start: the stop hook counts its starts, rolls it back, and the next
//!   heartbeat (from X.Y.Z+1 again) reports the rollback with its reason; it is never retried.
//! - X.Y.Z+3 never reports READY: killed at the start limit, counted, rolled back, reported.

mod support;

use serde_json::Value;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::repo_server::Server;
use support::soak::{free_port, start_sim, stop};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const UNIT: &str = include_str!("../kiosk-image/bianmin.service");
/// The unit's TimeoutStartSec and WatchdogSec, shortened for the test.
const START_LIMIT: Duration = Duration::from_secs(12);
const WATCHDOG: Duration = Duration::from_secs(10);
const RESTART_AFTER: Duration = Duration::from_millis(300);

fn curl(args: &[&str]) -> Option<Value> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "5"])
        .args(args)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

fn until<T>(
    limit: Duration,
    what: &str,
    log: &dyn Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}\n--- service log ---\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn bianmin(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "bianmin {args:?}: {text}");
    text
}

fn next(v: &bianmin_update::Version, n: u64) -> String {
    bianmin_update::Version::new(v.major, v.minor, v.patch + n).to_string()
}

/// The kiosk's binary with `version` in its version slot: the next release, built by changing
/// only those bytes.
fn binary_as(version: &str) -> Vec<u8> {
    let mut bin = std::fs::read(BIN).unwrap();
    let marker = b"BIANMIN-VERSION:";
    let mut slots = bin
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| w == marker)
        .map(|(i, _)| i);
    let at = slots.next().expect("the binary has a version slot") + marker.len();
    assert!(slots.next().is_none(), "one version slot");
    let built = env!("CARGO_PKG_VERSION").as_bytes();
    assert_eq!(&bin[at..at + built.len()], built);
    assert_eq!(bin[at + built.len()], 0);
    let slot_end = at - marker.len() + 64;
    bin[at..slot_end].fill(0);
    bin[at..at + version.len()].copy_from_slice(version.as_bytes());
    bin
}

/// A release archive holding `bin/bianmin`.
fn archive(dir: &Path, version: &str, bin: &[u8]) -> PathBuf {
    let path = dir.join(format!("bianmin-{version}.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(bin.len() as u64);
    h.set_mode(0o755);
    h.set_cksum();
    tar.append_data(&mut h, "bin/bianmin", bin).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    path
}

/// What the unit runs, with the image's paths moved into `dir` and the real terminal's
/// `kiosk` replaced by the headless demo against the simulator.
struct Unit {
    start_pre: Vec<String>,
    start: Vec<String>,
    stop_post: Vec<String>,
}

impl Unit {
    fn load(dir: &Path) -> Unit {
        let d = dir.to_str().unwrap();
        let value = |key: &str| -> String {
            UNIT.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("the unit has {key}="))
                .to_string()
        };
        assert_eq!(value("Type"), "notify");
        assert_eq!(value("Restart"), "always");
        assert!(UNIT.contains("\nWatchdogSec="));
        assert!(UNIT.contains("\nTimeoutStartSec="));
        let command = |key: &str| -> Vec<String> {
            let line = value(key)
                .trim_start_matches('-')
                .replace("/opt/bianmin/releases", &format!("{d}/releases"))
                .replace("/etc/bianmin/kiosk.toml", &format!("{d}/kiosk.toml"))
                .replace("/var/lib/bianmin", &format!("{d}/data"));
            line.split_whitespace().map(String::from).collect()
        };
        let mut start = command("ExecStart");
        assert!(start[0].ends_with("/releases/current/bin/bianmin"));
        assert_eq!(start.last().map(String::as_str), Some("kiosk"));
        start.pop();
        start.extend(["demo".into(), "--headless".into()]);
        Unit {
            start_pre: command("ExecStartPre"),
            start,
            stop_post: command("ExecStopPost"),
        }
    }
}

/// One start of the service, as the test's service manager saw it.
#[derive(Debug, Clone)]
struct Run {
    version: Option<String>,
    ready: bool,
    result: String,
}

/// systemd's part, for this one unit.
struct Manager {
    stopping: Arc<AtomicBool>,
    runs: Arc<Mutex<Vec<Run>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Manager {
    fn start(dir: &Path, unit: Unit) -> Manager {
        let stopping = Arc::new(AtomicBool::new(false));
        let runs = Arc::new(Mutex::new(Vec::new()));
        let (dir, stop2, runs2) = (dir.to_path_buf(), stopping.clone(), runs.clone());
        let thread = std::thread::spawn(move || {
            let socket_path = dir.join("notify.sock");
            let socket = UnixDatagram::bind(&socket_path).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let log = || {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("service.log"))
                    .unwrap()
            };
            let hook = |argv: &[String], env: &[(&str, String)]| {
                // A missing previous release: the unit's `-` prefix ignores the failure.
                if Path::new(&argv[0]).exists() {
                    let _ = Command::new(&argv[0])
                        .args(&argv[1..])
                        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                        .env("RUST_LOG", "warn")
                        .stdout(log())
                        .stderr(log())
                        .status();
                }
            };
            while !stop2.load(Ordering::SeqCst) {
                hook(&unit.start_pre, &[]);
                let version = std::fs::read_link(dir.join("releases/current"))
                    .ok()
                    .map(|t| t.to_string_lossy().to_string());
                let _ = writeln!(log(), "=== starting {version:?}");
                let mut child: Child = Command::new(&unit.start[0])
                    .args(&unit.start[1..])
                    .env("NOTIFY_SOCKET", &socket_path)
                    .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string())
                    .env("RUST_LOG", "info")
                    .env_remove("DISPLAY")
                    .env_remove("WAYLAND_DISPLAY")
                    .stdout(log())
                    .stderr(log())
                    .spawn()
                    .unwrap();
                let started = Instant::now();
                let (mut ready, mut pinged) = (false, Instant::now());
                let mut buf = [0u8; 512];
                let (result, code, status) = loop {
                    while let Ok(n) = socket.recv(&mut buf) {
                        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                        if msg.lines().any(|l| l == "READY=1") {
                            ready = true;
                        }
                        pinged = Instant::now();
                    }
                    if let Some(exit) = child.try_wait().unwrap() {
                        break match (exit.code(), exit.signal()) {
                            (Some(0), _) => ("success", "exited", "0".to_string()),
                            (Some(c), _) => ("exit-code", "exited", c.to_string()),
                            (None, Some(s)) => ("signal", "killed", signal_name(s)),
                            _ => ("signal", "killed", "?".into()),
                        };
                    }
                    let killed = if stop2.load(Ordering::SeqCst) {
                        Some("success")
                    } else if !ready && started.elapsed() > START_LIMIT {
                        Some("timeout")
                    } else if ready && pinged.elapsed() > WATCHDOG {
                        Some("watchdog")
                    } else {
                        None
                    };
                    if let Some(result) = killed {
                        let _ = child.kill();
                        let _ = child.wait();
                        break (result, "killed", "KILL".into());
                    }
                };
                let _ = writeln!(log(), "=== ended {version:?}: {result} {code} {status}");
                runs2.lock().unwrap().push(Run {
                    version,
                    ready,
                    result: result.into(),
                });
                hook(
                    &unit.stop_post,
                    &[
                        ("SERVICE_RESULT", result.into()),
                        ("EXIT_CODE", code.into()),
                        ("EXIT_STATUS", status),
                    ],
                );
                std::thread::sleep(RESTART_AFTER);
            }
        });
        Manager {
            stopping,
            runs,
            thread: Some(thread),
        }
    }

    fn runs(&self) -> Vec<Run> {
        self.runs.lock().unwrap().clone()
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn signal_name(s: i32) -> String {
    match s {
        6 => "ABRT".into(),
        9 => "KILL".into(),
        11 => "SEGV".into(),
        15 => "TERM".into(),
        s => s.to_string(),
    }
}

#[test]
fn the_kiosk_takes_a_release_while_idle_and_rolls_back_one_that_crashes_or_never_gets_ready() {
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let built: bianmin_update::Version = env!("CARGO_PKG_VERSION").parse().unwrap();
    let (v0, v1, v2, v3) = (
        built.to_string(),
        next(&built, 1),
        next(&built, 2),
        next(&built, 3),
    );

    // The cloud, and the release repository served over HTTP.
    let port = free_port();
    let cloud = format!("http://127.0.0.1:{port}");
    let mut sim = start_sim(BIN, port, &dir.join("sim.db"), &[]);
    let repo = dir.join("web/repo");
    let keys = dir.join("keys");
    bianmin(&[
        "release",
        "init",
        repo.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    let root = dir.join("update-root.json");
    std::fs::copy(repo.join("metadata/1.root.json"), &root).unwrap();
    let server = Server::start(&dir.join("web"));
    let publish = |version: &str, bin: &[u8]| {
        let file = archive(dir, version, bin);
        bianmin(&[
            "release",
            "add",
            repo.to_str().unwrap(),
            "--keys",
            keys.to_str().unwrap(),
            "--archive",
            file.to_str().unwrap(),
            "--version",
            version,
        ]);
    };

    // The kiosk as the image installs it: release X.Y.Z unpacked, `current` pointing at it.
    let releases = dir.join("releases");
    std::fs::create_dir_all(releases.join(&v0).join("bin")).unwrap();
    std::fs::copy(BIN, releases.join(&v0).join("bin/bianmin")).unwrap();
    std::os::unix::fs::symlink(&v0, releases.join("current")).unwrap();
    std::fs::write(
        dir.join("kiosk.toml"),
        format!(
            r#"[kiosk]
serial = "UPD-0001"

[cloud]
url = "{cloud}"
enrollment_code = "SOAK"

[health]
heartbeat_s = 1

[voice]
enabled = false

[update]
repo_url = "{url}repo"
root = "{root}"
releases_dir = "{releases}"
check_minutes = 60
probation_s = 2
crash_restarts = 2
crash_minutes = 10
"#,
            url = server.url,
            root = root.display(),
            releases = releases.display(),
        ),
    )
    .unwrap();
    let service_log = || std::fs::read_to_string(dir.join("service.log")).unwrap_or_default();
    let manager = Manager::start(dir, Unit::load(dir));

    let device = || {
        curl(&[&format!("{cloud}/_sim/devices")])
            .and_then(|d| d.as_array().and_then(|d| d.first().cloned()))
            .filter(|d| !d["last_seen"].is_null())
    };
    // The cloud's `check_update`, and its acknowledgement once it came back.
    let check_update = |id: &str| -> Value {
        let queued = curl(&[
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"command":"check_update"}"#,
            &format!("{cloud}/_sim/devices/{id}/commands"),
        ])
        .expect("command queued");
        let cmd = queued["id"].as_str().unwrap().to_string();
        until(
            Duration::from_secs(60),
            "check_update acknowledged",
            &service_log,
            || {
                curl(&[&format!("{cloud}/_sim/devices/{id}")])?["commands"]
                    .as_array()?
                    .iter()
                    .find(|c| c["id"] == cmd.as_str() && !c["acked_at"].is_null())
                    .cloned()
            },
        )
    };
    let kept = |version: &str| {
        let version = version.to_string();
        move || {
            device().filter(|d| {
                let u = &d["health"]["update"];
                d["app_version"] == version.as_str()
                    && u["current"] == version.as_str()
                    && u["trial"].is_null()
            })
        }
    };

    // X.Y.Z runs, is ready, heartbeats, and is kept.
    let first = until(
        Duration::from_secs(30),
        "X.Y.Z heartbeats",
        &service_log,
        kept(&v0),
    );
    let id = first["device_id"].as_str().unwrap().to_string();
    println!("{:>5.1} s  {v0} up and kept", t0.elapsed().as_secs_f64());

    // X.Y.Z+1: the same binary, another version. Taken on the cloud's command while idle.
    publish(&v1, &binary_as(&v1));
    let ack = check_update(&id);
    assert_eq!(ack["result"], "done", "{ack}");
    assert!(ack["detail"].as_str().unwrap().contains(&v1), "{ack}");
    let d = until(
        Duration::from_secs(40),
        "X.Y.Z+1 running and kept",
        &service_log,
        kept(&v1),
    );
    assert_eq!(d["health"]["update"]["previous"], v0.as_str(), "{d}");
    println!(
        "{:>5.1} s  {v1} running (its heartbeat says so) and kept",
        t0.elapsed().as_secs_f64()
    );
    let out = bianmin(&[
        "--data-dir",
        dir.join("data").to_str().unwrap(),
        "update",
        "status",
    ]);
    assert!(out.contains(&format!("current:    {v1}")), "{out}");
    assert!(out.contains(&format!("previous:   {v0}")), "{out}");

    // X.Y.Z+2 crashes at start: rolled back by the stop hook, reported by X.Y.Z+1.
    publish(
        &v2,
        b"#!/bin/sh\necho 'bianmin: cannot start' >&2\nexit 70\n",
    );
    assert_eq!(check_update(&id)["result"], "done");
    let d = until(
        Duration::from_secs(40),
        "X.Y.Z+2 rolled back and reported",
        &service_log,
        || {
            device().filter(|d| {
                d["app_version"] == v1.as_str()
                    && d["health"]["update"]["rolled_back"]["version"] == v2.as_str()
            })
        },
    );
    let rolled = &d["health"]["update"]["rolled_back"];
    assert_eq!(rolled["to"], v1.as_str(), "{d}");
    let reason = rolled["reason"].as_str().unwrap();
    assert!(
        reason.contains("2 starts") && reason.contains("exited with status 70"),
        "{reason}"
    );
    let crashed: Vec<Run> = manager
        .runs()
        .into_iter()
        .filter(|r| r.version.as_deref() == Some(v2.as_str()))
        .collect();
    assert_eq!(crashed.len(), 2, "{crashed:?}");
    assert!(crashed.iter().all(|r| !r.ready && r.result == "exit-code"));
    println!(
        "{:>5.1} s  {v2} crashed twice, rolled back: {reason}",
        t0.elapsed().as_secs_f64()
    );

    // Never taken again.
    let ack = check_update(&id);
    assert!(
        ack["detail"].as_str().unwrap().contains("up to date"),
        "{ack}"
    );
    assert_eq!(
        std::fs::read_link(releases.join("current")).unwrap(),
        Path::new(&v1)
    );

    // X.Y.Z+3 never reports READY: killed at the start limit, rolled back, reported.
    publish(&v3, b"#!/bin/sh\nexec sleep 600\n");
    assert_eq!(check_update(&id)["result"], "done");
    let d = until(
        START_LIMIT * 2 + Duration::from_secs(30),
        "X.Y.Z+3 rolled back and reported",
        &service_log,
        || {
            device().filter(|d| {
                d["app_version"] == v1.as_str()
                    && d["health"]["update"]["rolled_back"]["version"] == v3.as_str()
            })
        },
    );
    let reason = d["health"]["update"]["rolled_back"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("did not report ready"), "{reason}");
    println!(
        "{:>5.1} s  {v3} never ready, rolled back: {reason}",
        t0.elapsed().as_secs_f64()
    );

    // The last two good releases stay; the bad ones are gone and remembered.
    let mut on_disk: Vec<String> = std::fs::read_dir(&releases)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, vec![v0.clone(), v1.clone()]);
    let status: Value = serde_json::from_str(&bianmin(&[
        "--data-dir",
        dir.join("data").to_str().unwrap(),
        "update",
        "status",
        "--json",
    ]))
    .unwrap();
    assert_eq!(status["current"], v1.as_str());
    assert_eq!(status["known_bad"], serde_json::json!([v2, v3]));

    drop(manager);
    stop(&mut sim);
    println!("{:>5.1} s  done", t0.elapsed().as_secs_f64());
}
