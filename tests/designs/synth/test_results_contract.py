"""The Result contract on every synthetic-design result: headline, tidy terms and key columns,
checks, plot kinds, sample size, strict JSON, compare(); and `n_reps` for replication counts."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import attribution as at
from attribution.designs.synth import (
    ConformalResult,
    SyntheticControlResult,
    SynthResult,
    conformal_interval,
    fit,
    in_time_placebo,
)
from attribution.designs.synth.conformal import conformal_arrays, conformal_p_value
from attribution.errors import AttributionWarning, OptionError
from attribution.results import KEY_COLUMNS, TIDY_COLUMNS
from tests.designs.synth.conftest import prop99_fit
from tests.designs.synth.test_sdid_sim import factor_panel
from tests.reference.synth.prop99 import load_long

SDID_ARGS = {"outcome": "packs", "unit": "state", "time": "year", "treatment": "treated"}


def _strict_json(result) -> None:
    json.dumps(result.to_dict(), allow_nan=False)


def _check(result, name: str):
    (c,) = [c for c in result.checks if c.name == name]
    return c


@pytest.fixture(scope="module")
def adh_conformal() -> SyntheticControlResult:
    """Prop 99 with placebo and conformal inference both run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        return prop99_fit(conformal=True)


# -- SynthResult ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_synth_result_headline_and_checks(method):
    r = fit(load_long(), **SDID_ARGS, method=method, se_method=None)
    h = r.headline
    assert h.term == "ATT" and h.estimate == r.estimate
    assert h.std_error is None and h.conf_low is None and h.p_value is None  # no SE asked for
    assert h.label == (
        f"effect of treated on packs, average over treated unit-periods ({method.upper()})"
    )
    assert r.sample_size == 39  # units, not rows
    fit_check = _check(r, "pre-period fit")
    assert fit_check.passed is True
    assert fit_check.statistic == pytest.approx(r.cohorts.loc[0, "pre_rmse_share"])
    assert fit_check.statistic == pytest.approx(
        r.diagnostics["pre_rmse"] / np.mean(np.std(r.Y[:, :19], axis=0, ddof=1))
    )
    names = [c.name for c in r.checks]
    if method == "did":
        assert names == ["pre-period fit"]  # uniform weights: nothing to concentrate
    else:
        eff = _check(r, "effective donors")
        assert eff.passed is True
        assert eff.statistic == pytest.approx(r.diagnostics["effective_donors"])
    _strict_json(r)


def test_synth_result_headline_carries_the_interval():
    r = fit(load_long(), **SDID_ARGS, se_method="placebo", n_reps=20, seed=1)
    h = r.headline
    row = r.tidy().iloc[0]
    assert (h.std_error, h.conf_low, h.conf_high, h.p_value) == pytest.approx(
        (row["std_error"], row["conf_low"], row["conf_high"], row["p_value"])
    )
    assert "synth.sdid — effect of treated on packs" in r.summary()
    assert "checks:" in r.summary() and "effective donors" in r.summary()


