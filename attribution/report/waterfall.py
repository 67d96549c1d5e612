"""The memo's waterfall: each component's contribution to the combined effect, with its interval.

Drawn from a study's ``combined`` block (results.json): one step per component, then the combined
effect as the last bar with its own interval. In % of baseline when the design knows its baseline,
else in metric units. Written as SVG and PNG with fixed metadata and a fixed SVG hash salt, so a
rerun writes byte-identical files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attribution.decompose import waterfall_data
from attribution.errors import ReportError
from attribution.report.io import atomic_write_bytes
from attribution.report.plotting import new_axes

__all__ = ["figure_bytes", "waterfall_figure", "waterfall_frame", "write_waterfall"]

_UP, _DOWN, _TOTAL = "#2f7d4a", "#b23b3b", "#3b5b84"
_RC = {
    "svg.hashsalt": "attribution-memo",  # clip-path ids are hashes: salt them for byte-identical reruns
    "svg.fonttype": "path",  # glyphs as paths: the figure looks the same without our fonts
    "font.size": 9.0,
    "font.family": "DejaVu Sans",
}


def _num(value: Any) -> float:
    return float(value) if value is not None and math.isfinite(float(value)) else math.nan


def waterfall_frame(combined: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    """Steps of the waterfall (decompose.waterfall_data from zero, plus the combined total) and the
    unit they are in ("%" of baseline, or "" for metric units)."""
    rows = list(combined.get("contributions") or [])
    head = combined.get("headline") or {}
    if not rows:
        raise ReportError(
            "the combined result has no per-component contributions to draw",
            fix="the combined design must split its headline among the components "
            "(a factorial design, or dml with binary components)",
        )
    pct = all(r.get("pct") is not None for r in rows) and head.get("pct") is not None
    key = ("pct", "pct_low", "pct_high") if pct else ("estimate", "conf_low", "conf_high")
    split = pd.DataFrame(
        {
            "component": [str(r["component"]) for r in rows],
            "estimate": [_num(r.get(key[0])) for r in rows],
            "conf_low": [_num(r.get(key[1])) for r in rows],
            "conf_high": [_num(r.get(key[2])) for r in rows],
        }
    )
    steps = waterfall_data(split, baseline=0.0)
    steps = steps[steps["kind"] == "contribution"].reset_index(drop=True)
    total = {
        "step": "combined",
        "kind": "total",
        "start": 0.0,
        "end": _num(head.get(key[0])),
        "estimate": _num(head.get(key[0])),
        "conf_low": _num(head.get(key[1])),
        "conf_high": _num(head.get(key[2])),
    }
    return pd.concat([steps, pd.DataFrame([total])], ignore_index=True), "%" if pct else ""


def waterfall_figure(
    combined: Mapping[str, Any],
    *,
    level: str = "95%",
    bars: Mapping[str, float] | None = None,
    width: float = 6.6,
    height: float = 2.5,
) -> Figure:
    """Waterfall of the contributions (whiskers: the `level` interval of each step, drawn around
    where the step ends) and the combined effect; `bars` marks a component's launch bar (in the
    same unit) as a short dashed line across its step."""
    data, unit = waterfall_frame(combined)
    with matplotlib.rc_context(_RC):
        fig, ax = new_axes(width=width, height=height)
        x = np.arange(len(data))
        for i, row in enumerate(data.itertuples(index=False)):
            lo, hi = sorted((row.start, row.end))
            color = _TOTAL if row.kind == "total" else (_UP if row.estimate >= 0 else _DOWN)
            ax.bar(i, hi - lo, bottom=lo, color=color, width=0.56, zorder=2)
            has_ci = math.isfinite(row.conf_low) and math.isfinite(row.conf_high)
            end = row.end
            if has_ci:
                ax.errorbar(
                    i,
                    end,
                    yerr=[[end - row.conf_low], [row.conf_high - end]],
                    fmt="none",
                    ecolor="#222222",
                    capsize=3.5,
                    lw=1.0,
                    zorder=3,
                )
            label = f"{row.estimate:+.2f}{unit}"
            top = max(end, row.conf_high) if has_ci else end
            ax.annotate(
                label,
                (i, top),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8.5,
                fontweight="bold" if row.kind == "total" else "normal",
            )
            if i + 1 < len(data) - 1:  # connector from this step's end to the next step's start
                ax.plot([i + 0.28, i + 0.72], [end, end], color="0.45", lw=0.8, ls=":", zorder=1)
            b = (bars or {}).get(str(row.step))
            if b is not None and math.isfinite(b) and row.kind != "total":
                ax.plot(
                    [i - 0.36, i + 0.36],
                    [row.start + b] * 2,
                    color="#c48a00",
                    lw=1.4,
                    ls=(0, (3, 1.5)),
                    zorder=4,
                )
        ax.axhline(0, color="0.3", lw=0.8, zorder=1)
        ax.set_xticks(x, [str(s) for s in data["step"]])
        ax.set_ylabel(f"lift ({'% of baseline' if unit else 'metric units'})")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="0.9", lw=0.6, zorder=0)
        ax.margins(y=0.18)
        if bars:
            ax.plot([], [], color="#c48a00", lw=1.4, ls=(0, (3, 1.5)), label="launch bar")
            ax.legend(loc="upper left", frameon=False, fontsize=8)
        ax.set_title(f"What each component added ({level} intervals)", fontsize=9.5, loc="left")
    return fig


def figure_bytes(fig: Figure, fmt: str, *, dpi: int = 200) -> bytes:
    """The figure as SVG or PNG bytes, identical on every rerun (no date, no software stamp)."""
    meta: dict[str, Any] = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def write_waterfall(
    combined: Mapping[str, Any],
    folder: str | Path,
    *,
    level: str = "95%",
    bars: Mapping[str, float] | None = None,
    formats: Sequence[str] = ("svg", "png"),
) -> dict[str, Path]:
    """Write ``waterfall.<fmt>`` for each format into `folder` (atomically); {fmt: path}."""
    fig = waterfall_figure(combined, level=level, bars=bars)
    return {
        fmt: atomic_write_bytes(Path(folder) / f"waterfall.{fmt}", figure_bytes(fig, fmt))
        for fmt in formats
    }
