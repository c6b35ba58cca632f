//! What each document says. Paper is bilingual where a resident may not read Chinese; personal
//! numbers are masked unless the document itself needs them.

use crate::cloud::api::{
    ApplicationReceipt, AssistanceReceipt, Bill, CaseDetail, CaseReceipt, CaseStatus, Certificate,
    Payment, PaymentStatus, Pickup, Priority, QueueTicket, Site, Text,
};
use bianmin_printer::{Align, Cell, Receipt, TextSize};

/// The queue ticket: hall, big ticket number, business, people ahead, expected wait, time.
/// `reprint` marks a copy printed again after a job in doubt (补打).
pub fn queue_ticket(
    site: &Site,
    t: &QueueTicket,
    business: &Text,
    priority: Priority,
    reprint: bool,
) -> Receipt {
    let mut r = Receipt::new("queue_ticket")
        .styled(
            site.street_office.clone(),
            TextSize::Normal,
            true,
            Align::Center,
        )
        .styled(site_line(site), TextSize::Normal, false, Align::Center)
        .separator()
        .styled(
            "排队取号  Queue ticket",
            TextSize::Normal,
            true,
            Align::Center,
        )
        .styled(t.ticket_no.clone(), TextSize::Huge, true, Align::Center)
        .styled(
            format!("{} {}", business.zh, business.en),
            TextSize::Normal,
            true,
            Align::Center,
        )
        .separator()
        .columns("前面等候 Ahead", format!("{} 人", t.waiting_ahead))
        .columns(
            "预计等候 Wait",
            match t.estimated_wait_min {
                0 => "无需等候 No wait".to_string(),
                m => format!("约 {m} 分钟 / about {m} min"),
            },
        )
        .columns("取号时间 Issued", crate::time::short_time(&t.issued_at));
    if priority == Priority::Elderly {
        r = r.columns("类型 Type", "长辈优先 Priority");
    }
    if reprint {
        r = r.styled("补打 REPRINT", TextSize::Double, true, Align::Center);
    }
    r.separator()
        .text("请留意叫号屏幕和语音提示，过号需重新取号。")
        .text("Watch the display for your number.")
        .styled(site.address.clone(), TextSize::Normal, false, Align::Center)
        .feed(3)
        .cut()
}

/// The service centre, in Chinese and (when the cloud gives it) English, for readers of either.
fn site_line(site: &Site) -> String {
    match &site.community_en {
        Some(en) => format!("{} 便民服务中心 {en} Service Centre", site.community),
        None => format!("{} 便民服务中心", site.community),
    }
}

fn header(site: &Site, title_zh: &str, title_en: &str) -> Receipt {
    Receipt::new("")
        .styled(
            site.street_office.clone(),
            TextSize::Normal,
            true,
            Align::Center,
        )
        .styled(site_line(site), TextSize::Normal, false, Align::Center)
        .separator()
        .styled(title_zh, TextSize::Double, true, Align::Center)
        .styled(title_en, TextSize::Normal, false, Align::Center)
}

fn named(mut r: Receipt, template: &str) -> Receipt {
    r.template = template.into();
    r
}

fn yuan(fen: i64) -> String {
    format!("￥{}.{:02}", fen / 100, (fen % 100).abs())
}

/// A utility's name in both languages.
pub fn utility_name(code: &str) -> Text {
    match code {
        "water" => Text::new("水费", "Water"),
        "electricity" => Text::new("电费", "Electricity"),
        "gas" => Text::new("燃气费", "Gas"),
        other => Text::new(other, other),
    }
}

/// `m3` → 立方米, `kwh` → 千瓦时.
pub fn usage_unit(unit: &str) -> Text {
    match unit {
        "kwh" => Text::new("千瓦时", "kWh"),
        "m3" => Text::new("立方米", "m³"),
        other => Text::new(other, other),
    }
}

fn channel_name(channel: &str) -> &'static str {
    match channel {
        "wechat" => "微信支付 WeChat Pay",
        "alipay" => "支付宝 Alipay",
        "unionpay" => "云闪付 UnionPay",
        _ => "扫码支付 QR payment",
    }
}

