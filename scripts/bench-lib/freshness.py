#!/usr/bin/env python3
"""Freshness prober for scripts/bench: produce time -> the moment the lookup API shows it.

While other load runs, every --interval seconds it publishes one marker event (a `view`
of a product id no other event uses, timestamped now, keyed by a rotating user id so
markers spread over the partitions) with confluent-kafka's producer (librdkafka, linger.ms
0), and records when it handed the marker over. (`kcat -P` is no good here: it holds what it
reads from a pipe and sent nothing of a slow trickle until its input ended.) A
poll loop asks POST /get-online-features for product_stats:views_1h of every marker not
yet seen (one request for all of them, every --poll seconds); a marker counts as fresh
when the response shows its view. Latency = arrival of that response - the produce
call, so it includes the producer, the broker, the daemon's batch and apply, and up to one
poll interval plus one request of measurement slack. The broker's acknowledgement time is
reported too (ack_p50_ms, ack_p99_ms).

Needs the confluent-kafka package (scripts/bench installs it into a venv).

Markers unseen after --give-up seconds are reported as lost. Prints one JSON object.
"""
import argparse
import http.client
import json
import sys
import time


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    # Nearest rank: the smallest value with at least q % of the samples at or below it.
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", default="clickstream")
    p.add_argument("--api", default="127.0.0.1:8080", help="host:port of the lookup API")
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--interval", type=float, default=0.1, help="seconds between markers")
    p.add_argument("--poll", type=float, default=0.005, help="seconds between lookups")
    p.add_argument("--give-up", type=float, default=30, help="a marker unseen this long is lost")
    p.add_argument("--tag", default=str(int(time.time())))
    args = p.parse_args()

    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 0, "socket.nagle.disable": True})
    acks = []

    def acked(sent_at):
        def report(error, _message):
            if error is None:
                acks.append(time.perf_counter() - sent_at)
        return report
    host, port = args.api.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)

    outstanding = {}  # product id -> send time (perf_counter)
    seen = []  # (latency, seconds into the run when sent), to place the slowest in time
    lost = 0
    errors = 0
    sent = 0
    start = time.perf_counter()
    next_marker = start
    while True:
        now = time.perf_counter()
        if now - start < args.duration and now >= next_marker:
            product = f"p-fresh-{args.tag}-{sent}"
            user = f"u-fresh-{sent % 32}"
            event = {"event_id": f"fresh-{args.tag}-{sent}", "event_type": "view",
                     "timestamp": int(time.time() * 1000), "user_id": user, "product_id": product}
            sent_at = time.perf_counter()
            producer.produce(args.topic, key=user, value=json.dumps(event, separators=(",", ":")),
                             on_delivery=acked(sent_at))
            outstanding[product] = sent_at
            sent += 1
            next_marker += args.interval
        producer.poll(0)
        if outstanding:
            products = list(outstanding)
            body = json.dumps({"features": ["product_stats:views_1h"], "entities": {"product_id": products}})
            try:
                conn.request("POST", "/get-online-features", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                seen_at = time.perf_counter()
                if response.status == 200:
                    values = json.loads(payload)["results"][1]["values"]
                    for product, value in zip(products, values):
                        if value is not None and value >= 1:
                            sent_at = outstanding.pop(product)
                            seen.append((seen_at - sent_at, sent_at - start))
                else:
                    errors += 1
            except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
            for product, sent_at in list(outstanding.items()):
                if time.perf_counter() - sent_at > args.give_up:
                    del outstanding[product]
                    lost += 1
                    # Which ones, for a follow-up (the marker number gives its user: u-fresh-<n % 32>).
                    print(f"not visible within {args.give_up:.0f} s: {product}, sent {sent_at - start:.1f} s into the run",
                          file=sys.stderr)
        elif time.perf_counter() - start >= args.duration:
            break
        time.sleep(args.poll)

    producer.flush(10)
    latencies = sorted(latency for latency, _ in seen)
    acks.sort()
    ms = lambda v: None if v is None else round(v * 1000, 1)
    json.dump({
        "markers": sent, "seen": len(latencies), "lost": lost, "lookup_errors": errors,
        "p50_ms": ms(percentile(latencies, 50)), "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(latencies[-1] if latencies else None),
        "poll_ms": args.poll * 1000, "interval_ms": args.interval * 1000, "give_up_s": args.give_up,
        "p50_seen_ms": ms(percentile(latencies, 50)),
        "ack_p50_ms": ms(percentile(acks, 50)), "ack_p99_ms": ms(percentile(acks, 99)),
        # Whether the slow ones came together (one stall) or spread out (a queue).
        "slowest": [{"sent_s": round(at, 1), "ms": ms(latency)} for latency, at in sorted(seen, reverse=True)[:10]],
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
