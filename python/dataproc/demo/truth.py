"""Ground truth for measuring identity: which image keys show the same picture, and the planted
hostile cases."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataproc.demo import codes as c
from dataproc.demo.arrowtools import concat, lookup
from dataproc.demo.context import RawContext
from dataproc.demo.storage import HostileRecord

PICTURES_SCHEMA = pa.schema(
    [("image_key", pa.string()), ("picture_id", pa.int64()), ("transform", pa.string())]
)
HOSTILE_SCHEMA = pa.schema(
    [("image_key", pa.string()), ("kind", pa.string()), ("location", pa.string())]
)


def picture_batches(ctx: RawContext) -> Iterator[pa.Table]:
    """Per source: every image that shows a real picture (stored or, without images, planned)."""
    for source in c.SOURCES:
        plan = ctx.source(source)
        rows = np.flatnonzero((plan.uid >= 0) & (plan.hostile == c.HARMLESS))
        yield pa.table(
            {
                "image_key": concat(source + ":", ctx.image_keys(source, rows)),
                "picture_id": pa.array(plan.picture[rows], pa.int64()),
                "transform": lookup(c.TRANSFORMS, plan.transform[rows]),
            },
            schema=PICTURES_SCHEMA,
        )


def pictures_parquet(ctx: RawContext) -> tuple[bytes, int]:
    """`ground_truth/pictures.parquet` bytes and its row count."""
    sink = io.BytesIO()
    rows = 0
    with pq.ParquetWriter(sink, PICTURES_SCHEMA, compression="zstd") as writer:
        for table in picture_batches(ctx):
            writer.write_table(table, row_group_size=1_000_000)
            rows += table.num_rows
    return sink.getvalue(), rows


def hostile_table(records: list[HostileRecord]) -> pa.Table:
    ordered = sorted(records, key=lambda r: (r.image_key, r.kind, r.location))
    return pa.table(
        {
            "image_key": [r.image_key for r in ordered],
            "kind": [r.kind for r in ordered],
            "location": [r.location for r in ordered],
        },
        schema=HOSTILE_SCHEMA,
    )
