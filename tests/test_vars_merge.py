"""Dict vars merge with their defaults: a partial `--vars` override changes only what it sets.

`dbt parse` renders the YAML that hands settings to the Python models and runs the SQL models'
setting checks, so each case is one parse against no lake and no database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml
from conftest import PROJECT_DIR, DbtProject


def project_defaults(name: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"][name]


def python_model_settings(project: DbtProject, model: str) -> dict:
    manifest = json.loads((project.work / "target" / "manifest.json").read_text())
    node = manifest["nodes"][f"model.dataproc.{model}"]
    return json.loads(node["config"]["meta"]["settings"])


def test_python_models_get_the_merged_settings(
    dbt_project: Callable[..., DbtProject], tmp_path: Path
) -> None:
    project = dbt_project(tmp_path / "no_lake")
    project.run("parse", "--vars", "{prefilter: {min_side: 512}, prompt: {separator: ' '}}")

    exported = python_model_settings(project, "export_dataset")["pipeline_vars"]
    assert exported["prefilter"] == {**project_defaults("prefilter_defaults"), "min_side": 512}
    assert exported["prefilter"]["drop_deleted"] is True
    assert exported["prompt"] == {**project_defaults("prompt_defaults"), "separator": " "}
    assert python_model_settings(project, "int_image_embeddings")["min_side"] == 512


def test_an_unknown_setting_names_itself_and_the_allowed_ones(
    dbt_project: Callable[..., DbtProject], tmp_path: Path
) -> None:
    project = dbt_project(tmp_path / "no_lake")
    result = project.run("parse", "--vars", "{prefilter: {min_sid: 512}}", check=False)

    assert not result.ok
    assert "unknown setting `prefilter.min_sid`" in result.output
    assert "allowed: drop_deleted, drop_banned" in result.output
