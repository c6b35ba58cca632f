//! The serial ESC/POS printer against a fake printer on a pseudo-terminal pair: status, a whole
//! ticket decoded back to Chinese, and the faults (paper out before and during a job, cover open,
//! silence, a port that is not there).

mod support;

use bianmin_printer::escpos::EncodeOptions;
use bianmin_printer::{Paper, PrintError, ReceiptPrinter, SerialConfig, SerialPrinter};
use std::sync::Arc;
use std::time::Duration;
use support::fake_printer::{Behaviour, FakePrinter};

fn printer(fake: &FakePrinter) -> SerialPrinter {
    let mut cfg = SerialConfig::new(&fake.path, 115_200);
    cfg.answer_timeout = Duration::from_millis(300);
    cfg.job_timeout = Duration::from_secs(2);
    SerialPrinter::new(
        cfg,
        Arc::new(bianmin::printing::preview_fonts()),
        EncodeOptions::default(),
    )
}

fn ticket() -> bianmin_printer::Receipt {
    bianmin::printing::templates::sample("queue_ticket", 576).expect("the queue ticket template")
}

#[test]
fn status_is_read_and_decoded() {
    let fake = FakePrinter::start(Behaviour::default());
    let mut p = printer(&fake);
    let s = p.read_status().unwrap();
    assert!(s.online && s.can_print());
    fake.set(|b| b.status.paper = Paper::NearEnd);
    assert_eq!(p.read_status().unwrap().paper, Paper::NearEnd);
    fake.set(|b| {
        b.status.cover_open = true;
        b.status.online = false;
    });
    let s = p.read_status().unwrap();
    assert!(s.cover_open && !s.online);
}

#[test]
fn a_ticket_prints_with_its_chinese_text_and_cut() {
    let fake = FakePrinter::start(Behaviour::default());
    let mut p = printer(&fake);
    p.print(&ticket()).unwrap();
    let paper = fake.paperwork();
    assert!(paper.chinese_mode, "FS & sent");
    let text = paper.lines.join("\n");
    for want in [
        "排队取号  Queue ticket",
        "A006",
        "社保医保 Social & medical insurance",
        "长辈优先 Priority",
        "成华区建设路街道办事处",
    ] {
        assert!(text.contains(want), "{want:?} not printed:\n{text}");
    }
    assert_eq!(paper.cuts, 1);
    assert!(
        paper.rasters.is_empty(),
        "every character of a ticket is in the ROM font"
    );
}

#[test]
fn qr_payloads_and_rare_characters() {
    let fake = FakePrinter::start(Behaviour::default());
    let mut p = printer(&fake);
    let r = bianmin_printer::Receipt::new("certificate")
        .text("姓名：𠮷田")
        .qr("https://zwfw.example.gov.cn/verify/ZM2026000001?code=ABCD2345")
        .unwrap()
        .cut();
    p.print(&r).unwrap();
    let paper = fake.paperwork();
    assert_eq!(
        paper.qr_payloads,
        vec!["https://zwfw.example.gov.cn/verify/ZM2026000001?code=ABCD2345".to_string()]
    );
    assert_eq!(
        paper.rasters.len(),
        1,
        "the line with 𠮷 went out as an image"
    );
    assert_eq!(paper.rasters[0].0, 72);
}

#[test]
fn paper_out_before_a_job_sends_nothing() {
    let fake = FakePrinter::start(Behaviour::default());
    fake.set(|b| {
        b.status.paper = Paper::Out;
        b.status.online = false;
    });
    let mut p = printer(&fake);
    assert_eq!(p.print(&ticket()), Err(PrintError::PaperOut));
    let paper = fake.paperwork();
    assert!(
        paper.lines.is_empty() && paper.resets == 0,
        "no job bytes were sent"
    );
}

#[test]
fn cover_open_before_a_job_is_reported() {
    let fake = FakePrinter::start(Behaviour::default());
    fake.set(|b| {
        b.status.cover_open = true;
        b.status.online = false;
    });
    assert_eq!(printer(&fake).print(&ticket()), Err(PrintError::CoverOpen));
}

