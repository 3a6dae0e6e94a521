"""Where an image's bytes are, reading them from the lake, and decoding them.

In: image refs `(image_key, uri, offset, length)` — a file per image (offset 0, its size or a
null length meaning "to the end") or a tar shard member (its data offset and size), with `uri`
relative to the lake root or a full URL/path under it. Out: per ref, a model-ready tensor or a
rejection `Reason`, and the original width and height and the format sniffed from the bytes
(`jpg`, `png`, `webp`, `gif`, whatever the name says) whenever the header could be read.

Bytes come from one ranged read through `Lake`; shard members are read in place, never by
downloading the shard. A missing object is a `missing` rejection; any other fetch failure
(network, permissions) raises, so the image is retried later instead of recorded as bad.
A ref outside the lake (an absolute path elsewhere, a `..` segment, a negative offset) is a
caller error, `InvalidRef`; a link inside a local lake whose target leaves the root is never
followed, and its image is `missing`.

Crawled images are hostile as often as they are odd: zero-byte files, HTML saved as `.jpg`,
truncated downloads and PNGs that declare billions of pixels sit beside valid but unusual files
(CMYK JPEG, 16-bit PNG, palette transparency, animated GIF/WebP). Every decoding outcome is a
value, never an exception, so one bad file cannot stop a batch; `max_pixels` rejects
decompression bombs from the header, before any pixel is decoded.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from PIL import Image, ImageOps, UnidentifiedImageError

from dataproc.lake import Lake, is_s3

if TYPE_CHECKING:
    import torch

DEFAULT_MAX_PIXELS = 50_000_000
REF_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("offset", pa.int64()),
        pa.field("length", pa.int64()),
    ]
)


class Reason(StrEnum):
    """Why an image has no embedding: the values of the `error` column.

    The first five come from decoding, `missing` from fetching. A transient fetch failure
    (network, permissions) is not a reason: it raises, so the image is retried later instead of
    being recorded as bad.
    """

    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    TRUNCATED = "truncated"
    DECOMPRESSION_BOMB = "decompression_bomb"
    DECODE_ERROR = "decode_error"
    MISSING = "missing"


# -- image refs ------------------------------------------------------------------------------------
# Offsets and lengths travel as int64 (Arrow, Parquet, the wire format).
MAX_BYTE_POSITION = 2**63 - 1


class InvalidRef(ValueError):
    """A ref no lake could serve (outside the lake, a negative range): a caller error."""


@dataclass(frozen=True)
class ImageRef:
    """One image's location: `length=None` reads from `offset` to the end of the object."""

    image_key: str
    uri: str
    offset: int = 0
    length: int | None = None

    def __post_init__(self) -> None:
        if not self.image_key or not self.uri:
            raise InvalidRef(f"an image ref needs an image_key and a uri: {self!r}")
        if not 0 <= self.offset <= MAX_BYTE_POSITION:
            raise InvalidRef(f"{self.image_key}: offset {self.offset} is not a byte position")
        if self.length is not None and not 0 <= self.length <= MAX_BYTE_POSITION:
            raise InvalidRef(f"{self.image_key}: length {self.length} is not a byte count")

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> ImageRef:
        """Build from a dict-like row; a missing or null offset means 0."""
        key, uri, length = row["image_key"], row["uri"], row.get("length")
        if key is None or uri is None:
            raise InvalidRef(f"an image ref needs an image_key and a uri: {dict(row)!r}")
        return cls(
            image_key=str(key),
            uri=str(uri),
            offset=int(row.get("offset") or 0),
            length=None if length is None else int(length),
        )


Refs = pa.Table | pa.RecordBatch | Iterable[ImageRef | Mapping[str, Any]]


def as_refs(refs: Refs) -> list[ImageRef]:
    """Normalize an Arrow table/batch or an iterable of refs or dicts to a list of `ImageRef`.

    Extra columns (e.g. the catalog's `source`, `ext`) are ignored.
    """
    if isinstance(refs, pa.Table | pa.RecordBatch):
        missing = {"image_key", "uri"} - set(refs.schema.names)
        if missing:
            raise ValueError(f"image refs lack column(s): {sorted(missing)}")
        wanted = [name for name in REF_SCHEMA.names if name in refs.schema.names]
        return [ImageRef.from_mapping(row) for row in refs.select(wanted).to_pylist()]
    return [ref if isinstance(ref, ImageRef) else ImageRef.from_mapping(ref) for ref in refs]


