# Sourced by tests/contract.sh and tests/browser.sh: starts the real binary in a temporary dir
# (captcha and rate limit off; TIPLINE_DATABASE_URL from $1 if given) and creates an officer.
# Sets BASE, PID, DIR; stops the server and removes the dir on exit.
# Usage: start_tipline BIN [DATABASE_URL] USERNAME PASSWORD
start_tipline() {
  local bin=$1 url=$2 user=$3 password=$4
  DIR=$(mktemp -d); local port=$((30000 + RANDOM % 20000))
  cd "$DIR"
  export TIPLINE_LISTEN=127.0.0.1:$port TIPLINE_CAPTCHA=off TIPLINE_RATE_LIMIT=off TIPLINE_LOG=warn
  [ -n "$url" ] && export TIPLINE_DATABASE_URL=$url
  "$bin" >"$DIR/server.log" 2>&1 & PID=$!
  trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
  BASE=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$BASE/api/v1/meta" >/dev/null && break; sleep 0.1; done
  printf '%s\n' "$password" > pw
  "$bin" user add --username "$user" --role officer --unit ps-xidu --password-file pw --keep-password >/dev/null
}
