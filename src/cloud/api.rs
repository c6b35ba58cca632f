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

    pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        u32(d).map(Some)
    }

    macro_rules! nullable {
        ($name:ident, $t:ty) => {
            /// The same, where the contract also allows `null`.
            pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$t>, D::Error> {
                match Option::<serde_json::Value>::deserialize(d)? {
                    None | Some(serde_json::Value::Null) => Ok(None),
                    Some(v) => {
                        let n = <$t as Deserialize>::deserialize(v.clone())
                            .ok()
                            .or_else(|| {
                                v.as_f64()
                                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                                    .and_then(|f| <$t>::try_from(f as i128).ok())
                            });
                        n.map(Some).ok_or_else(|| {
                            D::Error::custom(format!("expected an integer in range, got {v}"))
                        })
                    }
                }
            }
        };
    }
    nullable!(nullable_u64, u64);
    nullable!(nullable_i64, i64);

    /// An object (or `null`) where the contract says object: serde's derived structs also take
    /// a JSON array of their fields in order, which the contract forbids (schemathesis sent
    /// `"update": [null, null]`).
    pub fn object_or_null<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v @ serde_json::Value::Object(_)) => serde_json::from_value(v)
                .map(Some)
                .map_err(D::Error::custom),
            Some(v) => Err(D::Error::custom(format!("expected an object, got {v}"))),
        }
    }
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

pub use super::device::*;

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

/// The three utilities, as the contract names them.
pub const UTILITIES: [&str; 3] = ["water", "electricity", "gas"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    pub bill_id: String,
    /// The billing month, `YYYY-MM`.
    pub period: String,
    /// What was used in the period, e.g. 12 (吨), 215 (千瓦时), 18 (立方米), in `usage_unit`.
    #[serde(deserialize_with = "lenient::i64")]
    pub usage: i64,
    /// `m3` for water and gas, `kwh` for electricity.
    pub usage_unit: String,
    #[serde(deserialize_with = "lenient::i64")]
    pub amount_fen: i64,
    pub due_date: String,
    /// `unpaid` or `paid`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BillList {
    pub utility: String,
    pub account: String,
    pub holder_masked: String,
    pub address: String,
    /// Who is paid: the utility company.
    pub payee: Text,
    pub bills: Vec<Bill>,
}

/// A utility account the resident has paid from before (`GET /v1/bills/accounts`, with a
/// resident session), offered so they need not type it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtilityAccount {
    pub utility: String,
    pub account: String,
    pub address_masked: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UtilityAccounts {
    pub accounts: Vec<UtilityAccount>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    pub utility: String,
    pub account: String,
    pub bill_ids: Vec<String>,
    #[serde(deserialize_with = "lenient::i64")]
    pub amount_fen: i64,
}

/// A payment order's state, owned by the cloud: pending → paid | expired | closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The QR can be paid.
    Pending,
    Paid,
    /// Not paid within its time; nothing was charged.
    Expired,
    /// Closed before it was paid (the resident left, or the kiosk asked); nothing was charged.
    Closed,
}

impl PaymentStatus {
    /// No further change is possible.
    pub fn is_final(self) -> bool {
        self != PaymentStatus::Pending
    }
}

/// Money paid for a bill that another payment had already paid, returned by the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    #[serde(deserialize_with = "lenient::i64")]
    pub amount_fen: i64,
    /// A machine reason, e.g. `bill_already_paid`.
    pub reason: String,
    pub refunded_at: String,
}

/// A payment order as the cloud holds it. A paid one carries when, how and its receipt number;
/// the kiosk prints the receipt from this answer only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: String,
    pub status: PaymentStatus,
    pub utility: String,
    pub account: String,
    pub payee: Text,
    /// The bills it pays (as they were when the order was made).
    pub bills: Vec<Bill>,
    #[serde(deserialize_with = "lenient::i64")]
    pub amount_fen: i64,
    /// ASCII: what the resident's phone scans.
    pub qr_payload: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// `wechat`, `alipay` or `unionpay`, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}

/// Why the kiosk closes an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Its time ran out on the kiosk's screen.
    Expired,
    /// The resident left the payment page (back, home, card pulled, session timeout).
    Left,
    /// The kiosk lost contact while the QR was up and is settling the order afterwards.
    Unknown,
}

/// `POST /v1/payments/{payment_id}/close`: the id is in the path and repeated in the body (so the
/// outbox, which stores bodies, knows where to send it); a close that finds the order already
/// paid answers the paid order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentCloseRequest {
    pub payment_id: String,
    pub reason: CloseReason,
}

// ---- 5 居住证/户籍 ----

/// How an applicant can collect the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pickup {
    /// At the centre's window.
    Window,
    /// From the centre's pickup locker (智能柜), with a code sent once it is in.
    Locker,
    /// Posted to the applicant's address.
    Mail,
}

