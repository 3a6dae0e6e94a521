"""Staging models on a crafted raw lake: types, dates, ratings, tags, pixiv pages, raw contract,
bad rows, and any DuckDB file name.

One module-scoped `dbt build` of one crafted lake, into a database file named `main.duckdb`, is
checked by most tests. The lake holds two parts side by side: the good rows (ids below 1000) and
the messy rows (bad values, duplicate post ids, every date form; each id is a good one's plus
1000, in `messy*.parquet` files). Each test reads its part; together the parts' key sets cover
every staged row. Malformed lakes get one dbt run each. The funnel's raw steps are read off the
shared demo build.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import PROJECT_DIR, DbtProject, make_dbt_project

SOURCES = ("danbooru", "gelbooru", "yandere", "pixiv", "zerochan")
STAGING = "+path:models/staging"

SHARED_COLUMNS = [
    ("image_key", "VARCHAR"),
    ("source", "VARCHAR"),
    ("post_key", "VARCHAR"),
    ("post_id", "BIGINT"),
    ("md5", "VARCHAR"),
    ("rating", "VARCHAR"),
    ("created_at", "TIMESTAMP WITH TIME ZONE"),
    ("width", "INTEGER"),
    ("height", "INTEGER"),
    ("score", "INTEGER"),
    ("tags", "VARCHAR[]"),
    (
        "tags_by_category",
        'STRUCT(artist VARCHAR[], "character" VARCHAR[], copyright VARCHAR[], '
        "general VARCHAR[], meta VARCHAR[])",
    ),
    ("source_url", "VARCHAR"),
    ("file_ext", "VARCHAR"),
    ("is_deleted", "BOOLEAN"),
    ("is_pending", "BOOLEAN"),
    ("is_banned", "BOOLEAN"),
    ("is_flagged", "BOOLEAN"),
]

# Tags the fixture lake uses that the seed must not alias.
PLAIN_TAGS = ("1girl", "zz_plain", "zz_artist", "zz_series", "highres", "blue_sky", "girl_power")
PLAIN_TAGS += ("zz_plain_name", "zz_empty_translation", "long_hair", "zzの花")

PIXIV_TAG = pa.struct([("name", pa.string()), ("translated_name", pa.string())])
PIXIV_USER = pa.struct([("id", pa.int64()), ("name", pa.string()), ("account", pa.string())])


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def write_raw(lake: Path, source: str, name: str, rows: list[dict], schema: pa.Schema) -> Path:
    """One raw parquet file with exactly the columns of `schema`."""
    path = lake / "raw" / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def seed_aliases() -> dict[str, str]:
    """The project's tag_aliases seed: normalized alias -> tag."""
    with (PROJECT_DIR / "seeds" / "tag_aliases.csv").open(newline="", encoding="utf-8") as f:
        return {row["alias"]: row["tag"] for row in csv.DictReader(f)}


def pick_alias(aliases: dict[str, str], *, ascii: bool) -> tuple[str, str]:
    """A seed alias that is ASCII or not, as asked (else any), with its tag.

    Only aliases that differ from their tag and are not themselves a tag target qualify.
    """
    usable = [(a, t) for a, t in aliases.items() if a != t and a not in aliases.values()]
    assert usable, "the tag_aliases seed has no usable alias row"
    preferred = [(a, t) for a, t in usable if a.isascii() == ascii]
    return (preferred or usable)[0]


def spelled_out(alias: str) -> str:
    """The alias as a site might spell it: Title Case with spaces (ASCII aliases only)."""
    return alias.replace("_", " ").title() if alias.isascii() else alias


class Fixture:
    """The crafted lake's tags that must be aliased, computed from the project's seed."""

    def __init__(self) -> None:
        self.aliases = seed_aliases()
        self.booru_alias, self.booru_tag = pick_alias(self.aliases, ascii=True)
        self.pixiv_alias, self.pixiv_tag = pick_alias(self.aliases, ascii=False)
        aliased_plain_tags = set(PLAIN_TAGS) & set(self.aliases)
        assert not aliased_plain_tags, "these tests need them to be plain tags, not aliases"


