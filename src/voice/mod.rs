//! The kiosk's voice: what it says (phrase ids from the voice pack, numbers joined from pieces),
//! when (a queue the kiosk task pumps), how loud (the kiosk's default, the resident's − / +,
//! reset when the session ends) and to whom (personal data only into headphones). With no
//! sound device the kiosk carries on with captions; the reason is logged once and kept for
//! health.

pub mod numbers;
pub mod pack;
pub mod prompts;

use crate::lang::Lang;
use bianmin_audio::{Jack, Pcm, Speaker};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use pack::{PackError, VoicePack};

/// Silence between the pieces of one utterance.
const PIECE_GAP: Duration = Duration::from_millis(90);
/// Silence between two utterances (one sentence and the next; the pack's clips hold no pause
/// longer than 0.25 s, so a listener — and the capture test — hears where one ends).
const UTTERANCE_GAP: Duration = Duration::from_millis(700);
/// One volume step of the resident's − / +.
const VOLUME_STEP: u8 = 15;
const VOLUME_MIN: u8 = 10;

/// One part of what is said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A phrase from the pack.
    Say(&'static str),
    /// Personal data (an ID number's tail): said only while the resident listens privately.
    Personal(Vec<&'static str>),
}

/// Something the kiosk says, as phrase ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Utterance {
    pub parts: Vec<Part>,
}

impl Utterance {
    pub fn of(ids: &[&'static str]) -> Utterance {
        Utterance {
            parts: ids.iter().map(|id| Part::Say(id)).collect(),
        }
    }
    pub fn then(mut self, id: &'static str) -> Utterance {
        self.parts.push(Part::Say(id));
        self
    }
    pub fn then_all(mut self, ids: impl IntoIterator<Item = &'static str>) -> Utterance {
        self.parts.extend(ids.into_iter().map(Part::Say));
        self
    }
    pub fn personal(mut self, ids: Vec<&'static str>) -> Utterance {
        self.parts.push(Part::Personal(ids));
        self
    }
    /// The phrase ids said, given whether personal parts may be.
    pub fn ids(&self, private: bool) -> Vec<&'static str> {
        let mut out = Vec::new();
        for p in &self.parts {
            match p {
                Part::Say(id) => out.push(*id),
                Part::Personal(ids) if private => out.extend(ids.iter().copied()),
                Part::Personal(_) => {}
            }
        }
        out
    }
    /// Every phrase id this utterance may use.
    pub fn all_ids(&self) -> Vec<&'static str> {
        self.ids(true)
    }
}

/// Who may hear the kiosk: personal data is spoken only into headphones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PrivateListening {
    /// Ask the sound card's headphone jack.
    #[default]
    Auto,
    /// This kiosk has only a handset or headphones.
    Headphones,
    /// Always the loudspeaker: never personal data.
    Speaker,
}

/// What the kiosk said, for transcripts and tests (phrase ids and captions: never personal data
/// beyond the masked tail a private listener heard).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Said {
    pub phrases: Vec<&'static str>,
    pub lang: Lang,
    pub caption: String,
    pub private: bool,
    /// How long the speech lasts, and the pause before it.
    pub ms: u64,
    pub pause_ms: u64,
    /// When it started, in ms since the voice opened, and by the output stream's own clock
    /// (where the first sample of its pause or speech is in a capture of the stream).
    pub at_ms: u64,
    pub stream_ms: Option<u64>,
}

/// The sound output as the kiosk sees it.
#[derive(Clone)]
pub enum Output {
    Speaker(Arc<dyn Speaker>),
    /// No sound: why (for the log and health).
    Silent(String),
}

pub struct Voice {
    output: Output,
    pack: Option<VoicePack>,
    default_volume: u8,
    volume: u8,
    listening: PrivateListening,
    queue: VecDeque<(Utterance, Lang)>,
    /// The last utterance started (what 重听 repeats), and when.
    last: Option<(Utterance, Lang, Instant)>,
    caption: String,
    /// When the last utterance ends (or ended: cut short by a touch).
    busy_until: Option<Instant>,
    epoch: Instant,
    /// Everything said, for transcripts.
    pub said: Vec<Said>,
}

