#!/bin/bash
# Load test against the release binary, on SQLite and (when BENCH_PG_URL is set) PostgreSQL:
# durable submissions, status checks and the staff queue, each beside a trivial route (the
# ceiling) measured in the same run; then a flood of large uploads while the server's resident
# memory is sampled, against a baseline taken in the same run after warm-up.
# Usage: benches/load.sh [seconds-per-run]     needs wrk (apt-get install wrk) and curl
# Flood knobs: FLOOD_REQUESTS (48), FLOOD_CONCURRENCY (24), FLOOD_FILES per request (5, the
# default TIPLINE_MAX_ATTACHMENTS), each file 4 KiB under TIPLINE_MAX_ATTACHMENT_BYTES;
# FLOOD_ONLY=1 skips the routes (to compare floods of different concurrency: memory is bounded
# when the peak does not grow with FLOOD_CONCURRENCY). FLOOD_KIND=photo sends 48-megapixel
# JPEGs (made by ImageMagick's convert, photo-like noise, under the file cap) instead of text, so
# the flood decodes, shrinks and re-encodes images.
# BENCH_INTAKE=1 first runs benches/intake.sh (issue 19): GET /api/v1/meta beside durable POST
# /api/v1/tips on SQLite, on a SQLite database of 1,000,000 tips and on a throwaway PostgreSQL
# with fsync=on, interleaved, and the staff queue on the filled database.
# Prints markdown tables: requests/s, p99 latency and each route's ratio to the ceiling; and
# baseline, peak and high-water RSS with the flood's response codes.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONN=${BENCH_CONNECTIONS:-32}
FLOOD_REQUESTS=${FLOOD_REQUESTS:-48}
FLOOD_CONCURRENCY=${FLOOD_CONCURRENCY:-24}
FLOOD_FILES=${FLOOD_FILES:-5}
FLOOD_KIND=${FLOOD_KIND:-text}
MAX_FILE=$((10 * 1024 * 1024))
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
# BENCH_BIN=path runs another binary instead (a debug build, to check the script itself).
if [ -z "${BENCH_BIN:-}" ]; then cargo build --release -q; fi
BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/tipline}
LUA=$(mktemp -d)
trap 'rm -rf "$LUA"; [ -n "${PID:-}" ] && kill $PID 2>/dev/null || true' EXIT
trap 'exit 1' INT TERM # so a timeout or ^C still stops the server

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

rss_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; } # pid VmRSS|VmHWM

# A flood of multipart submissions, each with FLOOD_FILES text files of near-maximum size, while
# the server's RSS is sampled every 50 ms. Prints "baseline peak hwm codes".
flood() { # base pid
  local base=$1 pid=$2 files=() i
  for i in $(seq "$FLOOD_FILES"); do files+=(-F "attachment=@$LUA/big$i;type=$FLOOD_TYPE"); done
  curl -s -o /dev/null --max-time 300 -F category=other -F township=xidu -F description=warm-up \
    "${files[@]}" "$base/api/v1/tips" # warm-up: the first upload's buffers and blocking threads
  sleep 1
  local baseline; baseline=$(rss_kb "$pid" VmRSS)
  rm -f "$LUA/flood.done" "$LUA/peak"
  ( peak=0
    while [ ! -e "$LUA/flood.done" ] && kill -0 "$pid" 2>/dev/null; do
      r=$(rss_kb "$pid" VmRSS); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.05
    done; echo "$peak" >"$LUA/peak" ) &
  local sampler=$!
  seq "$FLOOD_REQUESTS" | xargs -P "$FLOOD_CONCURRENCY" -I{} curl -s -o /dev/null \
    -w '%{http_code}\n' --max-time 300 -F category=other -F township=xidu -F description=flood{} \
    "${files[@]}" "$base/api/v1/tips" >"$LUA/codes" || true
  touch "$LUA/flood.done"; wait "$sampler"
  local codes; codes=$(sort "$LUA/codes" | uniq -c | awk '{printf "%s%s x %s", (NR>1?", ":""), $2, $1}')
  echo "$baseline $(cat "$LUA/peak") $(rss_kb "$pid" VmHWM) $codes"
}

bench_backend() { # name database-url
  local name=$1 url=$2 dir port
  dir=$(mktemp -d); port=$((20000 + RANDOM % 20000))
  (cd "$dir" && TIPLINE_DATABASE_URL="$url" TIPLINE_LISTEN=127.0.0.1:$port TIPLINE_CAPTCHA=off \
     TIPLINE_RATE_LIMIT=off TIPLINE_LOG=warn exec "$BIN" >"$dir/log" 2>&1) & PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/meta" >/dev/null && break; sleep 0.1; done
  local base=http://127.0.0.1:$port
  local receipt token tips
  receipt=$(curl -s -H 'Content-Type: application/json' -d '{"category":"other","township":"xidu","description":"load"}' "$base/api/v1/tips" | sed 's/.*"receipt":"\([0-9-]*\)".*/\1/')
  cat > "$LUA/status.lua" <<L
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"receipt":"$receipt"}'
L
  # A county-wide supervisor's bearer token for the staff queue (the CLI beside the server).
  printf 'correct horse battery staple\n' >"$dir/pw"
  (cd "$dir" && TIPLINE_DATABASE_URL="$url" "$BIN" user add --username bench --role supervisor \
     --unit county --password-file "$dir/pw" >/dev/null)
  token=$(cd "$dir" && TIPLINE_DATABASE_URL="$url" "$BIN" token issue --username bench | tail -1)
  cat > "$LUA/queue.lua" <<L
