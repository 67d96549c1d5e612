"""Result types of the experiment family: `ExperimentResult` (every metric × treatment arm, lifts,
adjusted p-values, decisions, SRM and CUPED checks) and `LiftDecomposition` (a lift split
log-additively into its factors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import DesignError
from attribution.results import Estimate, Result, coefficient_plot, to_jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ExperimentResult", "LiftDecomposition", "arm_term"]

_INTERNAL = {"internal": True}


def arm_term(metric: str, arm: Any, control: Any) -> str:
    """Term of a tidy row: '<metric>: <arm> vs <control>'."""
    return f"{metric}: {arm} vs {control}"


def _overall(table: pd.DataFrame) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    for k in ("segment", "surface", "time"):
        if k in table:
            keep &= table[k].isna()
    return keep


@dataclass(frozen=True, kw_only=True)
class ExperimentResult(Result):
    """Result of `experiment()`.

    `tidy()`: one row per metric × treatment arm (× segment × surface × time when given; the rows
    whose segment / surface / time are empty are the whole population): `term` =
    ``"<metric>: <arm> vs <control>"``, `estimate` the absolute difference treatment − control with
    its SE, pointwise interval and raw p-value; keys `metric`, `arm` (, `segment`, `surface`,
    `time`); then `control_mean`, `treatment_mean`, `n_control`, `n_treatment`, `lift` (relative),
    `lift_conf_low`, `lift_conf_high`, `p_value_adjusted` (within the row's family), `role`,
    `decision`.

    Decisions: a primary metric is a ``win`` or a ``loss`` when its adjusted p-value is below alpha
    (by the metric's desired direction), else ``inconclusive``; a guardrail is ``within tolerance``
    when its lift interval excludes a loss beyond its tolerated loss, else ``breached``; secondary
    metrics are ``info``.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("lifts", "effects")

    metrics: tuple[str, ...]
    roles: Mapping[str, str]
    arms: tuple[Any, ...]
    control: Any
    arm_column: str
    unit: str
    segments: str | None = None
    surface: str | None = None
    time: str | None = None
    cluster: str | None = None
    correction: str = "holm"
    lift_interval: str = "delta"
    n_units: Mapping[str, int] = field(default_factory=dict)
    cuped_table: pd.DataFrame | None = field(default=None, repr=False)
    vcov_table: pd.DataFrame | None = field(default=None, repr=False, metadata=_INTERNAL)
    """Covariance of the whole-population differences (rows: their terms), across metrics and
    arms: what simultaneous (max-t) intervals need."""

    @property
    def headline(self) -> Estimate:
        """The first primary metric's (else the first metric's) difference, first treatment arm,
        whole population."""
        tab = self.table
        rows = tab[_overall(tab)]
        primary = [m for m in self.metrics if self.roles.get(m) == "primary"]
        metric = primary[0] if primary else self.metrics[0]
        rows = rows[rows["metric"] == metric]
        row = rows.iloc[0]
        lift = row["lift"]
        pct = f", a relative lift of {100 * lift:+.3g}%" if np.isfinite(lift) else ""
        label = f"difference in {metric}, {row['arm']} − {self.control}{pct}"
        return Estimate.from_row(row, label=label)

    @property
    def baseline(self) -> float | None:
        tab = self.table
        row = tab[_overall(tab) & (tab["term"] == self.headline.term)].iloc[0]
        value = float(row["control_mean"])
        return value if np.isfinite(value) else None

    @property
    def sample_size(self) -> int:
        """Randomised units (all arms)."""
        return int(sum(self.n_units.values()))

    @property
    def description(self) -> str:
        how = "delta-method standard errors over randomised units"
        if self.cluster:
            how = f"delta-method standard errors over clusters of {self.cluster!r}"
        adjusted = [
            m
            for m in self.metrics
            if self.cuped_table is not None and m in set(self.cuped_table["metric"])
        ]
        cuped = f", CUPED on {', '.join(adjusted)}" if adjusted else ""
        return (
            f"An online experiment with {self.sample_size:,} {self.unit} units in "
            f"{len(self.arms)} arms of {self.arm_column!r} (control arm {self.control!r}): "
            f"{len(self.metrics)} metric(s) with {how}{cuped}; relative lifts with "
            f"{self.lift_interval} intervals; p-values adjusted by {self.correction} within "
            "families."
        )

    @property
    def decisions(self) -> pd.DataFrame:
        """Whole-population rows: metric, arm, role, lift, adjusted p-value and the decision."""
        tab = self.table
        cols = ["metric", "arm", "role", "estimate", "lift", "p_value_adjusted", "decision"]
        return tab.loc[_overall(tab), cols].reset_index(drop=True)

    @property
    def cuped(self) -> pd.DataFrame:
        """Per CUPED-adjusted metric and comparison: θ and the variance reduction of the
        difference (1 − adjusted / unadjusted variance)."""
        if self.cuped_table is None:
            return pd.DataFrame(columns=["metric", "arm", "theta", "variance_reduction"])
        return self.cuped_table

    @property
    def vcov(self) -> pd.DataFrame:
        if self.vcov_table is None:
            raise DesignError("no joint covariance was computed")
        return self.vcov_table

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["arms"] = [to_jsonable(a) for a in self.arms]
        return out

    def summary(self) -> str:
        text = super().summary()
        dec = self.decisions
        lines = [f"- {r.metric} ({r.role}), {r.arm}: {r.decision}" for r in dec.itertuples()]
        return text + "\n\ndecisions:\n" + "\n".join(lines)

    # -- plots ---------------------------------------------------------------------------------
    def _plot_lifts(self, *, ax: Axes | None = None) -> Figure:
        """Forest plot of the relative lifts (in %) of every metric × arm, whole population."""
        from attribution.report.plotting import new_axes

        tab = self.table[_overall(self.table)]
        fig, ax = new_axes(ax, height=0.4 * len(tab) + 1.2)
        y = np.arange(len(tab))[::-1]
        est = 100 * tab["lift"].to_numpy(float)
        lo = 100 * tab["lift_conf_low"].to_numpy(float)
        hi = 100 * tab["lift_conf_high"].to_numpy(float)
        has = np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(
            est[has], y[has], xerr=[est[has] - lo[has], hi[has] - est[has]], fmt="o", capsize=3
        )
        if (~has).any():
            ax.plot(est[~has], y[~has], "o", mfc="white", color="C0")
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, tab["term"].astype(str))
        ax.set_xlabel("relative lift (%)")
        ax.set_title(f"lifts vs {self.control} ({100 * (1 - self.alpha):g}% intervals)")
        return fig

    def _plot_effects(self, *, ax: Axes | None = None) -> Figure:
        """Coefficient plot of the absolute differences, whole population."""
        return coefficient_plot(
            self.table[_overall(self.table)], ax=ax, title="differences treatment − control"
        )


@dataclass(frozen=True, kw_only=True)
class LiftDecomposition(Result):
    """Result of `decompose_lift()`: the log of a metric's lift (treatment / control) split exactly
    into additive pieces, each with a delta-method SE from the joint covariance.

    `tidy()`: per treatment arm one row `log lift(<metric>): <arm> vs <control>` (component empty:
    the total) and one row per piece with `component` set; the pieces add up to the total exactly.
    `lift` = exp(estimate) − 1 gives each piece as a multiplicative lift.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("pieces",)

    metric: str
    pieces: tuple[str, ...]
    control: Any
    arm_column: str
    unit: str
    n_units: Mapping[str, int] = field(default_factory=dict)

    @property
    def headline(self) -> Estimate:
        tab = self.table
        row = tab[tab["component"].isna()].iloc[0]
        return Estimate.from_row(
            row,
            label=f"log lift of {self.metric} ({row['arm']} vs {self.control}), the sum of "
            f"{', '.join(self.pieces)}",
        )

    @property
    def sample_size(self) -> int:
        return int(sum(self.n_units.values()))

    @property
    def description(self) -> str:
        return (
            f"The log lift of {self.metric} split exactly into {len(self.pieces)} additive pieces "
            f"({', '.join(self.pieces)}), with delta-method SEs over {self.sample_size:,} units."
        )

    def _plot_pieces(self, *, ax: Axes | None = None) -> Figure:
        """Coefficient plot of the total log lift and its pieces."""
        return coefficient_plot(self.table, ax=ax, title=f"log lift of {self.metric} by piece")
