"""Deterministic WebDataset tar shards: fixed mtime, owner and mode on every member."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence

MEMBER_MODE = 0o644
BLOCK = tarfile.BLOCKSIZE


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = MEMBER_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def build_tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A ustar archive of (name, bytes) in the given order; names are written as given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            tar.addfile(_info(name, len(data)), io.BytesIO(data))
    return buffer.getvalue()


def build_truncated_tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """The archive cut in the middle of the last member's data (an interrupted upload)."""
    full = build_tar(members)
    # ustar without extended headers: each member is one header block plus padded data.
    last_header = sum(BLOCK + -(-len(data) // BLOCK) * BLOCK for _, data in members[:-1])
    return full[: last_header + BLOCK + max(1, len(members[-1][1]) // 2)]
