//! The residents' records kept as data — social insurance contribution spans, a medical
//! insurance profile, housing fund deposit spans — and everything the contract answers derived
//! from them, so a summary, its month-by-month records and the documents always agree.
//!
//! Open spans run "through last month" of the day they are read (contributions are settled a
//! month behind); medical transactions are generated deterministically from the resident, the
//! month and their profile, so the same day always gives the same answers.

use crate::cloud::api::*;
use chrono::{DateTime, Datelike, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---- Months ----

/// A calendar month as a count (`year * 12 + month - 1`), written `YYYY-MM` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ym(i32);

impl Ym {
    pub fn new(year: i32, month: u32) -> Ym {
        Ym(year * 12 + month as i32 - 1)
    }
    /// `YYYY-MM` (month 01-12) or nothing.
    pub fn parse(s: &str) -> Option<Ym> {
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !s[..4]
                .bytes()
                .chain(s[5..].bytes())
                .all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let y: i32 = s[..4].parse().ok()?;
        let m: u32 = s[5..].parse().ok()?;
        (1..=12).contains(&m).then(|| Ym::new(y, m))
    }
    pub fn of(t: &DateTime<FixedOffset>) -> Ym {
        Ym::new(t.year(), t.month())
    }
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }
    pub fn plus(self, n: i32) -> Ym {
        Ym(self.0 + n)
    }
    /// Months from `self` to `later`, both counted (`2024-01`..`2024-12` is 12).
    pub fn months_to(self, later: Ym) -> i32 {
        later.0 - self.0 + 1
    }
}

impl std::fmt::Display for Ym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl TryFrom<String> for Ym {
    type Error = String;
    fn try_from(s: String) -> Result<Ym, String> {
        Ym::parse(&s).ok_or_else(|| format!("{s:?} is not a month (YYYY-MM)"))
    }
}

impl From<Ym> for String {
    fn from(m: Ym) -> String {
        m.to_string()
    }
}

/// An inclusive range of months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Ym,
    pub to: Ym,
}

impl Period {
    pub fn contains(&self, m: Ym) -> bool {
        self.from <= m && m <= self.to
    }
    pub fn len(&self) -> i32 {
        self.from.months_to(self.to)
    }
    /// `2024-01—2024-12`, or `2024-03` for one month.
    pub fn label(&self) -> String {
        span_label(self.from, self.to)
    }
}

pub fn span_label(from: Ym, to: Ym) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}—{to}")
    }
}

/// The fen amount as yuan, `123.45`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

// ---- 1 社保 ----

/// One stretch of contributions: the same employer, base and 险种 every month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiSpan {
    pub from: Ym,
    /// The last month paid; `None` while it goes on (paid through last month).
    #[serde(default)]
    pub to: Option<Ym>,
    pub employer: String,
    pub base_fen: i64,
    pub schemes: Vec<Scheme>,
    /// 灵活就业: the resident pays the whole contribution, there is no employer share.
    #[serde(default)]
    pub flexible: bool,
}

/// A resident's social insurance as the 社保 office keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiHistory {
    /// 参保地.
    pub insured_place: String,
    pub spans: Vec<SiSpan>,
    /// The first month of the pension, for a retired resident.
    #[serde(default)]
    pub retired_since: Option<Ym>,
    /// The 险种 whose benefits the resident draws as a retiree (pension; medical for a retired
    /// employee of the employee medical scheme).
    #[serde(default)]
    pub retired_schemes: Vec<Scheme>,
}

/// Personal and employer shares of the base, in basis points (Sichuan-like rates).
pub fn rates(scheme: Scheme, flexible: bool) -> (i64, i64) {
    match (scheme, flexible) {
        (Scheme::Pension, false) => (800, 1600),
        (Scheme::Pension, true) => (2000, 0),
        (Scheme::Medical, false) => (200, 650),
        (Scheme::Medical, true) => (850, 0),
        (Scheme::Unemployment, _) => (40, 60),
        (Scheme::WorkInjury, _) => (0, 40),
        (Scheme::Maternity, _) => (0, 80),
    }
}

