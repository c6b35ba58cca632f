//! ESC/POS encoding of a [`Receipt`], from the same layout as the preview (same line breaks).
//!
//! Text goes out in Chinese text mode (FS &) as GB18030. A line with a character the printer's
//! ROM font cannot print — one outside GBK (encoding_rs reports it as an error, never as
//! `&#…;`), one configured as missing, or any non-ASCII character on a printer without a Chinese
//! font — goes out as a raster image (GS v 0) drawn with the CJK fonts of the preview.

use crate::document::{Align, Block, Receipt, TextSize};
use crate::preview::{self, cells, columns, wrap_cells, PreviewFonts};

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const FS: u8 = 0x1c;
/// QR module size in dots (GS ( k function 167); the preview draws the same.
pub const QR_MODULE_DOTS: u8 = 6;

#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// 576 for 80 mm paper, 384 for 58 mm.
    pub width_dots: u32,
    /// The printer has a Chinese (GB18030/GBK) ROM font.
    pub chinese_font: bool,
    /// Characters the printer's font lacks although GBK has them (configured per model).
    pub missing_chars: Vec<char>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            width_dots: 576,
            chinese_font: true,
            missing_chars: Vec::new(),
        }
    }
}

/// The bytes for one job, and how much of it had to be rasterised.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub raster_lines: usize,
    /// The text-mode size of the same job if no line were rasterised (for the benchmark).
    pub text_bytes_minimum: usize,
}

struct Out {
    bytes: Vec<u8>,
    raster_lines: usize,
    minimum: usize,
}

impl Out {
    fn cmd(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }
}

fn align_byte(a: Align) -> u8 {
    match a {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    }
}

/// GBK bytes for `text` when the printer can print every character in text mode.
/// One left-aligned line of a block, in text mode, or drawn as an image when the printer's
/// font lacks a character.
fn left_line(out: &mut Out, text: &str, block: &Block, fonts: &PreviewFonts, opts: &EncodeOptions) {
    // A line that wraps (two columns too wide for one line) is its lines, each in text mode.
    let lines: Option<Vec<Vec<u8>>> = text.split('\n').map(|l| text_mode_bytes(l, opts)).collect();
    match lines {
        Some(lines) => {
            out.cmd(&[ESC, b'a', 0]);
            for bytes in lines {
                out.cmd(&bytes);
                out.cmd(b"\n");
            }
        }
        None => raster(out, std::slice::from_ref(block), fonts, opts.width_dots),
    }
}

/// A table line in text mode: each cell padded to its width (a cell wider than its width
/// pushes the rest on; the cloud keeps its tables narrow enough for the paper).
fn row_text(row: &[crate::document::Cell]) -> String {
    let mut line = String::new();
    for c in row {
        let w: u32 = c.text.chars().map(cells).sum();
        let pad = " ".repeat(c.width.saturating_sub(w) as usize);
        if c.right {
            line.push_str(&pad);
            line.push_str(&c.text);
        } else {
            line.push_str(&c.text);
            line.push_str(&pad);
        }
    }
    line.trim_end().to_string()
}

fn text_mode_bytes(text: &str, opts: &EncodeOptions) -> Option<Vec<u8>> {
    if text.chars().any(|c| {
        opts.missing_chars.contains(&c) || (!c.is_ascii() && !opts.chinese_font) || c.is_control()
    }) {
        return None;
    }
    let (bytes, _, had_errors) = encoding_rs::GBK.encode(text);
    (!had_errors).then(|| bytes.into_owned())
}

/// Raster image command (GS v 0, normal density) for blocks drawn as on the preview.
fn raster(out: &mut Out, blocks: &[Block], fonts: &PreviewFonts, width: u32) {
    let img = preview::render_blocks(blocks, fonts, width, 0);
    let row_bytes = img.width.div_ceil(8) as usize;
    out.cmd(&[ESC, b'a', 0]);
    out.cmd(&[
        GS,
        b'v',
        b'0',
        0,
        (row_bytes & 0xff) as u8,
        (row_bytes >> 8) as u8,
        (img.height & 0xff) as u8,
        (img.height >> 8) as u8,
    ]);
    for y in 0..img.height as usize {
        for bx in 0..row_bytes {
            let mut byte = 0u8;
            for bit in 0..8 {
                let x = bx * 8 + bit;
                if x < img.width as usize && img.pixels[y * img.width as usize + x] < 128 {
                    byte |= 0x80 >> bit;
                }
            }
            out.bytes.push(byte);
        }
    }
    out.raster_lines += 1;
}

