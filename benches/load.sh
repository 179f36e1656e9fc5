#!/bin/bash
# Load test against the release binary, on SQLite and (when BENCH_PG_URL is set) PostgreSQL:
# durable submissions, status checks and the staff queue, each beside a trivial route (the
# ceiling) measured in the same run; then a flood of large uploads while the server's resident
# memory is sampled, against a baseline taken in the same run after warm-up. GET /api/v1/meta is
# measured too, as issue 19's baseline for the tips rate (each tips row says its ratio to both).
# The tip writer's own bench, with a 1,000,000-tip database and a PostgreSQL with fsync=on that
# it starts itself, is benches/intake.sh.
# Usage: benches/load.sh [seconds-per-run]     needs wrk (apt-get install wrk) and curl
# Flood knobs: FLOOD_REQUESTS (48), FLOOD_CONCURRENCY (24), FLOOD_FILES per request (5, the
# default TIPLINE_MAX_ATTACHMENTS), each file 4 KiB under TIPLINE_MAX_ATTACHMENT_BYTES;
# FLOOD_ONLY=1 skips the routes (to compare floods of different concurrency: memory is bounded
# when the peak does not grow with FLOOD_CONCURRENCY). FLOOD_KIND=photo sends 48-megapixel
# JPEGs (made by ImageMagick's convert, photo-like noise, under the file cap) instead of text, so
# the flood decodes, shrinks and re-encodes images. FLOOD_KIND=nocaptcha (issue 16) runs only
# a captcha flood against a server with captchas on: a resident's web-form upload of a
# 12-megapixel photo, with a solved captcha, is timed alone and then during a flood of
# 48-megapixel photo uploads sent without a captcha, and during one with wrong answers to
# genuine captcha ids (the web form, whose files are then held). The script solves the
# resident's captcha from the keys dir it made, as the operator can (node, as in
# tests/browser/flows.mjs). NOCAPTCHA_RESIDENT (5) uploads per phase.
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
     --unit county --password-file "$dir/pw" --keep-password >/dev/null)
  token=$(cd "$dir" && TIPLINE_DATABASE_URL="$url" "$BIN" token issue --username bench | tail -1)
  cat > "$LUA/queue.lua" <<L
wrk.headers["Authorization"] = "Bearer $token"
L
  if [ -z "${FLOOD_ONLY:-}" ]; then
    read -r c_rps c_p99 < <(run_wrk "$base/static/style.css")
    read -r m_rps m_p99 < <(run_wrk "$base/api/v1/meta")
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
    echo "| $name | GET /api/v1/meta (issue 19's baseline) | $m_rps | $m_p99 | $(ratio "$m_rps" "$c_rps") |" >>"$LUA/routes"
    echo "| $name | durable POST /api/v1/tips | $t_rps | $t_p99 | $(ratio "$t_rps" "$c_rps"); $(ratio "$t_rps" "$m_rps") of meta |" >>"$LUA/routes"
    echo "| $name | POST /api/v1/status | $s_rps | $s_p99 | $(ratio "$s_rps" "$c_rps") |" >>"$LUA/routes"
    echo "| $name | GET /api/v1/staff/tips (bearer, $tips tips) | $q_rps | $q_p99 | $(ratio "$q_rps" "$c_rps") |" >>"$LUA/routes"
  fi
  echo "| $name | $FLOOD_CONCURRENCY | $(mib "$f_base") | $(mib "$f_peak") | +$(mib $((f_peak - f_base))) | $(mib "$f_hwm") | $f_codes |" >>"$LUA/flood"
}

# Issue 16: a flood of uploads without a valid captcha must not delay a resident's upload.
nocaptcha_bench() {
  command -v convert >/dev/null || { echo "FLOOD_KIND=nocaptcha needs ImageMagick's convert" >&2; exit 1; }
  command -v node >/dev/null || { echo "FLOOD_KIND=nocaptcha needs node to solve the resident's captcha" >&2; exit 1; }
  local n=${NOCAPTCHA_RESIDENT:-5} dir port base
  convert -seed 1 -size 1000x750 plasma:fractal -resize 8000x6000! -attenuate 0.4 +noise Gaussian -quality 80 "jpeg:$LUA/flood.jpg"
  convert -seed 2 -size 800x600 plasma:fractal -resize 4000x3000! -attenuate 0.4 +noise Gaussian -quality 85 "jpeg:$LUA/resident.jpg"
  cat > "$LUA/solve.mjs" <<'J'
import crypto from 'crypto'; import fs from 'fs';
const [keys, id] = process.argv.slice(2);
const pepper = Buffer.from(JSON.parse(fs.readFileSync(`${keys}/peppers.key`, 'utf8')).token, 'hex');
const lp = (s) => { const b = Buffer.from(s); const l = Buffer.alloc(8); l.writeBigUInt64BE(BigInt(b.length)); return Buffer.concat([l, b]); };
const key = crypto.createHmac('sha256', pepper).update(lp('tipline-subkey-v1')).update(lp('captcha')).digest();
const raw = Buffer.from(id, 'base64url');
const d = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
d.setAAD(Buffer.from('captcha')); d.setAuthTag(raw.subarray(raw.length - 16));
process.stdout.write(Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).subarray(8, 13).toString('ascii'));
J
  dir=$(mktemp -d); port=$((20000 + RANDOM % 20000)); base=http://127.0.0.1:$port
  (cd "$dir" && TIPLINE_LISTEN=127.0.0.1:$port TIPLINE_CAPTCHA=on TIPLINE_RATE_LIMIT=off \
     TIPLINE_LOG=warn exec "$BIN" >"$dir/log" 2>&1) & PID=$!
  for _ in $(seq 100); do curl -sf "$base/api/v1/meta" >/dev/null && break; sleep 0.1; done
  # One request of the flood: the web form with a 48-megapixel photo, no captcha ("none") or a
  # genuine id from the form page answered wrong ("wrong": digits 0 and 1 are never answers).
  cat > "$LUA/flood_one.sh" <<'F'
