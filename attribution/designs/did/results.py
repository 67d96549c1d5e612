"""Every result type of the difference-in-differences family, on the one `Result` contract.

- `AttGtResult` (att_gt): ATT(g,t) rows; headline the simple-weighted overall ATT (as
  ``aggte(type="simple")`` computes it); R `did`'s Wald pre-test as a check.
- `AggteResult` (aggte): rows by event time / group / period; headline its overall ATT.
- `TwfeResult` (twfe, did_2x2): regression coefficients; headline the treatment coefficient.
- `EventStudyResult` (event_study, sun_abraham, launch_event_study, stacked_did): one row per event
  time; headline the average post-period effect with its SE from the coefficients' covariance.
- `HonestResult` (honest_did): robust intervals over M / M̄; headline θ with the conventional
  interval; the breakdown value as a check.
- `OverlapReport` (rollout_overlap): a diagnostic, not an estimate (`to_check()` makes it a Check).

Intervals in every tidy table are pointwise; a simultaneous (sup-t) band sits beside them in
``conf_low_uniform`` / ``conf_high_uniform`` (event studies always; att_gt / aggte with cband=True).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import DesignError
from attribution.inference import wald_table
from attribution.results import Check, Estimate, Result, to_jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from attribution.designs.did.influence import Influence

__all__ = [
    "AggteResult",
    "AttGtResult",
    "EventStudyResult",
    "HonestResult",
    "OverlapReport",
    "TwfeResult",
    "breakdown_check",
    "pretrend_check",
]

_PRE, _POST = "tab:red", "tab:blue"  # R ggdid: pre-treatment red, post-treatment blue


# ------------------------------------------------------------------------------------------------
# checks shared by the results
# ------------------------------------------------------------------------------------------------
PRETREND = "pre-trend test"


def pretrend_check(
    statistic: float, df: float, p_value: float, *, alpha: float, what: str
) -> Check:
    """The joint Wald (chi²) test that every pre-treatment estimate is zero, as a Check.

    ``passed`` is True when the test does not reject at level `alpha` (p ≥ alpha): no evidence
    against parallel pre-trends — which is not evidence for them (a low-powered test passes too).
    None when the statistic could not be computed.
    """
    if not (math.isfinite(statistic) and math.isfinite(p_value)):
        return Check(
            name=PRETREND,
            passed=None,
            detail=f"not computed: no usable {what} (none, or their covariance is singular)",
            df=df if df else None,
        )
    ok = p_value >= alpha
    verdict = (
        f"no evidence against parallel pre-trends at the {100 * alpha:g}% level"
        if ok
        else f"the {what} are jointly different from zero at the {100 * alpha:g}% level"
    )
    return Check(
        name=PRETREND,
        passed=ok,
        detail=f"Wald test that all {what} are zero: chi2 = {statistic:.4g} on {df:g} df, "
        f"p = {p_value:.3g}; {verdict}",
        statistic=statistic,
        df=df,
        p_value=p_value,
    )


def breakdown_check(breakdown: float, *, method: str, e: int) -> Check:
    """HonestDiD's breakdown value as a Check: passed when the effect survives some violation.

    ``passed`` is True when the breakdown value is > 0 (the conventional interval excludes 0 and
    stays away from it under violations of parallel trends up to that size), False when even the
    conventional (or the M = 0) interval covers 0.
    """
    par = "M" if method == "smoothness" else "Mbar"
    b = float(breakdown)
    if math.isnan(b):
        detail = (
            f"the effect at event time {e} is not significant even without violations of "
            "parallel trends, so there is no breakdown value"
        )
        passed = False
    elif math.isinf(b):
        detail = f"the effect at event time {e} stays significant for every {par} on the grid"
        passed = True
    else:
        detail = (
            f"the effect at event time {e} stays significant for violations up to {par} = {b:.4g}"
        )
        passed = b > 0
    return Check(name="breakdown value", passed=passed, detail=detail, statistic=b)


def _baseline(treated_mean: float | None, headline: Estimate) -> float | None:
    """The treated cells' counterfactual mean: their mean observed outcome (weighted as the headline
    weights its cells) minus the headline effect, so headline / baseline is the relative lift."""
    if treated_mean is None or not math.isfinite(treated_mean):
        return None
    return float(treated_mean - headline.estimate)


# ------------------------------------------------------------------------------------------------
# Callaway & Sant'Anna
# ------------------------------------------------------------------------------------------------
def _uniform_or_pointwise(tab: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The band to draw: the uniform one when the table has it, else the pointwise interval."""
    if "conf_low_uniform" in tab.columns:
        return tab["conf_low_uniform"].to_numpy(float), tab["conf_high_uniform"].to_numpy(float)
    return tab["conf_low"].to_numpy(float), tab["conf_high"].to_numpy(float)


