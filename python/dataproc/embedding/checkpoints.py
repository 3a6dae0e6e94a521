"""Incremental, checkpointed embeddings of the lake's images: the `int_image_embeddings` stage.

In: the image refs of `int_posts_with_images` (image_key, uri, offset, length) and the stage's
vars (`ImageEmbeddingSettings`). Out: a stream of record batches with one row per ref, as the
engine makes it (`contract.result_schema`): the embedding or the reason there is none, the decoded
size and format, and the model tag. The rows are read back from the checkpoints one chunk after
another (in the order they were written), in batches of at most `READ_BATCH_ROWS`, so the
vectors are never all in Python memory.

An image whose shorter decoded side is below the prefilter's `min_side` has no embedding and
the reason `too_small`: its metadata said it was large enough. That rule runs on every build
over the checkpointed rows, which keep the vectors, so another `min_side` needs no re-embedding.

Only images without a row under `state/embeddings/<model_tag>/` in the lake are embedded, in
chunks of `embed_chunk_rows`. Many chunks are in flight at once over the backend's replicas,
and finished chunks are written in order by one writer thread while the next ones embed. Each
is one parquet object written with a single put, which is atomic on a local lake (write then
rename) and on S3, so a killed run loses at most the chunks in flight and resumes where it
stopped; the objects, and their bytes, are those a one-chunk-at-a-time run writes. Chunks of
different model tags live in different folders, so two models are never mixed.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from dataproc.config import require
from dataproc.embedding.client import EmbedBackend, open_embedder
from dataproc.embedding.contract import EmbedSettings, configured_dim, result_schema
from dataproc.lake import Lake
from dataproc.progress import progress_bar

STATE_PREFIX = "state/embeddings"
TOO_SMALL = "too_small"
CHUNK_NAME = re.compile(r"chunk-(\d{6})\.parquet$")
REF_COLUMNS = ["image_key", "uri", "offset", "length"]
# Rows per batch read back from a chunk: a 512-d float32 batch is 16 MiB, so the copies a batch
# passes through stay small next to the vectors' total.
READ_BATCH_ROWS = 8192


@dataclass(frozen=True)
class ImageEmbeddingSettings:
    """The vars of `int_image_embeddings`: which model, and how the work is cut."""

    clip_model: str
    clip_pretrained: str | None
    embed_batch_size: int
    embed_chunk_rows: int
    embed_max_pixels: int
    min_side: int | None = None  # the prefilter's `min_side` (None: off)
    clip_allow_random_weights: bool = False

    def __post_init__(self) -> None:
        for var in ("embed_batch_size", "embed_chunk_rows", "embed_max_pixels"):
            value = getattr(self, var)
            require(value >= 1, var, "at least 1", value)
        if self.min_side is not None:
            require(self.min_side >= 0, "prefilter.min_side", "null or at least 0", self.min_side)

    def embed_settings(self, env: Mapping[str, str] | None = None) -> EmbedSettings:
        """The engine's settings: these vars, and the deployment facts from the environment."""
        return EmbedSettings.from_env(
            env,
            model=self.clip_model,
            pretrained=self.clip_pretrained or None,
            batch_size=self.embed_batch_size,
            max_pixels=self.embed_max_pixels,
            allow_random_weights=self.clip_allow_random_weights,
        )


def image_embeddings(refs: pa.Table, settings: ImageEmbeddingSettings) -> pa.RecordBatchReader:
    """`int_image_embeddings`: embed what is missing for the configured model, stream all rows."""
    engine_settings = settings.embed_settings()
    if refs.num_rows == 0 and (dim := configured_dim(settings.clip_model)) is not None:
        # A lake without images (metadata only) loads no model: no rows, of the model's width.
        return pa.RecordBatchReader.from_batches(result_schema(dim), iter(()))
    backend = open_embedder(engine_settings)
    try:
        checkpoints = EmbeddingCheckpoints(Lake(engine_settings.lake), backend.info.model_tag)
        rows = embed_incrementally(refs, backend, checkpoints, chunk_rows=settings.embed_chunk_rows)
    finally:
        backend.close()
    batches = (
        reject_too_small(pa.Table.from_batches([batch]), settings.min_side).to_batches()
        for batch in rows
    )
    return pa.RecordBatchReader.from_batches(rows.schema, itertools.chain.from_iterable(batches))


def reject_too_small(rows: pa.Table, min_side: int | None) -> pa.Table:
    """Embedded rows whose shorter decoded side is below `min_side` become `too_small`, with
    no embedding; other rows, and every row when `min_side` is None, are left as they are."""
    if min_side is None:
        return rows
    shorter = pc.min_element_wise(rows["width"], rows["height"])
    small = pc.fill_null(pc.and_(pc.is_null(rows["error"]), pc.less(shorter, min_side)), False)
    if not pc.any(small).as_py():
        return rows  # no copy of the vectors when nothing changes
    embedding = pc.if_else(
        small, pa.scalar(None, rows.schema.field("embedding").type), rows["embedding"]
    )
    error = pc.if_else(small, pa.scalar(TOO_SMALL), rows["error"])
    rows = rows.set_column(
        rows.schema.get_field_index("embedding"), rows.schema.field("embedding"), embedding
    )
    return rows.set_column(rows.schema.get_field_index("error"), rows.schema.field("error"), error)


