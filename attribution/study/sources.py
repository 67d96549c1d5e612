"""Opening a study's data source: a DuckDB file, Parquet/CSV files, Spark, or the homefeed simulation.

The simulation writes the four homefeed scenarios of a co-launch of E, R and K into one DuckDB file
(`<out>/data/study.duckdb`) with their exact truth (`truth.json` beside it), then reopens the file
read-only, so the design notebooks' kernels can read it at the same time as the study.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import json
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import numpy as np

from attribution.errors import AttributionError, DataError
from attribution.report.io import atomic_write_json
from attribution.study.spec import StudySpec

__all__ = ["Source", "open_source", "simulate_homefeed"]

LATENCY_BASE_MS = 120.0
LATENCY_LIFT = {"E": 0.004, "R": 0.002, "K": 0.006}
"""The simulated guardrail: serving latency grows by these fractions with each component (additive,
no interactions), so its true effects are known exactly."""
LATENCY_NOISE_SD = 15.0


@dataclass
class Source:
    """An open data source: its Ibis tables by source name, and for a simulation its truth."""

    kind: str
    con: Any
    database: Path | None = None  # the DuckDB file read, if any
    truth: Mapping[str, Any] | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    spark_database: str | None = None
    _tables: dict[str, Any] = field(default_factory=dict)
    _scratch: Any = None  # weakref.finalize removing a temporary folder this source wrote

    def names(self) -> list[str]:
        if self.kind in ("parquet", "csv"):
            return sorted(self.files)
        if self.kind == "spark" and self.spark_database:
            return sorted(self.con.list_tables(database=self.spark_database))
        return sorted(self.con.list_tables())

    def has(self, name: str) -> bool:
        return name in self.names()

    def table(self, name: str) -> Any:
        if name not in self._tables:
            if self.kind in ("parquet", "csv"):
                self._tables[name] = _read_files(self.con, self.files[name], self.kind)
            elif self.kind == "spark" and self.spark_database:
                self._tables[name] = self.con.table(name, database=self.spark_database)
            else:
                self._tables[name] = self.con.table(name)
        return self._tables[name]

    def close(self) -> None:
        if self.kind in ("duckdb", "simulation", "parquet", "csv"):
            # closing twice, or a backend without disconnect: nothing to keep
            with contextlib.suppress(Exception):
                self.con.disconnect()
        if self._scratch is not None:  # a simulation written into a temporary folder: remove it
            self._scratch()


def _read_files(con: Any, pattern: str, kind: str) -> Any:
    from attribution.data.engine import as_table

    if any(ch in pattern for ch in "*?["):
        if not _glob.glob(pattern):
            raise DataError(f"no file matches {pattern!r}", fix="check the path or the pattern")
        return con.read_parquet(pattern) if kind == "parquet" else con.read_csv(pattern)
    return as_table(pattern, backend=con)


def open_duckdb_readonly(path: Path) -> Any:
    """A read-only DuckDB connection (several processes may read the file at once)."""
    import duckdb

    if not path.is_file():
        raise DataError(
            f"DuckDB file {str(path)!r} does not exist", fix="check data.duckdb in the spec"
        )
    try:
        return ibis.duckdb.connect(str(path), read_only=True)
    except (duckdb.Error, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot open {str(path)!r} as a DuckDB database: {first}",
            fix="pass a DuckDB database file (another process may be writing to it)",
        ) from exc


def open_source(
    spec: StudySpec,
    *,
    database: str | Path | None = None,
    workdir: str | Path | None = None,
    progress: bool = False,
) -> Source:
    """Open the spec's data source. `database` overrides the DuckDB file (a simulation already
    written, e.g. by the study that runs a notebook); a simulation without one is written into
    `workdir`/data (a temporary folder when None). Failures name the spec's `data:` line."""
    src = spec.data
    try:
        if src.kind == "duckdb" or (src.kind == "simulation" and database is not None):
            path = Path(database) if database is not None else src.path
            assert path is not None
            con = open_duckdb_readonly(path.resolve())
            truth = None
            if src.kind == "simulation":
                truth_file = path.resolve().parent / "truth.json"
                truth = json.loads(truth_file.read_text()) if truth_file.is_file() else None
            return Source(kind=src.kind, con=con, database=path.resolve(), truth=truth)
        if src.kind in ("parquet", "csv"):
            return Source(kind=src.kind, con=ibis.duckdb.connect(), files=dict(src.files))
        if src.kind == "spark":
            from attribution.data.engine import connect

            return Source(
                kind="spark",
                con=connect("spark"),
                spark_database=src.options.get("database"),
            )
        # a simulation, written now; a temporary folder goes when the source closes (or, if it is
        # never closed, when it is collected or the interpreter exits)
        scratch = (
            None if workdir is not None else Path(tempfile.mkdtemp(prefix="attribution-study-"))
        )
        folder = Path(workdir) if workdir is not None else scratch
        assert folder is not None
        db = folder / "data" / "study.duckdb"
        try:
            truth = simulate_homefeed(
                db, **{k: v for k, v in src.options.items() if k != "scenario"}, progress=progress
            )
            source = Source(
                kind="simulation", con=open_duckdb_readonly(db), database=db.resolve(), truth=truth
            )
        except BaseException:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            raise
        if scratch is not None:
            source._scratch = weakref.finalize(source, shutil.rmtree, scratch, ignore_errors=True)
        return source
    except AttributionError as exc:
        raise spec.error(
            f"the data source does not open: {exc.message}", line=src.line, fix=exc.fix
        ) from None


