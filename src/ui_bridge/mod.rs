//! The seam between the UI thread and the kiosk task: UI callbacks become [`UiCommand`]s on a
//! channel (no I/O in callbacks), and each [`ViewState`] the kiosk pushes is copied into the
//! adapter globals on the UI thread. Models are replaced only when their content changed, so a
//! finger on a list is never interrupted by a refresh.

pub mod headless;

slint::include_modules!();

use crate::kiosk::{Command, UiCommand};
use crate::session::PageId;
use crate::view::{self, ViewState};
use crate::Lang;
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};
use std::cell::RefCell;
use std::rc::Rc;
use tokio::sync::mpsc::UnboundedSender;

thread_local! {
    static LAST: RefCell<Option<ViewState>> = const { RefCell::new(None) };
}

pub fn page_of(p: PageId) -> Page {
    match p {
        PageId::Attract => Page::Attract,
        PageId::Home => Page::Home,
        PageId::Identify => Page::Identify,
        PageId::Form => Page::Form,
        PageId::Input => Page::Input,
        PageId::Confirm => Page::Confirm,
        PageId::Result => Page::Result,
        PageId::Print => Page::Print,
    }
}

pub fn page_id(p: Page) -> PageId {
    match p {
        Page::Attract => PageId::Attract,
        Page::Home => PageId::Home,
        Page::Identify => PageId::Identify,
        Page::Form => PageId::Form,
        Page::Input => PageId::Input,
        Page::Confirm => PageId::Confirm,
        Page::Result => PageId::Result,
        Page::Print => PageId::Print,
    }
}

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(items)))
}

fn rows(rs: &[view::RowView]) -> ModelRc<Row> {
    model(
        rs.iter()
            .map(|r| Row {
                label: r.label.as_str().into(),
                value: r.value.as_str().into(),
                unit: r.unit.as_str().into(),
            })
            .collect(),
    )
}

/// Selects the bundled translation for `lang` (Chinese is the source language).
pub fn select_language(lang: Lang) {
    let code = match lang {
        Lang::Zh => "",
        Lang::En => "en",
    };
    if let Err(e) = slint::select_bundled_translation(code) {
        tracing::error!(error = %e, "translation not available");
    }
}

/// Copies `v` into the globals. Call on the UI thread.
pub fn apply(ui: &AppWindow, v: &ViewState) {
    let prev = LAST.with(|l| l.borrow_mut().take());
    // Models are replaced only when their content changed (compared in place, no copies).
    macro_rules! changed {
        ($($field:tt)+) => {
            prev.as_ref().is_none_or(|p| p.$($field)+ != v.$($field)+)
        };
    }
    let app = ui.global::<AppState>();
    if prev.as_ref().is_none_or(|p| p.lang != v.lang) {
        select_language(v.lang);
    }
    app.set_page(page_of(v.page));
    app.set_english(v.lang == Lang::En);
    app.set_elderly(v.elderly);
    app.set_landscape(v.landscape);
    app.set_countdown(v.countdown.map(|c| c as i32).unwrap_or(-1));
    app.set_busy(v.busy);
    app.set_identified(v.identified);
    app.set_greeting_name(v.greeting_name.as_str().into());
    app.set_remind_take_card(v.remind_take_card);
    app.set_staff_called(v.staff_called);
    app.set_offline(v.offline);
    app.set_can_go_back(v.can_go_back);
    app.set_site_name(v.site_name.as_str().into());
    app.set_notice(v.notice.as_str().into());
    app.set_demo(v.demo);
    app.set_card_present(v.card_present);
    if changed!(tiles) {
        app.set_tiles(model(
            v.tiles
                .iter()
                .map(|t| Tile {
                    code: t.code.as_str().into(),
                    title: t.title.as_str().into(),
                    enabled: t.enabled,
                    needs_card: t.needs_card,
                    status: t.status.as_str().into(),
                })
                .collect(),
        ));
    }
    if changed!(demo_cards) {
        app.set_demo_cards(model(
            v.demo_cards
                .iter()
                .map(|l| DemoCard {
                    label: l.as_str().into(),
                })
                .collect(),
        ));
    }

    let flow = ui.global::<Flow>();
    let f = &v.flow;
    flow.set_service_code(f.service_code.as_str().into());
    flow.set_service_title(f.service_title.as_str().into());
    flow.set_identify_mode(if f.identify_mode.is_empty() {
        "required".into()
    } else {
        f.identify_mode.as_str().into()
    });
    flow.set_form_title(f.form_title.as_str().into());
    flow.set_form_hint(f.form_hint.as_str().into());
    if changed!(flow.choices) {
        flow.set_choices(model(
            f.choices
                .iter()
                .map(|c| Choice {
                    id: c.id.as_str().into(),
                    title: c.title.as_str().into(),
                    detail: c.detail.as_str().into(),
                    badge: c.badge.as_str().into(),
                    enabled: c.enabled,
                    waiting: c.waiting.map(|w| w.0 as i32).unwrap_or(-1),
                    minutes: c.waiting.map(|w| w.1 as i32).unwrap_or(-1),
                })
                .collect(),
        ));
    }
    if prev
        .as_ref()
        .is_none_or(|p| p.flow.input_mode != f.input_mode || p.flow.input_title != f.input_title)
    {
        // A new question starts empty.
        flow.set_input_text(SharedString::new());
    }
    flow.set_input_mode(if f.input_mode.is_empty() {
        "text".into()
    } else {
        f.input_mode.as_str().into()
    });
    flow.set_input_title(f.input_title.as_str().into());
    flow.set_input_hint(f.input_hint.as_str().into());
    flow.set_input_error(f.input_error);
    flow.set_input_value(f.input_value.as_str().into());
    flow.set_confirm_title(f.confirm_title.as_str().into());
    if changed!(flow.confirm_rows) {
        flow.set_confirm_rows(rows(&f.confirm_rows));
    }
    flow.set_result_kind(match f.result_kind {
        view::ResultKind::Success => ResultKind::Success,
        view::ResultKind::Error => ResultKind::Error,
        view::ResultKind::Info => ResultKind::Info,
    });
    flow.set_result_title(f.result_title.as_str().into());
    flow.set_result_headline(f.result_headline.as_str().into());
    flow.set_result_message(f.result_message.as_str().into());
    if changed!(flow.result_rows) {
        flow.set_result_rows(rows(&f.result_rows));
    }
    flow.set_can_print(f.can_print);
    flow.set_can_retry(f.can_retry);
    flow.set_print_state(f.print_state.as_str().into());
    let preview_changed = prev.as_ref().is_none_or(|p| {
        p.flow
            .preview
            .as_ref()
            .map(|x| std::sync::Arc::as_ptr(&x.grey))
            != f.preview.as_ref().map(|x| std::sync::Arc::as_ptr(&x.grey))
    });
    if preview_changed {
        match &f.preview {
            Some(p) => {
                let mut buf = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(p.width, p.height);
                for (dst, g) in buf.make_mut_slice().iter_mut().zip(p.grey.iter()) {
                    *dst = slint::Rgb8Pixel {
                        r: *g,
                        g: *g,
                        b: *g,
                    };
                }
                flow.set_receipt_preview(slint::Image::from_rgb8(buf));
                flow.set_has_preview(true);
            }
            None => flow.set_has_preview(false),
        }
    }
    LAST.with(|l| *l.borrow_mut() = Some(v.clone()));
}

