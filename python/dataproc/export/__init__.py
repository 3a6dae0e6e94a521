"""Export: publish the training dataset as immutable, self-describing versions in the lake.

In: the export rows (one per image: image_id, prompt, metadata, and where the image's bytes are
in the lake, NULL for an image without a file), the lake, and `ExportSettings` (from the
model's `meta.settings`). Out: `exports/<dataset>/v<NNNN>/` with metadata parquet parts,
optional WebDataset shards (of the rows that have an image) and `manifest.json` (written last,
the commit point), `exports/<dataset>/latest` naming the newest complete version, and an
`ExportResult` saying what happened.

Steps: check and sort the rows (`rows`); refuse an empty dataset; delete the folders of runs
abandoned before their commit; claim the next version folder (`versions`); write the metadata
parquet parts and, if asked, the WebDataset shards (`shards`) create-only; if the data files
equal those of the newest complete version, delete them and publish nothing; else write the
manifest (`manifest`) and move `latest` forward by compare-and-swap. A failure before the
manifest deletes what this run wrote and leaves `latest` alone. Any number of publishers may
run at once (see `versions` for the protocol).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

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
    VersionWriter,
    claim_version,
    clean_abandoned,
    complete_versions,
    data_digests,
    is_dataset_name,
    manifest_path,
    metadata_file,
    move_latest,
    parse_version,
    read_latest,
    read_manifest,
    shard_file,
)
from dataproc.lake import Lake, parquet_bytes
from dataproc.progress import progress

__all__ = [
    "DEFAULT_IMAGE_COLUMNS",
    "IMAGE_EXTENSIONS",
    "EmptyExportError",
    "ExportError",
    "ExportResult",
    "ExportSettings",
    "ImageFetchError",
    "InvalidRowsError",
    "VersionExistsError",
    "complete_versions",
    "dbt_invocation_id",
    "git_commit",
    "publish",
    "read_latest",
]


class EmptyExportError(ExportError):
    """There are no rows to publish: an empty dataset is never published."""


@dataclass(frozen=True)
class ExportSettings:
    """What to publish: the dataset name, whether to write shards, file sizes in rows, and
    after how many hours an uncommitted version folder counts as abandoned.

    `pipeline_vars` are the vars that shaped the rows; the manifest records them with the rest
    of these settings as its config snapshot.
    """

    dataset: str = field(metadata={"var": "export_dataset"})
    shards: bool = field(default=True, metadata={"var": "export_shards"})
    shard_size: int = field(default=1000, metadata={"var": "export_shard_size"})
    rows_per_part: int = field(
        default=DEFAULT_ROWS_PER_PART, metadata={"var": "export_rows_per_part"}
    )
    abandoned_after_hours: float = field(
        default=24.0, metadata={"var": "export_abandoned_after_hours"}
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
        require(
            isinstance(self.abandoned_after_hours, int | float) and self.abandoned_after_hours > 0,
            "export_abandoned_after_hours",
            "a positive number of hours",
            self.abandoned_after_hours,
        )

    def snapshot(self) -> dict[str, Any]:
        """The settings as the manifest's `config` records them."""
        return json_value(dataclasses.asdict(self))


