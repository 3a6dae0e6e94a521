"""Identity quality of the demo model: pairwise precision and recall against a lake's truth.

Each lake's ground-truth images (`ground_truth/pictures.parquet`, located through the catalog)
are embedded by the engine in this process, from a seeded checkpoint written by
`ensure_demo_checkpoint` and loaded through open_clip's pretrained-path loading. For each cosine
threshold, images are clustered as identity does it (connected components of the graph of pairs
at or above the threshold, since identity is transitive) and scored like `score_identity`:
pairwise precision and recall.

Printed per lake: engine images/s; cosine of same-picture and of unrelated pairs; precision and
recall by threshold; the window of thresholds that meet the target (by default precision >= 0.99
and recall >= 0.95) and its midpoint; per-transform scores there. Then the window all lakes share
and the threshold to use. The baseline is the same model config with open_clip's own random
initialization (or, with `--baseline-model`, another registered name or a JSON config file),
measured in the same run; `ratio` compares the windows' widths, as ratios of cosine distance
(1 - cos) at their edges.

    .venv/bin/dataproc demo --lake /tmp/lake7 --posts 200 --seed 7
    .venv/bin/dataproc demo --lake /tmp/lake11 --posts 40 --seed 11
    .venv/bin/python bench/tune_demo_model.py /tmp/lake7 /tmp/lake11
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from dataproc.catalog import scan_lake
from dataproc.embedding.client import open_embedder
from dataproc.embedding.decode import ImageRef, as_refs
from dataproc.embedding.engine import (
    TINY_MODEL,
    EmbedSettings,
    ensure_demo_checkpoint,
    register_model_configs,
)
from dataproc.evaluate import read_pictures, score_identity
from dataproc.lake import Lake
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Thresholds are spaced evenly in log cosine distance, so that a model whose unrelated images
# sit at cosine 0.95 and one where they sit near 0 are both resolved.
DISTANCES = np.geomspace(1e-4, 1.0, 241)
THRESHOLDS = 1.0 - DISTANCES


@dataclass(frozen=True)
class LakeTruth:
    """A lake's ground-truth images: where their bytes are, which picture, which transform."""

    lake: str
    refs: list[ImageRef]
    pictures: dict[str, int]
    transforms: dict[str, str]


@dataclass(frozen=True)
class Embedded:
    """L2-normalized vectors of the images that embedded, and the engine's rate."""

    keys: list[str]
    vectors: np.ndarray
    failed: int
    images_per_s: float


@dataclass(frozen=True)
class LakeResult:
    """One model on one lake: its window of thresholds meeting the targets, and its rate."""

    window: tuple[float, float] | None
    images_per_s: float


@dataclass(frozen=True)
class Sweep:
    """Pairwise precision and recall at each threshold (thresholds ascending)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray

    def window(self, min_precision: float, min_recall: float) -> tuple[float, float] | None:
        """The lowest and highest threshold meeting both targets, or None.

        Raising the threshold only splits clusters, so recall falls and precision (nearly
        always) rises with it: the thresholds meeting both form one interval.
        """
        ok = (self.precision >= min_precision) & (self.recall >= min_recall)
        if not ok.any():
            return None
        return float(self.thresholds[ok].min()), float(self.thresholds[ok].max())

    def best_f1(self) -> float:
        """The threshold with the best F1 (where no threshold meets the targets)."""
        f1 = 2 * self.precision * self.recall / np.maximum(self.precision + self.recall, 1e-12)
        return float(self.thresholds[int(np.argmax(f1))])


def read_truth(lake: str) -> LakeTruth:
    """The catalog rows of the lake's ground-truth images."""
    pictures, transforms = read_pictures(Lake(lake))
    catalog = scan_lake(Lake(lake)).catalog
    refs = [ref for ref in as_refs(catalog) if ref.image_key in pictures]
    return LakeTruth(lake, refs, pictures, transforms)


def baseline_model(name_or_config: str) -> str:
    """A model name for open_clip; a `.json` config file is registered under its file stem."""
    import open_clip

    register_model_configs()
    if name_or_config.endswith(".json"):
        open_clip.add_model_config(name_or_config)
        return Path(name_or_config).stem
    return name_or_config


def open_clip_init_checkpoint(path: Path, model: str, seed: int) -> Path:
    """A checkpoint of `model` with open_clip's own random initialization (the baseline)."""
    import open_clip

    register_model_configs()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = open_clip.create_model(model, pretrained=None).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.write_bytes(buffer.getvalue())
    return path


