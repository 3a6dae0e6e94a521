"""Parse tar headers (ustar, GNU, pax) from raw 512-byte blocks, without the `tarfile` module.

`tarfile` wants a file object it can seek and read through; the catalog only has ranged reads,
and it must decide for itself what to do with hostile names, bad checksums and truncation.
Everything here is pure: bytes in, values or `HeaderError` out.
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK = 512

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
SPARSE_EXTENSION_FLAG = 504  # isextended flag in each old-GNU sparse extension block


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


def padded(size: int) -> int:
    """`size` rounded up to a whole number of blocks."""
    return -(-size // BLOCK) * BLOCK


def is_zero_block(block: bytes) -> bool:
    return block.count(0) == len(block)


def _cstring(field: bytes) -> bytes:
    return field.split(b"\0", 1)[0]


def parse_number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set."""
    if field and field[0] & 0x80:
        if field[0] != 0x80:
            raise HeaderError("bad_header", f"negative base-256 number {field.hex()}")
        return int.from_bytes(field[1:], "big")
    text = _cstring(field).strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise HeaderError("bad_header", f"not an octal number: {text!r}") from None


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


def parse_header(block: bytes) -> TarHeader:
    """Decode one non-zero header block; raises `HeaderError` for a bad checksum or field."""
    if len(block) != BLOCK:
        raise HeaderError("bad_header", f"header block of {len(block)} bytes")
    if not checksum_ok(block):
        raise HeaderError("bad_header_checksum", "header checksum does not match")
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
            raise HeaderError("bad_header", f"malformed pax record at byte {pos}")
        key, equals, value = record[space - pos + 1 : -1].partition(b"=")
        if not equals:
            raise HeaderError("bad_header", f"pax record without '=' at byte {pos}")
        try:
            records[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise HeaderError("bad_header", f"pax record not UTF-8 at byte {pos}") from None
        pos += length
    return records