/// The 计发月数 a retiree's personal pension account is paid out over.
const PENSION_PAYOUT_MONTHS: i64 = 139;

/// One character per 险种 for narrow paper: 养医失工生.
pub fn scheme_char(s: Scheme) -> char {
    match s {
        Scheme::Pension => '养',
        Scheme::Medical => '医',
        Scheme::Unemployment => '失',
        Scheme::WorkInjury => '工',
        Scheme::Maternity => '生',
    }
}

pub fn scheme_chars(schemes: &[Scheme]) -> String {
    Scheme::ALL
        .iter()
        .filter(|s| schemes.contains(s))
        .map(|s| scheme_char(*s))
        .collect()
}

pub fn scheme_status_text(s: SchemeStatus) -> &'static str {
    match s {
        SchemeStatus::Contributing => "正常参保 Contributing",
        SchemeStatus::Suspended => "暂停缴费 Suspended",
        SchemeStatus::Retired => "已退休 Retired",
        SchemeStatus::NotInsured => "未参保 Not insured",
    }
}

/// A stretch of contributions as a certificate prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiRow {
    pub from: Ym,
    pub to: Ym,
    pub employer: String,
    pub base_fen: i64,
    pub schemes: Vec<Scheme>,
    pub flexible: bool,
}

impl SiRow {
    pub fn months(&self) -> i32 {
        self.from.months_to(self.to)
    }
}

impl SiHistory {
    /// Every month paid, up to and including `last` (last month, as of today), with its span.
    pub fn months(&self, last: Ym) -> Vec<(Ym, &SiSpan)> {
        let mut out = Vec::new();
        for span in &self.spans {
            let to = span.to.unwrap_or(last).min(last);
            let mut m = span.from;
            while m <= to {
                out.push((m, span));
                m = m.plus(1);
            }
        }
        out.sort_by_key(|(m, _)| *m);
        out
    }

    /// One record per month per 险种 paid that month, in the period.
    pub fn records(&self, period: Period, last: Ym) -> Vec<ContributionRecord> {
        let mut out = Vec::new();
        for (m, span) in self.months(last) {
            if !period.contains(m) {
                continue;
            }
            for scheme in Scheme::ALL.iter().filter(|s| span.schemes.contains(s)) {
                let (p, e) = rates(*scheme, span.flexible);
                out.push(ContributionRecord {
                    month: m.to_string(),
                    scheme: *scheme,
                    employer: span.employer.clone(),
                    base_fen: span.base_fen,
                    personal_fen: span.base_fen * p / 10_000,
                    employer_fen: span.base_fen * e / 10_000,
                });
            }
        }
        out
    }

    /// The months of the period compressed: consecutive months with the same employer, base
    /// and 险种 are one row.
    pub fn rows(&self, period: Period, last: Ym) -> Vec<SiRow> {
        let mut rows: Vec<SiRow> = Vec::new();
        for (m, span) in self.months(last) {
            if !period.contains(m) {
                continue;
            }
            let mut schemes = span.schemes.clone();
            schemes.sort_by_key(|s| Scheme::ALL.iter().position(|a| a == s));
            if let Some(row) = rows.last_mut() {
                if row.to.plus(1) == m
                    && row.employer == span.employer
                    && row.base_fen == span.base_fen
                    && row.schemes == schemes
                    && row.flexible == span.flexible
                {
                    row.to = m;
                    continue;
                }
            }
            rows.push(SiRow {
                from: m,
                to: m,
                employer: span.employer.clone(),
                base_fen: span.base_fen,
                schemes,
                flexible: span.flexible,
            });
        }
        rows
    }

    /// Months without any contribution between the first and the last one (断缴).
    pub fn gaps(&self, last: Ym) -> Vec<(Ym, Ym)> {
        let months = self.months(last);
        let mut gaps = Vec::new();
        for pair in months.windows(2) {
            let (a, b) = (pair[0].0, pair[1].0);
            if b.0 > a.0 + 1 {
                gaps.push((a.plus(1), b.plus(-1)));
            }
        }
        gaps
    }

