//! The cloud's admin side: what the fleet console and `bianmin fleet` read and do, with an
//! admin credential (never a device token). Wire types and a small typed client.
//!
//! Nothing here is about residents: devices, their health, commands, the catalogue, releases
//! and the audit of what admins did.

use super::api::{Catalog, CatalogService, Notice, Site};
use super::client::read_answer;
use super::CloudError;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What an admin credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Reads everything admins read; changes nothing.
    Viewer,
    /// Also queues commands, publishes the catalogue and notices.
    Operator,
}

impl AdminRole {
    pub fn may_act(self) -> bool {
        self == AdminRole::Operator
    }

    pub fn code(self) -> &'static str {
        match self {
            AdminRole::Viewer => "viewer",
            AdminRole::Operator => "operator",
        }
    }
}

impl std::str::FromStr for AdminRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "viewer" => Ok(AdminRole::Viewer),
            "operator" => Ok(AdminRole::Operator),
            other => Err(format!("unknown role {other:?} (viewer or operator)")),
        }
    }
}

/// A kiosk at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetStatus {
    /// Heard from recently, nothing needs a visit.
    Ok,
    /// Heard from, but something needs looking at (see its reasons).
    Attention,
    /// Not heard from for longer than three heartbeat intervals (or never).
    Offline,
}

impl FleetStatus {
    pub fn code(self) -> &'static str {
        match self {
            FleetStatus::Ok => "ok",
            FleetStatus::Attention => "attention",
            FleetStatus::Offline => "offline",
        }
    }
}

/// Why a kiosk needs attention: a machine code (`printer_paper_out`, `outbox_stuck`…) and, for
/// the codes that carry one, a figure (minutes the outbox has waited, the clock's offset in
/// seconds, free megabytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionReason {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
}

impl AttentionReason {
    pub const OFFLINE: &'static str = "offline";
    pub const NEVER_SEEN: &'static str = "never_seen";
    pub const PAPER_NEAR_END: &'static str = "printer_paper_near_end";
    pub const PAPER_OUT: &'static str = "printer_paper_out";
    pub const COVER_OPEN: &'static str = "printer_cover_open";
    pub const CUTTER_ERROR: &'static str = "printer_cutter_error";
    pub const PRINTER_OFFLINE: &'static str = "printer_offline";
    pub const READER_LOST: &'static str = "reader_lost";
    pub const READER_ERROR: &'static str = "reader_error";
    pub const OUTBOX_STUCK: &'static str = "outbox_stuck";
    pub const CLOCK_OFF: &'static str = "clock_off";
    pub const DISK_LOW: &'static str = "disk_low";
    pub const AUDIO_ERROR: &'static str = "audio_error";
    pub const ROLLED_BACK: &'static str = "update_rolled_back";

    pub fn new(code: &str, value: Option<i64>) -> Self {
        AttentionReason {
            code: code.into(),
            value,
        }
    }
}

/// One kiosk in the fleet list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetDevice {
    pub device_id: String,
    pub serial: Option<String>,
    pub model: Option<String>,
    /// The service hall the kiosk stands in (its id), and the community's name.
    pub site: String,
    #[serde(default)]
    pub site_name: Option<String>,
    pub app_version: Option<String>,
    pub last_seen: Option<String>,
    pub status: FleetStatus,
    /// Empty when the status is ok.
    pub reasons: Vec<AttentionReason>,
    /// The printer's last reported state (`ready`, `paper_out`…), when reported.
    pub printer_state: Option<String>,
    pub pending_outbox: Option<i64>,
    pub pending_commands: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetDevices {
    pub devices: Vec<FleetDevice>,
    /// The devices the cloud knows before the filter.
    pub total: usize,
}

/// A filter on the fleet list (every field optional; all given must match).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FleetFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FleetStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kiosks with this attention reason (e.g. `printer_paper_out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One heartbeat in a kiosk's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceBeat {
    pub at: String,
    pub late: bool,
    pub printer: String,
    pub card_reader: String,
    pub pending_outbox: i64,
    pub printer_state: Option<String>,
}

