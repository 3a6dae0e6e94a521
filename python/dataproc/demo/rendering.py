"""Produce the bytes of every planned file, on a few threads.

Work is grouped by picture: the native rendering is drawn once and every file of that picture
(original, resized copy, watermarked copy, ...) is derived from it. Pillow releases the GIL while
it encodes, so threads overlap the heavy part without the start-up and copying costs of worker
processes. Results are pure functions of their inputs, so the thread count never changes a byte.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from dataproc.demo.encode import FileSpec, encode, transform_image
from dataproc.demo.facts import MeasuredFacts
from dataproc.demo.ledger import FileTable
from dataproc.demo.render import draw_picture
from dataproc.demo.world import World

PICTURES_PER_TASK = 24


@dataclass(frozen=True)
class PictureTask:
    """One picture's native size and the files to make from it."""

    picture: int
    width: int
    height: int
    files: tuple[FileSpec, ...]


def render_task(seed: int, task: PictureTask) -> list[tuple[int, bytes]]:
    """(file id, bytes) for every file of one picture."""
    native = draw_picture(seed, task.picture, task.width, task.height)
    return [
        (spec.uid, encode(seed, spec, transform_image(seed, spec, native))) for spec in task.files
    ]


def render_batch(seed: int, tasks: list[PictureTask]) -> list[tuple[int, bytes]]:
    return [item for task in tasks for item in render_task(seed, task)]


def picture_tasks(world: World, files: FileTable) -> list[PictureTask]:
    """Files grouped by picture, in picture order."""
    order = np.argsort(files.picture, kind="stable")
    pictures = files.picture[order]
    native_w, native_h = world.size(pictures)
    tasks: list[PictureTask] = []
    bounds = np.flatnonzero(np.diff(pictures)) + 1
    for chunk in np.split(np.arange(len(order)), bounds):
        if not len(chunk):
            continue
        specs = tuple(
            FileSpec(
                uid=int(uid),
                transform=int(files.transform[uid]),
                ext=int(files.ext[uid]),
                width=int(files.width[uid]),
                height=int(files.height[uid]),
                unusual=int(files.unusual[uid]),
            )
            for uid in order[chunk]
        )
        first = chunk[0]
        tasks.append(
            PictureTask(int(pictures[first]), int(native_w[first]), int(native_h[first]), specs)
        )
    return tasks


def worker_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _batches(tasks: list[PictureTask]) -> Iterator[list[PictureTask]]:
    for start in range(0, len(tasks), PICTURES_PER_TASK):
        yield tasks[start : start + PICTURES_PER_TASK]


def render_files(world: World, files: FileTable) -> tuple[dict[int, bytes], MeasuredFacts]:
    """Bytes of every file, and the md5 and size the metadata must carry."""
    tasks = picture_tasks(world, files)
    blobs: dict[int, bytes] = {}
    batches = list(_batches(tasks))
    with ThreadPoolExecutor(max_workers=worker_count()) as pool:
        for result in pool.map(render_batch, [world.seed] * len(batches), batches):
            blobs.update(result)
    md5 = [hashlib.md5(blobs[uid]).hexdigest() for uid in range(len(files))]
    sizes = np.array([len(blobs[uid]) for uid in range(len(files))], dtype=np.int64)
    return blobs, MeasuredFacts(md5, sizes)
