//! Synthetic seed data: residents (the demo cards), their accounts, bills, cases in every status,
//! the hall's queues, and the reference lists. Nothing here is a real person or account.

use super::records::{HfHistory, HfSpan, MiProfile, SiHistory, SiSpan, Ym};
use crate::cloud::api::*;
use chrono::{Duration, Local};
use rusqlite::{params, Connection, OptionalExtension};

pub const HALL_ID: &str = "chenghua-jianshelu"; // Site::example().hall_id

pub fn site() -> Site {
    Site::example()
}

pub fn catalog() -> Catalog {
    let s = |code: &str, zh: &str, en: &str, requires_identity: bool| CatalogService {
        code: code.into(),
        name: Text::new(zh, en),
        enabled: true,
        requires_identity,
    };
    Catalog {
        version: "2026.11.1".into(),
        services: vec![
            s("social_insurance", "社保查询", "Social insurance", true),
            s("medical_insurance", "医保查询", "Medical insurance", true),
            s("housing_fund", "公积金", "Housing fund", true),
            s("utility_bills", "生活缴费", "Utility bills", false),
            s("household", "居住证·户籍", "Residence & household", true),
            s(
                "queue_and_cases",
                "预约取号·办件进度",
                "Queue tickets & my cases",
                false,
            ),
            s(
                "reports",
                "诉求·隐患上报",
                "Appeals & hazard reports",
                false,
            ),
            s("assistance", "民政救助", "Social assistance", true),
        ],
        notices: vec![
            Notice {
                id: "n-2026-11-01".into(),
                title: Text::new(
                    "冬季取暖补贴开始申领",
                    "Winter heating subsidy applications open",
                ),
                body: Text::new(
                    "符合条件的老年人家庭可在民政救助中申请，截至12月31日。",
                    "Eligible elderly households can apply under Social assistance until 31 December.",
                ),
                service: Some("assistance".into()),
            },
            Notice {
                id: "n-2026-11-15".into(),
                title: Text::new("冬季用气安全", "Gas safety in winter"),
                body: Text::new(
                    "发现燃气异味、私拉电线等隐患，可在诉求·隐患上报中随时上报。",
                    "Smell gas or see unsafe wiring? Report it any time under Appeals & hazards.",
                ),
                service: Some("reports".into()),
            },
        ],
    }
}

fn t(zh: &str, en: &str) -> Text {
    Text::new(zh, en)
}

fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("seed data serialises")
}

pub fn report_categories() -> ReportCategories {
    let c = |code: &str, kind: ReportKind, zh: &str, en: &str| ReportCategory {
        code: code.into(),
        kind,
        name: t(zh, en),
    };
    use ReportKind::{Appeal, Hazard};
    ReportCategories {
        categories: vec![
            c("noise", Appeal, "噪声扰民", "Noise nuisance"),
            c("property", Appeal, "物业管理", "Property management"),
            c("sanitation", Appeal, "环境卫生", "Sanitation"),
            c("public_service", Appeal, "政务服务", "Public services"),
            c("fire", Hazard, "消防隐患", "Fire hazard"),
            c("gas", Hazard, "燃气隐患", "Gas hazard"),
            c("structure", Hazard, "房屋安全", "Building safety"),
            c("road", Hazard, "道路设施", "Roads and facilities"),
        ],
    }
}

pub fn certificate_types() -> HouseholdCertificateTypes {
    HouseholdCertificateTypes {
        types: super::civil::certificate_types(),
        addresses: vec![],
    }
}

pub fn programs() -> AssistancePrograms {
    super::civil::programs()
}

