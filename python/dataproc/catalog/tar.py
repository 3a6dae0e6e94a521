"""Index a tar shard in the lake from its headers, with ranged reads and no `tarfile`.

In: a `Lake` and the path of a tar object. Out: a `ShardIndex` — every entry's raw name, type,
header offset, data offset and size, the `WalkProblem`s of the entries it could not index, and
the bytes and requests the walk cost.

`tarfile` wants a file it can seek and read through; the catalog has only ranged reads, and it
decides for itself what to do with hostile names, bad checksums and truncation. The walk reads
a header, skips the entry's data (rounded up to whole blocks) and reads the next header, so it
fetches the headers plus the read-ahead slack, not the shard. GNU long names (`L`) and pax
headers (`x`: `path`, `size`) name and size the entry after them.

Every header must have the `ustar` magic and a matching checksum. Where the walk finds no valid
header, either that header is broken or the size field of the entry before it lied; the walk
scans forward block by block from that entry's data for the next valid header, rejects only the
broken entry (`bad_tar_header`) and goes on from there. A shard that ends inside an entry,
with no valid header after it, keeps the entries read before the cut (`truncated_shard`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dataproc.lake import Lake, LakeObject
from dataproc.progress import progress

BLOCK = 512
DEFAULT_READ_AHEAD = 4096
MAX_METADATA_SIZE = 1 << 20
"""Largest long-name or pax payload read; anything bigger is a hostile header."""
SCAN_WINDOW = 1 << 16
"""Bytes fetched per request while scanning for the next valid header after a broken one."""

# Reject codes of a walk that stopped early.
EMPTY_FILE = "empty_file"
TRUNCATED_SHARD = "truncated_shard"
BAD_TAR_HEADER = "bad_tar_header"

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
_MAGIC = b"ustar"  # POSIX (`ustar\0`) and GNU (`ustar  \0`) headers both start with it
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
    """An entry the walk could not index: a reject code, where it starts, and its name if known."""

    reason: str
    offset: int
    detail: str
    member: str | None = None


@dataclass(frozen=True)
class ShardIndex:
    """The members of one shard, the entries it could not index, and the IO it cost."""

    uri: str
    size: int
    members: tuple[TarMember, ...]
    problems: tuple[WalkProblem, ...]
    bytes_read: int
    requests: int


def index_shards(
    lake: Lake, shards: list[LakeObject], read_ahead: int, workers: int
) -> list[ShardIndex]:
    """Index every shard, in input order, `workers` at a time, showing the shards indexed,
    the rate and the time left (`dataproc.progress`).

    Threads suffice: the store releases the GIL while it waits on IO.
    """
    if not shards:
        return []

    def index(obj: LakeObject) -> ShardIndex:
        return index_shard(lake, obj.path, obj.size, read_ahead=read_ahead)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(shards)))) as pool:
        indexed = pool.map(index, shards)
        return list(progress(indexed, total=len(shards), desc="indexing shards", unit="shard"))


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
    walk = _Walk(reader)
    walk.run()
    return ShardIndex(
        uri=path,
        size=size,
        members=tuple(walk.members),
        problems=tuple(walk.problems),
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
    """What `L` and `x` headers say about the next entry (`broken`: why they could not be read)."""

    name: bytes | None = None
    size: int | None = None
    sparse: bool = False
    broken: str | None = None
    start: int | None = None  # offset of the first of those headers: where the entry starts


@dataclass(frozen=True)
class _Sized:
    """The last entry whose size field placed the next header: blamed when none is there."""

    header_offset: int
    data_offset: int
    size: int
    name: bytes | None
    member: TarMember | None  # None when the entry was not indexed (metadata or rejected)
    rejected: bool = False


class _Walk:
    """One walk over a shard's headers, collecting `members` and `problems` in shard order."""

    def __init__(self, reader: RangeReader) -> None:
        self.reader = reader
        self.members: list[TarMember] = []
        self.problems: list[WalkProblem] = []

    def run(self) -> None:
        size = self.reader.size
        if size == 0:
            self.problems.append(WalkProblem(EMPTY_FILE, 0, "shard is 0 bytes"))
            return
        offset: int | None = 0
        pending = _Pending()
        previous: _Sized | None = None
        while offset is not None:
            block = self.reader.read(offset, BLOCK)
            if len(block) < BLOCK:
                detail = f"partial header at {offset}: {len(block)} of {BLOCK} bytes"
                if not block:
                    detail = f"no end-of-archive marker; shard ends at {offset}"
                self.problems.append(_truncated(offset, detail))
                return
            if block.count(0) == BLOCK:
                return
            try:
                header = parse_header(block)
            except HeaderError as error:
                offset = self._resync(offset, block, error.detail, previous, pending)
                pending, previous = _Pending(), None
                continue
            data_offset = offset + BLOCK
            if header.sparse_extended:
                data_offset = _skip_sparse_extensions(self.reader, data_offset)
                if data_offset < 0:
                    detail = f"sparse header at {offset} cut short"
                    self.problems.append(_truncated(offset, detail, header.name))
                    return
            entry_size = _entry_size(header, pending)
            name = header.name if pending.name is None else pending.name
            start = offset if pending.start is None else pending.start
            if data_offset + entry_size > size:
                offset = self._past_the_end(start, data_offset, entry_size, name)
                pending, previous = _Pending(), None
                continue
            next_offset = data_offset + padded(entry_size)
            if header.typeflag in (GNU_LONGNAME, PAX_HEADER):
                pending.start = start
                try:
                    _read_metadata(self.reader, header, data_offset, pending)
                except HeaderError as error:
                    pending.broken = pending.broken or f"{error.detail} (header at {offset})"
                previous = _Sized(offset, data_offset, entry_size, None, None)
            elif header.typeflag in (GNU_LONGLINK, PAX_GLOBAL):
                previous = _Sized(offset, data_offset, entry_size, None, None)
            else:
                previous = self._entry(
                    header, pending, (start, offset, data_offset), entry_size, name
                )
                pending = _Pending()
            offset = next_offset

    def _entry(
        self,
        header: TarHeader,
        pending: _Pending,
        offsets: tuple[int, int, int],
        size: int,
        name: bytes,
    ) -> _Sized | None:
        """Index one entry (or reject it when its metadata was broken); what placed the next.

        `offsets`: where the entry starts (its first `L`/`x` header), its own header, its data.
        """
        start, header_offset, data_offset = offsets
        if pending.broken is not None:
            self.problems.append(_bad_header(start, pending.broken, name))
            return _Sized(start, data_offset, size, name, None, rejected=True)
        sparse = pending.sparse or header.typeflag == GNU_SPARSE
        member = TarMember(
            raw_name=name,
            header_offset=header_offset,
            data_offset=data_offset,
            size=size,
            type_name="sparse_file" if sparse else header.type_name,
        )
        self.members.append(member)
        if not header.has_data:
            return None  # no size field in play: the next header follows this one
        return _Sized(start, data_offset, size, name, member)

    def _resync(
        self,
        offset: int,
        block: bytes,
        detail: str,
        previous: _Sized | None,
        pending: _Pending,
    ) -> int | None:
        """Reject the entry to blame for the invalid block at `offset`; where the walk goes on.

        The scan starts at the data of the entry whose size led here. A valid header found
        before `offset` proves that size too long; a block with neither the `ustar` magic nor
        a matching checksum is data, so that size was wrong too. Otherwise the header at
        `offset` itself is broken.
        """
        start = previous.data_offset if previous is not None else offset + BLOCK
        found = _next_header(self.reader, start)
        resumed = "no valid header after it" if found is None else f"next valid header at {found}"
        looks_like_header = block[257:262] == _MAGIC or checksum_ok(block)
        blame_previous = previous is not None and (
            (found is not None and found < offset) or not looks_like_header
        )
        if previous is not None and blame_previous:
            if previous.member is not None:
                self.members.remove(previous.member)
            if not previous.rejected:
                self.problems.append(
                    _bad_header(
                        previous.header_offset,
                        f"its size of {previous.size} bytes leads to no valid header "
                        f"at {offset}; {resumed}",
                        previous.name,
                    )
                )
        else:
            name = pending.name if pending.name is not None else _cstring(block[0:100])
            start_offset = offset if pending.start is None else pending.start
            self.problems.append(
                _bad_header(start_offset, f"{detail} (header at {offset}); {resumed}", name)
            )
        return found

    def _past_the_end(self, start: int, data_offset: int, size: int, name: bytes) -> int | None:
        """An entry whose data would run past the end: a lying size field if a valid header
        follows it (reject the entry, go on there), else a shard cut inside it."""
        found = _next_header(self.reader, data_offset)
        shard_size = self.reader.size
        if found is None:
            needed = data_offset + size
            detail = f"entry at {start} needs bytes up to {needed}; shard is {shard_size} bytes"
            self.problems.append(_truncated(start, detail, name))
            return None
        detail = (
            f"its size of {size} bytes runs past the end of the shard "
            f"({shard_size} bytes); next valid header at {found}"
        )
        self.problems.append(_bad_header(start, detail, name))
        return found


