#!/usr/bin/env python3
"""Small helpers for scripts/bench (Python 3 stdlib only).

  bench_util.py body FILE USER PRODUCT...      the lookup request (1 user x N products, all
                                               user_stats and product_stats features and
                                               those of the product_catalog batch view)
  bench_util.py redis-keys PREFIX USER PRODUCT...   the vector keys that lookup reads
  bench_util.py statuses FILE                  how many cells of a lookup response have each status
  bench_util.py online-count METRICS_URL       events the online path has handled so far
  bench_util.py lag METRICS_URL                consumer lag summed over partitions
  bench_util.py wrk-json FILE                  the BENCH_JSON line of a wrk run, plus wrk's own
                                               "Non-2xx" count, as JSON
  bench_util.py floor-json FILE                redis-benchmark --csv output as JSON
  bench_util.py memory PID                     {"rss_kib", "hwm_kib"} of a process
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procstat  # noqa: E402

USER_FEATURES = ["views_1h", "views_24h", "clicks_24h", "clicks_7d", "purchases_7d", "spend_7d", "last_event_at"]
PRODUCT_FEATURES = ["views_1h", "views_24h", "views_7d", "clicks_1h", "clicks_24h", "clicks_7d", "add_to_carts_24h",
                    "purchases_24h", "purchases_7d", "revenue_7d", "unique_users_24h", "ctr_24h", "ctr_7d",
                    "conversion_7d", "last_event_at"]
CATALOG_FEATURES = ["price", "category", "brand", "in_stock", "popularity"]


def body(path, user, products):
    request = {
        "features": [f"user_stats:{f}" for f in USER_FEATURES] + [f"product_stats:{f}" for f in PRODUCT_FEATURES]
        + [f"product_catalog:{f}" for f in CATALOG_FEATURES],
        "entities": {"user_id": [user] * len(products), "product_id": products},
        "full_feature_names": True,
    }
    with open(path, "w") as f:
        json.dump(request, f, separators=(",", ":"))


def statuses(path):
    """Cells per status over the feature columns (the join-key columns are always PRESENT)."""
    with open(path) as f:
        response = json.load(f)
    names = response["metadata"]["feature_names"]
    counts = {}
    for name, column in zip(names, response["results"]):
        if name in ("user_id", "product_id"):
            continue
        for status in column["statuses"]:
            counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])) + " cells"


def online_count(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("tessera_events_total{") and ('outcome="applied"' in line or 'outcome="ignored_too_old"' in line):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith("tessera_events_dead_lettered_total"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def lag(url):
    """Sum of tessera_consumer_lag_messages over the partitions."""
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("tessera_consumer_lag_messages")))


def wrk_json(path):
    result = None
    non2xx = 0
    with open(path) as f:
        for line in f:
            if line.startswith("BENCH_JSON "):
                result = json.loads(line[len("BENCH_JSON "):])
            elif line.strip().startswith("Non-2xx or 3xx responses:"):
                non2xx = int(line.split(":")[1])
    if result is None:
        raise SystemExit(f"no BENCH_JSON line in {path}")
    result["non2xx"] = max(result.get("non2xx", 0), non2xx)
    return result


def floor_json(path):
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    rows = []
    with open(path) as f:
        for line in f:
            parts = [p.strip().strip('"') for p in line.strip().split('","')]
            if len(parts) == 8 and parts[1] != "rps":
                rows.append(parts)
    if not rows:
        raise SystemExit(f"no redis-benchmark CSV row in {path}")
    row = rows[-1]
    return {"rps": float(row[1]), "mean_ms": float(row[2]), "p50_ms": float(row[4]), "p95_ms": float(row[5]),
            "p99_ms": float(row[6]), "max_ms": float(row[7])}


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "body":
        body(args[0], args[1], args[2:])
    elif command == "redis-keys":
        prefix, user, products = args[0], args[1], args[2:]
        print("\n".join([f"{prefix}:{{user_stats|{user}}}:v"] + [f"{prefix}:{{product_stats|{p}}}:v" for p in products]
                        + [f"{prefix}:{{product_catalog|{p}}}:v" for p in products]))
    elif command == "statuses":
        print(statuses(args[0]))
    elif command == "online-count":
        print(online_count(args[0]))
    elif command == "lag":
        print(lag(args[0]))
    elif command == "wrk-json":
        print(json.dumps(wrk_json(args[0])))
    elif command == "floor-json":
        print(json.dumps(floor_json(args[0])))
    elif command == "memory":
        rss, hwm = procstat.memory_kib(int(args[0]))
        print(json.dumps({"rss_kib": rss, "hwm_kib": hwm}))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