/// 缴费凭证, from the cloud's answer only (never the kiosk's own idea of what was paid): the
/// payee, account, each bill with its usage, the total, when and how it was paid, the receipt and
/// order numbers, and a refund when the cloud made one.
pub fn payment_receipt(site: &Site, p: &Payment) -> Receipt {
    let utility = utility_name(&p.utility);
    let mut r = named(
        header(site, "缴费凭证", "Payment receipt"),
        "payment_receipt",
    )
    .separator()
    .columns("收款单位 Payee", p.payee.zh.clone())
    .columns("缴费项目 Utility", format!("{} {}", utility.zh, utility.en))
    .columns("户号 Account", p.account.clone());
    for b in &p.bills {
        let unit = usage_unit(&b.usage_unit);
        r = r.columns(
            format!("{} 用量 {}{}", b.period, b.usage, unit.zh),
            yuan(b.amount_fen),
        );
    }
    r = r
        .separator()
        .styled(
            format!("合计 Total  {}", yuan(p.amount_fen)),
            TextSize::Double,
            true,
            Align::Right,
        )
        .columns(
            "支付时间 Paid",
            p.paid_at
                .as_deref()
                .map(crate::time::short_time)
                .unwrap_or_default(),
        )
        .columns(
            "支付方式 Channel",
            channel_name(p.channel.as_deref().unwrap_or("")),
        )
        .columns("订单号 Order No.", p.payment_id.clone())
        .columns(
            "凭证号 Receipt No.",
            p.receipt_no.clone().unwrap_or_default(),
        );
    if let Some(refund) = &p.refund {
        r = r
            .separator()
            .columns("已退款 Refunded", yuan(refund.amount_fen))
            .text("该账单已由其他订单缴清，本次付款已原路退回。")
            .text("The bill was already paid; this payment was refunded.");
    }
    if let Some(no) = &p.receipt_no {
        r = barcode(r, no);
    }
    r.text("本凭证仅作缴费证明，发票请在电子税务局下载。")
        .feed(3)
        .cut()
}

/// A Code 128 of a number the cloud gave, when it can be one (never a panic over the cloud's
/// data: the number is printed as text beside it anyway).
fn barcode(r: Receipt, number: &str) -> Receipt {
    if number.is_empty() {
        return r;
    }
    match r.clone().code128(number.to_string()) {
        Ok(with) => with,
        Err(e) => {
            tracing::warn!(error = %e, "number not printable as a barcode");
            r
        }
    }
}

/// 支付确认单: the kiosk lost contact while the QR was up. Not a receipt and never "failed":
/// the order number to ask about, and how the result reaches the resident.
pub fn payment_pending(site: &Site, p: &Payment, at: &str) -> Receipt {
    let utility = utility_name(&p.utility);
    let r = named(
        header(site, "支付结果确认中", "Payment being confirmed"),
        "payment_pending",
    )
    .separator()
    .columns("缴费项目 Utility", format!("{} {}", utility.zh, utility.en))
    .columns("户号 Account", p.account.clone())
    .columns("金额 Amount", yuan(p.amount_fen))
    .columns("订单号 Order No.", p.payment_id.clone())
    .columns("时间 Time", crate::time::short_time(at))
    .separator()
    .text("本机暂时无法确认支付结果。如已付款，款项不会重复扣除；未付款的订单将自动关闭。")
    .text("We could not confirm the payment yet. You are never charged twice; an unpaid order is closed.")
    .text("凭订单号可在本机“生活缴费 → 查询缴费结果”查询并打印缴费凭证。");
    barcode(r, &p.payment_id).feed(3).cut()
}

/// 受理回执: the case number and the query code to follow it up (here, by phone or online).
pub fn acceptance_receipt(
    site: &Site,
    title: &Text,
    receipt: &CaseReceipt,
    submitted_at: &str,
    resident_masked: Option<&str>,
) -> Receipt {
    let mut r = named(
        header(site, "受理回执", "Acknowledgement of receipt"),
        "acceptance_receipt",
    )
    .separator()
    .styled(
        format!("{} {}", title.zh, title.en),
        TextSize::Normal,
        true,
        Align::Left,
    )
    .columns("办件编号 Case No.", receipt.case_no.clone())
    .columns("查询码 Query code", receipt.query_code.clone())
    .columns("提交时间 Submitted", crate::time::short_time(submitted_at));
    if let Some(who) = resident_masked {
        r = r.columns("办理人 Resident", who);
    }
    r.code128(receipt.case_no.clone())
        .unwrap_or_else(|e| panic!("case numbers are ASCII: {e}"))
        .text("凭办件编号和查询码可在本机“我的办件”或政务服务网查询办理进度。")
        .text("Use the case number and query code to follow your case at this kiosk or online.")
        .feed(3)
        .cut()
}

/// 离线回执: the report is kept on this kiosk and will be sent when the network returns.
pub fn offline_receipt(site: &Site, title: &Text, local_no: &str, submitted_at: &str) -> Receipt {
    named(header(site, "离线受理回执", "Offline receipt"), "offline_receipt")
        .separator()
        .styled(format!("{} {}", title.zh, title.en), TextSize::Normal, true, Align::Left)
        .columns("回执编号 Receipt No.", local_no)
        .columns("提交时间 Submitted", crate::time::short_time(submitted_at))
        .separator()
        .text("网络暂时中断。您的诉求已保存在本机，网络恢复后将自动提交，不需要重复提交。")
        .text("Saved on this kiosk: it will be sent automatically when the network is back.")
        .text("实名提交的，送达后可在本机“我的办件”查询办件编号和进度；匿名提交的，请凭本回执到窗口查询。")
        .code128(local_no.to_string())
        .unwrap_or_else(|e| panic!("local numbers are ASCII: {e}"))
        .feed(3)
        .cut()
}

