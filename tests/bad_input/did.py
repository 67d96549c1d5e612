"""did entry points for the bad-input catalogue."""

from __future__ import annotations

from tests.bad_input.registry import Entry

ENTRIES: dict[str, Entry] = {}
