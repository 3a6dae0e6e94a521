"""Source URLs as the sites store them: pixiv links in their four common forms, booru post
links, and the usual artist pages (twitter, fanbox) for everything else."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.demo.arrowtools import as_str, concat, pick
from dataproc.demo.hashing import hash64, uniform, weighted
from dataproc.demo.timefmt import pximg_date_path

# artworks page, img-original file, img-master thumbnail, legacy member_illust page
PIXIV_FORM_WEIGHTS = np.array([0.35, 0.30, 0.15, 0.20])
TWITTER_EPOCH_MS = 1_288_834_974_657


def pixiv_urls(
    form: np.ndarray, illust_id: np.ndarray, page: np.ndarray, ext: pa.Array, work_ms: np.ndarray
) -> pa.Array:
    """A pixiv URL per row in the chosen form (0..3)."""
    ids = as_str(illust_id)
    pages = as_str(page)
    date = pximg_date_path(work_ms)
    artworks = concat("https://www.pixiv.net/artworks/", ids)
    original = concat(
        "https://i.pximg.net/img-original/img/", date, "/", ids, "_p", pages, ".", ext
    )
    master = concat(
        "https://i.pximg.net/img-master/img/", date, "/", ids, "_p", pages, "_master1200.jpg"
    )
    member = concat("https://www.pixiv.net/member_illust.php?mode=medium&illust_id=", ids)
    return pick(form, artworks, original, master, member)


def pixiv_form(seed: int, stream: str, keys: np.ndarray) -> np.ndarray:
    return weighted(uniform(seed, stream, keys), PIXIV_FORM_WEIGHTS)


def danbooru_post_urls(post_id: np.ndarray) -> pa.Array:
    return concat("https://danbooru.donmai.us/posts/", as_str(post_id))


def artist_page_urls(
    seed: int,
    stream: str,
    keys: np.ndarray,
    accounts: pa.Array,
    created_ms: np.ndarray,
    empty_share: float,
) -> pa.Array:
    """'' (unknown), a tweet, or a fanbox post of the artist's account."""
    u = uniform(seed, stream, keys)
    serial = (hash64(seed, stream + ".status", keys) >> np.uint64(44)).astype(np.int64)
    snowflake = ((created_ms - TWITTER_EPOCH_MS).clip(0) << 22) | serial
    status = np.where(created_ms < TWITTER_EPOCH_MS, 1_000_000 + created_ms // 60_000, snowflake)
    tweet = concat("https://twitter.com/", accounts, "/status/", as_str(status))
    fanbox = concat(
        "https://",
        pc.replace_substring(accounts, "_", "-"),
        ".fanbox.cc/posts/",
        as_str(
            1_000_000 + (hash64(seed, stream + ".fanbox", keys) >> np.uint64(44)).astype(np.int64)
        ),
    )
    empty = pa.array(np.full(len(keys), ""), pa.string())
    which = np.where(u < empty_share, 0, np.where(u < empty_share + (1 - empty_share) * 0.8, 1, 2))
    return pick(which, empty, tweet, fanbox)
