"""Synthetic designs: speed of SDID with placebo SEs, and ADH in-space placebos against pysyncon.

bench_sdid(): SDID with 200 placebo replications on a 1,000-unit × 40-period factor-model panel
    (10 treated units from period 31; attribution.simulate.single_market_launch), from a pandas
    frame: validation, the pull to wide arrays, the fit and all replications. Goal: < 10 s here.
"""

from __future__ import annotations

import os

from benchmarks.harness import measure, report_line


def _sdid_placebo(n_units: int, n_periods: int, n_reps: int) -> tuple[float, float]:
    from attribution import simulate
    from attribution.designs.synth.fit import fit

    sim = simulate.single_market_launch(
        n_units=n_units, n_periods=n_periods, treated=10, start_period=31, seed=1
    )
    res = fit(
        sim.table(),
        outcome="engagement",
        unit="unit",
        time="period",
        treatment="treatment",
        method="sdid",
        se_method="placebo",
        n_reps=n_reps,
        seed=1,
    )
    return res.estimate, res.std_error


def _warm() -> None:
    """Load the numba cache (or compile) once, outside the timed runs."""
    _sdid_placebo(60, 40, 2)


def bench_sdid() -> None:
    _warm()
    m = measure("SDID + 200 placebo reps, 1,000 units x 40 periods", _sdid_placebo, 1000, 40, 200)
    est, se = m.value
    print(report_line(m, goal=f"goal < 10 s; ATT {est:.4f}, SE {se:.4f}"))
    load = os.getloadavg()[0]
    print(f"  (1-minute load average during the run: {load:.1f} on {os.cpu_count()} cores)")


def main() -> None:
    bench_sdid()


if __name__ == "__main__":
    main()
