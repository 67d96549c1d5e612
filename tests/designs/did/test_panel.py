"""validate_did_panel and att_gt/aggte requests: every bad input gets a typed error naming the
columns / rows and a fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution.designs.did import aggte, att_gt
from attribution.designs.did.request import parse_xformla, validate_did_panel
from attribution.errors import DataError, DesignError, OptionError

KW = {"yname": "y", "tname": "period", "idname": "unit", "gname": "cohort"}


@pytest.fixture()
def panel(make_staggered) -> pd.DataFrame:
    frame, _ = make_staggered(0, n_units=60, n_periods=5, cohorts=(3, 4))
    frame["w"] = 1.0
    frame["market"] = "m" + (frame["unit"] % 4).astype(str)
    return frame


def test_valid_panel_shape(panel):
    p = validate_did_panel(panel, **KW)
    assert p.balanced and p.n_units == 60 and list(p.periods) == [1, 2, 3, 4, 5]
    assert list(p.cohorts) == [3.0, 4.0]
    assert p.cohort_sizes.sum() + p.n_never_treated == 60


def test_cohort_after_last_period_counts_as_never_treated(panel):
    late = panel.copy()
    late.loc[late["unit"] == 0, "cohort"] = 99
    p = validate_did_panel(late, **KW)
    assert 99.0 not in p.cohorts


def test_missing_and_mistyped_columns(panel):
    with pytest.raises(DataError, match="not in the table") as e:
        validate_did_panel(panel, **{**KW, "yname": "nope"})
    assert e.value.columns == ("nope",)
    bad = panel.assign(y=panel["y"].astype(str))
    with pytest.raises(DataError, match="mistyped") as e:
        validate_did_panel(bad, **KW)
    assert "y" in e.value.columns


def test_nan_outcome_names_rows(panel):
    bad = panel.copy()
    bad.loc[7, "y"] = np.nan
    with pytest.raises(DataError, match="missing or non-finite") as e:
        validate_did_panel(bad, **KW)
    assert e.value.columns == ("y",) and len(e.value.rows) == 1


def test_duplicated_unit_time_rows(panel):
    bad = pd.concat([panel, panel.iloc[[4]]], ignore_index=True)
    with pytest.raises(DataError, match="duplicated") as e:
        validate_did_panel(bad, **KW)
    assert set(e.value.columns) == {"unit", "period"}
    assert int(e.value.rows["unit"].iloc[0]) == int(panel["unit"].iloc[4])


def test_gaps_in_unbalanced_panel_name_units(panel):
    bad = panel.drop(index=[3, 12]).reset_index(drop=True)
    with pytest.raises(DataError, match="unbalanced panel") as e:
        validate_did_panel(bad, **KW)
    assert sorted(e.value.rows["unit"]) == sorted(panel.loc[[3, 12], "unit"])
    assert "allow_unbalanced_panel=True" in e.value.fix
    assert not validate_did_panel(bad, **KW, allow_unbalanced_panel=True).balanced


def test_cohort_changing_within_unit(panel):
    bad = panel.copy()
    unit = int(bad.loc[bad["cohort"] == 3, "unit"].iloc[0])
    bad.loc[(bad["unit"] == unit) & (bad["period"] == 5), "cohort"] = 4
    with pytest.raises(DataError, match="changes within 1 unit") as e:
        validate_did_panel(bad, **KW)
    assert list(e.value.rows["unit"]) == [unit]


def test_units_treated_in_first_period(panel):
    bad = panel.copy()
    bad.loc[bad["unit"].isin([1, 2]), "cohort"] = 1
    with pytest.raises(DesignError, match="treated in the first period") as e:
        validate_did_panel(bad, **KW)
    assert sorted(e.value.rows["unit"]) == [1, 2]
    # with anticipation the cutoff moves: cohort 3 units are then "treated" before period 2
    with pytest.raises(DesignError, match="anticipation=2"):
        validate_did_panel(panel, **KW, anticipation=2)


def test_no_never_treated_units(panel):
    bad = panel[panel["cohort"] > 0]
    with pytest.raises(DesignError, match="no never-treated") as e:
        att_gt(bad, **KW)
    assert "notyettreated" in e.value.fix
    with pytest.raises(DesignError, match="no never-treated") as e:
        att_gt(bad, **KW, control_group="notyettreated")
    assert "period < 4" in e.value.fix


def test_nobody_treated(panel):
    with pytest.raises(DesignError, match="no unit is ever treated"):
        validate_did_panel(panel.assign(cohort=0), **KW)


def test_negative_cohort_and_weights(panel):
    with pytest.raises(DataError, match="negative treatment cohorts"):
        validate_did_panel(panel.assign(cohort=panel["cohort"] - 10), **KW)
    with pytest.raises(DataError, match="negative sampling weights"):
        validate_did_panel(panel.assign(w=-1.0), **KW, weightsname="w")


def test_weights_and_clusters_must_be_unit_level(panel):
    bad = panel.copy()
    bad.loc[0, "w"] = 2.0
    with pytest.raises(DataError, match="weight 'w' changes within 1 unit") as e:
        validate_did_panel(bad, **KW, weightsname="w")
    assert list(e.value.rows["unit"]) == [int(panel.loc[0, "unit"])]
    bad = panel.copy()
    bad.loc[0, "market"] = "elsewhere"
    with pytest.raises(DataError, match="cluster variable 'market' changes") as e:
        validate_did_panel(bad, **KW, clustervars="market")
    assert list(e.value.rows["unit"]) == [int(panel.loc[0, "unit"])]
    with pytest.raises(OptionError, match="at most one cluster"):
        validate_did_panel(panel, **KW, clustervars=["market", "w"])


def test_one_period_and_role_clash(panel):
    with pytest.raises(DesignError, match="at least two"):
        validate_did_panel(panel[panel["period"] == 1], **KW)
    with pytest.raises(OptionError, match="more than one role"):
        validate_did_panel(panel, **{**KW, "gname": "y"})
    with pytest.raises(OptionError, match="column name"):
        validate_did_panel(panel, **{**KW, "yname": 3})
    with pytest.raises(OptionError, match="anticipation"):
        validate_did_panel(panel, **KW, anticipation=-1)


def test_caller_frame_is_not_mutated(panel):
    before = panel.copy()
    att_gt(panel, **KW, weightsname="w")
    pd.testing.assert_frame_equal(panel, before)


# -- att_gt / aggte requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"control_group": "everyone"}, "control_group"),
        ({"est_method": "ols"}, "est_method"),
        ({"base_period": "fixed"}, "base_period"),
        ({"alpha": 1.5}, "alpha"),
        ({"biters": 3}, "biters"),
        ({"bstrap": "yes"}, "bstrap"),
        ({"cband": True}, "cband=True needs"),
        ({"xformla": "lpop"}, "one-sided"),
        ({"xformla": "~ x1*x2"}, "unsupported"),
        ({"xformla": "~ log(x)"}, "unsupported"),
        ({"xformla": "~ y"}, "design column"),
    ],
)
def test_att_gt_bad_options(panel, kwargs, match):
    with pytest.raises(OptionError, match=match):
        att_gt(panel, **KW, **kwargs)


def test_xformla_parsing():
    assert parse_xformla(None) == ()
    assert parse_xformla("~1") == ()
    assert parse_xformla(" ~ a + b.c + 1 + a") == ("a", "b.c")


def test_covariate_with_missing_values(panel):
    bad = panel.assign(x=1.0)
    bad.loc[5, "x"] = np.nan
    with pytest.raises(DataError, match="xformla") as e:
        att_gt(bad, **KW, xformla="~x")
    assert e.value.columns == ("x",)


def test_aggte_bad_requests(panel):
    res = att_gt(panel, **KW)
    with pytest.raises(OptionError, match="type"):
        aggte(res, type="weekly")
    with pytest.raises(OptionError, match="att_gt"):
        aggte(res.tidy(), type="simple")
    with pytest.raises(OptionError, match="min_e"):
        aggte(res, type="dynamic", min_e=2, max_e=1)
    with pytest.raises(OptionError, match="balance_e"):
        aggte(res, type="dynamic", balance_e=-1)
    with pytest.raises(DesignError, match="balance_e=4 is larger") as e:
        aggte(res, type="dynamic", balance_e=4)
    assert "smaller" in e.value.fix
    with pytest.raises(DesignError, match="no event time"):
        aggte(res, type="dynamic", min_e=10, max_e=12)
    with pytest.raises(OptionError, match="cband=True needs"):
        aggte(res, type="dynamic", cband=True)
    with pytest.raises(OptionError, match="na_rm"):
        aggte(res, type="group", na_rm="no")


def test_aggte_missing_cells_need_na_rm(panel):
    # universal base period and a cohort with no comparison units in the last period:
    # with not-yet-treated controls and no never-treated units left in some cells, R gives NA
    frame = panel.copy()
    res = att_gt(frame, **KW, base_period="universal")
    assert np.isfinite(res.tidy()["estimate"]).all()
    # build an NA cell: never-treated units unobserved in the last period (unbalanced panel)
    never = frame["cohort"] == 0
    gap = frame[~(never & (frame["period"] == 5))]
    res = att_gt(gap, **KW, base_period="universal", allow_unbalanced_panel=True)
    assert res.tidy()["estimate"].isna().any()
    with pytest.raises(DesignError, match="missing") as e:
        aggte(res, type="simple")
    assert "na_rm=True" in e.value.fix
    out = aggte(res, type="simple", na_rm=True)
    assert np.isfinite(out.overall.estimate)


def test_collinear_covariate_names_the_cell_and_column(mpdta):
    from attribution.errors import EstimationError

    with pytest.raises(EstimationError, match=r"ATT\(2004,2004\) \(base period 2003\)") as e:
        att_gt(mpdta.assign(c=1.0), yname="lemp", tname="year", idname="countyreal",
               gname="first_treat", xformla="~c")  # fmt: skip
    assert e.value.columns == ("c",) and "drop 'c'" in e.value.fix
