"""Effects by segment: the orthogonal final stage with each residual treatment interacted with the
indicators of the categorical effect modifiers' levels, a Wald test that the effect is the same in
every segment, and Holm-adjusted p-values across segments.

Within a segment the partially linear model has its own slope, so these estimates are comparable to
per-segment truths (the simulator's `segment_slopes`), unlike the pooled coefficient, which is a
variance-weighted average of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from attribution.designs.dml.moments import final_stage
from attribution.inference import holm, wald_table
from attribution.results import Check

__all__ = ["by_segment"]

MIN_SEGMENT_ROWS = 20
"""Segments smaller than this get no row of their own (too few rows for a slope)."""


def by_segment(
    y_res: np.ndarray,
    t_res: np.ndarray,
    labels: np.ndarray,
    treatments: tuple[str, ...],
    *,
    clusters: np.ndarray | None,
    alpha: float,
) -> tuple[pd.DataFrame, list[Check], list[str]]:
    """Per-(treatment, segment) rows, one heterogeneity Check per treatment, and notes."""
    levels, counts = np.unique(labels, return_counts=True)
    notes = []
    small = levels[counts < MIN_SEGMENT_ROWS]
    if len(small):
        notes.append(
            f"segments {[str(s) for s in small]} have fewer than {MIN_SEGMENT_ROWS} rows: "
            "no effect of their own is reported"
        )
    keep = levels[counts >= MIN_SEGMENT_ROWS]
    mask = np.isin(labels, keep)
    ind = (labels[mask][:, None] == keep[None, :]).astype(float)
    p = t_res.shape[1]
    design = np.hstack([t_res[mask, j : j + 1] * ind for j in range(p)])
    stage = final_stage(
        y_res[mask],
        t_res[mask],
        clusters=None if clusters is None else clusters[mask],
        design=design,
    )
    se = np.sqrt(np.clip(np.diag(stage.vcov), 0.0, None))
    terms = [t for t in treatments for _ in keep]
    tab = wald_table(terms, stage.theta, se, alpha=alpha, df=stage.df)
    tab["segment"] = [str(s) for _ in treatments for s in keep]
    tab["p_value_holm"] = np.nan
    checks = []
    s = len(keep)
    for j, c in enumerate(treatments):
        rows = slice(j * s, (j + 1) * s)
        tab.loc[tab.index[rows], "p_value_holm"] = holm(tab["p_value"].to_numpy()[rows])
        if s < 2:
            continue
        diff = np.eye(s)[1:] - np.eye(s)[:-1]
        th = stage.theta[rows]
        v = stage.vcov[rows, rows]
        d = diff @ th
        stat = float(d @ np.linalg.pinv(diff @ v @ diff.T) @ d)
        pv = float(stats.chi2.sf(stat, s - 1))
        checks.append(
            Check(
                f"heterogeneity ({c})",
                None,
                f"Wald test that the effect of {c} is the same in all {s} segments: "
                f"chi2 = {stat:.3g} on {s - 1} df, p = {pv:.3g}",
                statistic=stat,
                df=s - 1,
                p_value=pv,
            )
        )
    return tab, checks, notes
