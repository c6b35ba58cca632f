//! The journeys of the page × state survey (tests/layout.rs): every page × zh/en × normal/长辈模式
//! × portrait/landscape, and the frame's states (greeting bar, offline banner, staff called, busy,
//! countdown dialog, take your card), each followed by both checks, `check_layout` and
//! `check_accessibility`, on the same frame: one walk serves the layout matrix and the
//! accessibility audit. They run through the real binary (headless UI, embedded cloud), four at
//! once; each records its findings in its transcript (`layout_report = true`) and carries on, so
//! one run lists every problem.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: the four journeys take about two minutes on two shared cores.
const LIMIT: Duration = Duration::from_secs(300);

const COMBOS: [(&str, bool); 4] = [("zh", false), ("zh", true), ("en", true), ("en", false)];

/// The technician page's PIN in the journeys, and its Argon2id hash for their header.
pub const TECHNICIAN_PIN: &str = "24681357";
const TECHNICIAN_PIN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$R2aRXGu5jLesr652BIcc0A$gYloZB158CNvdBsDh5ovEtB2Jn2KtEmLJI1TuF+uytc";

pub struct Journey {
    steps: Vec<String>,
}

impl Journey {
    fn new() -> Journey {
        Journey { steps: Vec::new() }
    }
    /// Both checks, on the page as it is now, naming the state `name`.
    fn check_now(&mut self, name: &str) -> &mut Self {
        self.s("check_layout", name).s("check_accessibility", name)
    }
    fn step(&mut self, key: &str, value: &str) -> &mut Self {
        self.steps.push(format!("[[step]]\n{key} = {value}\n"));
        self
    }
    fn s(&mut self, key: &str, value: &str) -> &mut Self {
        self.step(key, &format!("{value:?}"))
    }
    /// Checks the page in every language and text size, then goes back to Chinese, normal text.
    /// `before(lang)` runs before each check (e.g. call staff again).
    fn check_all(&mut self, name: &str, before: &dyn Fn(&mut Journey, &str)) -> &mut Self {
        for (lang, elderly) in COMBOS {
            self.s("lang", lang);
            self.step("elderly", &elderly.to_string());
            before(self, lang);
            self.check_now(name);
        }
        self.s("lang", "zh").step("elderly", "false")
    }
    fn check(&mut self, name: &str) -> &mut Self {
        self.check_all(name, &|_, _| {})
    }
    pub fn toml(&self, header: &str) -> String {
        format!(
            "{header}\nlayout_report = true\ntechnician_pin_hash = {TECHNICIAN_PIN_HASH:?}\n\n{}",
            self.steps.join("\n")
        )
    }
}

