"""Vectorized string building with pyarrow compute: no per-row Python."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.demo.world import TagPairs

StrLike = pa.Array | pa.ChunkedArray | str


def as_str(values: np.ndarray) -> pa.Array:
    """Integers as decimal strings."""
    return pc.cast(pa.array(values), pa.string())


def concat(*parts: StrLike) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def lookup(choices: Sequence[str] | pa.Array, index: np.ndarray) -> pa.Array:
    """`choices[index]` for every element."""
    table = choices if isinstance(choices, pa.Array) else pa.array(list(choices), pa.string())
    return table.take(pa.array(np.asarray(index, dtype=np.int64)))


def pick(which: np.ndarray, *options: pa.Array) -> pa.Array:
    """Row-wise choice among equally long arrays: `options[which[i]][i]`."""
    return pc.choose(pa.array(np.asarray(which, dtype=np.int8)), *options)


def where(mask: np.ndarray, yes: pa.Array | str, no: pa.Array | str) -> pa.Array:
    """Row-wise `yes if mask else no`."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), yes, no)


def by_case(case: np.ndarray, builders: dict[int, Callable[[np.ndarray], pa.Array]]) -> pa.Array:
    """Row-wise `builders[case[i]]`, each builder called once, on the positions of its case.

    Cheaper than building every alternative for every row when most rows take one case.
    """
    case = np.asarray(case)
    parts: list[pa.Array] = []
    index = np.empty(len(case), dtype=np.int64)
    filled = 0
    for value, build in builders.items():
        positions = np.flatnonzero(case == value)
        if len(positions) == 0:
            continue
        part = build(positions)
        index[positions] = filled + np.arange(len(positions))
        filled += len(positions)
        parts.append(part)
    if filled != len(case):
        raise ValueError("a case value has no builder")
    if not parts:
        return pa.array([], pa.string())
    return pa.concat_arrays(parts).take(pa.array(index))


def nullable(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """An int64 array with nulls where `valid` is false."""
    return pa.array(values, type=pa.int64(), mask=~np.asarray(valid, dtype=bool))


def tag_lists(pairs: TagPairs, names: pa.Array) -> pa.Array:
    """list<string> per row: the names of the row's tag ids."""
    flat = names.take(pa.array(pairs.tags))
    return pa.ListArray.from_arrays(pa.array(pairs.offsets()), flat)


def tag_strings(pairs: TagPairs, names: pa.Array) -> pa.Array:
    """Space-separated tag names per row ('' for a row without tags)."""
    return pc.binary_join(tag_lists(pairs, names), " ")
