#!/usr/bin/env python3
"""Turns scripts/bench's result files into one table (stdout) and docs/benchmarks.md.

  report.py --results DIR --command "scripts/bench ..." [--out FILE] [--label TEXT]
"""
import argparse
import datetime
import json
import os
import re
import subprocess


def load(results, name):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def read_text(results, name):
    path = os.path.join(results, name)
    return open(path).read() if os.path.exists(path) else ""


ANALYSIS_MARKER = "<!-- analysis: written by hand, kept by scripts/bench -->"


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.rstrip()
    kernel = subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True)
    swift_line = (swift.stdout or swift.stderr).splitlines()[0] if (swift.stdout or swift.stderr) else "unknown"
    return {"cpu": cpu, "nproc": nproc, "free": free, "kernel": kernel, "swift": swift_line}


def fmt_int(v):
    return "—" if v is None else f"{v:,.0f}"


def fmt_ms(us):
    return "—" if us is None else f"{us / 1000:.2f} ms"


def verdict(ok):
    if ok is None:
        return "—"
    return "met" if ok else "**missed**"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--out")
    p.add_argument("--label", default="")
    p.add_argument("--started")
    p.add_argument("--revision", default="")
    args = p.parse_args()
    R = args.results

    rows = []  # (benchmark, figure, measured, target, verdict)
    notes = []

    preload = read_text(R, "preload.txt")
    m = re.search(r"published (\d+) events \((\d+) malformed\) to \S+ in ([\d.]+) s", preload)
    if m:
        n, bad, secs = int(m.group(1)), int(m.group(2)), float(m.group(3))
        rows.append(("ingestion", "pre-load (`tessera produce --rate 0`)", f"{n:,} events ({bad:,} malformed) in {secs:.1f} s = {n / secs:,.0f} events/s", "", ""))

    ingest = load(R, "ingest.json")
    if ingest:
        n = ingest["expected"]
        for path, target in (("online", 100_000), ("offline", 50_000)):
            info = ingest[path]
            if "done_s" in info:
                measured = f"{info['events_per_s']:,.0f} events/s ({n:,} in {info['done_s']:.1f} s from start"
                if info.get("events_per_s_after_first"):
                    measured += f"; {info['events_per_s_after_first']:,.0f}/s after the first commit at {info['first_progress_s']:.1f} s"
                measured += ")"
                ok = info["events_per_s"] >= target
                stored = ingest.get("offline_offsets_sum")
                if path == "offline" and stored is not None and stored != n:
                    measured += f"; but the event log's offset rows sum to {stored:,}, not {n:,}"
                    ok = False
            else:
                why = "stalled" if ingest.get("stalled") else "timed out"
                measured = (f"{why}: {info['count']:,} of {n:,} handled, the last at {info.get('last_progress_s', 0):.0f} s "
                            f"({info['events_per_s']:,.0f} events/s)")
                ok = False
            rows.append(("ingestion", f"{path} path", measured, f"≥ {target:,} events/s", verdict(ok)))
        cpu = ingest.get("serve_cpu_s")
        done = [ingest[p].get("done_s") for p in ("online", "offline")]
        if cpu is not None:
            per_m = cpu / (n / 1e6)
            rows.append(("ingestion", "CPU of `tessera serve` per million events (both paths)", f"{per_m:.1f} CPU-s ({cpu:.1f} s for {n:,})", "", ""))
            other = ingest.get("other_cpu_s", {})
            if other:
                parts = ", ".join(f"{k} {v / (n / 1e6):.1f}" for k, v in sorted(other.items()))
                rows.append(("ingestion", "CPU of the other processes per million events", parts + " CPU-s", "", ""))
        hwm = ingest.get("serve_vmhwm_kib")
        if hwm:
            rows.append(("ingestion", "peak RSS of `tessera serve` (VmHWM) at the end of ingestion", f"{hwm / 1024:.0f} MB", "≤ 250 MB", verdict(hwm / 1024 <= 250)))
        batches = ingest.get("online_batches")
        if batches:
            apply_s = batches.get("mean_apply_s")
            notes.append(f"The online path's batches during ingestion (`tessera_ingest_batch_messages`, "
                         f"`tessera_ingest_apply_duration_seconds`): {batches['count']:,}, {batches['mean_messages']:,.0f} "
                         f"messages each on average" + (f", {apply_s * 1000:,.0f} ms each writing to Redis and waiting for it." if apply_s else "."))
        threads = ingest.get("serve_threads_cpu_s") or {}
        if threads:
            top = sorted(threads.items(), key=lambda kv: -kv[1])[:8]
            notes.append("CPU seconds of `tessera serve` by thread during ingestion (thread names as the kernel has them; "
                         "digits folded into #): " + ", ".join(f"`{k}` {v:.1f}" for k, v in top) + ".")

    parts = read_text(R, "ingest-partitions.txt").strip()
    if parts:
        rows.append(("ingestion", "topic partitions while pre-loading (the dev broker keeps 5 MiB a partition)", parts, "", ""))
    warm = load(R, "warmup.json")
    if warm:
        for path in ("online", "offline"):
            info = warm[path]
            if "done_s" in info:
                measured = (f"{info['events_per_s']:,.0f} events/s ({warm['expected']:,} in {info['done_s']:.1f} s from start; "
                            f"{info.get('events_per_s_after_first') or 0:,.0f}/s after the first commit)")
            else:
                measured = f"did not finish: {info['count']:,} of {warm['expected']:,}"
            live = read_text(R, "live-partitions.txt").strip() or "4"
            rows.append(("ingestion", f"{path} path, {live} partitions (the warm-up load of the later phases)", measured, "", ""))

    floors = {c: load(R, f"floor-{c}.json") for c in (8, 64)}
    key_count = read_text(R, "lookup-keys.txt").strip() or "?"
    for c in (8, 64):
        f = floors[c]
        if f:
            rows.append(("floor", f"raw Redis MGET of the same {key_count} vector keys, {c} connections (redis-benchmark)",
                         f"{f['rps']:,.0f} req/s, p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms", "", ""))

    for mode in ("idle", "ingest"):
        phase = load(R, f"phase-lookup-{mode}.json") if mode == "ingest" else None
        for c in (8, 64):
            w = load(R, f"lookup-{mode}-{c}.json")
            if not w:
                continue
            label = f"{'idle' if mode == 'idle' else 'while ingesting'}, {c} connections"
            measured = (f"{w['rps']:,.0f} req/s, p50 {fmt_ms(w['p50_us'])}, p99 {fmt_ms(w['p99_us'])}, "
                        f"p99.9 {fmt_ms(w['p999_us'])}")
            f = floors.get(c)
            if f:
                measured += f" — {w['rps'] / f['rps']:.3g}× the floor's req/s, p50 {w['p50_us'] / 1000 / f['p50_ms']:.3g}× the floor's"
            if w.get("non2xx") or w.get("socket_errors"):
                measured += f" ({w['non2xx']} non-2xx, {w['socket_errors']} socket errors)"
            target, ok = "", None
            if c == 8 and mode == "idle":
                target = "≥ 5,000 req/s, p99 ≤ 2 ms"
                ok = w["rps"] >= 5000 and w["p99_us"] <= 2000
            elif c == 8 and mode == "ingest":
                target = "≥ 5,000 req/s, p99 ≤ 5 ms"
                ok = w["rps"] >= 5000 and w["p99_us"] <= 5000
            rows.append(("lookup", label, measured, target, verdict(ok)))
        if phase:
            rows.append(("lookup", "ingestion achieved meanwhile", phase_text(phase), "20,000 events/s offered", ""))

    for suffix in ("-extra", ""):
        fresh_rows(rows, R, suffix)

    resets = read_text(R, "offset-resets-live.txt").strip()
    if resets:
        rows.append(("lookup, freshness", "offset resets in the daemon's log (the dev broker dropped messages it had not read yet)",
                     resets, "0", verdict(resets == "0")))

    mem = load(R, "final-memory.json")
    if mem and mem.get("hwm_kib"):
        rows.append(("lookup, freshness", "peak RSS of the second `tessera serve` (warm-up, lookup and freshness phases; VmHWM)",
                     f"{mem['hwm_kib'] / 1024:.0f} MB", "≤ 250 MB", verdict(mem["hwm_kib"] / 1024 <= 250)))

    rest(args, R, rows, notes)


