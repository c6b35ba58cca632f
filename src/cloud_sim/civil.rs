//! 居住证/户籍 and 民政救助: what the public security and civil affairs offices know of each
//! demo resident (户籍, residence registration, permits, registered addresses, enrolments), and
//! the judgements the cloud makes from it. See docs/scenarios.md for the residents' situations.

use super::http::CST;
use super::payments::mask_address;
use crate::cloud::api::*;
use bianmin_idcard::IdNumber;
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// The district this simulator's street office belongs to (Site::example()).
pub const DISTRICT: &str = "成华区";
pub const DISTRICT_EN: &str = "Chenghua District";

fn t(zh: &str, en: &str) -> Text {
    Text::new(zh, en)
}

fn today() -> NaiveDate {
    chrono::Utc::now().with_timezone(&CST).date_naive()
}

/// 户籍: where the resident's household is registered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hukou {
    /// In Chengdu (本市户籍): such residents need no residence permit.
    pub local: bool,
    /// e.g. `成华区`, `武侯区`, `绵阳市涪城区`.
    pub district: String,
    pub district_en: String,
    pub address: String,
}

/// A residence permit the resident holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Permit {
    /// `mainland` (居住证) or `hk_mo_tw` (港澳台居民居住证, which takes no 签注).
    pub kind: String,
    pub valid_to: String,
}

/// What the offices know of one resident (kind `civil` in the simulator's `accounts`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CivilRecord {
    /// `None`: no mainland 户籍 (港澳台居民).
    pub hukou: Option<Hukou>,
    /// 居住登记 in this city since (YYYY-MM-DD), for residents without a local 户籍.
    pub registered_since: Option<String>,
    pub permit: Option<Permit>,
    /// Registered addresses (户籍 and residence registration), the ones mail can go to.
    pub addresses: Vec<String>,
    /// Assistance programs the resident already receives.
    pub enrolled: Vec<String>,
}

/// The n-th demo resident's record, with dates relative to `today`.
pub fn demo_record(n: usize, today: NaiveDate) -> CivilRecord {
    let local = |district: &str, district_en: &str, address: &str| Hukou {
        local: true,
        district: district.into(),
        district_en: district_en.into(),
        address: address.into(),
    };
    match n {
        // 张建国: 户籍 here, one address.
        0 => {
            let h = local(
                DISTRICT,
                DISTRICT_EN,
                "四川省成都市成华区建设路街道建设南路18号",
            );
            CivilRecord {
                addresses: vec![h.address.clone()],
                hukou: Some(h),
                registered_since: None,
                permit: None,
                enrolled: vec![],
            }
        }
        // 李秀英: 户籍 in 武侯区, renting in 成华区 (registered there too): two addresses.
        1 => {
            let h = local(
                "武侯区",
                "Wuhou District",
                "四川省成都市武侯区玉林街道玉林北路6号",
            );
            CivilRecord {
                addresses: vec![
                    h.address.clone(),
                    "四川省成都市成华区建设路街道建设南路22号2栋1单元301".into(),
                ],
                hukou: Some(h),
                registered_since: None,
                permit: None,
                enrolled: vec![],
            }
        }
        // 王小明: 户籍 in 绵阳, residence registered here four months ago: no 居住证 yet.
        2 => {
            let since = today.checked_sub_months(Months::new(4)).unwrap_or(today);
            CivilRecord {
                hukou: Some(Hukou {
                    local: false,
                    district: "绵阳市涪城区".into(),
                    district_en: "Fucheng District, Mianyang".into(),
                    address: "四川省绵阳市涪城区城厢街道临园路东段12号".into(),
                }),
                registered_since: Some(since.format("%Y-%m-%d").to_string()),
                permit: None,
                addresses: vec![
                    "四川省成都市成华区建设路街道建设北路二段5号1栋1单元1203".into(),
                    "四川省绵阳市涪城区城厢街道临园路东段12号".into(),
                ],
                enrolled: vec![],
            }
        }
        // 陈美华: 户籍 here, already receives 低保.
        3 => {
            let h = local(
                DISTRICT,
                DISTRICT_EN,
                "四川省成都市成华区猛追湾街道望平街2号",
            );
            CivilRecord {
                addresses: vec![h.address.clone()],
                hukou: Some(h),
                registered_since: None,
                permit: None,
                enrolled: vec!["dibao".into()],
            }
        }
        // 赵强: 户籍 in 青羊区.
        4 => {
            let h = local(
                "青羊区",
                "Qingyang District",
                "四川省成都市青羊区草市街道草市街9号",
            );
            CivilRecord {
                addresses: vec![h.address.clone()],
                hukou: Some(h),
                registered_since: None,
                permit: None,
                enrolled: vec![],
            }
        }
        // 林嘉欣: 港澳台居民, no mainland 户籍; holds a 港澳台居民居住证 (her card).
        _ => CivilRecord {
            hukou: None,
            registered_since: Some("2019-04-01".into()),
            permit: Some(Permit {
                kind: "hk_mo_tw".into(),
                valid_to: "2029-08-31".into(),
            }),
            addresses: vec!["四川省成都市锦江区春熙路街道红星路三段1号".into()],
            enrolled: vec![],
        },
    }
}

