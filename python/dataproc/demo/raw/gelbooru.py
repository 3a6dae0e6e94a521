"""gelbooru posts as its `dapi` JSON returns them: flat tags, danbooru vocabulary."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.demo import codes as c
from dataproc.demo.arrowtools import by_case, concat, lookup, tag_strings
from dataproc.demo.context import RawContext
from dataproc.demo.hashing import normal, uniform
from dataproc.demo.model import COPY_SOURCE, DANBOORU_URL
from dataproc.demo.tagging import carried_tags
from dataproc.demo.timefmt import gelbooru_time
from dataproc.demo.urls import artist_page_urls, danbooru_post_urls

RATINGS = ("general", "sensitive", "questionable", "explicit")
PARENT_SHARE = 0.02


def _sources(ctx: RawContext, rows: np.ndarray, groups: np.ndarray) -> pa.Array:
    """Mirrors cite the danbooru post or copy its source; re-uploads have none."""
    plan = ctx.source("gelbooru")
    kind = plan.link_kind[rows]
    link = plan.link_row[rows]
    danbooru_ids = ctx.source("danbooru").post_id

    def own(at: np.ndarray) -> pa.Array:
        return artist_page_urls(
            ctx.seed,
            "gelbooru.source",
            rows[at],
            ctx.artist_accounts(groups[at]),
            plan.created_ms[rows[at]],
            empty_share=0.35,
        )

    case = np.select([kind == DANBOORU_URL, kind == COPY_SOURCE, link >= 0], [1, 2, 3], 0)
    return by_case(
        case,
        {
            0: own,
            1: lambda at: danbooru_post_urls(danbooru_ids[link[at]]),
            2: lambda at: ctx.danbooru_sources(link[at]),
            3: lambda at: pa.array(np.full(len(at), ""), pa.string()),
        },
    )


def gelbooru_table(ctx: RawContext, rows: np.ndarray) -> pa.Table:
    seed = ctx.seed
    plan = ctx.source("gelbooru")
    pictures = plan.picture[rows]
    groups = ctx.plan.groups[pictures]
    md5 = ctx.facts.md5(plan.uid[rows])
    ext = lookup(c.EXTS, ctx.image_ext("gelbooru")[rows])
    width, height = (a[rows] for a in ctx.image_size("gelbooru"))
    quality = ctx.world.quality(groups)
    score = np.floor(np.exp(0.9 + 0.8 * quality + 0.4 * normal(seed, "gelbooru.score", rows)))
    parent_id, _ = ctx.parent_columns("gelbooru", PARENT_SHARE, rows)
    u = uniform(seed, "gelbooru.status", rows)
    status = np.where(u < 0.03, 2, np.where(u < 0.05, 1, 0))
    pairs = carried_tags(ctx.world, ctx.names, "gelbooru", pictures, groups)
    folder1 = pc.utf8_slice_codeunits(md5, 0, 2)
    folder2 = pc.utf8_slice_codeunits(md5, 2, 4)
    return pa.table(
        {
            "id": pa.array(plan.post_id[rows], pa.int64()),
            "md5": md5,
            "created_at": gelbooru_time(plan.created_ms[rows]),
            "rating": lookup(RATINGS, ctx.rating("gelbooru", pictures, groups)),
            "score": pa.array(score.astype(np.int64) - 1, pa.int64()),
            "width": pa.array(width, pa.int64()),
            "height": pa.array(height, pa.int64()),
            "source": _sources(ctx, rows, groups),
            "tags": tag_strings(pairs, ctx.world.tables.names),
            "parent_id": parent_id,
            "status": lookup(("active", "pending", "deleted"), status),
            "file_url": concat(
                "https://img3.gelbooru.com/images/", folder1, "/", folder2, "/", md5, ".", ext
            ),
        }
    )
