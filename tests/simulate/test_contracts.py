"""Every simulated table passes its data contract (data_contracts/<table>.yaml)."""

from __future__ import annotations

import pytest

import attribution as at
from attribution import simulate


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (lambda: simulate.factorial_experiment(3000, seed=0), ["factorial_experiment"]),
        (lambda: simulate.staggered_rollout(seed=0), ["surface_panel", "launch_log"]),
        (lambda: simulate.staggered_rollout(seed=1, components=("K",)), ["surface_panel"]),
        (lambda: simulate.single_market_launch(seed=0, treated=2), ["surface_panel"]),
        (lambda: simulate.observational_exposure(3000, seed=0), ["exposures"]),
        (lambda: simulate.launch_train(500, n_weeks=3, seed=0), ["launch_train", "launches"]),
    ],
)
def test_simulated_tables_pass_their_contracts(make, names):
    sim = make()
    for name in names:
        report = at.validate(sim.table(name), name)
        assert report.passed, report.to_text(only_failures=True)


def test_contracts_pass_in_duckdb(tmp_path):
    con = at.connect(str(tmp_path / "c.duckdb"))
    sim = simulate.factorial_experiment(2000, seed=1, con=con)
    assert at.validate(sim.table(), "factorial_experiment").passed
    con.disconnect()
