//! The session engine: a plain state machine, testable without a window or a clock.
//!
//! attract → active (browsing, possibly identified, possibly in a service) → wipe → attract.
//! Card removal, inactivity timeout and "finish" all end in the same [`SessionEngine::wipe`]:
//! resident data dropped (zeroized), the cloud session revoked, language and elderly mode reset.

use crate::cloud::api::ResidentSummary;
use crate::cloud::ResidentToken;
use crate::Lang;
use bianmin_idcard::Identity;
use std::time::{Duration, Instant};

/// The shared pages every service reuses, plus attract and home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageId {
    #[default]
    Attract,
    Home,
    Identify,
    Form,
    Input,
    Confirm,
    Result,
    Print,
    Table,
    Document,
    /// A payment order's QR, waiting for the resident's phone.
    Payment,
    /// After an identified session: the privacy slip (shown by the kiosk over attract).
    Goodbye,
    /// The technician page and its PIN pad (shown by the kiosk over attract; never a session).
    Technician,
}

impl PageId {
    /// The id scenarios use in `expect_page` and screenshots use in `--page`.
    pub fn name(self) -> &'static str {
        match self {
            PageId::Attract => "attract",
            PageId::Home => "home",
            PageId::Identify => "identify",
            PageId::Form => "form",
            PageId::Input => "input",
            PageId::Confirm => "confirm",
            PageId::Result => "result",
            PageId::Print => "print",
            PageId::Table => "table",
            PageId::Document => "document",
            PageId::Payment => "payment",
            PageId::Goodbye => "goodbye",
            PageId::Technician => "technician",
        }
    }

    pub const ALL: [PageId; 13] = [
        PageId::Attract,
        PageId::Home,
        PageId::Identify,
        PageId::Form,
        PageId::Input,
        PageId::Confirm,
        PageId::Result,
        PageId::Print,
        PageId::Table,
        PageId::Document,
        PageId::Payment,
        PageId::Goodbye,
        PageId::Technician,
    ];

    pub fn from_name(s: &str) -> Option<PageId> {
        PageId::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// What the kiosk says aloud (the audio driver speaks these; tests read them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    Welcome,
    PlaceCard,
    CountdownWarning,
    TakeCard,
    Goodbye,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WipeReason {
    CardRemoved,
    Timeout,
    Finished,
}

/// A resident identified at the cloud: the session token and what the screen may show.
#[derive(Debug, Clone)]
pub struct ResidentSession {
    pub token: ResidentToken,
    /// The cloud's name for this session: documents say which session they answer.
    pub session_id: String,
    pub summary: ResidentSummary,
    /// The reader's count of card removals when this resident identified (see
    /// `services::CardWatch`): a later removal means the card has left.
    pub card_epoch: u64,
}

#[derive(Debug)]
pub enum Effect {
    /// Revoke the resident's cloud session (`DELETE /v1/identity/sessions/current`).
    RevokeSession(ResidentToken),
    Speak(Prompt),
    /// The card left mid-session: the identified part is over (identity dropped, session
    /// revoked), the session goes on without it.
    IdentityEnded,
    /// The services must drop whatever they held for this resident.
    Wiped(WipeReason),
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub page_timeout: Duration,
    /// In 长辈模式: elderly residents read and tap more slowly.
    pub elderly_page_timeout: Duration,
    pub warning: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            page_timeout: Duration::from_secs(60),
            elderly_page_timeout: Duration::from_secs(120),
            warning: Duration::from_secs(20),
        }
    }
}

pub struct SessionEngine {
    timing: Timing,
    default_lang: Lang,
    page: PageId,
    back_stack: Vec<PageId>,
    lang: Lang,
    elderly: bool,
    /// The card as read, kept only until the cloud session is open (or the session ends).
    pending_identity: Option<Identity>,
    resident: Option<ResidentSession>,
    card_present: bool,
    /// After a wipe with the card still in the reader: remind until it is taken.
    remind_take_card: bool,
    last_input: Instant,
    warned: bool,
}

impl SessionEngine {
    pub fn new(timing: Timing, default_lang: Lang, now: Instant) -> Self {
        SessionEngine {
            timing,
            default_lang,
            page: PageId::Attract,
            back_stack: Vec::new(),
            lang: default_lang,
            elderly: false,
            pending_identity: None,
            resident: None,
            card_present: false,
            remind_take_card: false,
            last_input: now,
            warned: false,
        }
    }

