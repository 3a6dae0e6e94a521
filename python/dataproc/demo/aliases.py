"""Derive `seeds/tag_aliases.csv` from the demo vocabulary.

Staging normalizes a raw tag (lowercase, trimmed, whitespace runs to `_`) and looks the result up
in the seed's `alias` column. Every foreign name the demo emits either normalizes to its canonical
tag already or needs one alias row; this module lists exactly those rows, so the seed and the
generator cannot drift apart. Run `python -m dataproc.demo.aliases [path]` to rewrite the seed.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from dataproc.demo.vocabulary import Vocabulary, build_vocabulary, normalize_tag

PIXIV = "pixiv"
ZEROCHAN = "zerochan"
DEFAULT_SEED_PATH = Path("seeds/tag_aliases.csv")


@dataclass(frozen=True, order=True)
class AliasRow:
    """One seed row: a normalized foreign form and the canonical tag it stands for."""

    alias: str
    tag: str
    origin: str


def foreign_names(vocab: Vocabulary) -> list[tuple[str, str, str]]:
    """Every (raw foreign name, canonical tag, origin) the demo generator can emit."""
    names = []
    for tag in vocab.tags:
        for name in tag.pixiv_names:
            names.append((name, tag.name, PIXIV))
        if tag.pixiv_names and tag.pixiv_translated:
            names.append((tag.pixiv_translated, tag.name, PIXIV))
        if tag.zerochan_name:
            names.append((tag.zerochan_name, tag.name, ZEROCHAN))
    return names


def alias_rows(vocab: Vocabulary) -> list[AliasRow]:
    """Sorted alias rows; fails if a foreign name would resolve to the wrong tag."""
    canonical = {tag.name for tag in vocab.tags}
    rows: dict[str, AliasRow] = {}
    for name, tag, origin in foreign_names(vocab):
        alias = normalize_tag(name)
        if alias in canonical:
            if alias != tag:
                raise ValueError(
                    f"{origin} name {name!r} normalizes to the tag {alias!r}, not {tag!r}"
                )
            continue
        row = AliasRow(alias, tag, origin)
        previous = rows.setdefault(alias, row)
        if previous != row:
            raise ValueError(f"alias {alias!r} is claimed twice: {previous} and {row}")
    return sorted(rows.values())


def render_csv(rows: list[AliasRow]) -> str:
    """The seed file's text: header `alias,tag,origin`, one row per alias, `\\n` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["alias", "tag", "origin"])
    writer.writerows((row.alias, row.tag, row.origin) for row in rows)
    return out.getvalue()


def write_seed(path: Path = DEFAULT_SEED_PATH) -> Path:
    """Rewrite the alias seed from the vocabulary."""
    path.write_text(render_csv(alias_rows(build_vocabulary())), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_seed(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SEED_PATH))
