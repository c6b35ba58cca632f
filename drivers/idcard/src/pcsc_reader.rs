//! PC/SC readers through pcscd: every reader is watched with SCardGetStatusChange (readers
//! plugged in later arrive through the `\\?PnP?\Notification` pseudo-reader); a card that
//! arrives is read through a profile and left alone (LeaveCard) afterwards. A pcscd that goes
//! away is reported as lost readers and reconnected to, without a busy loop.
//!
//! Profiles: the social-security card (SSSE, see [`crate::sscard`]), and [`VendorSamProfile`]
//! for readers with a built-in GA/T 467 SAM that hand the decoded 256-byte text block (and the
//! photo) over PC/SC. Those commands are vendor-specific: a profile names the reader (by a part
//! of its PC/SC name) and the APDU that returns `text length (2) | photo length (2) | text |
//! photo`, as GA/T 467's own read answer does. Contactless cards answer `FF CA 00 00 00` with a
//! serial only, which is never identity.

use crate::reader::{IdentityReader, ReadFailure, ReaderEvent};
use crate::sscard::{identity_from, parse_tlv, read_record, EF05, EF06, SELECT_SSSE};
use crate::Identity;
use pcsc::{
    Card, Context, Disposition, Error, Protocols, ReaderState, Scope, ShareMode, State,
    PNP_NOTIFICATION,
};
use std::collections::{BTreeMap, VecDeque};
use std::ffi::CString;
use std::time::Duration;

struct Watched {
    name: CString,
    state: State,
    present: bool,
}

/// A reader model whose built-in SAM returns the ID card's text block through one APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorSamProfile {
    /// A part of the PC/SC reader name that identifies the model.
    pub reader_name_contains: String,
    /// The model's read command.
    pub read_apdu: Vec<u8>,
}

pub struct PcscReader {
    ctx: Option<Context>,
    readers: Vec<Watched>,
    pnp: State,
    pending: VecDeque<ReaderEvent>,
    vendors: Vec<VendorSamProfile>,
}

impl Default for PcscReader {
    fn default() -> Self {
        Self::new()
    }
}

impl PcscReader {
    pub fn new() -> Self {
        Self::with_vendor_profiles(Vec::new())
    }

    pub fn with_vendor_profiles(vendors: Vec<VendorSamProfile>) -> Self {
        PcscReader {
            ctx: None,
            readers: Vec::new(),
            pnp: State::UNAWARE,
            pending: VecDeque::new(),
            vendors,
        }
    }

