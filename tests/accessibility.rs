//! The accessibility audit's rules (src/scenario/accessibility.rs), held to pages built by hand
//! so the audit can be seen to fail: every control labelled, once; touch targets at least 44×44
//! px (60×60 in 长辈模式), none overlapping another; text at least 24 px (32 px in 长辈模式);
//! contrast at least 4.5:1 for text and 3:1 for a control's boundary, from the colours the items
//! are drawn with; every control on screen or scrollable to.
//!
//! The audit of every page × state of the real UI runs in tests/layout.rs, on the same walk as
//! the layout matrix (`check_layout` and `check_accessibility` on each frame).

use bianmin::scenario::audit::{
    contrast, over, AccessibleRole, Node, Rect, Rules, Snapshot, TextNeed,
};
use slint::Color;

// Pages built by hand: each rule finds what it should, and nothing on a good page.

const WHITE: Color = Color::from_rgb_u8(255, 255, 255);
const PAGE: Color = Color::from_rgb_u8(0xf3, 0xf6, 0xfa);
const PRIMARY: Color = Color::from_rgb_u8(0x0b, 0x5c, 0xad);
const TEXT: Color = Color::from_rgb_u8(0x1a, 0x1f, 0x29);

fn rect(x: f32, y: f32, w: f32, h: f32) -> Rect {
    Rect { x, y, w, h }
}

fn window() -> Rect {
    rect(0.0, 0.0, 1080.0, 1920.0)
}

/// A page: a full-window background (node 0).
fn page() -> Vec<Node> {
    let mut bg = Node::new(None, window());
    bg.fill = Some(PAGE);
    bg.paints = true;
    bg.full_window = true;
    vec![bg]
}

fn text(parent: usize, r: Rect, words: &str, ink: Color, size: f32) -> Node {
    let mut t = Node::new(Some(parent), r);
    t.text = Some(TextNeed {
        text: words.into(),
        wraps: false,
        elides: false,
        width: 0.0,
        height: 0.0,
    });
    t.label = words.into();
    t.role = Some(AccessibleRole::Text);
    t.ink = Some(ink);
    t.font_size = size;
    t
}

/// A button (a painted box with role and label) and its label inside, not exposed again.
fn button(nodes: &mut Vec<Node>, parent: usize, r: Rect, label: &str, fill: Color) -> usize {
    let mut b = Node::new(Some(parent), r);
    b.role = Some(AccessibleRole::Button);
    b.label = label.into();
    b.fill = Some(fill);
    b.paints = true;
    b.types = vec!["BigButton".into()];
    nodes.push(b);
    let me = nodes.len() - 1;
    let mut t = text(me, r, label, WHITE, 32.0);
    t.role = Some(AccessibleRole::None);
    nodes.push(t);
    me
}

fn audit(nodes: Vec<Node>, elderly: bool) -> Vec<String> {
    Snapshot::from_nodes(nodes, window(), WHITE)
        .check_accessibility(Rules::new(elderly))
        .problems
}

fn rules_hit(problems: &[String]) -> Vec<&str> {
    let mut r: Vec<&str> = problems
        .iter()
        .map(|p| {
            let open = p.rfind('(').unwrap();
            &p[open + 1..p.len() - 1]
        })
        .collect();
    r.sort();
    r.dedup();
    r
}

#[test]
fn contrast_is_the_wcag_ratio() {
    let black = Color::from_rgb_u8(0, 0, 0);
    assert!((contrast(black, WHITE) - 21.0).abs() < 1e-9);
    assert!((contrast(WHITE, WHITE) - 1.0).abs() < 1e-9);
    // #777777 on white is the classic just-too-light grey: 4.48:1.
    let grey = Color::from_rgb_u8(0x77, 0x77, 0x77);
    assert!((contrast(grey, WHITE) - 4.48).abs() < 0.01);
    // Symmetric.
    assert_eq!(contrast(PRIMARY, WHITE), contrast(WHITE, PRIMARY));
    // A translucent shade over the page: #000 at 2/3 over #f3f6fa is #515253.
    let shade = over(Color::from_argb_u8(0xaa, 0, 0, 0), 1.0, PAGE);
    assert_eq!(
        (shade.red(), shade.green(), shade.blue()),
        (0x51, 0x52, 0x53)
    );
    // Opacity multiplies the colour's alpha.
    let half = over(black, 0.5, WHITE);
    assert_eq!(half.red(), 128);
}

