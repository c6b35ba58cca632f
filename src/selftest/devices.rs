//! The device checks: printer, card readers, sound and display.

use super::{CardSummary, Check, DisplayCheck, KioskIdentity, ReaderCheck, ReaderFound};
use crate::printing::{templates, PrintService, Printed};
use crate::voice::Voice;
use bianmin_idcard::{IdentityReader, ReaderEvent};
use bianmin_printer::{Paper, PrintError, PrinterStatus, ReceiptPrinter};
use std::path::Path;
use std::time::{Duration, Instant};

/// The printer under test: a device (provisioning opens it on the port it found) or the running
/// kiosk's print service (the test page then goes through its spool like any paper).
pub enum PrinterTarget<'a> {
    Device {
        printer: &'a mut dyn ReceiptPrinter,
        /// Where it is (a serial port), for the report.
        port: String,
        width_dots: u32,
    },
    Service {
        print: &'a mut PrintService,
        port: String,
    },
}

/// One card reader and what is known of it before the test.
pub struct ReaderUnderTest<'a> {
    /// The reader's name as its events carry it (the PC/SC name, or the SAM's serial port).
    pub name: String,
    /// pcsc or gat467-serial
    pub backend: String,
    pub atr: Option<String>,
    pub sam_id: Option<String>,
    pub reader: &'a mut dyn IdentityReader,
}

/// What to do about a printer that is not ready or does not answer.
/// The problem code of a printer error (see [`Check::problem`]).
pub fn printer_problem(e: &PrintError) -> &'static str {
    match e.cause() {
        PrintError::NoAnswer => "printer.no_answer",
        PrintError::Offline => "printer.missing",
        PrintError::PaperOut => "printer.paper_out",
        PrintError::CoverOpen => "printer.cover_open",
        PrintError::CutterError => "printer.cutter",
        PrintError::NotConfirmed => "printer.not_confirmed",
        _ => "printer.failed",
    }
}

pub fn printer_trouble(port: &str, e: &PrintError) -> (String, String) {
    match e.cause() {
        PrintError::NoAnswer => (
            format!("the printer at {port} did not answer DLE EOT"),
            "check the printer's power, its cable, and the baud rate (printer.baud, --printer-baud)".into(),
        ),
        PrintError::Offline => (
            format!("no printer at {port}: the port is missing or the printer is off"),
            format!("check the USB cable and that {port} exists (ls -l {port}); a udev name such as /dev/bianmin-printer survives re-plugging"),
        ),
        PrintError::PaperOut => ("the printer is out of paper".into(), "load a paper roll".into()),
        PrintError::CoverOpen => ("the printer's cover is open".into(), "close the cover until it clicks".into()),
        PrintError::CutterError => ("the printer's cutter is jammed".into(), "open the cover, clear the cutter, close it".into()),
        PrintError::NotConfirmed => (
            format!("the printer at {port} took the test page but did not confirm its end (GS r)"),
            "look at the paper; check flow control (printer.flow) and the cable".into(),
        ),
        other => (format!("the printer at {port} failed: {other}"), "check the cable and the port's permissions (the kiosk user must be in the dialout group)".into()),
    }
}

fn status_trouble(s: &PrinterStatus) -> Option<(String, String, &'static str)> {
    let e = if s.paper == Paper::Out {
        PrintError::PaperOut
    } else if s.cover_open {
        PrintError::CoverOpen
    } else if s.cutter_error {
        PrintError::CutterError
    } else if !s.online {
        return Some((
            "the printer answers but is offline".into(),
            "press the printer's online/feed button and check its error light".into(),
            "printer.offline",
        ));
    } else {
        return None;
    };
    let (detail, hint) = printer_trouble("", &e);
    Some((detail, hint, printer_problem(&e)))
}

