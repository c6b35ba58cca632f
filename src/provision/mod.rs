//! Technicians' provisioning: a bare kiosk and one enrolment code become an enrolled,
//! configured and tested kiosk. Discovery (serial ports, PC/SC readers, sound cards), the
//! enrolment (shared with the demo's: [`crate::enrolment`]), the self-test
//! ([`crate::selftest`]), kiosk.toml written with what was found, the outbox key created, and a
//! provisioning slip printed. A rerun after a failure resumes: the stored enrolment is reused
//! (its code is spent), a test page or test card that passed before is not asked for again, and
//! the report says so.
//!
//! [`selftest`] reruns the self-test on a provisioned kiosk (`bianmin selftest`).

pub mod config_file;
pub mod discover;

use crate::cloud::api::Site;
use crate::cloud::CloudClient;
use crate::config::Config;
use crate::selftest::{
    self, Check, CloudCheck, CloudTarget, DeviceChecks, KioskIdentity, Outcome, PrinterTarget,
    ReaderCheck, ReaderFound, ReaderUnderTest, SelftestReport, SelftestTargets,
};
use crate::storage::{Enrollment, Store};
use anyhow::Context;
use bianmin_idcard::IdentityReader;
use config_file::Setting;
use discover::{PortAnswer, PortFinding};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the technician asked for.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// The cloud's URL (else cloud.url of an existing config).
    pub cloud: Option<String>,
    /// The enrolment code (not needed when the data folder holds an enrolment already).
    pub code: Option<String>,
    /// Probe this port too (one the system does not list, e.g. a pseudo-terminal), and take the
    /// printer from it.
    pub printer_port: Option<String>,
    pub sam_port: Option<String>,
    /// Look for PC/SC readers through pcscd.
    pub pcsc: bool,
    /// How long each reader waits for its test card.
    pub card_wait: Duration,
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
}

/// The four steps of provisioning, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionStep {
    Discover,
    Enrol,
    Selftest,
    WriteConfig,
}

impl ProvisionStep {
    /// The step's heading in the terminal (the screen translates the step itself).
    pub fn heading(self) -> &'static str {
        match self {
            ProvisionStep::Discover => "发现设备 Discovering devices…",
            ProvisionStep::Enrol => "注册 Enrolling…",
            ProvisionStep::Selftest => {
                "自检 Self-test… (a test card on each reader; the printer prints a test page)"
            }
            ProvisionStep::WriteConfig => "写入配置 Writing the config…",
        }
    }
}

/// The technician: at the terminal (progress lines and yes/no questions, answered "yes" by
/// `--yes`) or on the kiosk's own screen (src/ui_bridge/provision.rs).
pub trait Technician {
    /// A step begins.
    fn step(&mut self, step: ProvisionStep) {
        self.progress(step.heading());
    }
    /// A line of what was found or done (port names, readers; never personal data).
    fn progress(&mut self, line: &str);
    fn confirm(&mut self, question: &str) -> bool;
}

/// The provisioning report (`--json` prints it; the data folder keeps the last one as
/// provision.json, which a rerun resumes from). No token, no personal data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionReport {
    pub ok: bool,
    pub device_id: Option<String>,
    pub site: Option<Site>,
    /// The config file written (or that would have been).
    pub config: String,
    pub config_written: bool,
    pub elapsed_ms: u64,
    pub at: String,
    /// When this run resumed an earlier one: that run's time.
    pub resumed_from: Option<String>,
    /// What was reused from the earlier run instead of being done again.
    pub reused: Vec<String>,
    /// The kiosk database holding the device token (mode 0600).
    pub token_file: Option<String>,
    /// The key that seals residents' submissions in the outbox (mode 0600).
    pub outbox_key: Option<String>,
    pub slip_printed: bool,
    pub devices: DeviceChecks,
}

const REPORT_FILE: &str = "provision.json";

/// Opens the kiosk database readable by its owner only: it holds the device token (and the
/// outbox's sealed submissions). SQLite gives its -wal and -shm files the database's mode.
pub fn open_private_store(data_dir: &Path) -> anyhow::Result<(Store, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    if !data_dir.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let db = data_dir.join("bianmin.db");
    if !db.exists() {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&db)
            .with_context(|| format!("cannot create {}", db.display()))?;
    }
    let store = Store::open(&db).context("cannot open the kiosk database")?;
    for f in ["bianmin.db", "bianmin.db-wal", "bianmin.db-shm"] {
        let p = data_dir.join(f);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot make {} owner-only", p.display()))?;
        }
    }
    Ok((store, db))
}

