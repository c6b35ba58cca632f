//! What the UI shows, as plain data: the kiosk task builds a [`ViewState`] and the bridge copies
//! it into the Slint globals. Strings here are keys (translated in the UI) or data (names from
//! the cloud, masked resident names, numbers) — never fixed display text.

use crate::session::PageId;
use crate::Lang;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TileView {
    pub code: String,
    /// The catalogue's name in the current language; empty → the UI's own translated name.
    pub title: String,
    pub enabled: bool,
    pub needs_card: bool,
    /// A status key shown on the tile (e.g. what the service can do while offline), or empty.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct ChoiceView {
    pub id: String,
    pub title: String,
    pub detail: String,
    /// A status key shown as a badge (e.g. a case status), or empty.
    pub badge: String,
    pub enabled: bool,
    /// Queue statistics; `None` hides them.
    pub waiting: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowView {
    pub label: String,
    pub value: String,
    pub unit: String,
}

impl RowView {
    pub fn new(label: &str, value: impl Into<String>) -> Self {
        RowView {
            label: label.into(),
            value: value.into(),
            unit: String::new(),
        }
    }
    pub fn with_unit(label: &str, value: impl Into<String>, unit: &str) -> Self {
        RowView {
            label: label.into(),
            value: value.into(),
            unit: unit.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    #[default]
    Success,
    Error,
    Info,
}

/// A rendered receipt preview (8-bit grey), shared without copying.
#[derive(Debug, Clone)]
pub struct Preview {
    pub width: u32,
    pub height: u32,
    pub grey: Arc<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct FlowView {
    pub service_code: String,
    pub service_title: String,
    pub identify_mode: String,
    pub form_title: String,
    pub form_hint: String,
    pub choices: Vec<ChoiceView>,
    pub input_mode: String,
    pub input_title: String,
    pub input_hint: String,
    pub input_error: bool,
    pub input_value: String,
    pub confirm_title: String,
    pub confirm_rows: Vec<RowView>,
    pub result_kind: ResultKind,
    pub result_title: String,
    pub result_headline: String,
    pub result_message: String,
    pub result_rows: Vec<RowView>,
    pub can_print: bool,
    pub can_retry: bool,
    /// "", "printing", "done", "paper_out", "failed"
    pub print_state: String,
    #[serde(skip)]
    pub preview: Option<Preview>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ViewState {
    pub page: PageId,
    pub lang: Lang,
    pub elderly: bool,
    pub landscape: bool,
    pub countdown: Option<u32>,
    pub busy: bool,
    pub identified: bool,
    pub greeting_name: String,
    pub remind_take_card: bool,
    pub staff_called: bool,
    pub offline: bool,
    pub can_go_back: bool,
    pub site_name: String,
    pub tiles: Vec<TileView>,
    pub notice: String,
    pub demo: bool,
    pub demo_cards: Vec<String>,
    pub card_present: bool,
    pub flow: FlowView,
}
