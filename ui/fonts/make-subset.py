#!/usr/bin/env python3
"""Builds ui/fonts/BianminSans-{Regular,Bold}.otf: a subset of Noto Sans CJK SC (OFL-1.1).

Covers every character of GB 2312 (the 6,763 common hanzi and its symbols), ASCII and Latin-1,
CJK and full-width punctuation, and every character in ui/**/*.slint and ui/translations/**/*.po.
Rare characters in residents' names fall back to system fonts at run time.

Run it again whenever the font-coverage test says a UI string has a character the subset lacks:
    apt-get install fonts-noto-cjk python3-fonttools && python3 ui/fonts/make-subset.py
"""
import pathlib
from fontTools import subset
from fontTools.ttLib import TTCollection

HERE = pathlib.Path(__file__).resolve().parent
UI = HERE.parent
SOURCES = {
    "Regular": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "Bold": "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
}
SC_INDEX = 2  # face 2 of the collection is Noto Sans CJK SC


def gb2312_chars():
    out = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def ui_chars():
    out = set()
    for pattern in ("**/*.slint", "translations/**/*.po"):
        for f in UI.glob(pattern):
            out.update(f.read_text(encoding="utf-8"))
    return out


def main():
    chars = gb2312_chars() | ui_chars()
    chars |= {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0xA0, 0x100)}
    chars |= {chr(c) for c in range(0x2010, 0x2070)}  # general punctuation
    chars |= {chr(c) for c in range(0x3000, 0x3040)}  # CJK symbols and punctuation
    chars |= {chr(c) for c in range(0xFF01, 0xFF5F)}  # full-width forms
    chars |= set("✓✗×÷→←↑↓·¥￥")
    chars = {c for c in chars if c.isprintable() or c == " "}
    for weight, src in SOURCES.items():
        font = TTCollection(src).fonts[SC_INDEX]
        opts = subset.Options()
        opts.layout_features = ["*"]
        opts.name_IDs = ["*"]
        opts.name_languages = ["*"]
        opts.notdef_outline = True
        opts.hinting = False
        sub = subset.Subsetter(opts)
        sub.populate(text="".join(sorted(chars)))
        sub.subset(font)
        # Renamed, as the OFL asks of modified versions.
        name = font["name"]
        for rec in list(name.names):
            if rec.nameID in (1, 16):
                rec.string = "Bianmin Sans"
            elif rec.nameID in (2, 17):
                rec.string = weight
            elif rec.nameID == 4:
                rec.string = f"Bianmin Sans {weight}"
            elif rec.nameID == 6:
                rec.string = f"BianminSans-{weight}"
            elif rec.nameID == 3:
                rec.string = f"Bianmin Sans {weight}; subset of Noto Sans CJK SC"
        out = HERE / f"BianminSans-{weight}.otf"
        font.save(out)
        print(f"{out.name}: {len(chars)} characters, {out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
