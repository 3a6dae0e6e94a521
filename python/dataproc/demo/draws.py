"""Draw the cross-site overlaps: which picture every post shows, in which file, linked how.

Everything here is index arithmetic on numpy arrays, drawn once with `numpy.random.default_rng`
seeded per stage, so a million posts per source plan in seconds. Strings are built later, per
parquet part, from these arrays.

Shares (fractions of `--posts`, which is per source):
- danbooru: 35% carry `pixiv_id` and a pixiv URL, 5% a pixiv URL only (both pointing at a pixiv
  work that shows the same picture), 2% a dangling pixiv id; 6% are video/ugoira (no image).
- pixiv: works are the originals of those linked danbooru posts; the danbooru copy is the same
  file (50%), converted to another format (25%) or re-encoded (25%).
- gelbooru: 40% byte-identical mirrors of danbooru posts (30% of them cite the danbooru post URL,
  the rest copy danbooru's source), 3% re-uploads of another gelbooru post's file.
- yandere: 25% shared with danbooru, half the same file, half resized or re-encoded.
- zerochan: 30% transformed copies (resized, watermarked, cropped, re-encoded) of danbooru or
  pixiv pictures, with no link except a pixiv URL on 40% of the pixiv-derived ones.
- the rest of every source: unique pictures.
"""

from __future__ import annotations

import zlib

import numpy as np

from dataproc.demo import codes as c
from dataproc.demo.ledger import Ledger
from dataproc.demo.model import (
    COPY_SOURCE,
    DANBOORU_URL,
    ILLUST,
    MANGA,
    NO_LINK,
    PIXIV_ARTWORK,
    PIXIV_DANGLING,
    PIXIV_ID,
    PIXIV_URL,
    REUPLOAD,
    UGOIRA,
    SourcePlan,
)

DANBOORU_PIXIV_ID = 0.35
DANBOORU_PIXIV_URL_ONLY = 0.05
DANBOORU_DANGLING = 0.02
GELBOORU_MIRRORS = 0.40
GELBOORU_MIRROR_CITES_DANBOORU = 0.30
GELBOORU_REUPLOADS = 0.03
YANDERE_SHARED = 0.25
ZEROCHAN_COPIES = 0.30
ZEROCHAN_PIXIV_URL = 0.40
DANGLING_PIXIV_IDS_BELOW = 20_000_000  # real pixiv ids start above this
EXT_WEIGHTS = {
    "danbooru": {
        c.JPG: 0.45,
        c.PNG: 0.40,
        c.WEBP: 0.03,
        c.GIF: 0.02,
        c.MP4: 0.03,
        c.WEBM: 0.02,
        c.ZIP: 0.01,
        c.JPEG: 0.04,
    },
    "gelbooru": {c.JPG: 0.42, c.JPEG: 0.08, c.PNG: 0.38, c.WEBP: 0.10, c.GIF: 0.02},
    "yandere": {c.JPG: 0.45, c.PNG: 0.55},
    "pixiv": {c.PNG: 0.55, c.JPG: 0.45},
    "zerochan": {c.JPG: 0.60, c.JPEG: 0.05, c.PNG: 0.25, c.WEBP: 0.10},
    "copy": {c.JPG: 0.70, c.PNG: 0.20, c.WEBP: 0.10},
}


def stage_rng(seed: int, stage: str) -> np.random.Generator:
    """An independent generator per planning stage."""
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, zlib.crc32(stage.encode())])


def _choose_ext(rng: np.random.Generator, n: int, weights: dict[int, float]) -> np.ndarray:
    keys = np.array(list(weights), dtype=np.int8)
    p = np.array(list(weights.values()))
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _other_format(rng: np.random.Generator, ext: np.ndarray) -> np.ndarray:
    """A different still-image format for a conversion (PNG <-> WebP <-> JPEG)."""
    family = np.where(np.isin(ext, (c.JPG, c.JPEG)), 0, np.where(ext == c.PNG, 1, 2))
    options = np.array([[c.PNG, c.WEBP], [c.JPG, c.WEBP], [c.PNG, c.JPG]], dtype=np.int8)
    return options[family, rng.integers(0, 2, len(ext))]


def _count(share: float, n: int) -> int:
    return int(round(share * n))


def _empty_source(source: str, n: int) -> SourcePlan:
    return SourcePlan(
        source=source,
        n_posts=n,
        picture=np.zeros(n, np.int64),
        image_post=np.arange(n, dtype=np.int64),
        page=np.zeros(n, np.int32),
        uid=np.full(n, -1, np.int64),
        transform=np.zeros(n, np.int8),
        post_ext=np.zeros(n, np.int8),
        link_kind=np.zeros(n, np.int8),
        link_row=np.full(n, -1, np.int64),
        link_page=np.zeros(n, np.int32),
    )