/// Every page and the greeting, staff-called, take-card, busy and offline states.
pub fn main_journey() -> Journey {
    let mut j = Journey::new();
    j.check("");
    // The technician page (normal text only: it is for staff, and offers no 长辈模式): its PIN
    // pad, a wrong PIN, the page with a test print and a test card read.
    j.s("long_press", "corner").s("expect_page", "technician");
    for lang in ["zh", "en"] {
        j.s("lang", lang).check_now("PIN pad");
    }
    j.s("lang", "zh");
    for d in "1111".chars() {
        j.s("tap", &d.to_string());
    }
    j.s("tap", "确定")
        .s("expect_text", "PIN 错误，还可再试 4 次");
    for lang in ["zh", "en"] {
        j.s("lang", lang).check_now("wrong PIN");
    }
    j.s("lang", "zh");
    for d in TECHNICIAN_PIN.chars() {
        j.s("tap", &d.to_string());
    }
    j.s("tap", "确定").s("expect_text", "设备与运行状态");
    j.s("tap", "测试打印").s("expect_text", "测试页已打印");
    j.s("tap", "测试读卡").step("insert_card", "1");
    j.s("expect_text", "读卡成功");
    for lang in ["zh", "en"] {
        j.s("lang", lang).check_now("test print, test card");
    }
    j.s("lang", "zh").step("remove_card", "true");
    j.s("tap", "返回服务").s("expect_page", "attract");
    j.s("tap", "点击屏幕开始办理")
        .s("expect_page", "home")
        .check("");
    // 排队取号 without a card: form, identify (optional), confirm, result, print.
    j.s("open_service", "queue_and_cases")
        .s("expect_page", "form")
        .check("queue businesses");
    j.s("tap", "社保医保")
        .s("expect_page", "identify")
        .check("");
    j.s("tap", "不刷卡，直接取号")
        .s("expect_page", "confirm")
        .check("");
    j.s("tap", "确认")
        .s("expect_page", "result")
        .s("expect_print", "社保医保")
        .check("ticket");
    j.s("tap", "查看凭条")
        .s("expect_page", "print")
        .check("receipt");
    j.s("tap", "完成").s("expect_page", "attract");
    // 隐患上报: the input page as text and as keypad, confirm, the case number.
    j.s("open_service", "reports").check("report kinds");
    j.s("tap", "安全隐患上报")
        .s("tap", "消防隐患")
        .s("tap", "楼道或单元内")
        .s("tap", "消防通道被占用")
        .s("expect_page", "input")
        .check("description");
    // The on-screen keyboard composing pinyin: the candidate bar full, then digits and
    // punctuation (its 123 layout).
    j.s("type_pinyin", "loudao").check("description, composing");
    j.s("tap", "数字符号").check("description, 123 keys");
    j.s("tap", "字母").s("tap", "清空");
    j.s("tap", "跳过")
        .s("expect_text", "联系电话（可不填）")
        .check("phone keypad");
    j.s("tap", "跳过")
        .s("expect_page", "confirm")
        .check("report");
    j.s("tap", "确认")
        .s("expect_page", "result")
        .check("case number");
    j.s("tap", "完成").s("expect_page", "attract");
    // 我的办件 without a card: the optional identify page, the case number and 查询码 on the
    // keypad, a rejected case with its reason and next step (long values wrap).
    j.s("open_service", "my_cases")
        .s("expect_page", "identify")
        .check("case lookup");
    j.s("tap", "用办件编号查询")
        .s("expect_page", "input")
        .check("case number");
    for d in "2026000106".chars() {
        j.s("tap", &d.to_string());
    }
    j.s("tap", "确定").s("expect_text", "请输入查询码");
    for d in "310042".chars() {
        j.s("tap", &d.to_string());
    }
    j.s("tap", "确定")
        .s("expect_page", "result")
        .s("expect_visible", "家庭人均月收入高于本区最低生活保障标准")
        .check("rejected case");
    j.s("tap", "完成").s("expect_page", "attract");
    // 办事指南: the guides' descriptions, one guide.
    j.s("open_service", "guides")
        .s("expect_page", "form")
        .check("guides");
    j.s("tap", "居住证办理指南")
        .s("expect_page", "result")
        .check("guide");
    // Staff called (the toast shows for 8 s: call again before each check).
    j.s("tap", "首页").s("expect_page", "home");
    j.check_all("", &|j, lang| {
        j.s(
            "tap",
            if lang == "zh" {
                "呼叫工作人员"
            } else {
                "Call staff"
            },
        );
    });
    // The toast goes after 8 s: the states below are without it.
    j.step("wait_s", "8.5");
    // A card: the greeting bar on home, confirm and the ticket; then take your card.
    j.step("insert_card", "1")
        .s("expect_page", "home")
        .check("");
    j.s("open_service", "queue_and_cases").s("tap", "社保医保");
    j.s("expect_page", "confirm").check("priority");
    j.s("tap", "确认")
        .s("expect_page", "result")
        .step("wait_s", "1.5")
        .check("ticket");
    j.check_all("ticket", &|j, lang| {
        j.s(
            "tap",
            if lang == "zh" {
                "呼叫工作人员"
            } else {
                "Call staff"
            },
        );
    });
    // The end of an identified session: the goodbye page with the 隐私凭条 (card still in).
    j.s("tap", "完成")
        .s("expect_page", "goodbye")
        .check("privacy slip");
    j.s("tap", "完成").s("expect_page", "attract").check("");
    j.step("remove_card", "true").step("wait_s", "8.5");
    // My cases with a card: the list with status badges, one case's history.
    j.step("insert_card", "1");
    j.s("open_service", "my_cases")
        .s("expect_page", "form")
        .check("my cases");
    // (In landscape this case is further down the list: the tap scrolls to it.)
    j.s("tap", "临时救助申请")
        .s("expect_page", "result")
        .check("case history");
    j.step("remove_card", "true").s("expect_page", "goodbye");
    j.s("tap", "完成").s("expect_page", "attract");
    // 社保 with a card: the summary with its gap, the periods, the month keypad, the records
    // table, the certificate's preview and the printed result.
    j.step("insert_card", "2");
    j.s("open_service", "social_insurance")
        .s("expect_text", "断缴")
        .check("social insurance summary");
    j.s("tap", "缴费记录")
        .s("expect_text", "请选择要查询的期间")
        .check("periods");
    j.s("tap", "自选起止月份")
        .s("expect_page", "input")
        .check("month keypad");
    j.s("tap", "返回").s("expect_page", "form");
    j.s("tap", "最近 12 个月")
        .s("expect_page", "table")
        .check("contribution records");
    // Busy: the overlay while the cloud takes 2.5 s to answer for the certificate.
    j.s("cloud_fault", "late:2500");
    for (lang, elderly) in COMBOS {
        let zh = lang == "zh";
        j.s("lang", lang).step("elderly", &elderly.to_string());
        j.s(
            "tap_no_wait",
            if zh {
                "打印参保证明"
            } else {
                "Print a participation certificate"
            },
        );
        j.s(
            "expect_text",
            if zh {
                "正在处理，请稍候…"
            } else {
                "Working on it, please wait…"
            },
        );
        j.check_now("busy");
        j.s("expect_page", "document")
            .s("tap", if zh { "返回" } else { "Back" })
            .s("expect_page", "table");
    }
    j.s("cloud_fault", "none")
        .s("lang", "zh")
        .step("elderly", "false");
    j.s("tap", "打印参保证明")
        .s("expect_page", "document")
        .check("certificate preview");
    j.s("tap", "打印")
        .s("expect_text", "证明已打印")
        .check("certificate printed");
    j.step("remove_card", "true").s("expect_page", "goodbye");
    j.s("tap", "完成").s("expect_page", "attract");
    // 居住证·户籍 with a card: the types (one greyed out with the cloud's reason), the
    // registered addresses, the pickup choices, confirm and the 受理回执.
    j.step("insert_card", "2");
    j.s("open_service", "household")
        .s("expect_text", "您是本市户籍居民，无需办理居住证")
        .check("household types");
    j.s("tap", "户籍证明")
        .s("expect_text", "请选择地址")
        .check("household addresses");
    j.s("tap", "四川省成都市成华区建设路街道建设南路22号2栋1单元301")
        .s("expect_page", "input");
    for d in "13900002002".chars() {
        j.s("tap", &d.to_string());
    }
    j.s("tap", "确定")
        .s("expect_text", "请选择领取方式")
        .check("household pickup");
    j.s("tap", "智能柜自取")
        .s("expect_page", "confirm")
        .check("household application");
    j.s("tap", "确认")
        .s("expect_page", "result")
        .s("expect_print", "受理回执")
        .check("household receipt");
    j.step("remove_card", "true").s("expect_page", "goodbye");
    j.s("tap", "完成").s("expect_page", "attract");
    // 民政救助 with a card: the programmes and their conditions, a refusal with its reason, a
    // pre-check that needs review, the household size, income band and consent questions (consent
    // refused, then given), confirm and the 受理回执.
    j.step("insert_card", "1");
    j.s("open_service", "assistance")
        .s("expect_text", "请选择救助项目")
        .check("assistance programmes");
    j.s("tap", "高龄津贴")
        .s("expect_text", "暂不符合条件")
        .check("assistance not eligible");
    j.s("tap", "选择其他项目").s("tap", "最低生活保障");
    j.s("expect_text", "需要进一步核实")
        .check("assistance needs review");
    j.s("tap", "申请")
        .s("expect_text", "家里共有几口人？")
        .check("household size");
    j.s("tap", "3 人")
        .s("expect_text", "家里每人每月收入大约多少？")
        .check("income band");
    j.s("tap", "800 元以下").s("expect_page", "input");
    for d in "13800001001".chars() {
        j.s("tap", &d.to_string());
    }
    j.s("tap", "确定")
        .s("expect_text", "是否同意核对家庭经济状况？")
        .s("tap", "不同意")
        .s(
            "expect_text",
            "不同意核对，申请无法继续。您可以返回，或点屏幕下方“呼叫工作人员”咨询。",
        )
        .check("consent refused");
    j.s("tap", "同意")
        .s("expect_page", "confirm")
        .check("assistance application");
    j.s("tap", "确认")
        .s("expect_page", "result")
        .s("expect_print", "受理回执")
        .check("assistance receipt");
    j.step("remove_card", "true").s("expect_page", "goodbye");
    j.s("tap", "完成").s("expect_page", "attract");
    // 生活缴费 with a card: the utilities, the resident's accounts, the bills (one left out),
    // confirm, the payment QR, the paid result with the 好差评 strip, and its quick phrases.
    j.step("insert_card", "1");
    j.s("open_service", "utility_bills")
        .s("expect_text", "请选择缴费项目")
        .check("utilities");
    j.s("tap", "电费")
        .s("expect_text", "请选择缴费户号")
        .check("utility accounts");
    j.s("tap", "3001000001")
        .s("expect_text", "待缴账单")
        .check("bills");
    j.s("tap", "去支付")
        .s("expect_page", "confirm")
        .check("payment confirm");
    j.s("tap", "确认")
        .s("expect_page", "payment")
        .check("payment QR");
    j.step("phone_pay", "true")
        .s("expect_text", "缴费成功")
        .s("expect_print", "缴费凭证")
        .check("paid, rating");
    j.s("tap", "不满意")
        .s("expect_text", "请选择不满意的原因")
        .check("rating reasons");
    j.step("remove_card", "true").s("expect_page", "goodbye");
    j.s("tap", "完成").s("expect_page", "attract");
    // The cloud down: the error page and home with the offline banner and tiles.
    j.s("cloud_fault", "down")
        .s("open_service", "queue_and_cases")
        .s("expect_page", "result")
        .check("cloud down");
    j.s("tap", "首页").s("expect_page", "home").check("");
    j
}