/// A certificate, statement or proof from the cloud: its number, its holder as the cloud issued
/// it (the name in full, because the document names its holder; the ID number masked), its lines
/// and table, when it was issued and until when it is valid, and the verification code and QR
/// anyone can check it with. `width_dots` is the paper's width (the table is laid out to it).
pub fn document(site: &Site, cert: &Certificate, width_dots: u32) -> Receipt {
    let mut r = named(header(site, &cert.title.zh, &cert.title.en), "certificate")
        .private(cert.holder.name.clone(), cert.holder.name_masked.clone())
        .separator()
        .columns("证明编号 No.", cert.certificate_no.clone())
        .columns("姓名 Name", cert.holder.name.clone())
        .columns("证件号码 ID", cert.holder.id_masked.clone());
    for line in &cert.lines {
        r = r.columns(line.label.zh.clone(), line.value.clone());
    }
    if let Some(table) = cert.table.as_ref().filter(|t| !t.columns.is_empty()) {
        r = r.separator();
        let header: Vec<String> = table.columns.iter().map(|c| c.zh.clone()).collect();
        let widths = column_widths(&header, table, width_dots / 12);
        let numeric: Vec<bool> = (0..header.len())
            .map(|i| {
                table.rows.iter().all(|row| {
                    row.get(i).is_none_or(|c| {
                        c.chars()
                            .all(|ch| ch.is_ascii_digit() || ".-,".contains(ch))
                    })
                })
            })
            .collect();
        let line = |cells: &[String]| -> Vec<Cell> {
            cells
                .iter()
                .zip(&widths)
                .zip(&numeric)
                .map(|((c, w), n)| Cell {
                    text: c.clone(),
                    width: *w,
                    right: *n,
                })
                .collect()
        };
        r = r.row(line(&header));
        for row in &table.rows {
            r = r.row(line(row));
        }
        if let Some(total) = &table.total {
            r = r.row(line(total));
        }
    }
    r.separator()
        .columns("出具时间 Issued", crate::time::short_time(&cert.issued_at))
        .columns(
            "有效期至 Valid until",
            crate::time::date_of(&cert.valid_until),
        )
        .columns("核验码 Verification", cert.verify_code.clone())
        .qr(cert.verify_url.clone())
        .unwrap_or_else(|e| panic!("verification URLs are ASCII: {e}"))
        .styled(
            "扫码或凭核验码核验真伪 Scan to verify",
            TextSize::Normal,
            false,
            Align::Center,
        )
        .feed(3)
        .cut()
}

/// Column widths (in character cells) for a document table on a line of `line` cells: each as
/// wide as its widest cell plus a gap, the widest columns narrowed first when the line is full.
fn column_widths(
    header: &[String],
    table: &crate::cloud::api::DocumentTable,
    line: u32,
) -> Vec<u32> {
    let width = |s: &str| -> u32 { s.chars().map(bianmin_printer::preview::cells).sum() };
    let mut widths: Vec<u32> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            table
                .rows
                .iter()
                .chain(table.total.iter())
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .chain([width(h)])
                .max()
                .unwrap_or(0)
                + 1
        })
        .collect();
    while widths.iter().sum::<u32>() > line {
        let Some(widest) = widths.iter_mut().max() else {
            break;
        };
        if *widest <= 4 {
            break;
        }
        *widest -= 1;
    }
    widths
}

/// What a kind of paper is called (for the privacy slip's "printed" line).
pub fn paper_name(template: &str) -> Text {
    let (zh, en) = match template {
        "queue_ticket" => ("排队号票", "queue ticket"),
        "payment_receipt" => ("缴费凭证", "payment receipt"),
        "payment_pending" => ("支付确认单", "payment confirmation slip"),
        "acceptance_receipt" => ("受理回执", "acceptance receipt"),
        "offline_receipt" => ("离线受理凭条", "offline receipt"),
        "household_receipt" | "assistance_receipt" => ("受理回执", "acceptance receipt"),
        "application_offline_receipt" => ("离线受理凭条", "offline receipt"),
        "certificate" => ("证明材料", "certificate"),
        "case_progress" => ("办件进度单", "case progress"),
        "privacy_slip" => ("隐私凭条", "privacy slip"),
        _ => ("凭条", "receipt"),
    };
    Text::new(zh, en)
}

fn status_zh(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Received => "已收件",
        CaseStatus::Accepted => "已受理",
        CaseStatus::Reviewing => "审批中",
        CaseStatus::Special => "特别程序",
        CaseStatus::Completed => "已办结",
        CaseStatus::Delivered => "已出件",
        CaseStatus::Rejected => "不予受理",
    }
}

