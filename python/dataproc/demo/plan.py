"""The demo plan: every source's posts and images, how they overlap, when, and what breaks.

In: the `World`, `--posts` per source, whether images are written, and `parameters.json`.
Out: `Plan`, numpy arrays per source (`SourcePlan`) and per file (`FileTable`). A picture is a
ground-truth image; a file is one encoding of it, and byte-identical copies share a file id.
Pixiv works are the originals of the danbooru posts that link to them; gelbooru mirrors danbooru
and re-uploads its own posts; yande.re shares danbooru pictures; zerochan transforms danbooru or
pixiv pictures; the rest are unique. A few booru posts are children (`parent_id`) whose picture
redraws one region of their older parent's, and some pixiv works' later pages redraw their first
page. Ids rise with the date. Unusual encodings belong to a file,
hostile cases to one stored copy, orphans and odd tar member names to no post.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.demo import world as w
from dataproc.demo.world import SOURCES, World, parameters, uniform

Rng = np.random.Generator
Box = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Extras = tuple[np.ndarray, np.ndarray, list[str]]  # images of no post: key ids, file ids, kinds
LAST_MS = w.EPOCH_END_MS + 180 * w.DAY_MS
HOSTILE_KINDS = (w.CORRUPT, w.ZERO_BYTE, w.NOT_IMAGE, w.HUGE_DIMENSIONS, w.MISSING_IMAGE)


class SourcePlan:
    """One source's posts (in draw order) and images (one per post; a work's pages on pixiv).
    Per image: `picture`, `image_post`, `page`, `uid` (file id; -1: none), `transform`, `hostile`,
    `ext`, `width`, `height`, `keys`. Per post: `post_ext`, `link_kind`, `link_row` (the linked
    row, or a dangling pixiv id), `link_page`, `parent_row` (the parent post's row, or -1),
    `created_ms`, `post_id`, `order` (by id), `extra`."""

    def __init__(self, source: str, n: int) -> None:
        self.source, self.n_posts = source, n
        self.picture, self.image_post = np.zeros(n, np.int64), np.arange(n, dtype=np.int64)
        self.page, self.link_page = np.zeros(n, np.int32), np.zeros(n, np.int32)
        self.uid, self.link_row = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        self.parent_row = np.full(n, -1, np.int64)
        self.transform, self.post_ext, self.link_kind = (np.zeros(n, np.int8) for _ in range(3))
        self.extra: dict[str, np.ndarray] = {}
        unset = np.zeros(0, np.int64)  # each is assigned a new array once planned
        self.hostile, self.created_ms, self.post_id, self.order = unset, unset, unset, unset
        self.ext, self.width, self.height = unset, unset, unset
        self.keys = pa.array([], pa.string())

    @property
    def lead_image(self) -> np.ndarray:
        """Image row of each post's first page."""
        return np.flatnonzero(self.page == 0)


@dataclass
class FileTable:
    """Per file id: its picture, the picture whose scene it is drawn from (`scene`: the picture
    itself, or the one a redrawn picture redraws), how it was derived, its format, size and
    unusual encoding."""

    picture: np.ndarray
    scene: np.ndarray
    transform: np.ndarray
    ext: np.ndarray
    width: np.ndarray
    height: np.ndarray
    unusual: np.ndarray


@dataclass
class Plan:
    """Everything the lake is written from (`extras` only where images are)."""

    seed: int
    world: World
    files: FileTable
    groups: np.ndarray  # group id per picture id
    scenes: np.ndarray  # per picture id: the picture it redraws, else itself
    hard_cases: np.ndarray  # per picture id: a w.HARD_CASES code
    sources: dict[str, SourcePlan]
    extras: dict[str, Extras]


def crop_box(seed: int, uid: np.ndarray, width: np.ndarray, height: np.ndarray) -> Box:
    """(left, top, right, bottom) of a slight crop, in pixels of the native picture."""
    crop = parameters()["plan"]["max_crop_per_side"]
    left, top, right, bottom = (
        np.floor(uniform(seed, "crop." + side, uid) * crop * size).astype(np.int64)
        for side, size in zip("ltrb", (width, height, width, height), strict=True)
    )
    return left, top, width - right, height - bottom


def derived_size(
    seed: int, uid: np.ndarray, transform: np.ndarray, width: np.ndarray, height: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(width, height) of a file made from a native picture by `transform`; the renderer crops
    and resizes with the same (seed, file id), so the metadata's size is that of the bytes."""
    out_w, out_h = np.array(width, dtype=np.int64), np.array(height, dtype=np.int64)
    resized = np.flatnonzero(transform == w.RESIZED)
    low, high = parameters()["plan"]["resize_scale"]
    scale = low + (high - low) * uniform(seed, "resize.scale", uid[resized])
    out_w[resized] = np.maximum(1, np.round(out_w[resized] * scale))
    out_h[resized] = np.maximum(1, np.round(out_h[resized] * scale))
    cropped = np.flatnonzero(transform == w.CROPPED)
    left, top, right, bottom = crop_box(seed, uid[cropped], out_w[cropped], out_h[cropped])
    out_w[cropped], out_h[cropped] = right - left, bottom - top
    return out_w.astype(np.int32), out_h.astype(np.int32)


def _choose_ext(rng: Rng, n: int, site: str) -> np.ndarray:
    """Extension codes drawn with the site's weights."""
    weights = parameters()["sites"][site]["ext_weights"]
    codes = np.array([w.EXTS.index(ext) for ext in weights], dtype=np.int8)
    p = np.array(list(weights.values()))
    return codes[rng.choice(len(codes), size=n, p=p / p.sum())]


def _other_format(rng: Rng, ext: np.ndarray) -> np.ndarray:
    """A different still-image format for a conversion (PNG <-> WebP <-> JPEG)."""
    family = np.where(np.isin(ext, (w.JPG, w.JPEG)), 0, np.where(ext == w.PNG, 1, 2))
    options = np.array([[w.PNG, w.WEBP], [w.JPG, w.WEBP], [w.PNG, w.JPG]], dtype=np.int8)
    return options[family, rng.integers(0, 2, len(ext))]


def _copy_posts(plan: SourcePlan, rows: np.ndarray, of: SourcePlan, of_rows: np.ndarray) -> None:
    """`rows` show the same file as `of_rows` of `of`."""
    plan.picture[rows] = of.picture[of_rows]
    plan.uid[rows] = of.uid[of_rows]
    plan.transform[rows] = w.SAME_FILE
    plan.link_row[rows] = of_rows


def _after(rng: Rng, start: np.ndarray, mean_days: float) -> np.ndarray:
    delay = (rng.exponential(mean_days, len(start)) * w.DAY_MS).astype(np.int64)
    return np.minimum(start + delay + rng.integers(0, 1000, len(start)), LAST_MS)


def _children_after_parents(rng: Rng, plan: SourcePlan, created: np.ndarray) -> np.ndarray:
    """`created` with each child post dated after its parent."""
    children = np.flatnonzero(plan.parent_row >= 0)
    created = created.copy()
    created[children] = np.minimum(
        _after(rng, created[plan.parent_row[children]], 5.0) + 1, LAST_MS
    )
    return created


def _free_ids(used: np.ndarray, count: int, rng: Rng) -> np.ndarray:
    """`count` ids that no post has, between existing ids where the gaps allow."""
    ordered = np.sort(used)
    candidates = ordered[:-1] + 1
    candidates = candidates[ordered[1:] > candidates]
    if len(candidates) >= count:
        return np.sort(rng.choice(candidates, size=count, replace=False))
    top = (ordered[-1] if len(ordered) else 0) + 1
    return np.concatenate([candidates, top + np.arange(count - len(candidates))])


class Planner:
    """Draws the plan stage by stage on whole numpy arrays, handing out picture and file ids in
    draw order; each stage has its own generator, seeded by (seed, stage name)."""

    def __init__(self, world: World, posts: int) -> None:
        self.world, self.posts, self.share = world, posts, parameters()["plan"]
        self.n_pictures = 0
        self._files: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._group_fixes: list[tuple[np.ndarray, np.ndarray]] = []
        self._redraws: list[tuple[np.ndarray, np.ndarray, int]] = []  # (pictures, scenes, case)

    def rng(self, stage: str) -> Rng:
        """An independent generator per stage."""
        seed = self.world.seed & 0xFFFFFFFFFFFFFFFF
        return np.random.default_rng([seed, zlib.crc32(stage.encode())])

    def count(self, share: str) -> int:
        """The number of posts the named share of `--posts` gives."""
        return int(round(self.share[share] * self.posts))

    def few(self, per: str) -> int:
        """One case per the named number of posts, at least one."""
        return max(1, self.posts // self.share[per])

    # -- the ledger of pictures and files ---------------------------------------------------------
    def new_pictures(self, n: int) -> np.ndarray:
        self.n_pictures += n
        return np.arange(self.n_pictures - n, self.n_pictures, dtype=np.int64)

    def new_files(self, pictures: np.ndarray, transform: np.ndarray, ext: np.ndarray) -> np.ndarray:
        """File ids for new encodings of `pictures`."""
        n, start = len(pictures), sum(len(f[0]) for f in self._files)
        transform = np.broadcast_to(np.asarray(transform, dtype=np.int8), (n,)).copy()
        ext = np.broadcast_to(np.asarray(ext, dtype=np.int8), (n,)).copy()
        self._files.append((np.asarray(pictures, dtype=np.int64), transform, ext))
        return np.arange(start, start + n, dtype=np.int64)

    def file_ext(self, uids: np.ndarray) -> np.ndarray:
        """Extension codes of files handed out so far."""
        if not self._files:
            return np.zeros(len(uids), np.int8)
        return np.concatenate([f[2] for f in self._files])[uids]

    def redraws(self) -> tuple[np.ndarray, np.ndarray]:
        """(scene, hard case) of every picture id handed out: redrawn pictures name theirs."""
        scene = np.arange(self.n_pictures, dtype=np.int64)
        case = np.full(self.n_pictures, w.NOT_HARD, dtype=np.int8)
        for pictures, scenes, kind in self._redraws:
            scene[pictures], case[pictures] = scenes, kind
        return scene, case

    def groups(self) -> np.ndarray:
        """Group id of every picture id handed out (pixiv pages join their work's first page, a
        redrawn picture the group of the picture it redraws)."""
        group = np.arange(self.n_pictures, dtype=np.int64)
        for pictures, groups in self._group_fixes:
            group[pictures] = groups
        return group[self.redraws()[0]]

    def files(self) -> FileTable:
        """All files, with sizes derived from their picture's native size."""
        picture, transform, ext = (
            np.concatenate([f[i] for f in self._files] or [np.zeros(0, dtype)])
            for i, dtype in enumerate((np.int64, np.int8, np.int8))
        )
        scene = self.redraws()[0][picture]
        native_w, native_h = self.world.size(scene)
        uids = np.arange(len(picture), dtype=np.int64)
        width, height = derived_size(self.world.seed, uids, transform, native_w, native_h)
        unusual = np.full(len(picture), w.PLAIN, dtype=np.int8)
        return FileTable(picture, scene, transform, ext, width, height, unusual)

    def unique_files(self, plan: SourcePlan, rows: np.ndarray, rng: Rng) -> None:
        plan.picture[rows] = self.new_pictures(len(rows))
        plan.post_ext[rows] = _choose_ext(rng, len(rows), plan.source)
        plan.uid[rows] = self.new_files(plan.picture[rows], w.ORIGINAL, plan.post_ext[rows])
        plan.transform[rows] = w.ORIGINAL

    def variants(self, plan: SourcePlan, pool: np.ndarray, share: str, rng: Rng) -> None:
        """Make a few `pool` posts (each with its own original file) children of others in the
        pool: the child's picture redraws one region of its parent's (another expression or
        outfit), so their pixels are close; `dates` makes the parent the older post."""
        n = min(self.count(share), len(pool) // 2)
        picked = rng.permutation(pool)[: 2 * n]
        parents, children = picked[:n], picked[n:]
        plan.parent_row[children] = parents
        self._redraws.append((plan.picture[children], plan.picture[parents], w.VARIANT))

    # -- the sources ------------------------------------------------------------------------------
    def danbooru(self) -> SourcePlan:
        n, rng = self.posts, self.rng("danbooru")
        plan = SourcePlan("danbooru", n)
        plan.picture = self.new_pictures(n)
        plan.post_ext = _choose_ext(rng, n, "danbooru")
        candidates = rng.permutation(np.flatnonzero(np.isin(plan.post_ext, w.IMAGE_EXTS)))
        start = 0
        for kind, share in (
            (w.PIXIV_ID, "danbooru_pixiv_id"),
            (w.PIXIV_URL, "danbooru_pixiv_url_only"),
            (w.PIXIV_DANGLING, "danbooru_dangling_pixiv_id"),
        ):
            plan.link_kind[candidates[start : start + self.count(share)]] = kind
            start += self.count(share)
        dangling = plan.link_kind == w.PIXIV_DANGLING
        below = self.share["dangling_pixiv_ids_below"]
        plan.link_row[dangling] = rng.integers(1_000_000, below, int(dangling.sum()))
        return plan

    def pixiv(self, danbooru: SourcePlan) -> SourcePlan:
        """Pixiv works; the linked danbooru posts get their picture from a page of a work."""
        n, rng = self.posts, self.rng("pixiv")
        kind = rng.choice(3, size=n, p=[0.80, 0.15, 0.05]).astype(np.int8)
        linked = np.flatnonzero(np.isin(danbooru.link_kind, (w.PIXIV_ID, w.PIXIV_URL)))
        linked = linked[rng.permutation(len(linked))][:n]
        works = rng.permutation(n)[: len(linked)]
        kind[works] = np.where(kind[works] == w.UGOIRA, w.ILLUST, kind[works])
        pages = np.ones(n, np.int64)
        multi = (kind == w.ILLUST) & (rng.random(n) < 0.15)
        pages[multi] = rng.integers(2, 5, int(multi.sum()))
        pages[kind == w.MANGA] = rng.integers(2, 9, int((kind == w.MANGA).sum()))

        plan = SourcePlan("pixiv", n)
        plan.image_post = np.repeat(np.arange(n, dtype=np.int64), pages)
        starts = np.concatenate([[0], np.cumsum(pages)[:-1]])
        plan.page = (np.arange(len(plan.image_post)) - starts[plan.image_post]).astype(np.int32)
        plan.picture = self.new_pictures(len(plan.image_post))
        page = np.where(rng.random(len(works)) < 0.85, 0, rng.integers(0, 1 << 30, len(works)))
        page = page % pages[works]
        target = starts[works] + page
        plan.picture[target] = danbooru.picture[linked]
        self._group_fixes.append((plan.picture, plan.picture[starts][plan.image_post]))
        similar = (pages > 1) & (rng.random(n) < self.share["pixiv_similar_page_works"])
        later = np.flatnonzero(similar[plan.image_post] & (plan.page > 0))
        first = plan.picture[starts[plan.image_post[later]]]
        self._redraws.append((plan.picture[later], first, w.PAGE))

        plan.post_ext = _choose_ext(rng, n, "pixiv")
        plan.post_ext[kind == w.UGOIRA] = w.JPG
        plan.uid = self.new_files(plan.picture, w.ORIGINAL, plan.post_ext[plan.image_post])
        plan.transform = np.full(len(plan.picture), w.ORIGINAL, np.int8)
        ai = rng.choice(3, size=n, p=[0.55, 0.38, 0.07]).astype(np.int8)
        ai[works] = np.minimum(ai[works], 1)
        plan.extra = {"type": kind, "page_count": pages.astype(np.int32), "ai_type": ai}

        danbooru.link_row[linked] = works
        danbooru.link_page[linked] = page.astype(np.int32)
        self.danbooru_files(danbooru, linked, plan.uid[target], rng)
        return plan

    def danbooru_files(
        self, danbooru: SourcePlan, linked: np.ndarray, pixiv_uid: np.ndarray, rng: Rng
    ) -> None:
        """Files of danbooru posts: pixiv originals for linked posts, new files for the rest."""
        pixiv_ext = self.file_ext(pixiv_uid)
        how = rng.random(len(linked))
        same = how < 0.5
        converted, reencoded = (how >= 0.5) & (how < 0.75), how >= 0.75
        danbooru.uid[linked[same]] = pixiv_uid[same]
        danbooru.transform[linked[same]] = w.SAME_FILE
        danbooru.post_ext[linked[same]] = pixiv_ext[same]
        for mask, transform, ext in (
            (converted, w.CONVERTED, _other_format(rng, pixiv_ext[converted])),
            (reencoded, w.REENCODED, pixiv_ext[reencoded]),
        ):
            rows = linked[mask]
            danbooru.uid[rows] = self.new_files(danbooru.picture[rows], transform, ext)
            danbooru.transform[rows] = transform
            danbooru.post_ext[rows] = ext
        rest = np.flatnonzero((danbooru.uid < 0) & np.isin(danbooru.post_ext, w.IMAGE_EXTS))
        ext = danbooru.post_ext[rest]
        danbooru.uid[rest] = self.new_files(danbooru.picture[rest], w.ORIGINAL, ext)
        self.variants(
            danbooru, rest[danbooru.link_kind[rest] == w.NO_LINK], "danbooru_variants", rng
        )

    def gelbooru(self, danbooru: SourcePlan) -> SourcePlan:
        n, rng = self.posts, self.rng("gelbooru")
        plan = SourcePlan("gelbooru", n)
        pool = np.flatnonzero(danbooru.uid >= 0)
        m = min(self.count("gelbooru_mirrors"), len(pool))
        r = min(self.count("gelbooru_reuploads"), n - m)
        mirrors = np.arange(m)
        _copy_posts(plan, mirrors, danbooru, rng.choice(pool, size=m, replace=False))
        plan.post_ext[mirrors] = self.file_ext(plan.uid[mirrors])
        cites = rng.random(m) < self.share["gelbooru_mirror_cites_danbooru"]
        plan.link_kind[mirrors] = np.where(cites, w.DANBOORU_URL, w.COPY_SOURCE)
        self.unique_files(plan, np.arange(m, n - r), rng)
        self.variants(plan, np.arange(m, n - r), "gelbooru_variants", rng)
        if r:
            reuploads = np.arange(n - r, n)
            original = rng.integers(0, n - r, r)
            _copy_posts(plan, reuploads, plan, original)
            plan.post_ext[reuploads] = plan.post_ext[original]
            plan.link_kind[reuploads] = w.REUPLOAD
        return plan

    def yandere(self, danbooru: SourcePlan) -> SourcePlan:
        n, rng = self.posts, self.rng("yandere")
        plan = SourcePlan("yandere", n)
        pool = np.flatnonzero(danbooru.uid >= 0)
        s = min(self.count("yandere_shared"), len(pool))
        shared = np.arange(s)
        source_rows = rng.choice(pool, size=s, replace=False)
        plan.picture[shared] = danbooru.picture[source_rows]
        ext = self.file_ext(danbooru.uid[source_rows])
        same = rng.random(s) < 0.5
        plan.uid[shared[same]] = danbooru.uid[source_rows[same]]
        plan.transform[shared[same]] = w.SAME_FILE
        changed = shared[~same]
        transforms = np.array([w.RESIZED, w.REENCODED, w.CROPPED], np.int8)
        transform = transforms[rng.choice(3, size=len(changed), p=[0.4, 0.4, 0.2])]
        plan.uid[changed] = self.new_files(plan.picture[changed], transform, ext[~same])
        plan.transform[changed] = transform
        plan.post_ext[shared] = ext
        plan.link_kind[shared] = np.where(rng.random(s) < 0.6, w.COPY_SOURCE, w.NO_LINK)
        plan.link_row[shared] = source_rows
        self.unique_files(plan, np.arange(s, n), rng)
        self.variants(plan, np.arange(s, n), "yandere_variants", rng)
        return plan

    def zerochan(self, danbooru: SourcePlan, pixiv: SourcePlan) -> SourcePlan:
        n, rng = self.posts, self.rng("zerochan")
        plan = SourcePlan("zerochan", n)
        copies = np.arange(min(self.count("zerochan_copies"), n))
        from_pixiv = rng.random(len(copies)) < 0.5
        d_pool = np.flatnonzero(danbooru.uid >= 0)
        d_rows = d_pool[rng.integers(0, len(d_pool), len(copies))] if len(d_pool) else copies * 0
        p_rows = rng.integers(0, len(pixiv.picture), len(copies))
        from_pixiv |= len(d_pool) == 0
        picture = np.where(from_pixiv, pixiv.picture[p_rows], danbooru.picture[d_rows])
        source_uid = np.where(from_pixiv, pixiv.uid[p_rows], danbooru.uid[np.maximum(d_rows, 0)])
        transforms = np.array([w.RESIZED, w.WATERMARKED, w.CROPPED, w.REENCODED], np.int8)
        transform = transforms[rng.choice(4, size=len(copies), p=[0.35, 0.25, 0.20, 0.20])]
        other = _choose_ext(rng, len(copies), "copy")
        ext = np.where(transform == w.REENCODED, self.file_ext(source_uid), other).astype(np.int8)
        plan.picture[copies] = picture
        plan.uid[copies] = self.new_files(picture, transform, ext)
        plan.transform[copies] = transform
        plan.post_ext[copies] = ext
        cites = copies[from_pixiv & (rng.random(len(copies)) < self.share["zerochan_pixiv_url"])]
        plan.link_kind[cites] = w.PIXIV_ARTWORK
        plan.link_row[cites] = pixiv.image_post[p_rows[cites]]
        plan.link_page[cites] = pixiv.page[p_rows[cites]]
        self.unique_files(plan, np.arange(len(copies), n), rng)
        return plan

    # -- dates, ids, and the cases that break -----------------------------------------------------
    def dates(self, plans: dict[str, SourcePlan], groups: np.ndarray) -> None:
        """`created_ms` of every post: originals first, copies after what they copy."""
        rng, created_ms = self.rng("dates"), self.world.created_ms
        pixiv, danbooru, gelbooru = plans["pixiv"], plans["danbooru"], plans["gelbooru"]
        pixiv.created_ms = np.minimum(created_ms(groups[pixiv.picture[pixiv.lead_image]]), LAST_MS)

        created = _after(rng, created_ms(groups[danbooru.picture]), 1.0)
        linked = np.isin(danbooru.link_kind, (w.PIXIV_ID, w.PIXIV_URL))
        created[linked] = _after(rng, pixiv.created_ms[danbooru.link_row[linked]], 3.0)
        danbooru.created_ms = _children_after_parents(rng, danbooru, created)

        created = _after(rng, created_ms(groups[gelbooru.picture]), 1.0)
        created = _children_after_parents(rng, gelbooru, created)
        mirrors = np.isin(gelbooru.link_kind, (w.DANBOORU_URL, w.COPY_SOURCE))
        created[mirrors] = _after(rng, danbooru.created_ms[gelbooru.link_row[mirrors]], 2.0)
        reuploads = gelbooru.link_kind == w.REUPLOAD
        created[reuploads] = _after(rng, created[gelbooru.link_row[reuploads]], 30.0)
        gelbooru.created_ms = created

        yandere = plans["yandere"]
        created = _after(rng, created_ms(groups[yandere.picture]), 1.0)
        shared = yandere.link_row >= 0
        created[shared] = _after(rng, danbooru.created_ms[yandere.link_row[shared]], 10.0)
        yandere.created_ms = _children_after_parents(rng, yandere, created)

        zerochan = plans["zerochan"]
        mean = np.where(zerochan.transform != w.ORIGINAL, 60.0, 1.0)
        base = created_ms(groups[zerochan.picture])
        delay = (rng.exponential(1.0, len(base)) * mean * w.DAY_MS).astype(np.int64)
        zerochan.created_ms = np.minimum(base + delay, LAST_MS)

    def ids(self, plan: SourcePlan) -> None:
        """Post ids rising with the date; `order` lists posts by id."""
        site, rng = parameters()["sites"][plan.source], self.rng("ids." + plan.source)
        plan.order = np.argsort(plan.created_ms, kind="stable")
        plan.post_id = np.empty(plan.n_posts, dtype=np.int64)
        gaps = rng.integers(1, site["max_id_gap"] + 1, plan.n_posts)
        plan.post_id[plan.order] = site["first_id"] + np.cumsum(gaps)

    def extras(self, plans: dict[str, SourcePlan]) -> dict[str, Extras]:
        """Orphan images for every source, plus `../` and absolute member names in shards."""
        rng, extras = self.rng("extras"), {}
        for source in SOURCES:
            kinds = [w.ORPHAN] * self.few("hostile_per")
            if source in w.SHARD_SOURCES:
                kinds += [w.PATH_TRAVERSAL, w.ABSOLUTE_PATH]
            key_id = _free_ids(plans[source].post_id, len(kinds), rng)
            pictures = self.new_pictures(len(kinds))
            ext = np.where(rng.random(len(kinds)) < 0.5, w.PNG, w.JPG).astype(np.int8)
            extras[source] = key_id, self.new_files(pictures, w.ORIGINAL, ext), kinds
        return extras

    def unusual(self, plans: dict[str, SourcePlan], files: FileTable) -> None:
        """Re-encode a few original files per source in an unusual but valid way."""
        rng, per_kind = self.rng("unusual"), self.few("unusual_per")
        taken = np.zeros(len(files.picture), dtype=bool)
        for plan in (plans[source] for source in SOURCES):
            originals = plan.uid[(plan.uid >= 0) & (plan.transform == w.ORIGINAL)]
            candidates = rng.permutation(np.unique(originals))
            candidates = candidates[~taken[candidates]]
            for i, kind in enumerate(w.UNUSUAL_EXT):  # in code order
                pick = candidates[i * per_kind : (i + 1) * per_kind]
                files.unusual[pick] = kind
                files.ext[pick] = w.UNUSUAL_EXT[kind]
                taken[pick] = True

    def hostile(self, plans: dict[str, SourcePlan], files: FileTable) -> None:
        """Mark a few images per source whose stored bytes will be broken or missing."""
        rng, per_kind = self.rng("hostile"), self.few("hostile_per")
        for plan in (plans[source] for source in SOURCES):
            has = plan.uid >= 0
            ext = np.where(has, files.ext[np.maximum(plan.uid, 0)], -1)
            plain = has & (files.unusual[np.maximum(plan.uid, 0)] == w.PLAIN)
            for kind in HOSTILE_KINDS:
                eligible = plain & (plan.hostile == w.HARMLESS)
                if kind == w.NOT_IMAGE:
                    eligible &= ext == w.JPG
                elif kind == w.HUGE_DIMENSIONS:
                    eligible &= ext == w.PNG
                pool = np.flatnonzero(eligible)
                plan.hostile[rng.choice(pool, size=min(per_kind, len(pool)), replace=False)] = kind


def _describe_images(plan: SourcePlan, files: FileTable, world: World, scenes: np.ndarray) -> None:
    """Per image: extension, size (the file's, or without one the post's and the picture's)
    and site key (the post id, or `<illust_id>_p<page>` on pixiv)."""
    has = plan.uid >= 0
    plan.ext = plan.post_ext[plan.image_post].copy()
    plan.ext[has] = files.ext[plan.uid[has]]
    plan.width, plan.height = world.size(scenes[plan.picture])
    plan.width[has] = files.width[plan.uid[has]]
    plan.height[has] = files.height[plan.uid[has]]
    ids = pc.cast(pa.array(plan.post_id[plan.image_post]), pa.string())
    if plan.source == "pixiv":
        ids = pc.binary_join_element_wise(ids, "_p", pc.cast(pa.array(plan.page), pa.string()), "")
    plan.keys = ids


def build_plan(world: World, posts: int, images: bool) -> Plan:
    """Every source's posts and images for `posts` posts per source."""
    planner = Planner(world, posts)
    danbooru = planner.danbooru()
    pixiv = planner.pixiv(danbooru)
    plans = {
        "danbooru": danbooru,
        "gelbooru": planner.gelbooru(danbooru),
        "yandere": planner.yandere(danbooru),
        "pixiv": pixiv,
        "zerochan": planner.zerochan(danbooru, pixiv),
    }
    planner.dates(plans, planner.groups())
    for source in SOURCES:
        planner.ids(plans[source])
        plans[source].hostile = np.zeros(len(plans[source].uid), dtype=np.int8)
    extras = planner.extras(plans) if images else {}
    files = planner.files()
    planner.unusual(plans, files)
    if images:
        planner.hostile(plans, files)
    scenes, hard_cases = planner.redraws()
    for plan in plans.values():
        _describe_images(plan, files, world, scenes)
    return Plan(world.seed, world, files, planner.groups(), scenes, hard_cases, plans, extras)
