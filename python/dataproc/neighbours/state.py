"""The persisted index of one model tag, under `state/index/<model_tag>/` in the lake.

In: an `IndexState` to commit, or a model tag to read one back. Out: the committed state,
every file checked against the sha256 its manifest recorded.

Layout (generation `g` counts commits, zero-padded):

    index-<g>.usearch   the USearch index (`Index.save`); integer label -> vector
    labels-<g>.parquet  label (uint64) <-> image_key, one row per label in the index, ascending;
                        labels of removed keys are gone and never reused (`next_label`)
    pairs-<g>.parquet   directed neighbour rows kept by the last search: query_key,
                        neighbor_key, score (exact cosine), with the parameters they depend on
    manifest.json       names the files above, their sha256 and the parameters; written last

The manifest is the commit point (`Lake.commit`). Data files of a new generation are written
under new names first, so a write killed before the manifest leaves the previous generation
intact and readable; files no manifest names are removed after the next commit.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dataproc.lake import WHOLE_READ_ROW_GROUP_SIZE, Lake, parquet_bytes

# 3: labels may have gaps (removed keys) and the manifest records `next_label`.
# An index of another format is rebuilt.
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
PAIRS_SCHEMA = pa.schema(
    [("query_key", pa.string()), ("neighbor_key", pa.string()), ("score", pa.float64())]
)
LABELS_SCHEMA = pa.schema([("label", pa.uint64()), ("image_key", pa.string())])
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+=-]*")


@dataclass
class IndexState:
    """An index with the key of every label and the neighbour rows of its last search.

    Attributes:
        index: the USearch index.
        labels: uint64 label of each vector in the index, ascending.
        keys: image_key of each label in `labels`.
        next_label: the label the next added vector gets; labels are never reused.
        build: `IndexSettings.build_params()` the index was built with.
        pairs: directed rows (PAIRS_SCHEMA) kept by the last search, or None if none are valid.
        search: the search parameters `pairs` depends on (k, threshold, max_candidates).
        generation: the committed generation this state was read from (0 if never saved).
    """

    index: Any
    labels: np.ndarray
    keys: pa.StringArray
    next_label: int
    build: dict[str, Any]
    pairs: pa.Table | None
    search: dict[str, Any]
    generation: int = 0


def index_prefix(model_tag: str) -> str:
    """The lake prefix of a model tag's index; rejects tags that are not one path segment."""
    if not _TAG.fullmatch(model_tag):
        raise ValueError(
            f"model tag {model_tag!r} cannot name a lake directory: use letters, digits and ._@:+=-"
        )
    return f"state/index/{model_tag}"


def load_index_state(lake: Lake, model_tag: str) -> IndexState | None:
    """Read the committed index of `model_tag`, or None if there is none (or of another format).

    Every file is checked against the sha256 in the manifest; a mismatch raises, because it means
    the state was changed outside the pipeline.
    """
    from usearch.index import Index

    prefix = index_prefix(model_tag)
    manifest = lake.get_json(f"{prefix}/{MANIFEST}")
    if manifest is None or manifest.get("format_version") != FORMAT_VERSION:
        return None
    files, digests = manifest["files"], manifest["sha256"]
    labels = _read_checked(lake, f"{prefix}/{files['labels']}", digests)
    keys = labels.column("image_key").combine_chunks()
    label_values = labels.column("label").to_numpy()
    ascending = bool((np.diff(label_values.astype(np.int64)) > 0).all())
    if (
        len(keys) != manifest["size"]
        or not ascending
        or label_values[-1:] >= manifest["next_label"]
    ):
        raise ValueError(
            f"{prefix}/{files['labels']}: not {manifest['size']} ascending labels below "
            f"{manifest['next_label']}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "index.usearch"
        path = f"{prefix}/{files['index']}"
        if lake.download(path, local) != digests.get(path):
            raise ValueError(f"{lake.url(path)}: sha256 does not match its manifest")
        index = Index.restore(str(local))
    if index is None or len(index) != len(keys):
        found = 0 if index is None else len(index)
        raise ValueError(f"{prefix}/{files['index']}: holds {found} vectors, not {len(keys)}")
    # The file keeps the graph and connectivity, not the search widths: restore those.
    index.expansion_add = int(manifest["build"]["expansion_add"])
    pairs = None
    if files.get("pairs"):
        pairs = _read_checked(lake, f"{prefix}/{files['pairs']}", digests).cast(PAIRS_SCHEMA)
    return IndexState(
        index=index,
        labels=label_values,
        keys=keys,
        next_label=manifest["next_label"],
        build=manifest["build"],
        pairs=pairs,
        search=manifest["search"],
        generation=manifest["generation"],
    )


def save_index_state(lake: Lake, model_tag: str, state: IndexState) -> int:
    """Commit `state` as the next generation and return its number.

    The index, labels and pairs are written first, the manifest last; afterwards files of other
    generations are deleted. Outputs are byte-identical for identical states.
    """
    prefix = index_prefix(model_tag)
    generation = state.generation + 1
    stem = f"{generation:06d}"
    names = {
        "index": f"index-{stem}.usearch",
        "labels": f"labels-{stem}.parquet",
        "pairs": f"pairs-{stem}.parquet" if state.pairs is not None else None,
    }
    labels = pa.table(
        {"label": pa.array(state.labels, pa.uint64()), "image_key": state.keys},
        schema=LABELS_SCHEMA,
    )
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_tag": model_tag,
        "generation": generation,
        "size": len(state.keys),
        "next_label": state.next_label,
        "ndim": int(state.index.ndim),
        "build": state.build,
        "search": state.search,
        "files": names,
    }
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "index.usearch"
        state.index.save(str(local))
        files: dict[str, bytes | Path] = {
            f"{prefix}/{names['index']}": local,
            f"{prefix}/{names['labels']}": parquet_bytes(labels, WHOLE_READ_ROW_GROUP_SIZE),
        }
        if state.pairs is not None:
            pairs = state.pairs.cast(PAIRS_SCHEMA)
            files[f"{prefix}/{names['pairs']}"] = parquet_bytes(pairs, WHOLE_READ_ROW_GROUP_SIZE)
        committed = lake.commit(files, f"{prefix}/{MANIFEST}", manifest)
    keep = {f"{prefix}/{MANIFEST}", *committed["sha256"]}
    lake.delete(obj.path for obj in lake.list(prefix) if obj.path not in keep)
    state.generation = generation
    return generation


def _read_checked(lake: Lake, path: str, digests: dict[str, str]) -> pa.Table:
    """A parquet object of the index, after checking it against the manifest's digest."""
    return lake.read_parquet(path, sha256=digests.get(path, ""))
