#!/usr/bin/env bash
# Benchmarks of the backup capability (issue 3), each against its peer, in one run on this machine:
#   (a) PostgreSQL: `whatifctl backup postgres` (whatifd running pg_dump -Fc through SHA-256, fsync and
#       rename) vs `pg_dump -Fc -f FILE` by hand, same pgbench -s 50 database. Target: wall-time ratio <= 1.05.
#   (b) DynamoDB: `whatifctl backup dynamodb` (parallel Scan written as an AWS export: gzip, MD5, SHA-256)
#       of 100,000 items vs a single-threaded boto3 Scan writing each page as JSON (what dynamodump does),
#       same endpoint. Target: >= 3x items/s.
# The DynamoDB endpoint is bench/tools/ddb_replay.py, which replays canned pages from memory: against
# moto_server both sides would measure moto's Scan (~1.2k items/s), not themselves.
# The judged runs give the agent the peer's work: verify_after_backup off and, for PostgreSQL, no row
# counts (the by-hand peers neither verify nor count). The agent's defaults do both; they are timed in
# the same run and printed beside, for information: exact counts re-read every table in the dump's
# snapshot, which competes with pg_dump for CPU when PostgreSQL shares the host (2 cores here).
#   RUNS=5 SCALE=50 ITEMS=100000 bench/backup.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
runs=${RUNS:-5}
scale=${SCALE:-50}
items=${ITEMS:-100000}
pgbin=/usr/lib/postgresql/15/bin

scripts/stack start >/dev/null 2>&1
source .stack/stack.env
export PGHOST=$WHATIF_PG_HOST PGPORT=$WHATIF_PG_PORT PGUSER=postgres PGPASSWORD=$(cat "$WHATIF_PG_PASSWORD_FILE")
# BENCH_BIN=DIR: the whatifd and whatifctl in DIR instead of a fresh build (a before/after comparison).
bin=${BENCH_BIN:-$(scripts/build-release 2>/dev/null | tail -1)}
work=$(mktemp -d /tmp/whatif-bench-backup-XXXXXX)
pid=""
replay=""
pid2=""
trap 'kill $pid $pid2 $replay 2>/dev/null || true; rm -rf "$work"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
verdict() { if awk "BEGIN{exit !($1)}"; then echo PASS; else echo MISS; fi; }
calc() { awk "BEGIN{printf \"%.3f\", $1}"; }

db=whatif_bench_s$scale
if [ "$($pgbin/psql -XAtq -d "$db" -c 'SELECT count(*) FROM pgbench_branches' 2>/dev/null || echo 0)" != "$scale" ]; then
  echo "creating $db (pgbench -i -s $scale) ..."
  $pgbin/psql -Xq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  $pgbin/pgbench -i -q -s "$scale" "$db" >/dev/null 2>&1
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 bench/tools/ddb_replay.py "$port" bench-scenarios "$items" &
replay=$!
printf '[bench]\naws_access_key_id = bench\naws_secret_access_key = bench\n' >"$work/credentials"
chmod 600 "$work/credentials"
cat >"$work/agent.yaml" <<YAML
environment: development
region: us-east-1
state_dir: $work/state
socket:
  path: $work/agent.sock
postgres:
  host: $WHATIF_PG_HOST
  port: $WHATIF_PG_PORT
  database: $db
  user: postgres
  password_file: $WHATIF_PG_PASSWORD_FILE
  sslmode: prefer
redis:
  enabled: false
dynamodb:
  table: bench-scenarios
aws:
  endpoint: http://127.0.0.1:$port
  credentials_file: $work/credentials
  profile: bench
backups:
  location: $work/backups
  verify_after_backup: false
  prune_after_backup: false
YAML
# A second agent with the default exact row counts, for the information line.
sed -e "s|$work/agent.sock|$work/counts.sock|" -e "s|state_dir: $work/state|state_dir: $work/state-counts|" \
  -e "s|location: $work/backups|location: $work/backups-counts|" "$work/agent.yaml" >"$work/counts.yaml"
printf '  postgres:\n    row_counts: false\n' >>"$work/agent.yaml"
"$bin/whatifd" --config "$work/agent.yaml" >"$work/whatifd.log" 2>&1 &
pid=$!
"$bin/whatifd" --config "$work/counts.yaml" >"$work/whatifd-counts.log" 2>&1 &
pid2=$!
for _ in $(seq 100); do [ -S "$work/agent.sock" ] && [ -S "$work/counts.sock" ] && break; sleep 0.1; done
export WHATIF_SOCKET=$work/agent.sock
ctl() { "$bin/whatifctl" "$@"; }
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break; sleep 0.2; done

