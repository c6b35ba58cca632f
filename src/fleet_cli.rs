//! `bianmin fleet`: the admins' command line for the fleet (the same cloud admin API the web
//! console uses), the console itself, and its accounts.

use crate::cloud::admin::*;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct CloudArgs {
    /// The government cloud's URL.
    #[arg(long)]
    pub cloud: String,
    /// An admin credential for the cloud (viewer or operator).
    #[arg(long, required_unless_present = "token_file")]
    pub token: Option<String>,
    /// The credential from a file instead (kept out of the process list and shell history).
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
}

impl CloudArgs {
    fn token(&self) -> anyhow::Result<String> {
        match (&self.token, &self.token_file) {
            (Some(t), _) => Ok(t.clone()),
            (None, Some(f)) => Ok(std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?
                .trim()
                .to_string()),
            (None, None) => anyhow::bail!("--token or --token-file is needed"),
        }
    }

    fn client(&self) -> anyhow::Result<AdminClient> {
        Ok(AdminClient::new(
            &self.cloud,
            &self.token()?,
            Duration::from_secs(15),
        )?)
    }
}

#[derive(Subcommand, Debug)]
pub enum FleetAction {
    /// How many kiosks are ok, need attention or are offline, and why.
    Status {
        #[command(flatten)]
        cloud: CloudArgs,
        #[arg(long)]
        json: bool,
    },
    /// The kiosks with their status and reasons (filters combine).
    Devices {
        #[command(flatten)]
        cloud: CloudArgs,
        #[arg(long)]
        site: Option<String>,
        /// ok, attention or offline
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        version: Option<String>,
        /// An attention reason, e.g. printer_paper_out
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Queue a command for kiosks (carried out at their next heartbeat): reload_catalog,
    /// reload_config, print_test_page, run_selftest, upload_logs, restart_when_idle,
    /// check_update.
    Command {
        #[command(flatten)]
        cloud: CloudArgs,
        command: String,
        /// A kiosk's id (repeat for more).
        #[arg(long = "device", required_unless_present = "site")]
        devices: Vec<String>,
        /// Every kiosk of this site instead.
        #[arg(long, conflicts_with = "devices")]
        site: Option<String>,
        #[arg(long)]
        argument: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The catalogue in force, or publish one (--publish FILE: JSON with services and notices).
    Catalog {
        #[command(flatten)]
        cloud: CloudArgs,
        #[arg(long)]
        publish: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The admins' web console.
    Console {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Where to listen, e.g. 127.0.0.1:8090 (put TLS in front of it beyond localhost).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        /// The signed release repository, for the rollouts page's waves.
        #[arg(long)]
        release_repo: Option<PathBuf>,
        /// The release keys folder (targets key): lets operators pause, resume and widen.
        #[arg(long, requires = "release_repo")]
        release_keys: Option<PathBuf>,
        /// Minutes without a request after which a session ends.
        #[arg(long, default_value_t = 30)]
        session_minutes: u64,
    },
    /// Add a console account, or change one's role and password (the password is read from
    /// standard input, never from the command line).
    AddAdmin {
        #[arg(long)]
        user: String,
        /// viewer or operator
        #[arg(long)]
        role: AdminRole,
    },
}

impl clap::ValueEnum for AdminRole {
    fn value_variants<'a>() -> &'a [Self] {
        &[AdminRole::Viewer, AdminRole::Operator]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.code()))
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// `data_dir` (the global `--data-dir`) holds the console's accounts (`console.db`).
pub fn run(action: FleetAction, data_dir: &std::path::Path) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run_async(action, data_dir.to_path_buf()))
}

async fn run_async(action: FleetAction, data_dir: PathBuf) -> anyhow::Result<i32> {
    match action {
        FleetAction::Status { cloud, json } => {
            let all = cloud.client()?.devices(&FleetFilter::default()).await?;
            let count = |s| all.devices.iter().filter(|d| d.status == s).count();
            let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
            for d in &all.devices {
                for r in &d.reasons {
                    *reasons.entry(r.code.clone()).or_default() += 1;
                }
            }
            let status = serde_json::json!({
                "total": all.total,
                "ok": count(FleetStatus::Ok),
                "attention": count(FleetStatus::Attention),
                "offline": count(FleetStatus::Offline),
                "reasons": reasons,
            });
            if json {
                print_json(&status)?;
            } else {
                println!(
                    "{} kiosks: {} ok, {} need attention, {} offline",
                    all.total,
                    count(FleetStatus::Ok),
                    count(FleetStatus::Attention),
                    count(FleetStatus::Offline)
                );
                for (code, n) in reasons {
                    println!("  {n:5}  {code}");
                }
            }
            Ok(0)
        }
        FleetAction::Devices {
            cloud,
            site,
            status,
            version,
            reason,
            json,
        } => {
            let status = status
                .map(|s| serde_json::from_value::<FleetStatus>(serde_json::json!(s)))
                .transpose()
                .context("--status is ok, attention or offline")?;
            let list = cloud
                .client()?
                .devices(&FleetFilter {
                    site,
                    status,
                    version,
                    reason,
                })
                .await?;
            if json {
                print_json(&list)?;
            } else {
                for d in &list.devices {
                    let reasons: Vec<String> = d
                        .reasons
                        .iter()
                        .map(|r| match r.value {
                            Some(v) => format!("{}={v}", r.code),
                            None => r.code.clone(),
                        })
                        .collect();
                    println!(
                        "{:<12} {:<22} {:<8} {:<9} {:<26} {}",
                        d.device_id,
                        d.site,
                        d.app_version.as_deref().unwrap_or("-"),
                        d.status.code(),
                        d.last_seen.as_deref().unwrap_or("never"),
                        reasons.join(", ")
                    );
                }
                println!("{} of {} kiosks", list.devices.len(), list.total);
            }
            Ok(0)
        }
        FleetAction::Command {
            cloud,
            command,
            devices,
            site,
            argument,
            json,
        } => {
            let queued = cloud
                .client()?
                .queue_command(&CommandRequest {
                    command: command.clone(),
                    argument,
                    devices,
                    site,
                })
                .await?;
            if json {
                print_json(&queued)?;
            } else {
                for q in &queued.commands {
                    println!("{} queued for {} ({})", command, q.device_id, q.id);
                }
            }
            Ok(0)
        }
        FleetAction::Catalog {
            cloud,
            publish,
            json,
        } => {
            let client = cloud.client()?;
            let state = match publish {
                Some(file) => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let draft: CatalogDraft = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not a catalogue", file.display()))?;
                    client.publish_catalog(&draft).await?
                }
                None => client.catalog().await?,
            };
            if json {
                print_json(&state)?;
            } else {
                println!(
                    "catalogue {}{}",
                    state.catalog.version,
                    state
                        .published_by
                        .as_deref()
                        .map(|b| format!(" (published by {b})"))
                        .unwrap_or_default()
                );
                for s in &state.catalog.services {
                    println!(
                        "  [{}] {:<18} {} / {}",
                        if s.enabled { "x" } else { " " },
                        s.code,
                        s.name.zh,
                        s.name.en
                    );
                }
                for n in &state.catalog.notices {
                    println!("  notice {}: {}", n.id, n.title.zh);
                }
            }
            Ok(0)
        }
        FleetAction::Console {
            cloud,
            listen,
            release_repo,
            release_keys,
            session_minutes,
        } => {
            let token = cloud.token()?;
            crate::fleet::serve(crate::fleet::ConsoleOptions {
                cloud: cloud.cloud,
                token,
                listen,
                data_dir,
                release_repo,
                release_keys,
                session_idle: Duration::from_secs(session_minutes.clamp(1, 24 * 60) * 60),
            })
            .await?;
            Ok(0)
        }
        FleetAction::AddAdmin { user, role } => {
            let mut password = zeroize::Zeroizing::new(String::new());
            std::io::stdin().read_line(&mut password)?;
            let accounts = crate::fleet::Accounts::open(&data_dir)?;
            match accounts.add(&user, role, password.trim_end_matches(['\r', '\n'])) {
                Ok(()) => {
                    println!("{user} can sign in to the console as {}", role.code());
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(2)
                }
            }
        }
    }
}
