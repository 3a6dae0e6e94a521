"""WebDataset shards of an export: per image `<image_id>.<ext>`, `.json` and `.txt` members.

`.<ext>` holds the image bytes exactly as stored in the lake (copied by ranged reads), `.json`
the image's metadata row (the same row as in the metadata parquet, canonical JSON) and `.txt`
its prompt in UTF-8. Shards hold consecutive rows in image_id order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from dataproc.export.images import fetch_images
from dataproc.export.jsonrow import canonical_json
from dataproc.export.rows import ID_COLUMN, PROMPT_COLUMN, ImageColumns
from dataproc.export.tarshard import tar_bytes


def shard_members(
    records: list[dict[str, Any]], images: list[bytes], columns: ImageColumns
) -> Iterator[tuple[str, bytes]]:
    """The tar members of the images `records`, whose bytes are `images`."""
    for record, image in zip(records, images, strict=True):
        key = record[ID_COLUMN]
        yield f"{key}.{record[columns.ext]}", image
        yield f"{key}.json", canonical_json(record)
        yield f"{key}.txt", record[PROMPT_COLUMN].encode("utf-8")


def build_shard(store: Any, rows: pa.Table, columns: ImageColumns) -> bytes:
    """One shard's tar bytes for `rows`, with image bytes read from the lake `store`."""
    images = fetch_images(
        store,
        rows[ID_COLUMN].to_pylist(),
        rows[columns.uri].to_pylist(),
        rows[columns.offset].to_pylist(),
        rows[columns.length].to_pylist(),
    )
    return tar_bytes(shard_members(rows.to_pylist(), images, columns))


def split_shards(table: pa.Table, shard_size: int) -> Iterator[pa.Table]:
    """Consecutive slices of `shard_size` rows (none for an empty table)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    for start in range(0, table.num_rows, shard_size):
        yield table.slice(start, shard_size)
