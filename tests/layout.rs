//! The layout matrix: every page × zh/en × normal/长辈模式 × portrait/landscape, and the frame's
//! states (greeting bar, offline banner, staff called, countdown dialog, take your card), each
//! checked with the scenario step `check_layout` (see src/scenario/layout.rs): no text clipped
//! by an ancestor or the window, none cut by its own box, none spilling out of the box it sits
//! in, none overlapping another text or a control it does not belong to, none covered.
//!
//! The journeys are generated here and run through the real binary (headless UI, embedded
//! cloud), four at once; each records its findings in its transcript (`layout_report = true`)
//! and carries on, so one run lists every problem, named by page, state and element.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: the four journeys take well under a minute on two shared cores.
const LIMIT: Duration = Duration::from_secs(300);

const COMBOS: [(&str, bool); 4] = [("zh", false), ("zh", true), ("en", true), ("en", false)];

struct Journey {
    steps: Vec<String>,
}

impl Journey {
    fn new() -> Journey {
        Journey { steps: Vec::new() }
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
            self.s("check_layout", name);
        }
        self.s("lang", "zh").step("elderly", "false")
    }
    fn check(&mut self, name: &str) -> &mut Self {
        self.check_all(name, &|_, _| {})
    }
    fn toml(&self, header: &str) -> String {
        format!(
            "{header}\nlayout_report = true\n\n{}",
            self.steps.join("\n")
        )
    }
}

/// Every page and the greeting, staff-called, take-card and offline states.
fn main_journey() -> Journey {
    let mut j = Journey::new();
    j.check("");
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
fn countdown_journey() -> Journey {
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
            j.s("check_layout", "");
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
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Run {
        name: name.into(),
        dir,
        child,
    }
}

#[test]
fn every_page_in_every_state_is_laid_out_readably() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("layout");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let started = Instant::now();
    let portrait = main_journey();
    let landscape = main_journey();
    // The countdown comes after 2 s without a touch (warning 12 s of a 14 s page timeout).
    let countdown = countdown_journey();
    let runs = vec![
        spawn(&root, "portrait", portrait.toml("name = \"layout: portrait\"")),
        spawn(
            &root,
            "landscape",
            landscape.toml("name = \"layout: landscape\"\nlandscape = true"),
        ),
        spawn(
            &root,
            "countdown-portrait",
            countdown.toml("name = \"layout: countdown\"\npage_timeout_s = 14\nwarning_s = 12"),
        ),
        spawn(
            &root,
            "countdown-landscape",
            countdown.toml(
                "name = \"layout: countdown landscape\"\nlandscape = true\npage_timeout_s = 14\nwarning_s = 12",
            ),
        ),
    ];
    let mut failures = Vec::new();
    let mut findings = Vec::new();
    let mut checks = 0;
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
        let out = run.child.wait_with_output().unwrap();
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
                String::from_utf8_lossy(&out.stderr)
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
        checks += t["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["step"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("check_layout"))
            })
            .count();
        for f in t["layout"].as_array().into_iter().flatten() {
            for p in f["problems"].as_array().unwrap() {
                findings.push(format!(
                    "{} [{}]: {}",
                    f["page"].as_str().unwrap(),
                    f["state"].as_str().unwrap(),
                    p.as_str().unwrap()
                ));
            }
        }
    }
    // The same problem is usually found in several checks of one state: list it once.
    let mut unique: Vec<String> = Vec::new();
    for f in &findings {
        if !unique.contains(f) {
            unique.push(f.clone());
        }
    }
    println!(
        "layout matrix: {checks} checks in {:.1} s, {} problem(s)",
        started.elapsed().as_secs_f64(),
        unique.len()
    );
    for f in &unique {
        println!("  {f}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checks >= 150, "the matrix ran only {checks} checks");
    assert!(
        unique.is_empty(),
        "{} layout problem(s):\n{}",
        unique.len(),
        unique.join("\n")
    );
}
