"""Bad input to `factorial`: every malformed table, degenerate design or impossible request raises a
typed error that names the columns, shows rows and says how to fix it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.errors import (
    AttributionWarning,
    DataError,
    DesignError,
    EstimationError,
    OptionError,
)
from tests.designs.factorial.helpers import FACTORS, experiment

F = list(FACTORS)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return experiment(200, seed=7)


def fit(data, **kw):
    kw.setdefault("outcome", "engagement")
    kw.setdefault("factors", F)
    return at.factorial(data, **kw)


def test_missing_cell_is_named(frame) -> None:
    data = frame[~((frame.E == 1) & (frame.R == 0) & (frame.K == 1))]
    with pytest.raises(DesignError) as err:
        fit(data)
    text = str(err.value)
    assert "neither the full 2^3 design nor a regular fraction" in text
    assert err.value.rows.to_dict("records") == [{"E": 1, "R": 0, "K": 1, "n_rows": 0}]
    assert err.value.columns == tuple(F) and err.value.fix


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([0, 1, 2], r"values \[0, 1, 2\].*unexpected: \[2\]"),
        (["on", "off"], r"'R' is string with values"),
        ([0.0, 1.0], r"'R' is float64 with values"),
    ],
)
def test_non_binary_factor(frame, values, match) -> None:
    data = frame.copy()
    data["R"] = np.resize(
        np.array(values, dtype=object if isinstance(values[0], str) else None), len(data)
    )
    with pytest.raises(DataError, match=match) as err:
        fit(data)
    assert err.value.columns == ("R",)


def test_boolean_factors_are_accepted(frame) -> None:
    data = frame.assign(E=frame.E == 1)
    ref = fit(frame).tidy()
    pd.testing.assert_frame_equal(fit(data).tidy(), ref)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("column", ["engagement", "pre_engagement"])
def test_nan_or_inf_outcome_or_covariate_named_not_dropped(frame, bad, column) -> None:
    data = frame.copy()
    data.loc[[3, 17], column] = bad
    with pytest.raises(DataError, match=rf"'{column}': 2 rows") as err:
        fit(data, covariate="pre_engagement")
    assert err.value.columns == (column,)
    assert len(err.value.rows) == 2


def test_overflowing_outcome_is_an_estimation_error(frame) -> None:
    with pytest.raises(EstimationError) as err:
        fit(frame.assign(engagement=frame.engagement * 1e200))
    assert err.value.columns[0] == "engagement" and err.value.fix


def test_missing_factor_value(frame) -> None:
    data = frame.astype({"K": "Int64"})
    data.loc[[5], "K"] = pd.NA
    with pytest.raises(DataError, match=r"factor 'K' is missing in 1 rows") as err:
        fit(data)
    assert len(err.value.rows) == 1


def test_missing_cluster_value(frame) -> None:
    data = frame.astype({"market": "object"})
    data.loc[[1, 2, 3], "market"] = None
    with pytest.raises(DataError, match=r"'market': 3 rows"):
        fit(data, cluster="market")


def test_unit_in_two_arms(frame) -> None:
    extra = frame.iloc[[0, 1]].copy()
    extra["E"] = 1 - extra["E"]
    data = pd.concat([frame, extra], ignore_index=True)
    with pytest.raises(
        DesignError, match=r"2 unit\(s\) of 'user_id' appear in more than one arm"
    ) as err:
        fit(data, unit="user_id")
    rows = err.value.rows
    assert set(rows["user_id"]) == {0, 1}
    assert len(rows) == 4  # each unit listed in both of its arms
    assert err.value.fix


def test_missing_and_mistyped_columns(frame) -> None:
    with pytest.raises(DataError, match=r"column\(s\) \['nope'\] not in the table"):
        fit(frame, outcome="nope")
    with pytest.raises(DataError, match=r"column\(s\) \['Z'\] not in the table"):
        fit(frame, factors=["E", "Z"])
    with pytest.raises(DataError, match="mistyped"):
        fit(frame, outcome="market")
    with pytest.raises(DataError, match="mistyped"):
        fit(frame, covariate="segment" if "segment" in frame else "market")


def test_empty_table(frame) -> None:
    with pytest.raises(DataError, match="empty"):
        fit(frame.iloc[:0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"factors": ["E", "R", "E"]}, r"\['E'\] listed more than once"),
        ({"factors": "E"}, "factors must be a list"),
        ({"factors": []}, "factors is empty"),
        ({"outcome": "E"}, "outcome 'E' is also listed as a factor"),
        ({"factors": ["E", "n"]}, r"\['n'\] clash with columns of result.cell_means"),
        ({"covariate": "engagement"}, "is the outcome itself"),
        ({"vcov": "CR1"}, "needs cluster="),
        ({"vcov": "HC4"}, "vcov='HC4' is not a valid option"),
        ({"cluster": "market", "vcov": "HC2"}, "ignores clusters"),
        ({"alpha": 1.5}, "alpha=1.5"),
        ({"alpha": 0}, "alpha=0"),
        ({"allocation": {"X": 0.5}}, "not factors"),
        ({"allocation": {"E": 1.0}}, "strictly between 0 and 1"),
    ],
)
def test_impossible_requests(frame, kwargs, match) -> None:
    with pytest.raises(OptionError, match=match):
        fit(frame, **kwargs)


def test_single_cluster(frame) -> None:
    with pytest.raises(DesignError, match="single cluster") as err:
        fit(frame.assign(market="m00"), cluster="market")
    assert err.value.columns == ("market",)


@pytest.mark.parametrize("kind", ["constant", "per-cell"])
def test_constant_covariate(frame, kind) -> None:
    pre = 3.0 if kind == "constant" else frame.E * 2.0 + frame.K
    with pytest.raises(DesignError, match="does not vary within cells") as err:
        fit(frame.assign(pre_engagement=pre), covariate="pre_engagement")
    assert err.value.columns == ("pre_engagement",)


def test_factor_that_never_varies(frame) -> None:
    with pytest.raises(DesignError, match=r"never vary.*'K': 1"):
        fit(frame[frame.K == 1])


def test_hc2_undefined_with_singleton_cell(frame) -> None:
    single = frame[(frame.E == 1) & (frame.R == 1) & (frame.K == 1)].index[1:]
    data = frame.drop(index=single)
    with pytest.raises(DesignError, match="single row") as err:
        fit(data)
    assert err.value.rows.to_dict("records") == [{"E": 1, "R": 1, "K": 1, "n_rows": 1}]
    with pytest.warns(AttributionWarning, match="sample-ratio mismatch"):
        assert fit(data, vcov="HC1").vcov_type == "HC1"


def test_unreplicated_with_covariate_or_cluster() -> None:
    data = pd.DataFrame(
        {"E": [0, 1, 0, 1, 0, 1, 0, 1], "R": [0, 0, 1, 1] * 2, "K": [0] * 4 + [1] * 4}
    ).assign(engagement=np.arange(8.0) ** 1.5, pre_engagement=np.arange(8.0), market=["a", "b"] * 4)
    with pytest.raises(DesignError, match="unreplicated"):
        fit(data, covariate="pre_engagement")
    with pytest.raises(DesignError, match="unreplicated"):
        fit(data, cluster="market")


def test_no_residual_degrees_of_freedom() -> None:
    data = pd.DataFrame(
        {"E": [0, 1, 0, 1, 0, 1, 0, 1, 1], "R": [0, 0, 1, 1] * 2 + [1], "K": [0] * 4 + [1] * 5}
    ).assign(engagement=np.arange(9.0) ** 1.5, pre_engagement=np.arange(9.0) % 4)
    with pytest.raises(DesignError, match="no residual degrees of freedom"):
        fit(data, covariate="pre_engagement", vcov="iid")


def test_not_a_table() -> None:
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        fit([{"E": 0}])


def test_caller_frame_untouched(frame) -> None:
    before = frame.copy()
    fit(frame, covariate="pre_engagement", cluster="market")
    pd.testing.assert_frame_equal(frame, before)


def test_interaction_plot_bad_factor(frame) -> None:
    res = fit(frame)
    with pytest.raises(OptionError, match="not a factor"):
        res.plot_interaction("E", "Q")
    with pytest.raises(OptionError, match="two different factors"):
        res.plot_interaction("E", "E")