#[test]
fn paper_running_out_mid_job_is_not_confirmed() {
    let fake = FakePrinter::start(Behaviour {
        paper_out_after: Some(120),
        ..Default::default()
    });
    let mut p = printer(&fake);
    let err = p.print(&ticket()).unwrap_err();
    assert!(matches!(err, PrintError::InDoubt(_)), "{err:?}");
    assert_eq!(
        err.cause(),
        &PrintError::PaperOut,
        "the job is in doubt, and the reason is known"
    );
    assert_eq!(fake.paperwork().cuts, 0);
}

#[test]
fn a_silent_printer_is_no_answer() {
    let fake = FakePrinter::start(Behaviour {
        silent: true,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    assert_eq!(
        printer(&fake).print(&ticket()),
        Err(PrintError::NoAnswer),
        "refused before any job byte"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up after the answer timeout"
    );
}

#[test]
fn a_missing_port_is_offline() {
    let mut cfg = SerialConfig::new("/dev/does-not-exist-bianmin", 9600);
    cfg.answer_timeout = Duration::from_millis(100);
    let mut p = SerialPrinter::new(
        cfg,
        Arc::new(bianmin_printer::PreviewFonts::new()),
        EncodeOptions::default(),
    );
    assert_eq!(p.read_status(), Err(PrintError::Offline));
}

#[test]
fn every_template_prints_and_decodes_back() {
    use bianmin::printing::templates;
    let fake = FakePrinter::start(Behaviour::default());
    let mut p = printer(&fake);
    for name in templates::NAMES {
        let r = templates::sample(name, 576).unwrap();
        p.print(&r).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let paper = fake.paperwork();
    assert_eq!(paper.cuts, templates::NAMES.len());
    let text = paper.lines.join("\n");
    for want in [
        "缴费凭证",
        "合计 Total  ￥97.80",
        "受理回执",
        "查询码 Query code",
        "社会保险参保证明",
        "510107********0428",
        "2026-01—2026-10",
        "办件进度",
        "当前状态：审批中",
        "A006",
    ] {
        assert!(text.contains(want), "{want:?} not printed");
    }
    assert!(
        paper.barcodes.contains(&"RC2026000031".to_string())
            && paper.barcodes.contains(&"BM2026000123".to_string()),
        "{:?}",
        paper.barcodes
    );
    assert!(paper.qr_payloads.contains(
        &"https://zwfw.example.gov.cn/v1/certificates/ZM2026000001?verify_code=K7PQ2MXA"
            .to_string()
    ));
    assert_eq!(
        paper.rasters.len(),
        1,
        "only the test page's rare-character line is an image"
    );
}

#[test]
fn a_port_that_comes_back_is_reopened() {
    let fake = FakePrinter::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyUSB-printer");
    let mut cfg = SerialConfig::new(link.to_str().unwrap(), 9600);
    cfg.answer_timeout = Duration::from_millis(200);
    let mut p = SerialPrinter::new(
        cfg,
        Arc::new(bianmin_printer::PreviewFonts::new()),
        EncodeOptions::default(),
    );
    assert_eq!(p.read_status(), Err(PrintError::Offline), "unplugged");
    std::os::unix::fs::symlink(&fake.path, &link).unwrap();
    assert!(
        p.read_status().unwrap().online,
        "plugged back in: the next call reopens the port"
    );
}

#[test]
fn cover_opened_mid_job_is_in_doubt_with_the_reason() {
    let fake = FakePrinter::start(Behaviour {
        cover_open_after: Some(200),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let err = printer(&fake).print(&ticket()).unwrap_err();
    assert_eq!(err.cause(), &PrintError::CoverOpen, "{err:?}");
    assert!(matches!(err, PrintError::InDoubt(_)));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "found out while waiting, not at the job timeout"
    );
}
