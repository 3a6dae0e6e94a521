"""Canonical JSON for export rows and manifests: sorted keys, UTF-8, fixed separators.

Arrow values are mapped to plain JSON: timestamps, dates and times as ISO-8601 strings,
decimals as strings (exact), binary as base64, non-finite floats as null (JSON has no NaN),
map entries as `[key, value]` pairs in their stored order.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any


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


def canonical_json(value: Any, *, indent: int | None = None) -> bytes:
    """`value` as UTF-8 JSON with sorted keys; equal values give equal bytes."""
    text = json.dumps(
        json_value(value),
        sort_keys=True,
        ensure_ascii=False,
        allow_nan=False,
        indent=indent,
        separators=(",", ": ") if indent is not None else (",", ":"),
    )
    return (text + "\n").encode("utf-8") if indent is not None else text.encode("utf-8")
