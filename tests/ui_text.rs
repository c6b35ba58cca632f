//! Every user-visible string: translated into English, and drawable with the embedded font
//! (Slint silently draws nothing for a glyph no font has). Plus rendered pages that really
//! carry text in both languages.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const UI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");

/// `@tr("…")` msgids in every .slint file, with where they are.
fn msgids() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![Path::new(UI).to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "slint") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let mut rest = line;
                    while let Some(i) = rest.find("@tr(\"") {
                        let after = &rest[i + 5..];
                        let end = after.find('"').expect("closing quote");
                        out.entry(after[..end].to_string()).or_insert(format!(
                            "{}:{}",
                            p.display(),
                            n + 1
                        ));
                        rest = &after[end..];
                    }
                }
            }
        }
    }
    out
}

fn po(lang: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("{UI}/translations/{lang}/LC_MESSAGES/bianmin.po"))
        .unwrap();
    assert!(
        !text.contains("#, fuzzy"),
        "{lang}: fuzzy entries are not translations"
    );
    let mut out = BTreeMap::new();
    let mut id: Option<String> = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("msgid \"") {
            id = Some(v.trim_end_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("msgstr \"") {
            if let Some(k) = id.take() {
                out.insert(k, v.trim_end_matches('"').to_string());
            }
        }
    }
    out
}

#[test]
fn every_string_has_an_english_and_chinese_translation() {
    let ids = msgids();
    assert!(ids.len() > 80, "found {} strings", ids.len());
    for lang in ["en", "zh_CN"] {
        let table = po(lang);
        for (id, at) in &ids {
            let t = table
                .get(id)
                .unwrap_or_else(|| panic!("{lang}: no translation for {id:?} ({at})"));
            assert!(!t.is_empty(), "{lang}: empty translation for {id:?} ({at})");
            assert_eq!(
                t.matches("{}").count(),
                id.matches("{}").count(),
                "{lang}: placeholders differ for {id:?}"
            );
        }
    }
    let en = po("en");
    let untranslated: Vec<&String> = ids
        .keys()
        .filter(|id| en[*id] == **id && id.chars().any(|c| c as u32 > 0x2e80))
        .collect();
    assert!(
        untranslated.is_empty(),
        "Chinese left in English: {untranslated:?}"
    );
}

#[test]
fn the_embedded_font_covers_every_ui_string_and_demo_name() {
    let mut chars: std::collections::BTreeSet<char> = std::collections::BTreeSet::new();
    for (id, _) in msgids() {
        chars.extend(id.chars());
    }
    for lang in ["en", "zh_CN"] {
        for (_, t) in po(lang) {
            chars.extend(t.chars());
        }
    }
    for r in bianmin_idcard::simulator::demo_residents() {
        chars.extend(r.name_masked().chars());
        chars.extend(r.address.chars());
    }
    chars.extend("✓!i0123456789".chars());
    for face in ["BianminSans-Regular.otf", "BianminSans-Bold.otf"] {
        let data = std::fs::read(format!("{UI}/fonts/{face}")).unwrap();
        let font = ttf_parser::Face::parse(&data, 0).unwrap();
        let family = font
            .names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::FAMILY)
            .and_then(|n| n.to_string());
        assert_eq!(
            family.as_deref(),
            Some("Bianmin Sans"),
            "{face} is the family app.slint asks for"
        );
        let missing: String = chars
            .iter()
            .filter(|c| !c.is_whitespace() && font.glyph_index(**c).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "{face} lacks {missing:?}: run python3 ui/fonts/make-subset.py"
        );
    }
    assert!(
        Path::new(&format!("{UI}/fonts/OFL.txt")).exists(),
        "the font's licence ships with it"
    );
}

/// The on-screen keyboard offers only what the embedded font draws: every pinyin candidate
/// (src/pinyin/make-dict.py trims the table to the font) and every key's symbol.
#[test]
fn the_embedded_font_covers_every_pinyin_candidate_and_key() {
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/pinyin/pinyin_simp.txt"
    ))
    .unwrap();
    let mut chars: std::collections::BTreeSet<char> = std::collections::BTreeSet::new();
    let mut words = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        for pair in line.split('\t').skip(1) {
            let (word, _) = pair.split_once(' ').expect("word weight");
            chars.extend(word.chars());
            words += 1;
        }
    }
    assert!(words > 50_000, "the table holds {words} words");
    assert!(chars.len() > 6_000, "{} characters", chars.len());
    // The keys' symbols: every string literal in the keyboard's file.
    let keyboard = std::fs::read_to_string(format!("{UI}/components/keyboard.slint")).unwrap();
    for literal in keyboard.split('"').skip(1).step_by(2) {
        chars.extend(literal.chars());
    }
    for face in ["BianminSans-Regular.otf", "BianminSans-Bold.otf"] {
        let data = std::fs::read(format!("{UI}/fonts/{face}")).unwrap();
        let font = ttf_parser::Face::parse(&data, 0).unwrap();
        let missing: String = chars
            .iter()
            .filter(|c| !c.is_whitespace() && font.glyph_index(**c).is_none())
            .take(40)
            .collect();
        assert!(
            missing.is_empty(),
            "{face} lacks {missing:?}: run python3 src/pinyin/make-dict.py after the font changed"
        );
    }
}

fn render(page: &str, lang: &str, out: &Path) -> Vec<u8> {
    let status = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "screenshot",
            "--page",
            page,
            "--lang",
            lang,
            "--out",
            out.to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .status()
        .unwrap();
    assert!(status.success());
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1080, 1920));
    buf.truncate(info.buffer_size());
    buf
}

/// Pixels close to `rgb` inside rows `y0..y1`.
fn count_near(rgba: &[u8], y0: usize, y1: usize, rgb: (u8, u8, u8), tol: i32) -> usize {
    rgba[y0 * 1080 * 4..y1 * 1080 * 4]
        .chunks(4)
        .filter(|p| {
            (p[0] as i32 - rgb.0 as i32).abs() <= tol
                && (p[1] as i32 - rgb.1 as i32).abs() <= tol
                && (p[2] as i32 - rgb.2 as i32).abs() <= tol
        })
        .count()
}

#[test]
fn pages_render_their_text_in_both_languages() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui_text");
    std::fs::create_dir_all(&dir).unwrap();
    let zh = render("home", "zh", &dir.join("home-zh.png"));
    let en = render("home", "en", &dir.join("home-en.png"));
    for (lang, img) in [("zh", &zh), ("en", &en)] {
        // Tile titles are drawn in the dark primary colour; without glyphs there would be none.
        let ink = count_near(img, 250, 1650, (0x07, 0x42, 0x7d), 12);
        assert!(ink > 20_000, "{lang}: tile titles drew only {ink} pixels");
        // White text on the blue title bar.
        let title = count_near(img, 0, 130, (255, 255, 255), 8);
        assert!(
            title > 6_000,
            "{lang}: title bar text drew only {title} pixels"
        );
    }
    assert_ne!(zh, en, "the two languages look different");
}