impl Voice {
    /// `volume`: the kiosk's default, 0–100.
    pub fn new(
        output: Output,
        pack: Result<VoicePack, PackError>,
        volume: u8,
        listening: PrivateListening,
    ) -> Voice {
        let pack = match pack {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!(error = %e, "no voice pack: captions only");
                None
            }
        };
        if let Output::Silent(why) = &output {
            tracing::warn!(reason = %why, "no sound output: captions only");
        }
        let volume = volume.min(100);
        Voice {
            output,
            pack,
            default_volume: volume,
            volume,
            listening,
            queue: VecDeque::new(),
            last: None,
            caption: String::new(),
            busy_until: None,
            epoch: Instant::now(),
            said: Vec::new(),
        }
    }

    /// Why the kiosk cannot be heard, if it cannot (for health).
    pub fn fault(&self) -> Option<String> {
        match (&self.output, &self.pack) {
            (Output::Silent(why), _) => Some(why.clone()),
            (_, None) => Some("no voice pack".into()),
            _ => None,
        }
    }

    pub fn caption(&self) -> &str {
        &self.caption
    }

    pub fn volume(&self) -> u8 {
        self.volume
    }

    /// Says `u` now: whatever is playing or waiting is dropped.
    pub fn say_now(&mut self, u: Utterance, lang: Lang) {
        self.queue.clear();
        self.start(u, lang);
    }

    /// Says `u` after what is playing and waiting.
    pub fn say_next(&mut self, u: Utterance, lang: Lang) {
        self.queue.push_back((u, lang));
        self.pump();
    }

    /// Starts the next waiting utterance once the current one has finished.
    pub fn pump(&mut self) {
        if self.playing() {
            return;
        }
        if let Some((u, lang)) = self.queue.pop_front() {
            self.start(u, lang);
        }
    }

    /// Sound is coming out now (the self-test waits for its test prompt to end).
    pub fn playing(&self) -> bool {
        match &self.output {
            Output::Speaker(s) => s.is_playing(),
            Output::Silent(_) => false,
        }
    }

    /// A touch: speech stops at once, and nothing waiting is said.
    pub fn stop(&mut self) {
        self.queue.clear();
        if let Output::Speaker(s) = &self.output {
            s.stop();
        }
        let now = Instant::now();
        if self.busy_until.is_some_and(|t| t > now) {
            self.busy_until = Some(now);
        }
    }

    /// 重听: the last utterance again (in the language it was said in, or `lang` now).
    pub fn repeat(&mut self, lang: Lang) {
        if let Some((u, _, _)) = self.last.clone() {
            self.say_now(u, lang);
        }
    }

    pub fn louder(&mut self, lang: Lang) {
        self.volume = self.volume.saturating_add(VOLUME_STEP).min(100);
        self.repeat(lang);
    }

    pub fn quieter(&mut self, lang: Lang) {
        self.volume = self.volume.saturating_sub(VOLUME_STEP).max(VOLUME_MIN);
        self.repeat(lang);
    }

    /// The session ended: the next resident starts at the kiosk's own volume, in silence.
    pub fn session_ended(&mut self) {
        self.volume = self.default_volume;
        self.last = None;
    }

    /// The last utterance started, if it was `u` in `lang` within `within`.
    pub fn just_said(&self, u: &Utterance, lang: Lang, within: Duration) -> bool {
        self.last
            .as_ref()
            .is_some_and(|(l, l_lang, at)| l == u && *l_lang == lang && at.elapsed() < within)
    }

    fn private(&self) -> bool {
        match self.listening {
            PrivateListening::Headphones => true,
            PrivateListening::Speaker => false,
            PrivateListening::Auto => bianmin_audio::headphones() == Jack::Plugged,
        }
    }

    fn start(&mut self, u: Utterance, lang: Lang) {
        let private = self.private();
        let ids = u.ids(private);
        self.last = Some((u, lang, Instant::now()));
        let Some(pack) = &self.pack else {
            self.caption.clear();
            return;
        };
        let mut captions: Vec<(&str, String)> = Vec::new();
        let mut clips: Vec<Pcm> = Vec::new();
        for id in &ids {
            match pack.clip(id, lang) {
                Some(c) => captions.push((id, c.text.clone())),
                None => tracing::error!(
                    phrase = id,
                    lang = lang.code(),
                    "phrase not in the voice pack"
                ),
            }
            if matches!(self.output, Output::Speaker(_)) {
                if let Some(pcm) = pack.decode(id, lang) {
                    clips.push(pcm);
                }
            }
        }
        self.caption = caption(&captions, lang);
        let now = Instant::now();
        // Right after another utterance, a pause first.
        let pause = self
            .busy_until
            .map(|t| UTTERANCE_GAP.saturating_sub(now.saturating_duration_since(t)))
            .unwrap_or_default();
        let speech = Pcm::join(&clips, PIECE_GAP);
        let speech_ms = speech
            .as_ref()
            .map(|p| p.duration().as_millis() as u64)
            .unwrap_or(0);
        let joined = match speech {
            Some(p) if !pause.is_zero() => Pcm::join(
                &[Pcm::silence(p.rate, p.channels, pause), p],
                Duration::ZERO,
            ),
            other => other,
        };
        self.busy_until = joined.as_ref().map(|p| now + p.duration());
        self.said.push(Said {
            phrases: ids,
            lang,
            caption: self.caption.clone(),
            private,
            ms: speech_ms,
            pause_ms: pause.as_millis() as u64,
            at_ms: self.epoch.elapsed().as_millis() as u64,
            stream_ms: match &self.output {
                Output::Speaker(s) => s.clock().map(|d| d.as_millis() as u64),
                Output::Silent(_) => None,
            },
        });
        if let (Output::Speaker(s), Some(pcm)) = (&self.output, joined) {
            if let Err(e) = s.play(&pcm, f32::from(self.volume) / 100.0) {
                tracing::error!(error = %e, "could not play a prompt");
            }
        }
    }
}

