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
#[cfg(feature = "fleet")]
pub mod fleet;
#[cfg(feature = "fleet")]
mod fleet_cli;
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
pub mod recent;
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

/// The provisioning screen of a kiosk not yet enrolled, for tests that drive it headless.
#[cfg(feature = "sim")]
pub mod provision_screen {
    pub use crate::ui_bridge::headless::{init as init_headless, screenshot};
    pub use crate::ui_bridge::provision::{entry_problem, progress_lines, wire};
    pub use crate::ui_bridge::{
        CheckResult, ProvisionAdapter, ProvisionRow, ProvisionStage, ProvisionWindow,
    };
}

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
    // Only look: a kiosk that was never provisioned gets no database made for it here.
    let enrolled = provision::enrolled_in(&data_dir)?;
    if !enrolled && has_display() {
        // Fresh from the box: the technician provisions it on its own screen.
        return provision_on_screen(config, config_file, data_dir);
    }
    const ON_SCREEN: &str =
        " (with a display, a kiosk not yet enrolled shows its provisioning screen)";
    if config.cloud.url.is_empty() {
        anyhow::bail!(
            "no government cloud is configured ({config_name}). A kiosk is provisioned \
             by a technician with its enrolment code before it serves residents{}; to try the software \
             without a cloud, run `bianmin demo`",
            if enrolled { "" } else { ON_SCREEN }
        );
    }
    if !enrolled {
        anyhow::bail!(
            "this kiosk is not enrolled: there is no device token in {}. A technician provisions \
             it with its enrolment code before it serves residents: `bianmin provision`, or on its \
             screen{ON_SCREEN} (see docs/technician.md)",
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

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

/// The provisioning screen of a kiosk not yet enrolled (src/ui_bridge/provision.rs). Put into
/// service, the process starts again as itself (same PID, so systemd keeps watching it) and
/// comes up as the provisioned kiosk, with the config just written.
fn provision_on_screen(
    config: config::Config,
    config_file: Option<std::path::PathBuf>,
    data_dir: std::path::PathBuf,
) -> anyhow::Result<()> {
    let landscape = config.kiosk.orientation == config::Orientation::Landscape;
    let opts = provision::ProvisionOptions {
        cloud: None,
        code: None,
        // The site's config may name ports discovery cannot list (udev names such as
        // /dev/bianmin-printer are symlinks).
        printer_port: Some(config.printer.port.clone()).filter(|p| !p.is_empty()),
        sam_port: Some(config.card_reader.sam_port.clone()).filter(|p| !p.is_empty()),
        pcsc: config.card_reader.pcsc,
        card_wait: std::time::Duration::from_secs(30),
        config_path: config_file
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(config::KIOSK_CONFIG)),
        data_dir,
    };
    let ui = ui_bridge::ProvisionWindow::new()?;
    let into_service = ui_bridge::provision::wire(
        &ui,
        opts,
        &config.cloud.url,
        config.kiosk.language,
        landscape,
    );
    let (w, h) = if landscape {
        (1920.0, 1080.0)
    } else {
        (1080.0, 1920.0)
    };
    ui.window().set_size(slint::LogicalSize::new(w, h));
    ui.window().set_fullscreen(true);
    // Up and waiting for the technician: a Type=notify unit counts the start as done.
    health::systemd::notify("READY=1");
    let mut watchdog = health::systemd::Watchdog::from_env();
    let pings = slint::Timer::default();
    pings.start(
        slint::TimerMode::Repeated,
        std::time::Duration::from_secs(1),
        move || watchdog.ping_if_due(),
    );
    tracing::info!("not enrolled: the provisioning screen is up");
    ui.run()?;
    if !into_service.get() {
        return Ok(());
    }
    drop(ui);
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "bianmin".into());
    let err = std::process::Command::new(std::env::current_exe()?)
        .arg0(arg0)
        .args(args)
        .exec();
    Err(anyhow::anyhow!(
        "cannot start the kiosk after provisioning: {err}"
    ))
}

fn need_display() -> anyhow::Result<()> {
    if !has_display() {
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
    // The page's own size first: a display server without a window manager (a bare X server)
    // does not honour the full-screen request, and the window would open at 800×600.
    let (w, h) = if landscape {
        (1920.0, 1080.0)
    } else {
        (1080.0, 1920.0)
    };
    ui.window().set_size(slint::LogicalSize::new(w, h));
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
