"""Build the image catalog of a lake: list `images/`, index `shards/`, dedupe, tabulate.

This is the executor of the catalog step; naming rules live in `classify`, tar parsing in
`tar_header`/`tar_index`, and object listing in `listing`. Shards are indexed on a thread
pool (obstore releases the GIL while it waits on IO); output order does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dataproc.catalog import rows
from dataproc.catalog.classify import classify_file, classify_shard
from dataproc.catalog.dedupe import dedupe
from dataproc.catalog.listing import (
    IMAGES,
    SHARDS,
    LakeObject,
    discover_sources,
    list_objects,
    select_sources,
)
from dataproc.catalog.ranged import DEFAULT_READ_AHEAD
from dataproc.catalog.rows import CatalogRow, RejectRow
from dataproc.catalog.tables import catalog_table, rejects_table
from dataproc.catalog.tar_index import ShardIndex, index_shard
from dataproc.lake import open_store

DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class ShardStats:
    """IO spent on one shard: its size, and the bytes and requests its index fetched."""

    uri: str
    size: int
    bytes_read: int
    requests: int


@dataclass(frozen=True)
class CatalogResult:
    """The catalog table, the rejects table, and per-shard IO figures."""

    catalog: pa.Table
    rejects: pa.Table
    shards: tuple[ShardStats, ...]


def scan_lake(
    root: str,
    sources: Sequence[str] | None = None,
    *,
    read_ahead: int = DEFAULT_READ_AHEAD,
    workers: int = DEFAULT_WORKERS,
) -> CatalogResult:
    """Catalog the lake at `root` (a directory or `s3://bucket/prefix`; S3 from AWS_* env)."""
    return scan_store(open_store(root), sources, read_ahead=read_ahead, workers=workers)


def scan_store(
    store: Any,
    sources: Sequence[str] | None = None,
    *,
    read_ahead: int = DEFAULT_READ_AHEAD,
    workers: int = DEFAULT_WORKERS,
) -> CatalogResult:
    """Catalog an obstore store rooted at the lake; `sources` None means every source found."""
    candidates: list[CatalogRow] = []
    rejects: list[RejectRow] = []

    def collect(row: CatalogRow | RejectRow | None) -> None:
        if isinstance(row, CatalogRow):
            candidates.append(row)
        elif row is not None:
            rejects.append(row)

    shard_jobs: list[tuple[str, LakeObject]] = []
    for source in select_sources(discover_sources(store), sources):
        for obj in list_objects(store, f"{IMAGES}/{source}"):
            collect(classify_file(source, obj.path, obj.size))
        for obj in list_objects(store, f"{SHARDS}/{source}"):
            if obj.path.lower().endswith(".tar"):
                shard_jobs.append((source, obj))
            else:
                collect(_unsupported_shard(source, obj))

    indexes = _index_shards(store, [obj for _, obj in shard_jobs], read_ahead, workers)
    for (source, _), index in zip(shard_jobs, indexes, strict=True):
        for row in classify_shard(source, index):
            collect(row)

    kept, duplicates = dedupe(candidates)
    stats = tuple(
        ShardStats(
            uri=index.path, size=index.size, bytes_read=index.bytes_read, requests=index.requests
        )
        for index in indexes
    )
    return CatalogResult(
        catalog=catalog_table(kept), rejects=rejects_table(rejects + duplicates), shards=stats
    )


def _index_shards(
    store: Any, shards: list[LakeObject], read_ahead: int, workers: int
) -> list[ShardIndex]:
    """Index every shard, in input order, `workers` at a time."""
    if not shards:
        return []

    def index(obj: LakeObject) -> ShardIndex:
        return index_shard(store, obj.path, obj.size, read_ahead=read_ahead)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(shards)))) as pool:
        return list(pool.map(index, shards))


def _unsupported_shard(source: str, obj: LakeObject) -> RejectRow:
    return RejectRow(
        image_key=None,
        source=source,
        uri=obj.path,
        member=None,
        reason=rows.UNSUPPORTED_SHARD,
        detail="shards must be uncompressed .tar files",
    )
