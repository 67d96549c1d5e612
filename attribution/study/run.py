"""Running a study: check the data, estimate every design, triangulate, decide, write the documents.

Order matters and is the point of this module: static checks (`spec.load_spec`) → the source opens
→ every table, column and contract is checked (`check_study`) → only then any estimate. The output
folder is built in `report.io.staged_folder`, so a failed run never replaces a good report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from attribution.errors import AttributionError, ContractViolation, ReportError
from attribution.results import Result, library_versions, now
from attribution.study.designs import DESIGNS, Call
from attribution.study.sources import Source
from attribution.study.spec import DesignRun, DesignSpec, Metric, StudySpec

__all__ = [
    "SCHEMA",
    "DesignRun",
    "build_results",
    "check_study",
    "estimate_design",
    "study_runs",
]

SCHEMA = "attribution.study/1"

COLUMN_OPTIONS = frozenset(
    {
        "unit",
        "time",
        "tname",
        "idname",
        "gname",
        "treatment",
        "covariate",
        "cluster",
        "clustervars",
        "confounders",
        "covariates",
        "weights",
        "weightsname",
        "effect_modifiers",
        "predictors",
    }
)
"""Design options whose values name columns of the design's table (checked before estimation)."""


# ------------------------------------------------------------------------------------------------
# dynamic validation
# ------------------------------------------------------------------------------------------------
def check_study(spec: StudySpec, source: Source) -> dict[str, Any]:
    """Every table exists, every column the spec names exists, every contract passes — before any
    estimate. Returns the contract reports by logical table; raises StudySpecError at the line."""
    from attribution.data.contracts import validate

    available = source.names()
    for t in spec.tables.values():
        if t.table not in available:
            raise spec.error(
                f"table {t.table!r} (tables.{t.name}) is not in the data source",
                line=t.line,
                fix=f"the source has {', '.join(available) or 'no tables'}",
            )
    schemas = {t.name: list(source.table(t.table).columns) for t in spec.tables.values()}
    for t in spec.tables.values():
        for k, v in t.columns.items():
            if v not in schemas[t.name]:
                raise spec.error(
                    f"tables.{t.name}.columns maps {k!r} to {v!r}, a column table {t.table!r} lacks",
                    line=t.column_lines.get(k, t.line),
                    fix=_columns_fix(v, schemas[t.name]),
                )
    primary = spec.primary
    design_tables = {d.table for d in spec.designs}
    if not any(primary.column in schemas[n] for n in design_tables):
        raise spec.error(
            f"the primary metric's column {primary.column!r} is in none of the designs' tables",
            line=primary.line,
            fix=_columns_fix(
                primary.column, sorted({c for n in design_tables for c in schemas[n]})
            ),
        )
    for d in spec.designs:
        cols = schemas[d.table]
        table = spec.tables[d.table].table
        if primary.column not in cols:
            raise spec.error(
                f"design {d.id!r} reads the primary metric {primary.name!r} from column "
                f"{primary.column!r}, which table {table!r} lacks",
                line=d.line,
                fix="map the column in tables." + d.table + ".columns, or run this design on "
                "another table; " + _columns_fix(primary.column, cols),
            )
        for c, col in d.columns.items():
            if col not in cols:
                raise spec.error(
                    f"design {d.id!r} reads component {c!r} from column {col!r}, which table "
                    f"{table!r} lacks",
                    line=d.line,
                    fix="map it with 'estimates: {"
                    + c
                    + ": <column>}'; "
                    + _columns_fix(col, cols),
                )
        for k, v in d.options.items():
            if k not in COLUMN_OPTIONS or v is None:
                continue
            names = [v] if isinstance(v, str) else list(v) if isinstance(v, list | tuple) else []
            for name in names:
                if isinstance(name, str) and name not in cols:
                    raise spec.error(
                        f"option {k}={name!r} of design {d.id!r} names a column table {table!r} lacks",
                        line=d.option_lines.get(k, d.line),
                        fix=_columns_fix(name, cols),
                    )
        if d.launch_log is not None:
            log = spec.tables[d.launch_log]
            for need in ("component", "unit", "start_period"):
                col = log.columns.get(need, need)
                if col not in schemas[log.name]:
                    raise spec.error(
                        f"the launch log {log.table!r} of design {d.id!r} lacks the column {col!r}",
                        line=log.line,
                        fix="map it in tables."
                        + log.name
                        + ".columns; "
                        + _columns_fix(col, schemas[log.name]),
                    )
    reports: dict[str, Any] = {}
    for t in spec.tables.values():
        if t.contract is None:
            continue
        refs = {k: source.table(spec.tables[v].table) for k, v in t.references.items()}
        try:
            report = validate(
                source.table(t.table),
                t.contract,
                raise_on_failure=False,
                references=refs,
                columns=dict(t.columns) or None,
                parameters={k: list(v) for k, v in t.parameters.items()} or None,
            )
        except ContractViolation as exc:  # pragma: no cover - raise_on_failure=False
            report = exc.report
        except AttributionError as exc:
            raise spec.error(f"table {t.name!r}: {exc.message}", line=t.line, fix=exc.fix) from None
        if not report.passed:
            first = report.failures[0]
            raise spec.error(
                f"table {t.table!r} (tables.{t.name}) fails {len(report.failures)} check(s) of "
                f"contract {t.contract!r}: {first.id}: {first.message}"
                + (f" ({first.n_failing:,} failing)" if first.n_failing else ""),
                line=t.line,
                fix="correct the data (`attribution validate` lists every failing row), or the "
                "columns map / contract named here",
            )
        reports[t.name] = report
    return reports


