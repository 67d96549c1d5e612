"""The synthetic family's results: SynthResult (SDID / SC / DiD), SyntheticControlResult (ADH) and
ConformalResult (CWZ conformal inference).

Tidy tables use the project's terms and key columns (`attribution.results.KEY_COLUMNS`):

- ``ATT``: the average effect on the treated — SDID / SC / DiD's estimate, or ADH's average
  post-period gap (treated − synthetic);
- ``ATT(g=1989)``: one adoption cohort's estimate (SDID / SC / DiD with several cohorts), its
  first treated period in the key column ``group``;
- ``gap(t=1990)``: ADH's (or the conformal) gap in one post period, the period in ``time``;
- ``constant effect``: the conformal estimate and interval of an effect common to all post periods.

This module holds data and views only; the figures are drawn by `plots` (imported when a plot is
asked for) and the results are built in `tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import OptionError
from attribution.options import check_option, plain
from attribution.results import Estimate, Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from attribution.designs.synth.problem import SCProblem

__all__ = ["ConformalResult", "SynthResult", "SyntheticControlResult"]


def _row(table: pd.DataFrame, term: str) -> pd.Series:
    return table.loc[table["term"] == term].iloc[0]


@dataclass(frozen=True, kw_only=True)
class SynthResult(Result):
    """Result of `attribution.synth.fit` (SDID, SC or DiD in the synthdid framework).

    `table` has one row per reported quantity: ``ATT`` (the estimate), and with several adoption
    cohorts one ``ATT(g=<time>)`` row per cohort (its first treated period in column ``group``).
    `unit_weights` / `time_weights` are the ATT-weighted averages of the cohorts' ω and λ (the
    weights themselves with one cohort); per-cohort weights are in `cohort_weights`. `replicates`
    are the placebo / bootstrap / jackknife ATTs behind the SE. `cohorts` has one row per adoption
    cohort (``group``): estimate and SE, its weight in the ATT, ζ_ω, ζ_λ, σ̂ and the pre-fit
    diagnostics (pre-period RMSE of the weighted donors — with intercept unless SC —, that RMSE as
    a share of the cross-unit SD of the pre-period outcome, donors with positive weight, effective
    numbers of donors 1/Σω² and of periods 1/Σλ²); `diagnostics` repeats those for the largest
    cohort plus panel counts. The internal arrays (`Y`, `units`, `times`, `treated`, `adoption`,
    `omegas`, `lambdas`) feed the plots; with covariates, `Y` is the outcome after removing Xβ̂
    (`beta`).
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("trajectory", "weights")

    method: str
    se_method: str | None
    estimate: float
    std_error: float
    unit_weights: pd.Series = field(repr=False)
    time_weights: pd.Series = field(repr=False)
    cohorts: pd.DataFrame = field(repr=False)
    cohort_weights: pd.DataFrame = field(repr=False)
    diagnostics: dict = field(default_factory=dict)
    n_reps: int | None = None
    beta: pd.Series | None = field(default=None, repr=False)  # covariate coefficients (projected)
    treated_mean: float | None = None
    """Mean observed outcome over the treated post-period unit-periods, each cohort weighted as in
    the ATT (on the outcome itself, before any covariate projection)."""
    # arrays kept for plots; not serialised
    Y: np.ndarray = field(repr=False, metadata={"internal": True})
    units: pd.Index = field(repr=False, metadata={"internal": True})
    times: pd.Index = field(repr=False, metadata={"internal": True})
    treated: np.ndarray = field(repr=False, metadata={"internal": True})
    adoption: np.ndarray = field(repr=False, metadata={"internal": True})
    omegas: tuple = field(repr=False, metadata={"internal": True})  # per cohort, over donors
    lambdas: tuple = field(repr=False, metadata={"internal": True})  # per cohort, its pre-periods
    replicates: np.ndarray | None = field(default=None, repr=False, metadata={"internal": True})

    # -- the contract --------------------------------------------------------------------------
    @property
    def headline(self) -> Estimate:
        """The ATT: average effect over the treated unit-periods."""
        opts = self.provenance.options
        label = (
            f"effect of {opts.get('treatment', 'the treatment')} on "
            f"{opts.get('outcome', 'the outcome')}, average over treated unit-periods "
            f"({self.method.upper()})"
        )
        return Estimate.from_row(_row(self.table, "ATT"), label=label)

    @property
    def sample_size(self) -> int:
        """Number of units (treated and donors)."""
        return int(self.Y.shape[0])

    @property
    def baseline(self) -> float | None:
        """The treated unit-periods' counterfactual mean: their mean observed outcome minus the ATT
        (the cells and weights of the ATT), so headline / baseline is the relative lift."""
        if self.treated_mean is None:
            return None
        return float(self.treated_mean - self.estimate)

    # -- views ---------------------------------------------------------------------------------
    def trajectories(self, cohort: object | None = None) -> pd.DataFrame:
        """Treated average, ω-weighted donors and the synthetic counterfactual by period.

        For SDID / DiD the synthetic line is the weighted donors shifted by the λ-weighted pre-period
        gap (the intercept); for SC no shift. `cohort` is an adoption time (default: the largest
        cohort).
        """
        k = self._cohort_index(cohort)
        a = int(self.cohorts["adoption_index"].iloc[k])
        treated = np.flatnonzero(self.adoption == a)
        donors = np.flatnonzero(~self.treated)
        yt = self.Y[treated].mean(axis=0)
        yc = self.omegas[k] @ self.Y[donors]
        lam = self.lambdas[k]
        shift = 0.0 if self.method == "sc" else float(lam @ (yt[:a] - yc[:a]))
        return pd.DataFrame(
            {
                "treated": yt,
                "donors": yc,
                "synthetic": yc + shift,
                "time_weight": np.concatenate([lam, np.zeros(len(yt) - a)]),
                "post": np.arange(len(yt)) >= a,
            },
            index=self.times,
        )

    def _cohort_index(self, cohort: object | None) -> int:
        if cohort is None:
            return int(np.argmax(self.cohorts["n_treated"].to_numpy()))
        hits = np.flatnonzero(self.cohorts["group"].to_numpy() == cohort)
        if len(hits) == 0:
            raise OptionError(
                f"cohort={plain(cohort)} is not an adoption time of this fit",
                fix=f"use one of {self.cohorts['group'].tolist()}",
            )
        return int(hits[0])

    # -- plots ---------------------------------------------------------------------------------
    def plot(
        self, *, ax: Axes | None = None, kind: str | None = None, cohort: object | None = None
    ) -> Figure:
        """`trajectory` (treated vs synthetic, λ shaded; default) or `weights` (largest ω).

        `cohort` (an adoption time; default the largest cohort) picks the trajectory drawn.
        """
        if cohort is None:
            return super().plot(ax=ax, kind=kind)
        kind = check_option("kind", "trajectory" if kind is None else kind, self.PLOT_KINDS)
        if kind != "trajectory":
            raise OptionError(
                f"cohort= applies to kind='trajectory', not kind={kind!r}",
                fix="drop cohort=, or use kind='trajectory'",
            )
        return self._plot_trajectory(ax=ax, cohort=cohort)

    def _plot_trajectory(self, *, ax: Axes | None = None, cohort: object | None = None) -> Figure:
        from attribution.designs.synth import plots

        return plots.synthdid_plot(
            self.trajectories(cohort),
            method=self.method,
            estimate=self.estimate,
            std_error=self.std_error,
            time_name=self.times.name,
            ax=ax,
        )

    def _plot_weights(self, *, ax: Axes | None = None) -> Figure:
        return self.plot_weights(ax=ax)

    def plot_weights(self, *, ax: Axes | None = None, top: int = 20) -> Figure:
        """Horizontal bars of the `top` largest unit weights ω."""
        from attribution.designs.synth import plots

        return plots.top_weights_plot(self.unit_weights, method=self.method, top=top, ax=ax)


