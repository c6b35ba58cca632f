//! `bianmin fleet console`: the admins' web page. Server-rendered HTML (minijinja templates with
//! HTML auto-escaping) over axum; a little JavaScript filters the fleet table as you type.
//!
//! Signing in: accounts from `fleet add-admin` (Argon2id), a session cookie (HttpOnly,
//! SameSite=Strict) that ends after `session_idle` without use, and a CSRF token per session
//! that every state-changing form carries. A viewer sees everything and can change nothing; the
//! cloud refuses a viewer's credential too, but the console does not even ask it.

// The guards answer the refusal page itself as their error (a whole HTTP response): it is the
// handler's answer, made once per request, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::accounts::Accounts;
use super::strings::tr;
use crate::cloud::admin::*;
use crate::cloud::api::{Catalog, CatalogService, DeviceCommand, Notice, Text};
use crate::cloud::CloudError;
use crate::Lang;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use bianmin_update::{Expiries, KeysDir, ReleaseRepo, Timestamp, Wave};
use minijinja::{context, Environment, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    pub cloud: String,
    pub token: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The signed release repository (for the rollouts' waves and pause state).
    pub release_repo: Option<PathBuf>,
    /// The targets key folder: with it the console can pause, resume and widen a rollout.
    pub release_keys: Option<PathBuf>,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
}

/// The reasons the fleet table can be filtered by, in the order the filter lists them.
pub const REASON_CODES: [&str; 14] = [
    AttentionReason::PAPER_OUT,
    AttentionReason::PAPER_NEAR_END,
    AttentionReason::COVER_OPEN,
    AttentionReason::CUTTER_ERROR,
    AttentionReason::PRINTER_OFFLINE,
    AttentionReason::READER_LOST,
    AttentionReason::READER_ERROR,
    AttentionReason::OUTBOX_STUCK,
    AttentionReason::CLOCK_OFF,
    AttentionReason::DISK_LOW,
    AttentionReason::AUDIO_ERROR,
    AttentionReason::ROLLED_BACK,
    AttentionReason::OFFLINE,
    AttentionReason::NEVER_SEEN,
];

const SESSION_COOKIE: &str = "bianmin_console";
const LOGIN_COOKIE: &str = "bianmin_login";
const LANG_COOKIE: &str = "bianmin_lang";
/// However busy, a session lasts no longer than a working day.
const SESSION_MAX: Duration = Duration::from_secs(12 * 3600);
const FAILURES_BEFORE_LOCK: u32 = 5;
/// An office shares one address behind its NAT: looser than per name.
const FAILURES_PER_ADDRESS: u32 = 30;
const LOCK_FOR: Duration = Duration::from_secs(60);

struct Session {
    user: String,
    role: AdminRole,
    csrf: String,
    created: Instant,
    last_used: Instant,
    flash: Option<(bool, String)>,
    /// A catalogue previewed and not yet published, with its picture.
    draft: Option<(CatalogDraft, Vec<u8>, u64)>,
}

struct Console {
    opts: ConsoleOptions,
    cloud: AdminClient,
    accounts: Mutex<Accounts>,
    sessions: Mutex<HashMap<String, Session>>,
    throttle: Mutex<Throttle>,
    env: Environment<'static>,
}

/// Sign-in attempts per key (a name, an address): `limit` attempts, then locked for
/// [`LOCK_FOR`]. Bounded: past [`Throttle::KEPT`] keys only the locked ones are kept.
#[derive(Default)]
struct Throttle(HashMap<String, (u32, Option<Instant>)>);

impl Throttle {
    const KEPT: usize = 10_000;

    /// Counts an attempt; false while the key is locked.
    fn admit(&mut self, key: &str, limit: u32) -> bool {
        let now = Instant::now();
        if self.0.len() >= Self::KEPT {
            self.0
                .retain(|_, (_, until)| until.is_some_and(|u| u > now));
        }
        let entry = self.0.entry(key.to_string()).or_insert((0, None));
        match entry.1 {
            Some(until) if until > now => return false,
            Some(_) => *entry = (0, None),
            None => {}
        }
        entry.0 += 1;
        if entry.0 >= limit {
            *entry = (0, Some(now + LOCK_FOR));
        }
        true
    }

    fn clear(&mut self, key: &str) {
        self.0.remove(key);
    }
}

type C = State<Arc<Console>>;

fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn same(a: &str, b: &str) -> bool {
    // Constant time over the length of the expected token.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A posted form, as its (name, value) pairs.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &Bytes) -> Form {
        Form(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn query(raw: &Option<String>) -> BTreeMap<String, String> {
    raw.as_deref()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub async fn serve(opts: ConsoleOptions) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let console = Console::new(opts)?;
    println!("fleet console on http://{addr}");
    axum::serve(
        listener,
        router(Arc::new(console)).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

impl Console {
    fn new(opts: ConsoleOptions) -> anyhow::Result<Console> {
        let accounts = Accounts::open(&opts.data_dir)?;
        let cloud = AdminClient::new(&opts.cloud, &opts.token, Duration::from_secs(15))?;
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("fleet.html", include_str!("templates/fleet.html")),
            ("kiosk.html", include_str!("templates/kiosk.html")),
            ("rollouts.html", include_str!("templates/rollouts.html")),
            ("catalog.html", include_str!("templates/catalog.html")),
            ("audit.html", include_str!("templates/audit.html")),
            ("message.html", include_str!("templates/message.html")),
        ] {
            env.add_template(name, text)?;
        }
        env.add_function("t", |state: &minijinja::State, key: &str| -> String {
            tr(lang_of(state.lookup("lang")), key)
        });
        Ok(Console {
            opts,
            cloud,
            accounts: Mutex::new(accounts),
            sessions: Mutex::default(),
            throttle: Mutex::default(),
            env,
        })
    }

    /// The signed-in session behind the request's cookie, refreshed; None when there is none
    /// or it has ended.
    fn session(&self, headers: &HeaderMap) -> Option<String> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let now = Instant::now();
        sessions.retain(|_, s| {
            now.duration_since(s.last_used) < self.opts.session_idle
                && now.duration_since(s.created) < SESSION_MAX
        });
        let s = sessions.get_mut(id)?;
        s.last_used = now;
        Some(id.to_string())
    }

    fn with_session<T>(&self, id: &str, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        self.sessions
            .lock()
            .expect("sessions lock")
            .get_mut(id)
            .map(f)
    }

    /// A page for a signed-in admin, or the way to the sign-in page.
    fn need(&self, headers: &HeaderMap) -> Result<String, Response> {
        self.session(headers)
            .ok_or_else(|| see_other("/login?expired=1"))
    }

    /// A state-changing request: refused without a session (401), without the session's CSRF
    /// token (403), or from a viewer when it needs an operator (403). Nothing is done then.
    fn may_act(
        &self,
        headers: &HeaderMap,
        form: &Form,
        operator: bool,
    ) -> Result<(String, String, AdminRole), Response> {
        let lang = self.lang(headers, &None);
        let Some(id) = self.session(headers) else {
            tracing::warn!("console: a change without a session refused");
            return Err(self.message(
                StatusCode::UNAUTHORIZED,
                lang,
                None,
                &tr(lang, "refused.title"),
                &tr(lang, "login.expired"),
                "/login",
            ));
        };
        let Some((csrf, user, role)) =
            self.with_session(&id, |s| (s.csrf.clone(), s.user.clone(), s.role))
        else {
            // Signed out by another request in between.
            return Err(see_other("/login?expired=1"));
        };
        let refused = |key: &str| {
            self.message(
                StatusCode::FORBIDDEN,
                lang,
                Some(&id),
                &tr(lang, "refused.title"),
                &tr(lang, key),
                "/",
            )
        };
        if !form.get("csrf").is_some_and(|c| same(c, &csrf)) {
            tracing::warn!(user = %user, "console: a change without the form's CSRF token refused");
            return Err(refused("refused.csrf"));
        }
        if operator && !role.may_act() {
            tracing::warn!(user = %user, "console: a viewer's change refused");
            return Err(refused("refused.viewer"));
        }
        Ok((id, user, role))
    }

    fn lang(&self, headers: &HeaderMap, raw: &Option<String>) -> Lang {
        let q = query(raw);
        match q
            .get("lang")
            .map(String::as_str)
            .or(cookie(headers, LANG_COOKIE))
        {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    fn flash(&self, id: &str, good: bool, text: String) {
        self.with_session(id, |s| s.flash = Some((good, text)));
    }

    /// Renders a template with what every page has (language, user, CSRF token, flash).
    fn render(
        &self,
        status: StatusCode,
        name: &str,
        lang: Lang,
        session: Option<&str>,
        nav: &str,
        ctx: Value,
    ) -> Response {
        let (user, role, csrf, flash) = session
            .and_then(|id| {
                self.with_session(id, |s| {
                    (
                        Some(s.user.clone()),
                        s.role.code(),
                        s.csrf.clone(),
                        s.flash.take(),
                    )
                })
            })
            .unwrap_or((None, "viewer", String::new(), None));
        let full = context! {
            lang => lang.code(),
            user => user,
            role => role,
            may_act => role == "operator",
            csrf => csrf,
            nav => nav,
            flash => flash.as_ref().map(|f| f.1.clone()),
            flash_kind => flash.as_ref().map(|f| if f.0 { "good" } else { "bad" }),
            ..ctx
        };
        match self.env.get_template(name).and_then(|t| t.render(full)) {
            Ok(html) => {
                let mut r = (status, axum::response::Html(html)).into_response();
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
                    lang.code()
                )) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
                r
            }
            Err(e) => {
                tracing::error!(error = %e, template = name, "console page not rendered");
                (StatusCode::INTERNAL_SERVER_ERROR, "page not rendered").into_response()
            }
        }
    }

    fn message(
        &self,
        status: StatusCode,
        lang: Lang,
        session: Option<&str>,
        title: &str,
        message: &str,
        back: &str,
    ) -> Response {
        self.render(
            status,
            "message.html",
            lang,
            session,
            "",
            context! { title => title, message => message, back => back },
        )
    }

    fn cloud_error(&self, lang: Lang, session: &str, e: &CloudError) -> Response {
        let key = match e {
            CloudError::Unreachable(_) | CloudError::Timeout(_) => "cloud.unreachable",
            _ => "cloud.failed",
        };
        tracing::warn!(error = %e, "console: the cloud call failed");
        self.message(
            StatusCode::BAD_GATEWAY,
            lang,
            Some(session),
            &tr(lang, "refused.title"),
            &tr(lang, key).replace("{e}", &e.to_string()),
            "/",
        )
    }

    fn user_of(&self, id: &str) -> String {
        self.with_session(id, |s| s.user.clone())
            .unwrap_or_default()
    }
}

fn lang_of(v: Option<Value>) -> Lang {
    match v.as_ref().and_then(|v| v.as_str()) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route(
            "/static/console.css",
            get(|| async { static_file("text/css", include_str!("templates/console.css")) }),
        )
        .route(
            "/static/console.js",
            get(|| async { static_file("text/javascript", include_str!("templates/console.js")) }),
        )
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/", get(fleet_page))
        .route("/commands", post(bulk_command))
        .route("/kiosks/{id}", get(kiosk_page))
        .route("/kiosks/{id}/commands", post(kiosk_command))
        .route("/rollouts", get(rollouts_page))
        .route("/rollouts/{version}/{action}", post(rollout_action))
        .route("/catalog", get(catalog_page).post(catalog_post))
        .route("/catalog/preview.png", get(catalog_preview))
        .route("/audit", get(audit_page))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

fn static_file(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        text,
    )
        .into_response()
}

// ---- Signing in and out ----

async fn login_page(State(c): C, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let lang = c.lang(&headers, &raw);
    let token = random_token();
    let expired = query(&raw).contains_key("expired");
    let mut r = c.render(
        StatusCode::OK,
        "login.html",
        lang,
        None,
        "",
        context! {
            login_csrf => token,
            error => expired.then(|| tr(lang, "login.expired")),
            user_typed => "",
        },
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login(
    State(c): C,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = c.lang(&headers, &None);
    let form = Form::parse(&body);
    let user = form.get("user").unwrap_or("").trim().to_string();
    let password = zeroize::Zeroizing::new(form.get("password").unwrap_or("").to_string());
    // The sign-in form's own token against its cookie: another site cannot sign a browser in.
    let login_token = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if login_token.is_empty() || !form.get("csrf").is_some_and(|t| same(t, login_token)) {
        return c.message(
            StatusCode::FORBIDDEN,
            lang,
            None,
            &tr(lang, "refused.title"),
            &tr(lang, "refused.csrf"),
            "/login",
        );
    }
    let refuse = |c: &Console, key: &str| {
        let token = random_token();
        let mut r = c.render(
            StatusCode::UNAUTHORIZED,
            "login.html",
            lang,
            None,
            "",
            context! { login_csrf => token, error => tr(lang, key), user_typed => user },
        );
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800"
        )) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        r
    };
    let peer = peer.ip().to_string();
    // Every attempt counts before the password is checked, so guesses sent in parallel count
    // too: per name, and (more loosely) per address.
    let admitted = {
        let mut t = c.throttle.lock().expect("throttle lock");
        t.admit(&format!("user:{user}"), FAILURES_BEFORE_LOCK)
            && t.admit(&format!("ip:{peer}"), FAILURES_PER_ADDRESS)
    };
    // What the sign-in record keeps of the name: never a password typed into the name field.
    let shown = if super::valid_name(&user) {
        user.clone()
    } else {
        "(not a user name)".to_string()
    };
    let note = |outcome: &'static str| {
        let (c, shown, peer) = (c.clone(), shown.clone(), peer.clone());
        tokio::task::spawn_blocking(move || {
            let _ = c
                .accounts
                .lock()
                .expect("accounts lock")
                .note_sign_in(&shown, outcome, &peer);
        })
    };
    if !admitted {
        let _ = note("locked").await;
        return refuse(&c, "login.locked");
    }
    let role = if super::valid_name(&user) {
        let found = {
            let c = c.clone();
            let u = user.clone();
            tokio::task::spawn_blocking(move || {
                c.accounts.lock().expect("accounts lock").credentials(&u)
            })
            .await
        };
        let found = match found {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "console: the account store failed");
                None
            }
            Err(_) => None,
        };
        // The slow check outside any lock, on the blocking pool.
        let p = password.clone();
        let hash = found.as_ref().map(|(_, h)| h.clone());
        let good =
            tokio::task::spawn_blocking(move || super::password_matches(hash.as_deref(), &p))
                .await
                .unwrap_or(false);
        found.filter(|_| good).map(|(role, _)| role)
    } else {
        None
    };
    let Some(role) = role else {
        let _ = note("refused").await;
        tracing::warn!("console: a sign-in refused");
        return refuse(&c, "login.failed");
    };
    c.throttle
        .lock()
        .expect("throttle lock")
        .clear(&format!("user:{user}"));
    let _ = note("signed in").await;
    let id = random_token();
    let now = Instant::now();
    c.sessions.lock().expect("sessions lock").insert(
        id.clone(),
        Session {
            user: user.clone(),
            role,
            csrf: random_token(),
            created: now,
            last_used: now,
            flash: None,
            draft: None,
        },
    );
    tracing::info!(user = %user, role = role.code(), "console: signed in");
    let mut r = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(c): C, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (id, user, _) = match c.may_act(&headers, &form, false) {
        Ok(x) => x,
        Err(r) => return r,
    };
    c.sessions.lock().expect("sessions lock").remove(&id);
    tracing::info!(user = %user, "console: signed out");
    let mut r = see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("bianmin_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

// ---- The fleet ----

/// "3 min ago" from an RFC 3339 time.
fn ago(lang: Lang, at: Option<&str>) -> String {
    let Some(t) = at.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) else {
        return tr(lang, "ago.never");
    };
    let s = (crate::time::now().fixed_offset() - t).num_seconds().max(0);
    let (key, n) = match s {
        s if s < 120 => ("ago.seconds", s),
        s if s < 7200 => ("ago.minutes", s / 60),
        s if s < 172_800 => ("ago.hours", s / 3600),
        s => ("ago.days", s / 86_400),
    };
    tr(lang, key).replace("{n}", &n.to_string())
}

fn reason_text(lang: Lang, r: &AttentionReason) -> String {
    let text = tr(lang, &format!("reason.{}", r.code));
    match r.value {
        Some(v) => text.replace("{n}", &v.to_string()),
        None => text,
    }
}

async fn fleet_page(State(c): C, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let id = match c.need(&headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &raw);
    let started = Instant::now();
    let all = match c.cloud.devices(&FleetFilter::default()).await {
        Ok(d) => d,
        Err(e) => return c.cloud_error(lang, &id, &e),
    };
    let q = query(&raw);
    let get = |k: &str| q.get(k).cloned();
    let filter = filter_of(&q);
    let sites: BTreeSet<String> = all.devices.iter().map(|d| d.site.clone()).collect();
    let versions: BTreeSet<String> = all
        .devices
        .iter()
        .filter_map(|d| d.app_version.clone())
        .collect();
    let mut shown = select(&all.devices, &q);
    let sort = get("sort").unwrap_or_else(|| "status".into());
    let (desc, col) = match sort.strip_prefix('-') {
        Some(c) => (true, c),
        None => (false, sort.as_str()),
    };
    shown.sort_by(|a, b| {
        let o = match col {
            "site" => a.site.cmp(&b.site),
            "app_version" => a.app_version.cmp(&b.app_version),
            // Worst first: offline, then attention, then ok.
            "status" => b.status.cmp(&a.status),
            "last_seen" => b.last_seen.cmp(&a.last_seen),
            _ => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.device_id.cmp(&b.device_id));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let count = |s| all.devices.iter().filter(|d| d.status == s).count();
    let rows: Vec<Value> = shown
        .iter()
        .map(|d| {
            let reasons: Vec<String> = d.reasons.iter().map(|r| reason_text(lang, r)).collect();
            let codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
            context! {
                device_id => d.device_id,
                serial => d.serial,
                site => d.site,
                site_name => d.site_name,
                app_version => d.app_version,
                status => d.status.code(),
                last_seen_ago => ago(lang, d.last_seen.as_deref()),
                reasons => reasons,
                reason_codes => codes.join(" "),
            }
        })
        .collect();
    let without_sort: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| *k != "sort")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let page = c.render(
        StatusCode::OK,
        "fleet.html",
        lang,
        Some(&id),
        "fleet",
        context! {
            devices => rows,
            total => all.total,
            counts => context! { ok => count(FleetStatus::Ok), attention => count(FleetStatus::Attention), offline => count(FleetStatus::Offline) },
            sites => sites,
            versions => versions,
            reason_codes => REASON_CODES,
            commands => DeviceCommand::KNOWN,
            filter => context! {
                site => filter.site, status => filter.status.map(|s| s.code()), version => filter.version, reason => filter.reason,
            },
            q => get("q").unwrap_or_default(),
            sort => sort,
            query_without_sort => serde_urlencoded::to_string(&without_sort).unwrap_or_default(),
        },
    );
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        kiosks = all.total,
        "console: fleet page"
    );
    page
}

/// The filter a fleet page's query (or the bulk form's fields) asks for.
fn filter_of(q: &BTreeMap<String, String>) -> FleetFilter {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    FleetFilter {
        site: get("site"),
        status: get("status").and_then(|s| serde_json::from_value(serde_json::json!(s)).ok()),
        version: get("version"),
        reason: get("reason"),
    }
}

/// The kiosks the fleet page shows for `q`: its filter and its search words (any of id, serial,
/// site). The bulk form sends the same fields, so a command goes to exactly the rows shown.
fn select<'a>(all: &'a [FleetDevice], q: &BTreeMap<String, String>) -> Vec<&'a FleetDevice> {
    let filter = filter_of(q);
    let text = q.get("q").cloned().unwrap_or_default().to_lowercase();
    all.iter()
        .filter(|d| {
            filter.site.as_ref().is_none_or(|s| &d.site == s)
                && filter.status.is_none_or(|s| d.status == s)
                && filter
                    .version
                    .as_ref()
                    .is_none_or(|v| d.app_version.as_ref() == Some(v))
                && filter
                    .reason
                    .as_ref()
                    .is_none_or(|r| d.reasons.iter().any(|x| &x.code == r))
                && text.split_whitespace().all(|w| {
                    [
                        d.device_id.as_str(),
                        d.serial.as_deref().unwrap_or(""),
                        d.site.as_str(),
                        d.site_name.as_deref().unwrap_or(""),
                        d.app_version.as_deref().unwrap_or(""),
                    ]
                    .iter()
                    .any(|f| f.to_lowercase().contains(w))
                        || d.reasons.iter().any(|r| r.code.contains(w))
                })
        })
        .collect()
}

