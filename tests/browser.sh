#!/bin/bash
# Real-browser end-to-end and accessibility checks (tests/browser/flows.mjs) against the real
# binary, as a resident, an officer, the head of the officer's unit, finance and an admin:
# Debian's chromium, playwright-core and axe-core from npm (never a downloaded browser).
# Usage: tests/browser.sh [path-to-tipline-binary] [screenshot-dir]   (run `cargo build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${1:-$ROOT/target/debug/tipline}
SHOTS=${2:-}
# The CJK fonts are installed even where Chromium already is: without them Chinese falls back to
# another font's metrics, and the wrapping checks would test something else.
need=()
command -v chromium >/dev/null || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
[ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}" >/dev/null
echo "browser: $(chromium --version 2>/dev/null) ($(dpkg-query -W -f='${Package} ${Version}' chromium 2>/dev/null)); $(dpkg-query -W -f='${Package} ${Version}' fonts-noto-cjk 2>/dev/null)"
NODE_DIR=${BROWSER_NODE_DIR:-/tmp/tipline-browser-node}
mkdir -p "$NODE_DIR"
[ -d "$NODE_DIR/node_modules/playwright-core" ] || (cd "$NODE_DIR" && echo '{"private":true}' > package.json && npm install --no-audit --no-fund -E playwright-core@1.65.1 axe-core@4.14.1 >/dev/null)
cp tests/browser/flows.mjs "$NODE_DIR/flows.mjs"
# Resolved before start_tipline moves into its temporary directory.
[ -n "$SHOTS" ] && mkdir -p "$SHOTS" && SHOTS=$(cd "$SHOTS" && pwd)
source tests/serve-lib.sh
start_tipline "$BIN" "${BROWSER_DATABASE_URL:-}" browser.officer browser-test-password
# The reward ladder's other signers (300 yuan: the unit's head, then finance) and the admin.
"$BIN" user add --username browser.head --role supervisor --unit ps-xidu --password-file pw --keep-password >/dev/null
"$BIN" user add --username browser.finance --role finance --password-file pw --keep-password >/dev/null
"$BIN" user add --username browser.admin --role admin --password-file pw --keep-password >/dev/null
"$BIN" user add --username browser.county --role supervisor --password-file pw --keep-password >/dev/null
"$BIN" user add --username browser.liaison --role liaison --township xianshan --password-file pw --keep-password >/dev/null
# A second server with captchas on, for the resident's captcha paths: its own directory, keys
# and SQLite database. The walk solves its captchas from the keys dir, as the operator can.
CDIR=$(mktemp -d); CPORT=$((30000 + RANDOM % 20000))
trap 'kill $PID $CPID 2>/dev/null || true; rm -rf "$DIR" "$CDIR"' EXIT
cserve() { (cd "$CDIR" && exec env -u TIPLINE_DATABASE_URL TIPLINE_LISTEN=127.0.0.1:$CPORT TIPLINE_CAPTCHA=on "$@"); }
# Started as a subshell that execs the server (not through the function, which would fork once
# more), so CPID is the server itself and the trap stops it.
(cd "$CDIR" && exec env -u TIPLINE_DATABASE_URL TIPLINE_LISTEN=127.0.0.1:$CPORT TIPLINE_CAPTCHA=on "$BIN") >"$CDIR/server.log" 2>&1 & CPID=$!
CBASE=http://127.0.0.1:$CPORT
for _ in $(seq 100); do curl -sf "$CBASE/api/v1/meta" >/dev/null && break; sleep 0.1; done
cserve "$BIN" user add --username browser.captcha --role officer --unit ps-xidu --password-file "$DIR/pw" --keep-password >/dev/null
node "$NODE_DIR/flows.mjs" "$BASE" browser.officer browser-test-password "$SHOTS" browser.head browser.finance browser.admin browser.county browser.liaison "$CBASE" "$CDIR/keys" browser.captcha
