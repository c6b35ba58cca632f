//! Assembling a kiosk: storage, the enrolled cloud client, the print path, the outbox and its
//! worker, the card readers, and the kiosk task on a tokio runtime. [`App::start`] takes the
//! devices it is given and knows nothing of simulators: `bianmin kiosk` hands it the real
//! backends from the config ([`Devices::from_config`]); the demo (`crate::demo`) hands it
//! simulated ones and an embedded cloud.

use crate::cloud::api::Catalog;
use crate::cloud::{CloudClient, CloudError};
use crate::config::Config;
use crate::kiosk::{Command, Kiosk, KioskLog, KioskSetup, PushView};
use crate::printing::{PrintService, Printout};
use crate::services::{CardWatch, Registry};
use crate::session::Timing;
use crate::storage::{Enrollment, Store};
use anyhow::Context;
use bianmin_idcard::{IdentityReader, ReaderEvent};
use bianmin_printer::{PreviewFonts, ReceiptPrinter};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The hardware a kiosk runs on.
pub struct Devices {
    pub printer: Box<dyn ReceiptPrinter>,
    /// Keep a PNG of every receipt here (the simulated printer's "paper"); `None` on real paper,
    /// so a kiosk does not pile up images of residents' documents.
    pub receipt_pngs: Option<PathBuf>,
    pub readers: Vec<Box<dyn IdentityReader>>,
    /// The font chain the receipt preview draws with (shared with a raster-printing backend).
    pub fonts: Arc<PreviewFonts>,
    /// The speaker (or why there is none: the kiosk then shows captions only).
    pub speaker: crate::voice::Output,
}

impl Devices {
    /// The real backends the config names: the serial ESC/POS printer, PC/SC readers and a
    /// GA/T 467 SAM reader. `printer_port` overrides `printer.port`.
    pub fn from_config(config: &Config, printer_port: Option<&str>) -> anyhow::Result<Devices> {
        let fonts = Arc::new(crate::printing::preview_fonts());
        let port = printer_port
            .map(str::to_string)
            .or_else(|| Some(config.printer.port.clone()).filter(|p| !p.is_empty()))
            .context(
                "no receipt printer is configured: set printer.port in the config (e.g. /dev/bianmin-printer)",
            )?;
        let cfg = config
            .printer
            .serial(&port, None)
            .map_err(anyhow::Error::msg)?;
        let printer = Box::new(bianmin_printer::SerialPrinter::new(
            cfg,
            fonts.clone(),
            config.printer.encode_options(),
        ));
        let readers = real_readers(config)?;
        if readers.is_empty() {
            // Said for a real terminal only: the demo brings its own on-screen reader.
            tracing::warn!(
                "no card reader configured (card_reader.pcsc, card_reader.sam_port): only services that need no card"
            );
        }
        Ok(Devices {
            printer,
            receipt_pngs: None,
            readers,
            fonts,
            speaker: config.voice.open_output(),
        })
    }
}

/// The card readers the config names (none is an honest answer: a kiosk then serves only what
/// needs no card, and `Devices::from_config` says so in the log).
pub fn real_readers(config: &Config) -> anyhow::Result<Vec<Box<dyn IdentityReader>>> {
    let mut readers: Vec<Box<dyn IdentityReader>> = Vec::new();
    let c = &config.card_reader;
    if c.pcsc {
        let vendors = c.vendor_profiles().map_err(anyhow::Error::msg)?;
        readers.push(Box::new(
            bianmin_idcard::pcsc_reader::PcscReader::with_vendor_profiles(vendors),
        ));
    }
    if !c.sam_port.is_empty() {
        match bianmin_idcard::sam::SamReader::open(&c.sam_port, c.sam_baud) {
            Ok(r) => readers.push(Box::new(r)),
            // The reader may be plugged in later; the kiosk still serves what needs no card.
            Err(e) => tracing::error!(port = %c.sam_port, error = %e, "SAM reader not started"),
        }
    }
    Ok(readers)
}

/// How the kiosk reaches the cloud.
pub struct CloudSetup {
    pub url: String,
    /// Enrol with this code when the data folder holds no enrolment (the demo and scenarios);
    /// `None` on a real kiosk, which must have been provisioned.
    pub enrollment_code: Option<String>,
}

pub struct AppOptions {
    pub data_dir: PathBuf,
    pub config: Config,
    /// The file `config` came from (the cloud's `reload_config` reads it again).
    pub config_file: Option<PathBuf>,
    pub landscape: bool,
    pub cloud: CloudSetup,
    pub registry: Registry,
}

