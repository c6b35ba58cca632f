//! `check_accessibility`: what a resident who sees poorly, reads poorly or uses a screen reader
//! needs from a page, judged from the same [`Snapshot`] as `check_layout` (accessible roles and
//! labels, absolute geometry, and from Slint's item tree the colours, font sizes and tap
//! handlers the items are drawn and driven with).
//!
//! The rules (each finding names the element and the rule):
//! - **label**: every control (an element with a control's accessible role, or a TouchArea that
//!   reacts to a tap outside any control) has a non-empty accessible label. A tap-anywhere
//!   backdrop (a TouchArea filling its parent with a labelled control on it, e.g. the attract
//!   screen and the countdown dialog's shade) needs none: the control offers the same action.
//! - **label twice**: no element inside a control exposes the control's label again (a screen
//!   reader would read "确认, button, 确认"): the inner Text is `accessible-role: none`.
//! - **target size**: each control is at least 44×44 px (60×60 px in 长辈模式).
//! - **overlap**: no two controls overlap (in one layer; a backdrop is under its controls).
//! - **text size**: every text is at least 24 px (32 px in 长辈模式).
//! - **text contrast**: at least 4.5:1 between a text's colour and what is painted beneath it.
//! - **control contrast**: at least 3:1 between an enabled control's boundary (its background or
//!   a border of 2 px or more) and what it sits on.
//! - **off screen**: a control lies inside the window, or inside a Flickable that does (reusing
//!   the layout check's clip logic: content a resident can scroll to is on screen).
//!
//! Contrast follows WCAG 2.2: each sRGB channel linearised (c ≤ 0.04045 ? c/12.92 :
//! ((c+0.055)/1.055)^2.4), relative luminance L = 0.2126 R + 0.7152 G + 0.0722 B, ratio
//! (L1 + 0.05) / (L2 + 0.05). The colour beneath a point is composited the way the renderer
//! paints: the window's background, then every painting item drawn before the element (in the
//! item tree's paint order) whose visible area holds the point, its colour's alpha times the
//! item's opacity blended over what lies below (so a translucent modal shade darkens the page
//! under it); a point on a border band takes the border's colour. A text is judged at a 3×3
//! grid of points over its visible box, and the worst point counts. Nothing under a modal layer
//! is judged (it cannot be used until the modal goes).

use super::layout::{Node, Rect, Snapshot, SLACK};
use i_slint_backend_testing::AccessibleRole;
use slint::Color;

pub const TEXT_CONTRAST: f64 = 4.5;
pub const CONTROL_CONTRAST: f64 = 3.0;
/// A border this wide (px) or more counts as a control's boundary.
pub const BOUNDARY_WIDTH: f32 = 2.0;

/// The thresholds for one text size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub min_target: f32,
    pub min_font: f32,
}

impl Rules {
    pub fn new(elderly: bool) -> Rules {
        if elderly {
            Rules {
                min_target: 60.0,
                min_font: 32.0,
            }
        } else {
            Rules {
                min_target: 44.0,
                min_font: 24.0,
            }
        }
    }
}

/// What one audit of one page found.
#[derive(Debug, Default, Clone)]
pub struct Audit {
    /// Controls checked (label, size, overlap, contrast, on screen).
    pub controls: usize,
    /// Texts checked (size, contrast).
    pub texts: usize,
    pub problems: Vec<String>,
}

/// sRGB channel → linear light.
fn linear(c: u8) -> f64 {
    let s = c as f64 / 255.0;
    if s <= 0.04045 {
        s / 12.92
    } else {
        ((s + 0.055) / 1.055).powf(2.4)
    }
}

/// WCAG relative luminance of an opaque colour.
pub fn luminance(c: Color) -> f64 {
    0.2126 * linear(c.red()) + 0.7152 * linear(c.green()) + 0.0722 * linear(c.blue())
}

/// WCAG contrast ratio of two opaque colours (1 to 21).
pub fn contrast(a: Color, b: Color) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// `top` (its alpha times `opacity`) painted over the opaque `below`, blended in sRGB as the
/// software renderer blends.
pub fn over(top: Color, opacity: f32, below: Color) -> Color {
    let a = (top.alpha() as f32 / 255.0 * opacity).clamp(0.0, 1.0);
    let mix = |t: u8, b: u8| (t as f32 * a + b as f32 * (1.0 - a)).round() as u8;
    Color::from_rgb_u8(
        mix(top.red(), below.red()),
        mix(top.green(), below.green()),
        mix(top.blue(), below.blue()),
    )
}

