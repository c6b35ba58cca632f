//! The provisioning screen's controller: a kiosk with no enrolment shows [`ProvisionWindow`]
//! instead of the resident pages, and the technician enrols and tests it there. Provisioning is
//! [`crate::provision::provision`], the same as `bianmin provision` in the terminal, run on a
//! worker thread; the screen is its [`Technician`]: the steps and progress lines go to the
//! window, and the tap on 注册并开通 (which shows the cloud, the code and the config file
//! beforehand) is the technician's yes to enrolling and to writing the config.

use super::{
    AppState, CheckResult, ProvisionAdapter, ProvisionField, ProvisionRow, ProvisionStage,
    ProvisionWindow,
};
use crate::provision::{ProvisionOptions, ProvisionReport, ProvisionStep, Technician};
use crate::selftest::Outcome;
use crate::Lang;
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};
use std::cell::Cell;
use std::rc::Rc;

/// The screen's technician: everything it hears goes to the window.
struct OnScreen {
    ui: slint::Weak<ProvisionWindow>,
}

impl Technician for OnScreen {
    fn step(&mut self, step: ProvisionStep) {
        tracing::info!(step = ?step, "provisioning on screen");
        let n = match step {
            ProvisionStep::Discover => 0,
            ProvisionStep::Enrol => 1,
            ProvisionStep::Selftest => 2,
            ProvisionStep::WriteConfig => 3,
        };
        let _ = self.ui.upgrade_in_event_loop(move |ui| {
            ui.global::<ProvisionAdapter>().set_step(n);
        });
    }

    fn progress(&mut self, line: &str) {
        tracing::info!(line = line.trim(), "provisioning on screen");
        let line = SharedString::from(line.trim());
        let _ = self.ui.upgrade_in_event_loop(move |ui| {
            let model = ui.global::<ProvisionAdapter>().get_progress();
            if let Some(lines) = model.as_any().downcast_ref::<VecModel<SharedString>>() {
                lines.push(line);
            }
        });
    }

    /// The technician said yes with the tap that started the run (the screen showed the cloud,
    /// the code and the config file it would write).
    fn confirm(&mut self, _question: &str) -> bool {
        // Not the question itself in the log: it carries the enrolment code.
        tracing::debug!("confirmed by the tap on the provisioning screen");
        true
    }
}

/// `HTTPS://Gov.example` as `https://Gov.example` (the on-screen keys may have been in capitals).
fn lowercase_scheme(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => url.to_string(),
    }
}

/// What the entry lacks, as the screen's code for its message (`None`: ready to start).
pub fn entry_problem(url: &str, code: &str, enrolled: bool) -> Option<&'static str> {
    let url = lowercase_scheme(url.trim());
    if url.is_empty() {
        Some("no-url")
    } else if !(url.starts_with("https://") || url.starts_with("http://")) {
        Some("bad-url")
    } else if code.trim().is_empty() && !enrolled {
        Some("no-code")
    } else {
        None
    }
}

fn rows(report: &ProvisionReport) -> Vec<ProvisionRow> {
    report
        .devices
        .iter()
        .into_iter()
        .map(|(device, c)| ProvisionRow {
            device: device.into(),
            result: match c.result {
                Outcome::Pass => CheckResult::Pass,
                Outcome::Warn => CheckResult::Warn,
                Outcome::Fail => CheckResult::Fail,
                Outcome::Skipped => CheckResult::Skipped,
            },
            required: c.required,
            found: c.found.clone().unwrap_or_default().into(),
            problem: c.problem.clone().unwrap_or_default().into(),
            detail: c.detail.clone().into(),
        })
        .collect()
}

/// Shows the report: the rows (failures first, so the technician sees them without scrolling),
/// who the kiosk now is, and whether it may go into service.
fn show_report(ui: &ProvisionWindow, report: &ProvisionReport) {
    let a = ui.global::<ProvisionAdapter>();
    let mut r = rows(report);
    r.sort_by_key(|row| match row.result {
        CheckResult::Fail => 0,
        CheckResult::Warn => 1,
        CheckResult::Pass => 2,
        CheckResult::Skipped => 3,
    });
    a.set_rows(ModelRc::new(VecModel::from(r)));
    a.set_ok(report.ok);
    a.set_device_id(report.device_id.clone().unwrap_or_default().into());
    a.set_site(
        report
            .site
            .as_ref()
            .map(|s| format!("{} {}", s.street_office, s.community))
            .unwrap_or_default()
            .into(),
    );
    a.set_elapsed(format!("{:.1}", report.elapsed_ms as f64 / 1000.0).into());
    a.set_stage(ProvisionStage::Done);
}

