"""Collects each benchmark's time and prints every group as ratios to its reference."""

import collections

# group -> {name: (seconds, is_reference)}
RESULTS = collections.defaultdict(dict)


def record(benchmark, group, name, reference=False):
    """Remember the benchmark's best time (min over rounds) under group/name."""
    RESULTS[group][name] = (benchmark.stats.stats.min, reference)


def ratio_table(results):
    lines = []
    for group, entries in results.items():
        refs = [name for name, (_, is_ref) in entries.items() if is_ref]
        if not refs:
            continue
        ref_time = entries[refs[0]][0]
        lines.append(f"== {group}: time and ratio to {refs[0]} (min over rounds, single thread) ==")
        for name, (seconds, _) in sorted(entries.items(), key=lambda kv: kv[1][0]):
            shown = f"{seconds:8.3f} s " if seconds >= 0.1 else f"{1e3 * seconds:8.3f} ms"  # per-sample groups
            lines.append(f"  {name:<44} {shown}  {seconds / ref_time:6.2f}x")
    return lines
