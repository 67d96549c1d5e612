"""The registry of design names a study spec may use: how each public design function is called.

A spec names a design (``did.launch_event_study``) and gives it a table, the components it informs,
a metric and options. This module says, per design, which argument takes the table, which the metric
column (``outcome``/``yname``), which the components (``factors``, ``treatments``, ``component``...),
which the launch log, the seed and alpha; which options the spec must give; and the one-sentence key
assumption the triangulation table prints beside the estimate. Options are checked against the
design function's own signature (names, and Literal / bool / int / float annotations) so a typo stops
at the spec's line, before any data is read.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from attribution.errors import DesignError, OptionError
from attribution.options import AggType, check_bool, check_float, check_int, check_option, plain
from attribution.results import Check, Result

__all__ = ["DESIGNS", "Call", "DesignEntry", "check_design_option", "design_entry", "graph_design"]


@dataclass(frozen=True, kw_only=True)
class Call:
    """What a study hands a design: its tables, the metric column, the components and options."""

    data: Any  # an Ibis table
    launch_log: Any | None  # an Ibis table, for designs that read one
    launch_columns: Mapping[str, str]  # launch-log contract column -> the table's column
    outcome: str  # the metric's column
    components: tuple[tuple[str, str], ...]  # (name, column) of the components the design informs
    options: Mapping[str, Any]
    seed: int
    alpha: float

    @property
    def columns(self) -> list[str]:
        return [c for _, c in self.components]


@dataclass(frozen=True, kw_only=True)
class DesignEntry:
    """How a study calls one public design function."""

    name: str
    target: str  # "module:function" whose signature gives the option names and checks
    filled: tuple[str, ...]  # arguments the study fills (never options)
    required: tuple[str, ...] = ()  # options the spec must give
    components: Literal["many", "one"] = "many"
    launch_log: Literal["required", "optional", "no"] = "no"
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # study-level options
    key_assumption: str
    call: Callable[[Call], Result]

    def function(self) -> Callable[..., Any]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def option_types(self) -> dict[str, Any]:
        """Option name -> annotation (the function's keyword-only arguments the study does not
        fill, plus study-level extras)."""
        fn = self.function()
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # an annotation that does not resolve: names still checked
            hints = {}
        out = {}
        for name, p in inspect.signature(fn).parameters.items():
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in self.filled:
                out[name] = hints.get(name, Any)
        out.update(self.extra)
        return out


def check_design_option(entry: DesignEntry, name: str, value: Any) -> Any:
    """Check one option value against its annotation (Literal vocabularies through
    `options.check_option`; bool, int, float; optional values); anything else passes to the design,
    which checks it when it runs."""
    return _check_annotated(name, value, entry.option_types().get(name, Any))


def _check_annotated(name: str, value: Any, ann: Any) -> Any:
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(ann)
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        errors = []
        for a in rest:
            try:
                return _check_annotated(name, value, a)
            except OptionError as exc:
                errors.append(exc)
        if len(rest) == 1 or all(_simple(a) for a in rest):
            raise errors[0]
        return value
    if origin is Literal:
        return check_option(name, value, ann)
    if ann is bool:
        return check_bool(name, value)
    if ann is int:
        return check_int(name, value)
    if ann is float:
        return check_float(name, value)
    if ann is str:
        if not isinstance(value, str):
            raise OptionError(f"{name}={plain(value)} is not valid", fix=f"{name} must be text")
        return value
    if origin in (Mapping, dict, typing.Mapping) or ann is dict:
        if not isinstance(value, dict):
            raise OptionError(
                f"{name}={plain(value)} is not valid", fix=f"{name} must be a mapping (key: value)"
            )
        return value
    if origin in (Sequence, list, tuple, typing.Sequence) or ann in (list, tuple):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise OptionError(f"{name}={plain(value)} is not valid", fix=f"{name} must be a list")
        inner = typing.get_args(ann)
        if inner and inner[0] is not Ellipsis:
            return [_check_annotated(name, v, inner[0]) for v in value]
        return list(value)
    return value


def _simple(ann: Any) -> bool:
    return ann in (bool, int, float, str) or typing.get_origin(ann) is Literal


# ------------------------------------------------------------------------------------------------
# the calls
# ------------------------------------------------------------------------------------------------
def _one(call: Call) -> tuple[str, str]:
    if len(call.components) != 1:  # the spec check refuses this first; kept for direct callers
        raise DesignError("this design estimates one component at a time")
    return call.components[0]


def _with_gname(call: Call, *, idname: str) -> tuple[Any, str]:
    """The panel with each unit's first launch period of the one component, from the launch log
    (0 = never launched), as column ``first_launch_<component>``; or the spec's own ``gname``."""
    if call.launch_log is None:
        return call.data, call.options["gname"]
    name, _ = _one(call)
    lc = call.launch_columns
    comp, unit, start = (
        lc.get("component", "component"),
        lc.get("unit", "unit"),
        lc.get("start_period", "start_period"),
    )
    panel = call.data
    gname = f"first_launch_{name}"
    if gname in panel.columns:
        raise DesignError(
            f"the panel already has a column {gname!r}, which the study derives from the launch log",
            fix="rename that column, or give gname in the design's options without a launch_log",
        )
    log = call.launch_log
    firsts = (
        log.filter(log[comp] == name)
        .group_by(log[unit].name("__study_unit"))
        .aggregate(**{gname: log[start].min()})
    )
    joined = panel.left_join(firsts, panel[idname] == firsts["__study_unit"]).drop("__study_unit")
    joined = joined.mutate(**{gname: joined[gname].fill_null(0).cast("int64")})
    return joined, gname


