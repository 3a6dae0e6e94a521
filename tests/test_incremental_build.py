"""Reruns cost what changed (macros/memo/): a rebuild with nothing changed keeps every memoized
table and passes its data tests without running them, a re-crawl's new raw files are staged on
their own and merged in, and the export of such an incremental build is byte-identical to the
export of a `--full-refresh` build of the same lake."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import DbtProject, copy_project, make_dbt_project

SOURCES = ("danbooru", "gelbooru", "yandere", "pixiv", "zerochan")
RECRAWL_FILE = "part-recrawl.parquet"
# Danbooru posts the re-crawl fetches again, edited since: a later updated_at, another score
# and one more tag. The newer edit must replace the staged one.
EDITED_POSTS = 2
KEPT = "nothing it reads has changed, kept as built"
PASSED_BEFORE = "nothing it reads has changed since it passed"
BUILD = ("build", "--exclude-resource-type", "unit_test")
# Images per batch of the full build's per-image merge models: the demo's images in several.
BATCH_IMAGES = 40


def add_recrawl(lake: Path) -> None:
    """One more raw file per source, as a daily re-crawl writes: a sample of the source's posts
    under new ids, and (danbooru) newer edits of posts already staged."""
    with duckdb.connect() as con:
        for source in SOURCES:
            raw = f"read_parquet('{lake}/raw/{source}/*.parquet', union_by_name = true)"
            top = con.sql(f"select max(id) from {raw}").fetchone()[0]
            edited = ""
            if source == "danbooru":
                edited = f"""
                    union all by name
                    select * replace (
                        '2030' || substr(updated_at, 5) as updated_at,
                        score + 1000 as score,
                        tag_string || ' recrawl_edit' as tag_string
                    )
                    from (select * from {raw} order by id limit {EDITED_POSTS})
                """
            con.sql(
                f"""
                copy (
                    select * replace (id + {top} as id) from {raw}
                    using sample reservoir(4 rows) repeatable (1)
                    {edited}
                ) to '{lake}/raw/{source}/{RECRAWL_FILE}' (format parquet)
                """
            )


def memoized_models(project: DbtProject) -> set[str]:
    """The memoized models of the manifest the project's last dbt command wrote."""
    manifest = json.loads((project.work / "target" / "manifest.json").read_text())
    return {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "memoized_table"
    }


def kept_models(output: str) -> set[str]:
    return {line.split('"."')[-1].split('"')[0] for line in output.splitlines() if KEPT in line}


def export_files(project: DbtProject) -> dict[str, str]:
    """path -> sha256 of every file of the newest version the project's last build names."""
    (manifest_path,) = project.query("select manifest_path from exports.export_dataset")[0]
    manifest = json.loads(Path(project.lake, "exports", manifest_path).read_text())
    return {entry["path"]: entry["sha256"] for entry in manifest["files"]}


@pytest.fixture(scope="module")
def recrawled(demo_build, tmp_path_factory) -> tuple[DbtProject, DbtProject, str, str]:
    """The demo build's lake after a re-crawl, built twice: incrementally on the demo build's
    database (with its data tests), and with --full-refresh into a new database on a copy of
    the same lake, each per-image merge model in batches of a few images."""
    work = tmp_path_factory.mktemp("recrawl")
    incremental = copy_project(demo_build, work / "incremental")
    add_recrawl(Path(incremental.lake))
    full_lake = work / "full" / "lake"
    shutil.copytree(incremental.lake, full_lake)
    full = make_dbt_project(work / "full" / "dbt", full_lake)
    output = incremental.run(*BUILD).output
    # Seeds and models in one command; the data tests ran in the incremental build.
    full_output = full.run(
        "build",
        "--full-refresh",
        "--exclude-resource-type",
        "test",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        json.dumps({"merge_batch_images": BATCH_IMAGES}),
    ).output
    return incremental, full, output, full_output


def test_recrawl_stages_only_the_new_files(recrawled):
    (incremental, full, output, _) = recrawled
    for source in SOURCES:
        assert f'"stg_{source}__posts": staging only the 1 raw file(s) added' in output, source
    # The newer edit replaced the staged post, as a full staging does.
    for project in (incremental, full):
        edited = project.query(
            "select count(*) from staging.stg_danbooru__posts "
            "where list_contains(tags, 'recrawl_edit') and raw_file like '%" + RECRAWL_FILE + "'"
        )
        assert edited == [(EDITED_POSTS,)]
    staged = "select * from staging.stg_{}__posts order by image_key"
    for source in SOURCES:
        assert incremental.query(staged.format(source)) == full.query(staged.format(source))


def test_incremental_export_is_byte_identical_to_a_full_refresh(recrawled):
    (incremental, full, _, _) = recrawled
    assert incremental.query("select status from exports.export_dataset") == [("published",)]
    assert export_files(incremental) == export_files(full)


def test_rebuild_with_nothing_changed_keeps_every_table_and_publishes_nothing(recrawled):
    (incremental, _, _, _) = recrawled
    log = incremental.work / "logs" / "dbt.log"
    log.unlink()
    output = incremental.run(*BUILD).output
    memoized = memoized_models(incremental)
    assert memoized and memoized <= kept_models(output)
    # Every data test passed in the incremental build and reads what it read then, but those
    # of the publish: it ran again, and its row now says `unchanged`.
    data_tests = sum(
        " PASS " in line and "export_dataset" not in line for line in output.splitlines()
    )
    assert 0 < data_tests <= log.read_text().count(PASSED_BEFORE)
    assert incremental.query("select status from exports.export_dataset") == [("unchanged",)]


def per_image_models(project: DbtProject) -> set[str]:
    """The models that rebuild only their changed images (config `memo_images`)."""
    manifest = json.loads((project.work / "target" / "manifest.json").read_text())
    return {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("memo_images")
    }


def test_recrawl_rebuilds_only_the_changed_images_of_the_merge(recrawled):
    (incremental, full, output, full_output) = recrawled
    models = per_image_models(full)
    assert {"int_image_representatives", "int_image_tags", "int_merged_images"} <= models
    (n_images,) = full.query("select count(*) from intermediate.int_image_digests")[0]
    for model in sorted(models):
        (line,) = [line for line in output.splitlines() if f'"{model}": rebuilding only' in line]
        changed = int(line.split("rebuilding only the ")[1].split(" of ")[0])
        # The re-crawl adds 4 posts per source and edits 2: each changes the image it joins (and
        # the one it may leave or merge), a few of all.
        assert 0 < changed <= 3 * (5 * 4 + EDITED_POSTS) < n_images, (model, line)
        # The full build made the same rows in batches.
        batches = -(-n_images // BATCH_IMAGES)
        assert f'"{model}": building its {n_images} images in {batches} batches' in full_output
        rows = f"select * from intermediate.{model} order by all"
        assert incremental.query(rows) == full.query(rows), model