echo "whatif-agent $("$bin/whatifd" --version) on $(nproc) cores, $(uname -r); $($pgbin/pg_dump --version)"
echo
echo "== (a) PostgreSQL backup of $db ($($pgbin/psql -XAtq -d "$db" -c "SELECT pg_size_pretty(pg_database_size('$db'))")), $runs runs each, alternating"
$pgbin/pg_dump -Fc -f "$work/warm.dump" "$db" && rm -f "$work/warm.dump"
hand=()
agent=()
counted=()
for i in $(seq "$runs"); do
  t0=$(now); $pgbin/pg_dump -Fc -f "$work/hand.dump" "$db"; t1=$(now)
  hand+=("$(calc "$t1 - $t0")")
  size_hand=$(stat -c %s "$work/hand.dump"); rm -f "$work/hand.dump"
  t0=$(now); ctl backup postgres >/dev/null 2>"$work/ctl.err" || { cat "$work/ctl.err"; exit 1; }; t1=$(now)
  agent+=("$(calc "$t1 - $t0")")
  size_agent=$(du -sb "$work/backups/postgres" | cut -f1); rm -rf "$work/backups/postgres"
  t0=$(now); WHATIF_SOCKET=$work/counts.sock ctl backup postgres >/dev/null 2>"$work/ctl.err" || { cat "$work/ctl.err"; exit 1; }; t1=$(now)
  counted+=("$(calc "$t1 - $t0")"); rm -rf "$work/backups-counts/postgres"
  echo "run $i: pg_dump -Fc -f ${hand[-1]} s ($size_hand bytes)   whatifctl backup postgres ${agent[-1]} s ($size_agent bytes with manifest)   with row counts ${counted[-1]} s"
done
mh=$(printf '%s\n' "${hand[@]}" | median)
ma=$(printf '%s\n' "${agent[@]}" | median)
mc=$(printf '%s\n' "${counted[@]}" | median)
ratio=$(calc "$ma / $mh")
echo "median: by hand $mh s, through the agent $ma s: ratio $ratio   target <= 1.05   $(verdict "$ratio <= 1.05")"
echo "for information, the agent's default with exact row counts in the snapshot: median $mc s, ratio $(calc "$mc / $mh")"

echo
echo "== (b) DynamoDB export of $items items from the replay endpoint, $runs runs each, alternating"
python3 bench/tools/boto3_scan_dump.py "http://127.0.0.1:$port" bench-scenarios "$work/peer" >/dev/null
rm -rf "$work/peer"
ctl backup dynamodb >/dev/null 2>&1 || true
rm -rf "$work/backups/dynamodb"
peer=()
ours=()
for i in $(seq "$runs"); do
  out=$(python3 bench/tools/boto3_scan_dump.py "http://127.0.0.1:$port" bench-scenarios "$work/peer")
  rm -rf "$work/peer"
  n=$(echo "$out" | sed -n 's/.*items=\([0-9]*\).*/\1/p'); s=$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
  peer+=("$(calc "$n / $s")")
  t0=$(now); ctl backup dynamodb >/dev/null 2>"$work/ctl.err" || { cat "$work/ctl.err"; exit 1; }; t1=$(now)
  got=$(python3 -c "import json,glob; print(json.load(open(glob.glob('$work/backups/dynamodb/*/manifest.json')[0]))['items'])")
  [ "$got" = "$items" ] || { echo "the export holds $got items, not $items"; exit 1; }
  rm -rf "$work/backups/dynamodb"
  ours+=("$(calc "$items / ($t1 - $t0)")")
  echo "run $i: boto3 Scan single-threaded ${peer[-1]} items/s ($s s)   whatifctl backup dynamodb ${ours[-1]} items/s ($(calc "$t1 - $t0") s, whole command)"
done
mp=$(printf '%s\n' "${peer[@]}" | median)
mo=$(printf '%s\n' "${ours[@]}" | median)
ratio=$(calc "$mo / $mp")
echo "median: boto3 $mp items/s, whatifd $mo items/s: ${ratio}x   target >= 3   $(verdict "$ratio >= 3")"

echo
echo "== for information: one backup of each with the agent's defaults (row counts, verify_after_backup: re-read, re-hash, pg_restore --list / MD5 and counts)"
sed -i 's/verify_after_backup: false/verify_after_backup: true/' "$work/counts.yaml"
WHATIF_SOCKET=$work/counts.sock ctl config reload >/dev/null
export WHATIF_SOCKET=$work/counts.sock
t0=$(now); ctl backup postgres >/dev/null 2>&1; t1=$(now)
echo "postgres with verify: $(calc "$t1 - $t0") s"
t0=$(now); ctl backup dynamodb >/dev/null 2>&1; t1=$(now)
echo "dynamodb with verify: $(calc "$t1 - $t0") s"
echo "whatifd peak RSS: $(awk '/VmHWM/{print $2 / 1024 " MB"}' /proc/$pid/status) (the agent of the judged runs)"
