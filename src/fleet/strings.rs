//! The console's words in Chinese and English (admins at a street office read Chinese first).
//! Templates ask for them with `t("key")`; a key missing here shows as itself, and a unit test
//! checks every key the templates use is here in both languages.

use crate::Lang;

/// (key, zh, en).
const STRINGS: &[(&str, &str, &str)] = &[
    ("brand", "便民自助机", "Bianmin kiosks"),
    ("console", "管理台", "fleet console"),
    ("nav.fleet", "设备", "Kiosks"),
    ("nav.rollouts", "版本发布", "Rollouts"),
    ("nav.catalog", "服务目录与公告", "Catalogue & notices"),
    ("nav.audit", "操作记录", "Audit trail"),
    ("role.viewer", "只读", "viewer"),
    ("role.operator", "操作员", "operator"),
    ("logout", "退出", "Sign out"),
    ("back", "返回", "Back"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    ("login.title", "管理员登录", "Admin sign-in"),
    ("login.user", "用户名", "User name"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    ("login.failed", "用户名或密码不对。", "The user name or password is wrong."),
    ("login.locked", "登录失败次数太多，请一分钟后再试。", "Too many failed sign-ins: try again in a minute."),
    ("login.expired", "登录已过期，请重新登录。", "Your session has ended: sign in again."),
    ("fleet.title", "自助机一览", "All kiosks"),
    ("fleet.shown", "显示 {n} 台，共 {total} 台", "{n} of {total} kiosks shown"),
    ("fleet.site", "网点", "Site"),
    ("fleet.status", "状态", "Status"),
    ("fleet.reason", "原因", "Reason"),
    ("fleet.version", "版本", "Version"),
    ("fleet.search", "查找", "Search"),
    ("fleet.all", "全部", "all"),
    ("fleet.apply", "筛选", "Filter"),
    ("fleet.none", "没有符合条件的自助机。", "No kiosk matches."),
    ("fleet.bulk", "向这 {n} 台发送：", "Send to these {n} kiosks:"),
    ("status.ok", "正常", "ok"),
    ("status.attention", "需处理", "attention"),
    ("status.offline", "离线", "offline"),
    ("col.device_id", "设备", "Kiosk"),
    ("col.serial", "序列号", "Serial"),
    ("col.site", "网点", "Site"),
    ("col.app_version", "版本", "Version"),
    ("col.status", "状态", "Status"),
    ("col.last_seen", "最近心跳", "Last seen"),
    ("col.reasons", "原因", "Reasons"),
    ("col.code", "错误码", "Code"),
    ("col.count", "次数", "Count"),
    ("col.last_at", "最近一次", "Last"),
    ("col.command", "指令", "Command"),
    ("col.issued", "下发时间", "Issued"),
    ("col.by", "下发人", "By"),
    ("col.ack", "回执", "Acknowledged"),
    ("col.detail", "说明", "Detail"),
    ("col.at", "时间", "When"),
    ("col.who", "操作人", "Who"),
    ("col.action", "操作", "Action"),
    ("col.target", "对象", "Target"),
    ("col.outcome", "结果", "Outcome"),
    ("col.peer", "来源地址", "From"),
    ("reason.offline", "离线 {n} 分钟", "offline for {n} min"),
    ("reason.never_seen", "从未上线", "never heard from"),
    ("reason.printer_paper_near_end", "打印纸将尽", "paper near its end"),
    ("reason.printer_paper_out", "打印纸用完", "out of paper"),
    ("reason.printer_cover_open", "打印机盖未关", "printer cover open"),
    ("reason.printer_cutter_error", "切纸刀故障", "cutter fault"),
    ("reason.printer_offline", "打印机无响应", "printer not answering"),
    ("reason.reader_lost", "读卡器断开", "card reader lost"),
    ("reason.reader_error", "读卡器故障", "card reader fault"),
    ("reason.outbox_stuck", "待上传积压 {n} 分钟", "outbox stuck for {n} min"),
    ("reason.clock_off", "时钟偏差 {n} 秒", "clock off by {n} s"),
    ("reason.disk_low", "磁盘仅剩 {n} MB", "only {n} MB disk left"),
    ("reason.audio_error", "语音故障", "no sound"),
    ("reason.update_rolled_back", "新版本已自动回退", "update rolled back"),
    ("ago.never", "从未", "never"),
    ("ago.seconds", "{n} 秒前", "{n} s ago"),
    ("ago.minutes", "{n} 分钟前", "{n} min ago"),
    ("ago.hours", "{n} 小时前", "{n} h ago"),
    ("ago.days", "{n} 天前", "{n} days ago"),
    ("kiosk.history", "健康记录", "Health history"),
    ("kiosk.chart_caption", "最近 {n} 次心跳：打印机、读卡器（绿=正常，橙=警告，红=故障）和待上传数量。", "The last {n} heartbeats: printer and card reader (green ok, orange warning, red error) and the outbox backlog."),
    ("kiosk.errors", "最近错误", "Recent errors"),
    ("kiosk.commands", "远程指令", "Commands"),
    ("kiosk.offered", "已下发 {n} 次", "offered {n}×"),
    ("kiosk.not_found", "没有这台自助机。", "There is no such kiosk."),
    ("command.reload_catalog", "重新加载服务目录", "Reload the catalogue"),
    ("command.reload_config", "重新加载配置", "Reload the configuration"),
    ("command.print_test_page", "打印测试页", "Print a test page"),
    ("command.run_selftest", "自检", "Run the self-test"),
    ("command.upload_logs", "上传日志", "Upload the logs"),
    ("command.restart_when_idle", "空闲时重启", "Restart when idle"),
    ("command.check_update", "检查更新", "Check for an update"),
    ("command.send", "发送", "Send"),
    ("command.list_changed", "列表已变化（现在 {n} 台，页面上是 {m} 台），指令没有发送。请看一下再发。", "The list changed ({n} kiosks now, {m} on the page): nothing was sent. Look again, then send."),
    ("command.queued", "已向 {n} 台自助机下发“{c}”，下次心跳时执行。", "“{c}” queued for {n} kiosks: carried out at their next heartbeat."),
    ("result.done", "已完成", "done"),
    ("result.failed", "失败", "failed"),
    ("result.refused", "被拒绝", "refused"),
    ("result.waiting", "等待中", "waiting"),
    ("viewer.note", "只读账号可以查看，不能操作。", "A viewer can look, not act."),
    ("refused.title", "不能执行", "Not allowed"),
    ("refused.viewer", "只读账号不能执行此操作，请用操作员账号登录。", "A viewer cannot do this: sign in as an operator."),
    ("refused.csrf", "表单已失效（可能来自别的网页或已过期），操作未执行。请刷新页面后重试。", "The form was not valid (from another page, or too old): nothing was done. Reload the page and try again."),
    ("cloud.failed", "云端没有执行：{e}", "The cloud did not do it: {e}"),
    ("cloud.unreachable", "连不上云端：{e}", "The cloud cannot be reached: {e}"),
    ("rollouts.title", "版本发布进度", "Releases across the fleet"),
    ("rollouts.reporting", "{total} 台中有 {n} 台报告了更新状态。", "{n} of {total} kiosks report their update status."),
    ("rollouts.no_repo", "控制台未配置发布仓库（--release-repo）：只显示各版本在自助机上的情况。", "No release repository configured (--release-repo): only what the kiosks report is shown."),
    ("rollouts.no_keys", "控制台没有发布密钥（--release-keys）：可以查看，不能暂停或扩大发布。", "No release keys (--release-keys): rollouts can be seen, not paused or widened."),
    ("rollouts.revoked", "已撤回", "revoked"),
    ("rollouts.paused", "已暂停", "paused"),
    ("rollouts.open", "已开放 {n}%", "open to {n} %"),
    ("rollouts.applied", "已安装", "applied"),
    ("rollouts.pending", "待切换", "pending"),
    ("rollouts.rolled_back", "已回退", "rolled back"),
    ("rollouts.failed", "失败", "failed"),
    ("rollouts.wave", "批次", "Wave"),
    ("rollouts.opens", "开放时间", "Opens"),
    ("rollouts.kiosks", "台数", "Kiosks"),
    ("rollouts.not_yet", "尚未安装", "not yet"),
    ("rollouts.later", "未到时间", "later"),
    ("rollouts.reasons", "回退和失败原因", "Why kiosks went back or failed"),
    ("rollouts.pause", "暂停发布", "Pause"),
    ("rollouts.resume", "恢复发布", "Resume"),
    ("rollouts.widen", "扩大发布", "Widen"),
    ("rollouts.none", "还没有版本信息。", "No releases yet."),
    ("rollouts.done", "版本 {v}：{what}（已签名发布到仓库）。", "Release {v}: {what} (signed into the repository)."),
    ("rollouts.did.pause", "已暂停", "paused"),
    ("rollouts.did.resume", "已恢复", "resumed"),
    ("rollouts.did.widen", "已扩大到 {n}%", "widened to {n} %"),
    ("rollouts.failed_action", "发布仓库没有改动：{e}", "The repository was not changed: {e}"),
    ("catalog.title", "服务目录与公告", "Service catalogue and notices"),
    ("catalog.version", "当前版本", "Version in force"),
    ("catalog.enabled", "开放", "On"),
    ("catalog.code", "服务", "Service"),
    ("catalog.needs_card", "需刷卡", "Card needed"),
    ("catalog.notices", "公告", "Notices"),
    ("catalog.notice", "公告", "Notice"),
    ("catalog.notice_title", "标题", "Title"),
    ("catalog.notice_body", "内容", "Text"),
    ("catalog.notice_service", "引导到服务", "Leads to service"),
    ("catalog.notice_remove", "两个标题都清空即删除此公告；填写空白的一栏即新增公告。", "Empty both titles to remove a notice; fill in the blank one to add a notice."),
    ("catalog.move_first", "移到最前（自助机待机页显示第一条）", "Move to the top (the attract page shows the first)"),
    ("catalog.preview", "预览首页", "Preview the home page"),
    ("catalog.publish", "发布", "Publish"),
    ("catalog.preview_title", "自助机首页预览（自助机自己的渲染器）", "The kiosk home page (drawn by the kiosk's own renderer)"),
    ("catalog.published", "已发布服务目录 {v}，自助机将在下次心跳时更新。", "Catalogue {v} published: kiosks pick it up at their next heartbeat."),
    ("catalog.invalid", "目录没有发布：{e}", "The catalogue was not published: {e}"),
    ("catalog.missing_glyphs", "自助机屏幕的字体里没有这些字，居民会看到空白：{c}。请换一种写法。", "The kiosk's screen font has no glyph for: {c}. Residents would see a gap; write it another way."),
    ("catalog.preview_failed", "预览没有生成：{e}", "The preview could not be drawn: {e}"),
    ("catalog.history", "以前的版本", "Earlier versions"),
    ("audit.title", "管理员操作记录", "What admins did"),
    ("audit.sign_ins", "登录记录", "Sign-ins"),
];

/// The text for `key` in `lang` (the key itself when there is none, so a gap shows).
pub fn tr(lang: Lang, key: &str) -> String {
    STRINGS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| match lang {
            Lang::Zh => *zh,
            Lang::En => *en,
        })
        .unwrap_or(key)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` key in the templates and every `tr(…, "…")` in the console's code is
    /// here; keys built from a prefix (`"status." ~ s`) are checked for each value they take.
    #[test]
    fn every_key_the_console_uses_is_translated() {
        let sources = [
            include_str!("templates/base.html"),
            include_str!("templates/login.html"),
            include_str!("templates/fleet.html"),
            include_str!("templates/kiosk.html"),
            include_str!("templates/rollouts.html"),
            include_str!("templates/catalog.html"),
            include_str!("templates/audit.html"),
            include_str!("templates/message.html"),
            include_str!("console.rs"),
        ];
        let mut keys = Vec::new();
        for src in sources {
            for marker in ["t(\"", "t('", "tr(lang, \"", "refused(\""] {
                let mut from = 0;
                while let Some(at) = src[from..].find(marker).map(|i| i + from) {
                    from = at + marker.len();
                    // `t(` itself, not the end of `expect(` or `format(`.
                    let before = src[..at].chars().next_back().unwrap_or(' ');
                    if before.is_alphanumeric() || before == '_' {
                        continue;
                    }
                    let rest = &src[from..];
                    let key = &rest[..rest.find(['"', '\'']).unwrap()];
                    if !key.ends_with('.') && !key.contains('{') {
                        keys.push(key.to_string());
                    }
                }
            }
        }
        let prefixed = [
            ("status.", vec!["ok", "attention", "offline"]),
            ("role.", vec!["viewer", "operator"]),
            ("result.", vec!["done", "failed", "refused", "waiting"]),
        ];
        for (p, values) in prefixed {
            keys.extend(values.iter().map(|v| format!("{p}{v}")));
        }
        keys.extend(
            crate::cloud::api::DeviceCommand::KNOWN
                .iter()
                .map(|c| format!("command.{c}")),
        );
        keys.extend(
            super::super::console::REASON_CODES
                .iter()
                .map(|c| format!("reason.{c}")),
        );
        assert!(keys.len() > 60, "{keys:?}");
        for key in keys {
            let found = STRINGS.iter().find(|(k, _, _)| *k == key);
            let (_, zh, en) = found.unwrap_or_else(|| panic!("{key} is not translated"));
            assert!(!zh.is_empty() && !en.is_empty(), "{key}");
        }
        // Chinese first: the zh column is Chinese.
        for (k, zh, _) in STRINGS {
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
                    || k.starts_with("brand"),
                "{k}"
            );
        }
    }
}
