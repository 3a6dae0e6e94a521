"""What a build produced, headline first: how many images, which version, where, and whether it
was published; then the queries to paste.

In: the lake root and the DuckDB file dbt built. Out: the text `dataproc summary` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
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
LAYERS = ("staging", "intermediate", "marts", "exports", "seeds")


@dataclass(frozen=True)
class ExportOutcome:
    """What the build's export did (one row of `exports.export_dataset`)."""

    dataset: str
    status: str
    version: str
    rows: int
    manifest_path: str

    @property
    def location(self) -> str:
        """The version folder: the manifest's location without its file name."""
        return self.manifest_path.rsplit("/", 1)[0]


def read_export(database: Path) -> ExportOutcome | None:
    """The export this build ran, or None when the database has no `exports.export_dataset`."""
    with duckdb.connect(str(database), read_only=True) as con:
        exists = con.sql(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'exports' and table_name = 'export_dataset'"
        ).fetchone()[0]
        if not exists:
            return None
        row = con.sql(
            "select dataset, status, version, rows, manifest_path from exports.export_dataset"
        ).fetchone()
    return None if row is None else ExportOutcome(*row)


def tables_per_layer(database: Path) -> list[tuple[str, int]]:
    """(schema, number of tables) for each schema dbt built, layers in pipeline order."""
    with duckdb.connect(str(database), read_only=True) as con:
        counts = dict(
            con.sql("select schema_name, count(*) from duckdb_tables() group by all").fetchall()
        )
    ordered = [name for name in LAYERS if name in counts]
    ordered += sorted(name for name in counts if name not in LAYERS)
    return [(name, counts[name]) for name in ordered]


def headline(export: ExportOutcome | None) -> str:
    if export is None:
        return "No export: the database has no exports.export_dataset (run `dbt build`)."
    if export.status == "published":
        return f"{export.rows} images in {export.dataset} {export.version}, published."
    return (
        f"{export.rows} images in {export.dataset} {export.version}, unchanged: the build's "
        "data equals that version's, so nothing new was published."
    )


def describe_build(lake: str, database: Path) -> str:
    """A short human report printed at the end of `make demo`: the headline, where everything
    is, and queries to paste."""
    export = read_export(database)
    facts = []
    if export is not None:
        facts += [
            ("version", f"{export.location}/"),
            ("manifest", export.manifest_path),
            ("report", f"{export.location}/report.html"),
        ]
    facts += [("lake", lake), ("database", str(database.resolve()))]
    layers = ", ".join(f"{schema} {count}" for schema, count in tables_per_layer(database))
    facts.append(("tables", layers))
    width = max(len(name) for name, _ in facts)
    lines = [headline(export), ""]
    lines += [f"  {name:<{width}}  {value}" for name, value in facts]
    lines += ["", "Queries to paste:"]
    for title, sql in EXAMPLE_QUERIES:
        lines += [f"  -- {title}", f'  .venv/bin/duckdb -readonly {database} "{sql}"', ""]
    lines.append("Browse lineage: make docs   (dbt docs generate && dbt docs serve)")
    return "\n".join(lines)
