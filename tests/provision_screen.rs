//! A kiosk fresh from the box, provisioned on its own screen: the real provisioning window
//! (Slint's testing backend with the software renderer), tapped through by accessible labels as
//! a technician would: the cloud's address and the code typed on the on-screen keys, a wrong
//! code refused with what to check in Chinese, the right one resumed without printing the test
//! page twice, the report read in English, and 投入服务. Against the standalone simulator over
//! HTTP, the printer on a pseudo-terminal and the GA/T 467 SAM reader emulator with a test card.

mod support;

use bianmin::provision::ProvisionOptions;
use bianmin::provision_screen::{
    init_headless, progress_lines, screenshot, wire, CheckResult, ProvisionAdapter, ProvisionStage,
    ProvisionWindow,
};
use i_slint_backend_testing::ElementHandle;
use slint::{ComponentHandle, Model};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};
use support::fake_printer::{Behaviour, FakePrinter};
use support::field::{Sim, SntpServer};
use support::sam_emulator::SamEmulator;

const CODE: &str = "HALL7-2026";

async fn sleep(d: Duration) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    slint::Timer::single_shot(d, move || {
        let _ = tx.send(());
    });
    let _ = rx.await;
}

fn text_on_screen(ui: &ProvisionWindow, needle: &str) -> bool {
    i_slint_backend_testing::ElementQuery::from_root(ui)
        .find_all()
        .iter()
        .any(|e| {
            e.accessible_label().is_some_and(|l| l.contains(needle))
                || e.accessible_description()
                    .is_some_and(|d| d.contains(needle))
        })
}

