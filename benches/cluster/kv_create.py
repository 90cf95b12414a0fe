#!/usr/bin/env python3
"""The floor under numpool's new conversations in cluster mode (issue 16, P8): JetStream key
creates on the sticky bucket itself, sent by an independent client (nats-py), open loop at a
fixed rate, latency from each create's intended send time to its acknowledgement.

Each create is what a sidecar's claim is: a publish to `$KV.<bucket>.<key>` expecting the key's
last sequence to be 0. The keys (`bench.<run>.<n>`) name no account, so every sidecar's watch
receives them (as it receives the claims) and ignores them.

BUCKET may name several buckets, comma-separated: the creates go round-robin over them (whether
spreading the sticky mappings over buckets, and so their leaders, would help: buckets.sh). With
MAKE set, missing buckets are made first (R3, history 1), and their leaders printed.

Usage: [MAKE=1] kv_create.py URL BUCKET[,BUCKET…] RATE SECONDS OUT.json   (pip install nats-py)
"""
import asyncio
import json
import os
import random
import sys
import time

import nats
from nats.js.api import KeyValueConfig


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


async def make(js, buckets):
    for bucket in buckets:
        try:
            await js.key_value(bucket)
        except Exception:  # not there yet
            await js.create_key_value(KeyValueConfig(bucket=bucket, history=1, replicas=3))
    for bucket in buckets:
        info = await js.stream_info(f"KV_{bucket}")
        print(f"{bucket}: leader {info.cluster.leader}")


async def main(url, buckets, rate, seconds, out):
    nc = await nats.connect(url)
    js = nc.jetstream()
    if os.environ.get("MAKE"):
        await make(js, buckets)
    run = random.randrange(1 << 30)
    prefixes = [f"$KV.{bucket}.bench.{run}." for bucket in buckets]
    latencies, errors, tasks = [], [], []

    async def create(n, due):
        try:
            await js.publish(prefixes[n % len(prefixes)] + str(n), b"x" * 12,
                             headers={"Nats-Expected-Last-Subject-Sequence": "0"})
            latencies.append(time.perf_counter() - due)
        except Exception as err:  # counted, and reported by kind
            errors.append(type(err).__name__)

    start, n = time.perf_counter(), 0
    while n < rate * seconds:
        due = start + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(create(n, due)))
        n += 1
    await asyncio.gather(*tasks)
    await nc.close()
    latencies.sort()
    ms = lambda q: round(percentile(latencies, q) * 1e3, 2)
    result = {"rate": rate, "creates": len(latencies), "errors": len(errors),
              "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999)}
    json.dump(result, open(out, "w"))
    print(json.dumps(result))


if __name__ == "__main__":
    url, buckets, rate, seconds, out = sys.argv[1:6]
    asyncio.run(main(url, buckets.split(","), int(rate), float(seconds), out))
