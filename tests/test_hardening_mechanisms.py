"""The shared hardening mechanisms, unit by unit: reserved internal names (class 1), outcome range
checks (classes 2 and 3), the degenerate-variance guard (class 2) and option checkers (class 5).
The catalogue tests across every entry point are in tests/test_bad_input.py."""

from __future__ import annotations

import warnings

import ibis
import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.data.numeric import check_outcome
from attribution.data.roles import RESERVED_PREFIX, select_roles
from attribution.errors import AttributionWarning, DataError, EstimationError, OptionError
from attribution.inference import wald_table
from attribution.options import check_bool, check_float, check_int, check_seed


# ------------------------------------------------------------------------------------ roles
def test_select_roles_renames_and_keeps_only_needed_columns():
    t = ibis.memtable(pd.DataFrame({"n_rows": [1, 2], "_cohort": [3.0, 4.0], "other": ["a", "b"]}))
    roles = select_roles(t, {"unit": "n_rows", "outcome": "_cohort", "covariates": ["n_rows"]})
    assert roles.table.columns == (
        f"{RESERVED_PREFIX}unit",
        f"{RESERVED_PREFIX}outcome",
        f"{RESERVED_PREFIX}covariates_0",
    )
    assert roles["unit"] == "__at_unit" and roles.many("covariates") == ("__at_covariates_0",)
    out = roles.table.execute()
    assert out["__at_outcome"].tolist() == [3.0, 4.0]


def test_select_roles_refuses_reserved_and_missing_columns():
    t = ibis.memtable(pd.DataFrame({"__at_x": [1], "y": [2.0]}))
    with pytest.raises(DataError, match="reserves"):
        select_roles(t, {"outcome": "y"})
    t = ibis.memtable(pd.DataFrame({"y": [2.0]}))
    with pytest.raises(DataError, match="'z' not in the table"):
        select_roles(t, {"outcome": "z"})


def test_errors_inside_speak_user_names():
    t = ibis.memtable(pd.DataFrame({"my unit": [1, 2], "y": [1.0, 2.0]}))
    roles = select_roles(t, {"unit": "my unit", "outcome": "y"})
    with pytest.raises(DataError) as err, roles.user_names():
        raise DataError(
            "bad values in __at_outcome for __at_unit",
            columns=["__at_outcome"],
            rows=roles.table.execute(),
            fix="fix __at_outcome",
        )
    text = str(err.value)
    assert RESERVED_PREFIX not in text and "'y'" in text and "my unit" in text
    assert err.value.columns == ("y",) and list(err.value.rows.columns) == ["my unit", "y"]


# ------------------------------------------------------------------------------------ numeric
@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([2**62, 2**62 + 1, 2**62 + 2], "beyond 2\\*\\*53"),
        ([1e300, -1e300, 2.0], "overflow"),
        ([1e-300, 2e-300, 0.0], "underflow"),
        ([5.0, 5.0, 5.0], "constant"),
        ([True, True, True], "constant"),
    ],
)
def test_check_outcome_refuses_what_doubles_cannot_hold(values, match):
    t = ibis.memtable(pd.DataFrame({"y": values}))
    with pytest.raises((DataError, EstimationError), match=match) as err:
        check_outcome(t, "y", label="engagement")
    assert "engagement" in str(err.value) and err.value.fix


@pytest.mark.parametrize("values", [[1.0, 2.0], [2**52, 2**52 + 1], [1e-10, 3e-10], [0, 1]])
def test_check_outcome_accepts_ordinary_values(values):
    check_outcome(ibis.memtable(pd.DataFrame({"y": values})), "y")


# ------------------------------------------------------------------------------------ wald guard
def test_wald_table_refuses_zero_and_nan_standard_errors():
    with pytest.raises(EstimationError, match="standard error of b is zero"):
        wald_table(["a", "b"], [1.0, 2.0], [0.5, 0.0], alpha=0.05)
    with pytest.raises(EstimationError, match="not a finite positive"):
        wald_table(["a"], [1.0], [np.nan], alpha=0.05)
    with pytest.warns(AttributionWarning, match="no standard error for b"):
        tab = wald_table(["a", "b"], [1.0, 2.0], [0.5, np.nan], alpha=0.05, degenerate="warn")
    assert tab["note"].isna().tolist() == [True, False]
    assert tab.loc[1, "note"] == "standard error not estimable"
    assert np.isnan(tab.loc[1, "conf_low"]) and np.isfinite(tab.loc[0, "conf_low"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = wald_table(["a"], [1.0], [0.0], alpha=0.05, degenerate="absent")
    assert np.isnan(exact.loc[0, "p_value"]) and "note" not in exact


# ------------------------------------------------------------------------------------ options
@pytest.mark.parametrize("bad", ["x", -1, 1.5, True, None, np.nan, 2**64])
def test_check_seed(bad):
    with pytest.raises(OptionError, match="seed="):
        check_seed(bad)


def test_scalar_checkers_accept_and_refuse():
    assert check_seed(np.int64(3)) == 3 and isinstance(check_seed(np.int64(3)), int)
    assert check_int("n_reps", 5, minimum=1) == 5
    with pytest.raises(OptionError, match=r"(?s)n_reps=0 .*>= 1"):
        check_int("n_reps", 0, minimum=1)
    with pytest.raises(OptionError, match=r"n_reps=np|n_reps=2\.0"):
        check_int("n_reps", 2.0, minimum=1)
    assert check_float("M", 0.5, low=0.0) == 0.5
    for bad in ("0.5", np.inf, 1e300, True):
        with pytest.raises(OptionError, match="M="):
            check_float("M", bad, low=0.0, high=1e100)
    assert check_bool("placebo", np.bool_(True)) is True
    with pytest.raises(OptionError):
        check_bool("placebo", 1)


def test_messages_print_plain_numbers():
    with pytest.raises(OptionError) as err:
        check_int("n_reps", np.int64(-1), minimum=1)
    assert "np.int64" not in str(err.value) and "n_reps=-1" in str(err.value)


@pytest.mark.parametrize("kw", [{"max_pull_rows": "x"}, {"alpha": "0.05"}, {"seed": -1}])
def test_config_options_are_checked(kw):
    with pytest.raises(OptionError), at.config.options(**kw):
        pass


def test_warnings_inside_speak_user_names():
    t = ibis.memtable(pd.DataFrame({"lpop": [1.0, 2.0], "y": [1.0, 2.0]}))
    roles = select_roles(t, {"covariates": ["lpop"], "outcome": "y"})
    with pytest.warns(AttributionWarning, match="separated on 'lpop'") as rec, roles.user_names():
        warnings.warn("logit separated on '__at_covariates_0'", AttributionWarning, stacklevel=1)
    assert all(RESERVED_PREFIX not in str(w.message) for w in rec)
