"""Architecture tests on the public surface: the conventions every design promises its users."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import attribution as at
from attribution.results import Result

DESIGN_FUNCTIONS = [
    at.factorial,
    at.did.att_gt,
    at.did.twfe,
    at.did.event_study,
    at.did.sun_abraham,
    at.did.did_2x2,
    at.did.launch_event_study,
    at.did.stacked_did,
    at.synth.fit,
    at.synth.synthetic_control,
    at.graph.backdoor_regression,
    at.graph.refute,
]
PUBLIC_FUNCTIONS = [
    *DESIGN_FUNCTIONS,
    at.did.aggte,
    at.did.honest_did,
    at.did.pretrend_test,
    at.did.rollout_overlap,
    at.synth.conformal_interval,
    at.validate,
    at.connect,
    at.graph.identify,
    at.graph.mechanism_shift,
    at.graph.template,
]


def _result_classes() -> list[type]:
    seen, todo = set(), [Result]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen and sub.__module__.startswith("attribution."):
                seen.add(sub)
                todo.append(sub)
    return sorted(seen, key=lambda c: c.__qualname__)


@pytest.mark.parametrize("fn", DESIGN_FUNCTIONS, ids=lambda f: f.__name__)
def test_designs_take_data_then_keyword_only_options(fn) -> None:
    params = list(inspect.signature(fn).parameters.values())
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    for p in params[1:]:
        if fn.__name__ in ("launch_event_study", "stacked_did") and p.name == "launch_log":
            continue  # (panel, launch_log) are the two tables
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, (
            f"{fn.__name__}({p.name}) must be keyword-only"
        )


@pytest.mark.parametrize("fn", PUBLIC_FUNCTIONS, ids=lambda f: f.__name__)
def test_public_functions_are_typed_documented_and_swallow_nothing(fn) -> None:
    sig = inspect.signature(fn)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()), fn
    assert sig.return_annotation is not inspect.Signature.empty, (
        f"{fn.__name__} lacks a return type"
    )
    assert (fn.__doc__ or "").strip(), f"{fn.__name__} lacks a docstring"


def test_every_result_is_a_frozen_dataclass_with_plot() -> None:
    classes = _result_classes()
    assert len(classes) >= 6
    for cls in classes:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen, f"{cls.__name__} must be frozen"
        plot = inspect.signature(cls.plot)
        assert all(
            p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(plot.parameters.values())[1:]
        ), f"{cls.__name__}.plot options must be keyword-only"


def test_package_all_lists_only_real_names() -> None:
    for module in (at, at.did, at.synth, at.simulate, at.graph):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