    fn lose_all(&mut self) {
        self.ctx = None;
        self.pnp = State::UNAWARE;
        for r in self.readers.drain(..) {
            let reader = r.name.to_string_lossy().to_string();
            if r.present {
                self.pending.push_back(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                });
            }
            self.pending.push_back(ReaderEvent::ReaderLost { reader });
        }
    }

    /// Brings the watched list in line with pcscd's reader list.
    fn refresh_readers(&mut self) -> Result<(), Error> {
        let ctx = self.ctx.as_ref().expect("context");
        let names = match ctx.list_readers_owned() {
            Ok(n) => n,
            Err(Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut kept = Vec::new();
        for r in self.readers.drain(..) {
            if names.contains(&r.name) {
                kept.push(r);
            } else {
                let reader = r.name.to_string_lossy().to_string();
                if r.present {
                    self.pending.push_back(ReaderEvent::CardRemoved {
                        reader: reader.clone(),
                    });
                }
                self.pending.push_back(ReaderEvent::ReaderLost { reader });
            }
        }
        for n in names {
            if !kept.iter().any(|r| r.name == n) {
                self.pending.push_back(ReaderEvent::ReaderAttached {
                    reader: n.to_string_lossy().to_string(),
                });
                kept.push(Watched {
                    name: n,
                    state: State::UNAWARE,
                    present: false,
                });
            }
        }
        self.readers = kept;
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), Error> {
        let ctx = self.ctx.as_ref().expect("context");
        let mut states: Vec<ReaderState> = self
            .readers
            .iter()
            .map(|r| ReaderState::new(r.name.clone(), r.state))
            .collect();
        states.push(ReaderState::new(PNP_NOTIFICATION(), self.pnp));
        match ctx.get_status_change(timeout, &mut states) {
            Ok(()) => {}
            Err(Error::Timeout) => return Ok(()),
            Err(e) => return Err(e),
        }
        let pnp = states.pop().expect("pnp state");
        let pnp_changed = pnp.event_state().contains(State::CHANGED);
        self.pnp = pnp.event_state() - State::CHANGED;
        let mut arrived = Vec::new();
        for (w, s) in self.readers.iter_mut().zip(states.iter()) {
            let ev = s.event_state();
            w.state = ev - State::CHANGED;
            let present = ev.contains(State::PRESENT) && !ev.contains(State::MUTE);
            if present && !w.present {
                arrived.push(w.name.clone());
            } else if !present && w.present {
                self.pending.push_back(ReaderEvent::CardRemoved {
                    reader: w.name.to_string_lossy().to_string(),
                });
            }
            w.present = present;
        }
        for name in arrived {
            let reader = name.to_string_lossy().to_string();
            let vendor = self
                .vendors
                .iter()
                .find(|v| reader.contains(&v.reader_name_contains))
                .cloned();
            let event = match read_card(self.ctx.as_ref().expect("context"), &name, vendor.as_ref())
            {
                Ok(identity) => ReaderEvent::CardInserted {
                    reader,
                    identity: Box::new(identity),
                },
                Err(reason) => ReaderEvent::ReadFailed { reader, reason },
            };
            self.pending.push_back(event);
        }
        if pnp_changed {
            self.refresh_readers()?;
        }
        Ok(())
    }
}

/// A reader pcscd lists, and the ATR of the card on it, if one is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSurvey {
    pub name: String,
    pub atr: Option<Vec<u8>>,
}

/// The readers pcscd lists now, each with the ATR of a card present (no card is read or even
/// connected to). An error when pcscd cannot be reached.
pub fn survey() -> Result<Vec<ReaderSurvey>, ReadFailure> {
    let ctx =
        Context::establish(Scope::User).map_err(|e| ReadFailure::Reader(format!("pcscd: {e}")))?;
    let names = match ctx.list_readers_owned() {
        Ok(n) => n,
        Err(Error::NoReadersAvailable) => Vec::new(),
        Err(e) => return Err(ReadFailure::Reader(format!("pcscd: {e}"))),
    };
    let mut states: Vec<ReaderState> = names
        .iter()
        .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
        .collect();
    if !states.is_empty() {
        // From UNAWARE every reader reports its state at once.
        match ctx.get_status_change(Duration::from_millis(500), &mut states) {
            Ok(()) | Err(Error::Timeout) => {}
            Err(e) => return Err(ReadFailure::Reader(format!("pcscd: {e}"))),
        }
    }
    Ok(states
        .iter()
        .map(|s| {
            let ev = s.event_state();
            let present = ev.contains(State::PRESENT) && !ev.contains(State::MUTE);
            ReaderSurvey {
                name: s.name().to_string_lossy().to_string(),
                atr: (present && !s.atr().is_empty()).then(|| s.atr().to_vec()),
            }
        })
        .collect())
}

fn transmit(card: &Card, apdu: &[u8]) -> Result<(Vec<u8>, u16), ReadFailure> {
    let mut buf = [0u8; 264];
    let resp = card.transmit(apdu, &mut buf).map_err(card_error)?;
    if resp.len() < 2 {
        // A card leaving the field mid-APDU often answers with nothing at all.
        if card.status2_owned().is_err() {
            return Err(ReadFailure::CardRemoved);
        }
        return Err(ReadFailure::Garbled(format!(
            "a {}-byte answer has no status word",
            resp.len()
        )));
    }
    let (data, sw) = resp.split_at(resp.len() - 2);
    Ok((data.to_vec(), u16::from_be_bytes([sw[0], sw[1]])))
}

