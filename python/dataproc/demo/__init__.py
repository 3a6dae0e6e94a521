"""`dataproc demo`: a realistic, deterministic demo lake for all five sources.

In: a lake root (a directory or `s3://bucket/prefix`), `posts` per source, a seed, and whether
to write images. Out: through `dataproc.lake.Lake`, the lake of DESIGN.md's "Demo lake": raw
posts per site, images as files or tar shards, metrics (an aesthetic score and a watermark
probability, NULL for about 10% of images) and the ground truth: pictures (with the hard cases,
redrawn pictures whose pixels are close to another's), hostile cases, and the foreign tag names
no alias seed row covers.
The same seed and sizes give a byte-identical lake; a `DemoReport` says what was written.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from dataproc.demo import world as w
from dataproc.demo.images import render_files, store_images
from dataproc.demo.plan import Plan, build_plan
from dataproc.demo.raw import RawTables, concat, file_facts, lookup
from dataproc.demo.world import World, load_vocabulary, normal, parameters, uniform
from dataproc.lake import Lake, parquet_bytes

__all__ = ["DemoReport", "generate_lake"]

PART_ROWS = 250_000
DEMO_PREFIXES = ("raw/", "images/", "shards/", "metrics/", "ground_truth/")
# What a build derives from a lake (embedding checkpoints keyed by image key, identity state,
# the index, published versions): stale once a new demo replaces the inputs under those keys.
DERIVED_PREFIXES = ("state/", "exports/")
MARKER = "ground_truth/pictures.parquet"  # a lake with this under the prefixes is a demo's
METRICS = ("aesthetic", "watermark")
PICTURES_SCHEMA = pa.schema(
    [("image_key", pa.string()), ("picture_id", pa.int64()), ("transform", pa.string())]
    + [("hard_case", pa.string()), ("redraw_of", pa.int64())]
)
FOREIGN_NAMES_SCHEMA = pa.schema([(name, pa.string()) for name in ("source", "name", "tag")])
HOSTILE_SCHEMA = pa.schema([(name, pa.string()) for name in ("image_key", "kind", "location")])
Put = Callable[[str, bytes], None]


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
        removed = f", removed {self.stale_removed} stale" if self.stale_removed else ""
        mb = f"{self.bytes_written / 1e6:,.1f} MB{removed} in {self.elapsed_s:.1f} s"
        lines += [
            f"  ground truth: {self.pictures:,} image keys",
            f"  wrote {self.objects:,} objects, {mb}",
        ]
        return "\n".join(lines)


def metric_values(plan: Plan, source: str, metric: str, rows: np.ndarray) -> np.ndarray:
    """An aesthetic score that rises with the picture's appeal and drops for small, resized or
    watermarked copies; a watermark probability that is high for watermarked copies."""
    sp, seed, p = plan.sources[source], plan.seed, parameters()["metrics"]
    uid = sp.uid[rows]
    transform = plan.files.transform[uid]
    if metric == "aesthetic":
        penalty = np.zeros(len(rows))
        for name, value in p["aesthetic_penalty"].items():
            penalty[transform == w.TRANSFORMS.index(name)] = value
        penalty[np.minimum(sp.width[rows], sp.height[rows]) < p["small_side"]] += p["small_penalty"]
        value = 5.0 + 1.4 * plan.world.quality(plan.groups[sp.picture[rows]])
        return np.clip(value + 0.35 * normal(seed, "aesthetic", uid) - penalty, 0.0, 10.0)
    u = uniform(seed, "watermark", uid)
    signed = uniform(seed, "watermark.signed", sp.picture[rows]) < 0.03
    value = np.where(signed, 0.3 + 0.3 * u, 0.2 * u**3)
    return np.where(transform == w.WATERMARKED, 0.75 + 0.24 * u, value)


def _parts(rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(part number, rows) of each parquet part; a source with no rows still gets one part."""
    return list(enumerate(rows[i : i + PART_ROWS] for i in range(0, max(len(rows), 1), PART_ROWS)))


