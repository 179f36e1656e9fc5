#!/bin/bash
# Intake throughput (issue 19), in one run, repetitions interleaved: GET /api/v1/meta (the
# ceiling) and durable POST /api/v1/tips (1 KB JSON) on a fresh SQLite database, on a SQLite
# database already holding BENCH_FILL (1,000,000) tips, and on a fresh PostgreSQL database of a
# throwaway server with fsync=on; then the staff queue (GET /api/v1/staff/tips, bearer) over
# HTTP on the filled database, and its first page's SQL time there (sqlite3, 20 runs).
# Usage: benches/intake.sh [seconds-per-run]   REPS (3), BENCH_CONNECTIONS (32), BENCH_FILL,
# BENCH_PG_PORT (55450; a throwaway PostgreSQL under /tmp, started and stopped here, as root),
# BENCH_BIN (a binary instead of building the release one). Needs wrk, curl, sqlite3, initdb.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
REPS=${REPS:-3}
CONN=${BENCH_CONNECTIONS:-32}
FILL=${BENCH_FILL:-1000000}
PGPORT=${BENCH_PG_PORT:-55450}
if [ -z "${BENCH_BIN:-}" ]; then cargo build --release -q; fi
BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/tipline}
W=$(mktemp -d /tmp/tipline-intake.XXXXXX); chmod 755 "$W"
PGBIN=$(dirname "$(readlink -f "$(command -v initdb)")")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -d "$W/pg/data" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat >"$W/tip.lua" <<'L'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"category":"trafficking","township":"xidu","description":"有人在西渡镇某茶楼二楼包间贩卖冰毒，经常晚上九点以后交易。他们开一辆白色面包车，车牌尾号是三七，每次来两三个人，其中一个瘦高个左手有纹身，大家叫他老三。交易一般在包间里完成，茶楼老板应该知道情况但是不管。附近的人都说这个情况已经有半年多了，晚上十点以后还有人在后门进出。","location":"西渡镇某村三组，茶楼在镇政府对面街上往东走两百米路北，二楼最里面的包间","people":"绰号老三，瘦高个，三十岁左右，左手有纹身；另有一个矮胖的中年男子负责开车","vehicles":"白色面包车，车牌尾号三七"}'
L

wait_up() { for _ in $(seq 300); do curl -sf "$1/api/v1/meta" >/dev/null && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; exit 1; }

