"""Persisted identity state in the lake, under `state/identity/`, read and written through `Lake`.

In: a `Lake`. Out: the last committed `IdentityState` (`load_state`); `save_state` commits a new
one.

Layout (paths relative to the lake root):

    state/identity/manifest.json             the commit point: run number, file paths, sha256s
    state/identity/runs/<run>/assignment.parquet  image_key -> image_id (history included)
    state/identity/runs/<run>/ids.parquet         every image_id ever issued, with its seed
    state/identity/runs/<run>/redirects.parquet   retired image_id -> surviving image_id
    state/identity/runs/<run>/splits.parquet      guard report of the run that wrote the state

A commit writes the run's data files first and `manifest.json` last (`Lake.commit`), each as one
whole-object put. A reader only follows the manifest, so a writer killed before the manifest
leaves the previous state intact; stale run folders are removed after the manifest is in place.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dataproc.identity.graph import SPLITS_SCHEMA
from dataproc.lake import WHOLE_READ_ROW_GROUP_SIZE, Lake, parquet_bytes

STATE_PREFIX = "state/identity"
MANIFEST_PATH = f"{STATE_PREFIX}/manifest.json"
RUNS_PREFIX = f"{STATE_PREFIX}/runs"
# Format 2 keeps the sha256s in the manifest's `sha256` map (path -> digest), as `Lake.commit`
# writes them; format 1 kept each one in its file's entry and is still read.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)

ASSIGNMENT_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("assigned_run", pa.int64(), nullable=False),
    ]
)
IDS_SCHEMA = pa.schema(
    [
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("seed_key", pa.string(), nullable=False),
        pa.field("created_run", pa.int64(), nullable=False),
    ]
)
REDIRECTS_SCHEMA = pa.schema(
    [
        pa.field("retired_id", pa.string(), nullable=False),
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("retired_run", pa.int64(), nullable=False),
    ]
)
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "assignment": ASSIGNMENT_SCHEMA,
    "ids": IDS_SCHEMA,
    "redirects": REDIRECTS_SCHEMA,
    "splits": SPLITS_SCHEMA,
}


@dataclass(frozen=True)
class IdentityState:
    """One committed version of the identity state; `run` 0 means nothing committed yet."""

    run: int
    assignment: pa.Table
    ids: pa.Table
    redirects: pa.Table
    splits: pa.Table

    @classmethod
    def empty(cls) -> IdentityState:
        return cls(0, *(schema.empty_table() for schema in TABLE_SCHEMAS.values()))

    def tables(self) -> dict[str, pa.Table]:
        return {name: getattr(self, name) for name in TABLE_SCHEMAS}

    def same_content(self, other: IdentityState) -> bool:
        """True when every table is equal (the run number aside)."""
        mine, theirs = self.tables(), other.tables()
        return all(mine[name].equals(theirs[name]) for name in TABLE_SCHEMAS)


def load_state(lake: Lake) -> IdentityState:
    """The last committed identity state (empty when there is none)."""
    manifest = lake.get_json(MANIFEST_PATH)
    if manifest is None:
        return IdentityState.empty()
    if manifest.get("format_version") not in READABLE_FORMATS:
        raise ValueError(f"unsupported identity state format {manifest.get('format_version')}")
    # Side by side: fetching, hashing and decoding release the GIL.
    with ThreadPoolExecutor(len(TABLE_SCHEMAS)) as pool:
        tables = dict(
            zip(
                TABLE_SCHEMAS,
                pool.map(lambda name: _read_table(lake, manifest, name), TABLE_SCHEMAS),
                strict=True,
            )
        )
    return IdentityState(run=int(manifest["run"]), **tables)


def _read_table(lake: Lake, manifest: dict[str, Any], name: str) -> pa.Table:
    """One state table named by the manifest, checked against its recorded sha256."""
    entry = manifest["files"][name]
    path = entry["path"]
    digest = entry.get("sha256") or manifest["sha256"][path]
    return lake.read_parquet(path, sha256=digest).cast(TABLE_SCHEMAS[name])


def run_prefix(run: int) -> str:
    return f"{RUNS_PREFIX}/{run:06d}"


def save_state(lake: Lake, state: IdentityState) -> None:
    """Commit `state`: data files, then the manifest, then remove other runs' files."""
    paths = {name: f"{run_prefix(state.run)}/{name}.parquet" for name in TABLE_SCHEMAS}
    tables = {name: table.cast(TABLE_SCHEMAS[name]) for name, table in state.tables().items()}
    manifest = {
        "format_version": FORMAT_VERSION,
        "run": state.run,
        "files": {
            name: {"path": paths[name], "rows": table.num_rows} for name, table in tables.items()
        },
    }
    # Encoded side by side (the writer releases the GIL); the bytes do not depend on it.
    with ThreadPoolExecutor(len(tables)) as pool:
        encoded = pool.map(
            lambda table: parquet_bytes(table, WHOLE_READ_ROW_GROUP_SIZE), tables.values()
        )
        files = dict(zip((paths[name] for name in tables), encoded, strict=True))
    lake.commit(files, MANIFEST_PATH, manifest)
    # Run files the manifest no longer names: older commits', or a killed commit's.
    keep = run_prefix(state.run) + "/"
    lake.delete(obj.path for obj in lake.list(RUNS_PREFIX) if not obj.path.startswith(keep))
