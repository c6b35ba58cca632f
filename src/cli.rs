//! The `bianmin` command line. Every command takes `--data-dir` and `--config`.

use crate::config::{self, Config};
#[cfg(feature = "sim")]
use crate::scenario::{self, RunOptions, Scenario, Step};
#[cfg(feature = "sim")]
use crate::Lang;
#[cfg(feature = "sim")]
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "bianmin",
    version = crate::version::version(),
    about = "便民 Bianmin: self-service kiosk for community service centres"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Folder for the SQLite file and outputs (default: /var/lib/bianmin on a kiosk, else the user's data folder).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (default: /etc/bianmin/kiosk.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the kiosk on a real terminal: the hardware and the cloud from the config, the
    /// enrolment from provisioning. Refuses to start without them.
    Kiosk,
    /// Provision this kiosk (technicians): discover the printer and card readers, enrol with
    /// the code, self-test every device, write the config (--config, default
    /// /etc/bianmin/kiosk.toml) and print a provisioning slip. Exit 0 only when every required
    /// device passed; a rerun resumes (the stored enrolment is reused).
    Provision {
        /// The government cloud's URL (else cloud.url in the config).
        #[arg(long)]
        cloud: Option<String>,
        /// The enrolment code (single-use; not needed once this kiosk is enrolled).
        #[arg(long)]
        code: Option<String>,
        /// Do not ask before enrolling and before writing the config.
        #[arg(long)]
        yes: bool,
        /// Only the JSON report on stdout.
        #[arg(long)]
        json: bool,
        /// The printer's serial port, when the system does not list it.
        #[arg(long)]
        printer_port: Option<String>,
        /// A GA/T 467 SAM card reader's serial port, when the system does not list it.
        #[arg(long)]
        sam_port: Option<String>,
        /// No PC/SC readers (a kiosk with a SAM reader only).
        #[arg(long)]
        no_pcsc: bool,
        /// Seconds each reader waits for its test card (default: 5 with --yes, else 30).
        #[arg(long, value_name = "SECS")]
        card_wait: Option<f64>,
    },
    /// Self-test the configured devices and the enrolled cloud (printer with a test page, card
    /// readers with a test card, sound, display, clock, storage, cloud). Exit 0 only when every
    /// required device passed.
    Selftest {
        #[arg(long)]
        json: bool,
        /// Seconds each reader waits for its test card.
        #[arg(long, value_name = "SECS", default_value_t = 5.0)]
        card_wait: f64,
        /// Ask the printer for its status only, without a test page.
        #[arg(long)]
        no_print: bool,
    },
    /// Run the kiosk in demo mode: embedded cloud simulator, on-screen demo card reader, simulated printer.
    #[cfg(feature = "sim")]
    Demo {
        /// 1920×1080 instead of portrait 1080×1920.
        #[arg(long)]
        landscape: bool,
        #[arg(long)]
        fullscreen: bool,
        /// Print on a real ESC/POS printer on this serial port instead of the simulated one.
        #[arg(long)]
        printer_port: Option<String>,
        /// No window: the UI runs off screen in the software renderer, the rest as always
        /// (heartbeat, cloud commands, updates); a kiosk process for tests without a display.
        #[arg(long)]
        headless: bool,
    },
    /// Run the government cloud simulator standalone.
    #[cfg(feature = "sim")]
    CloudSim {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        #[arg(long)]
        db: PathBuf,
        /// A single-use enrolment code (repeat for more: each enrols one kiosk once; a code used
        /// before on the same --db stays used). More: `POST /_sim/enrollment-codes`.
        #[arg(long = "enrollment-code", value_name = "CODE", default_values_t = [crate::demo::DEMO_ENROLLMENT_CODE.to_string()])]
        enrollment_codes: Vec<String>,
        /// Seconds between back-office steps that move cases along.
        #[arg(long, default_value_t = 60)]
        case_step_secs: u64,
        /// Seconds a payment order's QR can be paid before it expires (also settable while
        /// running: `PUT /_sim/payment-ttl` with `{"seconds": N}`).
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        payment_ttl: u64,
        /// Also simulate this many kiosks in five halls, heartbeating with varied health (the
        /// fleet console at a realistic size).
        #[arg(long, value_name = "N", default_value_t = 0)]
        fleet: usize,
        /// Seconds between a simulated kiosk's heartbeats.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        fleet_beat_secs: u64,
        /// Seconds without a heartbeat after which the admin API calls a kiosk offline (three
        /// heartbeat intervals).
        #[arg(long, value_name = "SECS", default_value_t = 180)]
        offline_after_secs: u64,
        /// Accept TOKEN as an operator's admin credential (the admin API, the fleet console).
        #[arg(long, value_name = "TOKEN")]
        admin_token: Option<String>,
        /// Accept TOKEN as a viewer's admin credential (reads only).
        #[arg(long, value_name = "TOKEN")]
        viewer_token: Option<String>,
    },
    /// Scripted journeys.
    #[cfg(feature = "sim")]
    Scenario {
        #[command(subcommand)]
        action: ScenarioAction,
    },
    /// The outbox of residents' submissions.
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Card reader checks for technicians.
    Card {
        #[command(subcommand)]
        action: CardAction,
    },
    /// Printer checks for technicians.
    Printer {
        #[command(subcommand)]
        action: PrinterAction,
    },
    /// Play one spoken prompt through the configured ALSA device (voice.device, default
    /// "default") and exit when it is done: a phrase id from the voice pack, or --text (a
    /// phrase's exact text, a ticket number like A023号, an amount like 126.50元, a count like
    /// 3人). Exit 2 when there is no audio device, 1 when the phrase is unknown.
    Say {
        /// A phrase id, e.g. page.home (`bianmin say --list` lists them).
        phrase: Option<String>,
        #[arg(long, conflicts_with = "phrase")]
        text: Option<String>,
        #[arg(long, default_value = "zh")]
        lang: crate::Lang,
        /// An ALSA device instead of voice.device.
        #[arg(long)]
        device: Option<String>,
        /// List the pack's phrases instead.
        #[arg(long)]
        list: bool,
    },
    /// Admins: the fleet's kiosks, commands, catalogue, and the web console (`fleet console`;
    /// its accounts in --data-dir, made by `fleet add-admin`).
    #[cfg(feature = "fleet")]
    Fleet {
        #[command(subcommand)]
        action: crate::fleet_cli::FleetAction,
    },
    /// The admin's signed release repository (TUF): init, add, waves, pause, revoke, keys.
    Release {
        #[command(subcommand)]
        action: crate::update_cli::ReleaseAction,
    },
    /// Signed updates on this kiosk: check, apply, status.
    Update {
        #[command(subcommand)]
        action: crate::update_cli::UpdateAction,
    },
    /// Make the technician page's PIN: reads a PIN (4 to 12 digits) from standard input and
    /// prints the `[technician]` lines to paste into the config (an Argon2id hash; the PIN
    /// itself is kept nowhere). Without them the kiosk has no technician page.
    TechnicianPin,
    /// Register a technician card: reads the card's ID number from standard input and prints
    /// the line to add to `[technician] cards` (an Argon2id hash; the number is kept nowhere).
    /// That card on the reader while the PIN pad is up opens the technician page.
    TechnicianCard,
    /// Render one page headless with the software renderer and save it as PNG.
    #[cfg(feature = "sim")]
    Screenshot {
        /// attract, home, identify, form, input, confirm, result, print, table, document, payment,
        /// technician
        #[arg(long)]
        page: String,
        #[arg(long, default_value = "zh")]
        lang: Lang,
        #[arg(long)]
        elderly: bool,
        #[arg(long)]
        landscape: bool,
        #[arg(long)]
        out: PathBuf,
        /// Also render the page this many times and print the render times (p50, p99).
        #[arg(long, default_value_t = 0)]
        repeat: usize,
        /// On the input page: these letters typed on the on-screen keyboard in pinyin first
        /// (to show the candidate bar), e.g. --pinyin loudao.
        #[arg(long)]
        pinyin: Option<String>,
        /// The cloud's catalogue for this picture (JSON of the contract's Catalog): how the
        /// home page would look with it (the fleet console's preview).
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum OutboxAction {
    /// Counts of pending, delivered and failed submissions.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// One delivery pass over the due submissions; exit 0 when nothing is left pending.
    Deliver {
        #[arg(long)]
        cloud: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CardAction {
    /// Print reader and card events (masked), one JSON object a line with --json.
    Watch {
        #[arg(long)]
        json: bool,
        /// A GA/T 467 SAM reader on this serial port.
        #[arg(long)]
        sam_port: Option<String>,
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Do not watch PC/SC readers.
        #[arg(long)]
        no_pcsc: bool,
        /// Stop after this many seconds.
        #[arg(long = "for")]
        for_seconds: Option<f64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PrinterAction {
    /// Read the printer's status (DLE EOT); exit 0 when it can print, 1 when it cannot, 2 on errors.
    Status {
        #[arg(long)]
        port: String,
        #[arg(long)]
        baud: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Print a test page (Chinese, rare characters, QR, cut) through the spool.
    Test {
        #[arg(long)]
        port: String,
        #[arg(long)]
        baud: Option<u32>,
    },
    /// Render a template with sample data as the PNG preview.
    Preview {
        /// queue_ticket, test_page, selftest_page, provisioning_slip, … (an unknown name lists them)
        template: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[cfg(feature = "sim")]
#[derive(Subcommand, Debug)]
pub enum ScenarioAction {
    /// Drive the real UI headless through a TOML journey; exit 0 only if every expectation held.
    Run {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// A running cloud (e.g. `bianmin cloud-sim`); without it the embedded simulator is used.
        #[arg(long)]
        cloud: Option<String>,
        #[arg(long)]
        enrollment_code: Option<String>,
        #[arg(long)]
        landscape: bool,
        /// Print on a real ESC/POS printer on this serial port instead of the simulated one.
        #[arg(long)]
        printer_port: Option<String>,
        /// No PNG of each page (surveys that only read the transcript run faster without).
        #[arg(long)]
        no_screenshots: bool,
    },
}

/// Runs the command; the returned code is the process exit code.
pub fn main(cli: Cli) -> anyhow::Result<i32> {
    // Provisioning creates the config: a --config FILE that does not exist yet is the one to
    // write, not an error.
    if let Command::Provision {
        cloud,
        code,
        yes,
        json,
        printer_port,
        sam_port,
        no_pcsc,
        card_wait,
    } = cli.command
    {
        let config_path = cli
            .global
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::KIOSK_CONFIG));
        let data_dir = match &cli.global.data_dir {
            Some(d) => d.clone(),
            None if config_path == std::path::Path::new(config::KIOSK_CONFIG) => {
                PathBuf::from(config::KIOSK_DATA_DIR)
            }
            None => config::data_dir(None),
        };
        let card_wait = card_wait.unwrap_or(if yes { 5.0 } else { 30.0 });
        return crate::provision_cli::provision(
            crate::provision::ProvisionOptions {
                cloud,
                code,
                printer_port,
                sam_port,
                pcsc: !no_pcsc,
                card_wait: Duration::from_secs_f64(card_wait.clamp(0.0, 600.0)),
                config_path,
                data_dir,
            },
            yes,
            json,
        );
    }
    let (config, config_file) = Config::load(cli.global.config.as_deref())?;
    let data_dir = config::data_dir(cli.global.data_dir.as_deref());
    match cli.command {
        Command::Kiosk => crate::kiosk_main(config, config_file, data_dir).map(|_| 0),
        #[cfg(feature = "sim")]
        Command::Demo {
            landscape,
            fullscreen,
            printer_port,
            headless,
        } => crate::demo_main(
            config,
            config_file,
            data_dir,
            crate::DemoWindow {
                landscape,
                fullscreen,
                headless,
            },
            printer_port,
        )
        .map(|_| 0),
        Command::Printer { action } => crate::printer_cli::main(action, &config, &data_dir),
        Command::Provision { .. } => {
            unreachable!("provisioning is handled before the config loads")
        }
        Command::Selftest {
            json,
            card_wait,
            no_print,
        } => crate::provision_cli::selftest(
            &config,
            config_file,
            &data_dir,
            crate::provision::SelftestOptions {
                card_wait: Duration::from_secs_f64(card_wait.clamp(0.0, 600.0)),
                print: !no_print,
            },
            json,
        ),
        Command::Say {
            phrase,
            text,
            lang,
            device,
            list,
        } => crate::voice_cli::say(
            crate::voice_cli::SayOptions {
                phrase,
                text,
                lang,
                device,
                list,
            },
            &config,
        ),
        Command::Outbox { action } => crate::outbox_cli::main(action, &config, &data_dir),
        Command::Release { action } => crate::update_cli::release(action),
        #[cfg(feature = "fleet")]
        Command::Fleet { action } => crate::fleet_cli::run(action, &data_dir),
        Command::Update { action } => crate::update_cli::update(action, &config, &data_dir),
        Command::TechnicianCard => {
            hash_from_stdin("technician-card", crate::technician::hash_card, |hash| {
                format!("[technician]\ncards = [\"{hash}\"]")
            })
        }
        Command::TechnicianPin => {
            hash_from_stdin("technician-pin", crate::technician::hash_pin, |hash| {
                format!("[technician]\npin_hash = \"{hash}\"")
            })
        }
        Command::Card {
            action:
                CardAction::Watch {
                    json,
                    sam_port,
                    baud,
                    no_pcsc,
                    for_seconds,
                },
        } => crate::card_cli::watch(crate::card_cli::WatchOptions {
            json,
            sam_port,
            baud,
            pcsc: !no_pcsc,
            duration: for_seconds.map(|s| Duration::from_secs_f64(s.max(0.0))),
        }),
        #[cfg(feature = "sim")]
        Command::CloudSim {
            listen,
            db,
            enrollment_codes,
            case_step_secs,
            payment_ttl,
            fleet,
            fleet_beat_secs,
            offline_after_secs,
            admin_token,
            viewer_token,
        } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let sim = crate::cloud_sim::CloudSim::start(
                    listen,
                    crate::cloud_sim::SimOptions {
                        db,
                        enrollment_codes,
                        case_step: Duration::from_secs(case_step_secs.max(1)),
                        payment_ttl: Duration::from_secs(payment_ttl.max(1)),
                    },
                )
                .await?;
                use crate::cloud::admin::AdminRole;
                if let Some(t) = &admin_token {
                    sim.add_admin(t, "admin", AdminRole::Operator)?;
                }
                if let Some(t) = &viewer_token {
                    sim.add_admin(t, "viewer", AdminRole::Viewer)?;
                }
                sim.set_offline_after(Duration::from_secs(offline_after_secs));
                if fleet > 0 {
                    sim.start_fleet(fleet, Duration::from_secs(fleet_beat_secs.max(1)))?;
                }
                println!("cloud simulator listening on {}", sim.url());
                tokio::signal::ctrl_c().await?;
                anyhow::Ok(())
            })?;
            Ok(0)
        }
        #[cfg(feature = "sim")]
        Command::Scenario {
            action:
                ScenarioAction::Run {
                    file,
                    out,
                    cloud,
                    enrollment_code,
                    landscape,
                    printer_port,
                    no_screenshots,
                },
        } => {
            let sc = Scenario::load(&file)?;
            let name = if sc.name.is_empty() {
                file.file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default()
            } else {
                sc.name.clone()
            };
            let sc = Scenario { name, ..sc };
            let t = scenario::run(
                sc,
                RunOptions {
                    out_dir: out.clone(),
                    data_dir,
                    cloud_url: cloud,
                    enrollment_code,
                    config,
                    landscape,
                    screenshot_pages: !no_screenshots,
                    printer_port,
                    registry: crate::services::Registry::standard(),
                },
            )?;
            for s in &t.steps {
                println!(
                    "{} {:>3} {:<40} {} ({} ms){}",
                    if s.ok { "ok  " } else { "FAIL" },
                    s.index,
                    s.step,
                    s.page,
                    s.millis,
                    s.error
                        .as_ref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
            println!(
                "scenario {}: {} — transcript in {}",
                t.scenario,
                if t.ok { "passed" } else { "FAILED" },
                out.join("transcript.json").display()
            );
            Ok(if t.ok { 0 } else { 1 })
        }
        #[cfg(feature = "sim")]
        Command::Screenshot {
            page,
            lang,
            elderly,
            landscape,
            out,
            repeat,
            pinyin,
            catalog,
        } => {
            let mut steps = steps_to(&page, lang)?;
            if let Some(letters) = pinyin {
                steps.push(Step::TypePinyin(letters));
            }
            let mut config = config;
            if page == "technician" {
                // The run's own PIN, typed by `steps_to` (the screenshot's kiosk is a throwaway).
                config.technician.pin_hash =
                    crate::technician::hash_pin(SCREENSHOT_PIN).map_err(anyhow::Error::msg)?;
            }
            let work = tempdir_in_data(&data_dir)?;
            if let Some(file) = catalog {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let catalog: crate::cloud::api::Catalog = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a catalogue", file.display()))?;
                // The embedded simulator this picture runs against answers with it.
                crate::cloud_sim::put_catalog(&work.join("cloud-sim.db"), &catalog)?;
            }
            let times = scenario::screenshot_after(
                steps,
                RunOptions {
                    out_dir: work.join("shots"),
                    data_dir: work.clone(),
                    cloud_url: None,
                    enrollment_code: None,
                    config,
                    landscape,
                    screenshot_pages: false,
                    printer_port: None,
                    registry: crate::services::Registry::standard(),
                },
                &out,
                lang,
                elderly,
                repeat,
            )?;
            let _ = std::fs::remove_dir_all(&work);
            println!("{}", out.display());
            if let Some((p50, p99)) = percentiles(times) {
                println!(
                    "render {page} (software renderer, whole window): p50 {p50:.1} ms, p99 {p99:.1} ms over {repeat} frames"
                );
            }
            Ok(0)
        }
    }
}

/// Reads a secret (a PIN, a card's number) from standard input, never echoed or kept, and prints
/// the config line with its Argon2id hash; exit 2 when it is not one.
fn hash_from_stdin(
    command: &str,
    hash: fn(&str) -> Result<String, String>,
    line: impl Fn(&str) -> String,
) -> anyhow::Result<i32> {
    let mut secret = zeroize::Zeroizing::new(String::new());
    std::io::stdin().read_line(&mut secret)?;
    match hash(secret.trim()) {
        Ok(h) => {
            println!("{}", line(&h));
            Ok(0)
        }
        Err(e) => {
            eprintln!("bianmin {command}: {e}");
            Ok(2)
        }
    }
}

#[cfg(feature = "sim")]
/// A fresh folder for a screenshot run, so the demo's own data is never touched.
fn tempdir_in_data(data_dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "bianmin-shot-{}-{}",
        std::process::id(),
        data_dir.to_string_lossy().len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// (p50, p99) of a sample, or `None` when it is empty.
#[cfg(feature = "sim")]
fn percentiles(mut v: Vec<f64>) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.99)))
}

/// The PIN `bianmin screenshot --page technician` configures and types.
#[cfg(feature = "sim")]
const SCREENSHOT_PIN: &str = "2468";

/// The taps that bring a fresh kiosk to `page` (through the queue-ticket journey, or 社保 for
/// the table and the document preview).
#[cfg(feature = "sim")]
fn steps_to(page: &str, lang: Lang) -> anyhow::Result<Vec<Step>> {
    let t = |zh: &str, en: &str| Step::Tap(if lang == Lang::Zh { zh } else { en }.to_string());
    let mut steps = Vec::new();
    // The technician page: the long press, the PIN, and a test page printed (so the page shows
    // an outcome and its audit entries).
    if page == "technician" {
        steps.push(Step::LongPress("corner".into()));
        for d in SCREENSHOT_PIN.chars() {
            steps.push(Step::Tap(d.to_string()));
        }
        steps.push(t("确定", "OK"));
        steps.push(Step::ExpectPage(page.to_string()));
        steps.push(t("测试打印", "Test print"));
        return Ok(steps);
    }
    // The table and the document preview: 李秀英's social insurance, the last 12 months.
    if page == "table" || page == "document" {
        steps.push(Step::InsertCard(2));
        steps.push(Step::OpenService("social_insurance".into()));
        steps.push(t("缴费记录", "Contribution records"));
        steps.push(t("最近 12 个月", "The last 12 months"));
        if page == "document" {
            steps.push(t("打印参保证明", "Print a participation certificate"));
        }
        steps.push(Step::ExpectPage(page.to_string()));
        return Ok(steps);
    }
    // The input page with the on-screen keyboard: a 路灯不亮 hazard report's free text.
    if page == "input" {
        steps.push(t("点击屏幕开始办理", "Touch here to start"));
        steps.push(Step::OpenService("reports".into()));
        steps.push(t("安全隐患上报", "Report a safety hazard"));
        steps.push(t("道路设施", "Roads and facilities"));
        steps.push(t("道路或街面", "On a road or street"));
        steps.push(t("路灯不亮", "Street light out"));
        steps.push(Step::ExpectPage(page.to_string()));
        return Ok(steps);
    }
    // The payment QR: the demo's water account 10000001, both bills.
    if page == "payment" {
        steps.push(t("点击屏幕开始办理", "Touch here to start"));
        steps.push(Step::OpenService("utility_bills".into()));
        steps.push(t("水费", "Water"));
        for d in "10000001".chars() {
            steps.push(Step::Tap(d.to_string()));
        }
        steps.push(t("确定", "OK"));
        steps.push(t("去支付", "Pay"));
        steps.push(t("确认", "Confirm"));
        steps.push(Step::ExpectPage(page.to_string()));
        return Ok(steps);
    }
    let order = [
        "attract", "home", "form", "identify", "confirm", "result", "print",
    ];
    let depth = order.iter().position(|p| *p == page).with_context(|| {
        format!(
            "unknown page {page:?} (one of {}, table, document, payment, input, technician)",
            order.join(", ")
        )
    })?;
    if depth >= 1 {
        steps.push(t("点击屏幕开始办理", "Touch here to start"));
    }
    if depth >= 2 {
        steps.push(Step::OpenService("queue_and_cases".into()));
    }
    if depth >= 3 {
        steps.push(t("社保医保", "Social & medical insurance"));
    }
    if depth >= 4 {
        steps.push(t("不刷卡，直接取号", "Continue without a card"));
    }
    if depth >= 5 {
        steps.push(t("确认", "Confirm"));
    }
    if depth >= 6 {
        steps.push(t("查看凭条", "View receipt"));
    }
    steps.push(Step::ExpectPage(page.to_string()));
    Ok(steps)
}
