"""What `dbt parse` shows, against no lake and no database: dict vars merged with their
defaults (a partial `--vars` override changes only what it sets; an unknown setting fails,
naming the allowed ones), and the docs' overview page and layer tags.

Parsing renders the YAML that hands settings to the Python models and runs the SQL models'
setting checks, so one parse serves every test here but the failing one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_DIR, DbtProject, make_dbt_project

PARTIAL_OVERRIDES = "{prefilter: {min_side: 512}, prompt: {separator: ' '}}"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = make_dbt_project(tmp_path_factory.mktemp("parse"), "no_lake")
    project.run("parse", "--vars", PARTIAL_OVERRIDES)
    return json.loads((project.work / "target" / "manifest.json").read_text())


def project_defaults(name: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"][name]


def python_model_settings(manifest: dict, model: str) -> dict:
    return json.loads(manifest["nodes"][f"model.dataproc.{model}"]["config"]["meta"]["settings"])


def test_python_models_get_the_merged_settings(manifest: dict) -> None:
    exported = python_model_settings(manifest, "export_dataset")["pipeline_vars"]
    assert exported["prefilter"] == {**project_defaults("prefilter_defaults"), "min_side": 512}
    assert exported["prefilter"]["drop_deleted"] is True
    assert exported["prompt"] == {**project_defaults("prompt_defaults"), "separator": " "}
    assert python_model_settings(manifest, "int_image_embeddings")["min_side"] == 512


def test_an_unknown_setting_names_itself_and_the_allowed_ones(
    dbt_project: Callable[..., DbtProject], tmp_path: Path
) -> None:
    project = dbt_project(tmp_path / "no_lake")
    result = project.run("parse", "--vars", "{prefilter: {min_sid: 512}}", check=False)

    assert not result.ok
    assert "unknown setting `prefilter.min_sid`" in result.output
    assert "allowed: drop_deleted, drop_banned" in result.output


def test_every_model_is_tagged_with_its_layer(manifest: dict) -> None:
    layers = ("staging", "intermediate", "marts", "exports")
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert models
    for node in models:
        layer = node["fqn"][1]
        assert layer in layers and layer in node["tags"], node["unique_id"]
        assert node["config"]["docs"]["node_color"], node["unique_id"]


def test_the_docs_open_on_the_project_overview(manifest: dict) -> None:
    overview = manifest["docs"]["doc.dataproc.__overview__"]["block_contents"]
    assert "staging" in overview and "funnel" in overview and "Welcome" not in overview
