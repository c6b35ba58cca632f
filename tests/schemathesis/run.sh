#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a standalone `bianmin cloud-sim` with docs/openapi.yaml:
# every operation, positive and negative data, all checks. Starts the simulator itself and
# stops it by PID. Exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# CARGO_TARGET_DIR is honoured, as cargo does (a worktree may share another's target).
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/bianmin"
VENV="$TARGET/venv"
VERSION="4.32.5"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION"; then
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$VERSION"
fi
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --bin bianmin)

WORK="$(mktemp -d)"
PORT="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
# A small simulated fleet and an operator's admin credential, so the admin operations answer
# with real kiosks behind them.
"$BIN" cloud-sim --listen "127.0.0.1:$PORT" --db "$WORK/sim.db" --enrollment-code ST-ENROL \
    --fleet 20 --fleet-beat-secs 1 --admin-token ST-ADMIN >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
cleanup() {
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

post() { curl -sf -X POST "$URL$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }
json() { /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
TOKEN="$(post /v1/devices/enroll '{"enrollment_code": "ST-ENROL", "serial": "ST-1", "model": "schemathesis"}' | json device_token)"
# Demo resident 1 (张建国, aged 60+; his number passes GB 11643), so resident-scoped calls get past
# auth and reach seeded records: retired (certificates for recent periods are 422), 城乡居民 medical
# insurance, a sealed housing fund.
ID="$(/usr/bin/python3 -c '
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
s = "51010819500315031"
print(s + "10X98765432"[sum(int(d) * k for d, k in zip(s, w)) % 11])')"
SESSION="$(post /v1/identity/sessions "{\"card_type\": \"resident_id\", \"id_number\": \"$ID\", \"name\": \"张建国\", \"valid_to\": \"long-term\"}" -H "Authorization: Bearer $TOKEN" | json session_token)"

export BIANMIN_RESIDENT_SESSION="$SESSION"
# The kiosk's operations with the device token; the admin operations below with the admin
# credential (and a device token must not open them).
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/v1/admin/devices")"
[ "$code" = 401 ] || { echo "a device token opened the admin API ($code)" >&2; exit 1; }
"$VENV/bin/schemathesis" --config-file "$ROOT/tests/schemathesis/schemathesis.toml" run "$ROOT/docs/openapi.yaml" \
    --url "$URL" \
    --header "Authorization: Bearer $TOKEN" \
    --checks all \
    --exclude-operation-id revokeIdentitySession \
    --exclude-tag admin \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --seed 20261129 \
    --workers 2 \
    --report junit --report-dir "$TARGET/schemathesis" \
    --no-color
# Without the coverage phase: on these operations its example generator now and then hits a
# Python 3.11 internal error inside Hypothesis (SystemError: AST constructor recursion depth
# mismatch), a failure of the tool, not of the API. Fuzzing and stateful runs still cover them.
"$VENV/bin/schemathesis" --config-file "$ROOT/tests/schemathesis/schemathesis.toml" run "$ROOT/docs/openapi.yaml" \
    --url "$URL" \
    --header "Authorization: Bearer ST-ADMIN" \
    --include-tag admin \
    --phases examples,fuzzing,stateful \
    --checks all \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --seed 20261129 \
    --workers 2 \
    --report junit --report-dir "$TARGET/schemathesis-admin" \
    --no-color
