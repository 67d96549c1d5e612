"""Execute a parameterised notebook template headless (papermill) and render it to self-contained HTML.

The HTML uses nbconvert's `basic` template (no CDN scripts) inside our own page, with code cells hidden and
figures embedded as data URIs, so a report opens offline and can be mailed as one file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
import nbformat

from attribution.errors import ReportError
from attribution.report.io import atomic_write_bytes, atomic_write_text
from attribution.resources import resource_dir

__all__ = [
    "DESIGN_TEMPLATES",
    "design_template",
    "execute_notebook",
    "list_templates",
    "notebook_template",
    "render_html",
]

DESIGN_TEMPLATES: Mapping[str, str] = MappingProxyType(
    {
        "factorial": "factorial_report",
        "did": "did_report",
        "synth": "synth_report",
        "dml": "dml_report",
        "graph": "dml_report",
    }
)
"""The report template of each design family (a study's design name up to its first dot). Each
takes the study parameters ``spec_path``, ``design_id``, ``database`` and ``result_path``, and runs
standalone on small simulated data when given none."""

KERNEL_LOG_LEVEL = "ERROR"
"""The notebook kernels' own log level: warnings at start-up are noise to a study's reader."""

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("attribution.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
)


def _folder() -> Path | None:
    return resource_dir("notebooks", env_var="ATTRIBUTION_NOTEBOOKS_DIR")


def list_templates() -> list[str]:
    """Names of the notebook templates found (``notebooks/*.ipynb`` without the suffix), sorted."""
    folder = _folder()
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.ipynb"))


def design_template(design: str) -> Path:
    """The report template of a study design name: ``did.launch_event_study`` → did_report.ipynb."""
    family = str(design).split(".", 1)[0]
    if family not in DESIGN_TEMPLATES:
        raise ReportError(
            f"no report notebook for design {design!r}",
            fix=f"design families with a notebook: {sorted(DESIGN_TEMPLATES)}",
        )
    return notebook_template(DESIGN_TEMPLATES[family])


def notebook_template(name: str) -> Path:
    """Path of ``notebooks/<name>.ipynb`` (see `attribution.resources`; ATTRIBUTION_NOTEBOOKS_DIR
    overrides the folder)."""
    folder = _folder()
    path = folder / f"{name}.ipynb" if folder is not None else None
    if path is None or not path.exists():
        available = list_templates()
        raise ReportError(
            f"notebook template {name!r} not found in {folder}",
            fix=f"available templates: {available}; or set ATTRIBUTION_NOTEBOOKS_DIR",
        )
    return path


def execute_notebook(
    template: Path,
    out_ipynb: Path,
    *,
    parameters: Mapping[str, Any],
    cwd: Path | None = None,
    timeout: int = 1800,
) -> nbformat.NotebookNode:
    """Run `template` with `parameters` injected; write the executed notebook atomically to `out_ipynb`."""
    import papermill as pm

    out_ipynb = Path(out_ipynb)
    out_ipynb.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / out_ipynb.name
        try:
            pm.execute_notebook(
                str(template),
                str(scratch),
                parameters=dict(parameters),
                kernel_name="python3",
                progress_bar=False,
                cwd=str(cwd) if cwd else None,
                execution_timeout=timeout,
                # the kernel writes its start-up notices (e.g. "running over TCP without
                # encryption") to our terminal; its errors still show, and a failing cell raises
                extra_arguments=[f"--IPKernelApp.log_level={KERNEL_LOG_LEVEL}"],
            )
        except pm.PapermillExecutionError as exc:
            raise ReportError(
                f"report notebook {template.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}",
                fix=f"open the partially executed notebook for the traceback: {out_ipynb}",
            ) from exc
        finally:
            if scratch.exists():
                atomic_write_bytes(out_ipynb, scratch.read_bytes())
    return nbformat.read(out_ipynb, as_version=4)


def render_html(
    notebook: nbformat.NotebookNode, out_html: Path, *, title: str, footer: str = ""
) -> Path:
    """Self-contained HTML (no external scripts), code hidden, written atomically."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(notebook)
    page = _TEMPLATES.get_template("page.html.j2").render(
        title=title, body=jinja2.utils.markupsafe.Markup(body), footer=footer
    )
    return atomic_write_text(out_html, page)