pub fn guides() -> GuideList {
    let g = |id: &str, title: Text, summary: Text, materials: Vec<Text>, window: &str| Guide {
        id: id.into(),
        title,
        summary,
        materials,
        window: window.into(),
        // "B 区 3 号窗口" → "Area B, window 3".
        window_en: {
            let parts: Vec<&str> = window.split_whitespace().collect();
            match parts.as_slice() {
                [area, "区", n, "号窗口"] => Some(format!("Area {area}, window {n}")),
                _ => None,
            }
        },
    };
    let id_card = || t("居民身份证", "Resident ID card");
    GuideList {
        guides: vec![
            g(
                "g-residence-permit",
                t("居住证办理指南", "Applying for a residence permit"),
                t(
                    "在本地居住半年以上，符合稳定就业、稳定住所、连续就读条件之一的，可申领居住证。",
                    "Residents living here for six months with stable work, housing or schooling may apply.",
                ),
                vec![id_card(), t("住所证明", "Proof of address")],
                "B 区 3 号窗口",
            ),
            g(
                "g-pension",
                t("养老保险待遇领取", "Claiming a pension"),
                t(
                    "达到法定退休年龄且累计缴费满15年的参保人员可申领。",
                    "Insured people at retirement age with 15 years of contributions may claim.",
                ),
                vec![t("社会保障卡", "Social security card")],
                "A 区 1 号窗口",
            ),
            g(
                "g-dibao",
                t("低保申请", "Applying for the minimum living allowance"),
                t(
                    "向户籍所在地街道提出申请，经入户调查、民主评议和公示后审批。",
                    "Apply at your street office; a home visit, review and public notice follow.",
                ),
                vec![id_card(), t("收入证明", "Proof of income")],
                "C 区 2 号窗口",
            ),
        ],
    }
}

fn now8() -> chrono::DateTime<chrono::FixedOffset> {
    Local::now().with_timezone(&super::http::CST)
}

/// Bumped whenever the seeded records change shape: an older simulator database (the demo keeps
/// one) gets the reference lists and the residents' records anew, and forgets the documents it
/// issued in the old form.
pub const SEED_VERSION: &str = "3-services";

/// Routes whose stored answers an older simulator gave in another form: forgotten on reseeding.
const DOCUMENT_ROUTES: [&str; 5] = [
    "social-insurance/certificates",
    "medical-insurance/statements",
    "housing-fund/deposit-proofs",
    "household/applications",
    "assistance/applications",
];

