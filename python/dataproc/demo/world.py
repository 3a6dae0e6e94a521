"""The ground-truth world: what each picture is (tags, rating, artist, date, size, quality).

Attributes are pure functions of (seed, picture id) or (seed, group id), so any subset of
pictures can be described on demand. A group is a set of pictures that share authorship and
subject: the pages of one pixiv work. For most pictures the group is the picture itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dataproc.demo.hashing import integers, normal, sorted_unique, uniform, weighted
from dataproc.demo.vocabulary import (
    CATEGORIES,
    CHARACTER,
    COPYRIGHT,
    GENERAL,
    META,
    Vocabulary,
)

DAY_MS = 86_400_000
EPOCH_START_MS = 1_167_609_600_000  # 2007-01-01
EPOCH_END_MS = 1_748_736_000_000  # 2025-06-01
RATING_WEIGHTS = (0.42, 0.30, 0.15, 0.13)
CHARACTER_COUNT_WEIGHTS = (0.35, 0.45, 0.15, 0.05)
ASPECTS = np.array([1.0, 1.25, 1.333, 1.414, 1.5, 1.778, 2.0])
ASPECT_WEIGHTS = np.array([0.16, 0.12, 0.2, 0.22, 0.12, 0.14, 0.04])
SMALL_SHARE = 0.05
# Picture-level meta tags and how often they apply.
META_RATES = {
    "highres": 0.5,
    "absurdres": 0.12,
    "commentary_request": 0.25,
    "commentary": 0.05,
    "translated": 0.04,
    "translation_request": 0.02,
    "bad_id": 0.02,
    "official_art": 0.02,
}
HAS_ARTIST_SHARE = 0.92


@dataclass(frozen=True)
class TagPairs:
    """A ragged tag list per row, as parallel (row, tag id) arrays sorted by row then tag."""

    rows: np.ndarray
    tags: np.ndarray
    n_rows: int

    def offsets(self) -> np.ndarray:
        """List offsets (int32) for `n_rows` lists."""
        counts = np.bincount(self.rows, minlength=self.n_rows)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)

    def where(self, mask: np.ndarray) -> TagPairs:
        return TagPairs(self.rows[mask], self.tags[mask], self.n_rows)

    def plus(self, rows: np.ndarray, tags: np.ndarray) -> TagPairs:
        """Add pairs, keeping the sort order and dropping duplicates."""
        return make_pairs(
            np.concatenate([self.rows, rows]), np.concatenate([self.tags, tags]), self.n_rows
        )


def make_pairs(rows: np.ndarray, tags: np.ndarray, n_rows: int) -> TagPairs:
    """Sorted, de-duplicated pairs."""
    key = sorted_unique(rows.astype(np.int64) * 1024 + tags.astype(np.int64))
    return TagPairs((key >> 10).astype(np.int64), (key & 1023).astype(np.int32), n_rows)


@dataclass(frozen=True)
class TagTables:
    """The vocabulary as numpy lookup arrays indexed by tag id."""

    names: pa.StringArray
    category: np.ndarray
    general_ids: np.ndarray
    general_weights: np.ndarray
    character_ids: np.ndarray
    character_weights: np.ndarray
    character_copyright: np.ndarray
    copyright_ids: np.ndarray
    copyright_weights: np.ndarray
    original_id: int
    artist_ids: np.ndarray
    artist_weights: np.ndarray
    combos: np.ndarray
    combo_weights: np.ndarray
    no_humans_combo: int
    meta: dict[str, int]

    @classmethod
    def from_vocabulary(cls, vocab: Vocabulary) -> TagTables:
        index = vocab.index()
        if len(vocab.tags) >= 1024:
            raise ValueError("tag ids must fit in 10 bits")
        category = np.array([CATEGORIES.index(t.category) for t in vocab.tags], dtype=np.int8)
        weights = np.array([t.weight for t in vocab.tags])

        def ids_of(cat: str) -> np.ndarray:
            return np.array(vocab.by_category(cat), dtype=np.int32)

        general = ids_of(GENERAL)
        general = general[weights[general] > 0]
        characters = ids_of(CHARACTER)
        copyrights = np.array(
            [i for i in ids_of(COPYRIGHT) if vocab.tags[i].name != "original"], dtype=np.int32
        )
        artists = np.array([index[a.tag] for a in vocab.artists], dtype=np.int32)
        width = max(len(tags) for tags, _ in vocab.count_combos)
        combos = np.full((len(vocab.count_combos), max(width, 1)), -1, dtype=np.int32)
        for i, (tags, _) in enumerate(vocab.count_combos):
            combos[i, : len(tags)] = [index[t] for t in tags]
        no_humans = next(
            i for i, (tags, _) in enumerate(vocab.count_combos) if tags == ("no_humans",)
        )
        return cls(
            names=pa.array([t.name for t in vocab.tags], pa.string()),
            category=category,
            general_ids=general,
            general_weights=weights[general],
            character_ids=characters,
            character_weights=weights[characters],
            character_copyright=np.array(
                [index[vocab.tags[i].copyright] for i in characters], dtype=np.int32
            ),
            copyright_ids=copyrights,
            copyright_weights=weights[copyrights],
            original_id=index["original"],
            artist_ids=artists,
            artist_weights=1.0 / (np.arange(len(artists)) + 3.0),
            combos=combos,
            combo_weights=np.array([w for _, w in vocab.count_combos]),
            no_humans_combo=no_humans,
            meta={t.name: index[t.name] for t in vocab.tags if t.category == META},
        )


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For lists of the given lengths: each element's row and its position in the row."""
    rows = np.repeat(np.arange(len(counts)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return rows, np.arange(len(rows)) - np.repeat(starts, counts)


@dataclass(frozen=True)
class World:
    """Picture attributes for one seed."""

    seed: int
    tables: TagTables

    def rating(self, groups: np.ndarray) -> np.ndarray:
        """Rating code 0..3 (g/s/q/e) of the group."""
        return weighted(uniform(self.seed, "rating", groups), np.array(RATING_WEIGHTS)).astype(
            np.int8
        )

    def quality(self, groups: np.ndarray) -> np.ndarray:
        """A standard-normal appeal score that drives site scores and the aesthetic metric."""
        return normal(self.seed, "quality", groups)

    def created_ms(self, groups: np.ndarray) -> np.ndarray:
        """When the group was first published (unix ms), skewed towards recent years."""
        u = uniform(self.seed, "created", groups) ** 0.6
        return EPOCH_START_MS + (u * (EPOCH_END_MS - EPOCH_START_MS)).astype(np.int64)

    def artist(self, groups: np.ndarray) -> np.ndarray:
        """Index into the vocabulary's artists (every group has one, tagged or not)."""
        return weighted(uniform(self.seed, "artist", groups), self.tables.artist_weights)

    def has_artist_tag(self, groups: np.ndarray) -> np.ndarray:
        return uniform(self.seed, "artist.tagged", groups) < HAS_ARTIST_SHARE

    def size(self, pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Native (width, height): short side 256..512 (a few small ones), varied aspects."""
        small = uniform(self.seed, "size.small", pictures) < SMALL_SHARE
        short = np.where(
            small,
            integers(self.seed, "size.short.small", 64, 240, pictures),
            integers(self.seed, "size.short", 256, 513, pictures),
        )
        aspect = ASPECTS[weighted(uniform(self.seed, "size.aspect", pictures), ASPECT_WEIGHTS)]
        long = np.round(short * aspect).astype(np.int64)
        portrait = uniform(self.seed, "size.portrait", pictures) < 0.6
        width = np.where(portrait, short, long).astype(np.int32)
        height = np.where(portrait, long, short).astype(np.int32)
        return width, height

    def tags(self, pictures: np.ndarray, groups: np.ndarray) -> TagPairs:
        """Canonical tags of each picture: counts, general, characters, copyrights, artist, meta.

        Characters, copyrights and the artist belong to the group; the rest to the picture.
        """
        t = self.tables
        n = len(pictures)
        rows_all = np.arange(n)
        parts_rows: list[np.ndarray] = []
        parts_tags: list[np.ndarray] = []

        combo = weighted(uniform(self.seed, "combo", pictures), t.combo_weights)
        for col in range(t.combos.shape[1]):
            tag = t.combos[combo, col]
            keep = tag >= 0
            parts_rows.append(rows_all[keep])
            parts_tags.append(tag[keep])

        n_general = integers(self.seed, "general.n", 4, 26, pictures)
        rows, j = _ragged(n_general)
        u = uniform(self.seed, "general", pictures[rows], j)
        parts_rows.append(rows)
        parts_tags.append(t.general_ids[weighted(u, t.general_weights)])

        n_chars = weighted(
            uniform(self.seed, "characters.n", groups), np.array(CHARACTER_COUNT_WEIGHTS)
        )
        n_chars = np.where(combo == t.no_humans_combo, 0, n_chars)
        rows, j = _ragged(n_chars)
        chars = weighted(uniform(self.seed, "characters", groups[rows], j), t.character_weights)
        parts_rows += [rows, rows]
        parts_tags += [t.character_ids[chars], t.character_copyright[chars]]

        lone = np.flatnonzero(n_chars == 0)
        original = uniform(self.seed, "copyright.original", groups[lone]) < 0.6
        other = t.copyright_ids[
            weighted(uniform(self.seed, "copyright", groups[lone]), t.copyright_weights)
        ]
        parts_rows.append(lone)
        parts_tags.append(np.where(original, t.original_id, other).astype(np.int32))

        tagged = self.has_artist_tag(groups)
        parts_rows += [rows_all[tagged], rows_all[~tagged]]
        parts_tags += [
            t.artist_ids[self.artist(groups[tagged])],
            np.full(int((~tagged).sum()), t.meta["artist_request"], dtype=np.int32),
        ]

        for name, rate in META_RATES.items():
            hit = uniform(self.seed, "meta." + name, pictures) < rate
            parts_rows.append(rows_all[hit])
            parts_tags.append(np.full(int(hit.sum()), t.meta[name], dtype=np.int32))

        return make_pairs(np.concatenate(parts_rows), np.concatenate(parts_tags), n)
