"""Any DuckDB file name builds: dbt names the database `dataproc`, whatever the file is called.

DuckDB names a file's catalog after its stem, except for the names it reserves (`main`,
`system`, `temp`), which get a `_db` suffix; dbt-duckdb assumes the stem. The profile attaches
the file under one fixed name instead, so the two can never disagree.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
from conftest import make_dbt_project


def test_a_database_file_named_main_builds(tmp_path: Path) -> None:
    from dataproc.demo import generate_lake

    lake = tmp_path / "lake"
    generate_lake(str(lake), posts=5, seed=3, images=False)
    database = tmp_path / "main.duckdb"
    project = make_dbt_project(tmp_path / "dbt", lake, DATAPROC_DUCKDB=str(database))
    project = dataclasses.replace(project, database=database)

    project.run("build", "--select", "+stg_danbooru__posts", "--resource-type", "seed", "model")

    with duckdb.connect(str(database), read_only=True) as con:
        (catalog,) = con.sql("select current_database()").fetchone()
    assert catalog == "main_db"  # DuckDB's own name for it: the reason a fixed alias is needed
    assert project.query("select count(*) from staging.stg_danbooru__posts") == [(5,)]
