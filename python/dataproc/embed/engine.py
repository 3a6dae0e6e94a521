"""The embedding engine: fetch and decode in a thread pool, model forward in fixed-size batches.

Decoding runs ahead of the model in a bounded window of futures, so while one batch is in the
model the next ones are being fetched and decoded. Threads suffice: object-store reads, PIL
decoding and resizing, and the model forward all release the GIL, and decode threads produce
uint8 pixels, so no float tensors are pickled between processes. Batches are zero-padded to
`batch_size`, so every forward has the same shape (no per-shape re-tuning or recompilation).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import obstore
import pyarrow as pa
import torch

from dataproc.embed.decode import DecodedImage, decode_image
from dataproc.embed.fetch import ImageMissing, fetch_bytes, store_path
from dataproc.embed.model import LoadedModel, ModelInfo
from dataproc.embed.reasons import Reason
from dataproc.embed.refs import ImageRef, Refs, as_refs
from dataproc.embed.results import ResultBuilder
from dataproc.embed.settings import EmbedSettings


class Embedder:
    """Embeds image refs with one loaded model; safe to share between threads (e.g. requests).

    `decode_workers=0` picks the thread count for the model's device (`auto_decode_workers`).

    The decode pool is shared by all callers; model forwards are serialized by a lock so
    concurrent requests take turns on the accelerator instead of thrashing it.
    """

    def __init__(
        self,
        model: LoadedModel,
        store: obstore.store.ObjectStore,
        lake: str,
        *,
        batch_size: int = 32,
        decode_workers: int = 0,
        max_pixels: int = 50_000_000,
        prefetch_batches: int = 2,
    ) -> None:
        if batch_size < 1 or decode_workers < 0:
            raise ValueError("batch_size must be at least 1 and decode_workers at least 0")
        workers = decode_workers or auto_decode_workers(model.device)
        self._model = model
        self._store = store
        self._lake = lake
        self._batch_size = batch_size
        self._max_pixels = max_pixels
        self._window = batch_size * (prefetch_batches + 1)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="embed-decode")
        self._forward_lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return self._model.info

    def embed(self, refs: Refs, deadline: float | None = None) -> pa.Table:
        """One output row per ref, in input order (see `results.result_schema`).

        `deadline` is a `time.monotonic()` value; past it, `TimeoutError` is raised and queued
        work is cancelled. A fetch failure other than a missing object raises too.
        """
        refs = as_refs(refs)
        info = self._model.info
        builder = ResultBuilder([r.image_key for r in refs], info.dim, info.model_tag)
        window: deque[tuple[int, Future[DecodedImage]]] = deque()
        pending = iter(enumerate(refs))
        batch_rows: list[int] = []
        batch_pixels: list[torch.Tensor] = []
        try:
            self._fill(window, pending)
            while window:
                index, future = window.popleft()
                decoded = future.result(timeout=_remaining(deadline))
                self._fill(window, pending)
                builder.set_outcome(index, decoded.width, decoded.height, decoded.error)
                if decoded.pixels is None:
                    continue
                batch_rows.append(index)
                batch_pixels.append(decoded.pixels)
                if len(batch_rows) == self._batch_size:
                    builder.set_vectors(batch_rows, self._forward(batch_pixels, deadline))
                    batch_rows, batch_pixels = [], []
            if batch_rows:
                builder.set_vectors(batch_rows, self._forward(batch_pixels, deadline))
        finally:
            for _, future in window:
                future.cancel()
        return builder.table()

    def close(self) -> None:
        """Stop the decode pool (queued work is cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(
        self,
        window: deque[tuple[int, Future[DecodedImage]]],
        pending: enumerate[ImageRef],
    ) -> None:
        """Keep up to `window` refs submitted ahead of the model."""
        while len(window) < self._window:
            item = next(pending, None)
            if item is None:
                return
            index, ref = item
            window.append((index, self._pool.submit(self._load, ref)))

    def _load(self, ref: ImageRef) -> DecodedImage:
        """Fetch and decode one ref (runs in a pool thread)."""
        try:
            data = fetch_bytes(self._store, store_path(ref.uri, self._lake), ref)
        except ImageMissing:
            return DecodedImage.rejected(Reason.MISSING)
        info = self._model.info
        return decode_image(data, self._model.pixels.prepare, info.image_size, self._max_pixels)

    def _forward(self, pixels: Sequence[torch.Tensor], deadline: float | None) -> np.ndarray:
        """Embed one batch, zero-padded to `batch_size`; returns only the real rows."""
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("embedding deadline passed")
        batch = torch.stack(list(pixels))
        padding = self._batch_size - batch.shape[0]
        if padding:
            batch = torch.cat([batch, batch.new_zeros((padding, *batch.shape[1:]))])
        with self._forward_lock:
            vectors = self._model.encode(batch)
        return vectors[: len(pixels)]


def auto_decode_workers(device: torch.device) -> int:
    """Decode threads for a device: every core beside an accelerator, fewer beside a CPU model.

    With the model on an accelerator the CPU only decodes, so all cores decode. With the model
    on the CPU, its intra-op threads already use the cores, and decode threads on top of them
    stall its parallel regions; since a forward costs far more than a decode there, one spare
    decode thread keeps up.
    """
    cores = os.cpu_count() or 1
    if device.type != "cpu":
        return cores
    return max(1, cores - torch.get_num_threads())


def _remaining(deadline: float | None) -> float | None:
    """Seconds until `deadline` (never negative), or None for no deadline."""
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def build_embedder(settings: EmbedSettings) -> Embedder:
    """Load the model named by `settings` and wrap it in an `Embedder` over `settings.lake`."""
    from dataproc.embed.model import load_model
    from dataproc.lake import open_store

    model = load_model(settings.model, settings.pretrained, settings.device)
    return Embedder(
        model,
        open_store(settings.lake),
        settings.lake,
        batch_size=settings.batch_size,
        decode_workers=settings.decode_workers,
        max_pixels=settings.max_pixels,
    )