/// 办件进度单: where a case stands and how it got there.
pub fn case_progress(site: &Site, case: &CaseDetail) -> Receipt {
    let mut r = named(header(site, "办件进度", "Case progress"), "case_progress")
        .separator()
        .styled(
            format!("{} {}", case.title.zh, case.title.en),
            TextSize::Normal,
            true,
            Align::Left,
        )
        .columns("办件编号 Case No.", case.case_no.clone())
        .styled(
            format!("当前状态：{}", status_zh(case.status)),
            TextSize::Double,
            true,
            Align::Left,
        )
        .separator();
    for e in &case.history {
        r = r.columns(crate::time::short_time(&e.at), status_zh(e.status));
    }
    r.code128(case.case_no.clone())
        .unwrap_or_else(|e| panic!("case numbers are ASCII: {e}"))
        .feed(3)
        .cut()
}

// ---- Applications (居住证·户籍, 民政救助): the 受理回执 and the offline receipt ----

/// The 受理回执 of an application: the case, its query code, who applied (masked), what the
/// service adds (`lines`), the notes, and a QR code of the case's progress page.
#[allow(clippy::too_many_arguments)]
fn application_receipt(
    site: &Site,
    template: &str,
    title: &Text,
    case_no: &str,
    query_code: &str,
    submitted_at: &str,
    resident_masked: Option<&str>,
    lines: Vec<(String, String)>,
    notes: &[&str],
    progress_url: &str,
) -> Receipt {
    let mut r = named(
        header(site, "受理回执", "Acknowledgement of receipt"),
        template,
    )
    .separator()
    .styled(
        format!("{} {}", title.zh, title.en),
        TextSize::Normal,
        true,
        Align::Left,
    )
    .columns("办件编号 Case No.", case_no)
    .columns("查询码 Query code", query_code)
    .columns("提交时间 Submitted", crate::time::short_time(submitted_at));
    if let Some(who) = resident_masked {
        r = r.columns("申请人 Applicant", who);
    }
    for (label, value) in lines {
        r = r.columns(label, value);
    }
    r = r.separator();
    for note in notes {
        r = r.text(*note);
    }
    // The cloud's URL is ASCII by contract; one that is not is left off rather than garbled.
    if progress_url.is_ascii() && !progress_url.is_empty() {
        r = r
            .qr(progress_url)
            .unwrap_or_else(|e| panic!("checked ASCII: {e}"))
            .styled(
                "扫码查看办理进度 Scan to follow the case",
                TextSize::Normal,
                false,
                Align::Center,
            );
    }
    r.feed(3).cut()
}

fn pickup_text(p: Pickup) -> &'static str {
    match p {
        Pickup::Window => "窗口领取 At the window",
        Pickup::Locker => "智能柜自取 Pickup locker",
        Pickup::Mail => "邮寄到家 By post",
    }
}

/// 居住证·户籍 受理回执: the promised completion date, how and where it is collected, the fee.
/// A locker's 取件码 is not on it: it is sent once the document is in the locker.
pub fn household_receipt(
    site: &Site,
    title: &Text,
    a: &ApplicationReceipt,
    submitted_at: &str,
    fee_fen: i64,
    resident_masked: Option<&str>,
) -> Receipt {
    let mut lines = vec![
        ("承诺办结 Ready by".to_string(), a.promised_date.clone()),
        (
            "领取方式 Pickup".to_string(),
            pickup_text(a.pickup).to_string(),
        ),
        ("领取地点 Where".to_string(), a.pickup_place.zh.clone()),
    ];
    if fee_fen > 0 {
        lines.push(("工本费 Fee".to_string(), yuan(fee_fen)));
    }
    let mut notes = vec![
        "凭办件编号和查询码可在本机“我的办件”或扫码查询办理进度。",
        "Follow your case at this kiosk (My cases) or scan the code.",
    ];
    if a.pickup == Pickup::Locker {
        notes.push("取件码将在物品入柜后通过短信和“我的办件”告知。");
        notes.push("The locker code will be sent by SMS and shown in My cases.");
    }
    application_receipt(
        site,
        "household_receipt",
        title,
        &a.case_no,
        &a.query_code,
        submitted_at,
        resident_masked,
        lines,
        &notes,
        &a.progress_url,
    )
}

/// 民政救助 受理回执: the time limit in working days and what happens next, in order. The
/// pre-check is not a decision, and the paper says so.
pub fn assistance_receipt(
    site: &Site,
    title: &Text,
    a: &AssistanceReceipt,
    submitted_at: &str,
    resident_masked: Option<&str>,
) -> Receipt {
    let mut lines = vec![(
        "办理时限 Time limit".to_string(),
        format!("{0} 个工作日 / {0} working days", a.time_limit_days),
    )];
    for (i, step) in a.next_steps.iter().enumerate() {
        let label = if i == 0 {
            "后续步骤 Next steps"
        } else {
            ""
        };
        lines.push((label.to_string(), format!("{}. {}", i + 1, step.zh)));
    }
    application_receipt(
        site,
        "assistance_receipt",
        title,
        &a.case_no,
        &a.query_code,
        submitted_at,
        resident_masked,
        lines,
        &[
            "是否给予救助以民政部门审核结果为准，请保持电话畅通。",
            "The civil affairs office decides after its review.",
        ],
        &a.progress_url,
    )
}

