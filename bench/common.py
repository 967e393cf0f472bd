"""What every benchmark shares: timing side by side and one JSON line per measurement."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Mapping

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("OSSATURE_BENCH_POSTGRES_URL") or os.environ.get("OSSATURE_TEST_DATABASE_URL")


def best_of(
    runs: int, prepare: Callable[[], object], measure: Callable[[object], None],
    finish: Callable[[object], None] | None = None,
) -> float:
    """The fastest of `runs` timings of `measure(prepare())`; neither the preparation nor
    `finish(state)` (checking the outcome, releasing the state) is timed."""
    best = float("inf")
    for _ in range(runs):
        state = prepare()
        start = time.perf_counter()
        measure(state)
        best = min(best, time.perf_counter() - start)
        if finish is not None:
            finish(state)
    return best


Side = tuple[Callable[[], object], Callable[[object], None], Callable[[object], None] | None]
"""(prepare, measure, finish) of one side of a comparison, as `best_of` takes them."""


def alternating_best(runs: int, sides: Mapping[str, Side]) -> dict[str, float]:
    """The best time of each side, the sides taking turns run after run, so that a machine
    busy with something else slows them alike."""
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(runs):
        for name, (prepare, measure, finish) in sides.items():
            best[name] = min(best[name], best_of(1, prepare, measure, finish))
    return best


def emit(name: str, engine_s: float, baseline_s: float, target: float | None = None, **extra: object) -> None:
    line = {"name": name, "engine_s": round(engine_s, 4), "baseline_s": round(baseline_s, 4),
            "ratio": round(engine_s / baseline_s, 2)}
    if target is not None:
        line["target"] = target
    line.update(extra)
    print(json.dumps(line), flush=True)


def alternating_timings(runs: int, sides: Mapping[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Every timing of each side (`runs` of them), the sides taking turns, for percentiles."""
    timings: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(runs):
        for name, measure in sides.items():
            start = time.perf_counter()
            measure()
            timings[name].append(time.perf_counter() - start)
    return timings


def percentile(timings: list[float], share: float) -> float:
    """The `share` percentile of `timings` (nearest rank)."""
    ordered = sorted(timings)
    return ordered[max(0, min(len(ordered) - 1, -(-int(share * 100) * len(ordered) // 100) - 1))]


def emit_distribution(name: str, engine: list[float], baseline: list[float], target: float | None = None,
                      **extra: object) -> dict[str, object]:
    """One JSON line comparing two series of timings: p50 (as `engine_s`, `baseline_s`, `ratio`),
    p99 and max of each side, and the ratio of each."""
    line: dict[str, object] = {"name": name}
    for label, share in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        mine, theirs = percentile(engine, share), percentile(baseline, share)
        line[f"engine_{label}_s"], line[f"baseline_{label}_s"] = round(mine, 4), round(theirs, 4)
        line[f"ratio_{label}"] = round(mine / theirs, 2)
    line["engine_s"], line["baseline_s"], line["ratio"] = line["engine_p50_s"], line["baseline_p50_s"], line["ratio_p50"]
    if target is not None:
        line["target"] = target
    line.update(extra)
    print(json.dumps(line), flush=True)
    return line


def emit_memory(name: str, peak_rss_mb: float, target_mb: float, **extra: object) -> None:
    """One JSON line for a memory measurement: the peak resident set against its ceiling."""
    line = {"name": name, "peak_rss_mb": round(peak_rss_mb, 1), "target_mb": target_mb}
    line.update(extra)
    print(json.dumps(line), flush=True)


def shipped_plugins():
    """The plugins Ossature ships with: the test suite's third-party plugin, when `make test`
    installed it in the same virtualenv, would otherwise run its hooks inside the timings."""
    from plugins.host.manager import plugin_manager

    return plugin_manager(blocked=["test_plugin"])