def refs_to_table(refs: Sequence[ImageRef]) -> pa.Table:
    """The Arrow form of a list of refs (what the client sends to a sidecar)."""
    return pa.table(
        {
            "image_key": [r.image_key for r in refs],
            "uri": [r.uri for r in refs],
            "offset": [r.offset for r in refs],
            "length": [r.length for r in refs],
        },
        schema=REF_SCHEMA,
    )


# -- fetching --------------------------------------------------------------------------------------
class ImageMissing(Exception):
    """The referenced object (or the referenced range of it) does not exist in the lake."""


def lake_path(uri: str, root: str) -> str:
    """The path of `uri` inside the lake rooted at `root`, or `InvalidRef`.

    `uri` may already be relative (`shards/danbooru/000000.tar`), or a full S3 URL, `file://`
    URL or absolute local path under the lake root. The check is on the text, so it holds for
    S3 and local lakes alike: an absolute path or URL elsewhere, and any `..` segment, are
    refused rather than normalized, so no ref can climb out of the root.
    """
    relative = uri.removeprefix("file://")
    root = root.rstrip("/")
    if is_s3(relative) or relative.startswith("/"):
        relative = _relative_to_root(relative, root)
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if not parts or ".." in parts or "\0" in relative:
        raise InvalidRef(f"{uri} is not a path inside the lake root {root}")
    return "/".join(parts)


def _relative_to_root(location: str, root: str) -> str:
    """The part of an absolute `location` after the lake root, or `InvalidRef`."""
    if is_s3(root) or is_s3(location):
        if location.startswith(root + "/"):
            return location[len(root) + 1 :]
    else:
        path = PurePosixPath(location)
        # The root as given and as the filesystem resolves it (when it is itself a link).
        for base in (Path(root).absolute(), Path(root).resolve()):
            if path.is_relative_to(base):
                return path.relative_to(base).as_posix()
    raise InvalidRef(f"{location} is not under the lake root {root}")


def resolve_in_lake(lake: Lake, uri: str) -> str:
    """`lake_path` of `uri`, checked on a local lake to stay inside the root once links resolve.

    A link that leaves the lake (`images/x.jpg -> /etc/passwd`) is never followed: what it
    names is not part of the lake, so the image is missing.
    """
    path = lake_path(uri, lake.root)
    if lake.is_s3:
        return path
    base = Path(lake.root).resolve()
    try:
        inside = (base / path).resolve().is_relative_to(base)
    except (OSError, RuntimeError):  # a link loop
        inside = False
    if not inside:
        raise ImageMissing(f"{path} links to outside the lake")
    return path


def fetch_bytes(lake: Lake, ref: ImageRef) -> bytes:
    """The bytes of `ref`: `length` bytes from `offset`, or to the end of the object.

    Zero-length refs return `b""` without a request (zero-byte files are common and a
    zero-length range is an error for object stores).
    """
    path = resolve_in_lake(lake, ref.uri)
    if ref.length == 0:
        return b""
    try:
        if ref.length is None:
            if ref.offset == 0:
                return lake.get(path)
            head = lake.head(path)
            if head is None:
                raise FileNotFoundError(path)
            return lake.get(path, ref.offset, head.size) if ref.offset < head.size else b""
        return lake.get(path, ref.offset, ref.offset + ref.length)
    except FileNotFoundError as error:
        raise ImageMissing(path) from error
    except Exception:
        if _range_past_end(lake, path, ref.offset):
            raise ImageMissing(f"{path} has no byte {ref.offset}") from None
        raise


def _range_past_end(lake: Lake, path: str, offset: int) -> bool:
    """Whether the object exists but ends before `offset` (a stale or wrong catalog entry)."""
    try:
        head = lake.head(path)
    except Exception:
        return False
    return head is not None and offset >= head.size


# -- decoding --------------------------------------------------------------------------------------
# Formats the decoder may parse, the formats a dataset ships; anything else is `not_an_image`
# (less parser surface). Each maps to the file extension it is exported under.
FORMAT_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class DecodedImage:
    """A preprocessed image (`pixels`) or an `error` reason; `width`/`height` are the original's
    and `format` the extension of the format its bytes are in (`FORMAT_EXTENSIONS`).

    Size and format are reported whenever the header could be read, even for rejected images.
    """

    pixels: torch.Tensor | None
    width: int | None
    height: int | None
    error: str | None
    format: str | None = None

    @classmethod
    def rejected(
        cls,
        reason: Reason,
        width: int | None = None,
        height: int | None = None,
        image_format: str | None = None,
    ) -> DecodedImage:
        return cls(None, width, height, error=reason.value, format=image_format)


