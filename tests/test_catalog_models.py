"""The dbt models int_image_catalog and int_image_catalog_rejects, and their config parsing.

dbt runs on a copy of the project that holds only the image models, so this checks them
(and their YAML tests) without depending on the rest of the DAG.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dataproc.catalog import parse_source_list
from test_catalog_lakes import MixedLake

PROJECT_DIR = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("None", None),
        ("['danbooru', 'pixiv']", ["danbooru", "pixiv"]),
        ('["pixiv", "danbooru", "pixiv"]', ["danbooru", "pixiv"]),
        ("('yandere',)", ["yandere"]),
        ("danbooru, gelbooru  zerochan", ["danbooru", "gelbooru", "zerochan"]),
        (["zerochan", " pixiv "], ["pixiv", "zerochan"]),
        ("[]", []),
        ([], []),
    ],
)
def test_parse_source_list(value, expected):
    assert parse_source_list(value) == expected


@pytest.mark.parametrize("value", ["{'a': 1}", "[1, 2]", "['../x']", "[unclosed", 3])
def test_parse_source_list_refuses_garbage(value):
    with pytest.raises(ValueError):
        parse_source_list(value)


def image_models_project(work: Path) -> Path:
    """A dbt project dir with this project's config and only the image models."""
    project = work / "project"
    (project / "macros").mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    shutil.copy(PROJECT_DIR / "macros/generate_schema_name.sql", project / "macros")
    shutil.copytree(
        PROJECT_DIR / "models/intermediate/images", project / "models/intermediate/images"
    )
    return project


def test_dbt_builds_catalog_models(tmp_path: Path):
    lake = MixedLake(tmp_path / "lake")
    project = image_models_project(tmp_path)
    database = tmp_path / "dataproc.duckdb"
    env = {
        **os.environ,
        "DATAPROC_LAKE": str(lake.root),
        "DATAPROC_DUCKDB": str(database),
        "DATAPROC_TEMP_DIRECTORY": str(tmp_path / "duckdb_tmp"),
        "DATAPROC_MEMORY_LIMIT": "1GB",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [
        str(DBT),
        "build",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
        "--vars",
        "{enabled_sources: [danbooru, pixiv]}",
    ]
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]

    enabled = {"danbooru", "pixiv"}
    with duckdb.connect(str(database), read_only=True) as con:
        catalog = con.sql(
            'select * from intermediate.int_image_catalog order by uri, "offset"'
        ).fetchall()
        rejects = con.sql(
            "select * from intermediate.int_image_catalog_rejects"
            " order by uri, member nulls first, reason, detail"
        ).fetchall()
    assert catalog == [tuple(r.values()) for r in lake.catalog if r["source"] in enabled]
    expected_rejects = sorted(
        (tuple(r.values()) for r in lake.rejects if r["source"] in enabled),
        key=lambda r: (r[2], r[3] is not None, r[3] or "", r[5], r[6]),
    )
    assert rejects == expected_rejects
