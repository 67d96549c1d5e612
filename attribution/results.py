"""The one Result type every design returns, and the provenance it carries.

A design subclasses `Result` (a frozen, keyword-only dataclass) and adds its own fields. Every DataFrame
or Series attribute is handed out as a cheap copy-on-write copy and every array field is read-only, so a
caller can never change a result (designs need no copying properties of their own).
Fields marked ``field(metadata={"internal": True})`` are kept out of `to_dict()` (e.g. influence
functions needed only by a later aggregation step).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import importlib.metadata
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from attribution.errors import DesignError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "TIDY_COLUMNS",
    "DataFingerprint",
    "Provenance",
    "Result",
    "library_versions",
    "to_jsonable",
]

TIDY_COLUMNS: tuple[str, ...] = (
    "term",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "p_value",
)

_VERSIONED = ("attribution", "numpy", "pandas", "scipy", "ibis-framework", "duckdb", "pyspark")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries an estimate depends on."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


@dataclass(frozen=True)
class DataFingerprint:
    """What data an estimate was computed from: enough to tell two runs apart."""

    n_rows: int
    columns: Mapping[str, str]
    backend: str
    source: str | None = None
    contract: str | None = None
    contract_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self))


@dataclass(frozen=True)
class Provenance:
    """How an estimate was made: design, data, options, seed, library versions, time."""

    design: str
    data: DataFingerprint | None
    options: Mapping[str, Any]
    seed: int | None = None
    versions: Mapping[str, str] = field(default_factory=library_versions)
    created_at: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "data": self.data.to_dict() if self.data is not None else None,
            "options": to_jsonable(dict(self.options)),
            "seed": self.seed,
            "versions": dict(self.versions),
            "created_at": self.created_at,
        }

    def to_text(self) -> str:
        lines = [f"design: {self.design}"]
        if self.data is not None:
            d = self.data
            lines.append(
                f"data: {d.n_rows:,} rows on {d.backend}" + (f" ({d.source})" if d.source else "")
            )
            if d.contract:
                lines.append(f"contract: {d.contract} v{d.contract_version}")
        if self.options:
            lines.append("options: " + ", ".join(f"{k}={v!r}" for k, v in self.options.items()))
        if self.seed is not None:
            lines.append(f"seed: {self.seed}")
        lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()))
        lines.append(f"created: {self.created_at}")
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class Result:
    """Base of every design's result.

    `table` is the tidy table: one row per reported quantity with at least `TIDY_COLUMNS`.
    """

    design: str
    table: pd.DataFrame = field(repr=False)
    alpha: float
    provenance: Provenance = field(repr=False)

    def __post_init__(self) -> None:
        missing = [c for c in TIDY_COLUMNS if c not in self.table.columns]
        if missing:  # a programming error in a design, not a user error
            raise DesignError(f"{type(self).__name__} table lacks tidy columns {missing}")
        for f in dataclasses.fields(self):  # arrays handed out read-only, like the frames below
            value = object.__getattribute__(self, f.name)
            if isinstance(value, np.ndarray) and value.flags.writeable:
                view = value.view()
                view.flags.writeable = False
                object.__setattr__(self, f.name, view)

    def __getattribute__(self, name: str) -> Any:
        """Frames and Series come out as copy-on-write copies, so no caller can change a result."""
        value = object.__getattribute__(self, name)
        if isinstance(value, pd.DataFrame | pd.Series):
            return value.copy(deep=False)
        return value

    # -- views -------------------------------------------------------------------------------
    def tidy(self) -> pd.DataFrame:
        """The estimates as a tidy DataFrame (a copy: changing it does not change the result)."""
        return self.table

    def summary(self) -> str:
        """Plain-text summary: the tidy table and how it was made."""
        level = f"{100 * (1 - self.alpha):g}%"
        body = self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}")
        return f"{self.design} — estimates with {level} intervals\n{body}\n\n{self.provenance.to_text()}"

    def __str__(self) -> str:
        return self.summary()

    def to_markdown(self) -> str:
        return _frame_to_markdown(self.table)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the tidy table, provenance, and every public field of the subclass."""
        out: dict[str, Any] = {
            "design": self.design,
            "alpha": self.alpha,
            "table": to_jsonable(self.table),
            "provenance": self.provenance.to_dict(),
        }
        for f in dataclasses.fields(self):
            if f.name in out or f.metadata.get("internal") or f.name.startswith("_"):
                continue
            out[f.name] = to_jsonable(getattr(self, f.name))
        return out

    def _repr_html_(self) -> str:
        title = html.escape(f"{self.design} (intervals at {100 * (1 - self.alpha):g}%)")
        prov = html.escape(self.provenance.to_text()).replace("\n", "<br>")
        table = self.table.to_html(index=False, float_format=lambda v: f"{v:.6g}", border=0)
        return f"<div><strong>{title}</strong>{table}<details><summary>provenance</summary><small>{prov}</small></details></div>"

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """Coefficient plot of the tidy table (designs override with their natural plot)."""
        return coefficient_plot(self.table, ax=ax, title=self.design)


def coefficient_plot(table: pd.DataFrame, *, ax: Axes | None = None, title: str = "") -> Figure:
    """Point estimates with interval whiskers, one row per term; returns the Figure (never shows)."""
    from attribution.report.plotting import new_axes

    fig, ax = new_axes(ax, height=0.4 * len(table) + 1.2)
    y = np.arange(len(table))[::-1]
    est = table["estimate"].to_numpy(float)
    lo = est - table["conf_low"].to_numpy(float)
    hi = table["conf_high"].to_numpy(float) - est
    ax.errorbar(est, y, xerr=[lo, hi], fmt="o", capsize=3)
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, table["term"].astype(str))
    ax.set_title(title)
    return fig


def to_jsonable(obj: Any) -> Any:
    """Convert frames, arrays, numpy scalars and non-finite floats into plain JSON values."""
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, pd.Timestamp | _dt.date | _dt.datetime):
        return obj.isoformat()
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def _frame_to_markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """Markdown table without the optional `tabulate` dependency."""
    cols = [str(c) for c in frame.columns]

    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "" if not np.isfinite(v) else f"{v:.{digits}g}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += [
        "| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)
