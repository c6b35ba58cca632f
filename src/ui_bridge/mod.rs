//! The seam between the UI thread and the kiosk task: UI callbacks become [`UiCommand`]s on a
//! channel (no I/O in callbacks), and each [`ViewState`] the kiosk pushes is copied into the
//! adapter global of each page, declared beside its page. Only the parts that changed are set,
//! and models are replaced only when their content changed, so a finger on a list is never
//! interrupted by a refresh.

#[cfg(feature = "sim")]
pub(crate) mod headless;
pub(crate) mod keyboard;
pub(crate) mod provision;

slint::include_modules!();

use crate::kiosk::{Command, UiCommand};
use crate::services::Input;
use crate::session::PageId;
use crate::view::{self, ViewState};
use crate::Lang;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
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
        PageId::Table => Page::Table,
        PageId::Document => Page::Document,
        PageId::Payment => Page::Payment,
        PageId::Goodbye => Page::Goodbye,
        PageId::Technician => Page::Technician,
    }
}

#[cfg(feature = "sim")]
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
        Page::Table => PageId::Table,
        Page::Document => PageId::Document,
        Page::Payment => PageId::Payment,
        Page::Goodbye => PageId::Goodbye,
        Page::Technician => PageId::Technician,
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
                warn: r.warn,
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

fn chrome(ui: &AppWindow, c: &view::ChromeView, lang_changed: bool) {
    if lang_changed {
        select_language(c.lang);
    }
    let app = ui.global::<AppState>();
    app.set_page(page_of(c.page));
    app.set_english(c.lang == Lang::En);
    app.set_elderly(c.elderly);
    app.set_landscape(c.landscape);
    app.set_countdown(c.countdown.map(|c| c as i32).unwrap_or(-1));
    app.set_busy(c.busy);
    app.set_identified(c.identified);
    app.set_greeting_name(c.greeting_name.as_str().into());
    app.set_remind_take_card(c.remind_take_card);
    app.set_seconds_left(c.seconds_left.map(|s| s as i32).unwrap_or(-1));
    app.set_staff_called(c.staff_called);
    app.set_staff_called_min(c.staff_called_min.map(|m| m as i32).unwrap_or(-1));
    app.set_toast(c.toast.as_str().into());
    app.set_offline(c.offline);
    app.set_slow(c.slow);
    app.set_can_go_back(c.can_go_back);
    app.set_card_present(c.card_present);
    app.set_site_name(c.site_name.as_str().into());
    app.set_caption(c.caption.as_str().into());
    app.set_volume(i32::from(c.volume));
}

