"""Read a list of source names from config, however it arrived.

dbt Python models cannot call `var()`; the enabled sources reach them through model `meta`,
where `"{{ var('enabled_sources') }}"` renders to the text of a Python list. A real list, a
JSON or Python list literal, and a comma- or space-separated string all parse the same.
"""

from __future__ import annotations

import ast
import json
import re

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def parse_source_list(value: object) -> list[str] | None:
    """Sorted unique source names, or None (meaning every source) for None or blank text."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in ("none", "null"):
            return None
        items = _parse_text(text)
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        raise ValueError(f"enabled sources must be a list of names, got {value!r}")
    names = []
    for item in items:
        if not isinstance(item, str) or not _NAME.match(item.strip()):
            raise ValueError(f"not a source name: {item!r} (in {value!r})")
        names.append(item.strip())
    return sorted(set(names))


def _parse_text(text: str) -> list[object]:
    if text[0] in "[(":
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(text)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, list | tuple):
                return list(parsed)
        raise ValueError(f"cannot read a source list from {text!r}")
    return [part for part in re.split(r"[,\s]+", text) if part]
