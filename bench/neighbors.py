"""Benchmark: the near-duplicate index at 1M x 512-d: build rate, pair recall, peak memory.

Data: `clustered_vectors` (shared direction + one of n/100 cluster centres + noise: nearest
neighbours at cosine ~0.75, random pairs ~0.2), with 1% of the rows replaced by planted
near-copies of other rows at cosines spread from 0.88 to 0.999: most alone, a tenth in groups of
30 copies of one original (dense groups, deeper than the pipeline's first candidate count).

Ground truth: every pair with exact cosine >= the floor, by brute force within each cluster (a
copy is in its original's cluster). Pairs across clusters sit below cosine ~0.5, so the floor
cannot be reached across clusters; a pair the index finds outside the truth would show it, and
is counted ("outside").

Pair recall: the pipeline's own query (`neighbours_above`: 2k+1 candidates first, doubled while
all pass, exact re-scoring) of every key in a true pair, as identity does: the share of true
pairs found from either side. Measured at the identity threshold and at the lower candidate
floor a calibration step may ask for.

1. Sweep (`--sweep-size`, 100k): build rate with all cores and pair recall of each (dtype, M),
   and the chosen setting built with 1 thread: the thread ratio is measured in the same run.
2. The chosen setting at `--size` (1M), through the stages' code paths, each in its own process
   so that peak RSS is its own:
   - embedding step: the checkpoints (parquet chunks in a local lake) streamed by
     `EmbeddingCheckpoints.rows` into a DuckDB table, as `int_image_embeddings` does;
   - neighbour step: that table streamed by DuckDB into `embeddings_from_batches` (vectors in
     a scratch file, read back with pread), the index built by `add_vectors` with all cores,
     then the pair-recall queries and a timed sample of the full search.
   Peak RSS is compared with the index's own size (`Index.memory_usage`) and with the process
   after its imports (the fixed overhead).

    flock /work/notes/bench.lock .venv/bin/python bench/neighbors.py
    .venv/bin/python bench/neighbors.py --size 50000 --sweep-size 20000 --no-write   # quick look
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import yaml
from dataproc.embedding.checkpoints import READ_BATCH_ROWS
from dataproc.neighbours.search import _ADD_BATCH, IndexSettings

# The synthetic vectors are shared with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_vectors import clustered_vectors_and_clusters, noisy_copies  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
CHOSEN = IndexSettings()
SWEEP = (
    replace(CHOSEN, dtype="f16", connectivity=32),
    replace(CHOSEN, dtype="i8", connectivity=32),
    replace(CHOSEN, dtype="i8", connectivity=16),
)
SEARCH_WIDTHS = (CHOSEN.expansion_search, 2 * CHOSEN.expansion_search)
THRESHOLD = 0.95  # near_dup_threshold's default
FLOOR = 0.90  # the lower candidate floor identity's calibration may use
K = 10  # near_dup_neighbors' default: the pipeline asks 2k+1 candidates first
SEARCH_SAMPLE = 20_000
CHECKPOINT_ROWS = 65_536
# The stages' DuckDB memory limit: the `vector_memory_limit` var's default.
DUCKDB_MEMORY_LIMIT = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "dbt_project.yml").read_text()
)["vars"]["vector_memory_limit"]


DETERMINISM = """### Why the edges do not depend on the build's threads

