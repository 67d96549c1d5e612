"""Synth options and grid values an outside review found accepted silently (hardening, issue 8).

The catalogue in tests/test_bad_input.py drives every option from its annotation; these are the
named cases, plus `q` (which may be inf, so the catalogue's float cases do not apply to it).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import attribution as at
from attribution.errors import AttributionError, DesignError, OptionError

ADH = {
    "outcome": "engagement",
    "unit": "unit",
    "time": "period",
    "treated_unit": "m01/home",
    "treatment_start": 12,
}


@pytest.fixture(scope="module")
def frame():
    return at.simulate.single_market_launch(
        n_units=12, n_periods=16, start_period=12, seed=3
    ).table()


@pytest.fixture(scope="module")
def adh(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.synth.synthetic_control(frame, **ADH, placebo=False, conformal=False)


def _clean(exc: BaseException) -> None:
    assert "np.int64(" not in str(exc) and "__at_" not in str(exc)


@pytest.mark.parametrize("start", [8.5, 11.999, "12", True])
def test_treatment_start_off_the_grid(frame, start):
    with pytest.raises(DesignError) as e:
        at.synth.synthetic_control(frame, **{**ADH, "treatment_start": start}, placebo=False)
    _clean(e.value)


def test_treatment_start_names_the_nearest_periods(frame):
    with pytest.raises(DesignError, match="not one of the 'period' periods") as e:
        at.synth.synthetic_control(frame, **{**ADH, "treatment_start": 8.5}, placebo=False)
    assert "8, 9" in e.value.fix


def test_integer_valued_float_start_is_on_the_grid(frame, adh):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = at.synth.synthetic_control(
            frame, **{**ADH, "treatment_start": 12.0}, placebo=False, conformal=False
        )
    assert r.estimate == adh.estimate


@pytest.mark.parametrize("start", [5.5, 1, 12, 14])
def test_placebo_start_off_the_grid(adh, start):
    with pytest.raises(DesignError) as e:
        at.synth.in_time_placebo(adh, placebo_start=start)
    _clean(e.value)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seed": "x"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"alpha": "0.05"}, "alpha"),
        ({"n_reps": 0}, "n_reps"),
        ({"n_reps": -5}, "n_reps"),
        ({"zeta_omega": 1e300}, "zeta_omega"),
        ({"zeta_lambda": -1.0}, "zeta_lambda"),
        ({"covariates": 3}, "covariates"),
    ],
)
def test_fit_options(frame, kwargs, name):
    with pytest.raises(OptionError, match=name):
        at.synth.fit(
            frame, outcome="engagement", unit="unit", time="period", treatment="treatment", **kwargs
        )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"grid": "x"}, "grid"),
        ({"grid": [1.0, math.nan]}, "grid"),
        ({"grid": []}, "grid"),
        ({"n_reps": 0}, "n_reps"),
        ({"seed": -1}, "seed"),
        ({"q": 0.5}, "q"),
        ({"q": "2"}, "q"),
        ({"q": math.nan}, "q"),
        ({"q": -math.inf}, "q"),
        ({"q": 1e300}, "q"),
        ({"q": True}, "q"),
        ({"outcome": "engagement"}, "outcome"),
        ({"treated_unit": "m02/home"}, "treated_unit"),
    ],
)
def test_conformal_options(adh, kwargs, name):
    with pytest.raises(OptionError, match=name):
        at.synth.conformal_interval(adh, **kwargs)


def test_conformal_deprecated_n_permutations_is_checked(adh):
    with pytest.warns(DeprecationWarning), pytest.raises(OptionError, match="n_permutations"):
        at.synth.conformal_interval(adh, permutation="iid", n_permutations=0)


@pytest.mark.parametrize("q", [1, 2.0, math.inf, np.inf, np.float64(2)])
def test_conformal_q_accepts_numbers_and_inf(adh, q):
    r = at.synth.conformal_interval(adh, q=q)
    assert math.isfinite(r.headline.estimate)


@pytest.mark.parametrize("w", [2, 1.0, -0.1, math.nan, "0.1"])
def test_leave_one_out_weight_threshold(adh, w):
    with pytest.raises(OptionError, match="min_weight"):
        at.synth.leave_one_out(adh, min_weight=w)


@pytest.mark.parametrize("ratio", [0, -1.0, math.inf, "2"])
def test_in_space_placebo_ratio(adh, ratio):
    with pytest.raises(OptionError, match="max_pre_mspe_ratio"):
        at.synth.in_space_placebo(adh, max_pre_mspe_ratio=ratio)


@pytest.mark.parametrize(
    "func", [at.synth.in_space_placebo, at.synth.leave_one_out, at.synth.in_time_placebo]
)
def test_robustness_checks_take_a_fitted_result(frame, func):
    kwargs = {"placebo_start": 8} if func is at.synth.in_time_placebo else {}
    with pytest.raises(OptionError, match="synthetic_control"):
        func(frame, **kwargs)


def test_integer_units_print_plainly(frame):
    """Integer unit and period values appear as 3 and 12 in messages, never np.int64(3)."""
    codes = {u: i for i, u in enumerate(sorted(frame["unit"].unique()))}
    df = frame.assign(unit=frame["unit"].map(codes).astype("int64"))
    for start in (1, 17, 8.5):
        with pytest.raises(AttributionError) as e:
            at.synth.synthetic_control(
                df, **{**ADH, "treated_unit": 1, "treatment_start": start}, placebo=False
            )
        _clean(e.value)
    with pytest.raises(AttributionError) as e:
        at.synth.synthetic_control(df, **{**ADH, "treated_unit": np.int64(99)}, placebo=False)
    _clean(e.value)
    assert "99" in str(e.value)
