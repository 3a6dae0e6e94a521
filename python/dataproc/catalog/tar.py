"""Index a tar shard in the lake from its headers, with ranged reads and no `tarfile`.

In: a `Lake` and the path of a tar object. Out: a `ShardIndex` — every entry's raw name, type,
header offset, data offset and size, the `WalkProblem` that stopped the walk early (if any),
and the bytes and requests the walk cost.

`tarfile` wants a file it can seek and read through; the catalog has only ranged reads, and it
decides for itself what to do with hostile names, bad checksums and truncation. The walk reads
a header, skips the entry's data (rounded up to whole blocks) and reads the next header, so it
fetches the headers plus the read-ahead slack, not the shard. GNU long names (`L`) and pax
headers (`x`: `path`, `size`) name and size the entry after them. A truncated shard keeps the
entries read before the cut; a bad header stops the walk.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dataproc.lake import Lake, LakeObject

BLOCK = 512
DEFAULT_READ_AHEAD = 4096
MAX_METADATA_SIZE = 1 << 20
"""Largest long-name or pax payload read; anything bigger is a hostile header."""

# Reject codes of a walk that stopped early.
EMPTY_FILE = "empty_file"
TRUNCATED_SHARD = "truncated_shard"
BAD_HEADER_CHECKSUM = "bad_header_checksum"
BAD_HEADER = "bad_header"

REGULAR_TYPES = frozenset({b"0", b"\0", b"7"})
GNU_LONGNAME = b"L"
GNU_LONGLINK = b"K"
GNU_SPARSE = b"S"
PAX_HEADER = b"x"
PAX_GLOBAL = b"g"
METADATA_TYPES = frozenset({GNU_LONGNAME, GNU_LONGLINK, PAX_HEADER, PAX_GLOBAL})
# Entry types whose size field does not count data blocks (as `tarfile` reads them).
DATALESS_TYPES = frozenset({b"1", b"2", b"3", b"4", b"5", b"6"})
TYPE_NAMES = {
    b"1": "hardlink",
    b"2": "symlink",
    b"3": "character_device",
    b"4": "block_device",
    b"5": "directory",
    b"6": "fifo",
    GNU_SPARSE: "sparse_file",
    b"V": "volume_label",
    b"M": "multivolume_continuation",
}
_POSIX_MAGIC = b"ustar\x00"
_OLD_GNU_SPARSE_EXTENDED = 482  # isextended flag in an old-GNU sparse header
_SPARSE_EXTENSION_FLAG = 504  # isextended flag in each old-GNU sparse extension block


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

    uri: str
    size: int
    members: tuple[TarMember, ...]
    problem: WalkProblem | None
    bytes_read: int
    requests: int


def index_shards(
    lake: Lake, shards: list[LakeObject], read_ahead: int, workers: int
) -> list[ShardIndex]:
    """Index every shard, in input order, `workers` at a time.

    Threads suffice: the store releases the GIL while it waits on IO.
    """
    if not shards:
        return []

    def index(obj: LakeObject) -> ShardIndex:
        return index_shard(lake, obj.path, obj.size, read_ahead=read_ahead)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(shards)))) as pool:
        return list(pool.map(index, shards))


def index_shard(
    lake: Lake, path: str, size: int | None = None, *, read_ahead: int = DEFAULT_READ_AHEAD
) -> ShardIndex:
    """Walk the headers of the tar object at `path` (its size from `Lake.head` when not given)."""
    if size is None:
        found = lake.head(path)
        if found is None:
            raise FileNotFoundError(f"{lake.url(path)} does not exist")
        size = found.size
    reader = RangeReader(lake, path, size, read_ahead)
    members: list[TarMember] = []
    problem = _walk(reader, members)
    return ShardIndex(
        uri=path,
        size=size,
        members=tuple(members),
        problem=problem,
        bytes_read=reader.bytes_read,
        requests=reader.requests,
    )


class RangeReader:
    """Serves `read(start, length)` of one object from a cached window of `Lake.get` bytes.

    Each miss fetches a window that starts at the requested offset, so small members
    (WebDataset `.json` sidecars) and the header after them come back in one request, while
    large image bodies are skipped. The counters show how little of the shard was fetched.
    """

    def __init__(self, lake: Lake, path: str, size: int, read_ahead: int = DEFAULT_READ_AHEAD):
        if read_ahead < 1:
            raise ValueError("read_ahead must be positive")
        self.lake = lake
        self.path = path
        self.size = size
        self.read_ahead = read_ahead
        self.bytes_read = 0
        self.requests = 0
        self._window = b""
        self._window_start = 0

    def read(self, start: int, length: int) -> bytes:
        """Bytes `[start, start + length)`; fewer when the object ends first."""
        end = min(start + length, self.size)
        if start >= end:
            return b""
        window_end = self._window_start + len(self._window)
        if not (self._window_start <= start and end <= window_end):
            fetch_end = min(self.size, max(end, start + self.read_ahead))
            self._window = self.lake.get(self.path, start, fetch_end)
            self._window_start = start
            self.bytes_read += len(self._window)
            self.requests += 1
        offset = start - self._window_start
        return self._window[offset : offset + (end - start)]


@dataclass
class _Pending:
    """What `L` and `x` headers say about the next entry."""

    name: bytes | None = None
    size: int | None = None
    sparse: bool = False


def _walk(reader: RangeReader, members: list[TarMember]) -> WalkProblem | None:
    """Append every complete entry to `members`; return the problem that ended the walk."""
    size = reader.size
    if size == 0:
        return WalkProblem(EMPTY_FILE, 0, "shard is 0 bytes")
    offset = 0
    pending = _Pending()
    while True:
        block = reader.read(offset, BLOCK)
        if len(block) < BLOCK:
            if not block:
                return _truncated(offset, f"no end-of-archive marker; shard ends at {offset}")
            return _truncated(offset, f"partial header at {offset}: {len(block)} of {BLOCK} bytes")
        if block.count(0) == BLOCK:
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


def _truncated(offset: int, detail: str, member: bytes | None = None) -> WalkProblem:
    name = None if member is None else member.decode("utf-8", errors="backslashreplace")
    return WalkProblem(TRUNCATED_SHARD, offset, detail, name)


def _entry_size(header: TarHeader, pending: _Pending) -> int:
    """Data bytes of an entry: none for links and devices; a pax `size` wins for files."""
    if not header.has_data:
        return 0
    if pending.size is None or header.typeflag in METADATA_TYPES:
        return header.size
    return pending.size


def _read_metadata(
    reader: RangeReader, header: TarHeader, data_offset: int, pending: _Pending
) -> None:
    """Apply a GNU long name or a pax header to `pending` (the next entry's name/size)."""
    if header.size > MAX_METADATA_SIZE:
        raise HeaderError(BAD_HEADER, f"metadata entry of {header.size} bytes")
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
            raise HeaderError(BAD_HEADER, f"pax size {text!r}")
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
        if block[_SPARSE_EXTENSION_FLAG] == 0:
            return offset


# -- header blocks (ustar, GNU, pax): pure, bytes in, values or HeaderError out -----------------


class HeaderError(ValueError):
    """A header that cannot be read; `reason` is a reject code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class TarHeader:
    """The fields of one header block that indexing needs."""

    name: bytes
    size: int
    typeflag: bytes
    sparse_extended: bool = False

    @property
    def is_regular(self) -> bool:
        return self.typeflag in REGULAR_TYPES and not self.name.endswith(b"/")

    @property
    def type_name(self) -> str:
        if self.typeflag in REGULAR_TYPES:
            return "directory" if self.name.endswith(b"/") else "regular"
        return TYPE_NAMES.get(self.typeflag, f"type_{self.typeflag!r}")

    @property
    def has_data(self) -> bool:
        """Whether data blocks follow the header (links, dirs and devices have none)."""
        return self.typeflag not in DATALESS_TYPES


def parse_header(block: bytes) -> TarHeader:
    """Decode one non-zero header block; raises `HeaderError` for a bad checksum or field."""
    if len(block) != BLOCK:
        raise HeaderError(BAD_HEADER, f"header block of {len(block)} bytes")
    if not checksum_ok(block):
        raise HeaderError(BAD_HEADER_CHECKSUM, "header checksum does not match")
    name = _cstring(block[0:100])
    # Only POSIX ustar has a prefix field; GNU keeps other data at those bytes.
    if block[257:263] == _POSIX_MAGIC:
        prefix = _cstring(block[345:500])
        if prefix:
            name = prefix + b"/" + name
    typeflag = block[156:157]
    size = parse_number(block[124:136])
    sparse_extended = typeflag == GNU_SPARSE and block[_OLD_GNU_SPARSE_EXTENDED] != 0
    return TarHeader(name=name, size=size, typeflag=typeflag, sparse_extended=sparse_extended)


def checksum_ok(block: bytes) -> bool:
    """Whether the stored checksum matches, as unsigned or (old writers) signed byte sums."""
    try:
        stored = parse_number(block[148:156])
    except HeaderError:
        return False
    rest = block[:148] + b" " * 8 + block[156:]
    unsigned = sum(rest)
    signed = unsigned - 256 * sum(1 for byte in rest if byte >= 0x80)
    return stored in (unsigned, signed)


def parse_number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set."""
    if field and field[0] & 0x80:
        if field[0] != 0x80:
            raise HeaderError(BAD_HEADER, f"negative base-256 number {field.hex()}")
        return int.from_bytes(field[1:], "big")
    text = _cstring(field).strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise HeaderError(BAD_HEADER, f"not an octal number: {text!r}") from None


def parse_pax_records(data: bytes) -> dict[str, str]:
    """The `key=value` records of a pax extended header (`"<len> <key>=<value>\\n"` each)."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:  # some writers pad the data block with NULs
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        record = data[pos : pos + length]
        if length <= 0 or len(record) != length or not record.endswith(b"\n"):
            raise HeaderError(BAD_HEADER, f"malformed pax record at byte {pos}")
        key, equals, value = record[space - pos + 1 : -1].partition(b"=")
        if not equals:
            raise HeaderError(BAD_HEADER, f"pax record without '=' at byte {pos}")
        try:
            records[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise HeaderError(BAD_HEADER, f"pax record not UTF-8 at byte {pos}") from None
        pos += length
    return records


def padded(size: int) -> int:
    """`size` rounded up to a whole number of blocks."""
    return -(-size // BLOCK) * BLOCK


def _cstring(field: bytes) -> bytes:
    return field.split(b"\0", 1)[0]
