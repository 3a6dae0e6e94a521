"""The ground truth the demo lake is drawn from: random streams, the vocabulary, the pictures.

In: a seed, `vocabulary.json` and `parameters.json`. Out: `Vocabulary` (tags sorted by name, so
ids order like danbooru's `tag_string`, as numpy lookup arrays) and `World`, whose picture and
group attributes are pure functions of (seed, id): random numbers hash (seed, stream, keys) with
splitmix64, so no value depends on which slice asks for it. A group is the pictures of one
authorship and subject (the pages of a pixiv work). The integer codes name the plan's arrays.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa

SOURCES = ("danbooru", "gelbooru", "yandere", "pixiv", "zerochan")
SHARD_SOURCES = ("gelbooru", "pixiv", "zerochan")  # the others store one file per image
# How an image's bytes relate to its picture's first rendering (ground truth `transform`).
TRANSFORMS = ("original", "same_file", "resized", "reencoded", "converted", "cropped")
TRANSFORMS += ("watermarked",)
ORIGINAL, SAME_FILE, RESIZED, REENCODED, CONVERTED, CROPPED, WATERMARKED = range(7)
# Pictures drawn from another picture's scene with one region redrawn (ground truth `hard_case`;
# their first renderings are `transform` `variant` or `page`): a booru child post, or a later
# page of a pixiv work.
HARD_CASES = (None, "variant", "page")
NOT_HARD, VARIANT, PAGE = range(3)
# File extensions; the last three are danbooru's non-image post types (no image is stored).
EXTS = ("jpg", "jpeg", "png", "webp", "gif", "mp4", "webm", "zip")
JPG, JPEG, PNG, WEBP, GIF, MP4, WEBM, ZIP = range(8)
IMAGE_EXTS = (JPG, JPEG, PNG, WEBP, GIF)
# Valid but unusual encodings, and their extensions: the pipeline must embed these images.
PLAIN, CMYK_JPEG, GRAY16_PNG, PALETTE_PNG, RGBA_PNG, ANIMATED_GIF, ANIMATED_WEBP = range(7)
UNUSUAL_EXT = dict(zip(range(CMYK_JPEG, 7), (JPG, PNG, PNG, PNG, GIF, WEBP), strict=True))
# Hostile stored bytes for a post's image, and hostile cases that belong to no post.
HOSTILE = ("harmless", "corrupt", "zero_byte", "not_image", "huge_dimensions", "missing_image")
HOSTILE += ("truncated_shard",)  # a member cut off by an interrupted shard upload
HARMLESS, CORRUPT, ZERO_BYTE, NOT_IMAGE, HUGE_DIMENSIONS, MISSING_IMAGE, TRUNCATED_MEMBER = range(7)
ORPHAN, PATH_TRAVERSAL, ABSOLUTE_PATH = "orphan", "path_traversal", "absolute_path"
# What a post's `source` (and danbooru's `pixiv_id`) points at.
NO_LINK, PIXIV_ID, PIXIV_URL, PIXIV_DANGLING, DANBOORU_URL, COPY_SOURCE, REUPLOAD = range(7)
PIXIV_ARTWORK = 7  # a zerochan copy's link to the pixiv work it copies
PIXIV_TYPES = ("illust", "manga", "ugoira")
ILLUST, MANGA, UGOIRA = range(3)
CATEGORIES = ("general", "character", "copyright", "artist", "meta")
GENERAL, CHARACTER, COPYRIGHT, ARTIST, META = range(5)

DAY_MS = 86_400_000
EPOCH_START_MS = 1_167_609_600_000  # 2007-01-01
EPOCH_END_MS = 1_748_736_000_000  # 2025-06-01
WEIGHT_TABLE = 1 << 16

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_KEY_OFFSET = np.uint64(0x632BE59BD9B4E019)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray, tmp: np.ndarray) -> None:
    """The splitmix64 finalizer, in place (wrapping uint64 arithmetic; `tmp` is scratch)."""
    for shift, multiplier in ((30, _M1), (27, _M2)):
        np.right_shift(x, np.uint64(shift), out=tmp)
        x ^= tmp
        x *= multiplier
    np.right_shift(x, np.uint64(31), out=tmp)
    x ^= tmp


def hash64(seed: int, stream: str, *keys: np.ndarray | int) -> np.ndarray:
    """64 random bits per element of the broadcast keys, for one named stream."""
    start = (seed & 0xFFFFFFFFFFFFFFFF) ^ (zlib.crc32(stream.encode()) << 32)
    arrays = [np.asarray(key) for key in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
    h = np.full(shape or (1,), start, dtype=np.uint64)
    tmp = np.empty_like(h)
    with np.errstate(over="ignore"):
        h += _GOLDEN
        _mix(h, tmp)
        for key in arrays:
            np.copyto(tmp, key, casting="unsafe")
            tmp *= _GOLDEN
            tmp += _KEY_OFFSET
            h ^= tmp
            _mix(h, tmp)
    return h


def uniform(seed: int, stream: str, *keys: np.ndarray | int) -> np.ndarray:
    """Floats in [0, 1)."""
    return (hash64(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) * (2.0**-53)


def normal(seed: int, stream: str, *keys: np.ndarray | int) -> np.ndarray:
    """Standard normal floats (Box-Muller over two derived streams)."""
    u1 = uniform(seed, stream + "#1", *keys)
    u2 = uniform(seed, stream + "#2", *keys)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def integers(seed: int, stream: str, low: int, high: int, *keys: np.ndarray | int) -> np.ndarray:
    """Integers in [low, high)."""
    return low + np.floor(uniform(seed, stream, *keys) * (high - low)).astype(np.int64)


def weighted(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Indices into `weights` drawn from uniforms `u`, through an inverse-CDF table of
    `WEIGHT_TABLE` cells (weights honoured to about 1/65536; far faster than a search per draw)."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    cells = (np.arange(WEIGHT_TABLE, dtype=np.float64) + 0.5) / WEIGHT_TABLE
    table = np.minimum(np.searchsorted(cdf / cdf[-1], cells, side="right"), len(cdf) - 1)
    return table.astype(np.int32)[(np.asarray(u) * WEIGHT_TABLE).astype(np.int64)].astype(np.int64)


@dataclass(frozen=True)
class Tag:
    """A canonical tag, its draw weight, and the names pixiv and zerochan carry it under."""

    name: str
    category: int
    weight: float
    pixiv: tuple[str, ...]
    translated: str | None
    zerochan: str | None
    copyright: str | None = None
    seeded: bool = True  # False: the alias seed leaves out its foreign names


def _tags(data: dict[str, Any]) -> list[Tag]:
    def tag(e: dict[str, Any], category: int, weight: float) -> Tag:
        names = tuple(e.get("pixiv", ())), e.get("translated"), e["zerochan"]
        weight = e.get("weight", weight)
        seeded = e.get("seeded", True)
        return Tag(e["tag"], category, weight, *names, copyright=e.get("copyright"), seeded=seeded)

    tags = [tag(e, GENERAL, 0.0) for e in data["count"]]
    weights = parameters()["pictures"]
    tags += [tag(e, GENERAL, weights["kaomoji_weight"]) for e in data["kaomoji"]]
    for name, offset in weights["tag_rank_offset"].items():
        category = CATEGORIES.index(name)
        tags += [tag(e, category, 1.0 / (rank + offset)) for rank, e in enumerate(data[name])]
    tags += [tag(e, ARTIST, 0.0) for e in data["artist"]]
    tags += [tag(e, META, 0.0) for e in data["meta"]]
    if len({t.name for t in tags}) != len(tags):
        raise ValueError("duplicate canonical tag in the demo vocabulary")
    return sorted(tags, key=lambda t: t.name)


class Vocabulary:
    """The demo's tags as lookup arrays indexed by tag id, and its artists and word lists."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.tags = tags = _tags(data)
        if len(tags) >= 1024:
            raise ValueError("tag ids must fit in 10 bits")
        index = {t.name: i for i, t in enumerate(tags)}
        self.names = pa.array([t.name for t in tags], pa.string())
        self.category = np.array([t.category for t in tags], dtype=np.int8)
        weights = np.array([t.weight for t in tags])

        def ids(category: int, keep: np.ndarray | bool = True) -> np.ndarray:
            return np.flatnonzero((self.category == category) & keep).astype(np.int32)

        self.original_id = index["original"]
        self.general_ids, self.character_ids = ids(GENERAL, weights > 0), ids(CHARACTER)
        self.copyright_ids = ids(COPYRIGHT, np.arange(len(tags)) != self.original_id)
        self.general_weights = weights[self.general_ids]
        self.character_weights = weights[self.character_ids]
        self.copyright_weights = weights[self.copyright_ids]
        copyrights = [index[tags[i].copyright] for i in self.character_ids]
        self.character_copyright = np.array(copyrights, dtype=np.int32)
        self.artists = artists = data["artist"]
        self.artist_ids = np.array([index[a["tag"]] for a in artists], dtype=np.int32)
        self.artist_weights = 1.0 / (np.arange(len(artists)) + 3.0)
        self.accounts = pa.array([a["pixiv_account"] for a in artists], pa.string())
        self.pixiv_user_names = pa.array([a["pixiv_name"] for a in artists], pa.string())
        combos = [c["tags"] for c in data["count_combos"]]
        self.combos = np.full((len(combos), max(1, *map(len, combos))), -1, np.int32)
        for i, combo in enumerate(combos):
            self.combos[i, : len(combo)] = [index[t] for t in combo]
        self.combo_weights = np.array([c["weight"] for c in data["count_combos"]])
        self.no_humans_combo = combos.index(["no_humans"])
        self.meta = {t.name: index[t.name] for t in tags if t.category == META}
        # Foreign names per tag id; a site carries only the tags it has a name for.
        self.pixiv_count = np.array([len(t.pixiv) for t in tags], dtype=np.int64)
        self.pixiv_start = np.concatenate([[0], np.cumsum(self.pixiv_count)[:-1]]).astype(np.int64)
        self.pixiv_names = pa.array([name for t in tags for name in t.pixiv], pa.string())
        self.pixiv_translated = pa.array([t.translated for t in tags], pa.string())
        self.zerochan = pa.array([t.zerochan for t in tags], pa.string())
        self.has_zerochan = np.array([t.zerochan is not None for t in tags])
        self.unseeded_names = [
            (source, name, t.name)
            for t in tags
            if not t.seeded
            for source, name in [("pixiv", n) for n in t.pixiv] + [("zerochan", t.zerochan)]
            if name is not None
        ]
        self.yandere_uploaders, self.pixiv_titles = data["yandere_uploaders"], data["pixiv_titles"]


