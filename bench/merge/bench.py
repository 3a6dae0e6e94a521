"""Merge benchmark: `dbt build --select +images` on a large metadata-only demo lake, against a
plain pandas implementation of the same merge on the same lake (bench/merge/pandas_merge.py).

For each side it measures wall time and peak RSS of the whole process tree (sampled from /proc
every 0.1 s); then it reruns dbt on the same database twice, with nothing changed and with 1% new
posts per source. It prints the figures, the ratio pandas / dbt, the rerun / cold ratios and
dbt's slowest nodes, and writes them to bench/RESULTS.md under "## merge". See
bench/merge/README.md.

    .venv/bin/python bench/merge/bench.py                 # 1,000,000 posts per source
    .venv/bin/python bench/merge/bench.py --posts 20000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESULTS = PROJECT / "bench" / "RESULTS.md"
SECTION = "## merge"
TARGETS = {
    "wall_s": 120.0,
    "peak_rss_gib": 4.0,
    "speedup": 5.0,
    "rerun_unchanged": 0.10,
    "rerun_new_posts": 0.25,
}
NEW_POSTS_SHARE = 0.01
NEW_POSTS_FILE = "part-rerun-new.parquet"
RERUN_LABELS = {
    "rerun_unchanged": "rerun, nothing changed",
    "rerun_new_posts": f"rerun, {NEW_POSTS_SHARE:.0%} new posts",
}
TARGET_POSTS = 1_000_000
GIB = 1024**3


@dataclass
class Measured:
    """One measured command: wall seconds, peak RSS of its process tree, exit code, output, and
    the RSS samples as (epoch seconds, bytes)."""

    wall_s: float
    peak_rss_bytes: int
    returncode: int
    output: str
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_bytes / GIB


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, from /proc."""
    total, pending = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * page
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measure(
    cmd: list[str], env: dict[str, str], log: Path, timeout_s: float, rss_cap: int | None = None
) -> Measured:
    """Run `cmd`, sampling the RSS of its process tree every 0.1 s until it exits; past
    `timeout_s`, or once its RSS exceeds `rss_cap` bytes, it is killed (return code -9)."""
    peak = 0
    samples: list[tuple[float, int]] = []
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                samples.append((time.time(), tree_rss(proc.pid)))
                peak = max(peak, samples[-1][1])
                if rss_cap is not None and peak > rss_cap:
                    os.killpg(proc.pid, 9)  # before the machine runs out of memory
                    return
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            returncode = proc.wait()
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    return Measured(wall, peak, returncode, log.read_text(), samples)


