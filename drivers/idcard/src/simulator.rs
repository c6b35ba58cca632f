//! The demo reader: synthetic residents placed on a virtual reader from the on-screen picker.
//! Every number passes the GB 11643 check; none belongs to a real person (area codes are real,
//! the birth dates and sequences are made up).

use crate::gb11643::{check_char, IdNumber};
use crate::identity::{CardType, Identity, Sex, ValidTo};
use crate::reader::{IdentityReader, ReaderEvent};
use chrono::NaiveDate;
use std::sync::mpsc;
use std::time::Duration;

pub const READER_NAME: &str = "Bianmin demo reader";

struct Spec {
    card_type: CardType,
    name: &'static str,
    area: &'static str,
    birth: (i32, u32, u32),
    seq: &'static str,
    ethnicity: u8,
    address: &'static str,
    valid_to: Option<(i32, u32, u32)>,
}

const SPECS: &[Spec] = &[
    Spec {
        card_type: CardType::ResidentId,
        name: "张建国",
        area: "510108",
        birth: (1950, 3, 15),
        seq: "031",
        ethnicity: 1,
        address: "四川省成都市成华区建设路街道建设南路18号",
        valid_to: None,
    },
    Spec {
        card_type: CardType::ResidentId,
        name: "李秀英",
        area: "510107",
        birth: (1985, 7, 22),
        seq: "042",
        ethnicity: 1,
        address: "四川省成都市武侯区玉林街道玉林北路6号",
        valid_to: Some((2030, 5, 9)),
    },
    Spec {
        card_type: CardType::SocialSecurity,
        name: "王小明",
        area: "510104",
        birth: (1999, 11, 2),
        seq: "015",
        ethnicity: 3,
        address: "",
        valid_to: Some((2031, 1, 1)),
    },
    Spec {
        card_type: CardType::ResidentId,
        name: "陈美华",
        area: "510108",
        birth: (1940, 1, 8),
        seq: "026",
        ethnicity: 4,
        address: "四川省成都市成华区猛追湾街道望平街2号",
        valid_to: None,
    },
    Spec {
        card_type: CardType::ResidentId,
        name: "赵强",
        area: "510105",
        birth: (1978, 9, 30),
        seq: "057",
        ethnicity: 1,
        address: "四川省成都市青羊区草市街道草市街9号",
        valid_to: Some((2024, 5, 1)),
    },
    Spec {
        card_type: CardType::ResidencePermitHkMoTw,
        name: "林嘉欣",
        area: "810000",
        birth: (1992, 4, 18),
        seq: "068",
        ethnicity: 1,
        address: "四川省成都市锦江区春熙路街道红星路三段1号",
        valid_to: Some((2029, 8, 31)),
    },
];

fn number(spec: &Spec) -> String {
    let mut s = format!(
        "{}{:04}{:02}{:02}{}",
        spec.area, spec.birth.0, spec.birth.1, spec.birth.2, spec.seq
    );
    let c = check_char(s.as_bytes()).expect("17 digits");
    s.push(c);
    s
}

/// The synthetic residents of the demo and the tests, in picker order (scenario `insert_card = N`
/// is the Nth, from 1).
pub fn demo_residents() -> Vec<Identity> {
    SPECS
        .iter()
        .map(|spec| {
            let id_number = IdNumber::parse(&number(spec)).expect("synthetic numbers are valid");
            let birth =
                NaiveDate::from_ymd_opt(spec.birth.0, spec.birth.1, spec.birth.2).expect("date");
            Identity {
                card_type: spec.card_type,
                name: spec.name.into(),
                sex: if id_number.is_male() {
                    Sex::Male
                } else {
                    Sex::Female
                },
                id_number,
                ethnicity: Some(spec.ethnicity),
                birth_date: birth,
                address: spec.address.into(),
                authority: if spec.card_type == CardType::ResidentId {
                    "成都市公安局分局".into()
                } else {
                    String::new()
                },
                valid_from: NaiveDate::from_ymd_opt(2020, 1, 1),
                valid_to: match spec.valid_to {
                    None => ValidTo::LongTerm,
                    Some((y, m, d)) => {
                        ValidTo::Date(NaiveDate::from_ymd_opt(y, m, d).expect("date"))
                    }
                },
                card_number: (spec.card_type == CardType::SocialSecurity)
                    .then(|| "S51010400".to_string() + spec.seq),
                photo_wlt: Vec::new(),
            }
        })
        .collect()
}

/// What the demo picker (or a scenario) does to the virtual reader.
#[derive(Debug, Clone)]
pub enum SimulatorCommand {
    Insert(Box<Identity>),
    Remove,
}

/// A reader with one slot, driven through a [`SimulatorHandle`].
pub struct SimulatedReader {
    commands: mpsc::Receiver<SimulatorCommand>,
    announced: bool,
    card_present: bool,
}

#[derive(Clone)]
pub struct SimulatorHandle(mpsc::Sender<SimulatorCommand>);

impl SimulatorHandle {
    pub fn insert(&self, identity: Identity) {
        let _ = self.0.send(SimulatorCommand::Insert(Box::new(identity)));
    }
    pub fn remove(&self) {
        let _ = self.0.send(SimulatorCommand::Remove);
    }
}

impl SimulatedReader {
    pub fn new() -> (Self, SimulatorHandle) {
        let (tx, rx) = mpsc::channel();
        (
            SimulatedReader {
                commands: rx,
                announced: false,
                card_present: false,
            },
            SimulatorHandle(tx),
        )
    }
}

impl IdentityReader for SimulatedReader {
    fn backend(&self) -> &'static str {
        "simulator"
    }

    fn next_event(&mut self, timeout: Duration) -> Option<ReaderEvent> {
        let reader = READER_NAME.to_string();
        if !self.announced {
            self.announced = true;
            return Some(ReaderEvent::ReaderAttached { reader });
        }
        match self.commands.recv_timeout(timeout) {
            Ok(SimulatorCommand::Insert(identity)) => {
                self.card_present = true;
                Some(ReaderEvent::CardInserted { reader, identity })
            }
            // Removing a card that is not there is not an event.
            Ok(SimulatorCommand::Remove) if self.card_present => {
                self.card_present = false;
                Some(ReaderEvent::CardRemoved { reader })
            }
            Ok(SimulatorCommand::Remove) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residents_are_valid_and_varied() {
        let r = demo_residents();
        assert!(r.len() >= 5);
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert!(
            r.iter().any(|i| i.age_on(today) >= 60),
            "an elderly resident"
        );
        assert!(r.iter().any(|i| i.is_expired_on(today)), "an expired card");
        assert!(r.iter().any(|i| i.card_type == CardType::SocialSecurity));
        for i in &r {
            assert_eq!(Some(i.birth_date), i.id_number.birth_date());
        }
    }

    #[test]
    fn insert_and_remove_produce_events() {
        let (mut reader, handle) = SimulatedReader::new();
        let t = Duration::from_millis(10);
        assert!(matches!(
            reader.next_event(t),
            Some(ReaderEvent::ReaderAttached { .. })
        ));
        assert!(reader.next_event(t).is_none());
        handle.remove();
        assert!(reader.next_event(t).is_none(), "no card, no removal");
        handle.insert(demo_residents().remove(1));
        assert!(matches!(
            reader.next_event(t),
            Some(ReaderEvent::CardInserted { .. })
        ));
        handle.remove();
        assert!(matches!(
            reader.next_event(t),
            Some(ReaderEvent::CardRemoved { .. })
        ));
    }
}
