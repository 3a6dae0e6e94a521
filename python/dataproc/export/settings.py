"""Export settings as the dbt model receives them through `meta` (rendered YAML, often text).

dbt Python models have no `var()`; the YAML passes vars into `meta` with Jinja, which renders
them as text (`"True"`, `"1000"`). This module turns that back into typed settings and fails
with the key's name on anything it cannot read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dataproc.export.layout import check_dataset_name
from dataproc.export.metadata import DEFAULT_ROWS_PER_PART

DEFAULT_SHARD_SIZE = 1000
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", "none", "null", ""}


def parse_bool(key: str, value: Any) -> bool:
    """A boolean from a bool or its text (`true/false`, `yes/no`, `on/off`, `1/0`)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"export setting {key!r}: {value!r} is not a boolean")


def parse_positive_int(key: str, value: Any) -> int:
    """A positive integer from an int or its text."""
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError(f"export setting {key!r}: {value!r} is not an integer") from None
    if isinstance(number, bool) or number < 1:
        raise ValueError(f"export setting {key!r} must be a positive integer, got {value!r}")
    return number


@dataclass(frozen=True)
class ExportSettings:
    """What to publish: the dataset name, whether to write shards, and file sizes in rows."""

    dataset: str
    shards: bool
    shard_size: int
    rows_per_part: int

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> ExportSettings:
        """Settings from a model's `meta`: `dataset` (required), `shards` (default true),
        `shard_size` (default 1000 images) and `rows_per_part` (default 100000)."""
        dataset = str(meta.get("dataset") or "").strip()
        if not dataset:
            raise ValueError("export setting 'dataset' is missing")
        return cls(
            dataset=check_dataset_name(dataset),
            shards=parse_bool("shards", meta.get("shards", True)),
            shard_size=parse_positive_int("shard_size", meta.get("shard_size", DEFAULT_SHARD_SIZE)),
            rows_per_part=parse_positive_int(
                "rows_per_part", meta.get("rows_per_part", DEFAULT_ROWS_PER_PART)
            ),
        )


def config_snapshot(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The model's `meta` as the manifest records it, with JSON text decoded.

    Structured vars reach `meta` through Jinja's `tojson` (plain rendering would give Python
    reprs), so a text value that is a JSON object or list is stored decoded; other values are
    kept as given.
    """
    snapshot: dict[str, Any] = {}
    for key, value in meta.items():
        snapshot[str(key)] = _decoded(value)
    return snapshot


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