def write_danbooru(lake: Path, fx: Fixture) -> None:
    common = [
        ("id", pa.int64()), ("md5", pa.string()), ("created_at", pa.string()),
        ("updated_at", pa.string()), ("rating", pa.string()), ("score", pa.int64()),
        ("up_score", pa.int64()), ("down_score", pa.int64()), ("image_width", pa.int64()),
        ("image_height", pa.int64()), ("file_ext", pa.string()), ("file_size", pa.int64()),
        ("source", pa.string()), ("pixiv_id", pa.int64()), ("parent_id", pa.int64()),
        ("is_pending", pa.bool_()), ("is_flagged", pa.bool_()), ("is_deleted", pa.bool_()),
        ("is_banned", pa.bool_()), ("tag_string", pa.string()),
        ("tag_string_general", pa.string()), ("tag_string_character", pa.string()),
        ("tag_string_copyright", pa.string()), ("tag_string_artist", pa.string()),
        ("tag_string_meta", pa.string()),
    ]  # fmt: skip
    flags = {"is_pending": False, "is_flagged": False, "is_deleted": False, "is_banned": False}
    first = [
        {
            **flags, "id": 1, "md5": "ABCDEF0123456789ABCDEF0123456789",
            "created_at": "2024-01-02T03:04:05.678-05:00",
            "updated_at": "2024-01-03T00:00:00+00:00", "rating": "g", "score": 10,
            "up_score": 12, "down_score": -2, "fav_count": 5, "image_width": 800,
            "image_height": 600, "file_ext": "PNG", "file_size": 1234, "source": "",
            "pixiv_id": 100, "parent_id": None,
            "tag_string": f" 1girl  Zz_Plain {fx.booru_alias} 1girl ",
            "tag_string_general": "1girl zz_plain", "tag_string_character": fx.booru_alias,
            "tag_string_copyright": "zz_series", "tag_string_artist": "zz_artist",
            "tag_string_meta": "highres", "extra_junk": 1,
        },
        {
            **flags, "id": 2, "created_at": "2024-06-30T23:59:59+09:00", "rating": "s",
            "source": " https://example.com/a/1 ", "fav_count": 0, "tag_string": "",
            "extra_junk": 2,
        },
    ]  # fmt: skip
    # fav_count is in the first file only; has_children is in no file; extra_junk is undeclared.
    schema = pa.schema([*common, ("fav_count", pa.int64()), ("extra_junk", pa.int64())])
    write_raw(lake, "danbooru", "part-00000.parquet", first, schema)
    second = [
        {**flags, "id": 3, "created_at": "2023-12-31T23:00:00+00:00", "rating": " Q "},
        {**flags, "id": 4, "created_at": "2024-02-29T12:00:00-08:00", "rating": "e",
         "is_deleted": True, "is_banned": True, "file_ext": ".JPG"},
    ]  # fmt: skip
    write_raw(lake, "danbooru", "part-00001.parquet", second, pa.schema(list(reversed(common))))


def write_gelbooru(lake: Path) -> None:
    schema = pa.schema([
        ("id", pa.int64()), ("md5", pa.string()), ("created_at", pa.string()),
        ("rating", pa.string()), ("score", pa.int32()), ("width", pa.int32()),
        ("height", pa.int32()), ("source", pa.string()), ("tags", pa.string()),
        ("parent_id", pa.int64()), ("status", pa.string()), ("file_url", pa.string()),
    ])  # fmt: skip
    rows = [
        {"id": 11, "created_at": "Sat Jan 06 12:34:56 -0500 2024", "rating": "general",
         "status": "active", "parent_id": 0, "tags": "Blue_Sky  zz_plain",
         "file_url": "https://img.example.com/images/ab/cd/abcd.JPEG?11"},
        {"id": 12, "created_at": "Thu Feb 29 23:30:00 +0900 2024", "rating": "sensitive",
         "status": "deleted", "parent_id": 11, "file_url": "https://img.example.com/x.png"},
        {"id": 13, "rating": "questionable", "status": "pending", "tags": ""},
        {"id": 14, "rating": "explicit", "status": "flagged"},
        {"id": 15, "rating": "safe", "status": "active"},
        {"id": 16, "rating": "unheard-of", "status": "active"},
    ]  # fmt: skip
    write_raw(lake, "gelbooru", "posts.parquet", rows, schema)


def write_yandere(lake: Path) -> None:
    schema = pa.schema([
        ("id", pa.int64()), ("md5", pa.string()), ("created_at", pa.int64()),
        ("rating", pa.string()), ("score", pa.int64()), ("width", pa.int64()),
        ("height", pa.int64()), ("file_ext", pa.string()), ("file_size", pa.int64()),
        ("source", pa.string()), ("tags", pa.string()), ("author", pa.string()),
        ("parent_id", pa.int64()), ("status", pa.string()),
    ])  # fmt: skip
    rows = [
        {"id": 21, "created_at": 1700000000, "rating": "s", "status": "active",
         "file_ext": "jpg", "tags": "zz_plain\tzz_tabbed\r\n"},
        {"id": 22, "created_at": 0, "rating": "q", "status": "deleted"},
        {"id": 23, "created_at": 1, "rating": "e", "status": "pending"},
    ]  # fmt: skip
    write_raw(lake, "yandere", "posts.parquet", rows, schema)


