"""Near-duplicate neighbours of image embeddings with a persisted USearch index.

Public API, for the identity model:

- `near_duplicate_edges(embeddings, threshold, k=..., settings=..., store=..., model_tag=...)`:
  identity edges of kind 'embedding' (left_key, right_key, kind, score).
- `find_near_duplicates(...)`: the same edges plus what the run did (`NeighborRun`).
- `verify_pairs(pairs, embeddings, threshold)`: cosine and pass/fail of given key pairs.
- `IndexSettings`: index build and search settings.
- `load_index_state(store, model_tag)`: the persisted index of a model tag, for inspection.
"""

from dataproc.neighbors.edges import (
    EDGE_KIND,
    EDGE_SCHEMA,
    NeighborRun,
    find_near_duplicates,
    near_duplicate_edges,
)
from dataproc.neighbors.settings import IndexSettings
from dataproc.neighbors.state import IndexState, index_prefix, load_index_state
from dataproc.neighbors.vectors import Embeddings, embeddings_from_table
from dataproc.neighbors.verify import verify_pairs

__all__ = [
    "EDGE_KIND",
    "EDGE_SCHEMA",
    "Embeddings",
    "IndexSettings",
    "IndexState",
    "NeighborRun",
    "embeddings_from_table",
    "find_near_duplicates",
    "index_prefix",
    "load_index_state",
    "near_duplicate_edges",
    "verify_pairs",
]