    pub fn standing(&self, scheme: Scheme, last: Ym) -> SchemeStatus {
        if self.retired_since.is_some() {
            // A retiree draws on some 险种; the others ended with the job.
            return if self.retired_schemes.contains(&scheme) {
                SchemeStatus::Retired
            } else {
                SchemeStatus::NotInsured
            };
        }
        let months = self.months(last);
        let paid = |m: Ym| {
            months
                .iter()
                .any(|(mm, s)| *mm == m && s.schemes.contains(&scheme))
        };
        if paid(last) {
            SchemeStatus::Contributing
        } else if months.iter().any(|(_, s)| s.schemes.contains(&scheme)) {
            SchemeStatus::Suspended
        } else {
            SchemeStatus::NotInsured
        }
    }

    /// The personal pension account: 8% of the base each month paid; a retiree's is paid out
    /// over 139 months from the first month of the pension.
    pub fn pension_account_fen(&self, last: Ym) -> i64 {
        let (p, _) = rates(Scheme::Pension, false);
        let saved: i64 = self
            .months(last)
            .iter()
            .filter(|(_, s)| s.schemes.contains(&Scheme::Pension))
            .map(|(_, s)| s.base_fen * p / 10_000)
            .sum();
        match self.retired_since {
            Some(r) if r <= last.plus(1) => {
                let drawn = i64::from(r.months_to(last.plus(1))).min(PENSION_PAYOUT_MONTHS);
                saved - saved * drawn / PENSION_PAYOUT_MONTHS
            }
            _ => saved,
        }
    }

    /// The summary, or `None` for a history without a single month paid.
    pub fn summary(&self, last: Ym) -> Option<SocialInsuranceSummary> {
        let months = self.months(last);
        let (first, _) = *months.first()?;
        let (last_paid, last_span) = *months.last()?;
        let schemes: Vec<SchemeStanding> = Scheme::ALL
            .iter()
            .map(|s| SchemeStanding {
                scheme: *s,
                status: self.standing(*s, last),
            })
            .collect();
        let status = if self.retired_since.is_some() {
            SchemeStatus::Retired
        } else if schemes
            .iter()
            .any(|s| s.status == SchemeStatus::Contributing)
        {
            SchemeStatus::Contributing
        } else {
            SchemeStatus::Suspended
        };
        Some(SocialInsuranceSummary {
            status,
            insured_since: first.to_string(),
            employer: last_span.employer.clone(),
            insured_place: self.insured_place.clone(),
            contribution_months: months.len() as u32,
            last_paid_month: last_paid.to_string(),
            monthly_base_fen: last_span.base_fen,
            pension_account_fen: self.pension_account_fen(last),
            schemes,
            gaps: self
                .gaps(last)
                .into_iter()
                .map(|(from, to)| MonthSpan {
                    from: from.to_string(),
                    to: to.to_string(),
                })
                .collect(),
        })
    }

    /// Whether medical insurance was paid that month (employees' medical cover follows it).
    pub fn medical_paid(&self, m: Ym, last: Ym) -> Option<i64> {
        self.spans.iter().find_map(|s| {
            let to = s.to.unwrap_or(last).min(last);
            (s.from <= m && m <= to && s.schemes.contains(&Scheme::Medical)).then_some(s.base_fen)
        })
    }
}

// ---- 2 医保 ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiProfile {
    pub insured_type: MedicalInsuredType,
    pub insured_place: String,
    /// Cover starts here. An employee is covered in the months their medical insurance is paid
    /// (and in the current month while they are paying); a retiree or a 城乡居民 every month.
    pub since: Ym,
    /// Settled visits a month: at least, at most.
    pub visits: (u32, u32),
    /// The monthly credit to a retired employee's personal account.
    #[serde(default)]
    pub retiree_credit_fen: i64,
}

pub fn outpatient_pool_limit(t: MedicalInsuredType) -> i64 {
    match t {
        MedicalInsuredType::Employee => 200_000,
        MedicalInsuredType::RetiredEmployee => 300_000,
        MedicalInsuredType::Resident => 50_000,
    }
}

