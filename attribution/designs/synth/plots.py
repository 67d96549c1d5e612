"""Plots for synthetic controls: trajectory, gap over placebo gaps, weights, leave-one-out, and the
SDID trajectory with its time weights.

Each function takes either a fitted `SyntheticControlResult` (read through its attributes only) or
plain arrays / Series / frames, so any synthetic design can reuse them; results are imported for
type hints only, so `results` can import this module without a cycle. They return a matplotlib
Figure and never show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attribution.designs.synth.adh import leave_one_out_paths
from attribution.errors import OptionError
from attribution.report.plotting import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from attribution.designs.synth.results import SyntheticControlResult

__all__ = [
    "gap_plot",
    "leave_one_out_plot",
    "synthdid_plot",
    "top_weights_plot",
    "trajectory_plot",
    "weights_plot",
]


def trajectory_plot(
    result: SyntheticControlResult | None = None,
    *,
    times: Any = None,
    treated: Any = None,
    synthetic: Any = None,
    treatment_start: Any = None,
    label: str = "treated",
    ax: Axes | None = None,
) -> Figure:
    """Treated unit against its synthetic control over time, with the treatment start marked."""
    if result is not None:
        times = result.treated_path.index
        treated = result.treated_path.to_numpy()
        synthetic = result.synthetic_path.to_numpy()
        treatment_start = result.treatment_start
        label = str(result.treated_unit)
    _need(times=times, treated=treated, synthetic=synthetic)
    fig, ax = new_axes(ax)
    ax.plot(list(times), np.asarray(treated, dtype=float), color="black", lw=1.5, label=label)
    ax.plot(
        list(times),
        np.asarray(synthetic, dtype=float),
        color="black",
        lw=1.5,
        ls="--",
        label=f"synthetic {label}",
    )
    if treatment_start is not None:
        ax.axvline(treatment_start, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(str(getattr(times, "name", "") or "time"))
    ax.set_ylabel(getattr(result, "outcome", "") if result is not None else "")
    ax.legend(frameon=False)
    ax.set_title("treated vs synthetic control")
    return fig


def gap_plot(
    result: SyntheticControlResult | None = None,
    *,
    gap: pd.Series | None = None,
    placebo_gaps: pd.DataFrame | None = None,
    treatment_start: Any = None,
    max_pre_mspe_ratio: float | None = 5.0,
    ax: Axes | None = None,
) -> Figure:
    """The treated unit's gap (bold) over the in-space placebo gaps (grey), ADH (2010) Fig. 4–7.

    Placebos whose pre-period MSPE exceeds `max_pre_mspe_ratio` × the treated unit's are left out
    (ADH use 20, 5 and 2); None draws them all. The title says how many were dropped.
    """
    if result is not None:
        gap = result.gaps
        placebo_gaps = result.placebo_gaps
        treatment_start = result.treatment_start
    if gap is None:
        raise OptionError("gap_plot needs a result or a gap series")
    gap = pd.Series(gap)
    if max_pre_mspe_ratio is not None and not max_pre_mspe_ratio > 0:
        raise OptionError(f"max_pre_mspe_ratio must be positive, got {max_pre_mspe_ratio!r}")
    fig, ax = new_axes(ax)
    dropped = 0
    if placebo_gaps is not None and len(placebo_gaps.columns):
        pre = np.asarray(gap.index < treatment_start) if treatment_start is not None else None
        base = float(np.mean(gap.to_numpy()[pre] ** 2)) if pre is not None and pre.any() else None
        for col in placebo_gaps.columns:
            g = placebo_gaps[col].to_numpy(dtype=float)
            if (
                max_pre_mspe_ratio is not None
                and base is not None
                and base > 0
                and np.mean(g[pre] ** 2) > max_pre_mspe_ratio * base
            ):
                dropped += 1
                continue
            ax.plot(list(placebo_gaps.index), g, color="0.75", lw=0.8)
    ax.plot(list(gap.index), gap.to_numpy(dtype=float), color="black", lw=2.0, label="treated")
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    if treatment_start is not None:
        ax.axvline(treatment_start, color="grey", lw=0.8, ls=":")
    title = "gap: treated − synthetic"
    if placebo_gaps is not None:
        title += f" over {len(placebo_gaps.columns) - dropped} placebo gaps"
        if dropped:
            title += f" ({dropped} with pre-MSPE > {max_pre_mspe_ratio:g}× treated left out)"
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False)
    return fig


def weights_plot(weights: pd.Series, *, min_weight: float = 1e-3, ax: Axes | None = None) -> Figure:
    """Horizontal bars of the donor weights above `min_weight`, largest on top."""
    w = pd.Series(weights).astype(float)
    w = w[w > min_weight].sort_values()
    fig, ax = new_axes(ax, height=0.3 * max(len(w), 1) + 1.2)
    ax.barh([str(i) for i in w.index], w.to_numpy(), color="0.35")
    ax.set_xlabel("weight")
    ax.set_title(f"donor weights (> {min_weight:g})")
    return fig


def leave_one_out_plot(
    result: SyntheticControlResult,
    *,
    loo: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Treated and synthetic paths with the leave-one-out synthetic paths overlaid (ADH 2015, Fig. 5).

    `loo` is `attribution.synth.leave_one_out(result)`; computed when not given (one re-fit per
    weighted donor).
    """
    frame = leave_one_out_paths(result.problem, result.unit_weights) if loo is None else loo
    fig, ax = new_axes(ax)
    for i, (_, part) in enumerate(frame.groupby("dropped", sort=False)):
        ax.plot(
            list(part["time"]),
            part["synthetic"].to_numpy(dtype=float),
            color="0.7",
            lw=0.9,
            label="leave one donor out" if i == 0 else None,
        )
    trajectory_plot(result, ax=ax)
    ax.set_title("leave-one-out synthetic controls")
    return fig


