"""Image bytes -> model-ready tensor, or a rejection reason.

Crawled images are hostile as often as they are odd: zero-byte files, HTML saved as `.jpg`,
truncated downloads and PNGs that declare billions of pixels sit beside valid but unusual files
(CMYK JPEG, 16-bit PNG, palette transparency, animated GIF/WebP). Every outcome is a value, never
an exception, so one bad file cannot stop a batch.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from dataproc.embed.reasons import Reason

# Formats the decoder may parse; anything else is `not_an_image` (less parser surface).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class DecodedImage:
    """A preprocessed image (`pixels`) or an `error` reason; `width`/`height` are the original's.

    The size is reported whenever the header could be read, even for rejected images.
    """

    pixels: torch.Tensor | None
    width: int | None
    height: int | None
    error: str | None

    @classmethod
    def rejected(
        cls, reason: Reason, width: int | None = None, height: int | None = None
    ) -> DecodedImage:
        return cls(pixels=None, width=width, height=height, error=reason.value)


class DecodeFailure(Exception):
    """Internal: carries the reason an image was rejected."""

    def __init__(self, reason: Reason, size: tuple[int, int] | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.size = size


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
    width = height = None
    try:
        image = open_image(data, max_pixels)
        width, height = image.size
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", (input_size, input_size))
        rgb = to_rgb(load_first_frame(image))
        return DecodedImage(pixels=prepare(rgb), width=width, height=height, error=None)
    except DecodeFailure as failure:
        if failure.size is not None:
            width, height = failure.size
        return DecodedImage.rejected(failure.reason, width, height)
    except Exception:
        return DecodedImage.rejected(Reason.DECODE_ERROR, width, height)


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
        raise DecodeFailure(Reason.DECOMPRESSION_BOMB, (width, height))
    return image


def has_image_signature(data: bytes | memoryview) -> bool:
    """Whether the bytes start like an allowed image format (then a failed open is corruption)."""
    head = bytes(data[:12])
    return (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG\r\n\x1a\n")
        or head[:6] in (b"GIF87a", b"GIF89a")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or head.startswith(b"BM")
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
