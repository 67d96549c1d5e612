"""Aggregations of group-time ATTs (R `did`'s aggte): simple, dynamic (event study), group, calendar.

Callaway & Sant'Anna (2021), section 3 and eqs. (3.4)-(3.9). Each aggregated parameter is a
weighted average of ATT(g,t) with weights proportional to the cohort shares P(G = g); as in R
`did`, the influence function adds the term for estimating those shares (R's ``wif``), so standard
errors match R's exactly. Every aggregation is a linear map of the att_gt influence functions plus a
cohort-level term, so on the no-covariate path it is still computed from cohort moments only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.designs.did.group_time import infer
from attribution.designs.did.influence import Influence
from attribution.errors import DesignError
from attribution.inference import critical_value

__all__ = ["Aggregation", "aggregate", "weighted_mean"]


@dataclass(frozen=True)
class Aggregation:
    """Aggregated ATTs: per-row estimates (none for "simple") and the overall effect.

    For type="simple" the one row is the overall effect itself.
    """

    keys: np.ndarray
    """Event times ("dynamic"), cohorts ("group") or periods ("calendar") of the rows."""
    estimate: np.ndarray
    std_error: np.ndarray
    crit: float
    """Critical value of the rows' band: sup-t when cband=True, else the pointwise one."""
    vcov: np.ndarray
    influence: Influence
    overall_estimate: float
    overall_std_error: float
    weights: np.ndarray
    """(rows × cells): each row's weights over the ATT(g,t) cells (for "simple": the overall's)."""
    overall_weights: np.ndarray
    """(cells,): the overall effect's weights over the ATT(g,t) cells (they sum to one)."""


def weighted_mean(weights: np.ndarray, values: np.ndarray) -> float:
    """Σ weights·values over the cells with a nonzero weight (NaN if one of those is NaN); the
    treated cells' mean outcome under an aggregation's weights."""
    weights = np.asarray(weights, float)
    used = weights != 0
    return float(weights[used] @ np.asarray(values, float)[used])


