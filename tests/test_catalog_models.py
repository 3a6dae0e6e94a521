"""The dbt models of the image catalog: one scan of the lake (int_image_lake_scan) and the two
SQL models over it (int_image_catalog, int_image_catalog_rejects), and their settings.

dbt builds only these three models (and their YAML tests), so the rest of the DAG is not needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from dataproc.catalog import SourceSettings
from dataproc.config import SettingsError, read_settings
from test_catalog_lakes import MixedLake

CATALOG_TYPES = [
    ("image_key", "VARCHAR"),
    ("source", "VARCHAR"),
    ("key", "VARCHAR"),
    ("uri", "VARCHAR"),
    ("offset", "BIGINT"),
    ("length", "BIGINT"),
    ("ext", "VARCHAR"),
    ("bytes", "BIGINT"),
]
REJECTS_TYPES = [
    (name, "VARCHAR")
    for name in ("image_key", "source", "uri", "member", "stage", "reason", "detail")
]


def settings_meta(value: str) -> dict[str, str]:
    return {"settings": f'{{"enabled_sources": {value}}}'}


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({}, None),
        (settings_meta("null"), None),
        (settings_meta('["danbooru", "pixiv"]'), ("danbooru", "pixiv")),
        (settings_meta('["yandere"]'), ("yandere",)),
        (settings_meta("[]"), ()),
    ],
)
def test_enabled_sources_setting(meta: dict, expected):
    assert read_settings(SourceSettings, meta).enabled_sources == expected


@pytest.mark.parametrize(
    "value", ['{"a": 1}', "[1, 2]", '["../x"]', '["a/b"]', '[" pixiv"]', '"danbooru"', "3"]
)
def test_enabled_sources_setting_refuses_garbage(value: str):
    with pytest.raises(SettingsError, match="enabled_sources"):
        read_settings(SourceSettings, settings_meta(value))


def test_dbt_builds_catalog_models(tmp_path: Path, dbt_project) -> None:
    lake = MixedLake(tmp_path / "lake")
    project = dbt_project(lake.root)
    project.run(
        "build",
        "--select",
        "int_image_lake_scan int_image_catalog int_image_catalog_rejects",
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
        types = {
            table: con.sql(
                "select column_name, data_type from information_schema.columns"
                f" where table_name = '{table}' order by ordinal_position"
            ).fetchall()
            for table in ("int_image_catalog", "int_image_catalog_rejects")
        }
    assert catalog == [tuple(r.values()) for r in lake.catalog if r["source"] in enabled]
    expected_rejects = sorted(
        (tuple(r.values()) for r in lake.rejects if r["source"] in enabled),
        key=lambda r: (r[2], r[3] is not None, r[3] or "", r[5], r[6]),
    )
    assert rejects == expected_rejects
    assert types == {
        "int_image_catalog": CATALOG_TYPES,
        "int_image_catalog_rejects": REJECTS_TYPES,
    }

    # The lake is scanned once: both tables are SQL over the one Python scan.
    manifest = json.loads((project.work / "target" / "manifest.json").read_text())
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert models["int_image_lake_scan"]["language"] == "python"
    for name in ("int_image_catalog", "int_image_catalog_rejects"):
        assert models[name]["language"] == "sql"
        assert models[name]["depends_on"]["nodes"] == ["model.dataproc.int_image_lake_scan"]
