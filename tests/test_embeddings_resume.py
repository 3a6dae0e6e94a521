"""Checkpointed embeddings: a killed run resumes with no recompute and no duplicates."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from dataproc.config import SettingsError, read_settings
from dataproc.embedding.checkpoints import (
    EmbeddingCheckpoints,
    ImageEmbeddingSettings,
    embed_incrementally,
    embedding_progress,
)
from dataproc.embedding.engine import Embedder, LoadedModel
from dataproc.lake import Lake
from PIL import Image


class Killed(RuntimeError):
    """Stands in for the process dying mid-run."""


class CountingEmbedder:
    """The real engine, counting embedded images and dying after `die_after` chunks."""

    def __init__(self, inner: Embedder, die_after: int | None = None) -> None:
        self.inner = inner
        self.die_after = die_after
        self.chunks = 0
        self.images = 0

    @property
    def info(self):
        return self.inner.info

    def embed(self, refs: pa.Table) -> pa.Table:
        if self.die_after is not None and self.chunks == self.die_after:
            raise Killed(f"killed after {self.chunks} chunks")
        self.chunks += 1
        self.images += len(refs)
        return self.inner.embed(refs)

    def embed_all(self, chunks):
        for chunk in chunks:
            yield self.embed(chunk)

    def close(self) -> None:
        pass


def image_lake(root: Path, count: int) -> pa.Table:
    """`count` distinct PNGs (plus one HTML file named .jpg) and their refs."""
    rng = np.random.default_rng(0)
    keys, uris, lengths = [], [], []
    for index in range(count):
        path = root / "images" / "src" / f"{index}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        keys.append(f"src:{index}")
        uris.append(f"images/src/{index}.png")
        lengths.append(path.stat().st_size)
    bad = root / "images" / "src" / "bad.jpg"
    bad.write_bytes(b"<html>not an image</html>")
    keys.append("src:bad")
    uris.append("images/src/bad.jpg")
    lengths.append(bad.stat().st_size)
    return pa.table({"image_key": keys, "uri": uris, "offset": [0] * len(keys), "length": lengths})


def run(refs, backend, root: Path, tag: str) -> pa.Table:
    checkpoints = EmbeddingCheckpoints(Lake(str(root)), tag)
    quiet = embedding_progress(len(refs), stream=io.StringIO())
    rows = embed_incrementally(refs, backend, checkpoints, chunk_rows=4, progress=quiet)
    return rows.read_all().sort_by("image_key")


def test_killed_run_resumes_without_recompute_or_duplicates(
    model: LoadedModel, tmp_path: Path
) -> None:
    refs = image_lake(tmp_path, 13)
    lake = Lake(str(tmp_path))
    tag = model.info.model_tag
    with Embedder(model, lake, batch_size=4) as engine:
        dying = CountingEmbedder(engine, die_after=2)
        with pytest.raises(Killed):
            run(refs, dying, tmp_path, tag)
        assert len(EmbeddingCheckpoints(lake, tag).chunk_paths()) == 2

        resumed = CountingEmbedder(engine)
        table = run(refs, resumed, tmp_path, tag)
        # 14 refs in chunks of 4: two chunks survived the kill, the rest was embedded once
        assert resumed.images == len(refs) - 8
        assert table["image_key"].to_pylist() == sorted(refs["image_key"].to_pylist())
        assert table.filter(pa.compute.field("image_key") == "src:bad")["error"].to_pylist() == [
            "not_an_image"
        ]

        again = CountingEmbedder(engine)
        assert run(refs, again, tmp_path, tag).equals(table)
        assert again.images == 0

    with Embedder(model, Lake(str(tmp_path / "fresh")), batch_size=4) as engine:
        fresh_refs = image_lake(tmp_path / "fresh", 13)
        fresh = run(fresh_refs, CountingEmbedder(engine), tmp_path / "fresh", tag)
    assert fresh["embedding"].equals(table["embedding"])


def test_only_new_images_are_embedded_and_tags_are_kept_apart(
    model: LoadedModel, tmp_path: Path
) -> None:
    refs = image_lake(tmp_path, 6)
    with Embedder(model, Lake(str(tmp_path)), batch_size=4) as engine:
        first = CountingEmbedder(engine)
        run(refs.slice(0, 4), first, tmp_path, model.info.model_tag)
        second = CountingEmbedder(engine)
        table = run(refs, second, tmp_path, model.info.model_tag)
        assert (first.images, second.images) == (4, len(refs) - 4)
        assert len(table) == len(refs)

        other = CountingEmbedder(engine)
        run(refs, other, tmp_path, "another-model@0000")
        assert other.images == len(refs)


def test_the_stage_reads_its_vars_and_the_deployment_from_the_environment() -> None:
    values = {
        "clip_model": "dataproc-tiny",
        "clip_pretrained": "",
        "embed_batch_size": 8,
        "embed_chunk_rows": 64,
        "embed_max_pixels": 1000,
    }
    settings = read_settings(ImageEmbeddingSettings, {"settings": json.dumps(values)})
    env = {"DATAPROC_LAKE": "s3://bucket/lake", "DATAPROC_EMBEDDER_URLS": "http://a:1, http://b:2/"}
    engine = settings.embed_settings(env)
    assert (engine.model, engine.pretrained, engine.batch_size, engine.max_pixels) == (
        "dataproc-tiny",
        None,
        8,
        1000,
    )
    assert (engine.lake, engine.urls) == ("s3://bucket/lake", ("http://a:1", "http://b:2"))
    with pytest.raises(SettingsError, match="embed_chunk_rows"):
        read_settings(
            ImageEmbeddingSettings, {"settings": json.dumps({**values, "embed_chunk_rows": 0})}
        )


def test_a_lake_without_images_loads_no_model(tmp_path: Path) -> None:
    # In a fresh interpreter: this one has imported torch already.
    script = f"""
import sys
import pyarrow as pa
from dataproc.embedding.checkpoints import REF_COLUMNS, ImageEmbeddingSettings, image_embeddings
from dataproc.embedding.contract import result_schema
refs = pa.table({{c: pa.array([], pa.int64() if c in ("offset", "length") else pa.string())
                  for c in REF_COLUMNS}})
settings = ImageEmbeddingSettings("dataproc-tiny", "{tmp_path}/absent.pt", 8, 64, 1000)
rows = image_embeddings(refs, settings).read_all()
assert rows.num_rows == 0 and rows.schema == result_schema(64), rows.schema
assert "torch" not in sys.modules and "open_clip" not in sys.modules
print("ok")
"""
    env = {**os.environ, "DATAPROC_LAKE": str(tmp_path / "lake")}
    env.pop("DATAPROC_EMBEDDER_URLS", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
