"""Parity with tea-tasting (a test extra: `tea-tasting==1.14.0`), on the same user-level data.

tea-tasting computes the same quantities for a mean, a ratio of means (delta method) and CUPED:
the difference, its SE (Welch, here with the normal reference: use_t=False), the relative lift
with its log-scale delta-method interval, and the p-value.

CUPED differs in one documented choice: tea-tasting estimates θ from both arms pooled *with* the
between-arm difference (the total covariance), `experiment` from the within-arm (ANCOVA) covariance,
which makes it equal `at.factorial(covariate=)`. Under randomisation the two θ differ by O(1/n):
the CUPED differences agree to 2% of a standard error and the SEs to 1e-4 relative (on these data:
0.03% and 1.1% of an SE for the mean and the ratio), the other numbers to 1e-9.
"""

from __future__ import annotations

import pandas as pd
import pytest

from attribution.designs.experiment import experiment
from attribution.metrics import Mean, Ratio
from tests.designs.experiment.helpers import users

tt = pytest.importorskip(
    "tea_tasting", reason="tea-tasting is a test extra (pip install tea-tasting==1.14.0)"
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = users(6_000, seed=13)
    return df.assign(variant=(df.arm == "t1").astype("int64"))


def _ours(frame, metric):
    res = experiment(frame, arm="variant", unit="user", metrics=[metric], control=0)
    return res.tidy().iloc[0]


def _theirs(frame, metric):
    return tt.Experiment(m=metric).analyze(frame, control=0)["m"]


@pytest.mark.parametrize(
    ("ours", "theirs", "rel"),
    [
        (Mean("engagement"), lambda: tt.Mean("engagement", use_t=False), 1e-9),
        (
            Ratio("clicks", "impressions"),
            lambda: tt.RatioOfMeans("clicks", "impressions", use_t=False),
            1e-9,
        ),
        (
            Mean("engagement", covariate="pre"),
            lambda: tt.Mean("engagement", covariate="pre", use_t=False),
            "cuped",
        ),
        (
            Ratio("clicks", "impressions", covariate=("pre_clicks", "pre_impressions")),
            lambda: tt.RatioOfMeans(
                "clicks", "impressions", "pre_clicks", "pre_impressions", use_t=False
            ),
            "cuped",
        ),
    ],
    ids=["mean", "ratio", "mean-cuped", "ratio-cuped"],
)
def test_same_numbers_as_tea_tasting(frame, ours, theirs, rel):
    a = _ours(frame, ours)
    b = _theirs(frame, theirs())
    se = (b.effect_size_ci_upper - b.effect_size_ci_lower) / (2 * 1.959963984540054)
    if rel == "cuped":  # θ within arms vs θ over both arms (module docstring)
        assert abs(a["estimate"] - b.effect_size) <= 0.02 * se
        assert a["std_error"] == pytest.approx(se, rel=1e-4)
        lift_se = (a["lift_conf_high"] - a["lift_conf_low"]) / (2 * 1.959963984540054)
        assert abs(a["lift"] - b.rel_effect_size) <= 0.02 * lift_se
        assert a["p_value"] == pytest.approx(b.pvalue, abs=0.01)
        return
    assert a["estimate"] == pytest.approx(b.effect_size, rel=rel)
    assert a["std_error"] == pytest.approx(se, rel=rel)
    assert a["conf_low"] == pytest.approx(b.effect_size_ci_lower, rel=rel)
    assert a["conf_high"] == pytest.approx(b.effect_size_ci_upper, rel=rel)
    assert a["lift"] == pytest.approx(b.rel_effect_size, rel=rel)
    assert a["lift_conf_low"] == pytest.approx(b.rel_effect_size_ci_lower, rel=rel)
    assert a["lift_conf_high"] == pytest.approx(b.rel_effect_size_ci_upper, rel=rel)
    assert a["p_value"] == pytest.approx(b.pvalue, rel=1e-7, abs=1e-12)
    assert a["control_mean"] == pytest.approx(b.control, rel=1e-12)
    assert a["treatment_mean"] == pytest.approx(b.treatment, rel=1e-12)
