#!/bin/sh
# Send one test message with the environment's own SMTP settings (the SMTP_* variables of
# its Secret app-env) to $HANGAR_MAIL_TO, from inside its namespace, and print the mail
# server's answers. The password goes to curl on its standard input, never in argv, and
# only the server's lines are printed (the client's AUTH line carries the password).
set -u
: "${SMTP_HOST:?this environment has no SMTP relay configured (SMTP_HOST is empty)}"
: "${HANGAR_MAIL_TO:?no recipient given}"
port="${SMTP_PORT:-25}"
from="${SMTP_FROM:-hangar-test@localhost}"
work="${TMPDIR:-/tmp}/test-mail.$$"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

case "${SMTP_TLS:-starttls}" in
  tls) url="smtps://$SMTP_HOST:$port/hangar" ; tls="" ;;
  starttls) url="smtp://$SMTP_HOST:$port/hangar" ; tls="--ssl-reqd" ;;
  *) url="smtp://$SMTP_HOST:$port/hangar" ; tls="" ;;
esac
verify=""
[ "${SMTP_TLS_VERIFY:-1}" = "0" ] && verify="--insecure"

{
  printf 'From: %s\r\n' "$from"
  printf 'To: %s\r\n' "$HANGAR_MAIL_TO"
  printf 'Subject: Test message from Hangar (%s)\r\n' "${SITE_ENVIRONMENT:-environment}"
  printf 'Date: %s\r\n' "$(date -R 2>/dev/null || date)"
  printf '\r\n'
  printf 'This message was sent by Hangar to test the mail settings of %s.\r\n' \
    "${SITE_ENVIRONMENT:-this environment}"
} > "$work/message"

config="$work/curl.conf"
: > "$config"
chmod 600 "$config"
if [ -n "${SMTP_USER:-}" ]; then
  # curl's config syntax: a quoted value with backslashes and quotes escaped.
  escaped=$(printf '%s:%s' "$SMTP_USER" "${SMTP_PASSWORD:-}" | sed 's/\\/\\\\/g; s/"/\\"/g')
  printf 'user = "%s"\n' "$escaped" > "$config"
fi

echo "Connecting to $SMTP_HOST:$port (${SMTP_TLS:-starttls}) as ${SMTP_USER:-nobody}."
# shellcheck disable=SC2086  # $tls and $verify are single options or empty
curl --silent --show-error --connect-timeout 10 --max-time 60 $tls $verify \
  --mail-from "$from" --mail-rcpt "$HANGAR_MAIL_TO" --upload-file "$work/message" \
  --config "$config" --trace-ascii "$work/trace" "$url" 2> "$work/error"
status=$?
# The server's answers only ("<= Recv header" records); never what the client sent.
awk '/^<= Recv header/ { getline; sub(/^[0-9a-f]+: /, ""); print "server: " $0 }' \
  "$work/trace" 2>/dev/null
if [ "$status" -ne 0 ]; then
  echo "FAILED: $(sed 's/^curl: ([0-9]*) //' "$work/error" | head -n 1) (curl exit $status)"
  exit "$status"
fi
echo "SENT: the server accepted the message for $HANGAR_MAIL_TO."
