//! Ethnic group codes (GB/T 3304) as carried on ID cards and social-security cards.

/// (code, Chinese name, English name), all 56 groups plus 97 and 98.
pub const ETHNICITIES: [(u8, &str, &str); 58] = [
    (1, "汉族", "Han"),
    (2, "蒙古族", "Mongol"),
    (3, "回族", "Hui"),
    (4, "藏族", "Tibetan"),
    (5, "维吾尔族", "Uyghur"),
    (6, "苗族", "Miao"),
    (7, "彝族", "Yi"),
    (8, "壮族", "Zhuang"),
    (9, "布依族", "Bouyei"),
    (10, "朝鲜族", "Korean"),
    (11, "满族", "Manchu"),
    (12, "侗族", "Dong"),
    (13, "瑶族", "Yao"),
    (14, "白族", "Bai"),
    (15, "土家族", "Tujia"),
    (16, "哈尼族", "Hani"),
    (17, "哈萨克族", "Kazakh"),
    (18, "傣族", "Dai"),
    (19, "黎族", "Li"),
    (20, "傈僳族", "Lisu"),
    (21, "佤族", "Va"),
    (22, "畲族", "She"),
    (23, "高山族", "Gaoshan"),
    (24, "拉祜族", "Lahu"),
    (25, "水族", "Shui"),
    (26, "东乡族", "Dongxiang"),
    (27, "纳西族", "Naxi"),
    (28, "景颇族", "Jingpo"),
    (29, "柯尔克孜族", "Kyrgyz"),
    (30, "土族", "Tu"),
    (31, "达斡尔族", "Daur"),
    (32, "仫佬族", "Mulao"),
    (33, "羌族", "Qiang"),
    (34, "布朗族", "Blang"),
    (35, "撒拉族", "Salar"),
    (36, "毛南族", "Maonan"),
    (37, "仡佬族", "Gelao"),
    (38, "锡伯族", "Xibe"),
    (39, "阿昌族", "Achang"),
    (40, "普米族", "Pumi"),
    (41, "塔吉克族", "Tajik"),
    (42, "怒族", "Nu"),
    (43, "乌孜别克族", "Uzbek"),
    (44, "俄罗斯族", "Russian"),
    (45, "鄂温克族", "Evenki"),
    (46, "德昂族", "De'ang"),
    (47, "保安族", "Bonan"),
    (48, "裕固族", "Yugur"),
    (49, "京族", "Gin"),
    (50, "塔塔尔族", "Tatar"),
    (51, "独龙族", "Derung"),
    (52, "鄂伦春族", "Oroqen"),
    (53, "赫哲族", "Hezhen"),
    (54, "门巴族", "Monba"),
    (55, "珞巴族", "Lhoba"),
    (56, "基诺族", "Jino"),
    (97, "其他", "Other"),
    (
        98,
        "外国血统中国籍人士",
        "Chinese citizen of foreign origin",
    ),
];

pub fn name_zh(code: u8) -> Option<&'static str> {
    ETHNICITIES.iter().find(|e| e.0 == code).map(|e| e.1)
}

pub fn name_en(code: u8) -> Option<&'static str> {
    ETHNICITIES.iter().find(|e| e.0 == code).map(|e| e.2)
}

/// Cards print the name without the 族 suffix on some layouts (e.g. "汉"); accept both.
pub fn code_for_name(name: &str) -> Option<u8> {
    let name = name.trim();
    ETHNICITIES
        .iter()
        .find(|e| e.1 == name || e.1.strip_suffix('族') == Some(name))
        .map(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_groups_present_with_unique_codes() {
        let mut codes: Vec<u8> = ETHNICITIES.iter().map(|e| e.0).collect();
        codes.dedup();
        assert_eq!(codes.len(), 58);
        assert_eq!((1..=56).filter(|c| name_zh(*c).is_some()).count(), 56);
        assert_eq!(name_zh(1), Some("汉族"));
        assert_eq!(name_zh(56), Some("基诺族"));
        assert_eq!(name_en(5), Some("Uyghur"));
        assert_eq!(name_zh(57), None);
    }

    #[test]
    fn names_with_and_without_suffix() {
        assert_eq!(code_for_name("汉"), Some(1));
        assert_eq!(code_for_name("蒙古族"), Some(2));
        assert_eq!(code_for_name("其他"), Some(97));
        assert_eq!(code_for_name("火星族"), None);
    }
}