def synthdid_plot(
    trajectories: pd.DataFrame,
    *,
    method: str,
    estimate: float,
    std_error: float,
    time_name: Any = None,
    ax: Axes | None = None,
) -> Figure:
    """Treated vs synthetic trajectory of an SDID / SC / DiD fit; bars show the time weights λ.

    `trajectories` is `SynthResult.trajectories()` (treated, synthetic, time_weight, post).
    """
    fig, ax = new_axes(ax, width=7.0, height=4.2)
    tr = trajectories
    x = np.asarray(tr.index)
    ax.plot(x, tr["treated"], color="C3", lw=1.8, label="treated")
    ax.plot(x, tr["synthetic"], color="C0", lw=1.6, ls="--", label=f"synthetic ({method})")
    first_post = x[tr["post"].to_numpy()][0]
    ax.axvline(first_post, color="grey", lw=0.8, ls=":")
    lam = tr["time_weight"].to_numpy()
    if lam.max() > 0 and method == "sdid":
        lo, hi = ax.get_ylim()
        height = 0.25 * (hi - lo) * lam / lam.max()
        ax.bar(x, height, bottom=lo, color="C2", alpha=0.35, width=0.8, label="time weight λ")
        ax.set_ylim(lo, hi)
    ax.set_xlabel(time_name or "time")
    ax.set_title(f"{method.upper()}: ATT {estimate:.3g} (SE {std_error:.3g})")
    ax.legend(loc="best", fontsize=8)
    return fig


def top_weights_plot(
    weights: pd.Series, *, method: str, top: int = 20, ax: Axes | None = None
) -> Figure:
    """Horizontal bars of the `top` largest positive unit weights ω, largest on top."""
    w = weights[weights > 0].sort_values(ascending=False).head(top)
    fig, ax = new_axes(ax, width=6.0, height=0.25 * max(len(w), 4) + 1.0)
    ax.barh(np.arange(len(w))[::-1], w.to_numpy(), color="C0")
    ax.set_yticks(np.arange(len(w))[::-1], [str(u) for u in w.index])
    ax.set_xlabel("unit weight ω")
    ax.set_title(f"{method.upper()} donor weights (top {len(w)})")
    return fig


def _need(**values: Any) -> None:
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise OptionError(f"missing {missing}", fix="pass a result or all of these arrays")
