"""The five sites' raw tables, in their own API field names and formats.

In: the `Plan`, each file's md5 and byte size (of the rendered bytes, or synthesized from the
file id), and per site from `parameters.json` its fields, ratings, statuses, scores and tag shares.
Out: `RawTables.table(source, rows)`, one parquet part of a source's posts as its API returns them
(DESIGN.md, "Raw input contract"). Strings are built with pyarrow compute, never per row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.demo import world as w
from dataproc.demo.plan import LAST_MS, Plan
from dataproc.demo.world import DAY_MS, EXTS, TagPairs, integers, parameters, uniform

HOUR_MS = 3_600_000
RATING_NOISE = 0.06  # share of posts whose site rating is one step off the picture's
NO_FILE_KEY = 1 << 40  # md5/size keys for posts without an image file (video, ugoira zip)
SMALL_SIDE = 256
TRANSLATED_SHARE = 0.6  # of pixiv tags that carry an English translated name
# pixiv URL forms: artworks page, img-original file, img-master thumbnail, legacy member page.
PIXIV_FORM_WEIGHTS = np.array([0.35, 0.30, 0.15, 0.20])
TWITTER_EPOCH_MS = 1_288_834_974_657
PIXIV_USER_ID_BASE = 1_000_000
PIXIV_AI_GENERATED = 2
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

StrLike = pa.Array | pa.ChunkedArray | str


def as_str(values: np.ndarray) -> pa.Array:
    """Integers as decimal strings."""
    return pc.cast(pa.array(values), pa.string())


def concat(*parts: StrLike) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def lookup(choices: Sequence[str] | pa.Array, index: np.ndarray) -> pa.Array:
    """`choices[index]` for every element."""
    table = choices if isinstance(choices, pa.Array) else pa.array(list(choices), pa.string())
    return table.take(pa.array(np.asarray(index, dtype=np.int64)))


def pick(which: np.ndarray, *options: pa.Array) -> pa.Array:
    """Row-wise choice among equally long arrays: `options[which[i]][i]`."""
    return pc.choose(pa.array(np.asarray(which, dtype=np.int8)), *options)


def blank(n: int) -> pa.Array:
    return pa.array(np.full(n, ""), pa.string())


def fill(template: str, **values: pa.Array) -> pa.Array:
    """The template per row, each `{name}` replaced by the row's value of the named array."""
    n = len(next(iter(values.values())))
    parts = re.split(r"\{(\w+)\}", template)  # literal text at even positions, names at odd
    return concat(blank(n), *(values[part] if i % 2 else part for i, part in enumerate(parts)))


def tag_lists(pairs: TagPairs, names: pa.Array) -> pa.Array:
    """list<string> per row: the names of the row's tag ids."""
    return pa.ListArray.from_arrays(pa.array(pairs.offsets()), names.take(pa.array(pairs.tags)))


def tag_strings(pairs: TagPairs, names: pa.Array) -> pa.Array:
    """Space-separated tag names per row ('' for a row without tags)."""
    return pc.binary_join(tag_lists(pairs, names), " ")


def fake_md5(seed: int, keys: np.ndarray) -> pa.Array:
    """md5-shaped lowercase hex digests of files that are never written."""
    words = np.stack([w.hash64(seed, "md5.hi", keys), w.hash64(seed, "md5.lo", keys)], axis=1)
    raw = np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(len(words), 16)
    digits = np.empty((len(words), 32), dtype=np.uint8)
    digits[:, 0::2], digits[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 15]
    offsets = np.arange(0, 32 * len(words) + 1, 32, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(digits.tobytes())]
    return pa.Array.from_buffers(pa.string(), len(words), buffers)


def estimated_size(
    seed: int, keys: np.ndarray, width: np.ndarray, height: np.ndarray, ext: np.ndarray
) -> np.ndarray:
    """A plausible byte size for a file that is never written."""
    per_pixel = np.array([parameters()["bytes_per_pixel"][name] for name in EXTS])[ext]
    noise = 0.6 + 0.8 * uniform(seed, "file.size", keys)
    return (width.astype(np.float64) * height * per_pixel * noise).astype(np.int64) + 800