#[test]
fn a_good_page_passes_in_both_text_sizes() {
    let mut n = page();
    n.push(text(
        0,
        rect(40.0, 200.0, 600.0, 60.0),
        "请选择服务",
        TEXT,
        44.0,
    ));
    button(&mut n, 0, rect(40.0, 400.0, 400.0, 150.0), "确认", PRIMARY);
    button(&mut n, 0, rect(480.0, 400.0, 400.0, 150.0), "返回", PRIMARY);
    assert_eq!(audit(n.clone(), false), Vec::<String>::new());
    assert_eq!(audit(n, true), Vec::<String>::new());
}

#[test]
fn each_rule_catches_its_problem() {
    // Too small for a finger (and for 长辈模式 at 50 px).
    let mut n = page();
    button(&mut n, 0, rect(40.0, 400.0, 40.0, 40.0), "确认", PRIMARY);
    assert_eq!(rules_hit(&audit(n, false)), ["target size"]);
    let mut n = page();
    button(&mut n, 0, rect(40.0, 400.0, 50.0, 50.0), "1", PRIMARY);
    assert_eq!(audit(n.clone(), false), Vec::<String>::new());
    assert_eq!(rules_hit(&audit(n, true)), ["target size"]);

    // Two buttons on top of each other.
    let mut n = page();
    button(&mut n, 0, rect(40.0, 400.0, 400.0, 150.0), "确认", PRIMARY);
    button(&mut n, 0, rect(300.0, 450.0, 400.0, 150.0), "返回", PRIMARY);
    // (The upper one's boundary is also lost on the lower one: control contrast.)
    let p = audit(n, false);
    assert!(rules_hit(&p).contains(&"overlap"), "{p:?}");
    let o = p.iter().find(|p| p.ends_with("(overlap)")).unwrap();
    assert!(o.contains("\"确认\"") && o.contains("\"返回\""), "{p:?}");

    // No label; and a label exposed twice (the inner text left as an accessible text).
    let mut n = page();
    button(&mut n, 0, rect(40.0, 400.0, 400.0, 150.0), "", PRIMARY);
    assert_eq!(rules_hit(&audit(n, false)), ["label"]);
    let mut n = page();
    button(&mut n, 0, rect(40.0, 400.0, 400.0, 150.0), "确认", PRIMARY);
    n[2].role = Some(AccessibleRole::Text);
    assert_eq!(rules_hit(&audit(n, false)), ["label twice"]);

    // Small text: 26 px is fine, but not in 长辈模式.
    let mut n = page();
    n.push(text(
        0,
        rect(40.0, 200.0, 600.0, 60.0),
        "需刷卡",
        TEXT,
        26.0,
    ));
    assert_eq!(audit(n.clone(), false), Vec::<String>::new());
    assert_eq!(rules_hit(&audit(n, true)), ["text size"]);
    let mut n = page();
    n.push(text(0, rect(40.0, 200.0, 600.0, 60.0), "小字", TEXT, 20.0));
    assert_eq!(rules_hit(&audit(n, false)), ["text size"]);

    // Light grey text on the page; a pale button on the page (no border).
    let mut n = page();
    n.push(text(
        0,
        rect(40.0, 200.0, 600.0, 60.0),
        "浅灰",
        Color::from_rgb_u8(0x88, 0x88, 0x88),
        32.0,
    ));
    let p = audit(n, false);
    assert_eq!(rules_hit(&p), ["text contrast"]);
    assert!(p[0].contains("#888888 on #f3f6fa"), "{p:?}");
    let mut n = page();
    let b = button(
        &mut n,
        0,
        rect(40.0, 400.0, 400.0, 150.0),
        "确认",
        Color::from_rgb_u8(0xe5, 0xe9, 0xef),
    );
    n[b + 1].ink = Some(TEXT);
    assert_eq!(rules_hit(&audit(n.clone(), false)), ["control contrast"]);
    // A border of the primary colour draws its boundary.
    n[b].border = Some((PRIMARY, 3.0));
    assert_eq!(audit(n.clone(), false), Vec::<String>::new());
    // A disabled control is exempt from the boundary rule (not from the text rules).
    n[b].border = None;
    n[b].enabled = false;
    assert_eq!(audit(n, false), Vec::<String>::new());

    // Off the window.
    let mut n = page();
    button(&mut n, 0, rect(900.0, 400.0, 400.0, 150.0), "确认", PRIMARY);
    assert_eq!(rules_hit(&audit(n, false)), ["off screen"]);
}