fn size_byte(size: TextSize) -> u8 {
    let s = (size.scale() - 1) as u8;
    (s << 4) | s
}

/// Encodes a whole job: initialise, Chinese mode, the blocks, and whatever cut the document asks for.
pub fn encode(receipt: &Receipt, fonts: &PreviewFonts, opts: &EncodeOptions) -> Encoded {
    let mut out = Out {
        bytes: Vec::new(),
        raster_lines: 0,
        minimum: 0,
    };
    out.cmd(&[ESC, b'@']);
    if opts.chinese_font {
        out.cmd(&[FS, b'&']);
    }
    for block in &receipt.blocks {
        match block {
            Block::Text {
                text,
                size,
                bold,
                align,
            } => {
                for line in wrap_cells(text, columns(opts.width_dots, size.scale())) {
                    let (gb, _, _) = encoding_rs::GB18030.encode(&line);
                    out.minimum += gb.len() + 1;
                    match text_mode_bytes(&line, opts) {
                        Some(bytes) => {
                            out.cmd(&[
                                ESC,
                                b'a',
                                align_byte(*align),
                                ESC,
                                b'E',
                                u8::from(*bold),
                                GS,
                                b'!',
                                size_byte(*size),
                            ]);
                            out.cmd(&bytes);
                            out.cmd(b"\n");
                        }
                        None => raster(
                            &mut out,
                            &[Block::Text {
                                text: line.clone(),
                                size: *size,
                                bold: *bold,
                                align: *align,
                            }],
                            fonts,
                            opts.width_dots,
                        ),
                    }
                }
                out.cmd(&[ESC, b'E', 0, GS, b'!', 0]);
            }
            Block::Row { cells } => {
                let text = row_text(cells);
                out.minimum += text.len() + 1;
                left_line(&mut out, &text, block, fonts, opts);
            }
            Block::Columns { left, right } => {
                let cols = columns(opts.width_dots, 1);
                let lw: u32 = left.chars().map(cells).sum();
                let rw: u32 = right.chars().map(cells).sum();
                let text = if lw + rw + 2 <= cols {
                    format!("{left}{}{right}", " ".repeat((cols - lw - rw) as usize))
                } else {
                    format!(
                        "{left}\n{}{right}",
                        " ".repeat(cols.saturating_sub(rw) as usize)
                    )
                };
                out.minimum += text.len() + 1;
                left_line(&mut out, &text, block, fonts, opts);
            }
            Block::Separator => {
                let line = "-".repeat(columns(opts.width_dots, 1) as usize);
                out.minimum += line.len() + 1;
                out.cmd(&[ESC, b'a', 0]);
                out.cmd(line.as_bytes());
                out.cmd(b"\n");
            }
            Block::Qr { payload } => {
                let data = payload.as_bytes();
                let n = data.len() + 3;
                out.cmd(&[ESC, b'a', 1]);
                out.cmd(&[GS, b'(', b'k', 4, 0, 49, 65, 50, 0]); // model 2
                out.cmd(&[GS, b'(', b'k', 3, 0, 49, 67, QR_MODULE_DOTS]); // module size
                out.cmd(&[GS, b'(', b'k', 3, 0, 49, 69, 49]); // error correction M
                out.cmd(&[GS, b'(', b'k', (n & 0xff) as u8, (n >> 8) as u8, 49, 80, 48]);
                out.cmd(data);
                out.cmd(&[GS, b'(', b'k', 3, 0, 49, 81, 48]); // print
                out.cmd(b"\n");
                out.minimum += data.len() + 35;
            }
            Block::Code128 { data } => {
                // GS k 73 n: CODE128, data prefixed by {B (code set B); HRI text below (GS H 2).
                let n = data.len() + 2;
                out.cmd(&[ESC, b'a', 1, GS, b'H', 2, GS, b'h', 80, GS, b'w', 2]);
                out.cmd(&[GS, b'k', 73, n as u8, b'{', b'B']);
                out.cmd(data.as_bytes());
                out.cmd(b"\n");
                out.minimum += data.len() + 19;
            }
            Block::Image { .. } => raster(
                &mut out,
                std::slice::from_ref(block),
                fonts,
                opts.width_dots,
            ),
            Block::Feed { lines } => {
                out.cmd(&[ESC, b'd', *lines]);
                out.minimum += 3;
            }
            Block::Cut => {
                out.cmd(&[GS, b'V', 66, 0]);
                out.minimum += 4;
            }
        }
    }
    let minimum = out.minimum + 4;
    Encoded {
        bytes: out.bytes,
        raster_lines: out.raster_lines,
        text_bytes_minimum: minimum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn chinese_text_goes_out_as_gb18030_in_chinese_mode() {
        let r = Receipt::new("t")
            .styled("排队号 A006", TextSize::Double, true, Align::Center)
            .cut();
        let e = encode(&r, &PreviewFonts::new(), &EncodeOptions::default());
        assert!(e.bytes.starts_with(&[ESC, b'@', FS, b'&']));
        let (gb, _, _) = encoding_rs::GB18030.encode("排队号 A006");
        assert!(contains(&e.bytes, &gb));
        assert!(contains(
            &e.bytes,
            &[ESC, b'a', 1, ESC, b'E', 1, GS, b'!', 0x11]
        ));
        assert!(e.bytes.ends_with(&[GS, b'V', 66, 0]));
        assert_eq!(e.raster_lines, 0);
    }

    #[test]
    fn characters_outside_the_rom_font_are_rasterised() {
        // 𠮷 (U+20BB7) has no GBK code: encoding_rs reports it, and the line becomes an image.
        let r = Receipt::new("t").text("吉").text("𠮷野家");
        let e = encode(&r, &PreviewFonts::new(), &EncodeOptions::default());
        assert_eq!(e.raster_lines, 1);
        assert!(
            contains(&e.bytes, &[GS, b'v', b'0', 0, 72, 0]),
            "72 bytes per row at 576 dots"
        );
        let opts = EncodeOptions {
            missing_chars: vec!['吉'],
            ..Default::default()
        };
        assert_eq!(encode(&r, &PreviewFonts::new(), &opts).raster_lines, 2);
        let no_rom = EncodeOptions {
            chinese_font: false,
            ..Default::default()
        };
        let e = encode(
            &Receipt::new("t").text("ABC").text("中文"),
            &PreviewFonts::new(),
            &no_rom,
        );
        assert_eq!(e.raster_lines, 1);
        assert!(!contains(&e.bytes, &[FS, b'&']));
    }

    #[test]
    fn qr_uses_gs_k_with_the_payload_length() {
        let r = Receipt::new("t").qr("https://v.example/ZM1").unwrap();
        let e = encode(&r, &PreviewFonts::new(), &EncodeOptions::default());
        let n = "https://v.example/ZM1".len() + 3;
        let mut store = vec![GS, b'(', b'k', n as u8, 0, 49, 80, 48];
        store.extend_from_slice(b"https://v.example/ZM1");
        assert!(contains(&e.bytes, &store));
        assert!(contains(&e.bytes, &[GS, b'(', b'k', 3, 0, 49, 81, 48]));
    }

    #[test]
    fn code128_uses_code_set_b() {
        let r = Receipt::new("t").code128("BM2026000123").unwrap();
        let e = encode(&r, &PreviewFonts::new(), &EncodeOptions::default());
        let mut want = vec![GS, b'k', 73, 14, b'{', b'B'];
        want.extend_from_slice(b"BM2026000123");
        assert!(contains(&e.bytes, &want));
        assert!(Receipt::new("t").code128("办件").is_err());
    }

    #[test]
    fn columns_fill_the_line_and_lines_break_by_cells() {
        let r = Receipt::new("t").columns("前面等候", "3 人");
        let e = encode(
            &r,
            &PreviewFonts::new(),
            &EncodeOptions {
                width_dots: 384,
                ..Default::default()
            },
        );
        // 32 columns: 8 + 4 cells of text, 20 spaces between.
        let line = format!("前面等候{}3 人", " ".repeat(20));
        let (gb, _, _) = encoding_rs::GBK.encode(&line);
        assert!(contains(&e.bytes, &gb));
        assert_eq!(wrap_cells("一二三四五", 6), vec!["一二三", "四五"]);
        assert_eq!(
            wrap_cells("Watch the display", 10),
            vec!["Watch the", "display"]
        );
    }
}
