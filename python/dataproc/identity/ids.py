"""Stable image IDs: mint new ones and carry the previous run's IDs over to this run's clusters.

In: this run's sorted node keys with their final cluster labels, and the previous
`IdentityState`. Out: an `Assignment`, the ID of every node and the updated assignment, ids and
redirects tables.

**Minting.** An ID is `img_` + 16 hex characters of sha256 of the cluster's smallest key, so
the same lake history always mints the same IDs; IDs are never reused.

**Assignment.** Rules, applied to the final clusters (after the size guard):

- **Resolve.** A key's previous ID is read from the persisted assignment and followed through
  the redirects, so a key that was absent when its ID was retired comes back under the survivor.
- **Home.** Every previous ID belongs to at most one cluster now: the one holding the most of its
  present members (ties: the cluster holding the smallest such member key). Other clusters that
  hold some of its members have split off from it and do not get it.
- **Survivor.** A cluster that is home to one or more previous IDs keeps the oldest of them
  (smallest `created_run`, ties by ID string). Each other one is retired and redirected to it.
- **New.** A cluster that is home to no previous ID (new images, or a part split off from an old
  cluster) gets a freshly minted ID seeded by its smallest member key; IDs are never reused.
- **History.** Keys absent from this run keep their rows; they are not output.

A key's assignment row changes (and takes this run number) only when its ID changes, so an
unchanged input leaves every table equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.identity.state import (
    ASSIGNMENT_SCHEMA,
    IDS_SCHEMA,
    REDIRECTS_SCHEMA,
    IdentityState,
)

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


# -- assignment ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Assignment:
    """The ID of every node, and the updated persisted tables."""

    image_ids: pa.StringArray
    assignment: pa.Table
    ids: pa.Table
    redirects: pa.Table


def _lookup(values: pa.Array, keys: pa.Array, targets: pa.Array) -> pa.Array:
    """`targets[i]` where `values` equals `keys[i]`, else null."""
    position = pc.index_in(_flat(values), value_set=_flat(keys))
    return pc.take(_flat(targets), position)


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def resolve_previous(keys: pa.StringArray, previous: IdentityState) -> tuple[pa.Array, pa.Array]:
    """Each key's stored ID (null when new) and that ID followed through the redirects."""
    stored = _lookup(keys, previous.assignment["image_key"], previous.assignment["image_id"])
    target = _lookup(stored, previous.redirects["retired_id"], previous.redirects["image_id"])
    return stored, pc.coalesce(target, stored)