@dataclass(frozen=True)
class ExportResult:
    """What a publish did: `published` a new version, or found its content `unchanged` from
    the newest complete version (then `version` names that one); and notes on what it repaired
    or cleaned up on the way."""

    lake: str
    dataset: str
    status: str
    version: str
    parent_version: str | None
    rows: int
    files: int
    manifest_path: str
    manifest: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def manifest_location(self) -> str:
        """The manifest's full location: lake root joined with its lake-relative path."""
        return f"{self.lake.rstrip('/')}/{self.manifest_path}"

    def to_arrow(self) -> pa.Table:
        """One row: dataset, status, version, parent_version, rows, files, manifest_path
        (full) and notes (joined by "; ", NULL when none)."""
        return pa.table(
            {
                "dataset": pa.array([self.dataset], pa.string()),
                "status": pa.array([self.status], pa.string()),
                "version": pa.array([self.version], pa.string()),
                "parent_version": pa.array([self.parent_version], pa.string()),
                "rows": pa.array([self.rows], pa.int64()),
                "files": pa.array([self.files], pa.int64()),
                "manifest_path": pa.array([self.manifest_location], pa.string()),
                "notes": pa.array(["; ".join(self.notes) or None], pa.string()),
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
    identity_calibration: dict[str, Any] | None = None,
    report: Callable[[str], Mapping[str, bytes]] | None = None,
) -> ExportResult:
    """Publish `rows` (one per image) as the next version of `settings.dataset` in `lake`.

    With `settings.shards`, WebDataset shards of `settings.shard_size` images are added, whose
    bytes are copied from the lake location in `image_columns` (uri, offset, length, ext);
    rows without a uri are in the metadata only. `invocation_id` and `git_commit` are recorded
    in the manifest as given, and so is `identity_calibration` (the threshold identity applied,
    with its figures). `report`, given the version name, returns the files of the version's
    report (`dataproc.report`): they are written before the manifest and listed in it, but are
    not data, so they never make a version differ from its parent. Raises `EmptyExportError`
    for no rows.
    """
    columns = ImageColumns.from_names(image_columns)
    table = prepare_rows(rows, columns, with_images=settings.shards)
    dataset = settings.dataset
    if table.num_rows == 0:
        raise EmptyExportError(
            f"no rows to export for dataset {dataset!r}: an empty dataset is never published "
            "(check the funnel and rejections for where the rows went)"
        )
    abandoned_after = dt.timedelta(hours=settings.abandoned_after_hours)
    notes = clean_abandoned(lake, dataset, abandoned_after)
    run_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex}"
    writer = claim_version(lake, dataset, {"run_id": run_id, "dbt_invocation_id": invocation_id})
    facts = ManifestFacts(
        dataset=dataset,
        version=writer.name,
        parent_version=writer.parent_name,
        run_id=run_id,
        dbt_invocation_id=invocation_id,
        git_commit=git_commit,
        rows_per_part=settings.rows_per_part,
        shards=settings.shards,
        shard_size=settings.shard_size,
        image_columns=columns.as_dict(),
        config=settings.snapshot(),
        identity_calibration=identity_calibration,
    )
    try:
        write_files(writer, table, facts, columns)
        parent = None if writer.parent is None else read_manifest(lake, dataset, writer.parent)
        if parent is not None and data_digests(parent) == sorted(
            (entry.path, entry.sha256) for entry in writer.entries
        ):
            writer.discard()
            notes += move_latest(lake, dataset, writer.parent)
            return _result(lake, "unchanged", parent, notes)
        for path, data in sorted((report(writer.name) if report else {}).items()):
            writer.put(path, "report", 0, data)
        created_at = dt.datetime.now(dt.UTC)
        manifest = build_manifest(facts, writer.entries, table.schema, table.num_rows, created_at)
        writer.commit(manifest_bytes(manifest))
    except BaseException as error:
        try:
            writer.discard()
        except Exception as cleanup_error:
            error.add_note(f"removing the files of {writer.prefix} failed: {cleanup_error}")
        raise
    notes += move_latest(lake, dataset, writer.number)
    return _result(lake, "published", manifest, notes)


def write_files(
    writer: VersionWriter, table: pa.Table, facts: ManifestFacts, columns: ImageColumns
) -> None:
    """Write the metadata parquet parts and, if asked, the shards of the rows with an image."""
    for index, part in enumerate(split_rows(table, facts.rows_per_part)):
        writer.put(metadata_file(index), "metadata", part.num_rows, parquet_bytes(part))
    if facts.shards:
        with_images = table.filter(pc.is_valid(table[columns.uri]))
        shards = split_shards(with_images, facts.shard_size)
        count = -(-with_images.num_rows // facts.shard_size)
        for index, rows in enumerate(progress(shards, count, "export shards", "shard")):
            data = build_shard(writer.lake, rows, columns)
            writer.put(shard_file(index), "shard", rows.num_rows, data)


def _result(lake: Lake, status: str, manifest: dict[str, Any], notes: list[str]) -> ExportResult:
    dataset, version = manifest["dataset"], manifest["version"]
    return ExportResult(
        lake=lake.root,
        dataset=dataset,
        status=status,
        version=version,
        parent_version=manifest["parent_version"],
        rows=manifest["rows"],
        files=len(manifest["files"]),
        manifest_path=manifest_path(dataset, parse_version(version) or 0),
        manifest=manifest,
        notes=tuple(notes),
    )
