"""Turn a native rendering into one file's bytes: transform, then encode.

Transforms are the ones cross-site copies show in the wild: resize, slight crop, a watermark in a
corner, a re-encode at another quality, a format conversion. Unusual encodings are valid images a
decoder must handle (CMYK JPEG, 16-bit PNG, palette PNG with transparency, RGBA PNG, animated GIF
and WebP). Every parameter comes from the file id, so the bytes are reproducible.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dataproc.demo import codes as c
from dataproc.demo.geometry import crop_box
from dataproc.demo.hashing import uniform

WATERMARK_TEXTS = ("zerochan", "@artist", "SAMPLE", "pixiv", "©")


@dataclass(frozen=True)
class FileSpec:
    """Everything needed to produce one file from its picture's native rendering."""

    uid: int
    transform: int
    ext: int
    width: int
    height: int
    unusual: int


def _u(seed: int, stream: str, uid: int) -> float:
    return float(uniform(seed, stream, np.array([uid]))[0])


def _watermark(seed: int, uid: int, image: Image.Image) -> Image.Image:
    """A semi-transparent box with text in one corner.

    The text uses Pillow's built-in bitmap font (no FreeType, which is not safe to share across
    the rendering threads), drawn small and scaled to the box.
    """
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = base.size
    box_w, box_h = max(12, int(w * 0.35)), max(8, int(h * 0.09))
    corner = int(_u(seed, "wm.corner", uid) * 4)
    x = 4 if corner in (0, 2) else w - box_w - 4
    y = 4 if corner in (0, 1) else h - box_h - 4
    draw.rectangle((x, y, x + box_w, y + box_h), fill=(255, 255, 255, 110))
    text = WATERMARK_TEXTS[int(_u(seed, "wm.text", uid) * len(WATERMARK_TEXTS))]
    font = ImageFont.load_default_imagefont()
    left, top, right, bottom = font.getbbox(text)
    glyphs = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(glyphs).text((1 - left, 1 - top), text, fill=210, font=font)
    glyphs = glyphs.resize((box_w - 6, box_h - 4), Image.Resampling.BILINEAR)
    layer.paste((20, 20, 20, 200), (x + 3, y + 2), glyphs)
    return Image.alpha_composite(base, layer).convert("RGB")


def transform_image(seed: int, spec: FileSpec, native: Image.Image) -> Image.Image:
    """The pixels of the file: the native picture after the spec's transform."""
    if spec.transform == c.RESIZED:
        out = native.resize((spec.width, spec.height), Image.Resampling.BILINEAR)
    elif spec.transform == c.CROPPED:
        w, h = native.size
        box = crop_box(seed, np.array([spec.uid]), np.array([w]), np.array([h]))
        out = native.crop(tuple(int(v[0]) for v in box))
    elif spec.transform == c.WATERMARKED:
        out = _watermark(seed, spec.uid, native)
    else:
        out = native
    if out.size != (spec.width, spec.height):
        raise ValueError(f"file {spec.uid}: drew {out.size}, planned {(spec.width, spec.height)}")
    return out


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _frames(image: Image.Image, count: int = 4) -> list[Image.Image]:
    """Animation frames: the picture with its colours rolled a little further each frame."""
    pixels = np.asarray(image)
    return [Image.fromarray(np.roll(pixels, shift=i * 7, axis=1)) for i in range(count)]


def _unusual(image: Image.Image, kind: int) -> bytes:
    if kind == c.CMYK_JPEG:
        return _save(image.convert("CMYK"), "JPEG", quality=90)
    if kind == c.GRAY16_PNG:
        grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257
        return _save(Image.fromarray(grey), "PNG", compress_level=1)
    if kind == c.PALETTE_PNG:
        palette = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
        return _save(palette, "PNG", transparency=0, compress_level=1)
    if kind == c.RGBA_PNG:
        w, h = image.size
        alpha = np.clip(np.linspace(0, 1, w)[None, :] * 255 + np.zeros((h, 1)), 40, 255)
        rgba = image.convert("RGBA")
        rgba.putalpha(Image.fromarray(alpha.astype(np.uint8)))
        return _save(rgba, "PNG", compress_level=1)
    frames = _frames(image)
    if kind == c.ANIMATED_GIF:
        paletted = [f.quantize(colors=128, method=Image.Quantize.FASTOCTREE) for f in frames]
        return _save(
            paletted[0], "GIF", save_all=True, append_images=paletted[1:], duration=120, loop=0
        )
    if kind == c.ANIMATED_WEBP:
        return _save(
            frames[0],
            "WEBP",
            save_all=True,
            append_images=frames[1:],
            duration=120,
            loop=0,
            quality=80,
        )
    raise ValueError(f"unknown unusual encoding {kind}")


def encode(seed: int, spec: FileSpec, image: Image.Image) -> bytes:
    """Encode the file's pixels in its format; re-encodes use other settings than originals."""
    if spec.unusual != c.PLAIN:
        return _unusual(image, spec.unusual)
    again = spec.transform in (c.REENCODED, c.CONVERTED)
    if spec.ext in (c.JPG, c.JPEG):
        quality = 70 + int(_u(seed, "jpeg.quality", spec.uid) * 18) if again else 92
        return _save(image, "JPEG", quality=quality)
    if spec.ext == c.PNG:
        return _save(image, "PNG", compress_level=6 if again else 1)
    if spec.ext == c.WEBP:
        quality = 60 + int(_u(seed, "webp.quality", spec.uid) * 20) if again else 85
        return _save(image, "WEBP", quality=quality, method=1)
    if spec.ext == c.GIF:
        return _save(image.quantize(colors=128, method=Image.Quantize.FASTOCTREE), "GIF")
    raise ValueError(f"no encoder for extension {c.EXTS[spec.ext]}")