def write_pixiv(lake: Path, fx: Fixture) -> None:
    schema = pa.schema([
        ("id", pa.int64()), ("title", pa.string()), ("caption", pa.string()),
        ("type", pa.string()), ("create_date", pa.string()), ("page_count", pa.int64()),
        ("width", pa.int64()), ("height", pa.int64()), ("sanity_level", pa.int64()),
        ("x_restrict", pa.int64()), ("illust_ai_type", pa.int64()), ("total_view", pa.int64()),
        ("total_bookmarks", pa.int64()), ("total_comments", pa.int64()), ("user", PIXIV_USER),
        ("tags", pa.list_(PIXIV_TAG)), ("is_bookmarked", pa.bool_()),
    ])  # fmt: skip
    user = {"id": 7, "name": "Artist", "account": "artist_acc"}
    rows = [
        {
            "id": 100, "title": "t", "caption": "<b>c</b>", "type": "illust",
            "create_date": "2024-03-01T09:00:00+09:00", "page_count": 3, "width": 1000,
            "height": 2000, "sanity_level": 2, "x_restrict": 0, "illust_ai_type": 1,
            "total_view": 1000, "total_bookmarks": 50, "total_comments": 3, "user": user,
            "tags": [
                {"name": fx.pixiv_alias, "translated_name": "Should Not Win"},
                {"name": "zzの花", "translated_name": "Girl  Power"},
                {"name": "Zz Plain Name", "translated_name": None},
                {"name": "zz_empty_translation", "translated_name": ""},
            ],
        },
        {"id": 101, "type": "ugoira", "page_count": 1, "x_restrict": 1, "sanity_level": 6,
         "create_date": "2020-01-01T00:00:00+09:00", "total_view": 10, "total_bookmarks": 5},
        {"id": 102, "type": "manga", "page_count": None, "x_restrict": 0, "sanity_level": 4,
         "total_view": 0, "total_bookmarks": 0, "tags": []},
        {"id": 103, "type": "illust", "page_count": 1, "x_restrict": 0, "sanity_level": 6},
        {"id": 104, "type": "illust", "page_count": 2, "x_restrict": 2, "sanity_level": 6},
    ]  # fmt: skip
    write_raw(lake, "pixiv", "works.parquet", rows, schema)


def write_zerochan(lake: Path, fx: Fixture) -> None:
    # No `source` column at all: source_url must be NULL and the model must still build.
    schema = pa.schema([
        ("id", pa.int64()), ("width", pa.int32()), ("height", pa.int32()), ("size", pa.int64()),
        ("hash", pa.string()), ("primary", pa.string()), ("tags", pa.list_(pa.string())),
    ])  # fmt: skip
    zerochan_alias = spelled_out(fx.booru_alias)
    rows = [
        {"id": 500, "width": 640, "height": 480, "size": 999,
         "hash": " 0123456789ABCDEF0123456789ABCDEF ", "primary": zerochan_alias,
         "tags": ["Blue Sky", zerochan_alias, "\u3000 Long \t Hair\t", "", "Blue Sky"]},
        {"id": 501, "primary": None, "tags": None},
    ]  # fmt: skip
    write_raw(lake, "zerochan", "entries.parquet", rows, schema)


TEXT = pa.string()


