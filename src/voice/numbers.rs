//! Numbers as spoken words, as voice-pack phrase ids: Chinese by the rules of spoken Mandarin
//! (零 for a gap of zeros, 两 before a measure word or a leading 百/千/万/亿, 十 not 一十 at the
//! start, 元角分 for money), English as British usage reads them. The pack holds the pieces
//! (`num.*`, `unit.*`, `letter.*`); these functions only choose them.

use crate::lang::Lang;

const DIGITS: [&str; 10] = [
    "num.0", "num.1", "num.2", "num.3", "num.4", "num.5", "num.6", "num.7", "num.8", "num.9",
];

/// How a number is used: some words change with it (两 before a measure word or unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A value on its own (a page count, a year): 二.
    Value,
    /// A count or amount followed by a measure word (人, 元, 角, 分): 两.
    Count,
}

/// `n` in words.
pub fn integer(n: u64, lang: Lang, how: Use) -> Vec<&'static str> {
    match lang {
        Lang::Zh => zh_integer(n, how),
        Lang::En => en_integer(n),
    }
}

/// Digits read one by one (ticket numbers, order tails): "023" → 零 二 三.
pub fn digits(s: &str) -> Vec<&'static str> {
    s.chars()
        .filter_map(|c| c.to_digit(10).map(|d| DIGITS[d as usize]))
        .collect()
}

/// A queue ticket ("A023") read as residents hear it called: the letter, each digit, then 号
/// (English: the letter and digits).
pub fn ticket(no: &str, lang: Lang) -> Vec<&'static str> {
    let mut out = Vec::new();
    for c in no.chars() {
        if let Some(d) = c.to_digit(10) {
            out.push(DIGITS[d as usize]);
        } else if c.is_ascii_alphabetic() {
            out.push(letter(c.to_ascii_uppercase()));
        }
    }
    if lang == Lang::Zh {
        out.push("unit.hao");
    }
    out
}

fn letter(c: char) -> &'static str {
    const LETTERS: [&str; 26] = [
        "letter.A", "letter.B", "letter.C", "letter.D", "letter.E", "letter.F", "letter.G",
        "letter.H", "letter.I", "letter.J", "letter.K", "letter.L", "letter.M", "letter.N",
        "letter.O", "letter.P", "letter.Q", "letter.R", "letter.S", "letter.T", "letter.U",
        "letter.V", "letter.W", "letter.X", "letter.Y", "letter.Z",
    ];
    LETTERS[(c as u8 - b'A') as usize]
}

/// An amount of money in fen: 12650 → 一百二十六元五角; 12605 → 一百二十六元零五分;
/// 12600 → 一百二十六元整. English: "one hundred and twenty-six point five zero yuan".
pub fn money(fen: u64, lang: Lang) -> Vec<&'static str> {
    let (yuan, jiao, f) = (fen / 100, (fen / 10) % 10, fen % 10);
    match lang {
        Lang::Zh => {
            let mut out = Vec::new();
            if yuan > 0 || (jiao == 0 && f == 0) {
                out.extend(zh_integer(yuan, Use::Count));
                out.push("unit.yuan");
            }
            if jiao == 0 && f == 0 {
                if yuan > 0 {
                    out.push("unit.zheng");
                }
                return out;
            }
            if jiao > 0 {
                out.extend(zh_integer(jiao, Use::Count));
                out.push("unit.jiao");
            } else if yuan > 0 {
                // 一百元零五分: the empty 角 is said as 零.
                out.push("num.0");
            }
            if f > 0 {
                out.extend(zh_integer(f, Use::Count));
                out.push("unit.fen");
            }
            out
        }
        Lang::En => {
            let mut out = en_integer(yuan);
            if jiao > 0 || f > 0 {
                out.push("num.point");
                out.push(DIGITS[jiao as usize]);
                if f > 0 {
                    out.push(DIGITS[f as usize]);
                }
            }
            out.push("unit.yuan");
            out
        }
    }
}

/// A number of people: 两人 / "2 people", "1 person".
pub fn people(n: u64, lang: Lang) -> Vec<&'static str> {
    let mut out = integer(n, lang, Use::Count);
    out.push(if lang == Lang::En && n == 1 {
        "unit.person"
    } else {
        "unit.people"
    });
    out
}