def draw_danbooru(n: int, ledger: Ledger, rng: np.random.Generator) -> SourcePlan:
    plan = _empty_source("danbooru", n)
    plan.picture = ledger.new_pictures(n)
    plan.post_ext = _choose_ext(rng, n, EXT_WEIGHTS["danbooru"])
    candidates = rng.permutation(np.flatnonzero(np.isin(plan.post_ext, c.IMAGE_EXTS)))
    counts = [_count(s, n) for s in (DANBOORU_PIXIV_ID, DANBOORU_PIXIV_URL_ONLY, DANBOORU_DANGLING)]
    start = 0
    for kind, count in zip((PIXIV_ID, PIXIV_URL, PIXIV_DANGLING), counts, strict=True):
        plan.link_kind[candidates[start : start + count]] = kind
        start += count
    dangling = plan.link_kind == PIXIV_DANGLING
    plan.link_row[dangling] = rng.integers(1_000_000, DANGLING_PIXIV_IDS_BELOW, int(dangling.sum()))
    return plan


def draw_pixiv(
    n: int, danbooru: SourcePlan, ledger: Ledger, rng: np.random.Generator
) -> SourcePlan:
    """Pixiv works; the linked danbooru posts get their picture from a page of a work."""
    kind = rng.choice(3, size=n, p=[0.80, 0.15, 0.05]).astype(np.int8)
    linked = np.flatnonzero(np.isin(danbooru.link_kind, (PIXIV_ID, PIXIV_URL)))
    linked = linked[rng.permutation(len(linked))][:n]
    works = rng.permutation(n)[: len(linked)]
    kind[works] = np.where(kind[works] == UGOIRA, ILLUST, kind[works])
    pages = np.ones(n, np.int64)
    multi = (kind == ILLUST) & (rng.random(n) < 0.15)
    pages[multi] = rng.integers(2, 5, int(multi.sum()))
    manga = kind == MANGA
    pages[manga] = rng.integers(2, 9, int(manga.sum()))

    plan = _empty_source("pixiv", n)
    plan.image_post = np.repeat(np.arange(n, dtype=np.int64), pages)
    starts = np.concatenate([[0], np.cumsum(pages)[:-1]])
    plan.page = (np.arange(len(plan.image_post)) - starts[plan.image_post]).astype(np.int32)
    plan.picture = ledger.new_pictures(len(plan.image_post))
    page = np.where(rng.random(len(works)) < 0.85, 0, rng.integers(0, 1 << 30, len(works)))
    page = page % pages[works]
    target = starts[works] + page
    plan.picture[target] = danbooru.picture[linked]
    ledger.set_groups(plan.picture, plan.picture[starts][plan.image_post])

    work_ext = _choose_ext(rng, n, EXT_WEIGHTS["pixiv"])
    work_ext[kind == UGOIRA] = c.JPG
    plan.post_ext = work_ext
    plan.uid = ledger.new_files(plan.picture, c.ORIGINAL, work_ext[plan.image_post])
    plan.transform = np.full(len(plan.picture), c.ORIGINAL, np.int8)
    ai = rng.choice(3, size=n, p=[0.55, 0.38, 0.07]).astype(np.int8)
    ai[works] = np.minimum(ai[works], 1)
    plan.extra = {"type": kind, "page_count": pages.astype(np.int32), "ai_type": ai}

    danbooru.link_row[linked] = works
    danbooru.link_page[linked] = page.astype(np.int32)
    _draw_danbooru_copies(danbooru, linked, plan.uid[target], ledger, rng)
    return plan


def _draw_danbooru_copies(
    danbooru: SourcePlan,
    linked: np.ndarray,
    pixiv_uid: np.ndarray,
    ledger: Ledger,
    rng: np.random.Generator,
) -> None:
    """Files of danbooru posts: pixiv originals for linked posts, new files for the rest."""
    pixiv_ext = ledger.file_ext(pixiv_uid)
    how = rng.random(len(linked))
    same = how < 0.5
    converted = (how >= 0.5) & (how < 0.75)
    reencoded = how >= 0.75
    danbooru.uid[linked[same]] = pixiv_uid[same]
    danbooru.transform[linked[same]] = c.SAME_FILE
    danbooru.post_ext[linked[same]] = pixiv_ext[same]
    for mask, transform, ext in (
        (converted, c.CONVERTED, _other_format(rng, pixiv_ext[converted])),
        (reencoded, c.REENCODED, pixiv_ext[reencoded]),
    ):
        rows = linked[mask]
        danbooru.uid[rows] = ledger.new_files(danbooru.picture[rows], transform, ext)
        danbooru.transform[rows] = transform
        danbooru.post_ext[rows] = ext
    rest = np.flatnonzero((danbooru.uid < 0) & np.isin(danbooru.post_ext, c.IMAGE_EXTS))
    danbooru.uid[rest] = ledger.new_files(
        danbooru.picture[rest], c.ORIGINAL, danbooru.post_ext[rest]
    )


def _unique_files(
    plan: SourcePlan, rows: np.ndarray, ledger: Ledger, rng: np.random.Generator
) -> None:
    plan.picture[rows] = ledger.new_pictures(len(rows))
    plan.post_ext[rows] = _choose_ext(rng, len(rows), EXT_WEIGHTS[plan.source])
    plan.uid[rows] = ledger.new_files(plan.picture[rows], c.ORIGINAL, plan.post_ext[rows])
    plan.transform[rows] = c.ORIGINAL