@dataclass(frozen=True, kw_only=True)
class SyntheticControlResult(Result):
    """ADH synthetic control: the average post-period gap, per-period gaps, weights and inference.

    `table` has one row ``ATT`` for the average post-period gap (treated − synthetic) and one row
    ``gap(t=<period>)`` per post period (the period in column ``time``). Where computed, the ATT
    row carries the in-space placebo p-value (RMSPE-ratio rank, ADH 2010) and the conformal
    interval of a constant effect, and each period's row its conformal interval and the p-value of
    no effect in that period (Chernozhukov, Wüthrich & Zhu 2021); column ``inference`` says which.
    `checks`: pre-period fit, donors' convex hull, in-space placebo, conformal sharp null.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("trajectory", "gap", "weights", "leave_one_out")

    estimate: float
    treated_unit: Any
    treatment_start: Any
    outcome: str
    treated_path: pd.Series
    synthetic_path: pd.Series
    unit_weights: pd.Series
    predictor_weights: pd.Series
    balance: pd.DataFrame
    pre_rmspe: float
    post_rmspe: float
    rmspe_ratio: float
    mspe_lower_bound: float
    placebo: pd.DataFrame | None = None
    p_value: float | None = None
    sharp_null_p_value: float | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    placebo_gaps: pd.DataFrame | None = field(default=None, repr=False, metadata={"internal": True})
    problem: SCProblem = field(repr=False, metadata={"internal": True})

    @property
    def headline(self) -> Estimate:
        """The average post-period gap, with the placebo p-value and conformal interval if run."""
        return Estimate.from_row(
            _row(self.table, "ATT"),
            label=f"average post-period gap of {self.treated_unit} (treated − synthetic)",
        )

    @property
    def sample_size(self) -> int:
        """Number of units (the treated unit and its donor pool)."""
        return len(self.problem.units)

    @property
    def baseline(self) -> float | None:
        """The synthetic control's mean over the post periods: the treated unit's post-period mean
        minus the average gap (the headline)."""
        return float(self.synthetic_path.to_numpy(float)[self.problem.n_pre :].mean())

    @property
    def gaps(self) -> pd.Series:
        """Treated minus synthetic outcome, by period."""
        return (self.treated_path - self.synthetic_path).rename("gap")

    def _plot_trajectory(self, *, ax: Axes | None = None) -> Figure:
        """Treated vs synthetic path."""
        from attribution.designs.synth import plots

        return plots.trajectory_plot(self, ax=ax)

    def _plot_gap(self, *, ax: Axes | None = None) -> Figure:
        """The gap over the in-space placebo gaps."""
        from attribution.designs.synth import plots

        return plots.gap_plot(self, ax=ax)

    def _plot_weights(self, *, ax: Axes | None = None) -> Figure:
        from attribution.designs.synth import plots

        return plots.weights_plot(self.unit_weights, ax=ax)

    def _plot_leave_one_out(self, *, ax: Axes | None = None) -> Figure:
        from attribution.designs.synth import plots

        return plots.leave_one_out_plot(self, ax=ax)


@dataclass(frozen=True, kw_only=True)
class ConformalResult(Result):
    """Per-period conformal confidence sets for the gaps of a synthetic control (CWZ 2021).

    `table`: one row per post period (term ``gap(t=<period>)``, the period in ``time``; p_value
    tests θ_t = 0) and a row ``constant effect`` whose interval inverts the joint test of an effect
    common to all post periods and whose p_value is the sharp null of no effect (the headline).
    """

    sharp_null_p_value: float
    permutation: str
    q: float
    treated_unit: Any
    n_units: int
    treated_mean: float | None = None
    """Mean observed outcome of the treated unit over the post periods."""

    @property
    def headline(self) -> Estimate:
        """The constant-effect row: mean post-period gap with the conformal interval."""
        return Estimate.from_row(
            _row(self.table, "constant effect"),
            label=(
                f"constant post-period effect for {self.treated_unit} (treated − synthetic), "
                "conformal interval"
            ),
        )

    @property
    def sample_size(self) -> int:
        """Number of units (the treated unit and its donors)."""
        return int(self.n_units)

    @property
    def baseline(self) -> float | None:
        """The treated unit's post-period mean minus the constant effect (the mean gap)."""
        if self.treated_mean is None:
            return None
        return float(self.treated_mean - self.headline.estimate)