fn home(ui: &AppWindow, h: &view::HomeView, prev: Option<&view::HomeView>) {
    let a = ui.global::<HomeAdapter>();
    if prev.is_none_or(|p| p.tiles != h.tiles) {
        a.set_tiles(model(
            h.tiles
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
    a.set_notice(h.notice.as_str().into());
}

fn form(ui: &AppWindow, f: &view::FormView, prev: Option<&view::FormView>) {
    let a = ui.global::<FormAdapter>();
    a.set_title(f.title.as_str().into());
    a.set_hint(f.hint.as_str().into());
    if prev.is_none_or(|p| p.rows != f.rows) {
        a.set_rows(rows(&f.rows));
    }
    if prev.is_none_or(|p| p.choices != f.choices) {
        a.set_choices(model(
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
}

fn input(ui: &AppWindow, i: &view::InputView, prev: Option<&view::InputView>) {
    let a = ui.global::<InputAdapter>();
    if prev.is_none_or(|p| p.mode != i.mode || p.title != i.title) {
        // A new question starts empty, with nothing composed on the keyboard.
        a.set_text(SharedString::new());
        keyboard::reset(ui, ui.global::<AppState>().get_english());
    }
    a.set_mode(match i.mode {
        view::InputMode::Text => InputMode::Text,
        view::InputMode::Phone => InputMode::Phone,
        view::InputMode::Month => InputMode::Month,
        view::InputMode::Number => InputMode::Number,
    });
    a.set_title(i.title.as_str().into());
    a.set_hint(i.hint.as_str().into());
    a.set_error(i.error);
    a.set_value(i.value.as_str().into());
}

fn result(ui: &AppWindow, r: &view::ResultView, prev: Option<&view::ResultView>) {
    let a = ui.global::<ResultAdapter>();
    a.set_kind(match r.kind {
        view::ResultKind::Success => ResultKind::Success,
        view::ResultKind::Error => ResultKind::Error,
        view::ResultKind::Info => ResultKind::Info,
    });
    a.set_title(r.title.as_str().into());
    a.set_headline(r.headline.as_str().into());
    a.set_message(r.message.as_str().into());
    if prev.is_none_or(|p| p.rows != r.rows) {
        a.set_rows(rows(&r.rows));
    }
    a.set_can_print(r.can_print);
    a.set_can_retry(r.can_retry);
    a.set_rate(r.rate.as_str().into());
}

fn rating(ui: &AppWindow, r: &view::RatingView, prev: Option<&view::RatingView>) {
    let a = ui.global::<ResultAdapter>();
    a.set_rating_score(i32::from(r.score));
    if prev.is_none_or(|p| p.reasons != r.reasons) {
        a.set_rating_reasons(model(
            r.reasons
                .iter()
                .map(|(code, chosen)| RatingReason {
                    code: code.as_str().into(),
                    chosen: *chosen,
                })
                .collect(),
        ));
    }
    a.set_rating_sent(r.sent);
    a.set_rating_kept(r.kept);
    a.set_rating_failed(r.failed);
}

fn payment(ui: &AppWindow, p: &view::PaymentView, prev: Option<&view::PaymentView>) {
    let a = ui.global::<PaymentAdapter>();
    a.set_amount(p.amount.as_str().into());
    a.set_payee(p.payee.as_str().into());
    a.set_order_no(p.order_no.as_str().into());
    a.set_seconds_left(p.seconds_left as i32);
    a.set_checking(p.checking);
    if prev.is_some_and(|x| x.qr == p.qr) {
        return;
    }
    match &p.qr {
        Some(img) => {
            a.set_qr(receipt_image(img));
            a.set_has_qr(true);
        }
        None => a.set_has_qr(false),
    }
}

fn table(ui: &AppWindow, t: &view::TableView, prev: Option<&view::TableView>) {
    let a = ui.global::<TableAdapter>();
    a.set_title(t.title.as_str().into());
    a.set_subtitle(t.subtitle.as_str().into());
    a.set_action(t.action.as_str().into());
    if prev.is_none_or(|p| p.columns != t.columns) {
        let sum: u32 = t
            .columns
            .iter()
            .map(|c| c.weight.max(1))
            .sum::<u32>()
            .max(1);
        let mut start = 0u32;
        a.set_columns(model(
            t.columns
                .iter()
                .map(|c| {
                    let col = TableColumn {
                        title: c.title.as_str().into(),
                        numeric: c.numeric,
                        start: start as f32 / sum as f32,
                        width: c.weight.max(1) as f32 / sum as f32,
                    };
                    start += c.weight.max(1);
                    col
                })
                .collect(),
        ));
    }
    let cells = |cs: &[String]| model(cs.iter().map(|c| SharedString::from(c.as_str())).collect());
    if prev.is_none_or(|p| p.rows != t.rows) {
        a.set_rows(model(
            t.rows
                .iter()
                .map(|r| TableRow { cells: cells(r) })
                .collect(),
        ));
    }
    if prev.is_none_or(|p| p.total != t.total) {
        a.set_total(cells(&t.total));
    }
}

/// A receipt's grey pixels as a Slint image.
fn receipt_image(img: &view::Preview) -> slint::Image {
    let mut buf = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(img.width, img.height);
    for (dst, g) in buf.make_mut_slice().iter_mut().zip(img.grey.iter()) {
        *dst = slint::Rgb8Pixel {
            r: *g,
            g: *g,
            b: *g,
        };
    }
    slint::Image::from_rgb8(buf)
}

fn document(ui: &AppWindow, d: &view::DocumentView, prev: Option<&view::DocumentView>) {
    let a = ui.global::<DocumentAdapter>();
    a.set_title(d.title.as_str().into());
    a.set_hint(d.hint.as_str().into());
    if prev.is_some_and(|x| x.preview == d.preview) {
        return;
    }
    match &d.preview {
        Some(img) => {
            a.set_preview(receipt_image(img));
            a.set_has_preview(true);
        }
        None => a.set_has_preview(false),
    }
}

fn print_state(s: view::PrintState) -> PrintState {
    match s {
        view::PrintState::None => PrintState::None,
        view::PrintState::Printing => PrintState::Printing,
        view::PrintState::Done => PrintState::Done,
        view::PrintState::PaperOut => PrintState::PaperOut,
        view::PrintState::Failed => PrintState::Failed,
    }
}

fn print(ui: &AppWindow, p: &view::PrintView, prev: Option<&view::PrintView>) {
    let a = ui.global::<PrintAdapter>();
    a.set_state(print_state(p.state));
    if prev.is_some_and(|x| x.preview == p.preview) {
        return;
    }
    match &p.preview {
        Some(img) => {
            a.set_preview(receipt_image(img));
            a.set_has_preview(true);
        }
        None => a.set_has_preview(false),
    }
}

fn technician(ui: &AppWindow, t: &view::TechnicianView, prev: Option<&view::TechnicianView>) {
    let a = ui.global::<TechnicianAdapter>();
    a.set_stage(match t.stage {
        view::TechnicianStage::Pin => TechnicianStage::Pin,
        view::TechnicianStage::Locked => TechnicianStage::Locked,
        view::TechnicianStage::Open => TechnicianStage::Open,
    });
    a.set_pin_len(t.pin_len as i32);
    a.set_pin_entry(t.pin_entry);
    a.set_card_entry(t.card_entry);
    a.set_pin_dots("●".repeat(t.pin_len as usize).into());
    a.set_pin_message(t.pin_message.as_str().into());
    a.set_pin_value(t.pin_value.as_str().into());
    if prev.is_none_or(|p| p.rows != t.rows) {
        a.set_rows(rows(&t.rows));
    }
    if prev.is_none_or(|p| p.errors != t.errors) {
        a.set_errors(rows(&t.errors));
    }
    if prev.is_none_or(|p| p.selftest != t.selftest) {
        a.set_selftest(rows(&t.selftest));
    }
    if prev.is_none_or(|p| p.audit != t.audit) {
        a.set_audit(model(
            t.audit
                .iter()
                .map(|l| AuditLine {
                    at: l.at.as_str().into(),
                    action: l.action.as_str().into(),
                    detail: l.detail.as_str().into(),
                })
                .collect(),
        ));
    }
    a.set_outcome(t.outcome.as_str().into());
    a.set_outcome_value(t.outcome_value.as_str().into());
    a.set_outcome_ok(t.outcome_ok);
    a.set_card_state(t.card_state.as_str().into());
    a.set_card_reader(t.card_reader.as_str().into());
    a.set_card_type(t.card_type.as_str().into());
    a.set_card_tail(t.card_tail.as_str().into());
}

/// Copies what changed in `v` into the page adapters. Call on the UI thread.
pub fn apply(ui: &AppWindow, v: &ViewState) {
    let prev = LAST.with(|l| l.borrow_mut().take());
    let prev = prev.as_ref();
    macro_rules! part {
        ($($field:ident).+, $set:expr) => {{
            let before = prev.map(|p| &p.$($field).+);
            if before != Some(&v.$($field).+) {
                $set(ui, &v.$($field).+, before);
            }
        }};
    }
    if prev.map(|p| &p.chrome) != Some(&v.chrome) {
        chrome(
            ui,
            &v.chrome,
            prev.is_none_or(|p| p.chrome.lang != v.chrome.lang),
        );
    }
    part!(home, home);
    if prev.is_none_or(|p| {
        p.flow.service_code != v.flow.service_code || p.flow.service_title != v.flow.service_title
    }) {
        let s = ui.global::<ServiceAdapter>();
        s.set_code(v.flow.service_code.as_str().into());
        s.set_title(v.flow.service_title.as_str().into());
    }
    if prev.map(|p| &p.flow.identify) != Some(&v.flow.identify) {
        let a = ui.global::<IdentifyAdapter>();
        let i = &v.flow.identify;
        a.set_mode(match i.mode {
            view::IdentifyMode::Required => IdentifyMode::Required,
            view::IdentifyMode::Optional => IdentifyMode::Optional,
        });
        a.set_hint(i.hint.as_str().into());
        a.set_skip_label(i.skip.as_str().into());
    }
    part!(flow.form, form);
    part!(flow.input, input);
    if prev.map(|p| &p.flow.confirm) != Some(&v.flow.confirm) {
        let a = ui.global::<ConfirmAdapter>();
        a.set_title(v.flow.confirm.title.as_str().into());
        a.set_rows(rows(&v.flow.confirm.rows));
    }
    part!(flow.result, result);
    part!(flow.rating, rating);
    part!(flow.payment, payment);
    part!(flow.print, print);
    part!(flow.table, table);
    if prev.map(|p| &p.goodbye) != Some(&v.goodbye) {
        let a = ui.global::<GoodbyeAdapter>();
        a.set_rows(rows(&v.goodbye.rows));
        a.set_print_state(print_state(v.goodbye.print));
    }
    part!(flow.document, document);
    part!(technician, technician);
    LAST.with(|l| *l.borrow_mut() = Some(v.clone()));
}

/// Connects every adapter callback to the kiosk's command channel.
pub fn wire(ui: &AppWindow, tx: UnboundedSender<Command>) {
    let send = move |c: UiCommand| {
        let _ = tx.send(Command::Ui(c));
    };
    macro_rules! on {
        ($global:expr, $setter:ident, |$arg:ident| $cmd:expr) => {{
            let s = send.clone();
            $global.$setter(move |$arg: SharedString| s($cmd));
        }};
        ($global:expr, $setter:ident, $cmd:expr) => {{
            let s = send.clone();
            $global.$setter(move || s($cmd));
        }};
    }
    let app = ui.global::<AppState>();
    on!(app, on_start, UiCommand::Start);
    on!(app, on_back, UiCommand::Back);
    on!(app, on_home, UiCommand::Home);
    on!(app, on_call_staff, UiCommand::CallStaff);
    on!(app, on_toggle_language, UiCommand::ToggleLanguage);
    on!(app, on_toggle_elderly, UiCommand::ToggleElderly);
    on!(app, on_more_time, UiCommand::MoreTime);
    on!(app, on_finish, UiCommand::Finish);
    on!(app, on_touched, UiCommand::Touched);
    on!(app, on_repeat, UiCommand::Repeat);
    on!(app, on_louder, UiCommand::Louder);
    on!(app, on_quieter, UiCommand::Quieter);
    let home = ui.global::<HomeAdapter>();
    on!(home, on_open_service, |code| UiCommand::OpenService(
        code.to_string()
    ));
    let identify = ui.global::<IdentifyAdapter>();
    on!(identify, on_skip, UiCommand::Service(Input::SkipIdentify));
    let form = ui.global::<FormAdapter>();
    on!(form, on_choose, |id| UiCommand::Service(Input::Choose(
        id.to_string()
    )));
    let input = ui.global::<InputAdapter>();
    on!(input, on_key, |k| UiCommand::Service(Input::Key(
        k.to_string()
    )));
    on!(input, on_submit, |v| UiCommand::Service(Input::Submit(
        v.to_string()
    )));
    on!(input, on_skip, UiCommand::Service(Input::Skip));
    {
        let s = send.clone();
        keyboard::wire(ui, move || s(UiCommand::Typing));
    }
    let confirm = ui.global::<ConfirmAdapter>();
    on!(confirm, on_confirm, UiCommand::Service(Input::Confirm));
    let result = ui.global::<ResultAdapter>();
    on!(result, on_retry, UiCommand::Service(Input::Retry));
    on!(result, on_print, UiCommand::Service(Input::Print));
    on!(result, on_view_receipt, UiCommand::ViewReceipt);
    on!(result, on_toggle_reason, |code| UiCommand::RatingReason(
        code.to_string()
    ));
    on!(result, on_send_rating, UiCommand::SendRating);
    {
        let s = send.clone();
        result.on_rate_service(move |score| s(UiCommand::Rate(score.clamp(1, 5) as u8)));
    }
    let table = ui.global::<TableAdapter>();
    on!(table, on_act, UiCommand::Service(Input::Confirm));
    let goodbye = ui.global::<GoodbyeAdapter>();
    on!(goodbye, on_print, UiCommand::PrintPrivacySlip);
    on!(goodbye, on_done, UiCommand::DismissGoodbye);
    let document = ui.global::<DocumentAdapter>();
    on!(document, on_print, UiCommand::Service(Input::Print));
    let technician = ui.global::<TechnicianAdapter>();
    on!(technician, on_long_press, UiCommand::TechnicianLongPress);
    on!(technician, on_key, |k| UiCommand::TechnicianKey(
        k.to_string()
    ));
    on!(technician, on_submit, UiCommand::TechnicianSubmit);
    {
        let s = send.clone();
        technician.on_act(move |code: SharedString| {
            match crate::technician::TechnicianAction::from_code(&code) {
                Some(action) => s(UiCommand::Technician(action)),
                None => tracing::warn!(%code, "unknown technician page action from the UI"),
            }
        });
    }
}

/// The demo's on-screen card reader, wired straight to the simulated reader: the kiosk task
/// never sees it, so a real kiosk cannot show it.
#[cfg(feature = "sim")]
pub fn wire_demo_reader(
    ui: &AppWindow,
    reader: bianmin_idcard::simulator::SimulatorHandle,
    residents: &[bianmin_idcard::Identity],
    cloud_url: &str,
) {
    use bianmin_idcard::CardType;
    let demo = ui.global::<DemoReader>();
    demo.set_enabled(true);
    demo.set_cards(model(
        residents
            .iter()
            .enumerate()
            .map(|(i, r)| DemoCard {
                label: format!(
                    "{}. {} · {}",
                    i + 1,
                    r.name_masked(),
                    match r.card_type {
                        CardType::ResidentId => "居民身份证 ID card",
                        CardType::ResidencePermitHkMoTw => "港澳台居住证 Residence permit",
                        CardType::ForeignPermanentResident => "永居证 Permanent residence",
                        CardType::SocialSecurity => "社保卡 Social security card",
                    }
                )
                .into(),
            })
            .collect(),
    ));
    let residents = residents.to_vec();
    let inserting = reader.clone();
    demo.on_insert(move |i| {
        if let Some(id) = usize::try_from(i).ok().and_then(|i| residents.get(i)) {
            inserting.insert(id.clone());
        }
    });
    demo.on_remove(move || reader.remove());
    // The resident's phone pays the order on screen, through the simulator's control route.
    let weak = ui.as_weak();
    let cloud_url = cloud_url.to_string();
    demo.on_pay_by_phone(move || {
        let Some(ui) = weak.upgrade() else { return };
        let order = ui.global::<PaymentAdapter>().get_order_no().to_string();
        if order.is_empty() {
            return;
        }
        if let Err(e) = crate::demo::phone_pays(&cloud_url, &order, "wechat") {
            tracing::warn!(error = %e, "demo phone payment refused");
        }
    });
}

/// The pusher the kiosk task uses: hops to the UI thread and applies the view there.
pub fn pusher(ui: &AppWindow) -> crate::kiosk::PushView {
    let weak = ui.as_weak();
    std::sync::Arc::new(move |v: ViewState| {
        let weak = weak.clone();
        let _ = slint::invoke_from_event_loop(move || {
            if let Some(ui) = weak.upgrade() {
                let began = std::time::Instant::now();
                apply(&ui, &v);
                // Fires once this turn of the event loop, with its redraw, is done.
                slint::Timer::single_shot(std::time::Duration::ZERO, move || {
                    crate::health::Metrics::global().frame(began.elapsed().as_secs_f64());
                });
            }
        });
    })
}

/// The tiles' labels as the UI shows them (for scenario taps by service code).
#[cfg(feature = "sim")]
pub fn tile_label(ui: &AppWindow, code: &str) -> Option<String> {
    use slint::Model;
    let tiles = ui.global::<HomeAdapter>().get_tiles();
    let tile = tiles.iter().find(|t| t.code == code)?;
    if !tile.title.is_empty() {
        return Some(tile.title.to_string());
    }
    Some(ui.global::<Strings>().invoke_t(code.into()).to_string())
}
