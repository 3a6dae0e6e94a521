"""Embedding benchmarks: sidecar scaling on loopback, and throughput from tar shards.

Both write synthetic WebDataset tar shards (JPEG, PNG and WebP members, each with a `.json`
sidecar) into a temporary lake, print their figures and write them under "## embed" in
bench/RESULTS.md (`--no-write`: print only).

`scaling`: the pipeline's own path (`embed_incrementally`: checkpointed chunks, the concurrent
client, the writer thread) against sidecars of the tiny model on 127.0.0.1, one sidecar pinned
to one core (`taskset`) against two sidecars pinned to a core each. The ratio of the two
throughputs says how much of the second core the client turns into work (target >= 1.8).

`throughput`, with the same model on the same machine (made for one GPU, within 10 minutes):

- bare forward: the model on ready uint8 batches, host-to-device copy included;
- end to end: the engine reading members by ranged reads through obstore, decoding in its
  thread pool and running the same batches;
- decode only: ranged read + decode + preprocess on every core, in threads and in processes
  (why the engine uses threads).

Each figure is the median of `--repeats` runs after a warm-up; the ratio end to end / bare
forward says how much of the model's speed survives the data path.

    .venv/bin/python bench/embed.py scaling
    .venv/bin/python bench/embed.py throughput --images 1000                # CPU, a quick look
    .venv/bin/python bench/embed.py throughput --device cuda --images 40000 --batch-size 256
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import torch
from dataproc.embedding.checkpoints import (
    EmbeddingCheckpoints,
    embed_incrementally,
    embedding_progress,
)
from dataproc.embedding.client import RemoteEmbedder
from dataproc.embedding.decode import DecodedImage, ImageRef, decode_image, fetch_bytes
from dataproc.embedding.engine import (
    TINY_MODEL,
    Embedder,
    LoadedModel,
    auto_decode_workers,
    ensure_demo_checkpoint,
    load_model,
    usable_cores,
)
from dataproc.lake import Lake
from PIL import Image, ImageDraw, ImageFilter

FORMATS = {
    "jpg": ("JPEG", {"quality": 90}),
    "png": ("PNG", {}),
    "webp": ("WEBP", {"quality": 85}),
}
MAX_PIXELS = 50_000_000
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## embed"


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


def encoded_member(index: int, size: int, formats: tuple[str, ...]) -> tuple[str, bytes]:
    """`(<key>.<ext>, bytes)` for image `index`, cycling through `formats`."""
    ext = formats[index % len(formats)]
    fmt, options = FORMATS[ext]
    buffer = io.BytesIO()
    synthetic_image(index, size).save(buffer, fmt, **options)
    return f"{index:08d}.{ext}", buffer.getvalue()


def write_shards(
    lake: Path, images: int, shards: int, size: int, formats: tuple[str, ...]
) -> list[ImageRef]:
    """Write `shards` tar files holding `images` images; refs come from the tar headers."""
    folder = lake / "shards" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(mp_context=spawn()) as pool:
        members = list(
            pool.map(
                partial(encoded_member, size=size, formats=formats), range(images), chunksize=16
            )
        )
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
    """Forward `images` ready uint8 batches, as the engine hands them over (in pinned memory
    beside a GPU): the ceiling for the data path."""
    size = model.info.image_size
    pinned = model.device.type == "cuda"
    batch = torch.randint(0, 256, (batch_size, 3, size, size), dtype=torch.uint8)
    batch = batch.pin_memory() if pinned else batch
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


# -- scaling: one pinned sidecar against two ------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sidecars(
    cores: Sequence[int], lake: Path, weights: Path, batch_size: int
) -> Iterator[list[str]]:
    """One tiny-model sidecar per core in `cores`, each pinned to its core with `taskset`
    (one decode thread, one torch thread); yields their URLs once all answer /health."""
    command = Path(sys.executable).with_name("dataproc")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    processes, urls = [], []
    try:
        for core in cores:
            port = free_port()
            argv = ["taskset", "-c", str(core), str(command), "embedder", "serve"]
            argv += ["--model", TINY_MODEL, "--pretrained", str(weights), "--device", "cpu"]
            argv += ["--lake", str(lake), "--port", str(port), "--workers", "1"]
            argv += ["--batch-size", str(batch_size)]
            processes.append(
                subprocess.Popen(
                    argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_healthy(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sidecar {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"sidecar {url} did not come up in {timeout_s:.0f} s")


def pipeline_run(
    urls: list[str], lake: Path, refs: pa.Table, chunk_rows: int
) -> Callable[[], None]:
    """Embed every ref through `embed_incrementally` into a fresh checkpoint folder per run."""
    runs = iter(range(1_000_000))

    def run() -> None:
        checkpoints = EmbeddingCheckpoints(Lake(str(lake)), f"bench-{len(urls)}-{next(runs)}")
        quiet = embedding_progress(len(refs), stream=io.StringIO())
        with RemoteEmbedder(urls, chunk_size=chunk_rows) as client:
            rows = embed_incrementally(
                refs, client, checkpoints, chunk_rows=chunk_rows, progress=quiet
            ).read_all()
        errors = [error for error in rows["error"].to_pylist() if error]
        if errors:
            raise RuntimeError(f"{len(errors)} images failed: {errors[:3]}")

    return run


def refs_table(refs: Sequence[ImageRef]) -> pa.Table:
    return pa.table(
        {
            "image_key": [r.image_key for r in refs],
            "uri": [r.uri for r in refs],
            "offset": [r.offset for r in refs],
            "length": [r.length for r in refs],
        }
    )


def scaling(args: argparse.Namespace, lake: Path, refs: list[ImageRef]) -> tuple[str, str]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("scaling needs two cores")
    weights = ensure_demo_checkpoint(lake.parent / "tiny.pt", seed=0)
    table = refs_table(refs)
    with sidecars(cores[:2], lake, weights, args.batch_size) as urls:
        # Both sidecars stay up; the runs alternate, so a load that drifts hits both alike.
        runs = {count: pipeline_run(urls[:count], lake, table, args.chunk_rows) for count in (1, 2)}
        seconds: dict[int, list[float]] = {1: [], 2: []}
        for run in runs.values():
            run()
        for _ in range(args.repeats):
            for count, run in runs.items():
                start = time.perf_counter()
                run()
                seconds[count].append(time.perf_counter() - start)
    rates = {count: len(refs) / statistics.median(times) for count, times in seconds.items()}
    for count, rate in rates.items():
        print(f"{count} sidecar(s), pinned to {count} core(s): {rate:9.1f} images/s")
    ratio = rates[2] / rates[1]
    print(f"two / one: {ratio:.2f} (target >= 1.8)")
    block = (
        f"`bench/embed.py scaling --images {len(refs)} --size {args.size}`: "
        f"{len(refs)} images ({args.size} px, {args.formats}) in {args.shards} tar shards, "
        f"embedded by `embed_incrementally` (chunks of {args.chunk_rows}, checkpoints written) "
        f"through the concurrent client on 127.0.0.1; sidecars of `{TINY_MODEL}`, each pinned "
        f"to one core with `taskset` (one decode and one torch thread); the client is not "
        f"pinned. Median of {args.repeats} runs each, alternating, after a warm-up, on "
        f"{os.cpu_count()} cores.\n\n"
        "| sidecars | images/s |\n|---|---|\n"
        f"| 1 (one core) | {rates[1]:,.1f} |\n| 2 (a core each) | {rates[2]:,.1f} |\n\n"
        f"- two / one: {ratio:.2f} (target >= 1.8{'' if ratio >= 1.8 else ': missed'}).\n"
    )
    return "### Sidecar scaling (loopback, tiny model)", block


# -- throughput: end to end against bare forward --------------------------------------------------
def throughput(args: argparse.Namespace, lake: Path, refs: list[ImageRef]) -> tuple[str, str]:
    model = load_model(
        args.model, args.pretrained, args.device, allow_random=True, precision=args.precision
    )
    workers = args.workers or auto_decode_workers(model.device)
    device_name = torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else "CPU"
    print(
        f"model: {model.info.model_tag} dim={model.info.dim} input={model.info.image_size}"
        f" device={model.info.device} ({device_name}) cores={usable_cores()} "
        f"torch_threads={torch.get_num_threads()} batch={args.batch_size} "
        f"decode_workers={workers} precision={args.precision}"
    )
    n = len(refs)
    rates: dict[str, float] = {}
    cores = usable_cores()
    with ThreadPoolExecutor(cores) as pool:
        rates[f"decode only, {cores} threads"] = median_rate(
            n, decode_only(model, str(lake), refs, pool), args.repeats
        )
    if not args.skip_process_pool:
        with ProcessPoolExecutor(cores, mp_context=spawn()) as pool:
            rates[f"decode only, {cores} processes"] = median_rate(
                n, decode_only(model, str(lake), refs, pool), args.repeats
            )
    rates["bare forward"] = median_rate(n, bare_forward(model, n, args.batch_size), args.repeats)
    with Embedder(
        model, Lake(str(lake)), batch_size=args.batch_size, decode_workers=workers
    ) as engine:
        rates["end to end"] = median_rate(n, lambda: engine.embed(refs), args.repeats)
    for name, rate in rates.items():
        print(f"{name:>24}: {rate:9.1f} images/s")
    ratio = rates["end to end"] / rates["bare forward"]
    print(f"{'end to end / bare':>24}: {ratio:9.2f} (target >= 0.9; >= 5,000 img/s on one H200)")
    rows = "".join(f"| {name} | {rate:,.1f} |\n" for name, rate in rates.items())
    block = (
        f"`bench/embed.py throughput --model {args.model} --device {args.device} --images {n} "
        f"--batch-size {args.batch_size} --formats {args.formats}`: {n} images ({args.size} px, "
        f"{args.formats}) in "
        f"{args.shards} tar shards, on {device_name} with {cores} cores; {model.info.model_tag}, "
        f"{args.precision} autocast on CUDA, {workers} decode threads. Median of "
        f"{args.repeats} runs after a warm-up.\n\n| | images/s |\n|---|---|\n{rows}\n"
        f"- end to end / bare forward: {ratio:.2f} (target >= 0.9, and >= 5,000 images/s end "
        "to end on one H200).\n"
    )
    return "### Throughput from tar shards", block


# -- RESULTS.md -----------------------------------------------------------------------------------
def write_results(heading: str, block: str) -> None:
    """Put `heading` + `block` under "## embed" in bench/RESULTS.md, replacing an earlier one
    of the same heading and keeping everything else."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if f"\n{SECTION}\n" not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n"
    start = text.index(f"\n{SECTION}\n") + len(SECTION) + 2
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    section = text[start:end]
    entry = f"{heading}\n\n{block}"
    at = section.find(f"{heading}\n")
    if at < 0:
        section = section.rstrip("\n") + f"\n\n{entry}"
    else:
        after = section.find("\n### ", at + len(heading))
        section = section[:at] + entry + (section[after:] if after >= 0 else "")
    tail = "\n" + text[end:] if end < len(text) else ""
    RESULTS.write_text(text[:start] + "\n" + section.strip("\n") + "\n" + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scale = commands.add_parser("scaling", help="one pinned sidecar against two, tiny model")
    scale.add_argument("--images", type=int, default=4096)
    scale.add_argument("--size", type=int, default=384, help="image side in pixels")
    scale.add_argument("--chunk-rows", type=int, default=256, help="checkpoint chunk size")
    scale.add_argument("--batch-size", type=int, default=32)
    speed = commands.add_parser("throughput", help="end to end against bare forward")
    speed.add_argument("--model", default="ViT-B-32")
    speed.add_argument("--pretrained", default=None, help="tag or checkpoint; default random")
    speed.add_argument("--device", default="auto")
    speed.add_argument("--precision", default="bf16", choices=("bf16", "fp16", "fp32"))
    speed.add_argument("--images", type=int, default=1000)
    speed.add_argument("--size", type=int, default=512, help="image side in pixels")
    speed.add_argument("--batch-size", type=int, default=32)
    speed.add_argument("--workers", type=int, default=0, help="decode threads; 0: auto")
    speed.add_argument("--skip-process-pool", action="store_true")
    for command in (scale, speed):
        command.add_argument("--shards", type=int, default=4)
        command.add_argument(
            "--formats", default="jpg,png,webp", help="image formats, in turn: jpg, png, webp"
        )
        command.add_argument("--repeats", type=int, default=3)
        command.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        lake = Path(tmp) / "lake"
        start = time.perf_counter()
        formats = tuple(args.formats.split(","))
        refs = write_shards(lake, args.images, args.shards, args.size, formats)
        total_mb = sum(r.length or 0 for r in refs) / 1e6
        print(
            f"shards: {len(refs)} images, {total_mb:.1f} MB in {args.shards} tars "
            f"({time.perf_counter() - start:.1f}s to write)"
        )
        measure = scaling if args.command == "scaling" else throughput
        heading, block = measure(args, lake, refs)
    if not args.no_write:
        write_results(heading, block)
        print(f"wrote {heading!r} to {RESULTS}")


if __name__ == "__main__":
    main()
