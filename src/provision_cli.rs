//! `bianmin provision` and `bianmin selftest` in the terminal: the technician's questions,
//! progress, and the report (JSON with `--json`, otherwise lines in Chinese and English).

use crate::provision::{self, result_code, ProvisionOptions, SelftestOptions, Technician};
use crate::selftest::{DeviceChecks, Outcome};
use std::io::{BufRead, Write};

struct Terminal {
    yes: bool,
    /// Progress on stderr: stdout is the report's alone with --json.
    quiet: bool,
}

impl Technician for Terminal {
    fn progress(&mut self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    fn confirm(&mut self, question: &str) -> bool {
        if self.yes {
            return true;
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        // No terminal (end of input) is a "no": nothing is enrolled or written unasked.
        if std::io::stdin().lock().read_line(&mut answer).unwrap_or(0) == 0 {
            eprintln!();
            return false;
        }
        matches!(
            answer.trim().to_lowercase().as_str(),
            "y" | "yes" | "是" | "好"
        )
    }
}

pub fn provision(opts: ProvisionOptions, yes: bool, json: bool) -> anyhow::Result<i32> {
    let mut term = Terminal { yes, quiet: json };
    let report = provision::provision(&opts, &mut term)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match (&report.device_id, &report.site) {
            (Some(id), Some(site)) => println!(
                "便民终端开通 Kiosk provisioning: {id} — {} {} ({})",
                site.street_office, site.community, site.hall_id
            ),
            _ => println!("便民终端开通 Kiosk provisioning: not enrolled"),
        }
        if let Some(from) = &report.resumed_from {
            println!(
                "接续上次 Resumed the run of {from}: reused {}",
                report.reused.join(", ")
            );
        }
        print_devices(&report.devices);
        println!(
            "配置 Config: {}{}",
            report.config,
            if report.config_written {
                ""
            } else {
                " (not written)"
            }
        );
        if let Some(t) = &report.token_file {
            println!("设备令牌 Device token: in {t} (0600)");
        }
        if let Some(k) = &report.outbox_key {
            println!("外发箱密钥 Outbox key: {k} (0600)");
        }
        if report.slip_printed {
            println!("开通单已打印 Provisioning slip printed");
        }
        println!(
            "{} ({:.1} s)",
            if report.ok {
                "结果：开通完成 Result: provisioned, every required device passed"
            } else {
                "结果：未完成 Result: incomplete — fix what failed and run the same command again (it resumes where it stopped)"
            },
            report.elapsed_ms as f64 / 1000.0
        );
    }
    Ok(if report.ok { 0 } else { 1 })
}

pub fn selftest(
    config: &crate::config::Config,
    config_file: Option<std::path::PathBuf>,
    data_dir: &std::path::Path,
    opts: SelftestOptions,
    json: bool,
) -> anyhow::Result<i32> {
    let report = provision::selftest(config, data_dir, &opts)?;
    if json {
        #[derive(serde::Serialize)]
        struct WithConfig<'a> {
            config: Option<String>,
            #[serde(flatten)]
            report: &'a crate::selftest::SelftestReport,
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&WithConfig {
                config: config_file.map(|p| p.display().to_string()),
                report: &report,
            })?
        );
    } else {
        println!(
            "便民终端自检 Kiosk self-test: {}",
            report.device_id.as_deref().unwrap_or("not enrolled")
        );
        print_devices(&report.devices);
        println!(
            "{} ({:.1} s)",
            if report.ok {
                "结果：正常 Result: every required device passed"
            } else {
                "结果：有故障 Result: a required device failed (see the hints above)"
            },
            report.elapsed_ms as f64 / 1000.0
        );
    }
    Ok(if report.ok { 0 } else { 1 })
}

fn print_devices(d: &DeviceChecks) {
    for (name, c) in d.iter() {
        let mark = match c.result {
            Outcome::Pass => "通过 PASS",
            Outcome::Warn => "注意 WARN",
            Outcome::Fail => "失败 FAIL",
            Outcome::Skipped => "未测 SKIP",
        };
        println!(
            "  {name:<10} {mark:<9} {}{}",
            c.found
                .as_deref()
                .map(|f| format!("[{f}] "))
                .unwrap_or_default(),
            c.detail
        );
        if let Some(h) = &c.hint {
            if c.result != Outcome::Pass {
                println!("  {:<10} → 请检查 check: {h}", "");
            }
        }
        debug_assert!(!result_code(c.result).is_empty());
    }
    for r in &d.reader.readers {
        println!("  {:<10} · {}", "", provision::describe_reader(r));
    }
}
