#!/bin/sh
# Hangar backup: the environment's database and files, into object storage.
#
# Runs in a Job in the environment's namespace (image HANGAR_TOOLBOX_IMAGE), mounted from
# the ConfigMap hangar-tools, with the environment's Secret app-env as its environment.
# Needs: a POSIX sh, mariadb-dump (or mysqldump), mariadb (or mysql), rclone, gzip,
# sha256sum, awk, mkfifo.
#
#   DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD          the environment's database
#   S3_ENDPOINT S3_REGION S3_BUCKET S3_PREFIX S3_ACCESS_KEY S3_SECRET_KEY
#                                                         its object storage and files
#   HANGAR_S3_ADDRESSING_STYLE  path or virtual (default)
#   HANGAR_BACKUP_PREFIX        the backup's folder: backups/{client}/{site}/{env}/{stamp}/
#   HANGAR_BACKUP_BASE          without HANGAR_BACKUP_PREFIX (the scheduled CronJob): the
#                               folder is HANGAR_BACKUP_BASE/{UTC timestamp}/
#
# Writes {folder}db.sql.gz (mariadb-dump --single-transaction --quick, gzip, streamed),
# {folder}files/... (a server-side copy of S3_PREFIX) and, last, {folder}manifest.json
# with every object's key, size and SHA-256 and the number of tables the database had.
# A folder without manifest.json is not a backup. Any failure, a failing dump inside the
# pipe included, exits non-zero, and the FAILED line leads with the cause (the storage's
# or the server's own words), not with the stages that died of it.
set -eu
. "$(dirname "$0")/lib.sh"

need DB_HOST DB_NAME DB_USER S3_BUCKET S3_PREFIX S3_ACCESS_KEY S3_SECRET_KEY
DUMP=$(tool mariadb-dump mysqldump) || fail "neither mariadb-dump nor mysqldump is installed"
CLIENT=$(tool mariadb mysql) || fail "neither mariadb nor mysql is installed"
need_tools rclone gzip sha256sum awk mkfifo

prefix=${HANGAR_BACKUP_PREFIX:-}
if [ -z "$prefix" ]; then
  need HANGAR_BACKUP_BASE
  prefix="${HANGAR_BACKUP_BASE%/}/$(date -u +%Y%m%dT%H%M%SZ)/"
fi
check_backup_folder "$prefix"
set_files_prefix

start_work
configure_rclone

say "backing up database $DB_NAME and files $files_prefix/ to $prefix"

# The tables the database has now: verification fails a dump that creates fewer (an empty
# dump of a database with tables is not a backup of it).
tables=$("$CLIENT" --defaults-extra-file="$work/my.cnf" --batch --skip-column-names -e \
  "SELECT COUNT(*) FROM information_schema.tables
    WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'" "$DB_NAME" 2>"$work/count.err") ||
  fail "connecting to database $DB_NAME: $(tail -n 3 "$work/count.err" | paste -sd' ' -)"
case "$tables" in
  "" | *[!0-9]*) fail "counting the tables of $DB_NAME gave '$tables'" ;;
esac

# --- the database: dump | gzip | tee (checksum, size) | upload, streamed ---------------------
# Each stage of the pipe notes its failure in a file: a shell without pipefail would only
# see the last stage's status, and a failing dump must never pass for a backup.
status="$work/pipe.status"
: >"$status"
mkfifo "$work/sha.fifo" "$work/size.fifo"
sha256sum <"$work/sha.fifo" >"$work/db.sha256" &
sha_pid=$!
wc -c <"$work/size.fifo" >"$work/db.size" &
size_pid=$!
if ! {
  {
    dump_database "$DB_NAME"
  } | { gzip -c || echo "gzip exited with status $?" >>"$status"; } |
    { tee "$work/sha.fifo" "$work/size.fifo" || echo "tee exited with status $?" >>"$status"; } |
    rclone rcat "$remote/${prefix}db.sql.gz" 2>"$work/upload.err"
}; then
  echo "uploading db.sql.gz failed" >>"$status"
