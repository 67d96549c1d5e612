"""Atomic file output: a reader never sees a half-written report, and a failed run leaves the old one."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from attribution.results import to_jsonable

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_text", "staged_folder"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


JSON_DIGITS = 12
"""Significant digits of every number written to JSON. Engines sum floats across threads in a varying
order, so the last bits of an estimate can differ between two runs of the same call (DuckDB: about
1e-15 relative); 12 digits keep far more precision than any interval needs and make reruns write
byte-identical files."""


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Strict JSON (NaN → null, numbers at `JSON_DIGITS` significant digits), written atomically."""
    data = _round_floats(to_jsonable(obj))
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _round_floats(obj: Any) -> Any:
    if isinstance(obj, float):
        return float(f"{obj:.{JSON_DIGITS}g}")
    if isinstance(obj, dict):
        return {k: _round_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_floats(v) for v in obj]
    return obj


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh temporary folder beside `target` that replaces `target` only if the block succeeds.

    On failure the temporary folder is removed and `target` (an earlier good output) is untouched.
    The swap renames the old folder aside first, so a reader sees either the old or the new one.
    """
    target = Path(target)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        from attribution.errors import ReportError

        raise ReportError(
            f"cannot write into {str(parent)!r}: {exc.strerror or exc}",
            fix="choose an output folder you can write to",
        ) from exc
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
        os.replace(target, old / target.name)
    os.replace(work, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