/// 离线受理回执 of an application: kept on this kiosk, sent when the network returns.
pub fn application_offline_receipt(
    site: &Site,
    title: &Text,
    local_no: &str,
    submitted_at: &str,
) -> Receipt {
    named(
        header(site, "离线受理回执", "Offline receipt"),
        "application_offline_receipt",
    )
    .separator()
    .styled(
        format!("{} {}", title.zh, title.en),
        TextSize::Normal,
        true,
        Align::Left,
    )
    .columns("回执编号 Receipt No.", local_no)
    .columns("提交时间 Submitted", crate::time::short_time(submitted_at))
    .separator()
    .text("网络暂时中断。您的申请已保存在本机，网络恢复后将自动提交，不需要重复提交。")
    .text("Saved on this kiosk: it will be sent automatically when the network is back.")
    .text("送达后可在本机“我的办件”查询办件编号和办理进度。")
    .text("Once sent, find its case number and progress in My cases.")
    .code128(local_no.to_string())
    .unwrap_or_else(|e| panic!("local numbers are ASCII: {e}"))
    .feed(3)
    .cut()
}

/// The application templates filled with sample data.
fn application_sample(name: &str) -> Option<Receipt> {
    let at = "2026-11-29T17:05:00+08:00";
    match name {
        "household_receipt" => Some(household_receipt(
            &Site::example(),
            &Text::new("居住证办理", "Residence permit"),
            &ApplicationReceipt {
                case_no: "BM2026000131".into(),
                query_code: "Q4M7XK2P".into(),
                promised_date: "2026-12-18".into(),
                pickup: Pickup::Locker,
                pickup_place: Text::new(
                    "建设南路社区便民服务中心一楼智能柜",
                    "Pickup locker, ground floor, service centre",
                ),
                progress_url:
                    "https://zwfw.example.gov.cn/v1/cases/BM2026000131?query_code=Q4M7XK2P".into(),
            },
            at,
            2_000,
            Some("李*英"),
        )),
        "assistance_receipt" => Some(assistance_receipt(
            &Site::example(),
            &Text::new("高龄津贴", "Advanced-age allowance"),
            &AssistanceReceipt {
                case_no: "BM2026000132".into(),
                query_code: "H8W3RT6C".into(),
                time_limit_days: 20,
                next_steps: vec![
                    Text::new("社区受理并初审", "The community checks the application"),
                    Text::new("民政部门审核", "The civil affairs office reviews it"),
                    Text::new("审核通过后按月发放", "Paid monthly once approved"),
                ],
                progress_url:
                    "https://zwfw.example.gov.cn/v1/cases/BM2026000132?query_code=H8W3RT6C".into(),
            },
            at,
            Some("陈*华"),
        )),
        "application_offline_receipt" => Some(application_offline_receipt(
            &Site::example(),
            &Text::new("居住证办理", "Residence permit"),
            "LX20261129000013",
            at,
        )),
        _ => None,
    }
}

/// Every template `bianmin printer preview` knows.
pub const NAMES: [&str; 12] = [
    "queue_ticket",
    "payment_receipt",
    "acceptance_receipt",
    "offline_receipt",
    "certificate",
    "case_progress",
    "test_page",
    "household_receipt",
    "assistance_receipt",
    "application_offline_receipt",
    "selftest_page",
    "provisioning_slip",
];

