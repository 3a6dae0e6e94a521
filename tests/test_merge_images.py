"""The `images` mart built end to end: the shared `dbt build` of the test lake, and one small
build of a metadata-only lake with two sources enabled.

Checks that the merge keeps the identity's promises (posts showing the same picture with the
same md5, or linked by URL / pixiv_id, are one image), loses and duplicates no member, pivots
every enabled source's staging fields into `<source>__<field>` columns, and that its chosen
fields are consistent with its members; and, on the small build, that the image catalog scans
only the enabled sources. The demo lake's ground truth (`ground_truth/pictures.parquet`:
image_key, picture_id, transform) says which keys show the same picture. How
`merge_mode: sample` draws is checked by the unit tests of int_image_field_picks and by
tests/test_merge_weighted_pick.py.
"""

from __future__ import annotations

import json

import pytest
from conftest import DbtProject, make_dbt_project
from dataproc.demo import generate_lake
from test_catalog_lakes import noise_image, write

SOURCES = ("danbooru", "gelbooru", "yandere", "pixiv", "zerochan")
RATINGS = {"general", "sensitive", "questionable", "explicit"}
# A metadata-only run (no images: every kept post takes part in identity) of two sources.
METADATA_ONLY_VARS = (
    "{require_images: false, identity_edge_models: [], enabled_sources: [danbooru, pixiv]}"
)
# Images no post names, so they take no part in identity: the scan must catalogue the enabled
# source's image and not even list the rest (gelbooru's empty file would be a reject).
CATALOG_ONLY_FILES = {
    "images/danbooru/catalog_only.png": noise_image(1),
    "images/gelbooru/catalog_only.png": noise_image(2),
    "images/gelbooru/empty.png": b"",
}