def fresh_rows(rows, R, suffix):
    fresh = load(R, f"freshness{suffix}.json")
    phase = load(R, f"phase-freshness{suffix}.json")
    if fresh:
        # A marker never seen within the give-up time counts as slower than every seen one.
        give_up = fresh.get("give_up_s", 30)
        lost_share = fresh["lost"] / max(fresh["markers"], 1)
        never = f"> {give_up:.0f} s"
        p50 = never if lost_share > 0.5 else f"{fresh['p50_ms']} ms"
        p99 = never if lost_share > 0.01 else f"{fresh['p99_ms']} ms"
        top = never if fresh["lost"] else f"{fresh['max_ms']} ms"
        measured = (f"p50 {p50}, p99 {p99}, max {top} ({fresh['seen']} of {fresh['markers']} markers seen, "
                    f"{fresh['lost']} not visible within {give_up:.0f} s; among the seen: p50 {fresh['p50_ms']} ms, "
                    f"p99 {fresh['p99_ms']} ms)")
        ok = fresh["p99_ms"] is not None and fresh["p99_ms"] <= 500 and lost_share <= 0.01
        offered = f"{phase['produced_per_s']:,.0f}/s offered" if phase and phase.get("produced_per_s") else ""
        if suffix:
            rows.append(("freshness", f"produce → visible in the lookup API, {offered}", measured, "", ""))
        else:
            rows.append(("freshness", f"produce → visible in the lookup API, {offered}", measured, "p99 ≤ 500 ms at 20,000/s", verdict(ok)))
        if phase:
            rows.append(("freshness", "ingestion achieved meanwhile", phase_text(phase), "", ""))


