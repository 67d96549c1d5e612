"""The README's "Two experiments on the same users are a 2×2 factorial" section: its code runs and
prints exactly the numbers shown beneath it, and those numbers mean what the text says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[3] / "README.md"
HEADING = "## Two experiments on the same users are a 2×2 factorial"


def _section() -> tuple[str, str]:
    text = README.read_text()
    assert HEADING in text
    body = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", body, flags=re.S)
    shown = re.search(r"```text\n(.*?)```", body, flags=re.S)
    assert code and shown
    return code.group(1), shown.group(1)


@pytest.fixture(scope="module")
def run() -> tuple[dict, str, str]:
    code, shown = _section()
    out = io.StringIO()
    scope: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (2×2 factorial)", "exec"), scope)
    return scope, out.getvalue(), shown


def test_printed_numbers_are_the_ones_shown(run) -> None:
    _, printed, shown = run
    assert printed.strip() == shown.strip()


def test_the_reading_in_the_text_holds(run) -> None:
    scope, _, _ = run
    for res in (scope["res"], scope["ctr_res"]):
        cells = res.cell_means.set_index("cell")["mean"]
        neither, a_only = cells["exp_a=0,exp_b=0"], cells["exp_a=1,exp_b=0"]
        b_only, both = cells["exp_a=0,exp_b=1"], cells["exp_a=1,exp_b=1"]
        tidy = res.tidy().set_index("term")["estimate"]
        # the interaction is half the difference-in-differences of the cell means
        assert tidy["exp_a:exp_b"] == pytest.approx((both - a_only - b_only + neither) / 2)
        # a main effect is the experiment's effect averaged over the other's arms
        assert tidy["exp_a"] == pytest.approx(((a_only - neither) + (both - b_only)) / 2)
        # the total is both on − both off, and the contributions add up to it
        assert tidy["total"] == pytest.approx(both - neither)
        parts = tidy["contribution(exp_a)"] + tidy["contribution(exp_b)"]
        assert parts == pytest.approx(tidy["total"], abs=1e-15)
        # "here they do": the interaction is negative and clearly nonzero
        row = res.tidy().set_index("term").loc["exp_a:exp_b"]
        assert row["estimate"] < 0 and row["p_value"] < 0.01
    assert np.isclose(
        scope["ctr_res"].cell_means["mean"].iloc[0],
        scope["users"]
        .query("exp_a == 0 and exp_b == 0")
        .pipe(lambda d: d.clicks.sum() / d.impressions.sum()),
    )
