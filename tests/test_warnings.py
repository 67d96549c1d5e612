"""The library emits no third-party deprecation noise under a user's default warning filters."""

from __future__ import annotations

import subprocess
import sys


def test_no_infer_string_warning():
    """ibis 12 reads pandas' deprecated `future.infer_string` option on every string column: a user
    running a design with Python's default filters must not see pandas' deprecation warning."""
    code = (
        "import attribution as at\n"
        "sim = at.simulate.factorial_experiment(2_000, seed=1)\n"
        "at.factorial(sim.table(), outcome='engagement', factors=['E', 'R', 'K'])\n"
        "con = at.connect()\n"
        "t = con.create_table('x', sim.table())\n"
        "t.execute()\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True
    )
    assert "infer_string" not in out.stderr, out.stderr
