"""The Result contract every design returns, the provenance it carries, and `compare`.

The contract (ARCHITECTURE.md, "The Result contract"; `tests/test_result_contract.py` enforces it):

- ``result.headline``: an `Estimate`, the one number the design answers, with a plain-words label;
- ``result.tidy()``: one row per reported quantity, `TIDY_COLUMNS` first, then key columns from
  `KEY_COLUMNS`; ``conf_low``/``conf_high`` are always the pointwise (1 − alpha) interval, and a
  simultaneous band sits beside them as ``conf_low_uniform``/``conf_high_uniform``;
- ``result.checks``: diagnostics as `Check` values (SRM, pre-trend test, placebo p-value, ...);
- ``result.summary()``, ``result.plot(ax=None, kind=None)`` (kind from the class's `PLOT_KINDS`),
  strict-JSON ``result.to_dict()`` and ``result.provenance``.

A design subclasses `Result` (a frozen, keyword-only dataclass), adds its own fields, defines
`headline` and one ``_plot_<kind>`` method per entry of `PLOT_KINDS`. Every DataFrame or Series
attribute is handed out as a cheap copy-on-write copy and every array field is read-only, so a caller
can never change a result. Fields marked ``field(metadata={"internal": True})`` are kept out of
`to_dict()` (e.g. influence functions needed only by a later aggregation step).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import html
import importlib.metadata
import math
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from attribution.errors import DesignError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "KEY_COLUMNS",
    "TIDY_COLUMNS",
    "UNIFORM_COLUMNS",
    "Check",
    "Comparison",
    "DataFingerprint",
    "Estimate",
    "Provenance",
    "Result",
    "compare",
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

UNIFORM_COLUMNS: tuple[str, str] = ("conf_low_uniform", "conf_high_uniform")
"""A simultaneous (sup-t) band at the same level, beside the pointwise interval."""

KEY_COLUMNS: tuple[str, ...] = (
    "group",  # an adoption cohort (first treated period)
    "time",  # a calendar period
    "event_time",  # periods since adoption (0 = first treated period)
    "unit",
    "component",  # set only on per-component contribution rows (they add up to the headline)
    "metric",
    "segment",
    "arm",  # an experiment's treatment arm (compared with its control)
    "surface",  # a product surface (homefeed, search, related items)
)
"""The one vocabulary of key columns in tidy tables; synonyms (`cohort`, `period`, `e`) are not used."""

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


def now() -> _dt.datetime:
    """The time stamped on results and reports: UTC now, or ``SOURCE_DATE_EPOCH`` when set (the
    reproducible-builds convention), so a rerun can write byte-identical files."""
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.UTC)
    return _dt.datetime.now(_dt.UTC)


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
    created_at: str = field(default_factory=lambda: now().isoformat(timespec="seconds"))

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


def _opt_float(value: Any) -> float | None:
    """A finite float, or None for 'not provided' (NaN and infinity are never stored)."""
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class Estimate:
    """One estimated quantity with its pointwise interval and a plain-words label.

    `estimate` is always finite. `std_error`, `conf_low`, `conf_high` and `p_value` are None where the
    design does not provide them (e.g. a synthetic control without conformal inference has no
    interval); they are never NaN.
    """

    term: str
    estimate: float
    std_error: float | None
    conf_low: float | None
    conf_high: float | None
    p_value: float | None
    label: str

    def __post_init__(self) -> None:
        est = float(self.estimate)
        if not math.isfinite(est):
            from attribution.errors import EstimationError

            raise EstimationError(
                f"the estimate of {self.label or self.term!r} is not a finite number ({est})",
                fix="check the input for constant or degenerate outcomes",
            )
        object.__setattr__(self, "term", str(self.term))
        object.__setattr__(self, "estimate", est)
        for name in ("std_error", "conf_low", "conf_high", "p_value"):
            object.__setattr__(self, name, _opt_float(getattr(self, name)))

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any] | pd.Series, *, label: str, term: str | None = None
    ) -> Estimate:
        """The Estimate of one tidy-table row (its pointwise columns)."""
        return cls(
            term=str(row["term"]) if term is None else term,
            estimate=row["estimate"],
            std_error=row.get("std_error"),
            conf_low=row.get("conf_low"),
            conf_high=row.get("conf_high"),
            p_value=row.get("p_value"),
            label=label,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def text(self, digits: int = 4) -> str:
        """'label: 0.123 (SE 0.01), interval [0.1, 0.14], p = 0.001' (absent parts left out)."""
        out = f"{self.label}: {self.estimate:.{digits}g}"
        if self.std_error is not None:
            out += f" (SE {self.std_error:.{digits}g})"
        if self.conf_low is not None and self.conf_high is not None:
            out += f", interval [{self.conf_low:.{digits}g}, {self.conf_high:.{digits}g}]"
        if self.p_value is not None:
            out += f", p = {self.p_value:.3g}"
        return out


@dataclass(frozen=True)
class Check:
    """A diagnostic as a value: what was tested, the statistic, and whether the design passes.

    `passed` answers "does this diagnostic support the design's assumptions?" (balanced assignment,
    parallel pre-trends, a good pre-period fit, the data contract). It is None when the check could
    not be run, or when it reports inference about the effect itself (a placebo-rank or sharp-null
    p-value), which says how strong the evidence is, not whether the design holds; `detail` says which,
    in one plain sentence a report can print as it is.
    """

    name: str
    passed: bool | None
    detail: str
    statistic: float | None = None
    df: float | None = None
    p_value: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", None if self.passed is None else bool(self.passed))
        for name in ("statistic", "df", "p_value"):
            object.__setattr__(self, name, _opt_float(getattr(self, name)))

    @property
    def verdict(self) -> str:
        return {True: "passed", False: "FAILED", None: "info"}[self.passed]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class Result:
    """Base of every design's result (the contract is in the module docstring).

    `table` is the tidy table: one row per reported quantity with at least `TIDY_COLUMNS`.
    `checks` are the design's diagnostics; a later step (a refuter, a study) adds its own with
    `with_checks`, which returns a new result.
    """

    PLOT_KINDS: ClassVar[tuple[str, ...]] = ("estimates",)
    """Plot kinds this result draws; the first is the default of `plot()`."""

    design: str
    table: pd.DataFrame = field(repr=False)
    alpha: float
    provenance: Provenance = field(repr=False)
    checks: tuple[Check, ...] = ()

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

    # -- the contract ---------------------------------------------------------------------------
    @property
    def headline(self) -> Estimate:
        """The one number this design answers (each design defines it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its headline")

    @property
    def sample_size(self) -> int | None:
        """Rows of the data the estimate was computed from (designs may say units instead)."""
        data = self.provenance.data
        return None if data is None else int(data.n_rows)

    @property
    def description(self) -> str:
        """One plain sentence of how the estimate was made (designs say more than their name)."""
        return self.design

    @property
    def baseline(self) -> float | None:
        """The counterfactual mean the headline is relative to, so a report can state a percent
        (None when the design does not know it)."""
        return None

    def with_checks(self, *checks: Check) -> Result:
        """A copy of this result with more diagnostics appended (results never change in place)."""
        for c in checks:
            if not isinstance(c, Check):
                raise DesignError(f"with_checks takes Check values, got {type(c).__name__}")
        return dataclasses.replace(self, checks=(*self.checks, *checks))

    def checks_table(self) -> pd.DataFrame:
        """The checks as a DataFrame: name, verdict, statistic, df, p_value, detail."""
        cols = ["name", "verdict", "statistic", "df", "p_value", "detail"]
        rows = [[c.name, c.verdict, c.statistic, c.df, c.p_value, c.detail] for c in self.checks]
        return pd.DataFrame(rows, columns=cols)

    # -- views -------------------------------------------------------------------------------
    def tidy(self) -> pd.DataFrame:
        """The estimates as a tidy DataFrame (a copy: changing it does not change the result)."""
        return self.table

    def summary(self) -> str:
        """Plain-text summary: the headline, the tidy table, the checks and how it was made."""
        level = f"{100 * (1 - self.alpha):g}%"
        body = self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}")
        parts = [
            f"{self.design} — {self.headline.text()}",
            "",
            f"estimates with {level} intervals",
            body,
        ]
        parts += self._checks_text()
        parts += ["", self.provenance.to_text()]
        return "\n".join(parts)

    def _checks_text(self) -> list[str]:
        if not self.checks:
            return []
        return ["", "checks:", *[f"- {c.name}: {c.verdict} — {c.detail}" for c in self.checks]]

    def __str__(self) -> str:
        return self.summary()

    def to_markdown(self) -> str:
        return _frame_to_markdown(self.table)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: the tidy table, provenance, and every public field of the subclass."""
        out: dict[str, Any] = {
            "design": self.design,
            "alpha": self.alpha,
            "headline": self.headline.to_dict(),
            "table": to_jsonable(self.table),
            "checks": [c.to_dict() for c in self.checks],
            "provenance": self.provenance.to_dict(),
        }
        for f in dataclasses.fields(self):
            if f.name in out or f.metadata.get("internal") or f.name.startswith("_"):
                continue
            out[f.name] = to_jsonable(getattr(self, f.name))
        return out

    def _repr_html_(self) -> str:
        title = html.escape(
            f"{self.design} (intervals at {100 * (1 - self.alpha):g}%): {self.headline.text()}"
        )
        prov = html.escape(self.provenance.to_text()).replace("\n", "<br>")
        table = self.table.to_html(index=False, float_format=lambda v: f"{v:.6g}", border=0)
        return f"<div><strong>{title}</strong>{table}<details><summary>provenance</summary><small>{prov}</small></details></div>"

    def plot(self, *, ax: Axes | None = None, kind: str | None = None) -> Figure:
        """The result's natural figure; `kind` is one of the class's `PLOT_KINDS` (first by default).

        Returns a matplotlib Figure and never shows it; with `ax`, draws into that Axes.
        """
        from attribution.options import check_option

        kind = self.PLOT_KINDS[0] if kind is None else check_option("kind", kind, self.PLOT_KINDS)
        return getattr(self, f"_plot_{kind}")(ax=ax)

    def _plot_estimates(self, *, ax: Axes | None = None) -> Figure:
        """Coefficient plot of the tidy table."""
        return coefficient_plot(self.table, ax=ax, title=self.design)


# ------------------------------------------------------------------------------------------------
# compare: headlines side by side (the base of triangulation)
# ------------------------------------------------------------------------------------------------
COMPARE_COLUMNS: tuple[str, ...] = (
    "name",
    "design",
    "label",
    *TIDY_COLUMNS,
    "sample_size",
    "checks_passed",
    "checks_failed",
)


@dataclass(frozen=True)
class Comparison:
    """Headlines of several results side by side: `tidy()` one row each, `plot()` a forest plot."""

    table: pd.DataFrame = field(repr=False)
    alpha: float | None

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if isinstance(value, pd.DataFrame):
            return value.copy(deep=False)
        return value

    def tidy(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        return self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}")

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "table": to_jsonable(self.table)}

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda v: f"{v:.6g}", border=0)

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """Forest plot: one row per result, point estimate and its pointwise interval."""
        from attribution.report.plotting import new_axes

        tab = self.table
        fig, ax = new_axes(ax, width=7.0, height=0.45 * len(tab) + 1.2)
        y = np.arange(len(tab))[::-1]
        est = tab["estimate"].to_numpy(float)
        lo = tab["conf_low"].to_numpy(float)
        hi = tab["conf_high"].to_numpy(float)
        has = np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(
            est[has], y[has], xerr=[est[has] - lo[has], hi[has] - est[has]], fmt="o", capsize=3
        )
        if (~has).any():  # no interval from this design: the point alone, hollow
            ax.plot(est[~has], y[~has], "o", mfc="white", color="C0", label="no interval")
            ax.legend(loc="best", fontsize="small")
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, [f"{n}\n{lab}" for n, lab in zip(tab["name"], tab["label"], strict=True)])
        level = "" if self.alpha is None else f" ({100 * (1 - self.alpha):g}% intervals)"
        ax.set_title("headline estimates" + level)
        return fig


def compare(*results: Result, names: Sequence[str] | None = None) -> Comparison:
    """One row per result's headline, with its design, label, sample size and checks.

    `names` label the rows (default: each result's design, numbered when repeated). Results with
    different `alpha` can be compared; the table's intervals are each result's own.
    """
    if not results:
        raise DesignError("compare() needs at least one result", fix="at.compare(res_a, res_b)")
    for r in results:
        if not isinstance(r, Result):
            raise DesignError(
                f"compare() takes design results, got {type(r).__name__}",
                fix="pass the results of at.factorial, at.did.*, at.synth.* ...",
            )
    if names is None:
        # each result's design, numbered when several results share one ("did.twfe #2")
        total = collections.Counter(r.design for r in results)
        so_far: collections.Counter[str] = collections.Counter()
        names = []
        for r in results:
            so_far[r.design] += 1
            repeated = total[r.design] > 1
            names.append(f"{r.design} #{so_far[r.design]}" if repeated else r.design)
    else:
        if isinstance(names, str) or len(names) != len(results):
            raise DesignError(
                f"names must be a list of {len(results)} strings, one per result",
                fix="at.compare(a, b, names=['factorial', 'did'])",
            )
        names = [str(n) for n in names]
        if len(set(names)) != len(names):
            raise DesignError(f"names must be distinct, got {names}")
    rows = []
    for name, r in zip(names, results, strict=True):
        h = r.headline
        rows.append(
            {
                "name": name,
                "design": r.design,
                "label": h.label,
                "term": h.term,
                "estimate": h.estimate,
                "std_error": h.std_error,
                "conf_low": h.conf_low,
                "conf_high": h.conf_high,
                "p_value": h.p_value,
                "sample_size": r.sample_size,
                "checks_passed": sum(c.passed is True for c in r.checks),
                "checks_failed": sum(c.passed is False for c in r.checks),
            }
        )
    table = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    for col in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
        table[col] = table[col].astype(float)
    table["sample_size"] = table["sample_size"].astype("Int64")
    alphas = {r.alpha for r in results}
    return Comparison(table=table, alpha=alphas.pop() if len(alphas) == 1 else None)


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