/// A command queued for a kiosk, and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandRecord {
    pub id: String,
    pub device_id: String,
    pub command: String,
    pub argument: Option<String>,
    pub issued_at: String,
    /// Who queued it (the admin credential's name, and the console user when there is one).
    pub issued_by: Option<String>,
    /// How many heartbeat answers have offered it.
    pub offered: i64,
    pub acked_at: Option<String>,
    /// `done`, `failed` or `refused` once acknowledged.
    pub result: Option<String>,
    pub detail: Option<String>,
}

/// An error code a kiosk reported, how often, and when last.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorCount {
    pub code: String,
    pub count: u32,
    pub last_at: String,
}

/// One kiosk in detail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceDetail {
    pub device: FleetDevice,
    /// Its heartbeats, oldest first (at most the last `beats` asked for).
    pub beats: Vec<DeviceBeat>,
    pub commands: Vec<CommandRecord>,
    pub recent_errors: Vec<ErrorCount>,
    /// Its last detailed health report, as the kiosk sent it.
    pub health: Option<serde_json::Value>,
}

/// Queue one command for some kiosks: those listed, or every kiosk of a site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedCommand {
    pub id: String,
    pub device_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandsQueued {
    pub commands: Vec<QueuedCommand>,
}

/// A catalogue to publish: the cloud gives it the next version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDraft {
    pub services: Vec<CatalogService>,
    pub notices: Vec<Notice>,
}

/// The catalogue now in force and the versions before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogState {
    pub catalog: Catalog,
    pub published_at: Option<String>,
    pub published_by: Option<String>,
    /// Earlier versions, newest first (at most 20).
    pub history: Vec<CatalogVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogVersion {
    pub version: String,
    pub published_at: String,
    pub published_by: String,
}

/// Where one kiosk stands with one release, from its heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    /// Runs it (and kept it past its trial).
    Applied,
    /// Has it staged, or is on trial with it.
    Pending,
    /// Took it and went back automatically.
    RolledBack,
    /// Could not take it (its last update check or download failed).
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RolloutDevice {
    pub device_id: String,
    pub state: RolloutState,
    /// Why it rolled back or failed.
    pub reason: Option<String>,
}

/// One release across the fleet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseRollout {
    pub version: String,
    pub applied: usize,
    pub pending: usize,
    pub rolled_back: usize,
    pub failed: usize,
    pub devices: Vec<RolloutDevice>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rollouts {
    /// Kiosks reporting update status (the rest take no updates or never said).
    pub reporting: usize,
    pub releases: Vec<ReleaseRollout>,
    /// Kiosks whose last update check or download failed (state `failed`, the error as the
    /// reason). A kiosk does not say which release it was after: the console counts them
    /// against the newest release whose open waves reach them.
    #[serde(default)]
    pub failing: Vec<RolloutDevice>,
}

/// Something an admin did, as the cloud recorded it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub who: String,
    pub action: String,
    pub target: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditTrail {
    pub entries: Vec<AuditEntry>,
}

/// An action taken elsewhere (a release paused by the console with the release keys) that the
/// cloud's audit trail should hold too.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditNote {
    pub action: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// "Can this kiosk do it?" — the public answer per site, for residents (nothing about them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicSite {
    pub site: Site,
    pub updated_at: String,
    pub kiosks: Vec<PublicKiosk>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicKiosk {
    pub kiosk: String,
    /// `available`, `limited` (works, but cannot do everything) or `offline`.
    pub state: String,
    pub can_print: bool,
    pub paper_out: bool,
    pub can_read_cards: bool,
    /// The services a resident can carry out there now.
    pub services: Vec<String>,
    pub last_seen: Option<String>,
}

