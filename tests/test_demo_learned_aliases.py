"""Learned tag aliases on a demo build: the foreign names the alias seed leaves out (the
ground truth's `foreign_names`) are learned from merged images, and none is learned wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from conftest import DbtProject
from demo_vocabulary import normalize_tag

MIN_LINKED_IMAGES = 3  # a name on fewer merged images cannot be learned at the default support


@dataclass
class AliasCoverage:
    """How many of the names on enough merged images are learned right, and any learned wrong."""

    eligible: list[tuple[str, str, str]]  # (source, alias, tag) on >= MIN_LINKED_IMAGES images
    covered: list[tuple[str, str, str]]
    wrong: list[tuple[str, str, str]]  # learned rows that are not a ground-truth name's tag

    @property
    def share(self) -> float:
        return len(self.covered) / len(self.eligible) if self.eligible else 1.0


def alias_coverage(lake: Path, database: Path) -> AliasCoverage:
    """Compare a build's int_tag_aliases_learned with the demo lake's foreign names."""
    truth = {
        (r["source"], normalize_tag(r["name"])): r["tag"]
        for r in pq.read_table(lake / "ground_truth/foreign_names.parquet").to_pylist()
    }
    with duckdb.connect(str(database), read_only=True) as con:
        learned = {
            (source, alias): tag
            for source, alias, tag in con.sql(
                "select source, alias, tag from intermediate.int_tag_aliases_learned"
            ).fetchall()
        }
        linked = dict(
            con.sql(
                """
                with members as (
                    select m.image_id, m.source, p.tags
                    from intermediate.int_image_members as m
                    inner join intermediate.int_posts_kept as p on m.image_key = p.image_key
                ),
                linked as (
                    select distinct f.image_id, f.source, unnest(f.tags) as alias
                    from members as f
                    where f.image_id in (
                        select image_id from members where source = 'danbooru'
                    )
                )
                select source || ' ' || alias, count(*) from linked group by all
                """
            ).fetchall()
        )
    eligible = sorted(
        (source, alias, tag)
        for (source, alias), tag in truth.items()
        if linked.get(f"{source} {alias}", 0) >= MIN_LINKED_IMAGES
    )
    covered = [row for row in eligible if learned.get(row[:2]) == row[2]]
    wrong = sorted((*key, tag) for key, tag in learned.items() if truth.get(key) != tag)
    return AliasCoverage(eligible, covered, wrong)


def test_learned_aliases_cover_the_unseeded_names(demo_build: DbtProject) -> None:
    coverage = alias_coverage(Path(demo_build.lake), demo_build.database)
    assert not coverage.wrong, coverage.wrong
    assert coverage.eligible, "no foreign name is on enough merged images to be learned"
    assert coverage.share >= 0.9, coverage


def test_a_learned_character_is_a_character_in_the_merge(demo_build: DbtProject) -> None:
    """The merge sees the danbooru tag, not the foreign name, and the tag dictionary files a
    learned character as a character wherever an image keeps it."""
    learned = demo_build.query(
        "select learned.alias, learned.tag, dictionary.category "
        "from intermediate.int_tag_aliases_learned as learned "
        "left join intermediate.int_tag_dictionary as dictionary on learned.tag = dictionary.tag"
    )
    characters = {tag for _, tag, category in learned if category == "character"}
    kept = demo_build.query(
        "select kept.tag, kept.category from "
        "(select unnest(tag_confidences) as kept from intermediate.int_image_tags) as image_tags"
    )
    categories = {category for tag, category in kept if tag in characters}
    assert categories == {"character"}
    assert not {alias for alias, _, _ in learned} & {tag for tag, _ in kept}
