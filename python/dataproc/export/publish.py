"""Publish export rows as a new immutable version of a dataset in the lake.

Steps: check and sort the rows; plan the next version (highest complete + 1) and clear the
leftovers of a crashed publish of that number; write the metadata parquet parts and, if asked,
the WebDataset shards (create-only puts); write `manifest.json` (the commit point); then point
`latest` at the new version. A failure before the manifest deletes what was written and leaves
`latest` alone; nothing was published.

Concurrency is best-effort: run one publisher per dataset at a time. Create-only puts make two
racing publishers of the same number collide (one fails with `VersionExistsError`) instead of
overwriting each other, and a publisher never clears a folder that has a manifest; but a
publisher that starts while another is mid-write takes the other's files for leftovers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dataproc.export.jsonrow import json_value
from dataproc.export.layout import check_dataset_name, manifest_path, metadata_file, shard_file
from dataproc.export.manifest import ManifestFacts, build_manifest, manifest_bytes
from dataproc.export.metadata import DEFAULT_ROWS_PER_PART, parquet_bytes, split_rows
from dataproc.export.rows import DEFAULT_IMAGE_COLUMNS, ImageColumns, prepare_rows
from dataproc.export.shards import build_shard, split_shards
from dataproc.export.versions import VersionPlan, clear_leftovers, plan_version, write_latest
from dataproc.export.writer import VersionWriter
from dataproc.lake import open_store


@dataclass(frozen=True)
class ExportResult:
    """What a publish committed: where, which version, and its manifest."""

    lake: str
    dataset: str
    version: str
    parent_version: str | None
    rows: int
    files: int
    manifest_path: str
    manifest: dict[str, Any]

    @property
    def manifest_location(self) -> str:
        """The manifest's full location: lake root joined with its lake-relative path."""
        return f"{self.lake.rstrip('/')}/{self.manifest_path}"

    def to_arrow(self) -> pa.Table:
        """One row: dataset, version, parent_version, rows, files, manifest_path (full)."""
        return pa.table(
            {
                "dataset": pa.array([self.dataset], pa.string()),
                "version": pa.array([self.version], pa.string()),
                "parent_version": pa.array([self.parent_version], pa.string()),
                "rows": pa.array([self.rows], pa.int64()),
                "files": pa.array([self.files], pa.int64()),
                "manifest_path": pa.array([self.manifest_location], pa.string()),
            }
        )


def write_version(
    store: Any,
    plan: VersionPlan,
    table: pa.Table,
    facts: ManifestFacts,
    columns: ImageColumns,
) -> dict[str, Any]:
    """Write the planned version's files and commit its manifest; returns the manifest.

    Refuses a folder that holds any object. On any failure before the commit, the files written
    so far are deleted and the error is raised again.
    """
    writer = VersionWriter(store, plan.prefix)
    writer.ensure_empty()
    try:
        for index, part in enumerate(split_rows(table, facts.rows_per_part)):
            writer.put(metadata_file(index), "metadata", part.num_rows, parquet_bytes(part))
        if facts.shards:
            for index, rows in enumerate(split_shards(table, facts.shard_size)):
                data = build_shard(store, rows, columns)
                writer.put(shard_file(index), "shard", rows.num_rows, data)
        created_at = dt.datetime.now(dt.UTC)
        manifest = build_manifest(facts, writer.entries, table.schema, table.num_rows, created_at)
        writer.commit(manifest_bytes(manifest))
    except BaseException as error:
        try:
            writer.discard()
        except Exception as cleanup_error:
            error.add_note(f"removing the partial files of {plan.prefix} failed: {cleanup_error}")
        raise
    return manifest


def publish(
    rows: pa.Table | pa.RecordBatchReader,
    *,
    lake: str,
    dataset: str,
    config_snapshot: Mapping[str, Any],
    invocation_id: str | None,
    git_commit: str | None,
    shards: bool,
    shard_size: int,
    image_columns: Sequence[str] = DEFAULT_IMAGE_COLUMNS,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
    env: Mapping[str, str] | None = None,
) -> ExportResult:
    """Publish `rows` (one per image) as the next version of `dataset` in the lake `lake`.

    `lake` is a directory or `s3://bucket/prefix` (credentials from `env`, default the process
    environment). `shards` adds WebDataset shards of `shard_size` images, whose bytes are copied
    from the lake location in `image_columns` (uri, offset, length, ext). `config_snapshot`,
    `invocation_id` and `git_commit` are recorded in the manifest as given.
    """
    check_dataset_name(dataset)
    if shards and shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    columns = ImageColumns.from_names(image_columns)
    table = prepare_rows(rows, columns, with_images=shards)
    store = open_store(lake, env)
    plan = plan_version(store, dataset)
    facts = ManifestFacts(
        dataset=dataset,
        version=plan.name,
        parent_version=plan.parent_name,
        dbt_invocation_id=invocation_id,
        git_commit=git_commit,
        rows_per_part=rows_per_part,
        shards=shards,
        shard_size=shard_size,
        image_columns=columns.as_dict(),
        config=json_value(dict(config_snapshot)),
    )
    clear_leftovers(store, plan)
    manifest = write_version(store, plan, table, facts, columns)
    write_latest(store, dataset, plan.number)
    return ExportResult(
        lake=lake,
        dataset=dataset,
        version=plan.name,
        parent_version=plan.parent_name,
        rows=table.num_rows,
        files=len(manifest["files"]),
        manifest_path=manifest_path(dataset, plan.number),
        manifest=manifest,
    )
