"""The dbt models of the image catalog: one scan of the lake (int_image_lake_scan) and the two
SQL models over it (int_image_catalog, int_image_catalog_rejects), and their settings.

The models are checked on the shared demo build, against `scan_lake` run on its lake.
"""

from __future__ import annotations

import json

import pytest
from conftest import DbtProject
from dataproc.catalog import SourceSettings, scan_lake
from dataproc.config import SettingsError, read_settings
from dataproc.lake import Lake

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


def test_catalog_tables_are_the_two_halves_of_one_scan(demo_build: DbtProject) -> None:
    """The shared build's tables hold exactly the rows `scan_lake` gives for its lake.

    The exact rows of hostile entries are checked on `scan_lake` itself (test_catalog_scan.py);
    that only enabled sources are scanned, on the metadata-only build of test_merge_images.py.
    """
    scan = scan_lake(Lake(demo_build.lake))
    catalog = demo_build.query(
        'select * from intermediate.int_image_catalog order by uri, "offset"'
    )
    rejects = demo_build.query(
        "select * from intermediate.int_image_catalog_rejects"
        " order by uri, member nulls first, reason, detail"
    )
    types = {
        table: demo_build.query(
            "select column_name, data_type from information_schema.columns"
            f" where table_name = '{table}' order by ordinal_position"
        )
        for table in ("int_image_catalog", "int_image_catalog_rejects")
    }
    expected_catalog = sorted(
        (tuple(r.values()) for r in scan.catalog.to_pylist()), key=lambda r: (r[3], r[4])
    )
    expected_rejects = sorted(
        (tuple(r.values()) for r in scan.rejects.to_pylist()),
        key=lambda r: (r[2], r[3] is not None, r[3] or "", r[5], r[6]),
    )
    assert catalog and rejects, "the demo lake should hold both images and hostile entries"
    assert catalog == expected_catalog
    assert rejects == expected_rejects
    assert types == {
        "int_image_catalog": CATALOG_TYPES,
        "int_image_catalog_rejects": REJECTS_TYPES,
    }

    # The lake is scanned once: both tables are SQL over the one Python scan.
    manifest = json.loads((demo_build.work / "target" / "manifest.json").read_text())
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert models["int_image_lake_scan"]["language"] == "python"
    for name in ("int_image_catalog", "int_image_catalog_rejects"):
        assert models[name]["language"] == "sql"
        assert models[name]["depends_on"]["nodes"] == ["model.dataproc.int_image_lake_scan"]