@dataclass(frozen=True, kw_only=True)
class AttGtResult(Result):
    """Group-time ATTs. ``tidy()``: one row per (group, time) with event_time and a post flag;
    terms ``ATT(g=2004,t=2005)``. With cband=True the uniform band is in ``conf_*_uniform``.

    ``headline`` (and ``overall``) is the simple-weighted overall ATT, the number
    ``aggte(result, type="simple", na_rm=True).overall`` reports (over the estimable
    post-treatment cells; its label says when NA cells are left out). NA cells (propensity
    separation, or no treated / comparison observations under a universal base period) carry the
    reason in a ``note`` column.
    The influence-function representation needed by `aggte` is kept as an internal field.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("group_time", "estimates")

    overall: Estimate
    control_group: str
    est_method: str
    base_period: str
    anticipation: float
    xformla: str | None
    n_units: int
    periods: tuple[float, ...]
    cohorts: tuple[float, ...]
    cohort_sizes: tuple[int, ...]
    n_never_treated: int
    balanced: bool
    clustervars: tuple[str, ...]
    bstrap: bool
    biters: int
    cband: bool
    seed: int
    critical_value: float
    """Critical value of the uniform band when cband=True, else of the pointwise intervals."""
    pretest_wald: float
    """R `did`'s Wald statistic for 'every pre-treatment ATT(g,t) is zero' (NaN if singular)."""
    pretest_pvalue: float
    pretest_df: int
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})
    influence: Influence = field(repr=False, metadata={"internal": True})
    cell_means: np.ndarray | None = field(default=None, repr=False, metadata={"internal": True})
    """Per table row: the treated cohort's observed mean outcome in that period (aggte reads it)."""
    treated_mean: float | None = None
    """Mean observed outcome of the post-treatment cells, weighted as the headline weights them."""

    @property
    def headline(self) -> Estimate:
        return self.overall

    @property
    def sample_size(self) -> int:
        return int(self.n_units)

    @property
    def baseline(self) -> float | None:
        """The treated cells' counterfactual mean (`treated_mean` minus the overall ATT)."""
        return _baseline(self.treated_mean, self.overall)

    def summary(self) -> str:
        """The tidy table plus what R `did` prints under it (comparison group, pre-test)."""
        control = {"nevertreated": "never treated", "notyettreated": "not yet treated"}
        band = "uniform band" if self.cband else "pointwise intervals"
        pre = (
            f"{self.pretest_pvalue:.5f} (Wald chi2 {self.pretest_wald:.3f}, df {self.pretest_df})"
            if np.isfinite(self.pretest_pvalue)
            else "not available"
        )
        lines = [
            f"comparison group: {control.get(self.control_group, self.control_group)}; "
            f"anticipation periods: {self.anticipation:g}; estimation method: {self.est_method}; "
            f"base period: {self.base_period}; {band}",
            f"P-value for the pre-test of parallel trends: {pre}",
        ]
        return super().summary() + "\n\n" + "\n".join(lines)

    def _plot_group_time(self, *, ax: Axes | None = None) -> Figure:
        """ggdid-style: one panel per cohort, ATT(g,t) by period, pre-treatment red, post blue
        (the uniform band when cband=True, else pointwise intervals)."""
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        tab = self.table
        lo_all, hi_all = _uniform_or_pointwise(tab)
        groups = list(dict.fromkeys(tab["group"].tolist()))
        if ax is not None:
            fig, axes = ax.figure, [ax] * len(groups)
        else:
            fig = Figure(figsize=(6.4, 1.9 * len(groups) + 0.6), layout="constrained")
            axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
        for a, g in zip(axes, groups, strict=True):
            in_g = (tab["group"] == g).to_numpy()
            for flag, colour, label in ((False, _PRE, "pre"), (True, _POST, "post")):
                sel = in_g & (tab["post"] == flag).to_numpy()
                if sel.any():
                    est = tab["estimate"].to_numpy(float)[sel]
                    a.errorbar(
                        tab["time"].to_numpy(float)[sel],
                        est,
                        yerr=[est - lo_all[sel], hi_all[sel] - est],
                        fmt="o",
                        color=colour,
                        capsize=3,
                        label=label,
                    )
            a.axhline(0.0, color="grey", lw=0.8, ls="--")
            a.set_title(f"group {g:g}", fontsize=9, loc="left")
        axes[-1].set_xlabel("period")
        axes[-1].set_xticks(sorted(set(tab["time"].tolist())))
        handles = [
            Line2D([], [], color=c, marker="o", ls="", label=lab)
            for c, lab in ((_PRE, "pre-treatment"), (_POST, "post-treatment"))
        ]
        axes[0].legend(handles=handles, loc="best", fontsize=8)
        return fig


