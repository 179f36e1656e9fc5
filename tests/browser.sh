#!/bin/bash
# Real-browser end-to-end and accessibility checks (tests/browser/flows.mjs) against the real
# binary: Debian's chromium, playwright-core and axe-core from npm (never a downloaded browser).
# Usage: tests/browser.sh [path-to-tipline-binary] [screenshot-dir]   (run `cargo build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${1:-$ROOT/target/debug/tipline}
SHOTS=${2:-}
command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends chromium fonts-noto-cjk >/dev/null
NODE_DIR=${BROWSER_NODE_DIR:-/tmp/tipline-browser-node}
mkdir -p "$NODE_DIR"
[ -d "$NODE_DIR/node_modules/playwright-core" ] || (cd "$NODE_DIR" && echo '{"private":true}' > package.json && npm install --no-audit --no-fund -E playwright-core@1.65.1 axe-core@4.14.1 >/dev/null)
cp tests/browser/flows.mjs "$NODE_DIR/flows.mjs"
DIR=$(mktemp -d); PORT=$((30000 + RANDOM % 20000))
cd "$DIR"
export TIPLINE_LISTEN=127.0.0.1:$PORT TIPLINE_CAPTCHA=off TIPLINE_RATE_LIMIT=off TIPLINE_LOG=warn
[ -n "${BROWSER_DATABASE_URL:-}" ] && export TIPLINE_DATABASE_URL=$BROWSER_DATABASE_URL
"$BIN" >"$DIR/server.log" 2>&1 & PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/api/v1/meta" >/dev/null && break; sleep 0.1; done
printf 'browser-test-password\n' > pw
"$BIN" user add --username browser.officer --role officer --unit ps-xidu --password-file pw >/dev/null
[ -n "$SHOTS" ] && mkdir -p "$SHOTS" && SHOTS=$(cd "$SHOTS" && pwd)
node "$NODE_DIR/flows.mjs" "http://127.0.0.1:$PORT" browser.officer browser-test-password "$SHOTS"
