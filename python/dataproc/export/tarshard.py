"""Deterministic WebDataset tar shards: fixed member metadata, so equal members give equal bytes.

Every member is a regular file with mtime 0, uid/gid 0, empty owner names and mode 0o644, in
USTAR format (names are short ASCII: `<image_id>.<ext>`). WebDataset groups consecutive members
by the name before the first dot, so one image's members are written together.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable

MEMBER_MODE = 0o644


def member_info(name: str, size: int) -> tarfile.TarInfo:
    """A regular-file header with every varying field pinned."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = MEMBER_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def tar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A tar archive holding `(name, data)` members in the given order."""
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in members:
            archive.addfile(member_info(name, len(data)), io.BytesIO(data))
    return sink.getvalue()
