"""The embedder's output table: one row per input ref, in input order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def result_schema(dim: int) -> pa.Schema:
    """`image_key, embedding[dim], width, height, error, model_tag`; `error` is null when ok."""
    return pa.schema(
        [
            pa.field("image_key", pa.string(), nullable=False),
            pa.field("embedding", pa.list_(pa.float32(), dim)),
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
            pa.field("error", pa.string()),
            pa.field("model_tag", pa.string(), nullable=False),
        ]
    )


class ResultBuilder:
    """Collects per-row outcomes by index, then builds the Arrow table in one go.

    Rows arrive out of batch order (metadata when decoded, vectors when their batch ran), so
    they are stored by input position.
    """

    def __init__(self, keys: list[str], dim: int, model_tag: str) -> None:
        self._keys = keys
        self._dim = dim
        self._model_tag = model_tag
        self._vectors = np.zeros((len(keys), dim), dtype=np.float32)
        self._has_vector = np.zeros(len(keys), dtype=bool)
        self._width: list[int | None] = [None] * len(keys)
        self._height: list[int | None] = [None] * len(keys)
        self._error: list[str | None] = [None] * len(keys)

    def set_outcome(
        self, index: int, width: int | None, height: int | None, error: str | None
    ) -> None:
        """Record an image's original size and its rejection reason (None when decoded)."""
        self._width[index] = width
        self._height[index] = height
        self._error[index] = error

    def set_vectors(self, indices: list[int], vectors: np.ndarray) -> None:
        """Store the embeddings of the rows at `indices` (one vector per index, same order)."""
        self._vectors[indices] = vectors
        self._has_vector[indices] = True

    def table(self) -> pa.Table:
        """The finished table; a row without a vector has a null embedding."""
        flat = pa.array(self._vectors.reshape(-1), type=pa.float32())
        embedding = pa.FixedSizeListArray.from_arrays(
            flat, self._dim, mask=pa.array(~self._has_vector)
        )
        n = len(self._keys)
        return pa.Table.from_arrays(
            [
                pa.array(self._keys, pa.string()),
                embedding,
                pa.array(self._width, pa.int32()),
                pa.array(self._height, pa.int32()),
                pa.array(self._error, pa.string()),
                pa.array([self._model_tag] * n, pa.string()),
            ],
            schema=result_schema(self._dim),
        )