def local_time(
    ms: np.ndarray, offset_hours: np.ndarray | int, fmt: str, unit: str = "s"
) -> pa.Array:
    """Unix milliseconds shifted by the offset and formatted (`%S` shows milliseconds on `ms`)."""
    local = ms + np.asarray(offset_hours) * HOUR_MS
    stamps = pa.array(local if unit == "ms" else local // 1000, pa.timestamp(unit))
    return pc.strftime(stamps, format=fmt)


def danbooru_time(ms: np.ndarray) -> pa.Array:
    """`2021-03-04T12:34:56.789-05:00`: US Eastern, -04:00 from April to October."""
    month = pc.month(pa.array(ms, pa.timestamp("ms"))).to_numpy()
    summer = (month >= 4) & (month <= 10)
    clock = local_time(ms, np.where(summer, -4, -5), "%Y-%m-%dT%H:%M:%S", unit="ms")
    return concat(clock, pc.if_else(pa.array(summer), "-04:00", "-05:00"))


def pixiv_urls(
    form: np.ndarray, illust_id: np.ndarray, page: np.ndarray, ext: pa.Array, work_ms: np.ndarray
) -> pa.Array:
    """A pixiv URL per row in the chosen form (0..3); pximg folders are the work's Japan time."""
    date = local_time(work_ms, 9, "%Y/%m/%d/%H/%M/%S")
    values = {"id": as_str(illust_id), "page": as_str(page), "ext": ext, "date": date}
    return pick(form, *(fill(url, **values) for url in parameters()["texts"]["pixiv_urls"]))


def file_facts(plan: Plan, blobs: list[bytes] | None) -> tuple[pa.Array, np.ndarray]:
    """(md5 hex, byte size) per file id: of the rendered bytes, or synthesized without them."""
    if blobs is not None:
        md5 = pa.array([hashlib.md5(data).hexdigest() for data in blobs], pa.string())
        return md5, np.array([len(data) for data in blobs], dtype=np.int64)
    f, uids = plan.files, np.arange(len(plan.files.picture))
    return fake_md5(plan.seed, uids), estimated_size(plan.seed, uids, f.width, f.height, f.ext)


class RawTables:
    """The sites' raw tables of one plan, one parquet part (`rows`, in id order) at a time."""

    def __init__(self, plan: Plan, md5: pa.Array, size: np.ndarray) -> None:
        self.plan, self.md5, self.size = plan, md5, size
        self.world, self.vocab, self.seed = plan.world, plan.world.vocab, plan.seed
        self.danbooru, self.pixiv = plan.sources["danbooru"], plan.sources["pixiv"]
        self.sites, self.texts = parameters()["sites"], parameters()["texts"]

    def table(self, source: str, rows: np.ndarray) -> pa.Table:
        """The rows' posts, with the site's fields in its order (`parameters.json`)."""
        columns = getattr(self, source + "_columns")(rows)
        return pa.table({name: columns[name] for name in self.sites[source]["columns"]})

    # -- what several sites share ----------------------------------------------------------------
    def _rating(self, source: str, pictures: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """The site's rating code: the picture's, one step off on a few posts."""
        u = uniform(self.seed, "rating." + source, pictures)
        shift = np.where(u < RATING_NOISE / 2, -1, np.where(u < RATING_NOISE, 1, 0))
        return np.clip(self.world.rating(groups).astype(np.int64) + shift, 0, 3)

    def _parents(self, source: str, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """(parent_id, has_children) of the rows: a child's parent is the post its picture
        redraws, always an older post."""
        plan = self.plan.sources[source]
        parent = plan.parent_row[rows]
        parent_id = plan.post_id[np.maximum(parent, 0)]
        children = np.bincount(plan.parent_row[plan.parent_row >= 0], minlength=plan.n_posts) > 0
        return pa.array(parent_id, pa.int64(), mask=parent < 0), pa.array(children[rows])

    def _booru_columns(self, source: str, rows: np.ndarray) -> dict[str, Any]:
        """The fields danbooru, gelbooru and yande.re share: id, size, rating, parent, status."""
        plan, site = self.plan.sources[source], self.sites[source]
        pictures = plan.picture[rows]
        rating = self._rating(source, pictures, self.plan.groups[pictures])
        u = uniform(self.seed, source + ".status", rows)
        names = ["active"] + [name for name, _ in site["statuses"]]
        status = np.select([u < share for _, share in site["statuses"]], range(1, len(names)), 0)
        parent_id, has_children = self._parents(source, rows)
        return {
            "id": pa.array(plan.post_id[rows], pa.int64()),
            "rating": lookup(site["ratings"], rating),
            "width": pa.array(plan.width[rows], pa.int64()),
            "height": pa.array(plan.height[rows], pa.int64()),
            "parent_id": parent_id,
            "has_children": has_children,
            "status": lookup(names, status),
            **{"is_" + name: pa.array(status == code) for code, name in enumerate(names)},
        }

    def _appeal(self, source: str, groups: np.ndarray, rows: np.ndarray, stream: str) -> np.ndarray:
        """exp(a0 + a1 * the picture's appeal + a2 * noise): the site's score before rounding."""
        a, noise = self.sites[source]["score"], w.normal(self.seed, stream, rows)
        return np.exp(a[0] + a[1] * self.world.quality(groups) + a[2] * noise)

    def _accounts(self, groups: np.ndarray) -> pa.Array:
        return self.vocab.accounts.take(pa.array(self.world.artist(groups)))

    def _own_sources(self, source: str, rows: np.ndarray, groups: np.ndarray) -> pa.Array:
        """The `source` of posts that link to no other site: '' (unknown), a tweet, or a fanbox
        post of the artist's account."""
        seed, stream = self.seed, source + ".source"
        empty = self.sites[source]["unlinked_source_empty"]
        created, accounts = self.plan.sources[source].created_ms[rows], self._accounts(groups)
        u = uniform(seed, stream, rows)
        serial = (w.hash64(seed, stream + ".status", rows) >> np.uint64(44)).astype(np.int64)
        snowflake = ((created - TWITTER_EPOCH_MS).clip(0) << 22) | serial
        status = np.where(created < TWITTER_EPOCH_MS, 1_000_000 + created // 60_000, snowflake)
        fanbox = (w.hash64(seed, stream + ".fanbox", rows) >> np.uint64(44)).astype(np.int64)
        values = {"account": accounts, "status": as_str(status), "post": as_str(1_000_000 + fanbox)}
        values["fanbox"] = pc.replace_substring(accounts, "_", "-")
        which = np.where(u < empty, 0, np.where(u < empty + (1 - empty) * 0.8, 1, 2))
        return pick(which, *(fill(text, **values) for text in self.texts["unlinked_sources"]))

    def _carried_tags(self, source: str, pictures: np.ndarray, groups: np.ndarray) -> TagPairs:
        """The canonical tags a site carries for each picture (only those it has a name for)."""
        pairs = self.world.tags(pictures, groups)
        keep = np.array([self.sites[source]["keep"][name] for name in w.CATEGORIES])
        keep = keep[self.vocab.category[pairs.tags]]
        mask = uniform(self.seed, "keep." + source, pictures[pairs.rows], pairs.tags) < keep
        if source == "pixiv":
            mask &= self.vocab.pixiv_count[pairs.tags] > 0
        elif source == "zerochan":
            mask &= self.vocab.has_zerochan[pairs.tags]
        return pairs.where(mask)

    def _tag_string(self, source: str, rows: np.ndarray) -> pa.Array:
        pictures = self.plan.sources[source].picture[rows]
        pairs = self._carried_tags(source, pictures, self.plan.groups[pictures])
        return tag_strings(pairs, self.vocab.names)

    def _pixiv_link(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(illust id, valid) of danbooru rows that name a pixiv work (existing or dangling)."""
        kind, link = self.danbooru.link_kind[rows], self.danbooru.link_row[rows]
        real = np.isin(kind, (w.PIXIV_ID, w.PIXIV_URL))
        illust = np.where(real, self.pixiv.post_id[np.clip(link, 0, self.pixiv.n_posts - 1)], link)
        return illust, real | (kind == w.PIXIV_DANGLING)

    def _danbooru_sources(self, rows: np.ndarray) -> pa.Array:
        """Danbooru's `source` for the rows (also copied by gelbooru and yande.re mirrors): a
        pixiv URL of the linked (or dangling) work, else a source of its own."""
        danbooru, pixiv = self.danbooru, self.pixiv
        illust, to_pixiv = self._pixiv_link(rows)
        work = np.clip(danbooru.link_row[rows], 0, pixiv.n_posts - 1)
        page = danbooru.link_page[rows]
        real = np.isin(danbooru.link_kind[rows], (w.PIXIV_ID, w.PIXIV_URL))
        image = np.minimum(pixiv.lead_image[work] + page, len(pixiv.page) - 1)
        guessed = np.where(uniform(self.seed, "dangling.ext", rows) < 0.5, w.PNG, w.JPG)
        ext = lookup(EXTS, np.where(real, pixiv.ext[image], guessed))
        work_ms = np.where(real, pixiv.created_ms[work], danbooru.created_ms[rows] - 2 * DAY_MS)
        form = w.weighted(uniform(self.seed, "danbooru.pixiv.form", rows), PIXIV_FORM_WEIGHTS)
        own = self._own_sources("danbooru", rows, self.plan.groups[danbooru.picture[rows]])
        return pick(to_pixiv, own, pixiv_urls(form, illust, page, ext, work_ms))

    # -- the sites -------------------------------------------------------------------------------
    def danbooru_columns(self, rows: np.ndarray) -> dict[str, Any]:
        seed, plan, vocab = self.seed, self.danbooru, self.vocab
        pictures = plan.picture[rows]
        groups = self.plan.groups[pictures]
        uid, ext = plan.uid[rows], plan.ext[rows]
        width, height = plan.width[rows], plan.height[rows]
        has_file = uid >= 0
        file, no_file = np.maximum(uid, 0), NO_FILE_KEY + pictures
        md5 = pc.if_else(pa.array(has_file), self.md5.take(pa.array(file)), fake_md5(seed, no_file))
        estimated = estimated_size(seed, no_file, width, height, ext)
        size = np.where(has_file, self.size[file], estimated)
        created = plan.created_ms[rows]
        delay = uniform(seed, "danbooru.updated", rows) ** 2 * 900 * DAY_MS
        updated = np.minimum(created + delay.astype(np.int64), LAST_MS)
        age_years = (LAST_MS - created) / (365.0 * DAY_MS)
        appeal = self._appeal("danbooru", groups, rows, "danbooru.score")
        up = np.floor(appeal * (1.0 + 0.1 * np.minimum(age_years, 10))).astype(np.int64)
        down = integers(seed, "danbooru.down", 0, 4, rows) * (up > 2)
        favs = np.floor(up * (1.0 + 0.4 * uniform(seed, "danbooru.favs", rows))).astype(np.int64)
        illust, _ = self._pixiv_link(rows)
        carries_id = np.isin(plan.link_kind[rows], (w.PIXIV_ID, w.PIXIV_DANGLING))

        # Post-level meta tags danbooru derives from the file.
        pairs = self._carried_tags("danbooru", pictures, groups)
        unusual = np.where(has_file, self.plan.files.unusual[file], w.PLAIN)
        lowres = np.minimum(width, height) < SMALL_SIDE
        big = np.isin(pairs.tags, (vocab.meta["highres"], vocab.meta["absurdres"]))
        pairs = pairs.where(~(big & lowres[pairs.rows]))
        animated = np.isin(unusual, (w.ANIMATED_GIF, w.ANIMATED_WEBP))
        animated |= np.isin(ext, (w.MP4, w.WEBM, w.ZIP))
        derived = [
            (lowres, "lowres"),
            (animated, "animated"),
            (np.isin(ext, (w.MP4, w.WEBM)), "video"),
            (ext == w.ZIP, "ugoira"),
            (plan.link_kind[rows] == w.PIXIV_DANGLING, "bad_pixiv_id"),
        ]
        at = np.concatenate([np.flatnonzero(mask) for mask, _ in derived])
        ids = np.concatenate([np.full(int(mask.sum()), vocab.meta[name]) for mask, name in derived])
        pairs = pairs.plus(at, ids.astype(np.int32))
        columns = self._booru_columns("danbooru", rows) | {
            "md5": md5,
            "created_at": danbooru_time(created),
            "updated_at": danbooru_time(updated),
            "score": pa.array(up - down, pa.int64()),
            "up_score": pa.array(up, pa.int64()),
            "down_score": pa.array(-down, pa.int64()),
            "fav_count": pa.array(favs, pa.int64()),
            "image_width": pa.array(width, pa.int64()),
            "image_height": pa.array(height, pa.int64()),
            "file_ext": lookup(EXTS, ext),
            "file_size": pa.array(size, pa.int64()),
            "source": self._danbooru_sources(rows),
            "pixiv_id": pa.array(illust, pa.int64(), mask=~carries_id),
            "is_banned": pa.array(uniform(seed, "danbooru.banned", rows) < 0.005),
            "tag_string": tag_strings(pairs, vocab.names),
        }
        for code, category in enumerate(w.CATEGORIES):
            kept = pairs.where(vocab.category[pairs.tags] == code)
            columns["tag_string_" + category] = tag_strings(kept, vocab.names)
        return columns

    def gelbooru_columns(self, rows: np.ndarray) -> dict[str, Any]:
        """Flat tags in danbooru's vocabulary; mirrors cite the danbooru post or copy its source."""
        plan, texts = self.plan.sources["gelbooru"], self.texts
        groups = self.plan.groups[plan.picture[rows]]
        md5 = self.md5.take(pa.array(plan.uid[rows]))
        score = np.floor(self._appeal("gelbooru", groups, rows, "gelbooru.score"))
        kind, link = plan.link_kind[rows], plan.link_row[rows]
        source = pick(
            np.select([kind == w.DANBOORU_URL, kind == w.COPY_SOURCE, link >= 0], [1, 2, 3], 0),
            self._own_sources("gelbooru", rows, groups),
            fill(texts["danbooru_post"], id=as_str(self.danbooru.post_id[link])),
            self._danbooru_sources(link),
            blank(len(rows)),  # re-uploads have none
        )
        folder1, folder2 = pc.utf8_slice_codeunits(md5, 0, 2), pc.utf8_slice_codeunits(md5, 2, 4)
        ext = lookup(EXTS, plan.ext[rows])
        return self._booru_columns("gelbooru", rows) | {
            "md5": md5,
            "created_at": local_time(plan.created_ms[rows], -5, "%a %b %d %H:%M:%S -0500 %Y"),
            "score": pa.array(score.astype(np.int64) - 1, pa.int64()),
            "source": source,
            "tags": self._tag_string("gelbooru", rows),
            "file_url": fill(
                texts["gelbooru_file"], folder1=folder1, folder2=folder2, md5=md5, ext=ext
            ),
        }

    def yandere_columns(self, rows: np.ndarray) -> dict[str, Any]:
        plan = self.plan.sources["yandere"]
        groups = self.plan.groups[plan.picture[rows]]
        uid, link = plan.uid[rows], plan.link_row[rows]
        score = np.floor(self._appeal("yandere", groups, rows, "yandere.score"))
        own = self._own_sources("yandere", rows, groups)
        source = pick(plan.link_kind[rows] == w.COPY_SOURCE, own, self._danbooru_sources(link))
        uploaders = self.vocab.yandere_uploaders
        uploader = np.floor(uniform(self.seed, "yandere.author", rows) ** 2 * len(uploaders))
        return self._booru_columns("yandere", rows) | {
            "md5": self.md5.take(pa.array(uid)),
            "created_at": pa.array(plan.created_ms[rows] // 1000, pa.int64()),
            "score": pa.array(score.astype(np.int64), pa.int64()),
            "file_ext": lookup(EXTS, plan.ext[rows]),
            "file_size": pa.array(self.size[uid], pa.int64()),
            "source": source,
            "tags": self._tag_string("yandere", rows),
            "author": lookup(uploaders, uploader.astype(np.int64)),
        }

    def pixiv_columns(self, rows: np.ndarray) -> dict[str, Any]:
        """One row per work, described by its first page; nested user and tags."""
        seed, plan, vocab = self.seed, self.pixiv, self.vocab
        lead = plan.lead_image[rows]
        pictures = plan.picture[lead]
        groups = self.plan.groups[pictures]
        rating = self.world.rating(groups)
        r18, r18g = uniform(seed, "pixiv.r18", rows) < 0.5, uniform(seed, "pixiv.r18g", rows) < 0.03
        x_restrict = np.where((rating >= 3) | ((rating == 2) & r18), 1, 0)
        x_restrict = np.where((x_restrict == 1) & r18g, 2, x_restrict)
        sanity = np.where(x_restrict > 0, 6, np.array([2, 4, 6, 6])[rating])
        appeal = self._appeal("pixiv", groups, rows, "pixiv.bookmarks")
        bookmarks = np.floor(appeal).astype(np.int64)
        views = bookmarks * integers(seed, "pixiv.views", 6, 25, rows)
        views += integers(seed, "pixiv.views.base", 20, 400, rows)
        comments = bookmarks // integers(seed, "pixiv.comments", 40, 120, rows)
        ai_type = plan.extra["ai_type"][rows]
        pairs = self._carried_tags("pixiv", pictures, groups)
        ai_rows = np.flatnonzero(ai_type == PIXIV_AI_GENERATED)
        pairs = pairs.plus(ai_rows, np.full(len(ai_rows), vocab.meta["ai-generated"], np.int32))
        artists = self.world.artist(groups)
        accounts = vocab.accounts.take(pa.array(artists))
        caption = np.floor(uniform(seed, "pixiv.caption", rows) * 4).astype(np.int64)
        user_id = pa.array(PIXIV_USER_ID_BASE + artists * 7919, pa.int64())
        user_name = vocab.pixiv_user_names.take(pa.array(artists))
        user = pa.StructArray.from_arrays([user_id, user_name, accounts], ["id", "name", "account"])
        titles, captions = vocab.pixiv_titles, self.texts["pixiv_captions"]
        return {
            "id": pa.array(plan.post_id[rows], pa.int64()),
            "title": lookup(titles, integers(seed, "pixiv.title", 0, len(titles), rows)),
            "caption": pick(caption, *(fill(text, account=accounts) for text in captions)),
            "type": lookup(w.PIXIV_TYPES, plan.extra["type"][rows]),
            "create_date": local_time(plan.created_ms[rows], 9, "%Y-%m-%dT%H:%M:%S+09:00"),
            "page_count": pa.array(plan.extra["page_count"][rows], pa.int64()),
            "width": pa.array(plan.width[lead], pa.int64()),
            "height": pa.array(plan.height[lead], pa.int64()),
            "sanity_level": pa.array(sanity, pa.int64()),
            "x_restrict": pa.array(x_restrict, pa.int64()),
            "illust_ai_type": pa.array(ai_type, pa.int64()),
            "total_view": pa.array(views, pa.int64()),
            "total_bookmarks": pa.array(bookmarks, pa.int64()),
            "total_comments": pa.array(comments, pa.int64()),
            "user": user,
            "tags": self._pixiv_tags(pairs, pictures),
        }

    def _pixiv_tags(self, pairs: TagPairs, pictures: np.ndarray) -> pa.Array:
        """list<struct<name, translated_name>>: one of the tag's names, translated on a few."""
        vocab, picture = self.vocab, pictures[pairs.rows]
        which = integers(self.seed, "pixiv.name", 0, 1 << 20, picture, pairs.tags)
        which %= vocab.pixiv_count[pairs.tags]
        name = vocab.pixiv_names.take(pa.array(vocab.pixiv_start[pairs.tags] + which))
        translated = vocab.pixiv_translated.take(pa.array(pairs.tags))
        drop = uniform(self.seed, "pixiv.translated", picture, pairs.tags) >= TRANSLATED_SHARE
        translated = pc.if_else(pa.array(drop), pa.scalar(None, pa.string()), translated)
        structs = pa.StructArray.from_arrays([name, translated], names=["name", "translated_name"])
        return pa.ListArray.from_arrays(pa.array(pairs.offsets()), structs)

    def zerochan_columns(self, rows: np.ndarray) -> dict[str, Any]:
        """Title Case tags and a primary tag, no rating; pixiv URLs on some copies."""
        plan, pixiv, vocab = self.plan.sources["zerochan"], self.pixiv, self.vocab
        pictures = plan.picture[rows]
        groups = self.plan.groups[pictures]
        uid = plan.uid[rows]

        work, page = plan.link_row[rows], plan.link_page[rows]
        ext = lookup(EXTS, pixiv.ext[pixiv.lead_image[work] + page])
        form = np.zeros(len(rows), np.int8)  # the artworks page
        linked = pixiv_urls(form, pixiv.post_id[work], page, ext, pixiv.created_ms[work])
        own = self._own_sources("zerochan", rows, groups)
        pairs = self._carried_tags("zerochan", pictures, groups)
        # The primary tag: the first character if any, else the first copyright.
        category = vocab.category[pairs.tags]
        rank = np.select([category == w.CHARACTER, category == w.COPYRIGHT], [0, 1], 2)
        order = np.lexsort((pairs.tags, rank, pairs.rows))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pairs.rows[order][1:] != pairs.rows[order][:-1]
        primary = np.full(pairs.n_rows, vocab.original_id, dtype=np.int64)
        primary[pairs.rows[order][first]] = pairs.tags[order][first]
        return {
            "id": pa.array(plan.post_id[rows], pa.int64()),
            "width": pa.array(plan.width[rows], pa.int64()),
            "height": pa.array(plan.height[rows], pa.int64()),
            "size": pa.array(self.size[uid], pa.int64()),
            "hash": self.md5.take(pa.array(uid)),
            "source": pick(plan.link_kind[rows] == w.PIXIV_ARTWORK, own, linked),
            "primary": vocab.zerochan.take(pa.array(primary)),
            "tags": tag_lists(pairs, vocab.zerochan),
        }
