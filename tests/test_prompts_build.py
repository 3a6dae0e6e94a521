"""The prompts mart of the shared `dbt build`: one prompt per training candidate, count tags
first, the string equal to its sections, and tags written as prompt text."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import PROJECT_DIR, DbtProject

# Count tags as prompt text (`_` written as a space).
COUNT_TAG = re.compile(r"^([0-9]+\+?(girl|boy|other)s?|no humans)$")
KAOMOJI = set(
    yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["prompt_defaults"][
        "kaomoji"
    ]
)


@pytest.fixture(scope="module")
def prompts(demo_build: DbtProject) -> list[tuple[str, str, list[dict]]]:
    return demo_build.query(
        "select image_id, prompt, sections from marts.prompts order by image_id"
    )


def test_every_candidate_has_one_prompt(demo_build: DbtProject, prompts: list) -> None:
    candidates = demo_build.query(
        "select image_id from intermediate.int_training_candidates order by image_id"
    )
    assert candidates
    assert [image_id for image_id, _, _ in prompts] == [image_id for (image_id,) in candidates]


def test_prompts_start_with_count_tags(prompts: list) -> None:
    with_count = 0
    for image_id, prompt, sections in prompts:
        # The default preset, animagine-4: quality tags last.
        assert [section["name"] for section in sections] == [
            "count",
            "characters",
            "copyrights",
            "rating",
            "artist",
            "general",
            "year",
            "quality",
        ]
        count_tags = sections[0]["tags"]
        assert all(COUNT_TAG.match(tag) for tag in count_tags), image_id
        if count_tags:
            with_count += 1
            assert prompt.startswith(", ".join(count_tags)), (image_id, prompt)
    assert with_count > 0


def test_prompt_is_its_sections_joined(prompts: list) -> None:
    for image_id, prompt, sections in prompts:
        tags = [tag for section in sections for tag in section["tags"]]
        assert prompt == ", ".join(tags), image_id
        assert all(tag and "_" not in tag for tag in tags if tag not in KAOMOJI), image_id
        # Every parenthesis is escaped.
        assert not re.search(r"(?<!\\)[()]", prompt), prompt
