"""What the embedding engine is asked and what it answers, without loading torch.

The settings (`EmbedSettings`), what a model is (`ModelInfo`) and the rows it returns
(`result_schema`) are shared by the in-process engine (`engine`), the sidecar client (`client`)
and the checkpoints (`checkpoints`). Only the engine needs torch and open_clip, which take about
0.7 GiB of a process's memory and 3 s to import: a build that talks to sidecars, or that has
nothing to embed, never loads them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataproc.embedding.decode import DEFAULT_MAX_PIXELS
from dataproc.lake import lake_root

URLS_ENV = "DATAPROC_EMBEDDER_URLS"
TOKEN_ENV = "DATAPROC_EMBEDDER_TOKEN"
# Requests in flight per URL: 2 keeps a sidecar busy while its last answer travels back; a URL
# that balances over many replicas (Ray Serve) wants twice its replica count.
REQUESTS_PER_URL_ENV = "DATAPROC_EMBEDDER_REQUESTS_PER_URL"
TINY_MODEL = "dataproc-tiny"  # tests and the demo: one 64 px patch, `smooth_patch_embedding`
CONFIG_DIR = Path(__file__).with_name("model_configs")


# -- settings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbedSettings:
    """Everything needed to embed image refs, in-process or through sidecars.

    `urls` empty means in-process: the model is loaded here and `lake` is read directly.
    With `urls`, sidecars do the work and only the client fields (`token`, `chunk_size`,
    `timeout_s`, `retries`, `backoff_s`, `requests_per_url`) matter here. `decode_workers=0`
    picks a count for the device (`auto_decode_workers`). No `pretrained` means random weights,
    refused unless `allow_random_weights` (benchmarks). `precision` is the autocast on CUDA.
    """

    model: str = "ViT-B-32"
    pretrained: str | None = None
    device: str = "auto"
    lake: str = field(default_factory=lake_root)
    batch_size: int = 32
    decode_workers: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS
    urls: tuple[str, ...] = ()
    token: str | None = None
    chunk_size: int = 256
    timeout_s: float = 600.0
    retries: int = 3
    backoff_s: float = 0.5
    requests_per_url: int = 2
    allow_random_weights: bool = False
    precision: str = "bf16"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> EmbedSettings:
        """Settings whose lake, sidecar URLs and token come from the environment.

        Keyword overrides (e.g. `model=`, `pretrained=` from dbt vars) win over defaults.
        """
        env = os.environ if env is None else env
        from_env: dict[str, Any] = {
            "lake": lake_root(env),
            "urls": parse_urls(env.get(URLS_ENV, "")),
            "token": env.get(TOKEN_ENV) or None,
            "requests_per_url": int(env.get(REQUESTS_PER_URL_ENV) or 2),
        }
        return cls(**{**from_env, **overrides})


def parse_urls(value: str) -> tuple[str, ...]:
    """`"http://a:1, http://b:2/"` -> `("http://a:1", "http://b:2")`."""
    return tuple(url.strip().rstrip("/") for url in value.split(",") if url.strip())


# -- model -----------------------------------------------------------------------------------------
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


def configured_dim(name: str) -> int | None:
    """The embedding width open_clip's config for `name` declares (`embed_dim`), read from the
    JSON file without importing open_clip: the package's own configs first (`CONFIG_DIR`), then
    open_clip's. None when neither has a config of that name."""
    folders = [CONFIG_DIR]
    spec = find_spec("open_clip")
    if spec is not None and spec.submodule_search_locations:
        folders += [Path(place) / "model_configs" for place in spec.submodule_search_locations]
    for folder in folders:
        path = folder / f"{name}.json"
        if path.is_file():
            return int(json.loads(path.read_text())["embed_dim"])
    return None


# -- results ---------------------------------------------------------------------------------------
def result_schema(dim: int) -> pa.Schema:
    """`image_key, embedding[dim], width, height, format, error, model_tag`; `error` is null
    when ok, `format` is the extension of the format sniffed from the bytes."""
    return pa.schema(
        [
            pa.field("image_key", pa.string(), nullable=False),
            pa.field("embedding", pa.list_(pa.float32(), dim)),
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
            pa.field("format", pa.string()),
            pa.field("error", pa.string()),
            pa.field("model_tag", pa.string(), nullable=False),
        ]
    )
