#!/usr/bin/env bash
# `make bench`: where Bianmin stands on a kiosk without a GPU, as one table (figure, value,
# target, pass/fail), written to target/bench/report.md too. Figures, not timed tests: nothing
# here fails the build. Every process it starts (Xvfb, the simulator, the kiosks, Chromium) is
# stopped by its PID. See docs/performance.md for how each figure is measured.
#
#   BIN        the demo build (default target/release/bianmin)
#   KIOSK_BIN  the kiosk build without the simulator (default target/kiosk/kiosk/bianmin,
#              else BIN)
#   ROUNDS     start-up rounds per program (default 10)
#   IDLE_S     seconds of idle measured on the attract page (default 60)
#   SESSIONS   card sessions in a row for the memory growth (default 10000)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${BIN:-$ROOT/target/release/bianmin}"
KIOSK_BIN="${KIOSK_BIN:-$ROOT/target/kiosk/kiosk/bianmin}"
[ -x "$KIOSK_BIN" ] || KIOSK_BIN="$BIN"
ROUNDS="${ROUNDS:-10}"
IDLE_S="${IDLE_S:-60}"
SESSIONS="${SESSIONS:-10000}"
PY=/usr/bin/python3
HERE="$ROOT/benches/kiosk"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
STARTED=$(date +%s)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

ROWS=()
# row FIGURE VALUE TARGET VERDICT
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); printf '%-58s %-22s %-22s %s\n' "$1" "$2" "$3" "$4" >&2; }
verdict() { # verdict VALUE OP LIMIT → pass/FAIL (numbers)
    if awk -v v="$1" -v l="$3" "BEGIN { exit !(v $2 l) }"; then echo pass; else echo FAIL; fi
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else print a[int((NR + 1) / 2)] }'; }
p99() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; print a[i] } }'; }
jget() { $PY -c "import json,sys; v=json.loads(sys.stdin.read())['$1']; print('nan' if v is None else v)"; }

# --- An X server of our own (Xvfb, black root, portrait 1080×1920) ----------------------------
DISPLAY_NO=$((90 + RANDOM % 9))
while [ -e "/tmp/.X11-unix/X$DISPLAY_NO" ]; do DISPLAY_NO=$((DISPLAY_NO + 1)); done
Xvfb ":$DISPLAY_NO" -screen 0 1080x1920x24 -br -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X$DISPLAY_NO" ] && break; sleep 0.05; done
XD=":$DISPLAY_NO"

# --- A provisioned kiosk: the standalone simulator as its cloud -------------------------------
PORT=$((20000 + RANDOM % 20000))
"$BIN" cloud-sim --listen "127.0.0.1:$PORT" --db "$WORK/sim.db" --enrollment-code BENCH-1 \
    >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
cat >"$WORK/kiosk.toml" <<EOF
[printer]
port = "/dev/null"
[clock]
ntp_servers = []
[health]
metrics_listen = ""
EOF
"$BIN" --config "$WORK/kiosk.toml" --data-dir "$WORK/kiosk" provision --cloud "http://127.0.0.1:$PORT" \
    --code BENCH-1 --yes --json --no-pcsc --card-wait 0 >"$WORK/provision.json" 2>/dev/null || true
grep -q '"device_id": "kiosk-' "$WORK/provision.json" || { echo "the bench kiosk did not enrol" >&2; cat "$WORK/provision.json" >&2; exit 1; }

# --- Start to first paint, and memory 3 s after the start ------------------------------------
startup() { # startup NAME CLICK CMD… → rows of paint ms, page change ms and PSS/RSS
    local name="$1" click="$2"; shift 2
    : >"$WORK/$name.jsonl"
    for i in $(seq "$ROUNDS"); do
        # shellcheck disable=SC2086
        RUST_LOG=warn $PY "$HERE/paint.py" $click "$XD" 3 "${@//@N@/$i}" >>"$WORK/$name.jsonl"
    done
}
# The kiosk: its first paint, then a tap on the attract page and the home page's pixels.
startup kiosk "--click 540,1200" "$KIOSK_BIN" --config "$WORK/kiosk.toml" --data-dir "$WORK/kiosk" kiosk
startup demo "" "$BIN" --data-dir "$WORK/demo-@N@" demo --fullscreen
HAVE_CHROMIUM=0
if command -v chromium >/dev/null; then
    HAVE_CHROMIUM=1
    startup chromium "" chromium --kiosk --no-sandbox --no-first-run --no-default-browser-check \
        --disable-gpu --disable-extensions --disable-sync --user-data-dir="$WORK/chromium-@N@" \
        --window-position=0,0 --window-size=1080,1920 "file://$HERE/tiles.html"
