"""Image refs stay inside the lake: on the text of the path, and once links resolve."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from dataproc.embedding.decode import ImageRef, InvalidRef, as_refs, fetch_bytes, lake_path
from dataproc.embedding.engine import Embedder, LoadedModel
from dataproc.lake import Lake
from PIL import Image


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def lake_with_links(tmp_path: Path) -> Path:
    """A lake with one real image, a link to it, and links whose targets leave the lake."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "host.png").write_bytes(png(1))
    root = tmp_path / "lake"
    images = root / "images" / "src"
    images.mkdir(parents=True)
    (images / "real.png").write_bytes(png(0))
    (images / "alias.png").symlink_to(images / "real.png")
    (images / "leak.png").symlink_to(outside / "host.png")
    (images / "passwd.jpg").symlink_to("/etc/passwd")
    (root / "images" / "escape").symlink_to(outside)
    return root


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("images/a/1.png", "images/a/1.png"),
        ("./images/a/1.png", "images/a/1.png"),
        ("images//a/./1.png", "images/a/1.png"),
        ("/data/lake/images/a/1.png", "images/a/1.png"),
        ("file:///data/lake/shards/a/0.tar", "shards/a/0.tar"),
    ],
)
def test_refs_under_the_root_map_to_lake_paths(uri: str, expected: str) -> None:
    assert lake_path(uri, "/data/lake") == expected


@pytest.mark.parametrize(
    "uri",
    [
        "../../etc/passwd",
        "images/../../etc/passwd",
        "images/a/../b.png",
        "/etc/passwd",
        "/data/lake/../etc/passwd",
        "/data/lakeside/x.png",
        "s3://bucket/lake/x.png",
        "/",
        ".",
        "images/\0.png",
    ],
)
def test_refs_outside_a_local_root_are_invalid(uri: str) -> None:
    with pytest.raises(InvalidRef):
        lake_path(uri, "/data/lake")


def test_refs_on_an_s3_lake() -> None:
    root = "s3://bucket/lake"
    assert lake_path("s3://bucket/lake/images/a/1.png", root) == "images/a/1.png"
    assert lake_path("images/a/1.png", root) == "images/a/1.png"
    for outside in ("s3://bucket/other/x.png", "s3://bucket/lake/../x", "/etc/passwd", "../x"):
        with pytest.raises(InvalidRef):
            lake_path(outside, root)


@pytest.mark.parametrize(
    "row",
    [
        {"image_key": "k", "uri": "images/a.png", "offset": -1},
        {"image_key": "k", "uri": "images/a.png", "offset": 0, "length": -5},
        {"image_key": "k", "uri": "images/a.png", "offset": 2**63},
        {"image_key": "k", "uri": None},
        {"image_key": None, "uri": "images/a.png"},
        {"image_key": "k", "uri": ""},
    ],
)
def test_refs_with_impossible_fields_are_invalid(row: dict) -> None:
    with pytest.raises(InvalidRef):
        as_refs([row])


def test_fetch_refuses_paths_that_climb_out(lake_with_links: Path) -> None:
    lake = Lake(str(lake_with_links))
    for uri in ("../outside/host.png", "images/../../outside/host.png", "/etc/passwd"):
        with pytest.raises(InvalidRef):
            fetch_bytes(lake, ImageRef("k", uri))
        with pytest.raises(InvalidRef):
            fetch_bytes(lake, ImageRef("k", uri, 0, 0))


def test_links_that_leave_the_lake_are_missing_in_process(
    model: LoadedModel, lake_with_links: Path
) -> None:
    names = ["images/src/real.png", "images/src/alias.png", "images/src/leak.png"]
    names += ["images/src/passwd.jpg", "images/escape/host.png"]
    refs = [ImageRef(f"src:{i}", name) for i, name in enumerate(names)]
    with Embedder(model, Lake(str(lake_with_links)), batch_size=2, decode_workers=1) as engine:
        table = engine.embed(refs)
    assert table.column("error").to_pylist() == [None, None, "missing", "missing", "missing"]
    real, alias = table.column("embedding").to_pylist()[:2]
    assert real == alias
