"""pixiv works as the app API's `illust` objects: one row per work, nested user and tags."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataproc.demo.arrowtools import concat, lookup, pick
from dataproc.demo.context import RawContext
from dataproc.demo.hashing import integers, normal, uniform
from dataproc.demo.model import PIXIV_TYPES
from dataproc.demo.tagging import carried_tags, pixiv_tag_structs
from dataproc.demo.timefmt import pixiv_time

TITLES = (
    "無題",
    "落書き",
    "らくがき",
    "練習",
    "夏",
    "秋",
    "冬",
    "春",
    "夜桜",
    "星空",
    "おやすみ",
    "お絵描き",
    "ログ",
    "まとめ",
    "Happy Birthday!",
    "illustration",
    "オリジナル",
    "雨の日",
    "放課後",
    "ひとやすみ",
    "花束",
    "休日",
    "meteor",
    "sketch",
    "commission",
)
USER_ID_BASE = 1_000_000
AI_GENERATED = 2


def _captions(accounts: pa.Array, which: np.ndarray) -> pa.Array:
    n = len(which)
    empty = pa.array(np.full(n, ""), pa.string())
    thanks = pa.array(np.full(n, "いつもありがとうございます。"), pa.string())
    twitter = concat(
        'Twitter: <a href="https://twitter.com/',
        accounts,
        '" target="_blank">@',
        accounts,
        "</a>",
    )
    request = concat(
        "<strong>リクエスト</strong><br />",
        'お題箱: <a href="https://odaibako.net/u/',
        accounts,
        '" target="_blank">odaibako.net/u/',
        accounts,
        "</a>",
    )
    return pick(which, empty, thanks, twitter, request)


def _users(ctx: RawContext, artists: np.ndarray) -> pa.Array:
    index = pa.array(artists)
    names = pa.array([a.pixiv_name for a in ctx.vocab.artists], pa.string()).take(index)
    return pa.StructArray.from_arrays(
        [pa.array(USER_ID_BASE + artists * 7919, pa.int64()), names, ctx.accounts.take(index)],
        names=["id", "name", "account"],
    )


def pixiv_table(ctx: RawContext, rows: np.ndarray) -> pa.Table:
    seed = ctx.seed
    plan = ctx.source("pixiv")
    lead = plan.lead_image[rows]
    pictures = plan.picture[lead]
    groups = ctx.plan.groups[pictures]
    width, height = (a[lead] for a in ctx.image_size("pixiv"))
    rating = ctx.world.rating(groups)
    x_restrict = np.where(rating >= 3, 1, 0)
    x_restrict = np.where((rating == 2) & (uniform(seed, "pixiv.r18", rows) < 0.5), 1, x_restrict)
    x_restrict = np.where(
        (x_restrict == 1) & (uniform(seed, "pixiv.r18g", rows) < 0.03), 2, x_restrict
    )
    sanity = np.where(x_restrict > 0, 6, np.array([2, 4, 6, 6])[rating])
    quality = ctx.world.quality(groups)
    bookmarks = np.floor(
        np.exp(3.0 + 1.6 * quality + 0.5 * normal(seed, "pixiv.bookmarks", rows))
    ).astype(np.int64)
    views = bookmarks * integers(seed, "pixiv.views", 6, 25, rows) + integers(
        seed, "pixiv.views.base", 20, 400, rows
    )
    comments = bookmarks // integers(seed, "pixiv.comments", 40, 120, rows)
    ai_type = plan.extra["ai_type"][rows]
    pairs = carried_tags(ctx.world, ctx.names, "pixiv", pictures, groups)
    ai_rows = np.flatnonzero(ai_type == AI_GENERATED)
    ai_tag = np.full(len(ai_rows), ctx.world.tables.meta["ai-generated"], dtype=np.int32)
    pairs = pairs.plus(ai_rows, ai_tag)
    artists = ctx.world.artist(groups)
    caption_kind = np.floor(uniform(seed, "pixiv.caption", rows) * 4).astype(np.int64)
    return pa.table(
        {
            "id": pa.array(plan.post_id[rows], pa.int64()),
            "title": lookup(TITLES, integers(seed, "pixiv.title", 0, len(TITLES), rows)),
            "caption": _captions(ctx.accounts.take(pa.array(artists)), caption_kind),
            "type": lookup(PIXIV_TYPES, plan.extra["type"][rows]),
            "create_date": pixiv_time(plan.created_ms[rows]),
            "page_count": pa.array(plan.extra["page_count"][rows], pa.int64()),
            "width": pa.array(width, pa.int64()),
            "height": pa.array(height, pa.int64()),
            "sanity_level": pa.array(sanity, pa.int64()),
            "x_restrict": pa.array(x_restrict, pa.int64()),
            "illust_ai_type": pa.array(ai_type, pa.int64()),
            "total_view": pa.array(views, pa.int64()),
            "total_bookmarks": pa.array(bookmarks, pa.int64()),
            "total_comments": pa.array(comments, pa.int64()),
            "user": _users(ctx, artists),
            "tags": pixiv_tag_structs(ctx.world, ctx.names, pairs, pictures),
        }
    )
