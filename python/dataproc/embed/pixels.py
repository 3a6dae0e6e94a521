"""Split a model's preprocessing into a per-image PIL stage and a per-batch normalization.

open_clip's preprocess ends with ToTensor + Normalize. Run per image in decode threads, those
produce float32 tensors (4x the memory of the pixels) and put small torch ops on many threads at
once. Stopping at uint8 instead and normalizing whole batches on the model's device keeps decode
threads in PIL (which releases the GIL), moves a quarter of the bytes to the accelerator, and
computes exactly the same values (the same float32 ops in the same order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

TO_TENSOR_NAMES = ("ToTensor", "MaybeToTensor")


@dataclass(frozen=True)
class PixelPipeline:
    """`prepare` turns an RGB image into a model-sized tensor; `normalize` finishes a batch.

    With `mean`/`std` set, `prepare` yields uint8 CHW and `normalize` scales to [0, 1] and
    standardizes. Without them, `prepare` is the full preprocess and `normalize` passes through.
    """

    prepare: Callable[[Image.Image], torch.Tensor]
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """A float32 batch ready for the model (from uint8 pixels when `prepare` made those)."""
        if batch.dtype != torch.uint8 or self.mean is None or self.std is None:
            return batch
        mean = torch.tensor(self.mean, dtype=torch.float32, device=batch.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32, device=batch.device).view(1, -1, 1, 1)
        return batch.to(torch.float32).div(255).sub_(mean).div_(std)


def split_preprocess(preprocess: Callable[[Image.Image], torch.Tensor]) -> PixelPipeline:
    """Split a torchvision `Compose` ending in ToTensor + Normalize; else keep it whole."""
    steps = list(getattr(preprocess, "transforms", []))
    names = [type(step).__name__ for step in steps]
    if len(steps) < 2 or names[-2] not in TO_TENSOR_NAMES or names[-1] != "Normalize":
        return PixelPipeline(prepare=preprocess)
    normalize = steps[-1]
    return PixelPipeline(
        prepare=ImageSteps(tuple(steps[:-2])),
        mean=tuple(float(v) for v in normalize.mean),
        std=tuple(float(v) for v in normalize.std),
    )


@dataclass(frozen=True)
class ImageSteps:
    """The PIL part of a preprocess (resize, crop, mode), ending in uint8 CHW; picklable."""

    steps: tuple[Callable[[Image.Image], Image.Image], ...]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        for step in self.steps:
            image = step(image)
        return uint8_chw(image)


def uint8_chw(image: Image.Image) -> torch.Tensor:
    """A PIL image as a uint8 tensor shaped (channels, height, width)."""
    array = np.array(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1)
