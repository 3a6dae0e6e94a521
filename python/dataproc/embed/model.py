"""Load an open_clip model for image embedding and name its weights by a model tag.

Weights always go through open_clip's own loading (`pretrained=` a hub tag or a local
checkpoint file), so the small model used by tests and the demo exercises the same path as real
weights. The model tag, `<model name>@<first 16 hex of the weights' sha256>`, is stored with
every embedding so vectors from two different models are never mixed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dataproc.embed.pixels import PixelPipeline, split_preprocess

TINY_MODEL = "dataproc-tiny"  # tests and the demo: one 64 px patch, `smooth_patch_embedding`
CONFIG_DIR = Path(__file__).with_name("model_configs")
RANDOM_INIT = "random-init"


def register_model_configs() -> None:
    """Make the package's model configs (e.g. `dataproc-tiny`) known to open_clip.

    open_clip keeps its own registry of configs; adding ours is idempotent.
    """
    import open_clip

    for path in sorted(CONFIG_DIR.glob("*.json")):
        if open_clip.get_model_config(path.stem) is None:
            open_clip.add_model_config(path)


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` is the first CUDA device when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (checkpoints can be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_tag(name: str, pretrained: str | None, weights_sha256: str | None) -> str:
    """`<name>@<sha16>` for a weights file, `<name>@<tag>` for a hub tag, `<name>@random-init`.

    Characters that are awkward in paths (`/`, `:`) become `-`: the tag names a directory
    under `state/embeddings/`.
    """
    if weights_sha256:
        suffix = weights_sha256[:16]
    elif pretrained:
        suffix = pretrained
    else:
        suffix = RANDOM_INIT
    return _path_safe(f"{name}@{suffix}")


def _path_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+-]", "-", text)


def ensure_demo_checkpoint(path: str | Path, seed: int = 0, model_name: str = TINY_MODEL) -> Path:
    """Write a seeded, randomly initialized checkpoint for `model_name` once, and return its path.

    Tests and the demo cannot download weights, so they use weights made from a fixed seed
    (open_clip's own initialization, then `smooth_patch_embedding`). The bytes are
    deterministic (same seed, same file; the archive is built in memory so the file name does
    not leak into it), hence so is the model tag. An existing file is kept as is. The caller's
    torch RNG state is left untouched.
    """
    import open_clip

    path = Path(path)
    if path.exists():
        return path
    register_model_configs()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.create_model(model_name, pretrained=None)
        smooth_patch_embedding(model.visual)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(path)
    return path


def smooth_patch_embedding(visual: torch.nn.Module, correlation: float = 1 / 8) -> None:
    """Redraw a ViT's patch embedding as smooth, zero-mean random filters, in place.

    open_clip initializes patch filters as white noise. Untrained, such filters weigh
    pixel-level detail as much as layout, and they all respond to an image's average colour, so
    the embeddings of unrelated pictures share one dominant direction and score almost as close
    as copies do. Gaussian-correlated noise (correlation length `correlation` x the patch side)
    projects a patch's coarse layout and colours instead, which resizing, re-encoding,
    watermarks and slight crops hardly change; removing each filter's mean per colour channel
    makes it blind to a flat colour offset. With the whole image as one patch (`dataproc-tiny`),
    the embedding is a seeded random projection of the picture's low-resolution layout: copies
    stay close and unrelated pictures come out near-orthogonal (`bench/tune_demo_model.py`
    measures this). The filters keep open_clip's weight scale; towers other than a ViT (e.g.
    ModifiedResNet) are left as open_clip made them. Draws from torch's global RNG.
    """
    from open_clip.transformer import VisionTransformer

    if not isinstance(visual, VisionTransformer):
        return
    weight = visual.conv1.weight
    out_channels, in_channels, height, width = weight.shape
    sigma = correlation * max(height, width)
    radius = max(1, round(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    with torch.no_grad():
        noise = torch.randn(out_channels * in_channels, 1, height + 2 * radius, width + 2 * radius)
        noise = torch.nn.functional.conv2d(noise, kernel.view(1, 1, 1, -1))
        noise = torch.nn.functional.conv2d(noise, kernel.view(1, 1, -1, 1))
        filters = noise.view(out_channels, in_channels, height, width)
        filters = filters - filters.mean(dim=(2, 3), keepdim=True)
        weight.copy_(filters * (weight.std() / filters.std()))


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is: reported by `/info` and stored with embeddings (`model_tag`)."""

    model: str
    pretrained: str | None
    model_tag: str
    dim: int
    weights_sha256: str | None
    device: str
    image_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadedModel:
    """An open_clip model in eval mode, its preprocessing, and what it is.

    `pixels.prepare` turns a decoded RGB image into a model-sized tensor (run it in decode
    workers); `encode` takes a stack of those.
    """

    info: ModelInfo
    model: torch.nn.Module
    pixels: PixelPipeline
    device: torch.device

    def encode(self, pixels: torch.Tensor) -> np.ndarray:
        """Embed a batch from `pixels.prepare`: L2-normalized float32 vectors, one per row.

        Pixels are normalized on the model's device. On CUDA the forward runs under bf16
        autocast; the output normalization is always in float32.
        """
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if self.device.type == "cuda"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            batch = self.pixels.normalize(pixels.to(self.device, non_blocking=True))
            features = self.model.encode_image(batch)
        features = torch.nn.functional.normalize(features.float(), dim=-1)
        return features.cpu().numpy().astype(np.float32, copy=False)


def load_model(name: str, pretrained: str | None, device: str = "auto") -> LoadedModel:
    """Load `name` with open_clip's `create_model_and_transforms(name, pretrained=...)`.

    `pretrained` is a local checkpoint path (hashed into the model tag), an open_clip hub tag
    (its name goes into the tag), or None for random initialization (benchmarks only).
    """
    import open_clip

    register_model_configs()
    target = resolve_device(device)
    model, _, preprocess = open_clip.create_model_and_transforms(
        name, pretrained=pretrained, device=target
    )
    model.eval()
    weights = file_sha256(pretrained) if pretrained and os.path.isfile(pretrained) else None
    image_size = _image_size(model)
    info = ModelInfo(
        model=name,
        pretrained=pretrained,
        model_tag=model_tag(name, pretrained, weights),
        dim=_embedding_dim(model, image_size, target),
        weights_sha256=weights,
        device=str(target),
        image_size=image_size,
    )
    pixels = split_preprocess(preprocess)
    return LoadedModel(info=info, model=model, pixels=pixels, device=target)


def _embedding_dim(model: torch.nn.Module, image_size: int, device: torch.device) -> int:
    """The output width, from one forward of a blank image (works for every open_clip tower)."""
    with torch.inference_mode():
        blank = torch.zeros((1, 3, image_size, image_size), device=device)
        return int(model.encode_image(blank).shape[-1])


def _image_size(model: torch.nn.Module) -> int:
    """The square input side the image tower expects."""
    size = getattr(model.visual, "image_size", 224)
    if isinstance(size, tuple | list):
        return int(max(size))
    return int(size)
