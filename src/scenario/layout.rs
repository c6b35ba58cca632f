//! What a resident can actually see: `expect_visible` (one text is drawn inside the window, not
//! clipped by any ancestor, not cut by its own box and not covered by anything drawn above it)
//! and `check_layout` (every text on the page passes those checks and overlaps no other text or
//! control it does not belong to).
//!
//! The element list, accessible labels, roles and absolute geometry come from
//! `i_slint_backend_testing::ElementHandle`. That API cannot say which elements clip their
//! children, which paint a background (and so cover what lies under them), who an element's
//! parent is, or how much room a text needs. Those four facts are read from Slint's item tree
//! through `slint::private_unstable_api` (pinned to Slint 1.18.1 in Cargo.toml): `clips_children`,
//! the background brushes, the item tree's parent links, and a text item's own `layout_info`
//! (its implicit size at its laid-out width — what a layout would give it). Both walks visit the
//! same items in the same order; every snapshot checks that they agree and refuses to judge when
//! they do not.

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use slint::private_unstable_api::re_exports as sx;
use slint::ComponentHandle;
use std::ops::ControlFlow;

/// Layout rounding: boxes may differ from what they need by this much.
pub(super) const SLACK: f32 = 1.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub(super) fn right(&self) -> f32 {
        self.x + self.w
    }
    pub(super) fn bottom(&self) -> f32 {
        self.y + self.h
    }
    /// `self` lies inside `outer` (with the rounding slack).
    pub(super) fn inside(&self, outer: &Rect) -> bool {
        self.x >= outer.x - SLACK
            && self.y >= outer.y - SLACK
            && self.right() <= outer.right() + SLACK
            && self.bottom() <= outer.bottom() + SLACK
    }
    /// The two rectangles share more than a rounding sliver.
    pub(super) fn overlaps(&self, o: &Rect) -> bool {
        let w = self.right().min(o.right()) - self.x.max(o.x);
        let h = self.bottom().min(o.bottom()) - self.y.max(o.y);
        w > SLACK && h > SLACK
    }
    pub(super) fn intersect(&self, o: &Rect) -> Rect {
        let x = self.x.max(o.x);
        let y = self.y.max(o.y);
        Rect {
            x,
            y,
            w: (self.right().min(o.right()) - x).max(0.0),
            h: (self.bottom().min(o.bottom()) - y).max(0.0),
        }
    }
}

impl std::fmt::Display for Rect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({:.0},{:.0} {:.0}×{:.0})",
            self.x, self.y, self.w, self.h
        )
    }
}

/// What a text needs: its implicit size at its laid-out width.
#[derive(Debug, Clone)]
pub struct TextNeed {
    pub text: String,
    pub wraps: bool,
    pub elides: bool,
    /// Single-line width (no wrap) or the longest word (word wrap).
    pub width: f32,
    /// Height of all its lines at its laid-out width.
    pub height: f32,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub parent: Option<usize>,
    /// One past the last node of this node's subtree (pre-order).
    pub end: usize,
    /// The .slint type names of the elements on this item, outermost first (e.g. "BigButton").
    pub types: Vec<String>,
    pub label: String,
    pub value: String,
    pub role: Option<AccessibleRole>,
    pub rect: Rect,
    pub opacity: f32,
    pub clips: bool,
    /// The Flickable that scrolls this node's parent chain, if this node is a Flickable.
    pub flickable: bool,
    /// Paints a background or border (so covers what lies below it).
    pub paints: bool,
    /// A translucent or opaque rectangle over the whole window: a modal layer.
    pub full_window: bool,
    pub image: bool,
    pub text: Option<TextNeed>,
    /// Scrolled out of its Flickable (or otherwise clipped away): its role and label come from
    /// the item tree, its opacity is taken as its own (not 0), for the accessibility audit.
    pub hidden: bool,
    /// `accessible-enabled` (a disabled control is exempt from the control contrast rule).
    pub enabled: bool,
    /// The background colour it paints, if any (a gradient's first stop).
    pub fill: Option<slint::Color>,
    /// Its border: colour and width, if it draws one.
    pub border: Option<(slint::Color, f32)>,
    /// A Text's or TextInput's colour and font size in logical pixels.
    pub ink: Option<slint::Color>,
    pub font_size: f32,
    /// A TextInput (typed text is text too: size and contrast rules).
    pub input: bool,
    /// A TouchArea that reacts to a tap: enabled, with a `clicked` handler.
    pub clickable: bool,
}

