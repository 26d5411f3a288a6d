#!/usr/bin/env python3
"""Watches a freshly started `tessera serve` drain a pre-loaded topic (scripts/bench).

Online is done when the daemon's /metrics say every message was handled:
  sum(tessera_events_total{outcome="applied"|"ignored_too_old"}) + sum(tessera_events_dead_lettered_total) >= N
Offline is done when the daemon's /metrics say the event log took every message:
  sum(tessera_event_log_messages_total) >= N   (logged, invalid or already logged)
and then, once, the event log's offset rows must cover every message:
  sum(next_offset) over tessera.consumer_offsets of the offline group == N
(the topic starts empty, so offsets count messages from 0; rejected messages advance the
offset row too, their events just are not logged). Both paths are read from /metrics, not
by polling PostgreSQL, so the watcher's own connections cost the machine nothing.

Prints one JSON object: seconds from the serve start to each path's end (and from its first
progress), the serve process's CPU seconds at each end (with a per-thread breakdown), its
peak RSS (VmHWM), the CPU the other processes (Redis, PostgreSQL, the broker) spent, and the
online path's batches (count, mean size, mean apply time) as /metrics has them at the end.
Bounded by --timeout: on a timeout it reports how far each path got.
"""
import argparse
import json
import subprocess
import sys
import time
import urllib.request

import procstat


def metrics_text(metrics_url):
    """The daemon's /metrics, or None if it does not answer."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=2) as response:
            return response.read().decode()
    except Exception:
        return None


def path_counts(metrics_url):
    """(online, offline) message counts from /metrics, or (None, None)."""
    text = metrics_text(metrics_url)
    if text is None:
        return None, None
    online = offline = 0.0
    for line in text.splitlines():
        if line.startswith("tessera_events_total{"):
            if 'outcome="applied"' in line or 'outcome="ignored_too_old"' in line:
                online += float(line.rsplit(" ", 1)[1])
        elif line.startswith("tessera_events_dead_lettered_total"):
            online += float(line.rsplit(" ", 1)[1])
        elif line.startswith("tessera_event_log_messages_total"):
            offline += float(line.rsplit(" ", 1)[1])
    return int(online), int(offline)


def online_batches(metrics_url):
    """The online path's batches from /metrics: how many, their mean size in messages and
    their mean time writing to Redis and waiting for the replies; None if unreadable."""
    text = metrics_text(metrics_url)
    if text is None:
        return None
    values = {}
    for line in text.splitlines():
        for name in ("tessera_ingest_batch_messages", "tessera_ingest_apply_duration_seconds"):
            for part in ("_sum", "_count"):
                if line.startswith(name + part + " ") or line.startswith(name + part + "{"):
                    values[name + part] = float(line.rsplit(" ", 1)[1])
    count = values.get("tessera_ingest_batch_messages_count")
    if not count:
        return None
    applies = values.get("tessera_ingest_apply_duration_seconds_count") or 0
    return {
        "count": int(count),
        "mean_messages": values.get("tessera_ingest_batch_messages_sum", 0) / count,
        "mean_apply_s": values.get("tessera_ingest_apply_duration_seconds_sum", 0) / applies if applies else None,
    }


def offline_count(psql, group):
    sql = f"select coalesce(sum(next_offset), 0) from tessera.consumer_offsets where consumer_group = '{group}'"
    try:
        out = subprocess.run(psql + ["-Atc", sql], capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip()) if out.returncode == 0 else None
    except Exception:
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--serve-pid", type=int, required=True)
    p.add_argument("--serve-started", type=float, required=True, help="epoch seconds when serve was started")
    p.add_argument("--metrics-url", required=True)
    p.add_argument("--postgres-url", required=True)
    p.add_argument("--group", default="tessera-offline")
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--stall", type=float, default=60)
    p.add_argument("--redis-pid", type=int)
    p.add_argument("--postgres-pid", type=int)
    p.add_argument("--kafka-pid", type=int)
    args = p.parse_args()

    psql = ["psql", "-X", "-q", args.postgres_url]
    others = {"redis": args.redis_pid, "postgres": args.postgres_pid, "broker": args.kafka_pid}
    tree = {"redis": procstat.cpu_seconds, "postgres": procstat.tree_cpu_seconds, "broker": procstat.cpu_seconds}
    base = {name: tree[name](pid) for name, pid in others.items() if pid}

    start = args.serve_started
    paths = {"online": {}, "offline": {}}
    peak_rss = 0
    deadline = start + args.timeout
    counts = {"online": 0, "offline": 0}
    timed_out = False
    stalled = False
    last_change = {"online": start, "offline": start}
    while True:
        now = time.time()
        if procstat.cpu_seconds(args.serve_pid) is None:
            print("serve exited during the ingestion benchmark", file=sys.stderr)
            break
        for name, c in zip(("online", "offline"), path_counts(args.metrics_url)):
            if c is not None and c != counts[name]:
                counts[name] = c
                last_change[name] = time.time()
        now = time.time()
        rss, _ = procstat.memory_kib(args.serve_pid)
        peak_rss = max(peak_rss, rss or 0)
        for name, path in paths.items():
            if counts[name] > 0 and "first_progress_s" not in path:
                path["first_progress_s"] = now - start
            if counts[name] >= args.expect and "done_s" not in path:
                path["done_s"] = now - start
                path["serve_cpu_s"] = procstat.cpu_seconds(args.serve_pid)
                path["threads_cpu_s"] = procstat.thread_cpu(args.serve_pid)
        if all("done_s" in path for path in paths.values()):
            break
        if now >= deadline:
            timed_out = True
            break
        # A path that has not moved for --stall seconds will not finish (e.g. the broker
        # dropped messages it never read): stop rather than wait for the timeout.
        if any("done_s" not in paths[n] and now - last_change[n] > args.stall for n in paths):
            stalled = True
            break
        time.sleep(0.25)

    end = time.time()
    result = {
        "expected": args.expect,
        # The event log's own record, read once at the end: equal to expected when it is exact.
        "offline_offsets_sum": offline_count(psql, args.group),
        "online_batches": online_batches(args.metrics_url),
        "timed_out": timed_out,
        "stalled": stalled,
        "elapsed_s": end - start,
        "serve_cpu_s": procstat.cpu_seconds(args.serve_pid),
        "serve_threads_cpu_s": procstat.thread_cpu(args.serve_pid),
        "serve_vmhwm_kib": procstat.memory_kib(args.serve_pid)[1],
        "serve_peak_rss_sampled_kib": peak_rss,
        "other_cpu_s": {name: (tree[name](pid) or 0) - base[name] for name, pid in others.items() if pid and name in base},
    }
    for name, path in paths.items():
        path["count"] = counts[name]
        if "done_s" in path:
            path["events_per_s"] = args.expect / path["done_s"]
            span = path["done_s"] - path.get("first_progress_s", 0)
            path["events_per_s_after_first"] = args.expect / span if span > 0 else None
        else:
            path["last_progress_s"] = last_change[name] - start
            path["events_per_s"] = counts[name] / max(last_change[name] - start, 0.001)
        result[name] = path
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