def ensure_lake(lake: Path, posts: int, seed: int) -> None:
    """Generate the metadata-only demo lake unless one with these parameters exists."""
    for leftover in lake.glob(f"raw/*/{NEW_POSTS_FILE}"):  # from an interrupted rerun
        leftover.unlink()
    stamp = lake / "bench_params.json"
    params = {"posts": posts, "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return
    shutil.rmtree(lake, ignore_errors=True)
    print(f"generating a demo lake of {posts:,} posts per source in {lake} ...", flush=True)
    cmd = [str(BIN / "dataproc"), "demo", "--lake", str(lake), "--posts", str(posts)]
    subprocess.run([*cmd, "--seed", str(seed), "--no-images"], check=True)
    stamp.write_text(json.dumps(params))


def ensure_demo_weights() -> None:
    """The demo model's seeded weights, as `make demo` writes them: the build checks for them
    before it starts, though a metadata-only lake embeds nothing."""
    weights = PROJECT / ".dataproc" / "weights" / "dataproc-tiny-seed0.pt"
    if not weights.exists():
        cmd = [str(BIN / "dataproc"), "embedder", "checkpoint", str(weights), "--seed", "0"]
        subprocess.run(cmd, check=True, cwd=PROJECT)


def raw_post_count(lake: Path) -> int:
    with duckdb.connect() as con:
        return con.sql(
            f"select sum(num_rows) from (select distinct file_name, row_group_id, "
            f"row_group_num_rows as num_rows from parquet_metadata('{lake}/raw/*/*.parquet'))"
        ).fetchone()[0]


def slowest_nodes(results: list[dict], n: int = 8) -> list[tuple[str, float]]:
    """The `n` nodes of run_results.json's `results` with the longest execution time."""
    timed = [(r["unique_id"].split(".", 2)[-1], r["execution_time"]) for r in results]
    return sorted(timed, key=lambda item: -item[1])[:n]


def peak_by_node(
    results: list[dict], samples: list[tuple[float, int]], n: int = 5
) -> list[tuple[str, float]]:
    """The `n` nodes of `results` with the highest RSS sample (GiB) while they ran. With dbt
    --threads 1 the nodes run one at a time, so a sample belongs to the one node running then."""
    peaks = []
    for result in results:
        if not result["timing"]:
            continue
        start, stop = (
            datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
            for moment in (result["timing"][0]["started_at"], result["timing"][-1]["completed_at"])
        )
        inside = [rss for at, rss in samples if start <= at <= stop]
        if inside:
            peaks.append((result["unique_id"].split(".", 2)[-1], max(inside) / GIB))
    return sorted(peaks, key=lambda item: -item[1])[:n]


def dbt_env(args: argparse.Namespace, lake: Path) -> dict[str, str]:
    out = args.out
    return {
        **os.environ,
        "DATAPROC_LAKE": str(lake),
        "DATAPROC_DUCKDB": str(out / "dataproc.duckdb"),
        "DATAPROC_TEMP_DIRECTORY": str(out / "duckdb_tmp"),
        "DATAPROC_MEMORY_LIMIT": args.memory_limit,
        "DATAPROC_THREADS": str(args.threads),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def build_dbt(args: argparse.Namespace, lake: Path, log_name: str) -> tuple[Measured, dict]:
    """One `dbt build --select +images` into the database under `args.out`, as it stands."""
    out, target = args.out, args.out / "target"
    cmd = [
        str(BIN / "dbt"),
        "build",
        "--select",
        "+images",
        "--indirect-selection",
        "cautious",
        # Unit tests check SQL on fixed fixtures, whatever the lake's size: left out of the
        # timing, as the README suggests for daily rebuilds.
        "--exclude-resource-type",
        "unit_test",
        # A metadata-only lake: every kept post takes part in identity without an image.
        "--vars",
        "{require_images: false, identity_edge_models: []}",
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(target),
        "--log-path",
        str(out / "logs"),
    ]
    measured = measure(cmd, dbt_env(args, lake), out / log_name, args.timeout_s)
    # The RSS samples beside the log, to line them up with the nodes of run_results.json.
    (out / log_name).with_suffix(".rss.tsv").write_text(
        "".join(f"{at:.2f}\t{rss}\n" for at, rss in measured.samples)
    )
    facts: dict = {}
    if measured.returncode == 0:
        with duckdb.connect(str(out / "dataproc.duckdb"), read_only=True) as con:
            facts["images"], facts["members"] = con.sql(
                "select count(*), sum(n_members) from marts.images"
            ).fetchone()
            facts["columns"] = len(con.sql("select * from marts.images limit 0").columns)
        results = json.loads((target / "run_results.json").read_text())["results"]
        facts["slowest"] = slowest_nodes(results)
        facts["peaks"] = peak_by_node(results, measured.samples)
    return measured, facts


def run_dbt(args: argparse.Namespace, lake: Path) -> tuple[Measured, dict]:
    """A cold first build: a fresh database, no spill files, no identity state in the lake."""
    (args.out / "dataproc.duckdb").unlink(missing_ok=True)
    shutil.rmtree(args.out / "duckdb_tmp", ignore_errors=True)
    shutil.rmtree(lake / "state", ignore_errors=True)  # identity starts cold, as on a first run
    return build_dbt(args, lake, "dbt.log")


def add_new_posts(lake: Path, seed: int) -> list[Path]:
    """Write `NEW_POSTS_SHARE` of each source's raw posts again as new posts (ids past the
    largest) into one more raw file per source, as a daily re-crawl would; returns the files."""
    files = []
    with duckdb.connect() as con:
        for folder in sorted((lake / "raw").iterdir()):
            raw = f"read_parquet('{folder}/*.parquet', union_by_name = true)"
            (count, top) = con.sql(f"select count(*), max(id) from {raw}").fetchone()
            new_file = folder / NEW_POSTS_FILE
            con.sql(
                f"copy (select * replace (id + {top} as id) from {raw} "
                f"using sample reservoir({max(1, int(count * NEW_POSTS_SHARE))} rows) "
                f"repeatable ({seed})) to '{new_file}' (format parquet)"
            )
            files.append(new_file)
    return files


def run_reruns(args: argparse.Namespace, lake: Path) -> dict[str, tuple[Measured, dict]]:
    """The rebuilds a user runs after the cold build: nothing changed, then 1% new posts. The
    new files are removed afterwards, so the lake stays the generated one."""
    reruns = {"rerun_unchanged": build_dbt(args, lake, "dbt_rerun_unchanged.log")}
    new_files = add_new_posts(lake, args.seed)
    try:
        reruns["rerun_new_posts"] = build_dbt(args, lake, "dbt_rerun_new_posts.log")
    finally:
        for new_file in new_files:
            new_file.unlink()
    return reruns


def run_pandas(args: argparse.Namespace, lake: Path) -> tuple[Measured, dict]:
    figures = args.out / "pandas.json"
    figures.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).with_name("pandas_merge.py")), "--lake", str(lake)]
    log = args.out / "pandas.log"
    cap = int(args.pandas_rss_cap_gib * GIB)
    measured = measure([*cmd, "--out", str(figures)], dict(os.environ), log, args.timeout_s, cap)
    facts = json.loads(figures.read_text()) if figures.exists() else {}
    return measured, facts


