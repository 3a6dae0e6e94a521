"""The report of a published version: `report.html` to look at and `stats.json` to read.

In: the build's tables as DuckDB relations (`ReportTables`: export rows, funnel, rejections,
images mart, image files, and the identity calibration when there is one), the lake (for the
thumbnails' bytes), the dataset and the version name. Out: `{"report.html": bytes,
"stats.json": bytes}`, which the export writes into the version folder before its manifest,
and which `dataproc report` writes anywhere.

The page shows the headline, the funnel with its dedup step, rejection reasons per source,
histograms of the metrics and tag counts, the identity calibration, and a sample grid: kept
images with their prompts, rejected images with their reasons, merged duplicate clusters side
by side (`page`). Figures come from `stats`. Nothing in either file depends on the time, the
run or the lake root, so the same build gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import duckdb
from PIL import Image

from dataproc.embedding.decode import (
    DEFAULT_MAX_PIXELS,
    ImageMissing,
    ImageRef,
    InvalidRef,
    fetch_bytes,
)
from dataproc.embedding.decode import decode_image as decode
from dataproc.export.versions import version_prefix
from dataproc.lake import Lake, canonical_json
from dataproc.progress import progress
from dataproc.report.page import Thumbnail, render_page
from dataproc.report.stats import (
    ReportTables,
    Sample,
    SampleLimits,
    read_samples,
    read_stats,
    samples_json,
)

__all__ = [
    "ReportTables",
    "SampleLimits",
    "database_tables",
    "find_relation",
    "render_report",
    "thumbnail",
    "tile",
]

THUMBNAIL_SIDE = 128
JPEG_QUALITY = 75


def render_report(
    tables: ReportTables,
    lake: Lake,
    dataset: str,
    version: str,
    limits: SampleLimits | None = None,
) -> dict[str, bytes]:
    """`report.html` and `stats.json` of version `version` of `dataset`; `limits` caps the
    thumbnails (default `SampleLimits()`)."""
    location = version_prefix(dataset, int(version.removeprefix("v")))
    stats = read_stats(tables, dataset, version, location)
    samples = read_samples(tables, limits or SampleLimits())
    thumbnails = [
        tile(lake, sample)
        for sample in progress(samples, total=len(samples), desc="report thumbnails", unit="img")
    ]
    stats["samples"] = samples_json(samples)
    return {"report.html": render_page(stats, thumbnails), "stats.json": canonical_json(stats)}


def tile(lake: Lake, sample: Sample) -> Thumbnail:
    """The sample's thumbnail; an image without a file or that does not decode gets none,
    with the reason as its note."""
    if sample.uri is None:
        return Thumbnail(sample.group, sample.title, sample.caption, None, "no file")
    try:
        ref = ImageRef(sample.image_key, sample.uri, sample.offset or 0, sample.length)
        data = fetch_bytes(lake, ref)
    except (ImageMissing, InvalidRef) as error:
        note = "missing" if isinstance(error, ImageMissing) else "outside the lake"
        return Thumbnail(sample.group, sample.title, sample.caption, None, note)
    jpeg, note = thumbnail(data)
    return Thumbnail(sample.group, sample.title, sample.caption, jpeg, note)


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> tuple[bytes | None, str]:
    """A JPEG of at most `side` pixels a side, or None and the reason it does not decode.

    Decoding goes through the embedder's decoder, with the same guards against hostile files.
    """
    decoded = decode(data, lambda rgb: jpeg_thumbnail(rgb, side), side, DEFAULT_MAX_PIXELS)
    if decoded.error is not None:
        return None, decoded.error
    return decoded.pixels, ""


def jpeg_thumbnail(image: Image.Image, side: int) -> bytes:
    small = image.copy()
    small.thumbnail((side, side), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def find_relation(
    con: duckdb.DuckDBPyConnection, name: str, schemas: Sequence[str] = ()
) -> duckdb.DuckDBPyRelation | None:
    """The table or view `name` in the first of `schemas` that has one (any schema when
    `schemas` is empty), or None: for a table a build may not have."""
    found = con.execute(
        "select schema_name from duckdb_tables() where table_name = $name "
        "union all select schema_name from duckdb_views() where view_name = $name "
        "order by schema_name",
        {"name": name},
    ).fetchall()
    names = [row[0] for row in found]
    for schema in [*schemas, *names]:
        if schema in names:
            # A query, not `con.table`, which finds no views (the images mart is one).
            return con.sql(f'from "{schema}"."{name}"')
    return None


def database_tables(con: duckdb.DuckDBPyConnection) -> ReportTables:
    """The report's tables in a database dbt built (`identity_calibration` when it has one)."""

    def required(name: str) -> duckdb.DuckDBPyRelation:
        relation = find_relation(con, name)
        if relation is None:
            raise LookupError(f"the database has no table {name!r}: run `dbt build` first")
        return relation

    return ReportTables(
        export_rows=required("export_rows"),
        funnel=required("funnel"),
        rejections=required("rejections"),
        images=required("images"),
        image_files=required("int_image_files"),
        identity_calibration=find_relation(con, "identity_calibration"),
    )
