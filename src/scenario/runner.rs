//! Runs a [`Scenario`] against the real UI in Slint's testing backend (software renderer), with
//! the kiosk task, the drivers' simulators and the cloud (embedded or named) all real.

use super::accessibility;
use super::layout;
use super::spec::{Scenario, Step};
use crate::cloud::CallRecord;
use crate::cloud_sim::Fault;
use crate::config::Config;
use crate::demo::{Demo, DemoOptions};
use crate::kiosk::Command;
use crate::printing::Printout;
use crate::services::Registry;
use crate::session::{PageId, Prompt};
use crate::ui_bridge::{
    self, headless, AppState, AppWindow, KeyboardAdapter, KeyboardLayout, PaymentAdapter,
};
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use serde::Serialize;
use slint::ComponentHandle;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

pub struct RunOptions {
    pub out_dir: PathBuf,
    pub data_dir: PathBuf,
    pub cloud_url: Option<String>,
    pub enrollment_code: Option<String>,
    pub config: Config,
    pub landscape: bool,
    /// Save a PNG whenever the page changes.
    pub screenshot_pages: bool,
    /// A real serial printer instead of the simulated one.
    pub printer_port: Option<String>,
    /// The services on the kiosk (tests add their own).
    pub registry: Registry,
}

#[derive(Debug, Serialize)]
pub struct StepRecord {
    pub index: usize,
    pub step: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub page: String,
    pub millis: u64,
}

