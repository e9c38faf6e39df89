#!/usr/bin/env bash
# Issue 6's figures: an enforce sweep of 1,000,000 keys without a TTL (DEBUG POPULATE) by the agent's
# sweeper (whatif-bench-metrics expiry: ExpirySweeper with its default settings, release build) vs a
# redis-py script doing SCAN count=1000 with pipelined PTTL and EXPIRE NX (bench/tools/redispy_sweep.py,
# the fastest simple peer), same server, same data, RUNS runs each; then the p99 latency of a
# concurrent redis-benchmark GET load while the agent sweeps, against the same load alone.
# Targets: agent >= 1.5x the peer's keys/s; p99 during the sweep <= 2x the p99 without it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH="/opt/swift/usr/bin:$PATH"
RUNS=${RUNS:-3}
KEYS=${KEYS:-1000000}
python3 -c 'import redis' 2>/dev/null || python3 -m pip install -q redis
swift build -c release --product whatif-bench-metrics >/dev/null
bench=$(swift build -c release --show-bin-path)/whatif-bench-metrics
work=$(mktemp -d /tmp/whatif-bench-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize yes \
  --pidfile "$work/redis.pid" --logfile "$work/redis.log" --enable-debug-command local
trap 'kill $(cat "$work/redis.pid") 2>/dev/null; rm -rf "$work"' EXIT
cli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 50); do cli ping >/dev/null 2>&1 && break; sleep 0.1; done
populate() { cli flushall >/dev/null; cli debug populate "$KEYS" key 32 >/dev/null; }
echo "Redis $(cli info server | sed -n 's/^redis_version:\(.*\)\r/\1/p'), $KEYS keys without a TTL, $(nproc) cores"

rate() { sed -E 's/.*, ([0-9]+) keys\/s.*/\1/'; }
agent_best=0; peer_best=0
for i in $(seq "$RUNS"); do
  populate
  a=$("$bench" expiry "$port" 'key:*' 3600); echo "$a"
  populate
  p=$(python3 bench/tools/redispy_sweep.py "$port" 'key:*' 3600); echo "$p"
  [ "$(rate <<<"$a")" -gt "$agent_best" ] && agent_best=$(rate <<<"$a")
  [ "$(rate <<<"$p")" -gt "$peer_best" ] && peer_best=$(rate <<<"$p")
done

echo
echo "== p99 of redis-benchmark GET (50 clients) alone, then during an agent sweep"
p99() { awk -F, 'NR==2 { gsub(/"/, ""); print $7 }'; }
populate
alone=$(redis-benchmark -p "$port" -t get -n 300000 -c 50 -r "$KEYS" --csv 2>/dev/null | p99)
populate
"$bench" expiry "$port" 'key:*' 3600 >"$work/sweep.txt" &
sweep=$!
sleep 0.2
during=$(redis-benchmark -p "$port" -t get -n 300000 -c 50 -r "$KEYS" --csv 2>/dev/null | p99)
still=$(kill -0 $sweep 2>/dev/null && echo yes || echo no)
wait $sweep
cat "$work/sweep.txt"
echo "p99 alone ${alone} ms, during the sweep ${during} ms (sweep still running at the load's end: $still)"

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t) ? "PASS" : "MISS" }'; }
ratio=$(awk -v a="$agent_best" -v p="$peer_best" 'BEGIN { printf "%.2f", a / p }')
lat=$(awk -v a="$alone" -v d="$during" 'BEGIN { printf "%.2f", d / a }')
echo
echo "sweep: agent $agent_best keys/s, redis-py $peer_best keys/s: ${ratio}x (target >= 1.5x): $(verdict "$ratio" 1.5)"
echo "GET p99 during the sweep: ${lat}x the p99 without it (target <= 2x): $(awk -v v="$lat" 'BEGIN { print (v <= 2) ? "PASS" : "MISS" }')"
