#!/bin/sh
# Hangar restore: a backup's database and files into this environment.
#
# Runs in a Job in the target environment's namespace (image HANGAR_TOOLBOX_IMAGE), mounted
# from the ConfigMap hangar-tools, with the target's Secret app-env as its environment.
# Needs: a POSIX sh, mariadb (or mysql), rclone, gzip, sed, sha256sum, and room in its
# scratch volume for the compressed dump.
#
#   DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD          the target database
#   S3_ENDPOINT S3_REGION S3_BUCKET S3_PREFIX S3_ACCESS_KEY S3_SECRET_KEY
#                                                         object storage and target files
#   HANGAR_S3_ADDRESSING_STYLE  path or virtual (default)
#   HANGAR_RESTORE_FROM         the backup's folder: backups/{client}/{site}/{env}/{stamp}/
#   HANGAR_RESTORE_DB_SHA256    the dump's SHA-256 as verified by Hangar (checked again)
#   HANGAR_RESTORE_FILES        1 (default): files too; 0: the database only
#   HANGAR_TARGET_DB            another database than DB_NAME (a scratch restore check)
#
# Nothing of the target is touched until the whole dump is here: it is downloaded into the
# Job's scratch volume and its SHA-256 checked first, so storage that goes away mid-way
# fails the restore with the target as it was. Then the target database is emptied
# (tables, views, routines) and the local dump loaded into it (from here on only the
# database server can fail it), and the files prefix is made equal to the backup's files
# (server-side copies first; objects the backup does not have are deleted only after
# every copy succeeded). Any failure exits non-zero; the FAILED line says whether the
# target was touched, and Hangar puts the safety backup it took first back in place.
set -eu
. "$(dirname "$0")/lib.sh"

need DB_HOST DB_NAME DB_USER S3_BUCKET S3_PREFIX S3_ACCESS_KEY S3_SECRET_KEY HANGAR_RESTORE_FROM
CLIENT=$(tool mariadb mysql) || fail "neither mariadb nor mysql is installed"
need_tools rclone gzip sed sha256sum

from=$HANGAR_RESTORE_FROM
check_backup_folder "$from"
set_files_prefix
database=${HANGAR_TARGET_DB:-$DB_NAME}
expected_sha=${HANGAR_RESTORE_DB_SHA256:-}
restore_files=${HANGAR_RESTORE_FILES:-1}

start_work
configure_rclone

# A row with a large blob makes one large INSERT: allow up to the server's own limit.
sql() {
  "$CLIENT" --defaults-extra-file="$work/my.cnf" --batch --skip-column-names \
    --max-allowed-packet=1073741824 "$@"
}

say "restoring $from into database $database$([ "$restore_files" = 1 ] && echo " and files $files_prefix/")"
rclone lsf "$remote/${from}db.sql.gz" >/dev/null 2>"$work/lsf.err" ||
  fail "${from}db.sql.gz cannot be read: $(cat "$work/lsf.err")"

# --- fetch the dump and check it, before anything of the target changes ---------------------
rclone copyto "$remote/${from}db.sql.gz" "$work/db.sql.gz" 2>"$work/download.err" ||
  fail "downloading ${from}db.sql.gz: $(grep -i 'error\|failed' "$work/download.err" | tail -n 1 |
    sed 's/^.*ERROR *: *//') -- $database was not touched"
sha=$(sha256sum <"$work/db.sql.gz" | cut -d' ' -f1)
if [ -n "$expected_sha" ] && [ "$sha" != "$expected_sha" ]; then
  fail "db.sql.gz has sha256 $sha, the verified backup had $expected_sha -- $database was not touched"
fi
gzip -t "$work/db.sql.gz" 2>"$work/gzip.err" ||
  fail "db.sql.gz is not a complete gzip stream: $(cat "$work/gzip.err") -- $database was not touched"
say "dump downloaded and checked ($(wc -c <"$work/db.sql.gz" | tr -d ' ') bytes, sha256 $sha)"

# --- empty the target database ----------------------------------------------------------------
sql -e "
  SELECT CONCAT('DROP ', IF(table_type = 'VIEW', 'VIEW', 'TABLE'), ' IF EXISTS \`',
                REPLACE(table_name, '\`', '\`\`'), '\`;')
    FROM information_schema.tables WHERE table_schema = DATABASE()
  UNION ALL
  SELECT CONCAT('DROP ', routine_type, ' IF EXISTS \`', REPLACE(routine_name, '\`', '\`\`'), '\`;')
    FROM information_schema.routines WHERE routine_schema = DATABASE()" "$database" >"$work/drop.sql" ||
  fail "listing the tables of $database -- $database was not touched"
{
  echo 'SET FOREIGN_KEY_CHECKS=0;'
  cat "$work/drop.sql"
} | sql "$database" || fail "emptying $database: it may be partly emptied"
say "database $database emptied ($(wc -l <"$work/drop.sql" | tr -d ' ') objects dropped)"

# --- load the local dump: gunzip | sed | mariadb ------------------------------------------------
# DEFINER clauses name the source's database user, which the target's user may not act as
# (production into staging): views, triggers and routines are recreated as the target's.
# shellcheck disable=SC2016
definer='s/DEFINER=`[^`]*`@`[^`]*`//g'
status="$work/pipe.status"
: >"$status"
{ gzip -dc <"$work/db.sql.gz" || echo "gunzip exited with status $?" >>"$status"; } |
  { sed "$definer" || echo "sed exited with status $?" >>"$status"; } |
  { sql "$database" 2>"$work/load.err" || echo "$CLIENT exited with status $?" >>"$status"; }
if [ -s "$status" ]; then
  [ ! -s "$work/load.err" ] || sed 's/^/  /' "$work/load.err" >&2
  cause=$(tail -n 1 "$work/load.err" 2>/dev/null)
  fail "loading the dump into $database: ${cause:-$(paste -sd';' "$status")} -- $database is partly loaded"
fi
rm -f "$work/db.sql.gz"
say "database loaded (sha256 $sha)"

# --- sanitize (a preview's copy): the site's rules, run in the target database -------------------
if [ -n "${HANGAR_SANITIZE_SQL:-}" ]; then
  printf '%s\n' "$HANGAR_SANITIZE_SQL" >"$work/rules.sql"
  sql "$database" <"$work/rules.sql" 2>"$work/rules.err" ||
    fail "the sanitize rules: $(cat "$work/rules.err") -- $database holds the unsanitized copy"
  say "sanitize rules applied ($(grep -c ';' "$work/rules.sql" | tr -d ' ') statements)"
fi

# --- the files ------------------------------------------------------------------------------------
if [ "$restore_files" = 1 ]; then
  if rclone lsf --max-depth 1 "$remote/${from}files/" >/dev/null 2>"$work/lsf.err"; then
    rclone sync --checkers 16 --transfers 16 "$remote/${from}files/" "$remote/$files_prefix/" ||
      fail "copying the files back"
  else
    code=$?
    [ "$code" -eq 3 ] || fail "listing ${from}files/: $(cat "$work/lsf.err")"
    # The backup has no files: neither may the environment.
    rclone delete "$remote/$files_prefix/" 2>"$work/delete.err" || {
      code=$?
      [ "$code" -eq 3 ] || fail "deleting the files: $(cat "$work/delete.err")"
    }
  fi
  say "files restored into $files_prefix/"
fi
say "restore complete"
