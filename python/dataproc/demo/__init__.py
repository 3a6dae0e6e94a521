"""`dataproc demo`: a realistic, deterministic demo lake for all five sources.

In: a lake root (a directory or `s3://bucket/prefix`), `posts` per source, a seed, and whether
to write images.
Out: through `dataproc.lake.Lake`, the lake the pipeline reads (DESIGN.md, "Demo lake"):
`raw/<source>/part-NNNNN.parquet` in each site's own field names, the images as files or tar
shards, `metrics/<source>/part-NNNNN.<metric>.parquet`, and the ground truth: which image keys
show the same picture (`ground_truth/pictures.parquet`) and the planted hostile cases
(`ground_truth/hostile.parquet`). The same seed and sizes give a byte-identical lake. A
`DemoReport` says what was written.

The metrics are as if other tools computed them, keyed by site key: an aesthetic score that
rises with the picture's appeal and drops for small, resized or watermarked copies, and a
watermark probability that is high for watermarked copies. About 10% of images have no value,
so consumers meet NULLs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from dataproc.demo import world as w
from dataproc.demo.images import HostileRecord, render_files, store_images
from dataproc.demo.plan import Plan, build_plan
from dataproc.demo.raw import RawTables, concat, file_facts, lookup
from dataproc.demo.world import World, load_vocabulary, normal, uniform
from dataproc.lake import Lake, parquet_bytes

__all__ = ["DemoReport", "generate_lake"]

PART_ROWS = 250_000
DEMO_PREFIXES = ("raw/", "images/", "shards/", "metrics/", "ground_truth/")
MARKER = "ground_truth/pictures.parquet"  # a lake with this under the prefixes is a demo's
METRICS = ("aesthetic", "watermark")
COVERAGE = 0.9  # share of measured images with a metric value
AESTHETIC_PENALTY = {w.RESIZED: 0.3, w.REENCODED: 0.15, w.CROPPED: 0.1, w.WATERMARKED: 0.6}
SMALL_SIDE = 256
PICTURES_SCHEMA = pa.schema(
    [("image_key", pa.string()), ("picture_id", pa.int64()), ("transform", pa.string())]
)
HOSTILE_SCHEMA = pa.schema(
    [("image_key", pa.string()), ("kind", pa.string()), ("location", pa.string())]
)


@dataclass
class DemoReport:
    lake: str
    seed: int
    posts: int
    images: bool
    rows: dict[str, int] = field(default_factory=dict)
    source_images: dict[str, int] = field(default_factory=dict)
    files: int = 0
    shards: int = 0
    members: int = 0
    pictures: int = 0
    hostile: Counter[str] = field(default_factory=Counter)
    objects: int = 0
    bytes_written: int = 0
    stale_removed: int = 0
    elapsed_s: float = 0.0

    def describe(self) -> str:
        """A short human summary."""
        mode = "with images" if self.images else "metadata only"
        lines = [
            f"demo lake {self.lake} (seed {self.seed}, {self.posts} posts per source, {mode})",
            "  raw rows:  " + ", ".join(f"{s} {n:,}" for s, n in self.rows.items()),
            "  images:    " + ", ".join(f"{s} {n:,}" for s, n in self.source_images.items()),
        ]
        if self.images:
            lines.append(
                f"  stored:    {self.files:,} image files, {self.shards:,} tar shards "
                f"({self.members:,} members)"
            )
            hostile = ", ".join(f"{kind} {n}" for kind, n in sorted(self.hostile.items()))
            lines.append(f"  hostile:   {sum(self.hostile.values())} ({hostile})")
        lines.append(f"  ground truth: {self.pictures:,} image keys")
        removed = f", removed {self.stale_removed} stale" if self.stale_removed else ""
        lines.append(
            f"  wrote {self.objects:,} objects, {self.bytes_written / 1e6:,.1f} MB{removed} "
            f"in {self.elapsed_s:.1f} s"
        )
        return "\n".join(lines)


class _DemoWriter:
    """Puts objects through the lake and remembers them, to remove stale ones at the end."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.written: set[str] = set()
        self.bytes_written = 0

    def put(self, path: str, data: bytes) -> None:
        self.lake.put(path, data)
        self.written.add(path)
        self.bytes_written += len(data)

    def put_parquet(self, path: str, table: pa.Table) -> None:
        self.put(path, parquet_bytes(table))


def _measured(plan: Plan, source: str) -> np.ndarray:
    """Image rows that show a real picture: stored (or planned) and not hostile."""
    sp = plan.sources[source]
    return np.flatnonzero((sp.uid >= 0) & (sp.hostile == w.HARMLESS))


