"""Parity with DoubleML's PLR (partialling out) on its make_plr_CCDDHNR2018 data: same learners
(LinearRegression), same folds → same estimate, standard error and sensitivity analysis.

Reference numbers: tests/reference/dml/ (README.md; make_reference.py, run with DoubleML 0.11.4).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import attribution as at
from attribution.designs.dml.nuisance import make_folds

REF = Path(__file__).resolve().parents[2] / "reference" / "dml"
X_COLS = [f"X{i}" for i in range(1, 21)]


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "plr_reference.json").read_text())


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "plr_data.csv")


@pytest.fixture(scope="module")
def fit(ref, data):
    return at.dml(
        data,
        outcome="y",
        treatments="d",
        confounders=X_COLS,
        model_y=LinearRegression(),
        model_t=LinearRegression(),
        cv=ref["cv"],
        random_state=ref["seed"],
    )


def test_folds_are_the_reference_folds(ref):
    fold = np.array([int(c) for c in ref["fold"]])
    ours = make_folds(len(fold), cv=ref["cv"], seed=ref["seed"])
    for k, (train, test) in enumerate(ours):
        np.testing.assert_array_equal(test, np.flatnonzero(fold == k))
        np.testing.assert_array_equal(train, np.flatnonzero(fold != k))


def test_estimate_and_standard_error_match_doubleml(ref, fit):
    row = fit.tidy().iloc[0]
    assert row["term"] == "d"
    assert row["estimate"] == pytest.approx(ref["coef"], rel=1e-9, abs=1e-10)
    assert row["std_error"] == pytest.approx(ref["se"], rel=1e-8)


@pytest.mark.parametrize("i", [0, 1])
def test_sensitivity_matches_doubleml(ref, fit, i):
    sc = ref["sensitivity"][i]
    s = fit.sensitivity(
        cf_y=sc["cf_y"], cf_d=sc["cf_d"], rho=sc["rho"], level=sc["level"], null=sc["null"]
    )
    row = s.tidy().iloc[0]
    for key in ("theta_lower", "theta_upper", "ci_lower", "ci_upper"):
        assert row[key] == pytest.approx(sc[key], rel=1e-8), key
    # DoubleML finds the robustness values with a bounded scalar minimiser (xatol 1e-5); ours
    # is the exact root
    assert row["rv"] == pytest.approx(sc["rv"], abs=2e-5)
    assert row["rva"] == pytest.approx(sc["rva"], abs=2e-5)


def test_benchmark_matches_doubleml(ref, data, fit):
    short = at.dml(
        data,
        outcome="y",
        treatments="d",
        confounders=X_COLS[1:],
        model_y=LinearRegression(),
        model_t=LinearRegression(),
        cv=ref["cv"],
        random_state=ref["seed"],
    )
    bench = fit.benchmark(short).iloc[0]
    for key, value in ref["benchmark_X1"].items():
        assert bench[key] == pytest.approx(value, rel=1e-8, abs=1e-12), key
    assert bench["benchmark"] == "X1"
