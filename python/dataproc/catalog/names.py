"""Names to keys: which lake entries are images, which are sidecars, which are unsafe.

A lake entry (a file under `images/<source>/` or a member of a shard) is named `<key>.<ext>`.
The key is the base name up to its last dot, so it is the file stem; the extension decides
whether the entry is an image, a metadata sidecar or something the pipeline does not take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif"})
"""Extensions the pipeline catalogs as images (compared lowercase)."""

SIDECAR_EXTENSIONS = frozenset({"json", "txt"})
"""Metadata written beside images (WebDataset `<key>.json`); skipped without a reject."""

_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class NameParts:
    """A base name split into key and extension; either may be empty."""

    key: str
    ext: str


def split_name(name: str) -> NameParts:
    """Split `dir/<key>.<ext>` into key and lowercase extension (without the dot).

    The directory part is dropped: for files it only spreads images over folders, and for
    shard members WebDataset keys are flat. `a.b.png` gives key `a.b`, like a file stem.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        return NameParts(key=base, ext="")
    return NameParts(key=stem, ext=ext.lower())


def unsafe_name_reason(name: str) -> str | None:
    """`absolute_path` or `path_traversal` when extracting `name` could escape its folder.

    Backslashes count as separators, and any `..` component is refused, even one that a
    normalizer would fold away (`a/../b.png`): an honest writer never produces one.
    """
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE_LETTER.match(normalized):
        return "absolute_path"
    if ".." in normalized.split("/"):
        return "path_traversal"
    return None
