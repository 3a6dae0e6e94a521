"""Demo WebDataset shards: the export's deterministic tar writer, plus a truncated variant."""

from __future__ import annotations

import tarfile
from collections.abc import Sequence

from dataproc.export.shards import tar_bytes

BLOCK = tarfile.BLOCKSIZE


def build_tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A ustar archive of (name, bytes) in the given order; names are written as given."""
    return tar_bytes(members)


def build_truncated_tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """The archive cut in the middle of the last member's data (an interrupted upload)."""
    full = build_tar(members)
    # ustar without extended headers: each member is one header block plus padded data.
    last_header = sum(BLOCK + -(-len(data) // BLOCK) * BLOCK for _, data in members[:-1])
    return full[: last_header + BLOCK + max(1, len(members[-1][1]) // 2)]
