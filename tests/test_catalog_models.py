"""The dbt models int_image_catalog and int_image_catalog_rejects, and their config parsing.

dbt builds only these two models (and their YAML tests), so the rest of the DAG is not needed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dataproc.catalog import parse_source_list
from test_catalog_lakes import MixedLake


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


def test_dbt_builds_catalog_models(tmp_path: Path, dbt_project) -> None:
    lake = MixedLake(tmp_path / "lake")
    project = dbt_project(lake.root)
    project.run(
        "build",
        "--select",
        "int_image_catalog int_image_catalog_rejects",
        "--vars",
        "{enabled_sources: [danbooru, pixiv]}",
    )
    database = project.database

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
