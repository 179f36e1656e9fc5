#!/usr/bin/env bash
# Runs tipline behind nginx with contrib/nginx/tipline.conf (ports and paths replaced by sed)
# and checks what the operator guide promises:
#   - HTTPS with HTTP/2 towards the client, one HSTS header, port 80 only redirects;
#   - the public pages, the JSON API, a multipart upload and a status check work through nginx;
#   - a request body never lands in nginx's temporary files (inotify on its temp dirs), and
#     the watch does see a file when request buffering is switched back on (control);
#   - the client's address (127.0.0.2 and ::1 here), a spoofed X-Forwarded-For, query strings,
#     the user agent, the receipt and the tip's text appear in no log (nginx access and error
#     logs, tipline's log);
#   - a client cannot dodge tipline's rate limit with its own X-Forwarded-For;
#   - /healthz and /metrics are not reachable through nginx, only on the admin listener.
#
# Needs: nginx, openssl, curl (with HTTP/2), inotifywait (inotify-tools), python3, and a
# tipline binary (TIPLINE_BIN, default: `tipline` on PATH, else target/release/tipline).
# Run by hand, as any user:  tests/ops/nginx-check.sh   (KEEP=1 keeps the temp dir).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
conf_src="$here/contrib/nginx/tipline.conf"
BIN=${TIPLINE_BIN:-$(command -v tipline || echo "$here/target/release/tipline")}
for tool in nginx openssl curl inotifywait python3; do
    command -v "$tool" >/dev/null || { echo "nginx-check: $tool is not installed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "nginx-check: no tipline binary at $BIN (set TIPLINE_BIN)" >&2; exit 2; }
NGINX=$(command -v nginx)

W=$(mktemp -d /tmp/ops-nginx.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -f "$W/nginx.pid" ]; then kill "$(cat "$W/nginx.pid")" 2>/dev/null || true; fi
    sleep 0.3
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

APP=$(port); ADMIN=$(port); HTTP=$(port); HTTPS=$(port)
HOST=tips.example.org
CLIENT4=127.0.0.2          # the "resident": a loopback address nothing else uses
SPOOF=203.0.113.77         # what a client puts in its own X-Forwarded-For
UA="ResidentBrowser/1.0 (nginx-check)"
mkdir -p "$W/tls" "$W/log" "$W/tmp" "$W/data" "$W/keys"

# --- TLS: a self-signed certificate for the test host --------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" \
    -keyout "$W/tls/privkey.pem" -out "$W/tls/fullchain.pem" 2>/dev/null
chmod 600 "$W/tls/privkey.pem"

# --- nginx: the contrib file with this run's ports and paths ------------------------------
sed -e "s|listen 80;|listen 127.0.0.1:$HTTP;|" \
    -e "s|listen \[::\]:80;|listen [::1]:$HTTP;|" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:$HTTPS ssl http2;|" \
    -e "s|listen \[::\]:443 ssl http2;|listen [::1]:$HTTPS ssl http2;|" \
    -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$APP;|" \
    -e "s|/var/log/tipline-nginx/|$W/log/|g" \
    -e "s|/etc/tipline/tls/|$W/tls/|g" \
    -e "s|https://\$host\$request_uri|https://\$host:$HTTPS\$request_uri|" \
    "$conf_src" >"$W/tipline.conf"
grep -q "127.0.0.1:$APP" "$W/tipline.conf" || fail "sed did not find the upstream line in $conf_src"
grep -q "127.0.0.1:$HTTPS ssl http2" "$W/tipline.conf" || fail "sed did not find the listen line"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$W/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $W/nginx.pid;
error_log $W/log/nginx-main-error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path $W/tmp/body;
    proxy_temp_path $W/tmp/proxy;
    fastcgi_temp_path $W/tmp/fastcgi;
    uwsgi_temp_path $W/tmp/uwsgi;
    scgi_temp_path $W/tmp/scgi;
    access_log off;
    include $W/tipline.conf;
}
EOF
"$NGINX" -t -q -p "$W" -c "$W/nginx.conf" || fail "nginx -t refused the config"
"$NGINX" -p "$W" -c "$W/nginx.conf"
ok "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') accepts contrib/nginx/tipline.conf"