/// Whether the data folder holds an enrolment. Only looks: no database is made for a kiosk that
/// was never provisioned.
pub fn enrolled_in(data_dir: &Path) -> anyhow::Result<bool> {
    let db = data_dir.join("bianmin.db");
    if !db.exists() {
        return Ok(false);
    }
    Store::open(&db)
        .map_err(anyhow::Error::from)
        .and_then(|s| Ok(s.enrollment()?))
        .map(|e| e.is_some())
        .map_err(|e| anyhow::anyhow!("cannot read the kiosk database {}: {e}", db.display()))
}

/// [`enrolled_in`], an unreadable database counting as not enrolled (provisioning says why).
pub fn enrolled(data_dir: &Path) -> bool {
    enrolled_in(data_dir).unwrap_or(false)
}

fn previous_report(data_dir: &Path) -> Option<ProvisionReport> {
    let text = std::fs::read_to_string(data_dir.join(REPORT_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Provisions the kiosk. Errors are for what stops it before any device is looked at (an
/// unreadable config, no cloud URL, an unusable data folder); everything else is in the report.
pub fn provision(
    opts: &ProvisionOptions,
    tech: &mut dyn Technician,
) -> anyhow::Result<ProvisionReport> {
    let started = Instant::now();
    let at = crate::time::now_rfc3339();
    let config_text = match std::fs::read_to_string(&opts.config_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::from(
            "# The kiosk's configuration, written by `bianmin provision` (see docs/kiosk.example.toml).\n",
        ),
        Err(e) => anyhow::bail!("cannot read {}: {e}", opts.config_path.display()),
    };
    let config = Config::parse(&config_text, &opts.config_path)
        .map_err(|e| anyhow::anyhow!("{e} (fix it, or move it aside and provision again)"))?;
    let url = opts
        .cloud
        .clone()
        .or_else(|| Some(config.cloud.url.clone()).filter(|u| !u.is_empty()))
        .context("no cloud URL: give --cloud URL (the street office's government cloud)")?;
    anyhow::ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--cloud must start with https:// (or http:// for a simulator): {url}"
    );

    let (store, db) = open_private_store(&opts.data_dir)?;
    let previous = previous_report(&opts.data_dir);
    let mut reused = Vec::new();

    // 1. Discovery.
    tech.step(ProvisionStep::Discover);
    let mut ports = discover::system_ports();
    for p in [&opts.printer_port, &opts.sam_port].into_iter().flatten() {
        if !ports.contains(p) {
            ports.push(p.clone());
        }
    }
    let mut bauds = vec![config.printer.baud];
    for b in [9600, 115_200] {
        if !bauds.contains(&b) {
            bauds.push(b);
        }
    }
    let findings = discover::probe_ports(&ports, &bauds, config.card_reader.sam_baud);
    let printer_found = pick_printer(&findings, opts.printer_port.as_deref());
    let sam_found = pick_sam(&findings, opts.sam_port.as_deref());
    let pcsc = if opts.pcsc {
        Some(bianmin_idcard::pcsc_reader::survey().map_err(|e| e.to_string()))
    } else {
        None
    };
    for f in &findings {
        match &f.answer {
            PortAnswer::Printer { baud, .. } => {
                tech.progress(&format!("  {}: printer (ESC/POS, {baud} baud)", f.port))
            }
            PortAnswer::Sam { baud, sam_id } => tech.progress(&format!(
                "  {}: GA/T 467 SAM reader ({baud} baud{})",
                f.port,
                sam_id
                    .as_ref()
                    .map(|i| format!(", SAM {i}"))
                    .unwrap_or_default()
            )),
            PortAnswer::Nothing(_) => {}
        }
    }
    if let Some(Ok(readers)) = &pcsc {
        for r in readers {
            tech.progress(&format!(
                "  PC/SC: {}{}",
                r.name,
                r.atr
                    .as_ref()
                    .map(|a| format!(" (card ATR {})", discover::hex(a)))
                    .unwrap_or_default()
            ));
        }
    }

    // 2. Enrolment.
    let cloud = CloudClient::new(&url, config.cloud.timeout())?;
    let runtime = crate::app::runtime()?;
    let (enrollment, enrolment_check) = match store.enrollment()? {
        Some(e) => {
            reused.push("enrolment".to_string());
            let check = Check::pass(
                Some(e.device_id.clone()),
                format!(
                    "already enrolled as {}: the stored enrolment is reused (the code is not sent again)",
                    e.device_id
                ),
            );
            (Some(e), check)
        }
        None => match &opts.code {
            None => (
                None,
                Check::fail(
                    None,
                    "this kiosk is not enrolled and no enrolment code was given",
                    "give --code CODE (the street office issues one per kiosk)",
                )
                .problem("enrol.no_code"),
            ),
            Some(code) => {
                if tech.confirm(&format!("用注册码 {code} 在 {url} 注册本机？ Enrol this kiosk at {url} with code {code}?")) {
                    tech.step(ProvisionStep::Enrol);
                    match runtime.block_on(crate::enrolment::enrol_with_code(
                        &cloud, &store, &config, code,
                    )) {
                        Ok(e) => {
                            let check = Check::pass(
                                Some(e.device_id.clone()),
                                format!("enrolled as {} ({})", e.device_id, e.site.hall_id),
                            );
                            (Some(e), check)
                        }
                        Err(err) => (
                            None,
                            Check::fail(None, err.to_string(), err.hint()).problem(err.problem()),
                        ),
                    }
                } else {
                    (
                        None,
                        Check::fail(None, "not enrolled: the technician said no", "run again and answer yes, or use --yes"),
                    )
                }
            }
        },
    };
    // The token is written now: keep the database owner-only (a new -wal file included).
    drop(store);
    let (store, db) = match enrollment {
        Some(_) => open_private_store(&opts.data_dir)?,
        None => (Store::open(&db)?, db),
    };
    if let Some(e) = &enrollment {
        cloud.set_device_token(&e.device_token);
    }

    // 3. The self-test.
    tech.step(ProvisionStep::Selftest);
    let kiosk = enrollment.as_ref().map(identity);
    let fonts = std::sync::Arc::new(crate::printing::preview_fonts());
    let mut printer = printer_found.as_ref().ok().map(|(port, baud)| {
        let mut cfg = config
            .printer
            .serial(port, Some(*baud))
            .expect("the flow control was validated with the config");
        cfg.job_timeout = Duration::from_secs(15);
        bianmin_printer::SerialPrinter::new(cfg, fonts.clone(), config.printer.encode_options())
    });
    let printed_before = previous.as_ref().is_some_and(|p| {
        p.devices.printer.passed()
            && p.devices.printer.found.as_deref()
                == printer_found.as_ref().ok().map(|(p, _)| p.as_str())
    });
    let sam_port = sam_found.as_ref().ok().map(|(p, _, _)| p.clone());
    let pcsc_names: Vec<(String, Option<String>)> = match &pcsc {
        Some(Ok(readers)) => readers
            .iter()
            .map(|r| (r.name.clone(), r.atr.as_deref().map(discover::hex)))
            .collect(),
        _ => Vec::new(),
    };
    let reader_names: Vec<String> = sam_port
        .iter()
        .cloned()
        .chain(pcsc_names.iter().map(|(n, _)| n.clone()))
        .collect();
    let cards_read_before = previous.as_ref().and_then(|p| {
        let names: Vec<&str> = p
            .devices
            .reader
            .readers
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        (p.devices.reader.check.passed()
            && !reader_names.is_empty()
            && reader_names.iter().all(|n| names.contains(&n.as_str())))
        .then(|| (p.devices.reader.readers.clone(), p.at.clone()))
    });
    let mut boxed: Vec<OwnedReader> = Vec::new();
    let mut reader_open_failures = Vec::new();
    if cards_read_before.is_none() {
        if let Ok((port, baud, sam_id)) = &sam_found {
            match bianmin_idcard::sam::SamReader::open(port, *baud) {
                Ok(r) => boxed.push(OwnedReader(
                    port.clone(),
                    "gat467-serial".into(),
                    None,
                    sam_id.clone(),
                    Box::new(r),
                )),
                Err(e) => reader_open_failures.push(format!("{port}: {e}")),
            }
        }
        let vendors = config
            .card_reader
            .vendor_profiles()
            .map_err(anyhow::Error::msg)?;
        for (name, atr) in &pcsc_names {
            boxed.push(OwnedReader(
                name.clone(),
                "pcsc".into(),
                atr.clone(),
                None,
                Box::new(
                    bianmin_idcard::pcsc_reader::PcscReader::with_vendor_profiles(vendors.clone()),
                ),
            ));
        }
    }
    let mut voice = crate::voice::Voice::new(
        config.voice.open_output(),
        crate::voice::VoicePack::load(&config.voice.pack_dirs()),
        config.voice.volume,
        config.voice.private_listening,
    );
    let targets = SelftestTargets {
        kiosk: kiosk.clone(),
        printer: printer.as_mut().map(|p| PrinterTarget::Device {
            printer: p,
            port: printer_found
                .as_ref()
                .map(|(p, _)| p.clone())
                .unwrap_or_default(),
            width_dots: config.printer.width_dots,
        }),
        print_test_page: !printed_before,
        readers: cards_read_before
            .is_none()
            .then(|| boxed.iter_mut().map(OwnedReader::under_test).collect()),
        card_wait: opts.card_wait,
        voice: Some(Ok(&mut voice)),
        display: true,
        clock: Some(&config.clock),
        data_dir: Some(&opts.data_dir),
        cloud: Some(CloudTarget {
            client: &cloud,
            url: &url,
            enrolled: enrollment.is_some(),
        }),
    };
    let report = runtime.block_on(selftest::run(targets));
    drop(boxed);
    let mut devices = report.devices;
    devices.enrolment = Some(enrolment_check.required(true));
    devices.audio.found = Some(audio_found(&config));

    // What discovery found (or did not) says more than "skipped".
    match &printer_found {
        Err(fail) => devices.printer = fail.clone(),
        Ok(_) if printed_before && devices.printer.passed() => {
            reused.push("printer test page".into());
            devices.printer.detail.push_str(&format!(
                "; its test page was printed in the previous run ({}), not again",
                previous.as_ref().map(|p| p.at.as_str()).unwrap_or("")
            ));
        }
        Ok(_) => {}
    }
    if let Some((readers, when)) = cards_read_before {
        reused.push("reader test cards".into());
        devices.reader = ReaderCheck {
            check: Check::pass(
                Some(reader_names.join(", ")),
                format!(
                    "found again; the test card was read on each in the previous run ({when}), not asked for again"
                ),
            )
            .required(true),
            readers: readers
                .into_iter()
                .filter(|r| reader_names.contains(&r.name))
                .collect(),
        };
    }
    reader_trouble(
        &mut devices.reader,
        &sam_found,
        &pcsc,
        &reader_open_failures,
    );

    // 4. The config, the outbox key, the slip.
    let mut settings = vec![Setting::Str("cloud", "url", url.clone())];
    if let Ok((port, baud)) = &printer_found {
        settings.push(Setting::Str("printer", "port", port.clone()));
        settings.push(Setting::Int("printer", "baud", *baud as i64));
    }
    if let Ok((port, baud, _)) = &sam_found {
        settings.push(Setting::Str("card_reader", "sam_port", port.clone()));
        settings.push(Setting::Int("card_reader", "sam_baud", *baud as i64));
    }
    if opts.pcsc {
        settings.push(Setting::Bool("card_reader", "pcsc", !pcsc_names.is_empty()));
    }
    if let Some((w, h)) = devices
        .display
        .size
        .as_deref()
        .and_then(selftest::mode_size)
    {
        settings.push(Setting::Str(
            "kiosk",
            "orientation",
            if h > w { "portrait" } else { "landscape" }.into(),
        ));
    }
    tech.step(ProvisionStep::WriteConfig);
    let config_written = if tech.confirm(&format!(
        "写入配置 {}？ Write the config {}?",
        opts.config_path.display(),
        opts.config_path.display()
    )) {
        let text = config_file::apply(&config_text, &settings).map_err(anyhow::Error::msg)?;
        config_file::write(&opts.config_path, &text).map_err(anyhow::Error::msg)?;
        tech.progress(&format!(
            "配置已写入 Config written: {}",
            opts.config_path.display()
        ));
        true
    } else {
        false
    };
    let key = opts.data_dir.join("outbox.key");
    crate::outbox::Outbox::prepare_key(&key)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
    }
    store.audit(
        "provisioned",
        if devices.ok() { "ok" } else { "incomplete" },
    )?;

    let ok = devices.ok() && config_written;
    let slip_printed = match (&mut printer, &enrollment) {
        (Some(p), Some(e)) if devices.printer.passed() => {
            let rows: Vec<(String, String, String)> = devices
                .iter()
                .into_iter()
                .map(|(name, c)| {
                    (
                        name.to_string(),
                        result_code(c.result).to_string(),
                        c.found.clone().unwrap_or_default(),
                    )
                })
                .collect();
            let rows: Vec<(&str, &str, &str)> = rows
                .iter()
                .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
                .collect();
            let slip = crate::printing::templates::provisioning_slip(
                &e.device_id,
                &e.site,
                &rows,
                ok,
                &at,
            );
            use bianmin_printer::ReceiptPrinter;
            match p.print(&slip) {
                Ok(()) => true,
                Err(err) => {
                    tech.progress(&format!("the provisioning slip did not print: {err}"));
                    false
                }
            }
        }
        _ => false,
    };

    let report = ProvisionReport {
        ok,
        device_id: enrollment.as_ref().map(|e| e.device_id.clone()),
        site: enrollment.as_ref().map(|e| e.site.clone()),
        config: opts.config_path.display().to_string(),
        config_written,
        elapsed_ms: started.elapsed().as_millis() as u64,
        at,
        resumed_from: previous.filter(|_| !reused.is_empty()).map(|p| p.at),
        reused,
        token_file: enrollment.as_ref().map(|_| db.display().to_string()),
        outbox_key: Some(key.display().to_string()),
        slip_printed,
        devices,
    };
    let json = serde_json::to_string_pretty(&report).expect("the report serialises");
    std::fs::write(opts.data_dir.join(REPORT_FILE), json)
        .with_context(|| format!("cannot keep the report in {}", opts.data_dir.display()))?;
    Ok(report)
}

/// A reader provisioning opened: (name, backend, ATR, SAM id, the reader).
struct OwnedReader(
    String,
    String,
    Option<String>,
    Option<String>,
    Box<dyn IdentityReader>,
);

impl OwnedReader {
    fn under_test(&mut self) -> ReaderUnderTest<'_> {
        ReaderUnderTest {
            name: self.0.clone(),
            backend: self.1.clone(),
            atr: self.2.clone(),
            sam_id: self.3.clone(),
            reader: self.4.as_mut(),
        }
    }
}

fn identity(e: &Enrollment) -> KioskIdentity {
    KioskIdentity {
        device_id: e.device_id.clone(),
        site: e.site.clone(),
    }
}

pub fn result_code(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Warn => "warn",
        Outcome::Fail => "fail",
        Outcome::Skipped => "skipped",
    }
}

