"""Sequential-monitoring entry points for the bad-input catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.sequential import monitor
from tests.bad_input.registry import Entry, cached


def daily_frame() -> pd.DataFrame:
    """400 users in two arms, arriving over 6 days, one row per user and active day."""

    def make() -> pd.DataFrame:
        rng = np.random.default_rng(5)
        rows = []
        for u in range(400):
            arm = "treatment" if u % 2 else "control"
            for day in range(int(rng.integers(1, 4)), 7):
                rows.append((f"u{u}", arm, day, rng.exponential(1.0 + 0.2 * (arm == "treatment"))))
        return pd.DataFrame(rows, columns=["user_id", "arm", "day", "engagement"])

    return cached("sequential_daily", make)


ENTRIES: dict[str, Entry] = {
    "sequential.monitor": Entry(
        func=monitor,
        data=lambda: (daily_frame().copy(),),
        kwargs={"arm": "arm", "unit": "user_id", "metric": "engagement", "time": "day"},
        columns=("arm", "unit", "metric", "time"),
        outcome="metric",
    ),
}
