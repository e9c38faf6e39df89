#!/usr/bin/env bash
# Issues 7 and 18's figures, measured in one run on the same data:
#  1. transform: a DOCS-document mongodump .bson (pymongo-written, Tests/tools/bson_transform.py --generate)
#     through `whatifctl migrate scenarios --dry-run` (whatifd, release build: read, transform to DynamoDB
#     JSON, validate, write nothing) vs Tests/tools/bson_transform.py, which decodes with pymongo's bson
#     (C extension) and writes the same DynamoDB JSON (to /dev/null). Target: agent >= 20x docs/s. The
#     agent's dry run reads, transforms (on every core) and consumes as a pipeline. Peak RSS of each
#     (whatifd's VmHWM, a fresh daemon per figure; the peer's maximum resident set from /usr/bin/time).
#  2. end to end into moto: E2E_DOCS documents with WORKERS workers, the agent vs bench/tools/boto3_migrate.py
#     (Table.batch_writer() per thread). moto is the bottleneck (about 4k writes/s whatever the client);
#     the target (>= 1x) shows the agent is not. moto is restarted between the two (its memory only grows).
#  3. memory whatever the size: a BIG_DOCS-document dump (10,000,000 small documents by default, pymongo-
#     written) through the agent's dry run in a fresh whatifd: peak RSS (target < 200 MB) and docs/s.
#     The peer is run on it too when PEER_BIG=1 (it reads the whole file into memory: its RSS is the
#     file's size; it takes minutes).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH="/opt/swift/usr/bin:$PATH"
DOCS=${DOCS:-200000}
E2E_DOCS=${E2E_DOCS:-40000}
WORKERS=${WORKERS:-4}
RUNS=${RUNS:-3}
BIG_DOCS=${BIG_DOCS:-10000000}
PEER_BIG=${PEER_BIG:-0}
python3 -c 'import bson, boto3' 2>/dev/null || python3 -m pip install -q pymongo boto3
# The shipped release binaries (scripts/build-release), as the other benchmarks use.
# BENCH_BIN=DIR: the whatifd and whatifctl in DIR instead of a fresh build (a before/after comparison).
bin=${BENCH_BIN:-}
[ -n "$bin" ] || bin=$(scripts/build-release whatifd whatifctl 2>/tmp/whatif-bench-build.log | tail -1) || {
  tail -30 /tmp/whatif-bench-build.log >&2
  exit 1
}
work=$(mktemp -d /tmp/whatif-bench-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "generating $DOCS documents with pymongo's bson ..."
python3 Tests/tools/bson_transform.py --generate "$DOCS" "$work/scenarios.bson"
python3 Tests/tools/bson_transform.py --generate "$E2E_DOCS" "$work/e2e.bson" --seed 2
echo "$(nproc) cores; $(du -h "$work/scenarios.bson" | cut -f1) of BSON"

moto_port=$(freeport)
start_moto() {
  moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  pids+=("$moto_pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null && return; sleep 0.1; done
  echo "moto did not start" >&2; exit 1
}
start_moto
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
cat >"$work/agent.yaml" <<YAML
environment: test
region: us-east-1
state_dir: $work/state
socket:
  path: $work/agent.sock
postgres:
  enabled: false
redis:
  enabled: false
dynamodb:
  table: what-if-generator-scenarios-test
aws:
  endpoint: http://127.0.0.1:$moto_port
metrics:
  enabled: false
YAML
start_agent() {
  [ -z "${agent_pid:-}" ] || { kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; }
  rm -f "$work/agent.sock"
  "$bin/whatifd" --config "$work/agent.yaml" >>"$work/whatifd.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  for _ in $(seq 100); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
}
# whatifd's peak resident set so far (by its pid), in MB.
agent_hwm() { awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$agent_pid/status"; }
# A command's peak resident set (MB) from GNU time, written to $work/peer.rss.
peer_rss() { /usr/bin/time -f '%M' -o "$work/peer.rss" "$@"; awk '{ printf "%d", $1 / 1024 }' "$work/peer.rss"; }
start_agent
ctl() { "$bin/whatifctl" "$@" --socket "$work/agent.sock"; }
fail() { cat "$1" >&2; tail -20 "$work/whatifd.log" >&2; exit 1; }
report() { ctl jobs show "$1" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); r=j["result"]; print(r["documents"], r["seconds"])'; }

echo
echo "== 1. transform ($DOCS documents, dry run), $RUNS runs each, best of each"
agent_best=0; peer_best=0
for i in $(seq "$RUNS"); do
  t0=$(date +%s.%N)
  ctl migrate scenarios --from "$work/scenarios.bson" --dry-run >"$work/dry.txt" 2>&1 || fail "$work/dry.txt"
  t1=$(date +%s.%N)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  rate=$(awk -v n="$DOCS" -v s="$wall" 'BEGIN { printf "%d", n / s }')
  echo "agent (whatifctl migrate scenarios --dry-run, wall): $DOCS documents in $wall s, $rate documents/s"
  [ "$rate" -gt "$agent_best" ] && agent_best=$rate
  t0=$(date +%s.%N)
  python3 Tests/tools/bson_transform.py "$work/scenarios.bson" --out /dev/null
  t1=$(date +%s.%N)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  rate=$(awk -v n="$DOCS" -v s="$wall" 'BEGIN { printf "%d", n / s }')
  echo "pymongo bson + Python transform to DynamoDB JSON: $DOCS documents in $wall s, $rate documents/s"
  [ "$rate" -gt "$peer_best" ] && peer_best=$rate
done
grep -E "^dry-run:" "$work/dry.txt" | head -1
agent_rss1=$(agent_hwm)
peer_rss1=$(peer_rss python3 Tests/tools/bson_transform.py "$work/scenarios.bson" --out /dev/null)
echo "peak RSS: whatifd $agent_rss1 MB (the daemon, after $RUNS dry runs), pymongo peer $peer_rss1 MB"

echo
echo "== 2. end to end into moto ($E2E_DOCS documents, $WORKERS workers each)"
ctl tables setup >"$work/setup.txt" 2>&1 || fail "$work/setup.txt"
t0=$(date +%s.%N)
ctl migrate scenarios --from "$work/e2e.bson" --workers "$WORKERS" >"$work/e2e.txt" 2>&1 || fail "$work/e2e.txt"
t1=$(date +%s.%N)
agent_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
agent_e2e=$(awk -v n="$E2E_DOCS" -v s="$agent_wall" 'BEGIN { printf "%d", n / s }')
echo "agent: $E2E_DOCS items in $agent_wall s, $agent_e2e items/s"
grep -E "^  [0-9]+ items written" "$work/e2e.txt" | head -1
kill "$moto_pid"; wait "$moto_pid" 2>/dev/null || true
start_moto
python3 - "$moto_port" <<'PY'
import boto3, sys
c = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:%s" % sys.argv[1], region_name="us-east-1")
c.create_table(TableName="peer", BillingMode="PAY_PER_REQUEST",
               KeySchema=[{"AttributeName": "scenarioId", "KeyType": "HASH"}],
               AttributeDefinitions=[{"AttributeName": "scenarioId", "AttributeType": "S"}])
PY
peer=$(python3 bench/tools/boto3_migrate.py "$work/e2e.bson" peer "http://127.0.0.1:$moto_port" "$WORKERS")
echo "$peer"
peer_e2e=$(sed -E 's/.*, ([0-9]+) items\/s/\1/' <<<"$peer")

kill "$moto_pid"; wait "$moto_pid" 2>/dev/null || true
agent_rss2=$(agent_hwm)
echo "peak RSS: whatifd $agent_rss2 MB (after the end-to-end run)"

echo
echo "== 3. $BIG_DOCS documents (small ones), dry run in a fresh whatifd"
python3 Tests/tools/bson_transform.py --generate-small "$BIG_DOCS" "$work/big.bson"
rm -f "$work/scenarios.bson" "$work/e2e.bson"
echo "$(du -h "$work/big.bson" | cut -f1) of BSON"
start_agent
base_rss=$(agent_hwm)
t0=$(date +%s.%N)
ctl migrate scenarios --from "$work/big.bson" --dry-run >"$work/big.txt" 2>&1 || fail "$work/big.txt"
t1=$(date +%s.%N)
big_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
big_rss=$(agent_hwm)
big_rate=$(awk -v n="$BIG_DOCS" -v s="$big_wall" 'BEGIN { printf "%d", n / s }')
grep -E "^dry-run:" "$work/big.txt" | head -1
echo "agent: $BIG_DOCS documents in $big_wall s ($big_rate documents/s), peak RSS $big_rss MB (idle before: $base_rss MB)"
if [ "$PEER_BIG" = 1 ]; then
  t0=$(date +%s.%N)
  peer_big_rss=$(peer_rss python3 Tests/tools/bson_transform.py "$work/big.bson" --out /dev/null)
  t1=$(date +%s.%N)
  echo "pymongo peer: $BIG_DOCS documents in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s, peak RSS $peer_big_rss MB"
fi

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t) ? "PASS" : "MISS" }'; }
r1=$(awk -v a="$agent_best" -v p="$peer_best" 'BEGIN { printf "%.1f", a / p }')
r2=$(awk -v a="$agent_e2e" -v p="$peer_e2e" 'BEGIN { printf "%.2f", a / p }')
echo
echo "transform: agent $agent_best docs/s, pymongo bson $peer_best docs/s: ${r1}x (target >= 20x): $(verdict "$r1" 20)"
echo "end to end into moto: agent $agent_e2e items/s, boto3 batch_writer $peer_e2e items/s: ${r2}x (target >= 1x): $(verdict "$r2" 1)"
echo "peak RSS: agent $agent_rss1 MB (dry runs of $DOCS), pymongo peer $peer_rss1 MB (same file)"
echo "$BIG_DOCS documents: agent peak RSS $big_rss MB (target < 200 MB): $(awk -v v="$big_rss" 'BEGIN { print (v < 200) ? "PASS" : "MISS" }'), $big_rate documents/s"