fi
fig() { # fig NAME FIELD → median
    while read -r l; do echo "$l" | jget "$2"; done <"$WORK/$1.jsonl" | grep -v nan | median
}
K_PAINT=$(fig kiosk paint_ms); D_PAINT=$(fig demo paint_ms)
K_PSS=$(fig kiosk pss_kib); K_RSS=$(fig kiosk rss_kib); D_PSS=$(fig demo pss_kib)
K_THREADS=$(fig kiosk threads)
K_CHANGE=$(fig kiosk change_ms)
K_CHANGE99=$(while read -r l; do echo "$l" | jget change_ms; done <"$WORK/kiosk.jsonl" | grep -v nan | p99)
KM=$(awk -v v="$K_PAINT" 'BEGIN { printf "%.0f", v }')
row "Start → first paint, bianmin kiosk (Xvfb, median of $ROUNDS)" "$KM ms" "≤ 50 ms" "$(verdict "$K_PAINT" '<=' 50)"
row "Start → first paint, bianmin demo (embedded cloud)" "$(awk -v v="$D_PAINT" 'BEGIN { printf "%.0f", v }') ms" "—" "—"
row "Page change, tap → home page's pixels (Xvfb), p50" "$(awk -v v="$K_CHANGE" 'BEGIN { printf "%.1f", v }') ms" "≤ 16.7 ms" "$(verdict "$K_CHANGE" '<=' 16.7)"
row "Page change, tap → home page's pixels, p99 of $ROUNDS" "$(awk -v v="$K_CHANGE99" 'BEGIN { printf "%.1f", v }') ms" "≤ 33 ms" "$(verdict "$K_CHANGE99" '<=' 33)"
row "PSS 3 s after start, bianmin kiosk" "$(awk -v v="$K_PSS" 'BEGIN { printf "%.1f", v / 1024 }') MiB" "≤ 24 MiB" "$(verdict "$K_PSS" '<=' $((24 * 1024)))"
row "RSS 3 s after start, bianmin kiosk ($K_THREADS threads)" "$(awk -v v="$K_RSS" 'BEGIN { printf "%.1f", v / 1024 }') MiB" "—" "—"
row "PSS 3 s after start, bianmin demo" "$(awk -v v="$D_PSS" 'BEGIN { printf "%.1f", v / 1024 }') MiB" "—" "—"
if [ "$HAVE_CHROMIUM" = 1 ]; then
    C_PAINT=$(fig chromium paint_ms); C_PSS=$(fig chromium pss_kib)
    RP=$(awk -v c="$C_PAINT" -v k="$K_PAINT" 'BEGIN { printf "%.1f", c / k }')
    RM=$(awk -v c="$C_PSS" -v k="$K_PSS" 'BEGIN { printf "%.1f", c / k }')
    row "Chromium --kiosk, same 8-tile page: first paint / PSS" "$(awk -v v="$C_PAINT" 'BEGIN { printf "%.0f", v }') ms / $(awk -v v="$C_PSS" 'BEGIN { printf "%.0f", v / 1024 }') MiB" "—" "—"
    row "  ratio Chromium ÷ kiosk: first paint" "${RP}×" "≥ 10×" "$(verdict "$RP" '>=' 10)"
    row "  ratio Chromium ÷ kiosk: PSS" "${RM}×" "≥ 16×" "$(verdict "$RM" '>=' 16)"
else
    row "Chromium comparison" "not installed (apt-get install chromium)" "—" "—"
fi

# --- Idle cost on the attract page ------------------------------------------------------------
DISPLAY="$XD" RUST_LOG=warn "$KIOSK_BIN" --config "$WORK/kiosk.toml" --data-dir "$WORK/kiosk" kiosk \
    >"$WORK/idle.log" 2>&1 </dev/null &
