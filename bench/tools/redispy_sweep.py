#!/usr/bin/env python3
"""The peer for bench/expiry.sh: the fastest simple redis-py expiry sweep. SCAN count=1000, then per batch
one pipeline of PTTL and one of EXPIRE NX for the keys without a TTL (the agent's enforce does the same
work). Prints keys/s and how many keys it fixed.

  redispy_sweep.py PORT PATTERN TTL_SECONDS
"""
import sys
import time

import redis

port, pattern, ttl = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
r = redis.Redis(port=port)
start = time.perf_counter()
cursor, scanned, fixed = 0, 0, 0
while True:
    cursor, keys = r.scan(cursor=cursor, match=pattern, count=1000)
    scanned += len(keys)
    if keys:
        p = r.pipeline(transaction=False)
        for k in keys:
            p.pttl(k)
        ttls = p.execute()
        p = r.pipeline(transaction=False)
        todo = [k for k, t in zip(keys, ttls) if t == -1]
        for k in todo:
            p.expire(k, ttl, nx=True)
        fixed += sum(1 for x in p.execute() if x)
    if cursor == 0:
        break
secs = time.perf_counter() - start
print(f"redis-py: {scanned} keys in {secs:.2f} s, {scanned / secs:.0f} keys/s, fixed {fixed}")
