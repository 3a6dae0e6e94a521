"""Build the whole demo plan: overlaps, dates, ids, unusual files and hostile cases."""

from __future__ import annotations

import numpy as np

from dataproc.demo import codes as c
from dataproc.demo.draws import (
    draw_danbooru,
    draw_gelbooru,
    draw_pixiv,
    draw_yandere,
    draw_zerochan,
    stage_rng,
)
from dataproc.demo.hazards import assign_hostile, assign_unusual, plan_extras
from dataproc.demo.ledger import Ledger
from dataproc.demo.model import Extras, WorldPlan
from dataproc.demo.timeline import assign_dates, assign_ids
from dataproc.demo.vocabulary import Vocabulary
from dataproc.demo.world import TagTables, World


def build_plan(seed: int, posts: int, images: bool, vocab: Vocabulary) -> WorldPlan:
    """Every source's posts and images for `posts` posts per source.

    Hostile cases and orphans only exist where files are written (`images=True`).
    """
    world = World(seed, TagTables.from_vocabulary(vocab))
    ledger = Ledger(world)
    danbooru = draw_danbooru(posts, ledger, stage_rng(seed, "danbooru"))
    pixiv = draw_pixiv(posts, danbooru, ledger, stage_rng(seed, "pixiv"))
    plans = {
        "danbooru": danbooru,
        "gelbooru": draw_gelbooru(posts, danbooru, ledger, stage_rng(seed, "gelbooru")),
        "yandere": draw_yandere(posts, danbooru, ledger, stage_rng(seed, "yandere")),
        "pixiv": pixiv,
        "zerochan": draw_zerochan(posts, danbooru, pixiv, ledger, stage_rng(seed, "zerochan")),
    }
    assign_dates(plans, world, ledger.groups(), stage_rng(seed, "dates"))
    for source in c.SOURCES:
        assign_ids(plans[source], stage_rng(seed, "ids." + source))
    extras: dict[str, Extras] = {}
    if images:
        extras = plan_extras(plans, ledger, posts, stage_rng(seed, "extras"))
    files = ledger.files()
    assign_unusual(plans, files, posts, stage_rng(seed, "unusual"))
    if images:
        assign_hostile(plans, files, posts, stage_rng(seed, "hostile"))
    else:
        for plan in plans.values():
            plan.hostile = np.zeros(len(plan.uid), dtype=np.int8)
    return WorldPlan(
        seed=seed,
        posts=posts,
        images=images,
        world=world,
        files=files,
        groups=ledger.groups(),
        sources=plans,
        extras=extras,
    )