def metric_values(plan: Plan, source: str, metric: str, rows: np.ndarray) -> np.ndarray:
    sp, seed = plan.sources[source], plan.seed
    uid = sp.uid[rows]
    transform = plan.files.transform[uid]
    if metric == "aesthetic":
        penalty = np.zeros(len(rows))
        for code, value in AESTHETIC_PENALTY.items():
            penalty[transform == code] = value
        penalty[np.minimum(sp.width[rows], sp.height[rows]) < SMALL_SIDE] += 0.8
        value = 5.0 + 1.4 * plan.world.quality(plan.groups[sp.picture[rows]])
        return np.clip(value + 0.35 * normal(seed, "aesthetic", uid) - penalty, 0.0, 10.0)
    u = uniform(seed, "watermark", uid)
    signed = uniform(seed, "watermark.signed", sp.picture[rows]) < 0.03
    value = np.where(signed, 0.3 + 0.3 * u, 0.2 * u**3)
    return np.where(transform == w.WATERMARKED, 0.75 + 0.24 * u, value)


def _parts(rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(part number, rows) of each parquet part; a source with no rows still gets one part."""
    return list(enumerate(rows[i : i + PART_ROWS] for i in range(0, max(len(rows), 1), PART_ROWS)))


def _write_tables(plan: Plan, raw: RawTables, writer: _DemoWriter, report: DemoReport) -> None:
    """Raw posts (in id order), metric parts, and the ground truth of pictures."""
    pictures = []
    for source in w.SOURCES:
        sp = plan.sources[source]
        for part, rows in _parts(sp.order):
            writer.put_parquet(f"raw/{source}/part-{part:05d}.parquet", raw.table(source, rows))
        report.rows[source] = sp.n_posts
        measured = _measured(plan, source)
        for metric in METRICS:
            covered = measured[uniform(plan.seed, f"cover.{metric}.{source}", measured) < COVERAGE]
            for part, rows in _parts(covered):
                values = pa.array(metric_values(plan, source, metric, rows), pa.float64())
                table = pa.table({"key": sp.keys.take(pa.array(rows)), metric: values})
                writer.put_parquet(f"metrics/{source}/part-{part:05d}.{metric}.parquet", table)
        columns = {
            "image_key": concat(source + ":", sp.keys.take(pa.array(measured))),
            "picture_id": pa.array(sp.picture[measured], pa.int64()),
            "transform": lookup(w.TRANSFORMS, sp.transform[measured]),
        }
        pictures.append(pa.table(columns, schema=PICTURES_SCHEMA))
    writer.put_parquet(MARKER, pa.concat_tables(pictures))
    report.pictures = sum(table.num_rows for table in pictures)


def generate_lake(lake: str, posts: int = 100, seed: int = 0, images: bool = True) -> DemoReport:
    """Write the demo lake at `lake` (a directory or `s3://bucket/prefix`) and report on it.

    Objects an earlier demo wrote under the demo's prefixes that this run does not write are
    removed, so the lake matches the run. A lake with data there but no demo ground truth is
    someone's real lake: the demo refuses to touch it.
    """
    if posts < 1:
        raise ValueError("posts must be at least 1")
    started = time.perf_counter()
    report = DemoReport(lake=lake, seed=seed, posts=posts, images=images)
    writer = _DemoWriter(Lake(lake))
    previous = [obj.path for prefix in DEMO_PREFIXES for obj in writer.lake.list(prefix)]
    if previous and MARKER not in previous:
        raise FileExistsError(
            f"{lake} already holds data under {', '.join(DEMO_PREFIXES)} and is not a demo lake; "
            "refusing to overwrite it"
        )
    plan = build_plan(World(seed, load_vocabulary()), posts, images)
    report.source_images = {s: int((plan.sources[s].uid >= 0).sum()) for s in w.SOURCES}
    hostile: list[HostileRecord] = []
    blobs = None
    if images:  # written first: a shard cut off in the middle marks its last image hostile
        blobs = render_files(plan.world, plan.files)
        stored = store_images(plan, blobs, writer.put)
        report.files, report.shards, report.members = stored.files, stored.shards, stored.members
        hostile = sorted(stored.hostile, key=lambda r: (r.image_key, r.kind, r.location))
    _write_tables(plan, RawTables(plan, *file_facts(plan, blobs)), writer, report)
    columns = {name: [getattr(r, name) for r in hostile] for name in HOSTILE_SCHEMA.names}
    writer.put_parquet("ground_truth/hostile.parquet", pa.table(columns, schema=HOSTILE_SCHEMA))
    report.hostile = Counter(record.kind for record in hostile)
    stale = sorted(set(previous) - writer.written)
    writer.lake.delete(stale)
    report.stale_removed = len(stale)
    report.objects = len(writer.written)
    report.bytes_written = writer.bytes_written
    report.elapsed_s = time.perf_counter() - started
    return report
