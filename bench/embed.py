"""Embedding throughput: end-to-end from WebDataset shards versus bare model forward.

Writes synthetic tar shards (JPEG, PNG and WebP members of about 512 px, each with a `.json`
sidecar) into a temporary lake, then measures, with the same model on the same machine:

- bare forward: the model on ready tensors, fixed batches, host-to-device copy included;
- end to end: the engine reading members by ranged reads through obstore, decoding in its
  thread pool and running the same batches;
- decode only: ranged read + decode + preprocess on every core, in threads and in processes
  (why the engine uses threads).

Each figure is the median of `--repeats` runs; the ratio end-to-end / bare forward says how much
of the model's speed survives the data path.

    .venv/bin/python bench/embed.py --images 1000
    .venv/bin/python bench/embed.py --device cuda --images 20000 --batch-size 256
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import statistics
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import torch
from dataproc.embedding.decode import DecodedImage, ImageRef, decode_image, fetch_bytes
from dataproc.embedding.engine import Embedder, LoadedModel, auto_decode_workers, load_model
from dataproc.lake import Lake
from PIL import Image, ImageDraw, ImageFilter

FORMATS = (("jpg", "JPEG", {"quality": 90}), ("png", "PNG", {}), ("webp", "WEBP", {"quality": 85}))
MAX_PIXELS = 50_000_000


def synthetic_image(seed: int, size: int) -> Image.Image:
    """A drawn scene with texture, so codecs work about as hard as on real illustrations."""
    rng = np.random.default_rng(seed)
    width = int(size * rng.uniform(0.75, 1.25))
    top, bottom = rng.integers(0, 256, size=(2, 3))
    ramp = np.linspace(0, 1, size)[:, None, None]
    sky = (top * (1 - ramp) + bottom * ramp).repeat(width, axis=1)
    noise = rng.normal(0, 12, size=sky.shape)
    image = Image.fromarray(np.clip(sky + noise, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, size))
        w, h = (int(v) for v in rng.integers(size // 16, size // 3, size=2))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x0 + w, y0 + h), fill=colour, outline=(0, 0, 0), width=3)
    return image.filter(ImageFilter.SMOOTH)


def encoded_member(index: int, size: int) -> tuple[str, bytes]:
    """`(<key>.<ext>, bytes)` for image `index`, cycling through JPEG, PNG and WebP."""
    ext, fmt, options = FORMATS[index % len(FORMATS)]
    buffer = io.BytesIO()
    synthetic_image(index, size).save(buffer, fmt, **options)
    return f"{index:08d}.{ext}", buffer.getvalue()


def write_shards(lake: Path, images: int, shards: int, size: int) -> list[ImageRef]:
    """Write `shards` tar files holding `images` images; refs come from the tar headers."""
    folder = lake / "shards" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(mp_context=spawn()) as pool:
        members = list(pool.map(partial(encoded_member, size=size), range(images), chunksize=16))
    refs: list[ImageRef] = []
    per_shard = -(-images // shards)
    for shard in range(shards):
        uri = f"shards/bench/{shard:06d}.tar"
        with tarfile.open(lake / uri, "w") as tar:
            for name, data in members[shard * per_shard : (shard + 1) * per_shard]:
                key = name.split(".")[0]
                for member, payload in ((name, data), (f"{key}.json", json.dumps({"key": key}))):
                    info = tarfile.TarInfo(member)
                    body = payload if isinstance(payload, bytes) else payload.encode()
                    info.size = len(body)
                    tar.addfile(info, io.BytesIO(body))
        with tarfile.open(lake / uri) as tar:
            refs += [
                ImageRef(f"bench:{m.name}", uri, m.offset_data, m.size)
                for m in tar.getmembers()
                if not m.name.endswith(".json")
            ]
    return refs


def spawn() -> multiprocessing.context.BaseContext:
    """Fresh worker processes: forking a process that runs torch threads can deadlock."""
    return multiprocessing.get_context("spawn")


def median_rate(count: int, run: Callable[[], object], repeats: int) -> float:
    """Median images/s of `repeats` timed runs of `run` (after one untimed warm-up)."""
    run()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return count / statistics.median(seconds)


def bare_forward(model: LoadedModel, images: int, batch_size: int) -> Callable[[], None]:
    """Forward `images` ready tensors in fixed batches (the ceiling for the data path)."""
    size = model.info.image_size
    batch = torch.randn((batch_size, 3, size, size))
    batches = -(-images // batch_size)

    def run() -> None:
        for _ in range(batches):
            model.encode(batch)

    return run


def decode_one(ref: ImageRef, lake: str, preprocess: Callable, size: int) -> DecodedImage:
    """Ranged read + decode + preprocess of one ref (picklable, for the process pool)."""
    data = fetch_bytes(Lake(lake), ref)
    return decode_image(data, preprocess, size, MAX_PIXELS)


def decode_only(
    model: LoadedModel, lake: str, refs: Sequence[ImageRef], pool: Executor
) -> Callable[[], None]:
    """Fetch and decode every ref in `pool`, without the model."""
    work = partial(
        decode_one, lake=lake, preprocess=model.pixels.prepare, size=model.info.image_size
    )

    def run() -> None:
        errors = [d.error for d in pool.map(work, refs, chunksize=8) if d.error]
        if errors:
            raise RuntimeError(f"{len(errors)} images failed to decode: {errors[:3]}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--pretrained", default=None, help="tag or checkpoint; default random")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--size", type=int, default=512, help="image side in pixels")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0, help="decode threads; 0: auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-process-pool", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        lake = Path(tmp) / "lake"
        start = time.perf_counter()
        refs = write_shards(lake, args.images, args.shards, args.size)
        total_mb = sum(r.length or 0 for r in refs) / 1e6
        print(
            f"shards: {len(refs)} images, {total_mb:.1f} MB in {args.shards} tars "
            f"({time.perf_counter() - start:.1f}s to write)"
        )
        model = load_model(args.model, args.pretrained, args.device)
        workers = args.workers or auto_decode_workers(model.device)
        print(
            f"model: {model.info.model_tag} dim={model.info.dim} input={model.info.image_size}"
            f" device={model.info.device} cpus={os.cpu_count()} "
            f"torch_threads={torch.get_num_threads()} batch={args.batch_size} "
            f"decode_workers={workers}"
        )

        n = len(refs)
        rates: dict[str, float] = {}
        cores = os.cpu_count() or 1
        with ThreadPoolExecutor(cores) as pool:
            rates[f"decode only, {cores} threads"] = median_rate(
                n, decode_only(model, str(lake), refs, pool), args.repeats
            )
        if not args.skip_process_pool:
            with ProcessPoolExecutor(cores, mp_context=spawn()) as pool:
                rates[f"decode only, {cores} processes"] = median_rate(
                    n, decode_only(model, str(lake), refs, pool), args.repeats
                )
        rates["bare forward"] = median_rate(
            n, bare_forward(model, n, args.batch_size), args.repeats
        )
        with Embedder(
            model, Lake(str(lake)), batch_size=args.batch_size, decode_workers=workers
        ) as engine:
            rates["end to end"] = median_rate(n, lambda: engine.embed(refs), args.repeats)

        for name, rate in rates.items():
            print(f"{name:>24}: {rate:9.1f} images/s")
        ratio = rates["end to end"] / rates["bare forward"]
        print(f"{'end to end / bare':>24}: {ratio:9.2f}")


if __name__ == "__main__":
    main()
