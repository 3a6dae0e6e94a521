"""WebDataset shards of an export, and the deterministic tar writer they are made with.

In: the sorted export rows and the lake holding their images. Out: per slice of `shard_size`
rows, one tar whose samples are `<image_id>.<ext>` (the image bytes exactly as stored in the
lake), `<image_id>.json` (the image's metadata row, the same as in the parquet) and
`<image_id>.txt` (its prompt in UTF-8). Shards hold consecutive rows in image_id order.

An image is `(uri, offset, length)` in the lake: a whole file, or a member inside a source
shard. The images of one export shard are grouped by source object, and each group is one
`Lake.get_ranges` call that fetches only their byte ranges, never the whole source object.
Groups run on a small thread pool, since object-store latency, not bandwidth, dominates many
small reads.

`tar_bytes` pins every varying member field (mtime 0, uid/gid 0, empty owner names, mode
0o644, USTAR format), so equal members give equal bytes; the demo writes its shards with it too.
"""

from __future__ import annotations

import io
import tarfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from dataproc.export.rows import ID_COLUMN, PROMPT_COLUMN, ExportError, ImageColumns, row_json
from dataproc.lake import Lake

MEMBER_MODE = 0o644
MAX_WORKERS = 8


class ImageFetchError(ExportError):
    """An image's bytes could not be read from the lake at its recorded location."""


def split_shards(table: pa.Table, shard_size: int) -> Iterator[pa.Table]:
    """Consecutive slices of `shard_size` rows (none for an empty table)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    for start in range(0, table.num_rows, shard_size):
        yield table.slice(start, shard_size)


def build_shard(lake: Lake, rows: pa.Table, columns: ImageColumns) -> bytes:
    """One shard's tar bytes for `rows`, with image bytes read from `lake`."""
    records = rows.to_pylist()
    return tar_bytes(shard_members(records, fetch_images(lake, records, columns), columns))


def fetch_images(lake: Lake, records: list[dict[str, Any]], columns: ImageColumns) -> list[bytes]:
    """The bytes of every image `records` locate in the lake, in record order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[record[columns.uri]].append(record)
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(groups)))) as pool:
        fetched = pool.map(lambda group: fetch_group(lake, *group, columns), groups.items())
        by_id = {
            record[ID_COLUMN]: data
            for (_, group), datas in zip(groups.items(), fetched, strict=True)
            for record, data in zip(group, datas, strict=True)
        }
    return [by_id[record[ID_COLUMN]] for record in records]


def fetch_group(
    lake: Lake, uri: str, records: list[dict[str, Any]], columns: ImageColumns
) -> list[bytes]:
    """The bytes of the images `records`, all stored in the object `uri`, checked by length."""
    starts = [record[columns.offset] for record in records]
    ends = [record[columns.offset] + record[columns.length] for record in records]
    try:
        datas = lake.get_ranges(uri, starts, ends)
    except Exception as error:
        names = ", ".join(repr(record[ID_COLUMN]) for record in records[:3])
        raise ImageFetchError(
            f"cannot read image(s) {names}{', ...' if len(records) > 3 else ''} from {uri!r} "
            f"in the lake: {error}"
        ) from error
    for record, data in zip(records, datas, strict=True):
        if len(data) != record[columns.length]:
            raise ImageFetchError(
                f"image {record[ID_COLUMN]!r}: {uri!r} holds {len(data)} of the "
                f"{record[columns.length]} bytes expected at offset {record[columns.offset]}"
            )
    return datas


def shard_members(
    records: list[dict[str, Any]], images: list[bytes], columns: ImageColumns
) -> Iterator[tuple[str, bytes]]:
    """The tar members of the images `records`, whose bytes are `images`.

    WebDataset groups consecutive members by the name before the first dot, so one image's
    members are written together.
    """
    for record, image in zip(records, images, strict=True):
        key = record[ID_COLUMN]
        yield f"{key}.{record[columns.ext]}", image
        yield f"{key}.json", row_json(record)
        yield f"{key}.txt", record[PROMPT_COLUMN].encode("utf-8")


def tar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A tar archive holding `(name, data)` members in the given order, headers pinned."""
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            archive.addfile(_member_info(name, len(data)), io.BytesIO(data))
    return sink.getvalue()


def _member_info(name: str, size: int) -> tarfile.TarInfo:
    """A regular-file header with every varying field pinned."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = MEMBER_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info
