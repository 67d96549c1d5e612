"""Core types: errors, config, options, Result, inference helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

import attribution as at
from attribution import config
from attribution.errors import DataError, DesignError, OptionError
from attribution.inference import critical_value, holm, multiplier_draws, sup_t_critical, wald_table
from attribution.options import Vcov, check_alpha, check_option
from attribution.results import Estimate, Provenance, Result, to_jsonable


def test_error_message_names_columns_rows_and_fix() -> None:
    rows = pd.DataFrame({"user_id": [7, 9], "E": [0, 1]})
    err = DataError("unit in two arms", columns=["user_id", "E"], rows=rows, fix="dedupe")
    text = str(err)
    assert "unit in two arms" in text and "'user_id'" in text and "dedupe" in text
    assert "7" in text and "9" in text
    assert isinstance(err, ValueError)
    assert err.to_dict()["columns"] == ["user_id", "E"]


def test_config_context_manager_restores() -> None:
    before = config.get().alpha
    with config.options(alpha=0.1, seed=3) as cfg:
        assert cfg.alpha == 0.1 and config.get().seed == 3
    assert config.get().alpha == before


@pytest.mark.parametrize("bad", [{"alpha": 1.5}, {"n_boot": 0}, {"nope": 1}])
def test_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(OptionError), config.options(**bad):
        pass


def test_check_option_lists_vocabulary() -> None:
    assert check_option("vcov", "HC2", Vcov) == "HC2"
    with pytest.raises(OptionError, match="'HC2'"):
        check_option("vcov", "HC9", Vcov)
    for bad in (0, 1, -0.1, "x", None):
        with pytest.raises(OptionError):
            check_alpha(bad)


def test_wald_table_matches_scipy() -> None:
    t = wald_table(["a", "b"], [1.0, -2.0], [0.5, 1.0], alpha=0.05)
    assert list(t.columns) == list(at.results.TIDY_COLUMNS)
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(t.conf_low, [1 - z * 0.5, -2 - z])
    np.testing.assert_allclose(t.p_value, 2 * stats.norm.sf([2.0, 2.0]))
    tt = wald_table(["a"], [1.0], [0.5], alpha=0.1, df=7)
    np.testing.assert_allclose(tt.conf_high, 1 + stats.t.ppf(0.95, 7) * 0.5)
    np.testing.assert_allclose(tt.p_value, 2 * stats.t.sf(2.0, 7))
    assert critical_value(0.05) == pytest.approx(1.959964, abs=1e-6)


def test_multiplier_draws_have_mean_zero_variance_one() -> None:
    d = multiplier_draws(2000, 200, seed=1)
    assert abs(d.mean()) < 0.01 and abs(d.var() - 1) < 0.01
    assert np.array_equal(d, multiplier_draws(2000, 200, seed=1))
    r = multiplier_draws(10, 5, seed=1, kind="rademacher")
    assert set(np.unique(r)) <= {-1.0, 1.0}


def test_sup_t_critical_exceeds_pointwise() -> None:
    rng = np.random.default_rng(0)
    boot = rng.standard_normal((4000, 10))
    c = sup_t_critical(boot, np.ones(10), 0.05)
    assert 2.5 < c < 3.1  # Bonferroni for 10 tests is 2.81; independent sup-t is ≈2.80


def test_holm_adjusts_monotonically() -> None:
    adj = holm([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(adj, [0.04, 0.09, 0.09, 0.5])


@dataclass(frozen=True, kw_only=True)
class _Demo(Result):
    extra: pd.DataFrame
    secret: np.ndarray = field(metadata={"internal": True})

    @property
    def headline(self) -> Estimate:
        return Estimate.from_row(self.table.iloc[0], label="effect of E")


def _result() -> _Demo:
    table = wald_table(["E", "K"], [0.1, np.nan], [0.05, 0.02], alpha=0.05)
    prov = Provenance(design="demo", data=None, options={"vcov": "HC2"}, seed=1)
    return _Demo(
        design="demo",
        table=table,
        alpha=0.05,
        provenance=prov,
        extra=pd.DataFrame({"x": [1.0]}),
        secret=np.zeros(3),
    )


def test_result_is_immutable_and_serialises() -> None:
    res = _result()
    with pytest.raises(AttributeError):
        res.alpha = 0.1  # type: ignore[misc]
    tidy = res.tidy()
    tidy.loc[0, "estimate"] = 99.0
    assert res.tidy().loc[0, "estimate"] == pytest.approx(0.1)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert "secret" not in d and d["extra"] == [{"x": 1.0}]
    assert d["table"][1]["estimate"] is None  # NaN becomes null
    assert "demo" in res.summary() and "<table" in res._repr_html_()
    assert isinstance(res.plot(), Figure)
    assert "| term |" in res.to_markdown()


def test_result_description_and_baseline_defaults() -> None:
    res = _result()
    assert res.description == "demo"  # the design name unless a design says more
    assert res.baseline is None  # unknown unless a design knows its counterfactual mean


def test_result_requires_tidy_columns() -> None:
    prov = Provenance(design="x", data=None, options={})
    with pytest.raises(DesignError, match="tidy columns"):
        Result(design="x", table=pd.DataFrame({"term": []}), alpha=0.05, provenance=prov)


def test_to_jsonable_handles_numpy_and_timestamps() -> None:
    out = to_jsonable({"a": np.int64(3), "b": np.float32(np.inf), "c": pd.Timestamp("2024-01-01")})
    assert out == {"a": 3, "b": None, "c": "2024-01-01T00:00:00"}


def test_public_api_is_small_and_lazy() -> None:
    assert "factorial" in dir(at) and "connect" in at.__all__
    with pytest.raises(AttributeError):
        at.no_such_thing  # noqa: B018


def test_result_frames_series_and_arrays_cannot_be_changed_through_attributes() -> None:
    res = _result()
    extra, table = res.extra, res.table
    extra.loc[0, "x"] = 5.0
    table.loc[0, "estimate"] = 5.0
    assert res.extra.loc[0, "x"] == 1.0 and res.table.loc[0, "estimate"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="read-only"):
        res.secret[0] = 1.0