def write_messy_lake(lake: Path) -> dict[str, Path]:
    """Raw files whose crawler wrote text where numbers and dates belong: one bad row of each
    kind, duplicate post ids, and readable rows beside them, all with ids of 1000 and up.
    Returns each source's messy file."""
    danbooru = pa.schema([
        ("id", TEXT), ("created_at", TEXT), ("updated_at", TEXT), ("score", TEXT),
        ("rating", TEXT),
    ])  # fmt: skip
    files = {
        "danbooru": write_raw(lake, "danbooru", "messy-00000.parquet", [
            {"id": "1001", "created_at": "2024-01-02T03:04:05-05:00", "score": "7"},
            {"id": "1002", "created_at": "yesterday"},
            {"id": "1003", "score": "n/a"},
            {"id": "abc"},
            {"id": None, "score": "1"},
            {"id": "1004", "created_at": "2024/01/02 03:04"},
            {"id": "1005", "created_at": "2024-05-01T10:00:00"},
            {"id": "1006", "created_at": "tomorrow", "score": "x" * 100},
            {"id": "1007", "updated_at": "2024-01-03T00:00:00+00:00", "rating": "g"},
            {"id": "1008", "score": "1"},
            {"id": "1008", "score": "2"},
            {"id": "1009", "score": "99999999999"},
        ], danbooru),
    }  # fmt: skip
    # Later in path order, but post 1007's row here is an older edit: the one above is kept.
    write_raw(lake, "danbooru", "messy-00001.parquet", [
        {"id": 1007, "updated_at": "2024-01-02T00:00:00+00:00", "rating": "e"},
        {"id": 1008, "score": 3},
    ], pa.schema([
        ("id", pa.int64()), ("updated_at", TEXT), ("rating", TEXT), ("score", pa.int64()),
    ]))  # fmt: skip
    files["gelbooru"] = write_raw(lake, "gelbooru", "messy.parquet", [
        {"id": "1011", "created_at": "Sat Jan 06 12:34:56 -0500 2024"},
        {"id": "1012", "created_at": "2024-01-06T12:34:56-05:00"},
        {"id": "1013", "created_at": "2024-01-06T12:34:56.250+09:00"},
        {"id": "1014", "created_at": "2024-01-06T12:34:56"},
        {"id": "1015", "created_at": "yesterday"},
        {"id": "1016", "score": "n/a"},
        {"id": "abc"},
    ], pa.schema([("id", TEXT), ("created_at", TEXT), ("score", TEXT)]))  # fmt: skip
    files["yandere"] = write_raw(lake, "yandere", "messy.parquet", [
        {"id": 1021, "created_at": "1700000000"},
        {"id": 1022, "created_at": "yesterday"},
    ], pa.schema([("id", pa.int64()), ("created_at", TEXT)]))  # fmt: skip
    files["pixiv"] = write_raw(lake, "pixiv", "messy.parquet", [
        {"id": "1100", "create_date": "2024-03-01T09:00:00+09:00", "page_count": "2"},
        {"id": "1101", "create_date": "2024/01/02 03:04", "page_count": "1"},
        {"id": "1102", "create_date": "2024-01-02 03:04:05"},
        {"id": "1103", "create_date": "yesterday", "page_count": "3"},
        {"id": "1104", "page_count": "n/a"},
    ], pa.schema([("id", TEXT), ("create_date", TEXT), ("page_count", TEXT)]))  # fmt: skip
    files["zerochan"] = write_raw(lake, "zerochan", "messy.parquet", [
        {"id": 1500, "width": "640"},
        {"id": 1501, "width": "n/a"},
        {"id": 1502, "width": "true"},
    ], pa.schema([("id", pa.int64()), ("width", TEXT)]))  # fmt: skip
    return files


@pytest.fixture(scope="module")
def fixture() -> Fixture:
    return Fixture()


GOOD_ROWS = "post_id < 1000"
MESSY_ROWS = "post_id >= 1000"


@dataclass(frozen=True)
class Part:
    """The shared build, seen through one part of the lake's rows (a filter on post_id)."""

    project: DbtProject
    where: str

    def query(self, sql: str) -> list[tuple]:
        return self.project.query(sql)


@pytest.fixture(scope="module")
def build(
    tmp_path_factory: pytest.TempPathFactory, fixture: Fixture
) -> tuple[DbtProject, dict[str, Path]]:
    """The one staging build of the crafted lake, and each source's messy file."""
    lake = tmp_path_factory.mktemp("staging") / "lake"
    write_danbooru(lake, fixture)
    write_gelbooru(lake)
    write_yandere(lake)
    write_pixiv(lake, fixture)
    write_zerochan(lake, fixture)
    messy_files = write_messy_lake(lake)
    work = tmp_path_factory.mktemp("staging-dbt")
    # A stem DuckDB reserves: see test_a_database_file_named_main_builds.
    database = work / "main.duckdb"
    project = make_dbt_project(work, lake, DATAPROC_DUCKDB=str(database))
    project = dataclasses.replace(project, database=database)
    project.run("build", "--select", STAGING)
    return project, messy_files


@pytest.fixture(scope="module")
def staged(build: tuple[DbtProject, dict[str, Path]]) -> Part:
    return Part(build[0], GOOD_ROWS)


def rows(part: Part, source: str, columns: str, order: str = "post_key") -> list[tuple]:
    return part.query(
        f"select {columns} from staging.stg_{source}__posts where {part.where} order by {order}"
    )


def by_key(part: Part, source: str, column: str) -> dict[str, object]:
    return dict(rows(part, source, f"post_key, {column}"))


def test_a_database_file_named_main_builds(build: tuple[DbtProject, dict[str, Path]]) -> None:
    """Any DuckDB file name builds: dbt names the database `dataproc`, whatever the file is called.

    DuckDB names a file's catalog after its stem, except for the names it reserves (`main`,
    `system`, `temp`), which get a `_db` suffix; dbt-duckdb assumes the stem. The profile attaches
    the file under one fixed name instead, so the two can never disagree.
    """
    project, _ = build
    assert project.database.name == "main.duckdb"
    with duckdb.connect(str(project.database), read_only=True) as con:
        (catalog,) = con.sql("select current_database()").fetchone()
    assert catalog == "main_db"  # DuckDB's own name for it: the reason a fixed alias is needed
    # Both parts' danbooru posts: four good ones and four messy ones that survive.
    assert project.query("select count(*) from staging.stg_danbooru__posts") == [(8,)]