impl Node {
    /// A node with nothing but its parent and place, drawn, enabled, painting nothing (for
    /// pages built by hand; set what it is on the result).
    pub fn new(parent: Option<usize>, rect: Rect) -> Node {
        Node {
            parent,
            end: 0,
            types: Vec::new(),
            label: String::new(),
            value: String::new(),
            role: None,
            rect,
            opacity: 1.0,
            clips: false,
            flickable: false,
            paints: false,
            full_window: false,
            image: false,
            text: None,
            hidden: false,
            enabled: true,
            fill: None,
            border: None,
            ink: None,
            font_size: 0.0,
            input: false,
            clickable: false,
        }
    }

    pub(super) fn is_control(&self) -> bool {
        matches!(
            self.role,
            Some(
                AccessibleRole::Button
                    | AccessibleRole::Checkbox
                    | AccessibleRole::Switch
                    | AccessibleRole::TextInput
                    | AccessibleRole::Combobox
                    | AccessibleRole::Slider
                    | AccessibleRole::Spinbox
                    | AccessibleRole::Tab
            )
        )
    }
}

/// See [`Snapshot::reach`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reach {
    Ready,
    /// Scroll this way (its sign) to bring the control into sight.
    Scroll(f32),
}

pub struct Snapshot {
    pub nodes: Vec<Node>,
    pub window: Rect,
    /// The window's own background, under every item.
    pub backdrop: slint::Color,
}

