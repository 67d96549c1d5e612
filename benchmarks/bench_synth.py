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
    from attribution.designs.synth import fit

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


# -- ADH in-space placebos vs pysyncon (helper G) -------------------------------------------------

_ADH_LAGS = (1975, 1980, 1988)


def _adh_placebo() -> tuple[float, float, float]:
    """Full in-space placebo inference on Prop 99 (39 ADH fits, V re-fitted for each):
    (p-value, average post gap, CPU seconds)."""
    import time

    from attribution.designs.synth import synthetic_control
    from tests.reference.synth.prop99 import load_long

    df = load_long()
    cpu0 = time.process_time()
    r = synthetic_control(
        df,
        outcome="packs",
        unit="state",
        time="year",
        treated_unit="California",
        treatment_start=1989,
        special_predictors=[("packs", [y], "mean") for y in _ADH_LAGS],
        placebo=True,
        conformal=False,
    )
    return r.p_value, r.estimate, time.process_time() - cpu0


def _pysyncon_fits(n_fits: int) -> tuple[float, float, int]:
    """pysyncon 1.7 `Synth().fit` (Nelder–Mead over V, SLSQP for W) for California and the first
    placebos on the same specification: (wall seconds per fit, CPU seconds per fit, fits)."""
    import time
    import warnings

    from pysyncon import Dataprep, Synth

    from tests.reference.synth.prop99 import load_long

    warnings.simplefilter("ignore")
    df = load_long()
    states = sorted(df["state"].unique())
    donors = [s for s in states if s != "California"]
    cases = [("California", donors)] + [(d, [x for x in donors if x != d]) for d in donors]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for treated, controls in cases[:n_fits]:
        dp = Dataprep(
            foo=df,
            predictors=[],
            predictors_op="mean",
            dependent="packs",
            unit_variable="state",
            time_variable="year",
            treatment_identifier=treated,
            controls_identifier=controls,
            time_predictors_prior=range(1970, 1989),
            time_optimize_ssr=range(1970, 1989),
            special_predictors=[("packs", [y], "mean") for y in _ADH_LAGS],
        )
        Synth().fit(dp)
    wall = (time.perf_counter() - wall0) / n_fits
    cpu = (time.process_time() - cpu0) / n_fits
    return wall, cpu, n_fits


def bench_adh() -> None:
    _adh_placebo()  # load the numba cache (or compile) outside the timed run
    ours = measure("ADH + in-space placebos (39 fits), Prop 99", _adh_placebo)
    p, est, cpu = ours.value
    n_fits = 5
    peer = measure(f"pysyncon {n_fits} fits (extrapolated to 39)", _pysyncon_fits, n_fits)
    wall_fit, cpu_fit, _ = peer.value
    peer_wall, peer_cpu = 39 * wall_fit, 39 * cpu_fit
    print(report_line(ours, goal=f"p = {p:.4f}, average gap {est:.3f}; CPU {cpu:.2f} s"))
    print(
        f"  pysyncon: timed {n_fits} of the 39 fits ({wall_fit:.2f} s wall, {cpu_fit:.2f} s CPU "
        f"each) and extrapolated to the full placebo run: {peer_wall:.1f} s wall, "
        f"{peer_cpu:.1f} s CPU"
    )
    print(
        f"  speed-up: {peer_wall / ours.seconds:.0f}x wall, {peer_cpu / max(cpu, 1e-9):.0f}x CPU "
        "(goal >= 10x)"
    )


def main() -> None:
    bench_sdid()
    bench_adh()


if __name__ == "__main__":
    main()