The graph a multi-threaded build makes differs from run to run (index files are not compared).
The edges do not: every candidate is re-scored by its exact float64 cosine, a query whose
candidates all reach the threshold (less the storage type's slack) is asked again for twice as
many, and a key keeps its k best by (exact score, key). So a key's result is the exact set of
keys at or above the threshold, cut by a rule on the vectors alone, as long as the index
proposes every such key. That last condition is what is not guaranteed: HNSW recall is not 1 by
construction, and a pair one graph misses and another finds changes the edges. It is measured
above as pair recall, on the pairs that matter. A key with more than `max_candidates` (1024)
neighbours above the threshold keeps the index's best 1024, which can differ too.
An index of at most 10,000 keys (`EXACT_SEARCH_MAX_KEYS`: demos, tests, small lakes) is
searched exhaustively, so there the edges depend on the vectors alone.
"""


@dataclass(frozen=True)
class Data:
    vectors: np.ndarray  # unit float32, row i is key f"k{i:07d}"
    truth: np.ndarray  # (m, 2) int64 rows i < j with exact cosine >= FLOOR
    score: np.ndarray  # their exact cosines


def make_data(n: int, ndim: int, seed: int) -> Data:
    """Clustered vectors with planted near-copies, and every pair above FLOOR."""
    vectors, clusters = clustered_vectors_and_clusters(n, ndim, seed)
    rng = np.random.default_rng(seed + 1)
    n_copies = max(n // 100, 2)
    grouped = n_copies // 10 // 30 * 30
    singles = n_copies - grouped
    originals = rng.choice(n - n_copies, size=singles + grouped // 30, replace=False)
    source = np.concatenate([originals[:singles], np.repeat(originals[singles:], 30)])
    cosine = rng.uniform(0.88, 0.999, len(source))
    noise = np.sqrt(1 / cosine**2 - 1)
    copies = np.arange(n - n_copies, n)
    for start in range(0, len(source), 1 << 16):
        part = slice(start, start + (1 << 16))
        base = vectors[source[part]]
        vectors[copies[part]] = noisy_copies(base, noise[part][:, None], rng)
    clusters[copies] = clusters[source]
    truth, score = _pairs_within_clusters(vectors, clusters, FLOOR)
    return Data(vectors, truth, score)


def _pairs_within_clusters(
    vectors: np.ndarray, clusters: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair i < j of one cluster with exact (float64) cosine >= floor."""
    order = np.argsort(clusters, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(clusters[order]) != 0, True])
    pairs = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        members = np.sort(order[start:stop])
        block = vectors[members].astype(np.float64)
        sims = block @ block.T
        left, right = np.nonzero(np.triu(sims >= floor - 1e-6, k=1))
        pairs.append(np.stack([members[left], members[right]], axis=1))
    truth = np.concatenate(pairs) if pairs else np.empty((0, 2), np.int64)
    a, b = (
        vectors[truth[:, 0]].astype(np.float64),
        vectors[truth[:, 1]].astype(np.float64),
    )
    score = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    keep = score >= floor
    return truth[keep].astype(np.int64), score[keep]


def pair_recall(index, embeddings, data: Data, threshold: float, settings: IndexSettings) -> dict:
    """Share of true pairs >= threshold found by the pipeline's query of their keys."""
    from dataproc.neighbours.search import neighbours_above

    true = data.truth[data.score >= threshold]
    rows = np.unique(true)
    row_of_label = np.arange(len(embeddings), dtype=np.int64)
    started = time.perf_counter()
    found = neighbours_above(index, row_of_label, embeddings, rows, threshold, settings, 2 * K + 1)
    seconds = time.perf_counter() - started
    n = len(embeddings)
    found_codes = np.unique(
        np.minimum(found.query, found.neighbour) * n + np.maximum(found.query, found.neighbour)
    )
    true_codes = true[:, 0] * n + true[:, 1]
    hit = np.isin(true_codes, found_codes)
    return {
        "threshold": threshold,
        "expansion_search": settings.expansion_search,
        "pairs": len(true),
        "found": int(hit.sum()),
        "recall": float(hit.mean()) if len(true) else 1.0,
        "outside": int((~np.isin(found_codes, true_codes)).sum()),
        "queries": len(rows),
        "query_s": seconds,
    }


def build(settings: IndexSettings, embeddings, threads: int) -> tuple[object, float]:
    """The index of every row, built as the pipeline builds it; returns it and vectors/s."""
    from dataproc.neighbours.search import add_vectors

    index = settings.new_index(embeddings.ndim)
    rows = np.arange(len(embeddings), dtype=np.int64)
    started = time.perf_counter()
    add_vectors(index, rows.astype(np.uint64), embeddings, rows, threads)
    return index, len(rows) / (time.perf_counter() - started)


def sweep(size: int, ndim: int, seed: int) -> list[dict]:
    """Section 1 (in a child process): every setting at `size`, and the 1-thread baseline."""
    from dataproc.neighbours.search import embeddings_from_table
    from synthetic_vectors import embeddings_table

    data = make_data(size, ndim, seed)
    keys = [f"k{i:07d}" for i in range(size)]
    embeddings = embeddings_from_table(embeddings_table(keys, data.vectors))
    rows = []
    for settings in (*SWEEP, replace(CHOSEN, build_threads=1)):
        threads = settings.build_threads
        index, rate = build(settings, embeddings, threads)
        rows.append(
            {
                "settings": asdict(settings),
                "threads": threads or os.cpu_count(),
                "rate": rate,
                "index_mib": index.memory_usage / 2**20,
                "recall": [
                    pair_recall(index, embeddings, data, t, settings) for t in (THRESHOLD, FLOOR)
                ],
            }
        )
        print(f"  sweep {asdict(settings)}: {rate:,.0f} vectors/s", flush=True)
    return rows


