"""Sun & Abraham (2021) interaction-weighted (IW) event-study estimator.

Step 1 — a saturated TWFE regression with one dummy per (cohort g, event time e ≠ ref),
``y_it = a_i + l_t + Σ_g Σ_{e≠ref} β_{g,e} 1[G_i=g, t-g=e] + u_it``, on treated cohorts plus a clean
control cohort (never-treated units, or — with ``control="last"`` — the last-treated cohort, whose
rows from its adoption period on are dropped). Each β_{g,e} is the cohort-specific CATT(g, e)
relative to the reference period.

Step 2 — ν_e = Σ_g w_{g,e} β_{g,e} with w_{g,e} the share of cohort g among the observations at event
time e (Sun & Abraham 2021, eq. 12; the sample shares, as fixest ``sunab()`` uses). The covariance
of ν is W V W' with W the weight matrix held fixed (fixest's convention); V is the CR1
cluster-robust covariance of β (see :mod:`attribution.designs.did.fixed_effects`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution import config
from attribution.data.engine import Data, fingerprint
from attribution.designs.did.fixed_effects import (
    EventStudyResult,
    _check_ref,
    _codes,
    _event_table,
    _pull,
    fit_fe_ols,
)
from attribution.designs.did.panel import validate_did_panel
from attribution.errors import DesignError
from attribution.options import SaControl, check_alpha, check_option
from attribution.results import Provenance

__all__ = ["SaControl", "iw_aggregate", "sun_abraham"]


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


def sun_abraham(
    data: Data,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    ref: int = -1,
    control: SaControl = "never",
    cluster: str | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """Sun & Abraham interaction-weighted event study (module docstring for the method).

    `gname` is the first treated period, 0 for never treated. ``control="never"`` needs
    never-treated units; ``control="last"`` uses the last-treated cohort as the control and drops
    every row from its adoption period on. The cohort-specific coefficients are in
    ``result.cohort_effects`` (columns cohort, event_time, estimate, std_error, weight).
    """
    ref = _check_ref(ref)
    check_option("control", control, SaControl)
    alpha = check_alpha(alpha)
    panel = validate_did_panel(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        clustervars=cluster,
        allow_unbalanced_panel=True,
        require_never_treated=control == "never",
    )
    cluster = idname if cluster is None else cluster
    t = panel.table
    df = _pull(
        t.mutate(_cohort=panel.cohort()),
        [yname, tname, idname, cluster, "_cohort"],
        what="sun_abraham",
    )
    g = df["_cohort"].to_numpy(float)
    if control == "last":
        if len(panel.cohorts) < 2:
            raise DesignError(
                "control='last' needs at least two treated cohorts (the last one is the control)",
                columns=[gname],
                fix="use control='never' with never-treated units",
            )
        g_last = float(panel.cohorts[-1])
        keep = (g != 0) & (df[tname].to_numpy(float) < g_last)
        df = df.loc[keep].reset_index(drop=True)
        g = df["_cohort"].to_numpy(float)
        g = np.where(g == g_last, 0.0, g)
    tt = df[tname].to_numpy(float)
    rel = np.where(g > 0, np.round(tt - g), np.nan)
    treated = g > 0
    cells = (
        pd.DataFrame({"cohort": g[treated], "event_time": rel[treated]})
        .groupby(["cohort", "event_time"])
        .size()
        .rename("n_obs")
        .reset_index()
    )
    has_ref = cells.loc[cells["event_time"] == ref, "cohort"].to_numpy()
    missing_ref = sorted(set(cells["cohort"]) - set(has_ref))
    if missing_ref:
        raise DesignError(
            f"cohort(s) {[int(c) for c in missing_ref]} are not observed at the reference event "
            f"time ref={ref}",
            columns=[tname, gname],
            rows=cells[cells["cohort"].isin(missing_ref)]
            .groupby("cohort")["event_time"]
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
    col = pd.MultiIndex.from_frame(cells[["cohort", "event_time"]]).get_indexer(key)
    x = np.zeros((len(df), len(cells)))
    rows = np.flatnonzero(col >= 0)
    x[rows, col[rows]] = 1.0
    names = [
        f"g={int(c)}:e={int(e)}" for c, e in zip(cells["cohort"], cells["event_time"], strict=True)
    ]
    fe = [_codes(df[idname]), _codes(df[tname])]
    fit = fit_fe_ols(df[yname].to_numpy(float), x, fe, df[cluster].to_numpy(), names=names)
    es, nu, v_nu, w = iw_aggregate(
        cells["cohort"].to_numpy(),
        cells["event_time"].to_numpy(),
        fit.coef,
        fit.vcov,
        cells["n_obs"].to_numpy(),
    )
    table, ucrit = _event_table(es.astype(np.int64), nu, v_nu, alpha=alpha, df=fit.df_t)
    cohort_effects = cells.assign(
        cohort=cells["cohort"].astype(np.int64),
        event_time=cells["event_time"].astype(np.int64),
        estimate=fit.coef,
        std_error=np.sqrt(np.diag(fit.vcov)),
        weight=w.sum(axis=0),
    )
    return EventStudyResult(
        design="did.sun_abraham",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design="did.sun_abraham",
            data=fingerprint(t, n_rows=panel.n_rows),
            options={
                "yname": yname,
                "tname": tname,
                "idname": idname,
                "gname": gname,
                "ref": ref,
                "control": control,
                "cluster": cluster,
                "alpha": alpha,
            },
            seed=config.get().seed,
        ),
        ref=ref,
        n_obs=fit.n_obs,
        n_units=int(df[idname].nunique()),
        n_clusters=fit.n_clusters,
        uniform_crit=ucrit,
        estimator="sun_abraham",
        vcov=v_nu,
        extra=cohort_effects,
    )
