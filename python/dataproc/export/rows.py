"""The rows to export: checked against the export contract, sorted, split, and as JSON.

In: the export rows (an Arrow table or reader), one row per image. Out: the same rows checked,
sorted by `image_id` and in one chunk; the slices that become metadata parquet parts; and any
row as canonical JSON (the `.json` member of its shard sample).

`image_id` names the image everywhere in a version (parquet, shard member names, WebDataset
keys), so it must be unique, non-null and made of `[A-Za-z0-9_-]`: WebDataset splits a member
name into key and extension at the first dot, and a `/` would make folders. Sorting by
`image_id` makes the same rows in any input order give the same files.

JSON maps Arrow values to plain JSON: timestamps, dates and times as ISO-8601 strings, decimals
as strings (exact), binary as base64, non-finite floats as null (JSON has no NaN), map entries
as `[key, value]` pairs in their stored order.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

ID_COLUMN = "image_id"
PROMPT_COLUMN = "prompt"
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif"})
DEFAULT_IMAGE_COLUMNS = ("image_uri", "image_offset", "image_length", "image_ext")
DEFAULT_ROWS_PER_PART = 100_000

_ID_PATTERN = r"^[A-Za-z0-9_-]+$"


class ExportError(Exception):
    """A dataset version could not be published; nothing was committed."""


class InvalidRowsError(ExportError):
    """The rows to export break the export contract (missing column, null or duplicate ID, ...)."""


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


# -- checking and ordering --------------------------------------------------------------------
def prepare_rows(
    rows: pa.Table | pa.RecordBatchReader, columns: ImageColumns, *, with_images: bool
) -> pa.Table:
    """Checked rows sorted by image_id, in one chunk, without schema-level metadata.

    `with_images` requires the image location columns (they are read to build shards) and
    checks them on the rows whose uri is set; without it they are exported as given. Schema
    metadata (writer-specific keys) is dropped so it cannot make otherwise equal exports differ.
    """
    table = _read_rows(rows)
    _check_ids(table)
    _require(table, PROMPT_COLUMN, "text", _is_text)
    if with_images:
        _check_images(table, columns)
    table = table.replace_schema_metadata(None).sort_by([(ID_COLUMN, "ascending")])
    return table.combine_chunks()


def _read_rows(rows: pa.Table | pa.RecordBatchReader) -> pa.Table:
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
    """Check the image locations of the rows that have one (a NULL uri: no file, no shard)."""
    if columns.uri not in table.column_names:
        raise InvalidRowsError(f"export rows have no {columns.uri!r} column (text)")
    uri_type = table.schema.field(columns.uri).type
    if not _is_text(uri_type):
        raise InvalidRowsError(f"export column {columns.uri!r} must be text, not {uri_type}")
    table = table.filter(pc.is_valid(table[columns.uri]))
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


def split_rows(table: pa.Table, rows_per_part: int) -> Iterator[pa.Table]:
    """Consecutive slices of at most `rows_per_part` rows; none for an empty table, since a
    zero-row part breaks loaders (HF `datasets`)."""
    if rows_per_part < 1:
        raise ValueError(f"rows_per_part must be positive, got {rows_per_part}")
    for start in range(0, table.num_rows, rows_per_part):
        yield table.slice(start, rows_per_part)


# -- rows as JSON ------------------------------------------------------------------------------
def json_value(value: Any) -> Any:
    """`value` (as `pyarrow` `to_pylist` gives it) converted to JSON-ready Python values."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    raise TypeError(f"cannot export a value of type {type(value).__name__} as JSON")


def row_json(row: dict[str, Any]) -> bytes:
    """One row as compact UTF-8 JSON with sorted keys; equal rows give equal bytes."""
    text = json.dumps(
        json_value(row),
        sort_keys=True,
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    )
    return text.encode("utf-8")
