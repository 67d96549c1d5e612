"""The catalogue of bad-input classes, run against every public entry point (hardening issue).

Each class is one family of tests parametrised over `ENTRIES`, a registry of every public design entry
point with a valid call on small simulated data; a new entry point joins by registration. The classes
(ARCHITECTURE.md, "Bad input") and the one mechanism that handles each:

1. user column names that collide with internal names  → `data.roles.select_roles` renames at entry
2. degenerate or extreme outcomes                       → `data.numeric.check_outcome`, `wald_table` guard
3. int64 outcomes beyond 2**53                          → `data.numeric.check_outcome`
4. values off the grid                                  → the family's request checks
5. options not checked                                  → `options.py` checkers (driven here by the
                                                          functions' own type annotations)
8. reruns agree                                         → deterministic engine aggregates
9. messages never name internal columns or print numpy reprs
(classes 6 and 7, engine/file errors and the CLI, are in tests/test_engine_errors.py and
tests/report/test_demo.py.)
"""

from __future__ import annotations

import inspect
import math
import pickle
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest

from attribution.errors import AttributionError
from tests.bad_input import did, factorial, synth
from tests.bad_input import dml as dml_entries
from tests.bad_input import experiment as experiment_entries
from tests.bad_input import graph as graph_family
from tests.bad_input import holdout as holdout_family
from tests.bad_input import sequential as sequential_entries
from tests.bad_input.registry import Entry, cached

# Texts no message may contain: internal names and numpy reprs.
FORBIDDEN_IN_MESSAGES = ("__at_", "_cohort", "np.int64(", "np.float64(", "np.str_(")


# ------------------------------------------------------------------------------------------------
# the registry
# ------------------------------------------------------------------------------------------------

ENTRIES: dict[str, Entry] = {
    **factorial.ENTRIES,
    **did.ENTRIES,
    **synth.ENTRIES,
    **dml_entries.ENTRIES,
    **graph_family.ENTRIES,
    **holdout_family.ENTRIES,
    **experiment_entries.ENTRIES,
    **sequential_entries.ENTRIES,
}
NAMES = sorted(ENTRIES)


def _messages_are_clean(exc: BaseException) -> None:
    text = str(exc)
    for bad in FORBIDDEN_IN_MESSAGES:
        assert bad not in text, f"message names {bad!r}: {text}"


def _headline(res: Any) -> tuple[float, float | None]:
    """(estimate, SE) of a result; (statistic, p-value) of a diagnostic (a Check, a report)."""
    h = getattr(res, "headline", None)
    if h is None:
        check = res.to_check() if hasattr(res, "to_check") else res
        return check.statistic, check.p_value
    return h.estimate, h.std_error


def _numbers(res: Any) -> pd.DataFrame:
    """What an entry returns, as one table: a result's tidy table, a frame, a (frame, scalar...)
    tuple (e.g. `in_space_placebo`'s table and p-value), or a diagnostic's numbers as one row."""
    if hasattr(res, "tidy"):
        return res.tidy()
    if isinstance(res, pd.DataFrame):
        return res
    if isinstance(res, tuple):
        frames = [r for r in res if isinstance(r, pd.DataFrame)]
        scalars = {f"value{i}": r for i, r in enumerate(res) if not isinstance(r, pd.DataFrame)}
        return pd.concat([*frames, pd.DataFrame([scalars])], ignore_index=True)
    check = res.to_check() if hasattr(res, "to_check") else res
    return pd.DataFrame([{"statistic": check.statistic, "df": check.df, "p": check.p_value}])


def _snapshot(arg: Any) -> Any:
    """A copy of a positional argument to compare after the call (frames, or fitted results)."""
    return arg.copy(deep=True) if isinstance(arg, pd.DataFrame) else pickle.dumps(arg)


def _assert_untouched(arg: Any, before: Any) -> None:
    if isinstance(arg, pd.DataFrame):
        pd.testing.assert_frame_equal(arg, before)
    else:
        assert pickle.dumps(arg) == before, f"the {type(arg).__name__} passed in was modified"


# ------------------------------------------------------------------------------------------------
# class 1: internal names collide with the user's columns
# ------------------------------------------------------------------------------------------------
COLLIDING = ("n_rows", "n_periods", "g_min", "g_max", "lo", "hi", "rows", "_cohort", "_u", "_start")


def _rename_columns(entry: Entry, names: Sequence[str]) -> tuple[tuple[pd.DataFrame, ...], dict]:
    """The entry's data and kwargs with every column it names renamed to one of `names`."""
    frames = entry.data()
    used: list[str] = []
    for arg in entry.columns:
        value = entry.kwargs.get(arg)
        if value is None:
            continue
        used += [value] if isinstance(value, str) else list(value)
    used = list(dict.fromkeys(used))
    mapping = {
        c: names[i % len(names)] + ("" if i < len(names) else f"_{i}") for i, c in enumerate(used)
    }
    new_frames = tuple(
        f.rename(columns={c: n for c, n in mapping.items() if c in f})
        if isinstance(f, pd.DataFrame)
        else f  # a fitted result (aggte, honest_did, ...): no columns to rename
        for f in frames
    )
    kwargs = {}
    for arg in entry.columns:
        value = entry.kwargs.get(arg)
        if value is None:
            continue
        kwargs[arg] = mapping[value] if isinstance(value, str) else [mapping[v] for v in value]
    return new_frames, kwargs


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("offset", [0, 3, 6])
def test_internal_names_never_meet_user_columns(name, offset):
    entry = ENTRIES[name]
    base = cached(f"base:{name}", entry.call)
    names = COLLIDING[offset:] + COLLIDING[:offset]
    frames, kwargs = _rename_columns(entry, names)
    try:
        res = entry.call(frames, **kwargs)
    except AttributionError as exc:  # a typed refusal is fine, as long as it speaks user names
        _messages_are_clean(exc)
        pytest.fail(f"{name} refused user columns named {names}: {exc}")
    if not hasattr(res, "headline"):  # a frame or tuple: every number must agree
        a, b = _numbers(res), _numbers(base)
        num = b.select_dtypes("number").columns
        np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), rtol=1e-9)
        return
    est, se = _headline(res)
    b_est, b_se = _headline(base)
    assert est == pytest.approx(b_est, rel=1e-9, abs=1e-12)
    if b_se is not None:
        assert se == pytest.approx(b_se, rel=1e-9)


