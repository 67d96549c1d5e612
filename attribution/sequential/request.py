"""Request checks of sequential monitoring: looks, per-look statistics, options."""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir
import numpy as np

from attribution.errors import DataError, OptionError
from attribution.metrics import Metric, as_metric
from attribution.options import check_float, plain

__all__ = [
    "check_binary",
    "check_fractions",
    "check_monitor_request",
    "check_series",
    "check_terms",
]


def check_fractions(fractions: object, *, last_must_be_one: bool, why: str = "") -> np.ndarray:
    """Information fractions: at least two, strictly increasing, in (0, 1], the last 1 if needed."""
    name = "information_fractions"
    try:
        t = np.array(fractions, dtype=float)
    except (TypeError, ValueError):
        raise OptionError(
            f"{name}={plain(fractions)} are not numbers",
            fix="pass the share of the planned information at each look, e.g. [0.5, 1.0]",
        ) from None
    if t.ndim != 1 or t.size < 2:
        raise OptionError(
            f"{name}={plain(fractions)}: a group-sequential design needs at least two looks",
            fix="pass one fraction per look, e.g. [0.25, 0.5, 0.75, 1.0]; one look is a "
            "fixed-sample test",
        )
    if not np.isfinite(t).all() or t.min() <= 0 or t.max() > 1:
        raise OptionError(
            f"{name}={plain(fractions)} must lie in (0, 1]",
            fix="give each look's information as a fraction of the planned maximum",
        )
    if not (np.diff(t) > 0).all():
        raise OptionError(
            f"{name}={plain(fractions)} are not strictly increasing",
            fix="list the looks in order, each with more information than the one before",
        )
    if last_must_be_one and t[-1] != 1.0:
        raise OptionError(
            f"{name}={plain(fractions)} end at {t[-1]:g}, not 1{why}",
            fix="end with the final analysis at fraction 1.0, or use a lan_demets_* method "
            "for an interim look short of the maximum",
        )
    return t


def check_series(
    estimates: object, variances: object, sample_sizes: object | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-look estimates, their variances (> 0) and optional sample sizes (increasing)."""
    try:
        est = np.array(estimates, dtype=float)
        var = np.array(variances, dtype=float)
        n = None if sample_sizes is None else np.array(sample_sizes, dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            "estimates, variances and sample_sizes must be numbers",
            fix="pass one cumulative estimate, its variance and sample size per look",
        ) from None
    if est.ndim != 1 or est.size == 0 or var.shape != est.shape:
        raise DataError(
            f"estimates (shape {est.shape}) and variances (shape {var.shape}) must be non-empty "
            "vectors of the same length",
            fix="pass one value per look",
        )
    if not (np.isfinite(est).all() and np.isfinite(var).all()):
        raise DataError(
            "estimates and variances must be finite numbers",
            fix="drop the looks whose statistics could not be computed",
        )
    if (var <= 0).any():
        raise DataError(
            "every variance must be positive: a look with zero variance has no uncertainty to "
            "monitor",
            fix="start monitoring once both arms have at least two units with varying values",
        )
    if n is not None:
        if n.shape != est.shape or not np.isfinite(n).all() or (n <= 0).any():
            raise DataError(
                "sample_sizes must be positive numbers, one per look",
                fix="pass the number of units (both arms) behind each look",
            )
        if (np.diff(n) < 0).any():
            raise DataError(
                "sample_sizes decrease between looks; cumulative looks only grow",
                fix="pass cumulative sample sizes, one per look in time order",
            )
    return est, var, n


def check_terms(looks: Sequence[object] | None, k: int) -> list[object]:
    if looks is None:
        return list(range(1, k + 1))
    if isinstance(looks, str) or len(looks) != k:
        raise OptionError(
            f"looks={plain(looks)} must name each of the {k} looks", fix=f"pass {k} labels"
        )
    return list(looks)


def check_monitor_request(
    *,
    arm: object,
    unit: object,
    metric: object,
    time: object,
    control: object,
    tau2: object,
    horizon: object,
) -> Metric:
    """`monitor`'s arguments; returns the metric (a column name becomes a `Mean`)."""
    m = as_metric(metric, argument="metric")
    for name, col in (("arm", arm), ("unit", unit), ("time", time)):
        if not isinstance(col, str) or not col:
            raise OptionError(
                f"{name}={plain(col)} must be a column name", fix=f"e.g. {name}='day'"
            )
    if control is not None and (not isinstance(control, str | int) or isinstance(control, bool)):
        raise OptionError(
            f"control={plain(control)} must be a value of the arm column",
            fix="e.g. control='control'",
        )
    if tau2 is not None:
        check_float("tau2", tau2, low=0.0, low_open=True)
    if horizon is not None:
        check_float("horizon", horizon, low=0.0, low_open=True)
    return m


def check_binary(table: ir.Table, column: str, *, label: str) -> None:
    """A `Proportion`'s column holds only 0 and 1 (one engine count)."""
    col = table[column].cast("float64")
    bad = int(table.filter((col != 0) & (col != 1)).count().execute())
    if bad:
        raise DataError(
            f"proportion {label!r} has {bad:,} row(s) with values other than 0 and 1",
            columns=[column],
            fix="pass a 0/1 column, or monitor it as a Mean",
        )