def write_checkpoints(data: Data, root: Path) -> None:
    """The vectors as the embedding step's checkpoint chunks, in a local lake."""
    import pyarrow as pa
    from dataproc.embedding.checkpoints import EmbeddingCheckpoints
    from dataproc.embedding.engine import result_schema

    checkpoints = EmbeddingCheckpoints(_lake(root), "bench@1")
    n, ndim = data.vectors.shape
    for start in range(0, n, CHECKPOINT_ROWS):
        block = data.vectors[start : start + CHECKPOINT_ROWS]
        count = len(block)
        flat = pa.array(block.reshape(-1), pa.float32())
        columns = {
            "image_key": pa.array([f"k{i:07d}" for i in range(start, start + count)]),
            "embedding": pa.FixedSizeListArray.from_arrays(flat, ndim),
            "width": pa.array(np.full(count, 512, np.int32)),
            "height": pa.array(np.full(count, 512, np.int32)),
            "format": pa.array(["jpg"] * count),
            "error": pa.nulls(count, pa.string()),
            "model_tag": pa.array(["bench@1"] * count),
        }
        checkpoints.write(pa.table(columns, schema=result_schema(ndim)))


def _lake(root: Path):
    from dataproc.lake import Lake

    return Lake(str(root / "lake"))


def _memory() -> dict:
    """Peak RSS, and the current anonymous / file-backed parts, in MiB."""
    status = Path("/proc/self/status").read_text()
    fields = {m[1]: int(m[2]) / 1024 for m in re.finditer(r"(\w+):\s+(\d+) kB", status)}
    # VmHWM, not ru_maxrss: the latter survives exec, so a child would report its parent's peak.
    return {
        "peak_rss_mib": fields.get("VmHWM", 0.0),
        "anon_mib": fields.get("RssAnon", 0.0),
        "file_mib": fields.get("RssFile", 0.0),
    }


