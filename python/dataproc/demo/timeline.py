"""Post dates and post ids.

Originals come first: a pixiv work is dated when its picture was made, a danbooru copy days later,
a gelbooru mirror after the danbooru post it mirrors. Ids then rise with the date, as on the real
sites, with random gaps (a crawl never holds every post).
"""

from __future__ import annotations

import numpy as np

from dataproc.demo import codes as c
from dataproc.demo.model import COPY_SOURCE, DANBOORU_URL, PIXIV_ID, PIXIV_URL, REUPLOAD, SourcePlan
from dataproc.demo.world import DAY_MS, EPOCH_END_MS, World

LAST_MS = EPOCH_END_MS + 180 * DAY_MS
# (first id, largest gap between consecutive ids)
ID_RANGES = {
    "danbooru": (1_000_000, 7),
    "gelbooru": (2_000_000, 9),
    "yandere": (100_000, 3),
    "pixiv": (20_000_000, 60),
    "zerochan": (500_000, 5),
}


def _after(rng: np.random.Generator, start: np.ndarray, mean_days: float) -> np.ndarray:
    delay = (rng.exponential(mean_days, len(start)) * DAY_MS).astype(np.int64)
    return np.minimum(start + delay + rng.integers(0, 1000, len(start)), LAST_MS)


def assign_dates(
    plans: dict[str, SourcePlan], world: World, groups: np.ndarray, rng: np.random.Generator
) -> None:
    """Set `created_ms` for every post of every source."""
    pixiv, danbooru = plans["pixiv"], plans["danbooru"]
    lead = pixiv.picture[pixiv.lead_image]
    pixiv.created_ms = np.minimum(world.created_ms(groups[lead]), LAST_MS)

    created = _after(rng, world.created_ms(groups[danbooru.picture]), 1.0)
    linked = np.isin(danbooru.link_kind, (PIXIV_ID, PIXIV_URL))
    created[linked] = _after(rng, pixiv.created_ms[danbooru.link_row[linked]], 3.0)
    danbooru.created_ms = created

    gelbooru = plans["gelbooru"]
    created = _after(rng, world.created_ms(groups[gelbooru.picture]), 1.0)
    mirrors = np.isin(gelbooru.link_kind, (DANBOORU_URL, COPY_SOURCE))
    created[mirrors] = _after(rng, danbooru.created_ms[gelbooru.link_row[mirrors]], 2.0)
    reuploads = gelbooru.link_kind == REUPLOAD
    created[reuploads] = _after(rng, created[gelbooru.link_row[reuploads]], 30.0)
    gelbooru.created_ms = created

    yandere = plans["yandere"]
    created = _after(rng, world.created_ms(groups[yandere.picture]), 1.0)
    shared = yandere.link_row >= 0
    created[shared] = _after(rng, danbooru.created_ms[yandere.link_row[shared]], 10.0)
    yandere.created_ms = created

    zerochan = plans["zerochan"]
    copies = zerochan.transform != c.ORIGINAL
    mean = np.where(copies, 60.0, 1.0)
    base = world.created_ms(groups[zerochan.picture])
    zerochan.created_ms = np.minimum(
        base + (rng.exponential(1.0, len(base)) * mean * DAY_MS).astype(np.int64), LAST_MS
    )


def assign_ids(plan: SourcePlan, rng: np.random.Generator) -> None:
    """Post ids rising with the date; `order` lists posts by id."""
    first, max_gap = ID_RANGES[plan.source]
    plan.order = np.argsort(plan.created_ms, kind="stable")
    ids = first + np.cumsum(rng.integers(1, max_gap + 1, plan.n_posts))
    plan.post_id = np.empty(plan.n_posts, dtype=np.int64)
    plan.post_id[plan.order] = ids


def free_ids(used: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` ids that no post has, between existing ids where the gaps allow."""
    ordered = np.sort(used)
    candidates = ordered[:-1] + 1
    candidates = candidates[ordered[1:] > candidates]
    if len(candidates) >= count:
        return np.sort(rng.choice(candidates, size=count, replace=False))
    top = (ordered[-1] if len(ordered) else 0) + 1
    return np.concatenate([candidates, top + np.arange(count - len(candidates))])
