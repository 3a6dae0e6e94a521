"""The image layouts of an export: WebDataset shards and a kohya folder that is also an HF
imagefolder, the image bytes they hold, and the deterministic tar writer.

In: the sorted export rows that have an image, the lake holding their images, and the
`ImageFormat` to store them in. Out, per layout (paths relative to the version folder):

    webdataset   shards/shard-NNNNN.tar: per slice of `shard_size` rows, samples
                 `<image_id>.<format>` (the image), `<image_id>.json` (its metadata row, plus
                 `image_format`) and `<image_id>.txt` (its prompt, UTF-8)
    kohya        kohya/<repeats>_<dataset>/<image_id>.<format> with `<image_id>.txt` (its
                 kohya caption) beside it, and kohya/metadata.jsonl (`file_name` and the
                 metadata row per image), which makes the folder an HF `imagefolder` too

Every sample of every shard has the same three keys, as HF's `webdataset` loader requires:
with a fixed format (`png`, the default, `jpg` or `webp`), every image is stored in that one
format, so both HF `datasets` and the `webdataset` library decode every sample by its
extension. `png` is lossless, so the default changes no pixel of any source format; an image
already in the target format keeps its bytes. `original` keeps every image's bytes under its
own extension: the `webdataset` library reads that, HF's loader refuses the mixed keys. Kohya
reads png, jpg and webp only, so in the folder a `gif` (or any other format) is stored as png.
The `.json` keeps the original format in `image_ext` (sniffed from the bytes) and names the
stored one in `image_format`. A transcoded animation keeps its first frame.

Transcoding is deterministic: fixed encoder settings, and no metadata written (Pillow writes
no timestamps), so equal images give equal bytes. The images of one slice are grouped by
source object, and each group is one `Lake.get_ranges` call fetching only their byte ranges;
groups run on a small thread pool, since object-store latency dominates many small reads.

`shards/README.md` is an HF dataset card whose YAML header gives the samples' features, so
`datasets.load_dataset("<version>/shards")` loads every shard as it is. Without it HF infers
the `.json` types from the first five samples, and a column that is null in all five (a metric)
fails the load where a later sample has a value. The header is JSON, which is YAML too. With
`original` images the keys differ, so there is no card (HF cannot load those shards anyway).

`tar_bytes` pins every varying member field (mtime 0, uid/gid 0, empty owner names, mode
0o644, USTAR format), so equal members give equal bytes; the demo writes its shards with it too.
"""

from __future__ import annotations

import io
import tarfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from PIL import Image

from dataproc.export.rows import ID_COLUMN, PROMPT_COLUMN, ExportError, ImageColumns, row_json
from dataproc.lake import Lake, canonical_json

LAYOUTS = ("webdataset", "kohya")
IMAGE_FORMATS = ("png", "jpg", "webp", "original")
# The caption column of the kohya folder; rows without it are captioned with their prompt.
KOHYA_CAPTION_COLUMN = "kohya_caption"
# The image types kohya-ss sd-scripts loads (besides bmp, which the lake never holds).
KOHYA_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp"})
KOHYA_FOLDER = "kohya"
KOHYA_METADATA = f"{KOHYA_FOLDER}/metadata.jsonl"
SHARDS_CARD = "shards/README.md"
MEMBER_MODE = 0o644
MAX_WORKERS = 8
JPEG_BACKGROUND = (255, 255, 255)


class ImageFetchError(ExportError):
    """An image's bytes could not be read from the lake at its recorded location."""


class ImageEncodeError(ExportError):
    """An image's bytes could not be decoded to store it in the export's image format."""


@dataclass(frozen=True)
class ImageFormat:
    """How images are stored: `name` (png, jpg, webp, or original) and the jpg/webp quality."""

    name: str = "png"
    quality: int = 95

    def store(self, image_id: str, data: bytes, ext: str) -> tuple[str, bytes]:
        """The extension and bytes of an image (`data`, in format `ext`) as stored: its own
        bytes when the format is original or `ext` is already the target; else transcoded."""
        if self.name == "original":
            return ext, data
        target = self.name
        if ext == target or {ext, target} == {"jpg", "jpeg"}:
            return target, data
        try:
            return target, transcode(data, target, self.quality)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise ImageEncodeError(
                f"image {image_id!r}: cannot convert its {ext} bytes to {target}: {error}"
            ) from error


def transcode(data: bytes, target: str, quality: int) -> bytes:
    """`data` (any format Pillow reads; an animation's first frame) encoded as `target` (png,
    jpg or webp) with fixed settings, so equal input gives equal bytes."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.seek(0)
        image = _encodable(opened, target)
        sink = io.BytesIO()
        if target == "png":
            image.save(sink, "PNG", optimize=False, compress_level=6)
        elif target == "jpg":
            image.save(
                sink,
                "JPEG",
                quality=quality,
                subsampling=0 if quality >= 90 else 2,
                optimize=False,
                progressive=False,
            )
        elif target == "webp":
            image.save(sink, "WEBP", quality=quality, method=4, lossless=False, exact=False)
        else:
            raise ValueError(f"unknown image format {target!r}")
    return sink.getvalue()


def _encodable(image: Image.Image, target: str) -> Image.Image:
    """`image` in a mode `target` stores: jpg has no alpha (flattened onto white); png keeps
    grey, RGB and their alpha; everything else becomes RGB, or RGBA when it has transparency."""
    has_alpha = image.has_transparency_data
    if target == "jpg":
        if has_alpha:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, JPEG_BACKGROUND)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    keep = ("RGB", "RGBA", "L", "LA") if target == "png" else ("RGB", "RGBA")
    if image.mode in keep:
        return image
    return image.convert("RGBA" if has_alpha else "RGB")


# -- fetching ----------------------------------------------------------------------------------
def split_shards(table: pa.Table, shard_size: int) -> Iterator[pa.Table]:
    """Consecutive slices of `shard_size` rows (none for an empty table)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    for start in range(0, table.num_rows, shard_size):
        yield table.slice(start, shard_size)


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


