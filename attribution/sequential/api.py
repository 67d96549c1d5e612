"""Public entry points of sequential monitoring: `boundaries`, `monitor_statistics`, `monitor`.

Thin orchestration: request checks (request.py) → engine aggregates (stats.py) → math
(group_sequential.py, always_valid.py) → results (results.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from attribution.data.checks import require_complete
from attribution.data.engine import Data, as_table, fingerprint, require_columns
from attribution.data.numeric import check_outcome
from attribution.data.roles import select_roles
from attribution.designs.experiment.delta import arm_estimates
from attribution.designs.experiment.stats import N
from attribution.errors import DataError, DesignError, OptionError
from attribution.inference import wald_table
from attribution.metrics import Direction, Metric, Proportion, Ratio
from attribution.options import (
    BoundaryMethod,
    Futility,
    MonitorMethod,
    check_alpha,
    check_float,
    check_option,
    plain,
)
from attribution.results import Check, Provenance
from attribution.sequential import always_valid as av
from attribution.sequential import group_sequential as gs
from attribution.sequential import request as req
from attribution.sequential import stats as st
from attribution.sequential.results import (
    BOUNDARY_COLUMNS,
    METHOD_WORDS,
    Boundaries,
    MonitorResult,
    look_label,
)

__all__ = ["boundaries", "monitor", "monitor_statistics"]


# ------------------------------------------------------------------------------------------------
# group-sequential boundaries
# ------------------------------------------------------------------------------------------------
def boundaries(
    information_fractions: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    method: BoundaryMethod = "obrien_fleming",
    futility: Futility | None = None,
    power: float = 0.9,
) -> Boundaries:
    """Two-sided efficacy z-boundaries of a group-sequential test, one per look.

    Why: looking at an experiment before its planned end and stopping when |Z| ≥ 1.96 inflates the
    false-positive rate; boundaries that are stricter at early looks keep the overall level alpha.

    information_fractions: the share of the planned information (≈ sample size) at each look,
        strictly increasing in (0, 1]; at least two looks.
    method: "obrien_fleming" (O'Brien & Fleming 1979: c_k = C / sqrt(t_k)) or "pocock" (Pocock
        1977: c_k = C), planned looks ending at 1; "lan_demets_obrien_fleming" or
        "lan_demets_pocock" (Lan & DeMets 1983 alpha spending, any increasing fractions; the last
        may be short of 1 at an interim analysis, then only the alpha spent so far is used).
    futility: None (default), or "beta_spending": non-binding futility bounds (stop when
        Z_k < z_futility; a positive Z favours the treatment) spending beta = 1 − `power` with the
        spending function of the efficacy bound's family, for the alternative that gives this power
        (the gsDesign "test.type = 4" construction). Non-binding: the efficacy bounds ignore them, so
        alpha holds whether or not one stops. Needs the last fraction to be 1.
    power: the design's power, for the futility bounds only.

    All probabilities come from the recursive numerical integration of the group-sequential
    distribution (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19). Five equal
    looks at alpha = 0.05 give O'Brien–Fleming 4.562, 3.226, 2.634, 2.281, 2.040 and Pocock 2.413
    (Jennison & Turnbull 2000, Tables 2.3 and 2.1).
    """
    alpha = check_alpha(alpha)
    method = check_option("method", method, BoundaryMethod)
    if futility is not None:
        futility = check_option("futility", futility, Futility)
    power = check_float("power", power, low=alpha, high=1.0, low_open=True, high_open=True)
    classical = not method.startswith("lan_demets")
    t = req.check_fractions(
        information_fractions,
        last_must_be_one=classical or futility is not None,
        why=" (the classical boundaries are for the planned looks)"
        if classical
        else " (futility bounds are designed for the full information)",
    )
    kind = method.removeprefix("lan_demets_")
    solve = gs.classical_bounds if classical else gs.spending_bounds
    c = solve(t, alpha, kind)
    up, dn = gs.crossing_probabilities(t, c, -c)
    spent = up + dn
    table = pd.DataFrame(
        {
            "look": np.arange(1, t.size + 1),
            "information_fraction": t,
            "z_efficacy": c,
            "nominal_alpha": 2.0 * special.ndtr(-c),
            "alpha_spent": spent,
            "cumulative_alpha": np.cumsum(spent),
        },
        columns=list(BOUNDARY_COLUMNS),
    )
    drift = inflation = None
    if futility is not None:
        f, drift = gs.futility_bounds(t, c, alpha=alpha, power=power, kind=kind)
        _, below = gs.crossing_probabilities(t, c, f, drift=drift)
        table["z_futility"] = f
        table["beta_spent"] = below
        table["cumulative_beta"] = np.cumsum(below)
        fixed = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
        inflation = float((drift / fixed) ** 2)
    return Boundaries(
        method=method,
        alpha=alpha,
        table=table,
        futility=futility,
        power=power if futility is not None else None,
        drift=drift,
        inflation=inflation,
    )


# ------------------------------------------------------------------------------------------------
# always-valid monitoring on per-look statistics
# ------------------------------------------------------------------------------------------------
def monitor_statistics(
    estimates: Sequence[float] | np.ndarray,
    variances: Sequence[float] | np.ndarray,
    *,
    method: MonitorMethod = "msprt",
    alpha: float = 0.05,
    tau2: float | None = None,
    sample_sizes: Sequence[float] | np.ndarray | None = None,
    horizon: float | None = None,
    direction: Direction = "increase",
    looks: Sequence[object] | None = None,
) -> pd.DataFrame:
    """Always-valid interval, p-value and decision per look from cumulative estimates.

    Why: an experiment read every day needs inference that stays valid whenever one stops; these
    intervals hold at every look at once and the p-value may be compared with alpha at any look.

    estimates, variances: per look, the cumulative difference in means (treatment − control) and
        its variance, in time order.
    method: "msprt" (mixture SPRT, Johari et al. 2017/2022; normal mixing distribution N(0, tau2))
        or "confidence_sequence" (asymptotic confidence sequence, Waudby-Smith et al. 2023,
        Gaussian-mixture boundary; needs `sample_sizes`).
    tau2: mSPRT mixing variance, in squared units of the effect (e.g. the square of the effect size
        one expects). Default: the variance that makes the interval narrowest at the last look given
        (`always_valid.optimal_ratio(alpha)` × its variance), i.e. the last look is the planned
        horizon; fix it in advance when monitoring live.
    sample_sizes: units behind each look (both arms), for the confidence sequence.
    horizon: the sample size at which the confidence sequence is tuned to be narrowest (default:
        the last look's).
    direction: "increase" if a positive difference is good (else "decrease"): decides whether a
        significant look stops for efficacy or for harm.
    looks: labels of the looks (default 1, 2, ...).

    Returns one row per look: `look`, `estimate`, `std_error`, `conf_low`/`conf_high` and `p_value`
    (fixed-sample, pointwise: not valid after peeking), `conf_low_uniform`/`conf_high_uniform` (the
    always-valid interval), `p_value_always_valid` (running minimum) and `decision`.
    """
    alpha = check_alpha(alpha)
    method = check_option("method", method, MonitorMethod)
    direction = check_option("direction", direction, Direction)
    est, var, n = req.check_series(estimates, variances, sample_sizes)
    labels = req.check_terms(looks, est.size)
    ratio = _mixture_ratio(var, n, method=method, alpha=alpha, tau2=tau2, horizon=horizon)
    lo, hi, p = av.always_valid(est, var, ratio, alpha=alpha)
    se = np.sqrt(var)
    table = wald_table([f"look {x}" for x in labels], est, se, alpha=alpha)
    table.insert(len(table.columns), "look", labels)
    table["conf_low_uniform"] = lo
    table["conf_high_uniform"] = hi
    table["p_value_always_valid"] = p
    table["decision"] = av.decisions(
        est, p, alpha=alpha, better=1 if direction == "increase" else -1
    )
    return table


def _mixture_ratio(
    var: np.ndarray,
    n: np.ndarray | None,
    *,
    method: str,
    alpha: float,
    tau2: float | None,
    horizon: float | None,
) -> np.ndarray:
    """r_k = mixing variance / V_k of the normal-mixture boundary, per look."""
    best = av.optimal_ratio(alpha)
    if method == "msprt":
        if horizon is not None:
            raise OptionError(
                "horizon= tunes the confidence sequence; the mSPRT is tuned by tau2=",
                fix="drop horizon, or use method='confidence_sequence'",
            )
        if tau2 is None:
            tau2 = best * float(var[-1])
        tau2 = check_float("tau2", tau2, low=0.0, low_open=True)
        return tau2 / var
    if tau2 is not None:
        raise OptionError(
            "tau2= is the mSPRT's mixing variance; the confidence sequence is tuned by horizon=",
            fix="drop tau2, or use method='msprt'",
        )
    if n is None:
        raise OptionError(
            "method='confidence_sequence' needs sample_sizes (units behind each look): its mixture "
            "follows the estimated unit-level variance n × variance",
            fix="pass sample_sizes=[...], one per look",
        )
    h = float(n[-1]) if horizon is None else check_float("horizon", horizon, low=0.0, low_open=True)
    rho2 = best / h
    return rho2 * n


# ------------------------------------------------------------------------------------------------
# monitoring an experiment table
# ------------------------------------------------------------------------------------------------
def monitor(
    data: Data,
    *,
    arm: str,
    unit: str,
    metric: str | Metric,
    time: str,
    control: str | int | None = None,
    method: MonitorMethod = "confidence_sequence",
    alpha: float = 0.05,
    tau2: float | None = None,
    horizon: float | None = None,
) -> MonitorResult:
    """Monitor an experiment look by look (each distinct `time` value) with always-valid inference.

    Why: the per-day readout of a running experiment is read before its end; always-valid intervals
    and p-values keep their level however often one looks and whenever one stops.

    data: one row per unit × time (or finer): a unit's value at a look comes from its rows up to
        that time (e.g. engagement so far). Per-look moments are the experiment family's
        `unit_moments` over those rows, computed in the engine; only per look × arm sums come back.
    arm: the assignment column; `control`: its control value (default: "control" if that is a
        value, else the smallest value).
    unit: the randomisation unit (each must stay in one arm).
    metric: a column name (a `Mean`) or an `at.metrics.Mean` / `Proportion` / `Ratio`, estimated at
        each look exactly as `at.experiment` does (delta method for ratios, CUPED with the metric's
        covariate, slopes pooled over the arms of a look); its name labels the result and its
        direction decides efficacy vs harm.
    time: the look column (a day, a date): every distinct value is a look.
    method: "confidence_sequence" (default; Waudby-Smith et al. 2023, tuned to be narrowest at
        `horizon` units, default the last look's) or "msprt" (Johari et al.; mixing variance `tau2`,
        default tuned to the last look's variance).
    Looks before both arms have two units with varying values are skipped (a check says which).
    Several treatment arms are each monitored against control, without multiplicity adjustment.
    """
    alpha = check_alpha(alpha)
    method = check_option("method", method, MonitorMethod)
    m = req.check_monitor_request(
        arm=arm, unit=unit, metric=metric, time=time, control=control, tau2=tau2, horizon=horizon
    )
    table = as_table(data)
    value_cols = list(dict.fromkeys(m.columns))
    spec = {**dict.fromkeys(value_cols, "numeric"), arm: "key", unit: "key", time: "key"}
    require_columns(table, spec, role="monitor")
    roles = select_roles(table, {"values": value_cols, "arm": arm, "unit": unit, "time": time})
    with roles.user_names():
        t = roles.table
        c_vals = dict(zip(value_cols, roles.many("values"), strict=True))
        c_arm, c_unit, c_time = roles["arm"], roles["unit"], roles["time"]
        require_complete(
            t, [*c_vals.values(), c_arm, c_unit, c_time], role="monitor", context=[c_unit]
        )
        outcome = m.numerator if isinstance(m, Ratio) else m.column  # type: ignore[attr-defined]
        check_outcome(t, c_vals[outcome], label=outcome)
        if isinstance(m, Proportion):
            req.check_binary(t, c_vals[m.column], label=m.column)
        n_mixed, examples = st.mixed_units(t, arm=c_arm, unit=c_unit)
        if n_mixed:
            raise DesignError(
                f"{n_mixed:,} unit(s) of {unit!r} appear in more than one arm; a randomised unit "
                "must keep its arm",
                columns=[unit, arm],
                rows=examples.rename(columns={c_unit: unit}),
                fix="fix the assignment log (or the join that built the table)",
            )
        at_looks = st.looks(t, time=c_time)
        n_rows = int(t.count().execute())
    if not at_looks:
        raise DataError("monitor: the table is empty", fix="pass a table with rows")
    moments = st.look_moments(table, arm=arm, unit=unit, metric=m, time=time, at=at_looks)
    means = _arm_means(moments, m, arm=arm)
    arms = sorted(means["arm"].unique().tolist())
    if control is None:
        control = "control" if "control" in arms else arms[0]
    if control not in arms:
        raise DesignError(
            f"control={plain(control)} is not a value of {arm!r} (values: {plain(arms)})",
            columns=[arm],
            fix="pass the control arm's value as it appears in the data",
        )
    treated = [a for a in arms if a != control]
    if not treated:
        raise DesignError(
            f"{arm!r} holds only the control arm {plain(control)}: nothing to compare",
            columns=[arm],
            fix="pass data with at least one treatment arm",
        )
    frames, checks = [], []
    for a in treated:
        part, skipped = _arm_series(means, a, control)
        if part.empty:
            raise DesignError(
                f"arm {plain(a)} never has two units with varying {m.column!r} in both arms at "
                "any look: nothing to monitor",
                columns=[arm, m.column],
                fix="monitor once each arm has at least two units",
            )
        if skipped:
            checks.append(
                Check(
                    f"looks skipped ({a})",
                    None,
                    f"{len(skipped)} early look(s) of arm {a} had fewer than two units or no "
                    f"variation in an arm and were skipped: {', '.join(map(str, skipped[:5]))}",
                )
            )
        out = monitor_statistics(
            part["estimate"].to_numpy(),
            part["variance"].to_numpy(),
            method=method,
            alpha=alpha,
            tau2=tau2,
            sample_sizes=(part["n_treatment"] + part["n_control"]).to_numpy(float)
            if method == "confidence_sequence"
            else None,
            horizon=horizon,
            direction=m.direction,
            looks=part["time"].tolist(),
        )
        if method == "msprt":
            used = tau2 if tau2 is not None else av.optimal_ratio(alpha) * part["variance"].iloc[-1]
            tuning = f"mixing variance tau2 = {used:.4g}" + (
                "" if tau2 is not None else " (narrowest interval at the last look)"
            )
        else:
            n_last = int(part["n_treatment"].iloc[-1] + part["n_control"].iloc[-1])
            tuning = f"narrowest interval at {horizon if horizon is not None else n_last:,.0f} " + (
                "units" if horizon is not None else "units (the last look)"
            )
        checks.append(
            Check(f"always-valid tuning ({a})", None, f"{METHOD_WORDS[method]}: {tuning}")
        )
        out = out.drop(columns="look")
        out["term"] = [f"{m.name}: {a} vs {control} (time={look_label(x)})" for x in part["time"]]
        out["time"] = part["time"].to_numpy()
        out["metric"] = m.name
        out["arm"] = a
        for col in ("n_treatment", "n_control", "treatment_mean", "control_mean"):
            out[col] = part[col].to_numpy()
        frames.append(out)
    result_table = pd.concat(frames, ignore_index=True)
    cols = [c for c in result_table.columns if c != "decision"] + ["decision"]
    result_table = result_table[cols]
    stops = result_table.loc[result_table["decision"] != "continue"].groupby("arm").head(1)
    stops = stops[["arm", "time", "decision"]].reset_index(drop=True)
    provenance = Provenance(
        design="sequential.monitor",
        data=fingerprint(roles.source, n_rows=n_rows),
        options={
            "arm": arm,
            "unit": unit,
            "metric": m.name,
            "time": time,
            "control": control,
            "method": method,
            "alpha": alpha,
            "tau2": tau2,
            "horizon": horizon,
        },
    )
    return MonitorResult(
        design="sequential.monitor",
        table=result_table,
        alpha=alpha,
        provenance=provenance,
        checks=tuple(checks),
        method=method,
        metric=m.name,
        control=str(control),
        stopped_at=stops,
    )


def _arm_means(moments: pd.DataFrame, metric: Metric, *, arm: str) -> pd.DataFrame:
    """Per look × arm: units, the metric's estimate and its variance (the experiment family's
    delta method and CUPED, `delta.arm_estimates`); NaN variance under two units."""
    mean, var = arm_estimates(moments, metric)
    n = moments[N].to_numpy(float)
    return pd.DataFrame(
        {
            "time": moments[st.LOOK].to_numpy(),
            "arm": moments[arm].to_numpy(),
            "n": n.astype("int64"),
            "mean": mean,
            "var_of_mean": np.where(n >= 2, var, np.nan),
        }
    )


def _arm_series(means: pd.DataFrame, arm: object, control: object) -> tuple[pd.DataFrame, list]:
    """Per look: means, variances and counts of one treatment arm and control (looks where both
    have two units with varying values); the skipped looks."""
    cols = ["time", "n", "mean", "var_of_mean"]
    tr = means.loc[means["arm"] == arm, cols]
    co = means.loc[means["arm"] == control, cols]
    both = tr.merge(co, on="time", how="outer", suffixes=("_t", "_c")).sort_values("time")
    out = pd.DataFrame({"time": both["time"].to_numpy()})
    for side, name in (("t", "treatment"), ("c", "control")):
        out[f"n_{name}"] = both[f"n_{side}"].fillna(0).astype("int64").to_numpy()
        out[f"{name}_mean"] = both[f"mean_{side}"].to_numpy(float)
    v = both["var_of_mean_t"].to_numpy(float) + both["var_of_mean_c"].to_numpy(float)
    ok = np.isfinite(v) & (v > 0)
    out["estimate"] = out["treatment_mean"] - out["control_mean"]
    out["variance"] = v
    skipped = out.loc[~ok, "time"].tolist()
    return out.loc[ok].reset_index(drop=True), skipped