#[derive(Debug, Serialize, Default)]
pub struct Transcript {
    pub scenario: String,
    pub ok: bool,
    pub steps: Vec<StepRecord>,
    pub pages_seen: Vec<String>,
    pub screenshots: Vec<String>,
    pub cloud_calls: Vec<CallRecord>,
    pub printouts: Vec<Printout>,
    pub spoken: Vec<Prompt>,
    /// Every utterance the kiosk started: phrase ids, caption, duration, start time.
    pub said: Vec<crate::voice::Said>,
    /// What each `check_layout` step found (only steps that found something).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layout: Vec<LayoutFinding>,
    /// What each `check_accessibility` step checked and found (every such step).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accessibility: Vec<AuditRecord>,
    /// Full-window software renders timed by `measure_render` steps, in milliseconds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub render_ms: Vec<f64>,
    /// Resident memory recorded by `record_memory` steps: (label, RSS in KiB, PSS in KiB).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<(String, u64, u64)>,
    /// For each key `type_pinyin` tapped: from the finger lifting off the key to a frame with
    /// the new candidates rendered (the controller, the pinyin lookup, the layout and a
    /// full-window software render), in milliseconds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_to_candidates_ms: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The problems one `check_layout` step found on one page in one state.
#[derive(Debug, Serialize, Clone)]
pub struct LayoutFinding {
    pub step: usize,
    pub page: String,
    /// Language, text size, orientation and the frame's overlays, e.g.
    /// "en · 长辈模式 · portrait · greeting + offline".
    pub state: String,
    pub problems: Vec<String>,
}

/// One `check_accessibility` step: the page, its state, how much was checked, what was found.
#[derive(Debug, Serialize, Clone)]
pub struct AuditRecord {
    pub step: usize,
    pub page: String,
    pub state: String,
    pub controls: usize,
    pub texts: usize,
    pub problems: Vec<String>,
}

/// Runs the scenario to the end (or its first failed expectation) and writes `transcript.json`
/// and the screenshots into `opts.out_dir`.
pub fn run(scenario: Scenario, opts: RunOptions) -> anyhow::Result<Transcript> {
    std::fs::create_dir_all(&opts.out_dir)?;
    headless::init()?;
    let mut config = opts.config.clone();
    if let Some(t) = scenario.page_timeout_s {
        config.kiosk.page_timeout_s = t;
        config.kiosk.elderly_page_timeout_s = t;
        config.kiosk.warning_s = config.kiosk.warning_s.min(t.saturating_sub(1)).max(1);
    }
    if let Some(w) = scenario.warning_s {
        config.kiosk.warning_s = w;
    }
    if let Some(h) = &scenario.technician_pin_hash {
        config.technician.pin_hash = h.clone();
    }
    if !scenario.technician_cards.is_empty() {
        config.technician.cards = scenario.technician_cards.clone();
    }
    let landscape = opts.landscape || scenario.landscape;
    let ui = AppWindow::new()?;
    let (w, h) = if landscape {
        (1920, 1080)
    } else {
        (1080, 1920)
    };
    ui.window().set_size(slint::PhysicalSize::new(w, h));
    let demo = Demo::start(
        DemoOptions {
            data_dir: opts.data_dir.clone(),
            config: config.clone(),
            config_file: None,
            cloud_url: opts.cloud_url.clone(),
            enrollment_code: opts.enrollment_code.clone(),
            landscape,
            case_step: Duration::from_secs(30),
            printer_port: opts.printer_port.clone(),
            registry: opts.registry.clone(),
            // Headless journeys keep time with a simulated speaker, unless the config names a
            // real ALSA device (the voice capture test plays through ALSA's file plugin).
            speaker: (config.voice.device == "default").then(|| {
                crate::voice::Output::Speaker(std::sync::Arc::new(
                    bianmin_audio::SimulatedSpeaker::new(),
                ))
            }),
        },
        ui_bridge::pusher(&ui),
    )?;
    ui_bridge::wire(&ui, demo.app.tx.clone());
    ui_bridge::wire_demo_reader(&ui, demo.reader.clone(), &demo.residents, &demo.cloud_url);
    ui.show()?;

    let result: Rc<RefCell<Option<Transcript>>> = Rc::default();
    let driver = Driver {
        ui: ui.clone_strong(),
        demo,
        out_dir: opts.out_dir.clone(),
        screenshot_pages: opts.screenshot_pages,
        config,
        layout_report: scenario.layout_report,
        forget_steps: scenario.forget_steps,
    };
    {
        let result = result.clone();
        slint::spawn_local(async move {
            let t = driver.drive(&scenario).await;
            *result.borrow_mut() = Some(t);
            let _ = slint::quit_event_loop();
        })?;
    }
    slint::run_event_loop()?;
    let transcript = result
        .borrow_mut()
        .take()
        .ok_or_else(|| anyhow::anyhow!("the scenario did not finish"))?;
    std::fs::write(
        opts.out_dir.join("transcript.json"),
        serde_json::to_vec_pretty(&transcript)?,
    )?;
    Ok(transcript)
}

struct Driver {
    ui: AppWindow,
    demo: Demo,
    out_dir: PathBuf,
    screenshot_pages: bool,
    config: Config,
    layout_report: bool,
    forget_steps: bool,
}

/// Waits on the UI thread without blocking its event loop.
pub async fn sleep(d: Duration) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    slint::Timer::single_shot(d, move || {
        let _ = tx.send(());
    });
    let _ = rx.await;
}

async fn until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        // Short: a page change is one frame (the renderer draws within a few ms of the view).
        sleep(Duration::from_millis(10)).await;
    }
}

struct Recorder {
    layout: Vec<LayoutFinding>,
    accessibility: Vec<AuditRecord>,
    render_ms: Vec<f64>,
    memory: Vec<(String, u64, u64)>,
    key_to_candidates_ms: Vec<f64>,
    step: usize,
    pages_seen: Vec<String>,
    screenshots: Vec<String>,
    last: Option<PageId>,
    /// The last payment order seen on the payment page (`key_in_order` types it).
    last_order: String,
}

impl Driver {
    fn page(&self) -> PageId {
        ui_bridge::page_id(self.ui.global::<AppState>().get_page())
    }

    fn busy(&self) -> bool {
        self.ui.global::<AppState>().get_busy()
    }

    /// The page's state for layout reports: language, text size, orientation, overlays.
    fn state(&self, name: &str) -> String {
        let a = self.ui.global::<AppState>();
        let mut parts = vec![
            if a.get_english() { "en" } else { "zh" }.to_string(),
            if a.get_elderly() {
                "长辈模式"
            } else {
                "normal"
            }
            .to_string(),
            if a.get_landscape() {
                "landscape"
            } else {
                "portrait"
            }
            .to_string(),
        ];
        let mut frame = Vec::new();
        if a.get_identified() {
            frame.push("greeting");
        }
        if a.get_offline() {
            frame.push("offline");
        }
        if a.get_staff_called() {
            frame.push("staff called");
        }
        if a.get_countdown() >= 0 {
            frame.push("countdown");
        }
        if a.get_remind_take_card() {
            frame.push("take card");
        }
        if !frame.is_empty() {
            parts.push(frame.join(" + "));
        }
        if !name.is_empty() {
            parts.push(name.to_string());
        }
        parts.join(" · ")
    }

