//! The self-test of a kiosk's devices: the printer (DLE EOT status and a test page carrying the
//! kiosk's id, site and a QR), the card readers (a test card read, masked), the sound (the test
//! prompt), the display, the clock (SNTP offset), the data folder (free space, fsync
//! durability) and the cloud (reach, TLS, latency). Technicians' provisioning and `bianmin
//! selftest` run it, and the running kiosk can run it with the devices it owns: every part is
//! optional, and a part not handed over is reported `skipped`.
//!
//! Reports carry no personal data: a test card is summarised by its type, masked number and
//! validity only.

mod clock;
mod devices;
mod system;

pub use clock::{sntp_offset, SntpAnswer};
pub use devices::{
    check_audio, check_display, check_printer, check_reader, PrinterTarget, ReaderUnderTest,
};
pub use devices::{mode_size, printer_trouble};
pub use system::{check_clock, check_cloud, check_storage, free_mb};

use crate::cloud::api::Site;
use crate::cloud::CloudClient;
use crate::config::ClockSection;
use crate::voice::Voice;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

/// How one device's check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Works.
    Pass,
    /// Works, but someone should look (paper near its end, a clock a few seconds off), or a
    /// warn-only device is missing (no sound: the kiosk serves with captions).
    Warn,
    /// Does not work: `detail` says what happened, `hint` what to check.
    Fail,
    /// Not part of this run (not handed over, or not needed).
    Skipped,
}

/// One device's result. `found` names what was tested (a port, a reader, a URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub result: Outcome,
    pub required: bool,
    pub found: Option<String>,
    pub detail: String,
    pub hint: Option<String>,
    /// What went wrong, as a code the screens translate (`printer.paper_out`, `enrol.code_used`,
    /// …); `detail` and `hint` stay the English diagnostics for the terminal and the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl Check {
    pub fn pass(found: Option<String>, detail: impl Into<String>) -> Check {
        Check {
            result: Outcome::Pass,
            required: false,
            found,
            detail: detail.into(),
            hint: None,
            problem: None,
        }
    }

    pub fn warn(
        found: Option<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check {
            result: Outcome::Warn,
            hint: Some(hint.into()),
            ..Check::pass(found, detail)
        }
    }

    pub fn fail(
        found: Option<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check {
            result: Outcome::Fail,
            hint: Some(hint.into()),
            ..Check::pass(found, detail)
        }
    }

    pub fn skipped(detail: impl Into<String>) -> Check {
        Check {
            result: Outcome::Skipped,
            ..Check::pass(None, detail)
        }
    }

    /// The same result, marked as a device the kiosk cannot serve without.
    pub fn required(mut self, required: bool) -> Check {
        self.required = required;
        self
    }

    /// The same result, with the code of what went wrong (see [`Check::problem`]).
    pub fn problem(mut self, code: &str) -> Check {
        self.problem = Some(code.to_string());
        self
    }

    /// Passed (a warning still passes: the device works).
    pub fn passed(&self) -> bool {
        matches!(self.result, Outcome::Pass | Outcome::Warn)
    }
}

/// A card read by the reader check: never the name or the full number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    /// resident_id, social_security, …
    pub card_type: String,
    /// As on receipts: 510107********0428.
    pub id_masked: String,
    pub expired: bool,
}

