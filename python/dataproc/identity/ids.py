"""Image ID minting: `img_` + 16 hex characters, derived from a cluster's smallest key."""

from __future__ import annotations

import hashlib
from collections.abc import Container

ID_PREFIX = "img_"
ID_HEX_CHARS = 16


def _digest(text: str) -> str:
    return ID_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_HEX_CHARS]


def mint_id(seed_key: str, issued: Container[str]) -> str:
    """A new image ID for a cluster whose smallest member key is `seed_key`.

    The ID is `sha256(seed_key)` truncated, so the same lake history always mints the same IDs.
    IDs are never reused: if that value was ever issued (for instance the seed key once seeded an
    ID that has since moved on), `sha256(seed_key + "\\0" + n)` is tried for n = 1, 2, ...
    """
    candidate = _digest(seed_key)
    attempt = 0
    while candidate in issued:
        attempt += 1
        candidate = _digest(f"{seed_key}\0{attempt}")
    return candidate
