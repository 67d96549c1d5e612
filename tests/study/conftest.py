"""Shared fixtures of the study tests: one small simulated homefeed database per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from attribution.study.sources import simulate_homefeed

BASE = """\
study: tiny_study
title: A tiny study
seed: 3
alpha: 0.05
population: 100000
data:
  duckdb: {db}
tables:
  experiment: {{table: factorial_experiment, contract: factorial_experiment}}
components:
  - {{name: E, column: E, owner: Embeddings, cost_per_period: 10}}
  - {{name: R, column: R}}
  - {{name: K, column: K, cost_per_period: 5}}
metrics:
  primary: {{name: engagement, column: engagement, direction: increase, value_per_unit: 0.01}}
  guardrails:
    - {{name: latency, column: latency_ms, direction: decrease, tolerated_loss_pct: 2.0}}
designs:
  - id: factorial
    design: factorial
    table: experiment
    estimates: [E, R, K]
    options: {{covariate: pre_engagement, vcov: HC2}}
launch:
  primary: {{min_lift_pct: 0.0}}
  guardrails: true
  diagnostics: [contract, srm]
  power: 0.8
"""


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based line of the `nth` line containing `needle`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) > nth, f"{needle!r} not in the spec"
    return hits[nth]


@pytest.fixture(scope="session")
def homefeed_db(tmp_path_factory) -> Path:
    """The homefeed simulation, small (a few seconds), written once."""
    db = tmp_path_factory.mktemp("homefeed") / "data" / "study.duckdb"
    simulate_homefeed(db, n_users=4_000, n_exposure_users=500, seed=5)
    return db


@pytest.fixture
def base_text(homefeed_db) -> str:
    """The tiny spec over the session database (a valid spec)."""
    return BASE.format(db=str(homefeed_db))


@pytest.fixture
def write_spec(tmp_path):
    """write_spec(text) -> the path of a spec file holding `text`."""

    def make(text: str, name: str = "study.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return make