def _write_tables(plan: Plan, raw: RawTables, put: Put, report: DemoReport) -> None:
    """Raw posts (in id order), metric parts, and the ground truth of pictures."""
    pictures = []
    for source in w.SOURCES:
        sp = plan.sources[source]
        for part, rows in _parts(sp.order):
            put(f"raw/{source}/part-{part:05d}.parquet", parquet_bytes(raw.table(source, rows)))
        report.rows[source] = sp.n_posts
        # Images that show a real picture: stored (or planned) and not hostile.
        measured = np.flatnonzero((sp.uid >= 0) & (sp.hostile == w.HARMLESS))
        for metric in METRICS:
            cover = uniform(plan.seed, f"cover.{metric}.{source}", measured)
            for part, rows in _parts(measured[cover < parameters()["metrics"]["coverage"]]):
                values = pa.array(metric_values(plan, source, metric, rows), pa.float64())
                table = pa.table({"key": sp.keys.take(pa.array(rows)), metric: values})
                put(f"metrics/{source}/part-{part:05d}.{metric}.parquet", parquet_bytes(table))
        pictures.append(_pictures(plan, source, measured))
    put(MARKER, parquet_bytes(pa.concat_tables(pictures)))
    report.pictures = sum(table.num_rows for table in pictures)
    fields = FOREIGN_NAMES_SCHEMA.names
    names = [dict(zip(fields, row, strict=True)) for row in plan.world.vocab.unseeded_names]
    table = pa.Table.from_pylist(names, schema=FOREIGN_NAMES_SCHEMA)
    put("ground_truth/foreign_names.parquet", parquet_bytes(table))


def _pictures(plan: Plan, source: str, rows: np.ndarray) -> pa.Table:
    """The ground truth of the source's images: picture, transform, and for a redrawn picture
    its hard case and the picture it redraws (its first rendering's transform is the case)."""
    sp = plan.sources[source]
    picture = sp.picture[rows]
    case = plan.hard_cases[picture]
    first = (sp.transform[rows] == w.ORIGINAL) & (case != w.NOT_HARD)
    transform = lookup(
        w.TRANSFORMS + w.HARD_CASES[1:],
        np.where(first, len(w.TRANSFORMS) - 1 + case, sp.transform[rows]),
    )
    columns = {
        "image_key": concat(source + ":", sp.keys.take(pa.array(rows))),
        "picture_id": pa.array(picture, pa.int64()),
        "transform": transform,
        "hard_case": lookup(w.HARD_CASES, case),
        "redraw_of": pa.array(plan.scenes[picture], pa.int64(), mask=case == w.NOT_HARD),
    }
    return pa.table(columns, schema=PICTURES_SCHEMA)


def generate_lake(lake: str, posts: int = 100, seed: int = 0, images: bool = True) -> DemoReport:
    """Write the demo lake at `lake` and report on it. Objects an earlier demo wrote that this
    run does not are removed, and so is what builds derived from it (`DERIVED_PREFIXES`); a
    lake with data but no demo ground truth is refused."""
    if posts < 1:
        raise ValueError("posts must be at least 1")
    started = time.perf_counter()
    report = DemoReport(lake=lake, seed=seed, posts=posts, images=images)
    store = Lake(lake)
    previous = [obj.path for prefix in DEMO_PREFIXES for obj in store.list(prefix)]
    if previous and MARKER not in previous:
        raise FileExistsError(
            f"{lake} already holds data under {', '.join(DEMO_PREFIXES)} and is not a demo lake; "
            "refusing to overwrite it"
        )
    written: dict[str, int] = {}  # path: bytes

    def put(path: str, data: bytes) -> None:
        store.put(path, data)
        written[path] = len(data)

    plan = build_plan(World(seed, load_vocabulary()), posts, images)
    report.source_images = {s: int((plan.sources[s].uid >= 0).sum()) for s in w.SOURCES}
    hostile: list[tuple[str, str, str]] = []
    blobs = None
    if images:  # written first: a shard cut off in the middle marks its last image hostile
        blobs = render_files(plan.world, plan.files)
        stored = store_images(plan, blobs, put)
        report.files, report.shards, report.members = stored.files, stored.shards, stored.members
        hostile = sorted(stored.hostile)
    _write_tables(plan, RawTables(plan, *file_facts(plan, blobs)), put, report)
    columns = {name: [r[i] for r in hostile] for i, name in enumerate(HOSTILE_SCHEMA.names)}
    put("ground_truth/hostile.parquet", parquet_bytes(pa.table(columns, schema=HOSTILE_SCHEMA)))
    report.hostile = Counter(kind for _, kind, _ in hostile)
    derived = [obj.path for prefix in DERIVED_PREFIXES for obj in store.list(prefix)]
    stale = sorted(set(previous) - set(written)) + (sorted(derived) if previous else [])
    store.delete(stale)
    report.stale_removed, report.objects = len(stale), len(written)
    report.bytes_written = sum(written.values())
    report.elapsed_s = time.perf_counter() - started
    return report
