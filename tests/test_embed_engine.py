"""The batching engine: order, padding, determinism, tar ranges, similarity sanity, deadlines."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from dataproc.embedding.decode import ImageRef
from dataproc.embedding.engine import TINY_MODEL, Embedder, LoadedModel, load_model, result_schema
from dataproc.lake import Lake
from PIL import Image, ImageDraw


def scene(seed: int, size: int = 256) -> Image.Image:
    """A drawn picture: a gradient sky and a few coloured shapes, different per seed."""
    rng = np.random.default_rng(seed)
    top, bottom = rng.integers(0, 256, size=(2, 3))
    ramp = np.linspace(0, 1, size)[:, None, None]
    sky = (top * (1 - ramp) + bottom * ramp).repeat(size, axis=1).astype(np.uint8)
    image = Image.fromarray(sky)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.integers(0, size * 3 // 4, size=2)
        w, h = rng.integers(size // 8, size // 2, size=2)
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((int(x0), int(y0), int(x0 + w), int(y0 + h)), fill=colour)
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def write_files(root: Path, files: dict[str, bytes]) -> list[ImageRef]:
    refs = []
    for name, data in files.items():
        path = root / "images" / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        refs.append(ImageRef(f"src:{name}", f"images/src/{name}", 0, len(data)))
    return refs


def embedder(model: LoadedModel, root: Path, batch_size: int = 4, workers: int = 2) -> Embedder:
    return Embedder(model, Lake(str(root)), batch_size=batch_size, decode_workers=workers)


def vectors(table: pa.Table) -> np.ndarray:
    return np.asarray(table.column("embedding").to_pylist(), dtype=np.float32)


def test_rows_follow_input_order_with_a_padded_last_batch(model: LoadedModel, tmp_path: Path):
    files = {f"{i}.png": encode(scene(i), "PNG") for i in range(7)}
    files["bad.jpg"] = b"not an image"
    refs = write_files(tmp_path, files)
    refs = [refs[7], *refs[:7]]
    with embedder(model, tmp_path, batch_size=3) as engine:
        table = engine.embed(refs)
    assert table.schema == result_schema(64)
    assert table.column("image_key").to_pylist() == [r.image_key for r in refs]
    assert table.column("error").to_pylist() == ["not_an_image"] + [None] * 7
    assert set(table.column("model_tag").to_pylist()) == {model.info.model_tag}
    assert table.column("width").to_pylist()[1:] == [256] * 7
    singles = []
    with embedder(model, tmp_path, batch_size=1, workers=1) as engine:
        singles = vectors(engine.embed(refs[1:]))
    np.testing.assert_allclose(vectors(table.slice(1)), singles, atol=1e-6)


def test_same_input_gives_identical_bytes(model: LoadedModel, tmp_path: Path) -> None:
    refs = write_files(tmp_path, {f"{i}.jpg": encode(scene(i), "JPEG") for i in range(6)})
    with embedder(model, tmp_path) as engine:
        first = engine.embed(refs)
    again = load_model(TINY_MODEL, model.info.pretrained, device="cpu")
    with embedder(again, tmp_path, workers=1) as engine:
        second = engine.embed(refs)
    assert first.equals(second)
    first_bytes = vectors(first).tobytes()
    assert first_bytes == vectors(second).tobytes()


def test_a_resized_reencoded_copy_is_closer_than_an_unrelated_image(
    model: LoadedModel, tmp_path: Path
) -> None:
    original = scene(1, 384)
    files = {
        "original.png": encode(original, "PNG"),
        "copy.jpg": encode(original.resize((250, 250), Image.Resampling.LANCZOS), "JPEG"),
        "copy.webp": encode(original.resize((300, 300)), "WEBP", quality=70),
    }
    files.update({f"other{i}.png": encode(scene(100 + i, 384), "PNG") for i in range(5)})
    refs = write_files(tmp_path, files)
    with embedder(model, tmp_path) as engine:
        found = vectors(engine.embed(refs))
    similarity = found @ found[0]
    assert min(similarity[1], similarity[2]) > max(similarity[3:])


def test_tar_members_are_read_by_range(model: LoadedModel, tmp_path: Path) -> None:
    images = {f"{i:04d}": encode(scene(i), "JPEG") for i in range(5)}
    shard = tmp_path / "shards" / "src" / "000000.tar"
    shard.parent.mkdir(parents=True)
    with tarfile.open(shard, "w") as tar:
        for key, data in images.items():
            for name, payload in ((f"{key}.jpg", data), (f"{key}.json", b"{}")):
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    with tarfile.open(shard) as tar:
        members = [m for m in tar.getmembers() if m.name.endswith(".jpg")]
        tar_refs = [
            ImageRef(m.name, "shards/src/000000.tar", m.offset_data, m.size) for m in members
        ]
    file_refs = write_files(tmp_path, {f"{k}.jpg": v for k, v in images.items()})
    with embedder(model, tmp_path, batch_size=5) as engine:
        from_tar = engine.embed(tar_refs)
        from_files = engine.embed(file_refs)
    assert from_tar.column("error").null_count == 5
    assert vectors(from_tar).tobytes() == vectors(from_files).tobytes()


def test_full_uris_and_open_ended_lengths(model: LoadedModel, tmp_path: Path) -> None:
    refs = write_files(tmp_path, {"a.png": encode(scene(3), "PNG")})
    absolute = ImageRef("abs", str(tmp_path / refs[0].uri), 0, None)
    with embedder(model, tmp_path) as engine:
        table = engine.embed([refs[0], absolute])
    assert table.column("error").null_count == 2
    first, second = vectors(table)
    assert first.tobytes() == second.tobytes()


def test_refs_may_be_an_arrow_table_or_dicts(model: LoadedModel, tmp_path: Path) -> None:
    refs = write_files(tmp_path, {"a.png": encode(scene(4), "PNG")})
    as_table = pa.table({"image_key": ["k"], "uri": [refs[0].uri], "offset": [0], "length": [None]})
    as_dicts = [{"image_key": "k", "uri": refs[0].uri}]
    with embedder(model, tmp_path) as engine:
        assert engine.embed(as_table).equals(engine.embed(as_dicts))
        assert engine.embed([]).num_rows == 0


def test_a_passed_deadline_raises(model: LoadedModel, tmp_path: Path) -> None:
    refs = write_files(tmp_path, {f"{i}.png": encode(scene(i), "PNG") for i in range(3)})
    with embedder(model, tmp_path) as engine, pytest.raises(TimeoutError):
        engine.embed(refs, deadline=time.monotonic() - 1)


def test_decode_workers_fit_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import torch
    from dataproc.embedding.engine import auto_decode_workers

    # A sidecar pinned to three cores of a larger machine (`taskset -c 0-2`).
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert auto_decode_workers(torch.device("cuda")) == 3
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert auto_decode_workers(torch.device("cpu")) == 1
