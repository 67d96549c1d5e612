"""attribution.decompose: exact Shapley weights, the split with standard errors, waterfall data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from attribution.decompose import (
    cell_label,
    cell_means_vector,
    plot_waterfall,
    shapley_matrix,
    shapley_split,
    waterfall_data,
)
from attribution.errors import DesignError


def _shapley_by_permutations(mu: np.ndarray, k: int) -> np.ndarray:
    """Shapley value as the average marginal gain over all k! orderings (the definition)."""
    phi = np.zeros(k)
    for order in itertools.permutations(range(k)):
        s = 0
        for j in order:
            phi[j] += mu[s | 1 << j] - mu[s]
            s |= 1 << j
    return phi / math.factorial(k)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_matrix_equals_permutation_definition_and_is_efficient(k) -> None:
    rng = np.random.default_rng(k)
    mu = rng.normal(size=2**k)
    m = shapley_matrix(k)
    np.testing.assert_allclose(m @ mu, _shapley_by_permutations(mu, k), rtol=0, atol=1e-12)
    expected_rows = np.zeros(2**k)
    expected_rows[-1], expected_rows[0] = 1.0, -1.0
    np.testing.assert_allclose(m.sum(axis=0), expected_rows, atol=1e-15)


def test_two_components_by_hand() -> None:
    # cells in bitmask order: 00, 10 (E on), 01 (R on), 11
    mu = np.array([10.0, 13.0, 11.0, 16.0])
    phi = shapley_matrix(2) @ mu
    assert phi[0] == pytest.approx(0.5 * (13 - 10) + 0.5 * (16 - 11))
    assert phi[1] == pytest.approx(0.5 * (11 - 10) + 0.5 * (16 - 13))


def test_additive_cells_give_main_effects() -> None:
    gains = np.array([0.3, -0.2, 0.7])
    mu = np.array([5.0 + sum(gains[j] for j in range(3) if c >> j & 1) for c in range(8)])
    np.testing.assert_allclose(shapley_matrix(3) @ mu, gains, atol=1e-14)


def test_split_with_covariance_and_series_input() -> None:
    comps = ["E", "R", "K"]
    rng = np.random.default_rng(0)
    mu = rng.normal(10, 1, size=8)
    a = rng.normal(size=(8, 8))
    cov = a @ a.T / 100
    labels = [cell_label(c, comps) for c in range(8)]
    series = pd.Series(mu, index=labels).iloc[::-1]  # any order
    split = shapley_split(series, cov, components=comps, alpha=0.1)
    m = shapley_matrix(3)
    np.testing.assert_allclose(split.table["estimate"], m @ mu, atol=1e-12)
    np.testing.assert_allclose(
        split.table["std_error"], np.sqrt(np.diag(m @ cov @ m.T)), rtol=1e-12
    )
    assert split.table["estimate"].sum() == pytest.approx(split.total, abs=1e-12)
    assert split.total == pytest.approx(mu[7] - mu[0])
    assert split.total_std_error == pytest.approx(np.sqrt(cov[7, 7] + cov[0, 0] - 2 * cov[0, 7]))
    z = 1.6448536269514722
    np.testing.assert_allclose(
        split.table["conf_high"], split.table["estimate"] + z * split.table["std_error"], rtol=1e-9
    )
    assert list(split.vcov.index) == comps


def test_split_of_simulator_truth() -> None:
    from attribution import simulate

    truth = simulate.factorial_experiment(64, seed=0).truth
    split = shapley_split(truth.cell_means, components=list(truth.components))
    np.testing.assert_allclose(
        split.table.set_index("component")["estimate"],
        truth.shapley.loc[list(truth.components)],
        atol=1e-12,
    )
    assert split.total == pytest.approx(truth.total, abs=1e-12)
    assert split.table["std_error"].isna().all()


def test_bad_cell_means() -> None:
    with pytest.raises(DesignError, match="lack 1 of the 4 cells"):
        cell_means_vector(
            pd.Series([1.0, 2.0, 3.0], index=["E=0,R=0", "E=1,R=0", "E=0,R=1"]), ["E", "R"]
        )
    with pytest.raises(DesignError, match="expected 8 cell means"):
        cell_means_vector(np.zeros(7), ["E", "R", "K"])
    with pytest.raises(DesignError, match="cell covariance must be 4x4"):
        shapley_split(np.zeros(4), np.eye(3), components=["E", "R"])
    with pytest.raises(DesignError, match="1 to 16 components"):
        shapley_matrix(0)


def test_waterfall_data_and_plot() -> None:
    split = pd.DataFrame(
        {
            "component": ["E", "R"],
            "estimate": [0.5, -0.2],
            "conf_low": [0.1, -0.4],
            "conf_high": [0.9, 0.0],
        }
    )
    data = waterfall_data(split, baseline=10.0)
    assert list(data["step"]) == ["all off", "E", "R", "all on"]
    np.testing.assert_allclose(data["start"][1:3], [10.0, 10.5])
    np.testing.assert_allclose(data["end"], [10.0, 10.5, 10.3, 10.3])
    np.testing.assert_allclose(data["conf_low"][1:3], [10.1, 10.1])
    assert isinstance(plot_waterfall(data, title="t"), Figure)
