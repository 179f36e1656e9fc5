#!/usr/bin/env bash
# The operator guide's backup and restore procedure, run for real on SQLite and PostgreSQL:
#   1. serve; file tips through the JSON API (captcha off);
#   2. `tipline backup DEST` while the server keeps taking tips; the keys dir copied apart;
#   3. the copy holds no keys and no tip text, and is mode 0600;
#   4. restore into a fresh place (SQLite: copy the file; PostgreSQL: pg_restore into a new
#      database owned by the service role);
#   5. without the keys the restored copy refuses to start; with them it starts, every receipt
#      filed before the backup resolves, the audit log verifies, new tips are taken.
# Needs: curl, python3, a tipline binary (TIPLINE_BIN, default `tipline` on PATH, else
# target/release/tipline); for PostgreSQL also psql, createdb, dropdb, pg_restore, pg_dump and
# a server: PG_ADMIN_URL (default postgres://postgres@127.0.0.1:55432/postgres) and the role the
# service uses, PG_ROLE/PG_ROLE_PASSWORD (default tipline/tipline, as in
# /work/shared/recipes/pg.sh). Without a reachable server the PostgreSQL half is skipped
# (REQUIRE_PG=1 makes that a failure).
# Run by hand: tests/ops/restore-check.sh [sqlite|postgres|all]   (KEEP=1 keeps the temp dir)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${TIPLINE_BIN:-$(command -v tipline || echo "$here/target/release/tipline")}
WHICH=${1:-all}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:55432/postgres}
PG_ROLE=${PG_ROLE:-tipline}
PG_ROLE_PASSWORD=${PG_ROLE_PASSWORD:-tipline}
[ -x "$BIN" ] || { echo "restore-check: no tipline binary at $BIN (set TIPLINE_BIN)" >&2; exit 2; }
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "restore-check: $tool is not installed" >&2; exit 2; }
done