/// The caption of pieces said one after another: number pieces run together (一百二十六元,
/// "one hundred and six"); a sentence after a number or a phrase gets its punctuation.
fn caption(pieces: &[(&str, String)], lang: Lang) -> String {
    let is_piece =
        |id: &str| id.starts_with("num.") || id.starts_with("unit.") || id.starts_with("letter.");
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    for (id, text) in pieces {
        if let Some(p) = prev {
            let ends_sentence =
                out.ends_with(['。', '，', '；', '！', '？', '.', ',', ':', '!', '?']);
            let sep = match lang {
                _ if ends_sentence => " ",
                Lang::Zh if is_piece(id) || !is_piece(p) => "",
                Lang::Zh => "，",
                Lang::En if !is_piece(id) && text.starts_with(|c: char| c.is_uppercase()) => ". ",
                Lang::En => " ",
            };
            out.push_str(if lang == Lang::Zh { sep.trim() } else { sep });
        }
        out.push_str(text);
        prev = Some(id);
    }
    out
}

/// Text as pack pieces: a phrase's own text (`请取走您的证件。`), a ticket number (`A023号`),
/// an amount (`126.50元`), a count of people (`3人`) or a number (`105`).
pub fn compose(pack: &VoicePack, text: &str, lang: Lang) -> Option<Utterance> {
    let trimmed = |s: &str| {
        s.trim()
            .trim_end_matches(['。', '.', '，', ','])
            .to_string()
    };
    let want = trimmed(text);
    if let Some((id, _, _)) = pack
        .phrases()
        .find(|(_, l, t)| *l == lang && trimmed(t) == want)
    {
        // Ids in the pack live as long as the pack; the utterance needs 'static ids.
        let id: &'static str = Box::leak(id.to_string().into_boxed_str());
        return Some(Utterance::of(&[id]));
    }
    let t = want.as_str();
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if let Some(n) = t.strip_suffix('元').or_else(|| t.strip_suffix(" yuan")) {
        let (yuan, fen) = n.split_once('.').unwrap_or((n, ""));
        if all_digits(yuan) && fen.len() <= 2 && (fen.is_empty() || all_digits(fen)) {
            let fen_value = format!("{fen:0<2}").parse::<u64>().ok()?;
            let total = yuan.parse::<u64>().ok()?.checked_mul(100)? + fen_value;
            return Some(Utterance::default().then_all(numbers::money(total, lang)));
        }
    }
    if let Some(n) = t.strip_suffix('人') {
        if all_digits(n) {
            return Some(Utterance::default().then_all(numbers::people(n.parse().ok()?, lang)));
        }
    }
    let ticket = t.strip_suffix('号').unwrap_or(t);
    let mut chars = ticket.chars();
    if chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && all_digits(chars.as_str()) {
        return Some(Utterance::default().then_all(numbers::ticket(ticket, lang)));
    }
    if all_digits(t) && t.len() <= 12 {
        return Some(Utterance::default().then_all(numbers::integer(
            t.parse().ok()?,
            lang,
            numbers::Use::Value,
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bianmin_audio::SimulatedSpeaker;

    fn pack_with(ids: &[&str]) -> (tempfile::TempDir, VoicePack) {
        // A real OGG clip is needed for decoding; the tests of the shipped pack cover that. Here
        // a WAV file stands in (the decoder reads both), so this test needs no rendered pack.
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = String::from("[pack]\nname = \"t\"\nlicence = \"test\"\n");
        for lang in ["zh", "en"] {
            std::fs::create_dir_all(dir.path().join(lang)).unwrap();
            for id in ids {
                let file = format!("{lang}/{id}.wav");
                write_wav(&dir.path().join(&file), 200);
                manifest += &format!(
                    "[[phrase]]\nid = \"{id}\"\nlang = \"{lang}\"\nfile = \"{file}\"\ntext = \"{id}\"\n"
                );
            }
        }
        std::fs::write(dir.path().join("manifest.toml"), manifest).unwrap();
        let pack = VoicePack::load(&[dir.path().to_path_buf()]).unwrap();
        (dir, pack)
    }

    fn write_wav(path: &std::path::Path, ms: u32) {
        let rate = 16000u32;
        let n = rate * ms / 1000;
        let mut b = Vec::new();
        b.extend(b"RIFF");
        b.extend((36 + n * 2).to_le_bytes());
        b.extend(b"WAVEfmt ");
        b.extend(16u32.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(rate.to_le_bytes());
        b.extend((rate * 2).to_le_bytes());
        b.extend(2u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend(b"data");
        b.extend((n * 2).to_le_bytes());
        for i in 0..n {
            let v = ((i as f32 * 0.1).sin() * 8000.0) as i16;
            b.extend(v.to_le_bytes());
        }
        std::fs::write(path, b).unwrap();
    }

    #[test]
    fn personal_parts_only_into_headphones_and_volume_resets() {
        let (_d, pack) = pack_with(&["event.card_read", "event.id_tail", "num.1", "num.2"]);
        let sim = SimulatedSpeaker::new();
        let u =
            Utterance::of(&["event.card_read"]).personal(vec!["event.id_tail", "num.1", "num.2"]);
        let mut v = Voice::new(
            Output::Speaker(Arc::new(sim.clone())),
            Ok(pack.clone()),
            60,
            PrivateListening::Speaker,
        );
        v.say_now(u.clone(), Lang::Zh);
        assert_eq!(v.said[0].phrases, vec!["event.card_read"]);
        assert!(!v.said[0].private);
        v.louder(Lang::Zh);
        assert_eq!(v.volume(), 75);
        v.session_ended();
        assert_eq!(v.volume(), 60);

        let mut v = Voice::new(
            Output::Speaker(Arc::new(sim.clone())),
            Ok(pack),
            60,
            PrivateListening::Headphones,
        );
        v.say_now(u, Lang::En);
        assert_eq!(v.said[0].phrases.len(), 4);
        // Four 200 ms clips and three gaps.
        assert!((1060..=1080).contains(&v.said[0].ms), "{}", v.said[0].ms);
        assert_eq!(v.caption(), "event.card_read event.id_tail num.1 num.2");
    }

    #[test]
    fn a_touch_stops_speech_and_drops_what_waits() {
        let (_d, pack) = pack_with(&["page.home", "page.form"]);
        let sim = SimulatedSpeaker::new();
        let mut v = Voice::new(
            Output::Speaker(Arc::new(sim.clone())),
            Ok(pack),
            80,
            PrivateListening::Speaker,
        );
        v.say_next(Utterance::of(&["page.home"]), Lang::Zh);
        v.say_next(Utterance::of(&["page.form"]), Lang::Zh);
        v.stop();
        std::thread::sleep(Duration::from_millis(250));
        v.pump();
        let played = sim.played();
        assert_eq!(played.len(), 1, "the waiting prompt was dropped");
        assert!(played[0].cut_after.is_some());
    }

    #[test]
    fn captions_punctuate_between_numbers_and_sentences() {
        let zh = [
            ("result.ticket", "您的号码是".to_string()),
            ("letter.A", "A".into()),
            ("num.0", "零".into()),
            ("unit.hao", "号".into()),
            ("result.ahead", "前面还有".into()),
            ("num.2", "两".into()),
            ("unit.people", "人".into()),
            ("result.watch_calls", "请留意叫号。".into()),
        ];
        assert_eq!(
            caption(&zh, Lang::Zh),
            "您的号码是A零号，前面还有两人，请留意叫号。"
        );
        let en = [
            ("result.ticket", "Your number is".to_string()),
            ("letter.A", "A".into()),
            ("num.5", "five".into()),
            ("result.watch_calls", "Please watch for your number.".into()),
        ];
        assert_eq!(
            caption(&en, Lang::En),
            "Your number is A five. Please watch for your number."
        );
    }

    #[test]
    fn no_sound_still_gives_captions() {
        let (_d, pack) = pack_with(&["page.home"]);
        let mut v = Voice::new(
            Output::Silent("no device".into()),
            Ok(pack),
            80,
            PrivateListening::Auto,
        );
        v.say_now(Utterance::of(&["page.home"]), Lang::Zh);
        assert_eq!(v.caption(), "page.home");
        assert_eq!(v.fault().as_deref(), Some("no device"));
    }
}
