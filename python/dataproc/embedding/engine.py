"""The embedding engine: the open_clip model and its tag, and refs -> embeddings.

In: image refs (see `decode`) and `EmbedSettings` (model, weights, device, lake, batch size,
pixel limit; see `contract`). Out: one row per ref, in input order (`result_schema`): image_key, the
L2-normalized embedding, the original width and height, the format sniffed from the bytes, the
rejection reason, and the model tag.

Setup: weights always go through open_clip's own loading (`pretrained=` a hub tag or a local
checkpoint file), so the small model used by tests and the demo exercises the same path as real
weights. The model tag, `<model name>@<first 16 hex of the weights' sha256>`, is stored with
every embedding so vectors from two different models are never mixed.

Process: fetch and decode run in a thread pool ahead of the model in a bounded window of
futures, so while one batch is in the model the next ones are being fetched and decoded; over a
stream of chunks (`embed_all`) the window runs on into the next chunk.
Threads suffice: object-store reads, PIL decoding and resizing, and the model forward all
release the GIL, and decode threads produce uint8 pixels (normalized per batch on the model's
device). Batches are zero-padded to `batch_size`, so every forward has the same shape (no
per-shape re-tuning or recompilation); on the CPU a row's vector does not depend on the rows
beside it.

On CUDA: decode threads on every usable core, batches stacked in pinned memory and copied
asynchronously, the forward under bf16 (or fp16) autocast, and JPEGs decoded at reduced size
(`decode`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from PIL import Image

from dataproc.embedding.contract import (
    CONFIG_DIR,
    TINY_MODEL,
    EmbedSettings,
    ModelInfo,
    result_schema,
)
from dataproc.embedding.decode import (
    DEFAULT_MAX_PIXELS,
    DecodedImage,
    ImageMissing,
    ImageRef,
    Reason,
    Refs,
    as_refs,
    decode_image,
    fetch_bytes,
)
from dataproc.lake import Lake

RANDOM_INIT = "random-init"
# Autocast dtypes on CUDA by `precision`; fp32 runs without autocast.
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
# A `pretrained` value with one of these, or a path separator, names a file, not an open_clip tag.
WEIGHTS_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")
TO_TENSOR_NAMES = ("ToTensor", "MaybeToTensor")


# -- model -----------------------------------------------------------------------------------------
def register_model_configs() -> None:
    """Make the package's model configs (e.g. `dataproc-tiny`) known to open_clip.

    open_clip keeps its own registry of configs; adding ours is idempotent.
    """
    import open_clip

    for path in sorted(CONFIG_DIR.glob("*.json")):
        if open_clip.get_model_config(path.stem) is None:
            open_clip.add_model_config(path)


class WeightsError(ValueError):
    """The configured weights cannot be used: a missing file, or none given at all."""


def check_weights(name: str, pretrained: str | None, allow_random: bool = False) -> None:
    """Refuse weights that would fail late or embed nonsense, saying what to do instead.

    A file that does not exist is named with the command that writes it (the demo model) or
    the settings that point elsewhere; no weights at all means random embeddings, which only
    `allow_random` accepts. The same rules run before a build starts
    (`macros/check_clip_weights.sql`).
    """
    if pretrained is None:
        if not allow_random:
            raise WeightsError(
                f"no weights given for {name} (clip_pretrained is empty): its embeddings would "
                "be random. Set clip_pretrained to a checkpoint file or an open_clip pretrained "
                "tag; to embed with random weights anyway (benchmarks), set the var "
                "clip_allow_random_weights: true (sidecar: --allow-random-weights)."
            )
        return
    if names_a_file(pretrained) and not os.path.isfile(pretrained):
        if name == TINY_MODEL:
            remedy = f"write them with `dataproc embedder checkpoint {pretrained} --seed 0`"
        else:
            remedy = (
                "download the checkpoint to that path, or set clip_pretrained to another "
                "file or to an open_clip pretrained tag"
            )
        raise WeightsError(f"the weights file {pretrained} for {name} does not exist: {remedy}.")


def names_a_file(pretrained: str) -> bool:
    """Whether `pretrained` is a path (a separator or a checkpoint suffix), not an open_clip tag."""
    return "/" in pretrained or os.sep in pretrained or pretrained.endswith(WEIGHTS_SUFFIXES)


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` is the first CUDA device when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (checkpoints can be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_tag(name: str, pretrained: str | None, weights_sha256: str | None) -> str:
    """`<name>@<sha16>` for a weights file, `<name>@<tag>` for a hub tag, `<name>@random-init`.

    Characters that are awkward in paths (`/`, `:`) become `-`: the tag names a directory
    under `state/embeddings/`.
    """
    if weights_sha256:
        suffix = weights_sha256[:16]
    elif pretrained:
        suffix = pretrained
    else:
        suffix = RANDOM_INIT
    return _path_safe(f"{name}@{suffix}")


def _path_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+-]", "-", text)


def ensure_demo_checkpoint(path: str | Path, seed: int = 0, model_name: str = TINY_MODEL) -> Path:
    """Write a seeded, randomly initialized checkpoint for `model_name` once, and return its path.

    Tests and the demo cannot download weights, so they use weights made from a fixed seed
    (open_clip's own initialization, then `smooth_patch_embedding`). The bytes are
    deterministic (same seed, same file; the archive is built in memory so the file name does
    not leak into it), hence so is the model tag. An existing file is kept as is. The caller's
    torch RNG state is left untouched.
    """
    import open_clip

    path = Path(path)
    if path.exists():
        return path
    register_model_configs()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.create_model(model_name, pretrained=None)
        smooth_patch_embedding(model.visual)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(path)
    return path


def smooth_patch_embedding(visual: torch.nn.Module, correlation: float = 1 / 8) -> None:
    """Redraw a ViT's patch embedding as smooth, zero-mean random filters, in place.

    open_clip initializes patch filters as white noise. Untrained, such filters weigh
    pixel-level detail as much as layout, and they all respond to an image's average colour, so
    the embeddings of unrelated pictures share one dominant direction and score almost as close
    as copies do. Gaussian-correlated noise (correlation length `correlation` x the patch side)
    projects a patch's coarse layout and colours instead, which resizing, re-encoding,
    watermarks and slight crops hardly change; removing each filter's mean per colour channel
    makes it blind to a flat colour offset. With the whole image as one patch (`dataproc-tiny`),
    the embedding is a seeded random projection of the picture's low-resolution layout: copies
    stay close and unrelated pictures come out near-orthogonal (`bench/tune_demo_model.py`
    measures this). The filters keep open_clip's weight scale; towers other than a ViT (e.g.
    ModifiedResNet) are left as open_clip made them. Draws from torch's global RNG.
    """
    from open_clip.transformer import VisionTransformer

    if not isinstance(visual, VisionTransformer):
        return
    weight = visual.conv1.weight
    out_channels, in_channels, height, width = weight.shape
    sigma = correlation * max(height, width)
    radius = max(1, round(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    with torch.no_grad():
        noise = torch.randn(out_channels * in_channels, 1, height + 2 * radius, width + 2 * radius)
        noise = torch.nn.functional.conv2d(noise, kernel.view(1, 1, 1, -1))
        noise = torch.nn.functional.conv2d(noise, kernel.view(1, 1, -1, 1))
        filters = noise.view(out_channels, in_channels, height, width)
        filters = filters - filters.mean(dim=(2, 3), keepdim=True)
        weight.copy_(filters * (weight.std() / filters.std()))


@dataclass(frozen=True)
class LoadedModel:
    """An open_clip model in eval mode, its preprocessing, and what it is.

    `pixels.prepare` turns a decoded RGB image into a model-sized tensor (run it in decode
    workers); `encode` takes a stack of those.
    """

    info: ModelInfo
    model: torch.nn.Module
    pixels: PixelPipeline
    device: torch.device

    precision: str = "bf16"

    def encode(self, pixels: torch.Tensor) -> np.ndarray:
        """Embed a batch from `pixels.prepare`: L2-normalized float32 vectors, one per row.

        Pixels are normalized on the model's device (a batch in pinned memory is copied
        asynchronously). On CUDA the forward runs under `precision` autocast (bf16 or fp16;
        fp32: none); on the CPU always in float32. The output normalization is in float32.
        """
        dtype = AUTOCAST_DTYPES[self.precision]
        autocast = (
            torch.autocast("cuda", dtype=dtype)
            if self.device.type == "cuda" and dtype is not None
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            batch = self.pixels.normalize(pixels.to(self.device, non_blocking=True))
            features = self.model.encode_image(batch)
        features = torch.nn.functional.normalize(features.float(), dim=-1)
        return features.cpu().numpy().astype(np.float32, copy=False)


def load_model(
    name: str,
    pretrained: str | None,
    device: str = "auto",
    *,
    allow_random: bool = False,
    precision: str = "bf16",
) -> LoadedModel:
    """Load `name` with open_clip's `create_model_and_transforms(name, pretrained=...)`.

    `pretrained` is a local checkpoint path (hashed into the model tag), an open_clip hub tag
    (its name goes into the tag), or None for random initialization, which only `allow_random`
    accepts (benchmarks). Unusable weights raise `WeightsError` before anything is loaded.
    `precision` is the forward's autocast on CUDA (`bf16`, `fp16` or `fp32`).
    """
    import open_clip

    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"precision must be one of {sorted(AUTOCAST_DTYPES)}: {precision!r}")
    check_weights(name, pretrained, allow_random)
    register_model_configs()
    target = resolve_device(device)
    model, _, preprocess = open_clip.create_model_and_transforms(
        name, pretrained=pretrained, device=target
    )
    model.eval()
    weights = file_sha256(pretrained) if pretrained and os.path.isfile(pretrained) else None
    image_size = _image_size(model)
    info = ModelInfo(
        model=name,
        pretrained=pretrained,
        model_tag=model_tag(name, pretrained, weights),
        dim=_embedding_dim(model, image_size, target),
        weights_sha256=weights,
        device=str(target),
        image_size=image_size,
    )
    pixels = split_preprocess(preprocess)
    return LoadedModel(info=info, model=model, pixels=pixels, device=target, precision=precision)


def _embedding_dim(model: torch.nn.Module, image_size: int, device: torch.device) -> int:
    """The output width, from one forward of a blank image (works for every open_clip tower)."""
    with torch.inference_mode():
        blank = torch.zeros((1, 3, image_size, image_size), device=device)
        return int(model.encode_image(blank).shape[-1])


def _image_size(model: torch.nn.Module) -> int:
    """The square input side the image tower expects."""
    size = getattr(model.visual, "image_size", 224)
    if isinstance(size, tuple | list):
        return int(max(size))
    return int(size)


# -- pixels ----------------------------------------------------------------------------------------
# open_clip's preprocess ends with ToTensor + Normalize. Run per image in decode threads, those
# make float32 tensors (4x the memory of the pixels) and put small torch ops on many threads at
# once. Stopping at uint8 and normalizing whole batches on the model's device keeps decode
# threads in PIL (which releases the GIL), moves a quarter of the bytes to the accelerator, and
# computes exactly the same values (the same float32 ops in the same order).
@dataclass(frozen=True)
class PixelPipeline:
    """`prepare` turns an RGB image into a model-sized tensor; `normalize` finishes a batch.

    With `mean`/`std` set, `prepare` yields uint8 CHW and `normalize` scales to [0, 1] and
    standardizes. Without them, `prepare` is the full preprocess and `normalize` passes through.
    """

    prepare: Callable[[Image.Image], torch.Tensor]
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """A float32 batch ready for the model (from uint8 pixels when `prepare` made those)."""
        if batch.dtype != torch.uint8 or self.mean is None or self.std is None:
            return batch
        mean = torch.tensor(self.mean, dtype=torch.float32, device=batch.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32, device=batch.device).view(1, -1, 1, 1)
        return batch.to(torch.float32).div(255).sub_(mean).div_(std)


def split_preprocess(preprocess: Callable[[Image.Image], torch.Tensor]) -> PixelPipeline:
    """Split a torchvision `Compose` ending in ToTensor + Normalize; else keep it whole."""
    steps = list(getattr(preprocess, "transforms", []))
    names = [type(step).__name__ for step in steps]
    if len(steps) < 2 or names[-2] not in TO_TENSOR_NAMES or names[-1] != "Normalize":
        return PixelPipeline(prepare=preprocess)
    normalize = steps[-1]
    return PixelPipeline(
        prepare=ImageSteps(tuple(steps[:-2])),
        mean=tuple(float(v) for v in normalize.mean),
        std=tuple(float(v) for v in normalize.std),
    )


@dataclass(frozen=True)
class ImageSteps:
    """The PIL part of a preprocess (resize, crop, mode), ending in uint8 CHW; picklable."""

    steps: tuple[Callable[[Image.Image], Image.Image], ...]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        for step in self.steps:
            image = step(image)
        return uint8_chw(image)


def uint8_chw(image: Image.Image) -> torch.Tensor:
    """A PIL image as a uint8 tensor shaped (channels, height, width)."""
    array = np.array(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1)


# -- results ---------------------------------------------------------------------------------------
class ResultBuilder:
    """Collects per-row outcomes by index, then builds the Arrow table in one go.

    Rows arrive out of batch order (metadata when decoded, vectors when their batch ran), so
    they are stored by input position.
    """

    def __init__(self, keys: list[str], dim: int, model_tag: str) -> None:
        self._keys = keys
        self._dim = dim
        self._model_tag = model_tag
        self._vectors = np.zeros((len(keys), dim), dtype=np.float32)
        self._has_vector = np.zeros(len(keys), dtype=bool)
        self._width: list[int | None] = [None] * len(keys)
        self._height: list[int | None] = [None] * len(keys)
        self._format: list[str | None] = [None] * len(keys)
        self._error: list[str | None] = [None] * len(keys)

    def set_outcome(self, index: int, decoded: DecodedImage) -> None:
        """Record an image's original size and format and its rejection reason (None when
        decoded)."""
        self._width[index] = decoded.width
        self._height[index] = decoded.height
        self._format[index] = decoded.format
        self._error[index] = decoded.error

    def set_vectors(self, indices: list[int], vectors: np.ndarray) -> None:
        """Store the embeddings of the rows at `indices` (one vector per index, same order)."""
        self._vectors[indices] = vectors
        self._has_vector[indices] = True

    def table(self) -> pa.Table:
        """The finished table; a row without a vector has a null embedding."""
        flat = pa.array(self._vectors.reshape(-1), type=pa.float32())
        embedding = pa.FixedSizeListArray.from_arrays(
            flat, self._dim, mask=pa.array(~self._has_vector)
        )
        n = len(self._keys)
        return pa.Table.from_arrays(
            [
                pa.array(self._keys, pa.string()),
                embedding,
                pa.array(self._width, pa.int32()),
                pa.array(self._height, pa.int32()),
                pa.array(self._format, pa.string()),
                pa.array(self._error, pa.string()),
                pa.array([self._model_tag] * n, pa.string()),
            ],
            schema=result_schema(self._dim),
        )


# -- engine ----------------------------------------------------------------------------------------
class Embedder:
    """Embeds image refs with one loaded model; safe to share between threads (e.g. requests).

    `decode_workers=0` picks the thread count for the model's device (`auto_decode_workers`).

    The decode pool is shared by all callers; model forwards are serialized by a lock so
    concurrent requests take turns on the accelerator instead of thrashing it.
    """

    def __init__(
        self,
        model: LoadedModel,
        lake: Lake,
        *,
        batch_size: int = 32,
        decode_workers: int = 0,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        prefetch_batches: int = 2,
    ) -> None:
        if batch_size < 1 or decode_workers < 0:
            raise ValueError("batch_size must be at least 1 and decode_workers at least 0")
        workers = decode_workers or auto_decode_workers(model.device)
        self._model = model
        self._lake = lake
        self._batch_size = batch_size
        self._max_pixels = max_pixels
        self._window = batch_size * (prefetch_batches + 1)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="embed-decode")
        self._forward_lock = threading.Lock()
        self._closed = False

    @property
    def info(self) -> ModelInfo:
        return self._model.info

    def embed(self, refs: Refs, deadline: float | None = None) -> pa.Table:
        """One output row per ref, in input order (see `result_schema`).

        `deadline` is a `time.monotonic()` value; past it, `TimeoutError` is raised and queued
        work is cancelled. A fetch failure other than a missing object raises too.
        """
        (table,) = self._embed_chunks([refs], deadline)
        return table

    def embed_all(self, chunks: Iterable[Refs]) -> Iterator[pa.Table]:
        """One table per chunk, in order, each what `embed` gives for that chunk.

        Fetch and decode run ahead across chunk boundaries, so the model does not wait for the
        first images of the next chunk; batches never span two chunks.
        """
        return self._embed_chunks(chunks, None)

    def check_health(self) -> None:
        """Raise when this engine can no longer embed: closed, or its CUDA device has failed
        (a CUDA error is sticky, and a synchronize reports it). Cheap: it never waits for
        the model."""
        if self._closed:
            raise RuntimeError("the embedder is closed")
        if self._model.device.type == "cuda":
            torch.cuda.synchronize(self._model.device)

    def close(self) -> None:
        """Stop the decode pool (queued work is cancelled)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _embed_chunks(self, chunks: Iterable[Refs], deadline: float | None) -> Iterator[pa.Table]:
        """The decode window over every chunk's refs, each chunk closed by an end marker
        (a `None` future): there its last, partial batch runs and its table is handed back."""
        window: deque[tuple[ResultBuilder, int, Future[DecodedImage] | None]] = deque()
        pending = self._numbered(chunks)
        batch_rows: list[int] = []
        batch_pixels: list[torch.Tensor] = []
        try:
            self._fill(window, pending)
            while window:
                builder, index, future = window.popleft()
                if future is None:
                    if batch_rows:
                        builder.set_vectors(batch_rows, self._forward(batch_pixels, deadline))
                        batch_rows, batch_pixels = [], []
                    self._fill(window, pending)
                    yield builder.table()
                    continue
                decoded = future.result(timeout=_remaining(deadline))
                self._fill(window, pending)
                builder.set_outcome(index, decoded)
                if decoded.pixels is None:
                    continue
                batch_rows.append(index)
                batch_pixels.append(decoded.pixels)
                if len(batch_rows) == self._batch_size:
                    builder.set_vectors(batch_rows, self._forward(batch_pixels, deadline))
                    batch_rows, batch_pixels = [], []
        finally:
            for _, _, queued in window:
                if queued is not None:
                    queued.cancel()

    def _numbered(
        self, chunks: Iterable[Refs]
    ) -> Iterator[tuple[ResultBuilder, int, ImageRef | None]]:
        """Every chunk's refs with their chunk's result builder and position, then its end
        marker (`None`)."""
        info = self._model.info
        for chunk in chunks:
            refs = as_refs(chunk)
            builder = ResultBuilder([ref.image_key for ref in refs], info.dim, info.model_tag)
            for index, ref in enumerate(refs):
                yield builder, index, ref
            yield builder, -1, None

    def _fill(
        self,
        window: deque[tuple[ResultBuilder, int, Future[DecodedImage] | None]],
        pending: Iterator[tuple[ResultBuilder, int, ImageRef | None]],
    ) -> None:
        """Keep up to `window` refs (and end markers) submitted ahead of the model."""
        while len(window) < self._window:
            item = next(pending, None)
            if item is None:
                return
            builder, index, ref = item
            future = None if ref is None else self._pool.submit(self._load, ref)
            window.append((builder, index, future))

    def _load(self, ref: ImageRef) -> DecodedImage:
        """Fetch and decode one ref (runs in a pool thread)."""
        try:
            data = fetch_bytes(self._lake, ref)
        except ImageMissing:
            return DecodedImage.rejected(Reason.MISSING)
        info = self._model.info
        return decode_image(data, self._model.pixels.prepare, info.image_size, self._max_pixels)

    def _forward(self, pixels: Sequence[torch.Tensor], deadline: float | None) -> np.ndarray:
        """Embed one batch, zero-padded to `batch_size`; returns only the real rows."""
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("embedding deadline passed")
        # Stacked straight into the padded batch, in pinned memory beside a GPU so that the
        # copy to the device is asynchronous.
        first = pixels[0]
        pinned = self._model.device.type == "cuda"
        batch = torch.empty((self._batch_size, *first.shape), dtype=first.dtype, pin_memory=pinned)
        torch.stack(list(pixels), out=batch[: len(pixels)])
        batch[len(pixels) :].zero_()
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
    cores = usable_cores()
    if device.type != "cpu":
        return cores
    return max(1, cores - torch.get_num_threads())


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: `taskset`, cgroups), not the
    machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _remaining(deadline: float | None) -> float | None:
    """Seconds until `deadline` (never negative), or None for no deadline."""
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def build_embedder(settings: EmbedSettings) -> Embedder:
    """Load the model named by `settings` and wrap it in an `Embedder` over `settings.lake`."""
    model = load_model(
        settings.model,
        settings.pretrained,
        settings.device,
        allow_random=settings.allow_random_weights,
        precision=settings.precision,
    )
    return Embedder(
        model,
        Lake(settings.lake),
        batch_size=settings.batch_size,
        decode_workers=settings.decode_workers,
        max_pixels=settings.max_pixels,
    )
