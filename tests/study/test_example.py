"""The shipped example end to end, on smaller simulated data (the session's `example_study`
fixture, shared with the browser test): every design and its notebook, the documents, progress,
and executed notebooks a reader can rerun from the output folder."""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
DESIGNS = {"factorial", "rollout_K", "market_K", "exposure", "graph"}


def _parameters(nb: nbformat.NotebookNode) -> dict:
    (cell,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    tree = ast.parse(cell.source)
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
    }


def test_the_example_writes_every_document(example_study):
    out, _, _ = example_study
    for need in ("results.json", "report.html", "study_overview.ipynb", "memo.md", "memo.html"):
        assert (out / need).is_file(), need
    r = json.loads((out / "results.json").read_text())
    assert {d["id"] for d in r["designs"]} == DESIGNS
    for d in r["designs"]:
        assert (out / d["notebook"]).is_file()
        assert (out / "designs" / f"{d['id']}.ipynb").is_file()
    assert not list(out.rglob("*.pkl")) and not list(out.rglob(".*.pkl"))
    assert r["truth"]["scenario"] == "homefeed"
    assert r["triangulation"] and r["decisions"] and r["recommendation"]


def test_progress_has_one_count(example_study):
    _, _, err = example_study
    steps = re.findall(r"^\[(\d+)/(\d+)\] ", err, flags=re.M)
    totals = {int(n) for _, n in steps}
    assert len(totals) == 1, steps
    assert [int(i) for i, _ in steps] == list(range(1, totals.pop() + 1))
    assert "[IPKernelApp] WARNING" not in err


def test_executed_notebooks_point_at_files_that_exist_after_the_run(example_study):
    out, spec, _ = example_study
    for d in DESIGNS:
        nb = nbformat.read(out / "designs" / f"{d}.ipynb", as_version=4)
        params = _parameters(nb)
        assert params["design_id"] == d
        assert Path(params["spec_path"]) == spec.resolve()
        database = out / "designs" / params["database"]
        assert not Path(params["database"]).is_absolute(), params["database"]
        assert database.resolve().is_file(), params["database"]
        assert database.resolve().is_relative_to(out.resolve())
        assert params["result_path"] is None


def test_a_reader_reruns_a_design_notebook_from_the_output_folder(example_study, tmp_path):
    """The executed notebook, run again as it is (its own parameters) in its folder."""
    import papermill as pm

    out, _, _ = example_study
    path = out / "designs" / "factorial.ipynb"
    env = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", env)
        pm.execute_notebook(
            str(path),
            str(tmp_path / "rerun.ipynb"),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(path.parent),
        )
    first = nbformat.read(path, as_version=4)
    again = nbformat.read(tmp_path / "rerun.ipynb", as_version=4)
    marker = "**"  # the headline sentence, in bold
    texts = [
        [
            o.get("data", {}).get("text/markdown", "")
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
        ]
        for nb in (first, again)
    ]
    headline = [t for t in texts[0] if t.startswith(marker)]
    assert headline and headline[0] in texts[1]


def test_the_example_triangulates_on_the_relative_scale_and_the_designs_agree(example_study):
    """Every design carries a baseline (the factorial's all-off cell, the rollout's and the
    market's treated counterfactual means, double ML's mean outcome at zero exposure), so K's rows
    are compared in % of baseline, where the simulated scenarios share K's relative effect; the
    five designs agree within noise."""
    out, _, _ = example_study
    tri = json.loads((out / "results.json").read_text())["triangulation"]
    rows = {r["design_id"]: r for r in tri["table"] if r["component"] == "K"}
    assert set(rows) == {"factorial", "rollout_K", "market_K", "exposure", "graph"}
    for d, r in rows.items():
        assert r["pct"] is not None, d
    assert tri["scale"] == "relative"
    k = next(d for d in tri["disagreement"] if d["component"] == "K")
    assert k["n_designs"] == 5 and not k["flag"], k