def _columns_fix(name: str, columns: Sequence[str]) -> str:
    import difflib

    near = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
    head = f"did you mean {near[0]!r}? " if near else ""
    return head + f"the table has {', '.join(columns)}"


# ------------------------------------------------------------------------------------------------
# estimation
# ------------------------------------------------------------------------------------------------
def estimate_design(
    spec: StudySpec,
    source: Source,
    design: DesignSpec,
    metric: Metric,
    *,
    reports: Mapping[str, Any],
) -> Result:
    """One design on one metric; the data contracts of its tables join the result's checks."""
    entry = DESIGNS[design.design]
    log = spec.tables[design.launch_log] if design.launch_log else None
    call = Call(
        data=source.table(spec.tables[design.table].table),
        launch_log=source.table(log.table) if log is not None else None,
        launch_columns=dict(log.columns) if log is not None else {},
        outcome=metric.column,
        components=tuple((c, design.columns[c]) for c in design.estimates),
        options=dict(design.options),
        seed=spec.seed,
        alpha=spec.alpha,
    )
    try:
        result = entry.call(call)
    except ContractViolation:
        raise
    except AttributionError as exc:
        raise type(exc)(
            f"design {design.id!r} ({design.design}, {metric.name}): {exc.message}",
            columns=exc.columns,
            rows=exc.rows,
            fix=exc.fix,
        ) from exc
    checks = [reports[n].as_check() for n in (design.table, design.launch_log) if n in reports]
    return result.with_checks(*checks) if checks else result


def planned_runs(spec: StudySpec, source: Source) -> list[tuple[DesignSpec, Metric]]:
    """Every design on the primary metric, and again on each guardrail whose column its table has."""
    out = []
    for d in spec.designs:
        cols = set(source.table(spec.tables[d.table].table).columns)
        for m in (spec.primary, *spec.guardrails):
            if m.role == "primary" or m.column in cols:
                out.append((d, m))
    return out


def n_steps(spec: StudySpec, *, notebooks: bool) -> int:
    """The number of progress steps of `Study.run`, known before the data opens: opening and
    checking, one per design (its notebook, or its estimate), one for all guardrail estimates,
    triangulating, results.json, the overview notebook, the memo."""
    return 2 + len(spec.designs) + (1 if spec.guardrails else 0) + 2 + (1 if notebooks else 0) + 1


def study_runs(
    spec: StudySpec,
    source: Source,
    reports: Mapping[str, Any],
    *,
    steps: Any = None,
    given: Mapping[str, Result] | None = None,
) -> list[DesignRun]:
    """Every planned design × metric; `given` holds primary-metric results already estimated (by
    the design notebooks), which are used instead of estimating again. Progress: one step per
    primary-metric estimate, one step for all guardrail estimates (so the count is known before
    the tables are)."""
    planned = planned_runs(spec, source)
    results: dict[tuple[str, str], Result] = {}
    for d, m in planned:
        if m.role != "primary":
            continue
        if given is not None and d.id in given:
            results[(d.id, m.name)] = given[d.id]
            continue
        ctx = steps.step(f"estimating {d.id} ({d.design}) on {m.name}") if steps else _null()
        with ctx:
            results[(d.id, m.name)] = estimate_design(spec, source, d, m, reports=reports)
    guard = [(d, m) for d, m in planned if m.role != "primary"]
    if spec.guardrails:
        names = ", ".join(m.name for m in spec.guardrails)
        label = (
            f"estimating the guardrail metrics ({names}): {len(guard)} design run(s)"
            if guard
            else f"estimating the guardrail metrics ({names}): no design's table has them"
        )
        with steps.step(label) if steps else _null():
            for d, m in guard:
                results[(d.id, m.name)] = estimate_design(spec, source, d, m, reports=reports)
    runs = []
    for d, m in planned:
        runs.append(
            DesignRun(
                id=d.id,
                design=d.design,
                metric=m.name,
                estimates=d.estimates,
                result=results[(d.id, m.name)],
                key_assumption=DESIGNS[d.design].key_assumption,
                columns=dict(d.columns),
            )
        )
    return runs


