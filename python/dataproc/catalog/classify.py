"""Decide what one lake entry becomes: a catalog row, a reject, or nothing (a sidecar).

Files under `images/<source>/` and members of `shards/<source>/*.tar` go through the same
rules, so a name means the same thing in both layouts.
"""

from __future__ import annotations

from dataproc.catalog import rows
from dataproc.catalog.names import (
    IMAGE_EXTENSIONS,
    SIDECAR_EXTENSIONS,
    split_name,
    unsafe_name_reason,
)
from dataproc.catalog.rows import CatalogRow, RejectRow
from dataproc.catalog.tar_index import ShardIndex, TarMember


def classify_entry(
    source: str,
    uri: str,
    name: str,
    *,
    offset: int,
    length: int,
    position: int,
    member: str | None = None,
) -> CatalogRow | RejectRow | None:
    """The row for an entry named `name` whose bytes are `[offset, offset + length)` of `uri`.

    Zero-byte images are rejected here (`empty_file`) rather than catalogued: no decoder can
    use them, and rejecting them before deduplication lets a usable copy of the key win.
    """
    parts = split_name(name)

    def reject(reason: str, detail: str) -> RejectRow:
        return RejectRow(
            image_key=rows.image_key(source, parts.key),
            source=source,
            uri=uri,
            member=member,
            reason=reason,
            detail=detail,
            position=position,
        )

    unsafe = unsafe_name_reason(name)
    if unsafe is not None:
        return reject(unsafe, f"unsafe name {name!r}")
    if parts.ext in SIDECAR_EXTENSIONS:
        return None
    if parts.ext not in IMAGE_EXTENSIONS:
        return reject(rows.UNSUPPORTED_EXTENSION, f"extension {parts.ext!r} is not an image")
    if not parts.key:
        return reject(rows.MISSING_KEY, f"name {name!r} has no key before the extension")
    if length == 0:
        return reject(rows.EMPTY_FILE, "image is 0 bytes")
    return CatalogRow(
        source=source,
        key=parts.key,
        uri=uri,
        offset=offset,
        length=length,
        ext=parts.ext,
        member=member,
    )


def classify_file(source: str, path: str, size: int) -> CatalogRow | RejectRow | None:
    """A file `images/<source>/**/<key>.<ext>`: the whole object is the image."""
    return classify_entry(source, path, path, offset=0, length=size, position=0)


def classify_member(source: str, uri: str, member: TarMember) -> CatalogRow | RejectRow | None:
    """A member of the shard at `uri`: checks its name encoding and type, then its name."""
    name = member.name
    if name is None:
        return RejectRow(
            image_key=None,
            source=source,
            uri=uri,
            member=member.display_name,
            reason=rows.INVALID_NAME,
            detail="member name is not UTF-8",
            position=member.header_offset,
        )
    if member.type_name != "regular":
        return RejectRow(
            image_key=rows.image_key(source, split_name(name).key),
            source=source,
            uri=uri,
            member=name,
            reason=rows.NON_REGULAR_MEMBER,
            detail=f"{member.type_name} entry",
            position=member.header_offset,
        )
    return classify_entry(
        source,
        uri,
        name,
        offset=member.data_offset,
        length=member.size,
        position=member.header_offset,
        member=name,
    )


def classify_shard(source: str, index: ShardIndex) -> list[CatalogRow | RejectRow]:
    """Rows for every member of a shard, plus one reject when the walk stopped early."""
    out: list[CatalogRow | RejectRow] = []
    for member in index.members:
        row = classify_member(source, index.path, member)
        if row is not None:
            out.append(row)
    problem = index.problem
    if problem is not None:
        parts = split_name(problem.member or "")
        key = parts.key if parts.ext in IMAGE_EXTENSIONS else ""
        out.append(
            RejectRow(
                image_key=rows.image_key(source, key),
                source=source,
                uri=index.path,
                member=problem.member,
                reason=problem.reason,
                detail=problem.detail,
                position=problem.offset,
            )
        )
    return out
