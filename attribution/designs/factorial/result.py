"""FactorialResult: effects (tidy table), Shapley split, cell means, SRM checks, and plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attribution.decompose import plot_waterfall, waterfall_data
from attribution.designs.factorial.design import DesignInfo
from attribution.errors import DesignError, OptionError
from attribution.inference import critical_value
from attribution.results import Result, coefficient_plot, to_jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FactorialResult"]

_INTERNAL = {"internal": True}


@dataclass(frozen=True, kw_only=True)
class FactorialResult(Result):
    """Result of `factorial()`.

    `tidy()` has one row per estimated effect (Box–Hunter–Hunter convention); `shapley` splits the
    all-on minus all-off difference into per-factor contributions that add up to `total`.
    """

    outcome: str
    factors: tuple[str, ...]
    vcov_type: str
    """'HC0'…'HC3', 'iid', 'CR1', or 'lenth' for an unreplicated design."""
    df: float | None
    """Degrees of freedom of the t reference distribution (n-k; G-1 for CR1; m/3 for Lenth)."""
    n_obs: int
    n_clusters: int | None = None
    cluster: str | None = None
    covariate: str | None = None
    slope: float | None = None
    """Common CUPED slope on the covariate (None without a covariate)."""
    design_info: DesignInfo
    notes: tuple[str, ...] = ()
    cell_table: pd.DataFrame = field(repr=False, metadata=_INTERNAL)
    vcov_table: pd.DataFrame = field(repr=False, metadata=_INTERNAL)
    srm_table: pd.DataFrame = field(repr=False, metadata=_INTERNAL)
    shapley_table: pd.DataFrame | None = field(default=None, repr=False, metadata=_INTERNAL)
    shapley_total: float | None = field(default=None, metadata=_INTERNAL)
    shapley_total_se: float | None = field(default=None, metadata=_INTERNAL)
    theta: np.ndarray = field(repr=False, metadata=_INTERNAL)
    """Coefficients (α per present cell [, β]) of the saturated model."""
    theta_vcov: np.ndarray = field(repr=False, metadata=_INTERNAL)
    cell_map: np.ndarray = field(repr=False, metadata=_INTERNAL)
    """(cells × len(theta)): adjusted cell means = cell_map @ theta."""

    # -- tables --------------------------------------------------------------------------------
    @property
    def cell_means(self) -> pd.DataFrame:
        """One row per cell: factor levels, n, raw mean, (covariate-)adjusted mean and its SE."""
        return self.cell_table.copy(deep=False)

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the estimated effects (terms × terms)."""
        return self.vcov_table.copy(deep=False)

    @property
    def srm(self) -> pd.DataFrame:
        """Sample-ratio-mismatch chi-square tests per factor and for the joint cells."""
        return self.srm_table.copy(deep=False)

    def _require_full(self, what: str) -> None:
        if self.shapley_table is None:
            raise DesignError(
                f"{what} needs every cell of the full 2^{len(self.factors)} design, but this is a "
                f"{self.design_info.to_dict()['fraction']} fraction ({self.design_info.defining_relation}): "
                "the all-on / all-off cells and the interactions a Shapley split needs are not all "
                "observed or are aliased",
                columns=list(self.factors),
                fix="run the full factorial to split the total effect; the fraction estimates only "
                "the alias chains listed in design_info",
            )

    @property
    def shapley(self) -> pd.DataFrame:
        """Exact Shapley contribution of each factor to all-on minus all-off (sums to `total`)."""
        self._require_full("a Shapley split")
        return self.shapley_table.copy(deep=False)  # type: ignore[union-attr]

    @property
    def total(self) -> float:
        """All-on minus all-off (adjusted) cell mean."""
        self._require_full("the all-on minus all-off total")
        return float(self.shapley_total)  # type: ignore[arg-type]

    @property
    def total_std_error(self) -> float:
        self._require_full("the all-on minus all-off total")
        return float(self.shapley_total_se)  # type: ignore[arg-type]

    # -- output --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["design_info"] = self.design_info.to_dict()
        out["cell_means"] = to_jsonable(self.cell_table)
        out["vcov"] = to_jsonable(self.vcov_table.reset_index(names="term"))
        out["srm"] = to_jsonable(self.srm_table)
        if self.shapley_table is not None:
            out["shapley"] = to_jsonable(self.shapley_table)
            out["total"] = self.shapley_total
            out["total_std_error"] = self.shapley_total_se
        return out

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        fmt = {"float_format": lambda v: f"{v:.6g}", "index": False}
        parts = [
            f"factorial experiment on {self.outcome!r}: {self.design_info.to_text()}",
            f"{self.n_obs:,} rows; covariance {self.vcov_type}"
            + (
                f" clustered by {self.cluster!r} ({self.n_clusters} clusters)"
                if self.cluster
                else ""
            )
            + (f"; CUPED on {self.covariate!r} (slope {self.slope:.4g})" if self.covariate else "")
            + (f"; t with {self.df:g} df" if self.df is not None else ""),
            "",
            f"effects (Box–Hunter–Hunter) with {level} intervals",
            self.table.to_string(**fmt),
        ]
        if self.shapley_table is not None:
            parts += [
                "",
                f"Shapley split of all-on minus all-off = {self.shapley_total:.6g} "
                f"(se {self.shapley_total_se:.4g})",
                self.shapley_table.to_string(**fmt),
            ]
        flagged = self.srm_table[self.srm_table["p_value"] < 0.001]
        if len(flagged):
            parts += ["", "sample-ratio mismatch (p < 0.001):", flagged.to_string(**fmt)]
        if self.notes:
            parts += ["", "notes:", *[f"- {n}" for n in self.notes]]
        parts += ["", self.provenance.to_text()]
        return "\n".join(parts)

    # -- plots ---------------------------------------------------------------------------------
    def plot(self, *, ax: Axes | None = None) -> Figure:
        """Waterfall: all-off mean → each factor's Shapley contribution (with intervals) → all-on.

        For a fractional design (no Shapley split) the effects are drawn as a coefficient plot.
        """
        if self.shapley_table is None:
            return coefficient_plot(self.table, ax=ax, title=f"factorial effects on {self.outcome}")
        base = self.cell_table["adjusted_mean"].iloc[0]
        data = waterfall_data(self.shapley_table, baseline=float(base))
        return plot_waterfall(
            data,
            ax=ax,
            title=f"Shapley split of {self.outcome} (all on − all off = {self.shapley_total:.4g})",
            ylabel=self.outcome,
        )

    def plot_interaction(self, a: str, b: str, *, ax: Axes | None = None) -> Figure:
        """Classic interaction plot: mean of the outcome at each level of `a`, one line per level
        of `b`, averaging the other factors' cells with equal weight; whiskers are intervals."""
        from attribution.report.plotting import new_axes

        for name in (a, b):
            if name not in self.factors:
                raise OptionError(
                    f"{name!r} is not a factor of this experiment",
                    fix=f"choose from {list(self.factors)}",
                )
        if a == b:
            raise OptionError("plot_interaction needs two different factors", columns=[a])
        means = self.interaction_means(a, b)
        crit = critical_value(self.alpha, self.df)
        fig, ax = new_axes(ax)
        for level_b, grp in means.groupby(b, sort=True):
            grp = grp.sort_values(a)
            ax.errorbar(
                grp[a].to_numpy(float),
                grp["estimate"].to_numpy(float),
                yerr=crit * grp["std_error"].to_numpy(float),
                marker="o",
                capsize=4,
                label=f"{b} = {level_b}",
            )
        ax.set_xticks([0, 1], [f"{a} = 0", f"{a} = 1"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylabel(self.outcome)
        ax.set_title(f"interaction {a} × {b}")
        ax.legend(title=b)
        return fig

    def interaction_means(self, a: str, b: str) -> pd.DataFrame:
        """Two-way means of the (adjusted) outcome at each level pair of factors `a` and `b`,
        averaging the present cells with equal weight, with standard errors."""
        ia, ib = self.factors.index(a), self.factors.index(b)
        cells = np.asarray(self.design_info.cells)
        rows, weights = [], []
        for la in (0, 1):
            for lb in (0, 1):
                sel = (((cells >> ia) & 1) == la) & (((cells >> ib) & 1) == lb)
                if not sel.any():
                    raise DesignError(
                        f"no cell has {a}={la} and {b}={lb} in this fraction "
                        f"({self.design_info.defining_relation}); {a} × {b} is aliased with the mean",
                        columns=[a, b],
                    )
                rows.append({a: la, b: lb})
                weights.append(sel / sel.sum())
        lmat = np.asarray(weights) @ self.cell_map
        est = lmat @ self.theta
        se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", lmat, self.theta_vcov, lmat), 0.0, None))
        return pd.DataFrame(rows).assign(estimate=est, std_error=se)