# --- tipline: SQLite in temp dirs, behind the proxy ---------------------------------------
# $1: the TIPLINE_TRUSTED_PROXIES value ("" leaves it unset, the mistake the guide warns of)
start_tipline() {
    (
        cd "$W"
        exec env -i PATH="$PATH" HOME="$W" \
            TIPLINE_CONFIG="$W/absent.toml" \
            TIPLINE_DATA_DIR="$W/data" TIPLINE_KEYS_DIR="$W/keys" \
            TIPLINE_LISTEN="127.0.0.1:$APP" TIPLINE_ADMIN_LISTEN="127.0.0.1:$ADMIN" \
            TIPLINE_PUBLIC_URL="https://$HOST:$HTTPS" \
            ${1:+TIPLINE_TRUSTED_PROXIES=$1} \
            TIPLINE_CAPTCHA=off TIPLINE_RATE_LIMIT=12 TIPLINE_WORKERS=2 \
            "$BIN" serve
    ) >>"$W/log/tipline.log" 2>&1 &
    tpid=$!
    pids+=($tpid)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    cat "$W/log/tipline.log"
    fail "tipline did not start"
}
start_tipline 127.0.0.1
ok "tipline serves on 127.0.0.1:$APP, admin listener on 127.0.0.1:$ADMIN"

# Every client request comes from 127.0.0.2 (or ::1), names the host and checks our cert.
C=(curl -sS --interface "$CLIENT4" --cacert "$W/tls/fullchain.pem" -A "$UA"
   --resolve "$HOST:$HTTPS:127.0.0.1" --resolve "$HOST:$HTTP:127.0.0.1")
BASE="https://$HOST:$HTTPS"

# --- the public site through nginx --------------------------------------------------------
for path in "/" "/?lang=en" "/status" "/status?lang=en" "/static/style.css" "/api/v1/meta" "/api/v1/openapi.json"; do
    code=$("${C[@]}" --http2 -o /dev/null -w '%{http_code} %{http_version}' "$BASE$path")
    [ "$code" = "200 2" ] || fail "GET $path through nginx: $code (want 200 over HTTP/2)"
done
ok "public pages and API GETs: 200 over HTTP/2"

"${C[@]}" --http2 -D - -o /dev/null "$BASE/" | tr -d '\r' >"$W/headers"
[ "$(grep -ci '^strict-transport-security:' "$W/headers")" = 1 ] || fail "want exactly one HSTS header"
grep -qi '^strict-transport-security: max-age=31536000' "$W/headers" || fail "HSTS value"
grep -qi '^content-security-policy:' "$W/headers" || fail "tipline's headers did not pass through"
grep -qi '^server: nginx$' "$W/headers" || fail "server_tokens off: want a bare 'Server: nginx'"
ok "one HSTS header, tipline's CSP passed through, nginx version hidden"

r=$("${C[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://$HOST:$HTTP/status?lang=en")
[ "$r" = "301 https://$HOST:$HTTPS/status?lang=en" ] || fail "port 80: $r"
ok "plain HTTP answers only with a redirect to HTTPS"

# Watch nginx's temporary dirs while tips go through.
inotifywait -q -m -r -e create,modify,moved_to --format '%w%f %e' "$W/tmp" >"$W/inotify.log" 2>"$W/inotify.err" &
pids+=($!)
sleep 1   # let the watches settle

secret_text="nginx-check secret text $(date +%s)"
tip=$("${C[@]}" --http2 -H 'content-type: application/json' -H "X-Forwarded-For: $SPOOF" \
    -d "{\"category\":\"trafficking\",\"township\":\"xidu\",\"description\":\"$secret_text\"}" \
    -w '\n%{http_code}' "$BASE/api/v1/tips?utm=querystring-marker")
[ "$(tail -1 <<<"$tip")" = 201 ] || fail "POST /api/v1/tips: $tip"
receipt=$(head -1 <<<"$tip" | python3 -c 'import json,sys; print(json.load(sys.stdin)["receipt"])')
ok "tip filed through nginx (JSON API), receipt $receipt"

st=$("${C[@]}" --http2 -H 'content-type: application/json' -d "{\"receipt\":\"$receipt\"}" \
    -w '\n%{http_code}' "$BASE/api/v1/status")
