"""The study spec: YAML → frozen dataclasses, every mistake a `StudySpecError` naming file and line.

The YAML is composed (PyYAML's node graph) rather than loaded, so every value keeps the line it was
written on; the static checks here (syntax, unknown keys, types, designs and their options, launch
criteria) all run before any data is opened. The dynamic checks (tables, columns, contracts) run in
`Study.check` and point back to the same lines.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from attribution.errors import AttributionError, OptionError, StudySpecError
from attribution.metrics import Mean
from attribution.study.runs import DesignRun  # one definition (study-decide's module)

__all__ = [
    "DIAGNOSTICS",
    "SIMULATED_TABLES",
    "Component",
    "DataSource",
    "DesignRun",
    "DesignSpec",
    "LaunchCriteria",
    "Metric",
    "StudySpec",
    "TableSpec",
    "load_spec",
]

DIAGNOSTICS = ("contract", "srm", "pre_trends", "placebo", "refuters")
"""Diagnostics the launch criteria may require (a failing one downgrades a decision)."""

SIMULATED_TABLES = (
    "factorial_experiment",
    "surface_panel",
    "launch_log",
    "market_panel",
    "exposures",
)
"""Tables the `simulation: {scenario: homefeed}` source writes."""

SCENARIOS = ("homefeed",)
_ID = re.compile(r"^[a-z0-9_]+$")
_DESIGN_ID = re.compile(r"^[A-Za-z0-9_]+$")


# ------------------------------------------------------------------------------------------------
# the objects
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Component:
    name: str
    column: str
    owner: str | None = None
    cost_per_period: float | None = None
    line: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Metric:
    """A metric of the study: the mean of a column, with its role and the direction that is better."""

    name: str
    column: str
    role: Literal["primary", "guardrail"]
    direction: Literal["increase", "decrease"] = "increase"
    tolerated_loss_pct: float | None = None
    value_per_unit: float | None = None
    line: int | None = field(default=None, compare=False, repr=False)

    def as_metric(self) -> Mean:
        """The same metric as an `attribution.metrics.Mean` (what designs taking metrics read)."""
        return Mean(
            self.column,
            name=self.name,
            role=self.role,
            direction=self.direction,
            tolerated_loss_pct=self.tolerated_loss_pct,
        )


@dataclass(frozen=True, kw_only=True)
class LaunchCriteria:
    min_lift_pct: float = 0.0
    guardrails: bool = True
    diagnostics: tuple[str, ...] = DIAGNOSTICS
    power: float = 0.8
    alpha: float = 0.05


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    """A logical table: where it lives, the contract it must pass and its column map."""

    name: str  # logical name used by designs
    table: str  # table name in the source (or the key of a parquet/csv file)
    contract: str | None = None
    parameters: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: types.MappingProxyType({})
    )
    """The contract's parameters for this study, e.g. ``{"components": ("emb", "ret")}`` when the
    component columns are not the contract's default E, R, K."""
    columns: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    references: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    line: int | None = field(default=None, compare=False, repr=False)
    column_lines: Mapping[str, int] = field(
        default_factory=lambda: types.MappingProxyType({}), compare=False, repr=False
    )


