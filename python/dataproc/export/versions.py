"""The versions of a dataset in the lake: their paths, which are complete, the claim and the
create-only writer of a new one, the `latest` pointer, and the clean-up of abandoned runs.

In: the lake and a dataset name. Out: a claimed version folder, its files written create-only
with `manifest.json` last, and `latest` naming the newest complete version. One published
version (paths relative to the lake root):

    exports/<dataset>/v0001/run.json                      the claim: which run owns the folder
    exports/<dataset>/v0001/metadata/part-00000.parquet   one row per image, split by row count
    exports/<dataset>/v0001/shards/shard-00000.tar        optional WebDataset shards
    exports/<dataset>/v0001/report.html, stats.json       the report (`dataproc.report`)
    exports/<dataset>/v0001/manifest.json                 written last: the commit point
    exports/<dataset>/latest                              names the newest complete version

Paths inside a manifest are relative to the version folder, so a copied version stays valid.

The protocol, safe for any number of publishers at once:
1. Claim: the next number is one above every version folder there is (complete or not); a run
   owns a folder once its create-only put of `run.json` (its unique run id) succeeds. A run
   that loses the race plans again, a bounded number of times.
2. Write: only the owner writes into its folder, every put create-only.
3. Commit: the create-only put of `manifest.json`. A version is complete when its manifest
   exists, and readers trust only the manifest.
4. `latest` moves by compare-and-swap, and only forward: it never names an older complete
   version than it did. A `latest` that is unreadable or names no complete version is
   repaired, with a note saying so.
5. A run that fails, or finds nothing new, deletes the files it wrote and then its claim: never
   a file it did not write. A run killed before its commit leaves an uncommitted folder, which
   no later run writes into (numbers go on above it); a folder without a manifest whose every
   object is older than the abandonment age is deleted by a later publish.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from dataproc.export.manifest import FileEntry
from dataproc.export.rows import ExportError
from dataproc.lake import Lake, LakeObject, canonical_json

EXPORTS_PREFIX = "exports"
MANIFEST_NAME = "manifest.json"
CLAIM_NAME = "run.json"
LATEST_NAME = "latest"
# Claims and latest moves lost to other publishers before giving up.
MAX_ATTEMPTS = 50

_DATASET_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_VERSION_RE = re.compile(r"^v(\d{4,})$")


class VersionExistsError(ExportError):
    """A version could not be claimed or written: other publishers kept taking the numbers."""


# -- names and paths ---------------------------------------------------------------------------
def is_dataset_name(name: str) -> bool:
    """Whether `name` is a safe folder name (lowercase letters, digits, `_ . -`)."""
    return bool(_DATASET_RE.match(name)) and ".." not in name


def dataset_prefix(dataset: str) -> str:
    if not is_dataset_name(dataset):
        raise ValueError(
            f"invalid dataset name {dataset!r}: use lowercase letters, digits, '_', '.' or '-'"
        )
    return f"{EXPORTS_PREFIX}/{dataset}"


def version_name(number: int) -> str:
    """`v0001` for 1: at least four digits, so names sort like numbers up to 9999."""
    if number < 1:
        raise ValueError(f"version numbers start at 1, got {number}")
    return f"v{number:04d}"


def parse_version(name: str) -> int | None:
    """The number of a version folder name (`v0012` -> 12), or None for any other name."""
    match = _VERSION_RE.match(name)
    return int(match.group(1)) if match else None


def version_prefix(dataset: str, number: int) -> str:
    return f"{dataset_prefix(dataset)}/{version_name(number)}"


def manifest_path(dataset: str, number: int) -> str:
    return f"{version_prefix(dataset, number)}/{MANIFEST_NAME}"


def latest_path(dataset: str) -> str:
    return f"{dataset_prefix(dataset)}/{LATEST_NAME}"


def metadata_file(index: int) -> str:
    """Version-relative path of the `index`-th metadata parquet part."""
    return f"metadata/part-{index:05d}.parquet"


def shard_file(index: int) -> str:
    """Version-relative path of the `index`-th WebDataset shard."""
    return f"shards/shard-{index:05d}.tar"


# -- which versions exist ----------------------------------------------------------------------
def version_folders(lake: Lake, dataset: str) -> list[int]:
    """Numbers of every version folder of `dataset`, complete or not, ascending."""
    found = map(parse_version, lake.folders(dataset_prefix(dataset)))
    return sorted(number for number in found if number is not None)


def complete_versions(lake: Lake, dataset: str) -> list[int]:
    """Numbers of the versions of `dataset` that have a manifest, ascending."""
    return [
        number
        for number in version_folders(lake, dataset)
        if lake.exists(manifest_path(dataset, number))
    ]


def read_manifest(lake: Lake, dataset: str, number: int) -> dict[str, Any]:
    return json.loads(lake.get(manifest_path(dataset, number)))


def data_digests(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The content of a version: its data files' (path, sha256), sorted; its report is not
    data."""
    return sorted(
        (entry["path"], entry["sha256"]) for entry in manifest["files"] if entry["kind"] != "report"
    )


