//! What each document says. Paper is bilingual where a resident may not read Chinese; personal
//! numbers are masked unless the document itself needs them.

use crate::cloud::api::{Priority, QueueTicket, Site, Text};
use bianmin_printer::{Align, Receipt, TextSize};

/// The queue ticket: hall, big ticket number, business, people ahead, expected wait, time.
/// `reprint` marks a copy printed again after a job in doubt (补打).
pub fn queue_ticket(site: &Site, t: &QueueTicket, business: &Text, priority: Priority, reprint: bool) -> Receipt {
    let mut r = Receipt::new("queue_ticket")
        .styled(site.street_office.clone(), TextSize::Normal, true, Align::Center)
        .styled(format!("{} 便民服务中心", site.community), TextSize::Normal, false, Align::Center)
        .separator()
        .styled("排队取号  Queue ticket", TextSize::Normal, true, Align::Center)
        .styled(t.ticket_no.clone(), TextSize::Huge, true, Align::Center)
        .styled(format!("{} {}", business.zh, business.en), TextSize::Normal, true, Align::Center)
        .separator()
        .columns("前面等候 Ahead", format!("{} 人", t.waiting_ahead))
        .columns("预计等候 Wait", format!("约 {} 分钟 min", t.estimated_wait_min))
        .columns("取号时间 Issued", super::super::services::short_time(&t.issued_at));
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

/// Every template `bianmin printer preview` knows.
pub const NAMES: [&str; 2] = ["queue_ticket", "test_page"];

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
            Some(queue_ticket(&crate::cloud_sim::site(), &t, &Text::new("社保医保", "Social & medical insurance"), Priority::Elderly, false))
        }
        "test_page" => Some(test_page(width_dots)),
        _ => None,
    }
}

/// The technician's test page: Chinese in text mode, a rare character (image), a QR code, a cut.
pub fn test_page(width_dots: u32) -> Receipt {
    Receipt::new("test_page")
        .styled("便民自助终端 打印测试", TextSize::Double, true, Align::Center)
        .styled("Bianmin printer test", TextSize::Normal, false, Align::Center)
        .separator()
        .text("中文文本模式：国家政务服务平台 社会保障卡 居住证")
        .text("生僻字（图像打印）：𠮷 䶮")
        .columns("纸宽 Paper", format!("{width_dots} dots"))
        .columns("金额 Amount", "¥1,234.50")
        .separator()
        .qr("https://zwfw.example.gov.cn/verify/TEST?code=BM2026")
        .expect("ASCII payload")
        .styled("扫码核验 Scan to verify", TextSize::Normal, false, Align::Center)
        .feed(3)
        .cut()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = queue_ticket(&crate::cloud_sim::site(), &ticket(), &Text::new("社保医保", "Social & medical insurance"), Priority::Elderly, false);
        let text = r.plain_text();
        for want in ["A006", "社保医保", "5 人", "约 20 分钟", "2026-11-29 17:05", "长辈优先", "建设南路社区"] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
        assert!(!text.contains("补打"));
        assert!(matches!(r.blocks.last(), Some(bianmin_printer::Block::Cut)));
    }

    #[test]
    fn reprint_is_marked() {
        let r = queue_ticket(&crate::cloud_sim::site(), &ticket(), &Text::new("a", "b"), Priority::Normal, true);
        assert!(r.plain_text().contains("补打"));
        assert!(!r.plain_text().contains("长辈优先"));
    }

    #[test]
    fn preview_renders_every_character_with_the_embedded_font() {
        let mut fonts = bianmin_printer::PreviewFonts::new();
        fonts.push(super::super::EMBEDDED_FONT.to_vec(), 0).unwrap();
        let r = queue_ticket(&crate::cloud_sim::site(), &ticket(), &Text::new("户籍居住证", "Household"), Priority::Elderly, true);
        let img = bianmin_printer::preview::render(&r, &fonts, 576);
        assert!(img.missing_glyphs.is_empty(), "missing {:?}", img.missing_glyphs);
        assert_eq!(img.width, 576);
        assert!(img.height > 600, "a ticket is a long strip: {}", img.height);
        let ink = img.pixels.iter().filter(|p| **p < 128).count();
        assert!(ink > 5_000, "text was drawn ({ink} dark pixels)");
    }
}