def embed(truth: LakeTruth, model: str, pretrained: str, batch_size: int) -> Embedded:
    """Embed the lake's truth images in-process; the rate excludes model loading and warm-up."""
    settings = EmbedSettings.from_env(
        model=model, pretrained=pretrained, lake=truth.lake, urls=(), batch_size=batch_size
    )
    backend = open_embedder(settings)
    try:
        backend.embed(truth.refs[:batch_size])
        start = time.perf_counter()
        table = backend.embed(truth.refs)
        seconds = time.perf_counter() - start
    finally:
        backend.close()
    ok = table.filter(table.column("error").is_null())
    vectors = np.asarray(ok.column("embedding").to_pylist(), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = ok.column("image_key").to_pylist()
    return Embedded(keys, vectors, table.num_rows - ok.num_rows, len(truth.refs) / seconds)


def components(order: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Cluster labels: connected components of the pairs `order` selects."""
    graph = coo_matrix((np.ones(len(order), np.int8), (rows[order], cols[order])), shape=(n, n))
    return connected_components(graph.tocsr(), directed=False)[1]


def pairs_within(*labels: np.ndarray) -> int:
    """Pairs of items that share every one of the given labelings."""
    _, counts = np.unique(np.stack(labels), axis=1, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def cluster(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster labels at one threshold."""
    n = len(vectors)
    rows, cols = np.triu_indices(n, 1)
    similar = np.flatnonzero((vectors @ vectors.T)[rows, cols] >= threshold)
    return components(similar, rows, cols, n)


def sweep(vectors: np.ndarray, picture: np.ndarray) -> Sweep:
    """Precision and recall of the threshold clusters at every threshold of `THRESHOLDS`."""
    n = len(vectors)
    rows, cols = np.triu_indices(n, 1)
    similarity = (vectors @ vectors.T)[rows, cols]
    order = np.argsort(-similarity, kind="stable")
    ranked = similarity[order]
    true_pairs = pairs_within(picture)
    precision, recall = [], []
    for threshold in THRESHOLDS:
        edges = order[: int(np.searchsorted(-ranked, -threshold, side="right"))]
        labels = components(edges, rows, cols, n)
        predicted, correct = pairs_within(labels), pairs_within(labels, picture)
        precision.append(correct / predicted if predicted else 1.0)
        recall.append(correct / true_pairs if true_pairs else 1.0)
    return Sweep(THRESHOLDS, np.array(precision), np.array(recall))


def midpoint(window: tuple[float, float]) -> float:
    """The threshold halfway between the window's edges in log cosine distance."""
    low, high = window
    return 1.0 - float(np.sqrt((1.0 - low) * max(1.0 - high, 1e-12)))


def width(window: tuple[float, float] | None) -> float:
    """How far apart the edges are: (1 - low) / (1 - high); 0 for no window."""
    if window is None:
        return 0.0
    return (1.0 - window[0]) / max(1.0 - window[1], 1e-12)


def describe_pairs(vectors: np.ndarray, picture: np.ndarray) -> str:
    """Cosine of same-picture pairs (low end) and of unrelated pairs (high end)."""
    rows, cols = np.triu_indices(len(vectors), 1)
    similarity = (vectors @ vectors.T)[rows, cols]
    same = picture[rows] == picture[cols]
    copies, unrelated = similarity[same], similarity[~same]
    return (
        f"  cosine, same picture: min {copies.min():.4f}  p1 {np.percentile(copies, 1):.4f}"
        f"  p5 {np.percentile(copies, 5):.4f}  median {np.median(copies):.4f}\n"
        f"  cosine, unrelated:    median {np.median(unrelated):.4f}"
        f"  p99 {np.percentile(unrelated, 99):.4f}  p99.99 {np.percentile(unrelated, 99.99):.4f}"
        f"  max {unrelated.max():.4f}"
    )


def describe_sweep(result: Sweep, every: int = 12) -> str:
    """Every `every`-th row of the sweep, highest threshold first."""
    lines = [f"  {'threshold':>10}{'precision':>11}{'recall':>9}"]
    for i in range(len(result.thresholds) - 1, -1, -every):
        t, p, r = result.thresholds[i], result.precision[i], result.recall[i]
        lines.append(f"  {t:>10.4f}{p:>11.4f}{r:>9.4f}")
    return "\n".join(lines)


def per_transform(truth: LakeTruth, embedded: Embedded, threshold: float) -> str:
    """`score_identity`'s table for the threshold clusters: overall and per transform."""
    labels = cluster(embedded.vectors, threshold)
    predicted = {key: str(label) for key, label in zip(embedded.keys, labels, strict=True)}
    scores = score_identity(predicted, truth.pictures, truth.transforms)
    return "\n".join("  " + line for line in scores.describe().splitlines())


def show_window(window: tuple[float, float] | None) -> str:
    """`[low, high] (width w)`, or `none`."""
    if window is None:
        return "none"
    return f"[{window[0]:.4f}, {window[1]:.4f}] (width {width(window):.1f})"


def evaluate(
    truth: LakeTruth, label: str, model: str, pretrained: str, args: argparse.Namespace
) -> LakeResult:
    """Embed one lake with one model, print its figures, and return its window and rate."""
    embedded = embed(truth, model, pretrained, args.batch_size)
    picture = np.array([truth.pictures[key] for key in embedded.keys])
    result = sweep(embedded.vectors, picture)
    window = result.window(args.min_precision, args.min_recall)
    at = midpoint(window) if window else result.best_f1()
    print(
        f"{label}: {len(embedded.keys)} embedded, {embedded.failed} failed,"
        f" engine {embedded.images_per_s:.1f} img/s"
    )
    print(describe_pairs(embedded.vectors, picture))
    if args.table:
        print(describe_sweep(result))
    print(f"  window (P>={args.min_precision}, R>={args.min_recall}): {show_window(window)}")
    print(f"  scores at {'its midpoint' if window else 'best F1'} {at:.4f}:")
    print(per_transform(truth, embedded, at))
    return LakeResult(window, embedded.images_per_s)


def shared(windows: list[tuple[float, float] | None]) -> tuple[float, float] | None:
    """The thresholds inside every lake's window, or None."""
    if any(w is None for w in windows):
        return None
    low = max(w[0] for w in windows if w)
    high = min(w[1] for w in windows if w)
    return (low, high) if low <= high else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lakes", nargs="+", help="Demo lake roots (with ground_truth/).")
    parser.add_argument("--model", default=TINY_MODEL)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the demo checkpoint.")
    parser.add_argument("--pretrained", help="Use this checkpoint or tag instead.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--min-precision", type=float, default=0.99)
    parser.add_argument("--min-recall", type=float, default=0.95)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument(
        "--baseline-model", help="Baseline model name or JSON config (default: --model)."
    )
    parser.add_argument("--table", action="store_true", help="Print the threshold sweep.")
    args = parser.parse_args()

    truths = [read_truth(lake) for lake in args.lakes]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights = args.pretrained or str(
            ensure_demo_checkpoint(folder / "w.pt", args.seed, model_name=args.model)
        )
        runs = {"model": (args.model, weights)}
        if args.baseline:
            name = baseline_model(args.baseline_model or args.model)
            base = open_clip_init_checkpoint(folder / "base.pt", name, args.seed)
            runs["baseline"] = (name, str(base))
        results: dict[str, list[LakeResult]] = {name: [] for name in runs}
        for truth in truths:
            print(f"\n=== {truth.lake}: {len(truth.refs)} ground-truth images")
            for name, (model, pretrained) in runs.items():
                result = evaluate(truth, f"{name} ({model})", model, pretrained, args)
                results[name].append(result)

    print("\n=== all lakes")
    for name, lake_results in results.items():
        window = shared([r.window for r in lake_results])
        rate = np.mean([r.images_per_s for r in lake_results])
        tail = f", use {midpoint(window):.3f}" if window else ""
        print(f"{name}: shared window {show_window(window)}{tail}; engine {rate:.1f} img/s")
    if args.baseline:
        model_window = shared([r.window for r in results["model"]])
        base_window = shared([r.window for r in results["baseline"]])
        ratio = width(model_window) / width(base_window) if width(base_window) else float("inf")
        speed = np.mean([r.images_per_s for r in results["model"]]) / np.mean(
            [r.images_per_s for r in results["baseline"]]
        )
        print(f"ratio model/baseline: window width {ratio:.2f}x, engine speed {speed:.2f}x")


if __name__ == "__main__":
    main()
