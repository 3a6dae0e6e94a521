"""Embedding chunks persisted under `state/embeddings/<model_tag>/` in the lake.

Each finished chunk is one parquet object written with a single `put`, which is atomic on a
local lake (write then rename) and on S3, so a killed run loses at most the chunk in flight.
Chunks of different model tags live in different folders, so two models are never mixed.
"""

from __future__ import annotations

import io
import re

import obstore
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

STATE_PREFIX = "state/embeddings"
CHUNK_NAME = re.compile(r"chunk-(\d{6})\.parquet$")


class EmbeddingCheckpoints:
    """The chunks written so far for one model tag."""

    def __init__(self, store: obstore.store.ObjectStore, model_tag: str) -> None:
        self.store = store
        self.model_tag = model_tag
        self.prefix = f"{STATE_PREFIX}/{model_tag}"

    def chunk_paths(self) -> list[str]:
        """Chunk object paths, in the order they were written."""
        paths = []
        for batch in obstore.list(self.store, prefix=self.prefix + "/"):
            paths += [entry["path"] for entry in batch if CHUNK_NAME.search(entry["path"])]
        return sorted(paths)

    def read(self) -> pa.Table | None:
        """Every checkpointed row, one per image_key (the first chunk wins), or None if empty."""
        tables = [self._read_chunk(path) for path in self.chunk_paths()]
        if not tables:
            return None
        table = pa.concat_tables(tables)
        unique = len(pc.unique(table["image_key"])) == len(table)
        return table if unique else _first_per_key(table)

    def write(self, table: pa.Table) -> str:
        """Write one finished chunk as the next numbered object; returns its path."""
        paths = self.chunk_paths()
        number = int(CHUNK_NAME.search(paths[-1]).group(1)) + 1 if paths else 0
        path = f"{self.prefix}/chunk-{number:06d}.parquet"
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd", write_statistics=False)
        obstore.put(self.store, path, buffer.getvalue())
        return path

    def _read_chunk(self, path: str) -> pa.Table:
        data = obstore.get(self.store, path).bytes()
        return pq.read_table(io.BytesIO(bytes(data)))


def _first_per_key(table: pa.Table) -> pa.Table:
    """Keep the first row of each image_key (chunks never overlap unless written concurrently)."""
    seen: set[str] = set()
    keep = []
    for key in table["image_key"].to_pylist():
        keep.append(key not in seen)
        seen.add(key)
    return table.filter(pa.array(keep))
