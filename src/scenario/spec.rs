//! The scenario file format: an optional header and an array of `[[step]]` tables, each with
//! exactly one action key. Unknown keys are errors that name the step.

use crate::cloud_sim::Fault;
use crate::Lang;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Put the Nth demo resident's card (from 1) on the reader.
    InsertCard(usize),
    RemoveCard,
    /// Tap the element with this accessible label.
    Tap(String),
    /// Hold a finger for 3.3 s on the element with this accessible label, or on `corner` (the
    /// attract page's technician corner).
    LongPress(String),
    /// Tap, and go on at once without waiting for the kiosk to finish what the tap started
    /// (e.g. to pull the card while it waits for the cloud).
    TapNoWait(String),
    /// Type text into the focused field.
    Type(String),
    /// Tap these letters (and ' for a syllable break) on the on-screen keyboard in pinyin,
    /// switching it to pinyin letters first if needed.
    TypePinyin(String),
    /// Tap the candidate with exactly this text on the keyboard's bar, paging on to it.
    ChooseCandidate(String),
    ExpectText(String),
    /// The text comes on screen within two minutes: for what changes from outside the kiosk
    /// (the cloud's commands and catalogue), not from a step.
    AwaitText(String),
    ExpectNoText(String),
    /// The text is on screen and a resident can read it: inside the window, not clipped by an
    /// ancestor, not cut by its own box, not covered by anything drawn above it.
    ExpectVisible(String),
    /// Every text on the page is readable and overlaps nothing it does not belong to. The
    /// string names the state in the report (empty: described from the frame alone).
    CheckLayout(String),
    /// Every control on the page is labelled once, big enough, apart from the others and on
    /// screen; every text big enough; text and controls in contrast with what they sit on (see
    /// src/scenario/accessibility.rs). The string names the state, as for `check_layout`.
    CheckAccessibility(String),
    ExpectPage(String),
    /// A printout containing this text.
    ExpectPrint(String),
    /// No printout (done or not) contains this text, after the kiosk settled.
    ExpectNoPrint(String),
    /// Wait until the kiosk is back on the attract screen.
    WaitAttract,
    Lang(Lang),
    Elderly(bool),
    /// Open a service from the home page by its catalogue code.
    OpenService(String),
    /// Embedded simulator only: none, down, slow, error, malformed.
    CloudFault(String),
    /// Simulated printer only: "paper_out" or "none".
    PrinterFault(String),
    /// The kiosk's database refuses writes ("read_only") or works ("none").
    StorageFault(String),
    WaitSeconds(f64),
    /// Save a screenshot under this name now.
    Screenshot(String),
    /// Render the whole window this many times with the software renderer, timing each.
    MeasureRender(usize),
    /// The process's resident memory now, recorded in the transcript under this label (the
    /// memory benchmark's sessions in a row).
    RecordMemory(String),
    /// A prompt the kiosk spoke (e.g. "take_card").
    ExpectSpoken(String),
    /// The resident's phone pays the order on the payment page (simulator control route), with
    /// this channel (`wechat`, `alipay`, `unionpay`).
    PhonePay(String),
    /// Another channel pays all unpaid bills of `utility:account` (a phone app, another kiosk).
    PayElsewhere(String),
    /// The simulator's payment orders expire after this many seconds from now on.
    PaymentTtl(u64),
    /// Key in the digits of the last order seen on the payment page (as from its slip).
    KeyInOrder,
}

pub const STEP_KEYS: &[&str] = &[
    "insert_card",
    "remove_card",
    "tap",
    "long_press",
    "tap_no_wait",
    "type",
    "type_pinyin",
    "choose_candidate",
    "expect_text",
    "await_text",
    "expect_no_text",
    "expect_visible",
    "check_layout",
    "check_accessibility",
    "expect_page",
    "expect_print",
    "expect_no_print",
    "wait_attract",
    "lang",
    "elderly",
    "open_service",
    "cloud_fault",
    "printer_fault",
    "storage_fault",
    "wait_s",
    "screenshot",
    "measure_render",
    "record_memory",
    "expect_spoken",
    "phone_pay",
    "pay_elsewhere",
    "payment_ttl_s",
    "key_in_order",
];