W=$(mktemp -d /tmp/ops-restore.XXXXXX)
pids=()
dbs=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for d in "${dbs[@]}"; do dropdb --if-exists --maintenance-db="$PG_ADMIN_URL" "$d" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# tipline with a clean environment: $1 dir (working dir, log), $2 database URL, $3 keys dir,
# then the command. tl_exec replaces the calling (sub)shell, so `tl_exec ... &` leaves $! =
# tipline itself; tl runs it in a subshell and waits.
tl_exec() {
    local dir=$1 url=$2 keys=$3
    shift 3
    cd "$dir" && exec env -i PATH="$PATH" HOME="$dir" TIPLINE_CONFIG="$dir/absent.toml" \
        TIPLINE_DATABASE_URL="$url" TIPLINE_DATA_DIR="$dir/data" TIPLINE_KEYS_DIR="$keys" \
        TIPLINE_LISTEN="127.0.0.1:${port:-0}" TIPLINE_CAPTCHA=off TIPLINE_RATE_LIMIT=off \
        TIPLINE_WORKERS=2 "$BIN" "$@"
}
tl() { ( tl_exec "$@" ); }
serve() { # $1 dir, $2 url, $3 keys; returns non-zero if it does not come up
    port=$(port)
    tl_exec "$1" "$2" "$3" serve >>"$1/serve.log" 2>&1 &
    server=$!
    pids+=("$server")
    for _ in $(seq 1 150); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/status" && return 0
        kill -0 "$server" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
file_tip() { # $1 description; prints the receipt
    curl -sf -H 'content-type: application/json' \
        -d "{\"category\":\"trafficking\",\"township\":\"xidu\",\"description\":\"$1\"}" \
        "http://127.0.0.1:$port/api/v1/tips" | json receipt
}
status_of() { # $1 receipt; prints "HTTP-code status"
    local out
    out=$(curl -s -H 'content-type: application/json' -d "{\"receipt\":\"$1\"}" -w '\n%{http_code}' \
        "http://127.0.0.1:$port/api/v1/status")
    echo "$(tail -1 <<<"$out") $(head -1 <<<"$out" | python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("status", "-"))
except Exception: print("-")')"
}

check() { # $1 backend label, $2 source URL, $3 restored URL (PostgreSQL) or "" (SQLite)
    local label=$1 src_url=$2 dst_url=$3
    local A="$W/$label/live" B="$W/$label/restored"
    mkdir -p "$A" "$B" "$W/$label/backups" "$W/$label/keys-backup"
    chmod 700 "$W/$label/backups" "$W/$label/keys-backup"
    echo "== $label"

    # 1. The live portal: keys made first (as the guide says), then served.
    tl "$A" "$src_url" "$A/keys" keys init >"$A/keys-init.log" 2>&1 || { cat "$A/keys-init.log"; fail "$label: keys init"; }
    serve "$A" "$src_url" "$A/keys" || { cat "$A/serve.log"; fail "$label: live server did not start"; }
    local before=() r i
    for i in 1 2 3 4 5; do
        r=$(file_tip "restore-check $label tip $i before the backup") || fail "$label: tip $i"
        before+=("$r")
    done
    tl "$A" "$src_url" "$A/keys" user add --username ops-admin --role admin >/dev/null \
        || fail "$label: user add"
    ok "$label: 5 tips filed, one staff account added (an audited action)"

    # 2. Back up while tips keep arriving.
    ( for i in $(seq 1 40); do file_tip "restore-check $label during the backup $i" >/dev/null || true; done ) &
    local writer=$!
    local dest="$W/$label/backups/tipline-$(date -u +%Y%m%dT%H%M%SZ).backup"
    tl "$A" "$src_url" "$A/keys" backup "$dest" >"$A/backup.out" 2>&1 || { cat "$A/backup.out"; fail "$label: tipline backup"; }
    wait "$writer"
    grep -q 'holds no keys' "$A/backup.out" || fail "$label: backup message: $(cat "$A/backup.out")"
    # The keys dir, backed up apart (the guide then encrypts this archive and keeps it offline).
    tar -C "$A" -cpf "$W/$label/keys-backup/keys.tar" keys
    after=$(file_tip "restore-check $label tip after the backup")
    ok "$label: tipline backup while 40 tips were being filed: $(du -h "$dest" | cut -f1) written"
    tl "$A" "$src_url" "$A/keys" backup "$dest" >/dev/null 2>&1 && fail "$label: backup overwrote an existing file"
    ok "$label: a second backup to the same name is refused"
    stop

    # 3. What the copy holds.
    [ "$(stat -c %a "$dest")" = 600 ] || fail "$label: backup mode $(stat -c %a "$dest")"
    grep -qaF "restore-check $label tip" "$dest" && fail "$label: tip text in the backup"
    local pep
    for pep in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1])).values()))' "$A/keys/peppers.key"); do
        grep -qaF "$pep" "$dest" && fail "$label: a pepper is in the backup"
    done
    for k in office relay node; do
        pep=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["private"])' "$A/keys/$k.key")
        grep -qaF "$pep" "$dest" && fail "$label: the $k private key is in the backup"
    done
    ok "$label: the copy is 0600 and holds neither tip text nor any key or pepper"

    # 4. Restore into a fresh place.
    if [ -z "$dst_url" ]; then
        mkdir -m 700 "$B/data"
        install -m 600 "$dest" "$B/data/tipline.db"
        dst_url="sqlite://$B/data/tipline.db"
    else
        pg_restore --no-owner --exit-on-error --dbname "$dst_url" "$dest" 2>"$B/pg_restore.err" \
            || { cat "$B/pg_restore.err"; fail "$label: pg_restore"; }
    fi
    ok "$label: restored into a fresh place"

    # 5a. Without the keys: refuses to start, and says why.
    if serve "$B" "$dst_url" "$B/keys"; then fail "$label: the restored copy started without keys"; fi
    grep -q 'holds none' "$B/serve.log" || fail "$label: unclear refusal: $(tail -3 "$B/serve.log")"
    [ -e "$B/keys/peppers.key" ] && fail "$label: new keys were generated for a restored database"
    ok "$label: without the keys it refuses: $(grep -o 'the database was initialized with keys.\{0,40\}' "$B/serve.log" | head -1)..."

    # 5b. With the keys from their own backup.
    rm -rf "$B/keys"
    tar -C "$B" -xpf "$W/$label/keys-backup/keys.tar"
    [ "$(stat -c %a "$B/keys/peppers.key")" = 600 ] || fail "$label: key file modes not kept"
    : >"$B/serve.log"
    serve "$B" "$dst_url" "$B/keys" || { cat "$B/serve.log"; fail "$label: restored copy did not start with its keys"; }
    for r in "${before[@]}"; do
        [ "$(status_of "$r")" = "200 received" ] || fail "$label: receipt $r: $(status_of "$r")"
    done
    ok "$label: all 5 receipts filed before the backup resolve (200 received)"
    [ "$(status_of "$after")" = "404 -" ] || fail "$label: the tip filed after the backup: $(status_of "$after")"
    ok "$label: the tip filed after the backup is unknown (404), as expected"
    r=$(file_tip "restore-check $label tip after the restore") || fail "$label: new tip on the restored copy"
    [ "$(status_of "$r")" = "200 received" ] || fail "$label: new tip on the restored copy"
    ok "$label: the restored portal takes new tips"
    stop
    tl "$B" "$dst_url" "$B/keys" audit verify >"$B/audit.out" 2>&1 || { cat "$B/audit.out"; fail "$label: audit verify"; }
    grep -q 'audit log intact: [1-9]' "$B/audit.out" || fail "$label: audit: $(cat "$B/audit.out")"
    tl "$B" "$dst_url" "$B/keys" user list | grep -q '^ops-admin' || fail "$label: staff account lost"
    ok "$label: the staff account came back; $(cut -c1-60 "$B/audit.out")..."
}

