"""The manifest of a published version: what it holds, how it was made, and its parent.

In: the facts of the run (dataset, version, parent, dbt invocation, git commit, layout,
settings), the entries of the files written and the metadata schema. Out: `manifest.json`,
written last as the commit point. Fields:

    format, format_version    "dataproc-export", 1
    dataset, version          dataset name and `v<NNNN>`
    parent_version            the previous complete version, or null for the first
    created_at                UTC time of the commit (ISO-8601)
    run_id                    the publishing run's unique id (also in the folder's `run.json`)
    dbt_invocation_id         the dbt run that published it, or null outside dbt
    git_commit                the project commit, or null when unknown
    rows                      number of images (metadata rows)
    counts                    {rows, images, metadata_files, shard_files, kohya_images}
    layout                    {rows_per_part, layouts, shard_size, image_format, image_columns}
    files                     [{path, kind, rows, bytes, sha256}], paths relative to the version
    schema                    [{name, type, nullable}] of the metadata parquet
    config                    the export settings, the pipeline vars among them
    identity_calibration      the embedding threshold identity applied and its estimated
                              precision and recall (the `identity_calibration` row), or null

Only `created_at`, `run_id` and `dbt_invocation_id` differ between two publishes of the same inputs.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataproc.lake import canonical_json, sha256

FORMAT = "dataproc-export"
FORMAT_VERSION = 1


def dbt_invocation_id() -> str | None:
    """The id of the dbt invocation running now, or None when dbt is not importable.

    dbt-duckdb runs Python models inside dbt's own process, where dbt keeps the id in
    `dbt_common.invocation` (the same id as in `run_results.json`). dbt's Python model context
    offers no `invocation_id`, and rendering it into YAML config would go stale under partial
    parsing. Call this from inside a dbt run only: elsewhere the module holds an unrelated id.
    """
    try:
        from dbt_common.invocation import get_invocation_id
    except ImportError:
        return None
    return get_invocation_id()


def git_commit(directory: str | Path | None = None) -> str | None:
    """`git rev-parse HEAD` in `directory` (default: the working directory), or None when git
    or a repository is not available."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and commit else None


@dataclass(frozen=True)
class FileEntry:
    """One data file of a version: its version-relative path, kind, rows, size and sha256."""

    path: str
    kind: str
    rows: int
    bytes: int
    sha256: str

    @classmethod
    def of(cls, path: str, kind: str, rows: int, data: bytes) -> FileEntry:
        return cls(path, kind, rows, len(data), sha256(data))


@dataclass(frozen=True)
class ManifestFacts:
    """Everything a manifest records besides its files and schema."""

    dataset: str
    version: str
    parent_version: str | None
    run_id: str
    dbt_invocation_id: str | None
    git_commit: str | None
    rows_per_part: int
    layouts: tuple[str, ...]
    shard_size: int
    image_format: str
    image_columns: dict[str, str]
    config: dict[str, Any]
    identity_calibration: dict[str, Any] | None = None


def build_manifest(
    facts: ManifestFacts,
    files: list[FileEntry],
    schema: pa.Schema,
    rows: int,
    created_at: dt.datetime,
) -> dict[str, Any]:
    """The manifest as a dict, with files sorted by path."""
    metadata = [entry for entry in files if entry.kind == "metadata"]
    shard_files = [entry for entry in files if entry.kind == "shard"]
    kohya_images = sum(entry.kind == "kohya_image" for entry in files)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dataset": facts.dataset,
        "version": facts.version,
        "parent_version": facts.parent_version,
        "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "run_id": facts.run_id,
        "dbt_invocation_id": facts.dbt_invocation_id,
        "git_commit": facts.git_commit,
        "rows": rows,
        "counts": {
            "rows": rows,
            # Images stored in the layouts (each layout holds every image that has a file).
            "images": max(sum(entry.rows for entry in shard_files), kohya_images),
            "metadata_files": len(metadata),
            "shard_files": len(shard_files),
            "kohya_images": kohya_images,
        },
        "layout": {
            "rows_per_part": facts.rows_per_part,
            "layouts": list(facts.layouts),
            "shard_size": facts.shard_size if facts.layouts else None,
            "image_format": facts.image_format if facts.layouts else None,
            "image_columns": facts.image_columns,
        },
        "files": [asdict(entry) for entry in sorted(files, key=lambda entry: entry.path)],
        "schema": schema_fields(schema),
        "config": facts.config,
        "identity_calibration": facts.identity_calibration,
    }


def schema_fields(schema: pa.Schema) -> list[dict[str, Any]]:
    """The schema as `[{name, type, nullable}]`, types in Arrow's own notation."""
    return [
        {"name": field.name, "type": str(field.type), "nullable": field.nullable}
        for field in schema
    ]


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as indented canonical JSON (readable, and stable for equal content)."""
    return canonical_json(manifest)