start() { # dir url -> sets PID, BASE
  local dir=$1 url=$2 port=$((20000 + RANDOM % 20000))
  mkdir -p "$dir"
  (cd "$dir" && TIPLINE_DATABASE_URL="$url" TIPLINE_LISTEN=127.0.0.1:$port TIPLINE_CAPTCHA=off \
     TIPLINE_RATE_LIMIT=off TIPLINE_LOG=warn exec "$BIN" >>"$dir/log" 2>&1) & PID=$!
  PIDS+=("$PID"); BASE=http://127.0.0.1:$port; wait_up "$BASE"
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

run_wrk() { # url [lua] -> "rps"
  local out
  if [ -n "${2:-}" ]; then out=$(wrk -t2 -c"$CONN" -d"${DUR}s" -s "$2" "$1"); else out=$(wrk -t2 -c"$CONN" -d"${DUR}s" "$1"); fi
  local non2xx; non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  [ -n "$non2xx" ] && echo "warning: $non2xx non-2xx responses on $1" >&2
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

# A throwaway PostgreSQL with fsync on (the default, said out loud) and synchronous_commit on.
mkdir -p "$W/pg"; chown postgres: "$W/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg/data" -l "$W/pg/log" -w start \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $W/pg -c fsync=on -c synchronous_commit=on -c max_connections=200" >/dev/null
PGURL=postgres://postgres@127.0.0.1:$PGPORT
echo "postgres: fsync=$(psql "$PGURL/postgres" -Atc 'show fsync'), synchronous_commit=$(psql "$PGURL/postgres" -Atc 'show synchronous_commit')" >&2

# The filled SQLite database: the server creates it (keys, units, one real sealed tip), then
# BENCH_FILL copies of that tip's row and object key go in by SQL with new random ids, refs and
# receipt hashes, spread over units and the last 2,000 hours; indexes dropped and rebuilt.
FULL=$W/full; start "$FULL" "sqlite://$FULL/tipline.db"
curl -s -H 'Content-Type: application/json' -d @<(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$W/tip.lua") "$BASE/api/v1/tips" >/dev/null
sleep 2 # the mover takes it from the intake journal into tips a second after the last tip
stop
t0=$(date +%s)
indexes=$(sqlite3 "$FULL/tipline.db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tips' AND sql IS NOT NULL")
drops=$(sqlite3 "$FULL/tipline.db" "SELECT 'DROP INDEX ' || name || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tips' AND sql IS NOT NULL")
sqlite3 -bail "$FULL/tipline.db" >/dev/null <<SQL
PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA cache_size = -400000;
BEGIN;
$drops
CREATE TEMP TABLE towns AS SELECT row_number() OVER (ORDER BY township) - 1 AS k, township, unit_code FROM unit_townships;
CREATE TEMP TABLE sample AS SELECT * FROM tips LIMIT 1;
CREATE TEMP TABLE sample_key AS SELECT s.* FROM sealed_keys s, sample t WHERE s.object_kind = 'tip' AND s.object_id = t.id;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $FILL)
INSERT INTO tips (id, public_ref, channel, category, township, unit_code, status, priority,
  county_only, created_hour, updated_at, receipt_hash, reply_pubkey, payload, attachment_count,
  receipt_private, route_mac, staff_notified)
SELECT lower(hex(randomblob(16))), 'T' || upper(hex(randomblob(8))), s.channel, s.category,
  w.township, w.unit_code, CASE WHEN n.i % 7 = 0 THEN 'closed' WHEN n.i % 5 = 0 THEN 'assigned' ELSE 'received' END,
  0, FALSE, s.created_hour - 3600 * (n.i % 2000), s.created_hour - 3600 * (n.i % 2000),
  randomblob(32), s.reply_pubkey, s.payload, 0, TRUE, s.route_mac, TRUE
FROM n, sample s JOIN towns w ON w.k = n.i % (SELECT count(*) FROM towns);
INSERT INTO sealed_keys (object_kind, object_id, recipient_key_id, encapped, sealed_key)
SELECT 'tip', t.id, k.recipient_key_id, k.encapped, k.sealed_key FROM tips t, sample_key k
WHERE t.id <> (SELECT id FROM sample);
$indexes
COMMIT;
PRAGMA journal_mode = WAL;
ANALYZE;
SQL
echo "filled $(sqlite3 "$FULL/tipline.db" 'SELECT count(*) FROM tips') tips in $(( $(date +%s) - t0 )) s, $(du -m "$FULL/tipline.db" | cut -f1) MB" >&2

# A county-wide supervisor's bearer token on the filled database, for the staff queue.
printf 'correct horse battery staple\n' >"$W/pw"
(cd "$FULL" && TIPLINE_DATABASE_URL="sqlite://$FULL/tipline.db" "$BIN" user add --username bench \
   --role supervisor --unit county --password-file "$W/pw" --keep-password >/dev/null)
TOKEN=$(cd "$FULL" && TIPLINE_DATABASE_URL="sqlite://$FULL/tipline.db" "$BIN" token issue --username bench | tail -1)
printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$TOKEN" >"$W/queue.lua"

: >"$W/rows"
for rep in $(seq "$REPS"); do
  for cfg in sqlite sqlite-1M postgres; do
    case $cfg in
      sqlite) d=$W/s$rep; start "$d" "sqlite://$d/tipline.db" ;;
      sqlite-1M) start "$FULL" "sqlite://$FULL/tipline.db" ;;
      postgres) psql "$PGURL/postgres" -qc "CREATE DATABASE b$rep"; start "$W/p$rep" "$PGURL/b$rep" ;;
    esac
    meta=$(run_wrk "$BASE/api/v1/meta")
    tips=$(run_wrk "$BASE/api/v1/tips" "$W/tip.lua")
    queue=-; moved=-
    if [ "$cfg" = sqlite-1M ]; then
      # The burst waits in the intake journal; the mover takes it into the million-tip table
      # after a second of quiet. The queue is measured once that is done (a staff read in the
      # middle would wait for the move, as it drains first), and the move's time is reported.
      t1=$(date +%s.%N)
      for _ in $(seq 1200); do
        [ "$(sqlite3 "$FULL/tipline.db" 'PRAGMA busy_timeout = 5000; SELECT count(*) FROM tip_journal' | tail -1)" = 0 ] && break
        sleep 0.1
      done
      moved=$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
      queue=$(run_wrk "$BASE/api/v1/staff/tips" "$W/queue.lua")
    fi
    stop
    echo "$rep $cfg $meta $tips $queue $moved" | tee -a "$W/rows" >&2
    case $cfg in sqlite) rm -rf "$W/s$rep" ;; postgres) psql "$PGURL/postgres" -qc "DROP DATABASE b$rep WITH (FORCE)"; rm -rf "$W/p$rep" ;; esac
  done
done

# The first page's SQL on the filled database (what the queue runs for a county supervisor:
# newest first, 50 rows), timed by sqlite3 itself.
qms=$(python3 - "$FULL/tipline.db" <<'PY'
import sqlite3, statistics, sys, time
c = sqlite3.connect(sys.argv[1])
q = ("SELECT id, public_ref, category, township, unit_code, status, priority, created_hour "
     "FROM tips ORDER BY created_hour DESC, id DESC LIMIT 50")
runs = []
for i in range(220):
    t = time.perf_counter(); c.execute(q).fetchall(); runs.append(time.perf_counter() - t)
print("%.3f" % (statistics.median(runs[20:]) * 1000))
PY
)
ntips=$(sqlite3 "$FULL/tipline.db" 'SELECT count(*) FROM tips')

echo "intake: ${DUR}s per route, $CONN connections, wrk -t2, $(nproc) cores, $REPS interleaved repetitions, $(date -u +%F)"
echo
echo "| database | rep | GET /api/v1/meta /s | durable POST /api/v1/tips /s | tips / meta | journal moved after (s) | staff queue /s |"
echo "|---|---|---|---|---|---|---|"
awk '{printf "| %s | %s | %.0f | %.0f | %.3f | %s | %s |\n", $2, $1, $3, $4, $4 / $3, ($6 == "-" ? "" : $6), ($5 == "-" ? "" : sprintf("%.0f", $5))}' "$W/rows"
echo
echo "| database | median tips / meta | median tips /s |"
echo "|---|---|---|"
for cfg in sqlite sqlite-1M postgres; do
  awk -v c="$cfg" '$2 == c {r[++n] = $4 / $3; t[n] = $4} END {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) { if (r[j] < r[i]) {x = r[i]; r[i] = r[j]; r[j] = x}; if (t[j] < t[i]) {x = t[i]; t[i] = t[j]; t[j] = x} }
    printf "| %s | %.3f | %.0f |\n", c, r[int((n + 1) / 2)], t[int((n + 1) / 2)] }' "$W/rows"
done
echo
echo "filled database at the end: $ntips tips; the queue's first page (county, 50 newest): median ${qms} ms of SQL (Python's sqlite3, 200 runs after 20)"
