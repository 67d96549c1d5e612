"""Shared Prop 99 synthetic-control fit (California, lagged-sales predictors as in ADH 2010)."""

from __future__ import annotations

import pytest

from attribution.designs.synth import SyntheticControlResult, synthetic_control
from tests.reference.synth.prop99 import load_long

LAGS3 = [("packs", [1975], "mean"), ("packs", [1980], "mean"), ("packs", [1988], "mean")]


def prop99_fit(**kw) -> SyntheticControlResult:
    """California's synthetic control on cigarette sales in 1975, 1980, 1988; `kw` overrides."""
    args = dict(
        outcome="packs",
        unit="state",
        time="year",
        treated_unit="California",
        treatment_start=1989,
        special_predictors=LAGS3,
        conformal=False,
    )
    args.update(kw)
    return synthetic_control(load_long(), **args)


@pytest.fixture(scope="session")
def prop99() -> SyntheticControlResult:
    return prop99_fit()
