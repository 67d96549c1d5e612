"""`experiment()`: the readout of an online A/B(/n) experiment, and `decompose_lift()`.

Thin orchestration: request checks (request.py) → unit moments in the engine (stats.py) → per-arm
metric estimates, CUPED, differences and lifts (delta.py), families, adjusted p-values and
Cochran's Q (segments.py), lift decomposition (decomposition.py) → results.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from attribution.data.checks import require_complete
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.data.roles import Roles, select_roles
from attribution.designs.experiment import request as req
from attribution.designs.experiment.decomposition import log_lift_pieces
from attribution.designs.experiment.delta import (
    MetricEstimates,
    arm_stats,
    difference,
    estimates,
    relative_lift,
)
from attribution.designs.experiment.results import (
    ExperimentResult,
    LiftDecomposition,
    arm_term,
)
from attribution.designs.experiment.segments import adjust, families, heterogeneity_check
from attribution.designs.experiment.stats import (
    ARM,
    DUPLICATE_KEYS,
    NN_ARM,
    NULL_UNIT,
    ROWS,
    UNITS,
    Layout,
    N,
    ValueColumn,
    layout_for,
    metric_moments,
    metric_pairs,
    shift_name,
    sum_name,
)
from attribution.errors import AttributionWarning, DataError, DesignError
from attribution.inference import wald_table
from attribution.metrics import Mean, Metric, Proportion, Ratio
from attribution.options import LiftInterval, PAdjustMethod, check_alpha, check_option
from attribution.results import TIDY_COLUMNS, Check, Provenance

__all__ = ["decompose_lift", "experiment"]

SRM_THRESHOLD = 0.001
"""p-value below which an assignment is called broken (the usual A/B-testing convention)."""

KEYS = ("segment", "surface", "time")


def experiment(
    data: Data,
    *,
    arm: str,
    unit: str,
    metrics: Sequence[Metric | str] | Metric | str,
    control: str | int | None = None,
    segments: str | None = None,
    surface: str | None = None,
    time: str | None = None,
    cluster: str | None = None,
    correction: PAdjustMethod = "holm",
    alpha: float = 0.05,
    lift_interval: LiftInterval = "delta",
    allocation: Mapping[Any, float] | None = None,
) -> ExperimentResult:
    """Read out an online experiment: every metric × treatment arm against the control.

    Why: the daily work of a measurement team is the A/B test with a primary metric, guardrails,
    ratio metrics, segments and surfaces. Everything is computed from per-arm sufficient
    statistics the engine returns (units, sums and cross-products of per-unit values), so a
    100M-row experiment never leaves the warehouse.

    Parameters
    ----------
    data: pandas DataFrame or Ibis table; rows are aggregated to one row per unit in the engine.
    arm: the assigned arm of each row (a unit must stay in one arm).
    unit: the randomisation unit (a user); the delta method treats units as independent.
    metrics: `at.metrics.Mean`, `Proportion`, `Ratio` objects or column names (a `Mean`), each
        with its role (primary, guardrail, secondary), direction, tolerated loss and covariate
        (CUPED). A `Mean` is the mean over units of the unit's total; a `Proportion` the share of
        units with a 1 in any row; a `Ratio` Σ numerator / Σ denominator (Deng et al. 2018);
        covariates are averaged over each unit's rows. A `Ratio`'s `zero_denominator` rule
        applies to each unit's total over all its rows; on a surface or in a period, a unit with
        rows but no denominator there counts as a unit that saw nothing (0/0).
    control: the control arm (default: an arm called "control", else the first arm in sorted
        order).
    segments: a pre-experiment attribute of the unit: adds per-segment rows, adjusted within each
        metric × arm, and Cochran's Q test that the effect differs across segments (`checks`).
    surface: adds per-surface rows (units counted on each surface they have rows on).
    time: adds per-period rows (the units active in each period), e.g. a week.
    cluster: a coarser independent unit (e.g. a household): every `Mean` becomes the ratio
        Σ value / Σ units over clusters and the delta method runs over clusters.
    correction: multiple-testing adjustment within each family (primary metrics × arms;
        guardrails; secondary metrics; each metric × arm's segments), by
        `at.adjust_pvalues`: "holm" (default), "hochberg", "bonferroni", "sidak" (family-wise
        error), "bh", "by" (false discovery rate) or "none".
    alpha: intervals are (1 − alpha); decisions compare adjusted p-values with alpha.
    lift_interval: "delta" (delta method on the log ratio of means) or "fieller".
    allocation: the planned share of units per arm for the sample-ratio-mismatch check
        (default: equal shares).
    """
    alpha = check_alpha(alpha)
    correction = check_option("correction", correction, PAdjustMethod)
    lift_interval = check_option("lift_interval", lift_interval, LiftInterval)
    if control is not None and (not isinstance(control, str | int) or isinstance(control, bool)):
        raise DesignError(f"control={control!r} must be an arm value (a string or an integer)")
    if isinstance(control, str) and not control:
        raise DesignError("control='' is not an arm", fix="pass one of the arms as control=")
    ms = req.check_request(
        arm=arm,
        unit=unit,
        metrics=metrics,
        segments=segments,
        surface=surface,
        time=time,
        cluster=cluster,
        allocation=allocation,
    )
    table = as_table(data)
    layout = layout_for(ms, cluster=cluster is not None)
    value_cols = list(dict.fromkeys(vc.column for vc in layout.columns if vc.how != "count"))
    spec: dict[str, str] = dict.fromkeys(value_cols, "numeric")
    for col in (arm, unit, segments, surface, time, cluster):
        if col is not None:
            spec[col] = "key"
    require_columns(table, spec, role="experiment")
    roles = select_roles(
        table,
        {
            "arm": arm,
            "unit": unit,
            "segment": segments,
            "surface": surface,
            "time": time,
            "cluster": cluster,
            "values": value_cols,
        },
    )
    with roles.user_names():
        return _estimate(
            roles,
            ms=ms,
            layout=layout,
            value_cols=value_cols,
            control=control,
            names={"arm": arm, "unit": unit, "segments": segments, "surface": surface},
            time=time,
            cluster=cluster,
            correction=correction,
            alpha=alpha,
            lift_interval=lift_interval,
            allocation=allocation,
        )


def _gather(
    roles: Roles,
    *,
    ms: Sequence[Metric],
    layout: Layout,
    value_cols: Sequence[str],
    by: Sequence[str] = (),
    key_codes: tuple[str, Mapping[Any, int]] | None = None,
    direct: bool = False,
) -> pd.DataFrame:
    """Moments of one pass (internal names). The first pass (no `by`) checks the data and returns
    every cross-product (the joint covariance across metrics); passes by surface / time only the
    products each metric needs on its own."""
    names = dict(zip(value_cols, roles.many("values"), strict=True))
    values = {vc: names.get(vc.column, "") for vc in layout.columns}
    zero = [
        (layout.index(m.numerator, "sum"), layout.index(m.denominator, "sum"))
        for m in ms
        if isinstance(m, Ratio)
    ]
    binary = [layout.index(m.column, "max") for m in ms if isinstance(m, Proportion)]
    return metric_moments(
        roles.table,
        arm=ARM,
        unit=roles["unit"],
        values=values,
        layout=layout,
        by=by,
        segment=roles.names.get("segment"),  # type: ignore[arg-type]
        cluster=roles.names.get("cluster"),  # type: ignore[arg-type]
        zero=zero,
        binary=binary,
        pairs=metric_pairs(ms, layout) if by else None,
        exact_pairs=metric_pairs(ms, layout),
        checks=not by,
        key_codes=key_codes,
        direct=direct,
    )


MAX_KEY_CODES = 62
"""Most distinct surfaces whose one-row-per-unit check fits a 64-bit OR (see `stats.moments_query`)."""


def _key_codes(table: ir.Table, key: str) -> tuple[str, dict[Any, int]] | None:
    """{surface: 2^k} when there are few surfaces (one small DISTINCT query), else None."""
    got = table.select(key).distinct().limit(MAX_KEY_CODES + 1).execute()[key]
    if len(got) > MAX_KEY_CODES or got.isna().any():
        return None
    return key, {v.item() if hasattr(v, "item") else v: 1 << k for k, v in enumerate(got)}


def _collapse(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Moments summed over the keys not in `keys` (moments add over disjoint sets of units)."""
    summed = [c for c in frame.columns if c in (N, ROWS) or c.startswith(sum_name(0)[:-1])]
    shifts = [c for c in frame.columns if c.startswith(shift_name(0)[:-1])]
    group = [ARM, *keys]
    out = frame.groupby(group, sort=True, dropna=False).agg(
        {**dict.fromkeys(summed, "sum"), **dict.fromkeys(shifts, "first")}
    )
    out = out.reset_index()
    out.attrs.update(frame.attrs)
    out.attrs["by"] = tuple(keys)
    return out


def _units(frame: pd.DataFrame, layout: Layout) -> np.ndarray:
    """Randomisation units per row (clusters hold several)."""
    vc = ValueColumn(UNITS, "count")
    if vc not in layout.columns:
        return frame[N].to_numpy(float)
    i = layout.index(UNITS, "count")
    return frame[sum_name(i)].to_numpy(float) + frame[N].to_numpy(float) * frame[
        shift_name(i)
    ].to_numpy(float)


def _comparisons(
    frame: pd.DataFrame,
    *,
    keys: Sequence[str],
    key_names: Mapping[str, str],
    ms: Sequence[Metric],
    control: Any,
    layout: Layout,
) -> tuple[list[dict[str, Any]], MetricEstimates]:
    """One record per (key group, treatment arm, metric)."""
    if keys:
        labels = frame[list(keys)].astype(str).agg("\x1f".join, axis=1).to_numpy()
    else:
        labels = np.zeros(len(frame), dtype=object).astype(str)
    est = estimates(frame, ms, groups=labels)
    units = _units(frame, layout)
    records: list[dict[str, Any]] = []
    arms = frame[ARM].to_numpy(object)
    skipped = []
    for label in dict.fromkeys(labels):
        rows = np.flatnonzero(labels == label)
        ctrl = [r for r in rows if arms[r] == control]
        where = {key_names[k]: frame[k].iloc[rows[0]] for k in keys}
        if not ctrl:
            skipped.append(where)
            continue
        c = ctrl[0]
        for r in rows:
            if r == c:
                continue
            for q, m in enumerate(ms):
                records.append(
                    {
                        "metric": m.name,
                        "arm": arms[r],
                        **where,
                        "mean_t": est.mean[r, q],
                        "var_t": est.cov[r, q, q],
                        "mean_c": est.mean[c, q],
                        "var_c": est.cov[c, q, q],
                        "var_raw": est.var_unadjusted[r, q] + est.var_unadjusted[c, q],
                        "theta": est.theta[r, q],
                        "n_control": round(float(units[c])),
                        "n_treatment": round(float(units[r])),
                        "_row_t": r,
                        "_row_c": c,
                        "_q": q,
                    }
                )
    if skipped:
        warnings.warn(
            f"{len(skipped)} group(s) have no units in the control arm and are left out "
            f"(e.g. {skipped[0]})",
            AttributionWarning,
            stacklevel=4,
        )
    return records, est


def _table(
    records: list[dict[str, Any]],
    *,
    ms: Sequence[Metric],
    control: Any,
    alpha: float,
    lift_interval: str,
    keys: Sequence[str],
    degenerate: str,
) -> pd.DataFrame:
    rec = pd.DataFrame(records)
    diff, se = difference(rec["mean_t"], rec["var_t"], rec["mean_c"], rec["var_c"])
    terms = [arm_term(m, a, control) for m, a in zip(rec["metric"], rec["arm"], strict=True)]
    tab = wald_table(terms, diff, se, alpha=alpha, degenerate=degenerate)
    lift, lo, hi = relative_lift(
        rec["mean_t"],
        rec["var_t"],
        rec["mean_c"],
        rec["var_c"],
        alpha=alpha,
        method=lift_interval,  # type: ignore[arg-type]
    )
    role = {m.name: m.role for m in ms}
    out = pd.concat(
        [
            tab[list(TIDY_COLUMNS)],
            rec[["metric", "arm", *keys]].astype(object),
            pd.DataFrame(
                {
                    "control_mean": rec["mean_c"].to_numpy(float),
                    "treatment_mean": rec["mean_t"].to_numpy(float),
                    "n_control": rec["n_control"].astype("int64"),
                    "n_treatment": rec["n_treatment"].astype("int64"),
                    "lift": lift,
                    "lift_conf_low": lo,
                    "lift_conf_high": hi,
                    "role": [role[m] for m in rec["metric"]],
                    "cuped_var_raw": rec["var_raw"].to_numpy(float),
                    "cuped_theta": rec["theta"].to_numpy(float),
                }
            ),
        ],
        axis=1,
    )
    if "note" in tab:
        out["note"] = tab["note"]
    undefined = ~(
        np.isfinite(rec["mean_t"].to_numpy(float)) & np.isfinite(rec["mean_c"].to_numpy(float))
    )
    if undefined.any():  # a kept ratio whose denominator sums to 0 in an arm of a segment / surface
        why = "undefined in an arm of this group: the ratio's denominator sums to 0 there"
        prior = out["note"] if "note" in out else pd.Series(None, index=out.index, dtype=object)
        out["note"] = prior.astype(object).where(~undefined, why)
    return out


def _decide(tab: pd.DataFrame, ms: Sequence[Metric], alpha: float) -> list[str]:
    by_name = {m.name: m for m in ms}
    out = []
    for r in tab.itertuples(index=False):
        m = by_name[r.metric]
        if m.role == "primary":
            p = r.p_value_adjusted
            if not np.isfinite(p) or p >= alpha:
                out.append("inconclusive")
            else:
                out.append("win" if np.sign(r.estimate) == m.better else "loss")
        elif m.role == "guardrail":
            worst = r.lift_conf_low if m.better > 0 else r.lift_conf_high
            limit = (m.tolerated_loss_pct or 0.0) / 100.0
            ok = np.isfinite(worst) and (m.better * worst >= -limit)
            out.append("within tolerance" if ok else "breached")
        else:
            out.append("info")
    return out


def _srm(units: Mapping[Any, float], allocation: Mapping[Any, float] | None) -> Check:
    arms = list(units)
    obs = np.array([units[a] for a in arms], dtype=float)
    share = (
        np.full(len(arms), 1.0 / len(arms))
        if allocation is None
        else np.array([float(allocation[a]) for a in arms])
    )
    exp = share * obs.sum()
    chi2 = float(np.sum((obs - exp) ** 2 / exp))
    df = len(arms) - 1
    p = float(stats.chi2.sf(chi2, df))
    planned = "an equal split" if allocation is None else "the planned allocation"
    counts = ", ".join(f"{a}: {int(o):,}" for a, o in zip(arms, obs, strict=True))
    test = f"chi2 = {chi2:.3g} on {df} df, p = {p:.3g}"
    if p < SRM_THRESHOLD:
        detail = f"Sample-ratio mismatch: units per arm ({counts}) against {planned} ({test}): the assignment may be broken."
        warnings.warn(
            f"sample-ratio mismatch (p < {SRM_THRESHOLD}): units per arm {counts} against "
            f"{planned}; see result.checks",
            AttributionWarning,
            stacklevel=4,
        )
    else:
        detail = f"No sample-ratio mismatch: units per arm ({counts}) against {planned} ({test})."
    return Check("SRM", p >= SRM_THRESHOLD, detail, statistic=chi2, df=df, p_value=p)


def _estimate(
    roles: Roles,
    *,
    ms: tuple[Metric, ...],
    layout: Layout,
    value_cols: Sequence[str],
    control: Any,
    names: Mapping[str, str | None],
    time: str | None,
    cluster: str | None,
    correction: str,
    alpha: float,
    lift_interval: str,
    allocation: Mapping[Any, float] | None,
) -> ExperimentResult:
    t = roles.table
    c_seg = roles.names["segment"]
    c_surf, c_time = roles.names["surface"], roles.names["time"]
    key_names = {c: k for c, k in zip((c_seg, c_surf, c_time), KEYS, strict=True) if c}
    codes = _key_codes(t, c_surf) if c_surf and not cluster else None
    base = _gather(roles, ms=ms, layout=layout, value_cols=value_cols, key_codes=codes)
    if base.empty or int(base[N].sum()) == 0:
        raise DataError("the table is empty", columns=[ARM], fix="pass a table with rows")
    if int(base[ROWS].sum()) > int(base[NN_ARM].sum()) or base[ARM].isna().any():
        require_complete(t, [ARM], role="experiment", context=[roles["unit"]])
    if int(base[NULL_UNIT].sum()):
        require_complete(t, [roles["unit"]], role="experiment", context=[ARM])
    values = {
        vc: dict(zip(value_cols, roles.many("values"), strict=True)).get(vc.column, "")
        for vc in layout.columns
    }
    schema = t.schema()
    integer = {
        i: schema[values[vc]].is_integer()
        for i, vc in enumerate(layout.columns)
        if vc.how != "count"
    }
    zero_notes = req.check_moments(
        base,
        table=t,
        layout=layout,
        metrics=ms,
        user=roles.user,
        values=values,
        unit=roles["unit"],
        segment=c_seg,  # type: ignore[arg-type]
        integer=integer,
    )
    if c_seg is not None and base[c_seg].isna().any():
        require_complete(t, [c_seg], role="experiment", context=[roles["unit"]])
    arms = sorted(base[ARM].unique().tolist(), key=lambda a: (str(type(a)), a))
    req.check_arms(arms, arm=ARM, control=control, allocation=allocation)
    ctrl = req.choose_control(arms, control)

    # -- passes: whole population, then per surface / time (segments inside every pass) ---------
    passes: list[tuple[pd.DataFrame, tuple[str, ...]]] = [(base, ())]
    extra = [k for k in (c_surf, c_time) if k]
    for combo in ([c_surf], [c_time], [c_surf, c_time]):
        if all(combo) and set(combo) <= set(extra):
            direct = combo == [c_surf] and codes is not None and not int(base[DUPLICATE_KEYS].sum())
            frame = _gather(
                roles, ms=ms, layout=layout, value_cols=value_cols, by=combo, direct=direct
            )
            if frame[list(combo)].isna().to_numpy().any():  # a NULL key would read as "overall"
                require_complete(t, list(combo), role="experiment", context=[roles["unit"]])
            passes.append((frame, tuple(combo)))  # type: ignore[arg-type]
    parts = []
    overall_est: MetricEstimates | None = None
    overall_frame: pd.DataFrame | None = None
    for frame, by in passes:
        for keys in ([*by],) + (([*by, c_seg],) if c_seg else ()):
            sub = _collapse(frame, keys) if c_seg and c_seg not in keys else frame
            if c_seg and c_seg in keys:
                sub = sub.sort_values([ARM, *keys], kind="stable").reset_index(drop=True)
            records, est = _comparisons(
                sub, keys=keys, key_names=key_names, ms=ms, control=ctrl, layout=layout
            )
            if not records:
                continue
            if not keys:
                overall_est, overall_frame = est, sub
            cols = [key_names[k] for k in keys]
            part = _table(
                records,
                ms=ms,
                control=ctrl,
                alpha=alpha,
                lift_interval=lift_interval,
                keys=cols,
                degenerate="raise" if not keys else "warn",
            )
            parts.append(part)
    tab = pd.concat(parts, ignore_index=True)
    present = [k for k in KEYS if k in key_names.values()]
    for k in present:
        if k not in tab:
            tab[k] = None
        tab[k] = tab[k].astype(object).where(tab[k].notna(), None)
    fam = families(tab, keys=present)
    adj = np.full(len(tab), np.nan)
    for label in fam.unique():
        sel = (fam == label).to_numpy()
        adj[sel] = adjust(tab.loc[sel, "p_value"].to_numpy(float), correction)
    tab["p_value_adjusted"] = adj
    tab["decision"] = _decide(tab, ms, alpha)
    order = [
        *TIDY_COLUMNS,
        "metric",
        "arm",
        *present,
        "control_mean",
        "treatment_mean",
        "n_control",
        "n_treatment",
        "lift",
        "lift_conf_low",
        "lift_conf_high",
        "p_value_adjusted",
        "role",
        "decision",
    ]
    if "note" in tab:
        order.append("note")
    overall = np.ones(len(tab), bool)
    for k in present:
        overall &= tab[k].isna().to_numpy()

    # -- checks ---------------------------------------------------------------------------------
    assert overall_frame is not None and overall_est is not None
    units = dict(zip(overall_frame[ARM].tolist(), _units(overall_frame, layout), strict=True))
    checks = [_srm(units, allocation)]
    for m in ms:
        checks.append(
            Check(
                f"observed in every arm: {m.name}",
                True,
                f"Metric {m.name!r} has values in all {len(arms)} arms.",
            )
        )
    for name, note in zero_notes.items():
        checks.append(Check(f"zero denominators kept: {name}", None, f"Metric {name!r}: {note}."))
    if zero_notes:
        warnings.warn("; ".join(zero_notes.values()), AttributionWarning, stacklevel=3)
    cuped_rows = []
    for m in ms:
        if not m.covariate_columns:
            continue
        sel = overall & (tab["metric"] == m.name).to_numpy()
        for r in tab[sel].itertuples(index=False):
            raw, adjv = float(r.cuped_var_raw), float(r.std_error) ** 2
            red = 1.0 - adjv / raw if raw > 0 else float("nan")
            cuped_rows.append(
                {
                    "metric": m.name,
                    "arm": r.arm,
                    "theta": float(r.cuped_theta),
                    "variance_reduction": red,
                }
            )
            checks.append(
                Check(
                    f"CUPED: {m.name}, {r.arm}",
                    None,
                    f"Adjusting {m.name!r} for {' / '.join(m.covariate_columns)} (θ = "
                    f"{float(r.cuped_theta):.4g}) "
                    + ("cut" if red >= 0 else "raised")
                    + f" the variance of its difference ({r.arm} vs {ctrl}) by "
                    f"{abs(100 * red):.3g}%.",
                    statistic=red,
                )
            )
    if "segment" in present:
        rest = [k for k in present if k != "segment"]
        seg_rows = tab[tab["segment"].notna()]
        group_cols = ["metric", "arm", *rest]
        for key, grp in seg_rows.groupby(group_cols, sort=False, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            what = f"{key[0]}, {key[1]} vs {ctrl}" + "".join(
                f", {k} {v}" for k, v in zip(rest, key[2:], strict=True) if pd.notna(v)
            )
            checks.append(
                heterogeneity_check(
                    grp["estimate"].to_numpy(float),
                    grp["std_error"].to_numpy(float),
                    what=what,
                    alpha=alpha,
                )
            )
    cuped = pd.DataFrame(cuped_rows) if cuped_rows else None

    # -- joint covariance of the whole-population differences ----------------------------------
    rec_rows = [
        (r, q)
        for r in range(len(overall_frame))
        if overall_frame[ARM].iloc[r] != ctrl
        for q in range(len(ms))
    ]
    c_row = int(np.flatnonzero(overall_frame[ARM].to_numpy(object) == ctrl)[0])
    k = len(rec_rows)
    vc = np.empty((k, k))
    for a, (ra, qa) in enumerate(rec_rows):
        for b, (rb, qb) in enumerate(rec_rows):
            vc[a, b] = overall_est.cov[c_row, qa, qb] + (
                overall_est.cov[ra, qa, qb] if ra == rb else 0.0
            )
    vterms = [arm_term(ms[q].name, overall_frame[ARM].iloc[r], ctrl) for r, q in rec_rows]

    final = tab[order].reset_index(drop=True)
    n_rows = int(base[ROWS].sum())
    provenance = Provenance(
        design="experiment",
        data=fingerprint(roles.source, n_rows=n_rows),
        options={
            "arm": names["arm"],
            "unit": names["unit"],
            "metrics": [_describe(m) for m in ms],
            "control": ctrl,
            "segments": names["segments"],
            "surface": names["surface"],
            "time": time,
            "cluster": cluster,
            "correction": correction,
            "alpha": alpha,
            "lift_interval": lift_interval,
            "allocation": None if allocation is None else dict(allocation),
        },
    )
    return ExperimentResult(
        design="experiment",
        table=final,
        alpha=alpha,
        provenance=provenance,
        checks=tuple(checks),
        metrics=tuple(m.name for m in ms),  # type: ignore[misc]
        roles={m.name: m.role for m in ms},  # type: ignore[misc]
        arms=tuple(arms),
        control=ctrl,
        arm_column=str(names["arm"]),
        unit=str(names["unit"]),
        segments=names["segments"],
        surface=names["surface"],
        time=time,
        cluster=cluster,
        correction=correction,
        lift_interval=lift_interval,
        n_units={str(a): round(float(v)) for a, v in units.items()},
        cuped_table=cuped,
        vcov_table=pd.DataFrame(vc, index=vterms, columns=vterms),
    )


def _describe(m: Metric) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": m.KIND, "name": m.name, "role": m.role}
    if isinstance(m, Ratio):
        out |= {
            "numerator": m.numerator,
            "denominator": m.denominator,
            "zero_denominator": m.zero_denominator,
        }
    elif isinstance(m, Mean):
        out["column"] = m.column
    if m.covariate is not None:
        out["covariate"] = m.covariate
    if m.tolerated_loss_pct is not None:
        out["tolerated_loss_pct"] = m.tolerated_loss_pct
    out["direction"] = m.direction
    return out


def decompose_lift(
    data: Data,
    *,
    arm: str,
    unit: str,
    metric: Ratio | Sequence[str],
    control: str | int | None = None,
    alpha: float = 0.05,
) -> LiftDecomposition:
    """Split a metric's relative lift exactly, log-additively, into its factors.

    Why: "engagement per user rose 3%" hides whether users came more often or did more per
    visit. With `metric` a chain of columns ``[c0, c1, ..., ck]`` (e.g. ``["sessions",
    "engagement"]``), the per-unit mean of ck is the product mean(c0) × Σc1/Σc0 × … × Σck/Σck−1
    in every arm, so log(lift of mean ck) = Σ log(lift of each factor) exactly. With a `Ratio`,
    log(lift of Σnum/Σden) = log(lift of mean num) − log(lift of mean den): the numerator's and the
    denominator's movements. SEs of the pieces and of the total come from the joint covariance of
    the per-arm moments (delta method); the pieces are correlated, so their SEs do not add.
    """
    alpha = check_alpha(alpha)
    if isinstance(metric, Ratio):
        chain = [metric.denominator, metric.numerator]
        name, kind = metric.name, "ratio"
    else:
        if isinstance(metric, str) or not isinstance(metric, Sequence) or len(metric) < 2:
            raise DesignError(
                f"metric={metric!r} must be a Ratio or a chain of at least two columns",
                fix="e.g. metric=['sessions', 'engagement'] (engagement per user = sessions per "
                "user × engagement per session)",
            )
        chain = [str(c) for c in metric]
        if len(set(chain)) != len(chain) or not all(chain):
            raise DesignError(f"metric={chain} must name distinct columns")
        name, kind = f"{chain[-1]} per {unit}", "product"
    if control is not None and (not isinstance(control, str | int) or isinstance(control, bool)):
        raise DesignError(f"control={control!r} must be an arm value (a string or an integer)")
    # the moments of every chain column (per-unit sums), through the experiment's own checks
    ms = [Mean(c) for c in chain]
    req.check_request(
        arm=arm,
        unit=unit,
        metrics=ms,
        segments=None,
        surface=None,
        time=None,
        cluster=None,
        allocation=None,
    )
    table = as_table(data)
    layout = layout_for(ms)
    spec: dict[str, str] = {**dict.fromkeys(chain, "numeric"), arm: "key", unit: "key"}
    require_columns(table, spec, role="decompose_lift")
    roles = select_roles(table, {"arm": arm, "unit": unit, "values": chain})
    with roles.user_names():
        frame = _gather(roles, ms=ms, layout=layout, value_cols=chain)
        if frame.empty:
            raise DataError("the table is empty", fix="pass a table with rows")
        values = dict(zip(layout.columns, roles.many("values"), strict=True))
        integer = {
            i: roles.table.schema()[values[vc]].is_integer() for i, vc in enumerate(layout.columns)
        }
        req.check_moments(
            frame,
            table=roles.table,
            layout=layout,
            metrics=ms,
            user=roles.user,
            values=values,
            unit=roles["unit"],
            segment=None,
            integer=integer,
        )
        arms = sorted(frame[ARM].unique().tolist(), key=lambda a: (str(type(a)), a))
        req.check_arms(arms, arm=ARM, control=control, allocation=None)
        ctrl = req.choose_control(arms, control)
        st = arm_stats(frame, layout)
        arms_col = frame[ARM].to_numpy(object)
        c = int(np.flatnonzero(arms_col == ctrl)[0])
        rows = []
        for r in range(len(frame)):
            if r == c:
                continue
            pieces = log_lift_pieces(st, treatment=r, control=c, kind=kind)
            labels = pieces.names(chain)
            tab = wald_table(
                [f"log lift({name}): {arms_col[r]} vs {ctrl}"]
                + [f"log lift({p}): {arms_col[r]} vs {ctrl}" for p in labels],
                np.concatenate([[pieces.total], pieces.estimate]),
                np.concatenate([[pieces.total_se], pieces.std_error]),
                alpha=alpha,
            )
            tab["metric"] = name
            tab["arm"] = arms_col[r]
            tab["component"] = [None, *labels]
            tab["lift"] = np.expm1(tab["estimate"])
            rows.append(tab)
    out = pd.concat(rows, ignore_index=True)
    for col in ("metric", "arm", "component"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    units = dict(zip(arms_col.tolist(), frame[N].to_numpy(float), strict=True))
    return LiftDecomposition(
        design="decompose_lift",
        table=out,
        alpha=alpha,
        provenance=Provenance(
            design="decompose_lift",
            data=fingerprint(roles.source, n_rows=int(frame[ROWS].sum())),
            options={
                "arm": arm,
                "unit": unit,
                "metric": list(chain),
                "kind": kind,
                "control": ctrl,
                "alpha": alpha,
            },
        ),
        metric=name,
        pieces=tuple(log_lift_pieces(st, treatment=0, control=0, kind=kind).names(chain)),
        control=ctrl,
        arm_column=arm,
        unit=unit,
        n_units={str(a): int(v) for a, v in units.items()},
    )