#!/bin/bash
base=$1 kind=$2 photo=$3
args=(-F "form_token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')")
url="$base/?lang=en"
# The control: the same bodies to a route that reads none of them (404), so what the senders
# and the loopback cost this machine is measured apart from what the server does with them.
[ "$kind" = control ] && url="$base/nowhere"
if [ "$kind" = wrong ]; then
  id=$(curl -s "$base/?lang=en" | grep -o 'name="captcha_id" value="[^"]*"' | sed 's/.*value="//; s/"$//')
  args+=(-F "captcha_id=$id" -F captcha_answer=10101)
fi
curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 "${args[@]}" -F category=other -F township=xidu \
  -F description=flood -F "attachment=@$photo;type=image/jpeg" "$url"
F
  chmod +x "$LUA/flood_one.sh"
  resident() { # -> "code seconds": the web form with its captcha solved and one photo
    local page id token answer
    page=$(curl -s "$base/?lang=en")
    id=$(grep -o 'name="captcha_id" value="[^"]*"' <<<"$page" | sed 's/.*value="//; s/"$//')
    token=$(grep -o 'name="form_token" value="[^"]*"' <<<"$page" | sed 's/.*value="//; s/"$//')
    answer=$(node "$LUA/solve.mjs" "$dir/keys" "$id")
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 300 -F "form_token=$token" \
      -F category=other -F township=xidu -F description=resident -F "captcha_id=$id" \
      -F "captcha_answer=$answer" -F "attachment=@$LUA/resident.jpg;type=image/jpeg" "$base/?lang=en"
  }
  phase() { # label -> "median max codes"
    local i; : >"$LUA/times"
    for i in $(seq "$n"); do resident >>"$LUA/times"; done
    local codes; codes=$(awk '{print $1}' "$LUA/times" | sort | uniq -c | awk '{printf "%s%s x %s", (NR>1?", ":""), $2, $1}')
    sort -n -k2 "$LUA/times" | awk -v codes="$codes" '{t[NR]=$2} END {printf "%.2f %.2f %s\n", t[int((NR+1)/2)], t[NR], codes}'
  }
  resident >/dev/null # warm-up
  read -r b_med b_max b_codes < <(phase alone)
  : >"$LUA/nocaptcha"
  echo "| alone | - | $b_med | $b_max | 1.00 | $b_codes | - |" >>"$LUA/nocaptcha"
  local kind
  for kind in control none wrong; do
    # FLOOD_CONCURRENCY senders, each sending one request after another until the resident is done.
    rm -f "$LUA/stop"; : >"$LUA/fcodes"
    local senders=() w
    for w in $(seq "$FLOOD_CONCURRENCY"); do
      ( while [ ! -e "$LUA/stop" ]; do "$LUA/flood_one.sh" "$base" "$kind" "$LUA/flood.jpg" >>"$LUA/fcodes"; done ) &
      senders+=($!)
    done
    sleep 2
    read -r f_med f_max f_codes < <(phase "$kind")
    touch "$LUA/stop"; wait "${senders[@]}" 2>/dev/null || true
    local fc; fc=$(sort "$LUA/fcodes" | uniq -c | awk '{printf "%s%s x %s", (NR>1?", ":""), $2, $1}')
    local label
    case $kind in
      control) label="control: same bodies to a 404 route (senders' own cost)" ;;
      none) label="no captcha" ;;
      *) label="wrong answer, genuine id (held)" ;;
    esac
    echo "| during a flood: $label | $FLOOD_CONCURRENCY | $f_med | $f_max | $(awk -v a="$f_med" -v b="$b_med" 'BEGIN {printf "%.2f", a/b}') | $f_codes | $fc |" >>"$LUA/nocaptcha"
  done
  kill $PID; wait $PID 2>/dev/null || true; PID=
  rm -rf "$dir"
  echo "captcha flood (SQLite, captchas on, rate limit off): $FLOOD_CONCURRENCY senders, each sending web-form uploads of a $(du -k --apparent-size "$LUA/flood.jpg" | cut -f1) KiB 8000x6000 JPEG one after another while the resident uploads (2 s head start); the resident: $n web-form uploads of a $(du -k --apparent-size "$LUA/resident.jpg" | cut -f1) KiB 4000x3000 JPEG with a solved captcha, one after another; $(nproc) cores, $(date -u +%F)"
  echo
  echo "| resident's upload | flood at a time | median s | max s | median / alone | resident's responses | flood's responses |"
  echo "|---|---|---|---|---|---|---|"
  cat "$LUA/nocaptcha"
}
if [ "$FLOOD_KIND" = nocaptcha ]; then nocaptcha_bench; exit 0; fi

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
