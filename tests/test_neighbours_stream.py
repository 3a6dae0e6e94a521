"""Vectors stream from the checkpoints to the index: one chunk in Python at a time."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pyarrow as pa
import pytest
from dataproc.embedding.checkpoints import EmbeddingCheckpoints
from dataproc.embedding.engine import result_schema
from dataproc.lake import Lake
from dataproc.neighbours.search import (
    IndexSettings,
    add_vectors,
    embeddings_from_batches,
    embeddings_from_table,
)
from synthetic_vectors import embeddings_table, normalize_rows

DIM = 4


def chunk(keys: list[str], value: float) -> pa.Table:
    vectors = normalize_rows(np.full((len(keys), DIM), value) + np.eye(len(keys), DIM))
    return pa.table(
        {
            "image_key": keys,
            "embedding": pa.array(vectors.tolist(), pa.list_(pa.float32(), DIM)),
            "width": pa.array([64] * len(keys), pa.int32()),
            "height": pa.array([64] * len(keys), pa.int32()),
            "format": ["png"] * len(keys),
            "error": pa.array([None] * len(keys), pa.string()),
            "model_tag": ["m@1"] * len(keys),
        },
        schema=result_schema(DIM),
    )


def test_checkpointed_rows_stream_one_chunk_at_a_time(tmp_path, monkeypatch) -> None:
    lake = Lake(str(tmp_path))
    checkpoints = EmbeddingCheckpoints(lake, "m@1")
    checkpoints.write(chunk(["a", "b", "c"], 1.0))
    checkpoints.write(chunk(["b", "d", "gone"], 2.0))  # "b" again: the first chunk wins
    checkpoints.write(chunk(["e", "e"], 3.0))
    opened: list[str] = []
    iter_parquet = Lake.iter_parquet

    def recording(self, path, *args, **kwargs):
        opened.append(path)
        yield from iter_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(Lake, "iter_parquet", recording)

    assert sorted(checkpoints.keys().to_pylist()) == ["a", "b", "b", "c", "d", "e", "e", "gone"]
    rows = checkpoints.rows(pa.array(["e", "d", "c", "b", "a"]), result_schema(DIM))
    assert isinstance(rows, pa.RecordBatchReader) and not opened
    first = rows.read_next_batch()
    assert first["image_key"].to_pylist() == ["a", "b", "c"] and len(opened) == 1
    rest = pa.Table.from_batches(list(rows), rows.schema)
    assert rest["image_key"].to_pylist() == ["d", "e"] and len(opened) == 3
    assert rest["embedding"][0].as_py() == pytest.approx(
        chunk(["b", "d"], 2.0)["embedding"][1].as_py()
    )


def test_stream_lands_in_a_scratch_file_read_in_key_order() -> None:
    rng = np.random.default_rng(3)
    keys = [f"k{i:03d}" for i in rng.permutation(300)]
    vectors = normalize_rows(rng.standard_normal((300, 16)))
    table = embeddings_table(keys, vectors)
    streamed = embeddings_from_batches(table.to_reader(max_chunksize=7))

    # The vectors are in the scratch file only, read back row by row in key order.
    assert os.fstat(streamed.scratch.fileno()).st_size == streamed.nbytes == 300 * 16 * 4
    assert streamed.keys.to_pylist() == sorted(keys)
    row = {key: i for i, key in enumerate(keys)}
    np.testing.assert_array_equal(
        streamed.vectors(np.arange(300)), vectors[[row[k] for k in sorted(keys)]]
    )
    whole = embeddings_from_table(table)
    pairs = np.arange(300), rng.permutation(300)
    np.testing.assert_array_equal(streamed.cosines(*pairs), whole.cosines(*pairs))
    repeated = np.array([5, 5, 4, 6, 7, 0, 299, 6])
    np.testing.assert_array_equal(
        streamed.vectors(repeated), vectors[[row[sorted(keys)[r]] for r in repeated]]
    )
    assert streamed.vectors(np.array([], np.int64)).shape == (0, 16)
    with pytest.raises(ValueError, match="duplicate image_key"):
        embeddings_from_batches([table.to_batches()[0], table.slice(5, 1).to_batches()[0]])


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_index_build_shows_progress_on_a_terminal_only(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    vectors = normalize_rows(rng.standard_normal((50, 8)))
    embeddings = embeddings_from_table(embeddings_table([f"k{i:02d}" for i in range(50)], vectors))
    rows = np.arange(50)
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        index = IndexSettings().new_index(8)
        add_vectors(index, rows.astype(np.uint64), embeddings, rows, threads=0)
        assert len(index) == 50
        assert ("building the index" in stream.getvalue() and "50/50" in stream.getvalue()) == shown
