"""Identity edges from embeddings: near-duplicate pairs of one model tag, index kept in the lake."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from dataproc.lake import open_store
from dataproc.neighbors import EDGE_SCHEMA, near_duplicate_edges


def embedding_edges(embeddings: pa.Table, lake: str, *, threshold: float, k: int) -> pa.Table:
    """Pairs with cosine >= `threshold` among `embeddings` (image_key, embedding, model_tag).

    The USearch index persists under `state/index/<model_tag>/` and grows with each run.
    """
    tags = pc.unique(embeddings["model_tag"]).to_pylist()
    if not tags:
        return EDGE_SCHEMA.empty_table()
    if len(tags) > 1:
        raise ValueError(f"embeddings of several model tags cannot be compared: {tags}")
    return near_duplicate_edges(
        embeddings.select(["image_key", "embedding"]),
        threshold,
        k=k,
        store=open_store(lake),
        model_tag=tags[0],
    )
