//! What each screen says: one spoken prompt per page (and per mode of the shared pages),
//! derived from the view the kiosk pushes, so a page added later is spoken the moment it maps
//! here (the phrase-coverage test walks every page). Events (countdown, take your card, a card
//! read) have their own utterances.

use super::numbers;
use super::Utterance;
use crate::lang::Lang;
use crate::session::{PageId, Prompt};
use crate::view::{
    IdentifyMode, InputMode, PrintState, ResultKind, SpokenResult, TechnicianStage, ViewState,
};

/// The prompt of the page the view shows. Attract says nothing by itself (a kiosk does not talk
/// to an empty hall); its prompt is for 重听 and for a resident who touches it.
pub fn page(v: &ViewState) -> Utterance {
    let f = &v.flow;
    let lang = v.chrome.lang;
    match v.chrome.page {
        PageId::Attract => Utterance::of(&["page.attract"]),
        PageId::Home => Utterance::of(&["page.home"]),
        PageId::Identify => Utterance::of(&[match f.identify.mode {
            IdentifyMode::Required => "page.identify",
            IdentifyMode::Optional => "page.identify.optional",
        }]),
        PageId::Form => Utterance::of(&["page.form"]),
        PageId::Input => Utterance::of(&[match f.input.mode {
            InputMode::Text => "page.input.text",
            InputMode::Phone => "page.input.phone",
            InputMode::Month => "page.input.month",
            InputMode::Number => "page.input.number",
        }]),
        PageId::Confirm => Utterance::of(&["page.confirm"]),
        PageId::Table => Utterance::of(&["page.table"]),
        PageId::Document => Utterance::of(&["page.document"]),
        PageId::Payment => Utterance::of(&["page.payment"]),
        PageId::Print => Utterance::of(&[match f.print.state {
            PrintState::None | PrintState::Printing => "page.print",
            PrintState::Done => "print.done",
            PrintState::PaperOut => "print.paper_out",
            PrintState::Failed => "print.failed",
        }]),
        PageId::Result => result(f.result.kind, f.result.spoken.as_ref(), lang),
        PageId::Goodbye => Utterance::of(&["page.goodbye"]),
        // The PIN pad tells a resident who opened it by chance the way back.
        PageId::Technician => Utterance::of(&[match v.technician.stage {
            TechnicianStage::Pin | TechnicianStage::Locked => "page.technician.pin",
            TechnicianStage::Open => "page.technician",
        }]),
    }
}

/// A result: its kind, then its figures (a ticket's number and the people ahead; the amount paid
/// and to whom).
pub fn result(kind: ResultKind, spoken: Option<&SpokenResult>, lang: Lang) -> Utterance {
    let u = Utterance::of(&[match kind {
        ResultKind::Success => "result.success",
        ResultKind::Error => "result.error",
        ResultKind::Info => "result.info",
    }]);
    match spoken {
        None => u,
        Some(SpokenResult::Ticket { number, ahead }) => {
            let u = u
                .then("result.ticket")
                .then_all(numbers::ticket(number, lang));
            let u = if *ahead == 0 {
                u.then("result.ahead.none")
            } else {
                u.then("result.ahead")
                    .then_all(numbers::people(u64::from(*ahead), lang))
            };
            u.then("result.watch_calls")
        }
        Some(SpokenResult::Paid { fen, utility }) => {
            let u = u.then("result.paid").then_all(numbers::money(*fen, lang));
            match payee(utility) {
                Some(p) => u.then(p),
                None => u,
            }
        }
    }
}

fn payee(utility: &str) -> Option<&'static str> {
    match utility {
        "water" => Some("payee.water"),
        "electricity" => Some("payee.electricity"),
        "gas" => Some("payee.gas"),
        _ => None,
    }
}

/// The session engine's own prompts. `None`: the page's prompt already says it (the identify
/// page asks for the card).
pub fn event(p: Prompt) -> Option<Utterance> {
    match p {
        Prompt::Welcome => Some(Utterance::of(&["event.welcome"])),
        Prompt::PlaceCard => None,
        Prompt::CountdownWarning => Some(Utterance::of(&["event.countdown"])),
        Prompt::TakeCard => Some(Utterance::of(&["event.take_card"])),
        Prompt::Goodbye => Some(Utterance::of(&["page.goodbye"])),
    }
}

/// A card was read. The masked ID's tail is personal: said only into headphones.
pub fn card_read(id_masked: &str) -> Utterance {
    let tail: String = id_masked
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let u = Utterance::of(&["event.card_read"]);
    if tail.is_empty() {
        u
    } else {
        let mut ids = vec!["event.id_tail"];
        ids.extend(numbers::digits(&tail));
        u.personal(ids)
    }
}

pub fn offline() -> Utterance {
    Utterance::of(&["event.offline"])
}

pub fn staff_called() -> Utterance {
    Utterance::of(&["event.staff_called"])
}

/// `bianmin say` with no phrase: the technician's sound test.
pub fn test() -> Utterance {
    Utterance::of(&["event.test"])
}
