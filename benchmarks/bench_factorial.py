"""Factorial design: speed and peak memory against the floor (a bare GROUP BY) and a peer (statsmodels).

(a) 20M users in a DuckDB file: `factorial` (HC2) and CUPED (HC2, two passes) vs a bare
    ``GROUP BY E, R, K`` with count + sum of the outcome — the least any in-engine estimator must do.
    Goal: plain HC2 within 1.5x of the bare scan.
(b) 2M users in pandas: `factorial` vs statsmodels OLS on the saturated cell dummies with HC2
    (`t_test` of the effect contrasts); the numbers must agree. Goal: ≥ 20x faster.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import ibis

# Everything is imported here, before the harness forks, so the timings measure work, not imports
# (ibis loads its DuckDB backend and SQL compilers lazily, on the first query).
import ibis.backends.duckdb
import ibis.backends.sql.compilers
import numpy as np
import pandas as pd
import statsmodels.api as sm

from attribution.designs.factorial import factorial
from attribution.designs.factorial.aliasing import contrast_matrix, standard_terms
from benchmarks.harness import measure, report_line

FACTORS = ["E", "R", "K"]


def _make_duckdb(path: Path, n: int, seed: int = 7) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute(f"SELECT setseed({seed / 1000})")
    con.execute(
        f"""
        CREATE TABLE exp AS
        WITH u AS (
            SELECT i AS user_id,
                   (random() < 0.5)::TINYINT AS E,
                   (random() < 0.5)::TINYINT AS R,
                   (random() < 0.5)::TINYINT AS K,
                   -ln(random()) * 10 AS pre_engagement,
                   random() AS u1, random() AS u2
            FROM range({n}) t(i)
        )
        SELECT user_id, E, R, K, pre_engagement,
               greatest(0, 0.9 * pre_engagement + 1 + 0.08 * E + 0.05 * R + 0.06 * K
                        + 0.04 * E * K + sqrt(-2 * ln(u1)) * cos(2 * pi() * u2)) AS engagement
        FROM u
        """
    )
    con.close()


def _bare_scan(path: str) -> int:
    con = ibis.duckdb.connect(path, read_only=True)
    t = con.table("exp")
    out = t.group_by(FACTORS).aggregate(n=t.count(), s=t.engagement.sum()).execute()
    return len(out)


def _factorial(path: str, covariate: str | None) -> tuple[list[float], list[float]]:
    con = ibis.duckdb.connect(path, read_only=True)
    res = factorial(con.table("exp"), outcome="engagement", factors=FACTORS, covariate=covariate)
    tidy = res.effects  # the 7 effect rows (no total, no contributions)
    return tidy["estimate"].tolist(), tidy["std_error"].tolist()


def _pandas_frame(n: int, seed: int = 11):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n, 3)).astype("int8")
    pre = rng.exponential(10.0, n)
    y = 0.9 * pre + 1 + x @ np.array([0.08, 0.05, 0.06]) + rng.normal(size=n) * (1 + 0.2 * x[:, 0])
    return pd.DataFrame({"E": x[:, 0], "R": x[:, 1], "K": x[:, 2], "engagement": y})


_FRAME: dict[str, pd.DataFrame] = {}
"""The pandas frame of case (b), built in the parent so both children inherit it (fork) and
neither timing includes building it."""


def _factorial_pandas() -> tuple[list[float], list[float]]:
    res = factorial(_FRAME["b"], outcome="engagement", factors=FACTORS, vcov="HC2")
    tidy = res.effects  # the 7 effect rows (no total, no contributions)
    return tidy["estimate"].tolist(), tidy["std_error"].tolist()


def _statsmodels_pandas() -> tuple[list[float], list[float]]:
    frame = _FRAME["b"]
    cell = frame["E"].to_numpy(int) + 2 * frame["R"].to_numpy(int) + 4 * frame["K"].to_numpy(int)
    x = (cell[:, None] == np.arange(8)[None, :]).astype(float)
    fit = sm.OLS(frame["engagement"].to_numpy(float), x).fit(cov_type="HC2", use_t=True)
    tt = fit.t_test(contrast_matrix(standard_terms(3), list(range(8))))
    return np.ravel(tt.effect).tolist(), np.ravel(tt.sd).tolist()


def _warm_up() -> None:
    """Compile (without executing, so no engine connection is forked) the kind of query every case
    runs, so the children inherit loaded modules and measure the work itself."""
    m = ibis.memtable(_pandas_frame(64))
    agg = m.group_by(FACTORS).aggregate(n=m.count(), v=m.engagement.var(how="pop"))
    ibis.to_sql(agg, dialect="duckdb")


def main(n_duckdb: int | None = None, n_pandas: int | None = None) -> None:
    _warm_up()
    n_duckdb = n_duckdb or int(os.environ.get("BENCH_FACTORIAL_ROWS", 20_000_000))
    n_pandas = n_pandas or int(os.environ.get("BENCH_FACTORIAL_PANDAS_ROWS", 2_000_000))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "factorial.duckdb"
        _make_duckdb(path, n_duckdb)
        print(f"  (a) {n_duckdb:,} users in a DuckDB file", flush=True)
        bare = measure("GROUP BY E,R,K count+sum (floor)", _bare_scan, str(path), repeat=3)
        plain = measure("factorial HC2", _factorial, str(path), None, repeat=3)
        cuped = measure(
            "factorial CUPED HC2 (2 passes)", _factorial, str(path), "pre_engagement", repeat=3
        )
        print(report_line(bare), flush=True)
        print(report_line(plain, peer=bare, goal="goal <= 1.5x"), flush=True)
        print(report_line(cuped, peer=bare, goal="reported separately"), flush=True)

    print(f"  (b) {n_pandas:,} users in pandas (frame built before timing)", flush=True)
    _FRAME["b"] = _pandas_frame(n_pandas)
    ours = measure("factorial HC2 (pandas in, DuckDB engine)", _factorial_pandas, repeat=3)
    peer = measure("statsmodels OLS + HC2 + t_test", _statsmodels_pandas)
    _FRAME.clear()
    np.testing.assert_allclose(ours.value[0], peer.value[0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.value[1], peer.value[1], rtol=1e-6)
    print(report_line(peer), flush=True)
    print(report_line(ours, peer=peer, goal="goal: statsmodels / factorial >= 20x"), flush=True)
    print(
        f"  statsmodels / factorial = {peer.seconds / ours.seconds:.1f}x; "
        "estimates agree to 1e-8, standard errors to 1e-6 (asserted)",
        flush=True,
    )


if __name__ == "__main__":
    main()
