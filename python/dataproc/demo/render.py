"""Draw a picture: a synthetic scene that is a pure function of (seed, picture id).

A gradient sky, a ground band, and a dozen shapes and strokes in random colours, all placed in
relative coordinates, so the same picture drawn at another size looks the same. Different
pictures differ in palette, layout and shapes, which keeps them apart in embedding space.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

GRADIENT_GRID = 96


def _rng(seed: int, picture: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, int(picture), 0x50494354])


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


def draw_picture(seed: int, picture: int, width: int, height: int) -> Image.Image:
    """The picture's native rendering, an RGB image of exactly (width, height)."""
    rng = _rng(seed, picture)
    image = _gradient(rng, width, height)
    draw = ImageDraw.Draw(image)
    w, h = width - 1, height - 1
    horizon = rng.uniform(0.55, 0.85)
    draw.rectangle((0, int(horizon * h), w, h), fill=_colour(rng))
    for _ in range(int(rng.integers(6, 15))):
        kind = int(rng.integers(0, 5))
        x0, x1 = sorted(rng.uniform(-0.1, 1.1, 2) * w)
        y0, y1 = sorted(rng.uniform(-0.1, 1.1, 2) * h)
        box = (x0, y0, max(x1, x0 + 2), max(y1, y0 + 2))
        colour = _colour(rng)
        stroke = max(1, int(rng.uniform(0.002, 0.02) * max(width, height)))
        if kind == 0:
            draw.ellipse(box, fill=colour, outline=_colour(rng), width=stroke)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        elif kind == 2:
            points = [(float(x * w), float(y * h)) for x, y in rng.uniform(0, 1, (5, 2))]
            draw.polygon(points[: int(rng.integers(3, 6))], fill=colour)
        elif kind == 3:
            points = [(float(x * w), float(y * h)) for x, y in rng.uniform(0, 1, (4, 2))]
            draw.line(points, fill=colour, width=stroke * 2)
        else:
            draw.arc(
                box,
                float(rng.uniform(0, 180)),
                float(rng.uniform(180, 360)),
                fill=colour,
                width=stroke * 2,
            )
    _figure(draw, rng, width, height)
    return image


def _figure(draw: ImageDraw.ImageDraw, rng: np.random.Generator, width: int, height: int) -> None:
    """A simple character silhouette: head, hair, body."""
    cx = rng.uniform(0.3, 0.7) * width
    scale = rng.uniform(0.25, 0.45) * min(width, height)
    top = rng.uniform(0.15, 0.4) * height
    head = scale * 0.35
    hair = _colour(rng)
    draw.ellipse((cx - head * 1.2, top - head * 1.1, cx + head * 1.2, top + head * 1.3), fill=hair)
    draw.ellipse((cx - head, top - head, cx + head, top + head), fill=_colour(rng))
    body = [
        (cx, top + head),
        (cx - scale * 0.6, top + scale * 2.2),
        (cx + scale * 0.6, top + scale * 2.2),
    ]
    draw.polygon(body, fill=_colour(rng))
