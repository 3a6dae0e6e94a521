"""Two publishers racing on one dataset, on a local lake and on S3 (moto), round after round.

Each round starts two threads at a barrier, each publishing rows of its own (different prompts,
so neither is `unchanged`). After every round: each racer committed a version, every complete
version holds every file its manifest lists with that sha256 and nothing else, and `latest`
names the newest complete version. At the end every version is checked again.
"""

from __future__ import annotations

import json
import threading
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dataproc.export import ExportResult, ExportSettings, complete_versions, publish, read_latest
from dataproc.export.versions import CLAIM_NAME, MANIFEST_NAME, version_prefix
from dataproc.lake import Lake
from test_export_lakes import write_export_lake

ROUNDS = 20
RACERS = 2
DATASET = "race"
SETTINGS = ExportSettings(dataset=DATASET, shard_size=4, rows_per_part=4)


def race(lake: Lake, rows: pa.Table, round_number: int) -> list[ExportResult]:
    """One round: every racer publishes its own rows at the same moment."""
    barrier = threading.Barrier(RACERS)
    results: list[ExportResult | BaseException] = [None] * RACERS  # type: ignore[list-item]

    def run(racer: int) -> None:
        prompts = pc.binary_join_element_wise(rows["prompt"], f"round {round_number}/{racer}", " ")
        mine = rows.set_column(rows.schema.get_field_index("prompt"), "prompt", prompts)
        barrier.wait()
        try:
            results[racer] = publish(mine, lake, SETTINGS, invocation_id=None, git_commit=None)
        except BaseException as error:  # reported by the test thread
            results[racer] = error

    threads = [threading.Thread(target=run, args=(racer,)) for racer in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def check_versions(lake: Lake, rows: int, numbers: list[int]) -> None:
    """Versions `numbers` are whole: every file their manifest lists, with that sha256, and
    nothing else."""
    for number in numbers:
        prefix = version_prefix(DATASET, number)
        manifest = json.loads(lake.get(f"{prefix}/{MANIFEST_NAME}"))
        assert manifest["rows"] == rows
        for entry in manifest["files"]:
            assert lake.digest(f"{prefix}/{entry['path']}") == entry["sha256"], entry
        listed = sorted(obj.path for obj in lake.list(prefix))
        named = [f"{prefix}/{entry['path']}" for entry in manifest["files"]]
        assert listed == sorted([*named, f"{prefix}/{MANIFEST_NAME}", f"{prefix}/{CLAIM_NAME}"])


def run_rounds(lake: Lake) -> None:
    rows = write_export_lake(lake).rows.slice(0, 4)  # one parquet part and one shard
    for round_number in range(ROUNDS):
        results = race(lake, rows, round_number)
        assert all(result.status == "published" for result in results)
        numbers = sorted(int(result.version[1:]) for result in results)
        assert numbers == [RACERS * round_number + racer + 1 for racer in range(RACERS)]
        check_versions(lake, rows.num_rows, numbers)
        assert read_latest(lake, DATASET) == f"v{numbers[-1]:04d}"
    # At the end, every version again: a later round must not have harmed an earlier one.
    every = list(range(1, RACERS * ROUNDS + 1))
    assert complete_versions(lake, DATASET) == every
    check_versions(lake, rows.num_rows, every)


def test_racing_publishers_on_a_local_lake(tmp_path):
    run_rounds(Lake(str(tmp_path / "lake")))


@pytest.mark.usefixtures("s3_endpoint")
def test_racing_publishers_on_s3(s3_endpoint):
    run_rounds(Lake(f"s3://{s3_endpoint.bucket}/race-{uuid.uuid4().hex[:8]}", s3_endpoint.env))
