"""Simulator: rows/second writing a 20M-user factorial experiment into a DuckDB file.

Ours: `simulate.factorial_experiment(con=...)` generates fixed-size blocks and appends each chunk
straight into the engine (zero-copy arrow scan), so memory stays at one chunk.
Peer: the usual route — build the whole pandas DataFrame (the same rows, via the pandas path of the
simulator) and bulk-load it with DuckDB ``CREATE TABLE AS SELECT * FROM df``.
Goal: ≤ 60 s for 20M rows, and a fraction of the peer's peak memory. Both tables must be identical
(checked with row count and sums).

Set ATTRIBUTION_BENCH_SIM_ROWS to change the size (default 20,000,000).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.harness import measure, report_line

N = int(os.environ.get("ATTRIBUTION_BENCH_SIM_ROWS", "20000000"))


def _cpu() -> float:
    """CPU seconds of this process so far (all threads, incl. DuckDB's): robust to a busy machine."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _checksum(path: str, name: str) -> tuple[int, float, int]:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    row = con.execute(
        f'SELECT count(*), round(sum(engagement), 3), sum(E + 2 * R + 4 * K) FROM "{name}"'
    ).fetchone()
    con.close()
    return int(row[0]), float(row[1]), int(row[2])


def _ours(path: str, n: int) -> tuple[int, float, int, float]:
    import attribution as at
    from attribution import simulate

    con = at.connect(path)
    cpu0 = _cpu()
    simulate.factorial_experiment(n, seed=1, con=con, table_name="fx", chunk_size=1_000_000)
    con.disconnect()
    return (*_checksum(path, "fx"), _cpu() - cpu0)


def _peer(path: str, n: int) -> tuple[int, float, int, float]:
    import duckdb

    from attribution import simulate

    cpu0 = _cpu()
    df = simulate.factorial_experiment(n, seed=1).table()
    con = duckdb.connect(path)
    con.register("df_view", df)
    con.execute("CREATE TABLE fx AS SELECT * FROM df_view")
    con.close()
    return (*_checksum(path, "fx"), _cpu() - cpu0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours = measure(f"simulate → DuckDB file, {N:,} rows", _ours, str(Path(tmp) / "a.duckdb"), N)
        peer = measure(f"pandas → DuckDB bulk, {N:,} rows", _peer, str(Path(tmp) / "b.duckdb"), N)
    print(report_line(peer))
    print(report_line(ours, peer=peer, goal="≤ 60 s; peak memory well below the peer's"))
    print(f"  ours: {N / ours.seconds:,.0f} rows/s   peer: {N / peer.seconds:,.0f} rows/s")
    print(f"  CPU seconds (all threads): ours {ours.value[3]:.1f}   peer {peer.value[3]:.1f}")
    same = ours.value[0] == peer.value[0] and ours.value[2] == peer.value[2]
    same = same and abs(ours.value[1] - peer.value[1]) <= 1e-9 * abs(peer.value[1]) + 1e-3
    print(f"  identical tables (rows, sum of engagement, cells): {same}  {ours.value[:3]}")


if __name__ == "__main__":
    main()