    fn all_elements(&self) -> Vec<ElementHandle> {
        ElementQuery::from_root(&self.ui).find_all()
    }

    fn text_on_screen(&self, needle: &str) -> bool {
        self.all_elements().iter().any(|e| {
            e.accessible_label().is_some_and(|l| l.contains(needle))
                || e.accessible_value().is_some_and(|v| v.contains(needle))
                // A control's small print is read as its description (e.g. a tile's 暂不可用).
                || e.accessible_description().is_some_and(|d| d.contains(needle))
        })
    }

    /// The enabled element labelled `label`, preferring buttons over their inner text.
    fn find(&self, label: &str) -> Option<ElementHandle> {
        let all: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(&self.ui, label)
            .filter(|e| e.accessible_enabled() != Some(false))
            .collect();
        all.iter()
            .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .or(all.first())
            .cloned()
    }

    fn reader_events(&self) -> u64 {
        self.demo
            .app
            .log
            .lock()
            .map(|l| l.reader_events)
            .unwrap_or(0)
    }

    /// The simulated reader reports on its own thread: waits until the kiosk task has handled
    /// its event (the card, or its removal), then until the kiosk settles on it.
    async fn card_arrived(&self, before: u64) -> Result<(), String> {
        if !until(Duration::from_secs(10), || self.reader_events() > before).await {
            return Err("the kiosk did not see the card reader's event within 10 s".into());
        }
        self.settle().await;
        Ok(())
    }

    /// A tap at the element's centre: press and lift in one go. (ElementHandle::single_click
    /// holds the finger down for 50 ms on a real timer, which every tap of every scenario paid
    /// for; a TouchArea clicks on the lift all the same.)
    fn click(&self, el: &ElementHandle) {
        let position = self.press(el);
        self.lift(position);
    }

    /// A finger down at the element's centre (where it stays until [`Driver::lift`]).
    fn press(&self, el: &ElementHandle) -> slint::LogicalPosition {
        let at = el.absolute_position();
        let size = el.size();
        let position =
            slint::LogicalPosition::new(at.x + size.width / 2.0, at.y + size.height / 2.0);
        let button = slint::platform::PointerEventButton::Left;
        let window = self.ui.window();
        window.dispatch_event(slint::platform::WindowEvent::PointerMoved { position });
        window.dispatch_event(slint::platform::WindowEvent::PointerPressed { position, button });
        position
    }

    fn lift(&self, position: slint::LogicalPosition) {
        let button = slint::platform::PointerEventButton::Left;
        self.ui
            .window()
            .dispatch_event(slint::platform::WindowEvent::PointerReleased { position, button });
    }

    /// Waits until the kiosk task has handled everything sent to it so far and the view it
    /// left is applied (a [`Command::Barrier`] through the same channel), not for a fixed time.
    async fn barrier(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.demo.app.tx.send(Command::Barrier(tx)).is_err() {
            return;
        }
        tokio::select! {
            _ = rx => {}
            _ = sleep(Duration::from_secs(10)) => {}
        }
        // The answer's wake-up was queued behind the view's; one more turn of the event loop
        // lets anything the view started (a timer of zero) run too.
        sleep(Duration::ZERO).await;
    }

    async fn settle(&self) {
        self.barrier().await;
        if self.busy() {
            let limit = self.config.cloud.timeout() + Duration::from_secs(3);
            until(limit, || !self.busy()).await;
            self.barrier().await;
        }
    }

