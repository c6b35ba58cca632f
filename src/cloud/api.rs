//! The government cloud API v1 wire types (docs/openapi.yaml is the contract; ARCHITECTURE.md
//! fixes the names). Shared by the client and the simulator so the two cannot drift apart.
//! Times are RFC 3339 strings in +08:00; money is integer fen.

use serde::{Deserialize, Serialize};

/// JSON Schema counts `6.0` as an integer; accept whole-valued floats wherever the contract
/// says integer, and refuse fractions and out-of-range values.
pub mod lenient {
    use serde::{de::Error, Deserialize, Deserializer};

    fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        let v = serde_json::Number::deserialize(d)?;
        if let Some(i) = v.as_i64() {
            return Ok(i128::from(i));
        }
        if let Some(u) = v.as_u64() {
            return Ok(i128::from(u));
        }
        match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i128),
            _ => Err(D::Error::custom(format!("expected an integer, got {v}"))),
        }
    }

    macro_rules! int {
        ($name:ident, $t:ty) => {
            pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let v = whole(d)?;
                <$t>::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
            }
        };
    }
    int!(u8, u8);
    int!(u32, u32);
    int!(u64, u64);
    int!(i64, i64);
}

/// A bilingual label as the cloud sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: &str, en: &str) -> Self {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }
    pub fn get(&self, lang: crate::Lang) -> &str {
        match lang {
            crate::Lang::Zh => &self.zh,
            crate::Lang::En => &self.en,
        }
    }
}

/// RFC 9457 problem details; `code` is the machine-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default = "about_blank")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn about_blank() -> String {
    "about:blank".into()
}

// ---- Device ----

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub enrollment_code: String,
    pub serial: String,
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub street_office: String,
    pub community: String,
    /// The community's name in English, when the cloud gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_en: Option<String>,
    pub hall_id: String,
    pub address: String,
}

impl Site {
    /// The community's name in the resident's language (Chinese when there is no English).
    pub fn community_in(&self, lang: crate::Lang) -> &str {
        match (lang, &self.community_en) {
            (crate::Lang::En, Some(en)) => en,
            _ => &self.community,
        }
    }

    /// The contract's example site (docs/openapi.yaml): receipt samples, tests and the simulator.
    pub fn example() -> Site {
        Site {
            street_office: "成华区建设路街道办事处".into(),
            community: "建设南路社区".into(),
            community_en: Some("Jianshe South Road Community".into()),
            hall_id: "chenghua-jianshelu".into(),
            address: "成都市成华区建设南路18号 便民服务中心".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub device_token: String,
    pub site: Site,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    pub app_version: String,
    #[serde(deserialize_with = "lenient::u64")]
    pub uptime_s: u64,
    /// Device health by device family: `ok`, `warning` or `error`.
    pub printer: String,
    pub card_reader: String,
    #[serde(deserialize_with = "lenient::u32")]
    pub pending_outbox: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub server_time: String,
    pub commands: Vec<DeviceCommand>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCommand {
    pub command: String,
    #[serde(default)]
    pub argument: Option<String>,
}

pub const SERVICE_CODES: [&str; 8] = [
    "social_insurance",
    "medical_insurance",
    "housing_fund",
    "utility_bills",
    "household",
    "queue_and_cases",
    "reports",
    "assistance",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogService {
    pub code: String,
    pub name: Text,
    pub enabled: bool,
    pub requires_identity: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub title: Text,
    pub body: Text,
    /// The service the notice sends residents to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub version: String,
    pub services: Vec<CatalogService>,
    pub notices: Vec<Notice>,
}

// ---- Identity ----

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySessionRequest {
    pub card_type: String,
    pub id_number: String,
    pub name: String,
    /// `YYYY-MM-DD` or `long-term`.
    pub valid_to: String,
}

impl Drop for IdentitySessionRequest {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.id_number.zeroize();
        self.name.zeroize();
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentSummary {
    pub name_masked: String,
    pub id_masked: String,
    pub age: u32,
    pub elderly: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentitySession {
    pub session_token: String,
    /// Names the session in answers that belong to it (documents say whose session asked).
    pub session_id: String,
    pub expires_at: String,
    pub resident: ResidentSummary,
}

// ---- 1 社保 ----

/// The five 险种 of social insurance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    Pension,
    Medical,
    Unemployment,
    WorkInjury,
    Maternity,
}

impl Scheme {
    pub const ALL: [Scheme; 5] = [
        Scheme::Pension,
        Scheme::Medical,
        Scheme::Unemployment,
        Scheme::WorkInjury,
        Scheme::Maternity,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Scheme::Pension => "pension",
            Scheme::Medical => "medical",
            Scheme::Unemployment => "unemployment",
            Scheme::WorkInjury => "work_injury",
            Scheme::Maternity => "maternity",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Scheme::Pension => "养老",
            Scheme::Medical => "医疗",
            Scheme::Unemployment => "失业",
            Scheme::WorkInjury => "工伤",
            Scheme::Maternity => "生育",
        }
    }
}

/// Where a resident stands in one 险种.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemeStatus {
    /// 正常参保 (paying now).
    Contributing,
    /// 暂停缴费 (insured, not paying now).
    Suspended,
    /// 已退休 (drawing a pension).
    Retired,
    /// 未参保.
    NotInsured,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeStanding {
    pub scheme: Scheme,
    pub status: SchemeStatus,
}

/// Months without a contribution between the first and the last one (断缴).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthSpan {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SocialInsuranceSummary {
    pub status: SchemeStatus,
    pub insured_since: String,
    pub employer: String,
    /// 参保地 (the insuring district).
    pub insured_place: String,
    pub contribution_months: u32,
    pub last_paid_month: String,
    pub monthly_base_fen: i64,
    /// The personal (pension) account balance.
    pub pension_account_fen: i64,
    pub schemes: Vec<SchemeStanding>,
    pub gaps: Vec<MonthSpan>,
}

/// One month of one 险种.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionRecord {
    pub month: String,
    pub scheme: Scheme,
    pub employer: String,
    pub base_fen: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContributionRecords {
    pub records: Vec<ContributionRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// 参保证明 (which 险种, since when, through whom).
    Participation,
    /// 缴费证明 (month by month).
    Contribution,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateRequest {
    pub kind: CertificateKind,
    pub from: String,
    pub to: String,
}

/// What kind of paper the cloud issued (the verification answer names it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    SocialInsuranceCertificate,
    MedicalStatement,
    HousingFundProof,
}

/// Whose paper it is, as the cloud issued it. The name is in full: the document names its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentHolder {
    pub name: String,
    pub name_masked: String,
    pub id_masked: String,
}

impl Drop for DocumentHolder {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.name.zeroize();
    }
}

/// A table on a document (the period's months, a statement's transactions), already compressed
/// by the cloud when long.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentTable {
    pub columns: Vec<Text>,
    pub rows: Vec<Vec<String>>,
    /// A total line under the rows (as many cells as columns), when the table has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Vec<String>>,
}

