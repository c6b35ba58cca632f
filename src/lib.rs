//! Bianmin (便民): self-service kiosk software for community service centres.
//!
//! The shape (see ARCHITECTURE.md): Slint owns the main thread; a tokio runtime runs all I/O;
//! the [`kiosk`] task owns the [`session`] engine and the [`services`], talks to the [`cloud`],
//! [`storage`] and the drivers, and pushes a [`view::ViewState`] to the UI through the
//! [`ui_bridge`]. The UI only raises callbacks on its adapter globals.

mod app;
mod card_cli;
pub mod cli;
pub mod cloud;
#[cfg(feature = "sim")]
pub mod cloud_sim;
pub mod config;
#[cfg(feature = "sim")]
mod demo;
pub mod enrolment;
pub mod health;
mod kiosk;
pub mod lang;
pub mod outbox;
mod outbox_cli;
pub mod pinyin;
mod printer_cli;
pub mod printing;
pub mod privacy;
pub mod provision;
mod provision_cli;
#[cfg(feature = "sim")]
pub mod scenario;
pub mod selftest;
pub mod services;
pub mod session;
pub mod storage;
pub mod technician;
pub mod time;
mod ui_bridge;
mod update_cli;
pub mod updates;
pub mod version;
pub mod view;
pub mod voice;
mod voice_cli;

pub use lang::Lang;

use slint::ComponentHandle;

/// `bianmin kiosk`: the kiosk on a real terminal — real backends from the config only, the
/// cloud the config names, the enrolment provisioning left in the data folder.
pub fn kiosk_main(
    config: config::Config,
    config_file: Option<std::path::PathBuf>,
    data_dir: std::path::PathBuf,
) -> anyhow::Result<()> {
    let config_name = match &config_file {
        Some(p) => format!("cloud.url in {}", p.display()),
        None => format!("there is no {}", config::KIOSK_CONFIG),
    };
    if config.cloud.url.is_empty() {
        anyhow::bail!(
            "no government cloud is configured ({config_name}). A kiosk is provisioned \
             by a technician with its enrolment code before it serves residents; to try the software \
             without a cloud, run `bianmin demo`"
        );
    }
    // Only look: a kiosk that was never provisioned gets no database made for it here.
    let db = data_dir.join("bianmin.db");
    let enrolled = db.exists()
        && storage::Store::open(&db)
            .map_err(anyhow::Error::from)
            .and_then(|s| Ok(s.enrollment()?))
            .map_err(|e| anyhow::anyhow!("cannot read the kiosk database {}: {e}", db.display()))?
            .is_some();
    if !enrolled {
        anyhow::bail!(
            "this kiosk is not enrolled: there is no device token in {}. A technician provisions \
             it with its enrolment code before it serves residents (see docs/kiosk.md)",
            data_dir.display()
        );
    }
    // Every configuration problem is told before a window opens.
    let devices = app::Devices::from_config(&config, None)?;
    need_display()?;
    let landscape = config.kiosk.orientation == config::Orientation::Landscape;
    let fullscreen = true;
    let started = std::time::Instant::now();
    let ui = ui_bridge::AppWindow::new()?;
    let app = app::App::start(
        app::runtime()?,
        app::AppOptions {
            data_dir: data_dir.clone(),
            cloud: app::CloudSetup {
                url: config.cloud.url.clone(),
                enrollment_code: None,
            },
            config,
            config_file,
            landscape,
            registry: services::Registry::standard(),
        },
        devices,
        ui_bridge::pusher(&ui),
    )?;
    ui_bridge::wire(&ui, app.tx.clone());
    run_window(&ui, landscape, fullscreen, started, "kiosk ready")?;
    drop(app);
    Ok(())
}

/// How the demo shows itself.
#[cfg(feature = "sim")]
pub struct DemoWindow {
    pub landscape: bool,
    pub fullscreen: bool,
    /// Off screen (Slint's testing backend with the software renderer): no display needed.
    pub headless: bool,
}

/// `bianmin demo`: the kiosk in a window, on simulated hardware and the embedded cloud.
#[cfg(feature = "sim")]
pub fn demo_main(
    config: config::Config,
    config_file: Option<std::path::PathBuf>,
    data_dir: std::path::PathBuf,
    window: DemoWindow,
    printer_port: Option<String>,
) -> anyhow::Result<()> {
    if window.headless {
        ui_bridge::headless::init()?;
    } else {
        need_display()?;
    }
    let landscape = window.landscape || config.kiosk.orientation == config::Orientation::Landscape;
    let fullscreen = !window.headless && (window.fullscreen || config.kiosk.fullscreen);
    let started = std::time::Instant::now();
    let ui = ui_bridge::AppWindow::new()?;
    if window.headless {
        let (w, h) = if landscape {
            (1920, 1080)
        } else {
            (1080, 1920)
        };
        ui.window().set_size(slint::PhysicalSize::new(w, h));
    }
    let demo = demo::Demo::start(
        demo::DemoOptions {
            data_dir: data_dir.clone(),
            cloud_url: (!config.cloud.url.is_empty()).then(|| config.cloud.url.clone()),
            config,
            config_file,
            enrollment_code: None,
            landscape,
            case_step: std::time::Duration::from_secs(30),
            printer_port,
            registry: services::Registry::standard(),
            speaker: None,
        },
        ui_bridge::pusher(&ui),
    )?;
    ui_bridge::wire(&ui, demo.app.tx.clone());
    ui_bridge::wire_demo_reader(&ui, demo.reader.clone(), &demo.residents, &demo.cloud_url);
    tracing::info!(data_dir = %data_dir.display(), "demo data");
    run_window(&ui, landscape, fullscreen, started, "demo ready")?;
    drop(demo);
    Ok(())
}

fn need_display() -> anyhow::Result<()> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "the kiosk opens a window, and this session has no display (neither DISPLAY nor WAYLAND_DISPLAY is set). \
             Run it from a desktop session (the kiosk image runs it under cage), or see the pages without one: \
             bianmin screenshot --page home --out home.png"
        );
    }
    Ok(())
}

/// Shows the window and runs the UI event loop until it closes.
fn run_window(
    ui: &ui_bridge::AppWindow,
    landscape: bool,
    fullscreen: bool,
    started: std::time::Instant,
    ready: &'static str,
) -> anyhow::Result<()> {
    ui.global::<ui_bridge::AppState>().set_landscape(landscape);
    if fullscreen {
        ui.window().set_fullscreen(true);
    }
    tracing::info!(ms = started.elapsed().as_millis() as u64, "{ready}");
    // The time to the first frame on screen is the figure a resident feels.
    let first = std::cell::Cell::new(true);
    let notified = ui.window().set_rendering_notifier(move |state, _| {
        if matches!(state, slint::RenderingState::AfterRendering) && first.replace(false) {
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "first frame rendered"
            );
        }
    });
    if let Err(e) = notified {
        tracing::debug!(error = %e, "no rendering notifier with this renderer");
    }
    ui.run()?;
    Ok(())
}