/// One group of four digits (0..=9999), with 零 for inner gaps. `leading`: the first group of
/// the whole number (一十 → 十; 两 may lead).
fn zh_group(g: u64, leading: bool, how: Use, out: &mut Vec<&'static str>) {
    const UNITS: [Option<&str>; 4] = [
        Some("num.thousand"),
        Some("num.hundred"),
        Some("num.10"),
        None,
    ];
    let ds = [g / 1000, (g / 100) % 10, (g / 10) % 10, g % 10];
    let mut zero_pending = false;
    let mut said = false;
    for (i, &d) in ds.iter().enumerate() {
        if d == 0 {
            if said {
                zero_pending = true;
            }
            continue;
        }
        if zero_pending {
            out.push("num.0");
            zero_pending = false;
        }
        let first = leading && !said;
        match (d, UNITS[i]) {
            // 十五, not 一十五, at the start of a number.
            (1, Some("num.10")) if first => {}
            // 两百, 两千 at the head of a number; 两 before a measure word.
            (2, Some("num.hundred" | "num.thousand")) if first => out.push("num.liang"),
            (2, None) if first && how == Use::Count && g == 2 => out.push("num.liang"),
            _ => out.push(DIGITS[d as usize]),
        }
        if let Some(u) = UNITS[i] {
            out.push(u);
        }
        said = true;
    }
}

fn zh_integer(n: u64, how: Use) -> Vec<&'static str> {
    if n == 0 {
        return vec!["num.0"];
    }
    // Groups of four from the top: 亿, 万, units.
    let groups = [
        (n / 100_000_000, Some("num.yi")),
        ((n / 10_000) % 10_000, Some("num.wan")),
        (n % 10_000, None),
    ];
    let mut out = Vec::new();
    let mut started = false;
    let mut gap = false;
    for (g, unit) in groups {
        if g == 0 {
            if started {
                gap = true;
            }
            continue;
        }
        // A group under 1000 after a higher one, or after an empty group: 一万零五.
        if started && (gap || g < 1000) {
            out.push("num.0");
        }
        let leading = !started;
        // A lone 2 as a whole group before 万/亿 reads 两 (两万).
        if leading && g == 2 && unit.is_some() {
            out.push("num.liang");
        } else {
            zh_group(
                g,
                leading,
                if unit.is_some() { Use::Value } else { how },
                &mut out,
            );
        }
        if let Some(u) = unit {
            out.push(u);
        }
        started = true;
        gap = false;
    }
    out
}