class EmbeddingCheckpoints:
    """The chunks written so far for one model tag."""

    def __init__(self, lake: Lake, model_tag: str) -> None:
        self.lake = lake
        self.model_tag = model_tag
        self.prefix = f"{STATE_PREFIX}/{model_tag}"
        self._next_number: int | None = None

    def chunk_paths(self) -> list[str]:
        """Chunk object paths, in the order they were written."""
        return [obj.path for obj in self.lake.list(self.prefix) if CHUNK_NAME.search(obj.path)]

    def keys(self) -> pa.Array:
        """The image_key of every checkpointed row (only that column is read)."""
        columns = [self.lake.read_parquet(path, ["image_key"]) for path in self.chunk_paths()]
        chunks = [chunk for table in columns for chunk in table["image_key"].chunks]
        return pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())

    def rows(self, wanted: pa.Array | pa.ChunkedArray, schema: pa.Schema) -> pa.RecordBatchReader:
        """The checkpointed rows of the `wanted` keys, one per key (the first chunk wins), as a
        stream of `schema` batches of at most `READ_BATCH_ROWS` rows read one chunk at a time,
        in the order they were written."""
        wanted = pc.unique(wanted)
        emitted = np.zeros(len(wanted), dtype=bool)

        def batches() -> Iterator[pa.RecordBatch]:
            for path in self.chunk_paths():
                for batch in self.lake.iter_parquet(path, READ_BATCH_ROWS):
                    position = pc.index_in(batch["image_key"], value_set=wanted)
                    position = position.fill_null(-1).to_numpy(zero_copy_only=False)
                    # First occurrence of each wanted key not emitted by an earlier batch.
                    first = np.zeros(len(position), dtype=bool)
                    _, at = np.unique(position, return_index=True)
                    first[at] = True
                    keep = first & (position >= 0)
                    keep[keep] = ~emitted[position[keep]]
                    emitted[position[keep]] = True
                    table = pa.Table.from_batches([batch])
                    if not keep.all():
                        table = table.filter(pa.array(keep))
                    yield from conform(table, schema).to_batches()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def write(self, table: pa.Table) -> str:
        """Write one finished chunk as the next numbered object; returns its path.

        The folder is listed once, at the first write; later writes count on from there.
        """
        if self._next_number is None:
            paths = self.chunk_paths()
            self._next_number = int(CHUNK_NAME.search(paths[-1]).group(1)) + 1 if paths else 0
        path = f"{self.prefix}/chunk-{self._next_number:06d}.parquet"
        self.lake.put_parquet(path, table)
        self._next_number += 1
        return path


class CheckpointWriter:
    """Writes finished chunks in order on one thread, so the next chunks embed meanwhile.

    At most `queued` chunks wait; beyond that `submit` waits for the oldest write, which bounds
    memory. Leaving the block waits for every queued write, also when the block failed, so what
    was embedded is kept; the first write error is raised.
    """

    def __init__(self, checkpoints: EmbeddingCheckpoints, queued: int = 2) -> None:
        self._checkpoints = checkpoints
        self._queued = queued
        self._writes: deque[Future[str]] = deque()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="checkpoint-writer")

    def submit(self, table: pa.Table) -> None:
        while len(self._writes) >= self._queued:
            self._writes.popleft().result()
        self._writes.append(self._pool.submit(self._checkpoints.write, table))

    def __enter__(self) -> CheckpointWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)
        for write in self._writes:
            if exc[0] is None:
                write.result()


def embed_incrementally(
    refs: pa.Table,
    backend: EmbedBackend,
    checkpoints: EmbeddingCheckpoints,
    *,
    chunk_rows: int,
    progress: tqdm | None = None,
) -> pa.RecordBatchReader:
    """Embeddings (and error rows) for every ref, computing only those not yet checkpointed.

    Missing refs are embedded in chunks of `chunk_rows`, in (uri, offset) order so shard
    members are read front to back; the backend keeps several chunks in flight, and each
    finished chunk is written, in order, while later ones embed. Returns one row per ref,
    streamed from the checkpoints (`EmbeddingCheckpoints.rows`).
    """
    done_keys = checkpoints.keys()
    todo = refs.select(REF_COLUMNS).filter(pc.invert(pc.is_in(refs["image_key"], done_keys)))
    todo = todo.sort_by([("uri", "ascending"), ("offset", "ascending"), ("image_key", "ascending")])
    progress = progress or embedding_progress(len(todo))
    chunks = (todo.slice(start, chunk_rows) for start in range(0, len(todo), chunk_rows))
    with CheckpointWriter(checkpoints) as writer, progress:
        for chunk in backend.embed_all(chunks):
            writer.submit(chunk)
            progress.update(len(chunk))
    return checkpoints.rows(refs["image_key"], result_schema(backend.info.dim))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with the columns of `schema`, in its order: a column that chunks written by an
    older version lack (`format`) is null there."""
    columns = [
        table[field.name] if field.name in table.column_names else pa.nulls(len(table), field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def embedding_progress(total: int, stream: TextIO | None = None) -> tqdm:
    """Images embedded so far, the rate and the time left (`dataproc.progress.progress_bar`),
    counted in images as chunks finish."""
    return progress_bar(total, "embedding", "img", stream)
