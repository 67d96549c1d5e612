"""Progress lines for long steps (simulation, estimation, report rendering), written to stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["RowCounter", "Steps"]


class Steps:
    """Numbered steps with timings: ``[2/5] validating contract ... done (0.4 s)``.

    Disabled instances print nothing, so callers need no ``if progress`` branches.
    """

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._done = 0

    def note(self, text: str) -> None:
        if self.enabled:
            print(f"      {text}", file=self.stream, flush=True)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self._done += 1
        t0 = time.perf_counter()
        if self.enabled:
            print(f"[{self._done}/{self.total}] {label} ...", file=self.stream, flush=True)
        try:
            yield
        except BaseException:
            if self.enabled:
                print(
                    f"      failed after {time.perf_counter() - t0:.1f} s",
                    file=self.stream,
                    flush=True,
                )
            raise
        if self.enabled:
            print(f"      done ({time.perf_counter() - t0:.1f} s)", file=self.stream, flush=True)


class RowCounter:
    """One self-overwriting line for a long write: rows done, share, elapsed seconds.

    Called with the number of rows done so far; prints nothing when disabled.
    """

    def __init__(
        self, label: str, total: int, enabled: bool, *, stream: TextIO | None = None
    ) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        end = "\n" if done >= self.total else "\r"
        print(
            f"{self.label}: {done:,} / {self.total:,} rows ({100 * done / self.total:5.1f}%) "
            f"{elapsed:6.1f} s",
            end=end,
            file=self.stream,
            flush=True,
        )
