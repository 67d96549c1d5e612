"""Shared fixtures: engines (pandas, DuckDB, local Spark) holding the same table."""

from __future__ import annotations

import os

# One OpenMP / BLAS thread per test process, set before numpy or scikit-learn load their thread pools:
# `make test` runs two pytest workers on the two cores of the CI machine, and multi-threaded gradient
# boosting inside each worker oversubscribes them (256 s against 27 s for the double-ML tests on a
# loaded machine, identical numbers). DuckDB's own threads are not affected.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import itertools  # noqa: E402
from collections.abc import Callable  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import attribution as at  # noqa: E402

_names = itertools.count()


@pytest.fixture(scope="session")
def duckdb_backend():
    return at.connect()


@pytest.fixture(scope="session")
def spark_backend():
    """One local Spark session for the whole run (starting Spark costs several seconds)."""
    pytest.importorskip("pyspark")
    con = at.connect("spark")
    yield con
    con._session.stop()


def put(backend, frame: pd.DataFrame):
    """Copy `frame` into `backend` as a fresh temporary table (a temp view on Spark) and return it."""
    name = f"t_{next(_names)}"
    if (
        backend.name == "pyspark"
    ):  # ibis 12's pyspark backend has no temp tables; a temp view writes nothing
        # pandas 3 string columns defeat pyspark 4.0's Arrow path (a 10x slower fallback): pass objects.
        strings = {c: object for c in frame.columns if pd.api.types.is_string_dtype(frame[c])}
        backend._session.createDataFrame(frame.astype(strings)).createOrReplaceTempView(name)
        return backend.table(name)
    return backend.create_table(name, frame, temp=True)


@pytest.fixture(params=["pandas", "duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request) -> Callable[[pd.DataFrame], object]:
    """Parametrised: turns a pandas frame into the input for that engine."""
    if request.param == "pandas":
        return lambda frame: frame
    backend = request.getfixturevalue(f"{request.param}_backend")
    return lambda frame: put(backend, frame)


# ------------------------------------------------------------------------------------------------
# one study run per test session: the shipped example with smaller simulated data
# ------------------------------------------------------------------------------------------------
EXAMPLE_SPEC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples", "homefeed.yaml")
SMALL_EXAMPLE = {
    # the example's simulation sizes -> a few seconds of estimation per design
    "n_users: 40000": "n_users: 6000",
    "n_exposure_users: 3000": "n_exposure_users: 600",
    "n_reps: 50": "n_reps: 20",
}


@pytest.fixture(scope="session")
def example_study(tmp_path_factory):
    """`Study.run` on examples/homefeed.yaml with smaller simulation sizes (same designs, tables,
    components, metrics and launch criteria), notebooks included, once per test session — once
    across pytest-xdist workers too: the first worker to get here builds it under a file lock in
    the folder all workers share, the others wait and read it. Returns (output folder, the spec
    written, the progress printed). Shared by the study end-to-end tests and the browser test."""
    import contextlib
    import fcntl
    import io
    from pathlib import Path

    from attribution.study import Study

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above every worker's own
    root = shared / "example_study"
    spec, progress, out = root / "homefeed_small.yaml", root / "progress.txt", root / "out"
    with open(shared / "example_study.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not progress.exists():
            text = Path(EXAMPLE_SPEC).read_text()
            for old, new in SMALL_EXAMPLE.items():
                assert old in text, (
                    f"examples/homefeed.yaml no longer says {old!r}: update SMALL_EXAMPLE"
                )
                text = text.replace(old, new)
            root.mkdir(parents=True, exist_ok=True)
            spec.write_text(text)
            repo = str(Path(EXAMPLE_SPEC).parents[1])
            err = io.StringIO()
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SOURCE_DATE_EPOCH", "1764806400")
                # the notebook kernels are new processes: they must import this checkout
                mp.setenv(
                    "PYTHONPATH",
                    os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])),
                )
                with contextlib.redirect_stderr(err):
                    out = Study.from_yaml(spec).run(out, progress=True)
            progress.write_text(err.getvalue())  # last: its presence says the study is complete
    return out, spec, progress.read_text()
