"""The demo's image bytes: drawn scenes, their cross-site copies, and how they are stored.

In: the `Plan`. Out: `render_files`, each file id's bytes: a picture is drawn once (sky, ground,
shapes, a character silhouette, in relative coordinates; a redrawn picture is its scene's drawing
with the character's expression or outfit drawn anew) and each file of it is derived from that
rendering (resized, cropped, watermarked, re-encoded, converted, or saved in an unusual but valid
way) with parameters from the file id, on a few threads without changing a byte.
`store_images` writes them as `images/<source>/<fan-out>/<key>.<ext>` (danbooru, yande.re) or
WebDataset members of `shards/<source>/<source>-NNNNN.tar`, planting the hostile cases.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dataproc.demo import world as w
from dataproc.demo.plan import FileTable, Plan, crop_box
from dataproc.demo.world import EXTS, World, parameters, uniform
from dataproc.export.layouts import tar_bytes

GRADIENT_GRID = 96


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(0, 256, 3))
    return r, g, b


def _gradient(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A linear two-colour gradient at a random angle (drawn small, then scaled up)."""
    top = rng.integers(0, 256, 3).astype(np.float32)
    bottom = rng.integers(0, 256, 3).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ys = np.linspace(0.0, 1.0, GRADIENT_GRID, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, GRADIENT_GRID, dtype=np.float32)[None, :]
    t = xs * np.float32(np.cos(angle)) + ys * np.float32(np.sin(angle))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    pixels = top * (1 - t[..., None]) + bottom * t[..., None]
    small = Image.fromarray(pixels.astype(np.uint8), "RGB")
    return small.resize((width, height), Image.Resampling.NEAREST)


def draw_picture(
    seed: int, picture: int, width: int, height: int, redraw: int | None = None
) -> Image.Image:
    """The picture's native rendering, an RGB image of exactly (width, height); with `redraw`
    (another picture id), that picture's version: the same scene, the character's outfit or
    expression drawn anew."""
    rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, int(picture), 0x50494354])
    image = _gradient(rng, width, height)
    draw = ImageDraw.Draw(image)
    x_max, y_max = width - 1, height - 1
    draw.rectangle((0, int(rng.uniform(0.55, 0.85) * y_max), x_max, y_max), fill=_colour(rng))
    for _ in range(int(rng.integers(6, 15))):
        kind = int(rng.integers(0, 5))
        x0, x1 = sorted(rng.uniform(-0.1, 1.1, 2) * x_max)
        y0, y1 = sorted(rng.uniform(-0.1, 1.1, 2) * y_max)
        box = (x0, y0, max(x1, x0 + 2), max(y1, y0 + 2))
        colour = _colour(rng)
        stroke = max(1, int(rng.uniform(0.002, 0.02) * max(width, height)))
        if kind == 0:
            draw.ellipse(box, fill=colour, outline=_colour(rng), width=stroke)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        elif kind == 2:
            points = [(float(x * x_max), float(y * y_max)) for x, y in rng.uniform(0, 1, (5, 2))]
            draw.polygon(points[: int(rng.integers(3, 6))], fill=colour)
        elif kind == 3:
            points = [(float(x * x_max), float(y * y_max)) for x, y in rng.uniform(0, 1, (4, 2))]
            draw.line(points, fill=colour, width=stroke * 2)
        else:
            start, end = float(rng.uniform(0, 180)), float(rng.uniform(180, 360))
            draw.arc(box, start, end, fill=colour, width=stroke * 2)
    # A character silhouette: hair, head, body.
    cx = rng.uniform(0.3, 0.7) * width
    scale = rng.uniform(0.25, 0.45) * min(width, height)
    top = rng.uniform(0.15, 0.4) * height
    head = scale * 0.35
    hair, face, outfit = _colour(rng), _colour(rng), _colour(rng)
    expression = redraw is not None and _redraw_region(seed, redraw) == "expression"
    if redraw is not None:  # the new outfit or face colour
        colour = _colour(np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, int(redraw), 1]))
        outfit, face = (outfit, colour) if expression else (colour, face)
    draw.ellipse((cx - head * 1.2, top - head * 1.1, cx + head * 1.2, top + head * 1.3), fill=hair)
    draw.ellipse((cx - head, top - head, cx + head, top + head), fill=face)
    if expression:  # eyes and an open mouth
        eye, ink = head * 0.18, (25, 20, 30)
        for x in (cx - head * 0.4, cx + head * 0.4):
            draw.ellipse((x - eye, top - eye * 2, x + eye, top), fill=ink)
        mouth = (cx - head * 0.35, top + head * 0.3, cx + head * 0.35, top + head * 0.6)
        draw.ellipse(mouth, fill=ink)
    foot = top + scale * 2.2
    body = [(cx, top + head), (cx - scale * 0.6, foot), (cx + scale * 0.6, foot)]
    draw.polygon(body, fill=outfit)
    return image


