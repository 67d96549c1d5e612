"""Conformance suite: every public design function returns a result that honours the Result contract.

Modelled on scikit-learn's `parametrize_with_checks`: `DESIGNS` registers every public design function
with a builder that fits it once on small simulated data; each contract check is a test parametrised
over the registry. A new design joins by registration — `test_registry_is_complete` fails until it does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import math
import typing
import warnings
from collections.abc import Callable

import matplotlib
import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.results import (
    KEY_COLUMNS,
    TIDY_COLUMNS,
    UNIFORM_COLUMNS,
    Check,
    Comparison,
    Estimate,
    Result,
)

matplotlib.use("Agg")

# Column names the contract replaced by its key vocabulary (KEY_COLUMNS).
SYNONYMS = {"cohort": "group", "period": "time", "e": "event_time", "rel_time": "event_time"}


# ------------------------------------------------------------------------------------------------
# small simulated data, built once
# ------------------------------------------------------------------------------------------------
class Data:
    """Lazily built small datasets shared by the builders (one simulation each)."""

    def __init__(self) -> None:
        self._cache: dict[str, object] = {}

    def _get(self, key: str, make: Callable[[], object]) -> object:
        if key not in self._cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._cache[key] = make()
        return self._cache[key]

    @property
    def factorial(self) -> pd.DataFrame:
        return self._get(
            "factorial", lambda: at.simulate.factorial_experiment(4_000, seed=1).table()
        )

    @property
    def rollout(self):
        return self._get(
            "rollout",
            lambda: at.simulate.staggered_rollout(
                components=("K",), seed=2, n_markets=12, n_periods=10
            ),
        )

    @property
    def staggered(self) -> pd.DataFrame:
        """The K-only panel with the adoption cohort (0 = never) and a 0/1 treatment column."""

        def make() -> pd.DataFrame:
            panel = self.rollout.table("surface_panel")
            log = self.rollout.table("launch_log")
            start = log.loc[log["component"] == "K"].set_index("unit")["start_period"]
            g = panel["unit"].map(start).fillna(0).astype("int64")
            d = ((g > 0) & (panel["period"] >= g)).astype("int64")
            return panel.assign(first_treated=g, treated_now=d)

        return self._get("staggered", make)

    @property
    def launch(self):
        return self._get(
            "launch",
            lambda: at.simulate.single_market_launch(
                n_units=12, n_periods=16, start_period=12, seed=3
            ),
        )

    @property
    def launch_train(self):
        return self._get(
            "launch_train",
            lambda: at.simulate.launch_train(3_000, n_weeks=4, holdout_share=0.2, seed=6),
        )

    @property
    def exposures(self) -> pd.DataFrame:
        return self._get(
            "exposures", lambda: at.simulate.observational_exposure(2_000, seed=4).table()
        )


DATA = Data()
_RESULTS: dict[str, Result] = {}

STAGGERED = {"yname": "engagement", "tname": "period", "idname": "unit", "gname": "first_treated"}


def _att_gt():
    return at.did.att_gt(DATA.staggered, **STAGGERED)


def _event_study():
    return at.did.event_study(
        DATA.staggered, yname="engagement", tname="period", idname="unit", gname="first_treated"
    )


def _synth_panel() -> dict:
    sim = DATA.launch
    unit = sim.truth.details["treated_units"][0]
    return {"data": sim.table(), "unit": unit}


def _graph_designs() -> dict[str, Callable[[], Result]]:
    """at.graph: the linear back-door estimate, its refuters, and mechanism attribution."""
    from tests.bad_input import graph as g

    def ols(d, w):
        return at.graph.backdoor_regression(d, outcome="y", treatments=["t"], confounders=w)

    return {
        "graph.backdoor_regression": lambda: at.graph.backdoor_regression(
            g.exposures(),
            outcome="engagement",
            treatments=["exposure_K"],
            confounders=["activity", "segment"],
        ),
        "graph.refute": lambda: at.graph.refute(
            g.confounded(), estimator=ols, treatment="t", outcome="y", confounders=["w"], n_reps=2
        ),
        "graph.mechanism_shift": lambda: at.graph.mechanism_shift(
            *g.before_after(), graph=g.PIPELINE, target="engagement", n_boot=3, num_samples=100
        ),
    }


def _holdout_designs() -> dict[str, Callable[[], Result]]:
    """The holdout family (issue 11): the holdout's readout and the launches' cumulative impact."""
    from attribution.designs.holdout import cumulative_impact, holdout_readout

    def readout():
        return holdout_readout(
            DATA.launch_train.table("launch_train"),
            arm="arm",
            unit="user_id",
            metric="engagement",
            surface="surface",
            time="week",
            covariate="pre_engagement",
        )

    return {
        "holdout_readout": readout,
        "cumulative_impact": lambda: cumulative_impact(
            DATA.launch_train.table("launches"),
            shipped="shipped",
            surface="surface",
            holdout=_fit("holdout_readout"),
        ),
    }


DESIGNS: dict[str, Callable[[], Result]] = {
    "factorial": lambda: at.factorial(
        DATA.factorial, outcome="engagement", factors=["E", "R", "K"]
    ),
    "did.att_gt": _att_gt,
    "did.aggte": lambda: at.did.aggte(_fit("did.att_gt"), type="dynamic"),
    "did.twfe": lambda: at.did.twfe(
        DATA.staggered, yname="engagement", tname="period", idname="unit", treatment="treated_now"
    ),
    "did.event_study": _event_study,
    "did.did_2x2": lambda: at.did.did_2x2(
        DATA.staggered.assign(
            treat=(DATA.staggered["first_treated"] > 0).astype("int64"),
            post=(DATA.staggered["period"] >= 6).astype("int64"),
        ).query("first_treated == 0 or first_treated == 6"),
        yname="engagement",
        group="treat",
        post="post",
        idname="unit",
    ),
    "did.sun_abraham": lambda: at.did.sun_abraham(
        DATA.staggered, yname="engagement", tname="period", idname="unit", gname="first_treated"
    ),
    "did.honest_did": lambda: at.did.honest_did(
        _fit("did.event_study"), method="relative_magnitudes", Mbar=[0.5, 1.0]
    ),
    "did.launch_event_study": lambda: at.did.launch_event_study(
        DATA.rollout.table("surface_panel"),
        DATA.rollout.table("launch_log"),
        component="K",
        yname="engagement",
        unit="unit",
        time="period",
    ),
    "did.stacked_did": lambda: at.did.stacked_did(
        DATA.rollout.table("surface_panel"),
        DATA.rollout.table("launch_log"),
        component="K",
        yname="engagement",
        unit="unit",
        time="period",
        window=(-2, 2),
    ),
    "synth.fit": lambda: at.synth.fit(
        DATA.launch.table(), outcome="engagement", unit="unit", time="period", treatment="treatment"
    ),
    "synth.synthetic_control": lambda: at.synth.synthetic_control(
        _synth_panel()["data"],
        outcome="engagement",
        unit="unit",
        time="period",
        treated_unit=_synth_panel()["unit"],
        treatment_start=12,
        placebo=True,
        conformal=True,
        seed=1,
    ),
    "synth.conformal_interval": lambda: at.synth.conformal_interval(
        _fit("synth.synthetic_control")
    ),
    "synth.in_time_placebo": lambda: at.synth.in_time_placebo(
        _fit("synth.synthetic_control"), placebo_start=8
    ),
    "dml": lambda: at.dml(
        DATA.exposures,
        outcome="engagement",
        treatments=["exposure_E", "exposure_R", "exposure_K"],
        confounders=["activity", "segment"],
        model_y=_small_boosting(),
        model_t=_small_boosting(),
        cv=2,
        random_state=4,
    ),
    **_graph_designs(),
    "experiment": lambda: _experiment_designs()["experiment"](),
    "decompose_lift": lambda: _experiment_designs()["decompose_lift"](),
    **_holdout_designs(),
    "sequential.monitor": lambda: _sequential_monitor(),
}


def _sequential_monitor() -> Result:
    from attribution.sequential import monitor
    from tests.bad_input.sequential import daily_frame

    return monitor(daily_frame(), arm="arm", unit="user_id", metric="engagement", time="day")


def _experiment_designs() -> dict[str, Callable[[], Result]]:
    from attribution.designs.experiment import decompose_lift, experiment
    from attribution.metrics import Mean, Proportion, Ratio
    from tests.designs.experiment.helpers import users

    frame = users(3_000, seed=4)
    return {
        "experiment": lambda: experiment(
            frame,
            arm="arm",
            unit="user",
            metrics=[
                Ratio("clicks", "impressions", role="primary"),
                Mean("engagement", covariate="pre"),
                Proportion("converted", role="guardrail", tolerated_loss_pct=10.0),
            ],
            segments="segment",
        ),
        "decompose_lift": lambda: decompose_lift(
            frame, arm="arm", unit="user", metric=["sessions", "engagement"]
        ),
    }


def _small_boosting():
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=30, random_state=0)


def _fit(name: str) -> Result:
    if name not in _RESULTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _RESULTS[name] = DESIGNS[name]()
    return _RESULTS[name]


NAMES = sorted(DESIGNS)


# ------------------------------------------------------------------------------------------------
# the registry is complete
# ------------------------------------------------------------------------------------------------
def _returns_result(func: object) -> bool:
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        return False
    ret = hints.get("return")
    candidates = typing.get_args(ret) or (ret,)
    return any(inspect.isclass(c) and issubclass(c, Result) for c in candidates)


def test_registry_is_complete():
    """Every public function of the design namespaces that returns a Result is registered here."""
    public = {
        "factorial": at.factorial,
        "dml": at.dml,
        "experiment": at.experiment,
        "decompose_lift": at.decompose_lift,
        "cumulative_impact": at.cumulative_impact,
        "holdout_readout": at.holdout_readout,
    }
    for ns in ("did", "synth", "graph", "sequential"):
        module = getattr(at, ns)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                public[f"{ns}.{name}"] = obj
    returning = {name for name, f in public.items() if _returns_result(f)}
    assert returning, "no design function is annotated to return a Result"
    missing = returning - set(DESIGNS)
    assert not missing, f"register these design functions in DESIGNS: {sorted(missing)}"


# ------------------------------------------------------------------------------------------------
# the contract, one test per clause, parametrised over the registry
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_tidy_columns_and_dtypes(name):
    res = _fit(name)
    tab = res.tidy()
    assert isinstance(tab, pd.DataFrame) and len(tab) > 0
    assert list(tab.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert pd.api.types.is_string_dtype(tab["term"]) or tab["term"].map(type).eq(str).all()
    for col in TIDY_COLUMNS[1:]:
        assert pd.api.types.is_float_dtype(tab[col]), f"{col} is {tab[col].dtype}"
    assert np.isfinite(tab["estimate"]).any()
    assert not (set(tab.columns) & set(SYNONYMS)), (
        f"use the key vocabulary: {set(tab.columns) & set(SYNONYMS)}"
    )
    # a simultaneous band comes in pairs beside the pointwise interval, and contains it
    uni = [c for c in UNIFORM_COLUMNS if c in tab.columns]
    assert len(uni) in (0, 2)
    if uni:
        ok = tab[["conf_low", "conf_low_uniform", "conf_high", "conf_high_uniform"]].notna().all(1)
        t = tab[ok]
        assert (t["conf_low_uniform"] <= t["conf_low"] + 1e-12).all()
        assert (t["conf_high_uniform"] >= t["conf_high"] - 1e-12).all()
    # pointwise intervals contain their estimate
    ok = tab[["conf_low", "conf_high"]].notna().all(1)
    assert (tab.loc[ok, "conf_low"] <= tab.loc[ok, "estimate"] + 1e-12).all()
    assert (tab.loc[ok, "conf_high"] >= tab.loc[ok, "estimate"] - 1e-12).all()
    keys = [c for c in KEY_COLUMNS if c in tab.columns]
    assert tab.columns.get_loc(keys[0]) > 5 if keys else True


@pytest.mark.parametrize("name", NAMES)
def test_headline(name):
    res = _fit(name)
    h = res.headline
    assert isinstance(h, Estimate)
    assert math.isfinite(h.estimate)
    assert h.label and isinstance(h.label, str) and h.term
    for v in (h.std_error, h.conf_low, h.conf_high, h.p_value):
        assert v is None or math.isfinite(v)
    if h.std_error is not None:
        assert h.std_error > 0
    if h.conf_low is not None and h.conf_high is not None:
        assert h.conf_low <= h.estimate <= h.conf_high
    if h.p_value is not None:
        assert 0.0 <= h.p_value <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_checks_are_typed(name):
    res = _fit(name)
    assert isinstance(res.checks, tuple)
    for c in res.checks:
        assert isinstance(c, Check)
        assert c.name and c.detail and c.passed in (True, False, None)
    table = res.checks_table()
    assert len(table) == len(res.checks)
    extra = Check("placebo", True, "a later refuter passed")
    more = res.with_checks(extra)
    assert more.checks[-1] is extra and len(res.checks) == len(more.checks) - 1


@pytest.mark.parametrize("name", NAMES)
def test_strict_json(name):
    res = _fit(name)
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["headline"]["estimate"] == pytest.approx(res.headline.estimate)
    assert back["design"] == res.design and "provenance" in back and "checks" in back


@pytest.mark.parametrize("name", NAMES)
def test_summary_text(name):
    res = _fit(name)
    text = res.summary()
    assert isinstance(text, str) and res.headline.label in text
    assert str(res) == text
    assert "<" in res._repr_html_()


@pytest.mark.parametrize("name", NAMES)
def test_plot_kinds(name):
    from matplotlib.figure import Figure

    res = _fit(name)
    kinds = type(res).PLOT_KINDS
    assert kinds and all(hasattr(res, f"_plot_{k}") for k in kinds)
    fig = res.plot()
    assert isinstance(fig, Figure)
    outer = Figure()
    ax = outer.subplots()
    assert res.plot(ax=ax) is outer
    for k in kinds[1:]:
        # a kind this particular fit has no data for (e.g. no placebo) says so with a DesignError
        with contextlib.suppress(at.DesignError):
            assert isinstance(res.plot(kind=k), Figure)
    with pytest.raises(at.OptionError, match="kind"):
        res.plot(kind="no-such-plot")


@pytest.mark.parametrize("name", NAMES)
def test_immutable(name):
    res = _fit(name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.alpha = 0.5  # type: ignore[misc]
    tab = res.tidy()
    before = float(res.tidy()["estimate"].iloc[0])
    tab.loc[tab.index[0], "estimate"] = 1e9
    assert float(res.tidy()["estimate"].iloc[0]) == before
    for f in dataclasses.fields(res):
        v = getattr(res, f.name)
        if isinstance(v, np.ndarray):
            assert not v.flags.writeable, f.name


@pytest.mark.parametrize("name", NAMES)
def test_provenance(name):
    res = _fit(name)
    p = res.provenance
    assert p.design and isinstance(p.options, typing.Mapping)
    assert "numpy" in p.versions and "attribution" in p.versions
    assert res.sample_size is None or res.sample_size > 0


# ------------------------------------------------------------------------------------------------
# compare
# ------------------------------------------------------------------------------------------------
def test_compare_lays_designs_side_by_side():
    names = [
        "factorial",
        "did.aggte",
        "did.event_study",
        "did.twfe",
        "synth.fit",
        "synth.synthetic_control",
    ]
    results = [_fit(n) for n in names]
    cmp = at.compare(*results, names=names)
    assert isinstance(cmp, Comparison)
    tab = cmp.tidy()
    assert list(tab["name"]) == names
    for r, row in zip(results, tab.itertuples(index=False), strict=True):
        assert row.estimate == r.headline.estimate and row.label == r.headline.label
        assert row.design == r.design
    json.dumps(cmp.to_dict(), allow_nan=False)
    assert cmp.plot() is not None
    default = at.compare(results[0], results[0]).tidy()["name"].tolist()
    assert len(set(default)) == 2


def test_compare_bad_input():
    res = _fit("factorial")
    with pytest.raises(at.DesignError):
        at.compare()
    with pytest.raises(at.DesignError):
        at.compare(res, object())  # type: ignore[arg-type]
    with pytest.raises(at.DesignError):
        at.compare(res, res, names=["a"])
    with pytest.raises(at.DesignError):
        at.compare(res, res, names=["a", "a"])
