"""zerochan entries as its JSON API returns them: Title Case tags, a primary tag, no rating."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataproc.demo import codes as c
from dataproc.demo.arrowtools import by_case, lookup, tag_lists
from dataproc.demo.context import RawContext
from dataproc.demo.model import PIXIV_ARTWORK
from dataproc.demo.tagging import carried_tags
from dataproc.demo.urls import artist_page_urls, pixiv_urls
from dataproc.demo.vocabulary import CATEGORIES, CHARACTER, COPYRIGHT
from dataproc.demo.world import TagPairs


def _primary(ctx: RawContext, pairs: TagPairs) -> pa.Array:
    """The main tag: the first character if any, else the first copyright."""
    category = ctx.world.tables.category[pairs.tags]
    rank = np.select(
        [category == CATEGORIES.index(CHARACTER), category == CATEGORIES.index(COPYRIGHT)],
        [0, 1],
        2,
    )
    order = np.lexsort((pairs.tags, rank, pairs.rows))
    rows = pairs.rows[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    chosen = np.full(pairs.n_rows, ctx.world.tables.original_id, dtype=np.int64)
    chosen[rows[first]] = pairs.tags[order][first]
    return ctx.names.zerochan.take(pa.array(chosen))


def zerochan_table(ctx: RawContext, rows: np.ndarray) -> pa.Table:
    seed = ctx.seed
    plan = ctx.source("zerochan")
    pixiv = ctx.source("pixiv")
    pictures = plan.picture[rows]
    groups = ctx.plan.groups[pictures]
    uid = plan.uid[rows]
    width, height = (a[rows] for a in ctx.image_size("zerochan"))
    cites = (plan.link_kind[rows] == PIXIV_ARTWORK).astype(np.int8)

    def linked(at: np.ndarray) -> pa.Array:
        work = plan.link_row[rows[at]]
        page = plan.link_page[rows[at]]
        image = pixiv.lead_image[work] + page
        ext = lookup(c.EXTS, ctx.image_ext("pixiv")[image])
        form = np.zeros(len(at), np.int8)
        return pixiv_urls(form, pixiv.post_id[work], page, ext, pixiv.created_ms[work])

    def own(at: np.ndarray) -> pa.Array:
        return artist_page_urls(
            seed,
            "zerochan.source",
            rows[at],
            ctx.artist_accounts(groups[at]),
            plan.created_ms[rows[at]],
            empty_share=0.6,
        )

    pairs = carried_tags(ctx.world, ctx.names, "zerochan", pictures, groups)
    return pa.table(
        {
            "id": pa.array(plan.post_id[rows], pa.int64()),
            "width": pa.array(width, pa.int64()),
            "height": pa.array(height, pa.int64()),
            "size": pa.array(ctx.facts.size(uid), pa.int64()),
            "hash": ctx.facts.md5(uid),
            "source": by_case(cites, {0: own, 1: linked}),
            "primary": _primary(ctx, pairs),
            "tags": tag_lists(pairs, ctx.names.zerochan),
        }
    )
