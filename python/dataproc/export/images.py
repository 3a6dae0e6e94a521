"""Copy image bytes out of the lake with ranged reads, never whole source shards.

An image is `(uri, offset, length)` in the lake: a whole file, or a member inside a WebDataset
shard. The images of one export shard are grouped by source object; each group is one
`obstore.get_ranges` call, which fetches only the requested byte ranges (ranges closer than
`COALESCE_BYTES` share a request, so a member and its tar header gap come together, but other
images are never read along). Groups run on a small thread pool, since S3 latency, not
bandwidth, dominates many small reads. Results come back in input order whatever the timing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import obstore

from dataproc.export.errors import ImageFetchError

COALESCE_BYTES = 4096
MAX_WORKERS = 8


def _fetch_group(
    store: Any,
    uri: str,
    indices: list[int],
    ids: Sequence[str],
    offsets: Sequence[int],
    lengths: Sequence[int],
) -> list[bytes]:
    """The ranges of the images `indices`, all stored in the object `uri`."""
    starts = [offsets[i] for i in indices]
    sizes = [lengths[i] for i in indices]
    try:
        parts = obstore.get_ranges(
            store, uri, starts=starts, lengths=sizes, coalesce=COALESCE_BYTES
        )
    except Exception as error:
        names = ", ".join(repr(ids[i]) for i in indices[:3]) + (", ..." if len(indices) > 3 else "")
        raise ImageFetchError(
            f"cannot read image(s) {names} from {uri!r} in the lake: {error}"
        ) from error
    data = [bytes(part) for part in parts]
    for index, chunk in zip(indices, data, strict=True):
        if len(chunk) != lengths[index]:
            raise ImageFetchError(
                f"image {ids[index]!r}: {uri!r} holds {len(chunk)} of the {lengths[index]} "
                f"bytes expected at offset {offsets[index]}"
            )
    return data


def fetch_images(
    store: Any,
    ids: Sequence[str],
    uris: Sequence[str],
    offsets: Sequence[int],
    lengths: Sequence[int],
    *,
    max_workers: int = MAX_WORKERS,
) -> list[bytes]:
    """The bytes of every image `ids[i]` at `(uris[i], offsets[i], lengths[i])`, in order."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, uri in enumerate(uris):
        groups[uri].append(index)
    result: list[bytes] = [b""] * len(uris)
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(groups)))) as pool:
        futures = {
            uri: pool.submit(_fetch_group, store, uri, indices, ids, offsets, lengths)
            for uri, indices in groups.items()
        }
        for uri, future in futures.items():
            for index, data in zip(groups[uri], future.result(), strict=True):
                result[index] = data
    return result