    async fn tap(&self, label: &str) -> Result<(), String> {
        let mut found = None;
        until(Duration::from_secs(10), || {
            found = self.find(label);
            if found.is_none() {
                // Not in sight: a resident would scroll down to it (elements a Flickable has
                // scrolled out of view are not on the screen at all).
                for f in ElementHandle::find_by_element_type_name(&self.ui, "Flickable") {
                    f.scroll(0.0, -120.0);
                }
            }
            found.is_some()
        })
        .await;
        let el = found.ok_or_else(|| {
            format!(
                "no enabled element labelled {label:?} on page {}",
                self.page().name()
            )
        })?;
        // Found but scrolled (partly) out of sight: the finger lands where the element is
        // drawn, so scroll until its centre is on the screen, as a resident would.
        let mut ready = false;
        until(Duration::from_secs(5), || {
            match layout::Snapshot::take(&self.ui).map(|s| s.reach(label)) {
                Ok(Some(layout::Reach::Scroll(dir))) => {
                    for f in ElementHandle::find_by_element_type_name(&self.ui, "Flickable") {
                        f.scroll(0.0, 60.0 * dir);
                    }
                }
                _ => ready = true,
            }
            ready
        })
        .await;
        if !ready {
            return Err(format!(
                "{label:?} on page {} cannot be scrolled into sight",
                self.page().name()
            ));
        }
        self.click(&el);
        self.settle().await;
        Ok(())
    }

    /// Taps the letters on the on-screen keyboard as a resident would, after bringing up its
    /// pinyin letters; times each key to the frame that shows its candidates.
    async fn type_pinyin(&self, letters: &str, rec: &mut Recorder) -> Result<(), String> {
        let kb = self.ui.global::<KeyboardAdapter>();
        if self.find("q").is_none() && kb.get_layout() != KeyboardLayout::Symbols {
            return Err(format!(
                "no on-screen keyboard on page {}",
                self.page().name()
            ));
        }
        if kb.get_layout() == KeyboardLayout::Symbols {
            self.tap_any(&["字母", "Letters"]).await?;
        }
        if kb.get_letters() != KeyboardLayout::Pinyin {
            self.tap_any(&["中/英", "Chinese/English"]).await?;
        }
        for c in letters.chars() {
            let labels: &[&str] = if c == '\'' {
                &["分隔", "Syllable break"]
            } else {
                &[]
            };
            let letter = c.to_string();
            let key = labels
                .iter()
                .chain(std::iter::once(&letter.as_str()))
                .find_map(|l| self.find(l))
                .ok_or_else(|| format!("no key {c:?} on the keyboard"))?;
            // A tap at the key's centre, with the clock started when the finger lifts (the
            // click fires then).
            let position = self.press(&key);
            let started = Instant::now();
            self.lift(position);
            self.ui
                .window()
                .take_snapshot()
                .map_err(|e| format!("render failed: {e}"))?;
            rec.key_to_candidates_ms
                .push(started.elapsed().as_secs_f64() * 1000.0);
        }
        self.settle().await;
        let typed: String = kb.get_composing().chars().filter(|c| *c != '\'').collect();
        let wanted: String = letters.chars().filter(|c| *c != '\'').collect();
        if !typed.ends_with(&wanted) {
            return Err(format!(
                "the keyboard composes {:?} after typing {letters:?}",
                kb.get_composing()
            ));
        }
        Ok(())
    }

    /// Taps the candidate with exactly this text, paging on to it.
    async fn choose_candidate(&self, text: &str) -> Result<(), String> {
        let kb = self.ui.global::<KeyboardAdapter>();
        let composing = kb.get_composing().to_string();
        let mut seen = Vec::new();
        for _ in 0..40 {
            let shown = ui_bridge::keyboard::shown_candidates(&self.ui);
            if shown.iter().any(|c| c == text) {
                return self.tap(text).await;
            }
            seen.extend(shown);
            if !kb.get_has_next() {
                break;
            }
            self.tap_any(&["下一页候选", "More candidates"]).await?;
        }
        Err(format!(
            "{text:?} is not among the candidates for {composing:?} ({} seen: {})",
            seen.len(),
            seen.iter().take(30).cloned().collect::<Vec<_>>().join(" ")
        ))
    }

