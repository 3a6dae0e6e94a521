"""The two kinds of catalog output row, and the reason codes a reject can carry."""

from __future__ import annotations

from dataclasses import dataclass

STAGE = "catalog"

# Reason codes of the `rejects` table (stage `catalog`).
ABSOLUTE_PATH = "absolute_path"
PATH_TRAVERSAL = "path_traversal"
INVALID_NAME = "invalid_name"
NON_REGULAR_MEMBER = "non_regular_member"
UNSUPPORTED_EXTENSION = "unsupported_extension"
MISSING_KEY = "missing_key"
EMPTY_FILE = "empty_file"
DUPLICATE_KEY = "duplicate_key"
TRUNCATED_SHARD = "truncated_shard"
BAD_HEADER_CHECKSUM = "bad_header_checksum"
BAD_HEADER = "bad_header"
UNSUPPORTED_SHARD = "unsupported_shard"

REJECT_REASONS = (
    ABSOLUTE_PATH,
    PATH_TRAVERSAL,
    INVALID_NAME,
    NON_REGULAR_MEMBER,
    UNSUPPORTED_EXTENSION,
    MISSING_KEY,
    EMPTY_FILE,
    DUPLICATE_KEY,
    TRUNCATED_SHARD,
    BAD_HEADER_CHECKSUM,
    BAD_HEADER,
    UNSUPPORTED_SHARD,
)


def image_key(source: str, key: str) -> str | None:
    """The global key `<source>:<key>`, or None when there is no key."""
    return f"{source}:{key}" if key else None


@dataclass(frozen=True)
class CatalogRow:
    """One image: where its bytes are (`uri`, `offset`, `length`) and what it is."""

    source: str
    key: str
    uri: str
    offset: int
    length: int
    ext: str
    member: str | None = None  # tar member name, kept for duplicate rejects

    @property
    def image_key(self) -> str:
        return f"{self.source}:{self.key}"


@dataclass(frozen=True)
class RejectRow:
    """One entry the catalog refused, with a reason code and a human-readable detail.

    `position` (a byte offset in `uri`) only orders rows; it is not an output column.
    """

    image_key: str | None
    source: str
    uri: str
    member: str | None
    reason: str
    detail: str
    position: int = 0
