"""dbt-duckdb plugin: load httpfs from its wheel and, for the s3 target, create the S3 secret."""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from dataproc.lake import S3Settings, httpfs_extension_path


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.s3 = bool(plugin_config.get("s3", False))

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        path = str(httpfs_extension_path())
        conn.install_extension(path)
        conn.load_extension("httpfs")
        if self.s3:
            conn.execute(S3Settings.from_env().duckdb_secret_sql())
