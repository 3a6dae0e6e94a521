"""Read the demo lake's ground truth and a build's identity assignment."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import obstore
import pyarrow.parquet as pq

from dataproc.lake import open_store

PICTURES = "ground_truth/pictures.parquet"


def read_pictures(lake: str) -> tuple[dict[str, int], dict[str, str]]:
    """(image_key → picture_id, image_key → transform) from `ground_truth/pictures.parquet`."""
    data = obstore.get(open_store(lake), PICTURES).bytes()
    table = pq.read_table(io.BytesIO(bytes(data)), columns=["image_key", "picture_id", "transform"])
    keys = table.column("image_key").to_pylist()
    pictures = dict(zip(keys, table.column("picture_id").to_pylist(), strict=True))
    transforms = dict(zip(keys, table.column("transform").to_pylist(), strict=True))
    return pictures, transforms


def read_assignment(database: Path) -> dict[str, str]:
    """image_key → image_id from the `int_image_identity` table a build wrote."""
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.sql("select image_key, image_id from intermediate.int_image_identity").fetchall()
    return dict(rows)
