"""Every report template in notebooks/ runs headless in standalone mode (small simulated data) and
renders to self-contained HTML; the design templates take the study parameters.

The templates are executed once per module, concurrently (one kernel each: kernel start-up and
imports dominate, and the machine has two cores). Standalone mode is what a template does without
a `spec_path`; `result_path`, given here, only adds the pickled Result the assertions compare with.
"""

from __future__ import annotations

import html
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


def _run(name: str, out: Path) -> tuple[nbformat.NotebookNode | None, str | None]:
    params = {"result_path": str(out / f"{name}.pkl")} if "result_path" in _parameters(name) else {}
    try:
        nb = execute_notebook(
            notebook_template(name), out / f"{name}.ipynb", parameters=params, cwd=out, timeout=600
        )
    except ReportError as exc:  # reported by the tests below, with the partial notebook
        return None, str(exc)
    render_html(nb, out / f"{name}.html", title=name)
    return nb, None


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, tuple[nbformat.NotebookNode | None, str | None]]:
    out = tmp_path_factory.mktemp("notebooks")
    with pytest.MonkeyPatch.context() as mp:
        # kernels import this checkout (not another install) and share the two cores politely
        mp.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        )
        mp.setenv("OMP_NUM_THREADS", "1")
        with ThreadPoolExecutor(max_workers=len(TEMPLATES)) as pool:
            runs = dict(zip(TEMPLATES, pool.map(lambda n: _run(n, out), TEMPLATES), strict=True))
    runs["__out__"] = out  # type: ignore[assignment]
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
