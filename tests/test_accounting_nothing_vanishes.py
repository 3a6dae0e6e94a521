"""Accounting end to end: after the shared `dbt build` of the test lake, every staged image key
is in an image or in `rejections`, and the funnel adds up.

The test lake holds one known deleted danbooru post (conftest.DELETED_POST_ID), whatever the
demo's draws.
"""

from __future__ import annotations

from conftest import DELETED_POST_ID, DbtProject

DELETED_KEY = f"danbooru:{DELETED_POST_ID}"


def test_every_staged_key_is_an_image_member_or_rejected(demo_build: DbtProject) -> None:
    missing = demo_build.query(
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


def test_staged_keys_are_split_by_the_prefilter(demo_build: DbtProject) -> None:
    (staged, kept, rejected, overlap) = demo_build.query(
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


def test_known_deleted_post_is_rejected_as_deleted(demo_build: DbtProject) -> None:
    rows = demo_build.query(
        f"""
        select source, post_key, stage, reason, detail
        from marts.rejections where image_key = '{DELETED_KEY}'
        """
    )
    assert rows == [("danbooru", str(DELETED_POST_ID), "prefilter", "deleted", "is_deleted")]
    members = demo_build.query(
        f"select count(*) from marts.images where list_contains(member_keys, '{DELETED_KEY}')"
    )
    assert members == [(0,)]


def test_every_deleted_staged_post_is_rejected_as_deleted(demo_build: DbtProject) -> None:
    wrong = demo_build.query(
        """
        select posts.image_key, rejections.reason
        from intermediate.int_posts_unioned as posts
        left join marts.rejections
            on posts.image_key = rejections.image_key and rejections.stage = 'prefilter'
        where posts.is_deleted and rejections.reason is distinct from 'deleted'
        """
    )
    assert wrong == []


def test_funnel_adds_up(demo_build: DbtProject) -> None:
    counts = {
        (source, stage): n
        for source, stage, n in demo_build.query("select source, stage, n from marts.funnel")
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
        == demo_build.query("select count(*) from (select unnest(member_keys) from marts.images)")[
            0
        ][0]
    )
    assert counts["all", "images"] == demo_build.query("select count(*) from marts.images")[0][0]
    assert (
        counts["all", "image_members"] - counts["all", "duplicates_merged"]
        == counts["all", "images"]
    )
    assert (
        counts["all", "rejection_rows"]
        == demo_build.query("select count(*) from marts.rejections")[0][0]
        >= counts["all", "rejected"]
    )
