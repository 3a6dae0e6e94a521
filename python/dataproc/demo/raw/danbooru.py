"""danbooru posts as the `/posts.json` API returns them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataproc.demo import codes as c
from dataproc.demo.arrowtools import lookup, nullable, tag_strings, where
from dataproc.demo.context import RawContext
from dataproc.demo.facts import estimated_size
from dataproc.demo.hashing import fake_md5, integers, normal, uniform
from dataproc.demo.model import PIXIV_DANGLING, PIXIV_ID
from dataproc.demo.tagging import carried_tags, category_of
from dataproc.demo.timefmt import danbooru_time
from dataproc.demo.timeline import LAST_MS
from dataproc.demo.vocabulary import CATEGORIES
from dataproc.demo.world import DAY_MS, TagPairs

PARENT_SHARE = 0.04
NO_FILE_KEY = 1 << 40  # md5/size keys for posts without an image file (video, ugoira zip)
SMALL_SIDE = 256


def _tags(ctx: RawContext, rows: np.ndarray, pictures: np.ndarray, groups: np.ndarray) -> TagPairs:
    """Carried tags plus the post-level meta tags danbooru derives from the file."""
    plan = ctx.source("danbooru")
    meta = ctx.world.tables.meta
    pairs = carried_tags(ctx.world, ctx.names, "danbooru", pictures, groups)
    width, height = (a[rows] for a in ctx.image_size("danbooru"))
    ext = ctx.image_ext("danbooru")[rows]
    uid = plan.uid[rows]
    unusual = np.where(uid >= 0, ctx.plan.files.unusual[np.maximum(uid, 0)], c.PLAIN)
    lowres = np.minimum(width, height) < SMALL_SIDE
    big_tag = np.isin(pairs.tags, (meta["highres"], meta["absurdres"]))
    pairs = pairs.where(~(big_tag & lowres[pairs.rows]))
    animated = np.isin(ext, (c.MP4, c.WEBM, c.ZIP)) | np.isin(
        unusual, (c.ANIMATED_GIF, c.ANIMATED_WEBP)
    )
    extra = [
        (lowres, "lowres"),
        (animated, "animated"),
        (np.isin(ext, (c.MP4, c.WEBM)), "video"),
        (ext == c.ZIP, "ugoira"),
        (plan.link_kind[rows] == PIXIV_DANGLING, "bad_pixiv_id"),
    ]
    add_rows = np.concatenate([np.flatnonzero(mask) for mask, _ in extra])
    add_tags = np.concatenate([np.full(int(mask.sum()), meta[name]) for mask, name in extra])
    return pairs.plus(add_rows, add_tags.astype(np.int32))


def danbooru_table(ctx: RawContext, rows: np.ndarray) -> pa.Table:
    """One parquet part of danbooru posts (`rows` in id order)."""
    seed = ctx.seed
    plan = ctx.source("danbooru")
    pictures = plan.picture[rows]
    groups = ctx.plan.groups[pictures]
    uid = plan.uid[rows]
    has_file = uid >= 0
    ext = ctx.image_ext("danbooru")[rows]
    width, height = (a[rows] for a in ctx.image_size("danbooru"))
    no_file_key = NO_FILE_KEY + pictures
    md5 = where(has_file, ctx.facts.md5(np.maximum(uid, 0)), fake_md5(seed, no_file_key))
    size = np.where(
        has_file,
        ctx.facts.size(np.maximum(uid, 0)),
        estimated_size(seed, no_file_key, width, height, ext),
    )
    created = plan.created_ms[rows]
    updated = np.minimum(
        created + (uniform(seed, "danbooru.updated", rows) ** 2 * 900 * DAY_MS).astype(np.int64),
        LAST_MS,
    )
    quality = ctx.world.quality(groups)
    age_years = (LAST_MS - created) / (365.0 * DAY_MS)
    up = np.floor(
        np.exp(1.7 + 0.9 * quality + 0.35 * normal(seed, "danbooru.score", rows))
        * (1.0 + 0.1 * np.minimum(age_years, 10))
    ).astype(np.int64)
    down = integers(seed, "danbooru.down", 0, 4, rows) * (up > 2)
    favs = np.floor(up * (1.0 + 0.4 * uniform(seed, "danbooru.favs", rows))).astype(np.int64)
    illust, _ = ctx.pixiv_link(rows)
    carries_id = np.isin(plan.link_kind[rows], (PIXIV_ID, PIXIV_DANGLING))
    parent_id, has_children = ctx.parent_columns("danbooru", PARENT_SHARE, rows)
    u = uniform(seed, "danbooru.status", rows)
    pairs = _tags(ctx, rows, pictures, groups)
    names = ctx.world.tables.names
    columns = {
        "id": pa.array(plan.post_id[rows], pa.int64()),
        "md5": md5,
        "created_at": danbooru_time(created),
        "updated_at": danbooru_time(updated),
        "rating": lookup(c.RATINGS, ctx.rating("danbooru", pictures, groups)),
        "score": pa.array(up - down, pa.int64()),
        "up_score": pa.array(up, pa.int64()),
        "down_score": pa.array(-down, pa.int64()),
        "fav_count": pa.array(favs, pa.int64()),
        "image_width": pa.array(width, pa.int64()),
        "image_height": pa.array(height, pa.int64()),
        "file_ext": lookup(c.EXTS, ext),
        "file_size": pa.array(size, pa.int64()),
        "source": ctx.danbooru_sources(rows),
        "pixiv_id": nullable(illust, carries_id),
        "parent_id": parent_id,
        "has_children": has_children,
        "is_pending": pa.array((u >= 0.03) & (u < 0.05)),
        "is_flagged": pa.array((u >= 0.05) & (u < 0.06)),
        "is_deleted": pa.array(u < 0.03),
        "is_banned": pa.array(uniform(seed, "danbooru.banned", rows) < 0.005),
        "tag_string": tag_strings(pairs, names),
    }
    for category in CATEGORIES:
        columns["tag_string_" + category] = tag_strings(
            category_of(ctx.world, pairs, category), names
        )
    return pa.table(columns)
