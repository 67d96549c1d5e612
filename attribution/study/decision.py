"""Launch decisions: ship, do not ship or extend, per component and for the combined launch.

Rules (the study's launch criteria; numbers in % of the deciding result's baseline when it knows
one, else on the metric's own scale, always in the metric's good direction):

- the bar is max(min_lift_pct, break-even), where break-even = cost_per_period / (value_per_unit ×
  population) in metric units per unit, converted to % of the baseline; without a cost (or a value
  per unit, or a population) there is no break-even and the reason says "no cost given";
- **ship** when the interval's lower bound clears the bar, every measured guardrail holds (its
  bound in the harmful direction within the tolerated loss, in % of control) and no required
  diagnostic failed; **do not ship** when the upper bound is below the bar or a guardrail is clearly
  breached (its whole interval beyond the tolerated loss); **extend** otherwise;
- a failed required diagnostic (contract, srm, pre_trends, placebo, refuters; see
  `attribution.study.diagnostics`) downgrades ship to extend and says why; do not ship stays;
- designs that disagree beyond sampling noise (the triangulation's flag) turn ship into extend;
- an interval straddling the bar gets advice: how many times the current units (or post-launch
  days, for a panel design) would make the interval exclude the bar with the criteria's power,
  under the normal approximation with SE ∝ 1/√n and the estimate taken as the truth:
  multiplier = ((z_{1−α/2} + z_{power}) · SE / |estimate − bar|)².

The deciding design of a component is the one with the smallest standard error among those whose
required diagnostics passed (and that can be judged against the bar); the reasons say which.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from scipy import stats

from attribution.errors import OptionError
from attribution.inference import critical_value
from attribution.options import check_alpha, check_float, check_option
from attribution.results import Check, Estimate, to_jsonable
from attribution.study.diagnostics import DIAGNOSTICS, failed_diagnostics, what_failed
from attribution.study.triangulate import (
    Triangulation,
    check_runs,
    component_estimates,
    estimate_std_error,
)

if TYPE_CHECKING:
    from attribution.study.runs import DesignRun

__all__ = ["DECISIONS", "ComponentDecision", "Decisions", "advice_multiplier", "decide"]

Decision = Literal["ship", "do not ship", "extend"]
DECISIONS: tuple[str, ...] = ("ship", "do not ship", "extend")
PANEL_DESIGNS = ("did.", "synth.")
"""Registry-name prefixes of designs whose sample grows with days as well as units."""


class ComponentLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def column(self) -> str: ...
    @property
    def cost_per_period(self) -> float | None: ...


class MetricLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def tolerated_loss_pct(self) -> float | None: ...
    @property
    def value_per_unit(self) -> float | None: ...


class CriteriaLike(Protocol):
    @property
    def min_lift_pct(self) -> float: ...
    @property
    def guardrails(self) -> bool: ...
    @property
    def diagnostics(self) -> tuple[str, ...]: ...
    @property
    def power(self) -> float: ...
    @property
    def alpha(self) -> float: ...


@dataclass(frozen=True, kw_only=True)
class ComponentDecision:
    """The decision about one component (or the combined launch, component ``"combined"``).

    `estimate`, `lower`, `upper` and `bar` are on `scale` ("relative": % of baseline; "absolute":
    the metric's units) in the metric's good direction (a "decrease" metric's sign is flipped);
    the `*_pct` fields are None without a baseline. `guardrails` is one dict per guardrail metric
    (metric, verdict in holds / breached / inconclusive / not measured / not judged, design_id,
    lower_pct, upper_pct, tolerated_loss_pct, text).
    """

    component: str
    decision: str
    metric: str
    design_id: str | None = None
    design: str | None = None
    scale: str | None = None
    estimate: float | None = None
    lower: float | None = None
    upper: float | None = None
    estimate_pct: float | None = None
    lower_pct: float | None = None
    upper_pct: float | None = None
    bar: float | None = None
    bar_pct: float | None = None
    bar_reason: str = "min_lift"
    break_even_pct: float | None = None
    cost_text: str = "no cost given"
    guardrails: tuple[dict[str, Any], ...] = ()
    failed_diagnostics: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    advice: str | None = None
    advice_multiplier: float | None = None
    advice_extra: int | None = None
    sample_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({f: getattr(self, f) for f in self.__dataclass_fields__})

    @property
    def text(self) -> str:
        """'E: ship — <reasons>' in one line."""
        return f"{self.component}: {self.decision} — " + "; ".join(self.reasons)


@dataclass(frozen=True, kw_only=True)
class Decisions:
    """Per-component decisions, the combined launch's, and the recommendation in one paragraph."""

    metric: str
    components: tuple[ComponentDecision, ...]
    combined: ComponentDecision
    recommendation: str
    criteria: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, component: str) -> ComponentDecision:
        if component == "combined":
            return self.combined
        for d in self.components:
            if d.component == component:
                return d
        raise KeyError(component)

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON."""
        return to_jsonable(
            {
                "metric": self.metric,
                "criteria": self.criteria,
                "components": [d.to_dict() for d in self.components],
                "combined": self.combined.to_dict(),
                "recommendation": self.recommendation,
            }
        )

    def summary(self) -> str:
        lines = [d.text for d in (*self.components, self.combined)]
        return "\n".join([*lines, "", self.recommendation])

    def __str__(self) -> str:
        return self.summary()


def advice_multiplier(
    estimate: float, std_error: float, bar: float, *, alpha: float, power: float
) -> float:
    """How many times the current sample makes a (1 − alpha) interval exclude `bar` with the
    given power, if the effect is `estimate` (normal approximation, SE ∝ 1/√n); inf on the bar."""
    gap = abs(estimate - bar)
    if gap == 0:
        return math.inf
    z = critical_value(alpha) + float(stats.norm.ppf(power))
    return (z * std_error / gap) ** 2


# ------------------------------------------------------------------------------------------------
# one candidate estimate on the decision scale
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Candidate:
    run: DesignRun
    est: Estimate
    se: float | None
    lo: float | None  # absolute, metric's own sign, at the criteria's level
    hi: float | None
    factor: float | None  # 100 / baseline
    failed: dict[str, list[Check]]
    required_failed: tuple[str, ...]

    @classmethod
    def of(cls, run: DesignRun, est: Estimate, alpha: float, required: Sequence[str]) -> _Candidate:
        se, _ = estimate_std_error(est, run.result.alpha)
        if se is not None:
            z = critical_value(alpha)
            lo, hi = est.estimate - z * se, est.estimate + z * se
        else:
            lo, hi = est.conf_low, est.conf_high
        b = run.result.baseline
        factor = 100.0 / float(b) if b is not None and math.isfinite(b) and b != 0 else None
        failed = failed_diagnostics(run.result.checks)
        return cls(run, est, se, lo, hi, factor, failed, tuple(f for f in failed if f in required))

    def oriented(self, sign: float, relative: bool) -> tuple[float, float | None, float | None]:
        """(estimate, lower, upper) in the good direction, in % when `relative`."""
        f = self.factor if relative else 1.0
        assert f is not None
        est = sign * self.est.estimate * f
        if self.lo is None or self.hi is None:
            return est, None, None
        a, b = sign * self.lo * f, sign * self.hi * f
        return est, min(a, b), max(a, b)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:+.2f}%"


def _val(v: float | None, relative: bool) -> str:
    if v is None:
        return "—"
    return f"{v:+.2f}%" if relative else f"{v:+.4g}"


def _choose(cands: list[_Candidate], *, needs_baseline: bool) -> tuple[_Candidate | None, str]:
    """The most precise candidate, preferring an interval, passed diagnostics and a baseline when
    the bar needs one; and a sentence saying why it decides."""
    if not cands:
        return None, ""

    def key(c: _Candidate) -> tuple:
        return (
            c.lo is None,
            bool(c.required_failed),
            needs_baseline and c.factor is None,
            c.se if c.se is not None else math.inf,
        )

    best = min(cands, key=key)
    n = len(cands)
    clean = [c for c in cands if not c.required_failed and c.lo is not None]
    if n == 1:
        why = f"decided on {best.run.id} ({best.run.design}), the only design estimating it"
    elif best in clean and len(clean) == 1:
        others = "; ".join(
            f"{c.run.id} failed {', '.join(c.required_failed)}" for c in cands if c.required_failed
        )
        why = (
            f"decided on {best.run.id} ({best.run.design}), the only one of the {n} designs "
            "whose diagnostics passed" + (f" ({others})" if others else "")
        )
    elif best in clean:
        why = (
            f"decided on {best.run.id} ({best.run.design}), the most precise of the "
            f"{len(clean)} designs whose diagnostics passed"
        )
    else:
        why = (
            f"decided on {best.run.id} ({best.run.design}), the most precise design; none of the "
            f"{n} designs passed all required diagnostics"
        )
    return best, why


def _guardrail(
    metric: MetricLike,
    cands: list[_Candidate],
    *,
    label: str,
) -> dict[str, Any]:
    """One guardrail's verdict for a component (or the combined launch)."""
    tol = 0.0 if metric.tolerated_loss_pct is None else float(metric.tolerated_loss_pct)
    out: dict[str, Any] = {
        "metric": metric.name,
        "direction": metric.direction,
        "tolerated_loss_pct": tol,
        "design_id": None,
        "lower_pct": None,
        "upper_pct": None,
    }
    chosen, _ = _choose(cands, needs_baseline=True)
    if chosen is None:
        out["verdict"] = "not measured"
        out["text"] = f"{metric.name} was not measured for {label}: no design estimated it"
        return out
    out["design_id"] = chosen.run.id
    if chosen.factor is None or chosen.lo is None or chosen.hi is None:
        out["verdict"] = "not judged"
        why = (
            "its design does not know the control mean"
            if chosen.factor is None
            else ("its design gives no interval")
        )
        out["text"] = f"{metric.name} for {label} could not be judged in % of control: {why}"
        return out
    lo, hi = sorted((chosen.lo * chosen.factor, chosen.hi * chosen.factor))
    out["lower_pct"], out["upper_pct"] = lo, hi
    worse = "fall" if metric.direction == "increase" else "rise"
    if metric.direction == "increase":  # harm is a fall: the lower bound must stay above -tol
        holds, breached, bound = lo >= -tol, hi < -tol, lo
    else:  # harm is a rise: the upper bound must stay below +tol
        holds, breached, bound = hi <= tol, lo > tol, hi
    span = f"{_pct(lo)} to {_pct(hi)}"
    if holds:
        out["verdict"] = "holds"
        out["text"] = (
            f"{metric.name} holds for {label} ({span}; a {worse} of at most {tol:.2f}% is tolerated)"
        )
    elif breached:
        out["verdict"] = "breached"
        out["text"] = (
            f"{metric.name} is clearly breached by {label}: the whole interval ({span}) is beyond "
            f"the tolerated {worse} of {tol:.2f}%"
        )
    else:
        out["verdict"] = "inconclusive"
        out["text"] = (
            f"{metric.name} may be harmed by {label}: its bound {_pct(bound)} is beyond the "
            f"tolerated {worse} of {tol:.2f}% ({span})"
        )
    return out


def _judge(
    label: str,
    key: str,
    cands: list[_Candidate],
    guard_cands: Sequence[tuple[MetricLike, list[_Candidate]]],
    *,
    metric: MetricLike,
    criteria: CriteriaLike,
    cost: float | None,
    cost_text_base: str,
    population: float | None,
    flag: dict[str, Any] | None,
    extra_reasons: Sequence[str] = (),
) -> ComponentDecision:
    sign = 1.0 if metric.direction == "increase" else -1.0
    min_lift = float(criteria.min_lift_pct)
    value = metric.value_per_unit
    be_abs = None
    if cost is not None and value and population:
        be_abs = float(cost) / (float(value) * float(population))
    needs_baseline = min_lift != 0.0
    chosen, why = _choose(cands, needs_baseline=needs_baseline)
    base = {"component": key, "metric": metric.name}
    reasons = list(extra_reasons)
    if chosen is None:
        reasons.insert(0, f"no design estimated {label} on {metric.name}")
        return ComponentDecision(decision="extend", reasons=tuple(reasons), **base)
    relative = chosen.factor is not None
    est, lo, hi = chosen.oriented(sign, relative)
    est_pct = lo_pct = hi_pct = None
    if relative:
        est_pct, lo_pct, hi_pct = est, lo, hi
    # the bar on the decision scale
    be_pct = None if be_abs is None or chosen.factor is None else be_abs * abs(chosen.factor)
    if cost is None:
        cost_text = cost_text_base
    elif not value or not population:
        missing = "value_per_unit of the primary metric" if not value else "population"
        cost_text = f"{cost:,.0f} per period; no break-even without the {missing}"
    elif be_pct is not None:
        cost_text = f"{cost:,.0f} per period (break-even {_pct(be_pct)})"
    else:
        cost_text = f"{cost:,.0f} per period (break-even {be_abs:+.4g} per unit)"
    judgeable = relative or not needs_baseline
    if relative:
        bar = max(min_lift, be_pct) if be_pct is not None else min_lift
    else:
        bar = max(0.0, be_abs) if be_abs is not None else 0.0
    bar_reason = (
        "break-even"
        if (be_pct is not None and be_pct > min_lift) or (not relative and be_abs and be_abs > 0)
        else "min_lift"
    )
    bar_text = _val(bar, relative) + (
        " (break-even)" if bar_reason == "break-even" else " (the minimum lift)"
    )
    common = {
        **base,
        "design_id": chosen.run.id,
        "design": chosen.run.design,
        "scale": "relative" if relative else "absolute",
        "estimate": est,
        "lower": lo,
        "upper": hi,
        "estimate_pct": est_pct,
        "lower_pct": lo_pct,
        "upper_pct": hi_pct,
        "bar": bar if judgeable else None,
        "bar_pct": bar if relative else (0.0 if judgeable and bar == 0.0 else None),
        "bar_reason": bar_reason,
        "break_even_pct": be_pct,
        "cost_text": cost_text,
        "failed_diagnostics": tuple(chosen.failed),
        "sample_size": chosen.run.result.sample_size,
    }
    if why:
        reasons.append(why)
    if lo is None or hi is None:
        reasons.insert(0, f"{chosen.run.id} gives no interval for {label}, so it cannot be judged")
        return ComponentDecision(decision="extend", reasons=tuple(reasons), **common)
    if not judgeable:
        reasons.insert(
            0,
            f"{chosen.run.id} does not know its baseline, so the bar of {min_lift:+.2f}% cannot "
            "be checked",
        )
        return ComponentDecision(decision="extend", reasons=tuple(reasons), **common)

    interval = f"{_val(lo, relative)} to {_val(hi, relative)}"
    straddles = False
    if hi < bar:
        decision = "do not ship"
        reasons.insert(0, f"the whole interval ({interval}) is below the bar of {bar_text}")
    elif lo > bar:
        decision = "ship"
        reasons.insert(0, f"the lower bound {_val(lo, relative)} clears the bar of {bar_text}")
    else:
        decision = "extend"
        straddles = True
        reasons.insert(0, f"the interval ({interval}) straddles the bar of {bar_text}")
    if cost is None:
        reasons.append(cost_text_base)

    guards = [_guardrail(m, gc, label=label) for m, gc in guard_cands]
    for g in guards:
        if g["verdict"] == "breached":
            if decision != "do not ship":
                reasons.append(f"do not ship: {g['text']}")
            else:
                reasons.append(g["text"])
            decision = "do not ship"
        elif g["verdict"] == "inconclusive":
            if decision == "ship":
                decision = "extend"
                reasons.append(f"ship was downgraded to extend because {g['text']}")
            else:
                reasons.append(g["text"])
        else:  # holds, not measured, not judged: said, not blocking
            reasons.append(g["text"])

    for fam in chosen.required_failed:
        names = ", ".join(f"{c.name} ({c.detail.rstrip('.')})" for c in chosen.failed[fam])
        if decision == "ship":
            decision = "extend"
            reasons.append(f"ship was downgraded to extend because {what_failed(fam)}: {names}")
        else:
            reasons.append(f"also, {what_failed(fam)}: {names}")
    for fam in chosen.failed:
        if fam not in chosen.required_failed:
            names = ", ".join(c.name for c in chosen.failed[fam])
            reasons.append(f"a check outside the launch criteria failed ({names}); read it")

    if flag is not None and flag.get("flag"):
        text = (
            f"the designs disagree about {label} beyond sampling noise "
            f"(Cochran's Q = {flag['q']:.3g}, p = {flag['p_value']:.2g})"
        )
        if decision == "ship":
            decision = "extend"
            reasons.append(f"ship was downgraded to extend because {text}")
        else:
            reasons.append(text)

    advice = mult = extra = None
    if decision == "extend" and straddles:
        se = chosen.se
        if se is None:  # an interval without an SE: read it off the interval
            se = (chosen.hi - chosen.lo) / (2 * critical_value(criteria.alpha))
        se_s = se * (abs(chosen.factor) if relative else 1.0)
        mult = advice_multiplier(est, se_s, bar, alpha=criteria.alpha, power=criteria.power)
        advice, extra = _advice_text(chosen, mult, bar_text, criteria)
        if chosen.required_failed:
            advice += (
                f", and only once the failed {', '.join(chosen.required_failed)} check is resolved"
            )
    return ComponentDecision(
        decision=decision,
        guardrails=tuple(guards),
        reasons=tuple(reasons),
        advice=advice,
        advice_multiplier=None if mult is None or math.isinf(mult) else mult,
        advice_extra=extra,
        **common,
    )


PRACTICAL_MULTIPLIER = 10.0
"""Beyond this many times the current units (or days), the advice says a longer test is not a
practical way to settle the decision."""


def _advice_text(
    chosen: _Candidate, mult: float, bar_text: str, criteria: CriteriaLike
) -> tuple[str, int | None]:
    level = f"{100 * (1 - criteria.alpha):g}%"
    if math.isinf(mult):
        return (
            "the estimate sits on the bar: no sample size would settle it; decide on other grounds",
            None,
        )
    n = chosen.run.result.sample_size
    extra = math.ceil((mult - 1.0) * n) if n else None
    panel = chosen.run.design.startswith(PANEL_DESIGNS)
    count = f" (≈ {extra:,} more than the {n:,} used)" if extra is not None else ""
    if panel:
        what = f"about {mult:.1f}× the post-launch days, or {mult:.1f}× the units{count},"
    else:
        what = f"about {mult:.1f}× the units{count}"
    text = (
        f"{what} would make the {level} interval exclude the bar of {bar_text} with "
        f"{criteria.power:.0%} power, if the effect is as estimated"
    )
    if mult > PRACTICAL_MULTIPLIER:
        text += (
            f" — more than {PRACTICAL_MULTIPLIER:g}× is rarely practical: the estimate is too "
            "close to the bar for a longer test to settle it; decide on other grounds (cost, "
            "strategy) or accept the uncertainty"
        )
    return text, extra


# ------------------------------------------------------------------------------------------------
# decide
# ------------------------------------------------------------------------------------------------
def _check_inputs(
    components: Sequence[ComponentLike],
    metrics: Sequence[MetricLike],
    criteria: CriteriaLike,
    population: float | None,
) -> MetricLike:
    for d in criteria.diagnostics:
        check_option("diagnostics", d, DIAGNOSTICS)
    check_float("power", criteria.power, low=0.0, high=1.0, low_open=True, high_open=True)
    check_alpha(criteria.alpha)
    check_float("min_lift_pct", criteria.min_lift_pct)
    if population is not None:
        check_float("population", population, low=0.0, low_open=True)
    names = [c.name for c in components]
    if not names or len(set(names)) != len(names):
        raise OptionError(
            f"components must be distinct and at least one, got {names}",
            fix="name each component once",
        )
    primary = [m for m in metrics if m.role == "primary"]
    if len(primary) != 1:
        raise OptionError(
            f"decisions need exactly one primary metric, got {len(primary)}",
            fix="mark one metric role='primary'",
        )
    for c in components:
        if c.cost_per_period is not None:
            check_float(f"cost_per_period of {c.name}", c.cost_per_period, low=0.0)
    return primary[0]


def decide(
    runs: Sequence[DesignRun],
    triangulation: Triangulation | None,
    *,
    components: Sequence[ComponentLike],
    metrics: Sequence[MetricLike],
    criteria: CriteriaLike,
    population: float | None,
) -> Decisions:
    """Ship, do not ship or extend, per component and for the combined launch (module docstring).

    `runs` are every design × metric run of the study (the primary metric's decide, the
    guardrails' runs are the guardrail evidence); `triangulation` is the primary metric's (its
    disagreement flag turns ship into extend), or None.
    """
    check_runs(runs)
    primary = _check_inputs(components, metrics, criteria, population)
    if triangulation is not None and triangulation.metric != primary.name:
        raise OptionError(
            f"the triangulation is of {triangulation.metric!r}, not of the primary metric "
            f"{primary.name!r}",
            fix="triangulate(runs, metric=<primary metric>, ...)",
        )
    alias = {c.name: c.column for c in components}
    required = tuple(criteria.diagnostics)
    guard_metrics = [m for m in metrics if m.role == "guardrail"] if criteria.guardrails else []

    def cands_for(metric_name: str, pick: Callable[[DesignRun], Estimate | None]) -> list:
        out = []
        for r in runs:
            if r.metric != metric_name:
                continue
            est = pick(r)
            if est is not None:
                out.append(_Candidate.of(r, est, criteria.alpha, required))
        return out

    def of_component(c: str) -> Callable[[DesignRun], Estimate | None]:
        return lambda r: component_estimates(r, columns=alias).get(c)

    decisions = []
    for comp in components:
        c = comp.name
        flag = None if triangulation is None else triangulation.test_of(c)
        decisions.append(
            _judge(
                c,
                c,
                cands_for(primary.name, of_component(c)),
                [(m, cands_for(m.name, of_component(c))) for m in guard_metrics],
                metric=primary,
                criteria=criteria,
                cost=comp.cost_per_period,
                cost_text_base="no cost given",
                population=population,
                flag=flag,
            )
        )

    # the combined launch: the headline of a design that informs every component
    all_names = {c.name for c in components}

    def joint(r: DesignRun) -> Estimate | None:
        """A headline of the whole launch: a design informing every component whose headline
        its contributions split (or the one component's headline)."""
        if not all_names <= set(r.estimates):
            return None
        if len(all_names) == 1:
            return r.result.headline
        tab = r.result.tidy()
        split = "component" in tab.columns and tab["component"].notna().any()
        return r.result.headline if split else None

    costs = {c.name: c.cost_per_period for c in components}
    given = [n for n, v in costs.items() if v is not None]
    total = sum(float(costs[n]) for n in given) if given else None
    extra = []
    if given and len(given) < len(costs):
        lacking = ", ".join(n for n in costs if costs[n] is None)
        extra.append(
            f"the bar counts only the costs given ({', '.join(given)}); {lacking}: no cost given"
        )
    label = "the combined launch"
    joint_cands = cands_for(primary.name, joint)
    if joint_cands:
        combined = _judge(
            label,
            "combined",
            joint_cands,
            [(m, cands_for(m.name, joint)) for m in guard_metrics],
            metric=primary,
            criteria=criteria,
            cost=total,
            cost_text_base="no cost given",
            population=population,
            flag=None,
            extra_reasons=extra,
        )
    else:
        combined = _from_components(decisions, primary.name)
    rec = _recommendation(decisions, combined)
    crit = {
        "min_lift_pct": criteria.min_lift_pct,
        "guardrails": criteria.guardrails,
        "diagnostics": list(criteria.diagnostics),
        "power": criteria.power,
        "alpha": criteria.alpha,
        "population": population,
    }
    return Decisions(
        metric=primary.name,
        components=tuple(decisions),
        combined=combined,
        recommendation=rec,
        criteria=crit,
    )


def _from_components(decisions: Sequence[ComponentDecision], metric: str) -> ComponentDecision:
    """Without a design of the whole launch, the combined decision follows the components'."""
    kinds = {d.decision for d in decisions}
    if kinds == {"ship"}:
        decision, why = "ship", "every component ships"
    elif kinds == {"do not ship"}:
        decision, why = "do not ship", "no component ships"
    else:
        decision, why = "extend", "the components' decisions differ"
    return ComponentDecision(
        component="combined",
        decision=decision,
        metric=metric,
        reasons=(f"no design estimates the combined launch; {why}",),
    )


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _recommendation(decisions: Sequence[ComponentDecision], combined: ComponentDecision) -> str:
    """One paragraph: what to ship, what to extend (and by how much), what not to ship, the
    combined launch, and any downgrade."""
    parts = []
    ship = [d.component for d in decisions if d.decision == "ship"]
    if ship:
        parts.append(f"Ship {_names(ship)}.")
    for d in decisions:
        if d.decision == "extend":
            if d.advice:
                parts.append(f"Extend {d.component}'s test: {d.reasons[0]}; {d.advice}.")
            else:
                parts.append(f"Extend {d.component}'s test: {d.reasons[0]}.")
    for d in decisions:
        if d.decision == "do not ship":
            parts.append(f"Do not ship {d.component}: {d.reasons[0]}.")
    parts.append(f"The combined launch: {combined.decision}, as {combined.reasons[0]}.")
    downgrades = [
        f"{d.component}: {r}"
        for d in (*decisions, combined)
        for r in d.reasons
        if "downgraded" in r
    ]
    if downgrades:
        parts.append("Downgraded: " + "; ".join(downgrades) + ".")
    return " ".join(parts)
