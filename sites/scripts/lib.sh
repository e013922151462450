# Hangar's tool scripts' common part, sourced by backup.sh, restore.sh and sanitize.sh:
#   . "$(dirname "$0")/lib.sh"
# It travels with them in the ConfigMap hangar-tools (sites/manifests/backups.py), so a
# Job always runs the scripts and this file of the same Hangar version.

# Where the shell has pipefail (bash, busybox ash) use it; the scripts' pipes also report
# their own stages' failures, for shells without it (dash).
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

need_tools() {
  for name in "$@"; do
    tool "$name" >/dev/null || fail "$name is not installed"
  done
}

# Refuses a backup folder $1 that is not backups/{client}/{site}/{env}/{stamp}/.
check_backup_folder() {
  case "$1" in
    backups/?*/) ;;
    *) fail "the backup folder must look like backups/.../, not '$1'" ;;
  esac
}
# $files_prefix: S3_PREFIX without its trailing slash, refused unless it is an environment's.
set_files_prefix() {
  files_prefix=${S3_PREFIX%/}
  case "$files_prefix" in
    "" | /*) fail "S3_PREFIX '$S3_PREFIX' is not an environment's files prefix" ;;
  esac
}

# A private scratch folder $work, removed on exit, holding $work/my.cnf: the database
# client's options from DB_*. The password goes into that file, never onto a command line.
escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
start_work() {
  work=$(mktemp -d)
  trap 'status=$?; rm -rf "$work"; exit $status' EXIT
  trap 'exit 143' TERM INT
  umask 077
  cat >"$work/my.cnf" <<EOF
[client]
host=$DB_HOST
port=${DB_PORT:-3306}
user=$DB_USER
password="$(escape "${DB_PASSWORD:-}")"
EOF
}

# rclone configured from the environment alone (S3_*, HANGAR_S3_ADDRESSING_STYLE): the
# remote "hangar", and $remote, the bucket on it. Needs $work (start_work).
configure_rclone() {
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
  # Streamed uploads buffer chunk size x concurrency (32 MiB) and reach 10,000 parts (156 GiB).
  export RCLONE_CONFIG_HANGAR_CHUNK_SIZE=16M RCLONE_CONFIG_HANGAR_UPLOAD_CONCURRENCY=2
  remote="hangar:$S3_BUCKET"
}

# mariadb-dump of database $1 to stdout, its errors into $work/dump.err; a failure is noted
# in the file $status (see the pipes in backup.sh and sanitize.sh).
dump_database() {
  "$DUMP" --defaults-extra-file="$work/my.cnf" --single-transaction --quick \
    --routines --triggers --hex-blob --no-tablespaces --default-character-set=utf8mb4 \
    "$1" 2>"$work/dump.err" || echo "$DUMP exited with status $?" >>"$status"
}
