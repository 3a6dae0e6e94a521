"""Unusual-but-valid encodings and hostile cases, placed on a few images per source.

Unusual encodings (CMYK JPEG, 16-bit PNG, palette PNG with transparency, RGBA PNG, animated GIF,
animated WebP) are properties of a file, so every post sharing the file shows them. Hostile cases
are properties of one stored copy: the metadata still describes the intended file, but the bytes
at that key are broken or absent. Orphans and odd tar member names belong to no post at all.
"""

from __future__ import annotations

import numpy as np

from dataproc.demo import codes as c
from dataproc.demo.hashing import sorted_unique
from dataproc.demo.ledger import FileTable, Ledger
from dataproc.demo.model import Extras, SourcePlan
from dataproc.demo.timeline import free_ids

UNUSUAL_PER = 200  # one of each unusual encoding per this many posts (at least one)
HOSTILE_PER = 500  # one of each hostile case per this many posts (at least one)
UNUSUAL_KINDS = (
    c.CMYK_JPEG,
    c.GRAY16_PNG,
    c.PALETTE_PNG,
    c.RGBA_PNG,
    c.ANIMATED_GIF,
    c.ANIMATED_WEBP,
)
HOSTILE_KINDS = (c.CORRUPT, c.ZERO_BYTE, c.NOT_IMAGE, c.HUGE_DIMENSIONS, c.MISSING_IMAGE)


def few(posts: int, per: int) -> int:
    return max(1, posts // per)


def assign_unusual(
    plans: dict[str, SourcePlan], files: FileTable, posts: int, rng: np.random.Generator
) -> None:
    """Re-encode a few original files per source in an unusual but valid way."""
    per_kind = few(posts, UNUSUAL_PER)
    taken = np.zeros(len(files), dtype=bool)
    for source in c.SOURCES:
        plan = plans[source]
        owned = sorted_unique(plan.uid[(plan.uid >= 0) & (plan.transform == c.ORIGINAL)])
        candidates = rng.permutation(owned)
        candidates = candidates[~taken[candidates]]
        for i, kind in enumerate(UNUSUAL_KINDS):
            pick = candidates[i * per_kind : (i + 1) * per_kind]
            files.unusual[pick] = kind
            files.ext[pick] = c.UNUSUAL_EXT[kind]
            taken[pick] = True


def assign_hostile(
    plans: dict[str, SourcePlan], files: FileTable, posts: int, rng: np.random.Generator
) -> None:
    """Mark a few images per source whose stored bytes will be broken or missing."""
    per_kind = few(posts, HOSTILE_PER)
    for source in c.SOURCES:
        plan = plans[source]
        plan.hostile = np.zeros(len(plan.uid), dtype=np.int8)
        has = plan.uid >= 0
        ext = np.where(has, files.ext[np.maximum(plan.uid, 0)], -1)
        plain = has & (files.unusual[np.maximum(plan.uid, 0)] == c.PLAIN)
        for kind in HOSTILE_KINDS:
            eligible = plain & (plan.hostile == c.HARMLESS)
            if kind == c.NOT_IMAGE:
                eligible &= ext == c.JPG
            elif kind == c.HUGE_DIMENSIONS:
                eligible &= ext == c.PNG
            pool = np.flatnonzero(eligible)
            pick = rng.choice(pool, size=min(per_kind, len(pool)), replace=False)
            plan.hostile[pick] = kind


def plan_extras(
    plans: dict[str, SourcePlan], ledger: Ledger, posts: int, rng: np.random.Generator
) -> dict[str, Extras]:
    """Orphan images for every source, plus `../` and absolute member names in shards."""
    extras = {}
    for source in c.SOURCES:
        kinds = [c.ORPHAN] * few(posts, HOSTILE_PER)
        if source in c.SHARD_SOURCES:
            kinds += [c.PATH_TRAVERSAL, c.ABSOLUTE_PATH]
        key_id = free_ids(plans[source].post_id, len(kinds), rng)
        pictures = ledger.new_pictures(len(kinds))
        ext = np.where(rng.random(len(kinds)) < 0.5, c.PNG, c.JPG).astype(np.int8)
        uid = ledger.new_files(pictures, c.ORIGINAL, ext)
        extras[source] = Extras(key_id=key_id, uid=uid, kind=kinds)
    return extras
