"""Sums of launch effects: the naive sum of shipped wins, the winner's-curse corrected sum and the
shrunk sum, overall and per surface, with the checks that set them beside the holdout.

Pure numpy/pandas over the small launch table (`request.launch_frame`); the formulas are in
`winners_curse` (Lee & Shen 2018) and `shrinkage` (DerSimonian–Laird, normal–normal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from attribution.designs.holdout import shrinkage, winners_curse
from attribution.designs.holdout.results import OVERALL
from attribution.inference import critical_value, wald_table
from attribution.options import plain
from attribution.results import Check

__all__ = ["LaunchSums", "holdout_by_surface", "impact_checks", "impact_table", "launch_sums"]

Row = tuple[str, str, float, float, int]
"""(term, surface, estimate, variance, launches)."""


@dataclass(frozen=True)
class LaunchSums:
    rows: list[Row]
    names: list[str]
    """The prior groups: the surfaces (or OVERALL alone)."""
    n_shipped: dict[str, int]
    per_launch: pd.DataFrame
    prior: pd.DataFrame
    selected: np.ndarray
    rule: np.ndarray
    shipped_given: bool
    random_effects: shrinkage.RandomEffects


def launch_sums(frame: pd.DataFrame, *, threshold: float, shipped_given: bool) -> LaunchSums:
    """The three sums overall and per surface (when the frame's `surface` is set).

    The shipped set is the `shipped` column when given, else the rule X/σ > threshold. One
    random-effects prior is fitted per surface: absolute effects scale with a surface's baseline.
    """
    b = threshold
    x = frame["estimate"].to_numpy(float)
    se = frame["std_error"].to_numpy(float)
    rule = winners_curse.selected(x, se, b)
    given = shipped_given and not frame["shipped"].isna().any()
    sel = frame["shipped"].to_numpy(bool) if given else rule
    by_surface = frame["surface"].notna().all()

    corr = winners_curse.corrected_terms(x, se, sel, b)
    corr_var = winners_curse.corrected_variance_terms(x, se, b)
    labels = frame["surface"].astype(str) if by_surface else pd.Series([OVERALL] * len(x))
    names = [str(s) for s in pd.unique(labels)]
    masks = np.array([(labels == s).to_numpy() for s in names])  # (groups, launches)
    re = shrinkage.dersimonian_laird(x, se, masks)
    mean, var, factor = shrinkage.posterior(x, se, re)
    own = np.array([names.index(s) for s in labels])
    cols = np.arange(len(x))
    shrunk, shrunk_var = shrinkage.shrunk_total(x, se, sel, re, masks)

    rows: list[Row] = [
        ("naive", OVERALL, float(x[sel].sum()), float(np.sum(se[sel] ** 2)), len(x)),
        ("winners_curse", OVERALL, float(corr.sum()), float(corr_var.sum()), len(x)),
        ("shrinkage", OVERALL, float(shrunk.sum()), float(shrunk_var.sum()), len(x)),
    ]
    n_shipped = {OVERALL: int(sel.sum())}
    if by_surface:
        for j, name in enumerate(names):
            g = masks[j]
            gs = g & sel
            k = int(g.sum())
            n_shipped[name] = int(gs.sum())
            rows += [
                ("naive", name, float(x[gs].sum()), float(np.sum(se[gs] ** 2)), k),
                ("winners_curse", name, float(corr[g].sum()), float(corr_var[g].sum()), k),
                ("shrinkage", name, float(shrunk[j]), float(shrunk_var[j]), k),
            ]
    per_launch = pd.DataFrame(
        {
            "launch": frame["launch"],
            "surface": frame["surface"],
            "estimate": x,
            "std_error": se,
            "z": x / se,
            "shipped": sel,
            "bias": winners_curse.bias_terms(x, se, b),
            "shrunk": mean[own, cols],
            "shrunk_std_error": np.sqrt(var[own, cols]),
            "shrinkage_factor": factor[own, cols],
        }
    )
    prior = pd.DataFrame(
        {
            "surface": names,
            "mean": re.mu,
            "mean_std_error": np.sqrt(re.mu_variance),
            "tau2": re.tau2,
            "q": re.q,
            "df": np.asarray(re.df).astype("int64"),
        }
    )
    return LaunchSums(
        rows=rows,
        names=names,
        n_shipped=n_shipped,
        per_launch=per_launch,
        prior=prior,
        selected=sel,
        rule=rule,
        shipped_given=given,
        random_effects=re,
    )


def holdout_by_surface(readout_table: pd.DataFrame, names: list[str]) -> list[Row]:
    """The holdout readout's last-period row of each launch surface it measured."""
    last = readout_table[readout_table["time"] == readout_table["time"].max()].set_index("surface")
    out: list[Row] = []
    for name in names:
        if name in last.index and np.isfinite(last.loc[name, "std_error"]):
            row = last.loc[name]
            out.append(("holdout", name, float(row["estimate"]), float(row["std_error"]) ** 2, 0))
    return out


def impact_table(rows: list[Row], n_shipped: dict[str, int], *, alpha: float) -> pd.DataFrame:
    """The tidy table: Wald intervals, then surface, n_launches, n_shipped (NA on holdout rows).

    A sum over no shipped launch is exactly 0 with no sampling error: its inference is NA."""
    est = np.array([r[2] for r in rows])
    se = np.sqrt(np.array([r[3] for r in rows]))
    table = wald_table([r[0] for r in rows], est, se, alpha=alpha, degenerate="absent")
    table["surface"] = [r[1] for r in rows]
    held = [r[0] == "holdout" for r in rows]
    table["n_launches"] = pd.array(
        [pd.NA if h else r[4] for r, h in zip(rows, held, strict=True)], "Int64"
    )
    table["n_shipped"] = pd.array(
        [pd.NA if h else n_shipped[r[1]] for r, h in zip(rows, held, strict=True)], "Int64"
    )
    return table


def impact_checks(
    table: pd.DataFrame, sums: LaunchSums, *, method: str, alpha: float, threshold: float
) -> tuple[Check, ...]:
    """Every tested launch present; ship decisions follow the rule; heterogeneity of the effects;
    the holdout against the headline (passed/failed) and against the naive sum (info)."""
    checks = []
    n, k = len(sums.selected), int(sums.selected.sum())
    checks.append(
        Check(
            "unshipped launches included",
            n > k,
            f"{n - k} of {n} launch tests did not ship"
            + (
                ""
                if n > k
                else ": the table seems to hold only the winners, but the winner's-curse "
                "correction and the random-effects prior need every tested launch"
            ),
        )
    )
    if sums.shipped_given:
        off = int((sums.selected != sums.rule).sum())
        checks.append(
            Check(
                "selection rule",
                off == 0,
                f"{off} launch(es) shipped against the rule estimate / std_error > "
                f"{threshold:.3g} that the correction assumes"
                if off
                else "every launch shipped exactly when estimate / std_error > "
                f"{threshold:.3g}, the rule the correction assumes",
            )
        )
    re = sums.random_effects
    q, df = float(np.sum(re.q)), int(np.sum(re.df))
    if df > 0:
        p_q = float(stats.chi2.sf(q, df))
        checks.append(
            Check(
                "heterogeneity of launch effects",
                None,
                f"Cochran's Q = {q:.3g} on {df} df (p = {p_q:.3g}"
                + (", summed over surfaces" if np.size(re.q) > 1 else "")
                + "): the launches' true effects "
                + ("differ" if p_q < alpha else "show no clear spread")
                + "; the random-effects prior is in result.prior",
                statistic=q,
                df=df,
                p_value=p_q,
            )
        )
    rows = table[table["surface"] == OVERALL].set_index("term")
    if "holdout" in rows.index:
        checks += _holdout_checks(rows, method=method, alpha=alpha)
    return tuple(checks)


def _holdout_checks(rows: pd.DataFrame, *, method: str, alpha: float) -> list[Check]:
    """z = (sum − holdout) / √(SE² + SE_h²): the launch tests and the holdout use other users."""
    h = rows.loc["holdout"]
    crit = critical_value(alpha)
    out = []
    for term, kind in ((method, "the headline"), ("naive", "the naive sum")):
        r = rows.loc[term]
        r_se = float(r["std_error"]) if np.isfinite(r["std_error"]) else 0.0
        z = (float(r["estimate"]) - float(h["estimate"])) / float(np.hypot(r_se, h["std_error"]))
        p = float(2 * stats.norm.sf(abs(z)))
        agrees = abs(z) <= crit
        out.append(
            Check(
                f"holdout agrees with {term}",
                agrees if term == method else None,
                f"{kind} ({term}) is {plain(round(float(r['estimate']), 6))} and the holdout "
                f"measured {plain(round(float(h['estimate']), 6))}: difference z = {z:.2f} "
                f"(p = {p:.3g}); "
                + ("within" if agrees else "outside")
                + f" the {100 * (1 - alpha):g}% range of sampling error",
                statistic=z,
                p_value=p,
            )
        )
    return out
