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

from dataproc.identity.graph import key_positions
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


def mint_ids(
    seed_keys: pa.StringArray, issued: pa.StringArray, issued_numbers: np.ndarray | None = None
) -> pa.StringArray:
    """`mint_id` for each seed in order, each new ID counting as issued for the seeds after it.

    The same IDs as minting seed by seed. Normally every first choice is free, and they are
    computed in one vectorized pass (a first run mints millions); only when one clashes with an
    issued ID or with another seed's do the seeds go one by one through `mint_id`.
    `issued_numbers`: the sorted `id_numbers` of `issued`, when the caller has them.
    """
    with duckdb.connect() as con:
        con.register("seeds", pa.table({"seed": seed_keys}))
        first_choices = con.sql(
            f"select '{ID_PREFIX}' || sha256(seed)[1:{ID_HEX_CHARS}] as digest from seeds"
        ).to_arrow_table()["digest"]
    first_choices = _flat(first_choices)
    # Clashes are found on the IDs' numbers: no hash table of every ID ever issued.
    if issued_numbers is None:
        issued_numbers = np.sort(id_numbers(issued))
    numbers = np.sort(id_numbers(first_choices))
    repeated = bool((numbers[1:] == numbers[:-1]).any())
    if not repeated and (_positions(issued_numbers, numbers) < 0).all():
        return first_choices
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


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


# Value of every byte as a lowercase hex digit; 255 for any other byte.
_HEX_VALUE = np.full(256, 255, dtype=np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX_VALUE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)


