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
source tests/serve-lib.sh
start_tipline "$BIN" "${BROWSER_DATABASE_URL:-}" browser.officer browser-test-password
[ -n "$SHOTS" ] && mkdir -p "$SHOTS" && SHOTS=$(cd "$SHOTS" && pwd)
node "$NODE_DIR/flows.mjs" "$BASE" browser.officer browser-test-password "$SHOTS"
