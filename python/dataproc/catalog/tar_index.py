"""Index a tar shard in the lake by walking its headers with ranged reads.

The walk reads a header, skips the member's data (rounded up to whole blocks), and reads the
next header, so the bytes fetched are the headers plus the read-ahead slack, not the shard.
GNU long names (`L`) and pax headers (`x`: `path`, `size`) name and size the entry after them.
A truncated shard keeps the members read before the cut; a bad header stops the walk. Either
is reported as a `WalkProblem` next to the members found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import obstore

from dataproc.catalog import rows
from dataproc.catalog.ranged import DEFAULT_READ_AHEAD, RangeReader
from dataproc.catalog.tar_header import (
    BLOCK,
    GNU_LONGLINK,
    GNU_LONGNAME,
    GNU_SPARSE,
    METADATA_TYPES,
    PAX_GLOBAL,
    PAX_HEADER,
    SPARSE_EXTENSION_FLAG,
    HeaderError,
    TarHeader,
    is_zero_block,
    padded,
    parse_header,
    parse_pax_records,
)

MAX_METADATA_SIZE = 1 << 20
"""Largest long-name or pax payload read; anything bigger is a hostile header."""


@dataclass(frozen=True)
class TarMember:
    """One entry of a shard: its raw name, where its header and data start, its type."""

    raw_name: bytes
    header_offset: int
    data_offset: int
    size: int
    type_name: str

    @property
    def name(self) -> str | None:
        """The name as UTF-8 text, or None when it is not valid UTF-8."""
        try:
            return self.raw_name.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @property
    def display_name(self) -> str:
        return self.raw_name.decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True)
class WalkProblem:
    """Why the walk stopped early: a reject code, the offset, and the member if known."""

    reason: str
    offset: int
    detail: str
    member: str | None = None


@dataclass(frozen=True)
class ShardIndex:
    """The members of one shard, the problem that stopped the walk, and the IO it cost."""

    path: str
    size: int
    members: tuple[TarMember, ...]
    problem: WalkProblem | None
    bytes_read: int
    requests: int


@dataclass
class _Pending:
    """What `L` and `x` headers say about the next entry."""

    name: bytes | None = None
    size: int | None = None
    sparse: bool = False


def index_shard(
    store: Any, path: str, size: int | None = None, *, read_ahead: int = DEFAULT_READ_AHEAD
) -> ShardIndex:
    """Walk the headers of the tar object at `path` (size from `obstore.head` when not given)."""
    if size is None:
        size = int(obstore.head(store, path)["size"])
    reader = RangeReader(store, path, size, read_ahead)
    members: list[TarMember] = []
    problem = _walk(reader, members)
    return ShardIndex(
        path=path,
        size=size,
        members=tuple(members),
        problem=problem,
        bytes_read=reader.bytes_read,
        requests=reader.requests,
    )


def _truncated(offset: int, detail: str, member: bytes | None = None) -> WalkProblem:
    name = None if member is None else member.decode("utf-8", errors="backslashreplace")
    return WalkProblem(rows.TRUNCATED_SHARD, offset, detail, name)


def _walk(reader: RangeReader, members: list[TarMember]) -> WalkProblem | None:
    """Append every complete entry to `members`; return the problem that ended the walk."""
    size = reader.size
    if size == 0:
        return WalkProblem(rows.EMPTY_FILE, 0, "shard is 0 bytes")
    offset = 0
    pending = _Pending()
    while True:
        block = reader.read(offset, BLOCK)
        if len(block) < BLOCK:
            if not block:
                return _truncated(offset, f"no end-of-archive marker; shard ends at {offset}")
            return _truncated(offset, f"partial header at {offset}: {len(block)} of {BLOCK} bytes")
        if is_zero_block(block):
            return None
        try:
            header = parse_header(block)
        except HeaderError as error:
            return WalkProblem(error.reason, offset, f"{error.detail} (header at {offset})")
        data_offset = offset + BLOCK
        if header.sparse_extended:
            data_offset = _skip_sparse_extensions(reader, data_offset)
            if data_offset < 0:
                return _truncated(offset, f"sparse header at {offset} cut short", header.name)
        entry_size = _entry_size(header, pending)
        data_end = data_offset + entry_size
        name = header.name if pending.name is None else pending.name
        if data_end > size:
            return _truncated(
                offset,
                f"entry at {offset} needs bytes up to {data_end}; shard is {size} bytes",
                name,
            )
        next_offset = data_offset + padded(entry_size)
        if header.typeflag in (GNU_LONGNAME, PAX_HEADER):
            try:
                _read_metadata(reader, header, data_offset, pending)
            except HeaderError as error:
                return WalkProblem(error.reason, offset, f"{error.detail} (header at {offset})")
        elif header.typeflag not in (GNU_LONGLINK, PAX_GLOBAL):
            sparse = pending.sparse or header.typeflag == GNU_SPARSE
            members.append(
                TarMember(
                    raw_name=name,
                    header_offset=offset,
                    data_offset=data_offset,
                    size=entry_size,
                    type_name="sparse_file" if sparse else header.type_name,
                )
            )
            pending = _Pending()
        offset = next_offset


def _entry_size(header: TarHeader, pending: _Pending) -> int:
    """Data bytes of an entry: none for links and devices; a pax `size` wins for files."""
    if not header.has_data:
        return 0
    if pending.size is None or header.typeflag in METADATA_TYPES:
        return header.size
    return pending.size


def _read_metadata(reader: RangeReader, header: TarHeader, data_offset: int, pending: _Pending):
    """Apply a GNU long name or a pax header to `pending` (the next entry's name/size)."""
    if header.size > MAX_METADATA_SIZE:
        raise HeaderError("bad_header", f"metadata entry of {header.size} bytes")
    data = reader.read(data_offset, header.size)
    if header.typeflag == GNU_LONGNAME:
        pending.name = data.split(b"\0", 1)[0]
        return
    records = parse_pax_records(data)
    if "path" in records:
        pending.name = records["path"].encode("utf-8")
    if "size" in records:
        text = records["size"]
        if not (text.isascii() and text.isdigit()):
            raise HeaderError("bad_header", f"pax size {text!r}")
        pending.size = int(text)
    # GNU sparse files in pax form keep a sparse map in their data: not a plain image.
    if any(key.startswith("GNU.sparse.") for key in records):
        pending.sparse = True


def _skip_sparse_extensions(reader: RangeReader, offset: int) -> int:
    """Offset after old-GNU sparse extension blocks, or -1 when the shard ends inside them."""
    while True:
        block = reader.read(offset, BLOCK)
        if len(block) < BLOCK:
            return -1
        offset += BLOCK
        if block[SPARSE_EXTENSION_FLAG] == 0:
            return offset