fn audio_found(config: &Config) -> String {
    let cards = discover::sound_cards();
    if cards.is_empty() {
        format!("{} (no sound card listed)", config.voice.device)
    } else {
        format!("{} ({})", config.voice.device, cards.join("; "))
    }
}

/// The printer discovery chose (port, baud), or the failed check saying why there is none.
fn pick_printer(findings: &[PortFinding], named: Option<&str>) -> Result<(String, u32), Check> {
    let printer = |f: &PortFinding| match &f.answer {
        PortAnswer::Printer { baud, .. } => Some((f.port.clone(), *baud)),
        _ => None,
    };
    if let Some(port) = named {
        let f = findings
            .iter()
            .find(|f| f.port == port)
            .expect("named ports are probed");
        return printer(f).ok_or_else(|| {
            let (detail, hint, problem) = match &f.answer {
                PortAnswer::Sam { .. } => (
                    format!("{port} answered as a GA/T 467 SAM card reader, not a printer"),
                    "check which cable goes to which port (--printer-port, --sam-port)".to_string(),
                    "printer.wrong_port",
                ),
                PortAnswer::Nothing(why) => (
                    format!("the printer at {port} did not answer DLE EOT: {why}"),
                    "check the printer's power, its cable, and the baud rate (printer.baud)"
                        .to_string(),
                    "printer.no_answer",
                ),
                PortAnswer::Printer { .. } => unreachable!("a printer answer is a printer"),
            };
            Check::fail(Some(port.to_string()), detail, hint)
                .required(true)
                .problem(problem)
        });
    }
    findings.iter().find_map(printer).ok_or_else(|| {
        let probed: Vec<&str> = findings.iter().map(|f| f.port.as_str()).collect();
        Check::fail(
            None,
            if probed.is_empty() {
                "no serial port to look for a printer on (the system lists none)".to_string()
            } else {
                format!(
                    "no printer answered DLE EOT on any serial port (probed {})",
                    probed.join(", ")
                )
            },
            "check the printer's power and USB cable, then run again; name its port with --printer-port PATH (and printer.baud if it is not 9600/115200)",
        )
        .problem("printer.not_found")
        .required(true)
    })
}

