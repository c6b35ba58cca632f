//! The 隐私凭条 (privacy slip): what the kiosk did with one resident's personal data in one
//! identified session — which fields it read from the card, which it sent where (by name, never
//! by value), what it printed, and that the cloud session was revoked and the kiosk's copy wiped.
//! Built from what the kiosk actually did (recorded as it happened), never from a fixed text.

use crate::cloud::api::{Site, Text};
use crate::view::RowView;
use crate::Lang;
use bianmin_idcard::{CardType, Identity};
use bianmin_printer::{Align, Receipt, TextSize};
use std::sync::{Arc, Mutex};

/// A field of the card (or of the resident's input), by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    IdNumber,
    Sex,
    Ethnicity,
    BirthDate,
    Address,
    Authority,
    Validity,
    CardNumber,
    Photo,
    CardType,
    /// The cloud's session token (not personal data, but what services were given instead).
    Session,
}

impl Field {
    pub fn name(self) -> Text {
        let (zh, en) = match self {
            Field::Name => ("姓名", "name"),
            Field::IdNumber => ("证件号码", "ID number"),
            Field::Sex => ("性别", "sex"),
            Field::Ethnicity => ("民族", "ethnicity"),
            Field::BirthDate => ("出生日期", "date of birth"),
            Field::Address => ("住址", "address"),
            Field::Authority => ("签发机关", "issuing authority"),
            Field::Validity => ("有效期限", "validity"),
            Field::CardNumber => ("卡号", "card number"),
            Field::Photo => ("照片", "photo"),
            Field::CardType => ("证件类型", "card type"),
            // What a service is given: it says which session, and carries no card data.
            Field::Session => ("会话凭证（不含证件信息）", "session token (no card data)"),
        };
        Text::new(zh, en)
    }
}

fn card_name(t: CardType) -> Text {
    match t {
        CardType::ResidentId => Text::new("居民身份证", "resident ID card"),
        CardType::ResidencePermitHkMoTw => {
            Text::new("港澳台居民居住证", "residence permit (HK/Macao/Taiwan)")
        }
        CardType::ForeignPermanentResident => {
            Text::new("外国人永久居留身份证", "foreign permanent resident card")
        }
        CardType::SocialSecurity => Text::new("社会保障卡", "social security card"),
    }
}

/// Where data went: the identity check, or a service by its code (and catalogue name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    pub to: Text,
    pub fields: Vec<Field>,
}

/// How the revocation of the cloud session ended (filled in by the task that revokes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Pending,
    Done,
    Failed,
}

/// The record of one identified session, kept as the kiosk acts.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    card: Option<CardType>,
    read: Vec<Field>,
    sent: Vec<Disclosure>,
    printed: Vec<Text>,
    id_tail: String,
    revoked: Arc<Mutex<Revoked>>,
    identified: bool,
}

impl Default for SessionRecord {
    fn default() -> Self {
        SessionRecord {
            card: None,
            read: Vec::new(),
            sent: Vec::new(),
            printed: Vec::new(),
            id_tail: String::new(),
            revoked: Arc::new(Mutex::new(Revoked::Pending)),
            identified: false,
        }
    }
}

impl SessionRecord {
    /// The card as the reader decoded it: which fields were on it (their values are not kept).
    pub fn card_read(&mut self, id: &Identity) {
        self.card = Some(id.card_type);
        let mut read = vec![Field::Name, Field::IdNumber];
        read.push(Field::Sex);
        if id.ethnicity.is_some() {
            read.push(Field::Ethnicity);
        }
        read.push(Field::BirthDate);
        if !id.address.is_empty() {
            read.push(Field::Address);
        }
        if !id.authority.is_empty() {
            read.push(Field::Authority);
        }
        read.push(Field::Validity);
        if id.card_number.is_some() {
            read.push(Field::CardNumber);
        }
        if !id.photo_wlt.is_empty() {
            read.push(Field::Photo);
        }
        self.read = read;
    }

    /// The cloud checked the card: what was sent for it, and the masked number's last four.
    pub fn identified(&mut self, fields: &[Field], id_masked: &str) {
        self.identified = true;
        self.sent.push(Disclosure {
            to: Text::new("身份核验", "identity check"),
            fields: fields.to_vec(),
        });
        let chars: Vec<char> = id_masked.chars().collect();
        self.id_tail = chars[chars.len().saturating_sub(4)..].iter().collect();
    }

    /// A service used the session (it gets the session token, never the card's fields).
    pub fn used(&mut self, service: Text) {
        if !self.identified || self.sent.iter().any(|d| d.to == service) {
            return;
        }
        self.sent.push(Disclosure {
            to: service,
            fields: vec![Field::Session],
        });
    }

    /// A paper came out (its title).
    pub fn printed(&mut self, title: Text) {
        if self.identified {
            self.printed.push(title);
        }
    }

    pub fn is_identified(&self) -> bool {
        self.identified
    }

    /// Where the revocation task writes how it ended.
    pub fn revocation(&self) -> Arc<Mutex<Revoked>> {
        self.revoked.clone()
    }

    fn revoked(&self) -> Revoked {
        *self.revoked.lock().expect("revoked lock")
    }

    fn list(fields: &[Field], lang: Lang) -> String {
        let sep = if lang == Lang::Zh { "、" } else { ", " };
        fields
            .iter()
            .map(|f| f.name().get(lang).to_string())
            .collect::<Vec<_>>()
            .join(sep)
    }

