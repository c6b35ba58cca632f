//! The receipt document model: what a ticket, receipt or certificate says, independent of how
//! it reaches paper. Widths are in printer dots (576 for 80 mm paper, 384 for 58 mm).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// ESC/POS character sizes we use: normal (24-dot CJK), double height+width, and the
/// quadruple size used for queue ticket numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TextSize {
    #[default]
    Normal,
    Double,
    Huge,
}

impl TextSize {
    /// Multiplier of the 24-dot base size (GS ! n with n = (w-1)<<4 | (h-1)).
    pub fn scale(self) -> u32 {
        match self {
            TextSize::Normal => 1,
            TextSize::Double => 2,
            TextSize::Huge => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Block {
    Text {
        text: String,
        size: TextSize,
        bold: bool,
        align: Align,
    },
    /// A label on the left and a value on the right of one line.
    Columns {
        left: String,
        right: String,
    },
    /// One line of a table: cells of fixed widths in character cells (a CJK character is two,
    /// 12 dots each at normal size), so paper and preview line columns up the same way.
    Row {
        cells: Vec<Cell>,
    },
    Separator,
    /// A QR code; payloads stay ASCII (verification URLs, codes) so every printer can encode them.
    Qr {
        payload: String,
    },
    /// A CODE128 barcode (code set B: printable ASCII), for case and receipt numbers.
    Code128 {
        data: String,
    },
    /// A raster image (logo, emblem): 8-bit grey, `width` × `height`, 0 = black.
    Image {
        width: u32,
        height: u32,
        grey: Vec<u8>,
    },
    Feed {
        lines: u8,
    },
    Cut,
}

/// A cell of a [`Block::Row`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub text: String,
    /// In character cells.
    pub width: u32,
    /// Amounts: right-aligned.
    pub right: bool,
}

impl Cell {
    pub fn left(text: impl Into<String>, width: u32) -> Cell {
        Cell {
            text: text.into(),
            width,
            right: false,
        }
    }
    pub fn right(text: impl Into<String>, width: u32) -> Cell {
        Cell {
            text: text.into(),
            width,
            right: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Receipt {
    /// What kind of document this is (`queue_ticket`, `payment_receipt`, …), for the spool and logs.
    pub template: String,
    pub blocks: Vec<Block>,
    /// Words the paper must carry that no record of it may (a certificate's holder in full):
    /// each with what records show instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private: Vec<(String, String)>,
}

impl Receipt {
    pub fn new(template: impl Into<String>) -> Self {
        Receipt {
            template: template.into(),
            blocks: Vec::new(),
            private: Vec::new(),
        }
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text {
            text: text.into(),
            size: TextSize::Normal,
            bold: false,
            align: Align::Left,
        });
        self
    }

    pub fn styled(
        mut self,
        text: impl Into<String>,
        size: TextSize,
        bold: bool,
        align: Align,
    ) -> Self {
        self.blocks.push(Block::Text {
            text: text.into(),
            size,
            bold,
            align,
        });
        self
    }

    pub fn columns(mut self, left: impl Into<String>, right: impl Into<String>) -> Self {
        self.blocks.push(Block::Columns {
            left: left.into(),
            right: right.into(),
        });
        self
    }

    pub fn row(mut self, cells: Vec<Cell>) -> Self {
        self.blocks.push(Block::Row { cells });
        self
    }

    pub fn separator(mut self) -> Self {
        self.blocks.push(Block::Separator);
        self
    }

    /// Non-ASCII payloads are refused: they would print differently on different printers.
    pub fn qr(mut self, payload: impl Into<String>) -> Result<Self, NonAsciiPayload> {
        let payload = payload.into();
        if !payload.is_ascii() {
            return Err(NonAsciiPayload(payload));
        }
        self.blocks.push(Block::Qr { payload });
        Ok(self)
    }

    /// Printable ASCII only (code set B).
    pub fn code128(mut self, data: impl Into<String>) -> Result<Self, NonAsciiPayload> {
        let data = data.into();
        if data.is_empty() || !data.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(NonAsciiPayload(data));
        }
        self.blocks.push(Block::Code128 { data });
        Ok(self)
    }

    pub fn image(mut self, width: u32, height: u32, grey: Vec<u8>) -> Self {
        assert_eq!(grey.len(), (width * height) as usize, "image size");
        self.blocks.push(Block::Image {
            width,
            height,
            grey,
        });
        self
    }

    pub fn feed(mut self, lines: u8) -> Self {
        self.blocks.push(Block::Feed { lines });
        self
    }

    pub fn cut(mut self) -> Self {
        self.blocks.push(Block::Cut);
        self
    }

    /// A copy printed again after a job in doubt, marked 补打 at the top so nobody takes it for a
    /// second, different document.
    pub fn marked_reprint(&self) -> Receipt {
        let mut r = self.clone();
        r.blocks.insert(
            0,
            Block::Text {
                text: "补打 REPRINT".into(),
                size: TextSize::Double,
                bold: true,
                align: Align::Center,
            },
        );
        r
    }

    /// Marks `word` as private: records of this paper show `shown_as` instead.
    pub fn private(mut self, word: impl Into<String>, shown_as: impl Into<String>) -> Self {
        self.private.push((word.into(), shown_as.into()));
        self
    }

    /// The words on the paper as records may keep them (private words replaced).
    pub fn recorded_text(&self) -> String {
        let mut text = self.plain_text();
        for (word, shown) in &self.private {
            if !word.is_empty() {
                text = text.replace(word.as_str(), shown);
            }
        }
        text
    }

    /// The words on the paper, a line per text block (columns joined by a space). Scenario
    /// checks and transcripts read this.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            match b {
                Block::Text { text, .. } => {
                    out.push_str(text);
                    out.push('\n');
                }
                Block::Columns { left, right } => {
                    out.push_str(left);
                    out.push(' ');
                    out.push_str(right);
                    out.push('\n');
                }
                Block::Row { cells } => {
                    let words: Vec<&str> = cells.iter().map(|c| c.text.as_str()).collect();
                    out.push_str(&words.join("  "));
                    out.push('\n');
                }
                Block::Separator => out.push_str("--------\n"),
                Block::Qr { payload } => {
                    out.push_str("[QR ");
                    out.push_str(payload);
                    out.push_str("]\n");
                }
                Block::Code128 { data } => {
                    out.push_str("[CODE128 ");
                    out.push_str(data);
                    out.push_str("]\n");
                }
                Block::Image { .. } | Block::Feed { .. } | Block::Cut => {}
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("QR and barcode payloads must be ASCII")]
pub struct NonAsciiPayload(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_lists_what_prints() {
        let r = Receipt::new("t")
            .styled("A001", TextSize::Huge, true, Align::Center)
            .columns("前面等候", "3 人")
            .qr("https://verify.example/abc")
            .unwrap()
            .cut();
        assert_eq!(
            r.plain_text(),
            "A001\n前面等候 3 人\n[QR https://verify.example/abc]\n"
        );
    }

    #[test]
    fn qr_payload_must_be_ascii() {
        assert!(Receipt::new("t").qr("核验").is_err());
    }
}
