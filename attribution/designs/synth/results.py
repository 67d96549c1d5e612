"""SynthResult: the estimate, its weights, per-cohort estimates, pre-fit diagnostics and plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from attribution.errors import OptionError
from attribution.results import Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["SynthResult"]


@dataclass(frozen=True, kw_only=True)
class SynthResult(Result):
    """Result of `attribution.synth.fit` (SDID, SC or DiD in the synthdid framework).

    `table` has one row per reported quantity: ``ATT`` (the estimate), and with several adoption
    cohorts one ``ATT[<time>]`` row per cohort. `unit_weights` / `time_weights` are the ATT-weighted
    averages of the cohorts' ω and λ (the weights themselves with one cohort); per-cohort weights are
    in `cohort_weights`. `replicates` are the placebo / bootstrap / jackknife ATTs behind the SE.
    `cohorts` has one row per adoption cohort: estimate and SE, its weight in the ATT, ζ_ω, ζ_λ, σ̂
    and the pre-fit diagnostics (pre-period RMSE of the weighted donors — with intercept unless SC —,
    donors with positive weight, effective numbers of donors 1/Σω² and of periods 1/Σλ²);
    `diagnostics` repeats those for the largest cohort plus panel counts. The internal arrays (`Y`,
    `units`, `times`, `treated`, `adoption`, `omegas`, `lambdas`) feed the plots; with covariates,
    `Y` is the outcome after removing Xβ̂ (`beta`).
    """

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
    # arrays kept for plots (here and in the synth plotting module); not serialised
    Y: np.ndarray = field(repr=False, metadata={"internal": True})
    units: pd.Index = field(repr=False, metadata={"internal": True})
    times: pd.Index = field(repr=False, metadata={"internal": True})
    treated: np.ndarray = field(repr=False, metadata={"internal": True})
    adoption: np.ndarray = field(repr=False, metadata={"internal": True})
    omegas: tuple = field(repr=False, metadata={"internal": True})  # per cohort, over donors
    lambdas: tuple = field(
        repr=False, metadata={"internal": True}
    )  # per cohort, over its pre-periods
    replicates: np.ndarray | None = field(default=None, repr=False, metadata={"internal": True})

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
        hits = np.flatnonzero(self.cohorts["cohort"].to_numpy() == cohort)
        if len(hits) == 0:
            raise OptionError(
                f"cohort={cohort!r} is not an adoption time of this fit",
                fix=f"use one of {list(self.cohorts['cohort'])}",
            )
        return int(hits[0])

    # -- plots ---------------------------------------------------------------------------------
    def plot(self, *, ax: Axes | None = None, cohort: object | None = None) -> Figure:
        """Treated vs synthetic trajectory; shaded bars show the pre-period time weights λ."""
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax, width=7.0, height=4.2)
        tr = self.trajectories(cohort)
        x = np.asarray(tr.index)
        ax.plot(x, tr["treated"], color="C3", lw=1.8, label="treated")
        ax.plot(x, tr["synthetic"], color="C0", lw=1.6, ls="--", label=f"synthetic ({self.method})")
        first_post = x[tr["post"].to_numpy()][0]
        ax.axvline(first_post, color="grey", lw=0.8, ls=":")
        lam = tr["time_weight"].to_numpy()
        if lam.max() > 0 and self.method == "sdid":
            lo, hi = ax.get_ylim()
            height = 0.25 * (hi - lo) * lam / lam.max()
            ax.bar(x, height, bottom=lo, color="C2", alpha=0.35, width=0.8, label="time weight λ")
            ax.set_ylim(lo, hi)
        ax.set_xlabel(self.times.name or "time")
        ax.set_title(f"{self.method.upper()}: ATT {self.estimate:.3g} (SE {self.std_error:.3g})")
        ax.legend(loc="best", fontsize=8)
        return fig

    def plot_weights(self, *, ax: Axes | None = None, top: int = 20) -> Figure:
        """Horizontal bars of the largest unit weights ω."""
        from attribution.report.plotting import new_axes

        w = self.unit_weights[self.unit_weights > 0].sort_values(ascending=False).head(top)
        fig, ax = new_axes(ax, width=6.0, height=0.25 * max(len(w), 4) + 1.0)
        ax.barh(np.arange(len(w))[::-1], w.to_numpy(), color="C0")
        ax.set_yticks(np.arange(len(w))[::-1], [str(u) for u in w.index])
        ax.set_xlabel("unit weight ω")
        ax.set_title(f"{self.method.upper()} donor weights (top {len(w)})")
        return fig
