//! The on-screen keyboard's controller (ui/components/keyboard.slint): owns the pinyin
//! composition and edits the input page's text, the same value a hardware keyboard edits and
//! the page submits (InputAdapter.text).
//!
//! It runs on the UI thread inside the key callbacks: composing text is pure computation on an
//! in-memory table (well under a millisecond a key, see `crate::pinyin`), no I/O, and the kiosk
//! task has nothing to decide until the resident submits. The winit window and the headless UI
//! of `scenario run` are wired through here alike.

use super::{AppWindow, InputAdapter, KeyboardAdapter, KeyboardLayout};
use crate::pinyin::{Composer, SEPARATOR};
use slint::{ComponentHandle, Model, SharedString, VecModel};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

struct Keyboard {
    composer: Composer,
    /// The letters layout in use or to return to from 123: pinyin or abc.
    letters: KeyboardLayout,
    layout: KeyboardLayout,
    capitals: bool,
    /// The candidate bar's model, edited in place.
    candidates: Rc<VecModel<SharedString>>,
    /// Tells the kiosk the resident is busy typing (so the page does not time out).
    typing: Box<dyn Fn()>,
    last_told: Option<Instant>,
}

/// Typing keeps the session alive; telling the kiosk task once in this long is enough.
const TYPING_NOTICE: Duration = Duration::from_secs(2);

impl Keyboard {
    fn tell_typing(&mut self) {
        let now = Instant::now();
        if self
            .last_told
            .is_none_or(|t| now.duration_since(t) >= TYPING_NOTICE)
        {
            self.last_told = Some(now);
            (self.typing)();
        }
    }
}

thread_local! {
    static KEYBOARD: RefCell<Option<Keyboard>> = const { RefCell::new(None) };
}

/// Connects the keyboard's callbacks. Call once per window, on the UI thread. `typing` tells
/// the kiosk task the resident is typing (the on-screen keys and a hardware keyboard alike).
pub fn wire(ui: &AppWindow, typing: impl Fn() + 'static) {
    let candidates = Rc::new(VecModel::default());
    ui.global::<KeyboardAdapter>()
        .set_candidates(candidates.clone().into());
    KEYBOARD.with(|k| {
        *k.borrow_mut() = Some(Keyboard {
            composer: Composer::new(12),
            letters: KeyboardLayout::Pinyin,
            layout: KeyboardLayout::Pinyin,
            capitals: false,
            candidates,
            typing: Box::new(typing),
            last_told: None,
        })
    });
    let a = ui.global::<KeyboardAdapter>();
    let weak = ui.as_weak();
    // `typed`: a resident's touch (a key, a candidate, a page of candidates), not a relayout.
    let with = move |typed: bool, f: &dyn Fn(&AppWindow, &mut Keyboard)| {
        let Some(ui) = weak.upgrade() else { return };
        KEYBOARD.with(|k| {
            if let Some(kb) = k.borrow_mut().as_mut() {
                if typed {
                    kb.tell_typing();
                }
                f(&ui, kb);
                show(&ui, kb);
            }
        });
    };
    let w = with.clone();
    a.on_key_pressed(move |key| w(true, &|ui, kb| kb.key(ui, &key)));
    let w = with.clone();
    a.on_candidate_chosen(move |i| {
        w(true, &|ui, kb| {
            if let Some(text) = usize::try_from(i).ok().and_then(|i| kb.composer.choose(i)) {
                insert(ui, text);
            }
        })
    });
    let w = with.clone();
    a.on_previous_candidates(move || {
        w(true, &|_, kb| {
            kb.composer.previous_page();
        })
    });
    let w = with.clone();
    a.on_next_candidates(move || {
        w(true, &|_, kb| {
            kb.composer.next_page();
        })
    });
    let w = with.clone();
    a.on_hardware_typed(move || w(true, &|_, _| {}));
    a.on_candidate_room_changed(move |room| {
        with(false, &|_, kb| {
            kb.composer.set_room(usize::try_from(room).unwrap_or(1))
        })
    });
}