@dataclass(frozen=True, kw_only=True)
class DataSource:
    """Exactly one source: a DuckDB file, Parquet or CSV files per table, Spark, or a simulation."""

    kind: Literal["duckdb", "parquet", "csv", "spark", "simulation"]
    path: Path | None = None  # duckdb file (absolute)
    files: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    options: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    line: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class DesignSpec:
    id: str
    design: str
    table: str
    estimates: tuple[str, ...]
    columns: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    """Component -> its column in this design's table (the component's own column unless the spec
    maps it: ``estimates: {E: exposure_E, ...}``)."""
    launch_log: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    line: int | None = field(default=None, compare=False, repr=False)
    option_lines: Mapping[str, int] = field(
        default_factory=lambda: types.MappingProxyType({}), compare=False, repr=False
    )


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    study: str
    title: str
    seed: int
    alpha: float
    population: float | None
    data: DataSource
    tables: Mapping[str, TableSpec]
    components: tuple[Component, ...]
    metrics: tuple[Metric, ...]
    designs: tuple[DesignSpec, ...]
    launch: LaunchCriteria
    path: Path  # absolute
    shown: str  # the path as the user gave it (messages)
    sha256: str

    @property
    def primary(self) -> Metric:
        return next(m for m in self.metrics if m.role == "primary")

    @property
    def guardrails(self) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.role == "guardrail")

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise OptionError(
            f"metric {name!r} is not in the study",
            fix=f"use one of {', '.join(m.name for m in self.metrics)}",
        )

    def design(self, design_id: str) -> DesignSpec:
        for d in self.designs:
            if d.id == design_id:
                return d
        raise OptionError(
            f"design id {design_id!r} is not in the study",
            fix=f"use one of {', '.join(d.id for d in self.designs)}",
        )

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def error(self, message: str, *, line: int | None, fix: str | None = None) -> StudySpecError:
        """A StudySpecError pointing at `line` of this spec (for the dynamic checks)."""
        return StudySpecError(message, path=self.shown, line=line, fix=fix)


# ------------------------------------------------------------------------------------------------
# YAML with lines
# ------------------------------------------------------------------------------------------------
_MISSING = object()