@contextlib.contextmanager
def _null() -> Iterator[None]:
    yield


# ------------------------------------------------------------------------------------------------
# results.json
# ------------------------------------------------------------------------------------------------
def combined_run(spec: StudySpec, runs: Sequence[DesignRun]) -> DesignRun | None:
    """The first design on the primary metric that informs every component and splits its headline
    into per-component contributions (a factorial experiment, typically)."""
    every = {c.name for c in spec.components}
    for r in runs:
        if r.metric != spec.primary.name or set(r.estimates) != every:
            continue
        tab = r.result.tidy()
        if "component" in tab.columns and tab["component"].notna().any():
            return r
    return None


def break_even(spec: StudySpec, baseline: float | None) -> list[dict[str, Any]]:
    """Per component: cost, break-even lift (absolute and in % of `baseline`) and the text the memo
    prints — "no cost given" when the spec gives no cost (never an invented number)."""
    value = spec.primary.value_per_unit
    out = []
    for c in spec.components:
        abs_be = pct = None
        if c.cost_per_period is None:
            text = "no cost given"
        elif value is None or spec.population is None:
            missing = "value_per_unit of the primary metric" if value is None else "population"
            text = (
                f"{c.cost_per_period:,.0f} per period (no break-even: the spec gives no {missing})"
            )
        else:
            abs_be = c.cost_per_period / (value * spec.population)
            pct = 100.0 * abs_be / baseline if baseline else None
            text = f"{c.cost_per_period:,.0f} per period" + (
                f" (break-even {pct:+.2f}%)"
                if pct is not None
                else f" (break-even {abs_be:+.4g} per unit)"
            )
        out.append(
            {
                "name": c.name,
                "column": c.column,
                "owner": c.owner,
                "cost_per_period": c.cost_per_period,
                "break_even": abs_be,
                "break_even_pct": pct,
                "cost_text": text,
            }
        )
    return out


def _truth_terms(
    source: Source, spec: StudySpec, design: DesignSpec, metric: Metric
) -> dict | None:
    if not source.truth:
        return None
    table = spec.tables[design.table].table
    entry = source.truth.get("tables", {}).get(table, {}).get(metric.column)
    terms = entry.get("terms") if isinstance(entry, Mapping) else None
    return dict(terms) if terms else None


def data_fingerprint(table: Any) -> tuple[int, str]:
    """Rows and a content fingerprint: sha256 of the schema, the row count and every numeric
    column's compensated sum at 12 significant digits (one aggregate query in the engine)."""
    from attribution.data.engine import accurate_sum

    schema = table.schema()
    numeric = [n for n, t in schema.items() if t.is_numeric() and not t.is_boolean()]
    aggs = {f"s{i}": accurate_sum(table, table[n]) for i, n in enumerate(numeric)}
    row = table.aggregate(n=table.count(), **aggs).execute().iloc[0]
    sums = [f"{float(row[f's{i}']):.12g}" for i in range(len(numeric))]
    payload = json.dumps(
        {"schema": {k: str(v) for k, v in schema.items()}, "rows": int(row["n"]), "sums": sums},
        sort_keys=True,
    )
    return int(row["n"]), hashlib.sha256(payload.encode()).hexdigest()


def spec_display_path(spec: StudySpec) -> str:
    """The spec's path relative to the working folder when it lies inside it, else its name: no
    absolute paths in results.json."""
    try:
        return spec.path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return spec.path.name


