"""Results of the holdout family: `CumulativeImpactResult` (the sum of launch wins, corrected) and
`HoldoutReadoutResult` (what the holdout measured, per surface and week)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import DesignError
from attribution.results import Estimate, Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "METHOD_TERMS",
    "OVERALL",
    "CumulativeImpactResult",
    "HoldoutReadoutResult",
]

OVERALL = "overall"
"""The `surface` value of rows that cover every surface."""

METHOD_TERMS: dict[str, str] = {
    "naive": "naive",
    "winners_curse": "winners_curse",
    "shrinkage": "shrinkage",
    "holdout": "holdout",
}
"""Tidy terms of cumulative_impact: the naive sum of shipped wins, the sum corrected for the
winner's curse (Lee & Shen 2018), the random-effects shrunk sum, and the holdout's measurement."""

_LABELS = {
    "naive": "sum of the shipped launches' estimated effects (naive: no selection correction)",
    "winners_curse": "cumulative impact of the shipped launches: sum of their wins corrected for "
    "the winner's curse (Lee & Shen 2018)",
    "shrinkage": "cumulative impact of the shipped launches: sum of their random-effects "
    "(empirical Bayes) shrunk estimates",
    "holdout": "cumulative impact of the shipped launches as the holdout measured it",
}


@dataclass(frozen=True, kw_only=True)
class CumulativeImpactResult(Result):
    """The cumulative impact of a train of launches, three ways, beside the holdout.

    `table` rows (term, surface): "naive", "winners_curse", "shrinkage" overall (surface "overall")
    and per surface when the launches name one, and "holdout" when a holdout was given. `launches`
    holds each launch: estimate, std_error, z, shipped, its Lee–Shen bias term and its shrunk
    estimate. The headline is the `method` row overall.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("estimates", "launches")

    method: str
    threshold: float
    launches: pd.DataFrame = field(repr=False)
    prior: pd.DataFrame = field(repr=False)
    """The random-effects prior per surface: mean, its SE, tau2, Cochran's Q and df."""

    @property
    def headline(self) -> Estimate:
        row = self._row(self.method)
        return Estimate.from_row(row, label=_LABELS[self.method])

    def _row(self, term: str) -> pd.Series:
        tab = self.table
        hit = tab[(tab["term"] == term) & (tab["surface"] == OVERALL)]
        if hit.empty:
            raise DesignError(f"this result has no {term!r} row")
        return hit.iloc[0]

    def estimate_of(self, term: str) -> Estimate:
        """The overall row of `term` ("naive", "winners_curse", "shrinkage", "holdout")."""
        return Estimate.from_row(self._row(term), label=_LABELS[term])

    @property
    def sample_size(self) -> int | None:
        """Launches tested (the natural count here)."""
        return len(self.launches)

    @property
    def description(self) -> str:
        return (
            f"sum of {int(self.launches['shipped'].sum())} shipped launch wins out of "
            f"{len(self.launches)} tested, corrected for the winner's curse (Lee & Shen 2018) "
            "and shrunk by a random-effects (DerSimonian–Laird) prior"
        )

    def _plot_estimates(self, *, ax: Axes | None = None) -> Figure:
        """Forest plot of the overall rows: naive, corrected, shrunk, holdout."""
        from attribution.results import coefficient_plot

        tab = self.table
        return coefficient_plot(
            tab[tab["surface"] == OVERALL].reset_index(drop=True),
            ax=ax,
            title="cumulative impact of the shipped launches",
        )

    def _plot_launches(self, *, ax: Axes | None = None) -> Figure:
        """Each launch's estimate and its shrunk estimate; shipped launches filled."""
        from attribution.report.plotting import new_axes

        lt = self.launches
        fig, ax = new_axes(ax, width=7.0, height=0.25 * len(lt) + 1.2)
        y = np.arange(len(lt))[::-1]
        shipped = lt["shipped"].to_numpy(bool)
        est = lt["estimate"].to_numpy(float)
        ax.plot(est[shipped], y[shipped], "o", color="C0", label="estimate (shipped)")
        ax.plot(est[~shipped], y[~shipped], "o", mfc="white", color="C0", label="estimate")
        ax.plot(lt["shrunk"].to_numpy(float), y, "x", color="C1", label="shrunk")
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, lt["launch"].astype(str))
        ax.legend(loc="best", fontsize="small")
        ax.set_title("launch estimates and their shrunk values")
        return fig


@dataclass(frozen=True, kw_only=True)
class HoldoutReadoutResult(Result):
    """The holdout's readout: treatment − holdout per surface and overall (summed over surfaces),
    per time period, so the build-up of the shipped launches is visible.

    `table` rows: term ``effect(surface=<s>,t=<time>)`` (``effect(t=<time>)`` overall), with keys
    `time`, `metric` and `surface` (``"overall"`` for the sum over surfaces), then the arm means
    (holdout_mean, treatment_mean), unit counts (n_holdout, n_treatment) and the relative lift with
    its interval, as `at.experiment` computed them. The headline is the overall effect in the last
    period.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("trajectory",)

    metric: str
    surfaces: tuple[str, ...]
    n_units: int
    covariate: str | None = None

    @property
    def headline(self) -> Estimate:
        tab = self.table
        overall = tab[tab["surface"] == OVERALL]
        row = overall.loc[overall["time"] == overall["time"].max()].iloc[0]
        return Estimate.from_row(
            row,
            label=f"effect of the shipped launches on {self.metric} per unit and period, all "
            f"surfaces, treatment − holdout, at time {row['time']}",
        )

    @property
    def sample_size(self) -> int | None:
        return self.n_units

    @property
    def description(self) -> str:
        cuped = f", CUPED on {self.covariate}" if self.covariate else ""
        return (
            f"difference of mean {self.metric} per unit, treatment − holdout, per surface and "
            f"period, from at.experiment (delta-method standard errors over units{cuped})"
        )

    def trajectory(self, surface: str = OVERALL) -> pd.DataFrame:
        """The rows of one surface (default: overall), in time order."""
        tab = self.table
        return tab[tab["surface"] == surface].sort_values("time").reset_index(drop=True)

    def _plot_trajectory(self, *, ax: Axes | None = None) -> Figure:
        """Effect per period with its interval, one line per surface and overall."""
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax, width=7.0, height=4.0)
        for i, s in enumerate((*self.surfaces, OVERALL)):
            t = self.trajectory(s)
            x = np.arange(len(t)) if not pd.api.types.is_numeric_dtype(t["time"]) else t["time"]
            ax.plot(x, t["estimate"], marker="o", color=f"C{i}", label=str(s))
            ax.fill_between(x, t["conf_low"], t["conf_high"], color=f"C{i}", alpha=0.15)
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("time")
        ax.set_ylabel(f"{self.metric}: treatment − holdout")
        ax.legend(loc="best", fontsize="small")
        ax.set_title("holdout readout")
        return fig
