#!/usr/bin/env python3
"""Conclude benchmarks, each beside its baseline in the same run.

  sequential: N conclusions, one nimbus-codes process each, against the sqlite3
              shell inserting the same rows (conclusion and its code), one
              process each: p50 and p95 latency.
  concurrent: W processes at once concluding M distinct sessions: throughput,
              p99, and how many conclusions were lost or doubled (must be none).

usage: conclude.py STORE IDENTITY NIMBUS [--sequential N] [--concurrent M] [--workers W]
The store must come from bench/generate_store.sh (services Service-1..20, code "Sale"),
or be a copy of one. STORE may be a PostgreSQL URI (the concurrent part only; psql
and PGPASSFILE reach it).
"""
import argparse
import concurrent.futures
import os
import sqlite3
import statistics
import subprocess
import time


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def add_sessions(store, prefix, count):
    """Open sessions for agent-1 in Service-1 (written directly: this is set-up, not measured)."""
    db = sqlite3.connect(store)
    db.executemany(
        "INSERT INTO session (external_id, service_id, user, direction, started_at, ended_at, outcome, caller)"
        " VALUES (?, 1, 'agent-1', 'inbound', 1790000000, 1790000300, 'accepted', '')",
        [(f"{prefix}-{i}",) for i in range(count)])
    db.commit()
    ids = [row[0] for row in db.execute("SELECT id FROM session WHERE external_id LIKE ? ORDER BY id",
                                        (f"{prefix}-%",))]
    db.close()
    return ids


def query(store, sql):
    """The first value of a query on the store, on either engine."""
    if store.startswith("postgresql://"):
        out = subprocess.run(["psql", "-X", "-A", "-t", "-d", store, "-c", sql], check=True,
                             capture_output=True, text=True).stdout
        return int(out.split()[0])
    db = sqlite3.connect(store)
    value = db.execute(sql).fetchone()[0]
    db.close()
    return value


def import_sessions(env, nimbus, prefix, count):
    """Open sessions for agent-1 in Service-1, imported with nimbus-codes (set-up, not measured)."""
    rows = "".join(f"{prefix}-{i},Service-1,agent-1,inbound,2026-09-21T08:00:00Z,2026-09-21T08:05:00Z,accepted,\n"
                   for i in range(count))
    subprocess.run([nimbus, "session", "import", "-", "--input-format", "csv", "-q"], env=env, check=True,
                   stdout=subprocess.DEVNULL,
                   input=("id,service,user,direction,started_at,ended_at,outcome,caller\n" + rows).encode())


def timed(argv, env):
    start = time.perf_counter()
    completed = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start, completed.returncode, completed.stderr


def sequential(args, env, tag):
    """1. Sequential, one process each."""
    add_sessions(args.store, f"{tag}-seq", args.sequential)
    base_ids = add_sessions(args.store, f"{tag}-base", args.sequential)
    db = sqlite3.connect(args.store)
    sale = db.execute("SELECT id FROM code WHERE name = 'Sale'").fetchone()[0]
    db.close()
    ours, theirs = [], []
    for i in range(args.sequential):
        seconds, code, err = timed([args.nimbus, "session", "conclude", f"{tag}-seq-{i}", "--primary", "Sale",
                                    "--as", "agent-1", "-q"], env)
        if code != 0:
            raise SystemExit(f"conclude failed: {err.decode()}")
        ours.append(seconds)
        sql = (f"BEGIN IMMEDIATE; INSERT INTO conclusion VALUES ({base_ids[i]}, 1790000400, 'agent-1', NULL, 1, 1, 0);"
               f" INSERT INTO conclusion_code VALUES ({base_ids[i]}, 1, {sale}, 'primary', 'Sale'); COMMIT;")
        # The same care as nimbus-codes: foreign keys checked, a busy timeout.
        seconds, code, err = timed(["sqlite3", "-cmd", ".timeout 5000", "-cmd", "PRAGMA foreign_keys = ON",
                                    args.store, sql], env)
        if code != 0:
            raise SystemExit(f"sqlite3 failed: {err.decode()}")
        theirs.append(seconds)
    print(f"conclude, {args.sequential} sequential processes:")
    for label, p in (("p50", 50), ("p95", 95)):
        a, b = percentile(ours, p) * 1000, percentile(theirs, p) * 1000
        print(f"  {label}: nimbus-codes {a:.2f} ms, sqlite3 {b:.2f} ms, ratio {a / b:.2f}")



def concurrent_run(args, env, tag):
    """2. Concurrent: W processes, M distinct sessions."""
    import_sessions(env, args.nimbus, f"{tag}-par", args.concurrent)
    ids = [f"{tag}-par-{i}" for i in range(args.concurrent)]
    failures = []

    def conclude(session):
        seconds, code, err = timed([args.nimbus, "session", "conclude", session, "--primary", "Sale",
                                    "--as", "agent-1", "-q", "--busy-timeout", "60000"], env)
        if code != 0:
            failures.append((session, code, err.decode().strip()))
        return seconds

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        latencies = list(pool.map(conclude, ids))
    elapsed = time.perf_counter() - start
    stored = query(args.store, "SELECT count(*) FROM conclusion c JOIN session s ON s.id = c.session_id"
                               f" WHERE s.external_id LIKE '{tag}-par-%'")
    codes = query(args.store, "SELECT count(*) FROM conclusion_code cc JOIN session s ON s.id = cc.session_id"
                              f" WHERE s.external_id LIKE '{tag}-par-%'")
    print(f"conclude, {args.workers} concurrent processes, {args.concurrent} sessions:")
    print(f"  {args.concurrent / elapsed:.0f} conclusions/s, p50 {statistics.median(latencies) * 1000:.1f} ms,"
          f" p99 {percentile(latencies, 99) * 1000:.1f} ms")
    print(f"  failed {len(failures)}, stored {stored}, lost {args.concurrent - stored},"
          f" doubled {codes - stored}")
    if failures:
        print("  first failure:", failures[0])
    if stored != args.concurrent or codes != stored or failures:
        raise SystemExit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("identity")
    parser.add_argument("nimbus")
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    env = dict(os.environ, NIMBUS_CODES_STORE=args.store, NIMBUS_CODES_IDENTITY=args.identity)
    tag = f"b{os.getpid()}"

    if args.sequential > 0:
        sequential(args, env, tag)
    if args.concurrent > 0:
        concurrent_run(args, env, tag)


if __name__ == "__main__":
    main()
