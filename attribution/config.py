"""Library-wide defaults in one place, and a context manager to change them for a block.

>>> from attribution import config
>>> with config.options(alpha=0.10, seed=7):
...     ...
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from attribution.errors import OptionError

__all__ = ["Config", "get", "options"]


@dataclass(frozen=True)
class Config:
    alpha: float = 0.05
    """Default significance level; intervals are (1 - alpha)."""
    seed: int = 20240601
    """Default seed for every random step (bootstrap, placebo draws, simulation)."""
    n_boot: int = 999
    """Default number of bootstrap / multiplier draws."""
    n_placebo: int = 200
    """Default number of placebo replications for synthetic designs."""
    max_pull_rows: int = 20_000_000
    """Largest unit-level table a design may pull out of the engine into memory."""
    example_rows: int = 5
    """How many example rows an error or contract report shows."""

    def __post_init__(self) -> None:
        from attribution.options import check_alpha, check_int, check_seed

        check_alpha(self.alpha)
        check_seed(self.seed)
        for name in ("n_boot", "n_placebo", "max_pull_rows", "example_rows"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=1))


_current: contextvars.ContextVar[Config] = contextvars.ContextVar(
    "attribution_config",
    default=Config(),  # noqa: B039 - Config is frozen
)


def get() -> Config:
    """The configuration in force."""
    return _current.get()


@contextlib.contextmanager
def options(**changes: object) -> Iterator[Config]:
    """Temporarily override defaults: ``with options(alpha=0.1): ...``."""
    unknown = set(changes) - {f.name for f in dataclasses.fields(Config)}
    if unknown:
        raise OptionError(
            f"unknown option(s) {sorted(unknown)}",
            fix=f"choose from {[f.name for f in dataclasses.fields(Config)]}",
        )
    token = _current.set(dataclasses.replace(_current.get(), **changes))  # type: ignore[arg-type]
    try:
        yield _current.get()
    finally:
        _current.reset(token)
