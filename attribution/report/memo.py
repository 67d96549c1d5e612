"""The one-page leadership memo, rendered from a study summary (Markdown and self-contained HTML)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import mistune

from attribution.report.io import atomic_write_text

__all__ = ["render_memo", "write_memo"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("attribution.report", "templates"),
    autoescape=False,  # Markdown output; the HTML version escapes through mistune
    undefined=jinja2.StrictUndefined,
    trim_blocks=False,
)


class _Dot(dict):
    """Attribute access for template readability (s.total.pct)."""

    def __getattr__(self, key: str) -> Any:
        try:
            value = self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc
        return _wrap(value)


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _Dot(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def render_memo(summary: Mapping[str, Any]) -> tuple[str, str]:
    """(markdown, html) of the memo for a `result_summary` dict."""
    s = _wrap(dict(summary))
    s.setdefault("truth_text", None)
    md = _ENV.get_template("memo.md.j2").render(s=s)
    body = mistune.html(md)
    page = _ENV.get_template("page.html.j2").render(title=summary["title"], body=body, footer="")
    return md, page


def write_memo(
    summary_or_path: Mapping[str, Any] | str | Path, out_dir: str | Path
) -> tuple[Path, Path]:
    """Write memo.md and memo.html (atomically) into `out_dir`; accepts the summary or its JSON file."""
    summary = (
        json.loads(Path(summary_or_path).read_text())
        if isinstance(summary_or_path, str | Path)
        else summary_or_path
    )
    md, html = render_memo(summary)
    out = Path(out_dir)
    return atomic_write_text(out / "memo.md", md), atomic_write_text(out / "memo.html", html)
