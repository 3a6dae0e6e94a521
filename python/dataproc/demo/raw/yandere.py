"""yande.re posts as the moebooru `/post.json` API returns them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataproc.demo import codes as c
from dataproc.demo.arrowtools import by_case, lookup, tag_strings
from dataproc.demo.context import RawContext
from dataproc.demo.hashing import normal, uniform
from dataproc.demo.model import COPY_SOURCE
from dataproc.demo.tagging import carried_tags
from dataproc.demo.urls import artist_page_urls

PARENT_SHARE = 0.05
RATINGS = ("s", "s", "q", "e")  # yande.re has no separate general rating
UPLOADERS = (
    "Mr_GT",
    "blooregardo",
    "Radioactive",
    "fireattack",
    "Takumi",
    "kiyoshi",
    "saemonnokami",
    "Share",
    "sakurayume",
    "Nekomimi",
    "shiinaa",
    "hirasawa",
    "lzh",
    "Mikuru",
    "Yunagi",
)
STATUSES = ("active", "pending", "flagged", "deleted")


def yandere_table(ctx: RawContext, rows: np.ndarray) -> pa.Table:
    seed = ctx.seed
    plan = ctx.source("yandere")
    pictures = plan.picture[rows]
    groups = ctx.plan.groups[pictures]
    uid = plan.uid[rows]
    width, height = (a[rows] for a in ctx.image_size("yandere"))
    quality = ctx.world.quality(groups)
    score = np.floor(np.exp(2.2 + 0.8 * quality + 0.4 * normal(seed, "yandere.score", rows)))
    parent_id, _ = ctx.parent_columns("yandere", PARENT_SHARE, rows)
    u = uniform(seed, "yandere.status", rows)
    status = np.select([u < 0.03, u < 0.05, u < 0.07], [3, 2, 1], 0)
    link = plan.link_row[rows]

    def own(at: np.ndarray) -> pa.Array:
        return artist_page_urls(
            seed,
            "yandere.source",
            rows[at],
            ctx.artist_accounts(groups[at]),
            plan.created_ms[rows[at]],
            empty_share=0.4,
        )

    copied = (plan.link_kind[rows] == COPY_SOURCE).astype(np.int8)
    source = by_case(copied, {0: own, 1: lambda at: ctx.danbooru_sources(link[at])})
    uploader = np.floor(uniform(seed, "yandere.author", rows) ** 2 * len(UPLOADERS))
    pairs = carried_tags(ctx.world, ctx.names, "yandere", pictures, groups)
    return pa.table(
        {
            "id": pa.array(plan.post_id[rows], pa.int64()),
            "md5": ctx.facts.md5(uid),
            "created_at": pa.array(plan.created_ms[rows] // 1000, pa.int64()),
            "rating": lookup(RATINGS, ctx.rating("yandere", pictures, groups)),
            "score": pa.array(score.astype(np.int64), pa.int64()),
            "width": pa.array(width, pa.int64()),
            "height": pa.array(height, pa.int64()),
            "file_ext": lookup(c.EXTS, ctx.image_ext("yandere")[rows]),
            "file_size": pa.array(ctx.facts.size(uid), pa.int64()),
            "source": source,
            "tags": tag_strings(pairs, ctx.world.tables.names),
            "author": lookup(UPLOADERS, uploader.astype(np.int64)),
            "parent_id": parent_id,
            "status": lookup(STATUSES, status),
        }
    )
