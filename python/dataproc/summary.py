"""What a build produced: where the outputs are and queries to paste."""

from __future__ import annotations

from pathlib import Path

import duckdb

EXAMPLE_QUERIES = (
    (
        "Posts per source after staging",
        "select source, count(*) as posts from staging.stg_danbooru__posts group by all "
        "union all select source, count(*) from staging.stg_pixiv__posts group by all",
    ),
    (
        "The ten most common normalized tags across all sources",
        "select tag, count(*) as n from (select unnest(tags) as tag from "
        "intermediate.int_posts_unioned) group by tag order by n desc limit 10",
    ),
    (
        "Rating mix per source",
        "select source, rating, count(*) as n from intermediate.int_posts_unioned "
        "group by all order by all",
    ),
)


def list_tables(database: Path) -> list[tuple[str, str, int]]:
    """(schema, table, row count) for every table dbt built."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.sql(
            "select schema_name, table_name, estimated_size from duckdb_tables() "
            "order by schema_name, table_name"
        ).fetchall()
    return [(schema, table, int(rows)) for schema, table, rows in tables]


def describe_build(lake: str, database: Path) -> str:
    """A short human report printed at the end of `make demo`."""
    lines = [f"Lake:     {lake}", f"Database: {database.resolve()}", "", "Tables (rows):"]
    for schema, table, rows in list_tables(database):
        lines.append(f"  {schema}.{table:<40} {rows:>10}")
    lines += ["", "Try some ad hoc queries:"]
    for title, sql in EXAMPLE_QUERIES:
        lines += [f"  -- {title}", f'  .venv/bin/duckdb -readonly {database} "{sql}"', ""]
    lines.append("Browse lineage: make docs   (dbt docs generate && dbt docs serve)")
    return "\n".join(lines)
