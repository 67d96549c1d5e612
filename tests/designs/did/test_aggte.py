"""AttGtResult / AggteResult: the Result contract, the event-study protocol, plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from attribution.designs.did import aggte, att_gt
from attribution.errors import DesignError
from attribution.results import TIDY_COLUMNS

MP = {"yname": "lemp", "tname": "year", "idname": "countyreal", "gname": "first_treat"}


@pytest.fixture(scope="module")
def res(mpdta):
    return att_gt(mpdta, **MP)


def test_att_gt_tidy_and_result_contract(res):
    tab = res.tidy()
    assert list(tab.columns[:6]) == list(TIDY_COLUMNS)
    assert {"group", "time", "event_time", "post"} <= set(tab.columns)
    assert tab["term"].iloc[0] == "ATT(g=2004,t=2004)"
    assert (tab["post"] == (tab["time"] >= tab["group"])).all()
    tab.loc[0, "estimate"] = 99.0  # a copy: the result does not change
    assert res.tidy()["estimate"].iloc[0] != 99.0
    d = res.to_dict()
    json.dumps(d)
    assert "influence" not in d and "vcov" not in d
    assert d["n_units"] == 500 and d["cohort_sizes"] == [20, 40, 131]
    assert "did.att_gt" in res.summary() and "<table" in res._repr_html_()
    assert "pre-test of parallel trends" in res.summary()
    assert "overall ATT (simple)" in aggte(res, type="simple").summary()
    assert res.provenance.options["control_group"] == "nevertreated"
    assert res.provenance.data.n_rows == 2500
    assert res.vcov.shape == (12, 12)
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), tab["std_error"], rtol=1e-12)


@pytest.mark.parametrize("typ, key, n_rows", [
    ("simple", None, 1), ("dynamic", "event_time", 7), ("group", "group", 3),
    ("calendar", "time", 4),
])  # fmt: skip
def test_aggte_tables_and_plots(res, typ, key, n_rows):
    a = aggte(res, type=typ)
    tab = a.tidy()
    assert len(tab) == n_rows and list(tab.columns[:6]) == list(TIDY_COLUMNS)
    if key:
        assert key in tab.columns
    o = a.overall
    assert o.conf_low < o.estimate < o.conf_high and 0 <= o.p_value <= 1
    json.dumps(a.to_dict())
    fig = a.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 1


def test_event_study_protocol(res):
    dyn = aggte(res, type="dynamic", min_e=-2, max_e=2)
    e, est, vcov = dyn.event_study()
    np.testing.assert_array_equal(e, [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(est, dyn.tidy()["estimate"])
    assert vcov.shape == (5, 5)
    np.testing.assert_allclose(np.sqrt(np.diag(vcov)), dyn.tidy()["std_error"], rtol=1e-12)
    assert np.allclose(vcov, vcov.T)
    vcov[0, 0] = 1e9  # a copy
    assert dyn.event_study()[2][0, 0] != 1e9
    with pytest.raises(DesignError, match="type='dynamic'"):
        aggte(res, type="group").event_study()


def test_att_gt_plot_has_one_panel_per_group(res):
    fig = res.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 3


def test_aggte_inherits_and_overrides_options(res):
    a = aggte(res, type="simple", alpha=0.1)
    b = aggte(res, type="simple")
    assert a.alpha == 0.1 and b.alpha == 0.05
    assert a.overall.conf_high - a.overall.conf_low < b.overall.conf_high - b.overall.conf_low
    assert a.overall.std_error == b.overall.std_error
    assert a.provenance.options["att_gt.control_group"] == "nevertreated"


@pytest.mark.parametrize("arg", ["min_e", "max_e"])
@pytest.mark.parametrize("value", ["0.05", np.nan, True, 1e300, object()])
def test_event_time_bounds_are_checked(res, arg, value):
    """min_e / max_e take numbers and ±inf (R's "no bound"); the bad-input catalogue skips them
    because its float bad values include inf."""
    from attribution.errors import OptionError

    with pytest.raises(OptionError, match=arg):
        aggte(res, type="dynamic", **{arg: value})


def test_event_time_bounds_accept_infinity(res):
    a = aggte(res, type="dynamic", min_e=-np.inf, max_e=np.inf)
    b = aggte(res, type="dynamic")
    assert a.overall_att == b.overall_att
