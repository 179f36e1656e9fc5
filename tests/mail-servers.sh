#!/bin/bash
# Real mail servers for tests/email.rs: OpenSMTPD (SMTP, 127.0.0.1:$SMTP_PORT) delivering over
# LMTP into Dovecot (IMAP, 127.0.0.1:$IMAP_PORT), no systemd. Users tips@example.test and
# admin@example.test, password `secret`. Idempotent: servers already running are left alone.
# Prints the variables the tests read; `eval "$(tests/mail-servers.sh)"` exports them.
# Stop: tests/mail-servers.sh stop
set -euo pipefail
M=${MAIL_ROOT:-/tmp/tipline-mail}
IMAP_PORT=${IMAP_PORT:-1143}
SMTP_PORT=${SMTP_PORT:-2526}
LMTP_PORT=${LMTP_PORT:-2424}

listening() { ss -ltn | grep -q "127.0.0.1:$1 "; }

if [ "${1:-}" = stop ]; then
  [ -f "$M/run/master.pid" ] && kill "$(cat "$M/run/master.pid")" 2>/dev/null || true
  [ -f "$M/smtpd.pid" ] && kill "$(cat "$M/smtpd.pid")" 2>/dev/null || true
  exit 0
fi

if ! command -v dovecot >/dev/null || ! command -v smtpd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends \
    dovecot-imapd dovecot-lmtpd opensmtpd >/dev/null
fi

mkdir -p "$M/run" "$M/state" "$M/mail"
chown dovecot:dovecot "$M/mail"
cat > "$M/users" <<'U'
tips@example.test:{PLAIN}secret
admin@example.test:{PLAIN}secret
U
cat > "$M/dovecot.conf" <<C
first_valid_uid = 100
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $M/run
state_dir = $M/state
instance_name = tipline-test
log_path = $M/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# admin+anything@example.test lands in admin's INBOX: each test mails from its own address.
recipient_delimiter = +
mail_location = maildir:$M/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $M/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$M/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
C
cat > "$M/smtpd.conf" <<C
listen on 127.0.0.1 port $SMTP_PORT
action "to_dovecot" lmtp "127.0.0.1:$LMTP_PORT" rcpt-to virtual { "@" => "dovecot" }
match from any for domain "example.test" action "to_dovecot"
C
chmod 600 "$M/smtpd.conf"

if listening "$IMAP_PORT"; then
  dovecot -c "$M/dovecot.conf" reload 2>/dev/null || true
else
  dovecot -c "$M/dovecot.conf"          # daemonizes; pid in $M/run/master.pid
fi
if ! listening "$SMTP_PORT"; then
  # OpenSMTPD has one control socket per machine, so one instance: reuse it, or stop it first.
  if pgrep -x smtpd >/dev/null; then
    echo "an OpenSMTPD not listening on 127.0.0.1:$SMTP_PORT is running; stop it or use its port" >&2
    exit 1
  fi
  smtpd -f "$M/smtpd.conf"              # daemonizes
  for _ in $(seq 50); do listening "$SMTP_PORT" && break; sleep 0.1; done
  pgrep -f -x "smtpd -f $M/smtpd.conf" > "$M/smtpd.pid"   # the master process of this instance
fi
for _ in $(seq 100); do listening "$SMTP_PORT" && listening "$IMAP_PORT" && break; sleep 0.1; done
listening "$SMTP_PORT" && listening "$IMAP_PORT" || { echo "mail servers did not start" >&2; exit 1; }
echo "export TEST_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT"
echo "export TEST_IMAP_URL=imap://127.0.0.1:$IMAP_PORT"