# ------------------------------------------------------------------------------------------------
# classes 2 and 3: degenerate or extreme outcomes, int64 precision
# ------------------------------------------------------------------------------------------------
def _with_outcome(entry: Entry, transform: Callable[[pd.Series], pd.Series]) -> tuple:
    col = entry.kwargs[entry.outcome]
    frames = entry.data()
    return tuple(f.assign(**{col: transform(f[col])}) if col in f else f for f in frames)


OUTCOMES: dict[str, Callable[[pd.Series], pd.Series]] = {
    "constant": lambda y: pd.Series(5.0, index=y.index),
    "times 1e-300": lambda y: y * 1e-300,
    "times 1e300": lambda y: y * 1e300,
    "int64 near 2**62": lambda y: np.round(y * 1000).astype("int64") + 2**62,
}


@pytest.mark.parametrize("name", [n for n in NAMES if ENTRIES[n].outcome])
@pytest.mark.parametrize("case", sorted(OUTCOMES))
def test_degenerate_outcomes_raise_typed_errors(name, case):
    """Never a silent NaN or zero standard error: a typed error naming the outcome column."""
    entry = ENTRIES[name]
    frames = _with_outcome(entry, OUTCOMES[case])
    with pytest.raises(AttributionError) as err:
        res = entry.call(frames)
        # reaching here means no error: the numbers must then be sound
        est, se = _headline(res)
        assert math.isfinite(est) and (se is None or (math.isfinite(se) and se > 0))
        pytest.skip("handled without an error (sound numbers)")
    _messages_are_clean(err.value)
    assert entry.kwargs[entry.outcome] in str(err.value)


# ------------------------------------------------------------------------------------------------
# class 4: values off the grid
# ------------------------------------------------------------------------------------------------
OFF_GRID = [(n, arg, v) for n in NAMES for arg, v in ENTRIES[n].off_grid]


@pytest.mark.parametrize(
    ("name", "arg", "value"), OFF_GRID or [pytest.param("", "", None, marks=pytest.mark.skip)]
)
def test_values_off_the_grid_are_refused(name, arg, value):
    with pytest.raises(AttributionError) as err:
        ENTRIES[name].call(**{arg: value})
    _messages_are_clean(err.value)


# ------------------------------------------------------------------------------------------------
# class 5: every option checked, driven by the functions' own annotations
# ------------------------------------------------------------------------------------------------
def _bad_values(annotation: Any) -> list[Any]:
    """Values that no parameter of this annotation may accept."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return ["no-such-option", 1.5]
    if args and type(None) in args:  # Optional[X]: None is allowed, X's bad values are not
        inner = [a for a in args if a is not type(None)]
        out: list[Any] = []
        for a in inner:
            out += _bad_values(a)
        return out
    if args and origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        out = []
        for a in args:
            out += _bad_values(a)
        return out
    if annotation is bool:
        return ["yes", 2]
    if annotation is int:
        return ["x", 1.5, True, -(2**70)]
    if annotation is float:
        return ["0.05", math.nan, math.inf, True]
    if annotation is str:
        return [3, ""]
    return [object()]


def _option_cases() -> list[Any]:
    cases = []
    for name in NAMES:
        entry = ENTRIES[name]
        hints = typing.get_type_hints(entry.func)
        for pname, param in inspect.signature(entry.func).parameters.items():
            if param.kind is not inspect.Parameter.KEYWORD_ONLY or pname in entry.skip_options:
                continue
            seen: set[str] = set()
            for value in _bad_values(hints.get(pname, Any)):
                key = repr(value)
                if key in seen:
                    continue
                seen.add(key)
                cases.append(pytest.param(name, pname, value, id=f"{name}-{pname}={key[:20]}"))
    return cases


@pytest.mark.parametrize(("name", "arg", "value"), _option_cases())
def test_every_option_is_checked(name, arg, value):
    """A typed error naming the argument — never a TypeError, KeyError or a silent coercion."""
    with pytest.raises(AttributionError) as err:
        ENTRIES[name].call(**{arg: value})
    _messages_are_clean(err.value)


# ------------------------------------------------------------------------------------------------
# class 8: reruns agree; inputs are never modified
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_reruns_agree_and_inputs_are_untouched(name):
    entry = ENTRIES[name]
    frames = entry.data()
    before = tuple(_snapshot(f) for f in frames)
    a = _numbers(entry.call(frames))
    b = _numbers(entry.call(frames))
    for f, g in zip(frames, before, strict=True):
        _assert_untouched(f, g)
    num = a.select_dtypes("number").columns
    np.testing.assert_allclose(
        b[num].to_numpy(float), a[num].to_numpy(float), rtol=1e-12, atol=0, equal_nan=True
    )
