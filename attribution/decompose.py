"""Shapley split of a combined effect into per-component contributions, and waterfall data.

Written over *cell means* of a 2^k layout so that any design able to estimate the expected outcome
of every on/off combination of the components (a factorial experiment today; triangulated
estimates from other designs later) can reuse it.

Cells are indexed by a bitmask: bit ``j`` of the index is 1 when component ``j`` is on. The value
of a coalition S is v(S) = mu(S) - mu(empty), and the Shapley contribution of component j is
(Shapley 1953)::

    phi_j = sum_{S subset of N without j} |S|! (k - |S| - 1)! / k! * (mu(S + j) - mu(S))

Every phi_j is a linear combination of cell means, so its standard error follows exactly from the
covariance of the cell means, and the contributions add up to mu(N) - mu(empty) (efficiency).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from attribution.errors import DesignError
from attribution.inference import wald_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ShapleySplit",
    "cell_label",
    "cell_means_vector",
    "plot_waterfall",
    "shapley_matrix",
    "shapley_split",
    "waterfall_data",
]


def cell_label(index: int, components: Sequence[str]) -> str:
    """'E=0,R=1,K=0' for cell `index` (bit j = component j on); the simulator's truth index."""
    return ",".join(f"{c}={(index >> j) & 1}" for j, c in enumerate(components))


def cell_means_vector(
    cell_means: pd.Series | Sequence[float], components: Sequence[str]
) -> np.ndarray:
    """Cell means in bitmask order, from an array (already in that order) or a Series indexed by
    `cell_label` strings (any order)."""
    k = len(components)
    if isinstance(cell_means, pd.Series) and not pd.api.types.is_integer_dtype(cell_means.index):
        labels = [cell_label(i, components) for i in range(2**k)]
        missing = [lab for lab in labels if lab not in cell_means.index]
        if missing:
            raise DesignError(
                f"cell means lack {len(missing)} of the {2**k} cells",
                rows=pd.DataFrame({"missing cell": missing}),
                fix="a Shapley split needs the mean of every on/off combination of the components",
            )
        return cell_means.loc[labels].to_numpy(dtype=float)
    values = np.asarray(cell_means, dtype=float)
    if values.shape != (2**k,):
        raise DesignError(
            f"expected {2**k} cell means for {k} components, got shape {values.shape}",
            fix="pass one mean per cell in bitmask order (bit j = component j on)",
        )
    return values


@lru_cache(maxsize=16)
def _shapley_matrix(k: int) -> np.ndarray:
    out = np.zeros((k, 2**k))
    for j in range(k):
        bit = 1 << j
        for s in range(2**k):
            if s & bit:
                continue
            size = bin(s).count("1")
            w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            out[j, s | bit] += w
            out[j, s] -= w
    out.setflags(write=False)
    return out


def shapley_matrix(k: int) -> np.ndarray:
    """(k, 2^k) matrix M with phi = M @ mu for cell means mu in bitmask order.

    The rows add up to e_{all on} - e_{all off}, so the contributions sum to the total effect.
    """
    if not 1 <= int(k) <= 16:
        raise DesignError(f"a Shapley split needs 1 to 16 components, got {k}")
    return _shapley_matrix(int(k)).copy()


@dataclass(frozen=True)
class ShapleySplit:
    """Per-component contributions (tidy table), their sum and the endpoints of the waterfall."""

    table: pd.DataFrame  # component, estimate, std_error, conf_low, conf_high, p_value
    total: float
    total_std_error: float
    baseline: float  # all-off cell mean
    all_on: float  # all-on cell mean
    vcov: pd.DataFrame  # covariance of the contributions


