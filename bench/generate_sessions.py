#!/usr/bin/env python3
"""Writes N call sessions as CSV (the import format) for benchmarks.

usage: generate_sessions.py N [--services S] [--users U] [--start YYYY-MM-DD] [--days D]
Sessions spread over D days from the start date, across services Service-1..S and users
agent-1..U; about 3% are still active (no end). Deterministic for the same arguments.
"""
import argparse
import datetime
import random
import sys

OUTCOMES = ["accepted"] * 80 + ["declined"] * 3 + ["rona"] * 5 + ["abandoned"] * 8 + ["transferred"] * 4


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--start", default="2025-01-01")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--prefix", default="s")
    args = parser.parse_args()
    rng = random.Random(42)
    start = datetime.datetime.fromisoformat(args.start).replace(tzinfo=datetime.timezone.utc)
    span = args.days * 86400
    out = sys.stdout
    out.write("id,service,user,direction,started_at,ended_at,outcome,caller\n")
    for n in range(args.count):
        begin = start + datetime.timedelta(seconds=rng.randrange(span))
        service = f"Service-{rng.randrange(args.services) + 1}"
        user = f"agent-{rng.randrange(args.users) + 1}"
        if rng.random() < 0.03:
            ended, outcome = "", ""
        else:
            ended = (begin + datetime.timedelta(seconds=rng.randrange(30, 1800))).strftime("%Y-%m-%dT%H:%M:%SZ")
            outcome = rng.choice(OUTCOMES)
        caller = f"+41 44 {rng.randrange(1000000):06d}"
        out.write(f"{args.prefix}-{n},{service},{user},inbound,{begin.strftime('%Y-%m-%dT%H:%M:%SZ')},"
                  f"{ended},{outcome},{caller}\n")


if __name__ == "__main__":
    main()
