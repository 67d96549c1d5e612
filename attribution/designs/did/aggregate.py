"""Aggregations of group-time ATTs (R `did`'s aggte): simple, dynamic (event study), group, calendar.

Callaway & Sant'Anna (2021), section 3 and eqs. (3.4)-(3.9). Each aggregated parameter is a
weighted average of ATT(g,t) with weights proportional to the cohort shares P(G = g); as in R
`did`, the influence function adds the term for estimating those shares (R's ``wif``), so standard
errors match R's exactly. Every aggregation is a linear map of the att_gt influence functions plus a
cohort-level term, so on the no-covariate path it is still computed from cohort moments only.
"""

from __future__ import annotations

import math

import numpy as np

from attribution.designs.did.group_time import infer
from attribution.designs.did.results import AggteResult, AttGtResult, Overall
from attribution.errors import DesignError, OptionError
from attribution.inference import critical_value, wald_table
from attribution.options import AggType, check_alpha, check_option
from attribution.results import Provenance

__all__ = ["aggte"]


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


def _check_e(name: str, value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        out = math.nan
    if math.isnan(out):
        raise OptionError(f"{name}={value!r} must be a number (or ±inf)")
    return out


def aggte(
    result: AttGtResult,
    *,
    type: AggType = "simple",
    min_e: float = -math.inf,
    max_e: float = math.inf,
    balance_e: int | None = None,
    na_rm: bool = False,
    bstrap: bool | None = None,
    biters: int | None = None,
    cband: bool | None = None,
    alpha: float | None = None,
    seed: int | None = None,
) -> AggteResult:
    """Aggregate ATT(g,t) like R `did`'s aggte; options left None are taken from `result`.

    - "simple": average of post-treatment ATT(g,t) weighted by cohort size;
    - "dynamic": event study by e = t - g (min_e, max_e, balance_e); overall = mean over e >= 0;
    - "group": average post-treatment effect per cohort; overall weights cohorts by size;
    - "calendar": average effect per period among treated cohorts; overall = mean over periods.
    """
    if not isinstance(result, AttGtResult):
        raise OptionError(
            f"aggte needs the result of att_gt, got {type_name(result)}",
            fix="call aggte(att_gt(...), type=...)",
        )
    check_option("type", type, AggType)
    min_e = _check_e("min_e", min_e)
    max_e = _check_e("max_e", max_e)
    if min_e > max_e:
        raise OptionError(f"min_e={min_e:g} is larger than max_e={max_e:g}")
    if balance_e is not None and (
        isinstance(balance_e, bool)
        or not isinstance(balance_e, int | np.integer)
        or int(balance_e) < 0
    ):
        raise OptionError(f"balance_e={balance_e!r} must be None or an integer >= 0")
    if not isinstance(na_rm, bool | np.bool_):
        raise OptionError(f"na_rm={na_rm!r} must be True or False")
    bstrap = result.bstrap if bstrap is None else bstrap
    cband = result.cband if cband is None else cband
    biters = result.biters if biters is None else biters
    alpha = result.alpha if alpha is None else check_alpha(alpha)
    seed = result.seed if seed is None else int(seed)
    for name, v in (("bstrap", bstrap), ("cband", cband)):
        if not isinstance(v, bool | np.bool_):
            raise OptionError(f"{name}={v!r} must be True or False")
    if isinstance(biters, bool) or not isinstance(biters, int | np.integer) or int(biters) < 10:
        raise OptionError(f"biters={biters!r} must be an integer >= 10")
    if cband and not bstrap:
        raise OptionError(
            "cband=True needs the multiplier bootstrap",
            fix="pass bstrap=True for a uniform band, or cband=False for pointwise intervals",
        )

    tab = result.table
    groups = tab["group"].to_numpy(float)
    times = tab["time"].to_numpy(float)
    att = tab["estimate"].to_numpy(float)
    infl = result.influence
    missing = ~np.isfinite(att)
    if missing.any() and not na_rm:
        raise DesignError(
            f"{int(missing.sum())} ATT(g,t) are missing, so the aggregation is undefined",
            rows=tab.loc[missing, ["group", "time", "estimate"]].head(5),
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
    key_name = {"dynamic": "event_time", "group": "group", "calendar": "time"}.get(type)

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

    clustered = bool(result.clustervars)
    common = {"cluster": clustered, "alpha": alpha, "bstrap": bstrap, "biters": int(biters)}
    if overall_a is not None:
        o_infl = infl.combine(overall_a[None, :], overall_u[:, None])
        o_theta = np.array([float(overall_a @ np.nan_to_num(att))])
        o_inf = infer(o_theta, o_infl, cband=False, seed=seed, **common)
        o_se = float(o_inf.std_error[0])
        z = critical_value(alpha)
        o_tab = wald_table(["ATT"], o_theta, [o_se], alpha=alpha, crit=z)
        overall = Overall(
            estimate=float(o_theta[0]),
            std_error=o_se,
            conf_low=float(o_tab["conf_low"].iloc[0]),
            conf_high=float(o_tab["conf_high"].iloc[0]),
            p_value=float(o_tab["p_value"].iloc[0]),
        )
    else:
        nan = float("nan")
        overall = Overall(nan, nan, nan, nan, nan)

    if type == "simple":
        table = wald_table(["ATT(simple)"], [overall.estimate], [overall.std_error], alpha=alpha)
        crit, vcov, row_infl = critical_value(alpha), np.array([[overall.std_error**2]]), o_infl
    else:
        A = np.array(rows_a)
        U = np.array(rows_u).T
        row_infl = infl.combine(A, U)
        theta = np.array(rows_theta)
        inf = infer(theta, row_infl, cband=bool(cband), seed=seed, **common)
        label = {"dynamic": "e", "group": "g", "calendar": "t"}[type]
        table = wald_table(
            [f"ATT({label}={k:g})" for k in keys],
            theta,
            inf.std_error,
            alpha=alpha,
            crit=inf.crit,
        )
        table[key_name] = keys
        crit, vcov = inf.crit, inf.vcov
    options = {
        "type": type,
        "min_e": min_e,
        "max_e": max_e,
        "balance_e": balance_e,
        "na_rm": bool(na_rm),
        "bstrap": bool(bstrap),
        "biters": int(biters),
        "cband": bool(cband),
        **{f"att_gt.{k}": v for k, v in result.provenance.options.items()},
    }
    return AggteResult(
        design=f"did.aggte.{type}",
        table=table,
        alpha=alpha,
        provenance=Provenance(
            design=f"did.aggte.{type}",
            data=result.provenance.data,
            options=options,
            seed=seed if (bstrap or cband) else None,
        ),
        type=type,
        overall=overall,
        min_e=min_e,
        max_e=max_e,
        balance_e=None if balance_e is None else int(balance_e),
        na_rm=bool(na_rm),
        bstrap=bool(bstrap),
        biters=int(biters),
        cband=bool(cband),
        seed=seed,
        critical_value=float(crit),
        vcov=vcov,
        influence=row_infl,
    )


def type_name(obj: object) -> str:
    return type(obj).__name__
