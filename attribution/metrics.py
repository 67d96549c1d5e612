"""Metrics: one concept shared by every design that takes an outcome.

A metric says *what* is measured per randomisation unit, not how it is estimated:

- `Mean(column)`: the mean of a per-unit value (engagement per user);
- `Proportion(column)`: the mean of a 0/1 per-unit value (share of users who converted);
- `Ratio(numerator, denominator)`: a ratio of sums whose unit of analysis is finer than the
  randomisation unit (clicks per impression with the user randomised): estimated as
  sum(numerator) / sum(denominator) per arm, with the delta method over units (Deng et al. 2018).

Each metric may carry a role (primary, guardrail, secondary), the direction that counts as better,
for a guardrail the loss it tolerates (in % of the control mean), and a covariate for CUPED /
regression adjustment: a pre-period column for `Mean`/`Proportion` (any per-unit prediction, CUPAC
style, works too), a column or a (numerator, denominator) pair of pre-period columns for `Ratio`.

A `Ratio` says what a unit whose denominator total is 0 means (`zero_denominator=`): by default
it is a typed error; with "keep" such units (randomised users who saw nothing) stay in the
comparison, counted in n and adding nothing to either sum, which keeps the randomised population
instead of filtering on a post-treatment quantity. Both designs apply that one rule
(`check_zero_denominators`) to the counts their engine pass returns.

When a unit has several rows (user × day, user × surface), `at.experiment` first aggregates them to
the unit in the engine: a `Mean`'s column and a `Ratio`'s columns are summed, a `Proportion` is 1 if
any row is 1, and covariates are averaged over the unit's rows.

Metrics are immutable and validated on construction (typed `OptionError`s); the designs read
`columns` (the user columns a metric needs) and never a metric's internals beyond its fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from attribution.errors import DataError, OptionError
from attribution.options import ZeroDenominator, check_float, check_option, plain

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Direction",
    "Mean",
    "Metric",
    "MetricRole",
    "Proportion",
    "Ratio",
    "as_metric",
    "check_zero_denominators",
]

MetricRole = Literal["primary", "guardrail", "secondary"]
Direction = Literal["increase", "decrease"]


def _column(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OptionError(
            f"{name}={plain(value)} must be a column name (a non-empty string)",
            fix=f"e.g. {name}='clicks'",
        )
    return value


@dataclass(frozen=True)
class Metric:
    """Fields every metric has; use `Mean`, `Proportion` or `Ratio`."""

    KIND: ClassVar[str] = "metric"

    _: KW_ONLY
    name: str | None = None
    covariate: str | tuple[str, str] | None = None
    role: MetricRole = "secondary"
    direction: Direction = "increase"
    tolerated_loss_pct: float | None = None

    def _check_common(self, default_name: str) -> None:
        name = default_name if self.name is None else self.name
        object.__setattr__(self, "name", _column("name", name))
        check_option("role", self.role, MetricRole)
        check_option("direction", self.direction, Direction)
        if self.tolerated_loss_pct is not None:
            loss = check_float("tolerated_loss_pct", self.tolerated_loss_pct, low=0.0, high=100.0)
            object.__setattr__(self, "tolerated_loss_pct", loss)
            if self.role != "guardrail":
                raise OptionError(
                    f"tolerated_loss_pct is set on metric {self.name!r}, whose role is "
                    f"{self.role!r}; only a guardrail tolerates a loss",
                    fix="set role='guardrail', or drop tolerated_loss_pct",
                )
        elif self.role == "guardrail":
            raise OptionError(
                f"guardrail metric {self.name!r} needs tolerated_loss_pct (the loss, in % of the "
                "control mean, it may show before it blocks a launch)",
                fix="e.g. tolerated_loss_pct=1.0; 0 means no loss at all is tolerated",
            )

    def _check_covariate(self, *, pair_allowed: bool) -> None:
        cov = self.covariate
        if cov is None:
            return
        if isinstance(cov, tuple | list) and pair_allowed:
            if len(cov) != 2:
                raise OptionError(
                    f"covariate={plain(cov)} must be one column or a (numerator, denominator) pair",
                    fix="e.g. covariate=('pre_clicks', 'pre_impressions')",
                )
            pair = (_column("covariate", cov[0]), _column("covariate", cov[1]))
            object.__setattr__(self, "covariate", pair)
            return
        _column("covariate", cov)

    @property
    def columns(self) -> tuple[str, ...]:
        """The user columns this metric reads (value columns, then covariate columns)."""
        raise NotImplementedError

    @property
    def covariate_columns(self) -> tuple[str, ...]:
        cov = self.covariate
        if cov is None:
            return ()
        return tuple(cov) if isinstance(cov, tuple) else (cov,)

    @property
    def better(self) -> int:
        """+1 if an increase is better, −1 if a decrease is."""
        return 1 if self.direction == "increase" else -1


@dataclass(frozen=True)
class Mean(Metric):
    """The mean of a per-unit value, e.g. ``Mean("engagement", covariate="pre_engagement")``."""

    KIND: ClassVar[str] = "mean"
    column: str

    def __post_init__(self) -> None:
        _column("column", self.column)
        self._check_common(self.column)
        self._check_covariate(pair_allowed=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.covariate_columns)


@dataclass(frozen=True)
class Proportion(Mean):
    """The share of units whose 0/1 `column` is 1 (the engine checks the values are 0 or 1)."""

    KIND: ClassVar[str] = "proportion"


@dataclass(frozen=True)
class Ratio(Metric):
    """sum(numerator) / sum(denominator) per arm, e.g. clicks per impression with users randomised.

    Estimated with the delta method over randomisation units (Deng, Knoblich & Lu 2018), so the
    correlation of numerator and denominator within a unit is accounted for.

    zero_denominator: a unit whose denominator total is 0 (a user with no impressions) is a typed
        error ("raise", the default), or is kept ("keep") as a randomised unit: it counts in n and
        in the delta-method variance and adds nothing to either sum, so the ratio is that of the
        randomised population, with no filter on a post-treatment quantity. A nonzero numerator
        over a zero denominator is always an error (the data are wrong).
    """

    KIND: ClassVar[str] = "ratio"
    numerator: str
    denominator: str
    _: KW_ONLY
    zero_denominator: ZeroDenominator = "raise"

    def __post_init__(self) -> None:
        _column("numerator", self.numerator)
        _column("denominator", self.denominator)
        check_option("zero_denominator", self.zero_denominator, ZeroDenominator)
        if self.numerator == self.denominator:
            raise OptionError(
                f"Ratio({self.numerator!r}, {self.denominator!r}) divides a column by itself",
                fix="name two different columns",
            )
        self._check_common(f"{self.numerator}/{self.denominator}")
        self._check_covariate(pair_allowed=True)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.numerator, self.denominator, *self.covariate_columns)


def as_metric(value: Any, *, argument: str = "outcome") -> Metric:
    """A metric from a metric object or a column name (a name is a `Mean`)."""
    if isinstance(value, Metric):
        if type(value) is Metric:
            raise OptionError(
                f"{argument} is the abstract Metric", fix="use Mean, Proportion or Ratio"
            )
        return value
    if isinstance(value, str):
        return Mean(value)
    raise OptionError(
        f"{argument}={plain(value)} is neither a column name nor a metric",
        fix=f"e.g. {argument}='engagement' or {argument}=at.metrics.Ratio('clicks', 'impressions')",
    )


def check_zero_denominators(
    metric: Ratio,
    *,
    zero: int,
    zero_numerator_nonzero: int,
    what: str,
    examples: Callable[[bool], pd.DataFrame],
) -> str | None:
    """The one rule for a ratio's units whose denominator total is 0, on counts an engine pass
    returns: `zero` such units, `zero_numerator_nonzero` of them with a nonzero numerator.

    Nonzero numerator: always a `DataError` (clicks without impressions: corrupt data). Otherwise
    with ``zero_denominator="raise"`` a `DataError` naming the column, the count, example rows and
    the two fixes; with "keep" the returned note (None when there are no such units) for the result.
    `what` names the units ("unit(s) of 'user'", "row(s)"); `examples(nonzero_numerator)` fetches a
    few of them (only on the error path).
    """
    num, den = metric.numerator, metric.denominator
    if zero_numerator_nonzero:
        raise DataError(
            f"{zero_numerator_nonzero:,} {what} have {den} = 0 but {num} ≠ 0: a numerator "
            f"without a denominator (e.g. clicks without impressions) cannot enter the ratio "
            f"{num}/{den}",
            columns=[num, den],
            rows=examples(True),
            fix=f"repair {num!r} / {den!r} for these units (or the join that built them)",
        )
    if not zero:
        return None
    if metric.zero_denominator == "raise":
        raise DataError(
            f"ratio metric {metric.name!r}: {zero:,} {what} have a zero total of the denominator "
            f"{den!r} (and of {num!r}), so the ratio is undefined for them",
            columns=[den],
            rows=examples(False),
            fix=f"either keep only units with {den} > 0 before calling, if that is the population "
            "the metric is about (a filter on a post-randomisation quantity, which can bias the "
            f"comparison; say so in the readout), or pass Ratio({num!r}, {den!r}, "
            "zero_denominator='keep') to keep them as randomised units: they count in n and in the "
            "delta-method variance and add nothing to either sum",
        )
    return (
        f"{zero:,} {what} have {den} = 0 (and {num} = 0): they are kept as randomised units "
        f"(zero_denominator='keep'); they add nothing to either sum but count in n and in the "
        f"delta-method variance. To restrict the metric to units with {den} > 0, filter before "
        "calling (a filter on a post-randomisation quantity, which can bias the comparison)"
    )
