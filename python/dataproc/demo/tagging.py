"""Which of a picture's canonical tags each site carries, and under which name.

Danbooru carries everything; the other sites carry fewer general tags (gelbooru somewhat fewer,
pixiv and zerochan few), and only tags for which they have a name. Pixiv names are Japanese where
the vocabulary has one (picked per picture among alternatives), with an English translated name
on 60% of those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.demo.hashing import integers, uniform
from dataproc.demo.vocabulary import CATEGORIES, Vocabulary
from dataproc.demo.world import TagPairs, World

# Probability that a site carries a canonical tag, by category (CATEGORIES order:
# general, character, copyright, artist, meta).
KEEP = {
    "danbooru": (1.0, 1.0, 1.0, 1.0, 1.0),
    "gelbooru": (0.8, 1.0, 1.0, 0.9, 0.6),
    "yandere": (0.5, 0.95, 1.0, 0.85, 0.15),
    "pixiv": (0.3, 1.0, 1.0, 0.0, 0.0),
    "zerochan": (0.35, 1.0, 1.0, 0.5, 0.0),
}
TRANSLATED_SHARE = 0.6


@dataclass(frozen=True)
class ForeignNames:
    """Per tag id: pixiv names (flattened), the translated name, and the zerochan name."""

    pixiv_start: np.ndarray
    pixiv_count: np.ndarray
    pixiv_flat: pa.Array
    pixiv_translated: pa.Array
    zerochan: pa.Array

    @classmethod
    def from_vocabulary(cls, vocab: Vocabulary) -> ForeignNames:
        counts = np.array([len(t.pixiv_names) for t in vocab.tags], dtype=np.int64)
        flat = [name for t in vocab.tags for name in t.pixiv_names]
        return cls(
            pixiv_start=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            pixiv_count=counts,
            pixiv_flat=pa.array(flat, pa.string()),
            pixiv_translated=pa.array([t.pixiv_translated for t in vocab.tags], pa.string()),
            zerochan=pa.array([t.zerochan_name for t in vocab.tags], pa.string()),
        )

    def has_pixiv(self) -> np.ndarray:
        return self.pixiv_count > 0

    def has_zerochan(self) -> np.ndarray:
        return ~np.asarray(pc.is_null(self.zerochan).to_numpy(zero_copy_only=False))


def carried_tags(
    world: World, names: ForeignNames, source: str, pictures: np.ndarray, groups: np.ndarray
) -> TagPairs:
    """The canonical tags a site carries for each picture."""
    pairs = world.tags(pictures, groups)
    keep = np.array(KEEP[source])[world.tables.category[pairs.tags]]
    u = uniform(world.seed, "keep." + source, pictures[pairs.rows], pairs.tags)
    mask = u < keep
    if source == "pixiv":
        mask &= names.has_pixiv()[pairs.tags]
    elif source == "zerochan":
        mask &= names.has_zerochan()[pairs.tags]
    return pairs.where(mask)


def pixiv_tag_structs(
    world: World, names: ForeignNames, pairs: TagPairs, pictures: np.ndarray
) -> pa.Array:
    """list<struct<name, translated_name>> per row for pixiv."""
    pic = pictures[pairs.rows]
    which = integers(world.seed, "pixiv.name", 0, 1 << 20, pic, pairs.tags)
    which = which % names.pixiv_count[pairs.tags]
    name = names.pixiv_flat.take(pa.array(names.pixiv_start[pairs.tags] + which))
    translated = names.pixiv_translated.take(pa.array(pairs.tags))
    drop = uniform(world.seed, "pixiv.translated", pic, pairs.tags) >= TRANSLATED_SHARE
    translated = pc.if_else(pa.array(drop), pa.scalar(None, pa.string()), translated)
    structs = pa.StructArray.from_arrays([name, translated], names=["name", "translated_name"])
    return pa.ListArray.from_arrays(pa.array(pairs.offsets()), structs)


def category_of(world: World, pairs: TagPairs, category: str) -> TagPairs:
    return pairs.where(world.tables.category[pairs.tags] == CATEGORIES.index(category))
