"""Online experiment readout: speed and peak memory against the floor (a bare GROUP BY) and a peer
(tea-tasting), on the same DuckDB table.

N user-rows (one row per user × surface; default 50M, ``BENCH_EXPERIMENT_ROWS`` or
``python -m benchmarks.bench_experiment ROWS`` for a smaller run) × 10 metrics (6 means, 2 ratios,
2 proportions: 12 value columns) × 3 surfaces:

- floor: ``GROUP BY arm, surface`` with count + the sum of each value column, one scan; beside it
  the floor of a per-unit readout: one aggregation of the rows to users (plain sums, no
  cross-products, no checks) then per arm, plus that scan by surface (the rows are one per
  user × surface, so the surface pass needs no unit aggregation);
- `experiment(..., surface=)`: the whole population (users aggregated over their surfaces;
  counts, sums, all 78 cross-products and the data checks) in one engine query, a DISTINCT of the
  surfaces, then one scan per (arm, surface) with each metric's own cross-products; goal: at most
  2x the floor;
- tea-tasting 1.14 (if installed): the same 10 metrics per surface (4 analyses, the whole
  population on a per-user Ibis view), also in DuckDB; goal: `experiment` faster, and the numbers
  agree (asserted: differences, SEs and lifts to 1e-9).

Measured 2026-12-05 on the shared 2-core AMD EPYC VM (24 GB; DuckDB 1.5.6, Ibis 12.0.0), other
sessions' jobs running, so wall times moved by up to 2x between runs; CPU seconds (all threads of
the case's process) are steadier and are what the ratios below use. "before" is commit ff43d9f.

    rows  case                                   wall s   CPU s   peak MB
    2M    GROUP BY arm, surface (bare scan)        0.36    0.22      277
          per-unit floor                           1.37    0.75      452
          experiment, before                       2.55    1.76      562
          experiment, after                        2.13    1.46      522
          tea-tasting 1.14                         1.11    1.14      427
    10M   GROUP BY arm, surface (bare scan)        1.49    0.88      641
          per-unit floor                           5.86    3.85     1542
          experiment, before                       7.39    7.84     1992
          experiment, after                       11.46    6.68     1847
          tea-tasting 1.14                        10.49    5.32     1429
    50M   GROUP BY arm, surface (bare scan)        3.42    3.83     2476
          per-unit floor                          24.22   25.03     6444
          experiment, after                       31.73   33.60     7677
          tea-tasting 1.14                        22.69   23.95     6282

At 50M: `experiment` takes 8.8x the bare scan's CPU (goal 2x: not met), 1.34x the per-unit floor,
and 1.40x tea-tasting's CPU (goal: faster, not met); the numbers agree to 1e-9. The bare scan is
not a floor for a per-unit readout: aggregating 50M rows to 16.7M users alone costs 6.5x it (and
tea-tasting pays the same). Beyond that floor, `experiment` computes what tea-tasting does not:
the 64 cross-metric products of the joint covariance (about 10% of its CPU at 10M) and the data
checks (arms per unit, NULLs, 0/1 values, ranges, one row per user × surface).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import ibis

# imported before the harness forks, so timings measure work, not imports
import ibis.backends.duckdb
import ibis.backends.sql.compilers
import numpy as np

from attribution.designs.experiment import experiment
from attribution.metrics import Mean, Proportion, Ratio
from benchmarks.harness import measure, report_line

MEANS = [f"v{i}" for i in range(6)]
RATIOS = [("c0", "i0"), ("c1", "i1")]
PROPS = ["b0", "b1"]
COLUMNS = [*MEANS, *[c for pair in RATIOS for c in pair], *PROPS]
SURFACES = ("home", "search", "related")

try:  # a test extra, not a dependency
    import tea_tasting as tt
except ImportError:  # pragma: no cover - depends on the environment
    tt = None


def _metrics() -> list:
    return [
        *[Mean(c) for c in MEANS],
        *[Ratio(n, d) for n, d in RATIOS],
        *[Proportion(c) for c in PROPS],
    ]


def _make_duckdb(path: Path, n: int, seed: int = 5) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute(f"SELECT setseed({seed / 1000})")
    means = ", ".join(f"-ln(random()) * {i + 1} + 0.01 * arm AS v{i}" for i in range(len(MEANS)))
    con.execute(
        f"""
        CREATE TABLE exp AS
        WITH r AS (
            SELECT i // 3 AS user_id,
                   ['home', 'search', 'related'][(i % 3) + 1] AS surface,
                   (hash(i // 3) % 2)::TINYINT AS arm
            FROM range({n}) t(i)
        ), v AS (
            SELECT *, {means},
                   floor(-ln(random()) * 5)::BIGINT + 1 AS i0,
                   floor(-ln(random()) * 8)::BIGINT + 1 AS i1,
                   (random() < 0.2 + 0.01 * arm)::TINYINT AS b0,
                   (random() < 0.5)::TINYINT AS b1
            FROM r
        )
        SELECT *, floor(i0 * random() * 0.3)::BIGINT AS c0,
                  floor(i1 * random() * 0.1)::BIGINT AS c1
        FROM v
        """
    )
    con.close()


def _bare_scan(path: str) -> int:
    con = ibis.duckdb.connect(path, read_only=True)
    t = con.table("exp")
    aggs = {f"s_{c}": t[c].sum() for c in COLUMNS}
    return len(t.group_by(["arm", "surface"]).aggregate(n=t.count(), **aggs).execute())


def _unit_floor(path: str) -> int:
    """The least a per-unit readout of these rows pays: the rows aggregated to users (plain sums,
    no cross-products, no checks) then per arm, and the scan by (arm, surface)."""
    con = ibis.duckdb.connect(path, read_only=True)
    t = con.table("exp")
    u = t.group_by("user_id").aggregate(arm=t.arm.min(), **{c: t[c].sum() for c in COLUMNS})
    n = len(u.group_by("arm").aggregate(n=u.count(), **{c: u[c].sum() for c in COLUMNS}).execute())
    return n + _bare_scan(path)


def _ours(path: str) -> dict[str, list[float]]:
    con = ibis.duckdb.connect(path, read_only=True)
    res = experiment(
        con.table("exp"),
        arm="arm",
        unit="user_id",
        metrics=_metrics(),
        surface="surface",
        control=0,
    )
    tab = res.tidy()
    out = {}
    for s in (None, *SURFACES):
        sub = tab[tab["surface"].isna()] if s is None else tab[tab["surface"] == s]
        out[str(s)] = sub[["estimate", "std_error", "lift"]].to_numpy(float).ravel().tolist()
    return out


def _tea(path: str) -> dict[str, list[float]]:
    con = ibis.duckdb.connect(path, read_only=True)
    t = con.table("exp")
    metrics = {
        **{c: tt.Mean(c, use_t=False) for c in MEANS},
        **{f"{n}/{d}": tt.RatioOfMeans(n, d, use_t=False) for n, d in RATIOS},
        **{c: tt.Mean(c, use_t=False) for c in PROPS},
    }
    exp = tt.Experiment(variant="arm", **metrics)
    per_user = t.group_by(["user_id", "arm"]).aggregate(
        **{c: t[c].sum() for c in COLUMNS if c not in PROPS}, **{c: t[c].max() for c in PROPS}
    )
    out = {}
    for s in (None, *SURFACES):
        data = per_user if s is None else t.filter(t.surface == s)
        res = exp.analyze(data, control=0)
        vals = []
        for name in metrics:
            r = res[name]
            se = (r.effect_size_ci_upper - r.effect_size_ci_lower) / (2 * 1.959963984540054)
            vals += [r.effect_size, se, r.rel_effect_size]
        out[str(s)] = vals
    return out


def _warm_up() -> None:
    m = ibis.memtable({"a": [1, 2], "b": [1.0, 2.0]})
    ibis.to_sql(m.group_by("a").aggregate(s=m.b.sum()), dialect="duckdb")


def main(n_rows: int | None = None) -> None:
    _warm_up()
    n_rows = n_rows or int(os.environ.get("BENCH_EXPERIMENT_ROWS", 50_000_000))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "experiment.duckdb"
        _make_duckdb(path, n_rows)
        print(
            f"  {n_rows:,} user-rows ({n_rows // 3:,} users × 3 surfaces) × 10 metrics "
            f"({len(COLUMNS)} value columns) in a DuckDB file",
            flush=True,
        )
        rep = 2 if n_rows <= 5_000_000 else 1  # best of two where it is cheap (a shared machine)
        bare = measure(
            "GROUP BY arm, surface: count + 12 sums (floor)", _bare_scan, str(path), repeat=rep
        )
        units = measure(
            "per-unit floor: users + surface scan, plain sums", _unit_floor, str(path), repeat=rep
        )
        ours = measure(
            "experiment(surface=): 10 metrics, 78 cross-products", _ours, str(path), repeat=rep
        )
        print(report_line(bare), flush=True)
        print(report_line(units, peer=bare, goal="reference"), flush=True)
        print(report_line(ours, peer=bare, goal="goal <= 2x"), flush=True)
        print(report_line(ours, peer=units, goal="against the per-unit floor"), flush=True)
        if tt is None:
            print("  tea-tasting not installed (pip install tea-tasting==1.14.0): peer skipped")
            return
        peer = measure("tea-tasting 1.14 (4 analyses, DuckDB)", _tea, str(path), repeat=rep)
        for key in ours.value:
            np.testing.assert_allclose(ours.value[key], peer.value[key], rtol=1e-9, atol=1e-12)
        print(report_line(peer), flush=True)
        print(report_line(ours, peer=peer, goal="goal: faster than tea-tasting"), flush=True)
        print(
            f"  tea-tasting / experiment = {peer.seconds / ours.seconds:.2f}x; differences, SEs "
            "and lifts agree to 1e-9 (asserted)",
            flush=True,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
