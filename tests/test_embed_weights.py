"""Weights that cannot be used fail early and say what to do; random weights need a yes."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataproc.embedding.engine import (
    TINY_MODEL,
    EmbedSettings,
    WeightsError,
    build_embedder,
    load_model,
)
from dataproc.embedding.server import app
from typer.testing import CliRunner


def test_missing_weights_fail_before_the_build_starts(dbt_project, tmp_path: Path) -> None:
    weights = tmp_path / "weights" / "dataproc-tiny-seed0.pt"
    raw = tmp_path / "lake" / "raw" / "danbooru"
    raw.mkdir(parents=True)
    (raw / "posts.parquet").write_bytes(b"")  # a lake, so the lake check passes
    project = dbt_project(tmp_path / "lake")
    result = project.run("build", "--vars", f"{{clip_pretrained: '{weights}'}}", check=False)
    assert not result.ok
    assert f"the weights file {weights} for dataproc-tiny does not exist" in result.output
    assert f"`dataproc embedder checkpoint {weights} --seed 0`" in result.output
    assert "on-run-start" in result.output
    assert "START sql" not in result.output and "START python" not in result.output


def test_random_weights_are_refused_unless_allowed() -> None:
    with pytest.raises(WeightsError, match="clip_allow_random_weights: true"):
        load_model(TINY_MODEL, None, device="cpu")
    with pytest.raises(WeightsError, match="clip_pretrained is empty"):
        build_embedder(EmbedSettings(model=TINY_MODEL, device="cpu"))
    random = load_model(TINY_MODEL, None, device="cpu", allow_random=True)
    assert random.info.model_tag == f"{TINY_MODEL}@random-init"


def test_the_sidecar_names_the_remedy_and_needs_a_flag_for_random_weights(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    missing = tmp_path / "tiny.pt"
    result = runner.invoke(app, ["serve", "--model", TINY_MODEL, "--pretrained", str(missing)])
    assert result.exit_code == 2
    assert f"dataproc embedder checkpoint {missing} --seed 0" in result.output
    result = runner.invoke(app, ["info", "--model", TINY_MODEL, "--device", "cpu"])
    assert result.exit_code == 2
    assert "--allow-random-weights" in result.output
    allowed = ["info", "--model", TINY_MODEL, "--device", "cpu", "--allow-random-weights"]
    result = runner.invoke(app, allowed)
    assert result.exit_code == 0, result.output
    assert "random-init" in result.output


def test_a_missing_weights_file_of_another_model_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="download the checkpoint to that path"):
        load_model("ViT-B-32", str(tmp_path / "vit-b-32.pt"), device="cpu")
