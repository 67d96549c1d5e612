"""Where the project's shipped files live: data contracts and report notebook templates.

In a source checkout (or an editable install) they are the top-level ``data_contracts/`` and
``notebooks/`` folders; a wheel installs the same files under ``<prefix>/share/attribution/``
(pyproject's data-files). An environment variable overrides both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["resource_dir"]

_REPO_ROOT = Path(__file__).resolve().parents[1]


def resource_dir(name: str, *, env_var: str) -> Path | None:
    """The folder `name` ("data_contracts" or "notebooks"), or None if it is nowhere to be found.

    Looked up in order: ``$env_var`` (returned even if missing, so the caller can say so), the
    source checkout, then ``<sys.prefix>/share/attribution/<name>`` of an installed wheel.
    """
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    for candidate in (_REPO_ROOT / name, Path(sys.prefix) / "share" / "attribution" / name):
        if candidate.is_dir():
            return candidate
    return None