/// Queues `command` for `devices` on behalf of the signed-in admin; the flash says what came of it.
async fn queue(
    c: &Console,
    id: &str,
    lang: Lang,
    command: &str,
    devices: Vec<String>,
) -> Result<(), Response> {
    if !DeviceCommand::KNOWN.contains(&command) || devices.is_empty() {
        return Err(c.message(
            StatusCode::BAD_REQUEST,
            lang,
            Some(id),
            &tr(lang, "refused.title"),
            &tr(lang, "cloud.failed").replace("{e}", command),
            "/",
        ));
    }
    let req = CommandRequest {
        command: command.into(),
        argument: None,
        devices,
        site: None,
    };
    match c.cloud.acting_for(&c.user_of(id)).queue_command(&req).await {
        Ok(q) => {
            c.flash(
                id,
                true,
                tr(lang, "command.queued")
                    .replace("{n}", &q.commands.len().to_string())
                    .replace("{c}", &tr(lang, &format!("command.{command}"))),
            );
            Ok(())
        }
        Err(e) => Err(c.cloud_error(lang, id, &e)),
    }
}

async fn bulk_command(State(c): C, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (id, _, _) = match c.may_act(&headers, &form, true) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &None);
    let command = form.get("command").unwrap_or("").to_string();
    // The rows the admin saw: the page's filter and search words, sent with the form (the page
    // script keeps the words and the count in step as the admin types).
    let q: BTreeMap<String, String> = ["site", "status", "version", "reason", "q"]
        .iter()
        .filter_map(|k| form.get(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    let back = format!(
        "/?{}",
        serde_urlencoded::to_string(q.iter().collect::<Vec<_>>()).unwrap_or_default()
    );
    let all = match c.cloud.devices(&FleetFilter::default()).await {
        Ok(d) => d,
        Err(e) => return c.cloud_error(lang, &id, &e),
    };
    let chosen: Vec<String> = select(&all.devices, &q)
        .iter()
        .map(|d| d.device_id.clone())
        .collect();
    let expected: Option<usize> = form.get("expected").and_then(|n| n.parse().ok());
    if expected != Some(chosen.len()) {
        // The fleet changed under the page (a kiosk went offline, paper was loaded): say so
        // rather than send to kiosks the admin did not see.
        c.flash(
            &id,
            false,
            tr(lang, "command.list_changed")
                .replace("{n}", &chosen.len().to_string())
                .replace("{m}", &expected.map(|e| e.to_string()).unwrap_or_default()),
        );
        return see_other(&back);
    }
    match queue(&c, &id, lang, &command, chosen).await {
        Ok(()) => see_other(&back),
        Err(r) => r,
    }
}

/// The kiosk's heartbeats as a small SVG: printer and reader condition bands, the outbox line.
fn history_chart(beats: &[DeviceBeat]) -> String {
    const W: f64 = 900.0;
    let n = beats.len().max(1) as f64;
    let step = W / n;
    let colour = |h: &str| match h {
        "ok" => "#1b8a3a",
        "warning" => "#e69500",
        _ => "#c62828",
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} 170" role="img" aria-label="health history">"##,
        W + 80.0
    );
    svg.push_str(r##"<text x="0" y="24" font-size="12">printer</text><text x="0" y="54" font-size="12">reader</text><text x="0" y="120" font-size="12">outbox</text>"##);
    for (i, b) in beats.iter().enumerate() {
        let x = 80.0 + i as f64 * step;
        svg.push_str(&format!(
            r##"<rect x="{x:.1}" y="10" width="{w:.1}" height="22" fill="{}"/><rect x="{x:.1}" y="40" width="{w:.1}" height="22" fill="{}"/>"##,
            colour(&b.printer),
            colour(&b.card_reader),
            w = step.max(1.0)
        ));
    }
    let max = beats
        .iter()
        .map(|b| b.pending_outbox)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let points: Vec<String> = beats
        .iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                "{:.1},{:.1}",
                80.0 + (i as f64 + 0.5) * step,
                150.0 - 60.0 * b.pending_outbox as f64 / max
            )
        })
        .collect();
    svg.push_str(&format!(
        r##"<line x1="80" y1="150" x2="{}" y2="150" stroke="#ccd"/><polyline fill="none" stroke="#0b5cab" stroke-width="2" points="{}"/><text x="{}" y="92" font-size="11" text-anchor="end">max {max}</text>"##,
        80.0 + W,
        points.join(" "),
        80.0 + W
    ));
    // Times at both ends: digits and separators only (they come from the cloud).
    let clean = |t: &str| -> String {
        t.chars()
            .filter(|c| c.is_ascii_digit() || ":-+T.".contains(*c))
            .take(19)
            .collect()
    };
    if let (Some(first), Some(last)) = (beats.first(), beats.last()) {
        svg.push_str(&format!(
            r##"<text x="80" y="168" font-size="11">{}</text><text x="{}" y="168" font-size="11" text-anchor="end">{}</text>"##,
            clean(&first.at),
            80.0 + W,
            clean(&last.at)
        ));
    }
    svg.push_str("</svg>");
    svg
}

