"""`dbt build` end to end on a small demo lake: locally and against S3 (moto) on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DbtProject, S3Endpoint, make_dbt_project
from dataproc.demo import generate_lake

SOURCES = ("danbooru", "gelbooru", "yandere", "pixiv", "zerochan")


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("demo") / "lake"
    generate_lake(str(lake), posts=40, seed=11, images=True)
    return lake


@pytest.fixture(scope="module")
def local_build(demo_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    project = make_dbt_project(tmp_path_factory.mktemp("local"), demo_lake)
    project.run("build")
    return project


def staged_counts(project: DbtProject) -> dict[str, int]:
    return {
        source: project.query(f"select count(*) from staging.stg_{source}__posts")[0][0]
        for source in SOURCES
    }


def test_local_build_stages_every_source(local_build: DbtProject) -> None:
    counts = staged_counts(local_build)
    assert all(counts[s] > 0 for s in SOURCES), counts
    # pixiv explodes works into pages, so it has at least as many rows as works
    works = local_build.query("select count(distinct post_id) from staging.stg_pixiv__posts")
    assert counts["pixiv"] >= works[0][0] > 0


def test_s3_build_matches_local(
    demo_lake: Path,
    local_build: DbtProject,
    s3_endpoint: S3Endpoint,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    uploaded = s3_endpoint.upload_dir(demo_lake, "lake")
    assert uploaded > 0
    project = make_dbt_project(
        tmp_path_factory.mktemp("s3"),
        f"s3://{s3_endpoint.bucket}/lake",
        **s3_endpoint.env,
    )
    project.run("build", target="s3")
    assert staged_counts(project) == staged_counts(local_build)
    tables = "select schema_name || '.' || table_name from duckdb_tables() order by 1"
    assert project.query(tables) == local_build.query(tables)
