"""Identity settings, as given in dbt vars (passed to the Python models through `meta`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IdentitySettings:
    """`max_cluster_size`: larger components are re-split by the guard.
    `split_threshold`: the stricter score an edge needs to survive inside such a component."""

    max_cluster_size: int
    split_threshold: float

    def __post_init__(self) -> None:
        if self.max_cluster_size < 1:
            raise ValueError(f"max_cluster_size must be at least 1, got {self.max_cluster_size}")

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> IdentitySettings:
        """Read the settings from a model's `meta`, where rendered vars arrive as strings."""
        meta = meta or {}
        missing = [name for name in ("max_cluster_size", "split_threshold") if name not in meta]
        if missing:
            raise ValueError(f"identity settings missing from the model's meta: {missing}")
        return cls(
            max_cluster_size=int(str(meta["max_cluster_size"]).strip()),
            split_threshold=float(str(meta["split_threshold"]).strip()),
        )
