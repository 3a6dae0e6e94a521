"""dbt-duckdb plugin: load httpfs from its wheel, for the s3 target create the S3 secret, and
give SQL a way to hand the Python models' freed Arrow memory back to the OS (from an Arrow pool
that lets any thread do so)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from dataproc.lake import S3Settings, httpfs_extension_path


def use_releasable_arrow_pool() -> None:
    """Make Arrow allocate from a pool whose freed memory any thread can hand back to the OS.

    Arrow's default pool (mimalloc) keeps freed memory in the heap of the thread that allocated
    it, and only that thread can release it. A Python model allocates on dbt's model thread and
    Arrow's own threads, while `dataproc_release_python_memory()` runs on one of DuckDB's, so
    with mimalloc the release frees nothing. jemalloc purges every arena from any thread; the
    system allocator, where a wheel has no jemalloc, returns large blocks on free.
    """
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except pa.ArrowNotImplementedError:  # a pyarrow build without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())


def release_python_memory() -> int:
    """Return the Arrow pool's freed memory to the OS, and the bytes it still has allocated.

    The pool keeps freed memory mapped for its next allocation. In dbt's process none may come
    for the rest of the build, so after a large Python model (identity) about 1 GiB would stay
    resident under every later node (bench/RESULTS.md, merge).
    """
    pool = pa.default_memory_pool()
    pool.release_unused()
    return pool.bytes_allocated()


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.s3 = bool(plugin_config.get("s3", False))
        use_releasable_arrow_pool()

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        path = str(httpfs_extension_path())
        conn.install_extension(path)
        conn.load_extension("httpfs")
        conn.create_function(
            "dataproc_release_python_memory",
            release_python_memory,
            [],
            "BIGINT",
            side_effects=True,
        )
        if self.s3:
            conn.execute(S3Settings.from_env().duckdb_secret_sql())
