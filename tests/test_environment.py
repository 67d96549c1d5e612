"""The environment files agree, and the installed packages are the pinned ones."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_pins() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])


def _environment_pins() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml must have exactly one pip section"
    return list(pip[0]["pip"])


def _split(pin: str) -> tuple[str, str]:
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)", pin.strip())
    assert m, f"{pin!r} is not an exact pin (name==version)"
    return m.group(1).lower(), m.group(3)


def test_environment_yml_matches_pyproject() -> None:
    assert sorted(_pyproject_pins()) == sorted(_environment_pins())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    py = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert py == ["python=3.11"]


def test_every_dependency_is_pinned_and_installed_at_that_version() -> None:
    for pin in _pyproject_pins():
        name, version = _split(pin)
        assert importlib.metadata.version(name) == version, f"{name} installed != pinned {version}"


def test_constraints_agree_with_pins() -> None:
    constraints = dict(
        _split(line)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for pin in _pyproject_pins():
        name, version = _split(pin)
        assert constraints.get(name) == version, f"constraints.txt disagrees on {name}"
