#!/bin/bash
# Load test: durable submissions, status checks and a trivial route (the ceiling), measured in
# the same run against the release binary, on SQLite and (when BENCH_PG_URL is set) PostgreSQL.
# Usage: benches/load.sh [seconds-per-run]     needs wrk (apt-get install wrk)
# Prints a markdown table: requests/s, p99 latency, and each route's ratio to the ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONN=${BENCH_CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q
BIN=$PWD/target/release/tipline
LUA=$(mktemp -d)
trap 'rm -rf "$LUA"; [ -n "${PID:-}" ] && kill $PID 2>/dev/null || true' EXIT

cat > "$LUA/tip.lua" <<'L'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"category":"trafficking","township":"xidu","description":"有人在西渡镇某茶楼二楼包间贩卖冰毒，经常晚上九点以后交易。","location":"西渡镇某村三组","people":"绰号老三"}'
L

run_wrk() { # url [lua] -> "rps p99ms"
  local out
  if [ -n "${2:-}" ]; then out=$(wrk -t2 -c"$CONN" -d"${DUR}s" --latency -s "$2" "$1"); else out=$(wrk -t2 -c"$CONN" -d"${DUR}s" --latency "$1"); fi
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  [ -n "$non2xx" ] && echo "warning: $non2xx non-2xx responses on $1" >&2
  echo "$rps $p99"
}

bench_backend() { # name database-url
  local name=$1 url=$2 dir port
  dir=$(mktemp -d); port=$((20000 + RANDOM % 20000))
  (cd "$dir" && TIPLINE_DATABASE_URL="$url" TIPLINE_LISTEN=127.0.0.1:$port TIPLINE_CAPTCHA=off \
     TIPLINE_RATE_LIMIT=off TIPLINE_LOG=warn "$BIN" >"$dir/log" 2>&1) & PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/meta" >/dev/null && break; sleep 0.1; done
  local base=http://127.0.0.1:$port
  local receipt
  receipt=$(curl -s -H 'Content-Type: application/json' -d '{"category":"other","township":"xidu","description":"load"}' "$base/api/v1/tips" | sed 's/.*"receipt":"\([0-9-]*\)".*/\1/')
  cat > "$LUA/status.lua" <<L
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"receipt":"$receipt"}'
L
  read -r c_rps c_p99 < <(run_wrk "$base/static/style.css")
  read -r t_rps t_p99 < <(run_wrk "$base/api/v1/tips" "$LUA/tip.lua")
  read -r s_rps s_p99 < <(run_wrk "$base/api/v1/status" "$LUA/status.lua")
  kill $PID; wait $PID 2>/dev/null || true; PID=
  rm -rf "$dir"
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
  echo "| $name | ceiling: GET /static/style.css | $c_rps | $c_p99 | 1.000 |"
  echo "| $name | durable POST /api/v1/tips | $t_rps | $t_p99 | $(ratio "$t_rps" "$c_rps") |"
  echo "| $name | POST /api/v1/status | $s_rps | $s_p99 | $(ratio "$s_rps" "$c_rps") |"
}

echo "load: ${DUR}s per route, $CONN connections, wrk -t2, $(nproc) cores, $(date -u +%F)"
echo
echo "| backend | route | requests/s | p99 ms | ratio to ceiling |"
echo "|---|---|---|---|---|"
bench_backend sqlite "sqlite://data/tipline.db"
if [ -n "${BENCH_PG_URL:-}" ]; then
  db=tipline_bench_$RANDOM
  psql "$BENCH_PG_URL" -qc "CREATE DATABASE $db"
  bench_backend postgres "${BENCH_PG_URL%/*}/$db"
  psql "$BENCH_PG_URL" -qc "DROP DATABASE $db WITH (FORCE)"
fi
