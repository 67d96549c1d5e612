"""The README's code runs as written (in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    head = README.read_text().split("##")[0]
    assert "make demo" in head and "make test" in head


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_code_block_runs(index: int, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = _blocks()[index]
    if "attribution as at" not in code:
        code = "import attribution as at\n" + code
    exec(compile(code, f"README.md block {index}", "exec"), {})