/// A template filled with sample data (for previews and docs).
pub fn sample(name: &str, width_dots: u32) -> Option<Receipt> {
    match name {
        "queue_ticket" => {
            let t = QueueTicket {
                ticket_no: "A006".into(),
                business: "social".into(),
                waiting_ahead: 5,
                estimated_wait_min: 20,
                issued_at: "2026-11-29T17:05:00+08:00".into(),
            };
            Some(queue_ticket(
                &Site::example(),
                &t,
                &Text::new("社保医保", "Social & medical insurance"),
                Priority::Elderly,
                false,
            ))
        }
        "test_page" => Some(test_page(width_dots)),
        "selftest_page" => Some(selftest_page(
            Some(("kiosk-0001", &Site::example())),
            "2026-11-29T09:12:00+08:00",
            width_dots,
        )),
        "provisioning_slip" => Some(provisioning_slip(
            "kiosk-0001",
            &Site::example(),
            &[
                ("printer", "pass", "/dev/ttyUSB0"),
                ("reader", "pass", "/dev/ttyUSB1, ACS ACR39U 00 00"),
                ("audio", "pass", "default"),
                ("display", "pass", "card0-HDMI-A-1 1080x1920"),
                ("clock", "pass", "ntp.aliyun.com +12 ms"),
                ("storage", "pass", "/var/lib/bianmin 28410 MB"),
                ("cloud", "pass", "zwfw.example.gov.cn 86 ms"),
                ("enrolment", "pass", "kiosk-0001"),
            ],
            true,
            "2026-11-29T09:14:00+08:00",
        )),
        "offline_receipt" => Some(offline_receipt(
            &Site::example(),
            &Text::new("隐患：消防隐患", "Fire hazard"),
            "LX20261129000012",
            "2026-11-29T17:05:00+08:00",
        )),
        "payment_receipt" | "payment_pending" => {
            let bill = |period: &str, usage, fen| Bill {
                bill_id: format!("W10000002-{period}"),
                period: period.into(),
                usage,
                usage_unit: "m3".into(),
                amount_fen: fen,
                due_date: format!("{period}-28"),
                status: "paid".into(),
            };
            let payment = Payment {
                payment_id: "PAY2026000007".into(),
                status: PaymentStatus::Paid,
                utility: "water".into(),
                account: "10000002".into(),
                payee: Text::new("成都市自来水有限责任公司", "Chengdu Water Co."),
                bills: vec![bill("2026-10", 12, 4_660), bill("2026-11", 13, 5_120)],
                amount_fen: 9_780,
                qr_payload: "https://pay.example.gov.cn/p/PAY2026000007".into(),
                expires_at: "2026-11-29T17:15:00+08:00".into(),
                paid_at: Some("2026-11-29T17:06:12+08:00".into()),
                channel: Some("wechat".into()),
                receipt_no: Some("RC2026000031".into()),
                refund: None,
            };
            Some(if name == "payment_receipt" {
                payment_receipt(&Site::example(), &payment)
            } else {
                payment_pending(&Site::example(), &payment, "2026-11-29T17:06:12+08:00")
            })
        }
        "acceptance_receipt" => Some(acceptance_receipt(
            &Site::example(),
            &Text::new("隐患：消防隐患", "Hazard: Fire hazard"),
            &CaseReceipt {
                case_no: "BM2026000123".into(),
                query_code: "K7PQ2MXA".into(),
            },
            "2026-11-29T17:05:00+08:00",
            None,
        )),
        "certificate" => {
            let cert: Certificate = serde_json::from_value(serde_json::json!({
                "certificate_no": "ZM2026000001", "kind": "social_insurance_certificate",
                "verify_code": "K7PQ2MXA",
                "verify_url": "https://zwfw.example.gov.cn/v1/certificates/ZM2026000001?verify_code=K7PQ2MXA",
                "title": {"zh": "社会保险参保证明", "en": "Social insurance participation certificate"},
                "holder": {"name": "李秀英", "name_masked": "李*英", "id_masked": "510107********0428"},
                "request_id": "sample", "session_id": "sample",
                "issued_at": "2026-11-29T17:05:00+08:00",
                "valid_until": "2027-02-28T23:59:59+08:00",
                "lines": [
                    {"label": {"zh": "参保单位", "en": "Employer"}, "value": "四川某某科技有限公司"},
                    {"label": {"zh": "证明期间", "en": "Period"}, "value": "2025-11 — 2026-10"},
                    {"label": {"zh": "累计缴费月数", "en": "Months"}, "value": "157"},
                ],
                "table": {
                    "columns": [{"zh": "期间", "en": "Period"}, {"zh": "险种", "en": "Schemes"},
                                {"zh": "月数", "en": "Months"}, {"zh": "基数(元)", "en": "Base"}],
                    "rows": [["2025-11—2025-12", "养医失工生", "2", "6200.00"],
                             ["2026-01—2026-10", "养医失工生", "10", "6500.00"]],
                    "total": ["合计", "", "12", ""]
                }
            }))
            .expect("sample certificate");
            Some(document(&Site::example(), &cert, width_dots))
        }
        "case_progress" => {
            let case: CaseDetail = serde_json::from_value(serde_json::json!({
                "case_no": "SQ2026000102", "title": {"zh": "临时救助申请", "en": "Temporary assistance application"},
                "status": "reviewing", "updated_at": "2026-11-25T10:00:00+08:00", "rating_allowed": false,
                "history": [
                    {"status": "received", "at": "2026-11-21T09:12:00+08:00"},
                    {"status": "accepted", "at": "2026-11-22T14:30:00+08:00"},
                    {"status": "reviewing", "at": "2026-11-25T10:00:00+08:00"}
                ]
            }))
            .expect("sample case");
            Some(case_progress(&Site::example(), &case))
        }
        other => application_sample(other),
    }
}

/// The technician's test page: Chinese in text mode, a rare character (image), a QR code, a cut.
pub fn test_page(width_dots: u32) -> Receipt {
    Receipt::new("test_page")
        .styled(
            "便民自助终端 打印测试",
            TextSize::Double,
            true,
            Align::Center,
        )
        .styled(
            "Bianmin printer test",
            TextSize::Normal,
            false,
            Align::Center,
        )
        .separator()
        .text("中文文本模式：国家政务服务平台 社会保障卡 居住证")
        .text("生僻字（图像打印）：𠮷 䶮")
        .columns("纸宽 Paper", format!("{width_dots} dots"))
        .columns("金额 Amount", "￥1,234.50")
        .separator()
        .qr("https://zwfw.example.gov.cn/verify/TEST?code=BM2026")
        .expect("ASCII payload")
        .styled(
            "扫码核验 Scan to verify",
            TextSize::Normal,
            false,
            Align::Center,
        )
        .feed(3)
        .cut()
}

