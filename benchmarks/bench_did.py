"""Callaway & Sant'Anna att_gt + aggte at scale: 300k units × 10 periods, ours vs moderndid.

The same seeded panel (written once to Parquet) is estimated by
- ours on a pandas frame (read from the file; moments computed by DuckDB over the frame),
- ours on a DuckDB table (a view over the Parquet file: nothing but cohort moments leave DuckDB),
- moderndid 0.2.0 (R `did` port) in the reference venv .venv-peers, run as a subprocess (skipped
  with a note if .venv-peers is missing; `make peers` creates it).
Each case runs in its own process; we report wall time (file read included for every case), peak
resident memory, and the largest difference of the ATT(g,t) and the dynamic aggregation.
Goal (issue 3): at most half of moderndid's time, same numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import Measurement, measure, report_line

N_UNITS = 300_000
N_PERIODS = 10
SEED = 20240601
ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
KW = {"yname": "y", "tname": "period", "idname": "unit", "gname": "cohort"}


def make_panel(path: Path) -> None:
    """Seeded staggered panel: cohorts 4, 6, 8 (and never treated), effects growing with exposure."""
    import pandas as pd

    rng = np.random.default_rng(SEED)
    g = rng.choice(np.array([0, 4, 6, 8]), size=N_UNITS, p=[0.4, 0.2, 0.2, 0.2])
    t = np.arange(1, N_PERIODS + 1)
    alpha = rng.normal(size=N_UNITS) + 0.1 * g
    lam = np.cumsum(rng.normal(0.1, 0.2, size=N_PERIODS))
    exposure = t[None, :] - g[:, None] + 1
    effect = np.where((g[:, None] > 0) & (exposure >= 1), 0.2 * exposure, 0.0)
    y = alpha[:, None] + lam[None, :] + effect + rng.normal(size=(N_UNITS, N_PERIODS))
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(N_UNITS, dtype=np.int64), N_PERIODS),
            "period": np.tile(t, N_UNITS).astype(np.int64),
            "cohort": np.repeat(g, N_PERIODS).astype(np.int64),
            "y": y.ravel(),
        }
    )
    frame.to_parquet(path, index=False)


def _ours(data) -> dict:
    from attribution.designs.did import aggte, att_gt

    res = att_gt(data, **KW)
    dyn = aggte(res, type="dynamic")
    simple = aggte(res, type="simple")
    tab = res.tidy()
    return {
        "att": tab["estimate"].tolist(),
        "se": tab["std_error"].tolist(),
        "dyn": dyn.tidy()["estimate"].tolist(),
        "dyn_se": dyn.tidy()["std_error"].tolist(),
        "simple": simple.overall.estimate,
    }


def ours_pandas(path: str) -> dict:
    import pandas as pd

    return _ours(pd.read_parquet(path))


def ours_duckdb(path: str) -> dict:
    import attribution as at

    con = at.connect()
    return _ours(con.read_parquet(path))


_PEER_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    t0 = time.perf_counter()
    import pandas as pd
    import moderndid
    warnings.simplefilter("ignore")
    data = pd.read_parquet(sys.argv[1])
    res = moderndid.att_gt(data, yname="y", tname="period", idname="unit", gname="cohort",
                           boot=False, cband=False)
    dyn = moderndid.aggte(res, type="dynamic", cband=False)
    simple = moderndid.aggte(res, type="simple", cband=False)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "att": [float(v) for v in res.att_gt], "se": [float(v) for v in res.se_gt],
        "dyn": [float(v) for v in dyn.att_by_event], "dyn_se": [float(v) for v in dyn.se_by_event],
        "simple": float(simple.overall_att),
    }))
    """
)


def peer_moderndid(path: Path) -> Measurement | None:
    if not PEER_PYTHON.exists():
        print("  moderndid: skipped (.venv-peers missing; run `make peers`)")
        return None
    t0 = time.perf_counter()
    out = subprocess.run(
        [str(PEER_PYTHON), "-c", _PEER_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode != 0:
        print("  moderndid: failed —", out.stderr.strip().splitlines()[-1:])
        return None
    value = json.loads(out.stdout.strip().splitlines()[-1])
    _ = time.perf_counter() - t0  # includes interpreter start-up; the script's own timer is used
    return Measurement("moderndid 0.2.0 att_gt+aggte", value["seconds"], value["peak_mb"], value)


def _diff(a: dict, b: dict) -> str:
    d_att = np.max(np.abs(np.asarray(a["att"]) - np.asarray(b["att"])))
    d_se = np.max(np.abs(np.asarray(a["se"]) / np.asarray(b["se"]) - 1))
    d_dyn = np.max(np.abs(np.asarray(a["dyn"]) - np.asarray(b["dyn"])))
    return f"max |ΔATT(g,t)| {d_att:.1e}, max rel ΔSE {d_se:.1e}, max |Δdynamic| {d_dyn:.1e}"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "did_panel.parquet"
        make_panel(path)
        print(f"  data: {N_UNITS:,} units × {N_PERIODS} periods = {N_UNITS * N_PERIODS:,} rows")
        peer = peer_moderndid(path)
        pandas_m = measure("ours att_gt+aggte (pandas frame)", ours_pandas, str(path))
        duck_m = measure("ours att_gt+aggte (DuckDB table)", ours_duckdb, str(path))
        if peer is not None:
            print(report_line(peer))
        print(report_line(pandas_m, peer=peer, goal="goal <= 0.5x"))
        print(report_line(duck_m, peer=peer, goal="goal <= 0.5x"))
        if peer is not None:
            print("  vs moderndid:", _diff(pandas_m.value, peer.value))
        print("  pandas vs DuckDB:", _diff(pandas_m.value, duck_m.value))


if __name__ == "__main__":
    sys.exit(main())
