//! The fleet console end to end, in a real headless browser (Debian's Chromium through
//! chromedriver and the fantoccini WebDriver client): the standalone simulator with 500
//! simulated kiosks and an operator's admin token, a real kiosk process (headless, the fake
//! ESC/POS printer on a pseudo-terminal) heartbeating to it every second, a signed release
//! repository with a release in its first wave, and `bianmin fleet console` over all of it.
//!
//! An operator signs in, sees the 501 kiosks, filters to those out of paper, sends the real
//! kiosk a test print and sees it acknowledged (and the paper cut), previews and publishes a
//! catalogue change and sees the real kiosk's own screens change, and pauses the rollout (the
//! repository says so). A viewer's attempt to act is refused, and so are a forged post without
//! the CSRF token and one without a session. Screenshots of the fleet table, a kiosk page and
//! the rollouts page land in target/console-shots (copied to docs/screenshots).

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::fake_printer::{Behaviour, FakePrinter};
use support::soak::{free_port, start_sim, stop, until};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const OPS_TOKEN: &str = "ops-token-7f3a9c";
const VIEW_TOKEN: &str = "view-token-51be02";
const OPS_PASSWORD: &str = "street office operator 1";
const VIEW_PASSWORD: &str = "street office viewer 22";
const NEW_SERVICE_NAME: &str = "社保查询·打印";
const NEW_NOTICE: &str = "本周六自助机维护";

/// Kills the children by PID when the test ends, however it ends; and the browser chromedriver
/// started (it outlives chromedriver when a failed test never closed its session), found by its
/// own profile folder in /proc.
struct Guard(Vec<Child>, Option<PathBuf>);

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.0 {
            stop(c);
        }
        let Some(profile) = &self.1 else { return };
        let marker = format!("--user-data-dir={}", profile.display());
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline)
                .split('\0')
                .any(|a| a == marker)
            {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
    }
}

fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-shots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn admin_get(url: &str) -> Value {
    let (code, body) = curl(&["-H", &format!("Authorization: Bearer {OPS_TOKEN}"), url]);
    assert_eq!(code, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn add_admin(data: &Path, user: &str, role: &str, password: &str) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["--data-dir", data.to_str().unwrap()])
        .args(["fleet", "add-admin", "--user", user, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// A release archive (a `bin/bianmin` that is never run here).
fn archive(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join(format!("bianmin-{version}.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    let bin = b"#!/bin/sh\nexit 0\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(bin.len() as u64);
    h.set_mode(0o755);
    h.set_cksum();
    tar.append_data(&mut h, "bin/bianmin", &bin[..]).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    path
}

fn kiosk(dir: &Path, url: &str, printer: &str) -> Child {
    let config = dir.join("kiosk.toml");
    std::fs::write(
        &config,
        "[kiosk]\nserial = \"BM-REAL-1\"\n\n[health]\nheartbeat_s = 1\n\n[voice]\nenabled = false\n",
    )
    .unwrap();
    // The kiosk waits on its attract page (idle, so a test print is carried out at once) until
    // the published notice shows there; then its home page must show the renamed service.
    let journey = dir.join("console.toml");
    std::fs::write(
        &journey,
        format!(
            "page_timeout_s = 600\n\n[[step]]\nawait_text = \"{NEW_NOTICE}\"\n\n[[step]]\nscreenshot = \"attract-after\"\n\n\
             [[step]]\ntap = \"点击屏幕开始办理\"\n\n[[step]]\nexpect_text = \"{NEW_SERVICE_NAME}\"\n\n\
             [[step]]\nscreenshot = \"home-after\"\n\n[[step]]\nwait_s = 5\n"
        ),
    )
    .unwrap();
    Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args(["--data-dir", dir.join("data").to_str().unwrap()])
        .args(["scenario", "run", journey.to_str().unwrap()])
        .args(["--out", dir.join("out").to_str().unwrap()])
        .args(["--cloud", url, "--enrollment-code", "SOAK"])
        .args(["--printer-port", printer])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("kiosk.log")).unwrap())
        .spawn()
        .unwrap()
}

async fn browser(driver_port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1440,1000",
                     "--lang=zh-CN", "--disable-dev-shm-usage", "--password-store=basic",
                     format!("--user-data-dir={}", profile.display())],
            "prefs": {"credentials_enable_service": false, "profile.password_manager_enabled": false},
        }),
    );
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(caps);
    let url = format!("http://127.0.0.1:{driver_port}");
    let start = Instant::now();
    loop {
        match builder.connect(&url).await {
            Ok(c) => return c,
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "chromedriver: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Clicks a button that submits a form and waits for the page that answers it (WebDriver's
/// click returns before the navigation it starts has finished).
async fn submit(c: &Client, id: &str) {
    c.execute("window.__before_submit = true", vec![])
        .await
        .unwrap();
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let done = c
            .execute(
                "return window.__before_submit === undefined && document.readyState === 'complete'",
                vec![],
            )
            .await
            .map(|v| v == Value::Bool(true))
            .unwrap_or(false);
        if done {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{id}: no page came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sign_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    // No session: the console sends the browser to its sign-in page.
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    // Cleared first: the browser may have filled in the last account it saw.
    for (id, text) in [("user", user), ("password", password)] {
        let field = c.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }
    submit(c, "login").await;
    let path = c.current_url().await.unwrap().path().to_string();
    if path != "/" {
        let page = c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        panic!("{user} not signed in ({path}): {page}");
    }
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(name), png).unwrap();
}

/// The session cookie and the page's CSRF token, as the browser has them.
async fn session_of(c: &Client) -> (String, String) {
    let cookie = c
        .get_all_cookies()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.name() == "bianmin_console")
        .map(|k| k.value().to_string())
        .expect("a session cookie");
    let csrf = c
        .find(Locator::Css("form[action='/logout'] input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    (cookie, csrf)
}

fn commands_of(url: &str, device: &str) -> usize {
    admin_get(&format!("{url}/v1/admin/devices/{device}"))["commands"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn admins_run_the_fleet_from_the_console_and_viewers_and_forgeries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let profile = d.join("chrome-profile");
    let mut guard = Guard(Vec::new(), Some(profile.clone()));

    // The cloud with 500 simulated kiosks.
    let sim_port = free_port();
    let url = format!("http://127.0.0.1:{sim_port}");
    guard.0.push(start_sim(
        BIN,
        sim_port,
        &d.join("sim.db"),
        &[
            "--fleet",
            "500",
            "--fleet-beat-secs",
            "5",
            "--admin-token",
            OPS_TOKEN,
            "--viewer-token",
            VIEW_TOKEN,
        ],
    ));

    // A release repository with the next release open to its first wave (10 %).
    let (repo, keys) = (d.join("repo"), d.join("keys"));
    run_ok(
        Command::new(BIN)
            .args(["release", "init"])
            .arg(&repo)
            .arg("--keys")
            .arg(&keys),
        "release init",
    );
    run_ok(
        Command::new(BIN)
            .args(["release", "add"])
            .arg(&repo)
            .arg("--keys")
            .arg(&keys)
            .arg("--archive")
            .arg(archive(d, "0.2.0"))
            .args(["--version", "0.2.0", "--wave", "10"]),
        "release add",
    );

    // The real kiosk.
    let printer = FakePrinter::start(Behaviour::default());
    guard.0.push(kiosk(d, &url, &printer.path));
    let kiosk_log = || std::fs::read_to_string(d.join("kiosk.log")).unwrap_or_default();
    let real = until(
        Duration::from_secs(60),
        "the real kiosk's first heartbeat",
        || {
            admin_get(&format!("{url}/v1/admin/devices"))["devices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| {
                    k["device_id"].as_str().unwrap().starts_with("kiosk-")
                        && !k["last_seen"].is_null()
                })
                .map(|k| k["device_id"].as_str().unwrap().to_string())
        },
    );

    // The console and its two accounts.
    let console_data = d.join("console");
    add_admin(&console_data, "ops", "operator", OPS_PASSWORD);
    add_admin(&console_data, "view", "viewer", VIEW_PASSWORD);
    let console_port = free_port();
    let base = format!("http://127.0.0.1:{console_port}");
    guard.0.push(
        Command::new(BIN)
            .args(["--data-dir", console_data.to_str().unwrap()])
            .args(["fleet", "console", "--cloud", &url, "--token", OPS_TOKEN])
            .args(["--listen", &format!("127.0.0.1:{console_port}")])
            .arg("--release-repo")
            .arg(&repo)
            .arg("--release-keys")
            .arg(&keys)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("console.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    until(Duration::from_secs(10), "the console listening", || {
        std::net::TcpStream::connect(("127.0.0.1", console_port)).ok()
    });

    // Without a session: pages send to the sign-in, changes are refused.
    let (code, _) = curl(&[&format!("{base}/rollouts")]);
    assert_eq!(code, 303);
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-d",
        "command=print_test_page",
        &format!("{base}/kiosks/{real}/commands"),
    ]);
    assert_eq!(code, 401);

    let driver_port = free_port();
    guard.0.push(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver)"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = browser(driver_port, &profile).await;
        sign_in(&c, &base, "ops", OPS_PASSWORD).await;

        // Every kiosk, measured as the browser loaded it.
        let summary = text_of(&c, "#summary").await;
        assert!(summary.contains("共 501 台"), "{summary}");
        let rows = c.find_all(Locator::Css("#fleet tbody tr[data-status]")).await.unwrap();
        assert_eq!(rows.len(), 501);
        let load_ms = c
            .execute("return performance.getEntriesByType('navigation')[0].duration", vec![])
            .await
            .unwrap();
        println!("fleet table with 501 kiosks: page load {:.0} ms in the browser", load_ms.as_f64().unwrap());
        screenshot(&c, "console-fleet.png").await;

        // Out of paper: the filter, and the cloud agrees.
        c.find(Locator::Css("#f-reason option[value=printer_paper_out]")).await.unwrap().click().await.unwrap();
        submit(&c, "apply").await;
        let out_of_paper = admin_get(&format!("{url}/v1/admin/devices?reason=printer_paper_out"))["devices"]
            .as_array()
            .unwrap()
            .len();
        assert!(out_of_paper >= 10, "{out_of_paper}");
        let rows = c.find_all(Locator::Css("#fleet tbody tr[data-status]")).await.unwrap();
        assert_eq!(rows.len(), out_of_paper);
        for r in &rows {
            assert!(r.text().await.unwrap().contains("打印纸用完"));
        }
        let started = Instant::now();
        let filtered = c.execute(
            "const q = document.getElementById('f-q'); q.value = 'fleet-00'; q.dispatchEvent(new Event('input')); return document.body.dataset.shown",
            vec![],
        ).await.unwrap();
        println!(
            "typed filter over {out_of_paper} rows: {} shown in {} ms",
            filtered.as_str().unwrap_or("?"),
            started.elapsed().as_millis()
        );
        // A command for the rows shown (filtered and typed), and no others.
        let shown: usize = filtered.as_str().unwrap().parse().unwrap();
        assert!(shown > 0 && shown < out_of_paper);
        c.find(Locator::Css("#bulk-command option[value=run_selftest]")).await.unwrap().click().await.unwrap();
        submit(&c, "bulk-send").await;
        assert!(text_of(&c, "#flash").await.contains(&format!("已向 {shown} 台")));
        let selftests = admin_get(&format!("{url}/v1/admin/devices?reason=printer_paper_out"))["devices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                let id = d["device_id"].as_str().unwrap();
                let n = commands_of(&url, id);
                assert!(id.contains("fleet-00") || n == 0, "{id} got a command it was not shown for");
                n > 0
            })
            .count();
        assert_eq!(selftests, shown);

        // A test print on the real kiosk: queued, carried out once, acknowledged.
        let cuts_before = printer.paperwork().cuts;
        c.goto(&format!("{base}/kiosks/{real}")).await.unwrap();
        submit(&c, "cmd-print_test_page").await;
        assert!(text_of(&c, "#flash").await.contains("打印测试页"));
        let start = Instant::now();
        loop {
            c.refresh().await.unwrap();
            let row = c.find(Locator::Css("tr.cmd[data-command=print_test_page]")).await.unwrap();
            let result = row.attr("data-result").await.unwrap().unwrap_or_default();
            if result == "done" {
                assert!(row.text().await.unwrap().contains("已完成"));
                break;
            }
            assert!(result.is_empty(), "test print: {result}\n{}", kiosk_log());
            assert!(start.elapsed() < Duration::from_secs(30), "no acknowledgement\n{}", kiosk_log());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!("test print acknowledged by the real kiosk in {} ms", start.elapsed().as_millis());
        assert_eq!(printer.paperwork().cuts, cuts_before + 1, "one test page, cut once");
        screenshot(&c, "console-kiosk.png").await;

        // The catalogue: rename a service, add a notice, preview with the kiosk's renderer, publish.
        c.goto(&format!("{base}/catalog")).await.unwrap();
        let old_version = text_of(&c, "#catalog-version").await;
        let name = c.find(Locator::Id("zh-social_insurance")).await.unwrap();
        name.clear().await.unwrap();
        name.send_keys(NEW_SERVICE_NAME).await.unwrap();
        let blank = c.find_all(Locator::Css("fieldset.notice")).await.unwrap().len() - 1;
        for (field, text) in [
            ("title_zh", NEW_NOTICE),
            ("title_en", "Kiosk maintenance this Saturday"),
            ("body_zh", "周六上午九点到十点暂停服务。"),
            ("body_en", "No service from 9 to 10 on Saturday morning."),
        ] {
            c.find(Locator::Css(&format!("[name='notice.{blank}.{field}']")))
                .await
                .unwrap()
                .send_keys(text)
                .await
                .unwrap();
        }
        // The new notice first, so the attract page shows it.
        c.find(Locator::Id(&format!("move-first-{blank}"))).await.unwrap().click().await.unwrap();
        let start = Instant::now();
        submit(&c, "preview").await;
        let width = c
            .execute("const i = document.getElementById('preview-image'); return i ? i.naturalWidth : 0", vec![])
            .await
            .unwrap();
        assert!(width.as_u64().unwrap() >= 1000, "preview {width}");
        println!("catalogue preview drawn by the kiosk's renderer in {} ms", start.elapsed().as_millis());
        submit(&c, "publish").await;
        let flash = text_of(&c, "#flash").await;
        let new_version = text_of(&c, "#catalog-version").await;
        assert_ne!(new_version, old_version, "{flash}");
        assert!(flash.contains(&new_version), "{flash}");

        // A character the kiosk's screen font lacks is refused before it reaches a kiosk.
        let name = c.find(Locator::Id("zh-household")).await.unwrap();
        name.send_keys("😀").await.unwrap();
        submit(&c, "publish").await;
        let flash = text_of(&c, "#flash").await;
        assert!(flash.contains("字体里没有") && flash.contains('😀'), "{flash}");
        assert_eq!(text_of(&c, "#catalog-version").await, new_version);

        // "Can this kiosk do it?": the public page residents see, nothing about them.
        let public: Value = serde_json::from_str(
            &curl(&[&format!("{url}/public/sites/chenghua-jianshelu/kiosks.json")]).1,
        )
        .unwrap();
        let me = public["kiosks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kiosk"] == "BM-REAL-1")
            .cloned()
            .unwrap();
        assert_eq!(me["state"], "available", "{me}");
        assert_eq!(me["can_print"], true);
        assert_eq!(me["services"].as_array().unwrap().len(), 8, "{me}");
        // A simulated kiosk of the same hall out of paper: limited, and says why.
        let empty = public["kiosks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["paper_out"] == true)
            .cloned()
            .expect("a kiosk out of paper in the hall");
        assert_eq!(empty["state"], "limited", "{empty}");
        assert_eq!(empty["can_print"], false);
        assert!(!public.to_string().contains("kiosk-0001"), "device ids stay the cloud's");
        c.goto(&format!("{url}/public/sites/chenghua-jianshelu/kiosks")).await.unwrap();
        let page = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
        assert!(page.contains("自助机 BM-REAL-1：") && page.contains("打印纸用完，暂不能打印"), "{page}");
        screenshot(&c, "public-site.png").await;

        // The rollout: the first wave, its kiosks, then paused (signed into the repository).
        c.goto(&format!("{base}/rollouts")).await.unwrap();
        let release = text_of(&c, "#release-0\\.2\\.0").await;
        assert!(release.contains("已开放 10%"), "{release}");
        screenshot(&c, "console-rollouts.png").await;
        submit(&c, "pause-0.2.0").await;
        assert!(text_of(&c, "#paused-0\\.2\\.0").await.contains("已暂停"));
        let (op_cookie, op_csrf) = session_of(&c).await;

        // A forged post (the operator's session, no CSRF token) does nothing.
        let before = commands_of(&url, &real);
        let (code, _) = curl(&[
            "-X", "POST", "-b", &format!("bianmin_console={op_cookie}"),
            "-d", "command=restart_when_idle", &format!("{base}/kiosks/{real}/commands"),
        ]);
        assert_eq!(code, 403, "a post without the CSRF token");
        let (code, _) = curl(&[
            "-X", "POST", "-b", &format!("bianmin_console={op_cookie}"),
            "-d", "command=restart_when_idle&csrf=0000", &format!("{base}/kiosks/{real}/commands"),
        ]);
        assert_eq!(code, 403, "a post with a wrong CSRF token");
        assert!(!op_csrf.is_empty());

        // A viewer sees, and cannot act even with their own valid token.
        c.delete_all_cookies().await.unwrap();
        sign_in(&c, &base, "view", VIEW_PASSWORD).await;
        assert!(c.find(Locator::Id("bulk")).await.is_err(), "no bulk commands for a viewer");
        c.goto(&format!("{base}/kiosks/{real}")).await.unwrap();
        assert!(c.find(Locator::Id("cmd-print_test_page")).await.is_err());
        let (view_cookie, view_csrf) = session_of(&c).await;
        let (code, body) = curl(&[
            "-X", "POST", "-b", &format!("bianmin_console={view_cookie}"),
            "-d", &format!("command=restart_when_idle&csrf={view_csrf}"),
            &format!("{base}/kiosks/{real}/commands"),
        ]);
        assert_eq!(code, 403);
        assert!(body.contains("只读账号不能执行此操作"), "{body}");
        assert_eq!(commands_of(&url, &real), before, "nothing queued by the refused posts");
        // Nor can the viewer's cloud credential.
        let (code, _) = curl(&[
            "-X", "POST", "-H", &format!("Authorization: Bearer {VIEW_TOKEN}"),
            "-H", "content-type: application/json", "-H", "Idempotency-Key: v1",
            "-d", &format!("{{\"command\": \"print_test_page\", \"devices\": [\"{real}\"]}}"),
            &format!("{url}/v1/admin/commands"),
        ]);
        assert_eq!(code, 403);

        // The audit trail has what the operator did.
        c.goto(&format!("{base}/audit")).await.unwrap();
        let audit = text_of(&c, "#audit").await;
        for what in ["command print_test_page", "publish catalogue", "release pause"] {
            assert!(audit.contains(what), "{what} not in the audit:\n{audit}");
        }
        assert!(audit.contains("ops (via admin)"), "{audit}");
        c.close().await.unwrap();
    });

    // The real kiosk picked the catalogue up at a heartbeat: its attract page showed the notice
    // and its home page the renamed service (its own journey checked both, then stayed up for
    // the acknowledgement to reach the cloud).
    let kiosk = &mut guard.0[1];
    let status = until(Duration::from_secs(150), "the kiosk's journey", || {
        kiosk.try_wait().unwrap()
    });
    let transcript: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/transcript.json")).unwrap())
            .unwrap();
    assert!(
        status.success(),
        "{}\n{}",
        transcript["failure"],
        kiosk_log()
    );
    for shot in ["attract-after.png", "home-after.png"] {
        let p = std::fs::read_dir(d.join("out"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(&format!("-{shot}")))
            .unwrap_or_else(|| panic!("{shot} not taken"));
        std::fs::copy(&p, shots_dir().join(format!("kiosk-{shot}"))).unwrap();
    }
    let reload = admin_get(&format!("{url}/v1/admin/devices/{real}"))["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["command"] == "reload_catalog")
        .cloned()
        .unwrap();
    assert_eq!(reload["result"], "done", "{reload}");

    // The repository itself says the rollout is paused.
    let list = run_ok(
        Command::new(BIN).args(["release", "list"]).arg(&repo),
        "release list",
    );
    assert!(list.contains("paused"), "{list}");
    println!("screenshots in {}", shots_dir().display());
}