def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "missed"


def report(
    args,
    posts: int,
    dbt: tuple[Measured, dict],
    pandas: tuple[Measured, dict] | None,
    reruns: dict[str, tuple[Measured, dict]],
) -> str:
    (dbt_run, dbt_facts) = dbt
    lines = [
        f"### {args.posts:,} posts per source",
        "",
        f"`bench/merge/bench.py --posts {args.posts} --seed {args.seed}`: metadata-only demo lake, "
        f"{posts:,} raw posts over five sources; `dbt build --select +images "
        f"--indirect-selection cautious --exclude-resource-type unit_test` (every model up to the "
        "`images` mart with its data tests; "
        f"DuckDB memory_limit {args.memory_limit}, dbt --threads {args.threads}) against "
        "`bench/merge/pandas_merge.py` (the same merge in pandas) on the same lake and machine "
        f"({os.cpu_count()} cores). Peak RSS is the whole process tree, sampled every 0.1 s.",
        "",
        "| | wall | peak RSS | raw posts/s | images | exit |",
        "|---|---|---|---|---|---|",
    ]

    def row(name: str, run: Measured, facts: dict) -> str:
        rate = f"{posts / run.wall_s:,.0f}" if run.returncode == 0 and run.wall_s else "-"
        images = f"{facts['images']:,}" if "images" in facts else "-"
        return (
            f"| {name} | {run.wall_s:.1f} s | {run.peak_rss_gib:.2f} GiB | {rate} | "
            f"{images} | {run.returncode} |"
        )

    lines.append(row("dbt (+images)", dbt_run, dbt_facts))
    for name, label in RERUN_LABELS.items():
        if name in reruns:
            lines.append(row(f"dbt {label}", *reruns[name]))
    if pandas:
        lines.append(row("pandas", *pandas))
    lines.append("")
    at_scale = args.posts == TARGET_POSTS and dbt_run.returncode == 0
    if dbt_run.returncode != 0:
        scope = " (not judged: dbt did not finish)"
    elif args.posts != TARGET_POSTS:
        scope = f" (the targets are for {TARGET_POSTS:,} posts per source)"
    else:
        scope = ""
    lines.append(
        f"- dbt wall {dbt_run.wall_s:.1f} s, target <= {TARGETS['wall_s']:.0f} s"
        + (f": {verdict(dbt_run.wall_s, TARGETS['wall_s'])}" if at_scale else "")
        + f"; peak RSS {dbt_run.peak_rss_gib:.2f} GiB, target <= {TARGETS['peak_rss_gib']:.0f} GiB"
        + (f": {verdict(dbt_run.peak_rss_gib, TARGETS['peak_rss_gib'])}" if at_scale else "")
        + f"{scope}."
    )
    if pandas and pandas[0].returncode == 0 and dbt_run.returncode == 0:
        speedup = pandas[0].wall_s / dbt_run.wall_s
        lines.append(
            f"- pandas / dbt wall time: {speedup:.2f}x (target >= {TARGETS['speedup']:.0f}x: "
            f"{verdict(speedup, TARGETS['speedup'], higher_is_better=True)})."
        )
    elif pandas and pandas[0].peak_rss_gib > args.pandas_rss_cap_gib:
        lines.append(
            f"- pandas was stopped when its RSS passed {args.pandas_rss_cap_gib:.0f} GiB "
            f"after {pandas[0].wall_s:.0f} s, without finishing: no ratio at this size."
        )
    elif pandas:
        lines.append(f"- pandas exited with {pandas[0].returncode}: no ratio.")
    else:
        lines.append("- pandas baseline not run at this size (see `--pandas-posts`): no ratio.")
    for name, label in RERUN_LABELS.items():
        rerun = reruns.get(name)
        if rerun is None:
            continue
        if rerun[0].returncode != 0 or dbt_run.returncode != 0:
            lines.append(f"- dbt {label}: exited with {rerun[0].returncode}: no ratio.")
            continue
        ratio = rerun[0].wall_s / dbt_run.wall_s
        lines.append(
            f"- dbt {label} / cold build: {ratio:.0%} (target <= {TARGETS[name]:.0%}: "
            f"{verdict(ratio, TARGETS[name])}); slowest nodes: "
            + ", ".join(f"{node} {seconds:.1f} s" for node, seconds in rerun[1]["slowest"][:4])
            + "."
        )
    if dbt_run.returncode == -9:
        lines.append(f"- dbt was stopped after {args.timeout_s:.0f} s without finishing.")
    elif dbt_run.returncode != 0:
        lines.append(f"- dbt exited with {dbt_run.returncode}: {failure_summary(dbt_run.output)}")
    if dbt_facts.get("slowest"):
        slowest = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in dbt_facts["slowest"])
        lines.append(f"- slowest dbt nodes: {slowest}.")
    if dbt_facts.get("peaks"):
        peaks = ", ".join(f"{name} {gib:.2f} GiB" for name, gib in dbt_facts["peaks"])
        lines.append(f"- highest peak RSS of the process tree while a node ran: {peaks}.")
    return "\n".join(lines) + "\n"


