"""Benchmark: identity with `near_dup_threshold: auto` on demo lakes that hold the hard cases.

For each `posts:seed` case a fresh demo lake is written and built (`dbt build`, default vars,
no hand tuning) and identity is scored against the lake's ground truth. Reported per seed: the
calibrated threshold and its mode, the label counts (positives, same-site and random negatives,
cannot-link pairs and how many of them score at or above the threshold), pairwise precision and
recall, and variants merged with another picture; then precision and recall per transform kind.
Prints the section and writes it to bench/RESULTS.md under "## identity".

    .venv/bin/python bench/identity.py --cases 400:1,400:2,400:3,200:7
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
from dataproc.evaluate import IdentityScores, evaluate_identity
from dataproc.lake import Lake

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "RESULTS.md"
SECTION = "## identity"
BIN = Path(sys.executable).parent


def build(work: Path, posts: int, seed: int) -> tuple[Path, Path]:
    """A fresh demo lake of `posts` per source and the DuckDB file dbt built from it."""
    lake, database = work / "lake", work / "dataproc.duckdb"
    demo = [BIN / "dataproc", "demo", "--lake", lake, "--posts", str(posts), "--seed", str(seed)]
    subprocess.run([str(part) for part in demo], check=True, capture_output=True)
    env = {**os.environ, "DATAPROC_LAKE": str(lake), "DATAPROC_DUCKDB": str(database)}
    dbt = [str(BIN / "dbt"), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)]
    dbt += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    done = subprocess.run(dbt, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"dbt build failed for seed {seed}:\n{done.stdout[-4000:]}")
    return lake, database


def calibration_facts(database: Path) -> dict:
    """The identity_calibration row and the calibration's label counts per label source."""
    con = duckdb.connect()
    con.execute(f"attach '{database}' as dataproc (read_only)")
    row = con.sql("select * from dataproc.intermediate.identity_calibration")
    facts = dict(zip(row.columns, row.fetchone(), strict=True))
    counts = con.sql(
        "select label_source, count(*) from dataproc.intermediate.int_identity_calibration_pairs"
        " group by label_source"
    ).fetchall()
    facts["by_source"] = dict(counts)
    return facts


def seed_row(case: str, facts: dict, scores: IdentityScores) -> str:
    by_source = facts["by_source"]
    cells = [
        case,
        f"{facts['threshold']:.4f} ({facts['threshold_mode']})",
        str(facts["positive_pairs"]),
        str(by_source.get("same_source_other_md5", 0)),
        str(by_source.get("random_pair", 0)),
        f"{facts['cannot_link_pairs']} ({facts['cannot_link_above_threshold']})",
        f"{scores.overall.precision:.4f}",
        f"{scores.overall.recall:.4f}",
        f"{scores.variants_merged} of {scores.variants}",
    ]
    return "| " + " | ".join(cells) + " |"


def section(results: dict[str, tuple[dict, IdentityScores]]) -> str:
    header = (
        "| posts:seed | threshold (mode) | positives | same-site negatives | random negatives"
        " | cannot-link pairs (at/above threshold) | precision | recall | variants merged |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    rows = [seed_row(case, facts, scores) for case, (facts, scores) in results.items()]
    details = [
        f"- {case}: {facts['threshold_mode']}: {facts['detail']}."
        for case, (facts, _) in results.items()
        if facts["detail"]
    ]
    kinds = sorted({kind for _, scores in results.values() for kind in scores.by_transform})
    kind_header = "| transform | " + " | ".join(results) + " |\n|---" + "|---" * len(results) + "|"
    kind_rows = []
    for kind in kinds:
        cells = []
        for _, scores in results.values():
            s = scores.by_transform.get(kind)
            cells.append(f"{s.precision:.4f} / {s.recall:.4f}" if s else "-")
        kind_rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(
        [
            SECTION,
            "",
            "`bench/identity.py --cases " + ",".join(results) + "`: a fresh demo lake per case"
            " (`dataproc demo --posts P --seed S`, with the hard cases: booru variants, pixiv"
            " pages, crops and watermarks), `dbt build` with the default vars"
            " (`near_dup_threshold: auto`, target precision 0.999), scored by"
            " `dataproc eval identity` against the ground truth. Pairwise precision and recall;"
            " targets: precision >= 0.998, recall >= 0.98, 0 variants merged.",
            "",
            header,
            *rows,
            "",
            *details,
            *([""] if details else []),
            "Per transform kind (pairwise precision / recall; a pair counts for the kinds of both"
            " its members):",
            "",
            kind_header,
            *kind_rows,
            "",
        ]
    )


def write_section(block: str) -> None:
    """Put `block` under "## identity" in bench/RESULTS.md, keeping every other section."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(f"\n{SECTION}\n")
    if start < 0:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + block)
        return
    end = text.find("\n## ", start + 1)
    rest = text[end + 1 :] if end >= 0 else ""
    RESULTS.write_text(text[: start + 1] + block + ("\n" + rest if rest else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="400:1,400:2,400:3,200:7", help="posts:seed,...")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = parser.parse_args()
    results: dict[str, tuple[dict, IdentityScores]] = {}
    for case in args.cases.split(","):
        posts, seed = (int(part) for part in case.split(":"))
        with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
            lake, database = build(Path(tmp), posts, seed)
            scores = evaluate_identity(Lake(str(lake)), database)
            results[case] = calibration_facts(database), scores
        print(f"{case}: done", flush=True)
    block = section(results)
    print(block)
    if not args.no_write:
        write_section(block)


if __name__ == "__main__":
    main()