/// A typed client for the admin endpoints.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: zeroize::Zeroizing<String>,
    timeout: Duration,
    /// The console's signed-in admin, recorded with what they do (`X-Admin-User`).
    acting_for: Option<String>,
}

impl AdminClient {
    pub fn new(base: &str, token: &str, timeout: Duration) -> Result<Self, CloudError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .timeout(timeout)
            .user_agent(concat!("bianmin-fleet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CloudError::Unreachable(e.to_string()))?;
        Ok(AdminClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: zeroize::Zeroizing::new(token.to_string()),
            timeout,
            acting_for: None,
        })
    }

    /// The same client, recording `user` as the admin who acts.
    pub fn acting_for(&self, user: &str) -> AdminClient {
        AdminClient {
            acting_for: Some(user.to_string()),
            ..self.clone()
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, CloudError> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(self.token.as_str());
        if let Some(user) = &self.acting_for {
            req = req.header("X-Admin-User", user);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", uuid::Uuid::new_v4().simple().to_string())
                .body(b);
        }
        read_answer(req, self.timeout)
            .await
            .map(|(_, t)| t)
            .map_err(|(_, e)| e)
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, CloudError> {
        let json = serde_json::to_vec(body).expect("admin requests serialise");
        self.call(method, path, Some(json)).await
    }

    pub async fn devices(&self, filter: &FleetFilter) -> Result<FleetDevices, CloudError> {
        let q = serde_urlencoded_query(filter);
        self.call(Method::GET, &format!("/v1/admin/devices{q}"), None)
            .await
    }

    pub async fn device(&self, id: &str, beats: usize) -> Result<DeviceDetail, CloudError> {
        self.call(
            Method::GET,
            &format!("/v1/admin/devices/{}?beats={beats}", super::client::enc(id)),
            None,
        )
        .await
    }

    pub async fn queue_command(&self, req: &CommandRequest) -> Result<CommandsQueued, CloudError> {
        self.send(Method::POST, "/v1/admin/commands", req).await
    }

    pub async fn catalog(&self) -> Result<CatalogState, CloudError> {
        self.call(Method::GET, "/v1/admin/catalog", None).await
    }

    pub async fn publish_catalog(&self, draft: &CatalogDraft) -> Result<CatalogState, CloudError> {
        self.send(Method::POST, "/v1/admin/catalog", draft).await
    }

    pub async fn rollouts(&self) -> Result<Rollouts, CloudError> {
        self.call(Method::GET, "/v1/admin/rollouts", None).await
    }

    pub async fn audit(&self, limit: usize) -> Result<AuditTrail, CloudError> {
        self.call(Method::GET, &format!("/v1/admin/audit?limit={limit}"), None)
            .await
    }

    pub async fn note_audit(&self, note: &AuditNote) -> Result<AuditEntry, CloudError> {
        self.send(Method::POST, "/v1/admin/audit", note).await
    }

    /// Who this credential is, as the cloud sees it.
    pub async fn whoami(&self) -> Result<AdminIdentity, CloudError> {
        self.call(Method::GET, "/v1/admin/whoami", None).await
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminIdentity {
    pub name: String,
    pub role: AdminRole,
}

/// `?a=b&c=d` for the fields set, or nothing.
fn serde_urlencoded_query<T: Serialize>(q: &T) -> String {
    let value = serde_json::to_value(q).expect("queries serialise");
    let pairs: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={}", super::client::enc(v))))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_queries_with_only_the_fields_set() {
        assert_eq!(serde_urlencoded_query(&FleetFilter::default()), "");
        let f = FleetFilter {
            site: Some("hall 1".into()),
            status: Some(FleetStatus::Attention),
            version: None,
            reason: Some(AttentionReason::PAPER_OUT.into()),
        };
        assert_eq!(
            serde_urlencoded_query(&f),
            "?reason=printer_paper_out&site=hall%201&status=attention"
        );
    }
}
