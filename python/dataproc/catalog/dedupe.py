"""One catalog row per image key: the first copy by (`uri`, `offset`) wins.

The same key can turn up twice: a file and a shard member, two shards, or two extensions of
one post. Which copy is kept depends only on where the copies are, so reruns agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from dataproc.catalog import rows
from dataproc.catalog.rows import CatalogRow, RejectRow


def dedupe(candidates: Iterable[CatalogRow]) -> tuple[list[CatalogRow], list[RejectRow]]:
    """The kept rows, and a `duplicate_key` reject for every other copy."""
    kept: dict[str, CatalogRow] = {}
    rejects: list[RejectRow] = []
    for row in sorted(candidates, key=lambda row: (row.image_key, row.uri, row.offset)):
        first = kept.get(row.image_key)
        if first is None:
            kept[row.image_key] = row
            continue
        rejects.append(
            RejectRow(
                image_key=row.image_key,
                source=row.source,
                uri=row.uri,
                member=row.member,
                reason=rows.DUPLICATE_KEY,
                detail=f"kept {first.uri} at offset {first.offset}",
                position=row.offset,
            )
        )
    return list(kept.values()), rejects
