"""What the raw-table builders share: the plan, file facts, names, and per-source lookups."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataproc.demo import codes as c
from dataproc.demo.arrowtools import as_str, by_case, concat, lookup
from dataproc.demo.facts import FileFacts
from dataproc.demo.hashing import uniform
from dataproc.demo.model import PIXIV_DANGLING, PIXIV_ID, PIXIV_URL, SourcePlan, WorldPlan
from dataproc.demo.tagging import ForeignNames
from dataproc.demo.urls import artist_page_urls, pixiv_form, pixiv_urls
from dataproc.demo.vocabulary import Vocabulary
from dataproc.demo.world import DAY_MS

RATING_NOISE = 0.06  # share of posts whose site rating is one step off the picture's


class RawContext:
    """Lookups over the whole plan, computed once per source and reused by every part."""

    def __init__(self, plan: WorldPlan, facts: FileFacts, vocab: Vocabulary) -> None:
        self.plan = plan
        self.facts = facts
        self.world = plan.world
        self.seed = plan.seed
        self.names = ForeignNames.from_vocabulary(vocab)
        self.vocab = vocab
        self.accounts = pa.array([a.pixiv_account for a in vocab.artists], pa.string())
        self._ext: dict[str, np.ndarray] = {}
        self._size: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._parents: dict[str, np.ndarray] = {}

    def source(self, name: str) -> SourcePlan:
        return self.plan.sources[name]

    def image_ext(self, name: str) -> np.ndarray:
        if name not in self._ext:
            self._ext[name] = self.plan.image_ext(self.source(name))
        return self._ext[name]

    def image_size(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._size:
            self._size[name] = self.plan.image_size(self.source(name))
        return self._size[name]

    def image_keys(self, name: str, images: np.ndarray) -> pa.Array:
        """Site keys of images: the post id, or `<illust_id>_p<page>` for pixiv."""
        plan = self.source(name)
        ids = as_str(plan.post_id[plan.image_post[images]])
        if name != "pixiv":
            return ids
        return concat(ids, "_p", as_str(plan.page[images]))

    def rating(self, name: str, pictures: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """The site's rating code: the picture's, one step off on a few posts."""
        base = self.world.rating(groups).astype(np.int64)
        u = uniform(self.seed, "rating." + name, pictures)
        shift = np.where(u < RATING_NOISE / 2, -1, np.where(u < RATING_NOISE, 1, 0))
        return np.clip(base + shift, 0, 3)

    def parents(self, name: str, share: float) -> np.ndarray:
        """Parent post row per post (-1 for none); a parent is always an older post."""
        if name not in self._parents:
            plan = self.source(name)
            n = plan.n_posts
            rank = np.empty(n, dtype=np.int64)
            rank[plan.order] = np.arange(n)
            rows = np.arange(n)
            has = (uniform(self.seed, "parent." + name, rows) < share) & (rank > 0)
            pick = np.floor(uniform(self.seed, "parent.pick." + name, rows) * rank).astype(np.int64)
            self._parents[name] = np.where(has, plan.order[np.minimum(pick, n - 1)], -1)
        return self._parents[name]

    def parent_columns(
        self, name: str, share: float, rows: np.ndarray
    ) -> tuple[pa.Array, pa.Array]:
        """(parent_id nullable, has_children) for the rows."""
        parent = self.parents(name, share)
        plan = self.source(name)
        valid = parent[rows] >= 0
        parent_id = pa.array(plan.post_id[np.maximum(parent[rows], 0)], pa.int64(), mask=~valid)
        children = np.bincount(parent[parent >= 0], minlength=plan.n_posts) > 0
        return parent_id, pa.array(children[rows])

    def artist_accounts(self, groups: np.ndarray) -> pa.Array:
        return self.accounts.take(pa.array(self.world.artist(groups)))

    def pixiv_link(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(illust id, valid) of danbooru rows that name a pixiv work (existing or dangling)."""
        danbooru, pixiv = self.source("danbooru"), self.source("pixiv")
        kind = danbooru.link_kind[rows]
        link = danbooru.link_row[rows]
        real = np.isin(kind, (PIXIV_ID, PIXIV_URL))
        illust = np.where(real, pixiv.post_id[np.clip(link, 0, pixiv.n_posts - 1)], link)
        return illust, real | (kind == PIXIV_DANGLING)

    def danbooru_sources(self, rows: np.ndarray) -> pa.Array:
        """Danbooru's `source` for the rows (also copied by gelbooru and yandere mirrors)."""
        _, to_pixiv = self.pixiv_link(rows)
        return by_case(
            to_pixiv.astype(np.int8),
            {
                1: lambda at: self._danbooru_pixiv_urls(rows[at]),
                0: lambda at: self._danbooru_other_urls(rows[at]),
            },
        )

    def _danbooru_pixiv_urls(self, rows: np.ndarray) -> pa.Array:
        danbooru, pixiv = self.source("danbooru"), self.source("pixiv")
        work = np.clip(danbooru.link_row[rows], 0, pixiv.n_posts - 1)
        page = danbooru.link_page[rows]
        real = np.isin(danbooru.link_kind[rows], (PIXIV_ID, PIXIV_URL))
        illust, _ = self.pixiv_link(rows)
        image = np.minimum(pixiv.lead_image[work] + page, len(pixiv.page) - 1)
        guessed = np.where(uniform(self.seed, "dangling.ext", rows) < 0.5, c.PNG, c.JPG)
        ext = np.where(real, self.image_ext("pixiv")[image], guessed)
        work_ms = np.where(real, pixiv.created_ms[work], danbooru.created_ms[rows] - 2 * DAY_MS)
        form = pixiv_form(self.seed, "danbooru.pixiv.form", rows)
        return pixiv_urls(form, illust, page, lookup(c.EXTS, ext), work_ms)

    def _danbooru_other_urls(self, rows: np.ndarray) -> pa.Array:
        danbooru = self.source("danbooru")
        groups = self.plan.groups[danbooru.picture[rows]]
        return artist_page_urls(
            self.seed,
            "danbooru.source",
            rows,
            self.artist_accounts(groups),
            danbooru.created_ms[rows],
            empty_share=0.3,
        )