KPID=$!
PIDS+=($KPID)
sleep 3
[ -e "/proc/$KPID/stat" ] || { echo "the kiosk did not stay up:" >&2; cat "$WORK/idle.log" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$KPID/stat"; }
switches() { cat /proc/$KPID/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
T0=$(ticks); S0=$(switches); sleep "$IDLE_S"; T1=$(ticks); S1=$(switches)
HZ=$(getconf CLK_TCK)
IDLE_CPU=$(awk -v a="$T0" -v b="$T1" -v hz="$HZ" -v s="$IDLE_S" 'BEGIN { printf "%.2f", (b - a) / hz / s * 100 }')
WAKE=$(awk -v a="$S0" -v b="$S1" -v s="$IDLE_S" 'BEGIN { printf "%.1f", (b - a) / s }')
kill "$KPID" 2>/dev/null || true
wait "$KPID" 2>/dev/null || true
row "Idle CPU on the attract page, ${IDLE_S} s" "${IDLE_CPU} % of a core" "≤ 1 %" "$(verdict "$IDLE_CPU" '<=' 1)"
row "  wake-ups (context switches, all threads)" "${WAKE} /s" "—" "—"

# --- Every page's render time, software renderer ----------------------------------------------
PAGES="attract home identify form input confirm result print table document payment technician"
: >"$WORK/render.txt"
render() { # render PAGE ARGS… → appends "p50 p99 label"
    local page="$1"; shift
    local line
    line=$("$BIN" --data-dir "$WORK/shots" screenshot --page "$page" --out "$WORK/shot.png" --repeat 30 "$@" 2>/dev/null | grep '^render' || true)
    [ -n "$line" ] || { echo "nan nan $page $*" >>"$WORK/render.txt"; return; }
    echo "$line" | sed -E 's/.*p50 ([0-9.]+) ms, p99 ([0-9.]+) ms.*/\1 \2/' | tr '\n' ' ' >>"$WORK/render.txt"
    echo "$page $*" >>"$WORK/render.txt"
}
for page in $PAGES; do
    render "$page"
    render "$page" --lang en --elderly --landscape
done
for extra in "--lang en" "--elderly" "--landscape" "--lang en --elderly" "--elderly --landscape" "--lang en --landscape"; do
    # shellcheck disable=SC2086
    render home $extra
done
WORST50=$(awk '$1 != "nan" { print $1 }' "$WORK/render.txt" | sort -n | tail -1)
WORST99=$(awk '$2 != "nan" { print $2 }' "$WORK/render.txt" | sort -n | tail -1)
WHICH=$(sort -k2 -n "$WORK/render.txt" | tail -1 | cut -d' ' -f3-)
N=$(wc -l <"$WORK/render.txt")
row "Page render + snapshot, worst p50 of $N page × state runs" "${WORST50} ms" "≤ 16.7 ms" "$(verdict "$WORST50" '<=' 16.7)"
row "Page render, worst p99 ($WHICH)" "${WORST99} ms" "≤ 33 ms" "$(verdict "$WORST99" '<=' 33)"

# --- A headless screenshot, wall time ---------------------------------------------------------
: >"$WORK/shot.txt"
for _ in 1 2 3 4 5; do
    s=$(date +%s%N)
    "$BIN" --data-dir "$WORK/shots" screenshot --page home --out "$WORK/shot.png" >/dev/null 2>&1
    echo $(( ($(date +%s%N) - s) / 1000000 )) >>"$WORK/shot.txt"
done
SHOT=$(median <"$WORK/shot.txt")
row "Headless screenshot of home (wall, median of 5)" "${SHOT} ms" "≤ 100 ms" "$(verdict "$SHOT" '<=' 100)"

# --- Card to greeting (the kiosk task's own measure: card event → greeting pushed) -----------
RUST_LOG=info "$BIN" --data-dir "$WORK/cards" scenario run "$ROOT/tests/scenarios/card_session.toml" \
    --out "$WORK/cards-out" --no-screenshots >"$WORK/cards.log" 2>&1 || true
CARD=$(sed -E 's/\x1b\[[0-9;]*m//g' "$WORK/cards.log" | grep -o 'card to greeting us=[0-9]*' | grep -o '[0-9]*$' | median)
row "Card → greeting (event to the greeting's view, headless)" "$(awk -v v="$CARD" 'BEGIN { printf "%.2f", v / 1000 }') ms" "—" "—"

# --- Binary size ------------------------------------------------------------------------------
strip -o "$WORK/kiosk.stripped" "$KIOSK_BIN"
strip -o "$WORK/demo.stripped" "$BIN"
KS=$(stat -c %s "$WORK/kiosk.stripped"); DS=$(stat -c %s "$WORK/demo.stripped")
row "Stripped binary, kiosk build ($( [ "$KIOSK_BIN" = "$BIN" ] && echo "= demo build: run make kiosk" || echo "no simulator"))" "$(awk -v v="$KS" 'BEGIN { printf "%.1f", v / 1048576 }') MiB" "≤ 20 MB" "$(verdict "$KS" '<=' 20000000)"
row "Stripped binary, demo build (simulator, scenario runner)" "$(awk -v v="$DS" 'BEGIN { printf "%.1f", v / 1048576 }') MiB" "—" "—"
size -A "$WORK/kiosk.stripped" | awk '$1 ~ /^\.(text|rodata|data\.rel\.ro|eh_frame)$/ { printf "  %s %.1f MiB", $1, $2 / 1048576 }' >"$WORK/sections.txt"
row "  kiosk build's largest sections" "$(cat "$WORK/sections.txt")" "—" "—"

# --- Memory over card sessions in a row (headless, the embedded cloud) -----------------------
{
    echo "name = \"memory over $SESSIONS card sessions\""
    echo "record_steps = false"
    echo '[[step]]'; echo 'record_memory = "start"'
    for i in $(seq "$SESSIONS"); do
        # A card put down (the greeting, the home page), taken away (the wipe, goodbye).
        printf '[[step]]\ninsert_card = 2\n[[step]]\nremove_card = true\n'
        if [ "$i" = 100 ]; then echo '[[step]]'; echo 'record_memory = "after 100"'; fi
    done
    echo '[[step]]'; echo "record_memory = \"after $SESSIONS\""
} >"$WORK/sessions.toml"
s=$(date +%s)
RUST_LOG=error "$BIN" --data-dir "$WORK/sessions" scenario run "$WORK/sessions.toml" \
    --out "$WORK/sessions-out" --no-screenshots >/dev/null 2>&1 || true
SESSION_S=$(( $(date +%s) - s ))
$PY - "$WORK/sessions-out/transcript.json" >"$WORK/memory.txt" <<'PYEOF' || echo "nan nan nan nan" >"$WORK/memory.txt"
import json, sys
t = json.load(open(sys.argv[1]))
m = {label: (rss, pss) for label, rss, pss in t.get("memory", [])}
labels = [l for l, _, _ in t.get("memory", [])]
start, hundred, last = m[labels[0]], m[labels[1]], m[labels[-1]]
print(start[0], hundred[0], last[0], (last[0] - hundred[0]) / hundred[0] * 100, "ok" if t["ok"] else "FAILED")
PYEOF
read -r M_START M_100 M_LAST M_GROWTH M_OK <"$WORK/memory.txt"
row "RSS after start / 100 / $SESSIONS card sessions ($SESSION_S s, run $M_OK)" "$(awk -v a="$M_START" -v b="$M_100" -v c="$M_LAST" 'BEGIN { printf "%.1f / %.1f / %.1f MiB", a / 1024, b / 1024, c / 1024 }')" "—" "—"
row "  RSS growth from 100 to $SESSIONS sessions" "$(awk -v v="$M_GROWTH" 'BEGIN { printf "%.2f", v }') %" "< 5 %" "$(verdict "$M_GROWTH" '<' 5)"

ELAPSED=$(( $(date +%s) - STARTED ))
{
    echo "# Bianmin benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, software renderer, 1080×1920"
    echo
    echo "| Figure | Value | Target | Result |"
    echo "|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Per-page render times (p50 p99 ms, page and state):"
    echo
    echo '```'
    cat "$WORK/render.txt"
    echo '```'
    echo
    echo "The suite took ${ELAPSED} s."
} >"$OUT/report.md"
echo >&2
cat "$OUT/report.md"