/// Starts a run with what the entry holds (a rerun resumes: the stored enrolment is reused).
fn start(ui: &ProvisionWindow, base: &ProvisionOptions) {
    let a = ui.global::<ProvisionAdapter>();
    if a.get_stage() == ProvisionStage::Running {
        return;
    }
    let url = lowercase_scheme(a.get_cloud_url().trim());
    let code = a.get_code().trim().to_string();
    let enrolled = crate::provision::enrolled(&base.data_dir);
    if let Some(problem) = entry_problem(&url, &code, enrolled) {
        a.set_entry_problem(problem.into());
        a.set_stage(ProvisionStage::Entry);
        return;
    }
    a.set_entry_problem("".into());
    a.set_failure("".into());
    a.set_progress(ModelRc::new(VecModel::<SharedString>::default()));
    a.set_step(0);
    a.set_stage(ProvisionStage::Running);
    let opts = ProvisionOptions {
        cloud: Some(url),
        code: (!code.is_empty()).then_some(code),
        ..base.clone()
    };
    let weak = ui.as_weak();
    let spawned = std::thread::Builder::new()
        .name("provision".into())
        .spawn(move || {
            let mut tech = OnScreen { ui: weak.clone() };
            let result = crate::provision::provision(&opts, &mut tech);
            match &result {
                Ok(r) => tracing::info!(
                    ok = r.ok,
                    ms = r.elapsed_ms,
                    "provisioning on screen finished"
                ),
                Err(e) => tracing::error!(error = %e, "provisioning on screen could not start"),
            }
            let _ = weak.upgrade_in_event_loop(move |ui| match result {
                Ok(report) => show_report(&ui, &report),
                Err(e) => {
                    let a = ui.global::<ProvisionAdapter>();
                    a.set_failure(format!("{e:#}").into());
                    a.set_stage(ProvisionStage::Entry);
                }
            });
        });
    if let Err(e) = spawned {
        a.set_failure(e.to_string().into());
        a.set_stage(ProvisionStage::Entry);
    }
}

/// Wires the window. `cloud_url` prefills the entry (the site's config may name it). The
/// returned flag turns true when the technician puts the kiosk into service (the window has
/// then quit its event loop; the caller starts the kiosk).
pub fn wire(
    ui: &ProvisionWindow,
    base: ProvisionOptions,
    cloud_url: &str,
    lang: Lang,
    landscape: bool,
) -> Rc<Cell<bool>> {
    let a = ui.global::<ProvisionAdapter>();
    ui.global::<AppState>().set_landscape(landscape);
    super::select_language(lang);
    a.set_english(lang == Lang::En);
    a.set_cloud_url(cloud_url.into());
    // The keys start on the first field still empty.
    a.set_field(if cloud_url.is_empty() {
        ProvisionField::Url
    } else {
        ProvisionField::Code
    });
    a.set_config_path(base.config_path.display().to_string().into());
    a.set_progress(ModelRc::new(VecModel::<SharedString>::default()));
    let into_service = Rc::new(Cell::new(false));
    let base = Rc::new(base);
    {
        let (weak, base) = (ui.as_weak(), base.clone());
        a.on_start(move || {
            if let Some(ui) = weak.upgrade() {
                start(&ui, &base);
            }
        });
    }
    {
        let (weak, base) = (ui.as_weak(), base.clone());
        a.on_retry(move || {
            if let Some(ui) = weak.upgrade() {
                start(&ui, &base);
            }
        });
    }
    {
        let weak = ui.as_weak();
        a.on_back_to_entry(move || {
            if let Some(ui) = weak.upgrade() {
                ui.global::<ProvisionAdapter>()
                    .set_stage(ProvisionStage::Entry);
            }
        });
    }
    {
        let weak = ui.as_weak();
        a.on_erase_last(move |field| {
            let Some(ui) = weak.upgrade() else { return };
            let a = ui.global::<ProvisionAdapter>();
            let mut text = match field {
                ProvisionField::Url => a.get_cloud_url(),
                ProvisionField::Code => a.get_code(),
            }
            .to_string();
            text.pop();
            match field {
                ProvisionField::Url => a.set_cloud_url(text.into()),
                ProvisionField::Code => a.set_code(text.into()),
            }
        });
    }
    a.on_language_changed(|english| {
        super::select_language(if english { Lang::En } else { Lang::Zh })
    });
    {
        let (weak, flag) = (ui.as_weak(), into_service.clone());
        a.on_into_service(move || {
            let ready = weak
                .upgrade()
                .is_some_and(|ui| ui.global::<ProvisionAdapter>().get_ok());
            if ready {
                tracing::info!("provisioned on screen: into service");
                flag.set(true);
                let _ = slint::quit_event_loop();
            }
        });
    }
    into_service
}

/// The lines shown under the steps so far (tests read them).
#[cfg(feature = "sim")]
pub fn progress_lines(ui: &ProvisionWindow) -> Vec<String> {
    ui.global::<ProvisionAdapter>()
        .get_progress()
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::entry_problem;

    #[test]
    fn the_entry_needs_a_cloud_url_and_a_code_unless_enrolled() {
        assert_eq!(entry_problem("", "ABC", false), Some("no-url"));
        assert_eq!(entry_problem("gov.example", "ABC", false), Some("bad-url"));
        assert_eq!(
            entry_problem("https://gov.example", " ", false),
            Some("no-code")
        );
        assert_eq!(entry_problem("https://gov.example", "", true), None);
        assert_eq!(entry_problem(" http://127.0.0.1:8 ", "ABC", false), None);
    }
}
