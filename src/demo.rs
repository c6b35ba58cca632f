//! The demo: the kiosk on simulated hardware — the embedded cloud simulator (unless a cloud URL
//! is given), the on-screen demo card reader, the simulated printer (unless a serial port is
//! given) — assembled on top of the same [`App`] a real kiosk runs. Compiled only with the
//! `sim` feature; `bianmin kiosk` never reaches this module.

use crate::app::{App, AppOptions, CloudSetup, Devices};
use crate::cloud_sim::{CloudSim, SimOptions};
use crate::config::Config;
use crate::kiosk::PushView;
use crate::services::Registry;
use bianmin_idcard::simulator::{demo_residents, SimulatedReader, SimulatorHandle};
use bianmin_idcard::Identity;
use bianmin_printer::SimulatedPrinter;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The enrollment code of the embedded simulator (demo only).
pub const DEMO_ENROLLMENT_CODE: &str = "DEMO-2026";

pub struct DemoOptions {
    pub data_dir: PathBuf,
    pub config: Config,
    /// The file `config` came from, if any.
    pub config_file: Option<PathBuf>,
    /// A cloud URL; `None` starts the embedded simulator.
    pub cloud_url: Option<String>,
    pub enrollment_code: Option<String>,
    pub landscape: bool,
    /// How fast the embedded simulator's back office moves cases along.
    pub case_step: Duration,
    /// A real ESC/POS printer on this serial port (else `printer.port` in the config, else the
    /// simulated printer).
    pub printer_port: Option<String>,
    pub registry: Registry,
    /// The speaker; `None`: the one the config names (the demo window speaks aloud).
    pub speaker: Option<crate::voice::Output>,
}

/// A running demo: the kiosk, and the simulators a scenario or the demo panel drives.
pub struct Demo {
    pub app: App,
    pub sim: Option<Arc<CloudSim>>,
    pub reader: SimulatorHandle,
    pub residents: Vec<Identity>,
    pub printer: SimulatedPrinter,
    /// The cloud the kiosk talks to (the embedded simulator's, or the one given).
    pub cloud_url: String,
}

impl Demo {
    pub fn start(opts: DemoOptions, push: PushView) -> anyhow::Result<Demo> {
        let runtime = crate::app::runtime()?;
        std::fs::create_dir_all(&opts.data_dir)?;
        let (sim, cloud) = match &opts.cloud_url {
            Some(url) => (
                None,
                CloudSetup {
                    url: url.clone(),
                    enrollment_code: opts.enrollment_code.clone().or_else(|| {
                        Some(opts.config.cloud.enrollment_code.clone()).filter(|c| !c.is_empty())
                    }),
                },
            ),
            None => {
                let sim = runtime.block_on(CloudSim::start(
                    "127.0.0.1:0".parse().expect("addr"),
                    SimOptions {
                        db: opts.data_dir.join("cloud-sim.db"),
                        enrollment_codes: vec![DEMO_ENROLLMENT_CODE.into()],
                        case_step: opts.case_step,
                        payment_ttl: SimOptions::DEFAULT_PAYMENT_TTL,
                    },
                ))?;
                let url = sim.url();
                // Codes are single-use and the simulator's database outlives a wiped kiosk
                // folder (and the other way round): the embedded simulator issues the demo kiosk
                // a fresh code, used only when the folder holds no enrolment the simulator knows.
                let code = sim.issue_enrollment_code();
                (
                    Some(Arc::new(sim)),
                    CloudSetup {
                        url,
                        enrollment_code: Some(code),
                    },
                )
            }
        };

        let sim_printer = SimulatedPrinter::new();
        let port = opts
            .printer_port
            .clone()
            .or_else(|| Some(opts.config.printer.port.clone()).filter(|p| !p.is_empty()));
        let speaker = opts
            .speaker
            .clone()
            .unwrap_or_else(|| opts.config.voice.open_output());
        let mut devices = match &port {
            Some(port) => Devices::from_config(&opts.config, Some(port))?,
            None => Devices {
                printer: Box::new(sim_printer.clone()),
                // The simulated printer's paper is its PNGs.
                receipt_pngs: Some(opts.data_dir.join("receipts")),
                readers: crate::app::real_readers(&opts.config)?,
                fonts: Arc::new(crate::printing::preview_fonts()),
                speaker: speaker.clone(),
            },
        };
        devices.speaker = speaker;
        // The on-screen demo reader, beside any real reader the config names.
        let (reader, handle) = SimulatedReader::new();
        devices.readers.insert(0, Box::new(reader));

        let cloud_url = cloud.url.clone();
        let app = App::start(
            runtime,
            AppOptions {
                data_dir: opts.data_dir,
                config: opts.config,
                config_file: opts.config_file,
                landscape: opts.landscape,
                cloud,
                registry: opts.registry,
            },
            devices,
            push,
        )?;
        Ok(Demo {
            app,
            sim,
            reader: handle,
            residents: demo_residents(),
            printer: sim_printer,
            cloud_url,
        })
    }
}

/// Calls one of the simulator's control routes (`/_sim/…`, outside the government contract):
/// the resident's phone paying a QR, a bill paid elsewhere. Blocking, on a thread of its own, so
/// the UI thread and the kiosk's runtime never wait on it. Answers the body.
pub fn sim_control(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    std::thread::spawn(move || -> anyhow::Result<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let r = reqwest::Client::new()
                .request(method, &url)
                .json(&body)
                .timeout(Duration::from_secs(5))
                .send()
                .await?;
            let status = r.status();
            let text = r.text().await?;
            anyhow::ensure!(status.is_success(), "{url}: {status} {text}");
            Ok(text)
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("simulator control call panicked"))?
}

/// The resident's phone pays order `payment_id` (demo panel, scenarios).
pub fn phone_pays(base: &str, payment_id: &str, channel: &str) -> anyhow::Result<()> {
    sim_control(
        base,
        reqwest::Method::POST,
        &format!("/_sim/payments/{payment_id}/pay"),
        serde_json::json!({ "channel": channel }),
    )
    .map(|_| ())
}