class _Reader:
    """Plain values of a composed YAML document, with the line of each value and each key."""

    def __init__(self, text: str, shown: str) -> None:
        self.shown = shown
        self.lines: dict[tuple, int] = {}
        self.key_lines: dict[tuple, int] = {}
        self._ctor = yaml.SafeLoader("")
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = (exc.problem or exc.context or "not valid YAML").strip()
            raise StudySpecError(
                f"the YAML does not parse: {problem}",
                path=shown,
                line=mark.line + 1 if mark is not None else None,
                fix="check the indentation, colons, quotes and brackets on that line and the one "
                "before it",
            ) from None
        except yaml.YAMLError as exc:
            raise StudySpecError(
                f"the YAML does not parse: {exc}", path=shown, line=None, fix="check the file"
            ) from None
        if node is None:
            raise StudySpecError(
                "the spec is empty", path=shown, line=1, fix="start from examples/homefeed.yaml"
            )
        self.root = self._value(node, ())

    def _value(self, node: yaml.Node, path: tuple) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for k, v in node.value:
                key = self._value(k, (*path, "<key>"))
                if not isinstance(key, str):
                    raise self.error(
                        (*path, "<key>"), f"key {key!r} is not text", fix="write keys as names"
                    )
                if key in out:
                    raise StudySpecError(
                        f"key {key!r} appears twice",
                        path=self.shown,
                        line=k.start_mark.line + 1,
                        fix="keep one of them",
                    )
                self.key_lines[(*path, key)] = k.start_mark.line + 1
                out[key] = self._value(v, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(v, (*path, i)) for i, v in enumerate(node.value)]
        try:
            return self._ctor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise StudySpecError(
                f"value {node.value!r} cannot be read: {getattr(exc, 'problem', exc)}",
                path=self.shown,
                line=node.start_mark.line + 1,
                fix="quote it if it is text",
            ) from None

    # -- lines and errors ----------------------------------------------------------------------
    def line(self, path: tuple, *, key: bool = False) -> int | None:
        if path in self.key_lines and (key or isinstance(self.get(path), dict | list)):
            return self.key_lines[path]  # a block value starts on the next line: name its key
        p = path
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def error(
        self, path: tuple, message: str, *, fix: str | None = None, key: bool = False
    ) -> StudySpecError:
        return StudySpecError(message, path=self.shown, line=self.line(path, key=key), fix=fix)

    # -- typed reads ----------------------------------------------------------------------------
    def get(self, path: tuple) -> Any:
        value: Any = self.root
        for p in path:
            in_dict = isinstance(value, dict) and p in value
            if in_dict or (isinstance(value, list) and isinstance(p, int) and p < len(value)):
                value = value[p]
            else:
                return _MISSING
        return value

    def mapping(
        self,
        path: tuple,
        *,
        allowed: Sequence[str] | None,
        required: Sequence[str] = (),
        what: str,
    ) -> dict[str, Any]:
        value = self.get(path)
        if not isinstance(value, dict):
            raise self.error(
                path,
                f"{what} must be a mapping of keys to values, got {_kind(value)}",
                fix=f"write {what} as 'key: value' lines",
            )
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    near = difflib.get_close_matches(k, allowed, n=1, cutoff=0.6)
                    fix = (
                        f"did you mean {near[0]!r}?"
                        if near
                        else f"{what} takes {', '.join(allowed)}"
                    )
                    raise self.error((*path, k), f"unknown key {k!r} in {what}", fix=fix, key=True)
        for k in required:
            if k not in value:
                raise self.error(
                    path, f"{what} needs the key {k!r}", fix=f"add '{k}: ...' to {what}"
                )
        return value

    def text(self, path: tuple, *, what: str, default: Any = _MISSING, pattern: Any = None) -> Any:
        value = self.get(path)
        if value is _MISSING or value is None:
            if default is not _MISSING:
                return default
            raise self.error(path, f"{what} is missing", fix=f"give {what}")
        if not isinstance(value, str) or not value.strip():
            raise self.error(path, f"{what} must be text, got {_kind(value)}", fix="write a name")
        if pattern is not None and not pattern.match(value):
            raise self.error(
                path,
                f"{what} {value!r} is not an identifier",
                fix="use letters, digits and underscores only"
                + (" (lower-case)" if pattern is _ID else ""),
            )
        return value

    def number(
        self,
        path: tuple,
        *,
        what: str,
        default: Any = _MISSING,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
        integer: bool = False,
    ) -> Any:
        value = self.get(path)
        if value is _MISSING or value is None:
            if default is not _MISSING:
                return default
            raise self.error(path, f"{what} is missing", fix=f"give {what}")
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value != value:
            raise self.error(
                path,
                f"{what} must be {'an integer' if integer else 'a number'}, got {_kind(value)}",
                fix=f"write {what} as a plain number",
            )
        bad = (
            (low is not None and (value <= low if low_open else value < low))
            or (high is not None and (value >= high if high_open else value > high))
            or value in (float("inf"), float("-inf"))
        )
        if bad:
            lo = "" if low is None else f"{'above' if low_open else 'at least'} {low:g}"
            hi = "" if high is None else f"{'below' if high_open else 'at most'} {high:g}"
            bounds = " and ".join(b for b in (lo, hi) if b)
            raise self.error(
                path,
                f"{what} = {value!r} is impossible",
                fix=f"{what} must be {bounds}" if bounds else "use a finite number",
            )
        return int(value) if integer else float(value)

    def boolean(self, path: tuple, *, what: str, default: bool) -> bool:
        value = self.get(path)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(
                path, f"{what} must be true or false, got {_kind(value)}", fix="write true or false"
            )
        return value

    def text_list(self, path: tuple, *, what: str, default: Any = _MISSING) -> list[str]:
        value = self.get(path)
        if value is _MISSING or value is None:
            if default is not _MISSING:
                return default
            raise self.error(path, f"{what} is missing", fix=f"give {what} as a list")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(path, f"{what} must be a list, got {_kind(value)}", fix="e.g. [E, K]")
        for i, v in enumerate(value):
            if not isinstance(v, str) or not v:
                raise self.error((*path, i), f"{what} must list names, got {_kind(v)}")
        return list(value)


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _nearest(value: str, choices: Sequence[str]) -> str:
    near = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    listed = ", ".join(choices)
    return f"did you mean {near[0]!r}? (one of {listed})" if near else f"use one of {listed}"


