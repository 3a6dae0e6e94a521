"""What a build produced: where the outputs are and queries to paste."""

from __future__ import annotations

from pathlib import Path

import duckdb

EXAMPLE_QUERIES = (
    (
        "From raw posts to the export, per source",
        "select source, stage, n from marts.funnel order by source, step",
    ),
    (
        "Why keys were dropped",
        "select stage, reason, count(*) as n from marts.rejections group by all order by all",
    ),
    (
        "Training prompts, certain tags first",
        "select image_id, prompt from marts.prompts limit 5",
    ),
)


def list_tables(database: Path) -> list[tuple[str, str, int]]:
    """(schema, table, row count) for every table dbt built."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.sql(
            "select schema_name, table_name from duckdb_tables() order by schema_name, table_name"
        ).fetchall()
        return [
            (schema, table, con.sql(f'select count(*) from "{schema}"."{table}"').fetchone()[0])
            for schema, table in tables
        ]


def published_manifests(database: Path) -> list[str]:
    """The manifest of the version this build published, if it published one."""
    with duckdb.connect(str(database), read_only=True) as con:
        exists = con.sql(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'exports' and table_name = 'export_dataset'"
        ).fetchone()[0]
        if not exists:
            return []
        rows = con.sql("select manifest_path from exports.export_dataset").fetchall()
        return [row[0] for row in rows]


def describe_build(lake: str, database: Path) -> str:
    """A short human report printed at the end of `make demo`."""
    lines = [f"Lake:     {lake}", f"Database: {database.resolve()}"]
    lines += [f"Export:   {manifest}" for manifest in published_manifests(database)]
    lines += ["", "Tables (rows):"]
    for schema, table, rows in list_tables(database):
        lines.append(f"  {schema}.{table:<40} {rows:>10}")
    lines += ["", "Try some ad hoc queries:"]
    for title, sql in EXAMPLE_QUERIES:
        lines += [f"  -- {title}", f'  .venv/bin/duckdb -readonly {database} "{sql}"', ""]
    lines.append("Browse lineage: make docs   (dbt docs generate && dbt docs serve)")
    return "\n".join(lines)