fn en_integer(n: u64) -> Vec<&'static str> {
    const SMALL: [&str; 20] = [
        "num.0", "num.1", "num.2", "num.3", "num.4", "num.5", "num.6", "num.7", "num.8", "num.9",
        "num.10", "num.11", "num.12", "num.13", "num.14", "num.15", "num.16", "num.17", "num.18",
        "num.19",
    ];
    const TENS: [&str; 10] = [
        "", "", "num.20", "num.30", "num.40", "num.50", "num.60", "num.70", "num.80", "num.90",
    ];
    fn below_thousand(n: u64, out: &mut Vec<&'static str>, after_higher: bool) {
        let (h, rest) = (n / 100, n % 100);
        if h > 0 {
            out.push(SMALL[h as usize]);
            out.push("num.hundred");
        }
        if rest > 0 && (h > 0 || after_higher) {
            out.push("num.and");
        }
        if rest >= 20 {
            out.push(TENS[(rest / 10) as usize]);
            if rest % 10 > 0 {
                out.push(SMALL[(rest % 10) as usize]);
            }
        } else if rest > 0 {
            out.push(SMALL[rest as usize]);
        }
    }
    if n == 0 {
        return vec!["num.0"];
    }
    let mut out = Vec::new();
    let parts = [
        (n / 1_000_000, Some("num.million")),
        ((n / 1000) % 1000, Some("num.thousand")),
        (n % 1000, None),
    ];
    let mut started = false;
    for (p, unit) in parts {
        if p == 0 {
            continue;
        }
        // "one thousand and five": "and" before a last part under a hundred.
        below_thousand(p, &mut out, started && unit.is_none() && p < 100);
        if let Some(u) = unit {
            out.push(u);
        }
        started = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces' Chinese text, to compare with how a person says it.
    fn zh(ids: &[&str]) -> String {
        ids.iter()
            .map(|id| match *id {
                "num.liang" => "两".to_string(),
                "num.10" => "十".into(),
                "num.hundred" => "百".into(),
                "num.thousand" => "千".into(),
                "num.wan" => "万".into(),
                "num.yi" => "亿".into(),
                "unit.yuan" => "元".into(),
                "unit.jiao" => "角".into(),
                "unit.fen" => "分".into(),
                "unit.zheng" => "整".into(),
                "unit.hao" => "号".into(),
                "unit.people" => "人".into(),
                "num.point" => "点".into(),
                s if s.starts_with("letter.") => s[7..].into(),
                s => {
                    let d: usize = s.trim_start_matches("num.").parse().expect(s);
                    "零一二三四五六七八九"
                        .chars()
                        .nth(d)
                        .expect("digit")
                        .to_string()
                }
            })
            .collect()
    }

    fn en(ids: &[&str]) -> String {
        ids.iter()
            .map(|id| id.trim_start_matches("num.").trim_start_matches("unit."))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn chinese_integers_follow_spoken_rules() {
        let cases = [
            (0, "零"),
            (2, "二"),
            (10, "十"),
            (12, "十二"),
            (20, "二十"),
            (22, "二十二"),
            (105, "一百零五"),
            (110, "一百一十"),
            (200, "两百"),
            (220, "两百二十"),
            (1005, "一千零五"),
            (1050, "一千零五十"),
            (1200, "一千二百"),
            (2000, "两千"),
            (10000, "一万"),
            (10005, "一万零五"),
            (20000, "两万"),
            (100000, "十万"),
            (100500, "十万零五百"),
            (120000, "十二万"),
            (1_000_001, "一百万零一"),
            (1_0001_0000, "一亿零一万"),
            (3_0000_0000, "三亿"),
        ];
        for (n, want) in cases {
            assert_eq!(zh(&integer(n, Lang::Zh, Use::Value)), want, "{n}");
        }
    }

    #[test]
    fn two_before_a_measure_word_is_liang() {
        assert_eq!(zh(&people(2, Lang::Zh)), "两人");
        assert_eq!(zh(&people(12, Lang::Zh)), "十二人");
        assert_eq!(zh(&people(0, Lang::Zh)), "零人");
        assert_eq!(zh(&integer(2, Lang::Zh, Use::Value)), "二");
    }

    #[test]
    fn money_says_yuan_jiao_fen() {
        let cases = [
            (12650, "一百二十六元五角"),
            (12605, "一百二十六元零五分"),
            (12600, "一百二十六元整"),
            (12655, "一百二十六元五角五分"),
            (50, "五角"),
            (5, "五分"),
            (0, "零元"),
            (200, "两元整"),
            (20, "两角"),
            (1050, "十元五角"),
            (10005, "一百元零五分"),
            (1_000_000, "一万元整"),
        ];
        for (fen, want) in cases {
            assert_eq!(zh(&money(fen, Lang::Zh)), want, "{fen}");
        }
        assert_eq!(
            en(&money(12650, Lang::En)),
            "1 hundred and 20 6 point 5 yuan"
        );
        assert_eq!(
            en(&money(12605, Lang::En)),
            "1 hundred and 20 6 point 0 5 yuan"
        );
        assert_eq!(en(&money(300, Lang::En)), "3 yuan");
    }

    #[test]
    fn tickets_are_read_digit_by_digit() {
        assert_eq!(zh(&ticket("A023", Lang::Zh)), "A零二三号");
        assert_eq!(en(&ticket("b105", Lang::En)), "letter.B 1 0 5");
    }

    #[test]
    fn english_integers() {
        assert_eq!(en(&integer(0, Lang::En, Use::Value)), "0");
        assert_eq!(en(&integer(15, Lang::En, Use::Value)), "15");
        assert_eq!(en(&integer(105, Lang::En, Use::Value)), "1 hundred and 5");
        assert_eq!(en(&integer(1005, Lang::En, Use::Value)), "1 thousand and 5");
        assert_eq!(
            en(&integer(21_340, Lang::En, Use::Value)),
            "20 1 thousand 3 hundred and 40"
        );
        assert_eq!(en(&people(1, Lang::En)), "1 person");
    }
}
