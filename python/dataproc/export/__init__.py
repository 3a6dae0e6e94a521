"""Export: publish the training dataset as immutable, self-describing versions in the lake.

In: the export rows (one per image: image_id, prompt, metadata, and where the image's bytes are
in the lake), the lake, and `ExportSettings` (from the model's `meta.settings`). Out:
`exports/<dataset>/v<NNNN>/` with metadata parquet parts, optional WebDataset shards and
`manifest.json` (written last, the commit point), `exports/<dataset>/latest` naming it, and an
`ExportResult` saying what was committed.

Steps: check and sort the rows (`rows`); plan the next version (highest complete + 1) and clear
the leftovers of a crashed publish of that number (`versions`); write the metadata parquet parts
and, if asked, the WebDataset shards (`shards`) create-only; write the manifest (`manifest`);
then point `latest` at the new version. A failure before the manifest deletes what was written
and leaves `latest` alone; nothing was published.

Concurrency is best-effort: run one publisher per dataset at a time. Create-only puts make two
racing publishers of the same number collide (one fails with `VersionExistsError`) instead of
overwriting each other, and a publisher never clears a folder that has a manifest; but a
publisher that starts while another is mid-write takes the other's files for leftovers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dataproc.config import require
from dataproc.export.manifest import (
    ManifestFacts,
    build_manifest,
    dbt_invocation_id,
    git_commit,
    manifest_bytes,
)
from dataproc.export.rows import (
    DEFAULT_IMAGE_COLUMNS,
    DEFAULT_ROWS_PER_PART,
    IMAGE_EXTENSIONS,
    ExportError,
    ImageColumns,
    InvalidRowsError,
    json_value,
    prepare_rows,
    split_rows,
)
from dataproc.export.shards import ImageFetchError, build_shard, split_shards
from dataproc.export.versions import (
    VersionExistsError,
    VersionPlan,
    VersionWriter,
    clear_leftovers,
    complete_versions,
    is_dataset_name,
    manifest_path,
    metadata_file,
    plan_version,
    read_latest,
    shard_file,
    write_latest,
)
from dataproc.lake import Lake, parquet_bytes

__all__ = [
    "DEFAULT_IMAGE_COLUMNS",
    "IMAGE_EXTENSIONS",
    "ExportError",
    "ExportResult",
    "ExportSettings",
    "ImageFetchError",
    "InvalidRowsError",
    "VersionExistsError",
    "complete_versions",
    "dbt_invocation_id",
    "git_commit",
    "plan_version",
    "publish",
    "read_latest",
    "write_version",
]


@dataclass(frozen=True)
class ExportSettings:
    """What to publish: the dataset name, whether to write shards, and file sizes in rows.

    `pipeline_vars` are the vars that shaped the rows; the manifest records them with the rest
    of these settings as its config snapshot.
    """

    dataset: str = field(metadata={"var": "export_dataset"})
    shards: bool = field(default=True, metadata={"var": "export_shards"})
    shard_size: int = field(default=1000, metadata={"var": "export_shard_size"})
    rows_per_part: int = field(
        default=DEFAULT_ROWS_PER_PART, metadata={"var": "export_rows_per_part"}
    )
    pipeline_vars: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(
            is_dataset_name(self.dataset),
            "export_dataset",
            "made of lowercase letters, digits, '_', '.' or '-', starting with a letter or digit",
            self.dataset,
        )
        require(self.shard_size >= 1, "export_shard_size", "a positive integer", self.shard_size)
        require(
            self.rows_per_part >= 1,
            "export_rows_per_part",
            "a positive integer",
            self.rows_per_part,
        )

    def snapshot(self) -> dict[str, Any]:
        """The settings as the manifest's `config` records them."""
        return json_value(dataclasses.asdict(self))


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


def publish(
    rows: pa.Table | pa.RecordBatchReader,
    lake: Lake,
    settings: ExportSettings,
    *,
    invocation_id: str | None,
    git_commit: str | None,
    image_columns: Sequence[str] = DEFAULT_IMAGE_COLUMNS,
) -> ExportResult:
    """Publish `rows` (one per image) as the next version of `settings.dataset` in `lake`.

    With `settings.shards`, WebDataset shards of `settings.shard_size` images are added, whose
    bytes are copied from the lake location in `image_columns` (uri, offset, length, ext).
    `invocation_id` and `git_commit` are recorded in the manifest as given.
    """
    columns = ImageColumns.from_names(image_columns)
    table = prepare_rows(rows, columns, with_images=settings.shards)
    plan = plan_version(lake, settings.dataset)
    facts = ManifestFacts(
        dataset=settings.dataset,
        version=plan.name,
        parent_version=plan.parent_name,
        dbt_invocation_id=invocation_id,
        git_commit=git_commit,
        rows_per_part=settings.rows_per_part,
        shards=settings.shards,
        shard_size=settings.shard_size,
        image_columns=columns.as_dict(),
        config=settings.snapshot(),
    )
    clear_leftovers(lake, plan)
    manifest = write_version(lake, plan, table, facts, columns)
    write_latest(lake, settings.dataset, plan.number)
    return ExportResult(
        lake=lake.root,
        dataset=settings.dataset,
        version=plan.name,
        parent_version=plan.parent_name,
        rows=table.num_rows,
        files=len(manifest["files"]),
        manifest_path=manifest_path(settings.dataset, plan.number),
        manifest=manifest,
    )


def write_version(
    lake: Lake,
    plan: VersionPlan,
    table: pa.Table,
    facts: ManifestFacts,
    columns: ImageColumns,
) -> dict[str, Any]:
    """Write the planned version's files and commit its manifest; returns the manifest.

    Refuses a folder that holds any object. On any failure before the commit, the files written
    so far are deleted and the error is raised again.
    """
    writer = VersionWriter(lake, plan.prefix)
    writer.ensure_empty()
    try:
        for index, part in enumerate(split_rows(table, facts.rows_per_part)):
            writer.put(metadata_file(index), "metadata", part.num_rows, parquet_bytes(part))
        if facts.shards:
            for index, rows in enumerate(split_shards(table, facts.shard_size)):
                data = build_shard(lake, rows, columns)
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