/// The pool's share of an outpatient bill and of a hospital stay above the 起付线, in percent;
/// the 起付线 in fen.
fn pool_shares(t: MedicalInsuredType) -> (i64, i64, i64) {
    match t {
        MedicalInsuredType::Employee => (50, 85, 80_000),
        MedicalInsuredType::RetiredEmployee => (60, 90, 60_000),
        MedicalInsuredType::Resident => (50, 70, 40_000),
    }
}

pub fn medical_kind_zh(k: MedicalKind) -> &'static str {
    match k {
        MedicalKind::Outpatient => "门诊",
        MedicalKind::Inpatient => "住院",
        MedicalKind::Pharmacy => "药店",
    }
}

pub fn insured_type_text(t: MedicalInsuredType) -> &'static str {
    match t {
        MedicalInsuredType::Employee => "职工医保 Employee",
        MedicalInsuredType::RetiredEmployee => "职工医保(退休) Retired employee",
        MedicalInsuredType::Resident => "城乡居民医保 Urban and rural resident",
    }
}

const CLINICS: &[&str] = &[
    "成华区建设路社区卫生服务中心",
    "成华区猛追湾社区卫生服务中心",
    "成都市第二人民医院",
    "四川省人民医院",
    "成都市中西医结合医院",
    "武侯区玉林社区卫生服务中心",
];
const HOSPITALS: &[&str] = &["四川省人民医院", "成都市第三人民医院", "成都市第二人民医院"];
const PHARMACIES: &[&str] = &[
    "某某大药房(建设路店)",
    "某某堂药店(双林路店)",
    "某某大药房(玉林店)",
    "某某医药连锁(春熙路店)",
];

/// splitmix64: the deterministic dice behind the medical transactions.
struct Dice(u64);

impl Dice {
    fn new(seed: &str) -> Dice {
        // FNV-1a of the seed, then splitmix steps.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Dice(h)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.next() as usize % of.len()]
    }
}

/// Everything medical for one resident, derived for one moment.
pub struct Medical<'a> {
    pub id: &'a str,
    pub profile: &'a MiProfile,
    pub si: Option<&'a SiHistory>,
    pub now: DateTime<FixedOffset>,
}

