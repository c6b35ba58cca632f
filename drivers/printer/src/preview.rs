//! The PNG preview of a receipt: the same blocks, laid out on a 576- (or 384-) dot-wide strip at
//! the printer's own resolution (203 dpi, 24-dot base characters), in 8-bit grey.

use crate::document::{Align, Block, Receipt};
use ab_glyph::{point, Font, FontArc, FontVec, GlyphId, PxScale, ScaleFont};

/// Printer base character height in dots (ESC/POS font A CJK cells are 24×24).
pub const BASE_DOTS: u32 = 24;
const MARGIN_Y: u32 = 16;
const QR_MODULE_DOTS: u32 = 6;

/// Fonts tried in order for every character: first one with the glyph wins. Faces added with
/// [`PreviewFonts::push_lazy`] (the 20 MB system CJK collections) are read from disk only when a
/// character is missing from every face before them, so a kiosk does not carry them in memory
/// for the ordinary receipt.
pub struct PreviewFonts {
    faces: Vec<FontArc>,
    lazy: Vec<LazyFace>,
}

struct LazyFace {
    path: std::path::PathBuf,
    index: u32,
    face: std::sync::OnceLock<Option<FontArc>>,
}

impl LazyFace {
    fn get(&self) -> Option<&FontArc> {
        self.face
            .get_or_init(|| {
                let data = std::fs::read(&self.path).ok()?;
                FontVec::try_from_vec_and_index(data, self.index)
                    .ok()
                    .map(FontArc::new)
            })
            .as_ref()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not a usable font: {0}")]
pub struct FontError(String);

impl PreviewFonts {
    pub fn new() -> Self {
        PreviewFonts {
            faces: Vec::new(),
            lazy: Vec::new(),
        }
    }

    /// Adds face `index` of the font file at `path` to the end of the chain, loaded on first need.
    /// A file that is missing or unreadable is skipped.
    pub fn push_lazy(&mut self, path: impl Into<std::path::PathBuf>, index: u32) {
        self.lazy.push(LazyFace {
            path: path.into(),
            index,
            face: std::sync::OnceLock::new(),
        });
    }

    /// Adds a face (TTF/OTF, or face `index` of a collection) to the end of the chain.
    pub fn push(&mut self, data: Vec<u8>, index: u32) -> Result<(), FontError> {
        let face =
            FontVec::try_from_vec_and_index(data, index).map_err(|e| FontError(e.to_string()))?;
        self.faces.push(FontArc::new(face));
        Ok(())
    }

    /// Adds a font that lives in the binary, without copying it.
    pub fn push_static(&mut self, data: &'static [u8]) -> Result<(), FontError> {
        self.faces
            .push(FontArc::try_from_slice(data).map_err(|e| FontError(e.to_string()))?);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.faces.is_empty()
    }

    fn lookup(&self, c: char) -> Option<(&FontArc, GlyphId)> {
        let has = |f: &FontArc| {
            let g = f.glyph_id(c);
            (g.0 != 0).then_some(g)
        };
        self.faces
            .iter()
            .find_map(|f| has(f).map(|g| (f, g)))
            .or_else(|| {
                self.lazy
                    .iter()
                    .filter_map(LazyFace::get)
                    .find_map(|f| has(f).map(|g| (f, g)))
            })
    }

    /// True when some face in the chain has a glyph for `c`.
    pub fn covers(&self, c: char) -> bool {
        c.is_whitespace() || self.lookup(c).is_some()
    }

    fn advance(&self, c: char, px: f32) -> f32 {
        match self.lookup(c) {
            Some((f, g)) => f.as_scaled(PxScale::from(px)).h_advance(g),
            None => px * 0.5,
        }
    }
}

impl Default for PreviewFonts {
    fn default() -> Self {
        Self::new()
    }
}

/// An 8-bit grey image (0 = black ink, 255 = paper).
pub struct PreviewImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
    /// Characters no font in the chain could draw (drawn as a box, and reported).
    pub missing_glyphs: Vec<char>,
}

impl PreviewImage {
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header()?;
            w.write_image_data(&self.pixels)?;
        }
        Ok(out)
    }
}

