"""Embed only the images a model tag has not embedded yet, checkpointing chunk by chunk."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from dataproc.embed.client import EmbedBackend
from dataproc.embed.settings import EmbedSettings
from dataproc.embeddings.checkpoints import EmbeddingCheckpoints
from dataproc.embeddings.progress import Progress

REF_COLUMNS = ["image_key", "uri", "offset", "length"]


def embed_incrementally(
    refs: pa.Table,
    backend: EmbedBackend,
    checkpoints: EmbeddingCheckpoints,
    *,
    chunk_rows: int,
    progress: Progress | None = None,
) -> pa.Table:
    """Embeddings (and error rows) for every ref, computing only those not yet checkpointed.

    Missing refs are embedded in chunks of `chunk_rows`, in (uri, offset) order so shard
    members are read front to back; each finished chunk is written before the next starts.
    Returns one row per ref, sorted by image_key.
    """
    done = checkpoints.read()
    done_keys = done["image_key"] if done is not None else pa.array([], pa.string())
    todo = refs.select(REF_COLUMNS).filter(pc.invert(pc.is_in(refs["image_key"], done_keys)))
    todo = todo.sort_by([("uri", "ascending"), ("offset", "ascending"), ("image_key", "ascending")])
    progress = progress or Progress(total=len(todo))
    written = [done] if done is not None else []
    for start in range(0, len(todo), chunk_rows):
        chunk = backend.embed(todo.slice(start, chunk_rows))
        checkpoints.write(chunk)
        written.append(chunk)
        progress.update(len(chunk))
    if not written:
        return _empty_like(backend)
    everything = pa.concat_tables(written, promote_options="permissive")
    wanted = everything.filter(pc.is_in(everything["image_key"], refs["image_key"]))
    return wanted.sort_by("image_key")


def _empty_like(backend: EmbedBackend) -> pa.Table:
    from dataproc.embed.results import result_schema

    return result_schema(backend.info.dim).empty_table()


def embed_with_settings(refs: pa.Table, settings: EmbedSettings, *, chunk_rows: int) -> pa.Table:
    """Open the configured backend, embed what is missing for its model tag, and close it."""
    from dataproc.embed.client import open_embedder
    from dataproc.lake import open_store

    backend = open_embedder(settings)
    try:
        checkpoints = EmbeddingCheckpoints(open_store(settings.lake), backend.info.model_tag)
        return embed_incrementally(refs, backend, checkpoints, chunk_rows=chunk_rows)
    finally:
        backend.close()
