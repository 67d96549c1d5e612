"""Command line: ``attribution validate | demo | run | report``.

Exit codes: 0 success, 1 a contract/data/design error or any other failure (one line on stderr, no
traceback; ``--debug`` shows it), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from attribution.errors import AttributionError

__all__ = ["main"]


def _cmd_validate(args: argparse.Namespace) -> int:
    from attribution.data.contracts import validate

    con = _open_db(args.db)
    table = _open_table(args.table, con, args.db)
    references = {}
    for item in args.reference or []:
        name, sep, source = item.partition("=")
        if not sep or not name or not source:
            raise AttributionError(
                f"--reference {item!r} is not NAME=SOURCE",
                fix="e.g. --reference surface_panel=panel.parquet",
            )
        references[name] = _open_table(source, con, args.db)
    columns = {}
    for item in args.column or []:
        name, sep, actual = item.partition("=")
        if not sep or not name or not actual:
            raise AttributionError(
                f"--column {item!r} is not CONTRACT_NAME=TABLE_NAME",
                fix="e.g. --column engagement=watch_time",
            )
        columns[name] = actual
    report = validate(
        table, args.contract, raise_on_failure=False, references=references, columns=columns
    )
    print(report.to_text())
    return 0 if report.passed else 1


def _open_db(db: str | None) -> object | None:
    from attribution.data.engine import connect

    return connect(db, create=False) if db else None


def _open_table(source: str, con: object | None, db: str | None) -> object:
    """A .parquet/.csv file (read by --db's engine, else in-memory DuckDB) or a table in --db."""
    from attribution.data.engine import as_table

    if Path(source).suffix in (".parquet", ".csv", ".gz"):
        return as_table(source, backend=con)
    if con is None:
        raise AttributionError(
            f"{source!r} is not a .parquet/.csv file, so it must name a table in a database",
            fix="pass --db path/to/file.duckdb (or 'spark')",
        )
    if source not in con.list_tables():
        raise AttributionError(
            f"table {source!r} not found in {db}",
            fix=f"available tables: {sorted(con.list_tables())}",
        )
    return con.table(source)


def _cmd_demo(args: argparse.Namespace) -> int:
    from attribution.report.demo import run_demo

    out = run_demo(
        out_dir=Path(args.out), n_users=args.n_users, seed=args.seed, progress=not args.quiet
    )
    print(f"report written to {out}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from attribution.study import Study

    study = Study.from_yaml(args.spec)
    out = study.run(args.out, notebooks=not args.no_notebooks, progress=not args.quiet)
    print(f"study written to {out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from attribution.study import Study

    study = Study.from_yaml(args.spec)
    out = study.report(args.out, progress=not args.quiet)
    print(f"report and memo re-rendered in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attribution", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--debug", action="store_true", help="on failure, show the full error and its traceback"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="check a table against a data contract (in the engine)")
    v.add_argument("table", help="a .parquet/.csv file, or a table name in --db")
    v.add_argument(
        "--contract", required=True, help="contract name (data_contracts/<name>.yaml) or path"
    )
    v.add_argument("--db", default=None, help="DuckDB file or 'spark' holding the table")
    v.add_argument(
        "--reference",
        action="append",
        metavar="NAME=SOURCE",
        help="a table named by the contract's reference checks (file or table in --db); repeatable",
    )
    v.add_argument(
        "--column",
        action="append",
        metavar="CONTRACT=TABLE",
        help="the table's name for a contract column when they differ; repeatable",
    )
    v.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    v.set_defaults(func=_cmd_validate)

    d = sub.add_parser("demo", help="simulate a co-launch, validate, attribute, write the report")
    d.add_argument("--out", default="reports/demo", help="output folder (default reports/demo)")
    d.add_argument("--n-users", type=int, default=200_000, help="users in the simulated experiment")
    d.add_argument("--seed", type=int, default=2024, help="simulation seed")
    d.add_argument("--quiet", action="store_true", help="no progress output")
    d.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    d.set_defaults(func=_cmd_demo)

    r = sub.add_parser("run", help="run a study spec: every design, triangulation, decisions, memo")
    r.add_argument("spec", help="the study spec (YAML), e.g. examples/homefeed.yaml")
    r.add_argument("--out", default=None, help="output folder (default reports/<study>)")
    r.add_argument("--no-notebooks", action="store_true", help="skip the notebooks and report.html")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    r.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", help="re-render report.html and the memo from results.json")
    p.add_argument("spec", help="the study spec (YAML)")
    p.add_argument("--out", default=None, help="the study's folder (default reports/<study>)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:  # one line, never a traceback (unless --debug)
        if args.debug:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1


def one_line(exc: BaseException) -> str:
    """An error in one line: its type, first sentence and, for our errors, the fix."""
    if isinstance(exc, AttributionError):
        text = f"{type(exc).__name__}: {exc.message.splitlines()[0] if exc.message else ''}"
        if len(exc.message.splitlines()) > 1 or exc.rows is not None:
            text += " (details with --debug)"
        if exc.fix:
            text += f"; fix: {' '.join(exc.fix.split())}"
        return text
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"unexpected {type(exc).__name__}: {first} (run with --debug for the traceback)"


if __name__ == "__main__":
    raise SystemExit(main())
