"""Arrow schemas of the catalog and its rejects, and rows to tables in a fixed order."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from dataproc.catalog.rows import STAGE, CatalogRow, RejectRow

CATALOG_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("length", pa.int64(), nullable=False),
        pa.field("ext", pa.string(), nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
    ]
)

REJECTS_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("member", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
    ]
)


def catalog_table(catalog_rows: Iterable[CatalogRow]) -> pa.Table:
    """Catalog rows ordered by where their bytes are (`uri`, `offset`): sequential reads."""
    ordered = sorted(catalog_rows, key=lambda row: (row.uri, row.offset, row.image_key))
    return pa.table(
        {
            "image_key": [row.image_key for row in ordered],
            "source": [row.source for row in ordered],
            "key": [row.key for row in ordered],
            "uri": [row.uri for row in ordered],
            "offset": [row.offset for row in ordered],
            "length": [row.length for row in ordered],
            "ext": [row.ext for row in ordered],
            "bytes": [row.length for row in ordered],
        },
        schema=CATALOG_SCHEMA,
    )


def rejects_table(reject_rows: Iterable[RejectRow]) -> pa.Table:
    """Reject rows ordered by object, position in it, member and reason."""
    ordered = sorted(
        reject_rows,
        key=lambda row: (row.uri, row.position, row.member or "", row.reason, row.detail),
    )
    return pa.table(
        {
            "image_key": [row.image_key for row in ordered],
            "source": [row.source for row in ordered],
            "uri": [row.uri for row in ordered],
            "member": [row.member for row in ordered],
            "stage": [STAGE] * len(ordered),
            "reason": [row.reason for row in ordered],
            "detail": [row.detail for row in ordered],
        },
        schema=REJECTS_SCHEMA,
    )