/// Taps the control labelled `label` (a button before its inner text).
async fn tap(ui: &ProvisionWindow, label: &str) {
    let all: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(ui, label).collect();
    let el = all
        .iter()
        .find(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
        .or(all.first())
        .unwrap_or_else(|| panic!("nothing labelled {label:?} on the provisioning screen"))
        .clone();
    el.single_click(slint::platform::PointerEventButton::Left)
        .await;
    sleep(Duration::from_millis(30)).await;
}

/// Types `text` on the on-screen keys, switching 大写/小写 as needed.
async fn type_keys(ui: &ProvisionWindow, text: &str) {
    for c in text.chars() {
        let key = c.to_string();
        if c.is_ascii_alphabetic() {
            let shown = ElementHandle::find_by_accessible_label(ui, &key).next();
            if shown.is_none() {
                // The letters show the other case: switch.
                let switch = if c.is_ascii_uppercase() {
                    "大写"
                } else {
                    "小写"
                };
                tap(ui, switch).await;
            }
        }
        tap(ui, &key).await;
    }
}

async fn until_done(ui: &ProvisionWindow) {
    let end = Instant::now() + Duration::from_secs(90);
    while ui.global::<ProvisionAdapter>().get_stage() != ProvisionStage::Done {
        assert!(
            Instant::now() < end,
            "provisioning did not finish; progress: {:?}",
            progress_lines(ui)
        );
        sleep(Duration::from_millis(50)).await;
    }
}

fn row(ui: &ProvisionWindow, device: &str) -> (CheckResult, String, String) {
    let rows = ui.global::<ProvisionAdapter>().get_rows();
    let r = rows
        .iter()
        .find(|r| r.device == device)
        .unwrap_or_else(|| panic!("no row for {device}"));
    (r.result, r.problem.to_string(), r.found.to_string())
}

fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("provision-screen");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_bare_kiosk_is_provisioned_on_its_own_screen() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &[CODE]);
    let sntp = SntpServer::start(0);
    let printer = FakePrinter::start(Behaviour::default());
    let sam = SamEmulator::start();
    let text = bianmin_idcard::sam::text::text_for(&bianmin_idcard::simulator::demo_residents()[0]);
    sam.set(|s| s.card = Some(text));
    let config = dir.path().join("etc/kiosk.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("[clock]\nntp_servers = [\"{}\"]\n", sntp.addr),
    )
    .unwrap();
    let data = dir.path().join("data");

    init_headless().unwrap();
    let ui = ProvisionWindow::new().unwrap();
    ui.window().set_size(slint::PhysicalSize::new(1080, 1920));
    let into_service = wire(
        &ui,
        ProvisionOptions {
            cloud: None,
            code: None,
            printer_port: Some(printer.path.clone()),
            sam_port: Some(sam.path.clone()),
            pcsc: false,
            card_wait: Duration::from_secs(5),
            config_path: config.clone(),
            data_dir: data.clone(),
        },
        "",
        bianmin::Lang::Zh,
        false,
    );
    ui.show().unwrap();
    let shots = shots_dir();
    let finished = Rc::new(RefCell::new(false));
    {
        let ui = ui.clone_strong();
        let finished = finished.clone();
        let url = sim.url.clone();
        let printer_path = printer.path.clone();
        let data = data.clone();
        slint::spawn_local(async move {
            let a = ui.global::<ProvisionAdapter>();
            sleep(Duration::from_millis(100)).await;
            screenshot(&ui, &shots.join("entry.png")).unwrap();

            // Nothing typed: it says what is missing, and nothing starts.
            tap(&ui, "注册并开通").await;
            assert_eq!(a.get_stage(), ProvisionStage::Entry);
            assert!(text_on_screen(&ui, "请输入政务服务平台地址"));
            assert!(
                !data.exists(),
                "nothing is written before the technician starts"
            );

            // The address on the on-screen keys (small letters for a URL), then a wrong code.
            tap(&ui, "政务服务平台地址").await;
            type_keys(&ui, &url).await;
            assert_eq!(a.get_cloud_url(), url.as_str());
            tap(&ui, "注册码（见工单）").await;
            type_keys(&ui, "HALL7-2062").await;
            tap(&ui, "删除").await;
            tap(&ui, "删除").await;
            type_keys(&ui, "26").await;
            assert_eq!(a.get_code(), CODE);
            // …and mistype it after all.
            tap(&ui, "清空").await;
            type_keys(&ui, "HALL7-2025").await;
            tap(&ui, "注册并开通").await;
            assert_eq!(a.get_stage(), ProvisionStage::Running);
            until_done(&ui).await;
            screenshot(&ui, &shots.join("refused.png")).unwrap();
            assert!(!a.get_ok());
            let (enrol, problem, _) = row(&ui, "enrolment");
            assert_eq!(enrol, CheckResult::Fail);
            assert_eq!(problem, "enrol.unknown_code");
            assert!(
                text_on_screen(&ui, "注册码不正确"),
                "the advice is on screen in Chinese"
            );
            // The printer still printed its test page; the SAM reader read its card.
            let (p, _, found) = row(&ui, "printer");
            assert_eq!(p, CheckResult::Pass);
            assert_eq!(found, printer_path);
            assert_eq!(row(&ui, "reader").0, CheckResult::Pass);
            assert!(
                progress_lines(&ui)
                    .iter()
                    .any(|l| l.contains(&printer_path) && l.contains("printer")),
                "{:?}",
                progress_lines(&ui)
            );

            // The right code: the run resumes, and goes into service.
            tap(&ui, "修改注册码").await;
            assert_eq!(a.get_stage(), ProvisionStage::Entry);
            tap(&ui, "注册码（见工单）").await;
            tap(&ui, "清空").await;
            type_keys(&ui, CODE).await;
            tap(&ui, "注册并开通").await;
            until_done(&ui).await;
            assert!(
                a.get_ok(),
                "rows: {:?}",
                a.get_rows().iter().collect::<Vec<_>>()
            );
            assert!(a.get_device_id().starts_with("kiosk-"));
            for device in ["printer", "reader", "storage", "enrolment"] {
                assert_eq!(row(&ui, device).0, CheckResult::Pass, "{device}");
            }
            screenshot(&ui, &shots.join("done-zh.png")).unwrap();
            tap(&ui, "English").await;
            assert!(text_on_screen(&ui, "Put into service"));
            screenshot(&ui, &shots.join("done-en.png")).unwrap();
            // The tap ends the event loop: everything before it held.
            *finished.borrow_mut() = true;
            tap(&ui, "Put into service").await;
        })
        .unwrap();
    }
    slint::run_event_loop().unwrap();
    assert!(*finished.borrow(), "the screen was left before the end");
    assert!(into_service.get(), "投入服务 puts the kiosk into service");

    // What the screen did is what `bianmin provision` does: the config names the devices and
    // the cloud, the enrolment is stored, the slip printed, the test page only once.
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains(&printer.path), "{written}");
    assert!(written.contains(&sam.path), "{written}");
    assert!(written.contains(&sim.url), "{written}");
    assert!(bianmin::provision::enrolled(&data));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("provision.json")).unwrap()).unwrap();
    assert_eq!(report["ok"], true);
    let reused = report["reused"].to_string();
    assert!(reused.contains("printer test page"), "{reused}");
    let paper = printer.paperwork();
    assert_eq!(
        paper.cuts, 2,
        "one test page (first run) and one provisioning slip (second run)"
    );
    println!(
        "provisioning screen: {} papers cut (test page, slip); screenshots in {}",
        paper.cuts,
        shots_dir().display()
    );
}