impl Snapshot {
    /// Reads the window's element tree as it is now. A page that has not been drawn since it
    /// changed may still be settling its layout (e.g. the table page making the rows that fit)
    /// while it is read: then the two walks disagree, and it is read again.
    pub fn take(ui: &impl ComponentHandle) -> Result<Snapshot, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match Snapshot::take_once(ui) {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn take_once(ui: &impl ComponentHandle) -> Result<Snapshot, String> {
        let size = ui.window().size().to_logical(ui.window().scale_factor());
        let window = Rect {
            x: 0.0,
            y: 0.0,
            w: size.width,
            h: size.height,
        };
        let inner = sx::WindowInner::from_pub(ui.window());
        let adapter = inner.window_adapter();
        let root = inner
            .window_item_rc()
            .ok_or("the window has no item tree")?;
        // Materialise every repeater and conditional before either walk.
        root.visit_descendants(|_| ControlFlow::<()>::Continue(()));
        // The public walk: one handle per element, items hidden by a clip skipped.
        let mut handles: Vec<ElementHandle> = Vec::new();
        ui.root_element().visit_descendants(|e| {
            handles.push(e);
            ControlFlow::<()>::Continue(())
        });
        let mut items: Vec<(sx::ItemRc, Option<usize>)> = Vec::new();
        fn walk(
            item: &sx::ItemRc,
            parent: Option<usize>,
            out: &mut Vec<(sx::ItemRc, Option<usize>)>,
        ) {
            let mut child = item.first_child();
            while let Some(c) = child {
                let me = out.len();
                out.push((c.clone(), parent));
                walk(&c, Some(me), out);
                child = c.next_sibling();
            }
        }
        walk(&root, None, &mut items);

        let mut nodes: Vec<Node> = Vec::with_capacity(items.len());
        let mut h = 0usize;
        for (item, parent) in &items {
            let g = item.geometry();
            let o = item.map_to_window(g.origin);
            let rect = Rect {
                x: o.x,
                y: o.y,
                w: g.size.width,
                h: g.size.height,
            };
            let count = item.element_count().unwrap_or(0);
            let mut types = Vec::new();
            let mut label = String::new();
            let mut value = String::new();
            let mut role = None;
            let mut opacity = 1.0;
            let mut enabled = true;
            let hidden = !item.is_visible();
            if !hidden {
                for k in 0..count {
                    let e = handles.get(h + k).ok_or_else(|| {
                        "the element walk and the item walk disagree (too few elements)".to_string()
                    })?;
                    let p = e.absolute_position();
                    let s = e.size();
                    if (p.x - rect.x).abs() > 0.5
                        || (p.y - rect.y).abs() > 0.5
                        || (s.width - rect.w).abs() > 0.5
                        || (s.height - rect.h).abs() > 0.5
                    {
                        return Err(format!(
                            "the element walk and the item walk disagree at element {}",
                            h + k
                        ));
                    }
                    if let Some(t) = e.type_name() {
                        if !t.is_empty() && !types.iter().any(|x: &String| x == t.as_str()) {
                            types.push(t.to_string());
                        }
                    }
                    if k == 0 {
                        label = e.accessible_label().unwrap_or_default().to_string();
                        value = e.accessible_value().unwrap_or_default().to_string();
                        role = e.accessible_role();
                        opacity = e.computed_opacity();
                        enabled = e.accessible_enabled() != Some(false);
                    }
                }
                h += count;
            } else {
                // Hidden by a clip: not in the public walk; the item tree still says what it is.
                opacity = 0.0;
                role = Some(item.accessible_role());
                let prop = |p| {
                    item.accessible_string_property(p)
                        .unwrap_or_default()
                        .to_string()
                };
                label = prop(sx::AccessibleStringProperty::Label);
                value = prop(sx::AccessibleStringProperty::Value);
                enabled = prop(sx::AccessibleStringProperty::Enabled) != "false";
            }
            let r = item.borrow();
            let clips = r.as_ref().clips_children();
            let flickable = sx::ItemRef::downcast_pin::<sx::Flickable>(r).is_some();
            let colour = |b: sx::Brush| (!b.is_transparent()).then(|| b.color());
            let edge = |b: sx::Brush, w: sx::LogicalLength| {
                colour(b).filter(|_| w.get() > 0.0).map(|c| (c, w.get()))
            };
            let (fill, border) = if let Some(x) = sx::ItemRef::downcast_pin::<sx::Rectangle>(r) {
                (colour(x.background()), None)
            } else if let Some(x) = sx::ItemRef::downcast_pin::<sx::BasicBorderRectangle>(r) {
                (
                    colour(x.background()),
                    edge(x.border_color(), x.border_width()),
                )
            } else if let Some(x) = sx::ItemRef::downcast_pin::<sx::BorderRectangle>(r) {
                (
                    colour(x.background()),
                    edge(x.border_color(), x.border_width()),
                )
            } else {
                (None, None)
            };
            let paints = fill.is_some() || border.is_some();
            let clickable = sx::ItemRef::downcast_pin::<sx::TouchArea>(r)
                .is_some_and(|t| t.enabled() && t.clicked.has_handler());
            let image = sx::ItemRef::downcast_pin::<sx::ImageItem>(r).is_some()
                || sx::ItemRef::downcast_pin::<sx::ClippedImage>(r).is_some();
            let need = |text: sx::SharedString, wrap: sx::TextWrap, overflow: sx::TextOverflow| {
                let hor = r
                    .as_ref()
                    .layout_info(sx::Orientation::Horizontal, -1.0, &adapter, item);
                let ver = r
                    .as_ref()
                    .layout_info(sx::Orientation::Vertical, rect.w, &adapter, item);
                let wraps = wrap != sx::TextWrap::NoWrap;
                TextNeed {
                    text: text.to_string(),
                    wraps,
                    elides: overflow == sx::TextOverflow::Elide,
                    // A wrapping text needs its longest word; any other its whole line. For
                    // an eliding one `min` is the ellipsis, so ask for the whole line too.
                    width: if wraps && overflow == sx::TextOverflow::Clip {
                        hor.min
                    } else {
                        hor.preferred
                    },
                    height: ver.preferred,
                }
            };
            let text = if let Some(t) = sx::ItemRef::downcast_pin::<sx::SimpleText>(r) {
                Some(need(t.text(), sx::TextWrap::NoWrap, sx::TextOverflow::Clip))
            } else {
                sx::ItemRef::downcast_pin::<sx::ComplexText>(r)
                    .map(|t| need(t.text(), t.wrap(), t.overflow()))
            }
            .filter(|t| !t.text.trim().is_empty());
            // What the text is drawn with: its colour and size (an unset size is the window's
            // default font size).
            let (ink, size, input) = if let Some(t) = sx::ItemRef::downcast_pin::<sx::SimpleText>(r)
            {
                (Some(t.color().color()), t.font_size().get(), false)
            } else if let Some(t) = sx::ItemRef::downcast_pin::<sx::ComplexText>(r) {
                (Some(t.color().color()), t.font_size().get(), false)
            } else if let Some(t) = sx::ItemRef::downcast_pin::<sx::TextInput>(r) {
                (Some(t.color().color()), t.font_size().get(), true)
            } else {
                (None, 0.0, false)
            };
            let font_size = if ink.is_some() && size <= 0.0 {
                sx::WindowItem::resolved_default_font_size(item.item_tree().clone()).get()
            } else {
                size
            };
            let full_window = paints
                && rect.x <= window.x + SLACK
                && rect.y <= window.y + SLACK
                && rect.right() >= window.right() - SLACK
                && rect.bottom() >= window.bottom() - SLACK;
            nodes.push(Node {
                parent: *parent,
                end: 0,
                types,
                label,
                value,
                role,
                rect,
                opacity,
                clips,
                flickable,
                paints,
                full_window,
                image,
                text,
                hidden,
                enabled,
                fill,
                border,
                ink,
                font_size,
                input,
                clickable,
            });
        }
        if h != handles.len() {
            return Err(format!(
                "the element walk and the item walk disagree ({} elements, {} matched)",
                handles.len(),
                h
            ));
        }
        let backdrop = sx::ItemRef::downcast_pin::<sx::WindowItem>(root.borrow())
            .map(|w| w.background().color())
            .unwrap_or(slint::Color::from_rgb_u8(255, 255, 255));
        Ok(Snapshot::from_nodes(nodes, window, backdrop))
    }

    /// A snapshot of nodes in paint order (pre-order, a parent before its children), their
    /// subtree ends filled in from the parent links. `take` reads them from the window; tests
    /// build pages by hand.
    pub fn from_nodes(mut nodes: Vec<Node>, window: Rect, backdrop: slint::Color) -> Snapshot {
        for n in nodes.iter_mut() {
            n.end = 0;
        }
        // Pre-order: a subtree is contiguous.
        for i in (0..nodes.len()).rev() {
            if nodes[i].end == 0 {
                nodes[i].end = i + 1;
            }
            if let Some(p) = nodes[i].parent {
                nodes[p].end = nodes[p].end.max(nodes[i].end);
            }
        }
        Snapshot {
            nodes,
            window,
            backdrop,
        }
    }

    pub(super) fn ancestors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.nodes[i].parent, move |p| self.nodes[*p].parent)
    }

    pub(super) fn contains(&self, outer: usize, i: usize) -> bool {
        outer <= i && i < self.nodes[outer].end
    }

    /// A short name for a node: its component, its text or label, and the control it is in.
    pub fn describe(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let kind = if n.text.is_some() {
            "Text".to_string()
        } else if n.image {
            "Image".to_string()
        } else {
            n.types.first().cloned().unwrap_or_else(|| "element".into())
        };
        let words = n
            .text
            .as_ref()
            .map(|t| t.text.clone())
            .filter(|t| !t.is_empty())
            .or_else(|| Some(n.label.clone()).filter(|l| !l.is_empty()))
            .or_else(|| {
                // An unlabelled box: name it by the first text inside (e.g. a toast).
                (i + 1..n.end)
                    .find_map(|k| self.nodes[k].text.as_ref().map(|t| t.text.clone()))
                    .map(|t| format!("with {t:?}"))
            });
        let mut s = match words {
            Some(w) if w.starts_with("with ") => format!("{kind} {w}"),
            Some(w) => format!("{kind} {w:?}"),
            None => kind,
        };
        // The nearest named component around it (e.g. the tile or button it sits in).
        if let Some(owner) = self.ancestors(i).find(|a| {
            let t = self.nodes[*a].types.first();
            t.is_some_and(|t| {
                !matches!(
                    t.as_str(),
                    "Rectangle"
                        | "VerticalLayout"
                        | "HorizontalLayout"
                        | "GridLayout"
                        | "Text"
                        | "TouchArea"
                        | "Flickable"
                        | "Empty"
                )
            })
        }) {
            let o = &self.nodes[owner];
            let name = o.types.first().cloned().unwrap_or_default();
            if o.label.is_empty() || o.label == self.nodes[i].label {
                s.push_str(&format!(" in {name}"));
            } else {
                s.push_str(&format!(" in {name} {:?}", o.label));
            }
        }
        s
    }

    /// The area of `i` that its clipping ancestors let through, and the first ancestor that
    /// cuts it. `scrolling`: a Flickable's viewport counts as the scrollable content area,
    /// not the part on screen now (content a resident can scroll to is not clipped).
    pub(super) fn clipped_by(&self, i: usize, scrolling: bool) -> Option<(usize, Rect)> {
        let r = self.nodes[i].rect;
        let mut chain: Vec<usize> = self.ancestors(i).collect();
        chain.reverse();
        for a in chain {
            let n = &self.nodes[a];
            if !n.clips {
                continue;
            }
            let area = if n.flickable && scrolling {
                // The viewport (its first child) is the content; the Flickable scrolls over it.
                match self.nodes.get(a + 1).filter(|v| v.parent == Some(a)) {
                    Some(vp) => {
                        let top = vp.rect.y.min(n.rect.y);
                        let bottom = vp.rect.bottom().max(n.rect.bottom());
                        Rect {
                            x: n.rect.x,
                            y: top,
                            w: n.rect.w,
                            h: bottom - top,
                        }
                    }
                    None => n.rect,
                }
            } else {
                n.rect
            };
            if !r.inside(&area) {
                return Some((a, area));
            }
        }
        None
    }

    /// The part of node `i` that its clipping ancestors (and the window) let be drawn now.
    pub(super) fn drawn(&self, i: usize) -> Rect {
        self.ancestors(i)
            .filter(|a| self.nodes[*a].clips)
            .fold(self.nodes[i].rect.intersect(&self.window), |r, a| {
                r.intersect(&self.nodes[a].rect)
            })
    }

    /// Whether node `i` sits under a modal layer (a full-window overlay drawn after it).
    pub(super) fn under_modal(&self, i: usize) -> Option<usize> {
        (self.nodes[i].end..self.nodes.len()).find(|j| {
            self.nodes[*j].full_window && !self.contains(*j, i) && self.nodes[*j].opacity > 0.0
        })
    }

    /// The layer a node is drawn in: the last full-window box (the page, a modal backdrop)
    /// drawn at or before it. Nodes of different layers are not compared.
    pub(super) fn layer(&self, i: usize) -> usize {
        (0..=i)
            .rev()
            .find(|k| self.nodes[*k].full_window)
            .unwrap_or(0)
    }

    /// The outermost Flickable around node `i`: its content may lie anywhere the Flickable
    /// can scroll, so the Flickable (not the content) must fit the window.
    pub(super) fn outer_flickable(&self, i: usize) -> Option<usize> {
        self.ancestors(i)
            .filter(|a| self.nodes[*a].flickable)
            .last()
    }

    /// The control (button, input…) a node belongs to: itself or its nearest such ancestor.
    pub(super) fn control_of(&self, i: usize) -> Option<usize> {
        std::iter::once(i)
            .chain(self.ancestors(i))
            .find(|a| self.nodes[*a].is_control())
    }

    /// The first node drawn after `i` that paints over part of it (not one of its ancestors or
    /// descendants).
    fn covered_by(&self, i: usize) -> Option<usize> {
        let r = self.drawn(i);
        (self.nodes[i].end..self.nodes.len()).find(|j| {
            let n = &self.nodes[*j];
            n.opacity > 0.0
                && (n.paints || n.text.is_some() || n.image)
                && !self.contains(*j, i)
                && self.drawn(*j).overlaps(&r)
        })
    }

    /// Why text or image node `i` is not fully readable now, if it is not.
    fn why_not_visible(&self, i: usize) -> Option<String> {
        let n = &self.nodes[i];
        let me = self.describe(i);
        if !n.rect.inside(&self.window) {
            return Some(format!(
                "{me} {} is not inside the window {}",
                n.rect, self.window
            ));
        }
        if let Some((a, area)) = self.clipped_by(i, false) {
            return Some(format!(
                "{me} {} is clipped by {} whose visible area is {}",
                n.rect,
                self.describe(a),
                area.intersect(&self.window)
            ));
        }
        if n.opacity <= 0.0 {
            return Some(format!("{me} {} is transparent", n.rect));
        }
        if let Some(why) = self.does_not_fit(i) {
            return Some(why);
        }
        if let Some(j) = self.covered_by(i) {
            return Some(format!(
                "{me} {} is covered by {} {}",
                n.rect,
                self.describe(j),
                self.nodes[j].rect
            ));
        }
        None
    }

    fn does_not_fit(&self, i: usize) -> Option<String> {
        let n = &self.nodes[i];
        let t = n.text.as_ref()?;
        let wide = t.width > n.rect.w + SLACK;
        let tall = t.height > n.rect.h + SLACK;
        if !wide && !tall {
            return None;
        }
        let how = if wide && t.elides {
            "is elided"
        } else if wide && !t.wraps {
            "is cut off at the side"
        } else if wide {
            "has a word wider than its box"
        } else {
            "is cut off (its lines are taller than its box)"
        };
        Some(format!(
            "{} {how}: it needs {:.0}×{:.0}, its box is {}",
            self.describe(i),
            t.width,
            t.height,
            n.rect
        ))
    }

    /// Whether a resident can tap the control labelled `label` now: its centre is drawn (not
    /// scrolled out of its Flickable, not outside the window). If not, which way to scroll
    /// (positive: the content moves down, showing what is above). `None`: no such control.
    pub fn reach(&self, label: &str) -> Option<Reach> {
        let mut best = None;
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if n.label != label || !n.is_control() || self.under_modal(i).is_some() {
                continue;
            }
            let (cx, cy) = (n.rect.x + n.rect.w / 2.0, n.rect.y + n.rect.h / 2.0);
            let d = self.drawn(i);
            if d.w > 0.0 && cx >= d.x && cx <= d.right() && cy >= d.y && cy <= d.bottom() {
                return Some(Reach::Ready);
            }
            let up = self
                .ancestors(i)
                .find(|a| self.nodes[*a].flickable)
                .is_some_and(|f| cy < self.nodes[f].rect.y);
            best.get_or_insert(Reach::Scroll(if up { 1.0 } else { -1.0 }));
        }
        best
    }

    /// `expect_visible`: some text or labelled element containing `needle` is fully readable.
    pub fn expect_visible(&self, needle: &str) -> Result<(), String> {
        let mut candidates: Vec<usize> = (0..self.nodes.len())
            .filter(|i| {
                self.nodes[*i]
                    .text
                    .as_ref()
                    .is_some_and(|t| t.text.contains(needle))
            })
            .collect();
        if candidates.is_empty() {
            // An image's or input's label or value (e.g. the receipt preview, a typed number).
            candidates = (0..self.nodes.len())
                .filter(|i| {
                    let n = &self.nodes[*i];
                    (n.image || n.role == Some(AccessibleRole::TextInput) || n.is_control())
                        && (n.label.contains(needle) || n.value.contains(needle))
                })
                .collect();
        }
        if candidates.is_empty() {
            return Err(format!("{needle:?} is not on the screen"));
        }
        let mut reasons = Vec::new();
        for i in candidates {
            match self.why_not_visible(i) {
                None => return Ok(()),
                Some(r) => reasons.push(r),
            }
        }
        Err(format!("{needle:?} is not visible: {}", reasons.join("; ")))
    }

    /// `check_layout`: every problem with the page's texts (and images) as it is laid out now.
    /// Content inside a Flickable may scroll (it is not clipped while it lies inside the
    /// scrollable content); nothing under a modal layer is judged.
    pub fn check_layout(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if n.text.is_none() && !n.image {
                continue;
            }
            if self.under_modal(i).is_some() {
                continue;
            }
            let me = self.describe(i);
            let on_screen = match self.outer_flickable(i) {
                Some(f) => self.nodes[f].rect,
                None => n.rect,
            };
            if !on_screen.inside(&self.window) {
                out.push(format!(
                    "{me} {} is not inside the window {}",
                    on_screen, self.window
                ));
                continue;
            }
            if let Some((a, area)) = self.clipped_by(i, true) {
                out.push(format!(
                    "{me} {} is clipped by {} {}",
                    n.rect,
                    self.describe(a),
                    area
                ));
                continue;
            }
            if let Some(why) = self.does_not_fit(i) {
                out.push(why);
            }
            // Its box spills out of the nearest painted box around it (a tile, a bar, a card).
            if let Some(a) = self
                .ancestors(i)
                .find(|a| self.nodes[*a].paints && !self.nodes[*a].full_window)
            {
                if !n.rect.inside(&self.nodes[a].rect) {
                    out.push(format!(
                        "{me} {} spills out of {} {}",
                        n.rect,
                        self.describe(a),
                        self.nodes[a].rect
                    ));
                }
            }
            let mine = self.control_of(i);
            let here = self.drawn(i);
            // Later nodes that overlap it: texts, controls it is not part of, painted boxes
            // drawn over it. Nodes drawn before it are judged from their side.
            for j in (i + 1)..self.nodes.len() {
                let o = &self.nodes[j];
                if o.opacity <= 0.0 || !self.drawn(j).overlaps(&here) || self.contains(j, i) {
                    continue;
                }
                if o.full_window {
                    break;
                }
                let problem = if o.text.is_some() {
                    Some("overlaps")
                } else if o.is_control() && mine != Some(j) {
                    Some("overlaps control")
                } else if o.paints || o.image {
                    Some("is covered by")
                } else {
                    None
                };
                if let Some(p) = problem {
                    out.push(format!(
                        "{me} {} {p} {} {}",
                        n.rect,
                        self.describe(j),
                        o.rect
                    ));
                    break;
                }
            }
            // Controls drawn before it (in its layer) that it lies on without belonging to them.
            for j in self.layer(i)..i {
                let o = &self.nodes[j];
                if o.opacity > 0.0
                    && o.is_control()
                    && !self.contains(j, i)
                    && self.drawn(j).overlaps(&here)
                {
                    out.push(format!(
                        "{me} {} lies on control {} {}",
                        n.rect,
                        self.describe(j),
                        o.rect
                    ));
                    break;
                }
            }
        }
        out
    }
}
