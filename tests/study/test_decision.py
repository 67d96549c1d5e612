"""Launch decisions: every branch, the bar, guardrails, diagnostics, disagreement, power advice."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from attribution.errors import OptionError
from attribution.results import Check
from attribution.study.decision import advice_multiplier, decide
from attribution.study.triangulate import triangulate
from tests.study.hand import hand_result, run

ALL = ("contract", "srm", "pre_trends", "placebo", "refuters")


@dataclass(frozen=True)
class Comp:
    name: str
    column: str
    owner: str | None = None
    cost_per_period: float | None = None


@dataclass(frozen=True)
class Met:
    name: str
    role: str
    direction: str = "increase"
    tolerated_loss_pct: float | None = None
    value_per_unit: float | None = None


@dataclass(frozen=True)
class Crit:
    min_lift_pct: float = 0.0
    guardrails: bool = True
    diagnostics: tuple[str, ...] = ALL
    power: float = 0.8
    alpha: float = 0.05


PRIMARY = Met("engagement", "primary", value_per_unit=0.002)
LATENCY = Met("latency", "guardrail", direction="decrease", tolerated_loss_pct=2.0)


def _decide(runs, comps, *, metrics=(PRIMARY,), crit=Crit(), population=2_000_000, tri=True):
    t = triangulate(runs, metric="engagement", alpha=crit.alpha) if tri else None
    return decide(runs, t, components=comps, metrics=metrics, criteria=crit, population=population)


def _one(est, se, *, base=50.0, n=10_000, checks=(), comp="K", design="hand", id="d", data="t"):
    res = hand_result([("ATT", est, se, None)], base=base, n=n, checks=checks, data=data)
    return run(id, res, estimates=[comp], design=design)


def test_ship_when_the_lower_bound_clears_the_break_even():
    # K: +4% of a baseline of 50 (SE 0.5%); break-even 900 / (0.002 × 2e6) = 0.225 → 0.45%
    d = _decide([_one(2.0, 0.25)], [Comp("K", "K", cost_per_period=900.0)])["K"]
    assert d.decision == "ship"
    np.testing.assert_allclose(d.break_even_pct, 100 * 900 / (0.002 * 2e6) / 50)
    assert d.bar_reason == "break-even" and d.bar_pct == d.break_even_pct
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose([d.lower_pct, d.upper_pct], [4 - z * 0.5, 4 + z * 0.5])
    assert d.cost_text == "900 per period (break-even +0.45%)"
    assert d.reasons[0].startswith("the lower bound +3.02% clears the bar of +0.45% (break-even)")
    assert d.advice is None


def test_do_not_ship_when_the_upper_bound_is_below_the_bar():
    # +0.4% (SE 0.1%) against a break-even of 100·20000/(0.002·2e6)/50 = 10%
    d = _decide([_one(0.2, 0.05)], [Comp("K", "K", cost_per_period=20_000.0)])["K"]
    assert d.decision == "do not ship"
    assert d.reasons[0].startswith("the whole interval (+0.20% to +0.60%) is below the bar")


def test_extend_when_the_interval_straddles_the_bar_with_closed_form_advice():
    d = _decide([_one(0.25, 0.2, n=40_000)], [Comp("K", "K")])["K"]  # +0.5% (SE 0.4%) vs 0
    assert (
        d.decision == "extend" and "straddles the bar of +0.00% (the minimum lift)" in d.reasons[0]
    )
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    m = (z * 0.4 / 0.5) ** 2
    np.testing.assert_allclose(d.advice_multiplier, m, rtol=1e-12)
    assert d.advice_extra == math.ceil((m - 1) * 40_000)
    assert f"about {m:.1f}× the units (≈ {d.advice_extra:,} more than the 40,000 used)" in d.advice
    assert "80% power" in d.advice
    # the closed form: at m × n units the interval excludes the bar with 80% power
    se_new = 0.4 / math.sqrt(m)
    power = stats.norm.sf(stats.norm.ppf(0.975) - 0.5 / se_new)
    np.testing.assert_allclose(power, 0.8, rtol=1e-6)
    np.testing.assert_allclose(advice_multiplier(0.5, 0.4, 0.0, alpha=0.05, power=0.8), m)
    assert math.isinf(advice_multiplier(0.5, 0.4, 0.5, alpha=0.05, power=0.8))


def test_a_panel_design_is_advised_in_days_as_well():
    r = _one(0.25, 0.2, n=12, design="did.launch_event_study")
    d = _decide([r], [Comp("K", "K")])["K"]
    assert "post-launch days" in d.advice and "more than the 12 used" in d.advice


def test_a_failed_pre_trend_check_downgrades_ship_to_extend():
    bad = (
        Check(
            "pre-trend test", False, "Wald test that all pre-period estimates are zero: p = 0.001"
        ),
    )
    d = _decide([_one(2.0, 0.25, checks=bad)], [Comp("K", "K")])["K"]
    assert d.decision == "extend" and d.failed_diagnostics == ("pre_trends",)
    why = [r for r in d.reasons if "downgraded" in r]
    assert why and "pre-trend test" in why[0] and "pre-launch check failed" in why[0]
    assert d.advice is None  # more data does not repair a design
    # not among the required diagnostics: ship, with the failure mentioned
    lax = _decide([_one(2.0, 0.25, checks=bad)], [Comp("K", "K")], crit=Crit(diagnostics=("srm",)))
    assert lax["K"].decision == "ship"
    assert any("outside the launch criteria" in r for r in lax["K"].reasons)
    # a failed diagnostic keeps "do not ship"
    low = _decide([_one(-2.0, 0.25, checks=bad)], [Comp("K", "K")])["K"]
    assert low.decision == "do not ship"
    # straddling with a failed check: more units alone would not settle it
    unsure = _decide([_one(0.25, 0.2, checks=bad)], [Comp("K", "K")])["K"]
    assert unsure.decision == "extend" and unsure.advice.endswith(
        "failed pre_trends check is resolved"
    )


def test_the_most_precise_design_whose_diagnostics_pass_decides():
    bad = (Check("SRM joint cells", False, "p = 1e-9"),)
    precise_but_bad = _one(2.0, 0.05, id="precise", checks=bad, data="a")
    good = _one(2.0, 0.25, id="good", data="b")
    worse = _one(2.0, 0.5, id="worse", data="c")
    d = _decide([precise_but_bad, good, worse], [Comp("K", "K")])["K"]
    assert d.design_id == "good" and d.decision == "ship"
    assert "the most precise of the 2 designs whose diagnostics passed" in " ".join(d.reasons)


def test_disagreement_turns_ship_into_extend():
    a = _one(2.0, 0.05, id="a", data="a")  # +4% (SE 0.1%)
    b = _one(1.0, 0.05, id="b", data="b")  # +2% (SE 0.1%)
    d = _decide([a, b], [Comp("K", "K")])["K"]
    assert d.decision == "extend"
    assert any("downgraded to extend because the designs disagree" in r for r in d.reasons)
    assert _decide([a, b], [Comp("K", "K")], tri=False)["K"].decision == "ship"


def _with_latency(lat_est, lat_se, *, base=100.0):
    eng = _one(2.0, 0.25, id="eng")
    lat = run(
        "lat",
        hand_result([("ATT", lat_est, lat_se, None)], base=base, data="t"),
        estimates=["K"],
        metric="latency",
    )
    return _decide([eng, lat], [Comp("K", "K")], metrics=(PRIMARY, LATENCY))["K"]


def test_guardrails_hold_breach_or_stay_inconclusive():
    holds = _with_latency(0.5, 0.5)  # +0.5% ± 0.98% < 2% tolerated rise
    assert holds.decision == "ship" and holds.guardrails[0]["verdict"] == "holds"
    breached = _with_latency(5.0, 0.5)  # +5% ± 0.98%: wholly beyond +2%
    assert breached.decision == "do not ship" and breached.guardrails[0]["verdict"] == "breached"
    assert any("clearly breached" in r for r in breached.reasons)
    unsure = _with_latency(1.8, 0.5)  # upper bound 2.78% > 2%, lower 0.82% < 2%
    assert unsure.decision == "extend" and unsure.guardrails[0]["verdict"] == "inconclusive"
    assert any("downgraded to extend because latency may be harmed" in r for r in unsure.reasons)
    # an 'increase' guardrail is harmed by a fall
    inc = Met("retention", "guardrail", direction="increase", tolerated_loss_pct=1.0)
    ret = run(
        "ret",
        hand_result([("ATT", -0.03, 0.005, None)], base=1.0),
        estimates=["K"],
        metric="retention",
    )  # -3% ± 1%: a clear fall beyond 1%
    d = _decide([_one(2.0, 0.25, id="eng"), ret], [Comp("K", "K")], metrics=(PRIMARY, inc))["K"]
    assert d.decision == "do not ship"


def test_a_guardrail_without_a_run_is_said_not_measured():
    d = _decide([_one(2.0, 0.25)], [Comp("K", "K")], metrics=(PRIMARY, LATENCY))["K"]
    assert d.decision == "ship"
    assert d.guardrails[0]["verdict"] == "not measured"
    assert any("latency was not measured" in r for r in d.reasons)
    off = _decide(
        [_one(2.0, 0.25)], [Comp("K", "K")], metrics=(PRIMARY, LATENCY), crit=Crit(guardrails=False)
    )["K"]
    assert off.guardrails == ()


def test_no_cost_given_means_no_break_even():
    d = _decide([_one(2.0, 0.25)], [Comp("K", "K")])["K"]
    assert d.break_even_pct is None and d.bar_reason == "min_lift" and d.bar_pct == 0.0
    assert d.cost_text == "no cost given" and "no cost given" in d.reasons
    # a cost without a population gives no break-even either, and says why
    d = _decide([_one(2.0, 0.25)], [Comp("K", "K", cost_per_period=900.0)], population=None)["K"]
    assert d.break_even_pct is None and "no break-even without the population" in d.cost_text
    # min_lift_pct above the break-even is the bar
    d = _decide(
        [_one(2.0, 0.25)], [Comp("K", "K", cost_per_period=900.0)], crit=Crit(min_lift_pct=1.0)
    )["K"]
    assert d.bar_pct == 1.0 and d.bar_reason == "min_lift"


def test_without_a_baseline_only_a_zero_bar_can_be_judged():
    d = _decide([_one(2.0, 0.25, base=None)], [Comp("K", "K")])["K"]
    assert d.decision == "ship" and d.scale == "absolute" and d.lower_pct is None
    d = _decide([_one(2.0, 0.25, base=None)], [Comp("K", "K")], crit=Crit(min_lift_pct=1.0))["K"]
    assert d.decision == "extend" and "does not know its baseline" in d.reasons[0]


def test_a_decrease_metric_counts_a_fall_as_the_gain():
    down = Met("engagement", "primary", direction="decrease")
    d = _decide([_one(-2.0, 0.25)], [Comp("K", "K")], metrics=(down,))["K"]
    assert d.decision == "ship" and d.estimate_pct == pytest.approx(4.0)


def test_combined_launch_and_recommendation():
    fact = hand_result(
        [
            ("total", 3.0, 0.5, None),
            ("contribution(E)", 1.0, 0.2, "E"),
            ("contribution(R)", 0.25, 0.2, "R"),
            ("contribution(K)", -1.0, 0.2, "K"),
        ],
        base=50.0,
        n=40_000,
    )
    comps = [
        Comp("E", "E", cost_per_period=1500.0),
        Comp("R", "R"),
        Comp("K", "K", cost_per_period=900.0),
    ]
    dec = _decide([run("factorial", fact, estimates=["E", "R", "K"])], comps)
    assert [d.decision for d in dec.components] == ["ship", "extend", "do not ship"]
    c = dec.combined
    assert c.component == "combined" and c.decision == "ship"
    np.testing.assert_allclose(c.break_even_pct, 100 * 2400 / (0.002 * 2e6) / 50)
    assert any(
        "the bar counts only the costs given (E, K); R: no cost given" in r for r in c.reasons
    )
    rec = dec.recommendation
    assert rec.startswith("Ship E.") and "Extend R's test" in rec and "Do not ship K" in rec
    assert "The combined launch: ship" in rec and "more than the 40,000 used" in rec
    out = json.loads(json.dumps(dec.to_dict(), allow_nan=False))
    assert out["combined"]["decision"] == "ship" and len(out["components"]) == 3
    assert out["criteria"]["diagnostics"] == list(ALL)
    # no design of the whole launch: the combined decision follows the components'
    only_k = _decide([_one(2.0, 0.25)], [Comp("K", "K")])
    assert only_k.combined.decision == "ship"  # K informs 'all' components here
    two = _decide(
        [_one(2.0, 0.25, comp="E", id="e", data="a"), _one(2.0, 0.25, id="k", data="b")],
        [Comp("E", "E"), Comp("K", "K")],
    )
    assert (
        two.combined.decision == "ship"
        and "no design estimates the combined" in two.combined.reasons[0]
    )
    # a design informing every component without splitting its headline is not the combined one
    joint = run("did", hand_result([("ATT", 2.0, 0.25, None)], base=50.0), estimates=["E", "K"])
    three = _decide([joint], [Comp("E", "E"), Comp("K", "K")])
    assert "no design estimates the combined" in three.combined.reasons[0]


def test_a_component_no_design_estimates_is_extended():
    d = _decide([_one(2.0, 0.25)], [Comp("K", "K"), Comp("E", "E")])["E"]
    assert d.decision == "extend" and d.reasons[0] == "no design estimated E on engagement"


def test_bad_criteria_are_typed_errors():
    r = [_one(2.0, 0.25)]
    with pytest.raises(OptionError, match="diagnostics='pretrends'"):
        _decide(r, [Comp("K", "K")], crit=Crit(diagnostics=("pretrends",)))
    with pytest.raises(OptionError, match=r"power=1\.5"):
        _decide(r, [Comp("K", "K")], crit=Crit(power=1.5))
    with pytest.raises(OptionError, match="exactly one primary"):
        _decide(r, [Comp("K", "K")], metrics=(LATENCY,))
    with pytest.raises(OptionError, match="population"):
        _decide(r, [Comp("K", "K")], population=-1)
    lat = run("lat", hand_result([("ATT", 1.0, 0.1, None)]), estimates=["K"], metric="latency")
    t = triangulate([lat], metric="latency", alpha=0.05)
    with pytest.raises(OptionError, match="not of the primary metric"):
        decide(
            r, t, components=[Comp("K", "K")], metrics=[PRIMARY], criteria=Crit(), population=None
        )


def test_advice_past_a_practical_size_says_a_longer_test_will_not_settle_it():
    # +0.1% (SE 0.4%) against 0: about 125× the units would be needed
    d = _decide([_one(0.05, 0.2, n=40_000)], [Comp("K", "K")])["K"]
    assert d.decision == "extend" and d.advice_multiplier > 10
    assert "rarely practical" in d.advice and "decide on other grounds" in d.advice
    near = _decide([_one(0.25, 0.2, n=40_000)], [Comp("K", "K")])["K"]  # about 10× at most
    assert near.advice_multiplier < 10 and "rarely practical" not in near.advice
