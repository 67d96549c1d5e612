"""fit(): engines, covariates, result contents, and a typed error for every impossible request."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from attribution.designs.synth import fit
from attribution.errors import DataError, DesignError, OptionError
from attribution.results import TIDY_COLUMNS
from tests.designs.synth.test_sdid_sim import factor_panel

ARGS = {"outcome": "y", "unit": "unit", "time": "time", "treatment": "d"}


@pytest.fixture(scope="module")
def block() -> pd.DataFrame:
    return factor_panel(1, n_units=20, n_periods=12, cohorts=((8, 4, 1.0),)).long()


@pytest.fixture(scope="module")
def one_treated() -> pd.DataFrame:
    return factor_panel(2, n_units=12, n_periods=10, cohorts=((7, 1, 1.0),)).long()


# -- engines -----------------------------------------------------------------------------------


def test_same_result_on_every_engine(engine, block):
    """pandas, DuckDB and Spark inputs give identical estimates and jackknife SEs."""
    ref = fit(block, **ARGS, se_method="jackknife")
    res = fit(engine(block), **ARGS, se_method="jackknife")
    assert res.estimate == pytest.approx(ref.estimate, abs=1e-12)
    assert res.std_error == pytest.approx(ref.std_error, abs=1e-12)
    pd.testing.assert_series_equal(res.unit_weights, ref.unit_weights)


def test_result_contents(block):
    res = fit(block, **ARGS, se_method="placebo", n_reps=25, seed=3)
    assert list(res.tidy().columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert res.n_reps == 25 and len(res.replicates) == 25
    assert res.provenance.seed == 3 and res.provenance.options["method"] == "sdid"
    assert res.provenance.data.n_rows == 240
    assert res.unit_weights.sum() == pytest.approx(1.0)
    assert res.time_weights.sum() == pytest.approx(1.0)
    assert len(res.unit_weights) == 16 and len(res.time_weights) == 8
    c = res.cohorts.iloc[0]
    assert (c["group"], c["n_treated"], c["n_post"], c["weight"]) == (9, 4, 4, 1.0)
    assert c["estimate"] == pytest.approx(res.estimate)
    d = res.diagnostics
    assert d["n_treated_units"] == 4 and d["n_never_treated"] == 16 and d["n_cohorts"] == 1
    assert 1.0 <= d["effective_donors"] <= 16
    w = res.cohort_weights
    assert set(w["kind"]) == {"unit", "time"}
    assert w.loc[w["kind"] == "unit", "weight"].sum() == pytest.approx(1.0)


def test_caller_data_not_mutated(block):
    before = block.copy()
    fit(block, **ARGS, se_method=None)
    pd.testing.assert_frame_equal(block, before)


def test_zeta_override_changes_weights(block):
    default = fit(block, **ARGS, se_method=None)
    ridge = fit(block, **ARGS, se_method=None, zeta_omega=1e3)
    # a huge ridge pushes ω towards uniform weights
    assert ridge.diagnostics["effective_donors"] > default.diagnostics["effective_donors"]
    assert ridge.diagnostics["effective_donors"] == pytest.approx(16, rel=0.01)
    assert ridge.cohorts.loc[0, "zeta_omega"] == 1e3


def test_alpha_sets_interval_level(block):
    r90 = fit(block, **ARGS, se_method="jackknife", alpha=0.10)
    row = r90.tidy().iloc[0]
    assert row["conf_high"] - row["estimate"] == pytest.approx(1.644854 * r90.std_error)


# -- covariates (projected) ----------------------------------------------------------------------


def _with_covariate(seed: int = 0) -> tuple[pd.DataFrame, float]:
    p = factor_panel(seed, n_units=25, n_periods=14, cohorts=((9, 4, 1.0),), n_factors=1)
    rng = np.random.default_rng(seed)
    n, t = p.Y.shape
    x = rng.normal(size=(n, t)) + 0.8 * p.W  # the covariate moves with treatment
    df = p.long()
    df["x"] = x.ravel()
    df["y"] = df["y"] + 2.5 * df["x"]
    return df, p.att


def test_projected_covariates_beta_matches_twfe_ols():
    df, _ = _with_covariate()
    res = fit(df, **ARGS, covariates=["x"], se_method=None)
    untreated = df[df["d"] == 0]
    X = pd.get_dummies(untreated[["unit", "time"]].astype(str), drop_first=True, dtype=float)
    X.insert(0, "x", untreated["x"].to_numpy())
    ols = sm.OLS(untreated["y"].to_numpy(), sm.add_constant(X.to_numpy())).fit()
    assert res.beta["x"] == pytest.approx(ols.params[1], rel=1e-8)
    assert res.beta["x"] == pytest.approx(2.5, abs=0.1)
    assert res.provenance.options["covariates"] == ["x"]


def test_projected_covariates_remove_the_bias():
    df, att = _with_covariate(1)
    naive = fit(df, **ARGS, se_method=None)
    adjusted = fit(df, **ARGS, covariates=["x"], se_method=None)
    assert abs(adjusted.estimate - att) < 0.5 * abs(naive.estimate - att)
    # adjusting equals running the design on y − β̂x
    manual = fit(df.assign(y=df["y"] - adjusted.beta["x"] * df["x"]), **ARGS, se_method=None)
    assert adjusted.estimate == pytest.approx(manual.estimate, abs=1e-10)


def test_collinear_covariate_named(block):
    df = block.assign(z=block["time"] * 2.0)  # a function of time only: absorbed by time effects
    with pytest.raises(DesignError, match="collinear") as e:
        fit(df, **ARGS, covariates=["z"], se_method=None)
    assert "z" in e.value.columns


# -- impossible requests -----------------------------------------------------------------------


def test_jackknife_needs_two_treated_units(one_treated):
    with pytest.raises(DesignError, match="at least 2 treated units") as e:
        fit(one_treated, **ARGS, se_method="jackknife")
    assert e.value.rows is not None and e.value.rows.iloc[0]["n_treated"] == 1
    assert "placebo" in e.value.fix


def test_jackknife_per_cohort_count():
    p = factor_panel(3, n_units=20, n_periods=12, cohorts=((6, 3, 1.0), (9, 1, 1.0)))
    with pytest.raises(DesignError, match="every adoption cohort") as e:
        fit(p.long(), **ARGS, se_method="jackknife")
    assert list(e.value.rows["cohort"]) == [10]


def test_bootstrap_needs_two_treated_units(one_treated):
    with pytest.raises(DesignError, match="bootstrap") as e:
        fit(one_treated, **ARGS, se_method="bootstrap")
    assert "u0" in str(e.value) or "'u" in str(e.value)


def test_placebo_needs_more_controls_than_treated():
    p = factor_panel(4, n_units=10, n_periods=8, cohorts=((5, 5, 1.0),))
    with pytest.raises(DesignError, match="more never-treated units than treated") as e:
        fit(p.long(), **ARGS, se_method="placebo")
    assert "5 never-treated and 5 treated" in str(e.value)


def test_jackknife_undefined_with_one_donor():
    """SC putting all weight on one donor (the treated unit is a copy of it)."""
    p = factor_panel(5, n_units=12, n_periods=10, cohorts=((7, 2, 1.0),), n_factors=0)
    Y = p.Y.copy()
    donor = p.controls[0]
    for r in p.cohorts[7]:
        Y[r] = Y[donor] + np.where(np.arange(10) >= 7, 1.0, 0.0)
    Y[p.controls[1:]] += 50.0 * (1 + np.arange(len(p.controls) - 1))[:, None]  # far away
    df = p.long().assign(y=Y.ravel())
    with pytest.raises(DesignError, match="one donor"):
        fit(df, **ARGS, method="sc", se_method="jackknife")


def test_sdid_needs_two_pre_periods():
    p = factor_panel(6, n_units=10, n_periods=8, cohorts=((1, 2, 1.0),))
    with pytest.raises(DesignError, match="needs at least 2") as e:
        fit(p.long(), **ARGS, se_method=None)
    assert e.value.rows is not None and len(e.value.rows) == 2
    res = fit(p.long(), **ARGS, method="did", se_method=None)  # DiD needs only one
    assert np.isfinite(res.estimate)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "synthdid"}, "method='synthdid'"),
        ({"se_method": "bayes"}, "se_method='bayes'"),
        ({"se_method": "jackknife", "n_reps": 50}, "no effect"),
        ({"se_method": None, "n_reps": 50}, "no effect"),
        ({"n_reps": 1}, "n_reps=1"),
        ({"n_reps": 2.5}, "n_reps=2.5"),
        ({"seed": -1}, "seed=-1"),
        ({"seed": "x"}, "seed='x'"),
        ({"alpha": 1.5}, "alpha=1.5"),
        ({"method": "did", "zeta_omega": 1.0}, "no effect"),
        ({"method": "sc", "zeta_lambda": 1.0}, "no effect"),
        ({"zeta_omega": -1.0}, "zeta_omega=-1.0"),
        ({"zeta_lambda": float("nan")}, "zeta_lambda=nan"),
    ],
)
def test_bad_options(block, kwargs, match):
    with pytest.raises(OptionError, match=match):
        fit(block, **ARGS, **kwargs)


def test_bad_columns_reach_panel_checks(block):
    with pytest.raises(DataError, match="not in the table"):
        fit(block, outcome="revenue", unit="unit", time="time", treatment="d")
    with pytest.raises(OptionError, match="treatment must be a column name"):
        fit(block, outcome="y", unit="unit", time="time", treatment=None)  # type: ignore[arg-type]
    bad = block.copy()
    bad.loc[(bad["unit"] == "u003") & (bad["time"] == 10), "d"] = 0
    bad.loc[(bad["unit"] == "u003") & (bad["time"] < 10), "d"] = 1
    with pytest.raises(DesignError):
        fit(bad, **ARGS)


def test_date_time_and_integer_units(block):
    """Periods may be dates and units integers; labels carry through to the result."""
    df = block.assign(
        time=pd.Timestamp("2026-01-05") + pd.to_timedelta((block["time"] - 1) * 7, unit="D"),
        unit=block["unit"].str[1:].astype("int64"),
    )
    res = fit(df, **ARGS, se_method=None)
    ref = fit(block, **ARGS, se_method=None)
    assert res.estimate == pytest.approx(ref.estimate, abs=1e-12)
    assert res.cohorts.loc[0, "group"] == pd.Timestamp("2026-01-05") + pd.Timedelta(days=56)
    assert res.time_weights.index[0] == pd.Timestamp("2026-01-05")
    assert res.unit_weights.index.dtype == np.int64
    res.to_dict()  # JSON-safe with timestamps
