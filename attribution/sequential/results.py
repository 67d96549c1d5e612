"""Results of sequential monitoring: `Boundaries` (a design's table) and `MonitorResult`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from attribution.results import Estimate, Result, to_jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["BOUNDARY_COLUMNS", "METHOD_WORDS", "Boundaries", "MonitorResult", "look_label"]

BOUNDARY_COLUMNS: tuple[str, ...] = (
    "look",
    "information_fraction",
    "z_efficacy",
    "nominal_alpha",
    "alpha_spent",
    "cumulative_alpha",
)
"""Columns of `Boundaries.table`; with futility also `z_futility`, `beta_spent`, `cumulative_beta`."""


@dataclass(frozen=True, kw_only=True)
class Boundaries:
    """Two-sided efficacy z-boundaries of a group-sequential design, one row per look.

    Stop for efficacy at look k when |Z_k| ≥ `z_efficacy` (a positive Z favours the treatment, a
    negative one is harm); `nominal_alpha` is the two-sided fixed-sample p-value that boundary
    corresponds to; `alpha_spent` / `cumulative_alpha` the null probability of stopping at / by
    look k. With futility, stop for futility when Z_k < `z_futility` (non-binding); `drift` is the
    expected Z at full information under the alternative the design powers, and `inflation` the
    maximum information relative to a fixed-sample design of the same alpha and power.
    """

    method: str
    alpha: float
    table: pd.DataFrame = field(repr=False)
    futility: str | None = None
    power: float | None = None
    drift: float | None = None
    inflation: float | None = None

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value

    @property
    def z_efficacy(self) -> np.ndarray:
        return self.table["z_efficacy"].to_numpy(float)

    def tidy(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        head = f"{self.method} boundaries, two-sided alpha = {self.alpha:g}"
        if self.futility is not None:
            head += (
                f"; non-binding {self.futility} futility at power {self.power:g} "
                f"(maximum information × {self.inflation:.4g} of a fixed-sample design)"
            )
        body = self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}")
        return f"{head}\n{body}"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda v: f"{v:.6g}", border=0)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return to_jsonable(out)

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """The boundaries against the information fraction (efficacy ±, futility if any)."""
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax)
        tab = self.table
        t = tab["information_fraction"].to_numpy(float)
        z = np.where(np.isfinite(tab["z_efficacy"]), tab["z_efficacy"], np.nan)
        ax.plot(t, z, "o-", color="C0", label="efficacy")
        ax.plot(t, -z, "o-", color="C3", label="harm")
        if "z_futility" in tab:
            ax.plot(t, tab["z_futility"], "s--", color="C7", label="futility (non-binding)")
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xlabel("information fraction")
        ax.set_ylabel("z boundary")
        ax.set_title(f"{self.method} boundaries (two-sided alpha {self.alpha:g})")
        ax.legend(loc="best", fontsize="small")
        return fig


@dataclass(frozen=True, kw_only=True)
class MonitorResult(Result):
    """An experiment monitored look by look with always-valid inference.

    `table`: one row per treatment arm × look: the cumulative difference in the metric (treatment −
    control) with its fixed-sample (pointwise) interval and p-value in the tidy columns, the
    always-valid interval in `conf_low_uniform`/`conf_high_uniform` (it holds at every look at
    once), the always-valid p-value (running minimum) in `p_value_always_valid`, and the decision
    in `decision` ("continue", "stop for efficacy", "stop for harm"; kept after the first stop).
    The headline is the first treatment arm's last look, with the always-valid interval and p-value:
    after peeking, those are the ones that keep their level.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("trajectory",)

    method: str
    metric: str
    control: str | None = None
    stopped_at: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    """Per treatment arm, the first look whose decision is a stop (empty when none stopped)."""

    @property
    def headline(self) -> Estimate:
        tab = self.table
        row = tab.loc[tab["arm"] == tab["arm"].iloc[0]].iloc[-1]
        level = f"{100 * (1 - self.alpha):g}%"
        vs = f"{row['arm']} − {self.control}" if self.control is not None else str(row["arm"])
        return Estimate(
            term=str(row["term"]),
            estimate=row["estimate"],
            std_error=row["std_error"],
            conf_low=row["conf_low_uniform"],
            conf_high=row["conf_high_uniform"],
            p_value=row["p_value_always_valid"],
            label=(
                f"difference in {self.metric} ({vs}) at the last look "
                f"({look_label(row['time'])}); "
                f"always-valid {level} interval and p-value ({METHOD_WORDS[self.method]}), "
                f"decision: {row['decision']}"
            ),
        )

    @property
    def sample_size(self) -> int | None:
        tab = self.table
        last = tab.loc[tab["time"] == tab["time"].iloc[-1]]
        return int(last["n_treatment"].sum() + last["n_control"].iloc[0])

    @property
    def description(self) -> str:
        return (
            f"cumulative difference in {self.metric} per look, with "
            f"{METHOD_WORDS[self.method]} always-valid inference"
        )

    def _plot_trajectory(self, *, ax: Axes | None = None) -> Figure:
        """Estimate per look with the pointwise interval (thin) and the always-valid one (band)."""
        from attribution.report.plotting import new_axes

        fig, ax = new_axes(ax, width=7.0)
        tab = self.table
        for i, (arm, part) in enumerate(tab.groupby("arm", sort=False)):
            x = np.arange(len(part))
            color = f"C{i}"
            ax.fill_between(
                x,
                part["conf_low_uniform"],
                part["conf_high_uniform"],
                color=color,
                alpha=0.2,
                label=f"{arm}: always-valid",
            )
            ax.plot(x, part["conf_low"], color=color, lw=0.8, ls=":", label=f"{arm}: fixed-sample")
            ax.plot(x, part["conf_high"], color=color, lw=0.8, ls=":")
            ax.plot(x, part["estimate"], "o-", color=color, label=f"{arm}: estimate")
            ax.set_xticks(x, [look_label(t) for t in part["time"]], rotation=45, ha="right")
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("look")
        ax.set_ylabel(f"difference in {self.metric}")
        ax.set_title(f"{self.design}: {METHOD_WORDS[self.method]}")
        ax.legend(loc="best", fontsize="small")
        return fig


def look_label(value: object) -> str:
    """A look as a reader writes it: a midnight timestamp as its date."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


METHOD_WORDS = {
    "msprt": "mixture SPRT",
    "confidence_sequence": "asymptotic confidence sequence",
}