// ---- 居住证/户籍 ----

pub fn certificate_types() -> Vec<HouseholdCertificateType> {
    use Pickup::*;
    let id_card = || t("居民身份证", "Resident ID card");
    let ty = |code: &str,
              name: Text,
              requirement: Text,
              materials: Vec<Text>,
              fee_fen: i64,
              processing_days: u32,
              pickup: Vec<Pickup>| HouseholdCertificateType {
        code: code.into(),
        name,
        requirement,
        materials,
        fee_fen,
        processing_days,
        pickup,
        eligibility: None,
    };
    vec![
        ty(
            "residence_permit_new",
            t("居住证申领", "Residence permit (first application)"),
            t(
                "在本市居住登记满半年，并有稳定就业、稳定住所或连续就读之一",
                "Six months of residence registration here, and stable work, housing or schooling",
            ),
            vec![
                id_card(),
                t(
                    "租房合同或房产证明",
                    "Tenancy agreement or proof of ownership",
                ),
                t("现场采集照片", "A photo taken at the window"),
            ],
            0,
            15,
            vec![Window, Locker, Mail],
        ),
        ty(
            "residence_permit_renew",
            t("居住证换领", "Residence permit renewal"),
            t(
                "已持有居住证（到期、损坏或信息有变）",
                "You hold a residence permit (expiring, damaged or with changed details)",
            ),
            vec![id_card(), t("原居住证", "The current residence permit")],
            2_000,
            15,
            vec![Window, Mail],
        ),
        ty(
            "residence_permit_endorse",
            t("居住证签注", "Residence permit endorsement"),
            t(
                "持有本市居住证，每满一年签注一次",
                "You hold a Chengdu residence permit; it is endorsed once a year",
            ),
            vec![t("居住证", "Residence permit")],
            0,
            1,
            vec![Window],
        ),
        ty(
            "household_proof",
            t("户籍证明", "Household registration certificate"),
            t(
                "本市户籍居民，由户籍所在地派出所出具",
                "Chengdu household registration; issued by your registration police station",
            ),
            vec![id_card()],
            0,
            3,
            vec![Window, Locker, Mail],
        ),
        ty(
            "kinship_proof",
            t("亲属关系证明", "Certificate of family relationship"),
            t(
                "本市户籍居民，且亲属关系在户籍档案中可查",
                "Chengdu household registration, with the relationship in the household records",
            ),
            vec![
                id_card(),
                t("户口簿", "Household register"),
                t("亲属的身份证件", "The relative's ID"),
            ],
            0,
            5,
            vec![Window],
        ),
    ]
}

fn yes(reason: Text) -> TypeEligibility {
    TypeEligibility {
        eligible: true,
        reason: Some(reason),
    }
}

fn no(reason: Text) -> TypeEligibility {
    TypeEligibility {
        eligible: false,
        reason: Some(reason),
    }
}

