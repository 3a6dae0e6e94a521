"""One config channel from dbt vars to the Python stages.

dbt Python models have no `var()`. Each one's YAML passes the vars it needs as one JSON object
in `meta.settings`, rendered with `tojson` so that lists, dicts, booleans and nulls keep their
types:

    config:
      meta:
        settings: "{{ tojson({'near_dup_threshold': var('near_dup_threshold'), ...}) }}"

`read_settings(IdentitySettings, dbt.config.get("meta"))` reads that object into a stage's
settings dataclass: each field takes the var of its name (or its `metadata["var"]`), checked
against the field's type. A wrong value fails naming the var and what is allowed; a missing
var takes the field's default, or fails when there is none. Checks beyond the type (ranges,
choices) live in each dataclass's `__post_init__`, which raises `SettingsError` too.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")
META_KEY = "settings"


class SettingsError(ValueError):
    """A var that is missing or holds a value its stage cannot use."""


def settings_json(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """The decoded `meta.settings` object of a Python model (empty when absent)."""
    raw = (meta or {}).get(META_KEY)
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as error:
        raise SettingsError(
            f"meta.{META_KEY} must be a JSON object rendered with tojson: {error}"
        ) from None
    if not isinstance(value, dict):
        raise SettingsError(f"meta.{META_KEY} must be a JSON object, got {type(value).__name__}")
    return value


def read_settings(cls: type[T], meta: Mapping[str, Any] | None) -> T:
    """`cls` (a settings dataclass) built from a model's `meta.settings`, type-checked."""
    values = settings_json(meta)
    return from_values(cls, values)


def from_values(cls: type[T], values: Mapping[str, Any]) -> T:
    """`cls` from a mapping of var name -> value, each checked against its field's type."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not field.init:
            continue
        var = field.metadata.get("var", field.name)
        if var not in values:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise SettingsError(f"var {var!r} is required and was not set")
            continue
        kwargs[field.name] = check_type(var, values[var], hints[field.name])
    return cls(**kwargs)


def check_type(var: str, value: Any, expected: Any) -> Any:
    """`value` if it is of type `expected` (ints are accepted for floats), else SettingsError."""
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if expected is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return check_type(var, value, option)
            except SettingsError:
                continue
        raise SettingsError(f"var {var!r}: {value!r} is not {describe(expected)}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise SettingsError(f"var {var!r}: {value!r} is not one of {', '.join(map(repr, args))}")
    if expected is type(None):
        if value is None:
            return None
    elif expected is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif expected in (str, bool):
        if isinstance(value, expected):
            return value
    elif origin in (list, tuple) or expected in (list, tuple):
        if isinstance(value, list | tuple):
            item = args[0] if args else Any
            return tuple(check_type(f"{var}[{i}]", v, item) for i, v in enumerate(value))
    elif (origin is dict or expected is dict) and isinstance(value, Mapping):
        key_type, item = args if args else (Any, Any)
        return {
            check_type(var, k, key_type): check_type(f"{var}.{k}", v, item)
            for k, v in value.items()
        }
    raise SettingsError(f"var {var!r}: {value!r} is not {describe(expected)}")


def describe(expected: Any) -> str:
    """A type as a user reads it: `a number`, `a list of text`, `null or an integer`."""
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(option) for option in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin in (list, tuple) or expected in (list, tuple):
        return f"a list of {describe(args[0]) if args else 'values'}"
    if origin is dict or expected is dict:
        return "a mapping"
    names = {int: "an integer", float: "a number", str: "text", bool: "true or false"}
    return names.get(expected, "null" if expected is type(None) else str(expected))


def require(condition: bool, var: str, allowed: str, value: Any) -> None:
    """Raise SettingsError naming `var` and what is allowed unless `condition` holds."""
    if not condition:
        raise SettingsError(f"var {var!r}: {value!r} is not allowed; it must be {allowed}")
