"""`Study`: a validated spec and its data; estimate one design, or run the whole study into a folder.

study = at.Study.from_yaml("examples/homefeed.yaml")   # static checks: nothing is read yet
study.check()                                            # tables, columns, contracts
study.estimate("factorial")                              # one design's Result
study.run("reports/homefeed")                            # everything, atomically
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attribution.options import check_bool
from attribution.progress import Steps
from attribution.report.io import atomic_write_json, staged_folder
from attribution.results import Result
from attribution.study import run as _run
from attribution.study.sources import Source, open_source
from attribution.study.spec import StudySpec, load_spec

__all__ = ["Study"]


class Study:
    """A study spec with its data source; see the module docstring."""

    def __init__(self, spec: StudySpec, *, database: str | os.PathLike[str] | None = None) -> None:
        self.spec = spec
        self.database = Path(database).resolve() if database is not None else None
        self._source: Source | None = None
        self._reports: dict[str, Any] | None = None

    @classmethod
    def from_yaml(
        cls, path: str | os.PathLike[str], *, database: str | os.PathLike[str] | None = None
    ) -> Study:
        """Read and statically validate a spec (syntax, keys, designs, options, launch criteria).

        `database`: a DuckDB file to read instead of the spec's (for a `simulation:` source, the
        file a study run already wrote; the design notebooks receive it)."""
        return cls(load_spec(path), database=database)

    def __repr__(self) -> str:
        return f"Study({self.spec.study!r}, {len(self.spec.designs)} designs, {self.spec.shown})"

    # -- data ------------------------------------------------------------------------------------
    def _open(self, *, workdir: Path | None = None, progress: bool = False) -> Source:
        if self._source is None:
            self._source = open_source(
                self.spec, database=self.database, workdir=workdir, progress=progress
            )
        return self._source

    def check(self) -> dict[str, Any]:
        """Dynamic validation before any estimate: the source opens, every table and every column the
        spec names exists, every contract passes. Returns the contract reports by table name."""
        if self._reports is None:
            self._reports = _run.check_study(self.spec, self._open())
        return self._reports

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the data source; a simulation written into a temporary folder is removed."""
        if self._source is not None:
            self._source.close()
        self._source = None
        self._reports = None

    @property
    def truth(self) -> Any:
        """The simulation's truth (simulation sources), else None."""
        return self._open().truth

    def table(self, name: str) -> Any:
        """The Ibis table of a logical table name of the spec."""
        self.check()
        return self._open().table(self.spec.tables[name].table)

    # -- estimates --------------------------------------------------------------------------------
    def estimate(self, design_id: str, *, metric: str | None = None) -> Result:
        """One design of the spec on the primary metric (or the metric named), after `check()`."""
        design = self.spec.design(design_id)
        m = self.spec.primary if metric is None else self.spec.metric(metric)
        reports = self.check()
        return _run.estimate_design(self.spec, self._open(), design, m, reports=reports)

    # -- the whole study --------------------------------------------------------------------------
    def run(
        self,
        out: str | os.PathLike[str] | None = None,
        *,
        notebooks: bool = True,
        progress: bool = False,
    ) -> Path:
        """Run the study into `out` (default reports/<study>) and return the folder.

        Built in a temporary folder beside `out` that replaces it only when everything succeeded:
        results.json, report.html, the design notebooks, the memo (md, html, pdf, waterfall)."""
        notebooks = check_bool("notebooks", notebooks)
        progress = check_bool("progress", progress)
        target = _run.check_out_dir(
            Path(out) if out is not None else Path("reports") / self.spec.study
        )
        steps = Steps(_run.n_steps(self.spec, notebooks=notebooks), enabled=progress)
        with _run.source_date_epoch(), _run.one_thread_per_process(), staged_folder(target) as work:
            self.close()
            try:
                with steps.step(f"opening the data ({self.spec.data.kind})"):
                    source = self._open(workdir=work)
                with steps.step("checking tables, columns and contracts"):
                    reports = self.check()
                given = (
                    _run.design_notebooks(self.spec, work, source.database, steps=steps)
                    if notebooks
                    else None
                )
                runs = _run.study_runs(self.spec, source, reports, steps=steps, given=given)
                with steps.step("triangulating and deciding"):
                    tri = _run.triangulate_runs(self.spec, runs)
                    decisions = _run.decide_runs(self.spec, runs, tri)
                with steps.step("writing results.json"):
                    results = _run.build_results(
                        self.spec, source, reports, runs, triangulation=tri, decisions=decisions
                    )
                    atomic_write_json(work / "results.json", results)
                self._render(work, notebooks=notebooks, steps=steps)
            finally:
                self.close()  # the staged folder moves: no connection may point into it
        return target

    def report(self, out: str | os.PathLike[str] | None = None, *, progress: bool = False) -> Path:
        """Re-render report.html and the memo from `out`/results.json, without estimating."""
        target = _run.check_out_dir(
            Path(out) if out is not None else Path("reports") / self.spec.study
        )
        _run.results_of(target)
        steps = Steps(2, enabled=check_bool("progress", progress))
        self._render(target, notebooks=True, steps=steps)
        return target

    def _render(self, folder: Path, *, notebooks: bool, steps: Steps) -> None:
        footer = (
            f"Generated by attribution from {_run.spec_display_path(self.spec)}. "
            f"Reproduce: attribution run {_run.spec_display_path(self.spec)} --out <folder>"
        )
        if notebooks:
            with steps.step("rendering report.html (study overview notebook)"):
                _run.overview_notebook(self.spec.title, folder, footer=footer)
        with steps.step("writing the memo"):
            _run.write_memo(folder / "results.json", folder)