    pub fn page(&self) -> PageId {
        self.page
    }
    pub fn lang(&self) -> Lang {
        self.lang
    }
    pub fn elderly(&self) -> bool {
        self.elderly
    }
    pub fn resident(&self) -> Option<&ResidentSession> {
        self.resident.as_ref()
    }
    pub fn pending_identity(&self) -> Option<&Identity> {
        self.pending_identity.as_ref()
    }
    pub fn card_present(&self) -> bool {
        self.card_present
    }
    pub fn remind_take_card(&self) -> bool {
        self.remind_take_card
    }
    pub fn can_go_back(&self) -> bool {
        !self.back_stack.is_empty()
    }

    /// Any touch on the screen: the resident is still here.
    pub fn touch(&mut self, now: Instant) {
        self.last_input = now;
        self.warned = false;
    }

    /// Tap on the attract screen.
    pub fn start(&mut self, now: Instant) -> Vec<Effect> {
        self.touch(now);
        if self.page == PageId::Attract {
            if self.remind_take_card {
                // Someone new, while the last card is still in the reader.
                self.remind_take_card = false;
                self.reset_preferences();
            }
            self.page = PageId::Home;
            self.back_stack.clear();
            return vec![Effect::Speak(Prompt::Welcome)];
        }
        Vec::new()
    }

    /// Forward navigation; `back` returns here.
    pub fn go(&mut self, page: PageId, now: Instant) {
        self.touch(now);
        if page == self.page {
            return;
        }
        if page == PageId::Home {
            self.back_stack.clear();
        } else {
            self.back_stack.push(self.page);
        }
        self.page = page;
    }

    /// Replaces the current page without a back step (a step that must not be redone by "back",
    /// e.g. the ticket page after the ticket was issued).
    pub fn replace(&mut self, page: PageId, now: Instant) {
        self.touch(now);
        self.page = page;
    }

    pub fn back(&mut self, now: Instant) -> PageId {
        self.touch(now);
        if let Some(p) = self.back_stack.pop() {
            self.page = p;
        }
        self.page
    }

    pub fn home(&mut self, now: Instant) {
        self.touch(now);
        self.back_stack.clear();
        self.page = PageId::Home;
    }

    pub fn set_lang(&mut self, lang: Lang, now: Instant) {
        self.touch(now);
        self.lang = lang;
    }

    pub fn toggle_elderly(&mut self, now: Instant) {
        self.touch(now);
        self.elderly = !self.elderly;
    }

    pub fn more_time(&mut self, now: Instant) {
        self.touch(now);
    }

    /// A card arrived with a decoded identity. On attract it starts the session.
    pub fn card_inserted(&mut self, identity: Identity, now: Instant) -> Vec<Effect> {
        self.card_present = true;
        self.remind_take_card = false;
        self.pending_identity = Some(identity);
        let mut fx = Vec::new();
        if self.page == PageId::Attract {
            fx = self.start(now);
        }
        self.touch(now);
        fx
    }

    /// The cloud accepted the card: the resident is identified. The card's full data is dropped.
    pub fn identified(&mut self, session: ResidentSession, now: Instant) {
        self.touch(now);
        self.pending_identity = None;
        if session.summary.elderly && self.resident.is_none() {
            // Elderly residents start in elderly mode; they can switch it off.
            self.elderly = true;
        }
        self.resident = Some(session);
    }

    /// The card left the reader. Mid-session it ends the identified part only: the identity is
    /// dropped and the cloud session revoked, and the resident may go on with what needs no
    /// card. After a wipe it ends the reminder, and the next resident starts afresh.
    pub fn card_removed(&mut self, now: Instant) -> Vec<Effect> {
        self.card_present = false;
        if self.remind_take_card {
            self.remind_take_card = false;
            self.reset_preferences();
            return Vec::new();
        }
        if self.resident.is_none() && self.pending_identity.is_none() {
            return Vec::new();
        }
        self.touch(now);
        // Dropping the identity zeroizes its name, number and photo (ZeroizeOnDrop).
        self.pending_identity = None;
        let mut fx = Vec::new();
        if let Some(session) = self.resident.take() {
            fx.push(Effect::RevokeSession(session.token.clone()));
        }
        fx.push(Effect::IdentityEnded);
        fx
    }

    /// The kiosk's own language and normal text again (e.g. after the goodbye page, where the
    /// last resident may have switched them).
    pub fn reset_preferences(&mut self) {
        self.lang = self.default_lang;
        self.elderly = false;
    }

    /// The resident pressed "finish" (完成/退出).
    pub fn finish(&mut self, now: Instant) -> Vec<Effect> {
        self.wipe(WipeReason::Finished, now)
    }

