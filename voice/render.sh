#!/usr/bin/env bash
# Renders the voice pack (voice/pack) with espeak-ng, in a venv that has pypinyin (MIT).
# Run by the set-up (tests/setup/install-deps.sh); does nothing when the pack is up to date.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$TARGET/voice-venv"
if ! "$VENV/bin/python" -c "import pypinyin" 2>/dev/null; then
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "pypinyin==0.55.0"
fi
exec "$VENV/bin/python" "$ROOT/voice/render.py" "$@"
