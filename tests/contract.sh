#!/bin/bash
# API contract: schemathesis against /api/v1/openapi.json on the real binary, public routes
# without credentials and staff routes with an officer's token. Fails on any server error or
# any response that breaks the documented schema, status codes, headers or content types.
# Usage: tests/contract.sh [path-to-tipline-binary]   (run `cargo build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-$PWD/target/debug/tipline}
VENV=${SCHEMATHESIS_VENV:-/tmp/tipline-schemathesis}
[ -x "$VENV/bin/schemathesis" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q schemathesis==4.32.5; }
source tests/serve-lib.sh
start_tipline "$BIN" "${CONTRACT_DATABASE_URL:-}" contract.officer contract-test-password
TOKEN=$("$BIN" token issue --username contract.officer | tail -1)
for i in 1 2 3; do
  curl -sf -H 'Content-Type: application/json' -d "{\"category\":\"trafficking\",\"township\":\"xidu\",\"description\":\"contract $i\"}" "$BASE/api/v1/tips" >/dev/null
done
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method,allow_header_conformance
ST=("$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" --checks "$CHECKS" --max-examples "${CONTRACT_EXAMPLES:-25}" --seed 20261129 --no-color)
"${ST[@]}" --exclude-path-regex '/api/v1/staff'
"${ST[@]}" --include-path-regex '/api/v1/staff' --header "Authorization: Bearer $TOKEN"
