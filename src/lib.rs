//! Bianmin (便民): self-service kiosk software for community service centres.
//!
//! The shape (see ARCHITECTURE.md): Slint owns the main thread; a tokio runtime runs all I/O;
//! the [`kiosk`] task owns the [`session`] engine and the [`services`], talks to the [`cloud`],
//! [`storage`] and the drivers, and pushes a [`view::ViewState`] to the UI through the
//! [`ui_bridge`]. The UI only raises callbacks on its adapter globals.

pub mod app;
pub mod card_cli;
pub mod cli;
pub mod cloud;
pub mod cloud_sim;
pub mod config;
pub mod kiosk;
pub mod outbox;
pub mod outbox_cli;
pub mod printer_cli;
pub mod printing;
pub mod scenario;
pub mod services;
pub mod session;
pub mod storage;
pub mod ui_bridge;
pub mod view;

/// The resident's language. Chinese is the source language of every string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "zh" | "zh-CN" | "zh_CN" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language {other:?} (zh or en)")),
        }
    }
}

/// `bianmin demo`: the kiosk in a window, on simulated hardware and the embedded cloud.
pub fn demo_main(
    config: config::Config,
    data_dir: std::path::PathBuf,
    landscape: bool,
    fullscreen: bool,
    printer_port: Option<String>,
) -> anyhow::Result<()> {
    use slint::ComponentHandle;
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "the demo opens a window, and this session has no display (neither DISPLAY nor WAYLAND_DISPLAY is set). \
             Run it from a desktop session, or see the pages without one: bianmin screenshot --page home --out home.png"
        );
    }
    let landscape = landscape || config.kiosk.orientation == config::Orientation::Landscape;
    let started = std::time::Instant::now();
    let ui = ui_bridge::AppWindow::new()?;
    let app = app::App::start(
        app::AppOptions {
            data_dir: data_dir.clone(),
            config: config.clone(),
            cloud_url: (!config.cloud.url.is_empty()).then(|| config.cloud.url.clone()),
            enrollment_code: None,
            landscape,
            case_step: std::time::Duration::from_secs(30),
            printer_port,
        },
        ui_bridge::pusher(&ui),
    )?;
    ui_bridge::wire(&ui, app.tx.clone());
    ui.global::<ui_bridge::AppState>().set_landscape(landscape);
    if fullscreen || config.kiosk.fullscreen {
        ui.window().set_fullscreen(true);
    }
    tracing::info!(data_dir = %data_dir.display(), ms = started.elapsed().as_millis() as u64, "demo ready");
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
    drop(app);
    Ok(())
}
