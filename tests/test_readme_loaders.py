"""The README's loading code, run as it is against the shared demo build's published version.

The ```python blocks of the README's "Loading a published version" section run in order in one
subprocess (one slow `datasets` import), from the folder that holds the build's `lake/`, then a
few lines check that every loader saw every row and every image the manifest counts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import PROJECT_DIR, DbtProject

SECTION = "## Loading a published version"
CHECKS = textwrap.dedent(
    """
    manifest = json.load(open(f"{root}/manifest.json"))
    counts = manifest["counts"]
    assert counts["images"] > 0 and counts["kohya_images"] == counts["images"]
    assert metadata.num_rows == rows == manifest["rows"]
    assert samples.num_rows == len(loaded) == folder.num_rows == len(pairs) == counts["images"]
    assert all(image.width > 0 for image, _, _ in loaded[:3]) and samples[-1]["png"].width > 0
    print("loaded", manifest["rows"], "rows and", counts["images"], "images")
    """
)


def readme_loading_code(readme: str) -> list[str]:
    """The ```python blocks of the README's loading section, in order."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_loaders_read_every_row(demo_build: DbtProject, tmp_path: Path) -> None:
    blocks = readme_loading_code((PROJECT_DIR / "README.md").read_text("utf-8"))
    code = "\n".join(blocks)
    for loader in ("datasets.load_dataset", "webdataset.WebDataset", "kohya", "duckdb.sql"):
        assert loader in code, loader
    script = tmp_path / "readme_loaders.py"
    script.write_text(code + CHECKS, "utf-8")
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    }
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=Path(demo_build.lake).parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    manifest_rows = json.loads(
        next(Path(demo_build.lake, "exports", "anime").glob("v*/manifest.json")).read_text()
    )["rows"]
    assert f"loaded {manifest_rows} rows" in run.stdout