def _redraw_region(seed: int, picture: int) -> str:
    """What a redrawn picture changes: the character's outfit or its expression."""
    return "outfit" if _u(seed, "redraw.region", picture) < 0.5 else "expression"


def _u(seed: int, stream: str, uid: int) -> float:
    return float(uniform(seed, stream, np.array([uid]))[0])


def _watermark(seed: int, uid: int, image: Image.Image) -> Image.Image:
    """A semi-transparent box with text in one corner, in Pillow's built-in bitmap font (FreeType
    is not safe to share across the rendering threads), drawn small and scaled to the box."""
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    width, height = base.size
    box_w, box_h = max(12, int(width * 0.35)), max(8, int(height * 0.09))
    corner = int(_u(seed, "wm.corner", uid) * 4)
    x = 4 if corner in (0, 2) else width - box_w - 4
    y = 4 if corner in (0, 1) else height - box_h - 4
    ImageDraw.Draw(layer).rectangle((x, y, x + box_w, y + box_h), fill=(255, 255, 255, 110))
    texts = parameters()["images"]["watermark_texts"]
    text = texts[int(_u(seed, "wm.text", uid) * len(texts))]
    font = ImageFont.load_default_imagefont()
    left, top, right, bottom = font.getbbox(text)
    glyphs = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(glyphs).text((1 - left, 1 - top), text, fill=210, font=font)
    glyphs = glyphs.resize((box_w - 6, box_h - 4), Image.Resampling.BILINEAR)
    layer.paste((20, 20, 20, 200), (x + 3, y + 2), glyphs)
    return Image.alpha_composite(base, layer).convert("RGB")


def _transformed(seed: int, files: FileTable, uid: int, native: Image.Image) -> Image.Image:
    """The file's pixels: the native picture after the file's transform."""
    transform, size = files.transform[uid], (int(files.width[uid]), int(files.height[uid]))
    if transform == w.RESIZED:
        out = native.resize(size, Image.Resampling.BILINEAR)
    elif transform == w.CROPPED:
        box = crop_box(seed, np.array([uid]), np.array([native.width]), np.array([native.height]))
        out = native.crop(tuple(int(v[0]) for v in box))
    elif transform == w.WATERMARKED:
        out = _watermark(seed, uid, native)
    else:
        out = native
    if out.size != size:
        raise ValueError(f"file {uid}: drew {out.size}, planned {size}")
    return out


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _unusual(image: Image.Image, kind: int) -> bytes:
    if kind == w.CMYK_JPEG:
        return _save(image.convert("CMYK"), "JPEG", quality=90)
    if kind == w.GRAY16_PNG:
        grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257
        return _save(Image.fromarray(grey), "PNG", compress_level=1)
    if kind == w.PALETTE_PNG:
        palette = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
        return _save(palette, "PNG", transparency=0, compress_level=1)
    if kind == w.RGBA_PNG:
        ramp = np.linspace(0, 1, image.width)[None, :] * 255 + np.zeros((image.height, 1))
        alpha = np.clip(ramp, 40, 255)
        rgba = image.convert("RGBA")
        rgba.putalpha(Image.fromarray(alpha.astype(np.uint8)))
        return _save(rgba, "PNG", compress_level=1)
    # Animations: the picture with its colours rolled a little further each frame.
    frames = [Image.fromarray(np.roll(np.asarray(image), shift=i * 7, axis=1)) for i in range(4)]
    if kind == w.ANIMATED_GIF:
        frames = [f.quantize(colors=128, method=Image.Quantize.FASTOCTREE) for f in frames]
    animation = {"save_all": True, "append_images": frames[1:], "duration": 120, "loop": 0}
    if kind == w.ANIMATED_GIF:
        return _save(frames[0], "GIF", **animation)
    if kind == w.ANIMATED_WEBP:
        return _save(frames[0], "WEBP", quality=80, **animation)
    raise ValueError(f"unknown unusual encoding {kind}")