def _next_header(reader: RangeReader, start: int) -> int | None:
    """The offset of the first valid header or end-of-archive marker (two zero blocks, or one
    that ends the shard) at or after the block-aligned `start`; None when there is none."""
    position = start
    while position + BLOCK <= reader.size:
        window = reader.read(position, SCAN_WINDOW)
        for at in range(0, len(window) - BLOCK + 1, BLOCK):
            block = window[at : at + BLOCK]
            if block.count(0) == BLOCK:
                following = reader.read(position + at + BLOCK, BLOCK)
                if following.count(0) == len(following):
                    return position + at
            elif _is_header(block):
                return position + at
        position += len(window) - len(window) % BLOCK
    return None


def _is_header(block: bytes) -> bool:
    try:
        parse_header(block)
    except HeaderError:
        return False
    return True


def _bad_header(offset: int, detail: str, member: bytes | None) -> WalkProblem:
    name = None if member is None else member.decode("utf-8", errors="backslashreplace")
    return WalkProblem(BAD_TAR_HEADER, offset, detail, name)


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
        raise HeaderError(f"metadata entry of {header.size} bytes")
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
            raise HeaderError(f"pax size {text!r}")
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
    """A header that cannot be read (its entry is a `bad_tar_header` reject)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
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
    """Decode one non-zero header block; raises `HeaderError` for a bad checksum, a missing
    `ustar` magic or a bad field."""
    if len(block) != BLOCK:
        raise HeaderError(f"header block of {len(block)} bytes")
    if not checksum_ok(block):
        raise HeaderError("header checksum does not match")
    if block[257:262] != _MAGIC:
        raise HeaderError(f"no ustar magic: {bytes(block[257:265])!r}")
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
            raise HeaderError(f"negative base-256 number {field.hex()}")
        return int.from_bytes(field[1:], "big")
    text = _cstring(field).strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise HeaderError(f"not an octal number: {text!r}") from None


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
            raise HeaderError(f"malformed pax record at byte {pos}")
        key, equals, value = record[space - pos + 1 : -1].partition(b"=")
        if not equals:
            raise HeaderError(f"pax record without '=' at byte {pos}")
        try:
            records[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise HeaderError(f"pax record not UTF-8 at byte {pos}") from None
        pos += length
    return records


def padded(size: int) -> int:
    """`size` rounded up to a whole number of blocks."""
    return -(-size // BLOCK) * BLOCK


def _cstring(field: bytes) -> bytes:
    return field.split(b"\0", 1)[0]
