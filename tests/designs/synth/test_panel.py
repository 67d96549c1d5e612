"""prepare_panel: long table → wide arrays, and a typed error for every malformed panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution.designs.synth.panel import prepare_panel
from attribution.designs.synth.request import check_treatment
from attribution.errors import DataError, DesignError
from tests.reference.synth.prop99 import load_long


def small_panel(n_units: int = 5, n_periods: int = 6, seed: int = 0) -> pd.DataFrame:
    """Units u0..u{n-1}; u0 treated from period 4, u1 from period 5; others never."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        for t in range(1, n_periods + 1):
            d = int((i == 0 and t >= 4) or (i == 1 and t >= 5))
            rows.append({"u": f"u{i}", "t": t, "y": float(rng.normal()), "d": d, "x": float(t + i)})
    return pd.DataFrame(rows)


def test_wide_arrays_match_long_table():
    df = small_panel().sample(frac=1.0, random_state=1)  # row order must not matter
    p = prepare_panel(df, outcome="y", unit="u", time="t", treatment="d", covariates=["x"])
    assert list(p.units) == [f"u{i}" for i in range(5)]
    assert list(p.times) == list(range(1, 7))
    look = df.set_index(["u", "t"])
    assert p.Y[2, 3] == look.loc[("u2", 4), "y"]
    assert p.X["x"][3, 5] == 3 + 6
    np.testing.assert_array_equal(p.treated, [True, True, False, False, False])
    np.testing.assert_array_equal(p.adoption, [3, 4, -1, -1, -1])
    assert {k: list(v) for k, v in p.cohorts().items()} == {3: [0], 4: [1]}
    assert p.W.sum() == 3 + 2
    assert p.n_rows == 30


def test_caller_frame_not_mutated():
    df = small_panel()
    before = df.copy()
    prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    pd.testing.assert_frame_equal(df, before)


def test_prop99_shape():
    p = prepare_panel(load_long(), outcome="packs", unit="state", time="year", treatment="treated")
    assert p.Y.shape == (39, 31)
    ca = list(p.units).index("California")
    assert p.treated.sum() == 1 and p.treated[ca]
    assert p.times[p.adoption[ca]] == 1989
    assert p.Y[ca, 0] == pytest.approx(123.0)


def test_duckdb_equals_pandas(duckdb_backend):
    df = small_panel()
    a = prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    tbl = duckdb_backend.create_table("synth_panel_small", df, overwrite=True)
    b = prepare_panel(tbl, outcome="y", unit="u", time="t", treatment="d")
    np.testing.assert_array_equal(a.Y, b.Y)
    np.testing.assert_array_equal(a.W, b.W)
    assert list(a.units) == list(b.units)


def test_no_treatment_column():
    p = prepare_panel(small_panel(), outcome="y", unit="u", time="t")
    assert p.W is None and not p.treated.any() and (p.adoption == -1).all()


# -- bad input --------------------------------------------------------------------------------


def test_missing_column():
    with pytest.raises(DataError, match="not in the table") as e:
        prepare_panel(small_panel(), outcome="sales", unit="u", time="t", treatment="d")
    assert e.value.columns == ("sales",)


def test_mistyped_outcome():
    df = small_panel().assign(y="a")
    with pytest.raises(DataError, match="mistyped") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    assert "y" in e.value.columns


def test_string_time_rejected():
    df = small_panel().assign(t=lambda f: "p" + f["t"].astype(str))
    with pytest.raises(DataError, match="ordered integers or dates"):
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")


def test_same_column_two_roles():
    with pytest.raises(DataError, match="more than one role"):
        prepare_panel(small_panel(), outcome="y", unit="u", time="t", treatment="y")


def test_duplicated_rows_named():
    df = small_panel()
    df = pd.concat([df, df.iloc[[7]]], ignore_index=True)
    with pytest.raises(DataError, match="duplicated") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    assert e.value.rows is not None
    assert e.value.rows.iloc[0]["u"] == df.iloc[7]["u"]
    assert e.value.rows.iloc[0]["t"] == df.iloc[7]["t"]


def test_unbalanced_named():
    df = small_panel()
    df = df[~((df["u"] == "u3") & (df["t"] == 2))]
    with pytest.raises(DataError, match="unbalanced") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    assert list(e.value.rows["u"]) == ["u3"]


def test_missing_outcome_names_unit_and_period():
    df = small_panel()
    df.loc[(df["u"] == "u2") & (df["t"] == 3), "y"] = np.nan
    with pytest.raises(DataError, match="missing or non-finite outcome") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    assert "u2" in str(e.value)
    assert e.value.rows[["u", "t"]].values.tolist() == [["u2", 3]]


def test_infinite_covariate_named():
    df = small_panel()
    df.loc[(df["u"] == "u4") & (df["t"] == 6), "x"] = np.inf
    with pytest.raises(DataError, match="covariate") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d", covariates=["x"])
    assert e.value.rows[["u", "t"]].values.tolist() == [["u4", 6]]


def test_treatment_not_binary():
    df = small_panel()
    df.loc[df["u"] == "u0", "d"] = 2
    with pytest.raises(DataError, match="must be 0/1") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    assert set(e.value.rows["u"]) == {"u0"}


def test_treatment_switching_off_names_units():
    df = small_panel()
    df.loc[(df["u"] == "u0") & (df["t"] == 6), "d"] = 0
    with pytest.raises(DesignError, match="switches off") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    assert "'u0'" in str(e.value)
    assert e.value.rows.iloc[0].tolist() == ["u0", 4, 6]


def test_treated_without_pre_period_names_units():
    df = small_panel()
    df.loc[df["u"] == "u1", "d"] = 1
    with pytest.raises(DesignError, match="no untreated pre-period") as e:
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    assert "'u1'" in str(e.value) and "1" in str(e.value)


def test_no_donors():
    df = small_panel(n_units=2)
    with pytest.raises(DesignError, match="no donors"):
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")


def test_never_treated():
    df = small_panel().assign(d=0)
    with pytest.raises(DesignError, match="no unit is ever treated"):
        prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")


def test_check_treatment_on_arrays():
    W = np.array([[0, 0, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=bool)
    treated, adoption = check_treatment(W, pd.Index(["a", "b", "c"]), pd.Index([1, 2, 3, 4]))
    np.testing.assert_array_equal(treated, [True, False, True])
    np.testing.assert_array_equal(adoption, [2, -1, 1])


@pytest.mark.parametrize("cast", [bool, float])
def test_boolean_or_float_treatment(cast):
    df = small_panel()
    a = prepare_panel(df, outcome="y", unit="u", time="t", treatment="d")
    b = prepare_panel(
        df.assign(d=df["d"].astype(cast)), outcome="y", unit="u", time="t", treatment="d"
    )
    np.testing.assert_array_equal(a.W, b.W)