[ "$(tail -1 <<<"$st")" = 200 ] || fail "POST /api/v1/status: $st"
[ "$(head -1 <<<"$st" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = received ] \
    || fail "status of the new tip: $st"
code=$("${C[@]}" --http2 -o /dev/null -w '%{http_code}' --data-urlencode "receipt=$receipt" "$BASE/status?lang=en")
[ "$code" = 200 ] || fail "POST /status (HTML form): $code"
ok "the receipt's status resolves through nginx (API and HTML form)"

# A 3 MB text attachment, over HTTP/2 and over HTTP/1.1.
python3 -c 'import sys; sys.stdout.write(("attachment line for the upload check\n") * 80000)' >"$W/upload.txt"
for proto in --http2 --http1.1; do
    code=$("${C[@]}" "$proto" -o "$W/upload.out" -w '%{http_code}' \
        -F category=other -F township=xidu -F "description=$secret_text (upload)" \
        -F "attachment=@$W/upload.txt;type=text/plain" "$BASE/api/v1/tips")
    [ "$code" = 201 ] || fail "multipart upload $proto: $code $(cat "$W/upload.out")"
done
ok "3 MB multipart uploads through nginx (HTTP/2 and HTTP/1.1): 201"

# Larger than client_max_body_size: nginx refuses before tipline reads anything.
head -c $((52 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$W/big.txt"
code=$("${C[@]}" --http1.1 -o /dev/null -w '%{http_code}' -F category=other -F township=xidu \
    -F description=x -F "attachment=@$W/big.txt;type=text/plain" "$BASE/api/v1/tips" || true)
[ "$code" = 413 ] || fail "52 MiB body: $code (want 413)"
rm -f "$W/big.txt"
ok "a 52 MiB body is refused with 413 (client_max_body_size 51m)"

sleep 0.5
if [ -s "$W/inotify.log" ]; then cat "$W/inotify.log"; fail "nginx wrote a request or response to a temporary file"; fi
ok "no request body or answer went to nginx's temporary files (inotify: nothing)"

# The limit counts per unix minute: start bursts early in a minute, so that the checks that
# follow a 429 fall into the same minute.
early_in_minute() { while [ "$(date -u +%S)" -gt 40 ]; do sleep 1; done; }
status_code() { # $1: client address; $2...: extra curl arguments
    local from=$1; shift
    curl -sS --interface "$from" --cacert "$W/tls/fullchain.pem" --resolve "$HOST:$HTTPS:127.0.0.1" \
        -o /dev/null -w '%{http_code}' -H 'content-type: application/json' "$@" \
        -d '{"receipt":"0000-0000-0000-0000-0000"}' "$BASE/api/v1/status"
}

# --- a client's own X-Forwarded-For does not reset tipline's rate limit -------------------
early_in_minute
limited=no
for i in $(seq 1 30); do
    code=$("${C[@]}" -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
        -H "X-Forwarded-For: 198.51.100.$i" -d '{"receipt":"0000-0000-0000-0000-0000"}' "$BASE/api/v1/status")
    [ "$code" = 429 ] && { limited=yes; break; }
done
[ "$limited" = yes ] || fail "30 status POSTs with changing X-Forwarded-For were never limited"
ok "rate limit holds although the client forges X-Forwarded-For (limited after $i more POSTs)"
code=$(status_code 127.0.0.3)
[ "$code" = 404 ] || fail "a second resident got $code after the first one was limited (want 404)"
ok "a second resident (127.0.0.3) is not held back by the first one's limit: per-client buckets"

# --- IPv6 client ----------------------------------------------------------------------------
if curl -s -g -o /dev/null "http://[::1]:$HTTP/" 2>/dev/null; then
    code=$(curl -sS -g --cacert "$W/tls/fullchain.pem" --resolve "$HOST:$HTTPS:::1" --http2 \
        -o /dev/null -w '%{http_code}' "https://$HOST:$HTTPS/status")
    [ "$code" = 200 ] || fail "IPv6 client: $code"
    v6=yes
    ok "an IPv6 client (::1) is served too"
else
    v6=no
    echo "skip IPv6: ::1 not reachable here"
fi

# --- the admin listener is not reachable through nginx ---------------------------------------
for path in /healthz /metrics /healthz/ /metrics?x=1 /api/v1/../metrics; do
    body=$("${C[@]}" --path-as-is -w '\n%{http_code}' "$BASE$path" || true)
    code=$(tail -1 <<<"$body")
    [ "$code" = 404 ] || [ "$code" = 400 ] || fail "GET $path through nginx: $code"
    grep -q 'tipline_tips_created_total' <<<"$body" && fail "metrics leaked through nginx at $path"
    [ "$(head -1 <<<"$body")" = ok ] && fail "healthz answered through nginx at $path"
done
curl -sf "http://127.0.0.1:$ADMIN/metrics" | grep -q '^tipline_tips_created_total 3$' \
    || fail "admin listener /metrics: want 3 tips created"
ok "/healthz and /metrics: 404 through nginx, served only on the admin listener"

# --- the mistake: TIPLINE_TRUSTED_PROXIES unset behind nginx --------------------------------
kill "$tpid"; wait "$tpid" 2>/dev/null || true
start_tipline ""
early_in_minute
for i in $(seq 1 13); do code=$(status_code "$CLIENT4"); done
[ "$code" = 429 ] || fail "misconfigured: the 13th POST was $code (want 429)"
code=$(status_code 127.0.0.3)
[ "$code" = 429 ] || fail "misconfigured: the second resident got $code; expected the shared bucket's 429"
ok "with TIPLINE_TRUSTED_PROXIES unset, one resident's 12 POSTs lock out another (one bucket for the whole site), as the guide warns"
kill "$tpid"; wait "$tpid" 2>/dev/null || true
start_tipline 127.0.0.1

# --- the logs ---------------------------------------------------------------------------------
sleep 0.5
acc="$W/log/access.log"
[ -s "$acc" ] || fail "nginx access log is empty"
grep -q ' POST /api/v1/tips 201 ' "$acc" || fail "access log lacks 'POST /api/v1/tips 201': $(head -3 "$acc")"
bad=$(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:00 [A-Z]+ [^ ]+ [0-9]{3} [0-9.]+$' "$acc" || true)
[ -z "$bad" ] || fail "access log lines outside the format: $bad"
logs=("$acc" "$W/log/error.log" "$W/log/tipline.log")
[ -f "$W/log/error.log" ] || logs=("$acc" "$W/log/tipline.log")
for needle in "$CLIENT4" 127.0.0.3 "$SPOOF" "198.51.100." "$UA" "querystring-marker" "lang=en" "$receipt" \
    "${receipt//-/}" "$secret_text" "$HOST"; do
    for f in "${logs[@]}"; do
        grep -qF -- "$needle" "$f" && fail "'$needle' found in $(basename "$f")"
    done
done
grep -qF '127.0.0.1' "$acc" && fail "127.0.0.1 in the nginx access log"
if [ "$v6" = yes ]; then
    for f in "${logs[@]}"; do grep -qF '::1' "$f" && fail "'::1' in $(basename "$f")"; done
fi
# tipline prints its own listen addresses at start; no other line may name an address.
other=$(grep -v -e '^tipline listening on http://127.0.0.1:' -e '^admin (healthz, metrics) on http://127.0.0.1:' \
    "$W/log/tipline.log" | grep -E '([0-9]{1,3}\.){3}[0-9]{1,3}' || true)
[ -z "$other" ] || fail "tipline's log names an address: $other"
ok "no client address, forged X-Forwarded-For, user agent, query string, receipt or tip text in any log"
echo "--- nginx access log (sample) ---"
sort "$acc" | uniq -c | sort -rn | head -12

# --- control: with request buffering on, the inotify watch does see the temp file ----------
if [ "${CONTROL:-1}" = 1 ]; then
    sed -i -e 's|proxy_request_buffering off;|proxy_request_buffering on; client_body_buffer_size 16k;|' "$W/tipline.conf"
    "$NGINX" -p "$W" -c "$W/nginx.conf" -s reload
    sleep 1
    : >"$W/inotify.log"
    "${C[@]}" --http1.1 -o /dev/null -F category=other -F township=xidu -F description=control \
        -F "attachment=@$W/upload.txt;type=text/plain" "$BASE/api/v1/tips"
    sleep 0.5
    grep -q "$W/tmp/body" "$W/inotify.log" || fail "control: the watch saw no temp file with buffering on, so the check above proves nothing"
    ok "control: with proxy_request_buffering on, nginx does write the body to $W/tmp/body (seen by the watch)"
fi
echo "nginx-check: all passed"