def test_shared_columns_come_first_with_shared_types(staged: Part) -> None:
    for source in SOURCES:
        described = staged.query(f"describe staging.stg_{source}__posts")
        shared = [(name, data_type) for name, data_type, *_ in described[: len(SHARED_COLUMNS)]]
        assert shared == SHARED_COLUMNS, source


def test_keys(staged: Part) -> None:
    assert rows(staged, "danbooru", "image_key, source, post_key, post_id") == [
        ("danbooru:1", "danbooru", "1", 1),
        ("danbooru:2", "danbooru", "2", 2),
        ("danbooru:3", "danbooru", "3", 3),
        ("danbooru:4", "danbooru", "4", 4),
    ]
    assert rows(staged, "zerochan", "image_key", "image_key") == [
        ("zerochan:500",),
        ("zerochan:501",),
    ]


def test_created_at_is_the_exact_utc_instant(staged: Part) -> None:
    assert by_key(staged, "danbooru", "created_at") == {
        "1": utc(2024, 1, 2, 8, 4, 5, 678000),
        "2": utc(2024, 6, 30, 14, 59, 59),
        "3": utc(2023, 12, 31, 23, 0, 0),
        "4": utc(2024, 2, 29, 20, 0, 0),
    }
    assert by_key(staged, "danbooru", "updated_at")["1"] == utc(2024, 1, 3)
    gelbooru = by_key(staged, "gelbooru", "created_at")
    assert gelbooru["11"] == utc(2024, 1, 6, 17, 34, 56)
    assert gelbooru["12"] == utc(2024, 2, 29, 14, 30, 0)
    assert gelbooru["13"] is None
    assert by_key(staged, "yandere", "created_at") == {
        "21": utc(2023, 11, 14, 22, 13, 20),
        "22": utc(1970, 1, 1, 0, 0, 0),
        "23": utc(1970, 1, 1, 0, 0, 1),
    }
    pixiv = by_key(staged, "pixiv", "created_at")
    assert pixiv["100_p0"] == pixiv["100_p2"] == utc(2024, 3, 1, 0, 0, 0)
    assert pixiv["101_p0"] == utc(2019, 12, 31, 15, 0, 0)
    assert set(by_key(staged, "zerochan", "created_at").values()) == {None}


def test_rating_mapping_per_source(staged: Part) -> None:
    assert by_key(staged, "danbooru", "rating") == {
        "1": "general",
        "2": "sensitive",
        "3": "questionable",
        "4": "explicit",
    }
    assert by_key(staged, "gelbooru", "rating") == {
        "11": "general",
        "12": "sensitive",
        "13": "questionable",
        "14": "explicit",
        "15": "general",
        "16": None,
    }
    assert by_key(staged, "yandere", "rating") == {
        "21": "general",
        "22": "questionable",
        "23": "explicit",
    }
    assert by_key(staged, "pixiv", "rating") == {
        "100_p0": "general",
        "100_p1": "general",
        "100_p2": "general",
        "101_p0": "explicit",
        "102_p0": "sensitive",
        "103_p0": "questionable",
        "104_p0": "explicit",
        "104_p1": "explicit",
    }
    assert by_key(staged, "zerochan", "rating") == {"500": None, "501": None}


def test_danbooru_tags_and_categories(staged: Part, fixture: Fixture) -> None:
    tags = by_key(staged, "danbooru", "tags")
    assert tags["1"] == sorted({"1girl", "zz_plain", fixture.booru_tag})
    assert tags["2"] == []  # an empty tag string: no tags
    assert tags["3"] is None  # no tag string at all
    categories = by_key(staged, "danbooru", "tags_by_category")
    assert categories["1"] == {
        "artist": ["zz_artist"],
        "character": [fixture.booru_tag],
        "copyright": ["zz_series"],
        "general": ["1girl", "zz_plain"],
        "meta": ["highres"],
    }
    assert categories["2"] == dict.fromkeys(("artist", "character", "copyright", "general", "meta"))


def test_flat_tag_sources(staged: Part, fixture: Fixture) -> None:
    gelbooru = by_key(staged, "gelbooru", "tags")
    assert gelbooru["11"] == ["blue_sky", "zz_plain"]
    assert gelbooru["13"] == []
    assert gelbooru["14"] is None
    # split at any whitespace, not only at spaces
    assert by_key(staged, "yandere", "tags")["21"] == ["zz_plain", "zz_tabbed"]
    zerochan = rows(staged, "zerochan", "post_key, tags, primary_tag")
    assert zerochan == [
        ("500", sorted({"blue_sky", "long_hair", fixture.booru_tag}), fixture.booru_tag),
        ("501", None, None),
    ]
    for source in ("gelbooru", "yandere", "pixiv", "zerochan"):
        assert set(by_key(staged, source, "tags_by_category").values()) == {None}, source


