"""Sun & Abraham (2021) interaction-weighted (IW) event-study estimator.

Step 1 — a saturated TWFE regression with one dummy per (cohort g, event time e ≠ ref),
``y_it = a_i + l_t + Σ_g Σ_{e≠ref} β_{g,e} 1[G_i=g, t-g=e] + u_it``, on treated cohorts plus a clean
control cohort (never-treated units, or — with ``control_group="lasttreated"`` — the last-treated
cohort, whose rows from its adoption period on are dropped). Each β_{g,e} is the cohort-specific
CATT(g, e) relative to the reference period.

Step 2 — ν_e = Σ_g w_{g,e} β_{g,e} with w_{g,e} the share of cohort g among the observations at event
time e (Sun & Abraham 2021, eq. 12; the sample shares, as fixest ``sunab()`` uses). With regression
weights the shares are the cohorts' summed weights at e (w_{g,e} ∝ Σ_{i∈g, t-g=e} w_it): the
weighted regression estimates effects on the weighted population, so the cohort mix at e is that
population's mix too (with weights constant within units, the weighted share of each cohort);
row counts would mix a weighted β with an unweighted cohort composition. Without weights the two
coincide. The covariance
of ν is W V W' with W the weight matrix held fixed (fixest's convention); V is the CR1
cluster-robust (or HC1 / iid) covariance of β (see :mod:`attribution.designs.did.fixed_effects`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution import config
from attribution.errors import DesignError

__all__ = ["interaction_design", "iw_aggregate", "last_treated_sample"]


def last_treated_sample(
    df: pd.DataFrame, *, cohorts: np.ndarray, tname: str, gname: str
) -> pd.DataFrame:
    """Rows for control_group="lasttreated": treated cohorts before the last cohort adopts, with
    the last cohort recoded as the control (`gname` 0); never-treated units are left out. `gname`
    holds the effective cohort (0 = never treated within the sample)."""
    if len(cohorts) < 2:
        raise DesignError(
            "control_group='lasttreated' needs at least two treated cohorts (the last one is the "
            "control)",
            columns=[gname],
            fix="use control_group='nevertreated' with never-treated units",
        )
    g_last = float(cohorts[-1])
    g = df[gname].to_numpy(float)
    keep = (g != 0) & (df[tname].to_numpy(float) < g_last)
    out = df.loc[keep].reset_index(drop=True)
    g = out[gname].to_numpy(float)
    return out.assign(**{gname: np.where(g == g_last, 0.0, g)})


def interaction_design(
    g: np.ndarray,
    rel: np.ndarray,
    *,
    ref: int,
    tname: str,
    gname: str,
    weights: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Cohort × event-time cells (group, event_time, n_obs[, w_sum]), their dummies and names.

    With `weights` the cells also carry ``w_sum``, the summed weights of their rows (the IW
    shares). Every treated cohort must be observed at the reference event time `ref`
    (DesignError naming the cohorts that are not).
    """
    treated = g > 0
    w = np.ones(len(g)) if weights is None else np.asarray(weights, dtype=float)
    cells = (
        pd.DataFrame({"group": g[treated], "event_time": rel[treated], "w": w[treated]})
        .groupby(["group", "event_time"])["w"]
        .agg(n_obs="size", w_sum="sum")
        .reset_index()
    )
    if weights is None:
        cells = cells.drop(columns="w_sum")
    has_ref = cells.loc[cells["event_time"] == ref, "group"].to_numpy()
    missing_ref = sorted(set(cells["group"]) - set(has_ref))
    if missing_ref:
        raise DesignError(
            f"cohort(s) {[int(c) for c in missing_ref]} are not observed at the reference event "
            f"time ref={ref}",
            columns=[tname, gname],
            rows=cells[cells["group"].isin(missing_ref)]
            .groupby("group")["event_time"]
            .agg(first_event_time="min", last_event_time="max")
            .reset_index()
            .head(config.get().example_rows),
            fix="choose a ref every cohort has (e.g. -1 with a period before each adoption), or "
            "drop those cohorts",
        )
    cells = cells[cells["event_time"] != ref].reset_index(drop=True)
    if cells.empty:
        raise DesignError("no event time besides the reference is observed", columns=[gname])
    key = pd.MultiIndex.from_arrays([g, rel])
    col = pd.MultiIndex.from_frame(cells[["group", "event_time"]]).get_indexer(key)
    x = np.zeros((len(g), len(cells)))
    rows = np.flatnonzero(col >= 0)
    x[rows, col[rows]] = 1.0
    names = [
        f"g={int(c)}:e={int(e)}" for c, e in zip(cells["group"], cells["event_time"], strict=True)
    ]
    return cells, x, names


def iw_aggregate(
    cohorts: np.ndarray,
    event_times: np.ndarray,
    coef: np.ndarray,
    vcov: np.ndarray,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate cohort × event-time coefficients into ν_e with weights ∝ `counts` within each e.

    Returns (unique event times, ν, cov(ν) = W V W', W).
    """
    cohorts = np.asarray(cohorts)
    event_times = np.asarray(event_times)
    counts = np.asarray(counts, dtype=float)
    es = np.unique(event_times)
    w = np.zeros((len(es), len(coef)))
    for i, e in enumerate(es):
        sel = event_times == e
        w[i, sel] = counts[sel] / counts[sel].sum()
    nu = w @ coef
    return es, nu, w @ vcov @ w.T, w