async fn kiosk_page(
    State(c): C,
    headers: HeaderMap,
    Path(device): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let id = match c.need(&headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &raw);
    let detail = match c.cloud.device(&device, 240).await {
        Ok(d) => d,
        Err(CloudError::Problem(p)) if p.status == 404 => {
            return c.message(
                StatusCode::NOT_FOUND,
                lang,
                Some(&id),
                &tr(lang, "refused.title"),
                &tr(lang, "kiosk.not_found"),
                "/",
            )
        }
        Err(e) => return c.cloud_error(lang, &id, &e),
    };
    let reasons: Vec<String> = detail
        .device
        .reasons
        .iter()
        .map(|r| reason_text(lang, r))
        .collect();
    c.render(
        StatusCode::OK,
        "kiosk.html",
        lang,
        Some(&id),
        "fleet",
        context! {
            d => Value::from_serialize(&detail.device),
            last_seen_ago => ago(lang, detail.device.last_seen.as_deref()),
            reasons => reasons,
            chart => history_chart(&detail.beats),
            beats => detail.beats.len(),
            errors => Value::from_serialize(&detail.recent_errors),
            commands => Value::from_serialize(&detail.commands),
            commands_known => DeviceCommand::KNOWN,
        },
    )
}

async fn kiosk_command(
    State(c): C,
    headers: HeaderMap,
    Path(device): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let (id, _, _) = match c.may_act(&headers, &form, true) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &None);
    let command = form.get("command").unwrap_or("").to_string();
    match queue(&c, &id, lang, &command, vec![device.clone()]).await {
        Ok(()) => see_other(&format!("/kiosks/{}", crate::cloud::enc(&device))),
        Err(r) => r,
    }
}

