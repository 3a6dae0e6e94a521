"""Model loading: the tiny checkpoint goes through open_clip's real pretrained-path loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from dataproc.embedding.engine import (
    TINY_MODEL,
    WeightsError,
    ensure_demo_checkpoint,
    file_sha256,
    load_model,
    model_tag,
    resolve_device,
    split_preprocess,
)
from dataproc.embedding.server import app
from PIL import Image
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_demo_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.pt", seed=0)


def test_same_seed_writes_identical_bytes(tmp_path: Path, checkpoint: Path) -> None:
    again = ensure_demo_checkpoint(tmp_path / "elsewhere" / "other-name.pt", seed=0)
    other = ensure_demo_checkpoint(tmp_path / "seed1.pt", seed=1)
    assert again.read_bytes() == checkpoint.read_bytes()
    assert file_sha256(other) != file_sha256(checkpoint)


def test_existing_checkpoint_is_kept(tmp_path: Path) -> None:
    path = ensure_demo_checkpoint(tmp_path / "w.pt", seed=0)
    before = path.read_bytes()
    ensure_demo_checkpoint(path, seed=5)
    assert path.read_bytes() == before


def test_writing_a_checkpoint_leaves_the_callers_rng_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ensure_demo_checkpoint(tmp_path / "w.pt", seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_load_uses_the_checkpoint_weights_and_tags_them(checkpoint: Path) -> None:
    loaded = load_model(TINY_MODEL, str(checkpoint), device="cpu")
    sha = file_sha256(checkpoint)
    assert loaded.info.weights_sha256 == sha
    assert loaded.info.model_tag == f"{TINY_MODEL}@{sha[:16]}"
    assert loaded.info.dim == 64
    assert loaded.info.image_size == 64
    saved = torch.load(checkpoint, weights_only=True)
    state = loaded.model.state_dict()
    assert saved.keys() == state.keys()
    assert all(torch.equal(saved[k], state[k].cpu()) for k in saved)


def test_different_weights_give_different_tags_and_vectors(
    tmp_path: Path, checkpoint: Path
) -> None:
    first = load_model(TINY_MODEL, str(checkpoint), device="cpu")
    second = load_model(TINY_MODEL, str(ensure_demo_checkpoint(tmp_path / "s1.pt", 1)), "cpu")
    assert first.info.model_tag != second.info.model_tag
    pixels = torch.rand((2, 3, 64, 64), generator=torch.Generator().manual_seed(0))
    assert not np.allclose(first.encode(pixels), second.encode(pixels))


def test_encode_returns_normalized_float32(checkpoint: Path) -> None:
    loaded = load_model(TINY_MODEL, str(checkpoint), device="cpu")
    pixels = torch.rand((3, 3, 64, 64), generator=torch.Generator().manual_seed(1))
    vectors = loaded.encode(pixels)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, loaded.encode(pixels))


def test_model_tag_forms() -> None:
    assert model_tag("ViT-B-32", "/w/x.pt", "ab" * 32) == "ViT-B-32@" + "ab" * 8
    assert model_tag("ViT-B-32", "laion2b_s34b_b79k", None) == "ViT-B-32@laion2b_s34b_b79k"
    assert model_tag("ViT-B-32", None, None) == "ViT-B-32@random-init"
    assert model_tag("hf-hub:org/repo", None, "cd" * 32) == "hf-hub-org-repo@" + "cd" * 8


def test_auto_device_follows_cuda_availability() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


def test_unknown_pretrained_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="does not exist"):
        load_model(TINY_MODEL, str(tmp_path / "no-such-file.pt"), device="cpu")


def test_split_preprocess_matches_open_clips_float_preprocess() -> None:
    preprocess = open_clip.image_transform(224, is_train=False)
    pixels = split_preprocess(preprocess)
    assert pixels.mean is not None
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in ((300, 400), (224, 224), (500, 260))
    ]
    prepared = torch.stack([pixels.prepare(image) for image in images])
    assert prepared.dtype == torch.uint8
    expected = torch.stack([preprocess(image) for image in images])
    assert torch.equal(pixels.normalize(prepared), expected)


def test_unrecognized_preprocess_is_kept_whole() -> None:
    def preprocess(image: object) -> torch.Tensor:
        return torch.ones((3, 2, 2))

    pixels = split_preprocess(preprocess)
    batch = torch.stack([pixels.prepare(None)])
    assert torch.equal(pixels.normalize(batch), batch)


def test_cli_writes_the_checkpoint_and_reports_its_tag(tmp_path: Path, checkpoint: Path) -> None:

    target = tmp_path / "cli.pt"
    result = CliRunner().invoke(app, ["checkpoint", str(target), "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == checkpoint.read_bytes()
    assert f"{TINY_MODEL}@{file_sha256(checkpoint)[:16]}" in result.output
