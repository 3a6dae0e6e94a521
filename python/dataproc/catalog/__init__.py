"""The image catalog: every image in the lake, where its bytes are, and every entry refused.

In: a `Lake` and the enabled sources. Images are files `images/<source>/**/<key>.<ext>` or
members of WebDataset tar shards `shards/<source>/*.tar`, indexed from their headers with
ranged reads (`dataproc.catalog.tar`), never downloaded.

Out: `scan_lake` gives a `LakeScan` whose `entries` table has one row per lake entry, catalogued
or refused (with a reason code and a detail), so that no image vanishes silently; `.json`/`.txt`
sidecars are metadata and give no row. Its `catalog` (`image_key, source, key, uri, offset,
length, ext, bytes`) and `rejects` (`image_key, source, uri, member, stage, reason, detail`) are
the two halves of `entries`, as the dbt models int_image_catalog and int_image_catalog_rejects
select them.

Files and shard members go through the same naming rules, so a name means the same thing in
both layouts. When one key has several copies, the first by (`uri`, `offset`) is kept and the
others are `duplicate_key` rejects: which copy wins depends only on where the copies are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from dataproc.catalog.tar import (
    DEFAULT_READ_AHEAD,
    EMPTY_FILE,
    ShardIndex,
    TarMember,
    WalkProblem,
    index_shards,
)
from dataproc.config import require
from dataproc.lake import Lake, LakeObject

IMAGES = "images"
SHARDS = "shards"
STAGE = "catalog"
DEFAULT_WORKERS = 8
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif"})
"""Extensions catalogued as images (compared lowercase)."""
SIDECAR_EXTENSIONS = frozenset({"json", "txt"})
"""Metadata written beside images (WebDataset `<key>.json`); skipped without a reject."""

# Reject codes of entries refused by name, type or size (the walk's own are in `tar`).
ABSOLUTE_PATH = "absolute_path"
PATH_TRAVERSAL = "path_traversal"
INVALID_NAME = "invalid_name"
NON_REGULAR_MEMBER = "non_regular_member"
UNSUPPORTED_EXTENSION = "unsupported_extension"
MISSING_KEY = "missing_key"
DUPLICATE_KEY = "duplicate_key"
UNSUPPORTED_SHARD = "unsupported_shard"

SOURCE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")

ENTRIES_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("key", pa.string()),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("member", pa.string()),
        pa.field("offset", pa.int64()),
        pa.field("length", pa.int64()),
        pa.field("ext", pa.string()),
        pa.field("header_offset", pa.int64(), nullable=False),
        pa.field("is_catalogued", pa.bool_(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("detail", pa.string()),
    ]
)
CATALOG_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("length", pa.int64(), nullable=False),
        pa.field("ext", pa.string(), nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
    ]
)
REJECTS_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("member", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class SourceSettings:
    """The sources read from the lake: the var `enabled_sources` (None: every source found).

    The catalog and the lake metrics both list `<folder>/<source>/` prefixes, so each name
    must be a plain folder name.
    """

    enabled_sources: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in self.enabled_sources or ():
            require(
                bool(SOURCE_NAME.match(name)),
                "enabled_sources",
                "a list of source folder names (letters, digits, `_`, `.`, `-`)",
                name,
            )


@dataclass(frozen=True)
class Image:
    """An entry the catalog takes: where its bytes are (`uri`, `offset`, `length`)."""

    source: str
    key: str
    uri: str
    offset: int
    length: int
    ext: str
    member: str | None
    header_offset: int  # where the entry starts in `uri`: its tar header, 0 for a file

    @property
    def image_key(self) -> str:
        return f"{self.source}:{self.key}"


@dataclass(frozen=True)
class Reject:
    """An entry the catalog refused, with a reason code and a human-readable detail."""

    image_key: str | None
    source: str
    uri: str
    member: str | None
    reason: str
    detail: str
    header_offset: int  # where the entry, or the walk's problem, starts in `uri`


@dataclass(frozen=True)
class LakeScan:
    """One row per lake entry (`entries`), and the index of every shard with its IO cost."""

    entries: pa.Table
    shards: tuple[ShardIndex, ...]

    @property
    def catalog(self) -> pa.Table:
        """The catalogued entries, ordered by where their bytes are (`uri`, `offset`)."""
        images = self.entries.filter(pc.field("is_catalogued"))
        columns = {name: images[name] for name in CATALOG_SCHEMA.names if name != "bytes"}
        return pa.table({**columns, "bytes": images["length"]}, schema=CATALOG_SCHEMA)

    @property
    def rejects(self) -> pa.Table:
        """The refused entries, ordered by object, position in it, member and reason."""
        refused = self.entries.filter(~pc.field("is_catalogued"))
        columns = {name: refused[name] for name in REJECTS_SCHEMA.names if name != "stage"}
        stage = pa.array([STAGE] * refused.num_rows, pa.string())
        return pa.table({**columns, "stage": stage}, schema=REJECTS_SCHEMA)


def scan_lake(
    lake: Lake,
    sources: Sequence[str] | None = None,
    *,
    read_ahead: int = DEFAULT_READ_AHEAD,
    workers: int = DEFAULT_WORKERS,
) -> LakeScan:
    """Catalog the lake; `sources` None means every source with a folder in it.

    Shards are indexed `workers` at a time; the output does not depend on it.
    """
    images: list[Image] = []
    rejects: list[Reject] = []

    def collect(entry: Image | Reject | None) -> None:
        if isinstance(entry, Image):
            images.append(entry)
        elif entry is not None:
            rejects.append(entry)

    shards: list[tuple[str, LakeObject]] = []
    for source in lake_sources(lake, sources):
        for obj in lake.list(f"{IMAGES}/{source}"):
            collect(classify_name(source, obj.path, obj.path, offset=0, length=obj.size))
        for obj in lake.list(f"{SHARDS}/{source}"):
            if obj.path.lower().endswith(".tar"):
                shards.append((source, obj))
            else:
                collect(
                    Reject(
                        None,
                        source,
                        obj.path,
                        None,
                        UNSUPPORTED_SHARD,
                        "shards must be uncompressed .tar files",
                        header_offset=0,
                    )
                )

    indexes = index_shards(lake, [obj for _, obj in shards], read_ahead, workers)
    for (source, _), index in zip(shards, indexes, strict=True):
        for member in index.members:
            collect(classify_member(source, index.uri, member))
        for problem in index.problems:
            collect(walk_problem(source, index.uri, problem))

    kept, duplicates = dedupe(images)
    return LakeScan(entries=entries_table(kept, rejects + duplicates), shards=tuple(indexes))


def lake_sources(lake: Lake, wanted: Sequence[str] | None) -> list[str]:
    """Sources with a folder under `images/` or `shards/`, filtered by `wanted`, sorted.

    Only these prefixes are listed, so a source that is not enabled costs no requests.
    """
    present = set(lake.folders(IMAGES)) | set(lake.folders(SHARDS))
    return sorted(present if wanted is None else present & set(wanted))


def classify_member(source: str, uri: str, member: TarMember) -> Image | Reject | None:
    """A member of the shard at `uri`: checks its name encoding and type, then its name."""
    name = member.name
    if name is None:
        return Reject(
            None,
            source,
            uri,
            member.display_name,
            INVALID_NAME,
            "member name is not UTF-8",
            member.header_offset,
        )
    if member.type_name != "regular":
        return Reject(
            image_key(source, split_name(name)[0]),
            source,
            uri,
            name,
            NON_REGULAR_MEMBER,
            f"{member.type_name} entry",
            member.header_offset,
        )
    return classify_name(
        source,
        uri,
        name,
        offset=member.data_offset,
        length=member.size,
        header_offset=member.header_offset,
        member=name,
    )


def classify_name(
    source: str,
    uri: str,
    name: str,
    *,
    offset: int,
    length: int,
    header_offset: int = 0,
    member: str | None = None,
) -> Image | Reject | None:
    """What an entry named `name`, whose bytes are `[offset, offset + length)` of `uri`, is.

    Zero-byte images are rejected here (`empty_file`) rather than catalogued: no decoder can
    use them, and rejecting them before deduplication lets a usable copy of the key win.
    """
    key, ext = split_name(name)

    def reject(reason: str, detail: str) -> Reject:
        return Reject(image_key(source, key), source, uri, member, reason, detail, header_offset)

    unsafe = unsafe_name_reason(name)
    if unsafe is not None:
        return reject(unsafe, f"unsafe name {name!r}")
    if ext in SIDECAR_EXTENSIONS:
        return None
    if ext not in IMAGE_EXTENSIONS:
        return reject(UNSUPPORTED_EXTENSION, f"extension {ext!r} is not an image")
    if not key:
        return reject(MISSING_KEY, f"name {name!r} has no key before the extension")
    if length == 0:
        return reject(EMPTY_FILE, "image is 0 bytes")
    return Image(source, key, uri, offset, length, ext, member, header_offset)


def walk_problem(source: str, uri: str, problem: WalkProblem) -> Reject:
    """The reject for an entry of the shard at `uri` that its walk could not index."""
    key, ext = split_name(problem.member or "")
    key = key if ext in IMAGE_EXTENSIONS else ""
    return Reject(
        image_key(source, key),
        source,
        uri,
        problem.member,
        problem.reason,
        problem.detail,
        problem.offset,
    )


def split_name(name: str) -> tuple[str, str]:
    """`dir/<key>.<ext>` as (key, lowercase extension without the dot); either may be empty.

    The key is the base name up to its last dot, like a file stem (`a.b.png` gives `a.b`). The
    directory part is dropped: for files it only spreads images over folders, and WebDataset
    member keys are flat.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return (stem, ext.lower()) if dot else (base, "")