/// Whether the resident (with this record, or none known) may apply for the type.
pub fn type_eligibility(
    code: &str,
    rec: Option<&CivilRecord>,
    today: NaiveDate,
) -> TypeEligibility {
    let Some(rec) = rec else {
        return no(t(
            "未查到您的户籍或居住登记信息，请到窗口核实",
            "No household or residence registration was found for you: please ask at a window",
        ));
    };
    let local = rec.hukou.as_ref().is_some_and(|h| h.local);
    match code {
        "residence_permit_new" => {
            if local {
                return no(t(
                    "您是本市户籍居民，无需办理居住证",
                    "Your household is registered in Chengdu: you need no residence permit",
                ));
            }
            if let Some(p) = &rec.permit {
                return no(Text {
                    zh: format!("您已持有居住证（有效期至{}），可办理换领", p.valid_to),
                    en: format!(
                        "You already hold a residence permit (valid to {}); you can renew it",
                        p.valid_to
                    ),
                });
            }
            let since = rec
                .registered_since
                .as_deref()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
            match since {
                None => no(t(
                    "请先办理居住登记，满半年后可申领居住证",
                    "Register your residence first; you can apply six months later",
                )),
                Some(s) => {
                    let from = s.checked_add_months(Months::new(6)).unwrap_or(s);
                    if today >= from {
                        yes(Text {
                            zh: format!("您自{s}起居住登记已满半年"),
                            en: format!("Your residence has been registered since {s}"),
                        })
                    } else {
                        no(Text {
                            zh: format!("居住登记未满半年（{s}登记），{from}起可申领"),
                            en: format!(
                                "Your residence was registered on {s}, less than six months ago: you can apply from {from}"
                            ),
                        })
                    }
                }
            }
        }
        "residence_permit_renew" => match &rec.permit {
            Some(p) => yes(Text {
                zh: format!("您持有居住证，有效期至{}", p.valid_to),
                en: format!("You hold a residence permit valid to {}", p.valid_to),
            }),
            None => no(t(
                "您还没有居住证，无法换领",
                "You hold no residence permit to renew",
            )),
        },
        "residence_permit_endorse" => match &rec.permit {
            Some(p) if p.kind == "mainland" => yes(Text {
                zh: format!("您持有本市居住证，有效期至{}", p.valid_to),
                en: format!(
                    "You hold a Chengdu residence permit valid to {}",
                    p.valid_to
                ),
            }),
            Some(_) => no(t(
                "港澳台居民居住证无需签注",
                "A residence permit for Hong Kong, Macao and Taiwan residents takes no endorsement",
            )),
            None => no(t(
                "您还没有居住证，无需签注",
                "You hold no residence permit to endorse",
            )),
        },
        "household_proof" | "kinship_proof" => match &rec.hukou {
            Some(h) if h.local => yes(Text {
                zh: format!("您的户籍在成都市{}", h.district),
                en: format!("Your household is registered in {}, Chengdu", h.district_en),
            }),
            Some(h) => no(Text {
                zh: format!("您的户籍在{}，请到户籍所在地派出所办理", h.district),
                en: format!(
                    "Your household is registered in {}: apply at the police station there",
                    h.district_en
                ),
            }),
            None => no(t(
                "未查到您的内地户籍，无法出具",
                "You have no household registration on the mainland",
            )),
        },
        _ => no(t("无法办理", "Not available")),
    }
}

/// Where an application of this type, collected this way, is collected.
pub fn pickup_place(pickup: Pickup, address: &str) -> Text {
    match pickup {
        Pickup::Window => t("便民服务中心 2号窗口", "Window 2, Community Service Centre"),
        Pickup::Locker => t(
            "便民服务中心一楼智能柜",
            "Smart locker, ground floor of the Community Service Centre",
        ),
        Pickup::Mail => {
            let masked = mask_address(address);
            Text {
                zh: format!("邮寄至 {masked}"),
                en: format!("Posted to {masked}"),
            }
        }
    }
}

/// The promised completion date: today + the type's processing days.
pub fn promised_date(processing_days: u32) -> String {
    (today() + chrono::Duration::days(i64::from(processing_days)))
        .format("%Y-%m-%d")
        .to_string()
}

// ---- 民政救助 ----

