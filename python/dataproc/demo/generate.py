"""`dataproc demo`: write a realistic, deterministic demo lake for all five sources."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from dataproc.demo import codes as c
from dataproc.demo.context import RawContext
from dataproc.demo.facts import SyntheticFacts
from dataproc.demo.lakeio import LakeWriter
from dataproc.demo.metrics import METRICS, metric_tables
from dataproc.demo.plan import build_plan
from dataproc.demo.raw import BUILDERS
from dataproc.demo.report import DemoReport
from dataproc.demo.storage import HostileRecord, ImageStorage
from dataproc.demo.truth import hostile_table, pictures_parquet
from dataproc.demo.vocabulary import build_vocabulary

PART_ROWS = 250_000


def _write_images(
    ctx: RawContext, writer: LakeWriter, blobs: dict[int, bytes], report: DemoReport
) -> list[HostileRecord]:
    storage = ImageStorage(ctx.plan, writer, blobs)
    for source in c.SOURCES:
        rows = np.arange(len(ctx.source(source).uid))
        keys = ctx.image_keys(source, rows).to_pylist()
        storage.write_source(source, keys, ctx.image_ext(source))
    report.files = storage.summary.files
    report.shards = storage.summary.shards
    report.members = storage.summary.members
    return storage.hostile


def _write_raw(ctx: RawContext, writer: LakeWriter, report: DemoReport) -> None:
    for source in c.SOURCES:
        order = ctx.source(source).order
        for part, start in enumerate(range(0, len(order), PART_ROWS)):
            table = BUILDERS[source](ctx, order[start : start + PART_ROWS])
            writer.put_parquet(f"raw/{source}/part-{part:05d}.parquet", table)
        report.rows[source] = len(order)


def _write_metrics(ctx: RawContext, writer: LakeWriter) -> None:
    for source in c.SOURCES:
        for metric in METRICS:
            for part, table in enumerate(metric_tables(ctx, source, metric, PART_ROWS)):
                writer.put_parquet(f"metrics/{source}/part-{part:05d}.{metric}.parquet", table)


def generate_lake(lake: str, posts: int = 100, seed: int = 0, images: bool = True) -> DemoReport:
    """Write the demo lake at `lake` (a directory or `s3://bucket/prefix`) and report on it.

    The same seed and sizes give a byte-identical lake. Objects an earlier demo wrote under the
    demo's prefixes that this run does not write are removed, so the lake matches the run.
    """
    if posts < 1:
        raise ValueError("posts must be at least 1")
    started = time.perf_counter()
    report = DemoReport(lake=lake, seed=seed, posts=posts, images=images)
    writer = LakeWriter(lake)
    previous = writer.check_replaceable()
    vocab = build_vocabulary()
    plan = build_plan(seed, posts, images, vocab)
    hostile: list[HostileRecord] = []
    if images:
        from dataproc.demo.rendering import render_files

        blobs, facts = render_files(plan.world, plan.files)
        ctx = RawContext(plan, facts, vocab)
        hostile = _write_images(ctx, writer, blobs, report)
        del blobs
    else:
        ctx = RawContext(plan, SyntheticFacts(seed, plan.files), vocab)
    report.source_images = {s: int((ctx.source(s).uid >= 0).sum()) for s in c.SOURCES}
    _write_raw(ctx, writer, report)
    _write_metrics(ctx, writer)
    data, report.pictures = pictures_parquet(ctx)
    writer.put("ground_truth/pictures.parquet", data)
    writer.put_parquet("ground_truth/hostile.parquet", hostile_table(hostile))
    report.hostile = Counter(record.kind for record in hostile)
    report.stale_removed = writer.remove_stale(previous)
    report.objects = len(writer.written)
    report.bytes_written = writer.bytes_written
    report.elapsed_s = time.perf_counter() - started
    return report
