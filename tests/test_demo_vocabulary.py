"""The tag vocabulary, its foreign names, and the alias seed derived from them."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from dataproc.demo.aliases import alias_rows, foreign_names, render_csv
from dataproc.demo.vocabulary import build_vocabulary, normalize_tag

SEED = Path(__file__).resolve().parents[1] / "seeds" / "tag_aliases.csv"


def test_vocabulary_has_the_expected_shape() -> None:
    vocab = build_vocabulary()
    names = [t.name for t in vocab.tags]
    assert names == sorted(names)
    counts = Counter(t.category for t in vocab.tags)
    assert counts["general"] >= 150
    assert counts["character"] >= 40
    assert counts["copyright"] >= 15
    assert counts["artist"] >= 60
    assert counts["meta"] >= 10
    index = vocab.index()
    for tag in (
        "1girl",
        "2girls",
        "1boy",
        "solo",
        "multiple_girls",
        "^_^",
        ">_<",
        "highres",
        "absurdres",
        "commentary_request",
        "translated",
        "bad_id",
        "saber_(fate)",
    ):
        assert tag in index, tag
    for tag in vocab.tags:
        if tag.category == "character":
            assert vocab.tags[index[tag.copyright]].category == "copyright"


def test_seed_file_is_in_sync_with_the_vocabulary() -> None:
    assert SEED.read_text(encoding="utf-8") == render_csv(alias_rows(build_vocabulary()))
    with SEED.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["alias", "tag", "origin"]
    aliases = [r["alias"] for r in rows]
    assert aliases == sorted(aliases) and len(aliases) == len(set(aliases))
    assert {r["origin"] for r in rows} == {"pixiv", "zerochan"}
    assert all(normalize_tag(a) == a for a in aliases)


def test_every_foreign_name_resolves_to_its_own_tag() -> None:
    vocab = build_vocabulary()
    canonical = {t.name for t in vocab.tags}
    aliases = {row.alias: row.tag for row in alias_rows(vocab)}
    names = foreign_names(vocab)
    assert len(names) > 300
    for name, tag, origin in names:
        key = normalize_tag(name)
        resolved = key if key in canonical else aliases.get(key)
        assert resolved == tag, f"{origin} name {name!r} resolves to {resolved!r}, not {tag!r}"


def test_names_that_need_an_alias() -> None:
    aliases = {row.alias: row.tag for row in alias_rows(build_vocabulary())}
    assert aliases["初音ミク"] == "hatsune_miku"
    assert aliases["東方"] == "touhou"
    assert aliases["オリジナル"] == "original"
    assert aliases["pokémon"] == "pokemon"
    assert aliases["saber_(fate/stay_night)"] == "saber_(fate)"
    assert aliases["female"] == "1girl"
    assert normalize_tag("  Hatsune   Miku ") == "hatsune_miku"