if [ "$WHICH" = all ] || [ "$WHICH" = sqlite ]; then
    check sqlite "sqlite://$W/sqlite/live/data/tipline.db" ""
fi
if [ "$WHICH" = all ] || [ "$WHICH" = postgres ]; then
    if command -v pg_restore >/dev/null && psql -d "$PG_ADMIN_URL" -Atqc 'select 1' >/dev/null 2>&1; then
        hostport=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(f"{p.hostname}:{p.port or 5432}")' "$PG_ADMIN_URL")
        suffix="$(date -u +%H%M%S)_$$"
        src="ops_restore_src_$suffix"; dst="ops_restore_dst_$suffix"
        dbs+=("$src" "$dst")
        # Both owned by the service role: the live database, and the empty one restored into.
        createdb --maintenance-db="$PG_ADMIN_URL" -O "$PG_ROLE" "$src"
        createdb --maintenance-db="$PG_ADMIN_URL" -O "$PG_ROLE" "$dst"
        check postgres "postgres://$PG_ROLE:$PG_ROLE_PASSWORD@$hostport/$src" \
            "postgres://$PG_ROLE:$PG_ROLE_PASSWORD@$hostport/$dst"
        echo "     (pg_dump $(pg_dump --version | awk '{print $3}'), server $(psql -d "$PG_ADMIN_URL" -Atqc 'show server_version'))"
    elif [ "${REQUIRE_PG:-0}" = 1 ]; then
        fail "no PostgreSQL at $PG_ADMIN_URL"
    else
        echo "skip PostgreSQL: no server at $PG_ADMIN_URL (set PG_ADMIN_URL)"
    fi
fi
echo "restore-check: all passed ($(date -u +%Y-%m-%dT%H:%MZ), $("$BIN" --version))"