wrk.headers["Authorization"] = "Bearer $token"
L
  if [ -z "${FLOOD_ONLY:-}" ]; then
    read -r c_rps c_p99 < <(run_wrk "$base/static/style.css")
    read -r t_rps t_p99 < <(run_wrk "$base/api/v1/tips" "$LUA/tip.lua")
    read -r s_rps s_p99 < <(run_wrk "$base/api/v1/status" "$LUA/status.lua")
    # The queue runs after the submissions above, so it pages over the thousands of tips they made.
    tips=$(curl -s -H "Authorization: Bearer $token" "$base/api/v1/staff/tips" |
      python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["counts"].values()))')
    read -r q_rps q_p99 < <(run_wrk "$base/api/v1/staff/tips" "$LUA/queue.lua")
  fi
  read -r f_base f_peak f_hwm f_codes < <(flood "$base" "$PID")
  kill $PID; wait $PID 2>/dev/null || true; PID=
  rm -rf "$dir"
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
  mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k/1024}'; }
  if [ -z "${FLOOD_ONLY:-}" ]; then
    echo "| $name | ceiling: GET /static/style.css | $c_rps | $c_p99 | 1.000 |" >>"$LUA/routes"
    echo "| $name | durable POST /api/v1/tips | $t_rps | $t_p99 | $(ratio "$t_rps" "$c_rps") |" >>"$LUA/routes"
    echo "| $name | POST /api/v1/status | $s_rps | $s_p99 | $(ratio "$s_rps" "$c_rps") |" >>"$LUA/routes"
    echo "| $name | GET /api/v1/staff/tips (bearer, $tips tips) | $q_rps | $q_p99 | $(ratio "$q_rps" "$c_rps") |" >>"$LUA/routes"
  fi
  echo "| $name | $FLOOD_CONCURRENCY | $(mib "$f_base") | $(mib "$f_peak") | +$(mib $((f_peak - f_base))) | $(mib "$f_hwm") | $f_codes |" >>"$LUA/flood"
}

if [ "$FLOOD_KIND" = photo ]; then
  # 8000 x 6000 pixels (144 MB decoded as RGB, under MAX_DECODED_BYTES), a few MB as JPEG.
  command -v convert >/dev/null || { echo "FLOOD_KIND=photo needs ImageMagick's convert" >&2; exit 1; }
  FLOOD_TYPE=image/jpeg
  for i in $(seq "$FLOOD_FILES"); do
    convert -seed "$i" -size 1000x750 plasma:fractal -resize 8000x6000! -attenuate 0.4 \
      +noise Gaussian -quality 80 "jpeg:$LUA/big$i"
    [ "$(stat -c %s "$LUA/big$i")" -lt "$MAX_FILE" ] || { echo "photo $i is over the file cap" >&2; exit 1; }
  done
else
  # Base64 text (valid UTF-8, incompressible), each 4 KiB under the cap.
  FLOOD_TYPE=text/plain
  for i in $(seq "$FLOOD_FILES"); do
    { head -c $((MAX_FILE * 3 / 4)) /dev/urandom | base64 -w 76 || true; } | head -c $((MAX_FILE - 4096)) >"$LUA/big$i"
  done
fi
: >"$LUA/routes"; : >"$LUA/flood"
if [ -n "${BENCH_INTAKE:-}" ]; then BENCH_BIN="$BIN" benches/intake.sh "$DUR"; echo; fi
bench_backend sqlite "sqlite://data/tipline.db"
if [ -n "${BENCH_PG_URL:-}" ]; then
  db=tipline_bench_$RANDOM
  psql "$BENCH_PG_URL" -qc "CREATE DATABASE $db"
  bench_backend postgres "${BENCH_PG_URL%/*}/$db"
  psql "$BENCH_PG_URL" -qc "DROP DATABASE $db WITH (FORCE)"
fi
echo "load: ${DUR}s per route, $CONN connections, wrk -t2, $(nproc) cores, $(date -u +%F)"
echo
echo "| backend | route | requests/s | p99 ms | ratio to ceiling |"
echo "|---|---|---|---|---|"
cat "$LUA/routes"
echo
echo "upload flood: $FLOOD_REQUESTS submissions, $FLOOD_CONCURRENCY at a time, $FLOOD_FILES $FLOOD_KIND file(s) of $(du -k --apparent-size "$LUA/big1" | cut -f1) KiB each"
echo
echo "| backend | at a time | baseline RSS MiB | peak RSS MiB | peak - baseline | VmHWM MiB | responses |"
echo "|---|---|---|---|---|---|---|"
cat "$LUA/flood"
