//! Assembling a kiosk: storage, the cloud (the embedded simulator when no URL is given),
//! enrolment, the drivers (simulators in the demo), and the kiosk task on a tokio runtime.
//! The demo, scenarios and screenshots all start here, so they run the same code.

use crate::cloud::api::{Catalog, EnrollRequest};
use crate::cloud::{CloudClient, CloudError};
use crate::cloud_sim::{CloudSim, SimOptions};
use crate::config::Config;
use crate::kiosk::{Command, Kiosk, KioskLog, KioskSetup, PushView};
use crate::printing::{PrintService, Printout};
use crate::session::Timing;
use crate::storage::{Enrollment, Store};
use anyhow::Context;
use bianmin_idcard::simulator::{demo_residents, SimulatedReader, SimulatorHandle};
use bianmin_idcard::{Identity, IdentityReader};
use bianmin_printer::SimulatedPrinter;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The enrollment code of the embedded simulator (demo only).
pub const DEMO_ENROLLMENT_CODE: &str = "DEMO-2026";

pub struct AppOptions {
    pub data_dir: PathBuf,
    pub config: Config,
    /// A cloud URL; `None` starts the embedded simulator.
    pub cloud_url: Option<String>,
    pub enrollment_code: Option<String>,
    pub landscape: bool,
    /// How fast the embedded simulator's back office moves cases along.
    pub case_step: Duration,
    /// A real ESC/POS printer on this serial port (else `printer.port` in the config, else the
    /// simulated printer).
    pub printer_port: Option<String>,
}

pub struct App {
    pub runtime: tokio::runtime::Runtime,
    pub tx: mpsc::UnboundedSender<Command>,
    pub sim: Option<Arc<CloudSim>>,
    pub reader: SimulatorHandle,
    pub residents: Vec<Identity>,
    pub printer: SimulatedPrinter,
    pub printouts: Arc<Mutex<Vec<Printout>>>,
    pub cloud: CloudClient,
    pub log: Arc<Mutex<KioskLog>>,
    pub store: Arc<Mutex<Store>>,
}

impl App {
    /// Starts everything but the UI; `push` receives each new view.
    pub fn start(opts: AppOptions, push: PushView) -> anyhow::Result<App> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("bianmin-io")
            .build()
            .context("cannot start the I/O runtime")?;
        std::fs::create_dir_all(&opts.data_dir)
            .with_context(|| format!("cannot create {}", opts.data_dir.display()))?;
        let store = Store::open_in(&opts.data_dir).context("cannot open the kiosk database")?;

        let (sim, url, code) = match &opts.cloud_url {
            Some(url) => (
                None,
                url.clone(),
                opts.enrollment_code.clone().or_else(|| {
                    Some(opts.config.cloud.enrollment_code.clone()).filter(|c| !c.is_empty())
                }),
            ),
            None => {
                let sim_opts = SimOptions {
                    db: opts.data_dir.join("cloud-sim.db"),
                    enrollment_code: DEMO_ENROLLMENT_CODE.into(),
                    case_step: opts.case_step,
                };
                let sim = runtime.block_on(CloudSim::start(
                    "127.0.0.1:0".parse().expect("addr"),
                    sim_opts,
                ))?;
                let url = sim.url();
                (
                    Some(Arc::new(sim)),
                    url,
                    Some(DEMO_ENROLLMENT_CODE.to_string()),
                )
            }
        };
        let cloud = CloudClient::new(&url, opts.config.cloud.timeout())?;
        let (enrollment, catalog) =
            runtime.block_on(enroll(&cloud, &store, &opts.config, code.as_deref()))?;
        cloud.set_device_token(&enrollment.device_token);