/// The self-test's test page: what the technician's test page checks (Chinese text, a QR, a
/// cut), and whose kiosk it is — id, site, time — so a page found later says where it came
/// from. The QR carries the device id.
pub fn selftest_page(kiosk: Option<(&str, &Site)>, at: &str, width_dots: u32) -> Receipt {
    let mut r = Receipt::new("selftest_page")
        .styled("设备自检 打印测试", TextSize::Double, true, Align::Center)
        .styled("Self-test print", TextSize::Normal, false, Align::Center)
        .separator();
    if let Some((id, site)) = kiosk {
        r = r
            .columns("终端 Kiosk", id.to_string())
            .text(site.street_office.clone())
            .text(site_line(site))
            .text(site.address.clone());
    } else {
        r = r.columns("终端 Kiosk", "未注册 not enrolled");
    }
    r = r
        .columns("时间 Time", crate::time::short_time(at))
        .columns("纸宽 Paper", format!("{width_dots} dots"))
        .text("中文文本模式：国家政务服务平台 社会保障卡 居住证")
        .separator();
    if let Some((id, _)) = kiosk {
        if let Ok(with_qr) = r.clone().qr(format!("device:{id}")) {
            r = with_qr.styled(
                "扫码查看终端 Scan for the kiosk id",
                TextSize::Normal,
                false,
                Align::Center,
            );
        }
    }
    r.feed(3).cut()
}

/// The provisioning slip left in the kiosk: its id, site, each device with its result and
/// what was found, the time, and a QR of the device id (never the token).
pub fn provisioning_slip(
    device_id: &str,
    site: &Site,
    devices: &[(&str, &str, &str)],
    ok: bool,
    at: &str,
) -> Receipt {
    let mut r = Receipt::new("provisioning_slip")
        .styled("终端开通单", TextSize::Double, true, Align::Center)
        .styled(
            "Kiosk provisioning slip",
            TextSize::Normal,
            false,
            Align::Center,
        )
        .separator()
        .styled(device_id.to_string(), TextSize::Double, true, Align::Center)
        .text(site.street_office.clone())
        .text(site_line(site))
        .text(site.address.clone())
        .columns("站点 Hall", site.hall_id.clone())
        .columns("时间 Time", crate::time::short_time(at))
        .separator();
    for (name, result, found) in devices {
        let mark = match *result {
            "pass" => "通过 PASS",
            "warn" => "注意 WARN",
            "fail" => "失败 FAIL",
            _ => "未测 SKIP",
        };
        r = r.columns(device_label(name), mark);
        if !found.is_empty() {
            r = r.styled(format!("  {found}"), TextSize::Normal, false, Align::Left);
        }
    }
    r = r.separator().styled(
        if ok {
            "开通完成 Provisioning complete"
        } else {
            "未完成：请处理失败项后重新运行 bianmin provision"
        },
        TextSize::Normal,
        true,
        Align::Center,
    );
    if !ok {
        r = r.styled(
            "Incomplete: fix what failed, run bianmin provision again",
            TextSize::Normal,
            false,
            Align::Center,
        );
    }
    if let Ok(with_qr) = r.clone().qr(format!("device:{device_id}")) {
        r = with_qr;
    }
    r.feed(3).cut()
}

