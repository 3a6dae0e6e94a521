"""The image layouts of a published version: WebDataset samples that all share their keys, the
kohya folder (also an HF imagefolder), the image format option and its deterministic bytes.

HF `datasets` and the `webdataset` library loading a real build are checked by
test_readme_loaders.py, which runs the README's own code.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pytest
from dataproc.export import ExportSettings, publish
from dataproc.export.layouts import ImageFormat, shards_card, transcode
from dataproc.lake import Lake
from PIL import Image
from test_export_lakes import IMAGE_SPECS, write_export_lake

DATASET = "anime-demo"
EXT_OF = {spec[0]: spec[1] for spec in IMAGE_SPECS}


def _publish(root: Path, rows: pa.Table, **settings) -> Path:
    publish(
        rows,
        Lake(str(root)),
        ExportSettings(dataset=DATASET, shard_size=3, **settings),
        invocation_id=None,
        git_commit=None,
    )
    return root / "exports" / DATASET / "v0001"


def _samples(version: Path) -> list[dict[str, bytes]]:
    samples: dict[str, dict[str, bytes]] = {}
    for shard in sorted((version / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                key, ext = member.name.split(".", 1)
                samples.setdefault(key, {})[ext] = tar.extractfile(member).read()
    return [{"__key__": key, **members} for key, members in sorted(samples.items())]


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


@pytest.fixture
def lake(tmp_path: Path):
    root = tmp_path / "lake"
    return root, write_export_lake(Lake(str(root)))


def test_default_samples_share_their_keys_and_keep_every_pixel(lake):
    root, built = lake
    version = _publish(root, built.rows)
    samples = _samples(version)
    assert [sample["__key__"] for sample in samples] == sorted(EXT_OF)
    # png, jpg, jpeg, webp and gif sources: one key set for every sample.
    assert {tuple(sorted(sample)) for sample in samples} == {("__key__", "json", "png", "txt")}
    for sample in samples:
        key = sample["__key__"]
        assert sample["png"].startswith(b"\x89PNG")
        assert _pixels(sample["png"]) == _pixels(built.images[key]), key
        record = json.loads(sample["json"])
        assert (record["image_ext"], record["image_format"]) == (EXT_OF[key], "png")
    # An image already in the target format keeps its bytes.
    png_source = next(key for key, ext in EXT_OF.items() if ext == "png")
    assert next(s for s in samples if s["__key__"] == png_source)["png"] == built.images[png_source]


def test_shards_card_types_every_json_field(lake):
    root, built = lake
    version = _publish(root, built.rows, layouts=("webdataset",))
    card = (version / "shards" / "README.md").read_text()
    header = json.loads(card.split("---\n")[1])
    features = {feature["name"]: feature for feature in header["dataset_info"]["features"]}
    assert header["configs"] == [{"config_name": "default", "data_files": "*.tar"}]
    assert features["png"] == {"name": "png", "dtype": "image"}
    row = {field["name"]: field for field in features["json"]["struct"]}
    assert set(row) == {*built.rows.column_names, "image_format"}
    assert row["aesthetic"] == {"name": "aesthetic", "dtype": "float64"}
    assert row["created_at"]["dtype"] == "string"  # JSON writes timestamps as ISO-8601 text
    assert row["member_keys"] == {"name": "member_keys", "list": "string"}
    assert row["sections"]["struct"][0] == {"name": "count", "list": "string"}
    nested = pa.schema([("pairs", pa.list_(pa.struct([("k", pa.int32())])))])
    nested_card = shards_card("d", nested, ImageFormat("jpg"))
    assert '"list": [\n' in nested_card.decode() and '"dtype": "int64"' in nested_card.decode()


def test_original_format_keeps_bytes_and_kohya_gets_no_gif(lake):
    root, built = lake
    version = _publish(root, built.rows, image_format="original")
    for sample in _samples(version):
        key = sample["__key__"]
        assert sample[EXT_OF[key]] == built.images[key]
    assert not (version / "shards" / "README.md").exists()  # mixed keys: HF cannot load them
    folder = version / "kohya" / f"1_{DATASET}"
    images = sorted(p.name for p in folder.iterdir() if p.suffix != ".txt")
    assert images == sorted(
        f"{key}.{'png' if ext == 'gif' else ext}" for key, ext in EXT_OF.items()
    )
    gif = next(key for key, ext in EXT_OF.items() if ext == "gif")
    assert _pixels((folder / f"{gif}.png").read_bytes()) == _pixels(built.images[gif])


def test_kohya_folder_has_captions_repeats_and_imagefolder_metadata(lake):
    root, built = lake
    captions = [f"caption ||| {prompt}" for prompt in built.rows["prompt"].to_pylist()]
    rows = built.rows.append_column("kohya_caption", pa.array(captions))
    version = _publish(root, rows, layouts=("kohya",), image_format="jpg", kohya_repeats=3)
    assert not (version / "shards").exists()
    folder = version / "kohya" / f"3_{DATASET}"
    by_id = {row["image_id"]: row for row in rows.to_pylist()}
    assert sorted(p.name for p in folder.glob("*.jpg")) == [f"{key}.jpg" for key in sorted(EXT_OF)]
    for key, row in by_id.items():
        assert (folder / f"{key}.txt").read_text("utf-8") == row["kohya_caption"]
    lines = (version / "kohya" / "metadata.jsonl").read_text("utf-8").splitlines()
    metadata = [json.loads(line) for line in lines]
    assert [m["file_name"] for m in metadata] == [
        f"3_{DATASET}/{key}.jpg" for key in sorted(EXT_OF)
    ]
    assert all((version / "kohya" / m["file_name"]).exists() for m in metadata)
    assert {m["image_ext"] for m in metadata} == set(EXT_OF.values())
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["counts"]["kohya_images"] == len(EXT_OF)
    assert manifest["layout"]["layouts"] == ["kohya"]


def test_transcoding_is_deterministic_and_flattens_alpha():
    rgba = Image.new("RGBA", (9, 7), (10, 200, 30, 0))
    source = io.BytesIO()
    rgba.save(source, "PNG")
    for target in ("png", "jpg", "webp"):
        first, second = (transcode(source.getvalue(), target, 90) for _ in range(2))
        assert first == second, target
    with Image.open(io.BytesIO(transcode(source.getvalue(), "jpg", 90))) as jpg:
        assert jpg.mode == "RGB" and jpg.getpixel((0, 0)) == (255, 255, 255)
    frames = [Image.new("P", (5, 5), color) for color in (1, 2)]
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:])
    with Image.open(io.BytesIO(transcode(animated.getvalue(), "png", 95))) as png:
        assert png.format == "PNG" and getattr(png, "n_frames", 1) == 1
    name, data = ImageFormat("jpg").store("x", b"jpeg bytes", "jpeg")
    assert (name, data) == ("jpg", b"jpeg bytes")  # already JPEG: kept, named as the target
