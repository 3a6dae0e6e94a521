"""Names and lake paths of an export: `exports/<dataset>/v<NNNN>/...` and `latest`.

One published version (paths relative to the lake root):

    exports/<dataset>/v0001/metadata/part-00000.parquet   one row per image, split by row count
    exports/<dataset>/v0001/shards/shard-00000.tar        optional WebDataset shards
    exports/<dataset>/v0001/manifest.json                 written last: the commit point
    exports/<dataset>/latest                              names the newest complete version

Paths inside a manifest are relative to the version folder, so a copied version stays valid.
"""

from __future__ import annotations

import re

EXPORTS_PREFIX = "exports"
MANIFEST_NAME = "manifest.json"
LATEST_NAME = "latest"
METADATA_DIR = "metadata"
SHARDS_DIR = "shards"

_DATASET_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_VERSION_RE = re.compile(r"^v(\d{4,})$")


def check_dataset_name(dataset: str) -> str:
    """Return `dataset` if it is a safe folder name (lowercase letters, digits, `_ . -`)."""
    if not _DATASET_RE.match(dataset) or ".." in dataset:
        raise ValueError(
            f"invalid dataset name {dataset!r}: use lowercase letters, digits, '_', '.' or '-'"
        )
    return dataset


def version_name(number: int) -> str:
    """`v0001` for 1: at least four digits, so names sort like numbers up to 9999."""
    if number < 1:
        raise ValueError(f"version numbers start at 1, got {number}")
    return f"v{number:04d}"


def parse_version(name: str) -> int | None:
    """The number of a version folder name (`v0012` -> 12), or None for any other name."""
    match = _VERSION_RE.match(name)
    return int(match.group(1)) if match else None


def dataset_prefix(dataset: str) -> str:
    return f"{EXPORTS_PREFIX}/{check_dataset_name(dataset)}"


def version_prefix(dataset: str, number: int) -> str:
    return f"{dataset_prefix(dataset)}/{version_name(number)}"


def manifest_path(dataset: str, number: int) -> str:
    return f"{version_prefix(dataset, number)}/{MANIFEST_NAME}"


def latest_path(dataset: str) -> str:
    return f"{dataset_prefix(dataset)}/{LATEST_NAME}"


def metadata_file(index: int) -> str:
    """Version-relative path of the `index`-th metadata parquet part."""
    return f"{METADATA_DIR}/part-{index:05d}.parquet"


def shard_file(index: int) -> str:
    """Version-relative path of the `index`-th WebDataset shard."""
    return f"{SHARDS_DIR}/shard-{index:05d}.tar"