def embedding_step(root: Path, n: int) -> dict:
    """Section 2, embedding step (child): checkpoints streamed into a DuckDB table."""
    import duckdb
    import pyarrow as pa
    from dataproc.embedding.checkpoints import EmbeddingCheckpoints, reject_too_small
    from dataproc.embedding.engine import result_schema

    baseline = _memory()["peak_rss_mib"]
    started = time.perf_counter()
    checkpoints = EmbeddingCheckpoints(_lake(root), "bench@1")
    keys = checkpoints.keys()
    ndim = len(_lake(root).read_parquet(checkpoints.chunk_paths()[0])["embedding"][0])
    rows = checkpoints.rows(keys, result_schema(ndim))
    batches = (reject_too_small(pa.Table.from_batches([b]), 256).to_batches() for b in rows)
    stream = pa.RecordBatchReader.from_batches(rows.schema, (b for bs in batches for b in bs))
    con = duckdb.connect(str(root / "bench.duckdb"), config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    con.register("stream", stream)
    con.execute("create table embeddings as select * from stream")
    count = con.execute("select count(*) from embeddings").fetchone()[0]
    con.close()
    assert count == n, count
    return {
        "seconds": time.perf_counter() - started,
        "baseline_mib": baseline,
        **_memory(),
    }


def neighbour_step(root: Path, data_path: Path) -> dict:
    """Section 2, neighbour step (child): DuckDB stream -> vectors in a scratch file -> index."""
    import duckdb
    from dataproc.neighbours.search import embeddings_from_batches, neighbours_above

    truth = np.load(data_path)
    data = Data(np.empty((0, 0), np.float32), truth["truth"], truth["score"])
    baseline = _memory()["peak_rss_mib"]
    con = duckdb.connect(
        str(root / "bench.duckdb"),
        read_only=True,
        config={"memory_limit": DUCKDB_MEMORY_LIMIT},
    )
    relation = con.table("embeddings").filter("error is null").project("image_key, embedding")
    started = time.perf_counter()
    embeddings = embeddings_from_batches(relation.to_arrow_reader(READ_BATCH_ROWS))
    load_s = time.perf_counter() - started
    after_load = _memory()
    print(f"  vectors loaded in {load_s:.0f} s: {after_load}", flush=True)
    index, rate = build(CHOSEN, embeddings, CHOSEN.build_threads)
    after_build = _memory()
    print(f"  index built: {rate:,.0f} vectors/s; {after_build}", flush=True)
    recall = [
        pair_recall(index, embeddings, data, t, replace(CHOSEN, expansion_search=width))
        for width in SEARCH_WIDTHS
        for t in (THRESHOLD, FLOOR)
    ]
    sample = np.random.default_rng(0).choice(len(embeddings), SEARCH_SAMPLE, replace=False)
    row_of_label = np.arange(len(embeddings), dtype=np.int64)
    started = time.perf_counter()
    neighbours_above(index, row_of_label, embeddings, np.sort(sample), THRESHOLD, CHOSEN, 2 * K + 1)
    search_qps = SEARCH_SAMPLE / (time.perf_counter() - started)
    return {
        "load_s": load_s,
        "rate": rate,
        "threads": CHOSEN.build_threads or os.cpu_count(),
        "index_mib": index.memory_usage / 2**20,
        "vectors_mib": embeddings.nbytes / 2**20,
        "baseline_mib": baseline,
        "after_load": after_load,
        "after_build": after_build,
        "recall": recall,
        "search_qps": search_qps,
        **_memory(),
    }


def in_child(function, *args):
    """`function(*args)` in a fresh process, so its peak memory is its own."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def report(args, swept: list[dict] | None, size: int, embed: dict, neigh: dict, load: tuple) -> str:
    command = f"--sweep-size {args.sweep_size}" if swept is not None else "--skip-sweep"
    lines = ["## neighbors", ""]
    lines += [
        f"`bench/neighbors.py --size {size} {command}` (one run; "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at start, {load[1]:.1f} at end). "
        "Data and method: the module docstring. Pair "
        "recall counts the true pairs >= the threshold found by the pipeline's own query; "
        f"thresholds {THRESHOLD} (identity) and {FLOOR} (candidate floor). Build = one "
        f"batched `add` per {_ADD_BATCH:,} vectors, all cores.",
        "",
    ]
    lines += sweep_lines(args, swept) if swept is not None else previous_sweep()
    lines += [
        f"### Chosen settings at n={size:,} x {args.ndim}-d",
        "",
        f"`IndexSettings()`: {asdict(CHOSEN)}.",
        "",
        f"- build: **{neigh['rate']:,.0f} vectors/s** on {neigh['threads']} threads; index "
        f"{neigh['index_mib']:,.0f} MiB.",
    ]
    for r in neigh["recall"]:
        lines.append(
            f"- pair recall @{r['threshold']}, expansion_search {r['expansion_search']}: "
            f"**{r['found']:,}/{r['pairs']:,} = "
            f"{r['recall']:.5f}**; pairs found outside the truth: {r['outside']} "
            f"({r['queries']:,} keys queried in {r['query_s']:.1f} s)."
        )
    return "\n".join(lines + chosen_lines(size, embed, neigh))


def previous_sweep() -> list[str]:
    """The sweep subsection of the current RESULTS.md, marked as from an earlier run."""
    current = RESULTS.read_text() if RESULTS.exists() else ""
    start = current.find("### Sweep at")
    stop = current.find("### Chosen settings at", start)
    if start < 0 or stop < 0:
        return ["(No sweep in this run.)", ""]
    note = "(Not rerun with `--skip-sweep`: kept from the previous run of this bench.)"
    heading, *body = (
        line for line in current[start:stop].rstrip("\n").splitlines() if line != note
    )
    while body and not body[0]:
        body.pop(0)
    return [heading, "", note, "", *body, ""]


def sweep_lines(args, swept: list[dict]) -> list[str]:
    lines = [
        f"### Sweep at n={args.sweep_size:,} x {args.ndim}-d",
        "",
        "| dtype | M | ef_add | threads | vectors/s | index MiB | pair recall @0.95 | "
        "pair recall @0.90 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in swept:
        s, (high, low) = row["settings"], row["recall"]
        lines.append(
            f"| {s['dtype']} | {s['connectivity']} | {s['expansion_add']} | {row['threads']} | "
            f"{row['rate']:,.0f} | {row['index_mib']:,.0f} | {high['found']:,}/{high['pairs']:,} "
            f"= {high['recall']:.4f} | {low['found']:,}/{low['pairs']:,} = {low['recall']:.4f} |"
        )
    serial = swept[-1]["rate"]
    parallel = next(r["rate"] for r in swept if r["settings"] == asdict(CHOSEN))
    lines += [
        "",
        f"Chosen ({CHOSEN.dtype}, M={CHOSEN.connectivity}): all cores / 1 thread = "
        f"{parallel:,.0f} / {serial:,.0f} = **{parallel / serial:.2f}x** (same run, same data).",
        "",
    ]
    return lines


def chosen_lines(size: int, embed: dict, neigh: dict) -> list[str]:
    """The search rate and the memory of both steps at `size`, with the 1.5x check."""
    fixed = neigh["baseline_mib"]
    index_mib = neigh["index_mib"]

    def check(step: dict) -> str:
        budget = 1.5 * index_mib + step["baseline_mib"]
        verdict = "met" if step["peak_rss_mib"] <= budget else "missed"
        return (
            f"peak <= 1.5 x index + after imports = 1.5 x {index_mib:,.0f} + "
            f"{step['baseline_mib']:,.0f} = {budget:,.0f} MiB: **{verdict}**"
        )

    return [
        f"- search: {neigh['search_qps']:,.0f} queries/s ({SEARCH_SAMPLE:,} random keys, "
        f"threshold {THRESHOLD}); every key of {size:,} would take ~"
        f"{size / neigh['search_qps']:,.0f} s.",
        f"- embedding step (checkpoints -> DuckDB table): {embed['seconds']:.0f} s, peak RSS "
        f"**{embed['peak_rss_mib']:,.0f} MiB** ({embed['baseline_mib']:,.0f} after imports; "
        f"DuckDB memory_limit {DUCKDB_MEMORY_LIMIT}, batches of {READ_BATCH_ROWS:,} rows); "
        f"{check(embed)}.",
        f"- neighbour step (DuckDB -> vectors in a scratch file -> index -> recall queries and the "
        f"search sample): peak RSS **{neigh['peak_rss_mib']:,.0f} MiB** = "
        f"{(neigh['peak_rss_mib'] - fixed) / neigh['index_mib']:.2f} x index + "
        f"{fixed:,.0f} MiB after imports (DuckDB memory_limit {DUCKDB_MEMORY_LIMIT}); "
        f"{check(neigh)}. Of it at the end: anonymous "
        f"{neigh['anon_mib']:,.0f} MiB, file-backed {neigh['file_mib']:,.0f} MiB (libraries; "
        f"the {neigh['vectors_mib']:,.0f} MiB of vectors are read from their scratch file with "
        "pread, never mapped). After loading the vectors: "
        f"{neigh['after_load']['anon_mib']:,.0f} MiB anonymous; after the build: "
        f"{neigh['after_build']['anon_mib']:,.0f} MiB anonymous; load took "
        f"{neigh['load_s']:.0f} s.",
        "",
        DETERMINISM,
    ]


# Subsections this bench writes; any other `### ` subsection of its section is hand-written
# (settings tried and rejected) and kept after them.
GENERATED_SUBSECTIONS = ("### Sweep at", "### Chosen settings at", "### Why the edges")


def write_section(text: str) -> None:
    """Replace the `## neighbors` section of bench/RESULTS.md (up to the next `## `), keeping
    its hand-written subsections."""
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = current.find("## neighbors")
    if start < 0:
        RESULTS.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    end = current.find("\n## ", start + 1)
    rest = current[end + 1 :] if end >= 0 else ""
    section = current[start : end + 1 if end >= 0 else len(current)]
    kept = [
        "### " + part.rstrip("\n") + "\n"
        for part in section.split("\n### ")[1:]
        if not ("### " + part).startswith(GENERATED_SUBSECTIONS)
    ]
    text = "\n".join([text.rstrip("\n") + "\n", *kept])
    RESULTS.write_text(current[:start] + text + ("\n" + rest if rest else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--sweep-size", type=int, default=100_000)
    parser.add_argument(
        "--skip-sweep",
        action="store_true",
        help="keep the sweep of RESULTS.md as it is",
    )
    parser.add_argument("--ndim", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    print(
        f"cpus={os.cpu_count()} load average {load_start:.1f}; chosen {asdict(CHOSEN)}",
        flush=True,
    )
    swept = None if args.skip_sweep else in_child(sweep, args.sweep_size, args.ndim, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-neighbors-") as tmp:
        root = Path(tmp)
        data = make_data(args.size, args.ndim, args.seed)
        write_checkpoints(data, root)
        np.savez(root / "truth.npz", truth=data.truth, score=data.score)
        del data
        print(f"  data ready after {time.perf_counter() - started:.0f} s", flush=True)
        embed = in_child(embedding_step, root, args.size)
        print(f"  embedding step: {embed}", flush=True)
        neigh = in_child(neighbour_step, root, root / "truth.npz")
    text = report(args, swept, args.size, embed, neigh, (load_start, os.getloadavg()[0]))
    print(text)
    print(f"total {time.perf_counter() - started:.0f} s")
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