def _encoded(seed: int, files: FileTable, uid: int, image: Image.Image) -> bytes:
    """The file's bytes in its format; re-encodes use other settings than originals."""
    if files.unusual[uid] != w.PLAIN:
        return _unusual(image, files.unusual[uid])
    again, ext = files.transform[uid] in (w.REENCODED, w.CONVERTED), files.ext[uid]
    if ext in (w.JPG, w.JPEG):
        quality = 70 + int(_u(seed, "jpeg.quality", uid) * 18) if again else 92
        return _save(image, "JPEG", quality=quality)
    if ext == w.PNG:
        return _save(image, "PNG", compress_level=6 if again else 1)
    if ext == w.WEBP:
        quality = 60 + int(_u(seed, "webp.quality", uid) * 20) if again else 85
        return _save(image, "WEBP", quality=quality, method=1)
    if ext == w.GIF:
        return _save(image.quantize(colors=128, method=Image.Quantize.FASTOCTREE), "GIF")
    raise ValueError(f"no encoder for extension {EXTS[ext]}")


def render_files(world: World, files: FileTable) -> list[bytes]:
    """The bytes of every file, indexed by file id, drawn once per picture on a few threads."""
    order = np.argsort(files.picture, kind="stable")
    bounds = np.flatnonzero(np.diff(files.picture[order])) + 1
    groups = [uids for uids in np.split(order, bounds) if len(uids)]
    firsts = np.array([uids[0] for uids in groups], dtype=np.int64)
    pictures, scenes = files.picture[firsts], files.scene[firsts]
    native_w, native_h = world.size(scenes)

    def render(i: int) -> list[tuple[int, bytes]]:
        picture, scene = int(pictures[i]), int(scenes[i])
        redraw = picture if picture != scene else None
        native = draw_picture(world.seed, scene, int(native_w[i]), int(native_h[i]), redraw)
        return [
            (uid, _encoded(world.seed, files, uid, _transformed(world.seed, files, uid, native)))
            for uid in groups[i]
        ]

    blobs = [b""] * len(files.picture)
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with ThreadPoolExecutor(max_workers=max(1, threads or 1)) as pool:
        for rendered in pool.map(render, range(len(groups))):
            for uid, data in rendered:
                blobs[uid] = data
    return blobs


def huge_png(side: int) -> bytes:
    """A PNG whose header declares side x side RGB pixels, with only a token of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + chunk(b"IEND", b"")


def hostile_bytes(kind: int, intended: bytes) -> bytes:
    """What a crawl left behind instead of the intended file, for a hostile case."""
    if kind == w.CORRUPT:
        return intended[: max(1, len(intended) // 2)]
    if kind == w.ZERO_BYTE:
        return b""
    if kind == w.NOT_IMAGE:
        return parameters()["images"]["not_image_page"].encode()
    if kind == w.HUGE_DIMENSIONS:
        return huge_png(parameters()["images"]["huge_png_side"])
    raise ValueError(f"no stored bytes for hostile kind {w.HOSTILE[kind]}")


class _Item(NamedTuple):
    """One image to store: a post's image (`row` >= 0) or an extra that belongs to no post."""

    sort_key: tuple[int, int]
    key: str
    ext: str
    uid: int
    row: int
    hostile: int
    extra: str | None


@dataclass
class Stored:
    """What `store_images` wrote."""

    files: int = 0
    shards: int = 0
    members: int = 0
    hostile: list[tuple[str, str, str]] = field(default_factory=list)  # (image key, kind, where)

    def record(self, source: str, key: str, kind: str, location: str) -> None:
        self.hostile.append((f"{source}:{key}", kind, location))