# ------------------------------------------------------------------------------------------------
# the spec
# ------------------------------------------------------------------------------------------------
_TOP = (
    "study",
    "title",
    "seed",
    "alpha",
    "population",
    "data",
    "tables",
    "components",
    "metrics",
    "designs",
    "launch",
)


def load_spec(path: str | Path) -> StudySpec:
    """Read and statically validate a study spec; every error names the file and the line."""
    shown = str(path)
    p = Path(path)
    if not p.is_file():
        raise StudySpecError(
            "the spec file does not exist" if not p.exists() else "the spec is not a file",
            path=shown,
            line=None,
            fix="check the path, e.g. examples/homefeed.yaml",
        )
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StudySpecError(
            "the spec is not UTF-8 text", path=shown, line=None, fix="save it as UTF-8"
        ) from None
    r = _Reader(text, shown)
    r.mapping(
        (),
        allowed=_TOP,
        required=("study", "data", "tables", "components", "metrics", "designs"),
        what="the spec",
    )
    study = r.text(("study",), what="study", pattern=_ID)
    title = r.text(("title",), what="title", default=study)
    seed = r.number(("seed",), what="seed", default=2024, low=0, integer=True)
    alpha = r.number(
        ("alpha",), what="alpha", default=0.05, low=0, high=1, low_open=True, high_open=True
    )
    population = r.number(("population",), what="population", default=None, low=0, low_open=True)
    base = p.resolve().parent
    data = _data(r, base)
    tables = _tables(r, data)
    components = _components(r)
    metrics = _metrics(r)
    launch = _launch(r, alpha)
    designs = _designs(r, tables, components)
    return StudySpec(
        study=study,
        title=title,
        seed=seed,
        alpha=alpha,
        population=population,
        data=data,
        tables=types.MappingProxyType(tables),
        components=components,
        metrics=metrics,
        designs=designs,
        launch=launch,
        path=p.resolve(),
        shown=shown,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _data(r: _Reader, base: Path) -> DataSource:
    kinds = ("duckdb", "parquet", "csv", "spark", "simulation")
    m = r.mapping(("data",), allowed=kinds, what="data")
    if len(m) != 1:
        raise r.error(
            ("data",),
            f"data must name exactly one source, got {len(m)} ({', '.join(m) or 'none'})",
            fix=f"keep one of {', '.join(kinds)}",
        )
    kind = next(iter(m))
    path = ("data", kind)
    line = r.line(path, key=True)
    if kind == "duckdb":
        file = r.text(path, what="data.duckdb")
        if not file.endswith(".duckdb"):
            raise r.error(
                path, f"{file!r} is not a DuckDB file", fix="name a file ending in .duckdb"
            )
        return DataSource(kind=kind, path=(base / file).resolve(), line=line)
    if kind in ("parquet", "csv"):
        files = r.mapping(path, allowed=None, what=f"data.{kind}")
        out = {}
        for name in files:
            f = r.text((*path, name), what=f"the {kind} file of table {name!r}")
            out[name] = str(base / f) if not Path(f).is_absolute() else f
        if not out:
            raise r.error(path, f"data.{kind} names no file", fix="map each table to its file")
        return DataSource(kind=kind, files=types.MappingProxyType(out), line=line)
    if kind == "spark":
        value = r.get(path)
        if value is None:
            return DataSource(kind=kind, line=line)
        r.mapping(path, allowed=("database",), what="data.spark")
        database = r.text((*path, "database"), what="data.spark.database", default=None)
        return DataSource(
            kind=kind, options=types.MappingProxyType({"database": database}), line=line
        )
    r.mapping(
        path,
        allowed=("scenario", "n_users", "n_exposure_users", "seed"),
        required=("scenario",),
        what="data.simulation",
    )
    scenario = r.text((*path, "scenario"), what="scenario")
    if scenario not in SCENARIOS:
        raise r.error(
            (*path, "scenario"),
            f"scenario {scenario!r} is unknown",
            fix=_nearest(scenario, SCENARIOS),
        )
    out_opts = {
        "scenario": scenario,
        "n_users": r.number(
            (*path, "n_users"), what="n_users", default=50_000, low=64, integer=True
        ),
        "n_exposure_users": r.number(
            (*path, "n_exposure_users"),
            what="n_exposure_users",
            default=4_000,
            low=64,
            integer=True,
        ),
        "seed": r.number((*path, "seed"), what="seed", default=7, low=0, integer=True),
    }
    return DataSource(kind=kind, options=types.MappingProxyType(out_opts), line=line)


def _tables(r: _Reader, data: DataSource) -> dict[str, TableSpec]:
    from attribution.data.contracts.parsing import load_contract

    m = r.mapping(("tables",), allowed=None, what="tables")
    if not m:
        raise r.error(("tables",), "tables is empty", fix="name at least one table")
    out: dict[str, TableSpec] = {}
    for name in m:
        path = ("tables", name)
        if not _ID.match(name):
            raise r.error(
                path, f"table name {name!r} is not an identifier", fix="use [a-z0-9_]", key=True
            )
        t = r.mapping(
            path,
            allowed=("table", "contract", "parameters", "columns", "references"),
            what=f"table {name!r}",
        )
        table = r.text((*path, "table"), what=f"tables.{name}.table", default=name)
        if data.kind in ("parquet", "csv") and table not in data.files:
            raise r.error(
                (*path, "table") if "table" in t else path,
                f"table {table!r} has no file under data.{data.kind}",
                fix=_nearest(table, list(data.files)),
                key="table" not in t,
            )
        if data.kind == "simulation" and table not in SIMULATED_TABLES:
            raise r.error(
                (*path, "table") if "table" in t else path,
                f"the simulation writes no table {table!r}",
                fix=_nearest(table, SIMULATED_TABLES),
                key="table" not in t,
            )
        contract = r.text((*path, "contract"), what=f"tables.{name}.contract", default=None)
        spec = None
        parameters: dict[str, tuple[str, ...]] = {}
        if "parameters" in t:
            if contract is None:
                raise r.error(
                    (*path, "parameters"),
                    f"table {name!r} gives contract parameters but names no contract",
                    fix="add 'contract: <name>' or remove parameters",
                    key=True,
                )
            pm = r.mapping((*path, "parameters"), allowed=None, what=f"tables.{name}.parameters")
            for k in pm:
                parameters[k] = tuple(
                    r.text_list((*path, "parameters", k), what=f"parameter {k!r}")
                )
        if contract is not None:
            try:
                load_contract(contract)
            except AttributionError as exc:
                raise r.error((*path, "contract"), exc.message, fix=exc.fix) from None
            try:
                spec = load_contract(contract, parameters=parameters or None)
            except AttributionError as exc:
                raise r.error((*path, "parameters"), exc.message, fix=exc.fix) from None
        columns: dict[str, str] = {}
        column_lines: dict[str, int] = {}
        if "columns" in t:
            cm = r.mapping((*path, "columns"), allowed=None, what=f"tables.{name}.columns")
            for k in cm:
                v = r.text((*path, "columns", k), what=f"the table column for {k!r}")
                if spec is not None and k not in spec.column_names:
                    raise r.error(
                        (*path, "columns", k),
                        f"contract {contract!r} has no column {k!r}",
                        fix=_nearest(k, spec.column_names),
                        key=True,
                    )
                columns[k] = v
                column_lines[k] = r.line((*path, "columns", k))
        references: dict[str, str] = {}
        if "references" in t:
            rm = r.mapping((*path, "references"), allowed=None, what=f"tables.{name}.references")
            for k in rm:
                references[k] = r.text((*path, "references", k), what=f"the table {k!r} refers to")
        out[name] = TableSpec(
            name=name,
            table=table,
            contract=contract,
            parameters=types.MappingProxyType(parameters),
            columns=types.MappingProxyType(columns),
            references=types.MappingProxyType(references),
            line=r.line(path, key=True),
            column_lines=types.MappingProxyType(column_lines),
        )
    for name, t in out.items():
        for k, ref in t.references.items():
            if ref not in out:
                raise r.error(
                    ("tables", name, "references", k),
                    f"reference {k!r} names the table {ref!r}, which tables does not define",
                    fix=_nearest(ref, list(out)),
                )
    return out


def _components(r: _Reader) -> tuple[Component, ...]:
    items = r.get(("components",))
    if not isinstance(items, list) or not items:
        raise r.error(
            ("components",),
            "components must be a non-empty list",
            fix="e.g. - {name: E, column: E}",
        )
    out: list[Component] = []
    for i, _ in enumerate(items):
        path = ("components", i)
        r.mapping(
            path,
            allowed=("name", "column", "owner", "cost_per_period"),
            required=("name",),
            what="a component",
        )
        name = r.text((*path, "name"), what="the component's name")
        if any(c.name == name for c in out):
            raise r.error(
                (*path, "name"),
                f"component {name!r} is listed twice",
                fix="give each component once",
            )
        cost = r.number(
            (*path, "cost_per_period"), what="cost_per_period", default=None, low=0, low_open=True
        )
        out.append(
            Component(
                name=name,
                column=r.text((*path, "column"), what="the component's column", default=name),
                owner=r.text((*path, "owner"), what="owner", default=None),
                cost_per_period=cost,
                line=r.line(path),
            )
        )
    return tuple(out)


def _metric(r: _Reader, path: tuple, role: str) -> Metric:
    keys = ("name", "column", "direction", "value_per_unit", "tolerated_loss_pct")
    r.mapping(path, allowed=keys, what=f"the {role} metric")
    column = r.text((*path, "column"), what="the metric's column", default=None)
    name = r.text((*path, "name"), what="the metric's name", default=column)
    if name is None:
        raise r.error(
            path,
            f"the {role} metric needs a name or a column",
            fix="e.g. {name: engagement, column: engagement}",
        )
    column = column or name
    direction = r.text((*path, "direction"), what="direction", default="increase")
    if direction not in ("increase", "decrease"):
        raise r.error(
            (*path, "direction"),
            f"direction {direction!r} is unknown",
            fix=_nearest(direction, ("increase", "decrease")),
        )
    loss = r.number(
        (*path, "tolerated_loss_pct"), what="tolerated_loss_pct", default=None, low=0, high=100
    )
    if role == "primary" and loss is not None:
        raise r.error(
            (*path, "tolerated_loss_pct"),
            "the primary metric has a tolerated_loss_pct; only a guardrail tolerates a loss",
            fix="remove it, or set the bar with launch.primary.min_lift_pct",
        )
    if role == "guardrail" and loss is None:
        raise r.error(
            path,
            f"guardrail {name!r} has no tolerated_loss_pct",
            fix="add tolerated_loss_pct: the loss, in % of the control mean, it may show before it "
            "blocks a launch (0 means none)",
        )
    metric = Metric(
        name=name,
        column=column,
        role=role,  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        tolerated_loss_pct=loss,
        value_per_unit=r.number(
            (*path, "value_per_unit"), what="value_per_unit", default=None, low=0, low_open=True
        ),
        line=r.line(path),
    )
    try:
        metric.as_metric()
    except OptionError as exc:
        raise r.error(path, exc.message, fix=exc.fix) from None
    return metric


def _metrics(r: _Reader) -> tuple[Metric, ...]:
    m = r.mapping(("metrics",), allowed=("primary", "guardrails"), what="metrics")
    if "primary" not in m or m["primary"] is None:
        raise r.error(
            ("metrics",),
            "metrics has no primary metric",
            fix="add 'primary: {name: ..., column: ..., direction: increase}'",
        )
    out = [_metric(r, ("metrics", "primary"), "primary")]
    guards = r.get(("metrics", "guardrails"))
    if guards is not _MISSING and guards is not None:
        if not isinstance(guards, list):
            raise r.error(
                ("metrics", "guardrails"), "guardrails must be a list", fix="- {name: latency, ...}"
            )
        for i in range(len(guards)):
            g = _metric(r, ("metrics", "guardrails", i), "guardrail")
            if any(x.name == g.name for x in out):
                raise r.error(
                    ("metrics", "guardrails", i),
                    f"metric {g.name!r} is listed twice",
                    fix="give each metric its own name",
                )
            out.append(g)
    return tuple(out)


def _launch(r: _Reader, alpha: float) -> LaunchCriteria:
    if r.get(("launch",)) in (_MISSING, None):
        return LaunchCriteria(alpha=alpha)
    r.mapping(("launch",), allowed=("primary", "guardrails", "diagnostics", "power"), what="launch")
    min_lift = 0.0
    if r.get(("launch", "primary")) not in (_MISSING, None):
        r.mapping(("launch", "primary"), allowed=("min_lift_pct",), what="launch.primary")
        min_lift = r.number(
            ("launch", "primary", "min_lift_pct"), what="min_lift_pct", default=0.0, low=-100
        )
    diags = r.text_list(
        ("launch", "diagnostics"), what="launch.diagnostics", default=list(DIAGNOSTICS)
    )
    for i, d in enumerate(diags):
        if d not in DIAGNOSTICS:
            raise r.error(
                ("launch", "diagnostics", i),
                f"diagnostic {d!r} is unknown",
                fix=_nearest(d, DIAGNOSTICS),
            )
    if len(set(diags)) != len(diags):
        raise r.error(
            ("launch", "diagnostics"), "a diagnostic is listed twice", fix="list each once"
        )
    return LaunchCriteria(
        min_lift_pct=min_lift,
        guardrails=r.boolean(("launch", "guardrails"), what="launch.guardrails", default=True),
        diagnostics=tuple(diags),
        power=r.number(
            ("launch", "power"),
            what="power",
            default=0.8,
            low=0,
            high=1,
            low_open=True,
            high_open=True,
        ),
        alpha=alpha,
    )


def _designs(
    r: _Reader, tables: Mapping[str, TableSpec], components: Sequence[Component]
) -> tuple[DesignSpec, ...]:
    from attribution.study.designs import DESIGNS, check_design_option

    items = r.get(("designs",))
    if not isinstance(items, list) or not items:
        raise r.error(
            ("designs",),
            "designs must be a non-empty list",
            fix="e.g. - {id: factorial, design: factorial, table: experiment}",
        )
    names = [c.name for c in components]
    out: list[DesignSpec] = []
    for i in range(len(items)):
        path = ("designs", i)
        r.mapping(
            path,
            allowed=("id", "design", "table", "launch_log", "estimates", "options"),
            required=("id", "design", "table"),
            what="a design",
        )
        did = r.text((*path, "id"), what="the design's id", pattern=_DESIGN_ID)
        if any(d.id == did for d in out):
            raise r.error(
                (*path, "id"), f"design id {did!r} is used twice", fix="give each design its own id"
            )
        name = r.text((*path, "design"), what="design")
        if name not in DESIGNS:
            raise r.error(
                (*path, "design"),
                f"design {name!r} is unknown",
                fix=_nearest(name, sorted(DESIGNS)),
            )
        entry = DESIGNS[name]
        table = r.text((*path, "table"), what="table")
        if table not in tables:
            raise r.error(
                (*path, "table"),
                f"design {did!r} names the table {table!r}, which tables does not define",
                fix=_nearest(table, list(tables)),
            )
        log = r.text((*path, "launch_log"), what="launch_log", default=None)
        if log is not None:
            if entry.launch_log == "no":
                raise r.error(
                    (*path, "launch_log"),
                    f"design {name!r} reads no launch log",
                    fix="remove launch_log",
                )
            if log not in tables:
                raise r.error(
                    (*path, "launch_log"),
                    f"launch_log names the table {log!r}, which tables does not define",
                    fix=_nearest(log, list(tables)),
                )
        elif entry.launch_log == "required":
            raise r.error(
                path,
                f"design {name!r} needs a launch_log table",
                fix="add 'launch_log: <table>' naming the launch log",
            )
        comp_columns: dict[str, str] = {}
        if isinstance(r.get((*path, "estimates")), dict):  # component -> its column in this table
            em = r.mapping((*path, "estimates"), allowed=None, what="estimates")
            for c in em:
                if c not in names:
                    raise r.error(
                        (*path, "estimates", c),
                        f"design {did!r} estimates the component {c!r}, which components does not define",
                        fix=_nearest(c, names),
                        key=True,
                    )
                comp_columns[c] = r.text(
                    (*path, "estimates", c), what=f"the column of {c!r} in {table!r}"
                )
            estimates = list(em)
        else:
            estimates = r.text_list((*path, "estimates"), what="estimates", default=list(names))
        for j, c in enumerate(estimates):
            if c not in names:
                raise r.error(
                    (*path, "estimates", j) if "estimates" in r.get(path) else path,
                    f"design {did!r} estimates the component {c!r}, which components does not define",
                    fix=_nearest(c, names),
                )
        if not estimates:
            raise r.error(
                (*path, "estimates"),
                "estimates is empty",
                fix="name the components this design informs",
            )
        if entry.components == "one" and len(estimates) != 1:
            raise r.error(
                (*path, "estimates") if "estimates" in r.get(path) else path,
                f"design {name!r} estimates one component at a time, and {did!r} names {len(estimates)}",
                fix="give 'estimates: [<one component>]' (add one design entry per component)",
            )
        options: dict[str, Any] = {}
        option_lines: dict[str, int] = {}
        if r.get((*path, "options")) not in (_MISSING, None):
            given = r.mapping((*path, "options"), allowed=None, what=f"the options of {did!r}")
            allowed = entry.option_types()
            for k, v in given.items():
                opath = (*path, "options", k)
                if k in entry.filled:
                    raise r.error(
                        opath,
                        f"option {k!r} of {did!r} is set by the study",
                        fix="remove it: the study passes the metric, components, seed and alpha itself",
                        key=True,
                    )
                if k not in allowed:
                    raise r.error(
                        opath,
                        f"design {name!r} has no option {k!r}",
                        fix=_nearest(k, sorted(allowed)),
                        key=True,
                    )
                try:
                    options[k] = check_design_option(entry, k, v)
                except OptionError as exc:
                    raise r.error(opath, exc.message, fix=exc.fix) from None
                option_lines[k] = r.line(opath)
        for k in entry.required:
            if k not in options and not (k == "gname" and log is not None):
                raise r.error(
                    path,
                    f"design {name!r} needs the option {k!r}",
                    fix=f"add {k} to the options of {did!r}",
                )
        if entry.extra.get("gname") is not None and log is None and "gname" not in options:
            raise r.error(
                path,
                f"design {name!r} needs a launch_log table or the option 'gname'",
                fix="add 'launch_log: <table>' or 'gname: <column>' to its options",
            )
        out.append(
            DesignSpec(
                id=did,
                design=name,
                table=table,
                estimates=tuple(estimates),
                columns=types.MappingProxyType(
                    {
                        c: comp_columns.get(c, next(x.column for x in components if x.name == c))
                        for c in estimates
                    }
                ),
                launch_log=log,
                options=types.MappingProxyType(options),
                line=r.line(path),
                option_lines=types.MappingProxyType(option_lines),
            )
        )
    return tuple(out)
