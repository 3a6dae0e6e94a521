"""Image references: where an image's bytes are in the lake.

A reference is `(image_key, uri, offset, length)`. A file per image has offset 0 and its size (or
a null length, meaning "to the end"); a tar shard member has the member's data offset and size.
`uri` is a path relative to the lake root, or a full URL/path under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

REF_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("offset", pa.int64()),
        pa.field("length", pa.int64()),
    ]
)


@dataclass(frozen=True)
class ImageRef:
    """One image's location: `length=None` reads from `offset` to the end of the object."""

    image_key: str
    uri: str
    offset: int = 0
    length: int | None = None

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> ImageRef:
        """Build from a dict-like row; a missing or null offset means 0."""
        length = row.get("length")
        return cls(
            image_key=str(row["image_key"]),
            uri=str(row["uri"]),
            offset=int(row.get("offset") or 0),
            length=None if length is None else int(length),
        )


Refs = pa.Table | pa.RecordBatch | Iterable[ImageRef | Mapping[str, Any]]


def as_refs(refs: Refs) -> list[ImageRef]:
    """Normalize an Arrow table/batch or an iterable of refs or dicts to a list of `ImageRef`.

    Extra columns (e.g. the catalog's `source`, `ext`) are ignored.
    """
    if isinstance(refs, pa.Table | pa.RecordBatch):
        missing = {"image_key", "uri"} - set(refs.schema.names)
        if missing:
            raise ValueError(f"image refs lack column(s): {sorted(missing)}")
        wanted = [name for name in REF_SCHEMA.names if name in refs.schema.names]
        return [ImageRef.from_mapping(row) for row in refs.select(wanted).to_pylist()]
    return [ref if isinstance(ref, ImageRef) else ImageRef.from_mapping(ref) for ref in refs]


def refs_to_table(refs: Sequence[ImageRef]) -> pa.Table:
    """The Arrow form of a list of refs (what the client sends to a sidecar)."""
    return pa.table(
        {
            "image_key": [r.image_key for r in refs],
            "uri": [r.uri for r in refs],
            "offset": [r.offset for r in refs],
            "length": [r.length for r in refs],
        },
        schema=REF_SCHEMA,
    )
