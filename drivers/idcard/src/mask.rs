//! PIPL / GB/T 35273 display masking: what the screen and the paper show of a person.

/// `510108198001011234` → `510108********1234`: the area code and the last four stay visible.
/// Anything that is not 18 characters keeps only its last four.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    if n == 18 {
        let mut s: String = chars[..6].iter().collect();
        s.push_str("********");
        s.extend(&chars[14..]);
        s
    } else if n > 4 {
        let mut s = "*".repeat(n - 4);
        s.extend(&chars[n - 4..]);
        s
    } else {
        "*".repeat(n)
    }
}

/// `张三` → `张*`, `张小三` → `张*三`, `欧阳小明` → `欧**明`; Latin names keep their first letter.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n if chars.iter().all(|c| c.is_ascii()) => {
            let mut s = String::new();
            s.push(chars[0]);
            s.push_str(&"*".repeat(n - 1));
            s
        }
        n => {
            let mut s = String::new();
            s.push(chars[0]);
            s.push_str(&"*".repeat(n - 2));
            s.push(chars[n - 1]);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_keep_area_and_last_four() {
        assert_eq!(mask_id_number("510108198001011234"), "510108********1234");
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        assert_eq!(mask_id_number("A1234567"), "****4567");
        assert_eq!(mask_id_number("123"), "***");
    }

    #[test]
    fn names_keep_first_and_last() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name("JOHN SMITH"), "J*********");
    }
}