    /// Holds a finger on `target` (a label, or `corner`: the attract page's technician corner)
    /// for longer than the 3 s the kiosk waits for, then lifts it.
    async fn long_press(&self, target: &str) -> Result<(), String> {
        let el = if target == "corner" {
            [
                "AttractPage::technician-corner",
                "AttractPage::technician_corner",
            ]
            .iter()
            .find_map(|id| ElementHandle::find_by_element_id(&self.ui, id).next())
        } else {
            self.find(target)
        }
        .ok_or_else(|| format!("no {target:?} to press on page {}", self.page().name()))?;
        let position = self.press(&el);
        sleep(Duration::from_millis(3300)).await;
        self.lift(position);
        self.settle().await;
        Ok(())
    }

    async fn tap_any(&self, labels: &[&str]) -> Result<(), String> {
        for l in labels {
            if self.find(l).is_some() {
                return self.tap(l).await;
            }
        }
        Err(format!("none of {labels:?} on page {}", self.page().name()))
    }

    fn screenshot(&self, rec: &mut Recorder, name: &str) {
        let file = format!("{:02}-{}.png", rec.screenshots.len() + 1, name);
        match headless::screenshot(&self.ui, &self.out_dir.join(&file)) {
            Ok(()) => rec.screenshots.push(file),
            Err(e) => tracing::warn!(error = %e, "screenshot failed"),
        }
    }

    fn observe(&self, rec: &mut Recorder) {
        let page = self.page();
        if page == PageId::Payment {
            let order = self.ui.global::<PaymentAdapter>().get_order_no();
            if !order.is_empty() {
                rec.last_order = order.to_string();
            }
        }
        if rec.last != Some(page) {
            rec.last = Some(page);
            if !self.forget_steps {
                rec.pages_seen.push(page.name().into());
            }
            if self.screenshot_pages {
                self.screenshot(rec, page.name());
            }
        }
    }

    async fn drive(self, scenario: &Scenario) -> Transcript {
        let mut rec = Recorder {
            layout: Vec::new(),
            accessibility: Vec::new(),
            render_ms: Vec::new(),
            memory: Vec::new(),
            key_to_candidates_ms: Vec::new(),
            step: 0,
            pages_seen: Vec::new(),
            screenshots: Vec::new(),
            last: None,
            last_order: String::new(),
        };
        let mut t = Transcript {
            scenario: scenario.name.clone(),
            ..Default::default()
        };
        // The kiosk is ready once its first view (with the site's name) has arrived.
        self.barrier().await;
        if !until(Duration::from_secs(15), || {
            !self.ui.global::<AppState>().get_site_name().is_empty()
        })
        .await
        {
            t.failure = Some("the kiosk did not show its first page within 15 s".into());
        }
        self.observe(&mut rec);
        if t.failure.is_none() {
            for (i, step) in scenario.steps.iter().enumerate() {
                let started = Instant::now();
                rec.step = i + 1;
                let outcome = self.perform(step, &mut rec).await;
                self.observe(&mut rec);
                let ok = outcome.is_ok();
                if ok && scenario.forget_steps {
                    continue;
                }
                t.steps.push(StepRecord {
                    index: i + 1,
                    step: step.to_string(),
                    ok,
                    error: outcome.as_ref().err().cloned(),
                    page: self.page().name().into(),
                    millis: started.elapsed().as_millis() as u64,
                });
                if let Err(e) = outcome {
                    t.failure = Some(format!("step {} ({step}): {e}", i + 1));
                    self.screenshot(&mut rec, "failure");
                    break;
                }
            }
        }
        t.ok = t.failure.is_none();
        t.layout = rec.layout;
        t.accessibility = rec.accessibility;
        t.render_ms = rec.render_ms;
        t.memory = rec.memory;
        t.key_to_candidates_ms = rec.key_to_candidates_ms;
        t.pages_seen = rec.pages_seen;
        t.screenshots = rec.screenshots;
        t.cloud_calls = self.demo.app.cloud.take_calls();
        t.printouts = self
            .demo
            .app
            .printouts
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default();
        t.spoken = self
            .demo
            .app
            .log
            .lock()
            .map(|l| l.spoken.clone())
            .unwrap_or_default();
        t.said = self
            .demo
            .app
            .log
            .lock()
            .map(|l| l.said.clone())
            .unwrap_or_default();
        t
    }