/// Connects every adapter callback to the kiosk's command channel.
pub fn wire(ui: &AppWindow, tx: UnboundedSender<Command>) {
    let send = move |c: UiCommand| {
        let _ = tx.send(Command::Ui(c));
    };
    let app = ui.global::<AppState>();
    macro_rules! on {
        ($global:expr, $setter:ident, $cmd:expr) => {{
            let s = send.clone();
            $global.$setter(move || s($cmd));
        }};
    }
    on!(app, on_start, UiCommand::Start);
    on!(app, on_back, UiCommand::Back);
    on!(app, on_home, UiCommand::Home);
    on!(app, on_call_staff, UiCommand::CallStaff);
    on!(app, on_toggle_language, UiCommand::ToggleLanguage);
    on!(app, on_toggle_elderly, UiCommand::ToggleElderly);
    on!(app, on_more_time, UiCommand::MoreTime);
    on!(app, on_finish, UiCommand::Finish);
    on!(app, on_demo_remove, UiCommand::DemoRemove);
    {
        let s = send.clone();
        app.on_open_service(move |code: SharedString| s(UiCommand::OpenService(code.to_string())));
    }
    {
        let s = send.clone();
        app.on_demo_insert(move |i| s(UiCommand::DemoInsert(i.max(0) as usize)));
    }
    app.on_touched(|| {});
    let flow = ui.global::<Flow>();
    on!(flow, on_confirm, UiCommand::Confirm);
    on!(flow, on_retry, UiCommand::Retry);
    on!(flow, on_print, UiCommand::Print);
    on!(flow, on_skip_identify, UiCommand::SkipIdentify);
    on!(flow, on_view_receipt, UiCommand::ViewReceipt);
    {
        let s = send.clone();
        flow.on_choose(move |id: SharedString| s(UiCommand::Choose(id.to_string())));
    }
    {
        let s = send.clone();
        flow.on_input_key(move |k: SharedString| s(UiCommand::InputKey(k.to_string())));
    }
    {
        let s = send.clone();
        flow.on_input_submit(move |v: SharedString| s(UiCommand::InputSubmit(v.to_string())));
    }
    on!(flow, on_input_skip, UiCommand::InputSkip);
}

/// The pusher the kiosk task uses: hops to the UI thread and applies the view there.
pub fn pusher(ui: &AppWindow) -> crate::kiosk::PushView {
    let weak = ui.as_weak();
    std::sync::Arc::new(move |v: ViewState| {
        let weak = weak.clone();
        let _ = slint::invoke_from_event_loop(move || {
            if let Some(ui) = weak.upgrade() {
                apply(&ui, &v);
            }
        });
    })
}

/// The tiles' labels as the UI shows them (for scenario taps by service code).
pub fn tile_label(ui: &AppWindow, code: &str) -> Option<String> {
    let app = ui.global::<AppState>();
    let tiles = app.get_tiles();
    let tile = tiles.iter().find(|t| t.code == code)?;
    if !tile.title.is_empty() {
        return Some(tile.title.to_string());
    }
    Some(ui.global::<Strings>().invoke_t(code.into()).to_string())
}