def draw_gelbooru(
    n: int, danbooru: SourcePlan, ledger: Ledger, rng: np.random.Generator
) -> SourcePlan:
    plan = _empty_source("gelbooru", n)
    pool = np.flatnonzero(danbooru.uid >= 0)
    m = min(_count(GELBOORU_MIRRORS, n), len(pool))
    r = min(_count(GELBOORU_REUPLOADS, n), n - m)
    mirrors = np.arange(m)
    source_rows = rng.choice(pool, size=m, replace=False)
    plan.picture[mirrors] = danbooru.picture[source_rows]
    plan.uid[mirrors] = danbooru.uid[source_rows]
    plan.post_ext[mirrors] = ledger.file_ext(danbooru.uid[source_rows])
    plan.transform[mirrors] = c.SAME_FILE
    cites = rng.random(m) < GELBOORU_MIRROR_CITES_DANBOORU
    plan.link_kind[mirrors] = np.where(cites, DANBOORU_URL, COPY_SOURCE)
    plan.link_row[mirrors] = source_rows
    _unique_files(plan, np.arange(m, n - r), ledger, rng)
    if r:
        reuploads = np.arange(n - r, n)
        original = rng.integers(0, n - r, r)
        plan.picture[reuploads] = plan.picture[original]
        plan.uid[reuploads] = plan.uid[original]
        plan.post_ext[reuploads] = plan.post_ext[original]
        plan.transform[reuploads] = c.SAME_FILE
        plan.link_kind[reuploads] = REUPLOAD
        plan.link_row[reuploads] = original
    return plan


def draw_yandere(
    n: int, danbooru: SourcePlan, ledger: Ledger, rng: np.random.Generator
) -> SourcePlan:
    plan = _empty_source("yandere", n)
    pool = np.flatnonzero(danbooru.uid >= 0)
    s = min(_count(YANDERE_SHARED, n), len(pool))
    shared = np.arange(s)
    source_rows = rng.choice(pool, size=s, replace=False)
    plan.picture[shared] = danbooru.picture[source_rows]
    ext = ledger.file_ext(danbooru.uid[source_rows])
    same = rng.random(s) < 0.5
    plan.uid[shared[same]] = danbooru.uid[source_rows[same]]
    plan.transform[shared[same]] = c.SAME_FILE
    changed = shared[~same]
    transform = np.where(rng.random(len(changed)) < 0.5, c.RESIZED, c.REENCODED).astype(np.int8)
    plan.uid[changed] = ledger.new_files(plan.picture[changed], transform, ext[~same])
    plan.transform[changed] = transform
    plan.post_ext[shared] = ext
    plan.link_kind[shared] = np.where(rng.random(s) < 0.6, COPY_SOURCE, NO_LINK)
    plan.link_row[shared] = source_rows
    _unique_files(plan, np.arange(s, n), ledger, rng)
    return plan


def draw_zerochan(
    n: int,
    danbooru: SourcePlan,
    pixiv: SourcePlan,
    ledger: Ledger,
    rng: np.random.Generator,
) -> SourcePlan:
    plan = _empty_source("zerochan", n)
    copies = np.arange(min(_count(ZEROCHAN_COPIES, n), n))
    from_pixiv = rng.random(len(copies)) < 0.5
    d_pool = np.flatnonzero(danbooru.uid >= 0)
    d_rows = d_pool[rng.integers(0, len(d_pool), len(copies))] if len(d_pool) else copies * 0
    p_rows = rng.integers(0, len(pixiv.picture), len(copies))
    from_pixiv |= len(d_pool) == 0
    picture = np.where(from_pixiv, pixiv.picture[p_rows], danbooru.picture[d_rows])
    source_uid = np.where(from_pixiv, pixiv.uid[p_rows], danbooru.uid[np.maximum(d_rows, 0)])
    transform = rng.choice(
        [c.RESIZED, c.WATERMARKED, c.CROPPED, c.REENCODED],
        size=len(copies),
        p=[0.35, 0.25, 0.20, 0.20],
    ).astype(np.int8)
    ext = np.where(
        transform == c.REENCODED,
        ledger.file_ext(source_uid),
        _choose_ext(rng, len(copies), EXT_WEIGHTS["copy"]),
    ).astype(np.int8)
    plan.picture[copies] = picture
    plan.uid[copies] = ledger.new_files(picture, transform, ext)
    plan.transform[copies] = transform
    plan.post_ext[copies] = ext
    cites = from_pixiv & (rng.random(len(copies)) < ZEROCHAN_PIXIV_URL)
    plan.link_kind[copies[cites]] = PIXIV_ARTWORK
    plan.link_row[copies[cites]] = pixiv.image_post[p_rows[cites]]
    plan.link_page[copies[cites]] = pixiv.page[p_rows[cites]]
    _unique_files(plan, np.arange(len(copies), n), ledger, rng)
    return plan