def simulate_homefeed(
    db_path: Path,
    *,
    n_users: int = 50_000,
    n_exposure_users: int = 4_000,
    seed: int = 7,
    progress: bool = False,
) -> dict[str, Any]:
    """Write the homefeed co-launch of E, R and K into `db_path` (replacing it) and truth.json beside
    it; return the truth.

    Tables: factorial_experiment (users randomised to E, R, K; with a latency_ms guardrail),
    surface_panel + launch_log (a staggered rollout across markets), market_panel (K launched in a
    single market, for synthetic control) and exposures (observational exposure, for double ML).
    One co-launch throughout: the panels' relative lifts and the exposure slopes (the effect of
    moving all of a user's traffic to a component) equal the experiment's per-component shares.
    """
    from attribution import simulate
    from attribution.data.engine import connect
    from attribution.report.summary import truth_to_dict
    from attribution.simulate.factorial import FACTORIAL_SCHEMA
    from attribution.simulate.observational import EXPOSURES_SCHEMA, SLOPES
    from attribution.simulate.panels import PANEL_SCHEMA
    from attribution.simulate.writer import write_frame

    db_path = Path(db_path)
    if db_path.exists():
        db_path.unlink()
    con = connect(db_path)
    try:
        fact = simulate.factorial_experiment(n_users, seed=seed, progress=progress)
        frame = fact.table().copy()
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(91,)))
        lift = sum(LATENCY_LIFT[c] * frame[c].to_numpy(dtype=float) for c in ("E", "R", "K"))
        frame["latency_ms"] = LATENCY_BASE_MS * (
            1.0 + lift
        ) + LATENCY_NOISE_SD * rng.standard_normal(len(frame))
        schema = ibis.schema({**dict(FACTORIAL_SCHEMA.items()), "latency_ms": "!float64"})
        write_frame(con, "factorial_experiment", frame, schema=schema)

        # one co-launch seen through every design: the panels' lifts are the components' shares of
        # the experiment's effect (its exact Shapley split, in % of its baseline), without ramp-up
        # or interactions, so the designs estimate the same per-component effects
        share = {c: float(fact.truth.shapley[c] / fact.truth.baseline) for c in ("E", "R", "K")}
        roll = simulate.staggered_rollout(seed=seed, con=con, lifts=share, dynamic=False)
        market = simulate.single_market_launch(seed=seed, component="K", lift=share["K"])
        panel_schema = ibis.schema({**dict(PANEL_SCHEMA.items()), "treatment": "!int64"})
        write_frame(con, "market_panel", market.table(), schema=panel_schema)
        expo = simulate.observational_exposure(n_exposure_users, seed=seed)
        exposures = expo.table().copy()
        # the same effects again: every user's slope on exposure_c becomes the experiment's
        # relative share of c times this population's baseline (the confounding is unchanged)
        base_expo = float(expo.truth.baseline)
        ame = {c: share[c] * base_expo for c in ("E", "R", "K")}
        for c in ("E", "R", "K"):
            slope = SLOPES[c].reindex(exposures["segment"]).to_numpy()
            exposures["engagement"] -= (slope - ame[c]) * exposures[f"exposure_{c}"].to_numpy()
        write_frame(con, "exposures", exposures, schema=EXPOSURES_SCHEMA)
    finally:
        con.disconnect()

    latency = {c: LATENCY_BASE_MS * v for c, v in LATENCY_LIFT.items()}
    latency_total = sum(latency.values())
    truth = {
        "scenario": "homefeed",
        "seed": seed,
        "tables": {
            "factorial_experiment": {
                "engagement": truth_to_dict(fact.truth),
                "latency_ms": {
                    "baseline": LATENCY_BASE_MS,
                    "total": latency_total,
                    "terms": {
                        **latency,
                        **{f"contribution({c})": v for c, v in latency.items()},
                        "total": latency_total,
                    },
                },
            },
            "surface_panel": {
                "engagement": {
                    "overall_att": {
                        k: float(v) for k, v in roll.truth.details["overall_att"].items()
                    },
                    "note": "per-component ATT over treated post-launch unit-periods; designs "
                    "aggregating differently (event-time averages) target other averages",
                    "terms": {},
                }
            },
            "market_panel": {
                "engagement": {
                    "att": market.truth.details["att"],
                    "treated_units": list(market.truth.details["treated_units"]),
                    "terms": {"ATT": market.truth.details["att"]},
                }
            },
            "exposures": {
                "engagement": {
                    "ame": {f"exposure_{c}": v for c, v in ame.items()},
                    "note": "effect of moving all of a user's traffic to a component; the same "
                    "slope in every segment, so partially linear double ML targets it exactly",
                    "terms": {f"exposure_{c}": v for c, v in ame.items()},
                }
            },
        },
    }
    atomic_write_json(db_path.parent / "truth.json", truth)
    return json.loads((db_path.parent / "truth.json").read_text())