def test_pixiv_tags_prefer_alias_then_translation(staged: Part, fixture: Fixture) -> None:
    tags = by_key(staged, "pixiv", "tags")
    expected = sorted({fixture.pixiv_tag, "girl_power", "zz_plain_name", "zz_empty_translation"})
    assert tags["100_p0"] == tags["100_p1"] == tags["100_p2"] == expected
    assert tags["101_p0"] is None
    assert tags["102_p0"] == []


def test_pixiv_works_explode_into_pages(staged: Part) -> None:
    pages = rows(
        staged,
        "pixiv",
        "post_key, post_id, page, page_count, width, height, score, file_ext, work_type",
    )
    assert pages == [
        ("100_p0", 100, 0, 3, 1000, 2000, 50, None, "illust"),
        ("100_p1", 100, 1, 3, None, None, 50, None, "illust"),
        ("100_p2", 100, 2, 3, None, None, 50, None, "illust"),
        ("101_p0", 101, 0, 1, None, None, 5, "zip", "ugoira"),
        ("102_p0", 102, 0, None, None, None, 0, None, "manga"),
        ("103_p0", 103, 0, 1, None, None, None, None, "illust"),
        ("104_p0", 104, 0, 2, None, None, None, None, "illust"),
        ("104_p1", 104, 1, 2, None, None, None, None, "illust"),
    ]
    work = rows(
        staged,
        "pixiv",
        "md5, source_url, user_id, user_name, user_account, bookmark_rate, total_view",
        "post_key limit 1",
    )
    assert work == [(None, None, 7, "Artist", "artist_acc", 0.05, 1000)]
    assert by_key(staged, "pixiv", "bookmark_rate")["102_p0"] is None


def test_cleaned_fields_and_flags(staged: Part) -> None:
    danbooru = rows(staged, "danbooru", "md5, source_url, file_ext, is_deleted, is_banned")
    assert danbooru == [
        ("abcdef0123456789abcdef0123456789", None, "png", False, False),
        (None, "https://example.com/a/1", None, False, False),
        (None, None, None, False, False),
        (None, None, "jpg", True, True),
    ]
    gelbooru = rows(
        staged,
        "gelbooru",
        "post_key, file_ext, parent_id, status, is_deleted, is_pending, is_banned, is_flagged",
        "post_key limit 4",
    )
    assert gelbooru == [
        ("11", "jpeg", None, "active", False, False, False, False),
        ("12", "png", 11, "deleted", True, False, False, False),
        ("13", None, None, "pending", False, True, False, False),
        ("14", None, None, "flagged", False, False, False, True),
    ]
    assert by_key(staged, "yandere", "is_deleted") == {"21": False, "22": True, "23": False}
    assert rows(staged, "zerochan", "md5, file_size, width, score, is_deleted") == [
        ("0123456789abcdef0123456789abcdef", 999, 640, None, False),
        (None, None, None, None, False),
    ]


def test_missing_optional_columns_read_as_null(staged: Part) -> None:
    # fav_count is in one of danbooru's four files, has_children in none.
    assert by_key(staged, "danbooru", "fav_count") == {"1": 5, "2": 0, "3": None, "4": None}
    assert set(by_key(staged, "danbooru", "has_children").values()) == {None}
    assert set(by_key(staged, "zerochan", "source_url").values()) == {None}
    described = {row[0]: row[1] for row in staged.query("describe staging.stg_danbooru__posts")}
    assert described["has_children"] == "BOOLEAN"
    assert "extra_junk" not in described


def test_broken_lakes_fail_with_the_source_file_and_column(
    tmp_path: Path, dbt_project, fixture: Fixture
) -> None:
    lake = tmp_path / "lake"
    write_danbooru(lake, fixture)
    no_id = write_raw(
        lake,
        "danbooru",
        "part-00002.parquet",
        [{"md5": "00", "rating": "g"}],
        pa.schema([("md5", pa.string()), ("rating", pa.string())]),
    )
    # pixiv's user struct has an `id` field, which is not the work's id.
    write_raw(
        lake,
        "pixiv",
        "works.parquet",
        [{"user": {"id": 1, "name": "n", "account": "a"}}],
        pa.schema([("user", PIXIV_USER)]),
    )
    project = dbt_project(lake)
    result = project.run(
        "build",
        "--select",
        "stg_danbooru__posts stg_gelbooru__posts stg_pixiv__posts",
        check=False,
    )
    assert not result.ok
    assert f"source danbooru: file {no_id} is missing required column 'id'" in result.output, (
        result.output[-3000:]
    )
    assert "part-00000.parquet is missing" not in result.output
    assert (
        f"source pixiv: file {lake}/raw/pixiv/works.parquet is missing required column 'id'"
        in result.output
    ), result.output[-3000:]
    assert (
        f"source gelbooru: no raw files match '{lake}/raw/gelbooru/*.parquet'" in result.output
    ), result.output[-3000:]
    assert "To build without gelbooru, leave it out of the `enabled_sources` var" in result.output


