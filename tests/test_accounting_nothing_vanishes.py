"""Accounting end to end: after `dbt build` on a small demo lake, every staged image key is in an
image or in `rejections`, and the funnel adds up.

The demo lake gets one extra danbooru post, a copy of a demo post marked deleted under a fresh
id, so there is always a known deleted post whatever the demo's draws. One module-scoped build
is shared by every test.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import DbtProject, make_dbt_project
from dataproc.demo import generate_lake

DELETED_POST_ID = 990_000_001
DELETED_KEY = f"danbooru:{DELETED_POST_ID}"


def add_deleted_danbooru_post(lake: Path) -> None:
    """Write raw/danbooru/zz_accounting.parquet: one demo post, re-keyed and marked deleted."""
    raw = lake / "raw" / "danbooru"
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (
                select * replace (
                    cast({DELETED_POST_ID} as bigint) as id,
                    true as is_deleted,
                    false as is_banned,
                    false as is_pending
                )
                from read_parquet('{raw}/*.parquet', union_by_name = true)
                order by id
                limit 1
            ) to '{raw / "zz_accounting.parquet"}' (format parquet)
            """
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    lake = tmp_path_factory.mktemp("accounting") / "lake"
    generate_lake(str(lake), posts=30, seed=5, images=False)
    add_deleted_danbooru_post(lake)
    project = make_dbt_project(tmp_path_factory.mktemp("accounting_dbt"), lake)
    project.run("build")
    return project


def test_every_staged_key_is_an_image_member_or_rejected(built: DbtProject) -> None:
    missing = built.query(
        """
        with members as (
            select unnest(member_keys) as image_key from marts.images
        )
        select posts.image_key
        from intermediate.int_posts_unioned as posts
        where posts.image_key not in (select image_key from members)
          and posts.image_key not in (
              select image_key from marts.rejections where image_key is not null
          )
        """
    )
    assert missing == []


def test_staged_keys_are_split_by_the_prefilter(built: DbtProject) -> None:
    (staged, kept, rejected, overlap) = built.query(
        """
        select
            (select count(*) from intermediate.int_posts_unioned),
            (select count(*) from intermediate.int_posts_kept),
            (select count(*) from marts.rejections where stage = 'prefilter'),
            (
                select count(*) from intermediate.int_posts_kept
                where image_key in (
                    select image_key from marts.rejections where stage = 'prefilter'
                )
            )
        """
    )[0]
    assert staged > 0
    assert kept + rejected == staged
    assert overlap == 0


def test_known_deleted_post_is_rejected_as_deleted(built: DbtProject) -> None:
    rows = built.query(
        f"""
        select source, post_key, stage, reason, detail
        from marts.rejections where image_key = '{DELETED_KEY}'
        """
    )
    assert rows == [("danbooru", str(DELETED_POST_ID), "prefilter", "deleted", "is_deleted")]
    members = built.query(
        f"select count(*) from marts.images where list_contains(member_keys, '{DELETED_KEY}')"
    )
    assert members == [(0,)]


def test_every_deleted_staged_post_is_rejected_as_deleted(built: DbtProject) -> None:
    wrong = built.query(
        """
        select posts.image_key, rejections.reason
        from intermediate.int_posts_unioned as posts
        left join marts.rejections
            on posts.image_key = rejections.image_key and rejections.stage = 'prefilter'
        where posts.is_deleted and rejections.reason is distinct from 'deleted'
        """
    )
    assert wrong == []


def test_funnel_adds_up(built: DbtProject) -> None:
    counts = {
        (source, stage): n
        for source, stage, n in built.query("select source, stage, n from marts.funnel")
    }
    sources = {source for source, _ in counts}
    assert "all" in sources and len(sources) > 1
    for source in sources:
        assert counts[source, "unaccounted"] == 0, source
        assert (
            counts[source, "prefilter_kept"] + counts[source, "prefilter_rejected"]
            == counts[source, "staged_image_keys"]
        ), source
    for stage in ("staged_image_keys", "prefilter_kept", "image_members", "rejected"):
        per_source = sum(counts[s, stage] for s in sources if s != "all")
        assert counts["all", stage] == per_source, stage
    assert (
        counts["all", "image_members"]
        == built.query("select count(*) from (select unnest(member_keys) from marts.images)")[0][0]
    )
    assert counts["all", "images"] == built.query("select count(*) from marts.images")[0][0]
