"""`weighted_pick` (macros/merge/weighted_pick.sql) against an independent Python reference.

The macro is compiled by dbt (`dbt compile --inline`) over a few hundred images of random
votes, run in DuckDB, and every pick is compared with what the documented rule gives in Python:
argmax takes the value with the largest summed weight (ties: smallest value); sample draws
u = md5(image_id|field|seed)[:13 hex digits] / 2^52 and takes the first value, in ascending
order, whose cumulative weight exceeds u x the total.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import DbtProject, make_dbt_project

VALUES = ("general", "sensitive", "questionable", "explicit")
WEIGHTS = ("0", "0.3", "0.5", "0.7", "1.0", "2.0")
FIELD = "rating"
RUNS = {"argmax": ("argmax", 0), "sample_1": ("sample", 1), "sample_2": ("sample", 2)}

Vote = tuple[str, str | None, Decimal]


def random_votes(n_images: int, seed: int = 3) -> list[Vote]:
    """1-5 votes per image: repeated values, zero weights and NULL values included."""
    rng = random.Random(seed)
    votes: list[Vote] = []
    for i in range(n_images):
        for _ in range(rng.randint(1, 5)):
            value = None if rng.random() < 0.1 else rng.choice(VALUES)
            votes.append((f"image_{i:04d}", value, Decimal(rng.choice(WEIGHTS))))
    return votes


def stable_uniform(*parts: object) -> float:
    digest = hashlib.md5("|".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:13], 16) / 2**52


def reference_picks(votes: list[Vote], mode: str, seed: int) -> dict[str, str]:
    summed: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for image_id, value, weight in votes:
        if value is not None and weight > 0:
            summed[image_id][value] += weight
    picks = {}
    for image_id, weights in summed.items():
        ordered = sorted(weights.items())
        if mode == "argmax":
            picks[image_id] = min(ordered, key=lambda item: (-item[1], item[0]))[0]
            continue
        total = float(sum(weights.values()))
        threshold = stable_uniform(image_id, FIELD, seed) * total
        cumulative = Decimal(0)
        for value, weight in ordered:
            cumulative += weight
            if float(cumulative) > threshold:
                picks[image_id] = value
                break
    return picks


def inline_sql(votes_path: Path) -> str:
    picks = ",\n".join(
        f"{run} as ({{{{ weighted_pick('votes', '{FIELD}', mode='{mode}', seed={seed}) }}}})"
        for run, (mode, seed) in RUNS.items()
    )
    union = "\nunion all\n".join(
        f"select '{run}' as run, image_id, value from {run}" for run in RUNS
    )
    return (
        "with votes as (select image_id, value, weight::decimal(9, 4) as weight "
        f"from read_parquet('{votes_path}')),\n{picks}\n{union}"
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    work = tmp_path_factory.mktemp("weighted_pick")
    return make_dbt_project(work, work / "lake")


@pytest.fixture(scope="module")
def votes() -> list[Vote]:
    return random_votes(300)


@pytest.fixture(scope="module")
def sql_picks(project: DbtProject, votes: list[Vote]) -> dict[str, dict[str, str]]:
    votes_path = project.work / "votes.parquet"
    with duckdb.connect() as con:
        con.execute("create table votes (image_id varchar, value varchar, weight varchar)")
        con.executemany("insert into votes values (?, ?, ?)", [(i, v, str(w)) for i, v, w in votes])
        con.execute(f"copy votes to '{votes_path}' (format parquet)")
    compiled = project.run("compile", "--quiet", "--inline", inline_sql(votes_path)).output
    picks: dict[str, dict[str, str]] = defaultdict(dict)
    with duckdb.connect() as con:
        for run, image_id, value in con.sql(compiled).fetchall():
            assert image_id not in picks[run], f"{run}: two picks for {image_id}"
            picks[run][image_id] = value
    return picks


@pytest.mark.parametrize("run", sorted(RUNS))
def test_picks_match_the_reference(
    run: str, votes: list[Vote], sql_picks: dict[str, dict[str, str]]
) -> None:
    mode, seed = RUNS[run]
    expected = reference_picks(votes, mode, seed)
    assert len(expected) > 250
    assert sql_picks[run] == expected


def test_sample_draws_depend_on_the_seed(sql_picks: dict[str, dict[str, str]]) -> None:
    first, second = sql_picks["sample_1"], sql_picks["sample_2"]
    changed = sum(first[key] != second[key] for key in first)
    assert 0.1 * len(first) < changed < 0.9 * len(first)


def test_sample_follows_the_weights_not_the_argmax(sql_picks: dict[str, dict[str, str]]) -> None:
    argmax, sample = sql_picks["argmax"], sql_picks["sample_1"]
    assert 0 < sum(argmax[key] != sample[key] for key in argmax) < len(argmax) / 2


def test_unknown_merge_mode_fails_to_compile(project: DbtProject) -> None:
    result = project.run(
        "compile",
        "--inline",
        "with votes as (select 'a' as image_id, 'x' as value, 1 as weight) "
        "{{ weighted_pick('votes', 'rating') }}",
        "--vars",
        "{merge_mode: majority}",
        check=False,
    )
    assert not result.ok
    assert "merge_mode must be 'argmax' or 'sample'" in result.output


def test_macro_selftests_pass(project: DbtProject) -> None:
    """The singular tests tagged `macro_selftest` (tests/dbt), which a plain `dbt build` skips."""
    result = project.run("test", "--select", "tag:macro_selftest")
    passed = "1 of 1 PASS merge_weighted_pick_sample_is_proportional"
    assert passed in result.output, result.output[-3000:]


def test_plain_build_skips_macro_selftests(demo_build: DbtProject) -> None:
    results = json.loads((demo_build.work.parent / "build_results.json").read_text())
    ran = {result["unique_id"] for result in results["results"]}
    assert any(node.startswith("test.dataproc.merge_source_trust_is_complete") for node in ran)
    assert not any("merge_weighted_pick_sample_is_proportional" in node for node in ran)
