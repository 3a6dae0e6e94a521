"""The plugin's `dataproc_release_python_memory()`: freed Arrow memory leaves the process.

The `release_python_memory` post-hook calls it after every Python model, so the memory a model
freed does not stay resident under the nodes after it.
"""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from conftest import DbtProject
from dataproc.duckdb_plugin import Plugin

MIB = 2**20
# dbt.log names the node of every statement it runs, threads interleaved.
NODE_STARTED = re.compile(r"Began running node model\.dataproc\.(\w+)")
RELEASED = re.compile(
    r"On model\.dataproc\.(\w+): /\*[^\n]*\*/\s*select dataproc_release_python_memory\(\)"
)


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_freed_arrow_memory_goes_back_to_the_os() -> None:
    """As in a build: a model thread allocates and frees, and the release runs on DuckDB's."""
    con = duckdb.connect()
    Plugin("dataproc", {"s3": False}).configure_connection(con)
    pool = pa.default_memory_pool()
    # Not mimalloc: its memory can be released only by the thread that allocated it.
    assert pool.backend_name in {"jemalloc", "system"}
    numbers = pa.array(np.arange(64 * MIB, dtype=np.int64))  # numpy's memory, not the pool's
    model_results: list[pa.Array] = []

    def run_model() -> tuple[int, int]:
        # Many mid-sized results, as a model's intermediate steps make.
        model_results.extend(pc.add(numbers.slice(i * MIB, MIB), 1) for i in range(64))
        return pool.bytes_allocated(), resident_bytes()

    # One model thread that stays alive: a thread's exit would free its heap by itself.
    with ThreadPoolExecutor(max_workers=1) as model_thread:
        held, resident_held = model_thread.submit(run_model).result()
        assert held >= 512 * MIB
        model_thread.submit(model_results.clear).result()
        (still_allocated,) = con.sql("select dataproc_release_python_memory()").fetchone()
        resident_after = resident_bytes()
    assert still_allocated == pool.bytes_allocated() < held
    assert resident_held - resident_after >= 256 * MIB, (resident_held / MIB, resident_after / MIB)


def test_every_python_model_releases_after_it_runs(demo_build: DbtProject) -> None:
    """In the demo's cold build, the release runs inside each Python model's run that the build
    has, whatever its materialization (`table` or `memoized_table`), and in no SQL model's."""
    manifest = json.loads((demo_build.work / "target" / "manifest.json").read_text())
    languages = {
        node["name"]: node["language"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    log = (demo_build.work / "logs" / "dbt.log").read_text()
    ran, released = set(NODE_STARTED.findall(log)), set(RELEASED.findall(log))
    python_models = {name for name, language in languages.items() if language == "python"}
    # Both materializations that run Python models are in the build.
    assert {"int_identity_assignment", "int_image_embeddings"} <= python_models & ran
    assert released == python_models & ran