        let store = Arc::new(Mutex::new(store));
        let sim_printer = SimulatedPrinter::new();
        let port = opts
            .printer_port
            .clone()
            .or_else(|| Some(opts.config.printer.port.clone()).filter(|p| !p.is_empty()));
        // One font chain for the preview and a printer that needs raster lines.
        let fonts = Arc::new(crate::printing::preview_fonts());
        let device: Box<dyn bianmin_printer::ReceiptPrinter> = match &port {
            Some(port) => {
                let cfg = opts
                    .config
                    .printer
                    .serial(port, None)
                    .map_err(anyhow::Error::msg)?;
                Box::new(bianmin_printer::SerialPrinter::new(
                    cfg,
                    fonts.clone(),
                    opts.config.printer.encode_options(),
                ))
            }
            None => Box::new(sim_printer.clone()),
        };
        // The simulated printer's paper is its PNGs; a real printer's paper is paper.
        let previews = port.is_none().then(|| opts.data_dir.join("receipts"));
        let mut print = PrintService::new(
            device,
            store.clone(),
            opts.config.printer.width_dots,
            fonts,
            previews,
        );
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
            let (outbox, cloud) = (outbox.clone(), cloud.clone());
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(3));
                loop {
                    tick.tick().await;
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
        let (reader, handle) = SimulatedReader::new();
        spawn_reader(Box::new(reader), tx.clone());
        // Real readers, as configured: PC/SC (pcscd) and a GA/T 467 SAM reader on a serial port.
        if opts.config.card_reader.pcsc {
            let vendors = opts
                .config
                .card_reader
                .vendor_profiles()
                .map_err(anyhow::Error::msg)?;
            spawn_reader(
                Box::new(bianmin_idcard::pcsc_reader::PcscReader::with_vendor_profiles(vendors)),
                tx.clone(),
            );
        }
        let sam = &opts.config.card_reader;
        if !sam.sam_port.is_empty() {
            match bianmin_idcard::sam::SamReader::open(&sam.sam_port, sam.sam_baud) {
                Ok(r) => spawn_reader(Box::new(r), tx.clone()),
                Err(e) => {
                    tracing::error!(port = %sam.sam_port, error = %e, "SAM reader not started")
                }
            }
        }

        let residents = demo_residents();
        let kiosk = Kiosk::new(KioskSetup {
            timing: Timing {
                page_timeout: Duration::from_secs(opts.config.kiosk.page_timeout_s),
                warning: Duration::from_secs(opts.config.kiosk.warning_s),
            },
            default_lang: opts.config.kiosk.language,
            landscape: opts.landscape,
            cloud: cloud.clone(),
            store: store.clone(),
            site: enrollment.site.clone(),
            printer: print,
            outbox,
            catalog,
            demo: Some((handle.clone(), residents.clone())),
            push,
        });
        let log = kiosk.log();
        runtime.spawn(kiosk.run(rx));
        Ok(App {
            runtime,
            tx,
            sim,
            reader: handle,
            residents,
            printer: sim_printer,
            printouts,
            cloud,
            log,
            store,
        })
    }
}

/// Each reader runs on its own thread, blocking in its native wait, and forwards events.
fn spawn_reader(mut reader: Box<dyn IdentityReader>, tx: mpsc::UnboundedSender<Command>) {
    std::thread::Builder::new()
        .name(format!("reader-{}", reader.backend()))
        .spawn(move || loop {
            if let Some(ev) = reader.next_event(Duration::from_millis(200)) {
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
    let resp = cloud
        .enroll(&EnrollRequest {
            enrollment_code: code.into(),
            serial: config.kiosk.serial.clone(),
            model: config.kiosk.model.clone(),
        })
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "enrolment failed: {}",
                crate::kiosk::describe_startup_error(&e)
            )
        })?;
    let e = Enrollment {
        device_id: resp.device_id,
        device_token: resp.device_token,
        site: resp.site,
    };
    store.save_enrollment(&e)?;
    store.audit("enrolled", &e.device_id)?;
    tracing::info!(device_id = %e.device_id, hall = %e.site.hall_id, "kiosk enrolled");
    Ok((e, None))
}
