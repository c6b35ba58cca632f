#!/usr/bin/env bash
# Installs what building, running and testing Bianmin needs on Debian 12, and only what is
# missing: C libraries for the -sys crates, the CJK fonts receipts fall back to, pcscd and the
# virtual smart-card reader the card tests use, and Python's venv for schemathesis.
set -euo pipefail
PACKAGES=(
    build-essential pkg-config curl
    libfontconfig-dev libxkbcommon-dev libwayland-dev libx11-xcb-dev   # Slint's winit window
    libpcsclite-dev pcscd vsmartcard-vpcd                               # ID cards over PC/SC
    libudev-dev                                                         # serial ports (printer, SAM)
    libasound2-dev                                                      # spoken prompts
    espeak-ng sox vorbis-tools                                          # renders the voice pack
    fonts-noto-cjk                                                      # CJK fallback for rare characters
    python3 python3-venv                                                # schemathesis
    python3-prometheus-client                                           # parses the metrics endpoint in tests
    chromium chromium-driver                                            # drives the fleet console in tests
)
# `make bench` also needs an X server to paint on, a way to read its pixels, and Chromium to
# compare with.
if [ "${BENCH:-0}" = 1 ]; then
    PACKAGES+=(xvfb python3-xlib binutils chromium)
fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "Rust is needed: https://rustup.rs" >&2; exit 1; }