def test_synth_result_staggered_terms_group_key_and_worst_cohort():
    p = factor_panel(12, n_units=20, n_periods=14, cohorts=((8, 2, 1.0), (11, 3, 2.0)))
    r = fit(p.long(), outcome="y", unit="unit", time="time", treatment="d", se_method=None)
    t = r.tidy()
    assert list(t.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert "group" in t.columns and "cohort" not in t.columns
    assert set(t.columns[len(TIDY_COLUMNS) :]) <= set(KEY_COLUMNS)
    assert list(t["term"]) == ["ATT", "ATT(g=9)", "ATT(g=12)"]
    assert list(t["group"]) == [None, 9, 12]
    assert list(r.cohorts["group"]) == [9, 12]
    assert set(r.cohort_weights["group"]) == {9, 12}
    worst = int(np.argmax(r.cohorts["pre_rmse_share"]))
    c = _check(r, "pre-period fit")
    assert c.statistic == pytest.approx(r.cohorts["pre_rmse_share"].iloc[worst])
    assert f"first treated {r.cohorts['group'].iloc[worst]}" in c.detail


def test_synth_result_plot_kinds():
    p = factor_panel(12, n_units=20, n_periods=14, cohorts=((8, 2, 1.0), (11, 3, 2.0)))
    r = fit(p.long(), outcome="y", unit="unit", time="time", treatment="d", se_method=None)
    assert SynthResult.PLOT_KINDS == ("trajectory", "weights")
    assert r.plot().axes[0].get_title().startswith("SDID")
    assert r.plot(kind="trajectory", cohort=12).axes[0].get_title().startswith("SDID")
    assert isinstance(r.plot(kind="weights"), Figure)
    with pytest.raises(OptionError, match="kind='gap'"):
        r.plot(kind="gap")
    with pytest.raises(OptionError, match="applies to kind='trajectory'"):
        r.plot(kind="weights", cohort=12)
    fig = Figure()
    ax = fig.add_subplot()
    assert r.plot(ax=ax, kind="weights") is fig


def test_synth_result_flags_one_donor_and_poor_fit():
    """SC copying one donor: one effective donor (check fails). A treated unit far above every
    donor: poor pre-period fit (check fails)."""
    p = factor_panel(5, n_units=12, n_periods=10, cohorts=((7, 2, 1.0),), n_factors=0)
    Y = p.Y.copy()
    donor = p.controls[0]
    for row in p.cohorts[7]:
        Y[row] = Y[donor] + np.where(np.arange(10) >= 7, 1.0, 0.0)
    Y[p.controls[1:]] += 50.0 * (1 + np.arange(len(p.controls) - 1))[:, None]
    args = {"outcome": "y", "unit": "unit", "time": "time", "treatment": "d", "se_method": None}
    r = fit(p.long().assign(y=Y.ravel()), **args, method="sc")
    assert _check(r, "effective donors").passed is False
    far = p.Y.copy()
    far[p.cohorts[7]] += 25.0 * np.sin(np.arange(10))  # a path no donor mix can follow
    r2 = fit(p.long().assign(y=far.ravel()), **args, method="sc")
    c = _check(r2, "pre-period fit")
    assert c.passed is False and "above the 0.25" in c.detail


# -- SyntheticControlResult --------------------------------------------------------------------


def test_adh_headline_with_placebo_only(prop99):
    h = prop99.headline
    assert h.term == "ATT"
    assert h.label == "average post-period gap of California (treated − synthetic)"
    assert h.estimate == pytest.approx(prop99.gaps.loc[1989:].mean())
    assert h.p_value == pytest.approx(2 / 39)  # the in-space placebo p-value
    assert h.conf_low is None and h.conf_high is None  # conformal=False
    assert prop99.sample_size == 39


def test_adh_tidy_terms_and_time_key(prop99):
    t = prop99.tidy()
    assert list(t["term"]) == ["ATT"] + [f"gap(t={y})" for y in range(1989, 2001)]
    assert t["time"].iloc[0] is None and list(t["time"].iloc[1:]) == list(range(1989, 2001))
    assert set(t.columns[len(TIDY_COLUMNS) :]) - set(KEY_COLUMNS) == {"inference"}


def test_adh_checks(prop99):
    names = [c.name for c in prop99.checks]
    assert names == [
        "pre-period fit",
        "donors' convex hull",
        "in-space placebo",
        "conformal sharp null",
    ]
    fit_check = _check(prop99, "pre-period fit")
    assert fit_check.passed is True
    assert fit_check.statistic == pytest.approx(
        prop99.diagnostics["pre_rmspe_share_of_cross_unit_sd"]
    )
    assert _check(prop99, "donors' convex hull").passed is True
    placebo = _check(prop99, "in-space placebo")
    assert placebo.p_value == pytest.approx(2 / 39) and placebo.passed is None  # inference
    assert placebo.statistic == pytest.approx(prop99.rmspe_ratio)
    assert "ranks 2 of 39" in placebo.detail
    sharp = _check(prop99, "conformal sharp null")
    assert sharp.passed is None and "conformal=False" in sharp.detail
    _strict_json(prop99)


def test_adh_headline_with_conformal(adh_conformal):
    """The ATT row carries the constant-effect conformal interval, which is the constant-effect
    row of conformal_interval() on the same result; per-period rows are unchanged by it."""
    r = adh_conformal
    h = r.headline
    c = conformal_interval(r)
    const = c.tidy().set_index("term").loc["constant effect"]
    assert (h.conf_low, h.conf_high) == pytest.approx((const["conf_low"], const["conf_high"]))
    assert h.conf_low < h.estimate < h.conf_high
    assert h.p_value == pytest.approx(2 / 39)
    assert "conformal, constant effect" in r.tidy().loc[0, "inference"]
    sharp = _check(r, "conformal sharp null")
    assert sharp.p_value == pytest.approx(3 / 31) and sharp.passed is None
    _strict_json(r)


def test_adh_outside_hull_fails_checks():
    with pytest.warns(AttributionWarning):
        r = prop99_fit(treated_unit="Utah", placebo=False)
    assert _check(r, "donors' convex hull").passed is False
    assert _check(r, "pre-period fit").passed is False
    assert _check(r, "in-space placebo").passed is None


def test_adh_plot_kinds(prop99):
    assert SyntheticControlResult.PLOT_KINDS == ("trajectory", "gap", "weights", "leave_one_out")
    for kind in ("trajectory", "gap", "weights"):
        assert isinstance(prop99.plot(kind=kind), Figure)


def test_in_time_placebo_result_keeps_the_contract(prop99):
    specials = [("packs", [y], "mean") for y in (1970, 1975, 1979)]
    r = in_time_placebo(prop99, placebo_start=1980, special_predictors=specials)
    assert r.headline.term == "ATT" and r.headline.p_value is None
    assert list(r.tidy()["term"])[1] == "gap(t=1980)"
    assert _check(r, "in-space placebo").passed is None


# -- ConformalResult ----------------------------------------------------------------------------


def test_conformal_result_headline_and_checks(prop99):
    c = conformal_interval(prop99)
    assert isinstance(c, ConformalResult)
    h = c.headline
    assert h.term == "constant effect"
    assert h.estimate == pytest.approx(prop99.gaps.loc[1989:].mean())
    assert h.p_value == pytest.approx(3 / 31) == c.sharp_null_p_value
    assert h.conf_low < h.estimate < h.conf_high
    assert "California" in h.label
    assert c.sample_size == 39
    (sharp,) = c.checks
    assert sharp.name == "conformal sharp null" and sharp.passed is None
    assert "moving-block" in sharp.detail
    t = c.tidy()
    assert list(t["term"])[:2] == ["gap(t=1989)", "gap(t=1990)"]
    assert list(t["time"])[:2] == [1989, 1990] and t["time"].iloc[-1] is None
    _strict_json(c)


def test_compare_synth_results(prop99):
    sdid = fit(load_long(), **SDID_ARGS, se_method=None)
    cmp = at.compare(sdid, prop99, conformal_interval(prop99))
    t = cmp.tidy()
    assert list(t["term"]) == ["ATT", "ATT", "constant effect"]
    assert list(t["sample_size"]) == [39, 39, 39]
    assert list(t["checks_passed"]) == [2, 2, 0]


# -- n_reps / n_permutations ------------------------------------------------------------------


def _arrays():
    wide = load_long().pivot(index="state", columns="year", values="packs")
    return wide.loc["California"].to_numpy(), wide.drop(index="California").to_numpy()


def test_n_permutations_is_deprecated_for_n_reps(prop99):
    new = conformal_interval(prop99, permutation="iid", n_reps=30, seed=2)
    with pytest.warns(DeprecationWarning, match="n_permutations is deprecated; use n_reps"):
        old = conformal_interval(prop99, permutation="iid", n_permutations=30, seed=2)
    assert old.tidy().equals(new.tidy())
    assert new.provenance.options["n_reps"] == 30 and "n_permutations" not in new.provenance.options
    assert old.provenance.options["n_reps"] == 30
    y1, Y0 = _arrays()
    a = conformal_p_value(y1, Y0, 19, permutation="iid", n_reps=40, seed=1)
    with pytest.warns(DeprecationWarning) as rec:
        b = conformal_p_value(y1, Y0, 19, permutation="iid", n_permutations=40, seed=1)
    assert a == b
    assert rec[0].filename == __file__  # the warning points at the caller
    with pytest.warns(DeprecationWarning):
        conformal_arrays(y1, Y0, 19, alpha=0.1, permutation="iid", n_permutations=20, seed=1)


def test_n_reps_checked(prop99):
    with pytest.raises(OptionError, match="disagree"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        conformal_interval(prop99, permutation="iid", n_reps=10, n_permutations=20)
    with pytest.raises(OptionError, match="n_reps=1"):
        conformal_interval(prop99, permutation="iid", n_reps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # n_reps alone never warns
        conformal_interval(prop99, permutation="iid", n_reps=10, seed=1)