    /// Seconds left before the page times out (`None` on the attract page).
    pub fn seconds_left(&self, now: Instant) -> Option<u32> {
        if self.page == PageId::Attract {
            return None;
        }
        let timeout = if self.elderly {
            self.timing.elderly_page_timeout
        } else {
            self.timing.page_timeout
        };
        let idle = now.saturating_duration_since(self.last_input);
        Some(timeout.saturating_sub(idle).as_secs_f64().ceil() as u32)
    }

    /// Seconds left before the page times out, when the warning should show.
    pub fn countdown(&self, now: Instant) -> Option<u32> {
        self.seconds_left(now)
            .filter(|left| u64::from(*left) <= self.timing.warning.as_secs())
    }

    /// Call often (e.g. 4 Hz). Emits the spoken warning once, and wipes on timeout.
    pub fn tick(&mut self, now: Instant) -> Vec<Effect> {
        if self.page == PageId::Attract {
            return Vec::new();
        }
        match self.countdown(now) {
            Some(0) => self.wipe(WipeReason::Timeout, now),
            Some(_) if !self.warned => {
                self.warned = true;
                vec![Effect::Speak(Prompt::CountdownWarning)]
            }
            _ => Vec::new(),
        }
    }

    /// The one way a session ends.
    pub fn wipe(&mut self, reason: WipeReason, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Some(session) = self.resident.take() {
            fx.push(Effect::RevokeSession(session.token.clone()));
        }
        // Dropping the identity zeroizes its name, number and photo (ZeroizeOnDrop).
        self.pending_identity = None;
        self.page = PageId::Attract;
        self.back_stack.clear();
        self.warned = false;
        self.last_input = now;
        if self.card_present {
            // The reminder speaks to the resident who is leaving: in their language and size,
            // until the card is taken.
            self.remind_take_card = true;
            fx.push(Effect::Speak(Prompt::TakeCard));
        } else {
            self.reset_preferences();
            fx.push(Effect::Speak(Prompt::Goodbye));
        }
        fx.push(Effect::Wiped(reason));
        fx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bianmin_idcard::simulator::demo_residents;

    fn engine(now: Instant) -> SessionEngine {
        SessionEngine::new(Timing::default(), Lang::Zh, now)
    }

    fn session() -> ResidentSession {
        ResidentSession {
            token: ResidentToken::new("rs_test".into()),
            session_id: "ses_test".into(),
            card_epoch: 0,
            summary: ResidentSummary {
                name_masked: "张*国".into(),
                id_masked: "510108********0314".into(),
                age: 76,
                elderly: true,
            },
        }
    }

    fn revoked(fx: &[Effect]) -> bool {
        fx.iter()
            .any(|e| matches!(e, Effect::RevokeSession(t) if t.as_str() == "rs_test"))
    }

    #[test]
    fn tap_starts_and_navigation_goes_back() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        assert_eq!(e.page(), PageId::Attract);
        let fx = e.start(t0);
        assert!(matches!(fx[..], [Effect::Speak(Prompt::Welcome)]));
        e.go(PageId::Form, t0);
        e.go(PageId::Confirm, t0);
        assert_eq!(e.back(t0), PageId::Form);
        assert_eq!(e.back(t0), PageId::Home);
        assert_eq!(e.back(t0), PageId::Home, "back at home stays home");
        e.go(PageId::Form, t0);
        e.home(t0);
        assert!(!e.can_go_back());
    }

