"""Embedder settings: the model comes from config (dbt vars), deployment facts from env vars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dataproc.lake import lake_root

URLS_ENV = "DATAPROC_EMBEDDER_URLS"
TOKEN_ENV = "DATAPROC_EMBEDDER_TOKEN"
DEFAULT_MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class EmbedSettings:
    """Everything needed to embed image refs, in-process or through sidecars.

    `urls` empty means in-process: the model is loaded here and `lake` is read directly.
    With `urls`, sidecars do the work and only the client fields (`token`, `chunk_size`,
    `timeout_s`, `retries`, `backoff_s`) matter here. `decode_workers=0` picks a count for the
    device (`engine.auto_decode_workers`).
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
        }
        return replace(cls(), **{**from_env, **overrides})


def parse_urls(value: str) -> tuple[str, ...]:
    """`"http://a:1, http://b:2/"` -> `("http://a:1", "http://b:2")`."""
    return tuple(url.strip().rstrip("/") for url in value.split(",") if url.strip())
