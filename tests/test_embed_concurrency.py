"""The concurrent embedding pipeline: chunks in flight on every sidecar at once, checkpoint
writes overlapping embedding, and the same checkpoints, byte for byte, as one chunk at a time."""

from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path

import pyarrow as pa
import pytest
from dataproc.embedding.checkpoints import (
    EmbeddingCheckpoints,
    embed_incrementally,
    embedding_progress,
)
from dataproc.embedding.client import RemoteEmbedder
from dataproc.embedding.engine import Embedder, LoadedModel
from dataproc.embedding.server import ServerLimits, create_app
from dataproc.lake import Lake
from test_embed_http import running
from test_embeddings_resume import image_lake

CHUNK = 4
IN_FLIGHT_PER_SIDECAR = 2


class MeetingEmbedder:
    """A sidecar's engine whose first `IN_FLIGHT_PER_SIDECAR` requests wait until `meeting`
    has all its parties: that many requests on every sidecar at the same moment.

    When the client keeps fewer requests in flight, the wait times out; `met` counts the
    requests that did meet.
    """

    def __init__(self, inner: Embedder, meeting: threading.Barrier) -> None:
        self.inner = inner
        self.meeting = meeting
        self.calls = 0
        self.met = 0
        self._lock = threading.Lock()

    @property
    def info(self):
        return self.inner.info

    def embed(self, refs, deadline=None) -> pa.Table:
        with self._lock:
            self.calls += 1
            meets = self.calls <= IN_FLIGHT_PER_SIDECAR
        if meets:
            try:
                self.meeting.wait(timeout=10)
            except threading.BrokenBarrierError:
                meets = False
        with self._lock:
            self.met += meets
        return self.inner.embed(refs, deadline)


def run(refs: pa.Table, backend, root: Path, tag: str) -> pa.Table:
    checkpoints = EmbeddingCheckpoints(Lake(str(root)), tag)
    quiet = embedding_progress(len(refs), stream=io.StringIO())
    rows = embed_incrementally(refs, backend, checkpoints, chunk_rows=CHUNK, progress=quiet)
    return rows.read_all().sort_by("image_key")


def chunk_bytes(root: Path) -> dict[str, bytes]:
    folder = root / "state" / "embeddings"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def test_chunks_run_concurrently_on_both_sidecars_and_match_the_serial_run(
    model: LoadedModel, tmp_path: Path
) -> None:
    serial_root, concurrent_root = tmp_path / "serial", tmp_path / "concurrent"
    refs = image_lake(serial_root, 21)
    shutil.copytree(serial_root / "images", concurrent_root / "images")
    tag = model.info.model_tag
    with Embedder(model, Lake(str(serial_root)), batch_size=CHUNK) as engine:
        serial = run(refs, engine, serial_root, tag)

    # Two requests on each sidecar at the same moment, or the meeting times out.
    meeting = threading.Barrier(2 * IN_FLIGHT_PER_SIDECAR)
    lake = Lake(str(concurrent_root))
    with (
        Embedder(model, lake, batch_size=CHUNK, decode_workers=1) as one,
        Embedder(model, lake, batch_size=CHUNK, decode_workers=1) as two,
    ):
        first, second = MeetingEmbedder(one, meeting), MeetingEmbedder(two, meeting)
        with (
            running(create_app(first, token=None, limits=ServerLimits())) as url_a,
            running(create_app(second, token=None, limits=ServerLimits())) as url_b,
            RemoteEmbedder(
                [url_a, url_b], chunk_size=CHUNK, requests_per_url=IN_FLIGHT_PER_SIDECAR
            ) as client,
        ):
            concurrent = run(refs, client, concurrent_root, tag)

    assert (first.met, second.met) == (IN_FLIGHT_PER_SIDECAR, IN_FLIGHT_PER_SIDECAR)
    assert first.calls + second.calls == -(-len(refs) // CHUNK)
    assert concurrent.equals(serial)
    assert chunk_bytes(concurrent_root) == chunk_bytes(serial_root)


class ChunkCounter:
    """In-process backend that signals once it has embedded `signal_after` chunks."""

    def __init__(self, inner: Embedder, signal_after: int) -> None:
        self.inner = inner
        self.signal_after = signal_after
        self.embedded = threading.Event()
        self.chunks = 0

    @property
    def info(self):
        return self.inner.info

    def embed(self, refs) -> pa.Table:
        table = self.inner.embed(refs)
        self.chunks += 1
        if self.chunks == self.signal_after:
            self.embedded.set()
        return table

    def embed_all(self, chunks):
        for chunk in chunks:
            yield self.embed(chunk)

    def close(self) -> None:
        pass


def test_checkpoint_writes_overlap_embedding(
    model: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = image_lake(tmp_path, 11)
    lake = Lake(str(tmp_path))
    overlapped: list[bool] = []
    with Embedder(model, lake, batch_size=CHUNK) as engine:
        backend = ChunkCounter(engine, signal_after=2)
        put_parquet = Lake.put_parquet

        def slow_first_write(self, path, table, **options):
            if not overlapped:
                # The first chunk's write finishes only once the second chunk is embedded.
                overlapped.append(backend.embedded.wait(timeout=10))
            return put_parquet(self, path, table, **options)

        monkeypatch.setattr(Lake, "put_parquet", slow_first_write)
        table = run(refs, backend, tmp_path, model.info.model_tag)
    assert overlapped == [True]
    assert len(table) == len(refs)
    assert len(EmbeddingCheckpoints(lake, model.info.model_tag).chunk_paths()) == 3


def test_in_process_decoding_runs_ahead_into_the_next_chunk(
    model: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = image_lake(tmp_path, 11)
    chunks = [refs.slice(start, CHUNK) for start in range(0, len(refs), CHUNK)]
    submitted: list[str] = []
    with Embedder(model, Lake(str(tmp_path)), batch_size=CHUNK, decode_workers=1) as engine:
        one_by_one = [engine.embed(chunk) for chunk in chunks]
        pool = engine._pool
        submit = pool.submit

        def recording_submit(load, ref):
            submitted.append(ref.image_key)
            return submit(load, ref)

        monkeypatch.setattr(pool, "submit", recording_submit)
        stream = engine.embed_all(chunks)
        first = next(stream)
        # The second chunk was queued for fetching and decoding before the first was handed back.
        assert set(chunks[1]["image_key"].to_pylist()) <= set(submitted)
        tables = [first, *stream]
    assert [t.equals(o) for t, o in zip(tables, one_by_one, strict=True)] == [True] * len(chunks)