def test_enabled_sources_and_lint_mode_compile_without_a_lake(tmp_path: Path, dbt_project) -> None:
    """Disabled sources are not compiled; with the contract check off nothing reads the lake."""
    project = dbt_project(tmp_path / "no-lake")
    project.run(
        "compile",
        "--select",
        "path:models/staging",
        "--vars",
        "{raw_contract_check: false, enabled_sources: [danbooru, zerochan]}",
    )
    compiled = project.work / "target" / "compiled" / "dataproc" / "models" / "staging"
    models = sorted(path.name for path in compiled.rglob("stg_*__posts.sql"))
    assert models == ["stg_danbooru__posts.sql", "stg_zerochan__posts.sql"]
    zerochan = (compiled / "zerochan" / "stg_zerochan__posts.sql").read_text()
    assert 'cast("source" as varchar) as "source"' in zerochan


# --- bad rows: rejected one by one, the rest staged -------------------------------------------


@pytest.fixture(scope="module")
def messy(build: tuple[DbtProject, dict[str, Path]]) -> tuple[Part, dict[str, Path]]:
    project, files = build
    return Part(project, MESSY_ROWS), files


def test_bad_values_are_rejected_with_column_file_and_raw_value(messy) -> None:
    # The whole lake's rejections: the good rows give none.
    project, files = messy
    # Rejections name each raw file relative to the lake's root.
    files = {source: path.relative_to(project.project.lake) for source, path in files.items()}
    danbooru, gelbooru, pixiv = files["danbooru"], files["gelbooru"], files["pixiv"]
    rejected = project.query(
        "select source, image_key, reason, detail from staging.stg_post_rejections"
        " where reason = 'bad_value' order by source, raw_file, file_row_number"
    )
    assert rejected == [
        ("danbooru", "danbooru:1002", "bad_value",
         f"created_at: 'yesterday' ({danbooru}, row 1)"),
        ("danbooru", "danbooru:1003", "bad_value", f"score: 'n/a' ({danbooru}, row 2)"),
        ("danbooru", None, "bad_value", f"id: 'abc' ({danbooru}, row 3)"),
        ("danbooru", None, "bad_value", f"id: NULL ({danbooru}, row 4)"),
        # Not a form danbooru uses: refused rather than read with a guessed offset.
        ("danbooru", "danbooru:1004", "bad_value",
         f"created_at: '2024/01/02 03:04' ({danbooru}, row 5)"),
        ("danbooru", "danbooru:1006", "bad_value",
         f"created_at: 'tomorrow', score: '{'x' * 80}…' ({danbooru}, row 7)"),
        ("danbooru", "danbooru:1009", "bad_value",
         f"score: '99999999999' ({danbooru}, row 11)"),
        ("gelbooru", "gelbooru:1015", "bad_value",
         f"created_at: 'yesterday' ({gelbooru}, row 4)"),
        ("gelbooru", "gelbooru:1016", "bad_value", f"score: 'n/a' ({gelbooru}, row 5)"),
        ("gelbooru", None, "bad_value", f"id: 'abc' ({gelbooru}, row 6)"),
        # A pixiv row is a work, not one image: no image key, the detail says where it is.
        ("pixiv", None, "bad_value", f"create_date: 'yesterday' ({pixiv}, row 3)"),
        ("pixiv", None, "bad_value", f"page_count: 'n/a' ({pixiv}, row 4)"),
        ("yandere", "yandere:1022", "bad_value",
         f"created_at: 'yesterday' ({files['yandere']}, row 1)"),
        ("zerochan", "zerochan:1501", "bad_value",
         f"width: 'n/a' ({files['zerochan']}, row 1)"),
        ("zerochan", "zerochan:1502", "bad_value",
         f"width: 'true' ({files['zerochan']}, row 2)"),
    ]  # fmt: skip
    stages = project.query("select distinct stage from staging.stg_post_rejections")
    assert stages == [("staging",)]


