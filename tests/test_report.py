"""The report of a version: written beside the data by the export, listed in the manifest,
the same bytes from the same build, and a page that renders in headless Chromium with every
section and loads nothing from anywhere."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from conftest import DbtProject
from dataproc.export import ExportSettings, publish
from dataproc.lake import Lake
from dataproc.report import ReportTables, database_tables, render_report, thumbnail, tile
from dataproc.report.stats import Sample
from test_export_lakes import write_export_lake

SECTIONS = (
    "headline",
    "funnel",
    "rejections",
    "histograms",
    "identity-calibration",
    "kept",
    "rejected",
    "clusters",
)
CHROMIUM = shutil.which("chromium")


def version_folder(project: DbtProject) -> Path:
    return Path(project.lake) / "exports" / "anime" / "v0001"


def test_the_export_writes_the_report_before_the_manifest_and_lists_it(
    demo_build: DbtProject,
) -> None:
    folder = version_folder(demo_build)
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = {entry["path"]: entry for entry in manifest["files"]}
    for name in ("report.html", "stats.json"):
        data = (folder / name).read_bytes()
        assert entries[name]["kind"] == "report"
        assert entries[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert entries[name]["bytes"] == len(data)
    stats = json.loads((folder / "stats.json").read_text())
    rows = demo_build.query("select count(*) from exports.export_rows")[0][0]
    assert stats["headline"] == {
        **stats["headline"],
        "images": rows,
        "version": "v0001",
        "location": "exports/anime/v0001",
    }
    calibration = demo_build.query(
        "select threshold_mode, threshold, label_source from intermediate.identity_calibration"
    )
    assert [
        (row["threshold_mode"], row["threshold"], row["label_source"])
        for row in stats["identity_calibration"]
    ] == [(mode, round(threshold, 6), source) for mode, threshold, source in calibration]
    # The same build renders the same bytes outside dbt: nothing depends on the run or the root.
    with duckdb.connect(str(demo_build.database), read_only=True) as con:
        again = render_report(database_tables(con), Lake(demo_build.lake), "anime", "v0001")
    assert again == {name: (folder / name).read_bytes() for name in again}


def test_a_new_report_alone_never_makes_a_new_version(tmp_path: Path) -> None:
    """The report names its version, so it differs between versions: it is not data."""
    lake = Lake(str(tmp_path / "lake"))
    rows = write_export_lake(lake).rows
    settings = ExportSettings(dataset="anime", shard_size=3)

    def report(version: str) -> dict[str, bytes]:
        return {"report.html": f"<p>{version}</p>".encode()}

    first, second = (
        publish(rows, lake, settings, invocation_id=None, git_commit=None, report=report)
        for _ in range(2)
    )
    assert (first.status, second.status, second.version) == ("published", "unchanged", "v0001")
    assert lake.get("exports/anime/v0001/report.html") == b"<p>v0001</p>"


def calibration_tables(con: duckdb.DuckDBPyConnection, rows: str | None) -> ReportTables:
    """The demo build's tables with a stand-in identity calibration (`rows`: VALUES, or None
    for no table, or '' for an empty one)."""
    tables = {
        field: con.sql(f"from dataproc.{table}")
        for field, table in (
            ("export_rows", "exports.export_rows"),
            ("funnel", "marts.funnel"),
            ("rejections", "marts.rejections"),
            ("images", "marts.images"),
            ("image_files", "intermediate.int_image_files"),
        )
    }
    calibration = None
    if rows is not None:
        con.execute(
            "create or replace table identity_calibration (threshold_mode varchar, threshold "
            "double, target_precision double, positive_pairs bigint, negative_pairs bigint, "
            "estimated_precision double, estimated_recall double, label_source varchar)"
        )
        if rows:
            con.execute(f"insert into identity_calibration values {rows}")
        calibration = con.table("identity_calibration")
    return ReportTables(identity_calibration=calibration, **tables)


@pytest.fixture
def build_connection(demo_build: DbtProject):
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_build.database}' as dataproc (read_only)")
        yield con


def calibration_section(page: bytes) -> str:
    text = page.decode()
    start = text.index('<section id="identity-calibration">')
    return text[start : text.index("</section>", start)]


def test_identity_calibration_is_not_available_only_without_its_table(
    build_connection: duckdb.DuckDBPyConnection, demo_build: DbtProject
) -> None:
    lake = Lake(demo_build.lake)
    sections = {
        rows: calibration_section(
            render_report(calibration_tables(build_connection, rows), lake, "anime", "v0001")[
                "report.html"
            ]
        )
        for rows in (None, "", "('calibrated', 0.93, 0.98, 40, 400, 0.981, 0.87, 'ground_truth')")
    }
    assert "not available" in sections[None]
    assert "not available" not in sections[""]
    calibrated = sections["('calibrated', 0.93, 0.98, 40, 400, 0.981, 0.87, 'ground_truth')"]
    assert "not available" not in calibrated
    for value in ("calibrated", "0.93", "0.98", "400", "0.981", "0.87", "ground_truth"):
        assert f">{value}</td>" in calibrated


def test_a_file_that_does_not_decode_gets_no_thumbnail_and_its_reason(tmp_path: Path) -> None:
    assert thumbnail(b"<html>not an image</html>") == (None, "not_an_image")
    lake = Lake(str(tmp_path))
    notes = [
        tile(lake, Sample("rejected", "d:1", uri, 0, 10, "embed: x", "")).note
        for uri in ("images/d/1.jpg", "/etc/passwd", None)
    ]
    assert notes == ["missing", "outside the lake", "no file"]


class PageParts(HTMLParser):
    """Each section's text and tags, and every address the page names."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self.current: str | None = None
        self.addresses: list[str] = []
        self.images: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.current = values.get("id")
            self.sections[self.current] = []
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            if values.get(name):
                self.addresses.append(values[name])
        if self.current and tag in ("img", "svg", "table", "figure", "td"):
            self.sections[self.current].append(tag)
            if tag == "img":
                self.images[self.current] = self.images.get(self.current, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current and data.strip():
            self.sections[self.current].append(data.strip())


def test_the_report_renders_in_headless_chromium_with_every_section(
    demo_build: DbtProject, tmp_path: Path
) -> None:
    assert CHROMIUM, "Debian's chromium is not installed: `make setup` installs it"
    with duckdb.connect(str(demo_build.database), read_only=True) as con:
        files = render_report(database_tables(con), Lake(demo_build.lake), "anime", "v0001")
    page = tmp_path / "report.html"
    page.write_bytes(files["report.html"])
    screenshot = tmp_path / "report.png"
    chromium = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        # Any request that leaves the page fails to resolve rather than reach a network.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,2400",
    ]
    dom = subprocess.run(
        [*chromium, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout
    subprocess.run(
        [*chromium, f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True,
        timeout=90,
        check=True,
    )
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    parts = PageParts()
    parts.feed(dom)
    assert list(parts.sections) == list(SECTIONS)
    for name, content in parts.sections.items():
        # A heading and something besides it.
        assert len(content) > 1, name
    for name in ("funnel", "rejections", "histograms"):
        assert "svg" in parts.sections[name], name
    for name in ("kept", "rejected", "clusters"):
        assert parts.images.get(name, 0) > 0, name
    assert "estimated_precision" in parts.sections["identity-calibration"]
    assert "not available" not in " ".join(parts.sections["identity-calibration"])
    assert "dedup" in " ".join(parts.sections["funnel"]).lower()
    # Nothing is loaded from anywhere: every address is an inline data URI.
    assert parts.addresses
    assert all(address.startswith("data:image/jpeg;base64,") for address in parts.addresses)
    text = re.sub(r"data:image/jpeg;base64,[A-Za-z0-9+/=]+", "", dom)
    assert "http" not in text and "url(" not in text and "@import" not in text


def test_the_funnel_is_read_by_column_name() -> None:
    """Columns the funnel gains (a unit, a description) show up; their order does not matter."""
    from dataproc.report.page import funnel_html

    rows = [
        {
            "n": 7,
            "unit": "posts",
            "stage": "raw_rows",
            "source": source,
            "step": 1,
            "description": "Rows of the raw files",
        }
        for source in ("all", "pixiv")
    ]
    dedup = {
        "image_keys": 3,
        "images": 2,
        "merged_clusters": 1,
        "keys_in_merged_clusters": 2,
        "duplicates_removed": 1,
    }
    page = funnel_html(rows, dedup)
    assert "<th>step</th><th>unit</th><th>all</th><th>pixiv</th>" in page
    assert (
        '<td title="Rows of the raw files">raw_rows</td><td>posts</td><td>7</td><td>7</td>' in page
    )
