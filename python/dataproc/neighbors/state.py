"""The persisted index of one model tag, under `state/index/<model_tag>/` in the lake.

Layout (generation `g` counts commits, zero-padded):

    index-<g>.usearch   the USearch index (`Index.save`); integer label -> vector
    labels-<g>.parquet  label (uint64) <-> image_key, one row per label, label = row number
    pairs-<g>.parquet   directed neighbour rows kept by the last search: query_key,
                        neighbor_key, score (exact cosine), with the parameters they depend on
    manifest.json       names the files above, their sha256 and the parameters; written last

The manifest is the commit point. Data files of a new generation are written under new names
first, so a write killed before the manifest leaves the previous generation intact and readable;
files no manifest names are removed after the next commit.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import obstore
import pyarrow as pa
import pyarrow.parquet as pq
from obstore.exceptions import NotFoundError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAIRS_SCHEMA = pa.schema(
    [("query_key", pa.string()), ("neighbor_key", pa.string()), ("score", pa.float64())]
)
LABELS_SCHEMA = pa.schema([("label", pa.uint64()), ("image_key", pa.string())])
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+=-]*")
_CHUNK = 8 << 20


@dataclass
class IndexState:
    """An index with the key of every label and the neighbour rows of its last search.

    Attributes:
        index: the USearch index; labels are 0..len(keys)-1.
        keys: image_key of each label (position = label).
        build: `IndexSettings.build_params()` the index was built with.
        pairs: directed rows (PAIRS_SCHEMA) kept by the last search, or None if none are valid.
        search: the search parameters `pairs` depends on (k, threshold, max_candidates).
        generation: the committed generation this state was read from (0 if never saved).
    """

    index: Any
    keys: pa.StringArray
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


def load_index_state(store: Any, model_tag: str) -> IndexState | None:
    """Read the committed index of `model_tag`, or None if there is none.

    Every file is checked against the sha256 in the manifest; a mismatch raises, because it means
    the state was changed outside the pipeline.
    """
    from usearch.index import Index

    prefix = index_prefix(model_tag)
    try:
        raw = obstore.get(store, f"{prefix}/{MANIFEST}").bytes()
    except (FileNotFoundError, NotFoundError):
        return None
    manifest = json.loads(bytes(raw))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{prefix}/{MANIFEST}: unsupported format {manifest.get('format_version')}"
        )
    files, digests = manifest["files"], manifest["sha256"]
    labels = _read_parquet(_get_checked(store, prefix, files["labels"], digests))
    keys = labels.column("image_key").combine_chunks()
    label_values = labels.column("label").to_numpy()
    if len(keys) != manifest["size"] or (label_values != np.arange(len(keys))).any():
        raise ValueError(f"{prefix}/{files['labels']}: labels are not 0..{manifest['size'] - 1}")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "index.usearch"
        _download_checked(store, prefix, files["index"], local, digests)
        index = Index.restore(str(local))
    if index is None or len(index) != len(keys):
        found = 0 if index is None else len(index)
        raise ValueError(f"{prefix}/{files['index']}: holds {found} vectors, not {len(keys)}")
    # The file keeps the graph and connectivity, not the search widths: restore those.
    index.expansion_add = int(manifest["build"]["expansion_add"])
    pairs = None
    if files.get("pairs"):
        body = _get_checked(store, prefix, files["pairs"], digests)
        pairs = _read_parquet(body).cast(PAIRS_SCHEMA)
    return IndexState(
        index=index,
        keys=keys,
        build=manifest["build"],
        pairs=pairs,
        search=manifest["search"],
        generation=manifest["generation"],
    )


def save_index_state(store: Any, model_tag: str, state: IndexState) -> int:
    """Commit `state` as the next generation and return its number.

    Order: index, labels, pairs, then the manifest; afterwards files of other generations are
    deleted. Outputs are byte-identical for identical states.
    """
    prefix = index_prefix(model_tag)
    generation = state.generation + 1
    stem = f"{generation:06d}"
    files = {
        "index": f"index-{stem}.usearch",
        "labels": f"labels-{stem}.parquet",
        "pairs": f"pairs-{stem}.parquet" if state.pairs is not None else None,
    }
    digests: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "index.usearch"
        state.index.save(str(local))
        digests[files["index"]] = _file_sha256(local)
        obstore.put(store, f"{prefix}/{files['index']}", local)
    labels = pa.table(
        {"label": pa.array(np.arange(len(state.keys), dtype=np.uint64)), "image_key": state.keys},
        schema=LABELS_SCHEMA,
    )
    digests[files["labels"]] = _put_parquet(store, f"{prefix}/{files['labels']}", labels)
    if state.pairs is not None:
        pairs = state.pairs.cast(PAIRS_SCHEMA)
        digests[files["pairs"]] = _put_parquet(store, f"{prefix}/{files['pairs']}", pairs)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_tag": model_tag,
        "generation": generation,
        "size": len(state.keys),
        "ndim": int(state.index.ndim),
        "build": state.build,
        "search": state.search,
        "files": files,
        "sha256": digests,
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    obstore.put(store, f"{prefix}/{MANIFEST}", body)
    _delete_unreferenced(store, prefix, {MANIFEST, *digests})
    state.generation = generation
    return generation


def _put_parquet(store: Any, path: str, table: pa.Table) -> str:
    """Write `table` as one parquet object; returns its sha256."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    body = sink.getvalue()
    obstore.put(store, path, body)
    return hashlib.sha256(body).hexdigest()


def _read_parquet(body: bytes) -> pa.Table:
    """A parquet object held in memory, as a table.

    `ParquetFile` reads on the calling thread's terms; `pq.read_table` on a Python buffer goes
    through the dataset scanner, which can release the buffer from a worker thread while the
    interpreter shuts down and abort the process.
    """
    return pq.ParquetFile(pa.BufferReader(body)).read()


def _get_checked(store: Any, prefix: str, name: str, digests: dict[str, str]) -> bytes:
    """Fetch a small object whole and check it against the manifest's digest."""
    body = bytes(obstore.get(store, f"{prefix}/{name}").bytes())
    _check_digest(prefix, name, hashlib.sha256(body).hexdigest(), digests)
    return body


def _download_checked(
    store: Any, prefix: str, name: str, local: Path, digests: dict[str, str]
) -> None:
    """Stream a (possibly large) object to `local` and check it against the manifest's digest."""
    digest = hashlib.sha256()
    with local.open("wb") as out:
        for chunk in obstore.get(store, f"{prefix}/{name}"):
            view = memoryview(chunk)
            digest.update(view)
            out.write(view)
    _check_digest(prefix, name, digest.hexdigest(), digests)


def _check_digest(prefix: str, name: str, actual: str, digests: dict[str, str]) -> None:
    if digests.get(name) != actual:
        raise ValueError(f"{prefix}/{name}: sha256 {actual} does not match the manifest")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _delete_unreferenced(store: Any, prefix: str, keep: set[str]) -> None:
    """Delete objects directly under `prefix` that the committed manifest does not name."""
    stale = [
        meta["path"]
        for batch in obstore.list(store, prefix)
        for meta in batch
        if meta["path"][len(prefix) + 1 :] not in keep
    ]
    if stale:
        obstore.delete(store, sorted(stale))