def _opts(call: Call, *drop: str) -> dict[str, Any]:
    return {k: v for k, v in call.options.items() if k not in drop}


def _factorial(call: Call) -> Result:
    from attribution.designs.factorial import factorial

    return factorial(
        call.data, outcome=call.outcome, factors=call.columns, alpha=call.alpha, **call.options
    )


def _att_gt(call: Call) -> Result:
    from attribution.designs.did import aggte, att_gt

    data, gname = _with_gname(call, idname=call.options["idname"])
    res = att_gt(
        data,
        yname=call.outcome,
        gname=gname,
        alpha=call.alpha,
        seed=call.seed,
        **_opts(call, "gname", "aggregate"),
    )
    return aggte(res, type=call.options.get("aggregate", "simple"))


def _event_study(call: Call) -> Result:
    from attribution.designs.did import event_study

    data, gname = _with_gname(call, idname=call.options["idname"])
    return event_study(
        data, yname=call.outcome, gname=gname, alpha=call.alpha, **_opts(call, "gname")
    )


def _sun_abraham(call: Call) -> Result:
    from attribution.designs.did import sun_abraham

    data, gname = _with_gname(call, idname=call.options["idname"])
    return sun_abraham(
        data, yname=call.outcome, gname=gname, alpha=call.alpha, **_opts(call, "gname")
    )


def _twfe(call: Call) -> Result:
    from attribution.designs.did import twfe

    _, column = _one(call)
    opts = _opts(call, "treatment")
    return twfe(
        call.data,
        yname=call.outcome,
        treatment=call.options.get("treatment", column),
        alpha=call.alpha,
        **opts,
    )


def _launch_event_study(call: Call) -> Result:
    from attribution.designs.did import launch_event_study

    name, _ = _one(call)
    lc = call.launch_columns
    log = call.launch_log
    renames = {k: v for k, v in lc.items() if k != v and v in log.columns}
    if renames:  # the function reads the launch log under its contract's column names
        log = log.rename(renames)
    return launch_event_study(
        call.data, log, component=name, yname=call.outcome, alpha=call.alpha, **call.options
    )


def _synth_fit(call: Call) -> Result:
    from attribution.designs.synth import fit

    _, column = _one(call)
    return fit(
        call.data,
        outcome=call.outcome,
        treatment=call.options.get("treatment", column),
        seed=call.seed,
        alpha=call.alpha,
        **_opts(call, "treatment"),
    )


def _synthetic_control(call: Call) -> Result:
    from attribution.designs.synth import synthetic_control

    return synthetic_control(
        call.data, outcome=call.outcome, seed=call.seed, alpha=call.alpha, **call.options
    )


def _dml(call: Call) -> Result:
    from attribution.designs.dml import dml

    return dml(
        call.data,
        outcome=call.outcome,
        treatments=call.columns,
        random_state=call.seed,
        alpha=call.alpha,
        **call.options,
    )


RefuterName = Literal[
    "placebo_treatment", "random_common_cause", "data_subset", "unobserved_confounder"
]


