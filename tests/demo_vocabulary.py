"""The demo vocabulary's foreign names and the alias seed that resolves them, read from their
data files, with staging's tag normalization."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VOCABULARY = ROOT / "python" / "dataproc" / "demo" / "vocabulary.json"
ALIASES = ROOT / "seeds" / "tag_aliases.csv"
TAG_LISTS = ("count", "kaomoji", "general", "copyright", "character", "artist", "meta")


def normalize_tag(text: str) -> str:
    """Staging's normalization: lowercase, trimmed, runs of whitespace become `_`."""
    return re.sub(r"\s+", "_", text.strip().lower())


def vocabulary() -> dict[str, Any]:
    return json.loads(VOCABULARY.read_text(encoding="utf-8"))


def canonical_tags(vocab: dict[str, Any]) -> set[str]:
    return {entry["tag"] for name in TAG_LISTS for entry in vocab[name]}


def foreign_names(vocab: dict[str, Any], seeded: bool = True) -> list[tuple[str, str, str]]:
    """Every (raw foreign name, canonical tag, origin) the demo generator can emit, of the tags
    the alias seed covers (`seeded`) or of those it leaves out for the pipeline to learn."""
    names = []
    for entry in (entry for name in TAG_LISTS for entry in vocab[name]):
        if entry.get("seeded", True) != seeded:
            continue
        pixiv = entry.get("pixiv", [])
        names += [(name, entry["tag"], "pixiv") for name in pixiv]
        if pixiv and entry.get("translated"):
            names.append((entry["translated"], entry["tag"], "pixiv"))
        if entry["zerochan"] is not None:
            names.append((entry["zerochan"], entry["tag"], "zerochan"))
    return names


def alias_rows() -> list[dict[str, str]]:
    with ALIASES.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
