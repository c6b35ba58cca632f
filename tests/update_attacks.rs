//! Signed updates under attack and fault: every test publishes with `bianmin release`, serves the
//! repository over HTTP on 127.0.0.1 from a small file server in this process (with Range
//! support and a switch that cuts a download mid-file), and runs `bianmin update` as a kiosk
//! would. Nothing an attacker serves may be installed, and `current` only ever names a whole
//! release.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// The repository's file server (shared with the end-to-end update test).
#[path = "support/repo_server.rs"]
mod repo_server;
use repo_server::Server;

// ---------------------------------------------------------------- fixtures

fn bianmin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

/// A release archive: `bin/bianmin` (a script that names its version) and, optionally, a
/// large compressible file (for the disk-full test).
fn make_archive(dir: &Path, version: &str, padding: usize) -> PathBuf {
    let path = dir.join(format!("build-{version}.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_cksum();
        tar.append_data(&mut h, name, data).unwrap();
    };
    add(
        "bin/bianmin",
        format!("#!/bin/sh\necho bianmin {version}\n").as_bytes(),
        0o755,
    );
    add("share/bianmin/VERSION", version.as_bytes(), 0o644);
    if padding > 0 {
        add("share/bianmin/assets.bin", &vec![0u8; padding], 0o644);
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

/// Keys and an initialised repository, made once per test run and copied for each test.
struct Base {
    dir: tempfile::TempDir,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        for (name, extra) in [
            ("plain", &[][..]),
            (
                "two-of-two",
                &["--root-keys", "2", "--root-threshold", "2"][..],
            ),
        ] {
            let d = dir.path().join(name);
            let mut args = vec![
                "release",
                "init",
                d.join("repo").to_str().unwrap().to_owned().leak(),
                "--keys",
                d.join("keys").to_str().unwrap().to_owned().leak(),
            ];
            args.extend_from_slice(extra);
            ok(bianmin(&args));
        }
        for v in ["10.0.0", "10.1.0", "10.1.5", "10.2.0"] {
            make_archive(dir.path(), v, 0);
        }
        Base { dir }
    })
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        let kind = e.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &dest).unwrap();
        } else if kind.is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// One test's world: its own copy of the repository and keys, a server, a kiosk.
struct World {
    dir: tempfile::TempDir,
    server: Server,
}

impl World {
    fn new() -> World {
        World::from_base("plain")
    }