fn card_error(e: Error) -> ReadFailure {
    match e {
        Error::RemovedCard | Error::ResetCard | Error::NoSmartcard | Error::UnpoweredCard => {
            ReadFailure::CardRemoved
        }
        Error::UnresponsiveCard | Error::UnsupportedCard => ReadFailure::UnsupportedCard,
        other => ReadFailure::Reader(other.to_string()),
    }
}

/// Reads every record of a file (records 1.. until "record not found").
fn read_file(card: &Card, sfi: u8, tags: &mut BTreeMap<u8, Vec<u8>>) -> Result<(), ReadFailure> {
    for rec in 1..=16u8 {
        let (data, sw) = transmit(card, &read_record(sfi, rec))?;
        match sw {
            0x9000 => parse_tlv(&data, tags)?,
            0x6A83 | 0x6A82 => return Ok(()),
            other => {
                return Err(ReadFailure::Garbled(format!(
                    "READ RECORD {sfi}/{rec}: status {other:04X}"
                )))
            }
        }
    }
    Ok(())
}

/// The vendor SAM profile: one APDU, answered like GA/T 467's read (lengths, text, photo).
fn read_vendor(card: &Card, profile: &VendorSamProfile) -> Result<Identity, ReadFailure> {
    let mut buf = vec![0u8; 4096];
    let resp = card
        .transmit(&profile.read_apdu, &mut buf)
        .map_err(card_error)?;
    if resp.len() < 2 {
        return Err(ReadFailure::Garbled(format!(
            "a {}-byte answer has no status word",
            resp.len()
        )));
    }
    let (d, sw) = resp.split_at(resp.len() - 2);
    if sw != [0x90, 0x00] {
        return Err(ReadFailure::UnsupportedCard);
    }
    crate::sam::reader::decode_read_answer(d)
}

fn read_card(
    ctx: &Context,
    reader: &CString,
    vendor: Option<&VendorSamProfile>,
) -> Result<Identity, ReadFailure> {
    let card = ctx
        .connect(reader, ShareMode::Shared, Protocols::ANY)
        .map_err(card_error)?;
    let result = (|| {
        if let Some(profile) = vendor {
            return read_vendor(&card, profile);
        }
        let (_, sw) = transmit(&card, &SELECT_SSSE)?;
        if sw != 0x9000 && sw >> 8 != 0x61 {
            return Err(ReadFailure::UnsupportedCard);
        }
        let mut tags = BTreeMap::new();
        read_file(&card, EF05, &mut tags)?;
        read_file(&card, EF06, &mut tags)?;
        identity_from(&tags)
    })();
    // Leave the card as it is: the crate's drop would reset it, which other readers of the
    // same card (and some cards' state) do not want.
    let _ = card.disconnect(Disposition::LeaveCard);
    result
}

impl IdentityReader for PcscReader {
    fn backend(&self) -> &'static str {
        "pcsc"
    }

    fn next_event(&mut self, timeout: Duration) -> Option<ReaderEvent> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        if self.ctx.is_none() {
            match Context::establish(Scope::User) {
                Ok(ctx) => {
                    self.ctx = Some(ctx);
                    if self.refresh_readers().is_err() {
                        self.lose_all();
                    }
                }
                Err(_) => {
                    // pcscd is not running (yet): try again after the caller's interval.
                    std::thread::sleep(timeout);
                    return None;
                }
            }
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
        }
        if let Err(e) = self.wait(timeout) {
            let quiet = matches!(
                e,
                Error::NoService | Error::ServiceStopped | Error::InvalidHandle | Error::CommError
            );
            if !quiet {
                std::thread::sleep(timeout);
            }
            self.lose_all();
        }
        self.pending.pop_front()
    }
}
