"""Errors that say what to do: a missing lake is named once, before any model runs.

(A lake without raw files for one source is checked by test_staging_posts' broken lakes, whose
error names the `enabled_sources` var.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import DbtProject


def test_a_missing_lake_is_named_once_before_any_model_runs(
    dbt_project: Callable[..., DbtProject], tmp_path: Path
) -> None:
    lake = tmp_path / "no_such_lake"
    result = dbt_project(lake).run("build", check=False)

    assert not result.ok
    assert result.output.count(f"the lake '{lake}' is missing or empty") == 1, result.output[-3000:]
    assert f"dataproc demo --lake {lake}" in result.output
    assert "no raw files match" not in result.output
    assert " START " not in result.output  # no model, seed or test began