def _data(name: str) -> Any:
    return json.loads(resources.files("dataproc.demo").joinpath(name).read_text("utf-8"))


def load_vocabulary() -> Vocabulary:
    """The vocabulary shipped beside this module (`vocabulary.json`)."""
    return Vocabulary(_data("vocabulary.json"))


@cache
def parameters() -> dict[str, Any]:
    """The demo's proportions shipped beside this module (`parameters.json`)."""
    return _data("parameters.json")


@dataclass(frozen=True)
class TagPairs:
    """A ragged tag list per row, as parallel (row, tag id) arrays sorted by row then tag."""

    rows: np.ndarray
    tags: np.ndarray
    n_rows: int

    @classmethod
    def of(cls, rows: np.ndarray, tags: np.ndarray, n_rows: int) -> TagPairs:
        """Sorted, de-duplicated pairs (tag ids fit in 10 bits)."""
        key = np.unique(rows.astype(np.int64) * 1024 + tags.astype(np.int64))
        return cls((key >> 10).astype(np.int64), (key & 1023).astype(np.int32), n_rows)

    def offsets(self) -> np.ndarray:
        """List offsets (int32) for `n_rows` lists."""
        counts = np.bincount(self.rows, minlength=self.n_rows)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)

    def where(self, mask: np.ndarray) -> TagPairs:
        return TagPairs(self.rows[mask], self.tags[mask], self.n_rows)

    def plus(self, rows: np.ndarray, tags: np.ndarray) -> TagPairs:
        rows, tags = np.concatenate([self.rows, rows]), np.concatenate([self.tags, tags])
        return TagPairs.of(rows, tags, self.n_rows)


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For lists of the given lengths: each element's row and its position in the row."""
    rows = np.repeat(np.arange(len(counts)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return rows, np.arange(len(rows)) - np.repeat(starts, counts)


@dataclass(frozen=True)
class World:
    """Picture and group attributes for one seed."""

    seed: int
    vocab: Vocabulary

    def rating(self, groups: np.ndarray) -> np.ndarray:
        """Rating code 0..3 (g/s/q/e) of the group."""
        weights = parameters()["pictures"]["rating_weights"]
        return weighted(uniform(self.seed, "rating", groups), weights).astype(np.int8)

    def quality(self, groups: np.ndarray) -> np.ndarray:
        """A standard-normal appeal score that drives site scores and the aesthetic metric."""
        return normal(self.seed, "quality", groups)

    def created_ms(self, groups: np.ndarray) -> np.ndarray:
        """When the group was first published (unix ms), skewed towards recent years."""
        u = uniform(self.seed, "created", groups) ** 0.6
        return EPOCH_START_MS + (u * (EPOCH_END_MS - EPOCH_START_MS)).astype(np.int64)

    def artist(self, groups: np.ndarray) -> np.ndarray:
        """Index into the vocabulary's artists (every group has one, tagged or not)."""
        return weighted(uniform(self.seed, "artist", groups), self.vocab.artist_weights)

    def size(self, pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Native (width, height): short side 256..512 (a few small ones), varied aspects."""
        seed, p = self.seed, parameters()["pictures"]
        short = np.where(
            uniform(seed, "size.small", pictures) < p["small_share"],
            integers(seed, "size.short.small", 64, 240, pictures),
            integers(seed, "size.short", 256, 513, pictures),
        )
        aspect = weighted(uniform(seed, "size.aspect", pictures), p["aspect_weights"])
        aspect = np.array(p["aspects"])[aspect]
        long = np.round(short * aspect).astype(np.int64)
        portrait = uniform(seed, "size.portrait", pictures) < 0.6
        return (
            np.where(portrait, short, long).astype(np.int32),
            np.where(portrait, long, short).astype(np.int32),
        )

    def tags(self, pictures: np.ndarray, groups: np.ndarray) -> TagPairs:
        """Canonical tags of each picture: counts, general, characters, copyrights, artist, meta;
        characters, copyrights and the artist belong to the group, the rest to the picture."""
        seed, v, p = self.seed, self.vocab, parameters()["pictures"]
        every = np.arange(len(pictures))
        parts: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, tag ids), in any order
        combo = weighted(uniform(seed, "combo", pictures), v.combo_weights)
        for column in v.combos.T:
            ids = column[combo]
            parts.append((every[ids >= 0], ids[ids >= 0]))
        at, j = _ragged(integers(seed, "general.n", 4, 26, pictures))
        general = weighted(uniform(seed, "general", pictures[at], j), v.general_weights)
        parts.append((at, v.general_ids[general]))
        n_chars = weighted(uniform(seed, "characters.n", groups), p["character_count_weights"])
        n_chars = np.where(combo == v.no_humans_combo, 0, n_chars)
        at, j = _ragged(n_chars)
        chars = weighted(uniform(seed, "characters", groups[at], j), v.character_weights)
        parts += [(at, v.character_ids[chars]), (at, v.character_copyright[chars])]
        lone = np.flatnonzero(n_chars == 0)
        original = uniform(seed, "copyright.original", groups[lone]) < 0.6
        other = weighted(uniform(seed, "copyright", groups[lone]), v.copyright_weights)
        parts.append((lone, np.where(original, v.original_id, v.copyright_ids[other])))
        tagged = uniform(seed, "artist.tagged", groups) < p["has_artist_share"]
        parts.append((every[tagged], v.artist_ids[self.artist(groups[tagged])]))
        hits = {"artist_request": ~tagged}
        for name, rate in p["meta_rates"].items():
            hits[name] = uniform(seed, "meta." + name, pictures) < rate
        parts += [(every[hit], np.full(int(hit.sum()), v.meta[name])) for name, hit in hits.items()]
        rows, tags = (np.concatenate(column) for column in zip(*parts, strict=True))
        return TagPairs.of(rows, tags, len(pictures))
