"""Result types of the factorial family: `FactorialResult` (effects, Shapley split, cell means, SRM
checks, plots) and `DesignInfo` (which design the present cells form, and its aliases)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from attribution.decompose import plot_waterfall, waterfall_data
from attribution.errors import DesignError, OptionError
from attribution.inference import critical_value
from attribution.results import Estimate, Result, coefficient_plot, to_jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TOTAL", "DesignInfo", "FactorialResult", "contribution_term"]

_INTERNAL = {"internal": True}

TOTAL = "total"
"""Term of the headline row: all on − all off (a fraction: the sum of the main effects)."""


def contribution_term(component: str) -> str:
    """Term of a component's contribution row: 'contribution(E)'."""
    return f"contribution({component})"


@dataclass(frozen=True)
class DesignInfo:
    """What design the present cells form and what can be estimated from it."""

    kind: Literal["full", "fractional"]
    factors: tuple[str, ...]
    cells: tuple[int, ...]
    """Present cells as bitmasks, ascending (standard / Yates order for the full design)."""
    fraction: int = 0
    """p in 2^(k-p)."""
    defining_relation: str = ""
    """e.g. 'I = A:B:C:D' or 'I = -A:B:D = A:C:E = -B:C:D:E'; empty for the full design."""
    words: tuple[tuple[str, int], ...] = ()
    """(word, sign) pairs of the defining relation."""
    resolution: int | None = None
    terms: tuple[int, ...] = ()
    """Estimated terms (one representative per alias set) as bitmasks, standard order."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Representative term → its alias chain, e.g. 'A:B' → 'A:B = C:D'."""

    @property
    def k(self) -> int:
        return len(self.factors)

    @property
    def term_names(self) -> list[str]:
        """'E', 'E:R', ... of the estimated terms (bit j of a term = factor j)."""
        return [":".join(f for j, f in enumerate(self.factors) if t >> j & 1) for t in self.terms]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "factors": list(self.factors),
            "n_cells": len(self.cells),
            "fraction": f"2^({self.k}-{self.fraction})" if self.fraction else f"2^{self.k}",
            "defining_relation": self.defining_relation,
            "resolution": self.resolution,
            "aliases": dict(self.aliases),
        }

    def to_text(self) -> str:
        if self.kind == "full":
            return f"full 2^{self.k} factorial ({len(self.cells)} cells)"
        lines = [
            f"regular 2^({self.k}-{self.fraction}) fraction ({len(self.cells)} cells), "
            f"resolution {_roman(self.resolution)}",
            f"defining relation: {self.defining_relation}",
            "aliases (first term of each chain is the one reported):",
        ]
        lines += [f"  {chain}" for chain in self.aliases.values()]
        return "\n".join(lines)


def _roman(n: int | None) -> str:
    return {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII"}.get(
        n or 0, str(n)
    )


