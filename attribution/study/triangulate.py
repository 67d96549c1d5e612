"""Triangulation: several designs' estimates of the same component side by side, and a test of
whether they disagree beyond what sampling noise explains.

Only the Result contract is read (`tidy()`, `headline`, `checks`, `baseline`, `sample_size`,
`alpha`, `provenance`). A design informs a component through its tidy row whose ``component`` is
that component (a contribution), or through its headline when it informs that one component alone.

Scale: estimates are compared in % of each result's own baseline when every result knows its
baseline (designs on different tables measure the metric on different scales: per user, per
unit-day), else on the metric's own (absolute) scale; `Triangulation.scale` says which. A baseline
is treated as known, so a percent's standard error is the estimate's scaled.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from attribution.errors import DesignError
from attribution.inference import critical_value
from attribution.options import check_alpha
from attribution.results import (
    COMPARE_COLUMNS,
    TIDY_COLUMNS,
    Comparison,
    Estimate,
    Result,
    to_jsonable,
)
from attribution.study.diagnostics import failed_diagnostics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from attribution.study.runs import DesignRun

__all__ = [
    "Triangulation",
    "check_runs",
    "component_estimates",
    "disagreement_test",
    "estimate_std_error",
    "triangulate",
]

Scale = Literal["relative", "absolute"]

TABLE_COLUMNS: tuple[str, ...] = (
    "component",
    "design_id",
    "design",
    "key_assumption",
    *TIDY_COLUMNS,
    "baseline",
    "pct",
    "pct_se",
    "pct_low",
    "pct_high",
    "sample_size",
    "diagnostics",
)
DISAGREEMENT_COLUMNS: tuple[str, ...] = (
    "component",
    "n_designs",
    "pooled",
    "pooled_se",
    "q",
    "df",
    "p_value",
    "i2",
    "flag",
    "shared_data",
    "text",
)
PAIR_COLUMNS: tuple[str, ...] = (
    "component",
    "design_a",
    "design_b",
    "difference",
    "std_error",
    "z",
    "p_value",
    "flag",
)


_RUN_FIELDS = ("id", "design", "metric", "estimates", "result", "key_assumption")


def check_runs(runs: Sequence[DesignRun]) -> None:
    """A sequence of design runs (anything with DesignRun's fields holding a Result)."""
    bad = isinstance(runs, str) or not isinstance(runs, Sequence)
    if not bad:
        bad = not all(
            all(hasattr(r, f) for f in _RUN_FIELDS) and isinstance(r.result, Result) for r in runs
        )
    if bad:
        raise DesignError(
            "design runs must be a sequence of DesignRun values (id, design, metric, estimates, "
            "result, key_assumption)",
            fix="pass the study's runs, e.g. [DesignRun(id='factorial', ...), ...]",
        )


def _tidy_component_rows(tab: pd.DataFrame) -> pd.Series:
    if "component" not in tab.columns:
        return pd.Series([None] * len(tab), index=tab.index, dtype=object)
    return tab["component"].map(lambda v: None if v is None or pd.isna(v) else str(v))


def component_estimates(
    run: DesignRun, *, columns: Mapping[str, str] | None = None
) -> dict[str, Estimate]:
    """Per component the run informs: its contribution row (tidy ``component`` equal to the
    component), else a row whose term is the component's name (a coefficient on its column),
    else the headline when the run informs exactly that one component.

    `columns` maps a component's name to the name the design used for it (its data column), when
    they differ; a run's own ``columns`` map (component → its column in the design's table, e.g.
    ``exposure_E``), when it has one, is read as well. Components the run names but does not report are left out. Estimates are on the
    metric's own scale; `triangulate` adds the percent of the result's baseline.
    """
    tab = run.result.tidy()
    comp = _tidy_component_rows(tab)
    given = dict(columns or {})
    own = dict(getattr(run, "columns", None) or {})  # the run's own map wins
    out: dict[str, Estimate] = {}
    for c in run.estimates:
        names = {c, given.get(c, c), own.get(c, c)}
        rows = tab[comp.isin(names)]
        if rows.empty:  # a coefficient named for the component (a regression on its column)
            rows = tab[comp.isna() & tab["term"].astype(str).isin(names)]
        if len(rows):
            out[c] = Estimate.from_row(
                rows.iloc[0], label=f"contribution of {c} to {run.metric} ({run.id})"
            )
        elif len(run.estimates) == 1:
            out[c] = run.result.headline
    return out


def estimate_std_error(est: Estimate, alpha: float) -> tuple[float | None, bool]:
    """The estimate's SE, or one read off its interval (half-width over the critical value);
    the flag says whether it was derived."""
    if est.std_error is not None and est.std_error > 0:
        return est.std_error, False
    if est.conf_low is not None and est.conf_high is not None and est.conf_high > est.conf_low:
        return (est.conf_high - est.conf_low) / (2 * critical_value(alpha)), True
    return None, False


def diagnostics_verdict(run: DesignRun) -> str:
    """'passed', 'failed: pre_trends, srm' (the families that failed) or 'not checked'."""
    failed = failed_diagnostics(run.result.checks)
    if failed:
        return "failed: " + ", ".join(failed)
    if any(c.passed is True for c in run.result.checks):
        return "passed"
    return "not checked"


def disagreement_test(
    estimates: Sequence[float], std_errors: Sequence[float], *, alpha: float
) -> dict[str, Any]:
    """Cochran's Q for k estimates of one quantity (inverse-variance weights).

    Q = Σ w_i (x_i − x̄_w)², w_i = 1/SE_i², x̄_w = Σ w_i x_i / Σ w_i, is χ² with k − 1 df when the
    estimates are independent and estimate the same quantity; I² = max(0, (Q − df)/Q) is the share
    of their spread beyond sampling noise; `flag` is p < alpha. Independence holds for designs on
    different data. Designs on the same data see the same noise, so their estimates are positively
    correlated and the variance of their difference is smaller than the sum Q assumes: Q is then
    too small and the test conservative (it flags less often than alpha when they agree, and can
    miss a real disagreement). For two designs Q is the square of the pairwise z statistic.
    """
    x = np.asarray(estimates, float)
    se = np.asarray(std_errors, float)
    k = len(x)
    if k < 2:
        return {
            "pooled": float(x[0]) if k else None,
            "pooled_se": float(se[0]) if k else None,
            "q": None,
            "df": None,
            "p_value": None,
            "i2": None,
            "flag": False,
        }
    w = 1.0 / se**2
    pooled = float(np.sum(w * x) / np.sum(w))
    q = float(np.sum(w * (x - pooled) ** 2))
    df = k - 1
    p = float(stats.chi2.sf(q, df))
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return {
        "pooled": pooled,
        "pooled_se": float(1.0 / math.sqrt(np.sum(w))),
        "q": q,
        "df": df,
        "p_value": p,
        "i2": i2,
        "flag": bool(p < alpha),
    }


def _pair_test(x1: float, s1: float, x2: float, s2: float, alpha: float) -> dict[str, Any]:
    """z test of the difference of two independent estimates (two-sided)."""
    se = math.sqrt(s1**2 + s2**2)
    z = (x1 - x2) / se
    p = float(2 * stats.norm.sf(abs(z)))
    return {"difference": x1 - x2, "std_error": se, "z": z, "p_value": p, "flag": p < alpha}


@dataclass(frozen=True)
class Triangulation:
    """Designs' estimates of each component side by side, with a disagreement test per component.

    `table`: one row per (component, design): the estimate with its pointwise interval (each
    result's own level), its percent of the result's baseline when known, the design's key
    assumption and its diagnostics verdict. `disagreement`: per component, Cochran's Q over the
    designs with a standard error, on `scale` (see `disagreement_test`). `pairs`: every pair of
    designs of a component, with a z test of their difference. `notes`: plain sentences about what
    was left out or approximated.
    """

    metric: str
    alpha: float
    scale: Scale
    table: pd.DataFrame = field(repr=False)
    disagreement: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if isinstance(value, pd.DataFrame):
            return value.copy(deep=False)
        return value

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.table["component"]))

    def flagged(self, component: str) -> bool:
        """Whether the designs disagree about `component` beyond sampling noise."""
        rows = self.disagreement[self.disagreement["component"] == component]
        return bool(len(rows) and rows["flag"].iloc[0])

    def test_of(self, component: str) -> dict[str, Any] | None:
        rows = self.disagreement[self.disagreement["component"] == component]
        return None if rows.empty else to_jsonable(rows.iloc[0].to_dict())

    def comparison(self) -> Comparison:
        """The rows as an `at.compare` Comparison on the compared scale (one row per component ×
        design), so its forest plot and table layout are reused."""
        tab = self.table
        rel = self.scale == "relative"
        est, lo, hi, se = (
            ("pct", "pct_low", "pct_high", "pct_se")
            if rel
            else ("estimate", "conf_low", "conf_high", "std_error")
        )
        rows = []
        for r in tab.to_dict(orient="records"):
            verdict = r["diagnostics"]
            label = (
                verdict.replace("failed: ", "FAILED ") if verdict != "passed" else "checks passed"
            )
            rows.append(
                {
                    "name": f"{r['component']} · {r['design_id']}",
                    "design": r["design"],
                    "label": label,
                    "term": r["term"],
                    "estimate": r[est],
                    "std_error": r[se],
                    "conf_low": r[lo],
                    "conf_high": r[hi],
                    "p_value": r["p_value"],
                    "sample_size": r["sample_size"],
                    "checks_passed": None,
                    "checks_failed": None,
                }
            )
        out = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
        for col in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
            out[col] = out[col].astype(float)
        out["sample_size"] = out["sample_size"].astype("Int64")
        return Comparison(table=out, alpha=self.alpha)

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """Forest plot (`Comparison.plot`): every design's estimate of every component, on the
        compared scale, labelled with its diagnostics verdict and any disagreement."""
        from attribution.report.plotting import new_axes

        fig, axes = new_axes(ax, width=8.0, height=0.5 * len(self.table) + 1.4)
        self.comparison().plot(ax=axes)
        unit = "% of baseline" if self.scale == "relative" else f"{self.metric} (absolute)"
        flagged = [c for c in self.components if self.flagged(c)]
        title = f"{self.metric} across designs"
        if flagged:
            title += f"\ndesigns disagree on {', '.join(flagged)}"
        axes.set_title(title)
        axes.set_xlabel(unit)
        return fig

    def summary(self) -> str:
        cols = [
            "component",
            "design_id",
            "design",
            "estimate",
            "conf_low",
            "conf_high",
            "pct",
            "diagnostics",
        ]
        lines = [
            f"triangulation of {self.metric} ({self.scale} scale)",
            self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"),
            "",
            *[f"- {t}" for t in self.disagreement["text"]],
            *[f"- {n}" for n in self.notes],
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON (NaN → None)."""
        return to_jsonable(
            {
                "metric": self.metric,
                "alpha": self.alpha,
                "scale": self.scale,
                "table": self.table,
                "disagreement": self.disagreement,
                "pairs": self.pairs,
                "notes": list(self.notes),
            }
        )


def _scale_factor(run: DesignRun) -> float | None:
    b = run.result.baseline
    if b is None or not math.isfinite(float(b)) or float(b) == 0.0:
        return None
    return 100.0 / float(b)


def _same_data(a: DesignRun, b: DesignRun) -> bool:
    da, db = a.result.provenance.data, b.result.provenance.data
    return da is not None and db is not None and da == db


def triangulate(
    runs: Sequence[DesignRun],
    *,
    metric: str,
    alpha: float,
    columns: Mapping[str, str] | None = None,
) -> Triangulation:
    """Lay the designs' estimates of each component side by side and test their agreement.

    `runs` of other metrics are ignored. `columns` maps component names to the names designs used
    for them (see `component_estimates`). Cochran's Q (and a z test per pair of designs) flags a
    component when p < `alpha`; see `disagreement_test` for what dependence between designs on
    the same data does to it.
    """
    alpha = check_alpha(alpha)
    check_runs(runs)
    ids = [r.id for r in runs]
    if len(set(ids)) != len(ids):
        raise DesignError(f"design run ids must be distinct, got {ids}")
    mine = [r for r in runs if r.metric == metric]
    if not mine:
        raise DesignError(
            f"no design was run on metric {metric!r}",
            fix=f"the runs are on {sorted({r.metric for r in runs})}",
        )
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    for run in mine:
        f = _scale_factor(run)
        verdict = diagnostics_verdict(run)
        ests = component_estimates(run, columns=columns)
        missing = [c for c in run.estimates if c not in ests]
        if missing:
            notes.append(
                f"{run.id} informs {', '.join(missing)} but reports no per-component estimate "
                f"of {'it' if len(missing) == 1 else 'them'}; it enters only the combined launch"
            )
        for c, e in ests.items():
            se, derived = estimate_std_error(e, run.result.alpha)
            if derived:
                notes.append(
                    f"{run.id}'s standard error for {c} is read off its interval "
                    "(half-width over the normal critical value)"
                )
            rows.append(
                {
                    "component": c,
                    "design_id": run.id,
                    "design": run.design,
                    "key_assumption": run.key_assumption,
                    "term": e.term,
                    "estimate": e.estimate,
                    "std_error": se,
                    "conf_low": e.conf_low,
                    "conf_high": e.conf_high,
                    "p_value": e.p_value,
                    "baseline": run.result.baseline,
                    "pct": None if f is None else e.estimate * f,
                    "pct_se": None if f is None or se is None else se * abs(f),
                    "pct_low": None if f is None or e.conf_low is None else e.conf_low * f,
                    "pct_high": None if f is None or e.conf_high is None else e.conf_high * f,
                    "sample_size": run.result.sample_size,
                    "diagnostics": verdict,
                }
            )
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    for col in (
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "p_value",
        "baseline",
        "pct",
        "pct_se",
        "pct_low",
        "pct_high",
    ):
        table[col] = table[col].astype(float)
    table["sample_size"] = table["sample_size"].astype("Int64")
    scale: Scale = "relative" if len(table) and table["pct"].notna().all() else "absolute"
    if scale == "absolute" and len(table) and table["pct"].notna().any():
        unknown = sorted(set(table.loc[table["pct"].isna(), "design_id"]))
        notes.append(
            f"compared on the absolute scale: {', '.join(unknown)} "
            f"{'does' if len(unknown) == 1 else 'do'} not know {'its' if len(unknown) == 1 else 'their'} "
            "baseline, so percents cannot be compared; the absolute comparison is fair only if "
            "every design measures the metric in the same units (per user, per unit-day ...), "
            "otherwise a disagreement may be one of scale"
        )
    x_col, se_col = ("pct", "pct_se") if scale == "relative" else ("estimate", "std_error")
    by_id = {r.id: r for r in mine}
    tests, pairs = [], []
    for c in dict.fromkeys(table["component"]):
        sub = table[table["component"] == c]
        usable = sub[sub[se_col].notna() & (sub[se_col] > 0)]
        dropped = sorted(set(sub["design_id"]) - set(usable["design_id"]))
        if dropped:
            notes.append(
                f"{', '.join(dropped)} gave no standard error for {c}, so "
                f"{'it is' if len(dropped) == 1 else 'they are'} shown but not tested"
            )
        res = disagreement_test(usable[x_col], usable[se_col], alpha=alpha)
        shared = any(
            _same_data(by_id[a], by_id[b])
            for a, b in itertools.combinations(usable["design_id"], 2)
        )
        k = len(usable)
        if k < 2:
            text = (
                f"{c}: {k} design{'s' if k != 1 else ''} with a standard error, nothing to compare"
            )
        else:
            text = (
                f"{c}: the {k} designs {'disagree' if res['flag'] else 'agree'} "
                f"(Cochran's Q = {res['q']:.3g} on {res['df']} df, p = {res['p_value']:.3g}, "
                f"I² = {100 * res['i2']:.0f}%)"
            )
            if shared:
                text += "; some read the same data, so the test is conservative"
        tests.append({"component": c, "n_designs": k, **res, "shared_data": shared, "text": text})
        recs = usable.to_dict(orient="records")
        for a, b in itertools.combinations(recs, 2):
            pairs.append(
                {
                    "component": c,
                    "design_a": a["design_id"],
                    "design_b": b["design_id"],
                    **_pair_test(a[x_col], a[se_col], b[x_col], b[se_col], alpha),
                }
            )
    return Triangulation(
        metric=metric,
        alpha=alpha,
        scale=scale,
        table=table,
        disagreement=pd.DataFrame(tests, columns=list(DISAGREEMENT_COLUMNS)),
        pairs=pd.DataFrame(pairs, columns=list(PAIR_COLUMNS)),
        notes=tuple(dict.fromkeys(notes)),
    )
