"""Writing the demo lake through obstore, local or S3, and clearing what a previous demo left.

The demo owns a fixed set of top-level prefixes. A lake that has data there but no demo ground
truth is someone's real lake, and the demo refuses to touch it.
"""

from __future__ import annotations

import io

import obstore
import pyarrow as pa
import pyarrow.parquet as pq

from dataproc.lake import open_store

DEMO_PREFIXES = ("raw/", "images/", "shards/", "metrics/", "ground_truth/")
MARKER = "ground_truth/pictures.parquet"


def parquet_bytes(table: pa.Table) -> bytes:
    """Parquet with fixed settings (zstd, no clock-dependent metadata)."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=250_000)
    return sink.getvalue()


class LakeWriter:
    """Puts objects under the lake root and remembers them, to remove stale ones at the end."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.store = open_store(root)
        self.written: set[str] = set()
        self.bytes_written = 0

    def put(self, path: str, data: bytes) -> None:
        obstore.put(self.store, path, data)
        self.written.add(path)
        self.bytes_written += len(data)

    def put_parquet(self, path: str, table: pa.Table) -> None:
        self.put(path, parquet_bytes(table))

    def existing(self) -> list[str]:
        """Paths under the demo prefixes that are already in the lake."""
        paths: list[str] = []
        for prefix in DEMO_PREFIXES:
            for batch in obstore.list(self.store, prefix=prefix):
                paths.extend(item["path"] for item in batch)
        return paths

    def check_replaceable(self) -> list[str]:
        """The lake's existing demo paths; fails if the lake holds data that is not a demo's."""
        paths = self.existing()
        if paths and MARKER not in paths:
            raise FileExistsError(
                f"{self.root} already holds data under {', '.join(DEMO_PREFIXES)} and is not a "
                "demo lake; refusing to overwrite it"
            )
        return paths

    def remove_stale(self, previous: list[str]) -> int:
        """Delete paths an earlier demo wrote that this run did not; returns how many."""
        stale = sorted(set(previous) - self.written)
        if stale:
            obstore.delete(self.store, stale)
        return len(stale)