// The printouts, client, log and store are read by scenarios (feature `sim`) only.
#[cfg_attr(not(feature = "sim"), allow(dead_code))]
pub struct App {
    /// Held for the kiosk's life: dropping it stops every task.
    _runtime: tokio::runtime::Runtime,
    pub tx: mpsc::UnboundedSender<Command>,
    pub printouts: Arc<Mutex<Vec<Printout>>>,
    pub cloud: CloudClient,
    pub log: Arc<Mutex<KioskLog>>,
    pub store: Arc<Mutex<Store>>,
}

/// The I/O runtime every assembly uses.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("bianmin-io")
        .build()
        .context("cannot start the I/O runtime")
}

impl App {
    /// Starts everything but the UI on `runtime`; `push` receives each new view.
    pub fn start(
        runtime: tokio::runtime::Runtime,
        opts: AppOptions,
        devices: Devices,
        push: PushView,
    ) -> anyhow::Result<App> {
        std::fs::create_dir_all(&opts.data_dir)
            .with_context(|| format!("cannot create {}", opts.data_dir.display()))?;
        let store = Store::open_in(&opts.data_dir).context("cannot open the kiosk database")?;

        let cloud = CloudClient::new(&opts.cloud.url, opts.config.cloud.timeout())?;
        let (enrollment, catalog) = runtime.block_on(enroll(
            &cloud,
            &store,
            &opts.config,
            opts.cloud.enrollment_code.as_deref(),
        ))?;
        cloud.set_device_token(&enrollment.device_token);

        let store = Arc::new(Mutex::new(store));
        let health = crate::health::HealthBoard::new(&opts.data_dir);
        let mut print = PrintService::new(
            devices.printer,
            store.clone(),
            opts.config.printer.width_dots,
            devices.fonts,
            devices.receipt_pngs,
        );
        print.report_to(health.clone());
        let printouts = print.printouts();
        // Jobs a previous run left in doubt go out now, once, marked 补打.
        let reprinted = print.recover();
        if reprinted > 0 {
            tracing::info!(reprinted, "jobs in doubt reprinted at start-up");
        }

        // Residents' submissions: sealed in the outbox, delivered by a worker that keeps trying.
        let outbox = Arc::new(crate::outbox::Outbox::open(
            store.clone(),
            &opts.data_dir.join("outbox.key"),
        )?);
        // Tickets a previous run could not deliver while their resident waited are abandoned.
        outbox.abandon_online_only()?;
        {
            let (outbox, cloud, store) = (outbox.clone(), cloud.clone(), store.clone());
            let site = enrollment.site.clone();
            let upkeep: Vec<_> = opts.registry.specs().filter_map(|s| s.upkeep).collect();
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(3));
                let mut starting = true;
                loop {
                    tick.tick().await;
                    // Services' background work (settling payment orders whose resident left)
                    // reads what the last pass delivered.
                    let u = crate::services::Upkeep {
                        cloud: &cloud,
                        store: &store,
                        outbox: &outbox,
                        site: &site,
                        starting,
                    };
                    for run in &upkeep {
                        run(&u).await;
                    }
                    starting = false;
                    match outbox.deliver_due(&cloud).await {
                        Ok(p) if p.delivered + p.refused > 0 => tracing::info!(
                            delivered = p.delivered,
                            refused = p.refused,
                            "outbox delivered"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "outbox delivery pass failed"),
                    }
                }
            });
        }

        let (tx, rx) = mpsc::unbounded_channel();
        let kiosk = Kiosk::new(KioskSetup {
            timing: Timing {
                page_timeout: Duration::from_secs(opts.config.kiosk.page_timeout_s),
                elderly_page_timeout: Duration::from_secs(opts.config.kiosk.elderly_page_timeout_s),
                warning: Duration::from_secs(opts.config.kiosk.warning_s),
            },
            default_lang: opts.config.kiosk.language,
            landscape: opts.landscape,
            cloud: cloud.clone(),
            store: store.clone(),
            site: enrollment.site.clone(),
            printer: print,
            outbox,
            registry: opts.registry,
            catalog,
            push,
            voice: crate::voice::Voice::new(
                devices.speaker,
                crate::voice::VoicePack::load(&opts.config.voice.pack_dirs()),
                opts.config.voice.volume,
                opts.config.voice.private_listening,
            ),
            health: health.clone(),
            config: opts.config.clone(),
            config_file: opts.config_file.clone(),
            updates: crate::updates::Updates::new(
                &opts.config.update,
                &opts.data_dir,
                &enrollment.device_id,
                Arc::new(restart_app),
            ),
        });
        let log = kiosk.log();
        for reader in devices.readers {
            spawn_reader(reader, tx.clone(), kiosk.card_watch(), health.clone());
        }
        runtime.spawn(kiosk.run(rx));
        runtime.spawn(heartbeat(&cloud, &store, &health, &opts.config, &tx).run());
        if let Some(addr) = opts
            .config
            .health
            .metrics_addr()
            .map_err(anyhow::Error::msg)?
        {
            let (board, store, cloud) = (health.clone(), store.clone(), cloud.clone());
            let text: crate::health::metrics::Exposition = Arc::new(move || {
                let snapshot = board.snapshot(&store.lock().expect("store lock"), cloud.link());
                board.metrics.encode(&snapshot)
            });
            match runtime.block_on(crate::health::MetricsServer::start(addr, text)) {
                Ok(m) => tracing::info!(addr = %m.addr, "metrics on http://{}/metrics", m.addr),
                // A kiosk serves residents without its metrics.
                Err(e) => tracing::error!(%addr, error = %e, "metrics endpoint not started"),
            }
        }
        Ok(App {
            _runtime: runtime,
            tx,
            printouts,
            cloud,
            log,
            store,
        })
    }
}