    fn revocation_key(&self) -> &'static str {
        match self.revoked() {
            Revoked::Pending => "privacy.revoking",
            Revoked::Done => "privacy.revoked",
            Revoked::Failed => "privacy.revoke_failed",
        }
    }

    /// The slip's lines on the goodbye page (labels are keys or data; values are data).
    pub fn rows(&self, lang: Lang) -> Vec<RowView> {
        let mut rows = Vec::new();
        if let Some(card) = self.card {
            rows.push(RowView::new(
                "privacy.card",
                format!(
                    "{} · {}",
                    card_name(card).get(lang),
                    tail(&self.id_tail, lang)
                ),
            ));
        }
        rows.push(RowView::new("privacy.read", Self::list(&self.read, lang)));
        for d in &self.sent {
            let label = match lang {
                Lang::Zh => format!("发送给{}", d.to.zh),
                Lang::En => format!("Sent to {}", d.to.en),
            };
            rows.push(RowView {
                label,
                value: Self::list(&d.fields, lang),
                unit: String::new(),
                warn: false,
            });
        }
        let printed = if self.printed.is_empty() {
            Text::new("无", "nothing").get(lang).to_string()
        } else {
            self.printed
                .iter()
                .map(|t| t.get(lang).to_string())
                .collect::<Vec<_>>()
                .join(if lang == Lang::Zh { "、" } else { ", " })
        };
        rows.push(RowView::new("privacy.printed", printed));
        rows.push(RowView::with_unit(
            "privacy.session",
            self.revocation_key(),
            "key",
        ));
        rows.push(RowView::with_unit("privacy.kiosk", "privacy.wiped", "key"));
        rows
    }

    /// The slip on paper (bilingual, like every receipt; the ID number's last four only).
    pub fn receipt(&self, site: &Site, at: &str) -> Receipt {
        let zh = self.rows(Lang::Zh);
        let en = self.rows(Lang::En);
        let mut r = Receipt::new("privacy_slip")
            .styled(
                site.street_office.clone(),
                TextSize::Normal,
                true,
                Align::Center,
            )
            .separator()
            .styled("隐私凭条", TextSize::Double, true, Align::Center)
            .styled("Privacy slip", TextSize::Normal, false, Align::Center)
            .separator();
        for (z, e) in zh.iter().zip(&en) {
            r = r
                .text(format!("{}：{}", label_zh(&z.label), value_of(z, Lang::Zh)))
                .styled(
                    format!("{}: {}", label_en(&e.label), value_of(e, Lang::En)),
                    TextSize::Normal,
                    false,
                    Align::Left,
                );
        }
        r.separator()
            .columns("时间 Time", crate::time::short_time(at))
            .text("本凭条不含您的证件号码和姓名。")
            .text("This slip carries neither your name nor your ID number.")
            .feed(3)
            .cut()
    }
}

fn tail(t: &str, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("尾号 {t}"),
        Lang::En => format!("ending {t}"),
    }
}

/// The slip's own labels, for paper (the screen translates the keys).
const LABELS: [(&str, &str, &str); 5] = [
    ("privacy.card", "证件", "Card"),
    ("privacy.read", "从卡片读取", "Read from the card"),
    ("privacy.printed", "本次打印", "Printed"),
    ("privacy.session", "办理会话", "Session"),
    ("privacy.kiosk", "本机数据", "At this kiosk"),
];

const VALUES: [(&str, &str, &str); 4] = [
    ("privacy.revoking", "正在注销", "being revoked"),
    ("privacy.revoked", "已注销", "revoked"),
    (
        "privacy.revoke_failed",
        "注销未确认，将在到期后自动失效",
        "revocation not confirmed; it expires by itself",
    ),
    ("privacy.wiped", "已清除", "wiped"),
];

fn label_zh(key: &str) -> String {
    LABELS
        .iter()
        .find(|l| l.0 == key)
        .map(|l| l.1.to_string())
        .unwrap_or_else(|| key.to_string())
}

fn label_en(key: &str) -> String {
    LABELS
        .iter()
        .find(|l| l.0 == key)
        .map(|l| l.2.to_string())
        .unwrap_or_else(|| key.to_string())
}

fn value_of(r: &RowView, lang: Lang) -> String {
    if r.unit != "key" {
        return r.value.clone();
    }
    VALUES
        .iter()
        .find(|v| v.0 == r.value)
        .map(|v| if lang == Lang::Zh { v.1 } else { v.2 }.to_string())
        .unwrap_or_else(|| r.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slip_says_what_happened_and_nothing_it_did_not() {
        let id = bianmin_idcard::simulator::demo_residents()[1].clone();
        let mut rec = SessionRecord::default();
        rec.used(Text::new("社保查询", "Social insurance"));
        assert!(rec.sent.is_empty(), "nothing is recorded before identity");
        rec.card_read(&id);
        rec.identified(
            &[
                Field::Name,
                Field::IdNumber,
                Field::CardType,
                Field::Validity,
            ],
            &id.id_masked(),
        );
        rec.used(Text::new("社保查询", "Social insurance"));
        rec.used(Text::new("社保查询", "Social insurance"));
        rec.printed(Text::new("社会保险参保证明", "Participation certificate"));
        *rec.revocation().lock().unwrap() = Revoked::Done;
        let text = rec
            .receipt(&Site::example(), "2026-12-02T10:00:00+08:00")
            .plain_text();
        assert!(text.contains("发送给社保查询：会话凭证"), "{text}");
        assert_eq!(
            text.matches("发送给社保查询").count(),
            1,
            "once per service"
        );
        assert!(text.contains("社会保险参保证明"));
        assert!(text.contains("已注销"));
        assert!(text.contains(&id.id_number.as_str()[14..]), "the tail");
        assert!(!text.contains(id.id_number.as_str()), "never the number");
        assert!(!text.contains(&id.name), "never the name");
        assert!(!text.contains("医保"), "only services used");
    }
}
