"""Bad input to `experiment()`: typed errors that name the column, the count and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution.designs.experiment import decompose_lift, experiment
from attribution.errors import DataError, DesignError, OptionError
from attribution.metrics import Mean, Proportion, Ratio
from tests.designs.experiment.helpers import users


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return users(1_000, seed=1)


def test_zero_denominator_units_are_counted_and_named(data):
    """Ratio(zero_denominator="raise"), the default: the column, the count, example rows and the
    two fixes (filter, or zero_denominator="keep")."""
    df = data.copy()
    df.loc[df.index[:7], ["clicks", "impressions"]] = 0
    with pytest.raises(DataError, match=r"7 unit\(s\) of 'user' have a zero total") as err:
        experiment(df, arm="arm", unit="user", metrics=[Ratio("clicks", "impressions")])
    assert err.value.columns == ("impressions",)
    assert err.value.rows["user"].tolist() == [0, 1, 2, 3, 4]  # the first example_rows units
    assert (err.value.rows["impressions"] == 0).all()
    assert "zero_denominator='keep'" in str(err.value) and "filter" in str(err.value)
    assert "__at_" not in str(err.value)
    # with clusters (households of 4 users within an arm) units, not clusters, are counted
    df["household"] = df["arm"] + "-" + (df.groupby("arm").cumcount() // 4).astype(str)
    with pytest.raises(DataError, match=r"7 unit\(s\) of 'user' have a zero total"):
        experiment(
            df,
            arm="arm",
            unit="user",
            cluster="household",
            metrics=[Ratio("clicks", "impressions")],
        )


def test_clicks_without_impressions_are_refused_whatever_the_rule(data):
    df = data.copy()
    df.loc[df.index[:3], "impressions"] = 0
    df.loc[df.index[:3], "clicks"] = [1, 0, 2]
    for rule in ("raise", "keep"):
        metric = Ratio("clicks", "impressions", zero_denominator=rule)
        with pytest.raises(DataError, match=r"2 unit\(s\) of 'user' have impressions = 0 but") as e:
            experiment(df, arm="arm", unit="user", metrics=[metric])
        assert e.value.rows["user"].tolist() == [df["user"].iloc[0], df["user"].iloc[2]]


def test_an_arm_whose_denominator_sums_to_zero(data):
    df = data.copy()
    df.loc[df.arm == "t1", ["clicks", "impressions"]] = 0
    metric = Ratio("clicks", "impressions", zero_denominator="keep")
    with pytest.raises(DataError, match=r"sums to 0 in arm\(s\) 't1', so"):
        experiment(df, arm="arm", unit="user", metrics=[metric])


def test_an_arm_with_no_units(data):
    with pytest.raises(DesignError, match="no units"):
        experiment(
            data,
            arm="arm",
            unit="user",
            metrics=["engagement"],
            allocation={"control": 0.4, "t1": 0.4, "t2": 0.2},
        )
    with pytest.raises(DesignError, match="single arm"):
        experiment(data[data.arm == "control"], arm="arm", unit="user", metrics=["engagement"])


def test_a_metric_missing_in_one_arm(data):
    df = data.assign(engagement=np.where(data.arm == "t1", np.nan, data.engagement))
    with pytest.raises(DesignError, match="missing in that arm") as err:
        experiment(df, arm="arm", unit="user", metrics=["sessions", "engagement"])
    assert "'engagement'" in str(err.value) and "t1" in str(err.value)


def test_some_missing_values_are_named(data):
    df = data.assign(engagement=data.engagement.where(data.user != 5))
    with pytest.raises(DataError, match="missing or non-finite") as err:
        experiment(df, arm="arm", unit="user", metrics=["engagement"])
    assert "engagement" in str(err.value)


def test_a_unit_in_two_arms(data):
    extra = data.iloc[:3].assign(arm=lambda d: np.where(d.arm == "control", "t1", "control"))
    with pytest.raises(
        DesignError, match=r"3 unit\(s\) of 'user' appear in more than one arm"
    ) as e:
        experiment(pd.concat([data, extra]), arm="arm", unit="user", metrics=["engagement"])
    assert "__at_" not in str(e.value)


def test_a_unit_in_two_segments(data):
    extra = data.iloc[:2].assign(segment="other")
    with pytest.raises(DesignError, match="more than one segment"):
        experiment(
            pd.concat([data, extra]),
            arm="arm",
            unit="user",
            metrics=["engagement"],
            segments="segment",
        )


def test_control_not_among_the_arms(data):
    with pytest.raises(DesignError, match="not among the arms"):
        experiment(data, arm="arm", unit="user", metrics=["engagement"], control="baseline")


def test_proportion_needs_zero_one_values(data):
    df = data.assign(converted=data.converted.astype(float))
    df.loc[df.index[:4], "converted"] = 0.5
    with pytest.raises(DataError, match=r"4 row\(s\) hold other values") as err:
        experiment(df, arm="arm", unit="user", metrics=[Proportion("converted")])
    assert "converted" in str(err.value)


def test_argument_errors(data):
    with pytest.raises(OptionError, match="more than once"):
        experiment(data, arm="arm", unit="user", metrics=["engagement", Mean("engagement")])
    with pytest.raises(OptionError, match="arm column"):
        experiment(data, arm="arm", unit="user", metrics=["arm"])
    with pytest.raises(OptionError, match="both"):
        experiment(data, arm="arm", unit="arm", metrics=["engagement"])
    with pytest.raises(OptionError, match="lift_interval"):
        experiment(data, arm="arm", unit="user", metrics=["engagement"], lift_interval="log")
    with pytest.raises(OptionError, match="add up"):
        experiment(
            data,
            arm="arm",
            unit="user",
            metrics=["engagement"],
            allocation={"control": 0.5, "t1": 0.3},
        )
    with pytest.raises(DataError, match="not in the table"):
        experiment(data, arm="arm", unit="user", metrics=["nope"])
    with pytest.raises(DesignError, match="chain"):
        decompose_lift(data, arm="arm", unit="user", metric=["sessions"])


def test_null_arm_is_named(data):
    df = data.assign(arm=data.arm.where(data.user != 3))
    with pytest.raises(DataError, match="missing") as err:
        experiment(df, arm="arm", unit="user", metrics=["engagement"])
    assert "arm" in str(err.value)


def test_null_surface_or_time_is_named(data):
    df = data.assign(surface=data.surface.where(data.user != 3))
    with pytest.raises(DataError, match="missing") as err:
        experiment(df, arm="arm", unit="user", metrics=["engagement"], surface="surface")
    assert "surface" in str(err.value)
    df = data.assign(week=pd.array(np.where(data.user == 4, None, 1), dtype="Int64"))
    with pytest.raises(DataError, match="missing"):
        experiment(df, arm="arm", unit="user", metrics=["engagement"], time="week")


def test_correction_and_zero_denominator_vocabularies(data):
    with pytest.raises(OptionError, match=r"(?s)correction='fdr_bh'.*'bh', 'by'"):
        experiment(data, arm="arm", unit="user", metrics=["engagement"], correction="fdr_bh")
    with pytest.raises(OptionError, match=r"(?s)zero_denominator='drop'.*'raise', 'keep'"):
        Ratio("clicks", "impressions", zero_denominator="drop")
    with pytest.raises(TypeError):  # keyword-only: Ratio(num, den, name) must not read as a rule
        Ratio("clicks", "impressions", "keep")  # type: ignore[misc]
