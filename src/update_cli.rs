//! `bianmin release …` (the admin's signed release repository) and `bianmin update …` (the
//! kiosk's check and install), over the `bianmin-update` crate. See docs/admin.md.

use crate::config::Config;
use anyhow::Context;
use bianmin_update::gate::describe_end;
use bianmin_update::{
    Applied, Expiries, Gate, InitOptions, KeysDir, ReleaseInfo, ReleaseRepo, Role, Timestamp,
    UpdateStatus, Updater, UpdaterOptions, Version, Wave,
};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum ReleaseAction {
    /// Create a repository: keys for the root, targets, snapshot and timestamp roles in KEYS
    /// (move the root keys offline afterwards) and the first signed metadata in REPO.
    Init {
        repo: PathBuf,
        #[arg(long)]
        keys: PathBuf,
        /// Root keys to generate.
        #[arg(long, default_value_t = 1)]
        root_keys: usize,
        /// Root signatures a new root (a key rotation) needs.
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Publish a release archive (a tar.gz with at least bin/bianmin).
    Add {
        repo: PathBuf,
        #[arg(long)]
        keys: PathBuf,
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        version: Version,
        /// Kiosks running anything older do not take this release.
        #[arg(long)]
        min_version: Option<Version>,
        /// The share of kiosks (by a stable hash of their id) that may take it now.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(0..=100))]
        wave: u8,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Widen a release's rollout: PERCENT of the kiosks from now (or after --after-hours).
    Wave {
        repo: PathBuf,
        #[arg(long)]
        keys: PathBuf,
        #[arg(long)]
        version: Version,
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
        #[arg(long, default_value_t = 0)]
        after_hours: u32,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Stop a rollout: kiosks that have not taken the release wait.
    Pause(ReleaseChange),
    /// Continue a paused rollout.
    Resume(ReleaseChange),
    /// Withdraw a release for good: kiosks that have not taken it never will.
    Revoke(ReleaseChange),
    /// Re-sign targets, snapshot and timestamp with fresh expiries.
    Sign {
        repo: PathBuf,
        #[arg(long)]
        keys: PathBuf,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Re-sign only the timestamp (run it daily: kiosks refuse a repository whose timestamp
    /// has expired, which is how a frozen mirror is noticed).
    Refresh {
        repo: PathBuf,
        #[arg(long)]
        keys: PathBuf,
        #[arg(long, default_value_t = 7)]
        timestamp_days: i64,
    },
    /// Replace a role's keys (root, targets, snapshot or timestamp) through a new signed root.
    RotateKey {
        role: Role,
        /// The repository (or --repo).
        repo: Option<PathBuf>,
        #[arg(long = "repo", conflicts_with = "repo")]
        repo_flag: Option<PathBuf>,
        #[arg(long)]
        keys: PathBuf,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// The releases in a repository with their rollout state.
    List {
        repo: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ReleaseChange {
    repo: PathBuf,
    #[arg(long)]
    keys: PathBuf,
    #[arg(long)]
    version: Version,
    #[command(flatten)]
    expiry: ExpiryArgs,
}

/// How long newly signed metadata stays valid.
#[derive(Args, Debug)]
pub struct ExpiryArgs {
    #[arg(long, default_value_t = 365)]
    root_days: i64,
    #[arg(long, default_value_t = 90)]
    targets_days: i64,
    #[arg(long, default_value_t = 90)]
    snapshot_days: i64,
    #[arg(long, default_value_t = 7)]
    timestamp_days: i64,
}

impl ExpiryArgs {
    fn expiries(&self) -> Expiries {
        Expiries::in_days(
            self.root_days,
            self.targets_days,
            self.snapshot_days,
            self.timestamp_days,
        )
    }
}

#[derive(Subcommand, Debug)]
pub enum UpdateAction {
    /// Verify the repository and tell which release this kiosk would take. Exit 0 when the
    /// repository verifies (the version available, if any, is named), 1 when it does not.
    Check {
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long)]
        json: bool,
    },
    /// Download, verify, unpack and switch to the newest release for this kiosk. Exit 1 with
    /// nothing switched when anything fails verification.
    Apply {
        /// Now, whatever the kiosk is doing (the technician's override); without it the
        /// running kiosk applies updates on its own when idle.
        #[arg(long)]
        now: bool,
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long)]
        json: bool,
    },
    /// What the updater last did: current, previous, pending, last check, last error.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// The health gate around each start of the kiosk service, run by systemd with the
    /// previous release's binary (kiosk-image/bianmin.service): `start` before, `stop` after
    /// (reading systemd's $SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS).
    Gate {
        #[command(subcommand)]
        hook: GateHook,
        /// Default: update.releases_dir.
        #[arg(long)]
        releases_dir: Option<PathBuf>,
    },
    /// Go back to the release before the one on trial, remember it as bad, and say why.
    Rollback {
        #[arg(long)]
        reason: String,
        /// Default: update.releases_dir.
        #[arg(long)]
        releases_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GateHook {
    /// Before a start (ExecStartPre): records which release is starting.
    Start,
    /// After a start ended (ExecStopPost): counts it against a release on trial, and rolls
    /// back a crash loop.
    Stop,
}

/// Where the releases come from and go; defaults from the config's [update].
#[derive(Args, Debug)]
pub struct SourceArgs {
    /// The repository's base URL (default: update.repo_url).
    #[arg(long)]
    repo: Option<String>,
    /// The pinned root.json (default: update.root).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Default: update.releases_dir.
    #[arg(long)]
    releases_dir: Option<PathBuf>,
    /// The id that places this kiosk in a wave (default: the enrolled device id, else
    /// /etc/machine-id).
    #[arg(long)]
    device_id: Option<String>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn release(action: ReleaseAction) -> anyhow::Result<i32> {
    runtime()?.block_on(release_async(action))
}

async fn release_async(action: ReleaseAction) -> anyhow::Result<i32> {
    match action {
        ReleaseAction::Init {
            repo,
            keys,
            root_keys,
            root_threshold,
            expiry,
        } => {
            let keys = KeysDir::open(keys)?;
            let repo = ReleaseRepo::init(
                repo,
                &keys,
                &InitOptions {
                    root_keys,
                    root_threshold,
                    expiries: expiry.expiries(),
                },
            )
            .await?;
            println!(
                "repository created in {}; pin {} on the kiosks; keys in {} (keep the root keys offline)",
                repo.dir().display(),
                repo.metadata_dir().join("1.root.json").display(),
                keys.path().display()
            );
        }
        ReleaseAction::Add {
            repo,
            keys,
            archive,
            version,
            min_version,
            wave,
            expiry,
        } => {
            let repo = ReleaseRepo::open(repo)?;
            let info = ReleaseInfo {
                version: version.clone(),
                min_version,
                waves: vec![Wave {
                    percent: wave,
                    opens_at: Timestamp::now(),
                }],
                paused: false,
                revoked: false,
            };
            repo.add(&KeysDir::open(keys)?, &archive, info, &expiry.expiries())
                .await?;
            println!("release {version} published to {wave} % of the kiosks");
        }
        ReleaseAction::Wave {
            repo,
            keys,
            version,
            percent,
            after_hours,
            expiry,
        } => {
            let opens_at =
                Timestamp::now() + bianmin_update::SignedDuration::from_hours(after_hours.into());
            let info = ReleaseRepo::open(repo)?
                .update_release(&KeysDir::open(keys)?, &version, &expiry.expiries(), |r| {
                    r.waves.push(Wave { percent, opens_at })
                })
                .await?;
            println!(
                "release {version}: {percent} % of the kiosks from {opens_at} ({} % open now)",
                info.open_percent(Timestamp::now())
            );
        }
        ReleaseAction::Pause(c) => change(c, "paused", |r| r.paused = true).await?,
        ReleaseAction::Resume(c) => change(c, "resumed", |r| r.paused = false).await?,
        ReleaseAction::Revoke(c) => change(c, "revoked", |r| r.revoked = true).await?,
        ReleaseAction::Sign { repo, keys, expiry } => {
            ReleaseRepo::open(repo)?
                .sign(&KeysDir::open(keys)?, &expiry.expiries())
                .await?;
            println!("targets, snapshot and timestamp re-signed");
        }
        ReleaseAction::Refresh {
            repo,
            keys,
            timestamp_days,
        } => {
            let expires = Expiries::in_days(0, 0, 0, timestamp_days).timestamp;
            ReleaseRepo::open(repo)?
                .refresh(&KeysDir::open(keys)?, expires)
                .await?;
            println!("timestamp re-signed, valid until {expires}");
        }
        ReleaseAction::RotateKey {
            role,
            repo,
            repo_flag,
            keys,
            expiry,
        } => {
            let repo = repo
                .or(repo_flag)
                .context("name the repository: rotate-key ROLE REPO --keys KEYS")?;
            let repo = ReleaseRepo::open(repo)?;
            repo.rotate_key(&KeysDir::open(keys)?, role, &expiry.expiries())
                .await?;
            let (root, path) = repo.latest_root()?;
            println!(
                "{role} key replaced; root version {} in {}",
                root.signed.version,
                path.display()
            );
        }
        ReleaseAction::List { repo, json } => {
            let releases = ReleaseRepo::open(repo)?.releases().await?;
            let now = Timestamp::now();
            if json {
                let list: Vec<_> = releases
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "release": r.info,
                            "target": r.target,
                            "length": r.length,
                            "open_percent": r.info.open_percent(now),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in releases {
                    let state = if r.info.revoked {
                        "revoked".to_string()
                    } else if r.info.paused {
                        "paused".to_string()
                    } else {
                        format!("{} % open", r.info.open_percent(now))
                    };
                    println!("{:<12} {:<10} {} bytes", r.info.version, state, r.length);
                }
            }
        }
    }
    Ok(0)
}

async fn change(
    c: ReleaseChange,
    what: &str,
    f: impl FnOnce(&mut ReleaseInfo),
) -> anyhow::Result<()> {
    ReleaseRepo::open(c.repo)?
        .update_release(&KeysDir::open(c.keys)?, &c.version, &c.expiry.expiries(), f)
        .await?;
    println!("release {} {what}", c.version);
    Ok(())
}

pub fn update(action: UpdateAction, config: &Config, data_dir: &Path) -> anyhow::Result<i32> {
    let gate = |releases_dir: Option<PathBuf>| Gate {
        releases_dir: releases_dir.unwrap_or_else(|| config.update.releases_dir.clone()),
        data_dir: data_dir.to_path_buf(),
        crash_loop: config.update.crash_loop(),
    };
    match action {
        UpdateAction::Gate {
            hook: GateHook::Start,
            releases_dir,
        } => {
            gate(releases_dir).before_start()?;
            Ok(0)
        }
        UpdateAction::Gate {
            hook: GateHook::Stop,
            releases_dir,
        } => {
            let env = |k: &str| std::env::var(k).unwrap_or_default();
            let how = describe_end(
                &env("SERVICE_RESULT"),
                &env("EXIT_CODE"),
                &env("EXIT_STATUS"),
            );
            if let Some(r) = gate(releases_dir).after_stop(&how)? {
                // To the journal: the kiosk's next heartbeat reports it too.
                eprintln!(
                    "bianmin: release {} rolled back to {}: {}",
                    r.version,
                    r.to.map(|v| v.to_string()).unwrap_or_default(),
                    r.reason
                );
            }
            Ok(0)
        }
        UpdateAction::Rollback {
            reason,
            releases_dir,
        } => {
            let r = gate(releases_dir).rollback(&reason)?;
            println!(
                "release {} rolled back to {}; restart the kiosk service to run it",
                r.version,
                r.to.map(|v| v.to_string()).unwrap_or_default()
            );
            Ok(0)
        }
        UpdateAction::Status { json } => {
            let status = UpdateStatus::load(data_dir);
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                let v = |v: &Option<Version>| {
                    v.as_ref()
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "-".into())
                };
                println!("current:    {}", v(&status.current));
                println!("previous:   {}", v(&status.previous));
                println!("pending:    {}", v(&status.pending));
                println!(
                    "last check: {}",
                    status
                        .last_check
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "never".into())
                );
                println!(
                    "last error: {}",
                    status.last_error.as_deref().unwrap_or("-")
                );
                if let Some(t) = &status.trial {
                    println!(
                        "on trial:   {} (switched {}, {} failed start(s))",
                        t.version,
                        t.switched_at,
                        t.failures.len()
                    );
                }
                if let Some(r) = &status.rolled_back {
                    println!("rolled back: {} ({})", r.version, r.reason);
                }
                let list = |v: &[Version]| {
                    v.iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if !status.good.is_empty() {
                    println!("kept good:  {}", list(&status.good));
                }
                if !status.known_bad.is_empty() {
                    println!(
                        "known bad:  {} (never taken again)",
                        list(&status.known_bad)
                    );
                }
            }
            Ok(0)
        }
        UpdateAction::Check { source, json } => {
            let updater = updater(source, config, data_dir)?;
            match runtime()?.block_on(updater.check()) {
                Ok(report) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&serde_json::json!({
                                "running": report.running,
                                "available": report.available.as_ref().map(|r| &r.version),
                                "bucket": report.bucket,
                                "releases": report.listed,
                                "timestamp_expires": report.timestamp_expires,
                            }))?
                        );
                    } else {
                        match &report.available {
                            Some(r) => println!(
                                "update available: {} (running {})",
                                r.version, report.running
                            ),
                            None => println!(
                                "up to date: running {}, nothing newer for this kiosk",
                                report.running
                            ),
                        }
                        for c in &report.listed {
                            if let Some(why) = &c.skipped {
                                println!("  {}: {why}", c.version);
                            }
                        }
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("bianmin: {e}");
                    Ok(1)
                }
            }
        }
        UpdateAction::Apply { now, source, json } => {
            if !now {
                anyhow::bail!(
                    "the running kiosk applies updates by itself when no resident is using it; \
                     `bianmin update apply --now` switches at once, whatever the kiosk is doing"
                );
            }
            let updater = updater(source, config, data_dir)?;
            match runtime()?.block_on(updater.apply_now()) {
                Ok(applied) => {
                    let (state, version) = match &applied {
                        Applied::UpToDate { running } => ("up_to_date", running),
                        Applied::Pending { version } => ("pending", version),
                        Applied::Switched { version, .. } => ("switched", version),
                    };
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"result": state, "version": version})
                        );
                    } else {
                        match applied {
                            Applied::UpToDate { running } => {
                                println!("up to date: running {running}")
                            }
                            Applied::Pending { version } => {
                                println!("{version} unpacked, waiting to switch")
                            }
                            Applied::Switched { version, previous } => println!(
                                "switched to {version}{}; restart the kiosk service to run it",
                                previous.map(|p| format!(" (from {p})")).unwrap_or_default()
                            ),
                        }
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("bianmin: {e}; nothing switched");
                    Ok(1)
                }
            }
        }
    }
}