def build_results(
    spec: StudySpec,
    source: Source,
    reports: Mapping[str, Any],
    runs: Sequence[DesignRun],
    *,
    triangulation: Any,
    decisions: Any,
) -> dict[str, Any]:
    """The study as one JSON-safe dict (STUDY_INTERFACE section 4)."""
    from attribution.report.summary import result_summary

    level = f"{100 * (1 - spec.alpha):g}%"
    shown = spec_display_path(spec)
    reproduce = f"attribution run {shown} --out <folder>"
    combined = combined_run(spec, runs)
    baseline = combined.result.baseline if combined is not None else None
    components = break_even(spec, baseline)
    be_by_column = {}
    for c, row in zip(spec.components, components, strict=True):
        if row["break_even_pct"] is not None:
            be_by_column[c.column] = row["break_even_pct"]

    designs = []
    summaries: dict[tuple[str, str], dict[str, Any]] = {}
    for r in runs:
        d = spec.design(r.id)
        m = spec.metric(r.metric)
        tab = r.result.tidy()
        comps = set(tab.loc[tab["component"].notna(), "component"]) if "component" in tab else set()
        use_be = m.role == "primary" and r.result.baseline and comps
        be = {k: v for k, v in be_by_column.items() if k in comps} if use_be else None
        summary = result_summary(
            r.result,
            title=f"{spec.title}: {r.id} on {m.name}",
            break_even_pct=be or None,
            truth=_truth_terms(source, spec, d, m),
            reproduce=reproduce,
        )
        summaries[(r.id, r.metric)] = summary
        designs.append(
            {
                "id": r.id,
                "design": r.design,
                "metric": r.metric,
                "role": m.role,
                "table": d.table,
                "estimates": list(r.estimates),
                "columns": dict(r.columns),
                "key_assumption": r.key_assumption,
                "notebook": f"designs/{r.id}.html",
                "summary": summary,
            }
        )
    combined_out = None
    if combined is not None:
        s = summaries[(combined.id, combined.metric)]
        combined_out = {
            "design": combined.id,
            "metric": combined.metric,
            "baseline": s["baseline"],
            "headline": s["headline"],
            "contributions": s["contributions"],
        }
    data = []
    for t in spec.tables.values():
        table = source.table(t.table)
        rows, fp = data_fingerprint(table)
        rep = reports.get(t.name)
        from attribution.data.engine import backend_name

        data.append(
            {
                "name": t.name,
                "table": t.table,
                "rows": rows,
                "backend": backend_name(table),
                "contract": t.contract,
                "contract_version": rep.version if rep is not None else None,
                "contract_checks": len(rep.checks) if rep is not None else None,
                "fingerprint": fp,
            }
        )
    tri = triangulation.to_dict() if hasattr(triangulation, "to_dict") else triangulation
    dec = decisions.to_dict() if hasattr(decisions, "to_dict") else decisions
    recommendation = getattr(decisions, "recommendation", None)
    if recommendation is None and isinstance(dec, Mapping):
        recommendation = dec.get("recommendation")
    return {
        "schema": SCHEMA,
        "study": spec.study,
        "title": spec.title,
        "date": now().date().isoformat(),
        "alpha": spec.alpha,
        "level": level,
        "population": spec.population,
        "spec": {"path": shown, "sha256": spec.sha256},
        "reproduce": reproduce,
        "components": components,
        "metrics": [
            {
                "name": m.name,
                "column": m.column,
                "role": m.role,
                "direction": m.direction,
                "tolerated_loss_pct": m.tolerated_loss_pct,
                "value_per_unit": m.value_per_unit,
            }
            for m in spec.metrics
        ],
        "launch": dataclasses.asdict(spec.launch),
        "combined": combined_out,
        "designs": designs,
        "triangulation": tri,
        "decisions": dec,
        "recommendation": recommendation,
        "truth": source.truth,
        "provenance": {
            "data": data,
            "source": spec.data.kind,
            "options": {d.id: {"design": d.design, **dict(d.options)} for d in spec.designs},
            "seeds": {
                "study": spec.seed,
                **(
                    {"simulation": spec.data.options.get("seed")}
                    if spec.data.kind == "simulation"
                    else {}
                ),
            },
            "versions": library_versions(),
        },
    }


# ------------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def source_date_epoch() -> Iterator[None]:
    """Honour SOURCE_DATE_EPOCH; when unset, fix it to the run's start for the whole run (the
    notebooks' kernels inherit it), so every timestamp of one run agrees."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = str(int(time.time()))
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def one_thread_per_process() -> Iterator[None]:
    """One OpenMP / BLAS thread in this process and in the notebook kernels it starts, unless the
    user set the thread variables. The double-ML nuisances (histogram gradient boosting) spin their
    OpenMP threads: on a shared two-core machine the graph design's refits took 190 s against 16 s
    single-threaded, with identical numbers."""
    unset = [v for v in THREAD_VARIABLES if not os.environ.get(v, "").strip()]
    if not unset:
        yield
        return
    try:  # scikit-learn's own dependency
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - without scikit-learn no design threads
        limits: Any = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1)
    for v in unset:
        os.environ[v] = "1"  # the kernels are new processes: they read it at start-up
    try:
        with limits:
            yield
    finally:
        for v in unset:
            os.environ.pop(v, None)


def triangulate_runs(spec: StudySpec, runs: Sequence[DesignRun]) -> Any:
    """The one call site of study-decide's triangulation (primary metric)."""
    from attribution.study.triangulate import triangulate

    primary = [r for r in runs if r.metric == spec.primary.name]
    return triangulate(primary, metric=spec.primary.name, alpha=spec.alpha)


