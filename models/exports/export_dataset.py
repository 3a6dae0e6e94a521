"""Publish the training dataset as a new immutable version in the lake (see dataproc.export).

A thin adapter: reads `export_rows` (one row per image), publishes it with the settings passed
through `meta` (_exports__models.yml) and returns one row naming the committed version. Every
run of this model publishes a new version; earlier versions are never changed.
"""

from dataproc.export import (
    ExportSettings,
    config_snapshot,
    dbt_invocation_id,
    git_commit,
    publish,
)
from dataproc.lake import lake_root


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta") or {}
    settings = ExportSettings.from_meta(meta)
    rows = dbt.ref("export_rows").arrow()
    result = publish(
        rows,
        lake=lake_root(),
        dataset=settings.dataset,
        config_snapshot=config_snapshot(meta),
        invocation_id=dbt_invocation_id(),
        git_commit=git_commit(),
        shards=settings.shards,
        shard_size=settings.shard_size,
        rows_per_part=settings.rows_per_part,
    )
    return result.to_arrow()
