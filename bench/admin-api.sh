#!/usr/bin/env bash
# Benchmarks of the foundation (issue 2), against its targets, measured on this machine in one run:
#   1. end-to-end latency of `whatifctl status --json` (process start, request, answer, exit);
#   2. admin API throughput and p50/p99 latency of GET /v1/status with 1, 10 and 100 clients:
#      closed loop (each client sends again as soon as it has its answer: the maximum rate), and open
#      loop at 10,000 requests/s in all (latency counted from each request's scheduled time);
#   3. whatifd's memory after 60 s idle with PostgreSQL, Redis and DynamoDB configured and metrics off
#      (the foundation's idle, as issue 2 set the target), again after the load has used every client,
#      and, for information, after 60 s with metrics on (the default): the collectors then load libpq
#      and libcurl and keep a connection to each service, which is the cost of watching them.
# Targets: p99 <= 2 ms at 100 clients, >= 10,000 requests/s, idle RSS <= 20 MB.
# The binaries are the shipped release build (scripts/build-release). The services are the local stack.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
idle=${IDLE_SECONDS:-60}
secs=${LOAD_SECONDS:-5}

scripts/stack start >/dev/null
python3 scripts/seed_scenarios.py .stack/stack.env 50 >/dev/null
# BENCH_BIN=DIR: the whatifd and whatifctl in DIR instead of a fresh build (a before/after comparison).
# The load generator is this tree's whatever BENCH_BIN says: before and after are measured alike.
tools=$(scripts/build-release whatif-bench 2>/dev/null | tail -1)
bin=${BENCH_BIN:-$(scripts/build-release whatifd whatifctl 2>/dev/null | tail -1)}
work=$(mktemp -d /tmp/whatif-bench-XXXXXX)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
# The development config, with its own socket and state so a running agent is left alone.
scripts/dev-config --work "$work" >"$work/agent-metrics.yaml"
sed -e 's|^metrics:$|metrics:\n  enabled: false|' "$work/agent-metrics.yaml" >"$work/agent.yaml"
socket=$work/agent.sock
"$bin/whatifd" --config "$work/agent.yaml" >"$work/whatifd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done

rss() { awk '/^Rss:/{print $2}' "/proc/$pid/smaps_rollup"; }
pss() { awk '/^Pss:/{print $2}' "/proc/$pid/smaps_rollup"; }
verdict() { if awk "BEGIN{exit !($1)}"; then echo PASS; else echo MISS; fi; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "whatif-agent $("$bin/whatifd" --version) on $(nproc) cores, $(uname -r); services from scripts/stack"
echo
echo "== whatifd memory after ${idle} s idle (PostgreSQL, Redis and DynamoDB configured, metrics off, no requests)"
sleep "$idle"
idle_rss=$(rss)
echo "RSS $((idle_rss / 1024)).$(((idle_rss % 1024) * 10 / 1024)) MB (PSS $(( $(pss) / 1024 )) MB)   target <= 20 MB   $(verdict "$idle_rss <= 20480")"

echo
echo "== whatifctl status --json, whole command (start, request, answer, exit), 200 runs"
"$bin/whatifctl" status --json --socket "$socket" >/dev/null || true
e2e=$("$tools/whatif-bench" command --runs 200 -- "$bin/whatifctl" status --json --socket "$socket")
echo "$e2e"

echo
echo "== GET /v1/status on the admin API, ${secs} s per row"
printf '%-8s %-16s %10s %9s %9s %9s\n' clients mode requests/s p50_ms p99_ms max_ms
best=0
p99_100=""
for mode in closed open; do
  for c in 1 10 100; do
    if [ "$mode" = closed ]; then
      out=$("$tools/whatif-bench" load --socket "$socket" --clients "$c" --seconds "$secs")
    else
      out=$("$tools/whatif-bench" load --socket "$socket" --clients "$c" --seconds "$secs" --rate 10000)
    fi
    rps=$(echo "$out" | field rps)
    printf '%-8s %-16s %10s %9s %9s %9s\n' "$c" "$(echo "$out" | sed -n 's/.*mode=\([^ ]*\).*/\1/p')" "$rps" \
      "$(echo "$out" | field p50_ms)" "$(echo "$out" | field p99_ms)" "$(echo "$out" | field max_ms)"
    [ "$rps" -gt "$best" ] && best=$rps
    if [ "$mode" = open ] && [ "$c" = 100 ]; then p99_100=$(echo "$out" | field p99_ms); fi
  done
done
echo
echo "throughput: best $best requests/s   target >= 10,000   $(verdict "$best >= 10000")"
echo "p99 with 100 clients at 10,000 requests/s: $p99_100 ms   target <= 2 ms   $(verdict "$p99_100 <= 2")"
echo "(closed loop with 100 clients: latency is 100 / throughput by Little's law, whatever the server does)"

echo
echo "== whatifd memory after the load (every client has been used)"
echo "RSS $(( $(rss) / 1024 )) MB (PSS $(( $(pss) / 1024 )) MB)"

echo
echo "== for information: whatifd memory after ${idle} s with metrics on (collecting every 10 s from every service)"
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
sed -i -e "s|^state_dir: .*|state_dir: $work/state2|" "$work/agent-metrics.yaml"
"$bin/whatifd" --config "$work/agent-metrics.yaml" >"$work/whatifd2.log" 2>&1 &
pid=$!
sleep "$idle"
echo "RSS $(( $(rss) / 1024 )) MB (PSS $(( $(pss) / 1024 )) MB)"
