"""Persisted identity state in the lake, under `state/identity/`, read and written with obstore.

Layout (paths relative to the lake root):

    state/identity/manifest.json             the commit point: run number, file paths, sha256s
    state/identity/runs/<run>/assignment.parquet  image_key -> image_id (history included)
    state/identity/runs/<run>/ids.parquet         every image_id ever issued, with its seed
    state/identity/runs/<run>/redirects.parquet   retired image_id -> surviving image_id
    state/identity/runs/<run>/splits.parquet      guard report of the run that wrote the state

A commit writes the run's data files first and `manifest.json` last, each as one whole-object
put. A reader only follows the manifest, so a writer killed before the manifest leaves the
previous state intact; stale run folders are removed after the manifest is in place.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import obstore
import pyarrow as pa
import pyarrow.parquet as pq
from obstore.exceptions import NotFoundError

from dataproc.identity.guard import SPLITS_SCHEMA

STATE_PREFIX = "state/identity"
MANIFEST_PATH = f"{STATE_PREFIX}/manifest.json"
RUNS_PREFIX = f"{STATE_PREFIX}/runs"
FORMAT_VERSION = 1

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


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialize a table to Parquet with fixed options, so equal tables give equal bytes."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", use_dictionary=True, write_statistics=True)
    return sink.getvalue()


def _read_bytes(store: Any, path: str) -> bytes:
    return bytes(obstore.get(store, path).bytes())


def read_manifest(store: Any) -> dict[str, Any] | None:
    """The committed manifest, or None when no state was ever committed."""
    try:
        return json.loads(_read_bytes(store, MANIFEST_PATH))
    except (FileNotFoundError, NotFoundError):
        return None


def read_table(store: Any, manifest: dict[str, Any], name: str) -> pa.Table:
    """One state table named by the manifest, checked against its recorded sha256."""
    entry = manifest["files"][name]
    data = _read_bytes(store, entry["path"])
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ValueError(f"identity state file {entry['path']} does not match its manifest sha256")
    return pq.read_table(pa.BufferReader(data)).cast(TABLE_SCHEMAS[name])


def load_table(store: Any, name: str) -> pa.Table:
    """One table of the last committed state (empty when there is none)."""
    manifest = _checked_manifest(store)
    if manifest is None:
        return TABLE_SCHEMAS[name].empty_table()
    return read_table(store, manifest, name)


def _checked_manifest(store: Any) -> dict[str, Any] | None:
    manifest = read_manifest(store)
    if manifest is not None and manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported identity state format {manifest.get('format_version')}")
    return manifest


def load_state(store: Any) -> IdentityState:
    """The last committed identity state (empty when there is none)."""
    manifest = _checked_manifest(store)
    if manifest is None:
        return IdentityState.empty()
    tables = {name: read_table(store, manifest, name) for name in TABLE_SCHEMAS}
    return IdentityState(run=int(manifest["run"]), **tables)


def run_prefix(run: int) -> str:
    return f"{RUNS_PREFIX}/{run:06d}"


def save_state(store: Any, state: IdentityState) -> None:
    """Commit `state`: data files, then the manifest, then remove other runs' files."""
    files: dict[str, dict[str, Any]] = {}
    for name, table in state.tables().items():
        path = f"{run_prefix(state.run)}/{name}.parquet"
        data = parquet_bytes(table.cast(TABLE_SCHEMAS[name]))
        obstore.put(store, path, data)
        files[name] = {
            "path": path,
            "rows": table.num_rows,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    manifest = {"format_version": FORMAT_VERSION, "run": state.run, "files": files}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    obstore.put(store, MANIFEST_PATH, text.encode("utf-8"))
    _remove_stale_runs(store, keep=run_prefix(state.run) + "/")


def _remove_stale_runs(store: Any, keep: str) -> None:
    """Delete run files that the manifest no longer names (left by older or killed commits)."""
    stale = [
        meta["path"]
        for batch in obstore.list(store, prefix=RUNS_PREFIX + "/")
        for meta in batch
        if not meta["path"].startswith(keep)
    ]
    if stale:
        obstore.delete(store, sorted(stale))