/// DLE EOT status, then (with `test_page`) the test page with the kiosk's id, site and a QR.
pub fn check_printer(
    target: PrinterTarget<'_>,
    kiosk: Option<&KioskIdentity>,
    test_page: bool,
) -> Check {
    let at = crate::time::now_rfc3339();
    let (port, status, printed) = match target {
        PrinterTarget::Device {
            printer,
            port,
            width_dots,
        } => {
            let status = printer.status();
            let printed = (test_page && status.as_ref().is_ok_and(|s| s.can_print())).then(|| {
                printer.print(&templates::selftest_page(
                    kiosk_parts(kiosk),
                    &at,
                    width_dots,
                ))
            });
            (port, status, printed)
        }
        PrinterTarget::Service { print, port } => {
            let status = print.status();
            let printed = (test_page && status.as_ref().is_ok_and(|s| s.can_print())).then(|| {
                let page = templates::selftest_page(kiosk_parts(kiosk), &at, print.width_dots());
                match print.print(&page).state {
                    Printed::Done => Ok(()),
                    Printed::PaperOut => Err(PrintError::PaperOut),
                    Printed::Failed => Err(PrintError::NotConfirmed),
                }
            });
            (port, status, printed)
        }
    };
    let found = Some(port.clone());
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            let (detail, hint) = printer_trouble(&port, &e);
            return Check::fail(found, detail, hint)
                .required(true)
                .problem(printer_problem(&e));
        }
    };
    if let Some((detail, hint, problem)) = status_trouble(&status) {
        return Check::fail(found, format!("{detail} (at {port})"), hint)
            .required(true)
            .problem(problem);
    }
    let near_end = status.paper == Paper::NearEnd;
    match printed {
        Some(Err(e)) => {
            let (detail, hint) = printer_trouble(&port, &e);
            Check::fail(
                found,
                format!("the test page did not print: {detail}"),
                hint,
            )
            .required(true)
            .problem(printer_problem(&e))
        }
        Some(Ok(())) if near_end => Check::warn(
            found,
            "status ok, test page printed; the paper is near its end",
            "put a new roll in soon",
        )
        .required(true)
        .problem("printer.paper_near_end"),
        Some(Ok(())) => Check::pass(
            found,
            "answered DLE EOT (online, paper ok); test page printed",
        )
        .required(true),
        None if near_end => Check::warn(
            found,
            "answered DLE EOT (online); the paper is near its end",
            "put a new roll in soon",
        )
        .required(true)
        .problem("printer.paper_near_end"),
        None => Check::pass(found, "answered DLE EOT (online, paper ok)").required(true),
    }
}

fn kiosk_parts(k: Option<&KioskIdentity>) -> Option<(&str, &crate::cloud::api::Site)> {
    k.map(|k| (k.device_id.as_str(), &k.site))
}