struct Canvas {
    width: u32,
    rows: Vec<u8>,
    y: u32,
    missing: Vec<char>,
}

impl Canvas {
    fn ensure(&mut self, bottom: u32) {
        let need = (bottom as usize) * self.width as usize;
        if self.rows.len() < need {
            self.rows.resize(need, 255);
        }
    }

    fn ink(&mut self, x: i32, y: i32, coverage: f32) {
        if x < 0 || y < 0 || x as u32 >= self.width {
            return;
        }
        self.ensure(y as u32 + 1);
        let i = y as usize * self.width as usize + x as usize;
        let v = 255.0 * (1.0 - coverage.clamp(0.0, 1.0));
        self.rows[i] = self.rows[i].min(v as u8);
    }

    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.ink(xx as i32, yy as i32, 1.0);
            }
        }
    }

    fn draw_run(
        &mut self,
        fonts: &PreviewFonts,
        text: &str,
        x0: f32,
        top: u32,
        px: f32,
        bold: bool,
    ) {
        let mut x = x0;
        for c in text.chars() {
            match fonts.lookup(c) {
                Some((font, gid)) => {
                    let scaled = font.as_scaled(PxScale::from(px));
                    let baseline = top as f32 + scaled.ascent();
                    let glyph = gid.with_scale_and_position(PxScale::from(px), point(x, baseline));
                    if let Some(outline) = font.outline_glyph(glyph) {
                        let b = outline.px_bounds();
                        let passes: &[i32] = if bold { &[0, 1] } else { &[0] };
                        for dx in passes {
                            outline.draw(|gx, gy, cov| {
                                self.ink(
                                    b.min.x as i32 + gx as i32 + dx,
                                    b.min.y as i32 + gy as i32,
                                    cov,
                                )
                            });
                        }
                    }
                    x += scaled.h_advance(gid);
                }
                None if c.is_whitespace() => x += px * 0.3,
                None => {
                    if !self.missing.contains(&c) {
                        self.missing.push(c);
                    }
                    let s = (px * 0.8) as u32;
                    let (bx, by) = (x as u32 + 1, top + (px * 0.1) as u32);
                    self.rect(bx, by, s, 1);
                    self.rect(bx, by + s, s, 1);
                    self.rect(bx, by, 1, s);
                    self.rect(bx + s, by, 1, s + 1);
                    x += px;
                }
            }
        }
    }
}

fn width_of(fonts: &PreviewFonts, text: &str, px: f32) -> f32 {
    text.chars().map(|c| fonts.advance(c, px)).sum()
}

/// Printer character cells a character takes: ASCII is half-width (12 dots in font A), the rest
/// full-width (24 dots).
pub fn cells(c: char) -> u32 {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

/// Line breaks as the printer makes them: greedy by character cells, at character boundaries
/// (CJK has no spaces), preferring the last space inside Latin words. The ESC/POS encoder and the
/// preview share this, so paper and preview break lines in the same places.
pub fn wrap_cells(text: &str, columns: u32) -> Vec<String> {
    let columns = columns.max(2);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for c in para.chars() {
            let w = cells(c);
            if used + w > columns && !line.is_empty() {
                let cut = line.rfind(' ').filter(|_| c.is_ascii_alphanumeric());
                match cut {
                    Some(i) if i > 0 => {
                        let rest = line[i + 1..].to_string();
                        line.truncate(i);
                        lines.push(std::mem::take(&mut line));
                        line = rest;
                    }
                    _ => lines.push(std::mem::take(&mut line)),
                }
                used = line.chars().map(cells).sum();
            }
            line.push(c);
            used += w;
        }
        lines.push(line);
    }
    lines
}

/// Columns of a line at `scale` on paper `width` dots wide.
pub fn columns(width: u32, scale: u32) -> u32 {
    width / (12 * scale.max(1))
}

/// Renders `receipt` at `width` dots, with a margin above and below.
pub fn render(receipt: &Receipt, fonts: &PreviewFonts, width: u32) -> PreviewImage {
    render_blocks(&receipt.blocks, fonts, width, MARGIN_Y)
}

