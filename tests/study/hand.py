"""Hand-made results with known numbers, for triangulation and decision tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from attribution.results import Check, DataFingerprint, Estimate, Provenance, Result
from attribution.study.runs import DesignRun


@dataclass(frozen=True, kw_only=True)
class HandResult(Result):
    """A result whose headline is its first row, with a chosen baseline and sample size."""

    base: float | None = None
    n: int | None = None

    @property
    def headline(self) -> Estimate:
        return Estimate.from_row(self.table.iloc[0], label="hand-made headline")

    @property
    def baseline(self) -> float | None:
        return self.base

    @property
    def sample_size(self) -> int | None:
        return self.n


def hand_result(
    rows: Sequence[tuple[str, float, float | None, str | None]],
    *,
    alpha: float = 0.05,
    base: float | None = None,
    n: int | None = 1000,
    checks: Sequence[Check] = (),
    data: str = "t",
) -> HandResult:
    """`rows`: (term, estimate, std_error, component); intervals are estimate ± z·SE."""
    z = stats.norm.ppf(1 - alpha / 2)
    recs = []
    for term, est, se, comp in rows:
        recs.append(
            {
                "term": term,
                "estimate": est,
                "std_error": se,
                "conf_low": None if se is None else est - z * se,
                "conf_high": None if se is None else est + z * se,
                "p_value": None if se is None else 2 * stats.norm.sf(abs(est / se)),
                "component": comp,
            }
        )
    table = pd.DataFrame(recs)
    for c in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
        table[c] = table[c].astype(float)
    table["component"] = table["component"].astype(object)
    prov = Provenance(
        design="hand",
        data=DataFingerprint(
            n_rows=n or 0, columns={"y": "float64"}, backend="pandas", source=data
        ),
        options={},
        versions={"python": "3"},
        created_at="2026-01-01T00:00:00+00:00",
    )
    return HandResult(
        design="hand",
        table=table,
        alpha=alpha,
        provenance=prov,
        checks=tuple(checks),
        base=base,
        n=n,
    )


def run(
    id: str,
    result: Result,
    *,
    estimates: Sequence[str],
    metric: str = "engagement",
    design: str = "hand",
    key_assumption: str = "hand-made",
) -> DesignRun:
    return DesignRun(
        id=id,
        design=design,
        metric=metric,
        estimates=tuple(estimates),
        result=result,
        key_assumption=key_assumption,
    )
