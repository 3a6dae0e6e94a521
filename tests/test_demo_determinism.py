"""The demo lake is a pure function of (seed, posts, images): byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from dataproc.demo import generate_lake


def digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_gives_a_byte_identical_lake(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_lake(str(first), posts=20, seed=3)
    generate_lake(str(second), posts=20, seed=3)
    generate_lake(str(other), posts=20, seed=4)
    a, b, c = digest(first), digest(second), digest(other)
    assert len(a) > 50
    assert any(p.startswith("shards/") for p in a) and any(p.startswith("images/") for p in a)
    assert a == b
    shared = set(a) & set(c)
    assert a["raw/danbooru/part-00000.parquet"] != c["raw/danbooru/part-00000.parquet"]
    assert sum(a[p] != c[p] for p in shared) >= 0.9 * len(shared)


def test_metadata_only_is_deterministic_too(tmp_path: Path) -> None:
    generate_lake(str(tmp_path / "a"), posts=500, seed=11, images=False)
    generate_lake(str(tmp_path / "b"), posts=500, seed=11, images=False)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_rerun_replaces_an_earlier_demo(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    generate_lake(str(lake), posts=30, seed=1)
    # A build's derived state of the earlier demo: checkpoints keyed by the same image keys.
    (lake / "state" / "embeddings").mkdir(parents=True)
    (lake / "state" / "embeddings" / "chunk-00000.parquet").write_bytes(b"earlier vectors")
    report = generate_lake(str(lake), posts=20, seed=1, images=False)
    fresh = tmp_path / "fresh"
    generate_lake(str(fresh), posts=20, seed=1, images=False)
    assert report.stale_removed > 0
    assert set(digest(lake)) == set(digest(fresh))
    assert digest(lake) == digest(fresh)


def test_refuses_to_overwrite_a_lake_that_is_not_a_demo(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    (lake / "raw" / "danbooru").mkdir(parents=True)
    (lake / "raw" / "danbooru" / "crawl.parquet").write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        generate_lake(str(lake), posts=10, seed=0, images=False)
    assert (lake / "raw" / "danbooru" / "crawl.parquet").read_bytes() == b"precious"