/// Renders blocks with `margin` dots above and below (0 for raster lines sent to a printer).
pub fn render_blocks(
    blocks: &[Block],
    fonts: &PreviewFonts,
    width: u32,
    margin: u32,
) -> PreviewImage {
    let mut cv = Canvas {
        width,
        rows: Vec::new(),
        y: margin,
        missing: Vec::new(),
    };
    let max = width as f32;
    for block in blocks {
        match block {
            Block::Text {
                text,
                size,
                bold,
                align,
            } => {
                let px = (BASE_DOTS * size.scale()) as f32;
                let line_h = (px * 1.25) as u32;
                for line in wrap_cells(text, columns(width, size.scale())) {
                    let w = width_of(fonts, &line, px);
                    let x = match align {
                        Align::Left => 0.0,
                        Align::Center => ((max - w) / 2.0).max(0.0),
                        Align::Right => (max - w).max(0.0),
                    };
                    cv.ensure(cv.y + line_h);
                    cv.draw_run(fonts, &line, x, cv.y, px, *bold);
                    cv.y += line_h;
                }
            }
            Block::Row { cells: row } => {
                let px = BASE_DOTS as f32;
                let line_h = (px * 1.25) as u32;
                let cell = BASE_DOTS as f32 / 2.0;
                cv.ensure(cv.y + line_h);
                let mut x = 0.0;
                for c in row {
                    let span = c.width as f32 * cell;
                    let at = if c.right {
                        x + (span - width_of(fonts, &c.text, px)).max(0.0)
                    } else {
                        x
                    };
                    cv.draw_run(fonts, &c.text, at, cv.y, px, false);
                    x += span;
                }
                cv.y += line_h;
            }
            Block::Columns { left, right } => {
                let px = BASE_DOTS as f32;
                let line_h = (px * 1.25) as u32;
                let lw = width_of(fonts, left, px);
                let rw = width_of(fonts, right, px);
                cv.ensure(cv.y + line_h);
                cv.draw_run(fonts, left, 0.0, cv.y, px, false);
                if lw + rw + px > max {
                    cv.y += line_h;
                    cv.ensure(cv.y + line_h);
                }
                cv.draw_run(fonts, right, (max - rw).max(0.0), cv.y, px, false);
                cv.y += line_h;
            }
            Block::Separator => {
                let mid = cv.y + BASE_DOTS / 2;
                cv.ensure(cv.y + BASE_DOTS);
                let mut x = 0;
                while x < width {
                    cv.rect(x, mid, 8.min(width - x), 2);
                    x += 12;
                }
                cv.y += BASE_DOTS;
            }
            Block::Qr { payload } => {
                if let Ok(code) = qrcode::QrCode::new(payload.as_bytes()) {
                    let n = code.width() as u32;
                    let colors = code.to_colors();
                    let side = n * QR_MODULE_DOTS;
                    let x0 = (width.saturating_sub(side)) / 2;
                    let y0 = cv.y + 2 * QR_MODULE_DOTS;
                    cv.ensure(y0 + side + 2 * QR_MODULE_DOTS);
                    for (i, c) in colors.iter().enumerate() {
                        if *c == qrcode::Color::Dark {
                            let (mx, my) = (i as u32 % n, i as u32 / n);
                            cv.rect(
                                x0 + mx * QR_MODULE_DOTS,
                                y0 + my * QR_MODULE_DOTS,
                                QR_MODULE_DOTS,
                                QR_MODULE_DOTS,
                            );
                        }
                    }
                    cv.y = y0 + side + 2 * QR_MODULE_DOTS;
                }
            }
            Block::Code128 { data } => {
                // 2-dot modules, 80 dots tall, centred, with the human-readable text below.
                if let Ok(code) = barcoders::sym::code128::Code128::new(format!("\u{0181}{data}")) {
                    let modules = code.encode();
                    let module = 2u32;
                    let w = modules.len() as u32 * module;
                    let x0 = width.saturating_sub(w) / 2;
                    let y0 = cv.y + 8;
                    cv.ensure(y0 + 80);
                    for (i, m) in modules.iter().enumerate() {
                        if *m == 1 {
                            cv.rect(x0 + i as u32 * module, y0, module, 80);
                        }
                    }
                    cv.y = y0 + 84;
                    let px = BASE_DOTS as f32;
                    let tw = width_of(fonts, data, px);
                    cv.ensure(cv.y + BASE_DOTS + 6);
                    cv.draw_run(
                        fonts,
                        data,
                        ((width as f32 - tw) / 2.0).max(0.0),
                        cv.y,
                        px,
                        false,
                    );
                    cv.y += BASE_DOTS + 6;
                }
            }
            Block::Image {
                width: iw,
                height: ih,
                grey,
            } => {
                let x0 = width.saturating_sub(*iw) / 2;
                cv.ensure(cv.y + ih);
                for y in 0..*ih {
                    for x in 0..(*iw).min(width) {
                        let g = grey[(y * iw + x) as usize];
                        if g < 128 {
                            cv.ink((x0 + x) as i32, (cv.y + y) as i32, 1.0);
                        }
                    }
                }
                cv.y += ih + 8;
            }
            Block::Feed { lines } => {
                cv.y += u32::from(*lines) * BASE_DOTS;
                cv.ensure(cv.y);
            }
            Block::Cut => {
                // The preview marks the cut with a light dash-dot line, as the paper would tear there.
                cv.y += BASE_DOTS / 2;
                cv.ensure(cv.y + 2);
                let mut x = 0;
                while x < width {
                    for dx in 0..6.min(width - x) {
                        let i = (cv.y as usize) * width as usize + (x + dx) as usize;
                        cv.rows[i] = 160;
                    }
                    x += 10;
                }
                cv.y += BASE_DOTS / 2;
            }
        }
    }
    let height = cv.y + margin;
    cv.ensure(height);
    cv.rows.truncate(height as usize * width as usize);
    PreviewImage {
        width,
        height,
        pixels: cv.rows,
        missing_glyphs: cv.missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_chain_reports_every_character_missing() {
        let fonts = PreviewFonts::new();
        let img = render(&Receipt::new("t").text("号"), &fonts, 384);
        assert_eq!(img.missing_glyphs, vec!['号']);
        assert_eq!(img.width, 384);
        assert!(
            img.pixels.iter().any(|p| *p < 128),
            "a box is drawn for the missing glyph"
        );
    }

    #[test]
    fn the_preview_qr_decodes_to_its_payload() {
        let payload = "https://zwfw.example.gov.cn/verify/ZM2026000001?code=K7PQ2MXA";
        let img = render(
            &Receipt::new("t").qr(payload).unwrap(),
            &PreviewFonts::new(),
            576,
        );
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
            img.width as usize,
            img.height as usize,
            |x, y| img.pixels[y * img.width as usize + x],
        );
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, payload);
    }

    #[test]
    fn code128_bars_are_drawn() {
        let img = render(
            &Receipt::new("t").code128("BM2026000123").unwrap(),
            &PreviewFonts::new(),
            576,
        );
        let row = (MARGIN_Y + 8 + 40) as usize * 576;
        let bars = img.pixels[row..row + 576]
            .windows(2)
            .filter(|w| w[0] == 255 && w[1] < 128)
            .count();
        // 12 characters + start, check, stop: each CODE128 symbol has 3 bars.
        assert!(bars >= 40, "{bars} bars");
    }

    #[test]
    fn qr_is_drawn_centred() {
        let img = render(
            &Receipt::new("t").qr("HELLO").unwrap(),
            &PreviewFonts::new(),
            576,
        );
        let dark: usize = img.pixels.iter().filter(|p| **p == 0).count();
        assert!(dark > 100);
        // No ink in the outer 150 dots either side for a 21-module code (126 dots wide).
        for y in 0..img.height as usize {
            assert!(img.pixels[y * 576..y * 576 + 150].iter().all(|p| *p == 255));
        }
    }
}
