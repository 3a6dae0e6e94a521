"""The rows to export: check them against the export contract and put them in a fixed order.

One row per image. `image_id` names the image everywhere in a version (parquet, shard member
names, WebDataset keys), so it must be unique, non-null and made of `[A-Za-z0-9_-]`: WebDataset
splits a member name into key and extension at the first dot, and a `/` would make folders.
Rows are sorted by `image_id`, so the same rows in any input order give the same files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from dataproc.export.errors import InvalidRowsError

ID_COLUMN = "image_id"
PROMPT_COLUMN = "prompt"
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif"})
DEFAULT_IMAGE_COLUMNS = ("image_uri", "image_offset", "image_length", "image_ext")

_ID_PATTERN = r"^[A-Za-z0-9_-]+$"


@dataclass(frozen=True)
class ImageColumns:
    """Names of the columns holding an image's lake-relative uri, byte offset, length and ext."""

    uri: str
    offset: str
    length: str
    ext: str

    @classmethod
    def from_names(cls, names: Sequence[str]) -> ImageColumns:
        if len(names) != 4:
            raise ValueError(f"image_columns needs 4 names (uri, offset, length, ext): {names}")
        return cls(*names)

    def as_dict(self) -> dict[str, str]:
        return {"uri": self.uri, "offset": self.offset, "length": self.length, "ext": self.ext}


def read_rows(rows: pa.Table | pa.RecordBatchReader) -> pa.Table:
    """All rows as one table (a reader is drained: sorting needs every row)."""
    if isinstance(rows, pa.RecordBatchReader):
        return rows.read_all()
    if isinstance(rows, pa.Table):
        return rows
    raise TypeError(f"rows must be a pyarrow Table or RecordBatchReader, not {type(rows)}")


def _require(table: pa.Table, name: str, kind: str, check: Callable[[pa.DataType], bool]) -> None:
    """Fail unless `name` exists, has a type `check` accepts, and holds no nulls."""
    if name not in table.column_names:
        raise InvalidRowsError(f"export rows have no {name!r} column ({kind})")
    if not check(table.schema.field(name).type):
        raise InvalidRowsError(
            f"export column {name!r} must be {kind}, not {table.schema.field(name).type}"
        )
    nulls = table[name].null_count
    if nulls:
        raise InvalidRowsError(f"export column {name!r} has {nulls} null value(s)")


def _first(table: pa.Table, mask: pa.ChunkedArray) -> str:
    """The image_id of the first row where `mask` holds, for error messages."""
    return table.filter(mask)[ID_COLUMN][0].as_py()


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _check_ids(table: pa.Table) -> None:
    _require(table, ID_COLUMN, "text", _is_text)
    ids = table[ID_COLUMN]
    bad = pc.invert(pc.match_substring_regex(ids, _ID_PATTERN))
    if pc.any(bad).as_py():
        raise InvalidRowsError(
            f"image_id {_first(table, bad)!r} is not made of letters, digits, '_' and '-'"
        )
    if pc.count_distinct(ids).as_py() != table.num_rows:
        counts = pc.value_counts(ids)
        repeated = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"]
        raise InvalidRowsError(f"image_id {repeated.as_py()!r} appears more than once")


def _check_images(table: pa.Table, columns: ImageColumns) -> None:
    _require(table, columns.uri, "text", _is_text)
    _require(table, columns.offset, "an integer", pa.types.is_integer)
    _require(table, columns.length, "an integer", pa.types.is_integer)
    _require(table, columns.ext, "text", _is_text)
    negative = pc.less(table[columns.offset], 0)
    if pc.any(negative).as_py():
        raise InvalidRowsError(f"image {_first(table, negative)!r} has a negative offset")
    empty = pc.less_equal(table[columns.length], 0)
    if pc.any(empty).as_py():
        raise InvalidRowsError(f"image {_first(table, empty)!r} has a length of 0 or less")
    allowed = pa.array(sorted(IMAGE_EXTENSIONS))
    unknown = pc.invert(pc.is_in(table[columns.ext], value_set=allowed))
    if pc.any(unknown).as_py():
        raise InvalidRowsError(
            f"image {_first(table, unknown)!r} has an extension outside "
            f"{sorted(IMAGE_EXTENSIONS)} (lowercase, without the dot)"
        )


def prepare_rows(
    rows: pa.Table | pa.RecordBatchReader, columns: ImageColumns, *, with_images: bool
) -> pa.Table:
    """Checked rows sorted by image_id, in one chunk, without schema-level metadata.

    `with_images` requires the image location columns (they are read to build shards); without
    it they are exported as given, if present. Schema metadata (writer-specific keys) is dropped
    so it cannot make otherwise equal exports differ.
    """
    table = read_rows(rows)
    _check_ids(table)
    _require(table, PROMPT_COLUMN, "text", _is_text)
    if with_images:
        _check_images(table, columns)
    table = table.replace_schema_metadata(None).sort_by([(ID_COLUMN, "ascending")])
    return table.combine_chunks()