/// The countdown dialog over home and over a form, in every language and text size.
pub fn countdown_journey() -> Journey {
    let mut j = Journey::new();
    j.s("tap", "点击屏幕开始办理").s("expect_page", "home");
    for page in ["home", "form"] {
        if page == "form" {
            j.s("open_service", "guides").s("expect_page", "form");
        }
        for (lang, elderly) in COMBOS {
            j.s("lang", lang);
            j.step("elderly", &elderly.to_string());
            j.s(
                "expect_text",
                if lang == "zh" {
                    "秒后将结束本次服务"
                } else {
                    "This session ends in"
                },
            );
            j.check_now("");
            j.s(
                "tap",
                if lang == "zh" {
                    "延长时间"
                } else {
                    "More time"
                },
            );
        }
        j.s("lang", "zh").step("elderly", "false");
    }
    j
}

struct Run {
    name: String,
    dir: PathBuf,
    child: std::process::Child,
}

fn spawn(root: &Path, name: &str, toml: String) -> Run {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("journey.toml");
    std::fs::write(&file, toml).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "--data-dir",
            dir.join("data").to_str().unwrap(),
            "scenario",
            "run",
            file.to_str().unwrap(),
            "--out",
            dir.join("out").to_str().unwrap(),
            // The surveys read the transcript; a PNG per page would double their time.
            "--no-screenshots",
        ])
        .env("RUST_LOG", "warn")
        // Into files, not pipes: a journey prints a line per step (more than a pipe holds), and
        // the pipes are only read once it has ended.
        .stdout(Stdio::from(
            std::fs::File::create(dir.join("stdout.txt")).unwrap(),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("stderr.txt")).unwrap(),
        ))
        .spawn()
        .unwrap();
    Run {
        name: name.into(),
        dir,
        child,
    }
}