pub fn seed(conn: &Connection) -> rusqlite::Result<()> {
    let version: Option<String> = conn
        .query_row(
            "SELECT json FROM reference WHERE kind = 'seed_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if version.as_deref() == Some(SEED_VERSION) {
        return Ok(());
    }
    let fresh: bool =
        conn.query_row("SELECT COUNT(*) FROM reference", [], |r| r.get::<_, i64>(0))? == 0;
    let tx = conn.unchecked_transaction()?;
    tx.execute("DELETE FROM reference", [])?;
    let put = |kind: &str, text: String| {
        tx.execute(
            "INSERT INTO reference(kind, json) VALUES (?1, ?2)",
            params![kind, text],
        )
    };
    put("catalog", to_json(&catalog()))?;
    put("report_categories", to_json(&report_categories()))?;
    put("certificate_types", to_json(&certificate_types()))?;
    put("programs", to_json(&programs()))?;
    put("guides", to_json(&guides()))?;
    put("seed_version", SEED_VERSION.into())?;
    tx.execute("DELETE FROM accounts", [])?;
    seed_records(&tx)?;
    let residents: Vec<(String, String)> = bianmin_idcard::simulator::demo_residents()
        .iter()
        .map(|r| (r.id_number.as_str().to_string(), r.name.clone()))
        .collect();
    super::payments::seed(&tx, &residents, Ym::of(&now8()).plus(-1))?;
    if !fresh {
        tx.execute("DELETE FROM certificates", [])?;
        for route in DOCUMENT_ROUTES {
            tx.execute("DELETE FROM idempotency WHERE route = ?1", [route])?;
        }
        return tx.commit();
    }

    let queues = [
        (
            "social",
            "社保医保",
            "Social & medical insurance",
            "A",
            5,
            4,
        ),
        (
            "household",
            "户籍居住证",
            "Household & residence permits",
            "B",
            3,
            6,
        ),
        ("assistance", "民政救助", "Social assistance", "C", 1, 10),
        ("housing_fund", "公积金", "Housing fund", "D", 8, 5),
        ("general", "综合咨询", "General enquiries", "E", 0, 3),
    ];
    for (i, (code, zh, en, prefix, waiting, each)) in queues.iter().enumerate() {
        tx.execute(
            "INSERT INTO queues VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                HALL_ID,
                code,
                zh,
                en,
                prefix,
                waiting,
                each,
                1 + waiting + i as i64 * 3
            ],
        )?;
    }

    for (n, r) in bianmin_idcard::simulator::demo_residents()
        .iter()
        .enumerate()
    {
        let id = r.id_number.as_str();
        tx.execute(
            "INSERT INTO residents VALUES (?1, ?2, ?3)",
            params![id, r.name, format!("1380000{:04}", 1000 + n)],
        )?;
    }

    // Cases in every status for the first two residents; one keeps moving on the back-office clock.
    let statuses = [
        ("received", "居住证办理", "Residence permit", true),
        (
            "accepted",
            "户籍证明",
            "Household registration certificate",
            false,
        ),
        (
            "reviewing",
            "临时救助申请",
            "Temporary assistance application",
            false,
        ),
        (
            "special",
            "户口迁入",
            "Household registration transfer",
            false,
        ),
        (
            "completed",
            "社保缴费证明",
            "Social insurance contribution certificate",
            false,
        ),
        ("delivered", "居住证签注", "Residence permit renewal", false),
        (
            "rejected",
            "最低生活保障申请",
            "Minimum living allowance application",
            false,
        ),
    ];
    let residents = bianmin_idcard::simulator::demo_residents();
    for (i, (status, zh, en, auto)) in statuses.iter().enumerate() {
        let owner = residents[i % 2].id_number.as_str().to_string();
        let at = (now8() - Duration::days(10 - i as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let case_no = format!("SQ2026{:06}", 100 + i);
        tx.execute(
            "INSERT INTO cases VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'application', ?8, NULL)",
            params![
                case_no,
                owner,
                zh,
                en,
                status,
                at,
                format!("{:06}", 310_000 + i * 7),
                *auto as i64
            ],
        )?;
        tx.execute(
            "INSERT INTO case_events VALUES (?1, 'received', ?2)",
            params![case_no, at],
        )?;
        if *status != "received" {
            tx.execute(
                "INSERT INTO case_events VALUES (?1, ?2, ?3)",
                params![case_no, status, at],
            )?;
        }
        // The back office says why, and what the resident can do, for the cases that need it.
        let note = match *status {
            "rejected" => Some((
                "家庭人均月收入高于本区最低生活保障标准，暂不符合申请条件。",
                "The household's monthly income per person is above the district's minimum living standard.",
                "如家庭收入或人口有变化，可带户口簿和收入证明到B区3号窗口重新申请，或申请临时救助。",
                "If the household's income or members change, bring the household register and proof of income to window B3 to apply again, or apply for temporary assistance.",
            )),
            "special" => Some((
                "需要迁出地公安机关核实户籍信息，核实期间暂停计时。",
                "The police of the place of origin must confirm the household record; the clock stops meanwhile.",
                "无需操作，核实完成后会短信通知您。",
                "Nothing to do: you will get a text message when it is confirmed.",
            )),
            _ => None,
        };
        if let Some((rz, re, nz, ne)) = note {
            tx.execute(
                "INSERT INTO case_notes VALUES (?1, ?2, ?3, ?4, ?5)",
                params![case_no, rz, re, nz, ne],
            )?;
        }
    }
    tx.commit()
}

// ---- The demo residents' records ----

/// Yearly spans from `from` to `to` (`None`: still paying): the base is set anew each January,
/// `growth_pct` higher than the year before, in whole yuan.
fn yearly(
    from: &str,
    to: Option<&str>,
    employer: &str,
    base_fen: i64,
    growth_pct: i64,
    schemes: &[Scheme],
    last: Ym,
) -> Vec<SiSpan> {
    let from = Ym::parse(from).expect("seed month");
    let to = to.map(|t| Ym::parse(t).expect("seed month"));
    let end = to.unwrap_or(last);
    let mut spans = Vec::new();
    let (mut start, mut base) = (from, base_fen);
    while start <= end {
        let year_end = Ym::new(start.year(), 12);
        let open = to.is_none() && year_end >= end;
        spans.push(SiSpan {
            from: start,
            to: if open { None } else { Some(year_end.min(end)) },
            employer: employer.into(),
            base_fen: base,
            schemes: schemes.to_vec(),
            flexible: false,
        });
        start = Ym::new(start.year() + 1, 1);
        base = (base * (100 + growth_pct) / 100 + 50) / 100 * 100;
    }
    spans
}

/// Housing fund deposits on the same base as the social insurance of that employer, from
/// `start` (when the fund was opened there).
fn deposits_like(si: &[SiSpan], employer: &str, rate_pct: i64, start: Option<&str>) -> Vec<HfSpan> {
    let start = start.map(|s| Ym::parse(s).expect("seed month"));
    si.iter()
        .filter(|s| s.employer == employer)
        .filter(|s| start.is_none_or(|st| s.to.is_none_or(|to| to >= st)))
        .map(|s| HfSpan {
            from: start.map_or(s.from, |st| s.from.max(st)),
            to: s.to,
            employer: s.employer.clone(),
            base_fen: s.base_fen,
            rate_pct,
        })
        .collect()
}

fn m(s: &str) -> Ym {
    Ym::parse(s).expect("seed month")
}

/// The n-th demo resident's social insurance, medical insurance and housing fund (if any).
/// See docs/scenarios.md for the table.
pub fn demo_records(n: usize, last: Ym) -> (SiHistory, MiProfile, Option<HfHistory>) {
    use Scheme::*;
    const ALL: [Scheme; 5] = Scheme::ALL;
    let account_no = format!("5101********{:04}", 2300 + n);
    let mi = |insured_type, place: &str, since: &str, visits| MiProfile {
        insured_type,
        insured_place: place.into(),
        since: m(since),
        visits,
        retiree_credit_fen: 0,
    };
    let si = |place: &str, spans: Vec<Vec<SiSpan>>| SiHistory {
        insured_place: place.into(),
        spans: spans.concat(),
        retired_since: None,
        retired_schemes: vec![],
    };
    match n {
        // 张建国: retired 2010 from a factory that paid neither medical nor maternity; his medical
        // insurance is the 城乡居民 scheme; the housing fund was never taken out (sealed).
        0 => {
            let factory = "成都市某某机械厂";
            let mut h = si(
                "成都市成华区",
                vec![
                    yearly(
                        "1993-01",
                        Some("2000-12"),
                        factory,
                        45_000,
                        12,
                        &[Pension, Unemployment],
                        last,
                    ),
                    yearly(
                        "2001-01",
                        Some("2010-03"),
                        factory,
                        110_000,
                        12,
                        &[Pension, Unemployment, WorkInjury],
                        last,
                    ),
                ],
            );
            h.retired_since = Some(m("2010-04"));
            h.retired_schemes = vec![Pension];
            let hf = HfHistory {
                account_no_masked: account_no,
                spans: deposits_like(&h.spans, factory, 8, Some("2000-01")),
                withdrawn_fen: 0,
            };
            (
                h,
                mi(
                    MedicalInsuredType::Resident,
                    "成都市成华区",
                    "2011-01",
                    (2, 5),
                ),
                Some(hf),
            )
        }
        // 李秀英: 断缴 2019-03..2019-08 between two employers.
        1 => {
            let (old, new) = ("成都某某商贸有限公司", "四川某某科技有限公司");
            let h = si(
                "成都市武侯区",
                vec![
                    yearly("2008-07", Some("2019-02"), old, 180_000, 9, &ALL, last),
                    yearly("2019-09", None, new, 650_000, 5, &ALL, last),
                ],
            );
            let hf = HfHistory {
                account_no_masked: account_no,
                spans: [
                    deposits_like(&h.spans, old, 8, None),
                    deposits_like(&h.spans, new, 12, Some("2019-10")),
                ]
                .concat(),
                withdrawn_fen: 3_600_000,
            };
            (
                h,
                mi(
                    MedicalInsuredType::Employee,
                    "成都市武侯区",
                    "2008-07",
                    (1, 4),
                ),
                Some(hf),
            )
        }
        // 王小明: changed employer in 2023.
        2 => {
            let (old, new) = ("成都某某餐饮管理有限公司", "成都某某网络科技有限公司");
            let h = si(
                "成都市高新区",
                vec![
                    yearly("2021-07", Some("2023-02"), old, 420_000, 4, &ALL, last),
                    yearly("2023-03", None, new, 720_000, 6, &ALL, last),
                ],
            );
            let hf = HfHistory {
                account_no_masked: account_no,
                spans: [
                    deposits_like(&h.spans, old, 5, None),
                    deposits_like(&h.spans, new, 10, None),
                ]
                .concat(),
                withdrawn_fen: 0,
            };
            (
                h,
                mi(
                    MedicalInsuredType::Employee,
                    "成都市高新区",
                    "2021-07",
                    (1, 3),
                ),
                Some(hf),
            )
        }
        // 陈美华: retired in 1995 after three years of personal contributions; a retired
        // employee of the employee medical scheme; never had a housing fund account.
        3 => {
            let mut h = si(
                "成都市成华区",
                vec![yearly(
                    "1992-01",
                    Some("1994-12"),
                    "成都市某某纺织厂",
                    30_000,
                    10,
                    &[Pension],
                    last,
                )],
            );
            h.retired_since = Some(m("1995-01"));
            h.retired_schemes = vec![Pension, Medical];
            let mut p = mi(
                MedicalInsuredType::RetiredEmployee,
                "成都市成华区",
                "2002-01",
                (3, 6),
            );
            p.retiree_credit_fen = 11_000;
            (h, p, None)
        }
        // 赵强: two employers, out of work from 2025-06, paying pension and medical himself
        // (灵活就业) since 2025-09; the housing fund is sealed.
        4 => {
            let (first, second) = ("成都某某建筑工程有限公司", "四川某某物流有限公司");
            let mut flexible = yearly(
                "2025-09",
                None,
                "灵活就业(个人缴费)",
                450_000,
                0,
                &[Pension, Medical],
                last,
            );
            for s in &mut flexible {
                s.flexible = true;
            }
            let h = si(
                "成都市青羊区",
                vec![
                    yearly("2000-07", Some("2012-06"), first, 90_000, 10, &ALL, last),
                    yearly("2012-07", Some("2025-05"), second, 420_000, 5, &ALL, last),
                    flexible,
                ],
            );
            let hf = HfHistory {
                account_no_masked: account_no,
                spans: deposits_like(&h.spans, second, 10, None),
                withdrawn_fen: 5_000_000,
            };
            (
                h,
                mi(
                    MedicalInsuredType::Employee,
                    "成都市青羊区",
                    "2000-07",
                    (1, 3),
                ),
                Some(hf),
            )
        }
        // 林嘉欣 (港澳台居民居住证): one employer since 2019.
        5 => {
            let firm = "成都某某咨询有限公司";
            let h = si(
                "成都市锦江区",
                vec![yearly("2019-04", None, firm, 900_000, 4, &ALL, last)],
            );
            let hf = HfHistory {
                account_no_masked: account_no,
                spans: deposits_like(&h.spans, firm, 12, None),
                withdrawn_fen: 0,
            };
            (
                h,
                mi(
                    MedicalInsuredType::Employee,
                    "成都市锦江区",
                    "2019-04",
                    (1, 3),
                ),
                Some(hf),
            )
        }
        _ => {
            let firm = "成都某某服务有限公司";
            let h = si(
                "成都市成华区",
                vec![yearly("2015-01", None, firm, 500_000, 5, &ALL, last)],
            );
            let hf = HfHistory {
                account_no_masked: account_no,
                spans: deposits_like(&h.spans, firm, 8, None),
                withdrawn_fen: 0,
            };
            (
                h,
                mi(
                    MedicalInsuredType::Employee,
                    "成都市成华区",
                    "2015-01",
                    (1, 3),
                ),
                Some(hf),
            )
        }
    }
}

/// The demo residents' records, as the three offices keep them (kinds `social_insurance`,
/// `medical_insurance`, `housing_fund`; a resident without a row has no account there).
fn seed_records(tx: &Connection) -> rusqlite::Result<()> {
    let last = Ym::of(&now8()).plus(-1);
    for (n, r) in bianmin_idcard::simulator::demo_residents()
        .iter()
        .enumerate()
    {
        let (si, mi, hf) = demo_records(n, last);
        let id = r.id_number.as_str();
        let put = |kind: &str, text: String| {
            tx.execute(
                "INSERT INTO accounts VALUES (?1, ?2, ?3)",
                params![id, kind, text],
            )
        };
        put("social_insurance", to_json(&si))?;
        put("medical_insurance", to_json(&mi))?;
        put(
            "civil",
            to_json(&super::civil::demo_record(n, now8().date_naive())),
        )?;
        if let Some(hf) = hf {
            put("housing_fund", to_json(&hf))?;
        }
    }
    Ok(())
}