/// Every certificate, statement and proof the cloud issues. It names its holder, and the
/// request (`request_id`, the Idempotency-Key) and session (`session_id`) it answers: the
/// kiosk prints it only for that session and that request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Certificate {
    pub certificate_no: String,
    pub kind: DocumentKind,
    pub verify_code: String,
    /// `…/v1/certificates/{certificate_no}?verify_code=CODE`, ASCII, for the printed QR.
    pub verify_url: String,
    pub title: Text,
    pub holder: DocumentHolder,
    pub request_id: String,
    pub session_id: String,
    pub issued_at: String,
    pub valid_until: String,
    pub lines: Vec<CertificateLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<DocumentTable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateLine {
    pub label: Text,
    pub value: String,
}

/// The public answer to "is this paper genuine?" (`GET /v1/certificates/{no}?verify_code=`).
/// A wrong code answers `valid: false` and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateVerification {
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_name_masked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_id_masked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

// ---- 2 医保 ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedicalInsuredType {
    /// 职工医保.
    Employee,
    /// 职工医保 (退休).
    RetiredEmployee,
    /// 城乡居民医保.
    Resident,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MedicalAccount {
    /// `active` or `suspended`.
    pub status: String,
    pub insured_type: MedicalInsuredType,
    pub insured_place: String,
    pub balance_fen: i64,
    pub year_credited_fen: i64,
    pub year_spent_fen: i64,
    /// This year's outpatient pool (门诊统筹): used and the year's limit.
    pub outpatient_pool_used_fen: i64,
    pub outpatient_pool_limit_fen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedicalKind {
    Outpatient,
    Inpatient,
    Pharmacy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedicalTransaction {
    pub time: String,
    pub institution: String,
    pub kind: MedicalKind,
    pub total_fen: i64,
    pub fund_paid_fen: i64,
    pub self_paid_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MedicalTransactions {
    pub transactions: Vec<MedicalTransaction>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    pub from: String,
    pub to: String,
}

// ---- 3 公积金 ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HousingFundStatus {
    /// 正常缴存.
    Normal,
    /// 封存 (no employer paying in now).
    Sealed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HousingFundAccount {
    pub account_no_masked: String,
    pub status: HousingFundStatus,
    pub employer: String,
    pub balance_fen: i64,
    /// Personal + employer.
    pub monthly_deposit_fen: i64,
    pub personal_deposit_fen: i64,
    pub employer_deposit_fen: i64,
    pub base_fen: i64,
    pub last_deposit_month: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofPurpose {
    Loan,
    Rental,
    Transfer,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositProofRequest {
    pub purpose: ProofPurpose,
}

// ---- 4 缴费 ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bill {
    pub bill_id: String,
    pub period: String,
    pub amount_fen: i64,
    pub due_date: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BillList {
    pub utility: String,
    pub account: String,
    pub holder_masked: String,
    pub address: String,
    pub bills: Vec<Bill>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    pub bill_ids: Vec<String>,
    #[serde(deserialize_with = "lenient::i64")]
    pub amount_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: String,
    pub status: String,
    pub amount_fen: i64,
    pub qr_payload: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
}

// ---- 5 居住证/户籍 ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HouseholdCertificateType {
    pub code: String,
    pub name: Text,
    pub materials: Vec<Text>,
    pub fee_fen: i64,
    pub processing_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HouseholdCertificateTypes {
    pub types: Vec<HouseholdCertificateType>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdApplicationRequest {
    #[serde(rename = "type")]
    pub type_: String,
    pub phone: String,
    pub address: String,
}

/// What every application, report and assistance request returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseReceipt {
    pub case_no: String,
    pub query_code: String,
}

// ---- 6 取号·办件 ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallQueue {
    pub business: String,
    pub name: Text,
    pub waiting: u32,
    pub estimated_wait_min: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Normal,
    /// Residents aged 60 and over, verified through an identity session.
    Elderly,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueTicketRequest {
    pub hall_id: String,
    pub business: String,
    pub priority: Priority,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueTicket {
    pub ticket_no: String,
    pub business: String,
    pub waiting_ahead: u32,
    pub estimated_wait_min: u32,
    pub issued_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Received,
    Accepted,
    Reviewing,
    Special,
    Completed,
    Delivered,
    Rejected,
}

impl CaseStatus {
    /// The back office's next step, or `None` at the end of the road.
    pub fn next(self) -> Option<CaseStatus> {
        use CaseStatus::*;
        match self {
            Received => Some(Accepted),
            Accepted => Some(Reviewing),
            Reviewing | Special => Some(Completed),
            Completed => Some(Delivered),
            Delivered | Rejected => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseSummary {
    pub case_no: String,
    pub title: Text,
    pub status: CaseStatus,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseList {
    pub cases: Vec<CaseSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseEvent {
    pub status: CaseStatus,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseDetail {
    pub case_no: String,
    pub title: Text,
    pub status: CaseStatus,
    pub updated_at: String,
    pub history: Vec<CaseEvent>,
    pub rating_allowed: bool,
    /// Why the case stands where it does (always when rejected or in a special procedure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
    /// What the resident can do now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<Text>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (very dissatisfied) … 5 (very satisfied).
    #[serde(deserialize_with = "lenient::u8")]
    pub score: u8,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rating {
    pub case_no: String,
    #[serde(deserialize_with = "lenient::u8")]
    pub score: u8,
}

// ---- 7 诉求·隐患 ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportCategory {
    pub code: String,
    pub kind: ReportKind,
    pub name: Text,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportCategories {
    pub categories: Vec<ReportCategory>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Appeal,
    Hazard,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub kind: ReportKind,
    pub category: String,
    pub location: String,
    pub description: String,
    pub anonymous: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
}

// ---- 8 民政救助 ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssistanceProgram {
    pub code: String,
    pub name: Text,
    pub description: Text,
    /// Monthly income per household member at or below which a household may qualify.
    pub income_limit_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssistancePrograms {
    pub programs: Vec<AssistanceProgram>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityRequest {
    pub program: String,
    #[serde(deserialize_with = "lenient::u32")]
    pub household_size: u32,
    #[serde(deserialize_with = "lenient::i64")]
    pub monthly_income_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Eligibility {
    pub program: String,
    pub eligible: bool,
    pub reasons: Vec<Text>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceApplicationRequest {
    pub program: String,
    #[serde(deserialize_with = "lenient::u32")]
    pub household_size: u32,
    #[serde(deserialize_with = "lenient::i64")]
    pub monthly_income_fen: i64,
    pub phone: String,
}

// ---- Guides ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Guide {
    pub id: String,
    pub title: Text,
    pub summary: Text,
    pub materials: Vec<Text>,
    pub window: String,
    /// The window in English, when the cloud gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_en: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuideList {
    pub guides: Vec<Guide>,
}