fn updater(source: SourceArgs, config: &Config, data_dir: &Path) -> anyhow::Result<Updater> {
    let u = &config.update;
    let repo_url = source
        .repo
        .or_else(|| (!u.repo_url.is_empty()).then(|| u.repo_url.clone()))
        .context("no update repository: pass --repo URL or set update.repo_url in the config")?;
    let device_id = match source.device_id {
        Some(id) => id,
        None => device_id(data_dir)?,
    };
    Ok(Updater::new(UpdaterOptions {
        repo_url,
        root: source.root.unwrap_or_else(|| u.root.clone()),
        data_dir: data_dir.to_path_buf(),
        releases_dir: source
            .releases_dir
            .unwrap_or_else(|| u.releases_dir.clone()),
        device_id,
        built_version: crate::version::version()
            .parse()
            .expect("the build's version is semver"),
    }))
}

/// The enrolled device id, else the machine id: stable for the kiosk's life, so its wave is.
fn device_id(data_dir: &Path) -> anyhow::Result<String> {
    let db = data_dir.join("bianmin.db");
    if db.exists() {
        let enrolled = crate::storage::Store::open(&db)
            .map_err(anyhow::Error::from)
            .and_then(|s| Ok(s.enrollment()?));
        if let Ok(Some(e)) = enrolled {
            return Ok(e.device_id);
        }
    }
    std::fs::read_to_string("/etc/machine-id")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .context("no device id: the kiosk is not enrolled and there is no /etc/machine-id; pass --device-id")
}