fn hex(c: Color) -> String {
    format!("#{:02x}{:02x}{:02x}", c.red(), c.green(), c.blue())
}

/// A 3×3 grid of points over a box (at a sixth, a half and five sixths of each side).
fn grid(r: &Rect) -> impl Iterator<Item = (f32, f32)> + '_ {
    [1.0 / 6.0, 0.5, 5.0 / 6.0].into_iter().flat_map(move |fy| {
        [1.0 / 6.0, 0.5, 5.0 / 6.0]
            .into_iter()
            .map(move |fx| (r.x + r.w * fx, r.y + r.h * fy))
    })
}

fn holds(r: &Rect, (x, y): (f32, f32)) -> bool {
    x >= r.x && x < r.right() && y >= r.y && y < r.bottom()
}

impl Snapshot {
    /// The node's opacity for the audit: a node scrolled out of sight is judged as it will be
    /// drawn when scrolled to.
    fn seen_opacity(&self, n: &Node) -> f32 {
        if n.hidden {
            1.0
        } else {
            n.opacity
        }
    }

    /// Whether the audit looks at node `i`: drawn (or scrollable into sight) and not under a
    /// modal layer.
    fn audited(&self, i: usize) -> bool {
        let n = &self.nodes[i];
        if self.under_modal(i).is_some() || n.rect.w <= 0.0 || n.rect.h <= 0.0 {
            return false;
        }
        if n.hidden {
            // Only what a resident can scroll to (a table row off its page is not made).
            return self
                .outer_flickable(i)
                .is_some_and(|f| !self.nodes[f].hidden);
        }
        n.opacity > 0.0
    }

    /// The area of node `j` that counts for what lies beneath node `i`: where `j` is drawn
    /// now, or for a node `i` scrolled out of sight, where `j` would be with the content
    /// scrolled to `i` (its ancestors reach everywhere; what scrolls with it keeps its place).
    fn area_under(&self, j: usize, i: usize, i_visible: bool) -> Option<Rect> {
        if i_visible {
            return Some(self.drawn(j));
        }
        if self.contains(j, i) {
            return Some(Rect {
                x: f32::MIN / 4.0,
                y: f32::MIN / 4.0,
                w: f32::MAX / 2.0,
                h: f32::MAX / 2.0,
            });
        }
        let f = self.outer_flickable(i)?;
        if !self.contains(f, j) {
            return None;
        }
        Some(
            self.ancestors(j)
                .take_while(|a| *a != f)
                .filter(|a| self.nodes[*a].clips)
                .fold(self.nodes[j].rect, |r, a| r.intersect(&self.nodes[a].rect)),
        )
    }

    /// The colour painted at `p` by the nodes drawn before `upto` (skipping `skip`'s subtree),
    /// as seen under node `i`.
    fn paint_at(
        &self,
        p: (f32, f32),
        i: usize,
        upto: usize,
        skip: Option<usize>,
        i_visible: bool,
    ) -> Color {
        let mut c = self.backdrop;
        for j in 0..upto {
            let n = &self.nodes[j];
            if !n.paints || skip.is_some_and(|s| self.contains(s, j)) {
                continue;
            }
            let opacity = self.seen_opacity(n);
            if opacity <= 0.0 {
                continue;
            }
            let Some(area) = self.area_under(j, i, i_visible) else {
                continue;
            };
            if !holds(&area, p) {
                continue;
            }
            c = self.paint_node(n, opacity, p, c);
        }
        c
    }

    /// Node `n` painted over `below` at `p`: its background, or its border on the band.
    fn paint_node(&self, n: &Node, opacity: f32, p: (f32, f32), below: Color) -> Color {
        let mut c = below;
        if let Some(f) = n.fill {
            c = over(f, opacity, c);
        }
        if let Some((b, w)) = n.border {
            let inner = Rect {
                x: n.rect.x + w,
                y: n.rect.y + w,
                w: n.rect.w - 2.0 * w,
                h: n.rect.h - 2.0 * w,
            };
            if !holds(&inner, p) {
                c = over(b, opacity, c);
            }
        }
        c
    }

    /// The box whose points are sampled for node `i`: its visible part, or all of it when it
    /// is scrolled out of sight.
    fn sample_box(&self, i: usize) -> (Rect, bool) {
        let d = self.drawn(i);
        if !self.nodes[i].hidden && d.w > 0.5 && d.h > 0.5 {
            (d, true)
        } else {
            (self.nodes[i].rect, false)
        }
    }

