"""The Abadie–Diamond–Hainmueller synthetic control on a built problem (arrays in, arrays out).

Abadie & Gardeazabal (2003, AER) and Abadie, Diamond & Hainmueller (2010, JASA): the synthetic
control is the convex combination W of donor units whose predictors X0 W come closest to the
treated unit's X1 in the V-weighted norm, with V (diagonal, normalised) chosen so that the
resulting W reproduces the treated unit's pre-period outcome path (nested optimisation, in
`v_search`). This module runs that fit for any treated row and donor pool of an `SCProblem` (the
fit itself, placebos, leave-one-out refits), and holds the fit diagnostics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from attribution.designs.synth.problem import SCProblem
from attribution.designs.synth.v_search import fit_unit, mspe_lower_bound, weights_given_v
from attribution.errors import AttributionWarning, DesignError, DesignWarning

__all__ = [
    "CORNER_SHARE",
    "POOR_FIT_SHARE",
    "SCFit",
    "diagnose",
    "fit_arrays",
    "leave_one_out_paths",
    "rmspe",
]


@dataclass(frozen=True)
class SCFit:
    """One ADH fit: predictor weights v, donor weights w (aligned with the pool), the synthetic path."""

    v: np.ndarray
    w: np.ndarray
    synthetic: np.ndarray
    mspe: float
    mspe_lower_bound: float


def fit_arrays(problem: SCProblem, *, treated: int | None = None, pool: Any = None) -> SCFit:
    """ADH fit of `treated` (default the problem's) on donors `pool` (default the problem's)."""
    tr = problem.treated if treated is None else int(treated)
    pl = problem.pool if pool is None else np.asarray(pool, dtype=np.int64)
    if len(pl) == 0:
        raise DesignError("no donors left to build a synthetic control from")
    Z = np.ascontiguousarray(problem.Y[:, problem.window].T)
    X = np.ascontiguousarray(problem.X)
    pl = np.ascontiguousarray(pl)
    if problem.v_fixed is not None or problem.cv_X is not None:
        if problem.v_fixed is not None:
            v = problem.v_fixed
        else:  # ADH (2015): V chosen on the training predictors and validation outcomes
            Zv = np.ascontiguousarray(problem.Y[:, problem.cv_window].T)
            v, _, _, _ = fit_unit(
                np.ascontiguousarray(problem.cv_X),
                Zv,
                tr,
                pl,
                problem.cv_lag,
                True,
                problem.maxfev,
                problem.tie_break,
                problem.v_floor,
            )
        w, mspe = weights_given_v(X, Z, tr, pl, np.ascontiguousarray(v), problem.tie_break)
        lower = mspe_lower_bound(Z, tr, pl)
    else:
        v, w, mspe, lower = fit_unit(
            X,
            Z,
            tr,
            pl,
            problem.lag,
            problem.optimize_v,
            problem.maxfev,
            problem.tie_break,
            problem.v_floor,
        )
    synthetic = w @ problem.Y[pl]
    return SCFit(v=v, w=w, synthetic=synthetic, mspe=float(mspe), mspe_lower_bound=float(lower))


def rmspe(gap: np.ndarray, n_pre: int) -> tuple[float, float]:
    """Root mean squared gap before and after the treatment start (ADH 2010, Section 3)."""
    gap = np.asarray(gap, dtype=float)
    return float(np.sqrt(np.mean(gap[:n_pre] ** 2))), float(np.sqrt(np.mean(gap[n_pre:] ** 2)))


# Poor pre-period fit: RMSPE above this share of the cross-unit standard deviation of the
# pre-period outcome (averaged over pre-periods), i.e. the synthetic control leaves more than
# 1/16 of the cross-sectional variance unexplained.
POOR_FIT_SHARE = 0.25

# A searched V with at least this share on one predictor is a corner solution (Kuosmanen, Zhou,
# Eskelinen & Malo 2021, "Design flaw of the synthetic control method"): W then matches that
# predictor alone, and the other predictors do not enter the choice of donors.
CORNER_SHARE = 0.99


def diagnose(
    problem: SCProblem, gap: np.ndarray, pre_rmspe: float, v: np.ndarray | None = None
) -> dict[str, Any]:
    """Convex-hull and fit diagnostics; warns (AttributionWarning) when the fit cannot be trusted.

    Rules: (1) a predictor of the treated unit outside the donors' [min, max] means no convex
    combination can reproduce it; (2) a pre-period RMSPE above `POOR_FIT_SHARE` × the cross-unit
    standard deviation of the pre-period outcome means the treated unit is far from the donors'
    hull on the outcome path; (3) a searched V (`v`, not a fixed one) with at least
    `CORNER_SHARE` of its weight on one predictor is a corner solution: a DesignWarning.
    """
    X = problem.X
    x1 = X[:, problem.treated]
    lo = X[:, problem.pool].min(axis=1)
    hi = X[:, problem.pool].max(axis=1)
    outside = [problem.predictor_names[i] for i in range(len(x1)) if x1[i] < lo[i] or x1[i] > hi[i]]
    spread = float(np.mean(np.std(problem.Y[:, : problem.n_pre], axis=0, ddof=1)))
    share = pre_rmspe / spread if spread > 0 else np.inf
    out: dict[str, Any] = {
        "predictors_outside_donor_range": outside,
        "pre_rmspe_share_of_cross_unit_sd": share,
        "poor_fit_rule": f"pre-period RMSPE > {POOR_FIT_SHARE} × cross-unit SD of pre-period outcome",
    }
    treated = problem.units[problem.treated]
    if outside:
        warnings.warn(
            f"{treated!r} lies outside the donors' convex hull: predictor(s) {outside} are beyond "
            "every donor's value, so no synthetic control can match them",
            AttributionWarning,
            stacklevel=3,
        )
    if share > POOR_FIT_SHARE:
        warnings.warn(
            f"poor pre-period fit for {treated!r}: RMSPE {pre_rmspe:.4g} is {share:.2f} × the "
            f"cross-unit SD of the pre-period outcome (rule: > {POOR_FIT_SHARE}); the treated unit "
            "is probably outside the donors' convex hull and the gaps are not credible",
            AttributionWarning,
            stacklevel=3,
        )
    if v is not None and problem.v_fixed is None and len(v) > 1 and v.max() >= CORNER_SHARE:
        top = problem.predictor_names[int(np.argmax(v))]
        out["v_corner_predictor"] = top
        others = f"the other {len(v) - 1} predictors" + (
            "" if problem.lag.all() else " (covariates among them)"
        )
        warnings.warn(
            f"the predictor weights V put {v.max():.1%} of their weight on {top!r}: a corner "
            f"solution (Kuosmanen et al. 2021), so {others} play no role in choosing the donor "
            "weights; consider synthetic_control's v_floor, a fixed v, or "
            "v_method='cross_validation'",
            DesignWarning,
            stacklevel=4,
        )
    return out


def leave_one_out_paths(
    problem: SCProblem, unit_weights: pd.Series, *, min_weight: float = 1e-3
) -> pd.DataFrame:
    """Re-fit dropping, in turn, each donor with weight above `min_weight` (ADH 2015, Section 5).

    Returns a long frame (dropped, time, synthetic, gap): how much the synthetic path depends on
    any single donor.
    """
    w = unit_weights
    keep = w[w > min_weight].sort_values(ascending=False)
    frames = []
    for donor in keep.index:
        row = int(problem.units.get_indexer([donor])[0])
        pool = problem.pool[problem.pool != row]
        if len(pool) == 0:
            continue
        fit = fit_arrays(problem, pool=pool)
        frames.append(
            pd.DataFrame(
                {
                    "dropped": donor,
                    "time": problem.times,
                    "synthetic": fit.synthetic,
                    "gap": problem.Y[problem.treated] - fit.synthetic,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["dropped", "time", "synthetic", "gap"])
    return pd.concat(frames, ignore_index=True)