def test_duplicate_post_ids_keep_the_newest_row(messy) -> None:
    project, files = messy
    earlier = files["danbooru"].relative_to(project.project.lake)
    later = earlier.with_name("messy-00001.parquet")
    duplicates = project.query(
        "select image_key, detail from staging.stg_post_rejections"
        " where reason = 'duplicate_post' order by raw_file, file_row_number"
    )
    assert duplicates == [
        # Post 1008: the last row in path order wins; post 1007: the latest updated_at wins.
        ("danbooru:1008", f"id 1008 ({earlier}, row 9); kept {later}, row 1"),
        ("danbooru:1008", f"id 1008 ({earlier}, row 10); kept {later}, row 1"),
        ("danbooru:1007", f"id 1007 ({later}, row 0); kept {earlier}, row 8"),
    ]
    assert by_key(project, "danbooru", "score")["1008"] == 3
    assert by_key(project, "danbooru", "rating")["1007"] == "general"


def test_every_other_raw_row_is_staged(messy) -> None:
    project, _ = messy
    staged = {
        source: sorted(key for (key,) in rows(project, source, "post_key")) for source in SOURCES
    }
    assert staged == {
        "danbooru": ["1001", "1005", "1007", "1008"],
        "gelbooru": ["1011", "1012", "1013", "1014"],
        "yandere": ["1021"],
        "pixiv": ["1100_p0", "1100_p1", "1101_p0", "1102_p0"],
        "zerochan": ["1500"],
    }
    assert by_key(project, "danbooru", "score")["1001"] == 7
    assert by_key(project, "zerochan", "width")["1500"] == 640
    # The whole lake's accounts: its good rows (all staged) and its messy ones.
    staged_posts = " union all ".join(
        f"select source, count(distinct post_id) as staged from staging.stg_{source}__posts"
        " group by source"
        for source in SOURCES
    )
    accounted = project.query(
        f"""
        select counts.source, counts.raw_rows, posts.staged, rejected.n
        from staging.stg_raw_post_counts as counts
        left join (
            {staged_posts}
        ) as posts on counts.source = posts.source
        left join (
            select source, count(*) as n from staging.stg_post_rejections group by source
        ) as rejected on counts.source = rejected.source
        order by counts.source
        """
    )
    assert [(source, raw) for source, raw, _, _ in accounted] == [
        ("danbooru", 4 + 14), ("gelbooru", 6 + 7), ("pixiv", 5 + 5), ("yandere", 3 + 2),
        ("zerochan", 2 + 3),
    ]  # fmt: skip
    for source, raw_rows, staged_posts, rejected_rows in accounted:
        assert staged_posts + rejected_rows == raw_rows, source


def test_each_source_reads_its_date_forms_in_its_zone(messy) -> None:
    project, _ = messy
    assert by_key(project, "danbooru", "created_at")["1001"] == utc(2024, 1, 2, 8, 4, 5)
    # No offset: US Eastern (daylight time in May).
    assert by_key(project, "danbooru", "created_at")["1005"] == utc(2024, 5, 1, 14, 0, 0)
    assert by_key(project, "gelbooru", "created_at") == {
        "1011": utc(2024, 1, 6, 17, 34, 56),
        "1012": utc(2024, 1, 6, 17, 34, 56),
        "1013": utc(2024, 1, 6, 3, 34, 56, 250000),
        "1014": utc(2024, 1, 6, 18, 34, 56),  # no offset: US Central
    }
    assert by_key(project, "yandere", "created_at") == {"1021": utc(2023, 11, 14, 22, 13, 20)}
    pixiv = by_key(project, "pixiv", "created_at")
    assert pixiv["1100_p0"] == pixiv["1100_p1"] == utc(2024, 3, 1, 0, 0, 0)
    assert pixiv["1101_p0"] == utc(2024, 1, 1, 18, 4, 0)  # no offset: Japan time
    assert pixiv["1102_p0"] == utc(2024, 1, 1, 18, 4, 5)


def test_funnel_starts_from_the_raw_rows(demo_build: DbtProject) -> None:
    funnel = {
        (source, stage): (step, n)
        for source, step, stage, n in demo_build.query(
            "select source, step, stage, n from marts.funnel"
        )
    }
    assert [funnel["all", stage][0] for stage in ("raw_rows", "staging_rejected")] == [1, 2]
    for source in SOURCES:
        (raw_rows,) = duckdb.sql(
            f"select count(*) from read_parquet('{demo_build.lake}/raw/{source}/*.parquet')"
        ).fetchone()
        assert funnel[source, "raw_rows"][1] == raw_rows > 0, source
        assert funnel[source, "raw_unaccounted"][1] == 0, source
        assert (
            funnel[source, "staged_posts"][1] + funnel[source, "staging_rejected"][1] == raw_rows
        ), source