const HEADER_KEYS: &[&str] = &[
    "name",
    "description",
    "page_timeout_s",
    "warning_s",
    "landscape",
    "layout_report",
    "technician_pin_hash",
    "technician_cards",
    "record_steps",
    "step",
];

#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub page_timeout_s: Option<u64>,
    pub warning_s: Option<u64>,
    pub landscape: bool,
    /// `check_layout` and `check_accessibility` record what they find in the transcript and the
    /// journey carries on (for surveys such as tests/layout.rs and tests/accessibility.rs);
    /// otherwise a finding fails the step.
    pub layout_report: bool,
    /// `technician.pin_hash` for this run (an Argon2id PHC string), over the config's.
    pub technician_pin_hash: Option<String>,
    /// `technician.cards` for this run (Argon2id PHC strings of the cards' numbers).
    pub technician_cards: Vec<String>,
    /// `record_steps = false`: the transcript keeps no record of the steps that passed and of
    /// the pages seen (a benchmark's thousands of sessions measure the kiosk, not the transcript).
    pub forget_steps: bool,
    pub steps: Vec<Step>,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::InsertCard(n) => write!(f, "insert_card = {n}"),
            Step::RemoveCard => write!(f, "remove_card = true"),
            Step::Tap(s) => write!(f, "tap = {s:?}"),
            Step::LongPress(s) => write!(f, "long_press = {s:?}"),
            Step::TapNoWait(s) => write!(f, "tap_no_wait = {s:?}"),
            Step::Type(s) => write!(f, "type = {s:?}"),
            Step::TypePinyin(s) => write!(f, "type_pinyin = {s:?}"),
            Step::ChooseCandidate(s) => write!(f, "choose_candidate = {s:?}"),
            Step::ExpectText(s) => write!(f, "expect_text = {s:?}"),
            Step::AwaitText(s) => write!(f, "await_text = {s:?}"),
            Step::ExpectNoText(s) => write!(f, "expect_no_text = {s:?}"),
            Step::ExpectVisible(s) => write!(f, "expect_visible = {s:?}"),
            Step::CheckLayout(s) if s.is_empty() => write!(f, "check_layout = true"),
            Step::CheckLayout(s) => write!(f, "check_layout = {s:?}"),
            Step::CheckAccessibility(s) if s.is_empty() => write!(f, "check_accessibility = true"),
            Step::CheckAccessibility(s) => write!(f, "check_accessibility = {s:?}"),
            Step::ExpectPage(s) => write!(f, "expect_page = {s:?}"),
            Step::ExpectPrint(s) => write!(f, "expect_print = {s:?}"),
            Step::ExpectNoPrint(s) => write!(f, "expect_no_print = {s:?}"),
            Step::WaitAttract => write!(f, "wait_attract = true"),
            Step::Lang(l) => write!(f, "lang = {:?}", l.code()),
            Step::Elderly(b) => write!(f, "elderly = {b}"),
            Step::OpenService(s) => write!(f, "open_service = {s:?}"),
            Step::CloudFault(s) => write!(f, "cloud_fault = {s:?}"),
            Step::PrinterFault(s) => write!(f, "printer_fault = {s:?}"),
            Step::StorageFault(s) => write!(f, "storage_fault = {s:?}"),
            Step::WaitSeconds(s) => write!(f, "wait_s = {s}"),
            Step::Screenshot(s) => write!(f, "screenshot = {s:?}"),
            Step::MeasureRender(n) => write!(f, "measure_render = {n}"),
            Step::RecordMemory(l) => write!(f, "record_memory = {l:?}"),
            Step::ExpectSpoken(s) => write!(f, "expect_spoken = {s:?}"),
            Step::PhonePay(c) => write!(f, "phone_pay = {c:?}"),
            Step::PayElsewhere(a) => write!(f, "pay_elsewhere = {a:?}"),
            Step::PaymentTtl(n) => write!(f, "payment_ttl_s = {n}"),
            Step::KeyInOrder => write!(f, "key_in_order = true"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SpecError {
    pub path: String,
    pub message: String,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Scenario::parse(&text).map_err(|message| SpecError {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Scenario, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut sc = Scenario::default();
        for (k, v) in &table {
            match k.as_str() {
                "name" => sc.name = v.as_str().ok_or("name must be a string")?.into(),
                "description" => {
                    sc.description = v.as_str().ok_or("description must be a string")?.into()
                }
                "page_timeout_s" => {
                    sc.page_timeout_s = Some(
                        v.as_integer()
                            .filter(|n| *n > 0)
                            .ok_or("page_timeout_s must be a positive integer")?
                            as u64,
                    )
                }
                "warning_s" => {
                    sc.warning_s = Some(
                        v.as_integer()
                            .filter(|n| *n > 0)
                            .ok_or("warning_s must be a positive integer")?
                            as u64,
                    )
                }
                "landscape" => {
                    sc.landscape = v.as_bool().ok_or("landscape must be true or false")?
                }
                "record_steps" => {
                    sc.forget_steps = !v.as_bool().ok_or("record_steps must be true or false")?
                }
                "layout_report" => {
                    sc.layout_report = v.as_bool().ok_or("layout_report must be true or false")?
                }
                "technician_pin_hash" => {
                    let h = v
                        .as_str()
                        .ok_or("technician_pin_hash must be a string")?
                        .to_string();
                    crate::technician::check_hash(&h)
                        .map_err(|e| format!("technician_pin_hash: {e}"))?;
                    sc.technician_pin_hash = Some(h);
                }
                "technician_cards" => {
                    let list = v
                        .as_array()
                        .ok_or("technician_cards must be a list of hashes")?;
                    for h in list {
                        let h = h
                            .as_str()
                            .ok_or("technician_cards must be a list of hashes")?;
                        crate::technician::check_hash(h)
                            .map_err(|e| format!("technician_cards: {e}"))?;
                        sc.technician_cards.push(h.to_string());
                    }
                }
                "step" => {}
                other => {
                    return Err(format!(
                        "unknown top-level key `{other}` (known: {})",
                        HEADER_KEYS.join(", ")
                    ))
                }
            }
        }
        let steps = table
            .get("step")
            .and_then(|s| s.as_array())
            .ok_or("a scenario needs [[step]] entries")?;
        for (i, raw) in steps.iter().enumerate() {
            let n = i + 1;
            let t = raw
                .as_table()
                .ok_or_else(|| format!("step {n}: must be a table"))?;
            if t.len() != 1 {
                let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                return Err(format!(
                    "step {n}: needs exactly one action, found {}",
                    if keys.is_empty() {
                        "none".into()
                    } else {
                        keys.join(", ")
                    }
                ));
            }
            let (k, v) = t.iter().next().expect("one entry");
            sc.steps
                .push(parse_step(k, v).map_err(|e| format!("step {n}: {e}"))?);
        }
        Ok(sc)
    }
}

fn string(k: &str, v: &toml::Value) -> Result<String, String> {
    v.as_str()
        .map(String::from)
        .ok_or_else(|| format!("`{k}` needs a string"))
}

fn truth(k: &str, v: &toml::Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("`{k}` needs true or false"))
}

fn parse_step(k: &str, v: &toml::Value) -> Result<Step, String> {
    Ok(match k {
        "insert_card" => Step::InsertCard(
            v.as_integer()
                .filter(|n| *n >= 1)
                .ok_or("`insert_card` needs a resident number from 1")? as usize,
        ),
        "remove_card" => {
            truth(k, v)?;
            Step::RemoveCard
        }
        "tap" => Step::Tap(string(k, v)?),
        "long_press" => {
            let s = string(k, v)?;
            if s.is_empty() {
                return Err("`long_press` needs `corner` or an element's label".into());
            }
            Step::LongPress(s)
        }
        "phone_pay" => Step::PhonePay(match v {
            toml::Value::Boolean(true) => "wechat".into(),
            toml::Value::String(c) if ["wechat", "alipay", "unionpay"].contains(&c.as_str()) => {
                c.clone()
            }
            _ => return Err("`phone_pay` needs true or wechat, alipay or unionpay".into()),
        }),
        "key_in_order" => {
            truth(k, v)?;
            Step::KeyInOrder
        }
        "pay_elsewhere" => {
            let a = string(k, v)?;
            if !a.contains(':') {
                return Err("`pay_elsewhere` needs utility:account, e.g. water:10000003".into());
            }
            Step::PayElsewhere(a)
        }
        "payment_ttl_s" => Step::PaymentTtl(
            v.as_integer()
                .filter(|n| *n >= 1)
                .ok_or("`payment_ttl_s` needs a positive number of seconds")? as u64,
        ),
        "tap_no_wait" => Step::TapNoWait(string(k, v)?),
        "type" => Step::Type(string(k, v)?),
        "type_pinyin" => {
            let s = string(k, v)?;
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_lowercase() || c == '\'') {
                return Err(format!(
                    "`type_pinyin` needs lower-case letters a–z (and ' between syllables), not {s:?}"
                ));
            }
            Step::TypePinyin(s)
        }
        "choose_candidate" => {
            let s = string(k, v)?;
            if s.is_empty() {
                return Err("`choose_candidate` needs the candidate's text".into());
            }
            Step::ChooseCandidate(s)
        }
        "expect_text" => Step::ExpectText(string(k, v)?),
        "await_text" => Step::AwaitText(string(k, v)?),
        "expect_no_text" => Step::ExpectNoText(string(k, v)?),
        "expect_visible" => Step::ExpectVisible(string(k, v)?),
        "check_layout" => match v {
            toml::Value::Boolean(true) => Step::CheckLayout(String::new()),
            toml::Value::String(s) => Step::CheckLayout(s.clone()),
            _ => return Err("`check_layout` needs true or the name of the state".into()),
        },
        "check_accessibility" => match v {
            toml::Value::Boolean(true) => Step::CheckAccessibility(String::new()),
            toml::Value::String(s) => Step::CheckAccessibility(s.clone()),
            _ => return Err("`check_accessibility` needs true or the name of the state".into()),
        },
        "expect_page" => {
            let p = string(k, v)?;
            if crate::session::PageId::from_name(&p).is_none() {
                return Err(format!("unknown page {p:?}"));
            }
            Step::ExpectPage(p)
        }
        "expect_print" => Step::ExpectPrint(string(k, v)?),
        "expect_no_print" => Step::ExpectNoPrint(string(k, v)?),
        "wait_attract" => {
            truth(k, v)?;
            Step::WaitAttract
        }
        "lang" => Step::Lang(string(k, v)?.parse()?),
        "elderly" => Step::Elderly(truth(k, v)?),
        "open_service" => {
            // Checked when the step runs: the kiosk's registry decides which tiles exist.
            Step::OpenService(string(k, v)?)
        }
        "cloud_fault" => {
            let f = string(k, v)?;
            f.parse::<Fault>()?;
            Step::CloudFault(f)
        }
        "printer_fault" => {
            let f = string(k, v)?;
            if f != "paper_out" && f != "none" {
                return Err(format!("unknown printer fault {f:?} (paper_out, none)"));
            }
            Step::PrinterFault(f)
        }
        "storage_fault" => {
            let f = string(k, v)?;
            if f != "read_only" && f != "none" {
                return Err(format!("unknown storage fault {f:?} (read_only, none)"));
            }
            Step::StorageFault(f)
        }
        "wait_s" => Step::WaitSeconds(
            v.as_float()
                .or(v.as_integer().map(|i| i as f64))
                .filter(|s| *s >= 0.0 && *s <= 600.0)
                .ok_or("`wait_s` needs seconds, 0 to 600")?,
        ),
        "screenshot" => Step::Screenshot(string(k, v)?),
        "measure_render" => Step::MeasureRender(
            v.as_integer()
                .filter(|n| (1..=1000).contains(n))
                .ok_or("`measure_render` needs a count from 1 to 1000")? as usize,
        ),
        "record_memory" => Step::RecordMemory(string(k, v)?),
        "expect_spoken" => Step::ExpectSpoken(string(k, v)?),
        other => {
            return Err(format!(
                "unknown key `{other}` (known: {})",
                STEP_KEYS.join(", ")
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_step_kind() {
        let sc = Scenario::parse(
            r#"
            name = "all"
            [[step]]
            insert_card = 2
            [[step]]
            tap = "确认"
            [[step]]
            lang = "en"
            [[step]]
            elderly = true
            [[step]]
            open_service = "queue_and_cases"
            [[step]]
            expect_page = "result"
            [[step]]
            expect_print = "A0"
            [[step]]
            cloud_fault = "down"
            [[step]]
            wait_s = 1.5
            [[step]]
            remove_card = true
            [[step]]
            wait_attract = true
            [[step]]
            expect_visible = "打印完成，请取走凭条"
            [[step]]
            check_layout = true
            [[step]]
            check_layout = "staff called"
            [[step]]
            type_pinyin = "xi'an"
            [[step]]
            choose_candidate = "西安"
            [[step]]
            long_press = "corner"
            "#,
        )
        .unwrap();
        assert_eq!(sc.name, "all");
        assert_eq!(sc.steps.len(), 17);
        assert_eq!(sc.steps[16].to_string(), "long_press = \"corner\"");
        assert!(
            Scenario::parse("technician_pin_hash = \"1234\"\n[[step]]\ntap = \"x\"\n").is_err()
        );
        assert_eq!(sc.steps[14], Step::TypePinyin("xi'an".into()));
        assert_eq!(sc.steps[15].to_string(), "choose_candidate = \"西安\"");
        assert!(Scenario::parse("[[step]]\ntype_pinyin = \"She Bao\"\n").is_err());
        assert_eq!(
            sc.steps[11],
            Step::ExpectVisible("打印完成，请取走凭条".into())
        );
        assert_eq!(sc.steps[12], Step::CheckLayout(String::new()));
        assert_eq!(sc.steps[13].to_string(), "check_layout = \"staff called\"");
        assert!(Scenario::parse("[[step]]\ncheck_layout = false\n").is_err());
        assert_eq!(sc.steps[0], Step::InsertCard(2));
        assert_eq!(sc.steps[2], Step::Lang(Lang::En));
        assert_eq!(sc.steps[8], Step::WaitSeconds(1.5));
    }

    #[test]
    fn unknown_keys_name_the_step() {
        let e = Scenario::parse("[[step]]\ntap = \"x\"\n[[step]]\ntapp = \"y\"\n").unwrap_err();
        assert!(e.starts_with("step 2: unknown key `tapp`"), "{e}");
        let e = Scenario::parse("[[step]]\ntap = \"x\"\nexpect_text = \"y\"\n").unwrap_err();
        assert!(e.contains("step 1: needs exactly one action"), "{e}");
        let e = Scenario::parse("titel = \"x\"\n[[step]]\ntap = \"x\"\n").unwrap_err();
        assert!(e.contains("unknown top-level key `titel`"), "{e}");
        let e = Scenario::parse("[[step]]\nexpect_page = \"nowhere\"\n").unwrap_err();
        assert!(e.contains("nowhere"), "{e}");
    }
}