def graph_design(
    data: Any,
    *,
    outcome: str,
    components: Sequence[str],
    confounders: Sequence[str],
    cv: int = 2,
    refuters: Sequence[RefuterName] = ("placebo_treatment", "random_common_cause"),
    n_reps: int = 2,
    reranking: bool = True,
    seed: int = 0,
    alpha: float = 0.05,
) -> Result:
    """The system's causal graph (`graph.template`: components as pipeline stages, `confounders`
    causing every stage and the outcome) identifies the adjustment set, double ML estimates with
    it, and each refuter re-estimates every component's effect `n_reps` times: its verdicts are the
    result's checks.
    """
    from attribution.designs.dml import dml
    from attribution.graph import identify, refute, template

    cv = check_int("cv", cv, minimum=2)
    n_reps = check_int("n_reps", n_reps, minimum=2, maximum=1000)
    graph = template(
        outcome=outcome,
        components=tuple(components),
        confounders=tuple(confounders),
        reranking=reranking,
    )
    ident = identify(graph, treatment=list(components), outcome=outcome)
    args = ident.dml_arguments()

    def estimator(frame: Any, confs: Sequence[str]) -> Result:
        return dml(
            frame,
            outcome=args["outcome"],
            treatments=args["treatments"],
            confounders=list(confs),
            cv=cv,
            random_state=seed,
            alpha=alpha,
        )

    base = estimator(data, args["confounders"])
    checks: list[Check] = [
        Check(name="identification", passed=True, detail=ident.explanation.split(". ")[0] + ".")
    ]
    if refuters:
        for column in components:
            refuted = refute(
                data,
                estimator=estimator,
                treatment=column,
                outcome=outcome,
                confounders=args["confounders"],
                result=base,
                refuters=list(refuters),
                n_reps=n_reps,
                seed=seed,
                alpha=alpha,
            )
            new = refuted.checks[len(base.checks) :]
            checks += [dataclasses.replace(c, name=f"{c.name} ({column})") for c in new]
    return base.with_checks(*checks)


def _graph(call: Call) -> Result:
    return graph_design(
        call.data,
        outcome=call.outcome,
        components=call.columns,
        seed=call.seed,
        alpha=call.alpha,
        **call.options,
    )


_DID = "attribution.designs.did"
_PT = "parallel trends: launched and other units would have moved alike without the launch"

DESIGNS: Mapping[str, DesignEntry] = {
    e.name: e
    for e in (
        DesignEntry(
            name="factorial",
            target="attribution.designs.factorial:factorial",
            filled=("outcome", "factors", "alpha"),
            key_assumption="components randomised independently, no interference between users",
            call=_factorial,
        ),
        DesignEntry(
            name="did.att_gt",
            target=f"{_DID}:att_gt",
            filled=("yname", "gname", "alpha", "seed"),
            required=("tname", "idname"),
            components="one",
            launch_log="optional",
            extra={"gname": str | None, "aggregate": AggType},
            key_assumption=_PT,
            call=_att_gt,
        ),
        DesignEntry(
            name="did.launch_event_study",
            target=f"{_DID}:launch_event_study",
            filled=("component", "yname", "alpha"),
            required=("unit", "time"),
            components="one",
            launch_log="required",
            key_assumption=_PT + ", other launches not confounding",
            call=_launch_event_study,
        ),
        DesignEntry(
            name="did.event_study",
            target=f"{_DID}:event_study",
            filled=("yname", "gname", "alpha"),
            required=("tname", "idname"),
            components="one",
            launch_log="optional",
            extra={"gname": str | None},
            key_assumption=_PT + ", effects alike across cohorts",
            call=_event_study,
        ),
        DesignEntry(
            name="did.twfe",
            target=f"{_DID}:twfe",
            filled=("yname", "alpha"),
            required=("tname", "idname"),
            components="one",
            extra={"treatment": str},
            key_assumption=_PT + ", one constant effect",
            call=_twfe,
        ),
        DesignEntry(
            name="did.sun_abraham",
            target=f"{_DID}:sun_abraham",
            filled=("yname", "gname", "alpha"),
            required=("tname", "idname"),
            components="one",
            launch_log="optional",
            extra={"gname": str | None},
            key_assumption=_PT,
            call=_sun_abraham,
        ),
        DesignEntry(
            name="synth.fit",
            target="attribution.designs.synth:fit",
            filled=("outcome", "seed", "alpha"),
            required=("unit", "time"),
            components="one",
            key_assumption="weighted untreated units would have kept tracking the launched one",
            call=_synth_fit,
        ),
        DesignEntry(
            name="synth.synthetic_control",
            target="attribution.designs.synth:synthetic_control",
            filled=("outcome", "seed", "alpha"),
            required=("unit", "time", "treated_unit", "treatment_start"),
            components="one",
            key_assumption="a donor combination would have kept tracking the launched unit",
            call=_synthetic_control,
        ),
        DesignEntry(
            name="dml",
            target="attribution.designs.dml:dml",
            filled=("outcome", "treatments", "random_state", "alpha"),
            required=("confounders",),
            key_assumption="no unobserved confounding beyond the listed confounders",
            call=_dml,
        ),
        DesignEntry(
            name="graph",
            target="attribution.study.designs:graph_design",
            filled=("outcome", "components", "seed", "alpha"),
            required=("confounders",),
            key_assumption="the causal graph is right (its confounders are all common causes)",
            call=_graph,
        ),
    )
}
"""Design name -> how a study calls it."""


def design_entry(name: str) -> DesignEntry:
    if name not in DESIGNS:
        raise OptionError(
            f"design {name!r} is unknown", fix=f"use one of {', '.join(sorted(DESIGNS))}"
        )
    return DESIGNS[name]