def failure_summary(output: str) -> str:
    """The distinct error messages of a dbt log (colours and timestamps removed)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    errors = [
        re.sub(r"^\d\d:\d\d:\d\d\s+", "", line.strip())
        for line in plain.splitlines()
        if "Error" in line
    ]
    return "; ".join(list(dict.fromkeys(errors))[:3]) or "see dbt.log"


def replace_block(text: str, heading: str, block: str, level: str) -> str:
    """`text` with the block under `heading` (up to the next heading of `level` or higher)
    replaced by `block`, or `block` appended when the heading is absent."""
    start = text.find(heading + "\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + block
    ends = [text.find("\n" + mark, start + len(heading)) for mark in level]
    ends = [end for end in ends if end >= 0]
    end = min(ends) if ends else -1
    tail = text[end + 1 :] if end >= 0 else ""
    return text[:start] + block + ("\n" + tail if tail else "")


def write_section(block: str, heading: str) -> None:
    """Put `block` under `## merge` / `heading` in bench/RESULTS.md, keeping everything else."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = existing.find(SECTION + "\n")
    if start < 0:
        RESULTS.write_text(existing.rstrip("\n") + f"\n\n{SECTION}\n\n{block}")
        return
    end = existing.find("\n## ", start + len(SECTION))
    section = existing[start : end + 1] if end >= 0 else existing[start:]
    rest = existing[end + 1 :] if end >= 0 else ""
    section = replace_block(section, heading, block, ("### ", "## "))
    RESULTS.write_text(
        existing[:start] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts per source")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "out" / "merge")
    # 2.5GB keeps the whole process tree under the 4 GiB target: the limit covers DuckDB's
    # buffer pool, not the dbt process or DuckDB's allocations outside the pool (about 0.9 GiB
    # more at 1M posts per source).
    parser.add_argument("--memory-limit", default="2.5GB", help="DuckDB memory_limit for dbt")
    # One model at a time: DuckDB already uses every core inside a model, and two large models
    # side by side compete for the same memory limit (at 1M posts on 2 cores, 2 threads took
    # 274 s against 262-268 s with 1).
    parser.add_argument("--threads", type=int, default=1, help="dbt threads")
    parser.add_argument(
        "--pandas-posts",
        type=int,
        default=300_000,
        help="posts per source of the lake the pandas baseline is compared on (a second lake)",
    )
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-reruns", action="store_true", help="time the cold build only")
    parser.add_argument(
        "--pandas-rss-cap-gib",
        type=float,
        default=20.0,
        help="stop the pandas baseline once its RSS passes this (reported, no ratio)",
    )
    parser.add_argument(
        "--timeout-s", type=float, default=3600, help="kill a side that runs longer (reported)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = parser.parse_args()

    ensure_demo_weights()
    sizes = [args.posts] if args.skip_pandas else sorted({args.posts, args.pandas_posts})
    for size in reversed(sizes):
        run_size(
            argparse.Namespace(**{**vars(args), "posts": size, "out": args.out / f"posts-{size}"}),
            with_reruns=size == args.posts and not args.skip_reruns,
            with_pandas=size == args.pandas_posts and not args.skip_pandas,
        )


def run_size(args: argparse.Namespace, with_reruns: bool, with_pandas: bool) -> None:
    """Measure one lake size (`args.posts` per source) and write its subsection."""
    args.out.mkdir(parents=True, exist_ok=True)
    lake = args.out / "lake"
    ensure_lake(lake, args.posts, args.seed)
    posts = raw_post_count(lake)
    print(f"dbt build --select +images on {posts:,} raw posts ...", flush=True)
    dbt = run_dbt(args, lake)
    reruns = {}
    if with_reruns and dbt[0].returncode == 0:
        print("dbt reruns: nothing changed, then new posts ...", flush=True)
        reruns = run_reruns(args, lake)
    pandas = None
    if with_pandas:
        print("pandas baseline ...", flush=True)
        pandas = run_pandas(args, lake)
    text = report(args, posts, dbt, pandas, reruns)
    print(text)
    if not args.no_write:
        write_section(text, f"### {args.posts:,} posts per source")


if __name__ == "__main__":
    main()