def rest(args, R, rows, notes):

    for name, label in (("ingest", "the ingestion benchmark"), ("lookup-idle-8", "the idle lookup run at 8 connections")):
        stats = commandstats(read_text(R, f"redis-commandstats-{name}.txt"))
        if stats:
            total = sum(v["usec"] for v in stats.values())
            top = sorted(stats.items(), key=lambda kv: -kv[1]["usec"])[:8]
            notes.append(f"Redis `INFO commandstats` over {label} (commands run inside scripts are counted too, so "
                         f"EVALSHA's time includes theirs): " + ", ".join(
                             f"`{k}` {v['calls']:,} calls, {v['usec'] / 1e6:.1f} s, {v['usec_per_call']:.1f} µs/call"
                             for k, v in top) + ".")

    fresh = load(R, "freshness.json")
    if fresh and fresh.get("slowest"):
        notes.append("The slowest markers of the freshness run at `--rate` (the target's run), with when they were sent (seconds "
                     f"into the run): " + ", ".join(f"{m['ms']} ms at {m['sent_s']} s" for m in fresh["slowest"]) + ".")
    edges = load(R, "freshness-tile-edges.json")
    if fresh and edges:
        at = ", ".join(f"{s} s" for s in edges["at_s"]) or "none"
        notes.append(f"Edges of the {edges['every_s']} s tiles during that run (seconds into it): {at}.")

    # ---- the table for the terminal
    widths = [max(len(str(r[i])) for r in rows + [("benchmark", "figure", "measured", "target", "")]) for i in range(5)]
    widths = [min(w, 90) for w in widths]
    header = ("benchmark", "figure", "measured", "target", "")
    lines = []
    for r in [header] + rows:
        lines.append("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip())
        if r is header:
            lines.append("  ".join("-" * w for w in widths))
    print("\n".join(lines))

    if not args.out:
        return
    mach = machine()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = ["# Benchmarks", "",
          "Written by `scripts/bench` (see its header for the method and flags); every figure in the table is from the one run named here.",
          ""]
    if args.label:
        md += [f"**{args.label}**", ""]
    md += [f"- command: `{args.command}`",
           f"- date: {date}" + (f" (run started {args.started})" if args.started else ""),
           f"- code: {args.revision}",
           f"- machine: {mach['nproc']} cores (`nproc`), CPU `{mach['cpu']}`, {mach['kernel']}, {mach['swift']}",
           "- Redis, PostgreSQL 15, the dev Kafka broker (librdkafka's mock cluster), `tessera serve`, the load generators and "
           "the other engineers' builds and tests all share these 2 cores: figures move from run to run.",
           "", "`free -g`:", "", "```", mach["free"], "```", "",
           "| benchmark | figure | measured | target | |", "|---|---|---|---|---|"]
    for r in rows:
        md.append("| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |")
    md.append("")
    if notes:
        md += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    extra = read_text(R, "notes.md")
    if extra:
        md += [extra.rstrip(), ""]
    micro = read_text(R, "micro.txt")
    if micro:
        md += ["## Micro-benchmarks (`cd Benchmarks && swift package benchmark`)", "", "```", micro.rstrip(), "```", ""]
    # Hand-written analysis below the marker survives a rerun (it names the run it analysed).
    kept = ""
    if os.path.exists(args.out):
        previous = open(args.out).read()
        if ANALYSIS_MARKER in previous:
            kept = previous[previous.index(ANALYSIS_MARKER):]
    with open(args.out, "w") as f:
        f.write("\n".join(md))
        if kept:
            f.write("\n" + kept)


def commandstats(text):
    stats = {}
    for line in text.splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name, fields = line[len("cmdstat_"):].split(":", 1)
        values = dict(item.split("=", 1) for item in fields.split(","))
        stats[name] = {"calls": int(values["calls"]), "usec": int(values["usec"]),
                       "usec_per_call": float(values["usec_per_call"])}
    return stats


def phase_text(phase):
    secs = phase["seconds"]
    handled = phase["online_after"] - phase["online_before"]
    text = f"{handled / secs:,.0f} events/s applied online over {secs:.0f} s"
    if phase.get("produced_per_s"):
        text += f" (producer reached {phase['produced_per_s']:,.0f}/s)"
    if phase.get("lag_after") is not None:
        text += f", lag at the end {phase['lag_after']:,} messages"
    return text


if __name__ == "__main__":
    main()