fi
wait "$sha_pid" || echo "sha256sum exited with status $?" >>"$status"
wait "$size_pid" || echo "wc exited with status $?" >>"$status"
if [ -s "$status" ]; then
  [ ! -s "$work/dump.err" ] || sed 's/^/  /' "$work/dump.err" >&2
  [ ! -s "$work/upload.err" ] || sed 's/^/  /' "$work/upload.err" >&2
  stages=$(paste -sd';' "$status" | sed 's/;/; /g')
  # The cause first: a failed upload kills the stages before it (tee, gzip: SIGPIPE), a
  # failed dump leaves the upload with nothing; the stage statuses follow.
  if grep -q '^uploading' "$status" && [ -s "$work/upload.err" ]; then
    fail "uploading db.sql.gz: $(grep -i 'error\|failed' "$work/upload.err" | tail -n 1 |
      sed 's/^.*ERROR *: *//')  ($stages)"
  elif [ -s "$work/dump.err" ]; then
    fail "$(basename "$DUMP"): $(tail -n 1 "$work/dump.err")  ($stages)"
  fi
  fail "database dump: $stages"
fi
db_sha=$(cut -d' ' -f1 <"$work/db.sha256")
db_size=$(tr -d ' ' <"$work/db.size")
[ "${#db_sha}" -eq 64 ] || fail "no checksum for db.sql.gz"
say "database: db.sql.gz, $db_size bytes, sha256 $db_sha"

# --- the files: a server-side copy, then their sizes and checksums ---------------------------
: >"$work/files.list"
: >"$work/files.sha"
if rclone lsf --max-depth 1 "$remote/$files_prefix/" >/dev/null 2>"$work/lsf.err"; then
  rclone copy --checkers 16 --transfers 16 "$remote/$files_prefix/" "$remote/${prefix}files/" ||
    fail "copying the files"
  rclone lsf -R --files-only --format sp --separator '|' "$remote/${prefix}files/" \
    >"$work/files.list" || fail "listing the copied files"
  if [ -s "$work/files.list" ]; then
    rclone hashsum sha256 --download --checkers 16 "$remote/${prefix}files/" \
      >"$work/files.sha" || fail "checksumming the copied files"
  fi
else
  code=$?
  # 3: rclone's "directory not found": the environment has no files yet.
  [ "$code" -eq 3 ] || fail "listing $files_prefix/: $(cat "$work/lsf.err")"
fi
say "files: $(wc -l <"$work/files.list" | tr -d ' ') copied"

# --- the manifest, written last -----------------------------------------------------------------
awk -v prefix="$prefix" -v db_size="$db_size" -v db_sha="$db_sha" \
  -v created="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -v database="$DB_NAME" -v tables="$tables" \
  -v shafile="$work/files.sha" '
  function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
  BEGIN {
    while ((getline line < shafile) > 0) {
      split_at = index(line, "  ")
      if (split_at == 0) { print "unreadable checksum line: " line > "/dev/stderr"; exit 2 }
      sha[substr(line, split_at + 2)] = substr(line, 1, split_at - 1)
    }
    printf "{\"format\": 1, \"created\": \"%s\", \"prefix\": \"%s\", ", created, esc(prefix)
    printf "\"database\": {\"name\": \"%s\", \"key\": \"db.sql.gz\", ", esc(database)
    printf "\"size\": %d, \"sha256\": \"%s\", \"tables\": %d}, \"files\": [", \
      db_size, db_sha, tables
    count = 0; total = 0
  }
  {
    split_at = index($0, "|")
    size = substr($0, 1, split_at - 1); path = substr($0, split_at + 1)
    if (split_at == 0 || path ~ /[\001-\037]/) {
      print "a file name with control characters cannot be listed: " path > "/dev/stderr"; exit 2
    }
    if (!(path in sha)) { print "no checksum for " path > "/dev/stderr"; exit 2 }
    printf "%s{\"key\": \"files/%s\", \"size\": %d, \"sha256\": \"%s\"}", \
      (count ? ", " : ""), esc(path), size, sha[path]
    count++; total += size
  }
  END { printf "], \"files_count\": %d, \"files_size\": %d}\n", count, total }
' "$work/files.list" >"$work/manifest.json" || fail "writing the manifest"
rclone rcat "$remote/${prefix}manifest.json" <"$work/manifest.json" ||
  fail "uploading manifest.json"
say "backup complete: ${prefix}manifest.json"