/// Whether the resident can apply for a type, as the cloud judges it from its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeEligibility {
    pub eligible: bool,
    /// Why not (or what the cloud found), in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HouseholdCertificateType {
    pub code: String,
    pub name: Text,
    /// The condition in one line (e.g. 居住证 needs six months' residence registration).
    pub requirement: Text,
    pub materials: Vec<Text>,
    #[serde(deserialize_with = "lenient::i64")]
    pub fee_fen: i64,
    #[serde(deserialize_with = "lenient::u32")]
    pub processing_days: u32,
    /// The ways this type can be collected.
    pub pickup: Vec<Pickup>,
    /// The resident's own eligibility, when asked with a resident session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<TypeEligibility>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HouseholdCertificateTypes {
    pub types: Vec<HouseholdCertificateType>,
    /// The resident's registered addresses (residence registration, 户籍), with a session.
    #[serde(default)]
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdApplicationRequest {
    #[serde(rename = "type")]
    pub type_: String,
    pub phone: String,
    pub address: String,
    pub pickup: Pickup,
}

/// The 受理回执 of an application: its case, when it will be done, where it is collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationReceipt {
    pub case_no: String,
    pub query_code: String,
    /// The promised completion date, `YYYY-MM-DD`.
    pub promised_date: String,
    pub pickup: Pickup,
    /// Where it is collected (a window, the locker's place, or the mailing address, masked).
    pub pickup_place: Text,
    /// ASCII: where anyone with the case number and query code follows its progress.
    pub progress_url: String,
}

/// What every report returns.
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

/// 好差评: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意. A score of 2 or less names at
/// least one reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// The case rated (the same as in the path).
    pub case_no: String,
    #[serde(deserialize_with = "lenient::u8")]
    pub score: u8,
    /// Quick-phrase codes (`slow`, `unclear`, `attitude`, `not_solved`, `machine`, `other`).
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rating {
    pub case_no: String,
    #[serde(deserialize_with = "lenient::u8")]
    pub score: u8,
}

/// `POST /v1/service-ratings`: the rating of one use of a service at the kiosk (a ticket, a
/// payment, a certificate…), once per `reference` (the ticket, payment, case or certificate
/// number).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRatingRequest {
    pub service: String,
    pub reference: String,
    #[serde(deserialize_with = "lenient::u8")]
    pub score: u8,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRating {
    pub rating_id: String,
    pub service: String,
    #[serde(deserialize_with = "lenient::u8")]
    pub score: u8,
}

/// The quick phrases a rating of 不满意 or below offers.
pub const RATING_REASONS: [&str; 6] = [
    "slow",
    "unclear",
    "attitude",
    "not_solved",
    "machine",
    "other",
];

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

/// What a program asks of an applicant beyond the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistanceQuestion {
    HouseholdSize,
    IncomeBand,
    Phone,
    /// Consent to the household financial check (家庭经济状况核对).
    FinancialCheckConsent,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssistanceProgram {
    pub code: String,
    pub name: Text,
    pub description: Text,
    /// Plain-language conditions, one a line.
    pub conditions: Vec<Text>,
    /// Monthly income per household member at or below which a household may qualify; 0 when
    /// income does not matter.
    #[serde(deserialize_with = "lenient::i64")]
    pub income_limit_fen: i64,
    /// What the application asks, in order.
    pub asks: Vec<AssistanceQuestion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssistancePrograms {
    pub programs: Vec<AssistanceProgram>,
}

/// Monthly household income per person, in bands (the cloud checks the real figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeBand {
    /// Below 800 元.
    Under800,
    /// 800–1500 元.
    From800To1500,
    /// 1500–3000 元.
    From1500To3000,
    /// Above 3000 元.
    Over3000,
}

/// The pre-check asks only the program; the cloud judges from what it knows (age from the ID,
/// 户籍 district, enrolments).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityRequest {
    pub program: String,
}

/// Never "approved": the office decides after the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EligibilityVerdict {
    LikelyEligible,
    NeedsReview,
    NotEligible,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Eligibility {
    pub program: String,
    pub verdict: EligibilityVerdict,
    pub reasons: Vec<Text>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceApplicationRequest {
    pub program: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_u32"
    )]
    pub household_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub income_band: Option<IncomeBand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Consent to the household financial check; required by the programs that ask for it.
    #[serde(default)]
    pub financial_check_consent: bool,
}

/// The 受理回执 of an assistance application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistanceReceipt {
    pub case_no: String,
    pub query_code: String,
    /// The legal processing time limit in working days.
    #[serde(deserialize_with = "lenient::u32")]
    pub time_limit_days: u32,
    /// What happens next (公示, a home visit, …), in order.
    pub next_steps: Vec<Text>,
    /// ASCII: the case's progress page.
    pub progress_url: String,
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
