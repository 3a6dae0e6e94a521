"""Hands out picture and file ids while the plan is drawn, and remembers what each file is.

A picture is a ground-truth image; a file is one concrete encoding of it (the bytes a site
stores). Byte-identical copies across sites share one file id, which is what makes their md5
equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataproc.demo.codes import PLAIN
from dataproc.demo.geometry import derived_size
from dataproc.demo.world import World


@dataclass
class FileTable:
    """Per file id: its picture, how it was derived, its format and size."""

    picture: np.ndarray
    transform: np.ndarray
    ext: np.ndarray
    width: np.ndarray
    height: np.ndarray
    unusual: np.ndarray

    def __len__(self) -> int:
        return len(self.picture)


class Ledger:
    """Allocates ids in draw order; one instance per plan."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.n_pictures = 0
        self._files: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._n_files = 0
        self._group_fixes: list[tuple[np.ndarray, np.ndarray]] = []

    def new_pictures(self, n: int) -> np.ndarray:
        ids = np.arange(self.n_pictures, self.n_pictures + n, dtype=np.int64)
        self.n_pictures += n
        return ids

    def new_files(self, pictures: np.ndarray, transform: np.ndarray, ext: np.ndarray) -> np.ndarray:
        """File ids for new encodings of `pictures`."""
        n = len(pictures)
        uids = np.arange(self._n_files, self._n_files + n, dtype=np.int64)
        self._n_files += n
        transform = np.broadcast_to(np.asarray(transform, dtype=np.int8), (n,))
        ext = np.broadcast_to(np.asarray(ext, dtype=np.int8), (n,))
        self._files.append((np.asarray(pictures, dtype=np.int64), transform.copy(), ext.copy()))
        return uids

    def file_ext(self, uids: np.ndarray) -> np.ndarray:
        """Extension codes of files handed out so far."""
        if not self._files:
            return np.zeros(len(uids), np.int8)
        return np.concatenate([f[2] for f in self._files])[uids]

    def set_groups(self, pictures: np.ndarray, groups: np.ndarray) -> None:
        """Put pictures into a group (pixiv pages join their work's first page)."""
        self._group_fixes.append((pictures, groups))

    def groups(self) -> np.ndarray:
        """Group id of every picture id handed out."""
        group = np.arange(self.n_pictures, dtype=np.int64)
        for pictures, groups in self._group_fixes:
            group[pictures] = groups
        return group

    def files(self) -> FileTable:
        """All files, with sizes derived from their picture's native size."""
        if self._files:
            picture = np.concatenate([f[0] for f in self._files])
            transform = np.concatenate([f[1] for f in self._files])
            ext = np.concatenate([f[2] for f in self._files])
        else:
            picture = np.zeros(0, np.int64)
            transform = np.zeros(0, np.int8)
            ext = np.zeros(0, np.int8)
        native_w, native_h = self.world.size(picture)
        uids = np.arange(len(picture), dtype=np.int64)
        width, height = derived_size(self.world.seed, uids, transform, native_w, native_h)
        return FileTable(
            picture=picture,
            transform=transform,
            ext=ext,
            width=width,
            height=height,
            unusual=np.full(len(picture), PLAIN, dtype=np.int8),
        )
