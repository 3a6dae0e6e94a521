"""Metadata parquet parts: the export rows split by row count, written with fixed settings.

Every writer option is pinned (compression, level, row groups, page sizes, format version), and
Arrow's parquet writer stores no timestamps, so equal tables give byte-identical files with the
same pyarrow version. `ROW_GROUP_SIZE` keeps row groups small enough for loaders that read one
row group at a time (HuggingFace `datasets` does).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_ROWS_PER_PART = 100_000
ROW_GROUP_SIZE = 10_000


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialize `table` to parquet with pinned writer settings."""
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        row_group_size=ROW_GROUP_SIZE,
        version="2.6",
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        data_page_size=1 << 20,
        data_page_version="1.0",
        write_page_index=False,
        store_schema=True,
    )
    return sink.getvalue()


def split_rows(table: pa.Table, rows_per_part: int) -> Iterator[pa.Table]:
    """Consecutive slices of at most `rows_per_part` rows; one empty slice for an empty table,
    so every version has at least one part that carries the schema."""
    if rows_per_part < 1:
        raise ValueError(f"rows_per_part must be positive, got {rows_per_part}")
    if table.num_rows == 0:
        yield table
        return
    for start in range(0, table.num_rows, rows_per_part):
        yield table.slice(start, rows_per_part)
