"""One `dbt build` with partial overrides of the dict vars, against a lake that is not there.

It parses, which renders the YAML that hands settings to the Python models, then fails once,
naming the missing lake, before any model runs. So one run shows: a missing lake named as such;
dict vars merged with their defaults (a partial `--vars` override changes only what it sets);
the docs' overview page and layer tags. An unknown setting fails the parse (its own run).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_DIR, DbtProject, DbtResult, make_dbt_project

PARTIAL_OVERRIDES = "{prefilter: {min_side: 512}, prompt: {separator: ' '}}"


@dataclass
class NoLakeBuild:
    lake: Path
    result: DbtResult
    manifest: dict


@pytest.fixture(scope="module")
def no_lake_build(tmp_path_factory: pytest.TempPathFactory) -> NoLakeBuild:
    work = tmp_path_factory.mktemp("no_lake_build")
    lake = work / "no_such_lake"
    project = make_dbt_project(work / "dbt", lake)
    result = project.run("build", "--vars", PARTIAL_OVERRIDES, check=False)
    manifest = json.loads((project.work / "target" / "manifest.json").read_text())
    return NoLakeBuild(lake, result, manifest)


@pytest.fixture(scope="module")
def manifest(no_lake_build: NoLakeBuild) -> dict:
    return no_lake_build.manifest


def test_a_missing_lake_is_named_once_before_any_model_runs(no_lake_build: NoLakeBuild) -> None:
    lake, result = no_lake_build.lake, no_lake_build.result
    assert not result.ok
    assert result.output.count(f"the lake '{lake}' is missing or empty") == 1, result.output[-3000:]
    assert f"dataproc demo --lake {lake}" in result.output
    assert "no raw files match" not in result.output
    assert not re.search(r"START (sql|python|seed|test|unit_test)", result.output)  # only hooks


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
