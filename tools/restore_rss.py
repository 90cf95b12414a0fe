#!/usr/bin/env python3
"""Resident memory of a numpool with many empty pools, while running and after a restart.

Starts `numpool serve` on a fresh data directory, creates POOLS empty pools over REST, reads
VmRSS from /proc/<pid>/status, stops it with SIGTERM (final snapshot), starts it again on the
same directory and reads VmRSS once more. A restored pool should cost what a live one does
(issue 13 item 5), so the two figures should be close.

    tools/restore_rss.py [--binary target/release/numpool] [--pools 5000] [--connections 8]

Standard library only. Prints one line per phase and a last line with both figures in MiB.
"""

import argparse
import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

KEY = "rss00001"
SECRET = "rss-secret"
# numpool's default `max_pools_per_account`; more pools need the flag (builds from before the
# limit existed know neither).
DEFAULT_MAX_POOLS = 10_000


def start(binary, workdir, data_dir, pools):
    """Starts numpool on ephemeral ports, with room for `pools` pools; returns (process, http
    address)."""
    config = os.path.join(workdir, "numpool.toml")
    with open(config, "w") as f:
        f.write(f'[[accounts]]\napi_key = "{KEY}"\napi_secret = "{SECRET}"\n')
    args = [binary, "serve", "--config", config, "--data-dir", data_dir,
            "--resp", "127.0.0.1:0", "--http", "127.0.0.1:0"]
    if pools > DEFAULT_MAX_POOLS:
        args += ["--max-pools-per-account", str(pools)]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=workdir)
    for line in proc.stdout:
        match = re.search(r"numpool ready resp=\S+ http=(\S+)", line)
        if match:
            return proc, match.group(1)
    sys.exit(f"numpool exited before it was ready ({proc.wait()})")


def rss_kib(pid):
    """VmRSS of `pid`, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def settled_rss(pid, seconds=3.0):
    """VmRSS once it has stopped moving for a moment (allocator and actors settled)."""
    time.sleep(seconds)
    return rss_kib(pid)


def create_pools(http_addr, pools, connections):
    """Creates pools p0 … p<pools-1> over `connections` keep-alive connections."""
    host, port = http_addr.rsplit(":", 1)
    auth = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    failures = []

    def worker(ids):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for i in ids:
            body = json.dumps({"pool_id": f"p{i}", "fallback": "Pool",
                               "localized_sender_preferred": True,
                               "predictable_sender_preferred": True})
            conn.request("POST", f"/v2/numberpools/accounts/{KEY}/pools", body,
                         {"Authorization": auth, "Content-Type": "application/json"})
            answer = conn.getresponse()
            answer.read()
            if answer.status != 201:
                failures.append((i, answer.status))
        conn.close()

    threads = [threading.Thread(target=worker, args=(range(c, pools, connections),))
               for c in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit(f"{len(failures)} pool creations failed, first {failures[0]}")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=60) != 0:
        sys.exit(f"numpool exited with {proc.returncode} on SIGTERM")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/numpool")
    parser.add_argument("--pools", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    with tempfile.TemporaryDirectory() as workdir:
        data_dir = os.path.join(workdir, "data")
        proc, http_addr = start(binary, workdir, data_dir, args.pools)
        empty = settled_rss(proc.pid, 1.0)
        print(f"started: VmRSS {empty} KiB")
        began = time.monotonic()
        create_pools(http_addr, args.pools, args.connections)
        print(f"created {args.pools} pools in {time.monotonic() - began:.1f} s")
        live = settled_rss(proc.pid)
        print(f"live: VmRSS {live} KiB")
        stop(proc)
        proc, _ = start(binary, workdir, data_dir, args.pools)
        restored = settled_rss(proc.pid)
        print(f"restored: VmRSS {restored} KiB")
        stop(proc)
    print(f"pools={args.pools} empty_mib={empty / 1024:.1f} live_mib={live / 1024:.1f} "
          f"restored_mib={restored / 1024:.1f}")


if __name__ == "__main__":
    main()