/// A reader found, and what it did with the test card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderFound {
    pub name: String,
    /// pcsc or gat467-serial
    pub backend: String,
    /// The ATR of the card on a PC/SC reader, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atr: Option<String>,
    pub card: Option<CardSummary>,
    /// The SAM module's id of a GA/T 467 reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sam_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderCheck {
    #[serde(flatten)]
    pub check: Check,
    pub readers: Vec<ReaderFound>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockCheck {
    #[serde(flatten)]
    pub check: Check,
    /// The server's time minus the kiosk's: positive when the kiosk's clock is behind.
    pub offset_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCheck {
    #[serde(flatten)]
    pub check: Check,
    pub free_mb: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudCheck {
    #[serde(flatten)]
    pub check: Check,
    pub latency_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayCheck {
    #[serde(flatten)]
    pub check: Check,
    /// "1080x1920", when the display reports it.
    pub size: Option<String>,
}

/// Every device's result. Required: printer, reader, storage, cloud (and enrolment when
/// provisioning); audio, display and clock only warn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceChecks {
    pub printer: Check,
    pub reader: ReaderCheck,
    pub audio: Check,
    pub display: DisplayCheck,
    pub clock: ClockCheck,
    pub storage: StorageCheck,
    pub cloud: CloudCheck,
    /// Provisioning only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<Check>,
}

impl DeviceChecks {
    /// (name, check) for each device, in report order.
    pub fn iter(&self) -> Vec<(&'static str, &Check)> {
        let mut v = vec![
            ("printer", &self.printer),
            ("reader", &self.reader.check),
            ("audio", &self.audio),
            ("display", &self.display.check),
            ("clock", &self.clock.check),
            ("storage", &self.storage.check),
            ("cloud", &self.cloud.check),
        ];
        if let Some(e) = &self.enrolment {
            v.push(("enrolment", e));
        }
        v
    }

    /// Every required device that was tested passed, and none failed.
    pub fn ok(&self) -> bool {
        self.iter()
            .iter()
            .all(|(_, c)| !c.required || c.passed() || c.result == Outcome::Skipped)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelftestReport {
    pub ok: bool,
    pub device_id: Option<String>,
    pub site: Option<Site>,
    pub elapsed_ms: u64,
    pub devices: DeviceChecks,
}

/// Who the kiosk is, for the test page.
#[derive(Debug, Clone)]
pub struct KioskIdentity {
    pub device_id: String,
    pub site: Site,
}

/// What a self-test run is given: each part it is not given is reported `skipped`.
#[derive(Default)]
pub struct SelftestTargets<'a> {
    pub kiosk: Option<KioskIdentity>,
    pub printer: Option<PrinterTarget<'a>>,
    /// Print the test page (else the printer is asked for its status only).
    pub print_test_page: bool,
    /// `None`: the readers are not part of this run; `Some(empty)`: none was found (a failure).
    pub readers: Option<Vec<ReaderUnderTest<'a>>>,
    /// How long each reader waits for its test card.
    pub card_wait: Duration,
    /// `Err(why)`: no sound output (a warning: captions carry on).
    pub voice: Option<Result<&'a mut Voice, String>>,
    /// Check the display (DRM connectors in sysfs).
    pub display: bool,
    pub clock: Option<&'a ClockSection>,
    pub data_dir: Option<&'a Path>,
    pub cloud: Option<CloudTarget<'a>>,
}

/// The cloud client and its URL; `enrolled`: it carries the device token.
pub struct CloudTarget<'a> {
    pub client: &'a CloudClient,
    pub url: &'a str,
    pub enrolled: bool,
}

/// Runs every check it is given. The cloud call is awaited; the device checks block (serial
/// lines, PC/SC, a prompt playing), so they run on scoped threads side by side, inside
/// `block_in_place` on a multi-threaded runtime (and inline on a current-thread one, e.g. a
/// technician's command).
pub async fn run(targets: SelftestTargets<'_>) -> SelftestReport {
    let started = Instant::now();
    let kiosk = targets.kiosk.clone();
    let cloud = match &targets.cloud {
        Some(c) => check_cloud(c.client, c.url, c.enrolled).await,
        None => CloudCheck {
            check: Check::skipped("the cloud is not part of this run").required(true),
            latency_ms: None,
        },
    };
    let blocking = move || run_blocking(targets, cloud);
    let devices = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(blocking),
        _ => blocking(),
    };
    SelftestReport {
        ok: devices.ok(),
        device_id: kiosk.as_ref().map(|k| k.device_id.clone()),
        site: kiosk.map(|k| k.site),
        elapsed_ms: started.elapsed().as_millis() as u64,
        devices,
    }
}

fn run_blocking(t: SelftestTargets<'_>, cloud: CloudCheck) -> DeviceChecks {
    let SelftestTargets {
        kiosk,
        printer,
        print_test_page,
        readers,
        card_wait,
        voice,
        display,
        clock,
        data_dir,
        cloud: _,
    } = t;
    let kiosk = kiosk.as_ref();
    std::thread::scope(|scope| {
        let printer = scope.spawn(move || match printer {
            Some(p) => check_printer(p, kiosk, print_test_page),
            None => Check::skipped("the printer is not part of this run").required(true),
        });
        let reader = scope.spawn(move || match readers {
            Some(r) => check_reader(r, card_wait),
            None => ReaderCheck {
                check: Check::skipped("the card readers are not part of this run").required(true),
                readers: Vec::new(),
            },
        });
        let audio = scope.spawn(move || match voice {
            Some(v) => check_audio(v),
            None => Check::skipped("the sound is not part of this run"),
        });
        let clock = match clock {
            Some(c) => check_clock(c),
            None => ClockCheck {
                check: Check::skipped("the clock is not part of this run"),
                offset_ms: None,
            },
        };
        let storage = match data_dir {
            Some(d) => check_storage(d),
            None => StorageCheck {
                check: Check::skipped("the data folder is not part of this run").required(true),
                free_mb: None,
            },
        };
        let display = if display {
            check_display(Path::new("/sys/class/drm"))
        } else {
            DisplayCheck {
                check: Check::skipped("the display is not part of this run"),
                size: None,
            }
        };
        let join = |what: &str| format!("the {what} check stopped unexpectedly");
        DeviceChecks {
            printer: printer.join().unwrap_or_else(|_| {
                Check::fail(
                    None,
                    join("printer"),
                    "run it again; report it if it repeats",
                )
                .required(true)
            }),
            reader: reader.join().unwrap_or_else(|_| ReaderCheck {
                check: Check::fail(
                    None,
                    join("reader"),
                    "run it again; report it if it repeats",
                )
                .required(true),
                readers: Vec::new(),
            }),
            audio: audio.join().unwrap_or_else(|_| {
                Check::warn(None, join("sound"), "run it again; report it if it repeats")
            }),
            display,
            clock,
            storage,
            cloud,
            enrolment: None,
        }
    })
}
