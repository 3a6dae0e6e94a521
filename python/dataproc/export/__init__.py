"""Export: publish the training dataset as immutable, self-describing versions in the lake.

In: the export rows (one per image: image_id, prompt, metadata, and where the image's bytes are
in the lake, NULL for an image without a file), the lake, and `ExportSettings` (from the
model's `meta.settings`). Out: `exports/<dataset>/v<NNNN>/` with metadata parquet parts, the
image layouts asked for (WebDataset shards, a kohya folder that is also an HF imagefolder; of
the rows that have an image) and `manifest.json` (written last, the commit point),
`exports/<dataset>/latest` naming the newest complete version, and an `ExportResult` saying
what happened.

Steps: check and sort the rows (`rows`); refuse an empty dataset; delete the folders of runs
abandoned before their commit; claim the next version folder (`versions`); write the metadata
parquet parts and the image layouts (`layouts`) create-only; if the data files
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataproc.config import require
from dataproc.export.layouts import (
    IMAGE_FORMATS,
    KOHYA_METADATA,
    LAYOUTS,
    MAX_WORKERS,
    SHARDS_CARD,
    ImageEncodeError,
    ImageFetchError,
    ImageFormat,
    fetch_images,
    kohya_images,
    shard_members,
    shards_card,
    split_shards,
    stored_images,
    tar_bytes,
)
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
    "ImageEncodeError",
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
    """What to publish: the dataset name, the image layouts and the format their images are
    stored in, file sizes in rows, kohya's repeat count, and after how many hours an
    uncommitted version folder counts as abandoned.

    `pipeline_vars` are the vars that shaped the rows; the manifest records them with the rest
    of these settings as its config snapshot.
    """

    dataset: str = field(metadata={"var": "export_dataset"})
    layouts: tuple[str, ...] = field(default=LAYOUTS, metadata={"var": "export_layouts"})
    image_format: str = field(default="png", metadata={"var": "export_image_format"})
    image_quality: int = field(default=95, metadata={"var": "export_image_quality"})
    shard_size: int = field(default=1000, metadata={"var": "export_shard_size"})
    kohya_repeats: int = field(default=1, metadata={"var": "export_kohya_repeats"})
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
        require(
            all(layout in LAYOUTS for layout in self.layouts)
            and len(set(self.layouts)) == len(self.layouts),
            "export_layouts",
            f"a list of distinct layouts among {list(LAYOUTS)}",
            list(self.layouts),
        )
        require(
            self.image_format in IMAGE_FORMATS,
            "export_image_format",
            f"one of {list(IMAGE_FORMATS)}",
            self.image_format,
        )
        require(
            1 <= self.image_quality <= 100,
            "export_image_quality",
            "an integer from 1 to 100",
            self.image_quality,
        )
        require(
            self.kohya_repeats >= 1,
            "export_kohya_repeats",
            "a positive integer",
            self.kohya_repeats,
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

    @property
    def images(self) -> ImageFormat:
        return ImageFormat(self.image_format, self.image_quality)

    @property
    def kohya_subfolder(self) -> str:
        """kohya's `<repeats>_<name>` folder: sd-scripts repeats its images that many times."""
        return f"{self.kohya_repeats}_{self.dataset}"

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

    The image layouts of `settings.layouts` are added, their images read from the lake
    location in `image_columns` (uri, offset, length, ext) and stored as
    `settings.image_format`; rows without a uri are in the metadata only. `invocation_id` and
    `git_commit` are recorded in the manifest as given, and so is `identity_calibration` (the
    threshold identity applied, with its figures). `report`, given the version name, returns
    the files of the version's report (`dataproc.report`): they are written before the
    manifest and listed in it, but are not data, so they never make a version differ from its
    parent. Raises `EmptyExportError` for no rows.
    """
    columns = ImageColumns.from_names(image_columns)
    table = prepare_rows(rows, columns, with_images=bool(settings.layouts))
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
        layouts=settings.layouts,
        shard_size=settings.shard_size,
        image_format=settings.image_format,
        image_columns=columns.as_dict(),
        config=settings.snapshot(),
        identity_calibration=identity_calibration,
    )
    try:
        write_files(writer, table, settings, columns)
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
    writer: VersionWriter, table: pa.Table, settings: ExportSettings, columns: ImageColumns
) -> None:
    """Write the metadata parquet parts, then the image layouts of the rows with an image,
    slice by slice: each slice's images are fetched once for every layout."""
    for index, part in enumerate(split_rows(table, settings.rows_per_part)):
        writer.put(metadata_file(index), "metadata", part.num_rows, parquet_bytes(part))
    if not settings.layouts:
        return
    with_images = table.filter(pc.is_valid(table[columns.uri]))
    metadata_lines: list[bytes] = []
    slices = split_shards(with_images, settings.shard_size)
    count = -(-with_images.num_rows // settings.shard_size)
    for index, rows in enumerate(progress(slices, count, "export shards", "shard")):
        records = rows.to_pylist()
        images = stored_images(
            records, fetch_images(writer.lake, records, columns), columns, settings.images
        )
        if "webdataset" in settings.layouts:
            members = shard_members(records, images)
            writer.put(shard_file(index), "shard", rows.num_rows, tar_bytes(members))
        if "kohya" in settings.layouts:
            found = list(kohya_images(records, images, settings.kohya_subfolder))
            files = [(image.path, "kohya_image", 1, image.data) for image in found]
            files += [(image.caption_path, "kohya_caption", 1, image.caption) for image in found]
            # Many small objects: latency, not bandwidth, bounds them, so put them side by side.
            with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
                list(pool.map(lambda file: writer.put(*file), files))
            metadata_lines += [image.metadata_line for image in found]
    if (
        "webdataset" in settings.layouts
        and with_images.num_rows
        and settings.images.name != "original"
    ):
        card = shards_card(settings.dataset, table.schema, settings.images)
        writer.put(SHARDS_CARD, "card", with_images.num_rows, card)
    if metadata_lines:
        writer.put(KOHYA_METADATA, "kohya_metadata", len(metadata_lines), b"".join(metadata_lines))


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