/// Each reader waits up to `card_wait` for its test card (read side by side); the report keeps
/// a masked summary of the card only.
pub fn check_reader(readers: Vec<ReaderUnderTest<'_>>, card_wait: Duration) -> ReaderCheck {
    if readers.is_empty() {
        return ReaderCheck {
            check: Check::fail(
                None,
                "no card reader found: no PC/SC reader in pcscd and no GA/T 467 SAM reader answering on a serial port",
                "check the reader's USB cable; for PC/SC readers that pcscd runs (systemctl status pcscd) and lists it (pcsc_scan); for a serial SAM reader its port (--sam-port) and baud (card_reader.sam_baud)",
            )
            .required(true)
            .problem("reader.none"),
            readers: Vec::new(),
        };
    }
    // The slots of one PC/SC reader (a dual-interface reader lists its contact and contactless
    // slots as two readers) take one test card between them: once a slot has read it, the
    // others stop waiting.
    let pcsc_read = std::sync::atomic::AtomicBool::new(false);
    let pcsc_read = &pcsc_read;
    let results: Vec<ReadResult> = std::thread::scope(|s| {
        let handles: Vec<_> = readers
            .into_iter()
            .map(|r| s.spawn(move || read_test_card(r, card_wait, pcsc_read)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        ReaderFound {
                            name: "?".into(),
                            backend: "?".into(),
                            atr: None,
                            card: None,
                            sam_id: None,
                        },
                        Err((
                            "the reader check stopped unexpectedly".into(),
                            "run it again".into(),
                        )),
                    )
                })
            })
            .collect()
    });
    let names = results
        .iter()
        .map(|(r, _)| r.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let slot_read = pcsc_read.load(std::sync::atomic::Ordering::SeqCst);
    let failures: Vec<&(String, String)> = results
        .iter()
        .filter(|(r, res)| {
            !(slot_read
                && r.backend == "pcsc"
                && r.card.is_none()
                && res.as_ref().is_err_and(|e| e.0.contains(NO_CARD)))
        })
        .filter_map(|(_, r)| r.as_ref().err())
        .collect();
    let read = results.iter().filter(|(r, _)| r.card.is_some()).count();
    let check = if failures.is_empty() {
        Check::pass(
            Some(names),
            if read == results.len() {
                format!("a test card was read on every reader ({read})")
            } else {
                format!(
                    "a test card was read on {read} of {} readers (the other PC/SC slots share the reader that read it)",
                    results.len()
                )
            },
        )
    } else {
        Check::fail(
            Some(names),
            failures
                .iter()
                .map(|f| f.0.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            failures
                .iter()
                .map(|f| f.1.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        )
        .problem(if failures.iter().all(|f| f.0.contains(NO_CARD)) {
            "reader.no_card"
        } else {
            "reader.read_failed"
        })
    };
    ReaderCheck {
        check: check.required(true),
        readers: results.into_iter().map(|(r, _)| r).collect(),
    }
}

/// A reader's entry, and what went wrong (detail, hint) when it did.
type ReadResult = (ReaderFound, Result<(), (String, String)>);

/// How a reader that saw no card says so (the PC/SC slot rule above looks for it).
const NO_CARD: &str = "no test card was read within";

fn read_test_card(
    r: ReaderUnderTest<'_>,
    wait: Duration,
    pcsc_read: &std::sync::atomic::AtomicBool,
) -> ReadResult {
    use std::sync::atomic::Ordering;
    let mut found = ReaderFound {
        name: r.name.clone(),
        backend: r.backend.clone(),
        atr: r.atr.clone(),
        card: None,
        sam_id: r.sam_id.clone(),
    };
    let end = Instant::now() + wait;
    let mut attached = false;
    while Instant::now() < end {
        if r.backend == "pcsc" && pcsc_read.load(Ordering::SeqCst) {
            break;
        }
        let Some(ev) = r.reader.next_event(Duration::from_millis(200)) else {
            continue;
        };
        match ev {
            ReaderEvent::ReaderAttached { reader } if reader == r.name => attached = true,
            ReaderEvent::CardInserted { reader, identity } if reader == r.name => {
                let today = chrono::Local::now().date_naive();
                found.card = Some(CardSummary {
                    card_type: identity.card_type.code().into(),
                    id_masked: identity.id_masked(),
                    expired: identity.is_expired_on(today),
                });
                if r.backend == "pcsc" {
                    pcsc_read.store(true, Ordering::SeqCst);
                }
                return (found, Ok(()));
            }
            ReaderEvent::ReadFailed { reader, reason } if reader == r.name => {
                return (
                    found,
                    Err((
                        format!("{}: the test card could not be read: {reason}", r.name),
                        "use a valid test ID card or social-security card, placed flat on the reader; try another card".into(),
                    )),
                )
            }
            ReaderEvent::ReaderLost { reader } if reader == r.name => {
                return (
                    found,
                    Err((
                        format!("{} went away during the test", r.name),
                        "check the reader's cable and power".into(),
                    )),
                )
            }
            _ => {}
        }
    }
    let why = if attached || r.backend == "pcsc" {
        format!("{}: {NO_CARD} {} s", r.name, wait.as_secs_f64())
    } else {
        format!(
            "{}: the reader did not answer within {} s",
            r.name,
            wait.as_secs_f64()
        )
    };
    (
        found,
        Err((
            why,
            format!(
                "put a test card on {} and run again (provisioning resumes where it stopped; --card-wait SECS waits longer)",
                r.name
            ),
        )),
    )
}

/// Plays the test prompt (event.test) and waits for its end; no sound is a warning only (the
/// kiosk serves with captions).
pub fn check_audio(voice: Result<&mut Voice, String>) -> Check {
    let voice = match voice {
        Ok(v) => v,
        Err(why) => {
            return Check::warn(
                None,
                format!("no sound output: {why}; the kiosk serves with captions only"),
                "check that a sound card is present (aplay -l), the speaker cable, and voice.device in the config",
            )
            .problem("audio.none")
        }
    };
    if let Some(why) = voice.fault() {
        return Check::warn(
            None,
            format!("no sound: {why}; the kiosk serves with captions only"),
            "check that a sound card is present (aplay -l), voice.device, and the voice pack (voice.pack)",
        )
        .problem("audio.none");
    }
    let before = voice.said.len();
    voice.say_now(crate::voice::prompts::test(), crate::Lang::Zh);
    let started = Instant::now();
    while voice.playing() && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
    }
    match voice.said.get(before) {
        Some(said) => Check::pass(
            None,
            format!(
                "played the test prompt ({} ms): “{}”",
                said.ms, said.caption
            ),
        ),
        None => Check::warn(
            None,
            "the test prompt did not play",
            "check voice.device and the voice pack (bianmin say)",
        )
        .problem("audio.silent"),
    }
}

/// The connected display and its preferred mode, from DRM in sysfs (`drm` is /sys/class/drm).
/// Unknown is a warning only: the kiosk still draws at the configured orientation.
pub fn check_display(drm: &Path) -> DisplayCheck {
    let mut connected = Vec::new();
    if let Ok(entries) = std::fs::read_dir(drm) {
        for e in entries.flatten() {
            let dir = e.path();
            let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
            if status.trim() != "connected" {
                continue;
            }
            let mode = std::fs::read_to_string(dir.join("modes"))
                .ok()
                .and_then(|m| m.lines().next().map(str::to_string));
            connected.push((e.file_name().to_string_lossy().to_string(), mode));
        }
    }
    connected.sort();
    match connected.into_iter().next() {
        Some((name, Some(mode))) => DisplayCheck {
            check: Check::pass(Some(name), format!("connected, preferred mode {mode}")),
            size: Some(mode),
        },
        Some((name, None)) => DisplayCheck {
            check: Check::warn(
                Some(name),
                "connected, but it reports no modes",
                "check the display cable (HDMI/eDP) and that the display is on",
            )
            .problem("display.no_modes"),
            size: None,
        },
        None => DisplayCheck {
            check: Check::warn(
                None,
                format!(
                    "display size unknown: no connected display in {}",
                    drm.display()
                ),
                "check the display cable and power; the kiosk draws at kiosk.orientation meanwhile",
            )
            .problem("display.unknown"),
            size: None,
        },
    }
}

/// (width, height) of a mode such as "1920x1080" (or "1920x1080i").
pub fn mode_size(mode: &str) -> Option<(u32, u32)> {
    let (w, h) = mode.split_once('x')?;
    let h: String = h.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((w.parse().ok()?, h.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_from_drm_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let unknown = check_display(dir.path());
        assert_eq!(unknown.check.result, super::super::Outcome::Warn);
        assert!(unknown.size.is_none());
        let off = dir.path().join("card0-DP-1");
        std::fs::create_dir(&off).unwrap();
        std::fs::write(off.join("status"), "disconnected\n").unwrap();
        let on = dir.path().join("card0-HDMI-A-1");
        std::fs::create_dir(&on).unwrap();
        std::fs::write(on.join("status"), "connected\n").unwrap();
        std::fs::write(on.join("modes"), "1080x1920\n1920x1080\n").unwrap();
        let d = check_display(dir.path());
        assert_eq!(d.check.result, super::super::Outcome::Pass);
        assert_eq!(d.check.found.as_deref(), Some("card0-HDMI-A-1"));
        assert_eq!(d.size.as_deref(), Some("1080x1920"));
        assert_eq!(mode_size("1920x1080i"), Some((1920, 1080)));
    }
}