/// The four journeys' transcripts (portrait, landscape, and the countdown in both), and what
/// went wrong with the runs themselves.
pub struct Matrix {
    pub transcripts: Vec<(String, serde_json::Value)>,
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

impl Matrix {
    /// The steps of every journey whose text starts with `prefix` (e.g. "check_layout").
    pub fn steps(&self, prefix: &str) -> usize {
        self.transcripts
            .iter()
            .flat_map(|(_, t)| t["steps"].as_array().cloned().unwrap_or_default())
            .filter(|s| s["step"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .count()
    }
}

/// Runs the matrix (both checks after each state) under `CARGO_TARGET_TMPDIR/dir`.
pub fn run_matrix(dir: &str) -> Matrix {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let started = Instant::now();
    // The countdown comes after 2 s without a touch (warning 12 s of a 14 s page timeout).
    let countdown = countdown_journey();
    let check = "survey";
    let runs = vec![
        spawn(
            &root,
            "portrait",
            main_journey().toml(&format!("name = \"{check}: portrait\"")),
        ),
        spawn(
            &root,
            "landscape",
            main_journey().toml(&format!("name = \"{check}: landscape\"\nlandscape = true")),
        ),
        spawn(
            &root,
            "countdown-portrait",
            countdown.toml(&format!(
                "name = \"{check}: countdown\"\npage_timeout_s = 14\nwarning_s = 12"
            )),
        ),
        spawn(
            &root,
            "countdown-landscape",
            countdown.toml(&format!(
                "name = \"{check}: countdown landscape\"\nlandscape = true\npage_timeout_s = 14\nwarning_s = 12"
            )),
        ),
    ];
    let mut failures = Vec::new();
    let mut transcripts = Vec::new();
    for mut run in runs {
        // Bounded: a journey that hangs is killed (by its own PID) and reported.
        let status = loop {
            if let Some(s) = run.child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > LIMIT {
                let _ = run.child.kill();
                let _ = run.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let stderr = std::fs::read_to_string(run.dir.join("stderr.txt")).unwrap_or_default();
        let Some(status) = status else {
            failures.push(format!("{}: still running after {LIMIT:?}", run.name));
            continue;
        };
        let transcript = run.dir.join("out/transcript.json");
        let Ok(bytes) = std::fs::read(&transcript) else {
            failures.push(format!(
                "{}: exit {:?}, no transcript\n{}",
                run.name,
                status.code(),
                stderr
            ));
            continue;
        };
        let t: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if t["ok"] != true {
            failures.push(format!(
                "{}: the journey failed: {}",
                run.name, t["failure"]
            ));
        }
        transcripts.push((run.name, t));
    }
    Matrix {
        transcripts,
        failures,
        elapsed: started.elapsed(),
    }
}

/// The same problem is usually found in several checks of one state: each once, in order.
pub fn unique(findings: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in findings {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}