    async fn perform(&self, step: &Step, rec: &mut Recorder) -> Result<(), String> {
        let wait = Duration::from_secs(10);
        match step {
            Step::InsertCard(n) => {
                let id = self.demo.residents.get(n - 1).ok_or_else(|| {
                    format!("there are {} demo residents", self.demo.residents.len())
                })?;
                let before = self.reader_events();
                self.demo.reader.insert(id.clone());
                self.card_arrived(before).await
            }
            Step::RemoveCard => {
                let before = self.reader_events();
                self.demo.reader.remove();
                // A reader with no card on it reports nothing: then there is nothing to wait for.
                until(Duration::from_secs(2), || self.reader_events() > before).await;
                self.settle().await;
                Ok(())
            }
            Step::Tap(label) => self.tap(label).await,
            Step::LongPress(target) => self.long_press(target).await,
            Step::TapNoWait(label) => {
                let el = self.find(label).ok_or_else(|| {
                    format!(
                        "no enabled element labelled {label:?} on page {}",
                        self.page().name()
                    )
                })?;
                self.click(&el);
                // Long enough for the kiosk to take the tap and start on it.
                sleep(Duration::from_millis(300)).await;
                Ok(())
            }
            Step::Type(text) => {
                for c in text.chars() {
                    let s: slint::SharedString = c.to_string().into();
                    self.ui
                        .window()
                        .dispatch_event(slint::platform::WindowEvent::KeyPressed {
                            text: s.clone(),
                        });
                    self.ui
                        .window()
                        .dispatch_event(slint::platform::WindowEvent::KeyReleased { text: s });
                }
                self.settle().await;
                Ok(())
            }
            Step::TypePinyin(letters) => self.type_pinyin(letters, rec).await,
            Step::ChooseCandidate(text) => self.choose_candidate(text).await,
            Step::ExpectText(s) | Step::AwaitText(s) => {
                let wait = if matches!(step, Step::AwaitText(_)) {
                    Duration::from_secs(120)
                } else {
                    wait
                };
                if until(wait, || self.text_on_screen(s)).await {
                    Ok(())
                } else {
                    Err(format!(
                        "{s:?} is not on the screen (page {})",
                        self.page().name()
                    ))
                }
            }
            Step::ExpectNoText(s) => {
                if self.text_on_screen(s) {
                    Err(format!(
                        "{s:?} is on the screen (page {})",
                        self.page().name()
                    ))
                } else {
                    Ok(())
                }
            }
            Step::ExpectVisible(s) => {
                let mut last = String::new();
                let seen = until(wait, || {
                    match layout::Snapshot::take(&self.ui).and_then(|snap| snap.expect_visible(s)) {
                        Ok(()) => true,
                        Err(e) => {
                            last = e;
                            false
                        }
                    }
                })
                .await;
                if seen {
                    Ok(())
                } else {
                    Err(format!("{last} (page {})", self.page().name()))
                }
            }
            Step::CheckLayout(name) => {
                let snap = layout::Snapshot::take(&self.ui)?;
                let problems = snap.check_layout();
                if problems.is_empty() {
                    return Ok(());
                }
                let finding = LayoutFinding {
                    step: rec.step,
                    page: self.page().name().into(),
                    state: self.state(name),
                    problems,
                };
                let text = format!(
                    "{} problem(s) on page {} [{}]:\n  {}",
                    finding.problems.len(),
                    finding.page,
                    finding.state,
                    finding.problems.join("\n  ")
                );
                rec.layout.push(finding);
                if self.layout_report {
                    Ok(())
                } else {
                    Err(text)
                }
            }
            Step::CheckAccessibility(name) => {
                let snap = layout::Snapshot::take(&self.ui)?;
                let elderly = self.ui.global::<AppState>().get_elderly();
                let audit = snap.check_accessibility(accessibility::Rules::new(elderly));
                let record = AuditRecord {
                    step: rec.step,
                    page: self.page().name().into(),
                    state: self.state(name),
                    controls: audit.controls,
                    texts: audit.texts,
                    problems: audit.problems,
                };
                let text = format!(
                    "{} accessibility problem(s) on page {} [{}]:\n  {}",
                    record.problems.len(),
                    record.page,
                    record.state,
                    record.problems.join("\n  ")
                );
                let failed = !record.problems.is_empty();
                rec.accessibility.push(record);
                if failed && !self.layout_report {
                    Err(text)
                } else {
                    Ok(())
                }
            }
            Step::ExpectPage(p) => {
                if until(wait, || self.page().name() == p).await {
                    Ok(())
                } else {
                    Err(format!(
                        "expected page {p}, the kiosk shows {}",
                        self.page().name()
                    ))
                }
            }
            Step::ExpectNoPrint(s) => {
                // Let anything in flight finish first: a paper that comes out late still counts.
                sleep(Duration::from_millis(500)).await;
                let printed = self
                    .demo
                    .app
                    .printouts
                    .lock()
                    .map(|p| p.iter().any(|x| x.text.contains(s.as_str())))
                    .unwrap_or(false);
                if printed {
                    Err(format!("a printout contains {s:?}"))
                } else {
                    Ok(())
                }
            }
            Step::ExpectPrint(s) => {
                let printed = || {
                    self.demo
                        .app
                        .printouts
                        .lock()
                        .map(|p| {
                            p.iter()
                                .any(|x| x.state == "done" && x.text.contains(s.as_str()))
                        })
                        .unwrap_or(false)
                };
                if until(wait, printed).await {
                    Ok(())
                } else {
                    Err(format!("no printout contains {s:?}"))
                }
            }
            Step::WaitAttract => {
                let limit = Duration::from_secs(self.config.kiosk.page_timeout_s + 15);
                if until(limit, || self.page() == PageId::Attract).await {
                    Ok(())
                } else {
                    Err(format!(
                        "still on page {} after {} s",
                        self.page().name(),
                        limit.as_secs()
                    ))
                }
            }
            Step::Lang(l) => {
                let want_en = *l == crate::Lang::En;
                if self.ui.global::<AppState>().get_english() != want_en {
                    // The switch is labelled with the other language's own name.
                    self.tap_any(&["English", "中文"]).await?;
                }
                if until(wait, || {
                    self.ui.global::<AppState>().get_english() == want_en
                })
                .await
                {
                    Ok(())
                } else {
                    Err("the language did not change".into())
                }
            }
            Step::Elderly(on) => {
                if self.ui.global::<AppState>().get_elderly() != *on {
                    self.tap_any(&["长辈模式", "Large text"]).await?;
                }
                if until(wait, || self.ui.global::<AppState>().get_elderly() == *on).await {
                    Ok(())
                } else {
                    Err("elderly mode did not change".into())
                }
            }
            Step::OpenService(code) => {
                if self.page() == PageId::Attract {
                    self.tap_any(&["点击屏幕开始办理", "Touch here to start"])
                        .await?;
                }
                if self.page() != PageId::Home {
                    self.tap_any(&["首页", "Home"]).await?;
                }
                self.observe(rec);
                let label = ui_bridge::tile_label(&self.ui, code)
                    .ok_or_else(|| format!("no tile for {code}"))?;
                self.tap(&label).await
            }
            Step::CloudFault(f) => {
                let sim = self
                    .demo
                    .sim
                    .as_ref()
                    .ok_or("cloud_fault needs the embedded simulator (no --cloud)")?;
                let fault: Fault = f.parse()?;
                sim.set_fault(fault);
                Ok(())
            }
            Step::PhonePay(channel) => {
                let order = self
                    .ui
                    .global::<PaymentAdapter>()
                    .get_order_no()
                    .to_string();
                if order.is_empty() || self.page() != PageId::Payment {
                    return Err("phone_pay needs the payment page with an order on it".into());
                }
                match &self.demo.sim {
                    // The phone has a network of its own: it pays even while the kiosk's link
                    // to the cloud is down.
                    Some(sim) => sim
                        .pay(&order, channel)
                        .map(|_| ())
                        .map_err(|p| format!("the phone's payment was refused: {}", p.code)),
                    None => crate::demo::phone_pays(&self.demo.cloud_url, &order, channel)
                        .map_err(|e| e.to_string()),
                }
            }
            Step::KeyInOrder => {
                // As a resident copies it from the slip: the digits after "PAY".
                let digits: String = rec
                    .last_order
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                if digits.is_empty() {
                    return Err("key_in_order needs an order seen on the payment page".into());
                }
                for d in digits.chars() {
                    self.tap(&d.to_string()).await?;
                }
                Ok(())
            }
            Step::PayElsewhere(target) => {
                let (utility, account) = target.split_once(':').unwrap_or_default();
                crate::demo::sim_control(
                    &self.demo.cloud_url,
                    reqwest::Method::POST,
                    "/_sim/bills/pay",
                    serde_json::json!({ "utility": utility, "account": account }),
                )
                .map(|_| ())
                .map_err(|e| e.to_string())
            }
            Step::PaymentTtl(seconds) => crate::demo::sim_control(
                &self.demo.cloud_url,
                reqwest::Method::PUT,
                "/_sim/payment-ttl",
                serde_json::json!({ "seconds": seconds }),
            )
            .map(|_| ())
            .map_err(|e| e.to_string()),
            Step::PrinterFault(f) => {
                self.demo.printer.set_paper_out(f == "paper_out");
                Ok(())
            }
            Step::StorageFault(f) => self
                .demo
                .app
                .store
                .lock()
                .map_err(|_| "store lock".to_string())?
                .refuse_writes(f == "read_only")
                .map_err(|e| e.to_string()),
            Step::WaitSeconds(s) => {
                sleep(Duration::from_secs_f64(*s)).await;
                Ok(())
            }
            Step::Screenshot(name) => {
                self.screenshot(rec, name);
                Ok(())
            }
            Step::RecordMemory(label) => {
                let (rss, pss) = resident_memory()?;
                rec.memory.push((label.clone(), rss, pss));
                Ok(())
            }
            Step::MeasureRender(n) => {
                // The whole window, every pixel, with the software renderer (the kiosk's own).
                for _ in 0..*n {
                    let started = Instant::now();
                    self.ui
                        .window()
                        .take_snapshot()
                        .map_err(|e| format!("render failed: {e}"))?;
                    rec.render_ms.push(started.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(())
            }
            Step::ExpectSpoken(p) => {
                let said = || {
                    self.demo
                        .app
                        .log
                        .lock()
                        .map(|l| {
                            // A session prompt ("take_card") or a phrase id said ("page.home").
                            l.spoken.iter().any(|x| {
                                serde_json::to_value(x)
                                    .ok()
                                    .and_then(|v| v.as_str().map(|s| s == p))
                                    .unwrap_or(false)
                            }) || l.said.iter().any(|s| s.phrases.contains(&p.as_str()))
                        })
                        .unwrap_or(false)
                };
                if until(wait, said).await {
                    Ok(())
                } else {
                    Err(format!("the kiosk did not say {p:?}"))
                }
            }
        }
    }
}

/// Saves the page the kiosk shows after `steps` as `out` (used by `bianmin screenshot`).
/// With `repeat` > 0, the page is also rendered that many times and the render times (ms) are
/// returned.
/// This process's RSS and PSS in KiB (/proc/self/smaps_rollup).
fn resident_memory() -> Result<(u64, u64), String> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")
        .map_err(|e| format!("cannot read /proc/self/smaps_rollup: {e}"))?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("Rss:"), field("Pss:")))
}

pub fn screenshot_after(
    steps: Vec<Step>,
    opts: RunOptions,
    out: &Path,
    lang: crate::Lang,
    elderly: bool,
    repeat: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut all = vec![Step::Lang(lang), Step::Elderly(elderly)];
    all.extend(steps);
    if repeat > 0 {
        all.push(Step::MeasureRender(repeat));
    }
    all.push(Step::Screenshot("final".into()));
    let out_dir = opts.out_dir.clone();
    let t = run(
        Scenario {
            name: "screenshot".into(),
            steps: all,
            ..Default::default()
        },
        opts,
    )?;
    if let Some(f) = t.failure {
        anyhow::bail!("could not reach the page: {f}");
    }
    let last = t
        .screenshots
        .last()
        .ok_or_else(|| anyhow::anyhow!("no screenshot taken"))?;
    std::fs::copy(out_dir.join(last), out)?;
    Ok(t.render_ms)
}