#[test]
fn touch_areas_are_controls_unless_a_labelled_control_offers_their_tap() {
    // A bare TouchArea that reacts to a tap: it needs a role and label.
    let mut n = page();
    let mut t = Node::new(Some(0), rect(40.0, 400.0, 400.0, 150.0));
    t.clickable = true;
    t.types = vec!["TouchArea".into()];
    n.push(t.clone());
    let p = audit(n, false);
    assert!(rules_hit(&p).contains(&"label"), "{p:?}");
    // A tap-anywhere backdrop filling its parent, with a labelled button on it: fine.
    let mut n = page();
    let mut t = Node::new(Some(0), window());
    t.clickable = true;
    n.push(t);
    button(
        &mut n,
        0,
        rect(40.0, 400.0, 400.0, 150.0),
        "点击屏幕开始办理",
        PRIMARY,
    );
    assert_eq!(audit(n, false), Vec::<String>::new());
}

#[test]
fn a_modal_shade_is_composited_and_what_lies_under_it_is_not_judged() {
    let mut n = page();
    // Under the shade: a tiny button and pale text, not judged while the dialog is up.
    button(&mut n, 0, rect(40.0, 400.0, 20.0, 20.0), "", PRIMARY);
    n.push(text(
        0,
        rect(40.0, 200.0, 600.0, 60.0),
        "浅灰",
        Color::from_rgb_u8(0xcc, 0xcc, 0xcc),
        12.0,
    ));
    // The shade (#000a over the window) and a white dialog on it.
    let mut shade = Node::new(Some(0), window());
    shade.fill = Some(Color::from_argb_u8(0xaa, 0, 0, 0));
    shade.paints = true;
    shade.full_window = true;
    n.push(shade);
    let s = n.len() - 1;
    let mut dialog = Node::new(Some(s), rect(100.0, 700.0, 880.0, 500.0));
    dialog.fill = Some(WHITE);
    dialog.paints = true;
    n.push(dialog);
    let d = n.len() - 1;
    n.push(text(
        d,
        rect(140.0, 740.0, 800.0, 60.0),
        "秒后将结束",
        TEXT,
        44.0,
    ));
    button(
        &mut n,
        d,
        rect(140.0, 900.0, 800.0, 150.0),
        "继续办理",
        PRIMARY,
    );
    assert_eq!(audit(n.clone(), false), Vec::<String>::new());
    // Text straight on the shade is judged against the shade over the page: dark grey on
    // #515253 fails, white passes.
    n.push(text(
        s,
        rect(140.0, 1300.0, 800.0, 60.0),
        "提示",
        TEXT,
        44.0,
    ));
    let p = audit(n.clone(), false);
    assert_eq!(rules_hit(&p), ["text contrast"]);
    assert!(p[0].contains("on #515253"), "{p:?}");
    let last = n.len() - 1;
    n[last].ink = Some(WHITE);
    assert_eq!(audit(n, false), Vec::<String>::new());
}
