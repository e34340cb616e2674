#!/usr/bin/env python3
"""Two builds of nimbus-codes concluding side by side: one conclusion each in
turn (A B, B A, ...), so that both see the same machine, disk and cache state.
Each concludes in a store of its own (a copy of one generated store, made
current by its own binary's `init`).

usage: conclude_ab.py IDENTITY BINARY_A STORE_A BINARY_B STORE_B [N]
Prints p50 and p95 for each, and B's p50 over A's.
"""
import os
import sqlite3
import subprocess
import sys
import time


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    identity, binary_a, store_a, binary_b, store_b = sys.argv[1:6]
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 1000
    builds = {"A": (binary_a, store_a), "B": (binary_b, store_b)}
    tag = f"ab{os.getpid()}"
    for _, store in builds.values():  # open sessions of agent-1 in Service-1: set-up, not measured
        db = sqlite3.connect(store)
        db.executemany("INSERT INTO session (external_id, service_id, user, direction, started_at, ended_at,"
                       " outcome, caller) VALUES (?, 1, 'agent-1', 'inbound', 1790000000, 1790000300,"
                       " 'accepted', '')", [(f"{tag}-{i}",) for i in range(count)])
        db.commit()
        db.close()
    walls = {name: [] for name in builds}
    for i in range(count):
        for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
            binary, store = builds[name]
            env = dict(os.environ, NIMBUS_CODES_STORE=store, NIMBUS_CODES_IDENTITY=identity)
            start = time.perf_counter()
            subprocess.run([binary, "--as", "agent-1", "session", "conclude", f"{tag}-{i}", "--primary", "Sale"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            walls[name].append(time.perf_counter() - start)
    for name, (binary, _) in builds.items():
        print(f"{name} {binary}: p50 {percentile(walls[name], 50) * 1000:.2f} ms, "
              f"p95 {percentile(walls[name], 95) * 1000:.2f} ms")
    print(f"B/A p50: {percentile(walls['B'], 50) / percentile(walls['A'], 50):.3f}")


if __name__ == "__main__":
    main()