type SamFound = Result<(String, u32, Option<String>), Option<String>>;

/// The SAM reader discovery chose (port, baud, SAM id); `Err(Some(why))` when a named port did
/// not answer as one, `Err(None)` when there is simply none.
fn pick_sam(findings: &[PortFinding], named: Option<&str>) -> SamFound {
    let sam = |f: &PortFinding| match &f.answer {
        PortAnswer::Sam { baud, sam_id } => Some((f.port.clone(), *baud, sam_id.clone())),
        _ => None,
    };
    match named {
        Some(port) => {
            let f = findings
                .iter()
                .find(|f| f.port == port)
                .expect("named ports are probed");
            sam(f).ok_or_else(|| {
                Some(match &f.answer {
                    PortAnswer::Printer { .. } => {
                        format!("{port} answered as a printer, not a SAM card reader")
                    }
                    PortAnswer::Nothing(why) => {
                        format!("no GA/T 467 SAM reader answered at {port}: {why}")
                    }
                    PortAnswer::Sam { .. } => unreachable!("a SAM answer is a SAM"),
                })
            })
        }
        None => findings.iter().find_map(sam).ok_or(None),
    }
}

/// Adds what discovery knows about missing readers to the reader check.
fn reader_trouble(
    reader: &mut ReaderCheck,
    sam: &SamFound,
    pcsc: &Option<Result<Vec<bianmin_idcard::pcsc_reader::ReaderSurvey>, String>>,
    open_failures: &[String],
) {
    let mut troubles: Vec<(String, String)> = Vec::new();
    if let Err(Some(why)) = sam {
        troubles.push((
            why.clone(),
            "check the SAM reader's power and cable, the port (--sam-port) and card_reader.sam_baud".into(),
        ));
    }
    for f in open_failures {
        troubles.push((
            format!("the SAM reader could not be opened again: {f}"),
            "check that no other program holds the port".into(),
        ));
    }
    if let Some(Err(e)) = pcsc {
        troubles.push((
            format!("PC/SC readers could not be listed: {e}"),
            "check that pcscd runs (systemctl status pcscd), or give --no-pcsc for a kiosk without one".into(),
        ));
    }
    if troubles.is_empty() {
        return;
    }
    let mut check = reader.check.clone();
    let detail = troubles.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
    let hint = troubles.iter().map(|t| t.1.clone()).collect::<Vec<_>>();
    if check.result == Outcome::Fail && reader.readers.is_empty() {
        // "No reader found" says less than why.
        check.detail = detail.join("; ");
        check.hint = Some(hint.join("; "));
    } else {
        check.result = Outcome::Fail;
        check.problem = Some("reader.trouble".into());
        check.detail = format!("{}; {}", check.detail, detail.join("; "));
        check.hint = Some(
            check
                .hint
                .into_iter()
                .chain(hint)
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    reader.check = check;
}

/// What `bianmin selftest` is asked for.
#[derive(Debug, Clone)]
pub struct SelftestOptions {
    pub card_wait: Duration,
    /// Print the test page (else the printer's status only).
    pub print: bool,
}

/// `bianmin selftest`: the self-test against the configured devices and the enrolled cloud.
pub fn selftest(
    config: &Config,
    data_dir: &Path,
    opts: &SelftestOptions,
) -> anyhow::Result<SelftestReport> {
    let db = data_dir.join("bianmin.db");
    let enrollment = if db.exists() {
        Store::open(&db)?.enrollment()?
    } else {
        None
    };
    let runtime = crate::app::runtime()?;
    let fonts = std::sync::Arc::new(crate::printing::preview_fonts());
    let port = config.printer.port.clone();
    let mut printer = (!port.is_empty())
        .then(|| {
            config
                .printer
                .serial(&port, None)
                .map_err(anyhow::Error::msg)
        })
        .transpose()?
        .map(|cfg| {
            bianmin_printer::SerialPrinter::new(cfg, fonts, config.printer.encode_options())
        });
    let mut boxed: Vec<OwnedReader> = Vec::new();
    let mut reader_troubles = Vec::new();
    let c = &config.card_reader;
    if !c.sam_port.is_empty() {
        let sam_id = bianmin_idcard::sam::SamReader::open_with(
            &c.sam_port,
            c.sam_baud,
            Duration::from_millis(500),
        )
        .and_then(|mut r| r.sam_id())
        .ok()
        .flatten();
        match bianmin_idcard::sam::SamReader::open(&c.sam_port, c.sam_baud) {
            Ok(r) => boxed.push(OwnedReader(
                c.sam_port.clone(),
                "gat467-serial".into(),
                None,
                sam_id,
                Box::new(r),
            )),
            Err(e) => reader_troubles.push(format!("{}: {e}", c.sam_port)),
        }
    }
    if c.pcsc {
        match bianmin_idcard::pcsc_reader::survey() {
            Ok(readers) => {
                let vendors = c.vendor_profiles().map_err(anyhow::Error::msg)?;
                for r in readers {
                    boxed.push(OwnedReader(
                        r.name,
                        "pcsc".into(),
                        r.atr.as_deref().map(discover::hex),
                        None,
                        Box::new(
                            bianmin_idcard::pcsc_reader::PcscReader::with_vendor_profiles(
                                vendors.clone(),
                            ),
                        ),
                    ));
                }
            }
            Err(e) => reader_troubles.push(format!("PC/SC: {e}")),
        }
    }
    let cloud = CloudClient::new(&config.cloud.url, config.cloud.timeout())?;
    if let Some(e) = &enrollment {
        cloud.set_device_token(&e.device_token);
    }
    let mut voice = crate::voice::Voice::new(
        config.voice.open_output(),
        crate::voice::VoicePack::load(&config.voice.pack_dirs()),
        config.voice.volume,
        config.voice.private_listening,
    );
    let targets = SelftestTargets {
        kiosk: enrollment.as_ref().map(identity),
        printer: printer.as_mut().map(|p| PrinterTarget::Device {
            printer: p,
            port: port.clone(),
            width_dots: config.printer.width_dots,
        }),
        print_test_page: opts.print,
        readers: Some(boxed.iter_mut().map(OwnedReader::under_test).collect()),
        card_wait: opts.card_wait,
        voice: Some(Ok(&mut voice)),
        display: true,
        clock: Some(&config.clock),
        data_dir: Some(data_dir),
        cloud: (enrollment.is_some() && !config.cloud.url.is_empty()).then(|| CloudTarget {
            client: &cloud,
            url: &config.cloud.url,
            enrolled: true,
        }),
    };
    let mut report = runtime.block_on(selftest::run(targets));
    drop(boxed);
    let d = &mut report.devices;
    d.audio.found = Some(audio_found(config));
    if printer.is_none() {
        d.printer = Check::fail(
            None,
            "no printer is configured (printer.port)",
            "run bianmin provision, or set printer.port in the config",
        )
        .required(true);
    }
    if enrollment.is_none() || config.cloud.url.is_empty() {
        d.cloud = CloudCheck {
            check: Check::fail(
                (!config.cloud.url.is_empty()).then(|| config.cloud.url.clone()),
                if enrollment.is_none() {
                    "this kiosk is not enrolled (no device token in the data folder)"
                } else {
                    "no cloud is configured (cloud.url)"
                },
                "run bianmin provision with the kiosk's enrolment code",
            )
            .required(true),
            latency_ms: None,
        };
    }
    if !reader_troubles.is_empty() {
        let r = &mut d.reader;
        r.check.result = Outcome::Fail;
        r.check.detail = format!("{}; {}", r.check.detail, reader_troubles.join("; "));
        r.check.hint.get_or_insert_with(|| {
            "check the reader's cable and power, and that pcscd runs".into()
        });
    }
    report.ok = report.devices.ok();
    Ok(report)
}

/// The reader entry of a test card read (for the technician's summary lines).
pub fn describe_reader(r: &ReaderFound) -> String {
    let mut s = format!("{} [{}]", r.name, r.backend);
    if let Some(id) = &r.sam_id {
        s.push_str(&format!(" SAM {id}"));
    }
    if let Some(atr) = &r.atr {
        s.push_str(&format!(" ATR {atr}"));
    }
    if let Some(c) = &r.card {
        s.push_str(&format!(
            " card {} {}{}",
            c.card_type,
            c.id_masked,
            if c.expired { " (expired)" } else { "" }
        ));
    }
    s
}
