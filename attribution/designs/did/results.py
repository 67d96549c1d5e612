"""Result types of `att_gt` and `aggte` (Callaway & Sant'Anna)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from attribution.results import Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from attribution.designs.did.moments import Influence

__all__ = ["AggteResult", "AttGtResult", "Overall"]

_PRE, _POST = "tab:red", "tab:blue"  # R ggdid: pre-treatment red, post-treatment blue


@dataclass(frozen=True, kw_only=True)
class AttGtResult(Result):
    """Group-time ATTs. ``tidy()``: one row per (group, time) with event_time and a post flag.

    The influence-function representation needed by `aggte` is kept as an internal field.
    """

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
    """Critical value of the intervals (sup-t uniform band value when cband=True)."""
    pretest_wald: float
    """R `did`'s Wald statistic for 'every pre-treatment ATT(g,t) is zero' (NaN if singular)."""
    pretest_pvalue: float
    pretest_df: int
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})
    influence: Influence = field(repr=False, metadata={"internal": True})

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

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """ggdid-style: one panel per cohort, ATT(g,t) by period, pre-treatment red, post blue."""
        from matplotlib.figure import Figure

        tab = self.table
        groups = list(dict.fromkeys(tab["group"].tolist()))
        if ax is not None:
            fig, axes = ax.figure, [ax] * len(groups)
        else:
            fig = Figure(figsize=(6.4, 1.9 * len(groups) + 0.6), layout="constrained")
            axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
        for a, g in zip(axes, groups, strict=True):
            sub = tab[tab["group"] == g]
            for flag, colour, label in ((False, _PRE, "pre"), (True, _POST, "post")):
                s = sub[sub["post"] == flag]
                if len(s):
                    est = s["estimate"].to_numpy(float)
                    a.errorbar(
                        s["time"].to_numpy(float),
                        est,
                        yerr=[est - s["conf_low"].to_numpy(float), s["conf_high"] - est],
                        fmt="o",
                        color=colour,
                        capsize=3,
                        label=label,
                    )
            a.axhline(0.0, color="grey", lw=0.8, ls="--")
            a.set_title(f"group {g:g}", fontsize=9, loc="left")
        from matplotlib.lines import Line2D

        axes[-1].set_xlabel("period")
        axes[-1].set_xticks(sorted(set(tab["time"].tolist())))
        handles = [
            Line2D([], [], color=c, marker="o", ls="", label=lab)
            for c, lab in ((_PRE, "pre-treatment"), (_POST, "post-treatment"))
        ]
        axes[0].legend(handles=handles, loc="best", fontsize=8)
        return fig


@dataclass(frozen=True)
class Overall:
    """An aggregated ATT with its standard error and interval."""

    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        from attribution.results import to_jsonable

        return to_jsonable(
            {
                "estimate": self.estimate,
                "std_error": self.std_error,
                "conf_low": self.conf_low,
                "conf_high": self.conf_high,
                "p_value": self.p_value,
            }
        )


@dataclass(frozen=True, kw_only=True)
class AggteResult(Result):
    """An aggregation of ATT(g,t): ``overall`` plus per-row estimates in ``tidy()``.

    Rows are indexed by ``event_time`` (type="dynamic"), ``group`` ("group") or ``time``
    ("calendar"); type="simple" has only the overall row. With ``cband=True`` the row intervals are
    a uniform (sup-t) band.
    """

    type: str
    overall: Overall
    min_e: float
    max_e: float
    balance_e: int | None
    na_rm: bool
    bstrap: bool
    biters: int
    cband: bool
    seed: int
    critical_value: float
    vcov: np.ndarray = field(repr=False, metadata={"internal": True})
    influence: Influence | None = field(repr=False, metadata={"internal": True})

    def summary(self) -> str:
        """Overall effect first (as R's summary of aggte), then the per-row table."""
        o = self.overall
        level = f"{100 * (1 - self.alpha):g}%"
        head = (
            f"overall ATT ({self.type}): {o.estimate:.6g} (SE {o.std_error:.6g}), "
            f"{level} CI [{o.conf_low:.6g}, {o.conf_high:.6g}]"
        )
        return head + "\n\n" + super().summary()

    def event_study(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(event_times, estimates, vcov) of a dynamic aggregation (the event-study protocol)."""
        if self.type != "dynamic":
            from attribution.errors import DesignError

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

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """Event-study plot (dynamic) or estimates by group / period, with the interval or band."""
        from attribution.report.plotting import new_axes

        tab = self.table
        fig, ax = new_axes(ax)
        key = {"dynamic": "event_time", "group": "group", "calendar": "time"}.get(self.type)
        if key is None or len(tab) == 0:
            o = self.overall
            ax.errorbar(
                [0], [o.estimate], yerr=[[o.estimate - o.conf_low], [o.conf_high - o.estimate]],
                fmt="o", capsize=4, color=_POST,
            )  # fmt: skip
            ax.set_xticks([0], ["overall ATT"])
        else:
            x = tab[key].to_numpy(float)
            est = tab["estimate"].to_numpy(float)
            lo, hi = tab["conf_low"].to_numpy(float), tab["conf_high"].to_numpy(float)
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
