"""The plugin's `dataproc_release_python_memory()`: freed Arrow memory leaves the process.

`memoized_table` calls it after every Python model, so the memory a model freed does not stay
resident under the nodes after it.
"""

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dataproc.duckdb_plugin import Plugin

MIB = 2**20


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_freed_arrow_memory_goes_back_to_the_os() -> None:
    con = duckdb.connect()
    Plugin("dataproc", {"s3": False}).configure_connection(con)
    pool = pa.default_memory_pool()
    numbers = pa.array(np.arange(64 * MIB, dtype=np.int64))  # numpy's memory, not the pool's
    # Many mid-sized results, as a model's intermediate steps make: the pool keeps them mapped.
    results = [pc.add(numbers.slice(i * MIB, MIB), 1) for i in range(64)]
    held = pool.bytes_allocated()
    assert held >= 512 * MIB
    del results
    before = resident_bytes()
    (still_allocated,) = con.sql("select dataproc_release_python_memory()").fetchone()
    after = resident_bytes()
    assert still_allocated == pool.bytes_allocated() < held
    assert before - after >= 256 * MIB, (before / MIB, after / MIB)
