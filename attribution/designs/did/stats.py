"""Engine aggregates and pulls of the DiD designs: what is computed in DuckDB / Spark, and what leaves it.

**Cohort × period sufficient statistics** for Callaway & Sant'Anna without covariates, in the engine.

Without covariates every 2×2 estimator of R `did` (dr, ipw, reg) reduces to a difference of
weighted means, and each unit's influence function is an affine function of its outcome vector
whose coefficients depend only on the unit's cohort. So with a per-unit feature vector

    balanced panel:    z_i = (w_i Y_i1, ..., w_i Y_iT, w_i, 1)
    unbalanced panel:  z_i = (w_i p_i1 Y_i1, ..., w_i p_iT Y_iT, w_i p_i1, ..., w_i p_iT, w_i, 1)

(p_it = 1 when unit i is observed in period t) the influence function of unit i in cohort h is
``M_h z_i``, and Σ_i IF_i IF_i' = Σ_h M_h (Σ_{i∈h} z_i z_i') M_h' is exact from the per-cohort
second moments ``Z_h = Σ_{i∈h} z_i z_i'`` computed here. Cluster-robust variances need only the
per-(cluster, cohort) first moments ``Σ z_i``.

Outcomes are centred per period (by the period mean) before the moments are formed: the estimators
are invariant to that shift and it keeps the second moments free of cancellation error.

**Pulls** (through `data.engine.fetch`, guarded by ``config.max_pull_rows``): the unit rows of the
covariate path of att_gt and of the fixed-effects regressions, and the launch log joined to a panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from attribution.data.engine import fetch
from attribution.data.roles import internal
from attribution.designs.did.request import DidPanel

__all__ = [
    "COHORT",
    "CohortMoments",
    "cohort_moments",
    "cohort_moments_from_arrays",
    "cohorts_from_log",
    "count_distinct",
    "pull",
    "unit_rows",
]


@dataclass(frozen=True)
class CohortMoments:
    """Per-cohort moments of z (see module docstring); cohort label 0 = never treated."""

    periods: np.ndarray  # (T,)
    cohorts: np.ndarray  # (H,) cohort labels, 0 first if present
    n_units: np.ndarray  # (H,) units per cohort
    first: np.ndarray  # (H, D) Σ z
    second: np.ndarray  # (H, D, D) Σ z z'
    balanced: bool
    cluster_first: np.ndarray | None = None  # (C, H, D) Σ z per cluster and cohort
    cluster_units: np.ndarray | None = None  # (C,) units per cluster
    centre: np.ndarray | None = None  # (T,) the per-period shift taken off the outcomes

    @property
    def n(self) -> int:
        return int(self.n_units.sum())

    @property
    def dim(self) -> int:
        return self.first.shape[1]

    def col_y(self, t: int) -> int:
        """Column of z holding w·Y (times presence) for period index t."""
        return t

    def col_w(self, t: int) -> int:
        """Column of z holding w (times presence) for period index t."""
        return len(self.periods) if self.balanced else len(self.periods) + t

    @property
    def col_unit_w(self) -> int:
        """Column of z holding the unit weight w."""
        return self.dim - 2

    @property
    def col_one(self) -> int:
        return self.dim - 1


def _float(v: ir.Value) -> ir.Value:
    return v.cast("float64")


def cohort_moments(panel: DidPanel) -> CohortMoments:
    """Aggregate the panel to cohort moments inside its engine (only small arrays come back)."""
    t = panel.table
    periods = panel.periods
    T = len(periods)
    w = _float(t[panel.weightsname]) if panel.weightsname else ibis.literal(1.0)
    cols = {
        "_id": t[panel.idname],
        "_g": panel.cohort(t),
        "_t": _float(t[panel.tname]),
        "_y": _float(t[panel.yname]),
        "_w": w,
    }
    if panel.clustervars:
        cols["_c"] = t[panel.clustervars[0]]
    rows = t.select(**cols)
    # centre outcomes per period (exact invariance; numerically safer second moments)
    centre = rows.group_by("_t").aggregate(_m=rows._y.mean()).execute()
    shift = dict(zip(centre["_t"].astype(float), centre["_m"].astype(float), strict=True))
    y_c = rows._y - ibis.cases(*[(rows._t == float(p), float(shift[p])) for p in periods])

    unit_aggs: dict[str, ir.Value] = {"g": rows._g.max(), "w": rows._w.max()}
    for k, p in enumerate(periods):
        here = rows._t == float(p)
        unit_aggs[f"y{k}"] = ibis.ifelse(here, rows._w * y_c, 0.0).sum()
        if not panel.balanced:
            unit_aggs[f"p{k}"] = ibis.ifelse(here, rows._w, 0.0).sum()
    if panel.clustervars:
        unit_aggs["c"] = rows._c.max()
    # in unit order: sums in the engine add rows in the order they arrive, and a hash aggregate
    # emits groups in an order that can change between runs (last-bit differences)
    units = rows.group_by("_id").aggregate(**unit_aggs).order_by("_id")

    znames = [f"y{k}" for k in range(T)]
    if not panel.balanced:
        znames += [f"p{k}" for k in range(T)]
    znames.append("w")
    D = len(znames) + 1  # + the constant
    aggs: dict[str, ir.Value] = {"n": units.count()}
    for a, na in enumerate(znames):
        aggs[f"s{a}"] = units[na].sum()
        for b in range(a, len(znames)):
            aggs[f"q{a}_{b}"] = (units[na] * units[znames[b]]).sum()
    res = units.group_by("g").aggregate(**aggs).order_by("g").execute()

    H = len(res)
    cohorts = res["g"].to_numpy(float)
    n_units = res["n"].to_numpy(np.int64)
    first = np.zeros((H, D))
    second = np.zeros((H, D, D))
    m = len(znames)
    for a in range(m):
        first[:, a] = res[f"s{a}"].to_numpy(float)
        for b in range(a, m):
            v = res[f"q{a}_{b}"].to_numpy(float)
            second[:, a, b] = v
            second[:, b, a] = v
    first[:, m] = n_units
    second[:, :m, m] = first[:, :m]
    second[:, m, :m] = first[:, :m]
    second[:, m, m] = n_units

    cluster_first = cluster_units = None
    if panel.clustervars:
        caggs: dict[str, ir.Value] = {"n": units.count()}
        for a, na in enumerate(znames):
            caggs[f"s{a}"] = units[na].sum()
        cres = units.group_by(["c", "g"]).aggregate(**caggs).execute()
        labels, c_idx = np.unique(cres["c"].to_numpy(), return_inverse=True)
        h_idx = np.searchsorted(cohorts, cres["g"].to_numpy(float))
        cluster_first = np.zeros((len(labels), H, D))
        for a in range(m):
            cluster_first[c_idx, h_idx, a] = cres[f"s{a}"].to_numpy(float)
        cn = cres["n"].to_numpy(float)
        cluster_first[c_idx, h_idx, m] = cn
        cluster_units = np.bincount(c_idx, weights=cn, minlength=len(labels))
    return CohortMoments(
        periods=np.asarray(periods, float),
        cohorts=cohorts,
        n_units=n_units,
        first=first,
        second=second,
        balanced=panel.balanced,
        cluster_first=cluster_first,
        cluster_units=cluster_units,
        centre=np.array([float(shift[p]) for p in periods]),
    )


def cohort_moments_from_arrays(
    Y: np.ndarray,
    G: np.ndarray,
    periods: np.ndarray,
    *,
    w: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> CohortMoments:
    """The same moments from in-memory arrays of a balanced panel (simulations, tests).

    Y: (n, T) outcomes; G: (n,) cohorts (0 = never treated, or later than the last period);
    w: (n,) unit weights; cluster: (n,) cluster labels.
    """
    Y = np.asarray(Y, float)
    n = Y.shape[0]
    periods = np.asarray(periods, float)
    G = np.where((np.asarray(G, float) > periods[-1]), 0.0, np.asarray(G, float))
    w = np.ones(n) if w is None else np.asarray(w, float)
    centre = Y.mean(axis=0)
    Yc = Y - centre
    Z = np.column_stack([w[:, None] * Yc, w, np.ones(n)])
    cohorts, h = np.unique(G, return_inverse=True)
    H, D = len(cohorts), Z.shape[1]
    first = np.zeros((H, D))
    np.add.at(first, h, Z)
    second = np.zeros((H, D, D))
    for j in range(H):
        Zj = Z[h == j]
        second[j] = Zj.T @ Zj
    cluster_first = cluster_units = None
    if cluster is not None:
        labels, c = np.unique(np.asarray(cluster), return_inverse=True)
        cluster_first = np.zeros((len(labels), H, D))
        np.add.at(cluster_first, (c, h), Z)
        cluster_units = np.bincount(c, minlength=len(labels)).astype(float)
    return CohortMoments(
        periods=periods,
        cohorts=cohorts,
        n_units=np.bincount(h, minlength=H).astype(np.int64),
        first=first,
        second=second,
        balanced=True,
        cluster_first=cluster_first,
        cluster_units=cluster_units,
        centre=centre,
    )


# -------------------------------------------------------------------------------------------------
# Pulls: unit rows that a design really needs
# -------------------------------------------------------------------------------------------------
def pull(table: ir.Table, cols: Sequence[str], *, what: str) -> pd.DataFrame:
    """The distinct columns `cols` of `table` as pandas (refused above ``config.max_pull_rows``)."""
    unique = list(dict.fromkeys(cols))
    return fetch(table.select(*unique), what=what).reset_index(drop=True)


def unit_rows(panel: DidPanel, covariates: Sequence[str]) -> pd.DataFrame:
    """Rows of att_gt's covariate path: _id, _t, _y, _g (effective cohort), _w, _x0.., _c."""
    t = panel.table
    cols = {
        "_id": t[panel.idname],
        "_t": t[panel.tname].cast("float64"),
        "_y": t[panel.yname].cast("float64"),
        "_g": panel.cohort(t),
        "_w": t[panel.weightsname].cast("float64") if panel.weightsname else ibis.literal(1.0),
    }
    for j, x in enumerate(covariates):
        cols[f"_x{j}"] = t[x].cast("float64")
    if panel.clustervars:
        cols["_c"] = t[panel.clustervars[0]]
    return fetch(t.select(**cols), what="att_gt with covariates")


def count_distinct(table: ir.Table, column: str) -> int:
    """Number of distinct values of `column`, counted in the engine."""
    return int(table.select(column).distinct().count().execute())


COHORT = internal("cohort")
"""Column holding a unit's cohort for one component, added by `cohorts_from_log`."""


def cohorts_from_log(panel: ir.Table, log: ir.Table, *, component: str, unit: str) -> ir.Table:
    """The panel with `COHORT` = that component's start period on the unit, 0 if it never came."""
    u, start = internal("log_unit"), internal("log_start")
    comp = log.filter(log.component == component).select(
        **{u: log[unit], start: log.start_period.cast("int64")}
    )
    joined = panel.left_join(comp, panel[unit] == comp[u])
    joined = joined.mutate(**{COHORT: ibis.coalesce(joined[start], ibis.literal(0, "int64"))})
    return joined.drop(u, start)