@dataclass(frozen=True, kw_only=True)
class AggteResult(Result):
    """An aggregation of ATT(g,t): ``overall`` (the headline, term ``ATT``) plus per-row estimates.

    Rows are indexed by ``event_time`` (type="dynamic", terms ``ATT(e=1)``), ``group`` ("group",
    ``ATT(g=2004)``) or ``time`` ("calendar", ``ATT(t=2005)``); type="simple" has only the overall
    row. Row intervals are pointwise; with ``cband=True`` the uniform (sup-t) band is in
    ``conf_low_uniform`` / ``conf_high_uniform``. The overall interval is pointwise (as in R).
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("effects", "estimates")

    type: str
    overall: Estimate
    min_e: float
    max_e: float
    balance_e: int | None
    na_rm: bool
    bstrap: bool
    biters: int
    cband: bool
    seed: int
    critical_value: float
    """Critical value of the rows' uniform band when cband=True, else of the pointwise intervals."""
    n_units: int
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})
    influence: Influence | None = field(repr=False, metadata={"internal": True})
    treated_mean: float | None = None
    """Mean observed outcome of the treated cells the overall ATT averages, with its weights."""
    treated_means: np.ndarray | None = field(default=None, repr=False)
    """Per table row: the treated cells' mean observed outcome, weighted as that row's ATT."""

    @property
    def headline(self) -> Estimate:
        return self.overall

    @property
    def baseline(self) -> float | None:
        """The treated cells' counterfactual mean (`treated_mean` minus the overall ATT)."""
        return _baseline(self.treated_mean, self.overall)

    @property
    def overall_att(self) -> float:
        """R `did`'s ``overall.att``."""
        return self.overall.estimate

    @property
    def overall_se(self) -> float:
        """R `did`'s ``overall.se`` (NaN if not estimable)."""
        se = self.overall.std_error
        return float("nan") if se is None else se

    @property
    def sample_size(self) -> int:
        return int(self.n_units)

    def summary(self) -> str:
        """Overall effect first (as R's summary of aggte), then the per-row table."""
        o = self.overall
        level = f"{100 * (1 - self.alpha):g}%"

        def num(v: float | None) -> str:
            return "NA" if v is None else f"{v:.6g}"

        head = (
            f"overall ATT ({self.type}): {o.estimate:.6g} (SE {num(o.std_error)}), "
            f"{level} CI [{num(o.conf_low)}, {num(o.conf_high)}]"
        )
        return head + "\n\n" + super().summary()

    def event_study(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(event_times, estimates, vcov) of a dynamic aggregation (the event-study protocol)."""
        if self.type != "dynamic":
            raise DesignError(
                f"event_study() needs type='dynamic', this aggregation is type={self.type!r}",
                fix="aggte(result, type='dynamic')",
            )
        tab = self.table
        return (
            tab["event_time"].to_numpy(float),
            tab["estimate"].to_numpy(float),
            np.array(self.vcov, dtype=float, copy=True),
        )

    def _plot_effects(self, *, ax: Axes | None = None) -> Figure:
        """Event-study plot (dynamic) or estimates by group / period, with the band (cband=True)
        or pointwise intervals; the overall effect alone for type="simple"."""
        from attribution.report.plotting import new_axes

        tab = self.table
        fig, ax = new_axes(ax)
        key = {"dynamic": "event_time", "group": "group", "calendar": "time"}.get(self.type)
        if key is None or len(tab) == 0:
            o = self.overall
            lo = o.estimate if o.conf_low is None else o.conf_low
            hi = o.estimate if o.conf_high is None else o.conf_high
            ax.errorbar(
                [0], [o.estimate], yerr=[[o.estimate - lo], [hi - o.estimate]],
                fmt="o", capsize=4, color=_POST,
            )  # fmt: skip
            ax.set_xticks([0], ["overall ATT"])
        else:
            x = tab[key].to_numpy(float)
            est = tab["estimate"].to_numpy(float)
            lo, hi = _uniform_or_pointwise(tab)
            colours = np.where(x >= 0, _POST, _PRE) if self.type == "dynamic" else _POST
            ax.vlines(x, lo, hi, colors=colours, lw=2, alpha=0.7)
            ax.scatter(x, est, c=colours, zorder=3)
            ax.set_xlabel(
                {"event_time": "periods since treatment", "group": "cohort"}.get(key, key)
            )
            if self.type == "dynamic":
                ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        band = "uniform band" if self.cband else "pointwise"
        ax.set_title(f"aggte type={self.type} ({100 * (1 - self.alpha):g}% {band})")
        ax.set_ylabel("ATT")
        return fig


# ------------------------------------------------------------------------------------------------
# fixed-effects regressions
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TwfeResult(Result):
    """Static TWFE (or 2×2) coefficient(s); headline the first (treatment) coefficient."""

    headline_label: str
    n_obs: int
    n_units: int
    n_periods: int
    n_clusters: int | None
    vcov_type: str
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})
    treated_mean: float | None = None
    """Mean observed outcome of the treated rows (treatment 1; group × post 1), regression-weighted."""

    @property
    def headline(self) -> Estimate:
        return Estimate.from_row(self.table.iloc[0], label=self.headline_label)

    @property
    def baseline(self) -> float | None:
        """The treated rows' counterfactual mean: `treated_mean` minus the treatment coefficient.

        Every TwfeResult has a binary treatment (a continuous exposure goes to the DML design), so
        the coefficient is an effect on the treated rows, however TWFE weights them."""
        return _baseline(self.treated_mean, self.headline)

    @property
    def sample_size(self) -> int:
        return int(self.n_units)

    @property
    def estimate(self) -> float:
        """The first (treatment) coefficient."""
        return float(self.table["estimate"].iloc[0])

    @property
    def std_error(self) -> float:
        return float(self.table["std_error"].iloc[0])


@dataclass(frozen=True, kw_only=True)
class EventStudyResult(Result):
    """Event-study coefficients by event time (reference period normalised to 0, not in the table).

    `table` has one row per event time (terms ``ATT(e=1)``, key column ``event_time``) with
    pointwise intervals plus ``conf_low_uniform`` / ``conf_high_uniform`` (sup-t simultaneous band
    at the same level). ``headline``: the average of the post-period coefficients (e >= 0), its SE
    from their covariance, with the intervals' distribution (t with `dof` degrees of freedom, or
    normal when `dof` is None). The pre-trend Wald test is in ``checks``.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("event_study", "pointwise", "estimates")

    headline_label: str
    ref: int
    n_obs: int
    n_units: int
    n_clusters: int | None
    uniform_crit: float
    estimator: str
    vcov_type: str
    dof: int | None = None
    """Degrees of freedom of the t intervals (None: normal intervals)."""
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})
    extra: pd.DataFrame | None = field(default=None, repr=False, metadata={"internal": True})
    treated_means: np.ndarray | None = field(default=None, repr=False)
    """Per event time (table row): the treated rows' mean observed outcome, weighted within the
    event time as its coefficient weights its cells (the IW shares for Sun & Abraham)."""

    @property
    def treated_mean(self) -> float | None:
        """Mean of `treated_means` over the post-period event times (the headline's weights)."""
        if self.treated_means is None:
            return None
        post = (self.table["event_time"] >= 0).to_numpy()
        m = np.asarray(self.treated_means, float)[post]
        return float(m.mean()) if len(m) and np.isfinite(m).all() else None

    @property
    def baseline(self) -> float | None:
        """The treated post-period rows' counterfactual mean: `treated_mean` minus the headline."""
        return _baseline(self.treated_mean, self.headline)

    @property
    def headline(self) -> Estimate:
        t = self.table
        post = (t["event_time"] >= 0).to_numpy()
        if not post.any():
            raise DesignError("the event study has no post-period coefficient (event time >= 0)")
        w = post / post.sum()
        est = float(w @ t["estimate"].to_numpy(float))
        se = float(np.sqrt(max(float(w @ np.asarray(self.vcov, float) @ w), 0.0)))
        row = wald_table(["ATT"], [est], [se], alpha=self.alpha, df=self.dof).iloc[0]
        return Estimate.from_row(row, label=self.headline_label)

    @property
    def sample_size(self) -> int:
        return int(self.n_units)

    @property
    def cohort_effects(self) -> pd.DataFrame | None:
        """Cohort × event-time coefficients behind an interaction-weighted estimate (else None):
        columns group, event_time, n_obs, estimate, std_error, weight."""
        return None if self.extra is None else self.extra.copy(deep=False)

    def event_study(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(event_times, estimates, vcov) — the protocol `pretrend_test` and `honest_did` consume."""
        return (
            self.table["event_time"].to_numpy(int).copy(),
            self.table["estimate"].to_numpy(float).copy(),
            np.array(self.vcov, copy=True),
        )

    def plot(
        self, *, ax: Axes | None = None, kind: str | None = None, uniform: bool | None = None
    ) -> Figure:
        """Coefficients by event time with pointwise bars and the sup-t band (kind="event_study",
        the default) or without it (kind="pointwise"). `uniform` is deprecated: use `kind`."""
        if uniform is not None:
            warnings.warn(
                "plot(uniform=...) is deprecated; use kind='event_study' (with the uniform band) "
                "or kind='pointwise'",
                DeprecationWarning,
                stacklevel=2,
            )
            if kind is None:
                kind = "event_study" if uniform else "pointwise"
        return super().plot(ax=ax, kind=kind)

    def _plot_event_study(self, *, ax: Axes | None = None) -> Figure:
        return self._draw(ax=ax, uniform=True)

    def _plot_pointwise(self, *, ax: Axes | None = None) -> Figure:
        return self._draw(ax=ax, uniform=False)

    def _draw(self, *, ax: Axes | None, uniform: bool) -> Figure:
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax)
        t = self.table
        e = t["event_time"].to_numpy(float)
        est = t["estimate"].to_numpy(float)
        if uniform and np.isfinite(self.uniform_crit):
            ax.fill_between(
                e,
                t["conf_low_uniform"].to_numpy(float),
                t["conf_high_uniform"].to_numpy(float),
                alpha=0.2,
                step=None,
                label=f"{100 * (1 - self.alpha):g}% uniform band",
            )
        ax.errorbar(
            e,
            est,
            yerr=[est - t["conf_low"].to_numpy(float), t["conf_high"].to_numpy(float) - est],
            fmt="o",
            capsize=3,
            label=f"estimate, {100 * (1 - self.alpha):g}% pointwise",
        )
        ax.plot([self.ref], [0.0], "o", mfc="white", color="C0", label=f"reference ({self.ref})")
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.axvline(self.ref + 0.5, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("event time (periods since adoption)")
        ax.set_ylabel("effect")
        ax.set_title(self.design)
        ax.legend(loc="best", fontsize="small")
        return fig


# ------------------------------------------------------------------------------------------------
# HonestDiD
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class HonestResult(Result):
    """Robust intervals for θ = τ_e over a grid of M (smoothness) or M̄ (relative magnitudes).

    `table` rows: ``term`` "original" (conventional interval) then one per grid value, with columns
    `M`/`Mbar` (the restriction), `method` ("FLCI", "C-LF", "RM-Bonferroni" or "conventional").
    `breakdown` is the largest M (M̄) for which the interval still excludes 0 (nan if the original
    interval already covers 0; inf if it never does on the searched range); it is also in
    ``checks``. ``headline``: θ (term ``ATT(e=0)``) with the conventional interval.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("sensitivity",)

    method: str
    e: int
    breakdown: float
    n_units: int | None = None
    treated_mean: float | None = None
    """The source event study's treated mean outcome at event time `e` (None if it has none)."""

    @property
    def headline(self) -> Estimate:
        return Estimate.from_row(
            self.table.iloc[0],
            term=f"ATT(e={self.e})",
            label=f"effect at event time {self.e}, conventional interval (robust ones in the table)",
        )

    @property
    def baseline(self) -> float | None:
        """The treated rows' counterfactual mean at event time `e`: `treated_mean` minus θ."""
        return _baseline(self.treated_mean, self.headline)

    @property
    def sample_size(self) -> int | None:
        return self.n_units if self.n_units is not None else super().sample_size

    @property
    def sensitivity(self) -> pd.DataFrame:
        return self.table.iloc[1:].copy(deep=False)

    def _plot_sensitivity(self, *, ax: Axes | None = None) -> Figure:
        """Robust intervals against M (M̄), with the conventional interval at the left."""
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax)
        par = "M" if self.method == "smoothness" else "Mbar"
        t = self.table
        grid = t[par].to_numpy(float)[1:]
        step = (grid.max() - grid.min()) / max(len(grid) - 1, 1) if len(grid) > 1 else 1.0
        xs = np.concatenate([[grid.min() - step], grid])
        lo, hi = t["conf_low"].to_numpy(float), t["conf_high"].to_numpy(float)
        mid = 0.5 * (lo + hi)
        ax.errorbar(
            xs[1:],
            mid[1:],
            yerr=[mid[1:] - lo[1:], hi[1:] - mid[1:]],
            fmt="none",
            capsize=3,
            color="C0",
            label=str(t["method"].iloc[1]),
        )
        ax.errorbar(
            xs[:1],
            mid[:1],
            yerr=[mid[:1] - lo[:1], hi[:1] - mid[:1]],
            fmt="none",
            capsize=3,
            color="C3",
            label="original",
        )
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(par)
        ax.set_ylabel(f"effect at event time {self.e}")
        ax.set_title(f"HonestDiD sensitivity ({self.method})")
        ax.legend(loc="best", fontsize="small")
        return fig