impl Medical<'_> {
    fn this_month(&self) -> Ym {
        Ym::of(&self.now)
    }

    /// Whether the resident has medical cover that month.
    pub fn covered(&self, m: Ym) -> bool {
        if m < self.profile.since || m > self.this_month() {
            return false;
        }
        match self.profile.insured_type {
            MedicalInsuredType::Employee => {
                let last = self.this_month().plus(-1);
                let si = self.si;
                let paid = |m: Ym| si.and_then(|s| s.medical_paid(m, last)).is_some();
                paid(m) || (m == self.this_month() && paid(last))
            }
            _ => true,
        }
    }

    /// What the personal account is credited that month.
    fn credit(&self, m: Ym) -> i64 {
        let last = self.this_month().plus(-1);
        match self.profile.insured_type {
            // The personal 2%; until the 2024 门诊共济 reform also a share of the employer's.
            MedicalInsuredType::Employee => self
                .si
                .and_then(|s| s.medical_paid(m, last))
                .filter(|_| m >= self.profile.since)
                .map_or(0, |base| {
                    let bp = if m < Ym::new(2024, 1) { 360 } else { 200 };
                    base * bp / 10_000
                }),
            MedicalInsuredType::RetiredEmployee if self.covered(m) => {
                self.profile.retiree_credit_fen
            }
            _ => 0,
        }
    }

    /// The year's settled transactions up to now, in time order (the outpatient pool is used up
    /// through the year, so a year is made from its January on).
    pub fn year(&self, year: i32) -> Vec<MedicalTransaction> {
        let t = self.profile.insured_type;
        let (outpatient_pct, inpatient_pct, deductible) = pool_shares(t);
        let mut pool_left = outpatient_pool_limit(t);
        let mut out = Vec::new();
        let mut stay_dice = Dice::new(&format!("{}|{year}|stay", self.id));
        // Some years have a hospital stay, older residents' more often.
        let stay_month = (stay_dice.range(0, 99)
            < if self.profile.visits.1 >= 5 { 45 } else { 15 })
        .then(|| stay_dice.range(1, 12) as u32);
        for month in 1..=12u32 {
            let m = Ym::new(year, month);
            if !self.covered(m) {
                continue;
            }
            let mut dice = Dice::new(&format!("{}|{m}", self.id));
            let (lo, hi) = self.profile.visits;
            let n = dice.range(i64::from(lo), i64::from(hi));
            let mut month_tx = Vec::new();
            for _ in 0..n {
                let kind = if dice.range(0, 99) < 55 {
                    MedicalKind::Outpatient
                } else {
                    MedicalKind::Pharmacy
                };
                month_tx.push((
                    kind,
                    dice.range(1, 28) as u32,
                    dice.range(8 * 60, 18 * 60 - 1) as u32,
                    dice.next(),
                ));
            }
            if stay_month == Some(month) {
                month_tx.push((
                    MedicalKind::Inpatient,
                    dice.range(1, 20) as u32,
                    dice.range(8 * 60, 12 * 60) as u32,
                    dice.next(),
                ));
            }
            month_tx.sort_by_key(|(_, day, minute, _)| (*day, *minute));
            for (kind, day, minute_of_day, roll) in month_tx {
                let mut d = Dice(roll);
                let (hour, minute) = (minute_of_day / 60, minute_of_day % 60);
                let (institution, total) = match kind {
                    MedicalKind::Outpatient => {
                        (d.pick(CLINICS), d.range(20, 260) * 100 + d.range(0, 99))
                    }
                    MedicalKind::Pharmacy => {
                        (d.pick(PHARMACIES), d.range(10, 160) * 100 + d.range(0, 99))
                    }
                    MedicalKind::Inpatient => (d.pick(HOSPITALS), d.range(6_000, 32_000) * 100),
                };
                let fund = match kind {
                    MedicalKind::Outpatient => {
                        let f = (total * outpatient_pct / 100).min(pool_left);
                        pool_left -= f;
                        f
                    }
                    MedicalKind::Inpatient => (total - deductible).max(0) * inpatient_pct / 100,
                    MedicalKind::Pharmacy => 0,
                };
                let time = chrono::NaiveDate::from_ymd_opt(year, month, day)
                    .and_then(|d| d.and_hms_opt(hour, minute, 0))
                    .and_then(|t| t.and_local_timezone(crate::time::CST).single());
                let Some(time) = time.filter(|t| *t <= self.now) else {
                    continue;
                };
                out.push(MedicalTransaction {
                    time: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    institution: institution.into(),
                    kind,
                    total_fen: total,
                    fund_paid_fen: fund,
                    self_paid_fen: total - fund,
                });
            }
        }
        out
    }

    /// The settled transactions of the period.
    pub fn transactions(&self, period: Period) -> Vec<MedicalTransaction> {
        let mut out = Vec::new();
        for year in period.from.year()..=period.to.year().min(self.now.year()) {
            out.extend(
                self.year(year)
                    .into_iter()
                    .filter(|t| Ym::parse(&t.time[..7]).is_some_and(|m| period.contains(m))),
            );
        }
        out
    }

    /// The account today: the personal account is credited monthly and pays the self-paid part
    /// of each bill while it has money (the rest is paid in cash). 城乡居民 have no personal
    /// account.
    pub fn account(&self) -> MedicalAccount {
        let t = self.profile.insured_type;
        let this_year = self.now.year();
        let (mut balance, mut credited, mut spent, mut pool_used) = (0i64, 0i64, 0i64, 0i64);
        for year in self.profile.since.year()..=this_year {
            let mut by_month: BTreeMap<u32, Vec<MedicalTransaction>> = BTreeMap::new();
            for tx in self.year(year) {
                let month = tx.time[5..7].parse().unwrap_or(1);
                by_month.entry(month).or_default().push(tx);
            }
            for month in 1..=12u32 {
                let c = self.credit(Ym::new(year, month));
                balance += c;
                if year == this_year {
                    credited += c;
                }
                for tx in by_month.remove(&month).unwrap_or_default() {
                    let from_account = if t == MedicalInsuredType::Resident {
                        0
                    } else {
                        tx.self_paid_fen.min(balance)
                    };
                    balance -= from_account;
                    if year == this_year {
                        spent += from_account;
                        if tx.kind == MedicalKind::Outpatient {
                            pool_used += tx.fund_paid_fen;
                        }
                    }
                }
            }
        }
        MedicalAccount {
            status: if self.covered(self.this_month()) {
                "active"
            } else {
                "suspended"
            }
            .into(),
            insured_type: t,
            insured_place: self.profile.insured_place.clone(),
            balance_fen: balance,
            year_credited_fen: credited,
            year_spent_fen: spent,
            outpatient_pool_used_fen: pool_used,
            outpatient_pool_limit_fen: outpatient_pool_limit(t),
        }
    }
}