def _first_of_groups(*sort_keys: np.ndarray) -> np.ndarray:
    """Indices of the first row of every group of the last key, rows ordered by all keys.

    Keys are given like `np.lexsort`: the last one is the group, earlier ones order the rows
    within it (the first key is the weakest).
    """
    order = np.lexsort(sort_keys)
    group = sort_keys[-1][order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    return order[first]


def home_clusters(resolved: pa.Array, labels: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Every previous ID with its home cluster label (see the module docstring)."""
    encoded = pc.dictionary_encode(resolved)
    codes = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False)
    present = ~np.asarray(pc.is_null(resolved).to_numpy(zero_copy_only=False), dtype=bool)
    node = np.flatnonzero(present)
    code = codes[present].astype(np.int64)
    label = labels[present]
    if len(node) == 0:
        return encoded.dictionary, np.zeros(0, np.int64)
    # One row per (id, cluster): member count and smallest member.
    order = np.lexsort((node, label, code))
    code, label, node = code[order], label[order], node[order]
    start = np.ones(len(code), dtype=bool)
    start[1:] = (code[1:] != code[:-1]) | (label[1:] != label[:-1])
    starts = np.flatnonzero(start)
    counts = np.diff(np.append(starts, len(code)))
    pair_code, pair_label, pair_min = code[starts], label[starts], node[starts]
    best = _first_of_groups(pair_min, -counts, pair_code)
    home = np.full(len(encoded.dictionary), -1, dtype=np.int64)
    home[pair_code[best]] = pair_label[best]
    return encoded.dictionary, home


def _created_runs(id_values: pa.Array, ids: pa.Table) -> np.ndarray:
    created = _lookup(id_values, ids["image_id"], ids["created_run"])
    if created.null_count:
        missing = pc.filter(id_values, pc.is_null(created))[0].as_py()
        raise ValueError(f"identity state is inconsistent: {missing} is assigned but never issued")
    return created.to_numpy(zero_copy_only=False).astype(np.int64)


def _string_ranks(values: pa.Array) -> np.ndarray:
    """Rank of every string in byte order."""
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[pc.array_sort_indices(values).to_numpy()] = np.arange(len(values), dtype=np.int64)
    return ranks


def assign_ids(
    keys: pa.StringArray, labels: np.ndarray, previous: IdentityState, run: int
) -> Assignment:
    """Assign an ID to every cluster and return the updated assignment, ids and redirects.

    Vectorized over clusters: a first run names millions of them.
    """
    stored, resolved = resolve_previous(keys, previous)
    id_values, home = home_clusters(resolved, labels)
    id_values = _flat(id_values).cast(pa.string())
    num_clusters = int(labels.max()) + 1 if len(labels) else 0

    # survivor[cluster]: index into id_values of the ID the cluster keeps, -1 for none.
    survivor = np.full(num_clusters, -1, dtype=np.int64)
    retired: dict[str, str] = {}
    homed = np.flatnonzero(home >= 0)
    if len(homed):
        created = _created_runs(id_values, previous.ids)[homed]
        ranks = _string_ranks(id_values)[homed]
        order = homed[np.lexsort((ranks, created, home[homed]))]
        cluster = home[order]
        oldest = np.ones(len(order), dtype=bool)
        oldest[1:] = cluster[1:] != cluster[:-1]
        survivor[cluster[oldest]] = order[oldest]
        losers = order[~oldest]
        retired = dict(
            zip(
                id_values.take(pa.array(losers)).to_pylist(),
                id_values.take(pa.array(survivor[home[losers]])).to_pylist(),
                strict=True,
            )
        )

    _, first_member = np.unique(labels, return_index=True)
    unnamed = np.flatnonzero(survivor < 0)
    seeds = _flat(keys.take(pa.array(first_member[unnamed], pa.int64())))
    minted = mint_ids(seeds, _flat(previous.ids["image_id"]))

    # Every cluster's ID as a position in id_values followed by the minted IDs.
    position = survivor
    position[unnamed] = len(id_values) + np.arange(len(unnamed), dtype=np.int64)
    names = pa.concat_arrays([id_values, minted])
    image_ids = names.take(pa.array(position[labels], pa.int64()))
    return Assignment(
        image_ids=image_ids,
        assignment=_updated_assignment(keys, image_ids, stored, previous.assignment, run),
        ids=_updated_ids(previous.ids, minted, seeds, run),
        redirects=_updated_redirects(previous.redirects, retired, run),
    )


def _updated_assignment(
    keys: pa.StringArray,
    image_ids: pa.StringArray,
    stored: pa.Array,
    previous: pa.Table,
    run: int,
) -> pa.Table:
    """Present keys with their new IDs (run stamped where changed), plus absent keys' history."""
    stored_run = _lookup(keys, previous["image_key"], previous["assigned_run"])
    unchanged = pc.fill_null(pc.equal(stored, image_ids), False)
    assigned_run = pc.if_else(unchanged, stored_run, pa.scalar(run, pa.int64()))
    current = pa.table(
        {"image_key": keys, "image_id": image_ids, "assigned_run": assigned_run},
        schema=ASSIGNMENT_SCHEMA,
    )
    absent = previous  # a first run has no history, and no 5M-key lookup to make
    if previous.num_rows:
        absent = previous.filter(pc.invert(pc.is_in(previous["image_key"], value_set=keys)))
    if absent.num_rows == 0:
        return current.combine_chunks()  # keys are already in sorted order
    combined = pa.concat_tables([current, absent.cast(ASSIGNMENT_SCHEMA)])
    return combined.sort_by("image_key").combine_chunks()


def _updated_ids(
    previous: pa.Table, minted: pa.StringArray, seeds: pa.StringArray, run: int
) -> pa.Table:
    """Every ID ever issued, with the ones minted in this run."""
    new = pa.table(
        {
            "image_id": minted,
            "seed_key": seeds,
            "created_run": pa.array(np.full(len(minted), run, dtype=np.int64)),
        },
        schema=IDS_SCHEMA,
    )
    combined = pa.concat_tables([previous.cast(IDS_SCHEMA), new])
    return combined.sort_by("image_id").combine_chunks()


def _updated_redirects(previous: pa.Table, retired: dict[str, str], run: int) -> pa.Table:
    """Redirects with this run's retirements added and older ones re-pointed to live IDs.

    Redirects stay flat: every `retired_id` maps straight to an ID that is not retired, so one
    lookup resolves any ID ever issued.
    """
    if not retired:
        return previous.cast(REDIRECTS_SCHEMA)
    old_targets = previous["image_id"].to_pylist()
    targets = [retired.get(target, target) for target in old_targets]
    repointed = previous.set_column(1, "image_id", pa.array(targets, pa.string()))
    new = pa.table(
        {
            "retired_id": list(retired),
            "image_id": list(retired.values()),
            "retired_run": [run] * len(retired),
        },
        schema=REDIRECTS_SCHEMA,
    )
    combined = pa.concat_tables([repointed.cast(REDIRECTS_SCHEMA), new])
    return combined.sort_by("retired_id").combine_chunks()
