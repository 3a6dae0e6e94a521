"""List the image inputs of the lake: which sources exist, and their objects.

Sources are the folders under `images/` and `shards/`. Listing goes per source prefix, so a
source that is not enabled costs no listing requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import obstore

IMAGES = "images"
SHARDS = "shards"


@dataclass(frozen=True)
class LakeObject:
    """One object: its lake-relative path and size in bytes."""

    path: str
    size: int


def discover_sources(store: Any) -> list[str]:
    """Source names that have a folder under `images/` or `shards/`, sorted."""
    names: set[str] = set()
    for top in (IMAGES, SHARDS):
        listing = obstore.list_with_delimiter(store, top)
        names.update(prefix.rstrip("/").rsplit("/", 1)[-1] for prefix in listing["common_prefixes"])
    return sorted(names)


def select_sources(present: Iterable[str], wanted: Sequence[str] | None) -> list[str]:
    """`present` filtered by `wanted` (all of them when `wanted` is None), sorted."""
    present_set = set(present)
    if wanted is None:
        return sorted(present_set)
    return sorted(present_set & set(wanted))


def list_objects(store: Any, prefix: str) -> list[LakeObject]:
    """Every object under `prefix` (recursively), sorted by path."""
    found = [
        LakeObject(path=meta["path"], size=int(meta["size"]))
        for chunk in obstore.list(store, prefix, chunk_size=1000)
        for meta in chunk
    ]
    return sorted(found, key=lambda obj: obj.path)
