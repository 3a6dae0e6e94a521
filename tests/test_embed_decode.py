"""Decoding: every bad image class becomes an error row, every odd valid image is embedded."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from dataproc.embedding.checkpoints import (
    EmbeddingCheckpoints,
    embed_incrementally,
    reject_too_small,
)
from dataproc.embedding.decode import ImageRef, decode_image, load_first_frame, open_image, to_rgb
from dataproc.embedding.engine import Embedder, LoadedModel, result_schema
from dataproc.lake import Lake
from PIL import Image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    """A smooth, JPEG-friendly RGB picture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    phase = rng.uniform(0, 6, size=3)
    channels = [127 + 120 * np.sin(x / (17 + 9 * i) + y / 23 + phase[i]) for i in range(3)]
    return Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(width: int = 60000, height: int = 60000) -> bytes:
    """A PNG that declares `width` x `height` RGB but carries almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def animation(fmt: str) -> bytes:
    frames = [Image.new("RGB", (96, 96), colour) for colour in ("red", "blue", "lime")]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def sixteen_bit_gradient() -> bytes:
    ramp = np.linspace(0, 65535, 256, dtype=np.float64).round().astype(np.uint16)
    image = Image.fromarray(np.tile(ramp, (64, 1)))
    assert image.mode == "I;16"
    return encode(image, "PNG")


def palette_with_transparency() -> bytes:
    image = Image.new("P", (80, 80), 0)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * (254 * 3))
    image.paste(1, (20, 20, 60, 60))
    return encode(image, "PNG", transparency=0)


def half_transparent_rgba() -> bytes:
    image = photo(120, 90).convert("RGBA")
    alpha = np.zeros((90, 120), dtype=np.uint8)
    alpha[:, 60:] = 255
    image.putalpha(Image.fromarray(alpha))
    return encode(image, "PNG")


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (100, 80), (0, 255, 255, 0)), "JPEG", quality=95)


BAD = {
    "truncated.jpg": (lambda: encode(photo(), "JPEG")[:1500], "truncated"),
    "zero.jpg": (lambda: b"", "empty"),
    "page.jpg": (lambda: b"<!DOCTYPE html><html><body>403 Forbidden</body></html>", "not_an_image"),
    "bomb.png": (huge_png_header, "decompression_bomb"),
}
ODD = {
    "cmyk.jpg": cmyk_jpeg,
    "gray16.png": sixteen_bit_gradient,
    "palette.png": palette_with_transparency,
    "anim.gif": lambda: animation("GIF"),
    "anim.webp": lambda: animation("WEBP"),
    "rgba.png": half_transparent_rgba,
}


def write_lake(root: Path, files: dict[str, bytes]) -> list[ImageRef]:
    refs = []
    for name, data in files.items():
        path = root / "images" / "test" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        refs.append(ImageRef(name, f"images/test/{name}", 0, len(data)))
    return refs


def embed_files(
    model: LoadedModel, root: Path, files: dict[str, bytes], **options: int
) -> dict[str, dict]:
    refs = write_lake(root, files)
    with Embedder(model, Lake(str(root)), batch_size=4, **options) as embedder:
        table = embedder.embed(refs)
    assert table.column("image_key").to_pylist() == [r.image_key for r in refs]
    return {row["image_key"]: row for row in table.to_pylist()}


def test_bad_images_become_error_rows_and_good_ones_survive(
    model: LoadedModel, tmp_path: Path
) -> None:
    files = {name: make() for name, (make, _) in BAD.items()}
    files["good.png"] = encode(photo(), "PNG")
    rows = embed_files(model, tmp_path, files)
    for name, (_, reason) in BAD.items():
        assert rows[name]["error"] == reason, name
        assert rows[name]["embedding"] is None, name
    assert rows["good.png"]["error"] is None
    assert len(rows["good.png"]["embedding"]) == 64


def test_unusual_valid_images_are_embedded(model: LoadedModel, tmp_path: Path) -> None:
    rows = embed_files(model, tmp_path, {name: make() for name, make in ODD.items()})
    for name, row in rows.items():
        assert row["error"] is None, (name, row["error"])
        vector = np.asarray(row["embedding"], dtype=np.float32)
        assert np.isfinite(vector).all(), name
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5, name
    assert (rows["anim.gif"]["width"], rows["anim.gif"]["height"]) == (96, 96)


def test_missing_object_is_an_error_row(model: LoadedModel, tmp_path: Path) -> None:
    refs = [ImageRef("gone", "images/test/gone.png", 0, 100)]
    with Embedder(model, Lake(str(tmp_path)), batch_size=2, decode_workers=1) as embedder:
        row = embedder.embed(refs).to_pylist()[0]
    assert row["error"] == "missing"


def test_pixel_limit_is_configurable_and_reports_the_declared_size(
    model: LoadedModel, tmp_path: Path
) -> None:
    files = {"large.png": encode(photo(1200, 1000), "PNG"), "small.png": encode(photo(), "PNG")}
    rows = embed_files(model, tmp_path, files, max_pixels=1_000_000, decode_workers=2)
    assert rows["large.png"]["error"] == "decompression_bomb"
    assert (rows["large.png"]["width"], rows["large.png"]["height"]) == (1200, 1000)
    assert rows["small.png"]["error"] is None


def decoded_rgb(data: bytes) -> np.ndarray:
    return np.asarray(to_rgb(load_first_frame(open_image(data, 50_000_000))))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animations_use_their_first_frame(fmt: str) -> None:
    pixels = decoded_rgb(animation(fmt))
    assert pixels.shape == (96, 96, 3)
    red, green, blue = (int(v) for v in pixels[48, 48])
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    pixels = decoded_rgb(sixteen_bit_gradient())
    row = pixels[10, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert abs(row[128] - 128) <= 1
    assert np.all(np.diff(row) >= 0)


def test_transparency_is_composited_on_white() -> None:
    palette = decoded_rgb(palette_with_transparency())
    assert tuple(palette[5, 5]) == (255, 255, 255)
    assert tuple(palette[40, 40]) == (200, 30, 30)
    rgba = decoded_rgb(half_transparent_rgba())
    assert tuple(rgba[45, 10]) == (255, 255, 255)
    assert tuple(rgba[45, 100]) != (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb() -> None:
    red, green, blue = (int(v) for v in decoded_rgb(cmyk_jpeg())[40, 50])
    assert red > 200 and green < 60 and blue < 60


def test_large_jpeg_reports_original_size(model: LoadedModel) -> None:
    data = encode(photo(2400, 1800), "JPEG")
    decoded = decode_image(data, model.pixels.prepare, 64, 50_000_000)
    assert decoded.error is None
    assert (decoded.width, decoded.height) == (2400, 1800)
    assert decoded.pixels is not None and tuple(decoded.pixels.shape) == (3, 64, 64)


def test_error_table_types(model: LoadedModel, tmp_path: Path) -> None:
    refs = write_lake(tmp_path, {"zero.jpg": b""})
    with Embedder(model, Lake(str(tmp_path)), batch_size=2) as embedder:
        table = embedder.embed(refs)
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 64)
    assert table.column("embedding").null_count == 1


def test_the_format_comes_from_the_bytes_not_the_name(model: LoadedModel, tmp_path: Path) -> None:
    files = {
        "png_named.jpg": encode(photo(90, 60), "PNG"),
        "jpeg_named.png": encode(photo(90, 60), "JPEG"),
        "plain.jpeg": encode(photo(90, 60), "JPEG"),
        "anim.gif": animation("GIF"),
        "anim.webp": animation("WEBP"),
        "bitmap.png": encode(photo(90, 60), "BMP"),  # not a format a dataset ships
    }
    rows = embed_files(model, tmp_path, files)
    formats = {name: (row["format"], row["error"]) for name, row in rows.items()}
    assert formats == {
        "png_named.jpg": ("png", None),
        "jpeg_named.png": ("jpg", None),
        "plain.jpeg": ("jpg", None),
        "anim.gif": ("gif", None),
        "anim.webp": ("webp", None),
        "bitmap.png": (None, "not_an_image"),
    }
    assert (rows["png_named.jpg"]["width"], rows["png_named.jpg"]["height"]) == (90, 60)


def test_a_rejected_image_still_reports_its_format(model: LoadedModel) -> None:
    decoded = decode_image(huge_png_header(5000, 4000), model.pixels.prepare, 64, 1_000_000)
    assert (decoded.error, decoded.width, decoded.format) == ("decompression_bomb", 5000, "png")


def embedded_rows(dim: int = 2) -> pa.Table:
    """Four result rows: a 1x1 image, one with a 255-pixel side, a 256x256 one, an error."""
    vectors = pa.array([[1.0, 0.0]] * 3 + [None], pa.list_(pa.float32(), dim))
    return pa.table(
        {
            "image_key": ["s:tiny", "s:thin", "s:ok", "s:bad"],
            "embedding": vectors,
            "width": pa.array([1, 4000, 256, None], pa.int32()),
            "height": pa.array([1, 255, 256, None], pa.int32()),
            "format": ["png", "jpg", "png", None],
            "error": [None, None, None, "not_an_image"],
            "model_tag": ["m@1"] * 4,
        },
        schema=result_schema(dim),
    )


def test_images_below_min_side_after_decoding_are_too_small() -> None:
    rows = reject_too_small(embedded_rows(), min_side=256)
    assert rows["error"].to_pylist() == ["too_small", "too_small", None, "not_an_image"]
    assert rows["embedding"].is_null().to_pylist() == [True, True, False, True]
    assert rows.schema == result_schema(2)
    assert reject_too_small(embedded_rows(), min_side=None).equals(embedded_rows())


class ReplayBackend:
    """A backend that must not be called: every ref is already checkpointed."""

    class info:  # noqa: N801 (stands in for a ModelInfo)
        dim = 2
        model_tag = "m@1"

    def embed(self, refs: pa.Table) -> pa.Table:
        raise AssertionError(f"embedded {len(refs)} refs again")

    def embed_all(self, chunks):
        for chunk in chunks:
            yield self.embed(chunk)


def test_chunks_written_before_the_format_column_still_read(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    old = embedded_rows().drop_columns(["format"])
    lake.put_parquet("state/embeddings/m@1/chunk-000000.parquet", old.slice(0, 2))
    lake.put_parquet("state/embeddings/m@1/chunk-000001.parquet", embedded_rows().slice(2))
    refs = pa.table({name: [None] * 4 for name in ("uri", "offset", "length")}).append_column(
        "image_key", embedded_rows()["image_key"]
    )
    rows = embed_incrementally(
        refs, ReplayBackend(), EmbeddingCheckpoints(lake, "m@1"), chunk_rows=4
    )
    table = rows.read_all().sort_by("image_key")
    assert table.schema == result_schema(2)
    assert table["format"].to_pylist() == [None, "png", None, None]  # sorted by image_key
