"""Publish the training dataset as a new immutable version in the lake (see dataproc.export).

A thin adapter: reads `export_rows` (one row per image), publishes it with the settings passed
through `meta.settings` (_exports__models.yml) and returns one row saying what happened: a new
version published, or the content unchanged from the newest one. Versions are never changed.
The manifest also records the identity_calibration row (the embedding threshold identity used).
"""

from dataproc.config import read_settings
from dataproc.export import ExportSettings, dbt_invocation_id, git_commit, publish
from dataproc.lake import Lake


def model(dbt, session):
    dbt.config(materialized="table")
    settings = read_settings(ExportSettings, dbt.config.get("meta"))
    calibration = dbt.ref("identity_calibration").to_arrow_table().to_pylist()[0]
    result = publish(
        dbt.ref("export_rows").arrow(),
        Lake(),
        settings,
        invocation_id=dbt_invocation_id(),
        git_commit=git_commit(),
        identity_calibration=calibration,
    )
    return result.to_arrow()
