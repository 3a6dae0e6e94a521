"""The demo vocabulary, its foreign names, and the alias seed that resolves them."""

from __future__ import annotations

from collections import Counter

from dataproc.demo.world import CATEGORIES, load_vocabulary
from demo_vocabulary import (
    ALIASES,
    alias_rows,
    canonical_tags,
    foreign_names,
    normalize_tag,
    vocabulary,
)


def test_vocabulary_has_the_expected_shape() -> None:
    vocab = load_vocabulary()
    names = [t.name for t in vocab.tags]
    assert names == sorted(names)
    counts = Counter(CATEGORIES[t.category] for t in vocab.tags)
    assert counts["general"] >= 150
    assert counts["character"] >= 40
    assert counts["copyright"] >= 15
    assert counts["artist"] >= 60
    assert counts["meta"] >= 10
    index = {name: i for i, name in enumerate(names)}
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
        if CATEGORIES[tag.category] == "character":
            assert CATEGORIES[vocab.tags[index[tag.copyright]].category] == "copyright"


def needed_aliases() -> list[tuple[str, str, str]]:
    """Sorted (alias, tag, origin) rows the demo's foreign names need: those that do not
    normalize to their canonical tag. Fails if a name would resolve to the wrong tag."""
    vocab = vocabulary()
    canonical = canonical_tags(vocab)
    rows: dict[str, tuple[str, str, str]] = {}
    for name, tag, origin in foreign_names(vocab):
        alias = normalize_tag(name)
        if alias in canonical:
            assert alias == tag, (
                f"{origin} name {name!r} normalizes to the tag {alias!r}, not {tag!r}"
            )
            continue
        previous = rows.setdefault(alias, (alias, tag, origin))
        assert previous == (alias, tag, origin), f"alias {alias!r} is claimed twice"
    return sorted(rows.values())


def test_seed_file_holds_exactly_the_aliases_the_demo_needs() -> None:
    text = ALIASES.read_text(encoding="utf-8")
    assert text.startswith("alias,tag,origin\n") and text.endswith("\n") and "\r" not in text
    rows = alias_rows()
    aliases = [r["alias"] for r in rows]
    assert aliases == sorted(aliases) and len(aliases) == len(set(aliases))
    assert all(normalize_tag(a) == a for a in aliases)
    origins = {r["origin"] for r in rows}
    assert {"pixiv", "zerochan"} <= origins <= {"pixiv", "zerochan", "danbooru"}
    foreign = [(r["alias"], r["tag"], r["origin"]) for r in rows if r["origin"] != "danbooru"]
    assert foreign == needed_aliases()


def test_every_foreign_name_resolves_to_its_own_tag() -> None:
    vocab = vocabulary()
    canonical = canonical_tags(vocab)
    aliases = {row["alias"]: row["tag"] for row in alias_rows()}
    names = foreign_names(vocab)
    assert len(names) > 300
    for name, tag, origin in names:
        key = normalize_tag(name)
        resolved = key if key in canonical else aliases.get(key)
        assert resolved == tag, f"{origin} name {name!r} resolves to {resolved!r}, not {tag!r}"


def test_unseeded_names_are_left_for_the_pipeline_to_learn() -> None:
    vocab = vocabulary()
    canonical = canonical_tags(vocab)
    aliases = {row["alias"] for row in alias_rows()}
    names = foreign_names(vocab, seeded=False)
    assert {origin for _, _, origin in names} == {"pixiv", "zerochan"}
    characters = {e["tag"] for e in vocab["character"] if not e.get("seeded", True)}
    assert {tag for _, tag, _ in names} == characters and len(characters) >= 5
    for name, _, origin in names:
        key = normalize_tag(name)
        assert key not in canonical and key not in aliases, f"{origin} name {name!r} resolves"
    assert {(origin, name, tag) for name, tag, origin in names} == set(
        load_vocabulary().unseeded_names
    )


def test_names_that_need_an_alias() -> None:
    aliases = {row["alias"]: row["tag"] for row in alias_rows()}
    assert aliases["初音ミク"] == "hatsune_miku"
    assert aliases["東方"] == "touhou"
    assert aliases["オリジナル"] == "original"
    assert aliases["pokémon"] == "pokemon"
    assert aliases["saber_(fate/stay_night)"] == "saber_(fate)"
    assert aliases["female"] == "1girl"
    assert normalize_tag("  Hatsune   Miku ") == "hatsune_miku"


def test_the_data_file_and_the_generator_agree() -> None:
    assert {t.name for t in load_vocabulary().tags} == canonical_tags(vocabulary())