// ---- Rollouts ----

async fn rollouts_page(State(c): C, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let id = match c.need(&headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &raw);
    let everyone = FleetFilter::default();
    let (rollouts, fleet) = match tokio::try_join!(c.cloud.rollouts(), c.cloud.devices(&everyone)) {
        Ok(x) => x,
        Err(e) => return c.cloud_error(lang, &id, &e),
    };
    let repo_releases = match &c.opts.release_repo {
        Some(dir) => match ReleaseRepo::open(dir.clone()) {
            Ok(repo) => repo.releases().await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "console: the release repository cannot be read");
                Vec::new()
            }),
            Err(e) => {
                tracing::error!(error = %e, "console: the release repository cannot be opened");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let buckets: Vec<(String, u8)> = fleet
        .devices
        .iter()
        .map(|d| {
            (
                d.device_id.clone(),
                bianmin_update::device_bucket(&d.device_id),
            )
        })
        .collect();
    let mut versions: BTreeSet<bianmin_update::Version> = repo_releases
        .iter()
        .map(|r| r.info.version.clone())
        .collect();
    versions.extend(
        rollouts
            .releases
            .iter()
            .filter_map(|r| bianmin_update::Version::parse(&r.version).ok()),
    );
    let now = Timestamp::now();
    let views: Vec<Value> = versions
        .iter()
        .rev()
        .map(|v| {
            let seen = rollouts.releases.iter().find(|r| r.version == v.to_string());
            let info = repo_releases.iter().find(|r| &r.info.version == v).map(|r| &r.info);
            let state_of: HashMap<&str, RolloutState> = seen
                .map(|s| s.devices.iter().map(|d| (d.device_id.as_str(), d.state)).collect())
                .unwrap_or_default();
            // Kiosks whose update keeps failing count against the newest release open to them
            // that they have not taken.
            let open = info.filter(|i| !i.paused && !i.revoked).map(|i| i.open_percent(now)).unwrap_or(0);
            let newest_open_to = |device: &str| {
                let bucket = bianmin_update::device_bucket(device);
                repo_releases
                    .iter()
                    .filter(|r| !r.info.paused && !r.info.revoked && bucket < r.info.open_percent(now))
                    .map(|r| &r.info.version)
                    .max()
            };
            let failing: Vec<&RolloutDevice> = rollouts
                .failing
                .iter()
                .filter(|d| open > 0 && !state_of.contains_key(d.device_id.as_str()) && newest_open_to(&d.device_id) == Some(v))
                .collect();
            let failed_ids: BTreeSet<&str> = failing.iter().map(|d| d.device_id.as_str()).collect();
            let mut waves = info.map(|i| i.waves.clone()).unwrap_or_default();
            // A wave widened to a share a later wave already names: one row, the earliest opening.
            waves.sort_by_key(|w| (w.percent, w.opens_at));
            waves.dedup_by_key(|w| w.percent);
            let mut lower = 0u8;
            let wave_rows: Vec<Value> = waves
                .iter()
                .map(|w| {
                    let inside: Vec<&str> = buckets
                        .iter()
                        .filter(|(_, b)| *b >= lower && *b < w.percent.min(100).max(lower))
                        .map(|(d, _)| d.as_str())
                        .collect();
                    lower = lower.max(w.percent.min(100));
                    let count = |s| inside.iter().filter(|d| state_of.get(*d) == Some(&s)).count();
                    let (applied, pending, rolled) = (
                        count(RolloutState::Applied),
                        count(RolloutState::Pending),
                        count(RolloutState::RolledBack),
                    );
                    let failed = inside.iter().filter(|d| failed_ids.contains(*d)).count();
                    context! {
                        percent => w.percent,
                        opens_at => crate::time::short_time(&w.opens_at.to_string()),
                        open => w.opens_at <= now,
                        kiosks => inside.len(),
                        applied => applied, pending => pending, rolled_back => rolled, failed => failed,
                        not_yet => inside.len().saturating_sub(applied + pending + rolled + failed),
                    }
                })
                .collect();
            let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
            for d in seen
                .map(|s| s.devices.iter().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .chain(failing.iter().copied())
            {
                if let Some(r) = &d.reason {
                    *reasons.entry(r.clone()).or_default() += 1;
                }
            }
            context! {
                version => v.to_string(),
                in_repo => info.is_some(),
                paused => info.is_some_and(|i| i.paused),
                revoked => info.is_some_and(|i| i.revoked),
                open_percent => info.map(|i| i.open_percent(now)).unwrap_or(0),
                waves => wave_rows,
                applied => seen.map(|s| s.applied).unwrap_or(0),
                pending => seen.map(|s| s.pending).unwrap_or(0),
                rolled_back => seen.map(|s| s.rolled_back).unwrap_or(0),
                failed => failing.len(),
                reasons => reasons.into_iter().map(|(reason, count)| context! { reason, count }).collect::<Vec<_>>(),
            }
        })
        .collect();
    c.render(
        StatusCode::OK,
        "rollouts.html",
        lang,
        Some(&id),
        "rollouts",
        context! {
            releases => views,
            reporting => rollouts.reporting,
            total => fleet.total,
            repo => c.opts.release_repo.is_some(),
            keys => c.opts.release_keys.is_some(),
        },
    )
}

async fn rollout_action(
    State(c): C,
    headers: HeaderMap,
    Path((version, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let (id, user, _) = match c.may_act(&headers, &form, true) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &None);
    let fail = |e: String| {
        c.flash(
            &id,
            false,
            tr(lang, "rollouts.failed_action").replace("{e}", &e),
        );
        see_other("/rollouts")
    };
    let (Some(repo), Some(keys)) = (&c.opts.release_repo, &c.opts.release_keys) else {
        return fail(tr(lang, "rollouts.no_keys"));
    };
    let Ok(v) = bianmin_update::Version::parse(&version) else {
        return fail(format!("{version:?} is not a version"));
    };
    let percent: Option<u8> = form.get("percent").and_then(|p| p.parse().ok());
    let did = match (action.as_str(), percent) {
        ("pause", _) => tr(lang, "rollouts.did.pause"),
        ("resume", _) => tr(lang, "rollouts.did.resume"),
        ("widen", Some(p)) if (1..=100).contains(&p) => {
            tr(lang, "rollouts.did.widen").replace("{n}", &p.to_string())
        }
        _ => return fail(format!("{action} {}", form.get("percent").unwrap_or(""))),
    };
    let result = async {
        let repo = ReleaseRepo::open(repo.clone())?;
        let keys = KeysDir::open(keys.clone())?;
        repo.update_release(&keys, &v, &Expiries::default(), |r| match action.as_str() {
            "pause" => r.paused = true,
            "resume" => r.paused = false,
            _ => r.waves.push(Wave {
                percent: percent.unwrap_or(100),
                opens_at: Timestamp::now(),
            }),
        })
        .await
    }
    .await;
    match result {
        Ok(_) => {
            tracing::info!(user = %user, release = %v, action = %action, "console: rollout changed");
            // The cloud's audit trail holds what was done to the repository too.
            let note = AuditNote {
                action: format!("release {action}"),
                target: v.to_string(),
                detail: percent
                    .filter(|_| action == "widen")
                    .map(|p| format!("{p} %")),
            };
            if let Err(e) = c.cloud.acting_for(&user).note_audit(&note).await {
                tracing::warn!(error = %e, "console: the rollout change is not in the cloud's audit trail");
            }
            c.flash(
                &id,
                true,
                tr(lang, "rollouts.done")
                    .replace("{v}", &v.to_string())
                    .replace("{what}", &did),
            );
            see_other("/rollouts")
        }
        Err(e) => fail(e.to_string()),
    }
}

// ---- Catalogue and notices ----

fn draft_of(catalog: &Catalog) -> CatalogDraft {
    CatalogDraft {
        services: catalog.services.clone(),
        notices: catalog.notices.clone(),
    }
}

async fn catalog_page(State(c): C, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let id = match c.need(&headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &raw);
    let state = match c.cloud.catalog().await {
        Ok(s) => s,
        Err(e) => return c.cloud_error(lang, &id, &e),
    };
    let pending = c
        .with_session(&id, |s| s.draft.as_ref().map(|(d, _, n)| (d.clone(), *n)))
        .flatten();
    let (draft, preview) = match pending {
        Some((d, n)) => (d, Some(n)),
        None => (draft_of(&state.catalog), None),
    };
    let mut notices = draft.notices.clone();
    // One blank notice to add.
    notices.push(Notice {
        id: String::new(),
        title: Text::new("", ""),
        body: Text::new("", ""),
        service: None,
    });
    c.render(
        StatusCode::OK,
        "catalog.html",
        lang,
        Some(&id),
        "catalog",
        context! {
            state => Value::from_serialize(&state),
            draft => Value::from_serialize(&draft),
            notices => Value::from_serialize(&notices),
            preview => preview,
        },
    )
}

/// Characters of the draft the kiosk's screen font does not have: Slint draws nothing for a
/// missing glyph, so a resident would see a gap where the admin typed a character.
fn missing_glyphs(draft: &CatalogDraft) -> Vec<char> {
    static FONT: std::sync::OnceLock<bianmin_printer::PreviewFonts> = std::sync::OnceLock::new();
    let font = FONT.get_or_init(|| {
        let mut f = bianmin_printer::PreviewFonts::new();
        // The screen's subset (the bold face has the same characters).
        let _ = f.push_static(crate::printing::EMBEDDED_FONT);
        f
    });
    let texts = draft
        .services
        .iter()
        .flat_map(|s| [&s.name.zh, &s.name.en])
        .chain(
            draft
                .notices
                .iter()
                .flat_map(|n| [&n.title.zh, &n.title.en, &n.body.zh, &n.body.en]),
        );
    let mut missing: Vec<char> = texts
        .flat_map(|t| t.chars())
        .filter(|c| !font.covers(*c))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// The catalogue the form describes, over the one in force (its services' order and codes).
fn draft_from_form(current: &Catalog, form: &Form) -> Result<CatalogDraft, String> {
    let services = current
        .services
        .iter()
        .map(|s| CatalogService {
            code: s.code.clone(),
            name: Text::new(
                form.get(&format!("zh.{}", s.code))
                    .unwrap_or(&s.name.zh)
                    .trim(),
                form.get(&format!("en.{}", s.code))
                    .unwrap_or(&s.name.en)
                    .trim(),
            ),
            enabled: form.get(&format!("enabled.{}", s.code)).is_some(),
            requires_identity: s.requires_identity,
        })
        .collect();
    // Notices in the order the form lists them (a page script may have moved one up).
    let mut order: Vec<&str> = Vec::new();
    for (k, _) in &form.0 {
        if let Some(i) = k.strip_prefix("notice.").and_then(|r| r.split('.').next()) {
            if !order.contains(&i) {
                order.push(i);
            }
        }
    }
    let mut notices = Vec::new();
    for (n, i) in order.into_iter().enumerate() {
        let f = |k: &str| form.get(&format!("notice.{i}.{k}")).map(str::trim);
        let Some(id) = f("id") else { continue };
        let (tz, te) = (f("title_zh").unwrap_or(""), f("title_en").unwrap_or(""));
        if tz.is_empty() && te.is_empty() {
            continue;
        }
        let (bz, be) = (f("body_zh").unwrap_or(""), f("body_en").unwrap_or(""));
        if tz.is_empty() || te.is_empty() || bz.is_empty() || be.is_empty() {
            return Err(format!(
                "notice {}: a title and a text in both languages",
                n + 1
            ));
        }
        notices.push(Notice {
            id: if id.is_empty() {
                format!(
                    "n-{}-{}",
                    crate::time::now().format("%Y%m%d"),
                    &uuid::Uuid::new_v4().simple().to_string()[..6]
                )
            } else {
                id.to_string()
            },
            title: Text::new(tz, te),
            body: Text::new(bz, be),
            service: f("service").filter(|s| !s.is_empty()).map(str::to_string),
        });
    }
    Ok(CatalogDraft { services, notices })
}

/// A folder for one preview, removed when done.
struct PreviewDir(PathBuf);

impl PreviewDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for PreviewDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The kiosk home page with `draft`, drawn by the kiosk's own renderer (`bianmin screenshot
/// --catalog`), as PNG bytes.
async fn preview_png(c: &Console, draft: &CatalogDraft, lang: Lang) -> Result<Vec<u8>, String> {
    let work = PreviewDir(
        c.opts
            .data_dir
            .join(format!("preview-{}", uuid::Uuid::new_v4().simple())),
    );
    std::fs::create_dir_all(work.path()).map_err(|e| e.to_string())?;
    let catalog = Catalog {
        version: "preview".into(),
        services: draft.services.clone(),
        notices: draft.notices.clone(),
    };
    let file = work.path().join("catalog.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&catalog).expect("catalogues serialise"),
    )
    .map_err(|e| e.to_string())?;
    let png = work.path().join("home.png");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let run = tokio::process::Command::new(exe)
        .args(["--data-dir", &work.path().join("kiosk").to_string_lossy()])
        .args(["screenshot", "--page", "home", "--lang", lang.code()])
        .arg("--catalog")
        .arg(&file)
        .arg("--out")
        .arg(&png)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .map_err(|_| "the renderer took longer than a minute".to_string())?
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err
            .lines()
            .last()
            .unwrap_or("the renderer failed")
            .to_string());
    }
    std::fs::read(&png).map_err(|e| e.to_string())
}

async fn catalog_post(State(c): C, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (id, user, _) = match c.may_act(&headers, &form, true) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &None);
    let current = match c.cloud.catalog().await {
        Ok(s) => s.catalog,
        Err(e) => return c.cloud_error(lang, &id, &e),
    };
    let draft = match draft_from_form(&current, &form) {
        Ok(d) => d,
        Err(e) => {
            c.flash(&id, false, tr(lang, "catalog.invalid").replace("{e}", &e));
            return see_other("/catalog");
        }
    };
    let missing = missing_glyphs(&draft);
    if !missing.is_empty() {
        let chars: String = missing.iter().flat_map(|c| [*c, ' ']).collect();
        c.flash(
            &id,
            false,
            tr(lang, "catalog.missing_glyphs").replace("{c}", chars.trim_end()),
        );
        return see_other("/catalog");
    }
    if form.get("action") == Some("preview") {
        match preview_png(&c, &draft, lang).await {
            Ok(png) => {
                let n = Instant::now().elapsed().as_nanos() as u64 ^ rand::random::<u64>();
                c.with_session(&id, |s| s.draft = Some((draft, png, n)));
            }
            Err(e) => c.flash(
                &id,
                false,
                tr(lang, "catalog.preview_failed").replace("{e}", &e),
            ),
        }
        return see_other("/catalog");
    }
    match c.cloud.acting_for(&user).publish_catalog(&draft).await {
        Ok(state) => {
            tracing::info!(user = %user, version = %state.catalog.version, "console: catalogue published");
            c.with_session(&id, |s| s.draft = None);
            c.flash(
                &id,
                true,
                tr(lang, "catalog.published").replace("{v}", &state.catalog.version),
            );
        }
        Err(CloudError::Problem(p)) if p.status < 500 => {
            c.flash(
                &id,
                false,
                tr(lang, "catalog.invalid").replace("{e}", &p.title),
            );
        }
        Err(e) => return c.cloud_error(lang, &id, &e),
    }
    see_other("/catalog")
}

