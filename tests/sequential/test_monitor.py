"""`monitor`: per-look statistics from the engine equal a direct pandas computation; bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution import sequential as sq
from attribution.errors import DataError, DesignError, EstimationError, OptionError
from attribution.metrics import Mean, Proportion, Ratio
from tests.bad_input.sequential import daily_frame
from tests.designs.experiment.helpers import users

KW = {"arm": "arm", "unit": "user_id", "metric": "engagement", "time": "day"}


def _direct(frame: pd.DataFrame, arm: str, control: str) -> pd.DataFrame:
    """Per look: difference in means of per-unit cumulative sums, and its variance, in pandas."""
    rows = []
    for look in sorted(frame["day"].unique()):
        upto = frame[frame["day"] <= look].groupby(["arm", "user_id"])["engagement"].sum()
        t, c = upto.loc[arm], upto.loc[control]
        rows.append(
            {
                "time": look,
                "estimate": t.mean() - c.mean(),
                "variance": t.var(ddof=1) / len(t) + c.var(ddof=1) / len(c),
                "n": len(t) + len(c),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("method", ["confidence_sequence", "msprt"])
def test_equals_direct_computation(method):
    frame = daily_frame()
    res = sq.monitor(frame, **KW, method=method)
    direct = _direct(frame, "treatment", "control")
    tab = res.tidy()
    np.testing.assert_allclose(tab["estimate"], direct["estimate"], rtol=1e-10)
    np.testing.assert_allclose(tab["std_error"] ** 2, direct["variance"], rtol=1e-10)
    assert tab["time"].tolist() == direct["time"].tolist()
    expected = sq.monitor_statistics(
        direct["estimate"],
        direct["variance"],
        method=method,
        sample_sizes=direct["n"] if method == "confidence_sequence" else None,
    )
    for col in ("conf_low_uniform", "conf_high_uniform", "p_value_always_valid"):
        np.testing.assert_allclose(tab[col], expected[col], rtol=1e-9, atol=1e-12)
    assert tab["decision"].tolist() == expected["decision"].tolist()
    assert res.headline.estimate == tab["estimate"].iloc[-1]
    assert res.headline.conf_low == pytest.approx(tab["conf_low_uniform"].iloc[-1])
    assert res.sample_size == 400


def test_engine_table_several_arms_and_direction(duckdb_backend):
    frame = daily_frame()
    extra = frame[frame["arm"] == "treatment"].assign(
        arm="b", user_id=lambda d: d["user_id"] + "b", engagement=lambda d: d["engagement"] * 3
    )
    both = pd.concat([frame, extra], ignore_index=True)
    table = duckdb_backend.create_table("seq_monitor_arms", both, overwrite=True)
    res = sq.monitor(table, **{**KW, "metric": Mean("engagement", direction="decrease")})
    tab = res.tidy()
    assert set(tab["arm"]) == {"b", "treatment"} and res.control == "control"
    b = tab[tab["arm"] == "b"]
    assert b["decision"].iloc[-1] == "stop for harm"  # engagement tripled, and lower is better
    assert not res.stopped_at.empty and "b" in res.stopped_at["arm"].tolist()
    direct = _direct(both, "b", "control")
    np.testing.assert_allclose(b["estimate"], direct["estimate"], rtol=1e-10)
    assert "stop for harm" in res.summary()


def test_early_looks_without_variation_are_skipped():
    frame = daily_frame()
    first = pd.DataFrame(
        {"user_id": ["early"], "arm": ["treatment"], "day": [0], "engagement": [1.0]}
    )
    res = sq.monitor(pd.concat([first, frame], ignore_index=True), **KW)
    assert res.tidy()["time"].iloc[0] == 1
    assert any("skipped" in c.name for c in res.checks)


def test_bad_input():
    frame = daily_frame()
    mixed = frame.copy()
    mixed.loc[mixed.index[0], "arm"] = (
        "treatment" if frame["arm"].iloc[0] == "control" else "control"
    )
    with pytest.raises(DesignError, match="more than one arm"):
        sq.monitor(mixed, **KW)
    with pytest.raises(DesignError, match="control"):
        sq.monitor(frame, **KW, control="placebo")
    with pytest.raises(DesignError, match="only the control"):
        sq.monitor(frame[frame["arm"] == "control"], **KW)
    with pytest.raises(OptionError):
        sq.monitor(frame, **{**KW, "metric": 3})
    with pytest.raises(DataError, match="other than 0 and 1"):
        sq.monitor(frame, **{**KW, "metric": Proportion("engagement")})
    with pytest.raises(DataError):
        sq.monitor(frame.assign(engagement=np.where(frame.index == 3, np.nan, 1.0)), **KW)
    with pytest.raises(EstimationError, match="engagement"):
        sq.monitor(frame.assign(engagement=2.0), **KW)
    with pytest.raises(DataError, match="not in the table"):
        sq.monitor(frame, **{**KW, "time": "date"})
    assert isinstance(sq.monitor(frame, **KW, tau2=0.01, method="msprt"), at.Result)


@pytest.mark.parametrize(
    "metric",
    [
        Ratio("clicks", "impressions"),
        Mean("engagement", covariate="pre"),
        Proportion("converted"),
        Ratio("clicks", "impressions", covariate=("pre_clicks", "pre_impressions")),
    ],
    ids=["ratio", "cuped", "proportion", "ratio-cuped"],
)
def test_last_look_equals_experiment(metric):
    """With every unit's rows in by the last look, monitor's last look is at.experiment's
    readout: the same delta method and CUPED from the same engine moments."""
    frame = users(1_500, seed=3)
    frame["day"] = np.random.default_rng(4).integers(1, 6, size=len(frame))
    res = sq.monitor(frame, arm="arm", unit="user", metric=metric, time="day")
    exp = at.experiment(frame, arm="arm", unit="user", metrics=[metric]).tidy().iloc[0]
    last = res.tidy().iloc[-1]
    assert last["estimate"] == pytest.approx(exp["estimate"], rel=1e-10)
    assert last["std_error"] == pytest.approx(exp["std_error"], rel=1e-10)
    assert res.tidy()["time"].tolist() == [1, 2, 3, 4, 5]