def unsafe_name_reason(name: str) -> str | None:
    """`absolute_path` or `path_traversal` when extracting `name` could escape its folder.

    Backslashes count as separators, and any `..` component is refused, even one that a
    normalizer would fold away (`a/../b.png`): an honest writer never produces one.
    """
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE_LETTER.match(normalized):
        return ABSOLUTE_PATH
    if ".." in normalized.split("/"):
        return PATH_TRAVERSAL
    return None


def image_key(source: str, key: str) -> str | None:
    """The global key `<source>:<key>`, or None when there is no key."""
    return f"{source}:{key}" if key else None


def dedupe(images: Iterable[Image]) -> tuple[list[Image], list[Reject]]:
    """One image per key, the first by (`uri`, `offset`), and a `duplicate_key` reject for
    every other copy."""
    kept: dict[str, Image] = {}
    duplicates: list[Reject] = []
    for image in sorted(images, key=lambda image: (image.image_key, image.uri, image.offset)):
        first = kept.get(image.image_key)
        if first is None:
            kept[image.image_key] = image
            continue
        duplicates.append(
            Reject(
                image.image_key,
                image.source,
                image.uri,
                image.member,
                DUPLICATE_KEY,
                f"kept {first.uri} at offset {first.offset}",
                image.header_offset,
            )
        )
    return list(kept.values()), duplicates


def entries_table(images: Iterable[Image], rejects: Iterable[Reject]) -> pa.Table:
    """Images ordered by where their bytes are (`uri`, `offset`), then rejects ordered by
    object, position in it, member and reason (the orders the two dbt models keep)."""
    images = sorted(images, key=lambda image: (image.uri, image.offset, image.image_key))
    rejects = sorted(
        rejects,
        key=lambda reject: (
            reject.uri,
            reject.header_offset,
            reject.member or "",
            reject.reason,
            reject.detail,
        ),
    )
    rows = [
        {
            "image_key": image.image_key,
            "source": image.source,
            "key": image.key,
            "uri": image.uri,
            "member": image.member,
            "offset": image.offset,
            "length": image.length,
            "ext": image.ext,
            "header_offset": image.header_offset,
            "is_catalogued": True,
        }
        for image in images
    ] + [
        {
            "image_key": reject.image_key,
            "source": reject.source,
            "uri": reject.uri,
            "member": reject.member,
            "header_offset": reject.header_offset,
            "is_catalogued": False,
            "reason": reject.reason,
            "detail": reject.detail,
        }
        for reject in rejects
    ]
    return pa.Table.from_pylist(rows, schema=ENTRIES_SCHEMA)