    fn from_base(name: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&base().dir.path().join(name), dir.path());
        std::fs::copy(
            dir.path().join("repo/metadata/1.root.json"),
            dir.path().join("pinned-root.json"),
        )
        .unwrap();
        let server = Server::start(dir.path());
        World { dir, server }
    }

    fn p(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_str().unwrap().to_owned()
    }

    fn repo(&self) -> String {
        self.p("repo")
    }

    fn keys(&self) -> String {
        self.p("keys")
    }

    fn archive(&self, version: &str) -> String {
        base()
            .dir
            .path()
            .join(format!("build-{version}.tar.gz"))
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn publish(&self, version: &str) {
        ok(bianmin(&[
            "release",
            "add",
            &self.repo(),
            "--keys",
            &self.keys(),
            "--archive",
            &self.archive(version),
            "--version",
            version,
        ]));
    }

    fn release(&self, args: &[&str]) -> String {
        let mut all = vec!["release"];
        all.extend_from_slice(args);
        ok(bianmin(&all))
    }

    fn kiosk_args(&self, action: &str, kiosk: &str) -> Vec<String> {
        let mut args: Vec<String> = [
            "--data-dir",
            &self.p(&format!("{kiosk}/data")),
            "update",
            action,
            "--repo",
            &format!("{}repo", self.server.url),
            "--root",
            &self.p("pinned-root.json"),
            "--releases-dir",
            &self.p(&format!("{kiosk}/releases")),
            "--device-id",
            &format!("{kiosk}-device"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if action == "apply" {
            args.push("--now".into());
        }
        args
    }

    fn check(&self, kiosk: &str) -> Output {
        let args = self.kiosk_args("check", kiosk);
        bianmin(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn apply(&self, kiosk: &str) -> Output {
        let args = self.kiosk_args("apply", kiosk);
        bianmin(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The version `current` names, after checking it is a whole release.
    fn current(&self, kiosk: &str) -> Option<String> {
        let releases = self.dir.path().join(kiosk).join("releases");
        let target = std::fs::read_link(releases.join("current")).ok()?;
        let version = target.to_str().unwrap().to_owned();
        let bin = std::fs::read_to_string(releases.join("current/bin/bianmin"))
            .expect("current names a release with its binary");
        assert_eq!(bin, format!("#!/bin/sh\necho bianmin {version}\n"));
        Some(version)
    }

    fn metadata(&self, file: &str) -> PathBuf {
        self.dir.path().join("repo/metadata").join(file)
    }

    /// The archive of `version` as served (consistent snapshots prefix its hash).
    fn served_target(&self, version: &str) -> PathBuf {
        let suffix = format!(".bianmin-{version}.tar.gz");
        std::fs::read_dir(self.dir.path().join("repo/targets"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_str().unwrap().ends_with(&suffix))
            .expect("the target is in the repository")
    }
}

fn refused(o: &Output) {
    assert_eq!(o.status.code(), Some(1), "{}", text(o));
}

fn latest_root_version(w: &World) -> u64 {
    (1..)
        .take_while(|n| w.metadata(&format!("{n}.root.json")).exists())
        .last()
        .unwrap()
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

// ---------------------------------------------------------------- the tests

#[test]
fn a_published_release_is_checked_applied_and_reported() {
    let w = World::new();
    w.publish("10.1.0");
    let out = ok(w.check("k"));
    assert!(out.contains("update available: 10.1.0"), "{out}");
    let out = ok(w.apply("k"));
    assert!(out.contains("switched to 10.1.0"), "{out}");
    assert_eq!(w.current("k").as_deref(), Some("10.1.0"));
    let status = ok(bianmin(&[
        "--data-dir",
        &w.p("k/data"),
        "update",
        "status",
        "--json",
    ]));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["current"], "10.1.0");
    assert_eq!(status["last_error"], serde_json::Value::Null);
    // Nothing newer: up to date, exit 0.
    let out = ok(w.apply("k"));
    assert!(out.contains("up to date"), "{out}");
}

#[test]
fn a_tampered_target_is_refused_and_nothing_switched() {
    let w = World::new();
    w.publish("10.1.0");
    let target = w.served_target("10.1.0");
    let mut bytes = std::fs::read(&target).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&target, bytes).unwrap();
    let o = w.apply("k");
    refused(&o);
    assert!(text(&o).contains("10.1.0"), "{}", text(&o));
    assert_eq!(w.current("k"), None);
    assert!(!w.dir.path().join("k/releases/10.1.0").exists());
}

#[test]
fn an_oversize_target_is_refused() {
    let w = World::new();
    w.publish("10.1.0");
    let target = w.served_target("10.1.0");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&target)
        .unwrap();
    f.write_all(&[0u8; 4096]).unwrap();
    drop(f);
    refused(&w.apply("k"));
    assert_eq!(w.current("k"), None);
}

#[test]
fn a_target_not_in_the_metadata_is_never_taken_and_mixed_metadata_is_refused() {
    let w = World::new();
    w.publish("10.1.0");
    // An archive dropped into targets/ under a plausible name is not offered: only signed
    // targets exist for the kiosk.
    let rogue = w
        .dir
        .path()
        .join("repo/targets")
        .join(format!("{}.bianmin-10.9.0.tar.gz", "ab".repeat(32)));
    std::fs::copy(w.archive("10.2.0"), &rogue).unwrap();
    let out = ok(w.check("k"));
    assert!(
        out.contains("update available: 10.1.0") && !out.contains("10.9.0"),
        "{out}"
    );
    // Mix and match: the newer targets.json's content served under the older version's name
    // (which the signed snapshot pins by version and hash).
    w.publish("10.2.0");
    let t = |n: u64| w.metadata(&format!("{n}.targets.json"));
    let newest = (1..).take_while(|n| t(*n).exists()).last().unwrap();
    let snapshot_version = newest; // every publish bumps targets and snapshot together
    std::fs::copy(t(newest - 1), t(newest)).unwrap();
    let o = w.check("fresh-kiosk");
    refused(&o);
    assert!(snapshot_version > 1);
}

#[test]
fn metadata_signed_by_a_wrong_key_is_refused() {
    let w = World::new();
    w.publish("10.1.0");
    ok(w.check("k"));
    // A repository of the attacker's own, validly signed by keys this kiosk does not trust.
    let evil = w.dir.path().join("evil");
    ok(bianmin(&[
        "release",
        "init",
        evil.join("repo").to_str().unwrap(),
        "--keys",
        evil.join("keys").to_str().unwrap(),
    ]));
    for _ in 0..3 {
        ok(bianmin(&[
            "release",
            "sign",
            evil.join("repo").to_str().unwrap(),
            "--keys",
            evil.join("keys").to_str().unwrap(),
        ]));
    }
    std::fs::copy(
        evil.join("repo/metadata/timestamp.json"),
        w.metadata("timestamp.json"),
    )
    .unwrap();
    let o = w.check("k");
    refused(&o);
    refused(&w.check("fresh-kiosk"));
}

#[test]
fn a_key_rotation_done_right_is_followed_and_one_below_threshold_is_refused() {
    let w = World::from_base("two-of-two");
    w.publish("10.1.0");
    ok(w.check("k"));
    // Right: the targets key replaced through root 2, signed by both root keys.
    w.release(&["rotate-key", "targets", &w.repo(), "--keys", &w.keys()]);
    assert_eq!(latest_root_version(&w), 2);
    w.publish("10.2.0");
    let out = ok(w.check("k"));
    assert!(out.contains("update available: 10.2.0"), "{out}");
    let out = ok(w.check("fresh-kiosk"));
    assert!(out.contains("update available: 10.2.0"), "{out}");
    // Below threshold: the next root carries one of the two root signatures it needs.
    w.release(&["rotate-key", "snapshot", &w.repo(), "--keys", &w.keys()]);
    edit_json(&w.metadata("3.root.json"), |v| {
        v["signatures"].as_array_mut().unwrap().truncate(1);
    });
    refused(&w.check("k"));
    refused(&w.check("another-fresh-kiosk"));
}

#[test]
fn a_root_rotation_not_signed_by_the_old_root_is_refused() {
    let w = World::new();
    w.publish("10.1.0");
    ok(w.check("k"));
    let old_root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.metadata("1.root.json")).unwrap()).unwrap();
    let old_ids: Vec<String> = old_root["signed"]["roles"]["root"]["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    w.release(&["rotate-key", "root", &w.repo(), "--keys", &w.keys()]);
    // Done right it is accepted…
    ok(w.check("k2"));
    // …done wrong (signed by the new root key alone) it is not.
    edit_json(&w.metadata("2.root.json"), |v| {
        v["signatures"]
            .as_array_mut()
            .unwrap()
            .retain(|s| !old_ids.contains(&s["keyid"].as_str().unwrap().to_owned()));
    });
    refused(&w.check("k"));
    refused(&w.check("fresh-kiosk"));
}

#[test]
fn expired_timestamp_or_snapshot_is_refused() {
    let w = World::new();
    w.publish("10.1.0");
    ok(w.check("k"));
    w.release(&[
        "refresh",
        &w.repo(),
        "--keys",
        &w.keys(),
        "--timestamp-days",
        "0",
    ]);
    let o = w.check("k");
    refused(&o);
    assert!(text(&o).contains("xpired"), "{}", text(&o));
    w.release(&["refresh", &w.repo(), "--keys", &w.keys()]);
    ok(w.check("k"));
    w.release(&[
        "sign",
        &w.repo(),
        "--keys",
        &w.keys(),
        "--snapshot-days",
        "0",
    ]);
    refused(&w.check("k"));
    refused(&w.apply("k"));
    assert_eq!(w.current("k"), None);
}

#[test]
fn rolled_back_metadata_is_refused_across_runs() {
    let w = World::new();
    w.publish("10.1.0");
    let old_timestamp = std::fs::read(w.metadata("timestamp.json")).unwrap();
    w.publish("10.2.0");
    let out = ok(w.check("k"));
    assert!(out.contains("10.2.0"), "{out}");
    // An older, validly signed timestamp (and with it the older snapshot): the kiosk has
    // seen newer in an earlier run, kept in its datastore.
    std::fs::write(w.metadata("timestamp.json"), old_timestamp).unwrap();
    let o = w.check("k");
    refused(&o);
    refused(&w.apply("k"));
    assert_eq!(w.current("k"), None);
}

#[test]
fn a_frozen_repository_is_refused_once_its_timestamp_runs_out() {
    let w = World::new();
    w.publish("10.1.0");
    // The timestamp is valid for a few seconds; then the mirror keeps serving it unchanged.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let expires = bianmin_update::Timestamp::now() + bianmin_update::SignedDuration::from_secs(3);
    rt.block_on(
        bianmin_update::ReleaseRepo::open(w.repo())
            .unwrap()
            .refresh(&bianmin_update::KeysDir::open(w.keys()).unwrap(), expires),
    )
    .unwrap();
    ok(w.check("k"));
    while bianmin_update::Timestamp::now() <= expires {
        std::thread::sleep(Duration::from_millis(200));
    }
    refused(&w.check("k"));
}

#[test]
fn a_release_older_than_the_running_one_is_not_taken() {
    let w = World::new();
    w.publish("10.2.0");
    ok(w.apply("k"));
    assert_eq!(w.current("k").as_deref(), Some("10.2.0"));
    w.publish("10.1.5");
    let out = ok(w.check("k"));
    assert!(out.contains("up to date: running 10.2.0"), "{out}");
    assert!(out.contains("10.1.5: not newer"), "{out}");
    ok(w.apply("k"));
    assert_eq!(w.current("k").as_deref(), Some("10.2.0"));
}

#[test]
fn pause_and_revoke_hold_back_kiosks_that_have_not_taken_the_release() {
    let w = World::new();
    w.publish("10.1.0");
    let args = |cmd: &'static str| {
        [cmd, &w.repo(), "--keys", &w.keys(), "--version", "10.1.0"].map(|s| s.to_owned())
    };
    let run = |cmd: &'static str| {
        let a = args(cmd);
        w.release(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    run("pause");
    let out = ok(w.check("k"));
    assert!(
        out.contains("up to date") && out.contains("rollout paused"),
        "{out}"
    );
    ok(w.apply("k"));
    assert_eq!(w.current("k"), None);
    run("resume");
    assert!(ok(w.check("k")).contains("update available: 10.1.0"));
    run("revoke");
    let out = ok(w.check("k"));
    assert!(out.contains("10.1.0: revoked"), "{out}");
}

#[test]
fn a_download_cut_mid_file_is_resumed() {
    let w = World::new();
    w.publish("10.1.0");
    w.server.cut_next_target.store(true, Ordering::SeqCst);
    let out = ok(w.apply("k"));
    assert!(out.contains("switched to 10.1.0"), "{out}");
    assert!(
        !w.server.cut_next_target.load(Ordering::SeqCst),
        "the cut happened"
    );
    assert_eq!(
        w.server.target_requests.load(Ordering::SeqCst),
        2,
        "the archive was asked for twice: whole, then the rest after the cut"
    );
    assert_eq!(w.server.resumed_requests.load(Ordering::SeqCst), 1);
    assert_eq!(w.current("k").as_deref(), Some("10.1.0"));
}

#[test]
fn a_disk_full_while_unpacking_switches_nothing() {
    let w = World::new();
    w.publish("10.0.0");
    ok(w.apply("k"));
    // 4 MiB of assets that compress to a few KiB: the download fits, the unpack does not.
    let big = make_archive(w.dir.path(), "10.1.0", 4 << 20);
    w.release(&[
        "add",
        &w.repo(),
        "--keys",
        &w.keys(),
        "--archive",
        big.to_str().unwrap(),
        "--version",
        "10.1.0",
    ]);
    let args = w.kiosk_args("apply", "k");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bianmin"));
    cmd.args(&args).env("RUST_LOG", "error");
    // A filesystem that fills up at 1 MiB a file: writes past it fail with EFBIG (SIGXFSZ
    // ignored), as they would with ENOSPC on a full data partition.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: 1 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    refused(&o);
    assert!(text(&o).contains("nothing switched"), "{}", text(&o));
    assert_eq!(w.current("k").as_deref(), Some("10.0.0"));
    let leftovers: Vec<_> = std::fs::read_dir(w.dir.path().join("k/releases"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("10.1.0"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // With room again, the same release goes in.
    ok(w.apply("k"));
    assert_eq!(w.current("k").as_deref(), Some("10.1.0"));
}

#[test]
fn a_power_cut_at_every_step_of_apply_leaves_the_old_or_the_new_release() {
    let w = World::new();
    w.publish("10.0.0");
    ok(w.apply("base"));
    w.publish("10.1.0");
    for step in bianmin_update::install::KILL_POINTS {
        let kiosk = format!("k-{step}");
        copy_tree(&w.dir.path().join("base"), &w.dir.path().join(&kiosk));
        let args = w.kiosk_args("apply", &kiosk);
        let o = Command::new(env!("CARGO_BIN_EXE_bianmin"))
            .args(&args)
            .env("RUST_LOG", "error")
            .env("BIANMIN_UPDATE_KILL_AT", step)
            .output()
            .unwrap();
        assert_eq!(
            o.status.signal(),
            Some(libc::SIGKILL),
            "{step}: {}",
            text(&o)
        );
        let after = w.current(&kiosk);
        assert!(
            matches!(after.as_deref(), Some("10.0.0") | Some("10.1.0")),
            "{step}: {after:?}"
        );
        // The next start finishes the job.
        ok(w.apply(&kiosk));
        assert_eq!(w.current(&kiosk).as_deref(), Some("10.1.0"), "{step}");
        let names: Vec<String> = std::fs::read_dir(w.dir.path().join(&kiosk).join("releases"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.contains("partial") && n != "current.new"),
            "{step}: {names:?}"
        );
    }
}

#[test]
fn a_ten_percent_wave_takes_about_ten_of_a_hundred_kiosks_and_always_the_same_ones() {
    let w = World::new();
    w.release(&[
        "add",
        &w.repo(),
        "--keys",
        &w.keys(),
        "--archive",
        &w.archive("10.1.0"),
        "--version",
        "10.1.0",
        "--wave",
        "10",
    ]);
    let started = Instant::now();
    let run = || -> Vec<usize> {
        let taken: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|part| {
                    let w = &w;
                    s.spawn(move || {
                        (0..100)
                            .filter(|i| i % 4 == part)
                            .filter(|i| {
                                // One shared data folder: the verified state is the same for all.
                                let mut args = w.kiosk_args("check", &format!("wave-{part}"));
                                let id = args.iter().position(|a| a == "--device-id").unwrap() + 1;
                                args[id] = format!("kiosk-{i:03}");
                                args.push("--json".into());
                                let o =
                                    bianmin(&args.iter().map(String::as_str).collect::<Vec<_>>());
                                let v: serde_json::Value = serde_json::from_str(&ok(o)).unwrap();
                                v["available"] == "10.1.0"
                            })
                            .collect::<Vec<usize>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut taken = taken;
        taken.sort();
        taken
    };
    let first = run();
    assert!(
        (5..=15).contains(&first.len()),
        "{} took it: {first:?}",
        first.len()
    );
    assert_eq!(run(), first, "the same kiosks every run");
    // The wave is the signed one: widening it to everybody lets every kiosk take it.
    w.release(&[
        "wave",
        &w.repo(),
        "--keys",
        &w.keys(),
        "--version",
        "10.1.0",
        "--percent",
        "100",
    ]);
    let o = bianmin(
        &w.kiosk_args("check", "wave-0")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        text(&o).contains("update available: 10.1.0"),
        "{}",
        text(&o)
    );
    eprintln!("200 wave checks in {:?}", started.elapsed());
}
