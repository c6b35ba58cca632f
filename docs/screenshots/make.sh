#!/usr/bin/env bash
# Renders the documentation screenshots with `bianmin screenshot` (headless, software renderer).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# BIN may name another build (e.g. a shared CARGO_TARGET_DIR).
BIN="${BIN:-$ROOT/target/release/bianmin}"
OUT="$ROOT/docs/screenshots"
for lang in zh en; do
    for page in home form result table document; do
        "$BIN" screenshot --page "$page" --lang "$lang" --out "$OUT/$page-$lang.png" >/dev/null
    done
done
"$BIN" screenshot --page home --lang zh --landscape --out "$OUT/home-zh-landscape.png" >/dev/null
"$BIN" screenshot --page home --lang zh --elderly --out "$OUT/home-zh-elderly.png" >/dev/null
"$BIN" screenshot --page home --lang en --elderly --landscape --out "$OUT/home-en-elderly-landscape.png" >/dev/null
"$BIN" screenshot --page result --lang zh --elderly --out "$OUT/result-zh-elderly.png" >/dev/null
"$BIN" screenshot --page table --lang zh --landscape --out "$OUT/table-zh-landscape.png" >/dev/null
"$BIN" screenshot --page table --lang en --elderly --out "$OUT/table-en-elderly.png" >/dev/null
"$BIN" screenshot --page payment --lang zh --out "$OUT/payment-zh.png" >/dev/null
"$BIN" screenshot --page payment --lang en --out "$OUT/payment-en.png" >/dev/null
"$BIN" screenshot --page payment --lang zh --elderly --out "$OUT/payment-zh-elderly.png" >/dev/null
ls "$OUT"/*.png
