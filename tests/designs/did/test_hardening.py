"""Bad requests the outside review found (issue 8), beyond the shared catalogue
(tests/test_bad_input.py): each is a typed error naming the user's columns and the fix."""

from __future__ import annotations

import warnings

import ibis
import numpy as np
import pytest

from attribution.designs import did
from attribution.errors import AttributionError, DataError, DesignError, OptionError
from tests.bad_input.did import GT, LAUNCH, rollout, staggered


def _clean(err: AttributionError) -> str:
    text = str(err)
    for bad in ("__at_", "_cohort", "np.int64(", "np.float64("):
        assert bad not in text, text
    return text


def test_cohort_between_periods_is_refused():
    df = staggered()
    bad = df.assign(cohort=np.where(df["cohort"] == 3, 3.5, df["cohort"]))
    for f in (did.att_gt, did.event_study, did.sun_abraham):
        with pytest.raises(DataError, match=r"3\.5 is not on the grid") as err:
            f(bad, **GT)
        assert "cohort" in _clean(err.value)


def test_anticipation_off_the_grid_is_refused():
    with pytest.raises(OptionError, match="anticipation") as err:
        did.att_gt(staggered(), **GT, anticipation=0.5)
    _clean(err.value)


def test_single_cluster_is_refused():
    with pytest.raises(DataError, match="at least two clusters") as err:
        did.att_gt(staggered().assign(state=1), **GT, clustervars="state")
    assert "state" in _clean(err.value)


def test_empty_column_name_is_refused():
    with pytest.raises(OptionError, match="yname"):
        did.att_gt(staggered().rename(columns={"y": ""}), **{**GT, "yname": ""})


@pytest.mark.parametrize("name", ["_cohort", "n_periods", "g_min", "_u", "_start"])
def test_outcome_named_like_an_internal_column(name):
    df = staggered()
    want = did.event_study(df, **GT).headline.estimate
    got = did.event_study(df.rename(columns={"y": name}), **{**GT, "yname": name})
    assert got.headline.estimate == pytest.approx(want, rel=1e-12)
    assert got.provenance.options["yname"] == name
    assert name in got.provenance.data.columns


def test_sun_abraham_suggests_its_own_control_group():
    df = staggered()
    with pytest.raises(DesignError, match="no never-treated") as err:
        did.sun_abraham(df[df["cohort"] > 0], **GT)
    assert "lasttreated" in err.value.fix and "notyettreated" not in _clean(err.value)


def test_stale_columns_do_not_change_launch_event_study():
    panel, log = rollout()
    want = did.launch_event_study(panel, log, **LAUNCH).tidy()
    got = did.launch_event_study(
        panel.assign(_start=5, _cohort=3, _u="x"), log.assign(_u="y"), **LAUNCH
    ).tidy()
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-12)


def test_panel_and_log_in_two_connections():
    panel, log = rollout()
    a, b = ibis.duckdb.connect(), ibis.duckdb.connect()
    with pytest.raises(DataError, match="two different connections") as err:
        did.launch_event_study(
            a.create_table("events", panel), b.create_table("launches", log), **LAUNCH
        )
    text = _clean(err.value)
    assert "'events'" in text and "'launches'" in text and err.value.fix


def test_integer_panel_units_against_string_log_units():
    panel, log = rollout()
    codes = {u: i for i, u in enumerate(sorted(panel["unit"].unique()))}
    with pytest.raises(DataError, match="int64 in the panel but string") as err:
        did.launch_event_study(panel.assign(unit=panel["unit"].map(codes)), log, **LAUNCH)
    _clean(err.value)


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        ({"seed": "x"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"alpha": "0.05"}, "alpha"),
        ({"biters": 0}, "biters"),
        ({"anticipation": -1}, "anticipation"),
    ],
)
def test_att_gt_options(kwargs, arg):
    with pytest.raises(OptionError, match=arg):
        did.att_gt(staggered(), **GT, **kwargs)


def test_honest_did_bounds_m():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = did.event_study(staggered(), **GT)
    with pytest.raises(OptionError, match="M="):
        did.honest_did(es, M=1e300)
