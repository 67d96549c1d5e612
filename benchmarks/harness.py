"""Tiny benchmark harness: run a callable in a fresh forked process, report wall time, CPU time
and peak RSS.

Running each case in its own process makes the peak-memory figure belong to that case alone. CPU
time (user + system, all threads of the child) is reported beside wall time because on a shared
machine the wall time of a multi-threaded engine depends on what else runs.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Measurement", "measure", "report_line"]


@dataclass(frozen=True)
class Measurement:
    label: str
    seconds: float
    peak_mb: float
    value: Any
    cpu_seconds: float = float("nan")


def _child(conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    peak_mb = r1.ru_maxrss / 1024.0
    conn.send((seconds, peak_mb, value, cpu))
    conn.close()


def measure(
    label: str, fn: Callable[..., Any], *args: Any, repeat: int = 1, **kwargs: Any
) -> Measurement:
    """Best-of-`repeat` wall time of `fn(*args, **kwargs)` in a forked child, and its peak RSS.

    `fn` must return something picklable (e.g. the estimates, so numbers can be compared).
    """
    ctx = mp.get_context("fork")
    best: tuple[float, float, Any] | None = None
    for _ in range(repeat):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, fn, args, kwargs))
        proc.start()
        child.close()
        result = parent.recv()
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"benchmark {label!r} failed with exit code {proc.exitcode}")
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    return Measurement(label, best[0], best[1], best[2], best[3])


def report_line(m: Measurement, *, peer: Measurement | None = None, goal: str = "") -> str:
    """One aligned line: label, seconds, peak MB, and the ratio to the peer measured in the same run."""
    line = (
        f"  {m.label:<52} {m.seconds:9.2f} s  {m.cpu_seconds:8.2f} s cpu  {m.peak_mb:8.0f} MB peak"
    )
    if peer is not None:
        line += f"   ratio vs {peer.label.split()[0]}: {m.seconds / peer.seconds:6.2f}x"
        line += f" (cpu {m.cpu_seconds / peer.cpu_seconds:.2f}x)"
    if goal:
        line += f"   ({goal})"
    return line
