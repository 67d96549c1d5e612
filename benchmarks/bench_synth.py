"""Synthetic designs: speed of SDID with placebo SEs, and ADH in-space placebos against pysyncon.

bench_sdid(): SDID with 200 placebo replications on a 1,000-unit × 40-period factor-model panel
    (10 treated units from period 31; attribution.simulate.single_market_launch), from a pandas
    frame: validation, the pull to wide arrays, the fit and all replications. Goal: < 10 s here.
    The line also prints the CPU seconds of the fit itself: on the shared 2-core machine the wall
    time depends on the load, the CPU time does not.
"""

from __future__ import annotations

import os

from benchmarks.harness import measure, report_line


def _sdid_placebo(n_units: int, n_periods: int, n_reps: int) -> tuple[float, float, float]:
    """(ATT, SE, CPU seconds of the fit): CPU time shows the cost on a shared, loaded machine."""
    import time

    from attribution import simulate
    from attribution.designs.synth.fit import fit

    sim = simulate.single_market_launch(
        n_units=n_units, n_periods=n_periods, treated=10, start_period=31, seed=1
    )
    data = sim.table()
    cpu0 = time.process_time()
    res = fit(
        data,
        outcome="engagement",
        unit="unit",
        time="period",
        treatment="treatment",
        method="sdid",
        se_method="placebo",
        n_reps=n_reps,
        seed=1,
    )
    return res.estimate, res.std_error, time.process_time() - cpu0


def _warm() -> None:
    """Load the numba cache (or compile) once, outside the timed runs."""
    _sdid_placebo(60, 40, 2)


def bench_sdid() -> None:
    _warm()
    m = measure("SDID + 200 placebo reps, 1,000 units x 40 periods", _sdid_placebo, 1000, 40, 200)
    est, se, cpu = m.value
    print(report_line(m, goal=f"goal < 10 s; ATT {est:.4f}, SE {se:.4f}; fit CPU {cpu:.1f} s"))
    load = os.getloadavg()[0]
    print(f"  (1-minute load average during the run: {load:.1f} on {os.cpu_count()} cores)")


def main() -> None:
    bench_sdid()


if __name__ == "__main__":
    main()