@pytest.fixture(scope="module")
def metadata_only_build(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    """`dbt build` of everything up to the mart and of the catalog rejects, with those models'
    data tests, on a metadata-only lake of 20 posts per source (unit tests read no lake:
    demo_build runs them). The lake also holds images no post names (CATALOG_ONLY_FILES)."""
    work = tmp_path_factory.mktemp("merge_metadata_only")
    lake = work / "lake"
    generate_lake(str(lake), posts=20, seed=5, images=False)
    for relpath, data in CATALOG_ONLY_FILES.items():
        write(lake, relpath, data)
    project = make_dbt_project(work / "dbt", lake)
    project.run(
        "build",
        "--select",
        "+images int_image_catalog_rejects",
        "--indirect-selection",
        "cautious",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        METADATA_ONLY_VARS,
    )
    return project


def truth_sql(project: DbtProject) -> str:
    return f"read_parquet('{project.lake}/ground_truth/pictures.parquet')"


def image_of_sql() -> str:
    """image_key -> image_id, read back from the mart's member lists."""
    return "(select unnest(member_keys) as image_key, image_id from marts.images)"


def columns_of(project: DbtProject, schema: str, table: str) -> list[str]:
    return [
        name
        for (name,) in project.query(
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
        )
    ]


def assert_every_node_is_a_member_exactly_once(project: DbtProject, nodes: str) -> None:
    """Every identity node (a row of `nodes`) is in int_image_identity and in one image."""
    n_nodes = project.query(f"select count(*) from {nodes}")[0][0]
    identified = project.query("select count(*) from intermediate.int_image_identity")[0][0]
    assert identified == n_nodes
    members = project.query(
        "select count(*), count(distinct image_key) from "
        "(select unnest(member_keys) as image_key from marts.images)"
    )[0]
    assert n_nodes > 0
    assert members == (n_nodes, n_nodes)
    missing = project.query(
        f"select image_key from {nodes} except select image_key from {image_of_sql()}"
    )
    assert missing == []


def test_every_identity_node_is_a_member_exactly_once(demo_build: DbtProject) -> None:
    """With images: the kept posts whose image was embedded."""
    assert_every_node_is_a_member_exactly_once(demo_build, "intermediate.int_identity_nodes")


def test_every_kept_post_is_a_member_exactly_once(metadata_only_build: DbtProject) -> None:
    """Without images every kept post is an identity node."""
    assert_every_node_is_a_member_exactly_once(metadata_only_build, "intermediate.int_posts_kept")


def test_member_lists_are_consistent(demo_build: DbtProject) -> None:
    bad = demo_build.query(
        """
        select image_id from marts.images
        where n_members != len(member_keys)
            or member_keys != list_sort(member_keys)
            or sources != list_sort(list_distinct(
                list_transform(member_keys, k -> split_part(k, ':', 1))))
            or not list_contains(member_keys, best_image_key)
        """
    )
    assert bad == []


def test_md5_duplicates_across_sites_share_an_image(demo_build: DbtProject) -> None:
    pairs = demo_build.query(
        f"""
        with kept as (
            select posts.image_key, posts.source, posts.md5, truth.picture_id
            from intermediate.int_posts_kept as posts
            inner join {truth_sql(demo_build)} as truth using (image_key)
            where posts.md5 is not null
        ),
        image_of as {image_of_sql()}
        select a.image_key, b.image_key, ia.image_id, ib.image_id
        from kept as a
        inner join kept as b
            on a.md5 = b.md5 and a.picture_id = b.picture_id
            and a.source < b.source
        inner join image_of as ia on ia.image_key = a.image_key
        inner join image_of as ib on ib.image_key = b.image_key
        """
    )
    assert len(pairs) >= 5, "the demo lake should hold cross-site md5 duplicates"
    split = [pair for pair in pairs if pair[2] != pair[3]]
    assert split == []


def test_linked_duplicates_share_an_image(demo_build: DbtProject) -> None:
    """Links that name one exact post (int_posts_links.target_is_exact) are identity edges."""
    pairs = demo_build.query(
        f"""
        with truth as (select image_key, picture_id from {truth_sql(demo_build)}),
        kept as (select image_key from intermediate.int_posts_kept),
        image_of as {image_of_sql()}
        select links.kind, links.image_key, links.target_image_key,
            ia.image_id, ib.image_id
        from intermediate.int_posts_links as links
        inner join kept as ka on ka.image_key = links.image_key
        inner join kept as kb on kb.image_key = links.target_image_key
        inner join truth as ta on ta.image_key = links.image_key
        inner join truth as tb on tb.image_key = links.target_image_key
        inner join image_of as ia on ia.image_key = links.image_key
        inner join image_of as ib on ib.image_key = links.target_image_key
        where ta.picture_id = tb.picture_id and links.target_is_exact
        """
    )
    kinds = {kind for kind, *_ in pairs}
    assert {"pixiv_id", "source_url"} <= kinds, f"link kinds found: {kinds}"
    split = [pair for pair in pairs if pair[3] != pair[4]]
    assert split == []


def test_every_source_has_its_prefixed_columns(demo_build: DbtProject) -> None:
    mart = set(columns_of(demo_build, "marts", "images"))
    for source in SOURCES:
        staged = columns_of(demo_build, "staging", f"stg_{source}__posts")
        expected = {f"{source}__{name}" for name in staged if name != "source"}
        assert expected, source
        assert expected <= mart, sorted(expected - mart)
    assert {"danbooru__fav_count", "pixiv__total_bookmarks", "zerochan__primary_tag"} <= mart


def test_prefixed_columns_come_from_a_member_of_that_source(demo_build: DbtProject) -> None:
    for source in SOURCES:
        counts = demo_build.query(
            f"""
            select
                count(*) filter (where list_contains(sources, '{source}')),
                count({source}__image_key),
                count(*) filter (
                    where {source}__image_key is not null
                    and not list_contains(member_keys, {source}__image_key))
            from marts.images
            """
        )[0]
        with_source, filled, foreign = counts
        assert with_source > 0, source
        assert filled == with_source, source
        assert foreign == 0, source


def test_chosen_fields_are_well_formed(demo_build: DbtProject) -> None:
    min_confidence = 0.5
    ratings = {r for (r,) in demo_build.query("select distinct rating from marts.images")}
    assert ratings - {None} <= RATINGS
    assert ratings & RATINGS
    bad_tags = demo_build.query(
        f"""
        select image_id from marts.images
        where tags != list_transform(tag_confidences, t -> t.tag)
            or list_any_value(list_filter(tag_confidences, t -> t.confidence < {min_confidence}))
                is not null
            or len(tags) != len(list_distinct(tags))
        """
    )
    assert bad_tags == []
    # created_at is chosen whenever a member has one (zerochan has none).
    undated = demo_build.query(
        """
        with member_dates as (
            select members.image_id, count(posts.created_at) as n_dated
            from (select image_id, unnest(member_keys) as image_key from marts.images) as members
            inner join intermediate.int_posts_kept as posts using (image_key)
            group by members.image_id
        )
        select count(*) from marts.images inner join member_dates using (image_id)
        where (created_at is null) != (n_dated = 0)
        """
    )[0][0]
    assert undated == 0
    filled = demo_build.query(
        "select count(*), count(artist), count(*) filter (where len(tags) > 0), "
        "count(*) filter (where len(characters) > 0) from marts.images"
    )[0]
    total, artists, tagged, with_characters = filled
    assert tagged > 0.9 * total
    assert artists > 0.3 * total
    assert with_characters > 0


def test_pixiv_artist_is_learned_from_merged_danbooru_posts(demo_build: DbtProject) -> None:
    learned = demo_build.query("select count(*) from intermediate.int_account_artists")[0][0]
    assert learned > 0
    # A pixiv-only image whose uploader was learned elsewhere gets that artist.
    credited = demo_build.query(
        """
        select count(*) from marts.images as images
        inner join staging.stg_pixiv__posts as pixiv
            on images.pixiv__image_key = pixiv.image_key
        inner join intermediate.int_account_artists as accounts
            on accounts.source = 'pixiv' and accounts.account = pixiv.user_id::varchar
        where images.sources = ['pixiv'] and images.artist = accounts.artist
        """
    )[0][0]
    assert credited > 0


def test_images_is_a_view_over_a_narrow_table(demo_build: DbtProject) -> None:
    """The mart stores no source's wide fields: int_merged_images holds the merged fields, the
    image_number of its kept tags and one representative key per source, and the `images` view
    joins the tags and the staging fields on them, so no build holds every source's fields at
    once."""
    (kind,) = demo_build.query(
        "select table_type from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'images'"
    )[0]
    assert kind == "VIEW"
    stored = columns_of(demo_build, "intermediate", "int_merged_images")
    keys = [f"{source}__representative_key" for source in SOURCES]
    assert [name for name in stored if "__" in name] == keys
    mart = columns_of(demo_build, "marts", "images")
    # The kept tags are stored once, in int_image_tags, and joined on image_number.
    assert "tag_confidences" not in stored
    assert [name for name in mart if "__" not in name] == [
        *[name for name in stored if name not in keys and name != "image_number"],
        "tags",
        "tag_confidences",
    ]
    # Every image and every source field survives the view's joins, one row per image.
    (images, merged, pixiv_posts) = demo_build.query(
        "select (select count(*) from marts.images), "
        "(select count(*) from intermediate.int_merged_images), "
        "(select count(pixiv__post_id) from marts.images)"
    )[0]
    assert images == merged
    assert pixiv_posts > 0


def test_fewer_sources_pivot_only_those(metadata_only_build: DbtProject) -> None:
    columns = columns_of(metadata_only_build, "marts", "images")
    prefixes = {name.split("__", 1)[0] for name in columns if "__" in name}
    assert prefixes == {"danbooru", "pixiv"}
    sources = {
        s for (s,) in metadata_only_build.query("select distinct unnest(sources) from marts.images")
    }
    assert sources == {"danbooru", "pixiv"}


def test_only_enabled_sources_are_catalogued(metadata_only_build: DbtProject) -> None:
    catalog = metadata_only_build.query(
        'select image_key, source, uri, "offset", length from intermediate.int_image_catalog'
    )
    image = CATALOG_ONLY_FILES["images/danbooru/catalog_only.png"]
    assert catalog == [
        ("danbooru:catalog_only", "danbooru", "images/danbooru/catalog_only.png", 0, len(image))
    ]
    rejects = metadata_only_build.query("select * from intermediate.int_image_catalog_rejects")
    assert rejects == []


def test_every_mart_column_is_documented(demo_build: DbtProject) -> None:
    """Fixed columns are described in _images__models.yml; `<source>__<column>` columns by the
    staging model's description of `<column>`."""
    manifest = json.loads((demo_build.work / "target" / "manifest.json").read_text())
    nodes = {node["name"]: node for node in manifest["nodes"].values()}

    def described(model: str) -> set[str]:
        columns = nodes[model]["columns"]
        return {name for name, column in columns.items() if column.get("description")}

    mart_docs = described("images")
    staging_docs = {source: described(f"stg_{source}__posts") for source in SOURCES}
    undocumented = []
    for name in columns_of(demo_build, "marts", "images"):
        source, _, column = name.partition("__")
        if name in mart_docs or (source in staging_docs and column in staging_docs[source]):
            continue
        undocumented.append(name)
    assert undocumented == []