async fn catalog_preview(State(c): C, headers: HeaderMap) -> Response {
    let id = match c.session(&headers) {
        Some(id) => id,
        None => return StatusCode::UNAUTHORIZED.into_response(),
    };
    match c
        .with_session(&id, |s| s.draft.as_ref().map(|(_, png, _)| png.clone()))
        .flatten()
    {
        Some(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// ---- Audit ----

async fn audit_page(State(c): C, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let id = match c.need(&headers) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let lang = c.lang(&headers, &raw);
    let trail = match c.cloud.audit(200).await {
        Ok(t) => t,
        Err(e) => return c.cloud_error(lang, &id, &e),
    };
    let sign_ins = {
        let c = c.clone();
        tokio::task::spawn_blocking(move || {
            c.accounts
                .lock()
                .expect("accounts lock")
                .sign_ins(50)
                .unwrap_or_default()
        })
        .await
        .unwrap_or_default()
    };
    c.render(
        StatusCode::OK,
        "audit.html",
        lang,
        Some(&id),
        "audit",
        context! { entries => Value::from_serialize(&trail.entries), sign_ins => sign_ins },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_several() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; bianmin_console=abc; bianmin_lang=en"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, LANG_COOKIE), Some("en"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abcd", "abce"));
        assert!(!same("abc", "abcd"));
        assert_eq!(random_token().len(), 64);
        assert_ne!(random_token(), random_token());
    }

    #[cfg(feature = "sim")]
    #[test]
    fn the_form_builds_a_catalogue_and_refuses_half_notices() {
        let current = crate::cloud_sim::seed_catalog();
        let form = |pairs: &[(&str, &str)]| {
            Form(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let f = form(&[
            ("enabled.social_insurance", "on"),
            ("zh.social_insurance", "社保查询打印"),
            ("notice.0.id", ""),
            ("notice.0.title_zh", "停电通知"),
            ("notice.0.title_en", "Power cut"),
            ("notice.0.body_zh", "周六上午停电。"),
            ("notice.0.body_en", "No power on Saturday morning."),
            ("notice.0.service", ""),
            ("notice.1.id", ""),
        ]);
        let d = draft_from_form(&current, &f).unwrap();
        assert_eq!(d.services.len(), current.services.len());
        assert!(d.services[0].enabled && d.services[0].name.zh == "社保查询打印");
        assert!(d.services[1..].iter().all(|s| !s.enabled));
        assert_eq!(d.notices.len(), 1);
        assert!(d.notices[0].id.starts_with("n-"));
        let half = form(&[("notice.0.id", ""), ("notice.0.title_zh", "只有中文标题")]);
        assert!(draft_from_form(&current, &half).is_err());
    }

    #[test]
    fn characters_the_kiosk_cannot_draw_are_found() {
        let draft = |zh: &str| CatalogDraft {
            services: vec![CatalogService {
                code: "reports".into(),
                name: Text::new(zh, "Reports"),
                enabled: true,
                requires_identity: false,
            }],
            notices: Vec::new(),
        };
        assert!(missing_glyphs(&draft("诉求·隐患上报")).is_empty());
        // A rare character outside the subset, and an emoji.
        assert_eq!(missing_glyphs(&draft("上报𠀀😀上报")), vec!['😀', '𠀀']);
    }

    #[test]
    fn the_chart_carries_no_markup_from_the_cloud() {
        let beat = |at: &str| DeviceBeat {
            at: at.into(),
            late: false,
            printer: "ok".into(),
            card_reader: "error".into(),
            pending_outbox: 2,
            printer_state: None,
        };
        let svg = history_chart(&[
            beat("2026-12-07T10:00:00+08:00"),
            beat("<script>x</script>"),
        ]);
        assert!(!svg.contains("<script"));
        assert!(svg.contains("#c62828") && svg.contains("#1b8a3a"));
    }
}