pub fn programs() -> AssistancePrograms {
    use AssistanceQuestion::*;
    let p = |code: &str,
             name: Text,
             description: Text,
             conditions: Vec<Text>,
             income_limit_fen: i64,
             asks: Vec<AssistanceQuestion>| AssistanceProgram {
        code: code.into(),
        name,
        description,
        conditions,
        income_limit_fen,
        asks,
    };
    let local = || t("户籍在成华区", "Household registered in Chenghua District");
    AssistancePrograms {
        programs: vec![
            p(
                "elderly_subsidy",
                t("高龄津贴", "Advanced-age allowance"),
                t(
                    "80周岁以上户籍老年人按月领取",
                    "A monthly allowance for registered residents aged 80 and over",
                ),
                vec![
                    local(),
                    t(
                        "年满80周岁（按身份证号码计算）",
                        "Aged 80 or over (from the ID number)",
                    ),
                    t(
                        "不需要收入证明",
                        "Income does not matter",
                    ),
                ],
                0,
                vec![],
            ),
            p(
                "dibao",
                t("最低生活保障", "Minimum living allowance"),
                t(
                    "家庭人均月收入低于本区低保标准的家庭",
                    "Households whose monthly income per person is below the district's minimum living standard",
                ),
                vec![
                    local(),
                    t(
                        "家庭人均月收入低于1100元",
                        "Monthly income per household member below 1,100 yuan",
                    ),
                    t(
                        "家庭财产符合规定（房产、车辆、存款）",
                        "Household property within the limits (homes, vehicles, savings)",
                    ),
                    t(
                        "同意核对家庭经济状况",
                        "Consent to a check of the household's finances",
                    ),
                ],
                110_000,
                vec![HouseholdSize, IncomeBand, Phone, FinancialCheckConsent],
            ),
            p(
                "temporary",
                t("临时救助", "Temporary assistance"),
                t(
                    "因急病、事故、灾害等导致基本生活暂时困难的家庭",
                    "Households in temporary hardship after an illness, accident or disaster",
                ),
                vec![
                    t(
                        "因突发事件导致基本生活暂时困难",
                        "Basic living made hard by a sudden event",
                    ),
                    t(
                        "户籍在本区，或在本区居住（急难情形）",
                        "Household registered here, or living here (emergencies)",
                    ),
                    t(
                        "同意核对家庭经济状况",
                        "Consent to a check of the household's finances",
                    ),
                ],
                220_000,
                vec![HouseholdSize, Phone, FinancialCheckConsent],
            ),
            p(
                "heating",
                t("冬季取暖补贴", "Winter heating subsidy"),
                t(
                    "60周岁以上低收入老年人家庭",
                    "Low-income households with members aged 60 and over",
                ),
                vec![
                    local(),
                    t("年满60周岁", "Aged 60 or over"),
                    t(
                        "家庭人均月收入低于3000元",
                        "Monthly income per household member below 3,000 yuan",
                    ),
                ],
                300_000,
                vec![HouseholdSize, IncomeBand, Phone, FinancialCheckConsent],
            ),
        ],
    }
}

/// The legal time limit (working days) and the steps after an application.
pub fn after_application(program: &str) -> (u32, Vec<Text>) {
    match program {
        "elderly_subsidy" => (
            20,
            vec![
                t(
                    "街道核对户籍和年龄",
                    "The street office checks household registration and age",
                ),
                t("公示7天", "Public notice for 7 days"),
                t(
                    "区民政局审批",
                    "Approval by the district civil affairs bureau",
                ),
                t(
                    "次月起按月发放到社保卡",
                    "Paid monthly to the social security card from the next month",
                ),
            ],
        ),
        "temporary" => (
            20,
            vec![
                t("入户调查", "A home visit"),
                t(
                    "街道审批（急难情形先行救助）",
                    "Approval by the street office (emergencies are helped first)",
                ),
                t("公示7天", "Public notice for 7 days"),
                t("发放救助金", "Payment"),
            ],
        ),
        _ => (
            30,
            vec![
                t("家庭经济状况核对", "Check of the household's finances"),
                t("入户调查", "A home visit"),
                t("公示7天", "Public notice for 7 days"),
                t(
                    "区民政局审批",
                    "Approval by the district civil affairs bureau",
                ),
            ],
        ),
    }
}