def shapley_split(
    cell_means: pd.Series | Sequence[float] | np.ndarray,
    cov: np.ndarray | None = None,
    *,
    components: Sequence[str],
    alpha: float = 0.05,
    df: float | None = None,
    crit: float | None = None,
) -> ShapleySplit:
    """Exact Shapley split of mu(all on) - mu(all off), with Wald intervals from `cov`.

    `cov` is the covariance of the cell means (bitmask order); None gives NaN standard errors (e.g.
    for known truth). `df` selects t intervals; `crit` overrides the critical value.
    """
    comps = [str(c) for c in components]
    k = len(comps)
    mu = cell_means_vector(cell_means, comps)
    m = shapley_matrix(k)
    est = m @ mu
    total = float(mu[-1] - mu[0])
    contrast_total = np.zeros(2**k)
    contrast_total[-1], contrast_total[0] = 1.0, -1.0
    if cov is None:
        v = np.full((k, k), np.nan)
        total_se = float("nan")
    else:
        cov = np.asarray(cov, dtype=float)
        if cov.shape != (2**k, 2**k):
            raise DesignError(f"cell covariance must be {2**k}x{2**k}, got {cov.shape}")
        v = m @ cov @ m.T
        total_se = float(np.sqrt(max(contrast_total @ cov @ contrast_total, 0.0)))
    se = np.sqrt(np.clip(np.diag(v), 0.0, None))
    table = wald_table(
        comps,
        est,
        se,
        alpha=alpha,
        df=df,
        crit=crit,
        degenerate="raise" if cov is not None else "absent",
    ).rename(columns={"term": "component"})
    return ShapleySplit(
        table=table,
        total=total,
        total_std_error=total_se,
        baseline=float(mu[0]),
        all_on=float(mu[-1]),
        vcov=pd.DataFrame(v, index=comps, columns=comps),
    )


def waterfall_data(split: pd.DataFrame, *, baseline: float) -> pd.DataFrame:
    """Bars of a waterfall: baseline, one step per component (start → end), all-on total.

    `split` has columns component, estimate and optionally conf_low / conf_high.
    """
    est = split["estimate"].to_numpy(float)
    ends = baseline + np.cumsum(est)
    starts = np.concatenate([[baseline], ends[:-1]])
    lo = split["conf_low"].to_numpy(float) if "conf_low" in split else np.full(len(est), np.nan)
    hi = split["conf_high"].to_numpy(float) if "conf_high" in split else np.full(len(est), np.nan)
    rows = [
        {"step": "all off", "kind": "level", "start": 0.0, "end": baseline, "estimate": baseline}
    ]
    for i, comp in enumerate(split["component"]):
        rows.append(
            {
                "step": str(comp),
                "kind": "contribution",
                "start": starts[i],
                "end": ends[i],
                "estimate": est[i],
                "conf_low": starts[i] + lo[i],
                "conf_high": starts[i] + hi[i],
            }
        )
    rows.append(
        {"step": "all on", "kind": "level", "start": 0.0, "end": ends[-1], "estimate": ends[-1]}
    )
    return pd.DataFrame(
        rows, columns=["step", "kind", "start", "end", "estimate", "conf_low", "conf_high"]
    )


def plot_waterfall(
    data: pd.DataFrame, *, ax: Axes | None = None, title: str = "", ylabel: str = ""
) -> Figure:
    """Waterfall chart of `waterfall_data` output with interval whiskers on each contribution."""
    from attribution.report.plotting import new_axes

    fig, ax = new_axes(ax, width=1.2 * len(data) + 2.5)
    x = np.arange(len(data))
    for i, row in enumerate(data.itertuples(index=False)):
        lo, hi = sorted((row.start, row.end))
        up = row.estimate >= 0
        color = "0.55" if row.kind == "level" else ("tab:green" if up else "tab:red")
        ax.bar(i, hi - lo, bottom=lo, color=color, width=0.6)
        if row.kind == "contribution" and np.isfinite(row.conf_low) and np.isfinite(row.conf_high):
            ax.errorbar(
                i,
                row.end,
                yerr=[[row.end - row.conf_low], [row.conf_high - row.end]],
                fmt="none",
                ecolor="black",
                capsize=4,
                lw=1,
            )
        if i + 1 < len(data):
            ax.plot([i + 0.3, i + 0.7], [row.end, row.end], color="0.3", lw=0.8, ls=":")
    levels = data.loc[data["kind"] == "level", "end"].to_numpy(float)
    contrib = data.loc[data["kind"] == "contribution"]
    span = np.concatenate([levels, contrib["start"], contrib["end"]])
    span = span[np.isfinite(span)]
    if len(span):
        # zoom on the steps: level bars start at zero and would dwarf small contributions
        pad = 0.25 * (np.max(span) - np.min(span) or abs(np.max(span)) or 1.0)
        ax.set_ylim(np.min(span) - pad, np.max(span) + pad)
    ax.set_xticks(x, data["step"].astype(str))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig
