"""Contracts and notebook templates are found in a checkout, in an installed wheel, or via env vars."""

from __future__ import annotations

import sys
from pathlib import Path

from attribution import resources
from attribution.data.contracts import available_contracts
from attribution.report.notebook import notebook_template

ROOT = Path(__file__).resolve().parents[1]


def test_source_checkout_is_found() -> None:
    assert (
        resources.resource_dir("data_contracts", env_var="NO_SUCH_VAR") == ROOT / "data_contracts"
    )


def test_wheel_install_location_is_used_outside_a_checkout(tmp_path, monkeypatch) -> None:
    shared = tmp_path / "prefix" / "share" / "attribution"
    (shared / "data_contracts").mkdir(parents=True)
    (shared / "notebooks").mkdir()
    for name in ("factorial_experiment.yaml", "launch_log.yaml"):
        (shared / "data_contracts" / name).write_text((ROOT / "data_contracts" / name).read_text())
    (shared / "notebooks" / "factorial_report.ipynb").write_text("{}")
    monkeypatch.setattr(resources, "_REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.delenv("ATTRIBUTION_CONTRACTS_DIR", raising=False)
    monkeypatch.delenv("ATTRIBUTION_NOTEBOOKS_DIR", raising=False)
    assert available_contracts() == ("factorial_experiment", "launch_log")
    assert notebook_template("factorial_report") == shared / "notebooks" / "factorial_report.ipynb"


def test_nothing_found_is_none(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(resources, "_REPO_ROOT", tmp_path)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert resources.resource_dir("notebooks", env_var="NO_SUCH_VAR") is None
