"""The README's var table lists every var of dbt_project.yml, and nothing else."""

from __future__ import annotations

import re

import yaml
from conftest import PROJECT_DIR


def readme_var_rows() -> dict[str, str]:
    """Each var of the README's dbt var table -> its row."""
    readme = (PROJECT_DIR / "README.md").read_text()
    table = readme.split("### dbt vars", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[3:]:
        first_cell = line.split("|")[1]
        for name in re.findall(r"`([a-z_]+)`", first_cell):
            rows[name] = line
    return rows


def test_the_readme_var_table_lists_every_var() -> None:
    project_vars = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert sorted(readme_var_rows()) == sorted(project_vars)


def test_the_readme_names_the_merge_modes() -> None:
    row = readme_var_rows()["merge_mode"]
    assert "`argmax`" in row and "`sample`" in row and "weighted_pick" not in row