    #[test]
    fn countdown_warns_20s_before_and_times_out_at_60s() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        e.start(t0);
        assert_eq!(e.countdown(t0 + Duration::from_secs(39)), None);
        assert!(e.tick(t0 + Duration::from_secs(39)).is_empty());
        assert_eq!(e.countdown(t0 + Duration::from_secs(40)), Some(20));
        let fx = e.tick(t0 + Duration::from_secs(41));
        assert!(matches!(fx[..], [Effect::Speak(Prompt::CountdownWarning)]));
        assert!(
            e.tick(t0 + Duration::from_secs(42)).is_empty(),
            "warned once"
        );
        assert_eq!(e.countdown(t0 + Duration::from_millis(59_500)), Some(1));
        let fx = e.tick(t0 + Duration::from_secs(60));
        assert!(fx
            .iter()
            .any(|f| matches!(f, Effect::Wiped(WipeReason::Timeout))));
        assert_eq!(e.page(), PageId::Attract);
        assert_eq!(
            e.countdown(t0 + Duration::from_secs(500)),
            None,
            "attract never times out"
        );
    }

    #[test]
    fn more_time_resets_the_countdown() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        e.start(t0);
        e.tick(t0 + Duration::from_secs(45));
        e.more_time(t0 + Duration::from_secs(50));
        assert_eq!(e.countdown(t0 + Duration::from_secs(89)), None);
        assert!(e
            .tick(t0 + Duration::from_secs(109))
            .iter()
            .all(|f| !matches!(f, Effect::Wiped(_))));
        assert!(e
            .tick(t0 + Duration::from_secs(110))
            .iter()
            .any(|f| matches!(f, Effect::Wiped(_))));
    }

    #[test]
    fn timeout_wipes_an_identified_session_and_the_reminder_keeps_its_language() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        e.card_inserted(demo_residents().remove(0), t0);
        e.identified(session(), t0);
        e.set_lang(Lang::En, t0);
        // An elderly resident is in 长辈模式, with the longer elderly timeout.
        assert!(e.elderly());
        assert!(e
            .tick(t0 + Duration::from_secs(60))
            .iter()
            .all(|f| !matches!(f, Effect::Wiped(_))));
        let fx = e.tick(t0 + Duration::from_secs(120));
        assert!(revoked(&fx));
        assert!(e.resident().is_none());
        assert!(e.remind_take_card(), "card still in the reader");
        assert!(fx
            .iter()
            .any(|f| matches!(f, Effect::Speak(Prompt::TakeCard))));
        // "Please take your card" speaks to the resident who is leaving.
        assert_eq!(e.lang(), Lang::En);
        assert!(e.elderly());
        e.card_removed(t0 + Duration::from_secs(121));
        assert_eq!(e.lang(), Lang::Zh, "language resets for the next resident");
        assert!(!e.elderly());
    }

    #[test]
    fn remaining_time_shows_and_elderly_mode_gets_longer() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        assert_eq!(e.seconds_left(t0), None, "nothing counts down on attract");
        e.start(t0);
        assert_eq!(e.seconds_left(t0 + Duration::from_secs(15)), Some(45));
        e.toggle_elderly(t0);
        assert_eq!(e.seconds_left(t0 + Duration::from_secs(15)), Some(105));
        assert_eq!(e.countdown(t0 + Duration::from_secs(99)), None);
        assert_eq!(e.countdown(t0 + Duration::from_secs(100)), Some(20));
    }

    #[test]
    fn card_removal_ends_the_identified_part_only() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        let fx = e.card_inserted(demo_residents().remove(0), t0);
        assert_eq!(
            e.page(),
            PageId::Home,
            "a card on the attract screen starts the session"
        );
        assert!(matches!(fx[..], [Effect::Speak(Prompt::Welcome)]));
        assert!(e.pending_identity().is_some());
        e.identified(session(), t0);
        assert!(
            e.pending_identity().is_none(),
            "card data dropped once the cloud session is open"
        );
        assert!(e.elderly(), "elderly residents start in elderly mode");
        e.go(PageId::Form, t0);
        let fx = e.card_removed(t0);
        assert!(revoked(&fx));
        assert!(fx.iter().any(|f| matches!(f, Effect::IdentityEnded)));
        assert!(!fx.iter().any(|f| matches!(f, Effect::Wiped(_))));
        assert!(e.resident().is_none());
        assert_eq!(
            e.page(),
            PageId::Form,
            "the session goes on without the card"
        );
        assert!(!e.remind_take_card());
        assert!(e.card_removed(t0).is_empty(), "removing again does nothing");
        // The session still ends the one way.
        let fx = e.finish(t0);
        assert!(fx
            .iter()
            .any(|f| matches!(f, Effect::Wiped(WipeReason::Finished))));
        assert!(!revoked(&fx), "nothing left to revoke");
    }

    #[test]
    fn finish_with_card_in_reader_reminds_until_taken() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        e.card_inserted(demo_residents().remove(1), t0);
        e.identified(session(), t0);
        let fx = e.finish(t0);
        assert!(revoked(&fx));
        assert!(e.remind_take_card());
        let fx = e.card_removed(t0);
        assert!(
            fx.is_empty(),
            "session already wiped: nothing to revoke twice"
        );
        assert!(!e.remind_take_card());
    }

    #[test]
    fn wipe_without_identity_revokes_nothing() {
        let t0 = Instant::now();
        let mut e = engine(t0);
        e.start(t0);
        e.toggle_elderly(t0);
        let fx = e.finish(t0);
        assert!(!fx.iter().any(|f| matches!(f, Effect::RevokeSession(_))));
        assert!(!e.elderly());
    }
}
