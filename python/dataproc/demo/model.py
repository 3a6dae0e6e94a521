"""The plan's data: per-source arrays of posts and images, and hostile extras.

Posts are kept in a logical (draw) order; `order` lists them by post id, which is how they are
written. Images are one per post, except pixiv, where each page of a work is an image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dataproc.demo.ledger import FileTable
from dataproc.demo.world import World

# Per-post link kinds: what the post's `source` (and danbooru's `pixiv_id`) points at.
NO_LINK, PIXIV_ID, PIXIV_URL, PIXIV_DANGLING, DANBOORU_URL, COPY_SOURCE, REUPLOAD, PIXIV_ARTWORK = (
    range(8)
)
ILLUST, MANGA, UGOIRA = range(3)
PIXIV_TYPES = ("illust", "manga", "ugoira")


@dataclass
class SourcePlan:
    """One source's posts (logical order) and images (one per post; pages for pixiv)."""

    source: str
    n_posts: int
    picture: np.ndarray
    image_post: np.ndarray
    page: np.ndarray
    uid: np.ndarray
    transform: np.ndarray
    post_ext: np.ndarray
    link_kind: np.ndarray
    link_row: np.ndarray
    link_page: np.ndarray
    created_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    post_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    hostile: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def lead_image(self) -> np.ndarray:
        """Image row of each post's first page."""
        return np.flatnonzero(self.page == 0)


@dataclass
class Extras:
    """Hostile files or members that belong to no post: (key id, file id, kind) each."""

    key_id: np.ndarray
    uid: np.ndarray
    kind: list[str]


@dataclass
class WorldPlan:
    seed: int
    posts: int
    images: bool
    world: World
    files: FileTable
    groups: np.ndarray
    sources: dict[str, SourcePlan]
    extras: dict[str, Extras]

    def image_ext(self, plan: SourcePlan) -> np.ndarray:
        """Extension code per image: the file's, or the post's for video types."""
        has = plan.uid >= 0
        ext = plan.post_ext[plan.image_post].copy()
        ext[has] = self.files.ext[plan.uid[has]]
        return ext

    def image_size(self, plan: SourcePlan) -> tuple[np.ndarray, np.ndarray]:
        """(width, height) per image: the file's, or the native picture size without a file."""
        width, height = self.world.size(plan.picture)
        has = plan.uid >= 0
        width[has] = self.files.width[plan.uid[has]]
        height[has] = self.files.height[plan.uid[has]]
        return width, height
