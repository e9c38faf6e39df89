#!/usr/bin/env bash
# Issue 5's figures on the local stack (services from scripts/stack):
#   1. CPU time of one full collection cycle with every collector (host, PostgreSQL, Redis, DynamoDB on
#      moto), measured in process by whatif-bench-metrics (release build), median of CYCLES cycles
#   2. whatifd's RSS (the shipped release build) holding 24 h of history for 200 series at 60 s, loaded
#      from its history log at start, with PostgreSQL, Redis and DynamoDB configured and collecting
#   3. time to evaluate 1,000 alarms (mixed statistics, periods, TreatMissingData) over that history
# Targets: <= 20 ms CPU per cycle, <= 40 MB RSS, 1,000 alarms in <= 50 ms. There is no peer to compare
# with: CloudWatch's evaluation runs in AWS.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH="/opt/swift/usr/bin:$PATH"
CYCLES=${CYCLES:-50}
scripts/stack start >/dev/null
# BENCH_BIN=DIR: the whatifd and whatifctl in DIR instead of a fresh build (a before/after comparison).
bin=${BENCH_BIN:-$(scripts/build-release 2>/dev/null | tail -1)}
swift build -c release --product whatif-bench-metrics >/dev/null
bench=$(swift build -c release --show-bin-path)/whatif-bench-metrics
python3 Tests/tools/ddb_tool.py seed .stack/stack.env what-if-generator-scenarios-development 100 >/dev/null 2>&1 || true
work=$(mktemp -d /tmp/whatif-bench-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
echo "whatif-agent $("$bin/whatifd" --version) on $(nproc) cores, $(uname -r)"

echo "== 1. one collection cycle, every collector"
cycle=$("$bench" cycle .stack/stack.env "$CYCLES")
echo "$cycle"

echo "== 2. whatifd with 24 h of history for 200 series"
mkdir -p "$work/state/metrics"
"$bench" history-write "$work/state/metrics"
"$bench" history-load "$work/state/metrics"
scripts/dev-config --work "$work" >"$work/agent.yaml"
"$bin/whatifd" --config "$work/agent.yaml" >"$work/whatifd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
sleep "${SETTLE_SECONDS:-65}"  # at least one collection with every collector
rss=$(awk '/^Rss:/{print int($2/1024)}' "/proc/$pid/smaps_rollup")
series=$(WHATIF_SOCKET=$work/agent.sock "$bin/whatifctl" metrics --json --since 1m | grep -c '"namespace"' || true)
echo "whatifd: $series series held, RSS $rss MB"
WHATIF_SOCKET=$work/agent.sock "$bin/whatifctl" metrics --json --since 1d >"$work/all.json"
echo "(for information: RSS $(awk '/^Rss:/{print int($2/1024)}' "/proc/$pid/smaps_rollup") MB after answering GET /v1/metrics for every point of the day, $(($(stat -c %s "$work/all.json") / 1048576)) MB of JSON)"

echo "== 3. 1,000 alarms"
alarms=$("$bench" alarms 1000)
echo "$alarms"

cpu=$(sed -E 's/.*CPU per cycle median ([0-9.]+) ms.*/\1/' <<<"$cycle")
ms=$(sed -E 's/.* in ([0-9.]+) ms.*/\1/' <<<"$alarms")
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "PASS" : "MISS" }'; }
echo
echo "collection cycle CPU: ${cpu} ms (target <= 20 ms): $(verdict "$cpu" 20)"
echo "whatifd RSS with 24 h x 200 series: ${rss} MB (target <= 40 MB): $(verdict "$rss" 40)"
echo "1,000 alarms evaluated: ${ms} ms (target <= 50 ms): $(verdict "$ms" 50)"