/// The cloud's verdict from what it knows: age (from the ID number), 户籍 district, enrolments.
/// Means-tested programs are `needs_review` at best; nothing is ever "approved" here.
pub fn assess(program: &AssistanceProgram, id: &str, rec: Option<&CivilRecord>) -> Eligibility {
    use EligibilityVerdict::*;
    let verdict = |verdict, reasons| Eligibility {
        program: program.code.clone(),
        verdict,
        reasons,
    };
    let Some(rec) = rec else {
        return verdict(
            NotEligible,
            vec![t(
                "未查到您的户籍信息，请带户口簿到窗口核实",
                "No household registration was found for you: bring the household register to a window",
            )],
        );
    };
    let today = today();
    let birth = IdNumber::parse(id).ok().and_then(|i| i.birth_date());
    let age = IdNumber::parse(id).map(|i| i.age_on(today)).unwrap_or(0);
    let here = rec
        .hukou
        .as_ref()
        .is_some_and(|h| h.local && h.district == DISTRICT);
    let mut reasons = Vec::new();
    if rec.enrolled.iter().any(|p| p == &program.code) {
        return verdict(
            NotEligible,
            vec![Text {
                zh: format!("您已在享受{}，无需重复申请", program.name.zh),
                en: format!("You already receive the {}", program.name.en.to_lowercase()),
            }],
        );
    }
    if here {
        reasons.push(t(
            "您的户籍在成华区",
            "Your household is registered in Chenghua District",
        ));
    } else if program.code == "temporary" {
        reasons.push(t(
            "您的户籍不在成华区：急难情形可由居住地街道受理",
            "Your household is not registered in Chenghua District: in an emergency the street office where you live takes the case",
        ));
    } else {
        let (zh, en) = match &rec.hukou {
            Some(h) => (
                format!("您的户籍在{}，请向户籍所在地街道申请", h.district),
                format!(
                    "Your household is registered in {}: apply at the street office there",
                    h.district_en
                ),
            ),
            None => (
                "需为成华区户籍居民".to_string(),
                "Only for residents registered in Chenghua District".to_string(),
            ),
        };
        return verdict(NotEligible, vec![Text { zh, en }]);
    }
    match program.code.as_str() {
        "elderly_subsidy" => {
            if age >= 80 {
                reasons.push(Text {
                    zh: format!("按身份证号码，您已年满{age}周岁"),
                    en: format!("By your ID number you are {age}"),
                });
                verdict(LikelyEligible, reasons)
            } else {
                let from = birth
                    .and_then(|b| b.with_year(b.year() + 80))
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                verdict(
                    NotEligible,
                    vec![Text {
                        zh: format!("需年满80周岁：按身份证号码您现年{age}岁，{from}起可申请"),
                        en: format!(
                            "Applicants must be 80 or over: by your ID number you are {age}; you can apply from {from}"
                        ),
                    }],
                )
            }
        }
        "heating" if age < 60 => verdict(
            NotEligible,
            vec![t(
                "需家中有60周岁以上老人（按身份证号码您未满60周岁）",
                "For households with a member aged 60 or over (by your ID number you are under 60)",
            )],
        ),
        _ => {
            reasons.push(t(
                "需核对家庭收入和财产并入户调查，由民政部门审核决定",
                "The household's income and property are checked and a home visit made; the civil affairs office decides",
            ));
            verdict(NeedsReview, reasons)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_residence_permit_needs_six_months_of_registration() {
        let today = date("2026-12-06");
        let wang = demo_record(2, today);
        let e = type_eligibility("residence_permit_new", Some(&wang), today);
        assert!(!e.eligible);
        assert!(e.reason.unwrap().zh.contains("2027-02-06"));
        let later = date("2027-02-06");
        assert!(type_eligibility("residence_permit_new", Some(&wang), later).eligible);
        let zhang = demo_record(0, today);
        assert!(!type_eligibility("residence_permit_new", Some(&zhang), today).eligible);
        assert!(type_eligibility("household_proof", Some(&zhang), today).eligible);
        let lin = demo_record(5, today);
        assert!(type_eligibility("residence_permit_renew", Some(&lin), today).eligible);
        assert!(!type_eligibility("residence_permit_endorse", Some(&lin), today).eligible);
        assert!(!type_eligibility("household_proof", None, today).eligible);
    }
}