/// A transaction's date for a statement: `MM-DD`, or `YYYY-MM-DD` when the statement's period
/// crosses a year.
pub fn statement_date(time: &str, period: Period) -> String {
    if period.from.year() == period.to.year() {
        time[5..10].to_string()
    } else {
        time[..10].to_string()
    }
}

// ---- 3 公积金 ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HfSpan {
    pub from: Ym,
    /// The last month deposited; `None` while it goes on (through last month).
    #[serde(default)]
    pub to: Option<Ym>,
    pub employer: String,
    pub base_fen: i64,
    /// Each side's share of the base, in percent (5-12).
    pub rate_pct: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HfHistory {
    pub account_no_masked: String,
    pub spans: Vec<HfSpan>,
    /// Taken out over the years (rent, a loan repayment).
    #[serde(default)]
    pub withdrawn_fen: i64,
}

/// One month's deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    pub month: Ym,
    pub employer: String,
    pub base_fen: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
}

impl HfHistory {
    pub fn deposits(&self, last: Ym) -> Vec<Deposit> {
        let mut out = Vec::new();
        for s in &self.spans {
            let to = s.to.unwrap_or(last).min(last);
            let mut m = s.from;
            while m <= to {
                let each = s.base_fen * s.rate_pct / 100;
                out.push(Deposit {
                    month: m,
                    employer: s.employer.clone(),
                    base_fen: s.base_fen,
                    personal_fen: each,
                    employer_fen: each,
                });
                m = m.plus(1);
            }
        }
        out.sort_by_key(|d| d.month);
        out
    }

