#!/usr/bin/env bash
# Issue 7's figures, measured in one run on the same data:
#  1. transform: a DOCS-document mongodump .bson (pymongo-written, Tests/tools/bson_transform.py --generate)
#     through `whatifctl migrate scenarios --dry-run` (whatifd, release build: read, transform to DynamoDB
#     JSON, validate, write nothing) vs Tests/tools/bson_transform.py, which decodes with pymongo's bson
#     (C extension) and writes the same DynamoDB JSON (to /dev/null). Target: agent >= 20x docs/s.
#  2. end to end into moto: E2E_DOCS documents with WORKERS workers, the agent vs bench/tools/boto3_migrate.py
#     (Table.batch_writer() per thread). moto is the bottleneck (about 4k writes/s whatever the client);
#     the target (>= 1x) shows the agent is not. moto is restarted between the two (its memory only grows).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH="/opt/swift/usr/bin:$PATH"
DOCS=${DOCS:-200000}
E2E_DOCS=${E2E_DOCS:-40000}
WORKERS=${WORKERS:-4}
RUNS=${RUNS:-3}
python3 -c 'import bson, boto3' 2>/dev/null || pip install -q pymongo boto3
swift build -c release --product whatifd >/dev/null
swift build -c release --product whatifctl >/dev/null
bin=$(swift build -c release --show-bin-path)
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
"$bin/whatifd" --config "$work/agent.yaml" >"$work/whatifd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
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

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t) ? "PASS" : "MISS" }'; }
r1=$(awk -v a="$agent_best" -v p="$peer_best" 'BEGIN { printf "%.1f", a / p }')
r2=$(awk -v a="$agent_e2e" -v p="$peer_e2e" 'BEGIN { printf "%.2f", a / p }')
echo
echo "transform: agent $agent_best docs/s, pymongo bson $peer_best docs/s: ${r1}x (target >= 20x): $(verdict "$r1" 20)"
echo "end to end into moto: agent $agent_e2e items/s, boto3 batch_writer $peer_e2e items/s: ${r2}x (target >= 1x): $(verdict "$r2" 1)"