/// A new question: nothing composed, letters up, pinyin for Chinese and ABC for English.
pub fn reset(ui: &AppWindow, english: bool) {
    KEYBOARD.with(|k| {
        if let Some(kb) = k.borrow_mut().as_mut() {
            kb.composer.clear();
            kb.letters = if english {
                KeyboardLayout::Abc
            } else {
                KeyboardLayout::Pinyin
            };
            kb.layout = kb.letters;
            kb.capitals = false;
            show(ui, kb);
        }
    });
}

impl Keyboard {
    fn key(&mut self, ui: &AppWindow, key: &str) {
        match key {
            "back" => {
                if !self.composer.backspace() {
                    let mut text = ui.global::<InputAdapter>().get_text().to_string();
                    text.pop();
                    set_text(ui, text);
                }
            }
            "clear" => {
                self.composer.clear();
                set_text(ui, String::new());
            }
            "space" => {
                let text = if self.composer.is_composing() {
                    self.composer.commit()
                } else {
                    " ".into()
                };
                insert(ui, &text);
            }
            "shift" => self.capitals = !self.capitals,
            "lang" => {
                // What was typed as pinyin stays, as letters.
                let typed: String = self
                    .composer
                    .letters()
                    .chars()
                    .filter(|c| *c != SEPARATOR)
                    .collect();
                self.composer.clear();
                insert(ui, &typed);
                self.letters = if self.letters == KeyboardLayout::Pinyin {
                    KeyboardLayout::Abc
                } else {
                    KeyboardLayout::Pinyin
                };
                if self.layout != KeyboardLayout::Symbols {
                    self.layout = self.letters;
                }
            }
            "symbols" => self.layout = KeyboardLayout::Symbols,
            "letters" => self.layout = self.letters,
            _ => {
                let mut chars = key.chars();
                let letter = match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_lowercase() || c == SEPARATOR => Some(c),
                    _ => None,
                };
                match letter {
                    Some(c) if self.layout == KeyboardLayout::Pinyin => {
                        self.composer.push(c);
                    }
                    Some(c) if self.capitals && c.is_ascii_lowercase() => {
                        // One capital, as on a phone: the next letter is small again.
                        self.capitals = false;
                        insert(ui, &c.to_ascii_uppercase().to_string());
                    }
                    _ => {
                        // Punctuation ends a composition with its first candidate first.
                        let composed = self.composer.commit();
                        insert(ui, &format!("{composed}{key}"));
                    }
                }
            }
        }
    }
}

fn set_text(ui: &AppWindow, text: String) {
    ui.global::<InputAdapter>().set_text(text.into());
    let a = ui.global::<KeyboardAdapter>();
    a.set_edits(a.get_edits().wrapping_add(1));
}

/// Appends to the text (the field's cursor follows to the end).
fn insert(ui: &AppWindow, s: &str) {
    if s.is_empty() {
        return;
    }
    let mut text = ui.global::<InputAdapter>().get_text().to_string();
    text.push_str(s);
    set_text(ui, text);
}

/// Copies the keyboard's state into its adapter; the candidate model is edited in place.
fn show(ui: &AppWindow, kb: &Keyboard) {
    let a = ui.global::<KeyboardAdapter>();
    a.set_layout(kb.layout);
    a.set_letters(kb.letters);
    a.set_capitals(kb.capitals);
    a.set_composing(kb.composer.spelled().into());
    let page: Vec<SharedString> = kb.composer.page().iter().map(|c| c.text.into()).collect();
    let same = kb.candidates.row_count() == page.len()
        && kb.candidates.iter().zip(&page).all(|(a, b)| a == *b);
    if !same {
        kb.candidates.set_vec(page);
    }
    a.set_has_previous(kb.composer.has_previous());
    a.set_has_next(kb.composer.has_next());
}

/// The candidates on the bar now, for scenario steps.
#[cfg(feature = "sim")]
pub fn shown_candidates(ui: &AppWindow) -> Vec<String> {
    ui.global::<KeyboardAdapter>()
        .get_candidates()
        .iter()
        .map(|c| c.to_string())
        .collect()
}