fn device_label(name: &str) -> String {
    match name {
        "printer" => "打印机 Printer",
        "reader" => "读卡器 Card reader",
        "audio" => "声音 Sound",
        "display" => "显示屏 Display",
        "clock" => "时钟 Clock",
        "storage" => "存储 Storage",
        "cloud" => "政务云 Cloud",
        "enrolment" => "注册 Enrolment",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selftest_page_and_the_slip_say_whose_kiosk_and_never_a_token() {
        let page = selftest_page(
            Some(("kiosk-0007", &Site::example())),
            "2026-11-29T09:12:00+08:00",
            576,
        )
        .plain_text();
        for want in [
            "kiosk-0007",
            "建设南路社区",
            "[QR device:kiosk-0007]",
            "2026-11-29 09:12",
        ] {
            assert!(page.contains(want), "{want} missing from\n{page}");
        }
        let slip = sample("provisioning_slip", 576).unwrap().plain_text();
        for want in [
            "kiosk-0001",
            "打印机 Printer",
            "通过 PASS",
            "/dev/ttyUSB0",
            "[QR device:kiosk-0001]",
            "开通完成",
        ] {
            assert!(slip.contains(want), "{want} missing from\n{slip}");
        }
        assert!(!slip.contains("dev_"), "no device token on paper");
    }

    fn ticket() -> QueueTicket {
        QueueTicket {
            ticket_no: "A006".into(),
            business: "social".into(),
            waiting_ahead: 5,
            estimated_wait_min: 20,
            issued_at: "2026-11-29T17:05:00+08:00".into(),
        }
    }

    #[test]
    fn ticket_says_what_the_resident_needs() {
        let r = queue_ticket(
            &Site::example(),
            &ticket(),
            &Text::new("社保医保", "Social & medical insurance"),
            Priority::Elderly,
            false,
        );
        let text = r.plain_text();
        for want in [
            "A006",
            "社保医保",
            "5 人",
            "约 20 分钟",
            "2026-11-29 17:05",
            "长辈优先",
            "建设南路社区",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        assert!(!text.contains("补打"));
        assert!(matches!(r.blocks.last(), Some(bianmin_printer::Block::Cut)));
    }

    #[test]
    fn every_template_renders_with_the_embedded_font_and_masks_ids() {
        let mut fonts = bianmin_printer::PreviewFonts::new();
        fonts.push(super::super::EMBEDDED_FONT.to_vec(), 0).unwrap();
        for name in NAMES {
            let r = sample(name, 576).unwrap();
            assert_eq!(r.template, name);
            let img = bianmin_printer::preview::render(&r, &fonts, 576);
            let missing: Vec<char> = img
                .missing_glyphs
                .iter()
                .copied()
                .filter(|c| !['䶮', '𠮷'].contains(c))
                .collect();
            assert!(missing.is_empty(), "{name}: {missing:?}");
            let text = r.plain_text();
            assert!(
                !text.contains("51010719850722"),
                "{name}: a full ID number on paper"
            );
        }
        let cert = sample("certificate", 576).unwrap().plain_text();
        for want in [
            "ZM2026000001",
            "K7PQ2MXA",
            "[QR https://zwfw.example.gov.cn/v1/certificates/ZM2026000001?verify_code=K7PQ2MXA]",
            "李秀英",
            "2026-01—2026-10",
            "510107********0428",
        ] {
            assert!(cert.contains(want), "{want} missing");
        }
        let ack = sample("acceptance_receipt", 576).unwrap().plain_text();
        assert!(
            ack.contains("BM2026000123")
                && ack.contains("K7PQ2MXA")
                && ack.contains("[CODE128 BM2026000123]")
        );
    }

    #[test]
    fn reprint_is_marked() {
        let r = queue_ticket(
            &Site::example(),
            &ticket(),
            &Text::new("a", "b"),
            Priority::Normal,
            true,
        );
        assert!(r.plain_text().contains("补打"));
        assert!(!r.plain_text().contains("长辈优先"));
    }

    #[test]
    fn preview_renders_every_character_with_the_embedded_font() {
        let mut fonts = bianmin_printer::PreviewFonts::new();
        fonts.push(super::super::EMBEDDED_FONT.to_vec(), 0).unwrap();
        let r = queue_ticket(
            &Site::example(),
            &ticket(),
            &Text::new("户籍居住证", "Household"),
            Priority::Elderly,
            true,
        );
        let img = bianmin_printer::preview::render(&r, &fonts, 576);
        assert!(
            img.missing_glyphs.is_empty(),
            "missing {:?}",
            img.missing_glyphs
        );
        assert_eq!(img.width, 576);
        assert!(img.height > 600, "a ticket is a long strip: {}", img.height);
        let ink = img.pixels.iter().filter(|p| **p < 128).count();
        assert!(ink > 5_000, "text was drawn ({ink} dark pixels)");
    }
    #[test]
    fn application_receipts_say_what_happens_next_and_never_a_locker_code() {
        let hh = sample("household_receipt", 576).unwrap().plain_text();
        for want in [
            "受理回执",
            "BM2026000131",
            "Q4M7XK2P",
            "2026-12-18",
            "智能柜自取",
            "建设南路社区便民服务中心一楼智能柜",
            "￥20.00",
            "取件码将在物品入柜后通过短信和“我的办件”告知",
            "[QR https://zwfw.example.gov.cn/v1/cases/BM2026000131?query_code=Q4M7XK2P]",
            "李*英",
        ] {
            assert!(hh.contains(want), "{want} missing from\n{hh}");
        }
        let aid = sample("assistance_receipt", 576).unwrap().plain_text();
        for want in [
            "BM2026000132",
            "20 个工作日",
            "1. 社区受理并初审",
            "3. 审核通过后按月发放",
            "以民政部门审核结果为准",
            "[QR https://zwfw.example.gov.cn/v1/cases/BM2026000132?query_code=H8W3RT6C]",
        ] {
            assert!(aid.contains(want), "{want} missing from\n{aid}");
        }
        let off = sample("application_offline_receipt", 576)
            .unwrap()
            .plain_text();
        assert!(off.contains("LX20261129000013") && off.contains("您的申请已保存在本机"));
        assert_eq!(paper_name("household_receipt").zh, "受理回执");
    }
}