def _weights_rows(
    keep: np.ndarray, pg_cell: np.ndarray, cell_h: np.ndarray, att: np.ndarray, H: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weights over cells (∝ pg among `keep`), the per-cohort estimated-weights term, estimate.

    The estimated-weights influence term for unit i in cohort h (on the normalised weight w_i) is
    Σ_{k kept, g_k = h} att_k / Σpg  -  #{k kept, g_k = h} · θ / Σpg  (the constant parts cancel).
    """
    sp = pg_cell[keep].sum()
    a = np.zeros(len(att))
    a[keep] = pg_cell[keep] / sp
    theta = float(a @ np.nan_to_num(att))
    u = np.zeros(H)
    idx = np.flatnonzero(keep)
    np.add.at(u, cell_h[idx], att[idx] / sp)
    np.add.at(u, cell_h[idx], -theta / sp)
    return a, u, theta


def aggregate(
    groups: np.ndarray,
    times: np.ndarray,
    att: np.ndarray,
    infl: Influence,
    *,
    type: str,
    min_e: float = -math.inf,
    max_e: float = math.inf,
    balance_e: int | None = None,
    na_rm: bool = False,
    clustered: bool,
    alpha: float,
    bstrap: bool,
    biters: int,
    cband: bool,
    seed: int,
) -> Aggregation:
    """Aggregate ATT(g,t) (cells `groups`, `times`, estimates `att`) like R `did`'s aggte.

    - "simple": average of post-treatment ATT(g,t) weighted by cohort size;
    - "dynamic": event study by e = t - g (min_e, max_e, balance_e); overall = mean over e >= 0;
    - "group": average post-treatment effect per cohort; overall weights cohorts by size;
    - "calendar": average effect per period among treated cohorts; overall = mean over periods.
    """
    groups = np.asarray(groups, float)
    times = np.asarray(times, float)
    att = np.asarray(att, float)
    missing = ~np.isfinite(att)
    if missing.any() and not na_rm:
        raise DesignError(
            f"{int(missing.sum())} ATT(g,t) are missing (NA), so the aggregation is undefined "
            "unless na_rm=True leaves them out (R `did`'s aggte stops the same way)",
            rows=pd.DataFrame({"group": groups, "time": times, "estimate": att})[missing].head(5),
            fix="pass na_rm=True to aggregate the estimable cells only",
        )
    valid = ~missing
    cohorts = np.asarray(infl.cohorts, float)
    H = len(cohorts)
    cell_h = np.searchsorted(cohorts, groups)
    pg = np.asarray(infl.cohort_weight, float)
    pg_cell = pg[cell_h]
    K = len(att)

    rows_a: list[np.ndarray] = []
    rows_u: list[np.ndarray] = []
    rows_theta: list[float] = []
    keys: list[float] = []

    # R `did` measures max_e for "simple" and "group" on the ranks of the distinct periods and
    # cohorts (1, 2, ...), which equal the periods themselves when they are consecutive integers
    ranks = np.unique(np.concatenate([times, groups]))
    r_t = np.searchsorted(ranks, times).astype(float)
    r_g = np.searchsorted(ranks, groups).astype(float)
    within = (r_g <= r_t) & (r_t <= r_g + max_e)

    if type == "simple":
        keep = valid & within
        if not keep.any():
            raise DesignError("no post-treatment ATT(g,t) to aggregate", fix="check max_e")
        a, u, theta = _weights_rows(keep, pg_cell, cell_h, att, H)
        overall_a, overall_u = a, u
    elif type == "group":
        ug = np.unique(groups)
        theta_g = np.full(len(ug), np.nan)
        A_g = np.zeros((len(ug), K))
        for j, g in enumerate(ug):
            keep = valid & (groups == g) & within
            if keep.any():
                A_g[j, keep] = 1.0 / keep.sum()
                theta_g[j] = A_g[j] @ np.nan_to_num(att)
        ok = np.isfinite(theta_g)
        if not ok.any():
            raise DesignError("no cohort has a post-treatment ATT(g,t)", fix="check max_e")
        for j, g in enumerate(ug):
            if ok[j]:
                rows_a.append(A_g[j])
                rows_u.append(np.zeros(H))
                rows_theta.append(float(theta_g[j]))
                keys.append(float(g))
        # overall: cohort-size weighted average of the group effects, with the weights term
        gh = np.searchsorted(cohorts, ug[ok])
        b, u, _ = _weights_rows(np.ones(ok.sum(), bool), pg[gh], gh, theta_g[ok], H)
        overall_a, overall_u = b @ A_g[ok], u
    elif type == "dynamic":
        e = times - groups
        include = valid.copy()
        eseq = np.unique(e[valid])
        if balance_e is not None:
            t_max, t_min = times[valid].max(), min(times[valid].min(), groups[valid].min())
            include &= (t_max - groups) >= balance_e
            if not include.any():
                raise DesignError(
                    f"balance_e={balance_e} is larger than any cohort's observed exposure "
                    f"(at most {t_max - groups[valid].min():g} periods)",
                    fix="use a smaller balance_e",
                )
            eseq = np.unique(e[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - t_max + t_min)]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        if len(eseq) == 0:
            raise DesignError(
                f"no event time in [{min_e:g}, {max_e:g}]"
                + (f" with balance_e={balance_e}" if balance_e is not None else ""),
                fix=f"available event times are {sorted(set(np.unique(e[valid]).tolist()))}",
            )
        for ev in eseq:
            a, u, theta = _weights_rows(include & (e == ev), pg_cell, cell_h, att, H)
            rows_a.append(a)
            rows_u.append(u)
            rows_theta.append(theta)
            keys.append(float(ev))
        post = np.asarray(keys) >= 0
        if post.any():
            c = post / post.sum()
            overall_a, overall_u = c @ np.array(rows_a), np.array(rows_u).T @ c
        else:
            overall_a = overall_u = None
    else:  # calendar
        tseq = np.unique(times[valid])
        tseq = tseq[tseq >= groups[valid].min()]
        for tt in tseq:
            keep = valid & (times == tt) & (groups <= tt)
            if not keep.any():
                continue
            a, u, theta = _weights_rows(keep, pg_cell, cell_h, att, H)
            rows_a.append(a)
            rows_u.append(u)
            rows_theta.append(theta)
            keys.append(float(tt))
        if not rows_a:
            raise DesignError("no post-treatment ATT(g,t) to aggregate by calendar time")
        c = np.full(len(rows_a), 1.0 / len(rows_a))
        overall_a, overall_u = c @ np.array(rows_a), np.array(rows_u).T @ c

    common = {"cluster": clustered, "alpha": alpha, "bstrap": bstrap, "biters": int(biters)}
    if overall_a is None:
        raise DesignError(
            f"no post-treatment event time (e >= 0) in [{min_e:g}, {max_e:g}], so the dynamic "
            "aggregation has no overall ATT",
            fix="use max_e >= 0 (pretrend_test reads the pre-treatment rows of a full aggregation)",
        )
    o_infl = infl.combine(overall_a[None, :], overall_u[:, None])
    o_theta = np.array([float(overall_a @ np.nan_to_num(att))])
    o_se = float(infer(o_theta, o_infl, cband=False, seed=seed, **common).std_error[0])
    if type == "simple":
        return Aggregation(
            keys=np.zeros(0),
            estimate=o_theta,
            std_error=np.array([o_se]),
            crit=critical_value(alpha),
            vcov=np.array([[o_se**2]]),
            influence=o_infl,
            overall_estimate=float(o_theta[0]),
            overall_std_error=o_se,
            weights=overall_a[None, :],
            overall_weights=overall_a,
        )
    row_infl = infl.combine(np.array(rows_a), np.array(rows_u).T)
    theta = np.array(rows_theta)
    inf = infer(theta, row_infl, cband=bool(cband), seed=seed, **common)
    return Aggregation(
        keys=np.asarray(keys, float),
        estimate=theta,
        std_error=inf.std_error,
        crit=float(inf.crit),
        vcov=inf.vcov,
        influence=row_infl,
        overall_estimate=float(o_theta[0]),
        overall_std_error=o_se,
        weights=np.array(rows_a),
        overall_weights=overall_a,
    )
