"""Image ID minting: `img_` + 16 hex characters, derived from a cluster's smallest key."""

from __future__ import annotations

import hashlib
from collections.abc import Container

import duckdb
import pyarrow as pa

ID_PREFIX = "img_"
ID_HEX_CHARS = 16


def _digest(text: str) -> str:
    return ID_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_HEX_CHARS]


def mint_id(seed_key: str, issued: Container[str]) -> str:
    """A new image ID for a cluster whose smallest member key is `seed_key`.

    The ID is `sha256(seed_key)` truncated, so the same lake history always mints the same IDs.
    IDs are never reused: if that value was ever issued (for instance the seed key once seeded an
    ID that has since moved on), `sha256(seed_key + "\\0" + n)` is tried for n = 1, 2, ...
    """
    candidate = _digest(seed_key)
    attempt = 0
    while candidate in issued:
        attempt += 1
        candidate = _digest(f"{seed_key}\0{attempt}")
    return candidate


def mint_ids(seed_keys: pa.StringArray, issued: pa.StringArray) -> pa.StringArray:
    """`mint_id` for each seed in order, each new ID counting as issued for the seeds after it.

    The same IDs as minting seed by seed. Normally every first choice is free, and they are
    computed in one vectorized pass (a first run mints millions); only when one clashes with an
    issued ID or with another seed's do the seeds go one by one through `mint_id`.
    """
    with duckdb.connect() as con:
        con.register("seeds", pa.table({"seed": seed_keys}))
        con.register("issued", pa.table({"image_id": issued}))
        con.execute(
            "create table first_choices as select "
            f"'{ID_PREFIX}' || sha256(seed)[1:{ID_HEX_CHARS}] as digest from seeds"
        )
        clashes = con.sql(
            "select count(*) - count(distinct digest) from first_choices"
            " union all select count(*) from first_choices semi join issued"
            " on first_choices.digest = issued.image_id"
        ).fetchall()
        if not any(count for (count,) in clashes):
            return con.table("first_choices").to_arrow_table()["digest"].combine_chunks()
    taken = set(issued.to_pylist())
    minted = []
    for seed in seed_keys.to_pylist():
        minted.append(mint_id(seed, taken))
        taken.add(minted[-1])
    return pa.array(minted, pa.string())