@dataclass(frozen=True, kw_only=True)
class FactorialResult(Result):
    """Result of `factorial()`.

    `tidy()` rows, in order:

    - one row per estimated effect (Box–Hunter–Hunter convention: mean where the term's ±1 product
      is +1 minus mean where it is −1), terms ``E``, ``R``, ``E:R``, ...; `component` is empty;
      a fraction adds the alias chain of each effect in `aliases`;
    - the headline row, term ``total``: all on − all off (a fraction, which lacks that pair, reports
      the sum of the main effects instead, which equals all on − all off only if the components do
      not interact; its label says so);
    - a full design adds one row per factor, term ``contribution(E)`` with `component` = ``E``: the
      exact Shapley split of ``total`` (each interaction shared equally among its factors).

    Every row carries the outcome metric's name in the key column `metric`.

    Convention shared by every design: rows whose `component` is set are per-component
    contributions that add up to the headline; a fraction has none (no Shapley split exists).

    `checks` hold the sample-ratio-mismatch tests (each factor, then the joint cells), passed when
    p ≥ 0.001. `shapley`, `total`, `total_std_error`, `cell_means`, `srm` and `vcov` give the same
    numbers as tables of their own.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("waterfall", "effects")

    outcome: str
    """The outcome metric's name: the outcome column, or e.g. 'clicks/impressions' for a ratio."""
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
    metric_kind: str = "mean"
    """'mean', 'proportion' or 'ratio' (cell ratios of sums by the delta method over units)."""

    # -- the contract --------------------------------------------------------------------------
    @property
    def headline(self) -> Estimate:
        """All on − all off (a fraction: the sum of the main effects, assuming no interactions)."""
        tab = self.table
        return Estimate.from_row(tab[tab["term"] == TOTAL].iloc[0], label=self._headline_label())

    def _headline_label(self) -> str:
        who = _join(self.factors)
        if self.design_info.kind == "full":
            if len(self.factors) == 1:
                return f"effect of {who} on {self.outcome} (on − off)"
            return f"effect of {who} together on {self.outcome} (all on − all off)"
        return (
            f"sum of the main effects of {who} on {self.outcome} "
            "(all on − all off if the components do not interact)"
        )

    @property
    def baseline(self) -> float | None:
        """Adjusted mean of the all-off cell (None for a fraction without that cell)."""
        if self.design_info.cells[0] != 0:
            return None
        return float(self.cell_table["adjusted_mean"].iloc[0])

    @property
    def description(self) -> str:
        info = self.design_info
        counted = self.srm_table.attrs.get("counted", "rows")
        design = (
            f"a randomised 2^{info.k} factorial experiment"
            if info.kind == "full"
            else f"a randomised regular 2^({info.k}-{info.fraction}) fraction "
            f"({info.defining_relation})"
        )
        how = (
            f"effects by OLS on the saturated cell-means model with {self.vcov_type} standard errors"
            if self.vcov_type != "lenth"
            else "effects from the unreplicated cells with Lenth's pseudo standard error"
        )
        if self.metric_kind == "ratio":
            how = (
                "each cell's ratio of sums over its units with delta-method "
                f"({self.vcov_type}) standard errors"
            )
        if self.cluster:
            how += f" clustered by {self.cluster}"
        if self.covariate:
            how += f", adjusted for {self.covariate} (CUPED)"
        split = (
            "the contributions are exact Shapley values of all on − all off, each interaction "
            "shared equally among its components"
            if info.kind == "full"
            else "each effect is an alias chain, and the headline adds the main effects assuming "
            "no interactions"
        )
        return (
            f"{design[0].upper()}{design[1:]} on {self.outcome} with {self.sample_size:,} "
            f"{counted}: {how}; {split}."
        )

    @property
    def sample_size(self) -> int:
        """Randomised units when `unit=` was given, else rows."""
        return int(self.srm_table["n"].iloc[0]) if len(self.srm_table) else int(self.n_obs)

    # -- tables --------------------------------------------------------------------------------
    @property
    def effects(self) -> pd.DataFrame:
        """The effect rows of `tidy()` (main effects and interactions; no total, no contributions)."""
        tab = self.table
        keep = tab["component"].isna() & (tab["term"] != TOTAL)
        return tab[keep].drop(columns="component").reset_index(drop=True)

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
            self.headline.text(),
            "",
            f"effects (Box–Hunter–Hunter) with {level} intervals",
            self.effects.drop(columns="metric").to_string(**fmt),  # the metric is in the title
        ]
        if self.shapley_table is not None:
            parts += [
                "",
                f"Shapley split of all-on minus all-off = {self.shapley_total:.6g} "
                f"(se {self.shapley_total_se:.4g})",
                self.shapley_table.to_string(**fmt),
            ]
        parts += self._checks_text()
        if self.notes:
            parts += ["", "notes:", *[f"- {n}" for n in self.notes]]
        parts += ["", self.provenance.to_text()]
        return "\n".join(parts)

    # -- plots ---------------------------------------------------------------------------------
    def _plot_waterfall(self, *, ax: Axes | None = None) -> Figure:
        """All-off mean → each factor's Shapley contribution (with intervals) → all-on.

        A fraction has no Shapley split: its effects are drawn as a coefficient plot instead.
        """
        if self.shapley_table is None:
            return self._plot_effects(ax=ax)
        base = self.cell_table["adjusted_mean"].iloc[0]
        data = waterfall_data(self.shapley_table, baseline=float(base))
        return plot_waterfall(
            data,
            ax=ax,
            title=f"Shapley split of {self.outcome} (all on − all off = {self.shapley_total:.4g})",
            ylabel=self.outcome,
        )

    def _plot_effects(self, *, ax: Axes | None = None) -> Figure:
        """Coefficient plot of the effects (main effects and interactions) with their intervals."""
        return coefficient_plot(self.effects, ax=ax, title=f"factorial effects on {self.outcome}")

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


def _join(names: tuple[str, ...] | list[str]) -> str:
    """'E', 'E and R', 'E, R and K'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
