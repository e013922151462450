#!/bin/sh
# Hangar sanitize: a backup's database with personal data replaced, for local development.
#
# Runs in a Job in the backup's environment's namespace (image HANGAR_TOOLBOX_IMAGE),
# mounted from the ConfigMap hangar-tools (restore.sh beside it), with the Secret app-env
# as its environment and DB_USER/DB_PASSWORD overridden by a throwaway user that may only
# touch the scratch database, so the rules cannot reach the site's own database.
# Needs what restore.sh needs, and mariadb-dump (or mysqldump).
#
#   DB_HOST DB_PORT DB_USER DB_PASSWORD                  the scratch user
#   S3_* HANGAR_S3_ADDRESSING_STYLE                       object storage (as restore.sh)
#   HANGAR_RESTORE_FROM          the backup's folder: backups/{client}/{site}/{env}/{stamp}/
#   HANGAR_RESTORE_DB_SHA256     the dump's SHA-256 as verified by Hangar
#   HANGAR_TARGET_DB             the scratch database the dump is loaded into
#   HANGAR_SANITIZE_SQL          the site's rules: SQL statements run in the scratch database
#   HANGAR_SANITIZED_KEY         where the sanitized dump goes: {backup folder}sanitized/...
#
# The raw dump is loaded into the scratch database inside the cluster (restore.sh), the
# rules run there, and only the sanitized dump (mariadb-dump | gzip) leaves it. Hangar
# drops the scratch database and user afterwards. Any failure exits non-zero.
set -eu
# shellcheck disable=SC3040
if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() {
  say "FAILED: $*" >&2
  exit 1
}
need() {
  for name in "$@"; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || fail "$name is not set"
  done
}
tool() {
  for candidate in "$@"; do
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

need DB_HOST DB_USER HANGAR_TARGET_DB HANGAR_SANITIZE_SQL HANGAR_SANITIZED_KEY S3_BUCKET
CLIENT=$(tool mariadb mysql) || fail "neither mariadb nor mysql is installed"
DUMP=$(tool mariadb-dump mysqldump) || fail "neither mariadb-dump nor mysqldump is installed"
database=$HANGAR_TARGET_DB
key=$HANGAR_SANITIZED_KEY
case "$key" in
  backups/?*/sanitized/?*.sql.gz) ;;
  *) fail "the sanitized dump's key must look like backups/.../sanitized/....sql.gz, not '$key'" ;;
esac

# 1. The backup into the scratch database (the database only), checksum checked.
HANGAR_RESTORE_FILES=0 sh "$(dirname "$0")/restore.sh" || fail "loading the backup"

work=$(mktemp -d)
trap 'status=$?; rm -rf "$work"; exit $status' EXIT
trap 'exit 143' TERM INT
umask 077
escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
cat >"$work/my.cnf" <<EOF
[client]
host=$DB_HOST
port=${DB_PORT:-3306}
user=$DB_USER
password="$(escape "${DB_PASSWORD:-}")"
EOF

# 2. The rules.
printf '%s\n' "$HANGAR_SANITIZE_SQL" >"$work/rules.sql"
"$CLIENT" --defaults-extra-file="$work/my.cnf" --batch "$database" <"$work/rules.sql" \
  2>"$work/rules.err" || fail "the sanitize rules: $(cat "$work/rules.err")"
say "sanitize rules applied ($(grep -c ';' "$work/rules.sql" | tr -d ' ') statements)"

# 3. The sanitized dump, streamed to object storage.
export RCLONE_CONFIG="$work/rclone.conf"
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_HANGAR_TYPE=s3
if [ -n "${S3_ENDPOINT:-}" ]; then
  export RCLONE_CONFIG_HANGAR_PROVIDER=Other RCLONE_CONFIG_HANGAR_ENDPOINT="$S3_ENDPOINT"
else
  export RCLONE_CONFIG_HANGAR_PROVIDER=AWS
fi
export RCLONE_CONFIG_HANGAR_REGION="${S3_REGION:-us-east-1}"
export RCLONE_CONFIG_HANGAR_ACCESS_KEY_ID="$S3_ACCESS_KEY"
export RCLONE_CONFIG_HANGAR_SECRET_ACCESS_KEY="$S3_SECRET_KEY"
export RCLONE_CONFIG_HANGAR_ENV_AUTH=false
export RCLONE_CONFIG_HANGAR_NO_CHECK_BUCKET=true
if [ "${HANGAR_S3_ADDRESSING_STYLE:-virtual}" = path ]; then
  export RCLONE_CONFIG_HANGAR_FORCE_PATH_STYLE=true
else
  export RCLONE_CONFIG_HANGAR_FORCE_PATH_STYLE=false
fi
export RCLONE_RETRIES=3 RCLONE_LOW_LEVEL_RETRIES=5 RCLONE_CONTIMEOUT=15s RCLONE_TIMEOUT=5m
export RCLONE_CONFIG_HANGAR_CHUNK_SIZE=16M RCLONE_CONFIG_HANGAR_UPLOAD_CONCURRENCY=2

status="$work/pipe.status"
: >"$status"
if ! {
  {
    "$DUMP" --defaults-extra-file="$work/my.cnf" --single-transaction --quick \
      --routines --triggers --hex-blob --no-tablespaces --default-character-set=utf8mb4 \
      "$database" 2>"$work/dump.err" || echo "$DUMP exited with status $?" >>"$status"
  } | { gzip -c || echo "gzip exited with status $?" >>"$status"; } |
    rclone rcat "hangar:$S3_BUCKET/$key"
}; then
  echo "uploading the sanitized dump failed" >>"$status"
fi
if [ -s "$status" ]; then
  [ ! -s "$work/dump.err" ] || sed 's/^/  /' "$work/dump.err" >&2
  fail "sanitized dump: $(paste -sd';' "$status" | sed 's/;/; /g')"
fi
say "sanitize complete: $key"
