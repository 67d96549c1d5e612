"""Every report template in notebooks/ runs headless in standalone mode (small simulated data) and
renders to self-contained HTML; the design templates take the study parameters, and in a study their
body works from the Result the study hands over.

The notebooks are executed once per module, concurrently (one kernel each: kernel start-up and
imports dominate, and the machine has two cores). Standalone mode is what a template does without a
`spec_path`; `result_path`, given here, only adds the pickled Result the assertions compare with.
Study mode runs against a stand-in for `attribution.Study` (installed in the kernel through a
`sitecustomize` module), so it tests the template's side of the interface, not the study's.
"""

from __future__ import annotations

import html
import json
import os
import pickle
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from attribution.errors import ReportError
from attribution.report.notebook import (
    DESIGN_TEMPLATES,
    design_template,
    execute_notebook,
    list_templates,
    notebook_template,
    render_html,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = list_templates()
DESIGN_NOTEBOOKS = sorted(set(DESIGN_TEMPLATES.values()))
STUDY_PARAMETERS = ("spec_path", "design_id", "database", "result_path")


def _parameters(name: str) -> dict:
    return pm.inspect_notebook(str(notebook_template(name)))


FAKE_STUDY = """
import json
import pickle


class Study:
    \"\"\"Stand-in for attribution.Study: the spec is a pickled Result; every call is logged.\"\"\"

    def __init__(self, path, database):
        self.path, self.database = str(path), database

    @classmethod
    def from_yaml(cls, path, *, database=None):
        return cls(path, database)

    def estimate(self, design_id):
        calls = {"spec_path": self.path, "database": self.database, "design_id": design_id}
        with open(self.path + ".calls.json", "w") as f:
            json.dump(calls, f)
        with open(self.path, "rb") as f:
            return pickle.load(f)


import attribution

attribution.Study = Study
"""
STUDY_RUN = "did_report (study)"


def _study_result(out: Path) -> Path:
    """What a study's `did.launch_event_study` design hands the DiD notebook, pickled as its spec."""
    import attribution as at

    con = at.connect()
    at.simulate.staggered_rollout(n_markets=8, n_periods=10, components=("K",), seed=5, con=con)
    result = at.did.launch_event_study(
        con.table("surface_panel"),
        con.table("launch_log"),
        component="K",
        yname="engagement",
        unit="unit",
        time="period",
    )
    spec = out / "study_result.pkl"
    spec.write_bytes(pickle.dumps(result))
    return spec


def _run(name: str, template: Path, params: dict, out: Path):
    try:  # no cwd: papermill would chdir the whole process, and the kernels run concurrently
        nb = execute_notebook(template, out / f"{name}.ipynb", parameters=params, timeout=600)
    except ReportError as exc:  # reported by the tests below, with the partial notebook
        return None, str(exc)
    render_html(nb, out / f"{name}.html", title=name)
    return nb, None


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("notebooks")
    fake = out / "fake_study"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text(FAKE_STUDY)
    jobs = {}
    for name in TEMPLATES:
        takes = "result_path" in _parameters(name)
        params = {"result_path": str(out / f"{name}.pkl")} if takes else {}
        jobs[name] = (notebook_template(name), params)
    spec = _study_result(out)
    jobs[STUDY_RUN] = (
        notebook_template("did_report"),
        {
            "spec_path": str(spec),
            "design_id": "rollout_K",
            "database": str(out / "warehouse.duckdb"),
            "result_path": str(out / f"{STUDY_RUN}.pkl"),
        },
    )
    with pytest.MonkeyPatch.context() as mp:
        # kernels import this checkout (and the stand-in Study), and share the two cores politely
        path = [str(fake), str(REPO), os.environ.get("PYTHONPATH")]
        mp.setenv("PYTHONPATH", os.pathsep.join(p for p in path if p))
        mp.setenv("OMP_NUM_THREADS", "1")
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {n: pool.submit(_run, n, t, p, out) for n, (t, p) in jobs.items()}
            runs = {n: f.result() for n, f in futures.items()}
    runs["__out__"] = out
    return runs


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _texts(nb: nbformat.NotebookNode) -> str:
    parts = []
    for o in _outputs(nb):
        if "text" in o:
            parts.append(o["text"])
        for mime in ("text/markdown", "text/plain", "text/html"):
            parts.append(o.get("data", {}).get(mime, ""))
    return "\n".join(parts)


def test_the_design_templates_are_there():
    assert set(DESIGN_NOTEBOOKS) <= set(TEMPLATES)
    assert design_template("did.launch_event_study").name == "did_report.ipynb"
    assert design_template("graph").name == "dml_report.ipynb"
    with pytest.raises(ReportError, match="no report notebook"):
        design_template("bayes.magic")


@pytest.mark.parametrize("name", DESIGN_NOTEBOOKS)
def test_design_templates_take_the_study_parameters(name):
    nb = nbformat.read(notebook_template(name), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one papermill parameters cell"
    params = _parameters(name)
    for p in STUDY_PARAMETERS:
        assert params[p]["default"] == "None", f"{p} must default to None (standalone mode)"
    # one estimate cell for both modes: the rest of the notebook reads only the result
    estimating = [c for c in nb.cells if "study.estimate(design_id)" in c.source]
    assert len(estimating) == 1
    assert "pickle.dumps(result)" in estimating[0].source
    assert nb.cells[0].cell_type == "markdown"


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_runs_standalone_without_errors(executed, name):
    nb, error = executed[name]
    assert error is None, error
    errors = [o for o in _outputs(nb) if o["output_type"] == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    figures = [o for o in _outputs(nb) if "image/png" in o.get("data", {})]
    assert figures, "at least one figure"


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_states_its_headline(executed, name):
    nb, error = executed[name]
    assert error is None, error
    pickled = executed["__out__"] / f"{name}.pkl"
    if "result_path" not in _parameters(name):
        pytest.skip(f"{name} takes no result_path")
    result = pickle.loads(pickled.read_bytes())
    headline = result.headline
    assert headline.text() in _texts(nb)
    page = html.unescape((executed["__out__"] / f"{name}.html").read_text())
    assert f"{headline.estimate:.4g}" in page
    assert "data:image/png;base64" in page
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page), "nothing loaded from elsewhere"
    assert "Traceback" not in page
    assert "Provenance" in page


def test_in_a_study_the_body_reads_the_result_it_is_handed(executed):
    nb, error = executed[STUDY_RUN]
    assert error is None, error
    out = executed["__out__"]
    calls = json.loads((out / "study_result.pkl.calls.json").read_text())
    assert calls == {
        "spec_path": str(out / "study_result.pkl"),
        "database": str(out / "warehouse.duckdb"),
        "design_id": "rollout_K",
    }
    handed = pickle.loads((out / "study_result.pkl").read_bytes())
    pickled = pickle.loads((out / f"{STUDY_RUN}.pkl").read_bytes())
    assert pickled.headline == handed.headline
    assert not [o for o in _outputs(nb) if o["output_type"] == "error"]
    text = _texts(nb)
    assert handed.headline.text() in text
    assert "HonestDiD" in (out / f"{STUDY_RUN}.html").read_text()
    assert "breakdown value" in text  # the sensitivity analysis ran on the study's event study
    figures = [o for o in _outputs(nb) if "image/png" in o.get("data", {})]
    assert len(figures) >= 2  # the event study and the sensitivity plot
    assert "No ground truth given" in text


def test_kernel_start_up_notices_stay_off_the_terminal(tmp_path, capfd):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "py"}}
    )
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
    template = tmp_path / "tiny.ipynb"
    nbformat.write(nb, template)
    execute_notebook(template, tmp_path / "out.ipynb", parameters={"x": 2})
    err = capfd.readouterr().err
    assert "[IPKernelApp] WARNING" not in err, err