    /// The account today, or `None` when nothing was ever deposited. Sealed (封存) when no
    /// employer deposited last month; a sealed account has no monthly deposit.
    pub fn account(&self, last: Ym) -> Option<HousingFundAccount> {
        let deposits = self.deposits(last);
        let latest = deposits.last()?;
        let sealed = latest.month < last;
        let total: i64 = deposits
            .iter()
            .map(|d| d.personal_fen + d.employer_fen)
            .sum();
        let (personal, employer) = if sealed {
            (0, 0)
        } else {
            (latest.personal_fen, latest.employer_fen)
        };
        Some(HousingFundAccount {
            account_no_masked: self.account_no_masked.clone(),
            status: if sealed {
                HousingFundStatus::Sealed
            } else {
                HousingFundStatus::Normal
            },
            employer: latest.employer.clone(),
            balance_fen: (total - self.withdrawn_fen).max(0),
            monthly_deposit_fen: personal + employer,
            personal_deposit_fen: personal,
            employer_deposit_fen: employer,
            base_fen: latest.base_fen,
            last_deposit_month: latest.month.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Scheme::{Maternity, Pension, Unemployment, WorkInjury};
    const MED: Scheme = Scheme::Medical;

    fn span(from: &str, to: Option<&str>, employer: &str, base: i64, schemes: &[Scheme]) -> SiSpan {
        SiSpan {
            from: Ym::parse(from).unwrap(),
            to: to.map(|t| Ym::parse(t).unwrap()),
            employer: employer.into(),
            base_fen: base,
            schemes: schemes.to_vec(),
            flexible: false,
        }
    }

    fn m(s: &str) -> Ym {
        Ym::parse(s).unwrap()
    }

    #[test]
    fn months_parse_and_print() {
        assert_eq!(m("2024-01").to_string(), "2024-01");
        assert_eq!(m("2024-12").plus(1), m("2025-01"));
        assert_eq!(m("2024-01").months_to(m("2024-12")), 12);
        for bad in [
            "2024-13",
            "2024-00",
            "2024-1",
            "24-01",
            "2024/01",
            "２０２４-01",
            "+202-01",
        ] {
            assert!(Ym::parse(bad).is_none(), "{bad}");
        }
        let j: Ym = serde_json::from_str("\"2019-03\"").unwrap();
        assert_eq!(serde_json::to_string(&j).unwrap(), "\"2019-03\"");
        assert_eq!(yuan(12_345), "123.45");
        assert_eq!(yuan(5), "0.05");
    }

    #[test]
    fn a_history_with_a_gap_and_an_employer_change() {
        let all = [Pension, MED, Unemployment, WorkInjury, Maternity];
        let h = SiHistory {
            insured_place: "成都市武侯区".into(),
            spans: vec![
                span("2018-01", Some("2018-12"), "A", 500_000, &all),
                span("2019-01", Some("2019-02"), "A", 520_000, &all),
                span("2019-09", None, "B", 800_000, &all),
            ],
            retired_since: None,
            retired_schemes: vec![],
        };
        let last = m("2019-12");
        let s = h.summary(last).unwrap();
        assert_eq!(s.status, SchemeStatus::Contributing);
        assert_eq!(s.contribution_months, 12 + 2 + 4);
        assert_eq!(s.employer, "B");
        assert_eq!(s.last_paid_month, "2019-12");
        assert_eq!(
            s.gaps,
            vec![MonthSpan {
                from: "2019-03".into(),
                to: "2019-08".into()
            }]
        );
        let period = Period {
            from: m("2018-06"),
            to: m("2019-10"),
        };
        let rows = h.rows(period, last);
        let labels: Vec<String> = rows.iter().map(|r| span_label(r.from, r.to)).collect();
        assert_eq!(
            labels,
            ["2018-06—2018-12", "2019-01—2019-02", "2019-09—2019-10"]
        );
        let recs = h.records(period, last);
        assert_eq!(recs.len(), (7 + 2 + 2) * 5);
        let months: std::collections::BTreeSet<&str> =
            recs.iter().map(|r| r.month.as_str()).collect();
        assert!(!months.contains("2019-03"));
        let pension = recs.iter().find(|r| r.scheme == Pension).unwrap();
        assert_eq!(
            (pension.personal_fen, pension.employer_fen),
            (40_000, 80_000)
        );
        // Nothing in a period before the first contribution.
        assert!(h
            .rows(
                Period {
                    from: m("2010-01"),
                    to: m("2017-12")
                },
                last
            )
            .is_empty());
    }

    #[test]
    fn standings_follow_the_latest_month() {
        let h = SiHistory {
            insured_place: "x".into(),
            spans: vec![
                span(
                    "2010-01",
                    Some("2020-12"),
                    "A",
                    500_000,
                    &[Pension, MED, Unemployment],
                ),
                SiSpan {
                    flexible: true,
                    ..span("2021-03", None, "个人", 400_000, &[Pension, MED])
                },
            ],
            retired_since: None,
            retired_schemes: vec![],
        };
        let last = m("2021-06");
        assert_eq!(h.standing(Pension, last), SchemeStatus::Contributing);
        assert_eq!(h.standing(Unemployment, last), SchemeStatus::Suspended);
        assert_eq!(h.standing(Maternity, last), SchemeStatus::NotInsured);
        let r = h.records(
            Period {
                from: last,
                to: last,
            },
            last,
        );
        assert_eq!(r[0].employer_fen, 0, "灵活就业 pays alone");
        assert_eq!(r[0].personal_fen, 80_000);
        let retired = SiHistory {
            retired_since: Some(m("2021-01")),
            retired_schemes: vec![Pension],
            spans: vec![span("2000-01", Some("2020-12"), "A", 100_000, &[Pension])],
            ..h.clone()
        };
        assert_eq!(retired.summary(last).unwrap().status, SchemeStatus::Retired);
        assert_eq!(retired.standing(MED, last), SchemeStatus::NotInsured);
        // Long retired: the personal account is paid out.
        assert_eq!(retired.pension_account_fen(m("2040-01")), 0);
        assert!(retired.pension_account_fen(m("2021-01")) > 0);
    }

    #[test]
    fn medical_is_deterministic_and_agrees_with_the_account() {
        let profile = MiProfile {
            insured_type: MedicalInsuredType::Resident,
            insured_place: "成都市成华区".into(),
            since: m("2015-01"),
            visits: (3, 5),
            retiree_credit_fen: 0,
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00+08:00").unwrap();
        let med = Medical {
            id: "510108195003150313",
            profile: &profile,
            si: None,
            now,
        };
        let a = med.year(2026);
        assert_eq!(a, med.year(2026), "deterministic");
        assert!(a.len() >= 3 * 10, "several a month: {}", a.len());
        let kinds: std::collections::BTreeSet<String> =
            a.iter().map(|t| format!("{:?}", t.kind)).collect();
        assert!(kinds.len() >= 2);
        let places: std::collections::BTreeSet<&str> =
            a.iter().map(|t| t.institution.as_str()).collect();
        assert!(places.len() >= 4);
        assert!(a
            .iter()
            .all(|t| t.time.as_str() <= "2026-11-20T12:00:00+08:00"));
        assert!(
            a.windows(2).all(|w| w[0].time <= w[1].time),
            "in time order"
        );
        assert!(a
            .iter()
            .all(|t| t.total_fen == t.fund_paid_fen + t.self_paid_fen));
        let acct = med.account();
        let pool: i64 = a
            .iter()
            .filter(|t| t.kind == MedicalKind::Outpatient)
            .map(|t| t.fund_paid_fen)
            .sum();
        assert_eq!(acct.outpatient_pool_used_fen, pool);
        assert!(pool <= acct.outpatient_pool_limit_fen);
        assert_eq!(acct.balance_fen, 0, "城乡居民 have no personal account");
        let oct = med.transactions(Period {
            from: m("2026-10"),
            to: m("2026-10"),
        });
        assert!(oct.iter().all(|t| t.time.starts_with("2026-10")));
        assert!(!oct.is_empty());
        assert!(med
            .transactions(Period {
                from: m("2010-01"),
                to: m("2014-12")
            })
            .is_empty());
    }

    #[test]
    fn housing_fund_sealed_when_nobody_pays_in() {
        let h = HfHistory {
            account_no_masked: "5101********0001".into(),
            spans: vec![HfSpan {
                from: m("2020-01"),
                to: Some(m("2022-12")),
                employer: "A".into(),
                base_fen: 500_000,
                rate_pct: 10,
            }],
            withdrawn_fen: 100_000,
        };
        let a = h.account(m("2026-10")).unwrap();
        assert_eq!(a.status, HousingFundStatus::Sealed);
        assert_eq!(a.monthly_deposit_fen, 0);
        assert_eq!(a.balance_fen, 36 * 100_000 - 100_000);
        assert_eq!(a.last_deposit_month, "2022-12");
        let open = HfHistory {
            spans: vec![HfSpan {
                to: None,
                ..h.spans[0].clone()
            }],
            ..h
        };
        let a = open.account(m("2026-10")).unwrap();
        assert_eq!(a.status, HousingFundStatus::Normal);
        assert_eq!(a.monthly_deposit_fen, 100_000);
        assert_eq!(
            a.personal_deposit_fen + a.employer_deposit_fen,
            a.monthly_deposit_fen
        );
    }
}
