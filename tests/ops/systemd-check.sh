#!/usr/bin/env bash
# Checks contrib/systemd without a running systemd (containers, CI boxes):
#   - `systemd-analyze verify` on the three units (the binary path replaced by TIPLINE_BIN);
#   - `systemd-analyze security --offline=yes`: prints the exposure score of each service;
#   - MemoryDenyWriteExecute=yes cannot break tipline: under strace, a serving tipline
#     (start, JSON tip, photo upload decoded and re-encoded, status) never maps memory
#     writable and executable at once and never mprotects anything executable, which is all
#     the MemoryDenyWriteExecute seccomp filter refuses. PostgreSQL too when PG_URL is set
#     (an empty database tipline may use, e.g. postgres://postgres@127.0.0.1:55432/ops_mdwe).
# Run by hand: tests/ops/systemd-check.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${TIPLINE_BIN:-$(command -v tipline || echo "$here/target/release/tipline")}
for tool in systemd-analyze strace curl python3; do
    command -v "$tool" >/dev/null || { echo "systemd-check: $tool is not installed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "systemd-check: no tipline binary at $BIN (set TIPLINE_BIN)" >&2; exit 2; }
W=$(mktemp -d /tmp/ops-systemd.XXXXXX)
pid=
cleanup() { if [ -n "$pid" ]; then kill $(pgrep -P "$pid") 2>/dev/null || true; fi; sleep 0.3; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

for f in "$here"/contrib/systemd/*; do
    sed "s|/usr/local/bin/tipline|$BIN|g" "$f" >"$W/$(basename "$f")"
done
(cd "$W" && systemd-analyze verify ./tipline.service ./tipline-backup.service ./tipline-backup.timer) \
    || fail "systemd-analyze verify"
ok "systemd-analyze verify: tipline.service, tipline-backup.service, tipline-backup.timer"
for u in tipline.service tipline-backup.service; do
    echo "     $(cd "$W" && systemd-analyze security --offline=yes "./$u" 2>/dev/null | tail -1)"
done

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wx_check() { # $1: label, $2: database URL
    local dir="$W/$1" p
    p=$(port)
    mkdir -p "$dir"
    (cd "$dir" && exec env -i PATH="$PATH" TIPLINE_CONFIG="$dir/absent.toml" TIPLINE_CAPTCHA=off \
        TIPLINE_DATABASE_URL="$2" TIPLINE_KEYS_DIR="$dir/keys" TIPLINE_LISTEN="127.0.0.1:$p" \
        strace -f -qq -e trace=mmap,mprotect,pkey_mprotect,shmat -o "$dir/trace" "$BIN" serve) \
        >"$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 150); do curl -sf -o /dev/null "http://127.0.0.1:$p/status" && break; sleep 0.2; done
    python3 - "$dir/photo.png" <<'PY'
import struct, sys, zlib
w = h = 96
raw = b"".join(b"\0" + b"".join(bytes([x * 2 % 256, y * 2 % 256, 99]) for x in range(w)) for y in range(h))
ch = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + ch(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + ch(b"IDAT", zlib.compress(raw)) + ch(b"IEND", b""))
PY
    local r
    r=$(curl -sf -F category=other -F township=xidu -F description=wx-check \
        -F "attachment=@$dir/photo.png;type=image/png" "http://127.0.0.1:$p/api/v1/tips") || fail "$1: upload"
    r=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["receipt"])' "$r")
    curl -sf -o /dev/null -H 'content-type: application/json' -d "{\"receipt\":\"$r\"}" \
        "http://127.0.0.1:$p/api/v1/status" || fail "$1: status"
    sleep 2.5   # one outbox pass
    # strace blocks fatal signals while it runs a command (-I 3): stop tipline, strace follows.
    kill $(pgrep -P "$pid") 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
    [ -s "$dir/trace" ] || fail "$1: strace recorded nothing"
    bad=$(grep -E 'PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE|(mprotect|pkey_mprotect)\([^)]*PROT_EXEC|shmat\([^)]*SHM_EXEC' "$dir/trace" || true)
    [ -z "$bad" ] || fail "$1: W+X memory, MemoryDenyWriteExecute=yes would break tipline: $bad"
    ok "$1: $(wc -l <"$dir/trace") mmap/mprotect calls, none writable+executable, no mprotect to executable"
}
wx_check sqlite "sqlite://$W/sqlite/data/tipline.db"
if [ -n "${PG_URL:-}" ]; then wx_check postgres "$PG_URL"; else echo "skip PostgreSQL (set PG_URL)"; fi
echo "systemd-check: all passed"