/// The heartbeat, carrying the cloud's commands out through the kiosk task.
fn heartbeat(
    cloud: &CloudClient,
    store: &Arc<Mutex<Store>>,
    health: &crate::health::HealthBoard,
    config: &Config,
    tx: &mpsc::UnboundedSender<Command>,
) -> crate::health::heartbeat::Heartbeat {
    use tokio::sync::oneshot;
    let (carry_tx, refresh_tx) = (tx.clone(), tx.clone());
    crate::health::heartbeat::Heartbeat {
        cloud: cloud.clone(),
        store: store.clone(),
        board: health.clone(),
        interval: config.health.interval(),
        carry_out: Arc::new(move |command| {
            let (reply, answer) = oneshot::channel();
            let _ = carry_tx.send(Command::Device(command, reply));
            answer
        }),
        refresh: Arc::new(move || {
            let (done, answer) = oneshot::channel();
            let _ = refresh_tx.send(Command::RefreshHealth(done));
            answer
        }),
        // Leaving the event loop ends the process; systemd starts it again (Restart=always).
        restart: Arc::new(restart_app),
    }
}

/// Ends the UI's event loop, and with it the app; systemd starts it again.
fn restart_app() {
    let _ = slint::invoke_from_event_loop(|| {
        let _ = slint::quit_event_loop();
    });
}

/// Each reader runs on its own thread, blocking in its native wait, and forwards events.
/// A removal is counted before it is queued, so a service waiting on the cloud knows at once.
fn spawn_reader(
    mut reader: Box<dyn IdentityReader>,
    tx: mpsc::UnboundedSender<Command>,
    card: CardWatch,
    health: crate::health::HealthBoard,
) {
    std::thread::Builder::new()
        .name(format!("reader-{}", reader.backend()))
        .spawn(move || loop {
            if let Some(ev) = reader.next_event(Duration::from_millis(200)) {
                if matches!(ev, ReaderEvent::CardRemoved { .. }) {
                    card.removed();
                }
                health.reader_event(&ev);
                if tx.send(Command::Reader(ev)).is_err() {
                    return;
                }
            }
        })
        .expect("reader thread");
}

/// Uses the stored enrolment, or enrols with `code`. A stored token the cloud no longer knows
/// (e.g. the demo simulator's database was reset) is replaced when a code is at hand.
async fn enroll(
    cloud: &CloudClient,
    store: &Store,
    config: &Config,
    code: Option<&str>,
) -> anyhow::Result<(Enrollment, Option<Catalog>)> {
    if let Some(e) = store.enrollment()? {
        cloud.set_device_token(&e.device_token);
        // The catalogue doubles as the token check; the kiosk keeps it rather than asking twice.
        match cloud.catalog().await {
            Err(CloudError::Problem(p)) if p.status == 401 && code.is_some() => {
                tracing::warn!("stored device token refused; enrolling again");
            }
            Ok(catalog) => return Ok((e, Some(catalog))),
            Err(_) => return Ok((e, None)),
        }
    }
    let code = code.context(
        "this kiosk is not enrolled: give --enrollment-code CODE (or set cloud.enrollment_code)",
    )?;
    let e = crate::enrolment::enrol_with_code(cloud, store, config, code).await?;
    Ok((e, None))
}