def id_numbers(image_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The 64-bit number each image ID spells in its 16 hex characters.

    Lowercase hex sorts like the number it spells, so these numbers sort like the IDs: the
    state's lookups and sorts run on integers instead of hashing and comparing strings.
    """
    values = _flat(image_ids).cast(pa.string())
    if len(values) == 0:
        return np.zeros(0, np.uint64)
    width = len(ID_PREFIX) + ID_HEX_CHARS
    if values.null_count or not pc.all(pc.equal(pc.binary_length(values), width)).as_py():
        raise ValueError(f"identity state holds an image ID that is not {width} characters")
    _, offsets, data = values.buffers()
    first = np.frombuffer(offsets, np.int32, count=1, offset=4 * values.offset)[0]
    chars = np.frombuffer(data, np.uint8, count=width * len(values), offset=first)
    chars = chars.reshape(len(values), width)
    digits = _HEX_VALUE[chars[:, len(ID_PREFIX) :]]
    prefix = np.frombuffer(ID_PREFIX.encode(), np.uint8)
    if (digits == 255).any() or (chars[:, : len(ID_PREFIX)] != prefix).any():
        raise ValueError(f"identity state holds an image ID that is not {ID_PREFIX} + hex")
    # Two hex digits per byte, read as one big-endian 64-bit number.
    packed = (digits[:, 0::2] << 4) | digits[:, 1::2]
    return np.ascontiguousarray(packed).view(">u8").reshape(-1).astype(np.uint64)


def _positions(sorted_numbers: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Index of each of `numbers` in `sorted_numbers`, -1 where absent."""
    if len(sorted_numbers) == 0:
        return np.full(len(numbers), -1, np.int64)
    # Searching in sorted order walks the array once; millions of random searches miss the
    # cache on every step and take several times as long as the sort.
    order = np.argsort(numbers)
    position = np.empty(len(numbers), np.int64)
    position[order] = np.searchsorted(sorted_numbers, numbers[order])
    found = sorted_numbers[np.minimum(position, len(sorted_numbers) - 1)] == numbers
    return np.where(found, position, -1)


@dataclass(frozen=True)
class PreviousIds:
    """The previous state as integer positions into its issued IDs (sorted by ID, with their
    `id_numbers`).

    `stored[node]`: the ID position assigned to each present key (-1 for a new key);
    `stored_run[node]`: the run that assigned it; `resolved[node]`: the stored ID followed
    through the redirects; `absent`: the assignment rows of keys that are not nodes now.
    """

    issued: pa.Table
    issued_numbers: np.ndarray
    stored: np.ndarray
    stored_run: np.ndarray
    resolved: np.ndarray
    absent: pa.Table


def _issued_numbers(ids: pa.Table) -> np.ndarray:
    """`id_numbers` of the issued IDs, which the state keeps sorted and unique."""
    numbers = id_numbers(ids["image_id"])
    if len(numbers) > 1 and not (numbers[1:] > numbers[:-1]).all():
        raise ValueError("identity state is inconsistent: issued IDs are not sorted and unique")
    return numbers


def resolve_previous(
    keys: pa.StringArray, previous: IdentityState, stored_nodes: np.ndarray | None = None
) -> PreviousIds:
    """Each key's stored ID and that ID followed through the redirects, as ID positions.

    `stored_nodes`: the `key_positions` of the assignment's keys among `keys`, when the caller
    looked them up together with the graph's; otherwise they are looked up here.
    """
    issued, issued_numbers = previous.ids, _issued_numbers(previous.ids)
    assignment = previous.assignment
    assigned = _positions(issued_numbers, id_numbers(assignment["image_id"]))
    if (assigned < 0).any():
        missing = assignment["image_id"][int(np.flatnonzero(assigned < 0)[0])].as_py()
        raise ValueError(f"identity state is inconsistent: {missing} is assigned but never issued")
    # One lookup of the stored keys serves the IDs, the runs and the absent keys.
    node = stored_nodes
    if node is None:
        (node,) = key_positions(keys, assignment["image_key"])
    present = node >= 0
    stored = np.full(len(keys), -1, np.int64)
    stored[node[present]] = assigned[present]
    stored_run = np.zeros(len(keys), np.int64)
    stored_run[node[present]] = _flat(assignment["assigned_run"]).to_numpy()[present]

    # follow[i]: the ID that issued ID i redirects to (itself when it is live); the last
    # entry maps a new key's -1 to -1.
    follow = np.append(np.arange(len(issued_numbers), dtype=np.int64), -1)
    redirects = previous.redirects
    retired = _positions(issued_numbers, id_numbers(redirects["retired_id"]))
    target = _positions(issued_numbers, id_numbers(redirects["image_id"]))
    if (retired < 0).any() or (target < 0).any():
        raise ValueError("identity state is inconsistent: a redirect names an unissued ID")
    follow[retired] = target
    resolved = follow[stored]
    absent = assignment.filter(pa.array(~present)) if assignment.num_rows else assignment
    return PreviousIds(issued, issued_numbers, stored, stored_run, resolved, absent)


def _best_of_groups(group: np.ndarray, *tiebreaks: np.ndarray) -> np.ndarray:
    """Index of the best row of every group, in group order.

    The best row is the first by `tiebreaks`, given like `np.lexsort` keys (the last one is the
    strongest). Most groups have one row, so only the rows of larger groups are sorted by them.
    """
    order = np.argsort(group, kind="stable")
    grouped = group[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = grouped[1:] != grouped[:-1]
    starts = np.flatnonzero(start)
    sizes = np.diff(np.append(starts, len(order)))
    best = order[starts]
    shared = np.repeat(sizes > 1, sizes)  # rows of groups with more than one row
    if shared.any():
        rows = order[shared]
        ranked = rows[np.lexsort((*(key[rows] for key in tiebreaks), group[rows]))]
        first = np.ones(len(ranked), dtype=bool)
        first[1:] = group[ranked][1:] != group[ranked][:-1]
        best[sizes > 1] = ranked[first]
    return best


def home_clusters(resolved: np.ndarray, labels: np.ndarray, num_ids: int) -> np.ndarray:
    """The home cluster label of every previous ID position, -1 for none (see the docstring)."""
    home = np.full(num_ids, -1, dtype=np.int64)
    node = np.flatnonzero(resolved >= 0)
    if len(node) == 0:
        return home
    # One row per (id, cluster): member count and smallest member. A stable sort of one
    # packed key keeps the nodes ascending inside each pair.
    pair_key = (resolved[node].astype(np.uint64) << np.uint64(32)) | labels[node].astype(np.uint64)
    order = np.argsort(pair_key, kind="stable")
    pair_key, node = pair_key[order], node[order]
    start = np.ones(len(node), dtype=bool)
    start[1:] = pair_key[1:] != pair_key[:-1]
    starts = np.flatnonzero(start)
    counts = np.diff(np.append(starts, len(node)))
    pair_code = (pair_key[starts] >> np.uint64(32)).astype(np.int64)
    pair_label = (pair_key[starts] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    best = _best_of_groups(pair_code, node[starts], -counts)
    home[pair_code[best]] = pair_label[best]
    return home


def _first_members(labels: np.ndarray) -> np.ndarray:
    """The first node of every cluster, for canonical labels (label c first appears after c-1)."""
    if len(labels) == 0:
        return np.zeros(0, np.int64)
    new = np.ones(len(labels), dtype=bool)
    new[1:] = labels[1:] > np.maximum.accumulate(labels)[:-1]
    return np.flatnonzero(new)


def assign_ids(
    keys: pa.StringArray,
    labels: np.ndarray,
    previous: IdentityState,
    run: int,
    stored_nodes: np.ndarray | None = None,
) -> Assignment:
    """Assign an ID to every cluster and return the updated assignment, ids and redirects.

    `labels` are canonical (`graph.canonical_labels`); `stored_nodes` as for
    `resolve_previous`. Vectorized over clusters, and over integer ID positions rather than ID
    strings: a first run names millions of clusters.
    """
    prior = resolve_previous(keys, previous, stored_nodes)
    id_values = _flat(prior.issued["image_id"]).cast(pa.string())
    home = home_clusters(prior.resolved, labels, len(id_values))
    num_clusters = int(labels.max()) + 1 if len(labels) else 0

    # survivor[cluster]: position in id_values of the ID the cluster keeps, -1 for none.
    survivor = np.full(num_clusters, -1, dtype=np.int64)
    retired: dict[str, str] = {}
    homed = np.flatnonzero(home >= 0)
    if len(homed):
        created = _flat(prior.issued["created_run"]).to_numpy()[homed]
        # Positions follow the IDs' byte order, so `homed` itself breaks created_run ties.
        oldest = homed[_best_of_groups(home[homed], homed, created)]
        survivor[home[oldest]] = oldest
        losers = homed[survivor[home[homed]] != homed]
        retired = dict(
            zip(
                id_values.take(pa.array(losers)).to_pylist(),
                id_values.take(pa.array(survivor[home[losers]])).to_pylist(),
                strict=True,
            )
        )

    unnamed = np.flatnonzero(survivor < 0)
    seeds = _flat(keys.take(pa.array(_first_members(labels)[unnamed], pa.int64())))
    minted = mint_ids(seeds, id_values, prior.issued_numbers)

    # Every cluster's ID as a position in id_values followed by the minted IDs.
    position = survivor
    position[unnamed] = len(id_values) + np.arange(len(unnamed), dtype=np.int64)
    node_position = position[labels]
    names = pa.concat_arrays([id_values, minted])
    image_ids = names.take(pa.array(node_position, pa.int64()))
    # A key's row keeps its run only when its ID did not change.
    assigned_run = np.where(node_position == prior.stored, prior.stored_run, run)
    return Assignment(
        image_ids=image_ids,
        assignment=_updated_assignment(keys, image_ids, assigned_run, prior.absent),
        ids=_updated_ids(prior.issued, prior.issued_numbers, minted, seeds, run),
        redirects=_updated_redirects(previous.redirects, retired, run),
    )


def _updated_assignment(
    keys: pa.StringArray, image_ids: pa.StringArray, assigned_run: np.ndarray, absent: pa.Table
) -> pa.Table:
    """Present keys with their IDs and runs, plus absent keys' history, sorted by key."""
    current = pa.table(
        {"image_key": keys, "image_id": image_ids, "assigned_run": assigned_run},
        schema=ASSIGNMENT_SCHEMA,
    )
    if absent.num_rows == 0:
        return current.combine_chunks()  # keys are already in sorted order
    combined = pa.concat_tables([current, absent.cast(ASSIGNMENT_SCHEMA)])
    return combined.sort_by("image_key").combine_chunks()


def _updated_ids(
    issued: pa.Table,
    old_numbers: np.ndarray,
    minted: pa.StringArray,
    seeds: pa.StringArray,
    run: int,
) -> pa.Table:
    """Every ID ever issued (`issued`, sorted, with its `id_numbers`), and this run's."""
    new = pa.table(
        {
            "image_id": minted,
            "seed_key": seeds,
            "created_run": pa.array(np.full(len(minted), run, dtype=np.int64)),
        },
        schema=IDS_SCHEMA,
    )
    # A merge of the sorted issued IDs with the sorted new ones: each row's place is its index
    # among its own kind plus the rows of the other kind before it (IDs never tie).
    new_numbers = id_numbers(minted)
    new_order = np.argsort(new_numbers)
    new_numbers = new_numbers[new_order]
    old, fresh = len(old_numbers), len(new_numbers)
    place = np.empty(old + fresh, np.int64)
    place[np.arange(old) + np.searchsorted(new_numbers, old_numbers)] = np.arange(old)
    place[np.arange(fresh) + np.searchsorted(old_numbers, new_numbers)] = old + new_order
    combined = pa.concat_tables([issued.cast(IDS_SCHEMA), new])
    return combined.take(pa.array(place)).combine_chunks()


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
