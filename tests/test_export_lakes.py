"""Builders for the export tests: a small lake with real images, and export rows that point
into it (some images are files, some are members of a tar shard, so offsets are non-zero).

No tests here; the export test modules import these helpers.
"""

from __future__ import annotations

import datetime as dt
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from dataproc.lake import Lake
from PIL import Image

SHARD_URI = "shards/zerochan/000000.tar"
IMAGE_SPECS = [
    # (image_id, ext, stored as: "file" or "shard", prompt)
    ("img_0c5e9d1f2a7b3c40", "png", "file", "1girl, solo, hatsune miku, masterpiece"),
    ("img_1a2b3c4d5e6f7081", "jpg", "shard", "2boys, \\(artist\\), 初音ミク, safe"),
    ("img_2f00aa11bb22cc33", "webp", "shard", "scenery, no humans, newest"),
    ("img_3d3d3d3d3d3d3d3d", "gif", "file", "1girl, animated, ^_^, sensitive"),
    ("img_4e4e4e4e4e4e4e4e", "jpeg", "shard", "1other, o_o, best quality"),
    ("img_5a5a5a5a5a5a5a5a", "png", "shard", "1girl, long hair, year 2014"),
    ("img_6b6b6b6b6b6b6b6b", "webp", "file", "1boy, smile, normal quality"),
]
PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}


def image_bytes(index: int, ext: str) -> bytes:
    """A small real image: a colour gradient that differs per index."""
    side = 24 + 4 * index
    image = Image.new("RGB", (side, side + 3))
    image.putdata(
        [
            ((x * 9 + index * 30) % 256, (y * 7) % 256, (index * 50) % 256)
            for y in range(side + 3)
            for x in range(side)
        ]
    )
    out = io.BytesIO()
    image.save(out, format=PIL_FORMATS[ext])
    return out.getvalue()


@dataclass(frozen=True)
class ExportLake:
    """The images written into a lake, by image_id, and the rows that describe them."""

    images: dict[str, bytes]
    rows: pa.Table


def _tar(members: list[tuple[str, bytes]]) -> tuple[bytes, dict[str, int]]:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    data = out.getvalue()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        offsets = {member.name: member.offset_data for member in tar.getmembers()}
    return data, offsets


def _row(index: int, image_id: str, ext: str, prompt: str, uri: str, offset: int, size: int):
    return {
        "image_id": image_id,
        "prompt": prompt,
        "sections": {
            "count": [prompt.split(", ")[0]],
            "general": prompt.split(", ")[1:],
            "quality": None if index % 3 else "masterpiece",
        },
        "rating": ["general", "sensitive", "questionable", "explicit"][index % 4],
        "characters": ["hatsune_miku"] if index % 2 == 0 else [],
        "created_at": dt.datetime(2015 + index, 1 + index, 2, 3, 4, 5, tzinfo=dt.UTC),
        "aesthetic": 4.25 + index / 8 if index != 3 else float("nan"),
        "member_keys": [f"danbooru:{1000 + index}", f"zerochan:{2000 + index}"],
        "image_uri": uri,
        "image_offset": offset,
        "image_length": size,
        "image_ext": ext,
    }


ROW_SCHEMA = pa.schema(
    [
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        pa.field(
            "sections",
            pa.struct(
                [
                    ("count", pa.list_(pa.string())),
                    ("general", pa.list_(pa.string())),
                    ("quality", pa.string()),
                ]
            ),
        ),
        pa.field("rating", pa.string()),
        pa.field("characters", pa.list_(pa.string())),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("aesthetic", pa.float64()),
        pa.field("member_keys", pa.list_(pa.string())),
        pa.field("image_uri", pa.string()),
        pa.field("image_offset", pa.int64()),
        pa.field("image_length", pa.int64()),
        pa.field("image_ext", pa.string()),
    ]
)


def write_export_lake(lake: Lake) -> ExportLake:
    """Write the images into `lake` and return them with rows.

    Rows come out in reverse image_id order, so publishing has to sort them.
    """
    images: dict[str, bytes] = {}
    members: list[tuple[str, bytes]] = []
    placed: dict[str, tuple[str, int]] = {}
    for index, (image_id, ext, kind, _) in enumerate(IMAGE_SPECS):
        data = image_bytes(index, ext)
        images[image_id] = data
        key = f"{3000 + index}"
        if kind == "file":
            uri = f"images/danbooru/{key}.{ext}"
            lake.put(uri, data)
            placed[image_id] = (uri, 0)
        else:
            members += [(f"{key}.{ext}", data), (f"{key}.json", b'{"id": %d}' % index)]
    shard, offsets = _tar(members)
    lake.put(SHARD_URI, shard)
    for index, (image_id, ext, kind, _) in enumerate(IMAGE_SPECS):
        if kind == "shard":
            placed[image_id] = (SHARD_URI, offsets[f"{3000 + index}.{ext}"])
    rows = [
        _row(index, image_id, ext, prompt, *placed[image_id], len(images[image_id]))
        for index, (image_id, ext, _, prompt) in enumerate(IMAGE_SPECS)
    ]
    return ExportLake(images=images, rows=pa.Table.from_pylist(rows[::-1], schema=ROW_SCHEMA))


def lake_files(root: Path, under: str = "exports") -> dict[str, bytes]:
    """Every file under `root/under`, by path relative to `root`."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted((root / under).rglob("*"))
        if path.is_file()
    }