class DecodeFailure(Exception):
    """Internal: carries the reason an image was rejected, and its header's facts if read."""

    def __init__(
        self, reason: Reason, size: tuple[int, int] | None = None, image_format: str | None = None
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.size = size
        self.image_format = image_format


def decode_image(
    data: bytes | memoryview,
    prepare: Callable[[Image.Image], torch.Tensor],
    input_size: int,
    max_pixels: int,
) -> DecodedImage:
    """Decode `data` and turn it into a model-sized tensor with `prepare`.

    `input_size` is the model's input side: JPEGs at least twice as large are decoded at reduced
    size (DCT scaling, never below `input_size`), several times faster than a full decode, for
    a picture that differs only slightly after the resize to the model's input.
    `max_pixels` rejects decompression bombs from the header, before any pixel is decoded.
    """
    if len(data) == 0:
        return DecodedImage.rejected(Reason.EMPTY)
    width = height = image_format = None
    try:
        image = open_image(data, max_pixels)
        width, height = image.size
        image_format = FORMAT_EXTENSIONS[image.format]
        if image_format == "jpg":
            image.draft("RGB", (input_size, input_size))
        rgb = to_rgb(load_first_frame(image))
        return DecodedImage(prepare(rgb), width, height, error=None, format=image_format)
    except DecodeFailure as failure:
        if failure.size is not None:
            width, height = failure.size
        image_format = failure.image_format or image_format
        return DecodedImage.rejected(failure.reason, width, height, image_format)
    except Exception:
        return DecodedImage.rejected(Reason.DECODE_ERROR, width, height, image_format)


def open_image(data: bytes | memoryview, max_pixels: int) -> Image.Image:
    """Parse only the header (PIL opens lazily) and enforce the pixel limit.

    PIL's own guard (`DecompressionBombError`, at twice `Image.MAX_IMAGE_PIXELS`) is mapped to
    the same reason, so the effective limit is the smaller of the two.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as error:
        raise DecodeFailure(Reason.DECOMPRESSION_BOMB) from error
    except UnidentifiedImageError as error:
        reason = Reason.DECODE_ERROR if has_image_signature(data) else Reason.NOT_AN_IMAGE
        raise DecodeFailure(reason) from error
    width, height = image.size
    if width <= 0 or height <= 0:
        raise DecodeFailure(Reason.DECODE_ERROR)
    if width * height > max_pixels:
        raise DecodeFailure(
            Reason.DECOMPRESSION_BOMB, (width, height), FORMAT_EXTENSIONS.get(image.format or "")
        )
    return image


def has_image_signature(data: bytes | memoryview) -> bool:
    """Whether the bytes start like an allowed image format (then a failed open is corruption)."""
    head = bytes(data[:12])
    return (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG\r\n\x1a\n")
        or head[:6] in (b"GIF87a", b"GIF89a")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def load_first_frame(image: Image.Image) -> Image.Image:
    """Decode the pixels of the first frame (animated GIF/WebP: frame 0), upright per EXIF."""
    try:
        image.seek(0)
        image.load()
    except Image.DecompressionBombError as error:
        raise DecodeFailure(Reason.DECOMPRESSION_BOMB) from error
    except EOFError as error:
        raise DecodeFailure(Reason.TRUNCATED) from error
    except OSError as error:
        message = str(error).lower()
        truncated = "truncated" in message or "broken data stream" in message
        raise DecodeFailure(Reason.TRUNCATED if truncated else Reason.DECODE_ERROR) from error
    # Unreadable EXIF: keep the pixels as stored rather than reject the image.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any decoded mode -> 8-bit RGB; transparency is composited on white.

    16-bit grayscale is scaled to 8 bits (not clipped, which would turn it white), CMYK and
    other colour spaces go through PIL's conversion, and palette or single-colour transparency
    becomes real alpha first.
    """
    if image.mode in SIXTEEN_BIT_MODES:
        image = sixteen_bit_to_l(image)
    if image.mode in ("P", "L", "RGB", "1") and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ALPHA_MODES:
        return composite_on_white(image)
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    """A 16-bit (or 32-bit integer) grayscale image -> 8-bit `L`, scaling 0..65535 to 0..255."""
    values = np.asarray(image).astype(np.int64)
    scaled = (np.clip(values, 0, 65535) * 255 + 32767) // 65535
    return Image.fromarray(scaled.astype(np.uint8))


def composite_on_white(image: Image.Image) -> Image.Image:
    """Flatten an image with alpha onto a white background."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (*WHITE, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB")
