"""Publish the training dataset as a new immutable version in the lake (see dataproc.export).

A thin adapter: reads `export_rows` (one row per image), publishes it with the settings passed
through `meta.settings` (_exports__models.yml) and returns one row saying what happened: a new
version published, or the content unchanged from the newest one. Versions are never changed.
The manifest also records the identity_calibration row (the embedding threshold identity used).
Each new version gets its report (`report.html`, `stats.json`, see dataproc.report), read from
the funnel, the rejections, the images mart and the image files.
"""

from dataproc.config import read_settings
from dataproc.export import ExportSettings, dbt_invocation_id, git_commit, publish
from dataproc.lake import Lake
from dataproc.report import ReportTables, render_report


def model(dbt, session):
    dbt.config(materialized="table")
    settings = read_settings(ExportSettings, dbt.config.get("meta"))
    rows = dbt.ref("export_rows")
    calibration = dbt.ref("identity_calibration")
    # Read before the rows: a second query on the session ends a stream that is still open.
    calibration_row = calibration.to_arrow_table().to_pylist()[0]
    lake = Lake()
    tables = ReportTables(
        export_rows=rows,
        funnel=dbt.ref("funnel"),
        rejections=dbt.ref("rejections"),
        images=dbt.ref("images"),
        image_files=dbt.ref("int_image_files"),
        identity_calibration=calibration,
    )
    result = publish(
        rows.arrow(),
        lake,
        settings,
        invocation_id=dbt_invocation_id(),
        git_commit=git_commit(),
        identity_calibration=calibration_row,
        report=lambda version: render_report(tables, lake, settings.dataset, version),
    )
    return result.to_arrow()
