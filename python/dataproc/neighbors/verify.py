"""Cosine check of given key pairs, e.g. danbooru -> pixiv source links (identity edge (b)).

A source link says two posts show the same picture; a link to a different page of a work, or a
wrong link, shows up as a low cosine. `verify_pairs` scores each link so identity can drop links
that fail a (looser than near-duplicate) verification threshold.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataproc.neighbors.vectors import Embeddings, embeddings_from_table

SCORE_COLUMN = "cosine"
PASSED_COLUMN = "verified"


def verify_pairs(
    pairs: pa.Table,
    embeddings: pa.Table | Embeddings,
    threshold: float,
    *,
    left_column: str = "left_key",
    right_column: str = "right_key",
) -> pa.Table:
    """`pairs` with two columns added: `cosine` (float64) and `verified` (bool).

    `cosine` is the exact cosine of the two keys' embeddings, and `verified` is
    `cosine >= threshold`. Both are null when either key has no embedding (not embedded yet or
    failed to embed): the link is unverified, not refuted, and the caller decides. Rows keep
    their order and their other columns.
    """
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine in [-1, 1], got {threshold}")
    for name in (left_column, right_column):
        if name not in pairs.column_names:
            raise ValueError(f"pairs table has no column {name!r}")
    for name in (SCORE_COLUMN, PASSED_COLUMN):
        if name in pairs.column_names:
            raise ValueError(f"pairs table already has a column {name!r}")
    vectors = (
        embeddings if isinstance(embeddings, Embeddings) else embeddings_from_table(embeddings)
    )
    left = vectors.rows_of(pairs.column(left_column).cast(pa.string()))
    right = vectors.rows_of(pairs.column(right_column).cast(pa.string()))
    known = (left >= 0) & (right >= 0)
    scores = np.zeros(len(pairs), dtype=np.float64)
    scores[known] = vectors.cosines(left[known], right[known])
    missing = ~known
    return pairs.append_column(
        SCORE_COLUMN, pa.array(scores, pa.float64(), mask=missing)
    ).append_column(PASSED_COLUMN, pa.array(scores >= threshold, pa.bool_(), mask=missing))