def _items(plan: Plan, source: str) -> list[_Item]:
    """The source's stored images in (post id, page) order, the extras among them."""
    sp, extras = plan.sources[source], plan.extras[source]  # extras exist where images do
    keys, items = sp.keys.to_pylist(), list[_Item]()
    for row in map(int, np.flatnonzero(sp.uid >= 0)):
        order = (int(sp.post_id[sp.image_post[row]]), int(sp.page[row]))
        uid, hostile = int(sp.uid[row]), int(sp.hostile[row])
        items.append(_Item(order, keys[row], EXTS[sp.ext[row]], uid, row, hostile, None))
    for key_id, uid, kind in zip(*extras, strict=True):
        key = f"{key_id}_p0" if source == "pixiv" else str(key_id)
        ext = EXTS[plan.files.ext[uid]]
        items.append(_Item((int(key_id), 0), key, ext, int(uid), -1, w.HARMLESS, kind))
    return sorted(items, key=lambda item: item.sort_key)


def _stored_bytes(item: _Item, blobs: list[bytes]) -> bytes:
    data = blobs[item.uid]
    return data if item.hostile == w.HARMLESS else hostile_bytes(item.hostile, data)


def _record(stored: Stored, source: str, item: _Item, name: str, location: str) -> None:
    """Note a planted case; odd member names are known by their name, not their post key."""
    if item.extra is not None or item.hostile != w.HARMLESS:
        key = item.key if item.extra in (None, w.ORPHAN) else name.rsplit(".", 1)[0]
        stored.record(source, key, item.extra or w.HOSTILE[item.hostile], location)


def _truncated_tar(members: list[tuple[str, bytes]]) -> bytes:
    """The archive cut in the middle of the last member's data (an interrupted upload)."""
    block = tarfile.BLOCKSIZE
    # ustar without extended headers: each member is one header block plus padded data.
    last_header = sum(block + -(-len(data) // block) * block for _, data in members[:-1])
    return tar_bytes(members)[: last_header + block + max(1, len(members[-1][1]) // 2)]


def store_images(plan: Plan, blobs: list[bytes], put: Callable[[str, bytes], object]) -> Stored:
    """Write every source's images with `put(path, bytes)`; the member cut off in the truncated
    shard is marked in the plan, so the ground truth and metrics leave it out."""
    stored, p = Stored(), parameters()["images"]
    for source in w.SOURCES:
        items = _items(plan, source)
        for item in items:
            if item.hostile == w.MISSING_IMAGE:
                stored.record(source, item.key, w.HOSTILE[item.hostile], "")
        items = [item for item in items if item.hostile != w.MISSING_IMAGE]
        if source not in w.SHARD_SOURCES:
            for item in items:
                # The fan-out folder is the key's last two digits: they spread files evenly.
                path = f"images/{source}/{item.key.rjust(2, '0')[-2:]}/{item.key}.{item.ext}"
                put(path, _stored_bytes(item, blobs))
                stored.files += 1
                _record(stored, source, item, f"{item.key}.{item.ext}", path)
            continue
        size = p["shard_samples"]
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        for number, chunk in enumerate(chunks):
            path = f"shards/{source}/{source}-{number:05d}.tar"
            harmless = [item.extra is None and item.hostile == w.HARMLESS for item in chunk]
            plain = [i for i, ok in enumerate(harmless) if ok]
            last = number == len(chunks) - 1
            cut = source == p["truncated_shard_source"] and last and bool(plain)
            if cut:  # the last harmless post image moves to the end, where the shard is cut
                chunk = chunk[: plain[-1]] + chunk[plain[-1] + 1 :] + [chunk[plain[-1]]]
            members: list[tuple[str, bytes]] = []
            for item in chunk:
                name = p["member_dirs"].get(item.extra, "") + f"{item.key}.{item.ext}"
                members.append((name, _stored_bytes(item, blobs)))
                _record(stored, source, item, name, f"{path}:{name}")
                json_u = uniform(plan.seed, "shard.json", np.array([item.uid]), item.row)[0]
                described = item.extra is None and not (cut and item is chunk[-1])
                if described and json_u < p["shard_json_share"]:
                    meta = {"key": item.key, "source": source, "ext": item.ext}
                    text = json.dumps(meta, sort_keys=True, separators=(",", ":"))
                    members.append((f"{item.key}.json", text.encode()))
            if cut:
                plan.sources[source].hostile[chunk[-1].row] = w.TRUNCATED_MEMBER
                location = f"{path}:{members[-1][0]}"
                stored.record(source, chunk[-1].key, w.HOSTILE[w.TRUNCATED_MEMBER], location)
            put(path, _truncated_tar(members) if cut else tar_bytes(members))
            stored.shards += 1
            stored.members += len(members)
    return stored