def decide_runs(spec: StudySpec, runs: Sequence[DesignRun], triangulation: Any) -> Any:
    """The one call site of study-decide's launch decisions."""
    from attribution.study.decision import decide

    return decide(
        runs,
        triangulation,
        components=spec.components,
        metrics=spec.metrics,
        criteria=spec.launch,
        population=spec.population,
    )


def write_memo(results_path: Path, out_dir: Path) -> Any:
    """The one call site of study-memo's memo (md, html, pdf, waterfall)."""
    from attribution.report.memo import write_study_memo

    return write_study_memo(results_path, out_dir)


def design_notebooks(
    spec: StudySpec, work: Path, database: Path | None, *, steps: Any
) -> dict[str, Result]:
    """Each design's notebook, executed into designs/<id>.ipynb and rendered to designs/<id>.html.

    The notebook estimates the design on the primary metric (`Study.estimate`) and pickles the
    Result; those results are the study's, so the notebook and results.json cannot disagree and
    nothing is estimated twice."""
    import pickle

    from attribution.report.notebook import design_template, execute_notebook, render_html

    folder = work / "designs"
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, Result] = {}
    # the kernel runs in designs/: a database inside the output folder (a simulation's) is passed
    # relative to it, so the executed notebook reruns from the output folder after the swap
    db = None
    if database is not None:
        db = Path(database)
        if db.resolve().is_relative_to(work.resolve()):
            db = Path(os.path.relpath(db.resolve(), folder.resolve()))
    for d in spec.designs:
        pkl = folder / f".{d.id}.result.pkl"
        with steps.step(f"estimating {d.id} ({d.design}) in its notebook"):
            nb = execute_notebook(
                design_template(d.design),
                folder / f"{d.id}.ipynb",
                parameters={
                    "spec_path": str(spec.path),
                    "design_id": d.id,
                    "database": db.as_posix() if db is not None else None,
                    "result_path": pkl.name,
                },
                cwd=folder,
            )
            nb = _for_readers(nb, folder / f"{d.id}.ipynb")
            if not pkl.is_file():
                raise ReportError(
                    f"the notebook of design {d.id!r} wrote no result to its result_path",
                    fix=f"open {folder / (d.id + '.ipynb')} and check its last cell",
                )
            with pkl.open("rb") as fh:
                result = pickle.load(fh)  # our own file, written a moment ago by our template
            pkl.unlink()
            if not isinstance(result, Result):
                raise ReportError(
                    f"the notebook of design {d.id!r} pickled a {type(result).__name__}, not a Result",
                    fix="the template must pickle Study.estimate(design_id)",
                )
            results[d.id] = result
            render_html(
                nb,
                folder / f"{d.id}.html",
                title=f"{spec.title}: {d.id} ({d.design})",
                footer=f"Generated by attribution from {spec_display_path(spec)}.",
            )
    return results


def _for_readers(nb: Any, path: Path) -> Any:
    """The executed notebook as readers rerun it: `result_path` (the study's hand-over file,
    gone after the run) becomes None in the injected parameters cell."""
    import re

    from attribution.report.io import atomic_write_text

    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = re.sub(
                r"^result_path = .*$",
                "result_path = None  # the study took its Result from this notebook's run",
                cell.source,
                flags=re.M,
            )
    import nbformat

    atomic_write_text(path, nbformat.writes(nb))
    return nb


def overview_notebook(spec_title: str, work: Path, *, footer: str) -> None:
    """study_overview.ipynb executed on results.json, rendered to report.html."""
    from attribution.report.notebook import execute_notebook, notebook_template, render_html

    nb = execute_notebook(
        notebook_template("study_overview"),
        work / "study_overview.ipynb",
        parameters={"results_path": "results.json"},
        cwd=work,
    )
    render_html(nb, work / "report.html", title=spec_title, footer=footer)


def check_out_dir(out: Path) -> Path:
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ReportError(f"{str(out)!r} is a file, not a folder", fix="choose another --out")
    return out


def results_of(out: Path) -> dict[str, Any]:
    path = Path(out) / "results.json"
    if not path.is_file():
        raise ReportError(
            f"{str(path)!r} does not exist",
            fix="run the study first: attribution run <spec> --out <folder>",
        )
    data = json.loads(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ReportError(f"{str(path)!r} is not a study's results.json", fix="run the study again")
    return data
