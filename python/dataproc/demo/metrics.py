"""Per-image metric files, as if computed by other tools: an aesthetic score and a watermark
probability, keyed by the site key.

Values follow the picture: the aesthetic score rises with the picture's appeal (which also drives
site scores) and drops for small, resized or watermarked copies; the watermark probability is high
for watermarked copies. About 10% of images have no value, so consumers meet NULLs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from dataproc.demo import codes as c
from dataproc.demo.context import RawContext
from dataproc.demo.hashing import normal, uniform

METRICS = ("aesthetic", "watermark")
COVERAGE = 0.9
AESTHETIC_PENALTY = {c.RESIZED: 0.3, c.REENCODED: 0.15, c.CROPPED: 0.1, c.WATERMARKED: 0.6}
SMALL_SIDE = 256


def measured_images(ctx: RawContext, source: str) -> np.ndarray:
    """Image rows a metric tool could have read: stored and not hostile."""
    plan = ctx.source(source)
    return np.flatnonzero((plan.uid >= 0) & (plan.hostile == c.HARMLESS))


def metric_values(ctx: RawContext, source: str, metric: str, rows: np.ndarray) -> np.ndarray:
    plan = ctx.source(source)
    uid = plan.uid[rows]
    transform = ctx.plan.files.transform[uid]
    if metric == "aesthetic":
        groups = ctx.plan.groups[plan.picture[rows]]
        width, height = (a[rows] for a in ctx.image_size(source))
        penalty = np.zeros(len(rows))
        for code, value in AESTHETIC_PENALTY.items():
            penalty[transform == code] = value
        penalty[np.minimum(width, height) < SMALL_SIDE] += 0.8
        value = 5.0 + 1.4 * ctx.world.quality(groups) + 0.35 * normal(ctx.seed, "aesthetic", uid)
        return np.clip(value - penalty, 0.0, 10.0)
    u = uniform(ctx.seed, "watermark", uid)
    signed = uniform(ctx.seed, "watermark.signed", plan.picture[rows]) < 0.03
    value = np.where(signed, 0.3 + 0.3 * u, 0.2 * u**3)
    return np.where(transform == c.WATERMARKED, 0.75 + 0.24 * u, value)


def metric_tables(ctx: RawContext, source: str, metric: str, part_rows: int) -> Iterator[pa.Table]:
    """The metric's parquet parts for one source: columns `key` and the metric."""
    rows = measured_images(ctx, source)
    covered = uniform(ctx.seed, f"cover.{metric}.{source}", rows) < COVERAGE
    rows = rows[covered]
    for start in range(0, max(len(rows), 1), part_rows):
        part = rows[start : start + part_rows]
        yield pa.table(
            {
                "key": ctx.image_keys(source, part),
                metric: pa.array(metric_values(ctx, source, metric, part), pa.float64()),
            }
        )
