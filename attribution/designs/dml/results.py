"""`DmlResult` (the `dml` design's result) and `SensitivityResult` (bounds under unobserved
confounding, from `DmlResult.sensitivity`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import DesignError
from attribution.results import Estimate, Result, coefficient_plot, to_jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TOTAL", "DmlResult", "SensitivityResult", "contribution_term"]

TOTAL = "total"
"""Headline term with several treatments: every exposure raised by one unit at once (continuous),
or all components on against all off (binary components)."""


def contribution_term(component: str) -> str:
    """Term of a component's Shapley contribution row: 'contribution(E)' (as the factorial design)."""
    return f"contribution({component})"


@dataclass(frozen=True, kw_only=True)
class DmlResult(Result):
    """Effects of observational exposures by double ML: one tidy row per treatment (term = the
    treatment column, or ``column=level`` for the levels of a categorical treatment); with several
    continuous treatments a `total` row (every exposure raised by one unit) is the headline.

    With categorical effect modifiers, rows with `segment` set give each treatment's effect within
    each segment (level combination), with Holm-adjusted p-values across segments in
    `p_value_holm` and Bonferroni simultaneous intervals in `conf_low_uniform` /
    `conf_high_uniform` (the method in `adjustment`); the `heterogeneity (...)` checks test that
    the effect is equal across them, and with any modifiers the `heterogeneity BLP (...)` checks
    are the best-linear-predictor calibration test (one-sided p-value of the slope).
    `nuisance_r2` holds the out-of-fold R² of every nuisance model; `vcov_table` the covariance of
    the average effects.

    Several binary components with ``discrete_treatment=True``: rows ``E+K`` are the average effect
    of that combination against all off, ``total`` (the headline) all on against all off, and rows
    ``contribution(E)`` (with `component` set) its exact Shapley split, which adds up to `total`;
    `cell_means` holds the doubly robust average outcome under every combination."""

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("estimates", "residuals", "waterfall")

    outcome: str
    treatments: tuple[str, ...]
    confounders: tuple[str, ...]
    effect_modifiers: tuple[str, ...]
    estimator: str
    discrete_treatment: bool
    cluster: str | None
    n_obs: int
    n_clusters: int | None
    cv: int
    seed: int
    notes: tuple[str, ...] = ()
    vcov_table: pd.DataFrame = field(repr=False)
    nuisance_r2: pd.DataFrame = field(repr=False)
    cell_means: pd.Series | None = field(default=None, repr=False)
    zero_exposure_mean: float | None = None
    # sensitivity elements (arrays kept for .sensitivity(); not part of to_dict)
    _sens: dict[str, Any] | None = field(default=None, repr=False, metadata={"internal": True})

    # -- contract ------------------------------------------------------------------------------
    @property
    def combinations(self) -> bool:
        """True for several binary components (effects of their combinations, Shapley split)."""
        return self.cell_means is not None

    @property
    def headline(self) -> Estimate:
        tab = self.table
        if self.combinations:
            row = tab[tab["term"] == TOTAL].iloc[0]
            names = ", ".join(self.treatments)
            return Estimate.from_row(
                row,
                label=f"average effect on {self.outcome} of all components ({names}) on against "
                "all off, doubly robust over their observed combinations",
            )
        effects = tab[tab["term"] != TOTAL]
        if len(effects) > 1 and (tab["term"] == TOTAL).any():
            row = tab[tab["term"] == TOTAL].iloc[0]
            names = ", ".join(self.treatments)
            return Estimate.from_row(
                row,
                label=f"effect on {self.outcome} of raising every exposure ({names}) by one unit, "
                "double ML adjusting for the confounders",
            )
        row = effects.iloc[0]
        if self.discrete_treatment:
            label = (
                f"average effect on {self.outcome} of {row['term']} against "
                f"{self.treatments[0]}={self._baseline_level}, doubly robust double ML"
            )
        else:
            label = (
                f"effect on {self.outcome} of one more unit of {row['term']}, double ML "
                "adjusting for the confounders"
            )
        return Estimate.from_row(row, label=label)

    @property
    def baseline(self) -> float | None:
        """The mean outcome with every component off: for combinations of binary components the
        doubly robust all-off cell (as the factorial design's all-off cell mean); for continuous
        exposures the partially linear model's mean at zero exposure, mean(y) − θ'·mean(t), the
        reference a unit of exposure is relative to. None for a single discrete treatment, whose
        average effect keeps no per-level mean outcome here."""
        if self.cell_means is not None:
            return float(self.cell_means.iloc[0])
        return self.zero_exposure_mean

    @property
    def _baseline_level(self) -> str:
        return str(self.provenance.options.get("baseline_level"))

    @property
    def sample_size(self) -> int:
        return int(self.n_obs)

    @property
    def description(self) -> str:
        if self.combinations:
            return (
                f"doubly robust (AIPW) average outcome under each combination of "
                f"{', '.join(self.treatments)}, with a Shapley split of all on − all off, from "
                f"{self.cv}-fold cross-fitted nuisance models"
                + (f", standard errors clustered by {self.cluster}" if self.cluster else "")
            )
        how = (
            "doubly robust learner (average effects of each level)"
            if self.discrete_treatment
            else f"partially linear double ML ({self.estimator} final stage)"
        )
        clus = f", standard errors clustered by {self.cluster}" if self.cluster else ""
        return f"{how} with {self.cv}-fold cross-fitted nuisance models{clus}"

    def summary(self) -> str:
        text = super().summary()
        if self.notes:
            text += "\n\nnotes:\n" + "\n".join(f"- {n}" for n in self.notes)
        return text

    # -- sensitivity ---------------------------------------------------------------------------
    def sensitivity(
        self,
        *,
        cf_y: float = 0.03,
        cf_d: float = 0.03,
        rho: float = 1.0,
        level: float = 0.95,
        null: float = 0.0,
    ) -> SensitivityResult:
        """Bounds on each effect if an unobserved confounder explained a share `cf_y` of the
        outcome's residual variance and made the Riesz representer `cf_d` larger (Chernozhukov,
        Cinelli, Newey, Sharma & Syrgkanis 2022), with `rho` the adversity of its correlation; plus
        the robustness values (the equal strengths cf_y = cf_d at which the bound, and the
        confidence bound, reach `null`). Numbers follow DoubleML's `sensitivity_analysis`."""
        from attribution.designs.dml import sensitivity as sens
        from attribution.options import check_float

        cf_y = check_float("cf_y", cf_y, low=0.0, high=1.0, high_open=True)
        cf_d = check_float("cf_d", cf_d, low=0.0, high=1.0, high_open=True)
        rho = check_float("rho", rho, low=-1.0, high=1.0)
        level = check_float("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
        null = check_float("null", null)
        if self._sens is None:
            raise DesignError(
                "sensitivity bounds are available for continuous treatments "
                "(partially linear double ML)",
                fix="call sensitivity() on a result of at.dml(..., discrete_treatment=False)",
            )
        table = sens.bounds(self._sens, cf_y=cf_y, cf_d=cf_d, rho=rho, level=level, null=null)
        table.insert(0, "term", list(self.treatments))
        return SensitivityResult(
            table=table,
            params={"cf_y": cf_y, "cf_d": cf_d, "rho": rho, "level": level, "null": null},
            elements=self._sens,
            treatments=self.treatments,
            outcome=self.outcome,
        )

    def benchmark(self, short: DmlResult) -> pd.DataFrame:
        """Confounding strengths (cf_y, cf_d, rho) of the confounders left out of `short` (the same
        call without them): how strong an unobserved confounder as strong as those would be."""
        from attribution.designs.dml import sensitivity as sens

        if not isinstance(short, DmlResult) or short._sens is None or self._sens is None:
            raise DesignError(
                "benchmark() takes another continuous-treatment dml result",
                fix="fit the same call without the benchmark confounders and pass it",
            )
        if short.treatments != self.treatments or short.n_obs != self.n_obs:
            raise DesignError(
                "the short model must have the same treatments and rows",
                fix="refit the same call with fewer confounders",
            )
        left_out = [c for c in self.confounders if c not in short.confounders]
        out = sens.benchmark(self._sens, short._sens)
        out.insert(0, "term", list(self.treatments))
        out["benchmark"] = ", ".join(left_out)
        return out

    # -- plots ---------------------------------------------------------------------------------
    def _plot_estimates(self, *, ax: Axes | None = None) -> Figure:
        return coefficient_plot(self.table, ax=ax, title=f"double ML: effects on {self.outcome}")

    def _plot_waterfall(self, *, ax: Axes | None = None) -> Figure:
        """All off → each component's Shapley contribution (with intervals) → all on."""
        from attribution.decompose import plot_waterfall, waterfall_data

        if self.cell_means is None:
            raise DesignError(
                "a waterfall needs several binary components (discrete_treatment=True)"
            )
        tab = self.table
        split = tab[tab["component"].notna()]
        data = waterfall_data(split, baseline=float(self.cell_means.iloc[0]))
        return plot_waterfall(
            data, ax=ax, title="Shapley split of all on − all off", ylabel=self.outcome
        )

    def _plot_residuals(self, *, ax: Axes | None = None) -> Figure:
        """Residual outcome against the first residual treatment, with the fitted slope."""
        from attribution.report.plotting import new_axes

        if self._sens is None:
            raise DesignError("no residuals for a discrete-treatment result")
        fig, ax = new_axes(ax)
        t = self._sens["t_res"][:, 0]
        y = self._sens["y_res"]
        keep = np.linspace(0, len(t) - 1, min(len(t), 2000)).astype(int)
        ax.scatter(t[keep], y[keep], s=4, alpha=0.4)
        slope = float(self._sens["theta"][0])
        grid = np.linspace(t.min(), t.max(), 2)
        ax.plot(grid, slope * grid, color="C1")
        ax.set_xlabel(f"residual {self.treatments[0]}")
        ax.set_ylabel(f"residual {self.outcome}")
        ax.set_title("partialled-out outcome against exposure")
        return fig


@dataclass(frozen=True)
class SensitivityResult:
    """Sensitivity bounds of each effect (one row per treatment) and a contour plot."""

    table: pd.DataFrame = field(repr=False)
    params: dict[str, float]
    elements: dict[str, Any] = field(repr=False)
    treatments: tuple[str, ...]
    outcome: str

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value

    def tidy(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        p = self.params
        head = (
            f"sensitivity to unobserved confounding (cf_y={p['cf_y']:g}, cf_d={p['cf_d']:g}, "
            f"rho={p['rho']:g}, level={p['level']:g}; robustness values against {p['null']:g})"
        )
        return head + "\n" + self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}")

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {"params": dict(self.params), "table": to_jsonable(self.table)}

    def plot(
        self,
        *,
        ax: Axes | None = None,
        term: str | None = None,
        bound: str = "lower",
        grid_max: float = 0.15,
    ) -> Figure:
        """Contour of the lower (or upper) bound over cf_y × cf_d, with the chosen point."""
        from attribution.designs.dml import sensitivity as sens
        from attribution.options import check_float, check_option
        from attribution.report.plotting import new_axes

        bound = check_option("bound", bound, ("lower", "upper"))
        grid_max = check_float(
            "grid_max", grid_max, low=0.0, high=1.0, low_open=True, high_open=True
        )
        term = self.treatments[0] if term is None else check_option("term", term, self.treatments)
        j = self.treatments.index(term)
        fig, ax = new_axes(ax, width=6.0, height=5.0)
        g = np.linspace(0.0, grid_max, 41)
        cy, cd = np.meshgrid(g, g, indexing="ij")
        z = sens.bound_grid(
            self.elements, j, cy, cd, rho=self.params["rho"], upper=bound == "upper"
        )
        cs = ax.contour(cd, cy, z, levels=12)
        ax.clabel(cs, fontsize="small")
        ax.contour(cd, cy, z, levels=[self.params["null"]], colors="red", linewidths=1.5)
        ax.plot([self.params["cf_d"]], [self.params["cf_y"]], "k^")
        ax.set_xlabel("cf_d (gain in the treatment's Riesz representer)")
        ax.set_ylabel("cf_y (share of outcome residual variance)")
        ax.set_title(f"{bound} bound of the effect of {term} on {self.outcome}")
        return fig
