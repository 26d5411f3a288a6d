"""Process accounting from /proc, for scripts/bench's helpers (Python 3 stdlib only).

CPU times come from /proc/<pid>/stat (utime + stime, clock ticks) and, per thread, from
/proc/<pid>/task/<tid>/stat, grouped by thread name so a breakdown says which part of a
process spent the time (the ingestion thread, librdkafka's threads, the event loops...).
"""
import os
import re

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(path):
    with open(path) as f:
        text = f.read()
    # comm may hold spaces and parentheses: split after the last ')'.
    close = text.rindex(")")
    comm = text[text.index("(") + 1:close]
    return comm, text[close + 2:].split()


def cpu_seconds(pid):
    """utime + stime of a process (all its threads, live and exited), in seconds."""
    try:
        _, fields = _stat_fields(f"/proc/{pid}/stat")
    except (OSError, ValueError):
        return None
    # fields[0] is the state (field 3); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid):
    """Direct children of pid (e.g. PostgreSQL's backends under the postmaster)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            _, fields = _stat_fields(f"/proc/{entry}/stat")
        except (OSError, ValueError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def tree_cpu_seconds(pid):
    """CPU of pid plus its live children (a postmaster and its backends)."""
    total = cpu_seconds(pid)
    if total is None:
        return None
    for child in children(pid):
        value = cpu_seconds(child)
        if value is not None:
            total += value
    return total


def thread_cpu(pid):
    """{thread name: CPU seconds} over the live threads of pid; digits in names are folded
    (rdk:broker1, rdk:broker2 -> rdk:broker#) so pools read as one line."""
    groups = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return groups
    for tid in tids:
        try:
            comm, fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
        except (OSError, ValueError):
            continue
        name = re.sub(r"\d+", "#", comm)
        groups[name] = groups.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return groups


def memory_kib(pid):
    """(VmRSS, VmHWM) in KiB, or (None, None) once the process is gone."""
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
