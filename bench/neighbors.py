"""Benchmark: USearch HNSW for near-duplicate search against exact (brute-force) search.

For each size, vectors shaped like image embeddings (`clustered_vectors`: shared direction,
content clusters, noise) are indexed; 1% of them are planted near-copies of others. Reported per
index setting: build time, search throughput, recall@1 and recall@10 of held-out queries against
exact search (blocked matrix products), near-duplicate recall (does a planted copy find its
original among its k results), index memory and process peak memory. The baseline is exact
search of the same queries, timed in the same run; `speedup` = exact time / index time.

Each (size, setting) runs in its own process so that peak memory is its own. Sizes up to
`--sweep-max` compare several settings; larger sizes run the chosen settings only, built with
`--large-build-threads` threads. `--end-to-end N` also times the pipeline function itself.

    .venv/bin/python bench/neighbors.py --sizes 100000,1000000
    .venv/bin/python bench/neighbors.py --sizes none --end-to-end 100000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from dataproc.neighbours.search import IndexSettings

# The synthetic vectors are shared with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_vectors import clustered_vectors, noisy_copies  # noqa: E402

CHOSEN = IndexSettings()
SWEEP = (
    ("usearch defaults, f32", IndexSettings(dtype="f32", connectivity=16, expansion_add=128)),
    ("lighter graph, M=16", replace(CHOSEN, connectivity=16)),
    ("chosen", CHOSEN),
    ("chosen, 2 build threads", replace(CHOSEN, build_threads=2)),
    ("chosen, i8 storage", replace(CHOSEN, dtype="i8")),
)
SEARCH_WIDTHS = (32, 64, 128)


@dataclass(frozen=True)
class Job:
    size: int
    ndim: int
    queries: int
    k: int
    seed: int
    label: str
    settings: IndexSettings


def make_data(job: Job) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base vectors (1% planted near-copies at the end), held-out queries, and copy -> original."""
    vectors = clustered_vectors(job.size + job.queries, job.ndim, job.seed)
    base, queries = vectors[: job.size], vectors[job.size :]
    rng = np.random.default_rng(job.seed + 1)
    n_copies = max(job.size // 100, 1)
    originals = rng.choice(job.size - n_copies, size=n_copies, replace=False)
    base[job.size - n_copies :] = noisy_copies(base[originals], 0.25, rng)  # cosine ~0.97
    return base, queries, originals


def exact_top(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k rows of `base` for each query (highest dot product), in blocks of rows."""
    best_sim = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_row = np.zeros((len(queries), k), dtype=np.int64)
    block = 1 << 16
    for start in range(0, len(base), block):
        sims = queries @ base[start : start + block].T
        top = np.argpartition(-sims, min(k, sims.shape[1] - 1), axis=1)[:, :k]
        sim = np.concatenate([best_sim, np.take_along_axis(sims, top, axis=1)], axis=1)
        row = np.concatenate([best_row, top + start], axis=1)
        keep = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        best_sim = np.take_along_axis(sim, keep, axis=1)
        best_row = np.take_along_axis(row, keep, axis=1)
    return best_row


def measure(job: Job) -> dict:
    """Build, search and score one setting on one size (runs in a child process)."""
    t0 = time.perf_counter()
    base, queries, originals = make_data(job)
    generate_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    expected = exact_top(base, queries, job.k)
    exact_s = time.perf_counter() - t0

    index = job.settings.new_index(job.ndim)
    t0 = time.perf_counter()
    index.add(np.arange(job.size, dtype=np.uint64), base, threads=job.settings.build_threads)
    build_s = time.perf_counter() - t0

    searches = []
    for width in SEARCH_WIDTHS:
        index.expansion_search = width
        t0 = time.perf_counter()
        found = index.search(queries, count=job.k, threads=job.settings.search_threads)
        search_s = time.perf_counter() - t0
        labels = np.asarray(found.keys).astype(np.int64)
        overlap = [len(set(a) & set(b)) for a, b in zip(labels, expected, strict=True)]
        copies = np.arange(job.size - len(originals), job.size)[: job.queries]
        dup = index.search(base[copies], count=job.k, threads=job.settings.search_threads)
        dup_labels = np.asarray(dup.keys).astype(np.int64)
        dup_hit = (dup_labels == originals[: len(copies), None]).any(axis=1)
        searches.append(
            {
                "expansion_search": width,
                "search_s": search_s,
                "qps": len(queries) / search_s,
                "recall1": float((labels[:, 0] == expected[:, 0]).mean()),
                "recall10": float(np.mean(overlap)) / job.k,
                "dup_recall": float(dup_hit.mean()),
                "speedup": exact_s / search_s,
            }
        )
    return {
        "size": job.size,
        "label": job.label,
        "settings": asdict(job.settings),
        "generate_s": generate_s,
        "exact_s": exact_s,
        "exact_qps": len(queries) / exact_s,
        "build_s": build_s,
        "build_rate": job.size / build_s,
        "index_mib": index.memory_usage / 2**20,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "searches": searches,
    }


def end_to_end(job: Job, threshold: float) -> dict:
    """`find_near_duplicates` on one size: build, query every key, exact scores, edges.

    Counts how many planted (original, copy) pairs come out as edges; the pipeline queries
    both keys of a pair, so this is the recall that identity sees.
    """
    from dataproc.neighbours.edges import find_near_duplicates
    from synthetic_vectors import embeddings_table

    base, _, originals = make_data(job)
    keys = [f"k{i:08d}" for i in range(job.size)]
    table = embeddings_table(keys, base)
    t0 = time.perf_counter()
    run = find_near_duplicates(table, threshold, k=job.k, settings=job.settings)
    seconds = time.perf_counter() - t0
    left = run.edges.column("left_key").to_pylist()
    right = run.edges.column("right_key").to_pylist()
    edges = set(zip(left, right, strict=True))
    copies = range(job.size - len(originals), job.size)
    found = sum((keys[o], keys[c]) in edges for o, c in zip(originals, copies, strict=True))
    return {
        "size": job.size,
        "seconds": seconds,
        "edges": len(run.edges),
        "planted": len(originals),
        "planted_found": found,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_isolated(job: Job) -> dict:
    """`measure(job)` in a fresh process, so its peak memory is its own."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (job,))


def end_to_end_isolated(job: Job, threshold: float) -> dict:
    """`end_to_end(job)` in a fresh process."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(end_to_end, (job, threshold))


def report(result: dict) -> None:
    s = result["settings"]
    print(
        f"\n## n={result['size']:,}  [{result['label']}]  dtype={s['dtype']} metric={s['metric']} "
        f"M={s['connectivity']} ef_add={s['expansion_add']} build_threads={s['build_threads']}"
    )
    print(
        f"build {result['build_s']:.1f} s ({result['build_rate']:,.0f} vectors/s); "
        f"index {result['index_mib']:,.0f} MiB; peak RSS {result['peak_rss_mib']:,.0f} MiB; "
        f"exact search {result['exact_s']:.2f} s ({result['exact_qps']:,.0f} q/s)"
    )
    print("| ef_search | search s | queries/s | recall@1 | recall@10 | near-dup recall | speedup |")
    print("|---|---|---|---|---|---|---|")
    for r in result["searches"]:
        print(
            f"| {r['expansion_search']} | {r['search_s']:.3f} | {r['qps']:,.0f} | "
            f"{r['recall1']:.4f} | {r['recall10']:.4f} | {r['dup_recall']:.4f} | "
            f"{r['speedup']:.0f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="100000,1000000", help="comma-separated counts, or 'none'"
    )
    parser.add_argument("--ndim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sweep-max",
        type=int,
        default=100_000,
        help="compare all settings on sizes up to this; larger sizes run the chosen one only",
    )
    parser.add_argument(
        "--large-build-threads",
        type=int,
        default=2,
        help="build threads for sizes above --sweep-max (1 = the pipeline's reproducible build)",
    )
    parser.add_argument(
        "--end-to-end",
        type=int,
        default=0,
        help="also time find_near_duplicates (every key queried) on this many vectors",
    )
    parser.add_argument("--threshold", type=float, default=0.95)
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} load average at start={os.getloadavg()}")
    print(f"chosen settings: {asdict(CHOSEN)}")
    started = time.perf_counter()
    sizes = [] if args.sizes == "none" else [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        if size <= args.sweep_max:
            settings = SWEEP
        else:
            threads = args.large_build_threads
            settings = (("chosen", replace(CHOSEN, build_threads=threads)),)
        for label, setting in settings:
            job = Job(size, args.ndim, args.queries, args.k, args.seed, label, setting)
            report(run_isolated(job))
    if args.end_to_end:
        job = Job(args.end_to_end, args.ndim, args.queries, args.k, args.seed, "chosen", CHOSEN)
        r = end_to_end_isolated(job, args.threshold)
        print(
            f"\n## end to end: find_near_duplicates on n={r['size']:,}, k={args.k}, "
            f"threshold={args.threshold}\n{r['seconds']:.1f} s; {r['edges']:,} edges; planted "
            f"pairs found {r['planted_found']:,}/{r['planted']:,}; "
            f"peak RSS {r['peak_rss_mib']:,.0f} MiB"
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s; load average at end={os.getloadavg()}")


if __name__ == "__main__":
    main()