# ------------------------------------------------------------------------------------------------
# overlapping rollouts (a diagnostic, not an estimate)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverlapReport:
    """Pairs of component launches on the same unit within `window` periods of each other."""

    window: int
    table: pd.DataFrame = field(repr=False)
    n_units: int
    n_launches: int

    @property
    def passed(self) -> bool:
        return self.table.empty

    @property
    def pairs(self) -> pd.DataFrame:
        return self.table.copy(deep=False)

    @property
    def text(self) -> str:
        if self.passed:
            return (
                f"no two components launched on the same unit within {self.window} period(s) "
                f"({self.n_launches} launches on {self.n_units} units)"
            )
        units = self.table["unit"].nunique()
        combos = (
            self.table.groupby(["component_a", "component_b"]).size().sort_values(ascending=False)
        )
        top = ", ".join(f"{a}+{b}: {n}" for (a, b), n in combos.items())
        return (
            f"{len(self.table)} pair(s) of launches on {units} unit(s) are within {self.window} "
            f"period(s) of each other ({top}); on these units each component's event study also "
            "picks up the other's effect — use stacked_did (which drops them) or a factorial test"
        )

    def to_check(self) -> Check:
        """The report as a Check, to attach to a result with ``result.with_checks(...)``."""
        return Check(
            name="rollout overlap",
            passed=self.passed,
            detail=self.text,
            statistic=float(len(self.table)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "passed": self.passed,
            "text": self.text,
            "pairs": to_jsonable(self.table),
        }

    def _repr_html_(self) -> str:
        import html

        return f"<div><p>{html.escape(self.text)}</p>{self.table.to_html(index=False)}</div>"
