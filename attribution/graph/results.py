"""Results of the graph family: an identification (what to adjust for, in words), the linear back-door
regression, and the attribution of a metric shift to the mechanisms that changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import DesignError
from attribution.results import Estimate, Result, to_jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Identification", "MechanismShiftResult", "RegressionResult", "Stage"]


@dataclass(frozen=True)
class Stage:
    """One regression an identification strategy needs: effect of `treatment` on `outcome`,
    adjusting for `confounders`."""

    treatment: tuple[str, ...]
    outcome: str
    confounders: tuple[str, ...]
    what: str

    def dml_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``at.dml(data, **stage.dml_arguments(), ...)``."""
        return {
            "outcome": self.outcome,
            "treatments": list(self.treatment),
            "confounders": list(self.confounders),
        }


@dataclass(frozen=True)
class Identification:
    """How the effect of `treatment` on `outcome` is identified by the graph, and what that needs.

    `method` is "backdoor", "frontdoor" or "mediation"; `adjustment_set` the back-door set (empty for
    the other methods); `stages` the regressions the method needs (one for back-door); `must_observe`
    every column the estimate needs; `explanation` says all of it in words.
    """

    treatment: tuple[str, ...]
    outcome: str
    method: str
    adjustment_set: tuple[str, ...]
    mediators: tuple[str, ...]
    stages: tuple[Stage, ...]
    must_observe: tuple[str, ...]
    explanation: str

    def dml_arguments(self) -> dict[str, Any]:
        """``at.dml(data, **ident.dml_arguments(), random_state=0)``: outcome, treatments and the
        adjustment set as confounders (back-door only; other methods name their stages)."""
        if self.method != "backdoor":
            raise DesignError(
                f"{self.method} identification is not a single adjustment: it needs "
                f"{len(self.stages)} regressions",
                fix="estimate each of ident.stages with at.dml(data, **stage.dml_arguments()) and "
                "combine them as ident.explanation says",
            )
        return self.stages[0].dml_arguments()

    def text(self) -> str:
        return self.explanation

    def __str__(self) -> str:
        return self.explanation

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))


@dataclass(frozen=True, kw_only=True)
class RegressionResult(Result):
    """OLS of the outcome on the treatments and an adjustment set, heteroskedasticity-robust (HC1)."""

    outcome: str
    treatments: tuple[str, ...]
    confounders: tuple[str, ...]
    n_obs: int

    @property
    def headline(self) -> Estimate:
        row = self.table.iloc[0]
        adj = ", ".join(self.confounders) if self.confounders else "nothing"
        return Estimate.from_row(
            row, label=f"effect of {row['term']} on {self.outcome} per unit, adjusted for {adj}"
        )

    @property
    def sample_size(self) -> int:
        return self.n_obs

    @property
    def description(self) -> str:
        return (
            f"OLS of {self.outcome} on {', '.join(self.treatments)} and the adjustment set "
            f"({', '.join(self.confounders) or 'none'}), HC1 standard errors"
        )


@dataclass(frozen=True, kw_only=True)
class MechanismShiftResult(Result):
    """Which mechanisms changed between two periods and how much of the target's mean shift each
    explains (Shapley attribution over the graph; intervals from a bootstrap of both samples).

    `draws` holds one row per bootstrap replicate and one column per node (the contributions);
    `observed_shift` is the raw difference of the target's means.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("contributions", "draws")

    target: str
    observed_shift: float
    n_before: int
    n_after: int
    draws: pd.DataFrame = field(repr=False)

    @property
    def headline(self) -> Estimate:
        row = self.table.loc[self.table["term"] == "total"].iloc[0]
        return Estimate.from_row(
            row,
            label=f"shift in mean {self.target} after minus before, split over the mechanisms "
            "that changed",
        )

    @property
    def sample_size(self) -> int:
        return self.n_before + self.n_after

    @property
    def description(self) -> str:
        return (
            f"distribution-change attribution (Budhathoki et al. 2021, dowhy gcm) of the mean of "
            f"{self.target}, {len(self.draws)} bootstrap replicates"
        )

    @property
    def contributions(self) -> pd.Series:
        """Point estimate per node (bootstrap mean), indexed by node."""
        rows = self.table.loc[self.table["component"].notna()]
        return pd.Series(
            rows["estimate"].to_numpy(), index=rows["component"].to_list(), name="estimate"
        )

    def _plot_contributions(self, *, ax: Axes | None = None) -> Figure:
        from attribution.report.plotting import new_axes

        rows = self.table.loc[self.table["component"].notna()]
        fig, ax = new_axes(ax, height=0.45 * len(rows) + 1.2)
        y = np.arange(len(rows))[::-1]
        est = rows["estimate"].to_numpy(float)
        lo, hi = rows["conf_low"].to_numpy(float), rows["conf_high"].to_numpy(float)
        ax.barh(y, est, color=["C3" if v < 0 else "C0" for v in est], alpha=0.6)
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="none", ecolor="black", capsize=3)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_yticks(y, rows["component"].astype(str))
        ax.set_xlabel(f"contribution to the shift in mean {self.target}")
        ax.set_title(
            f"total shift {self.headline.estimate:.4g} ({100 * (1 - self.alpha):g}% intervals)"
        )
        return fig

    def _plot_draws(self, *, ax: Axes | None = None) -> Figure:
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax)
        d = self.draws
        ax.boxplot([d[c].to_numpy(float) for c in d.columns], orientation="horizontal")
        ax.set_yticks(range(1, d.shape[1] + 1), list(d.columns))
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_xlabel("contribution in each bootstrap replicate")
        return fig


def tidy_frame(rows: list[Mapping[str, Any]], *, keys: tuple[str, ...] = ()) -> pd.DataFrame:
    cols = ["term", "estimate", "std_error", "conf_low", "conf_high", "p_value", *keys]
    out = pd.DataFrame(rows, columns=cols)
    for c in cols[1:6]:
        out[c] = out[c].astype(float)
    out["term"] = out["term"].astype(str)
    return out
