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
. "$(dirname "$0")/lib.sh"

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

start_work

# 2. The rules.
printf '%s\n' "$HANGAR_SANITIZE_SQL" >"$work/rules.sql"
"$CLIENT" --defaults-extra-file="$work/my.cnf" --batch "$database" <"$work/rules.sql" \
  2>"$work/rules.err" || fail "the sanitize rules: $(cat "$work/rules.err")"
say "sanitize rules applied ($(grep -c ';' "$work/rules.sql" | tr -d ' ') statements)"

# 3. The sanitized dump, streamed to object storage.
configure_rclone

status="$work/pipe.status"
: >"$status"
if ! {
  {
    dump_database "$database"
  } | { gzip -c || echo "gzip exited with status $?" >>"$status"; } |
    rclone rcat "$remote/$key"
}; then
  echo "uploading the sanitized dump failed" >>"$status"
fi
if [ -s "$status" ]; then
  [ ! -s "$work/dump.err" ] || sed 's/^/  /' "$work/dump.err" >&2
  fail "sanitized dump: $(paste -sd';' "$status" | sed 's/;/; /g')"
fi
say "sanitize complete: $key"
