"""The versions of a dataset in the lake: their paths, which are complete, which number comes
next, the create-only writer that commits one, and the `latest` pointer.

In: the lake and a dataset name. Out: the plan of the next version, its files written
create-only with `manifest.json` last, and `latest` naming it. One published version (paths
relative to the lake root):

    exports/<dataset>/v0001/metadata/part-00000.parquet   one row per image, split by row count
    exports/<dataset>/v0001/shards/shard-00000.tar        optional WebDataset shards
    exports/<dataset>/v0001/manifest.json                 written last: the commit point
    exports/<dataset>/latest                              names the newest complete version

Paths inside a manifest are relative to the version folder, so a copied version stays valid.

A version is complete when its manifest exists: the manifest is written last, so its presence
means every file it names was written. A version folder without a manifest is the leftover of
a publish that died before committing; nothing in it was ever published.

Numbering: the next version is the highest complete one plus one. If that folder holds
leftovers, they are removed first (after checking again that no manifest appeared), so numbers
stay contiguous and a crashed publish heals on the next run. Other folders without a manifest
are ignored.

Every put is create-only (a conditional put on S3, an exclusive create locally), so an object
that already exists is never replaced: a racing publisher fails instead of overwriting. On
failure the files a writer put are deleted again (best effort: a killed process leaves them,
and the next publish of that number clears them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dataproc.export.manifest import FileEntry
from dataproc.export.rows import ExportError
from dataproc.lake import Lake

EXPORTS_PREFIX = "exports"
MANIFEST_NAME = "manifest.json"
LATEST_NAME = "latest"

_DATASET_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_VERSION_RE = re.compile(r"^v(\d{4,})$")


class VersionExistsError(ExportError):
    """The target version already holds objects; published versions are never overwritten."""


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


# -- which versions exist, which comes next ----------------------------------------------------
@dataclass(frozen=True)
class VersionPlan:
    """Where the next publish goes: its number, its parent, and leftovers to clear first."""

    dataset: str
    number: int
    parent: int | None
    leftovers: tuple[str, ...]

    @property
    def name(self) -> str:
        return version_name(self.number)

    @property
    def prefix(self) -> str:
        return version_prefix(self.dataset, self.number)

    @property
    def parent_name(self) -> str | None:
        return None if self.parent is None else version_name(self.parent)


def complete_versions(lake: Lake, dataset: str) -> list[int]:
    """Numbers of the versions of `dataset` that have a manifest, ascending."""
    numbers = sorted(
        number
        for number in map(parse_version, lake.folders(dataset_prefix(dataset)))
        if number is not None
    )
    return [number for number in numbers if lake.exists(manifest_path(dataset, number))]


def plan_version(lake: Lake, dataset: str) -> VersionPlan:
    """The next version of `dataset`, with any leftover objects already in its folder."""
    complete = complete_versions(lake, dataset)
    parent = complete[-1] if complete else None
    number = (parent or 0) + 1
    leftovers = tuple(found.path for found in lake.list(version_prefix(dataset, number)))
    return VersionPlan(dataset=dataset, number=number, parent=parent, leftovers=leftovers)


def clear_leftovers(lake: Lake, plan: VersionPlan) -> None:
    """Delete the planned folder's leftovers; refuse if a manifest appeared there meanwhile."""
    if not plan.leftovers:
        return
    if lake.exists(manifest_path(plan.dataset, plan.number)):
        raise VersionExistsError(f"{plan.prefix} was committed by another publisher")
    lake.delete(plan.leftovers)


# -- writing one version -----------------------------------------------------------------------
class VersionWriter:
    """Puts the files of the version folder `prefix` create-only and remembers what it wrote."""

    def __init__(self, lake: Lake, prefix: str) -> None:
        self.lake = lake
        self.prefix = prefix
        self.entries: list[FileEntry] = []
        self.written: list[str] = []

    def ensure_empty(self) -> None:
        """Refuse to start when the folder already holds any object."""
        found = self.lake.list(self.prefix)
        if found:
            raise VersionExistsError(
                f"{self.prefix} already holds {len(found)} object(s), e.g. {found[0].path!r}; "
                "a published version is never overwritten"
            )

    def put(self, path: str, kind: str, rows: int, data: bytes) -> FileEntry:
        """Write a data file at the version-relative `path` and record its manifest entry."""
        self._put(path, data)
        entry = FileEntry.of(path, kind, rows, data)
        self.entries.append(entry)
        return entry

    def commit(self, manifest: bytes) -> None:
        """Write the manifest: from here on the version is published."""
        self._put(MANIFEST_NAME, manifest)

    def discard(self) -> None:
        """Delete what this writer put, unless the manifest made it a published version."""
        if not self.written or self.lake.exists(f"{self.prefix}/{MANIFEST_NAME}"):
            return
        self.lake.delete(self.written)
        self.written = []

    def _put(self, path: str, data: bytes) -> None:
        location = f"{self.prefix}/{path}"
        try:
            self.lake.put(location, data, mode="create")
        except FileExistsError as error:
            raise VersionExistsError(
                f"{location} already exists; another publisher is writing this version"
            ) from error
        self.written.append(location)


# -- the latest pointer ------------------------------------------------------------------------
def read_latest(lake: Lake, dataset: str) -> str | None:
    """The version name that `exports/<dataset>/latest` points to, or None when absent."""
    pointer = lake.get_json(latest_path(dataset))
    return None if pointer is None else pointer["version"]


def write_latest(lake: Lake, dataset: str, number: int) -> bool:
    """Point `latest` at version `number` unless it already names a newer one.

    Returns whether it was written. The check and the write are separate requests, so two
    publishers finishing at once may leave the older one named; `complete_versions` is the
    authority, `latest` a convenience for readers.
    """
    current = read_latest(lake, dataset)
    if current is not None and (parse_version(current) or 0) > number:
        return False
    name = version_name(number)
    pointer = {"dataset": dataset, "version": name, "manifest": f"{name}/{MANIFEST_NAME}"}
    lake.put_json(latest_path(dataset), pointer)
    return True