    /// The worst contrast of text node `i` against what lies beneath it, with the two colours.
    pub fn text_contrast(&self, i: usize) -> Option<(f64, Color, Color)> {
        let n = &self.nodes[i];
        let ink = n.ink?;
        let (area, visible) = self.sample_box(i);
        let opacity = self.seen_opacity(n);
        grid(&area)
            .map(|p| {
                let below = self.paint_at(p, i, i, None, visible);
                let fg = over(ink, opacity, below);
                (contrast(fg, below), fg, below)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }

    /// What draws control `i`'s boundary: itself if it paints; else a painting element inside
    /// it of the same size; else the nearest painted box around it that holds no other control
    /// (a TouchArea filling a painted box, a TextInput in its field's frame).
    fn face(&self, i: usize) -> Option<usize> {
        let same = |k: usize| {
            let (a, b) = (&self.nodes[k].rect, &self.nodes[i].rect);
            (a.x - b.x).abs() <= SLACK
                && (a.y - b.y).abs() <= SLACK
                && (a.w - b.w).abs() <= 2.0 * SLACK
                && (a.h - b.h).abs() <= 2.0 * SLACK
        };
        let n = &self.nodes[i];
        if n.paints {
            return Some(i);
        }
        (i + 1..n.end)
            .find(|k| self.nodes[*k].paints && same(*k))
            .or_else(|| {
                self.ancestors(i)
                    .take_while(|a| !self.nodes[*a].full_window)
                    .find(|a| self.nodes[*a].paints)
                    .filter(|a| {
                        (*a..self.nodes[*a].end)
                            .all(|k| k == i || !self.nodes[k].is_control() || self.contains(i, k))
                    })
            })
    }

    /// The worst contrast of control `i`'s boundary against what it sits on, with the two
    /// colours; `None` if nothing draws a boundary.
    pub fn control_contrast(&self, i: usize) -> Option<(f64, Color, Color)> {
        let f = self.face(i)?;
        let n = &self.nodes[f];
        let opacity = self.seen_opacity(n);
        let (area, visible) = self.sample_box(f);
        grid(&area)
            .map(|p| {
                let below = self.paint_at(p, f, f, Some(f), visible);
                let mut best = (1.0, below, below);
                if let Some(fill) = n.fill {
                    let c = over(fill, opacity, below);
                    best = (contrast(c, below), c, below);
                }
                if let Some((b, w)) = n.border {
                    if w >= BOUNDARY_WIDTH {
                        let c = over(b, opacity, below);
                        let k = contrast(c, below);
                        if k > best.0 {
                            best = (k, c, below);
                        }
                    }
                }
                best
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }

    /// A TouchArea that reacts to a tap but is neither a control nor inside one.
    fn bare_touch(&self, i: usize) -> bool {
        self.nodes[i].clickable && self.control_of(i).is_none()
    }

    /// A bare TouchArea that fills its parent and has a labelled control on it: a tap-anywhere
    /// backdrop, whose action the control offers to fingers and screen readers alike.
    fn backdrop(&self, i: usize) -> bool {
        let n = &self.nodes[i];
        let fills = n.parent.is_none_or(|p| self.nodes[p].rect.inside(&n.rect));
        let layer_end = n.parent.map_or(self.nodes.len(), |p| self.nodes[p].end);
        fills
            && (i + 1..layer_end).any(|k| {
                let c = &self.nodes[k];
                c.is_control() && !c.label.trim().is_empty() && c.rect.inside(&n.rect)
            })
    }

    /// `check_accessibility`: every problem on the page as it is now, under the rules for its
    /// text size.
    pub fn check_accessibility(&self, rules: Rules) -> Audit {
        let mut audit = Audit::default();
        let mut targets: Vec<usize> = Vec::new();
        for i in 0..self.nodes.len() {
            if !self.audited(i) {
                continue;
            }
            let n = &self.nodes[i];
            let control = n.is_control();
            let bare = !control && self.bare_touch(i);
            if control || bare {
                audit.controls += 1;
                self.check_control(i, bare, rules, &mut targets, &mut audit.problems);
            }
            // Every text drawn, decorative ones inside controls too (a typed-in field counts
            // even while empty: what is typed will be drawn with it).
            if n.ink.is_some() && (n.text.is_some() || n.input) {
                audit.texts += 1;
                self.check_text(i, rules, &mut audit.problems);
            }
        }
        // Overlapping targets, in one layer (a modal's buttons are judged among themselves).
        for (a, &i) in targets.iter().enumerate() {
            for &j in &targets[a + 1..] {
                if self.contains(i, j) || self.contains(j, i) || self.layer(i) != self.layer(j) {
                    continue;
                }
                let (ri, rj) = (self.target_area(i, j), self.target_area(j, i));
                if ri.overlaps(&rj) {
                    audit.problems.push(format!(
                        "{} {} overlaps {} {} (overlap)",
                        self.describe(i),
                        self.nodes[i].rect,
                        self.describe(j),
                        self.nodes[j].rect
                    ));
                }
            }
        }
        audit
    }

    /// The area of target `i` compared with target `j`: where it is drawn, or (both in one
    /// scrolling list, one of them scrolled away) where it lies in the list.
    fn target_area(&self, i: usize, j: usize) -> Rect {
        let same_list =
            self.outer_flickable(i).is_some() && self.outer_flickable(i) == self.outer_flickable(j);
        if same_list && (self.nodes[i].hidden || self.nodes[j].hidden) {
            self.nodes[i].rect
        } else if self.nodes[i].hidden {
            Rect {
                x: 0.0,
                y: 0.0,
                w: 0.0,
                h: 0.0,
            }
        } else {
            self.drawn(i)
        }
    }

    fn check_control(
        &self,
        i: usize,
        bare: bool,
        rules: Rules,
        targets: &mut Vec<usize>,
        out: &mut Vec<String>,
    ) {
        let n = &self.nodes[i];
        let me = self.describe(i);
        if bare {
            if self.backdrop(i) {
                return;
            }
            out.push(format!(
                "{me} {} reacts to a tap but has no accessible role and label (label)",
                n.rect
            ));
        } else if n.label.trim().is_empty() {
            out.push(format!("{me} {} has no accessible label (label)", n.rect));
        }
        targets.push(i);
        if n.rect.w + 0.5 < rules.min_target || n.rect.h + 0.5 < rules.min_target {
            out.push(format!(
                "{me} is {:.0}×{:.0} px, under {:.0}×{:.0} (target size)",
                n.rect.w, n.rect.h, rules.min_target, rules.min_target
            ));
        }
        // On screen: the layout check's clip logic, for controls (it judges texts).
        let on_screen = match self.outer_flickable(i) {
            Some(f) => self.nodes[f].rect,
            None => n.rect,
        };
        if !on_screen.inside(&self.window) {
            out.push(format!(
                "{me} {on_screen} is not inside the window {} (off screen)",
                self.window
            ));
        } else if let Some((a, area)) = self.clipped_by(i, true) {
            out.push(format!(
                "{me} {} is clipped by {} {area} (off screen)",
                n.rect,
                self.describe(a)
            ));
        }
        // The label once: no element inside exposes it again.
        if !n.label.trim().is_empty() {
            for k in i + 1..n.end {
                let d = &self.nodes[k];
                let exposed = d.role.is_some_and(|r| r != AccessibleRole::None);
                let says = d.label.trim() == n.label.trim()
                    || d.text
                        .as_ref()
                        .is_some_and(|t| t.text.trim() == n.label.trim());
                if exposed && says {
                    out.push(format!(
                        "{} inside {me} exposes the control's label again (label twice)",
                        self.describe(k)
                    ));
                    break;
                }
            }
        }
        if n.enabled {
            match self.control_contrast(i) {
                None => out.push(format!(
                    "{me} {} draws no boundary (no background or border) (control contrast)",
                    n.rect
                )),
                Some((k, fg, bg)) if k < CONTROL_CONTRAST => out.push(format!(
                    "{me} boundary {} on {} is {k:.2}:1, under {CONTROL_CONTRAST}:1 (control contrast)",
                    hex(fg),
                    hex(bg)
                )),
                Some(_) => {}
            }
        }
    }

    fn check_text(&self, i: usize, rules: Rules, out: &mut Vec<String>) {
        let n = &self.nodes[i];
        let me = self.describe(i);
        if n.font_size + 0.05 < rules.min_font {
            out.push(format!(
                "{me} is {:.1} px, under {:.0} px (text size)",
                n.font_size, rules.min_font
            ));
        }
        if let Some((k, fg, bg)) = self.text_contrast(i) {
            if k < TEXT_CONTRAST {
                out.push(format!(
                    "{me} {} on {} is {k:.2}:1, under {TEXT_CONTRAST}:1 (text contrast)",
                    hex(fg),
                    hex(bg)
                ));
            }
        }
    }
}
