"""The versions of a dataset in the lake: which are complete, which number comes next.

A version is complete when its `manifest.json` exists: the manifest is written last, so its
presence means every file it names was written. A version folder without a manifest is the
leftover of a publish that died before committing; nothing in it was ever published.

Numbering: the next version is the highest complete one plus one. If that folder holds
leftovers, they are removed first (after checking again that no manifest appeared), so numbers
stay contiguous and a crashed publish heals on the next run. Other folders without a manifest
are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import obstore
from obstore.exceptions import NotFoundError

from dataproc.export.errors import VersionExistsError
from dataproc.export.jsonrow import canonical_json
from dataproc.export.layout import (
    MANIFEST_NAME,
    dataset_prefix,
    latest_path,
    manifest_path,
    parse_version,
    version_name,
    version_prefix,
)


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


def exists(store: Any, path: str) -> bool:
    """Whether an object is stored at `path`."""
    try:
        obstore.head(store, path)
    except (FileNotFoundError, NotFoundError):
        return False
    return True


def list_objects(store: Any, prefix: str) -> list[str]:
    """Every object path under the folder `prefix`, sorted."""
    return sorted(
        meta["path"] for batch in obstore.list(store, prefix=prefix + "/") for meta in batch
    )


def version_numbers(store: Any, dataset: str) -> list[int]:
    """Numbers of every `v<NNNN>` folder of `dataset`, complete or not, ascending."""
    listing = obstore.list_with_delimiter(store, prefix=dataset_prefix(dataset))
    names = (prefix.rstrip("/").rsplit("/", 1)[-1] for prefix in listing["common_prefixes"])
    return sorted(number for number in map(parse_version, names) if number is not None)


def complete_versions(store: Any, dataset: str) -> list[int]:
    """Numbers of the versions of `dataset` that have a manifest, ascending."""
    return [n for n in version_numbers(store, dataset) if exists(store, manifest_path(dataset, n))]


def plan_version(store: Any, dataset: str) -> VersionPlan:
    """The next version of `dataset`, with any leftover objects already in its folder."""
    complete = complete_versions(store, dataset)
    parent = complete[-1] if complete else None
    number = (parent or 0) + 1
    leftovers = tuple(list_objects(store, version_prefix(dataset, number)))
    return VersionPlan(dataset=dataset, number=number, parent=parent, leftovers=leftovers)


def clear_leftovers(store: Any, plan: VersionPlan) -> None:
    """Delete the planned folder's leftovers; refuse if a manifest appeared there meanwhile."""
    if not plan.leftovers:
        return
    if exists(store, manifest_path(plan.dataset, plan.number)):
        raise VersionExistsError(f"{plan.prefix} was committed by another publisher")
    obstore.delete(store, list(plan.leftovers))


def read_latest(store: Any, dataset: str) -> str | None:
    """The version name that `exports/<dataset>/latest` points to, or None when absent."""
    try:
        data = bytes(obstore.get(store, latest_path(dataset)).bytes())
    except (FileNotFoundError, NotFoundError):
        return None
    return json.loads(data)["version"]


def write_latest(store: Any, dataset: str, number: int) -> bool:
    """Point `latest` at version `number` unless it already names a newer one.

    Returns whether it was written. The check and the write are separate requests, so two
    publishers finishing at once may leave the older one named; `complete_versions` is the
    authority, `latest` a convenience for readers.
    """
    current = read_latest(store, dataset)
    if current is not None and (parse_version(current) or 0) > number:
        return False
    name = version_name(number)
    body = {"dataset": dataset, "version": name, "manifest": f"{name}/{MANIFEST_NAME}"}
    obstore.put(store, latest_path(dataset), canonical_json(body, indent=2))
    return True