# -- claiming and writing one version ----------------------------------------------------------
@dataclass
class VersionWriter:
    """The owner of one claimed version folder: puts its files create-only, remembers them."""

    lake: Lake
    dataset: str
    number: int
    parent: int | None
    entries: list[FileEntry] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def name(self) -> str:
        return version_name(self.number)

    @property
    def prefix(self) -> str:
        return version_prefix(self.dataset, self.number)

    @property
    def parent_name(self) -> str | None:
        return None if self.parent is None else version_name(self.parent)

    def put(self, path: str, kind: str, rows: int, data: bytes) -> FileEntry:
        """Write a data file at the version-relative `path` and record its manifest entry."""
        self._put(path, data)
        entry = FileEntry.of(path, kind, rows, data)
        self.entries.append(entry)
        return entry

    def commit(self, manifest: bytes) -> None:
        """Write the manifest: from here on the version is published."""
        self._put(MANIFEST_NAME, manifest)
        self.committed = True

    def discard(self) -> None:
        """Delete the files this writer put, then its claim; a committed version stays."""
        if self.committed:
            return
        self.lake.delete(self.written)
        self.written = []
        self.lake.delete([f"{self.prefix}/{CLAIM_NAME}"])

    def _put(self, path: str, data: bytes) -> None:
        location = f"{self.prefix}/{path}"
        try:
            self.lake.put(location, data, mode="create")
        except FileExistsError as error:
            raise VersionExistsError(
                f"{location} already exists in a folder this run claimed"
            ) from error
        self.written.append(location)


def claim_version(lake: Lake, dataset: str, run: dict[str, Any]) -> VersionWriter:
    """Claim the next free version folder for the run `run` (its id and facts).

    The claim is one create-only put of `run.json`: exactly one run wins a number. The parent
    is the newest complete version when the claim is made.
    """
    claim = canonical_json(run)
    for _ in range(MAX_ATTEMPTS):
        number = max(version_folders(lake, dataset), default=0) + 1
        try:
            lake.put(f"{version_prefix(dataset, number)}/{CLAIM_NAME}", claim, mode="create")
        except FileExistsError:
            continue
        return VersionWriter(lake, dataset, number, newest_complete_below(lake, dataset, number))
    raise VersionExistsError(
        f"{dataset_prefix(dataset)}: other publishers took {MAX_ATTEMPTS} version numbers "
        "in a row; nothing was published"
    )


def newest_complete_below(lake: Lake, dataset: str, number: int) -> int | None:
    """The newest complete version numbered below `number`, looking down from it."""
    for candidate in range(number - 1, 0, -1):
        if lake.exists(manifest_path(dataset, candidate)):
            return candidate
    return None


def clean_abandoned(lake: Lake, dataset: str, older_than: dt.timedelta) -> list[str]:
    """Delete version folders without a manifest whose every object is older than `older_than`
    (by the store's clock): runs that died before their commit. Returns a note per folder.

    One listing of the dataset finds them, however many versions there are."""
    folders: dict[int, list[LakeObject]] = {}
    root = dataset_prefix(dataset)
    for obj in lake.list(root):
        number = parse_version(obj.path[len(root) + 1 :].split("/", 1)[0])
        if number is not None:
            folders.setdefault(number, []).append(obj)
    notes = []
    now = dt.datetime.now(dt.UTC)
    for number, objects in sorted(folders.items()):
        prefix = version_prefix(dataset, number)
        if any(obj.path == f"{prefix}/{MANIFEST_NAME}" for obj in objects):
            continue
        newest = max(obj.last_modified or now for obj in objects)
        if now - newest < older_than:
            continue
        owner = (lake.get_json(f"{prefix}/{CLAIM_NAME}") or {}).get("run_id", "an unknown run")
        lake.delete(obj.path for obj in objects)
        notes.append(
            f"deleted {prefix}: {len(objects)} object(s) of {owner}, which stopped before "
            f"its commit (last write {newest.isoformat(timespec='seconds')})"
        )
    return notes


# -- the latest pointer ------------------------------------------------------------------------
def read_latest(lake: Lake, dataset: str) -> str | None:
    """The version name that `exports/<dataset>/latest` points to, or None when absent."""
    pointer = lake.get_json(latest_path(dataset))
    return None if pointer is None else pointer["version"]


@dataclass(frozen=True)
class Latest:
    """The `latest` pointer as found: its object (for compare-and-swap), the complete version
    it names (None when absent or broken), and what is wrong with it, if anything."""

    found: LakeObject | None
    number: int | None
    problem: str | None


def inspect_latest(lake: Lake, dataset: str) -> Latest:
    """Read `latest` and check that it names a complete version."""
    path = latest_path(dataset)
    found = lake.head(path)
    if found is None:
        return Latest(None, None, None)
    try:
        name = json.loads(lake.get(path))["version"]
    except (ValueError, KeyError, TypeError) as error:
        return Latest(found, None, f"latest is unreadable ({type(error).__name__}: {error})")
    except FileNotFoundError:
        return Latest(None, None, None)
    number = parse_version(name) if isinstance(name, str) else None
    if number is None or not lake.exists(manifest_path(dataset, number)):
        return Latest(found, None, f"latest names {name!r}, which is not a complete version")
    return Latest(found, number, None)


def move_latest(lake: Lake, dataset: str, number: int) -> list[str]:
    """Point `latest` at version `number` by compare-and-swap, unless it already names a newer
    complete version. Returns notes on any broken pointer this replaced."""
    pointer = canonical_json(
        {
            "dataset": dataset,
            "version": version_name(number),
            "manifest": f"{version_name(number)}/{MANIFEST_NAME}",
        }
    )
    for _ in range(MAX_ATTEMPTS):
        current = inspect_latest(lake, dataset)
        if current.number is not None and current.number >= number:
            return []
        if lake.swap(latest_path(dataset), pointer, current.found):
            if current.problem is None:
                return []
            return [f"{current.problem}; repaired: latest now names {version_name(number)}"]
    raise VersionExistsError(
        f"{latest_path(dataset)} changed {MAX_ATTEMPTS} times while moving it to "
        f"{version_name(number)}; the version is committed, latest was not moved"
    )