# -- the layouts -------------------------------------------------------------------------------
def stored_images(
    records: list[dict[str, Any]],
    images: list[bytes],
    columns: ImageColumns,
    image_format: ImageFormat,
) -> list[tuple[str, bytes]]:
    """The extension and bytes each image of `records` (whose bytes are `images`) is stored
    with in `image_format`, computed once for every layout."""
    return [
        image_format.store(record[ID_COLUMN], image, record[columns.ext])
        for record, image in zip(records, images, strict=True)
    ]


def shard_members(
    records: list[dict[str, Any]], images: list[tuple[str, bytes]]
) -> Iterator[tuple[str, bytes]]:
    """The tar members of the images `records`, stored as `images` (extension, bytes).

    WebDataset groups consecutive members by the name before the first dot, so one image's
    members are written together.
    """
    for record, (ext, data) in zip(records, images, strict=True):
        key = record[ID_COLUMN]
        yield f"{key}.{ext}", data
        yield f"{key}.json", row_json({**record, "image_format": ext})
        yield f"{key}.txt", record[PROMPT_COLUMN].encode("utf-8")


@dataclass(frozen=True)
class KohyaImage:
    """One image of the kohya folder: its path (relative to the version), bytes and caption,
    and its line of `metadata.jsonl`."""

    path: str
    data: bytes
    caption: bytes
    metadata_line: bytes

    @property
    def caption_path(self) -> str:
        return f"{self.path.rsplit('.', 1)[0]}.txt"


def kohya_images(
    records: list[dict[str, Any]], images: list[tuple[str, bytes]], subfolder: str
) -> Iterator[KohyaImage]:
    """The kohya folder entries of the images `records`, stored as `images` (extension,
    bytes), in `subfolder` (kohya's `<repeats>_<name>`); a format kohya does not read (an
    original gif) becomes png."""
    for record, (ext, data) in zip(records, images, strict=True):
        key = record[ID_COLUMN]
        if ext not in KOHYA_EXTENSIONS:
            ext, data = ImageFormat("png").store(key, data, ext)
        name = f"{subfolder}/{key}.{ext}"
        caption = record.get(KOHYA_CAPTION_COLUMN) or record[PROMPT_COLUMN]
        line = row_json({**record, "file_name": name, "image_format": ext}) + b"\n"
        yield KohyaImage(f"{KOHYA_FOLDER}/{name}", data, caption.encode("utf-8"), line)


# -- the HF dataset card ----------------------------------------------------------------------
def shards_card(dataset: str, schema: pa.Schema, image_format: ImageFormat) -> bytes:
    """`shards/README.md` for shards whose rows have the metadata `schema`: the HF features of
    a sample (the image, the `.json` row as JSON types, the `.txt` prompt). It names no
    version, so equal content gives an equal card."""
    row = [*(_json_feature(field.name, field.type) for field in schema), _named("image_format")]
    features = [
        {"name": image_format.name, "dtype": "image"},
        {"name": "json", "struct": sorted(row, key=lambda feature: feature["name"])},
        _named("txt"),
        _named("__key__"),
        _named("__url__"),
    ]
    header = {
        "configs": [{"config_name": "default", "data_files": "*.tar"}],
        "dataset_info": {"features": features},
    }
    body = (
        f"# {dataset}: WebDataset shards\n\nEach sample: `.{image_format.name}` image, `.json` "
        "metadata row, `.txt` prompt. `../manifest.json` lists every file with its sha256.\n"
    )
    return f"---\n{canonical_json(header).decode()}\n---\n{body}".encode()


def _named(name: str, dtype: str = "string") -> dict[str, Any]:
    return {"name": name, "dtype": dtype}


def _json_feature(name: str, kind: pa.DataType) -> dict[str, Any]:
    """The HF feature of an Arrow column as `row_json` writes it (`rows.json_value`)."""
    return {"name": name, **_json_type(kind)}


def _json_type(kind: pa.DataType) -> dict[str, Any]:
    """HF's YAML form of a type: `dtype`, `list` (of a dtype, a type, or struct fields) or
    `struct` (fields)."""
    if pa.types.is_null(kind):
        return {"dtype": "null"}
    if pa.types.is_boolean(kind):
        return {"dtype": "bool"}
    if pa.types.is_integer(kind):
        return {"dtype": "int64"}
    if pa.types.is_floating(kind) or pa.types.is_duration(kind):
        return {"dtype": "float64"}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        item = _json_type(kind.value_type)
        return {"list": item.get("dtype", item.get("struct", item))}
    if pa.types.is_struct(kind):
        return {"struct": [_json_feature(field.name, field.type) for field in kind]}
    # Text, and what JSON writes as text: dates and times, decimals, binary (base64).
    return {"dtype": "string"}


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
