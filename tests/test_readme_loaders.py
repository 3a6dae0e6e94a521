"""The README's loading code, run as it is against the shared demo build's published version.

The ```python blocks of the README's "Loading a published version" section run in order, from
the folder that holds the build's `lake/`, then the test checks that every loader saw every
row and every image the manifest counts. They run in the test's own process: `datasets` and
`webdataset` (which imports torch) are slow to import, and the session has them already.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, DbtProject

SECTION = "## Loading a published version"


def readme_loading_code(readme: str) -> list[str]:
    """The ```python blocks of the README's loading section, in order."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_loaders_read_every_row(
    demo_build: DbtProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = "\n".join(readme_loading_code((PROJECT_DIR / "README.md").read_text("utf-8")))
    for loader in ("datasets.load_dataset", "webdataset.WebDataset", "kohya", "duckdb.sql"):
        assert loader in code, loader
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    # HF caches what it loads; keep it out of the user's home.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf")
    monkeypatch.chdir(Path(demo_build.lake).parent)
    readme: dict = {}
    exec(compile(code, "README.md (Loading a published version)", "exec"), readme)

    manifest = json.loads(Path(readme["root"], "manifest.json").read_text())
    images = manifest["counts"]["images"]
    assert images > 0 and manifest["counts"]["kohya_images"] == images
    assert readme["metadata"].num_rows == readme["rows"] == manifest["rows"]
    assert readme["samples"].num_rows == images
    assert readme["folder"].num_rows == images
    assert len(readme["loaded"]) == len(readme["pairs"]) == images
    assert readme["samples"][images - 1]["png"].width > 0
    assert all(image.width > 0 for image, _, _ in readme["loaded"])
    assert "|||" not in readme["shuffled"]
