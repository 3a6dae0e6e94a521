"""`report.html`: one static, self-contained page to look at a version before training on it.

In: the figures of `stats.read_stats` and the thumbnails of the sample grid (`Thumbnail`: a
caption and JPEG bytes, or none when the image could not be decoded). Out: the page as bytes.
CSS is inline, charts are inline SVG and thumbnails are base64 data URIs: the page loads
nothing, from the network or from disk. Each part is a `<section>` with an `id` (`headline`,
`funnel`, `rejections`, `histograms`, `identity-calibration`, `kept`, `rejected`, `clusters`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from dataproc.report.stats import CALIBRATION_COLUMNS

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.headline{font-size:18px}.muted{color:#666}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child,td.text{text-align:left}
.calibration td{text-align:left;max-width:640px}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #eee;padding:4px}
.grid{display:flex;flex-wrap:wrap;gap:8px}
figure{margin:0;width:136px;font-size:11px;overflow-wrap:anywhere}
figure img,.missing{width:128px;height:128px;object-fit:contain;background:#f4f4f4;display:block}
.missing{display:flex;align-items:center;justify-content:center;color:#999;text-align:center}
figcaption{max-height:7.2em;overflow:hidden}
.cluster{display:flex;gap:6px;border:1px solid #ddd;padding:6px;margin:0 0 8px}
.cluster-name{width:120px;flex:none;overflow-wrap:anywhere}
"""
BAR_COLOUR = "#4a7bb7"


@dataclass(frozen=True)
class Thumbnail:
    """One tile of the sample grid: its group (`kept`, `rejected`, `cluster:<image_id>`), a
    title, a caption, and JPEG bytes (None when the image could not be decoded)."""

    group: str
    title: str
    caption: str
    jpeg: bytes | None
    note: str = ""


def render_page(stats: dict[str, Any], thumbnails: Sequence[Thumbnail]) -> bytes:
    """The whole page."""
    head = stats["headline"]
    title = f"{head['dataset']} {head['version']}"
    sections = [
        section("headline", "Headline", headline_html(head)),
        section("funnel", "Funnel", funnel_html(stats["funnel"], stats["dedup"])),
        section("rejections", "Rejection reasons per source", rejections_html(stats)),
        section("histograms", "Scores and tag counts", histograms_html(stats["histograms"])),
        section(
            "identity-calibration",
            "Identity calibration",
            calibration_html(stats["identity_calibration"]),
        ),
        section("kept", "Kept images and their prompts", grid_html(thumbnails, "kept")),
        section("rejected", "Rejected images and their reasons", grid_html(thumbnails, "rejected")),
        section("clusters", "Merged duplicate clusters", clusters_html(thumbnails)),
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} report</title><style>{CSS}</style></head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
    return page.encode()


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def headline_html(head: dict[str, Any]) -> str:
    sources = ", ".join(f"{escape(name)} {n}" for name, n in head["images_by_source"].items())
    return (
        f'<p class="headline"><b>{head["images"]}</b> images in '
        f"<b>{escape(head['dataset'])} {escape(head['version'])}</b>, "
        f"at <code>{escape(head['location'])}/</code> in the lake.</p>"
        f'<p class="muted">{head["images_with_file"]} with an image file. '
        f"Images per site (an image on several sites counts for each): {sources or 'none'}.</p>"
    )


# Funnel columns the table lays out itself; any other column (a unit, say) is shown as is, and
# a step's description is the tooltip of its name.
FUNNEL_LAID_OUT = {"source", "step", "stage", "n", "description"}


def funnel_html(rows: list[dict[str, Any]], dedup: dict[str, int]) -> str:
    """The `all` rows as a bar chart, every source as a column of the table beside it."""
    steps = [row for row in rows if row.get("source") == "all"]
    sources = sorted({row["source"] for row in rows} - {"all"})
    by_source = {(row["source"], row["stage"]): row.get("n") for row in rows}
    chart = bar_chart([(str(row["stage"]), number(row.get("n"))) for row in steps])
    extra = [name for name in (steps[0] if steps else {}) if name not in FUNNEL_LAID_OUT]
    header = "".join(f"<th>{escape(name)}</th>" for name in ["step", *extra, "all", *sources])
    body = "".join(
        "<tr>"
        + f'<td title="{escape(str(row.get("description") or ""))}">'
        + f"{escape(str(row['stage']))}</td>"
        + "".join(f"<td>{escape(str(row.get(name)))}</td>" for name in extra)
        + f"<td>{row.get('n')}</td>"
        + "".join(f"<td>{by_source.get((source, row['stage']))}</td>" for source in sources)
        + "</tr>"
        for row in steps
    )
    return (
        f"<p><b>Dedup</b> (identity merge): {dedup['image_keys']} image keys merged into "
        f"{dedup['images']} images; {dedup['merged_clusters']} clusters of several keys hold "
        f"{dedup['keys_in_merged_clusters']} keys, {dedup['duplicates_removed']} duplicates "
        "removed.</p>"
        f'<div class="chart">{chart}</div><table><tr>{header}</tr>{body}</table>'
    )


def rejections_html(stats: dict[str, Any]) -> str:
    rows = stats["rejections"]
    if not rows:
        return "<p>No rejections.</p>"
    sources = sorted({row["source"] for row in rows})
    reasons = sorted({(row["stage"], row["reason"]) for row in rows})
    counts = {(row["stage"], row["reason"], row["source"]): row["n"] for row in rows}
    largest = max(counts.values())
    header = "".join(f"<th>{escape(source)}</th>" for source in sources)
    body = ""
    for stage, reason in reasons:
        cells = ""
        for source in sources:
            n = counts.get((stage, reason, source), 0)
            shade = f"rgba(74,123,183,{0.1 + 0.6 * n / largest:.2f})" if n else "transparent"
            cells += f'<td style="background:{shade}">{n or ""}</td>'
        body += f"<tr><td>{escape(stage)}: {escape(reason)}</td>{cells}</tr>"
    totals = {}
    for row in rows:
        totals[row["source"]] = totals.get(row["source"], 0) + row["n"]
    chart = bar_chart([(source, totals[source]) for source in sources])
    return (
        f"<table><tr><th>stage: reason</th>{header}</tr>{body}</table>"
        f'<p class="muted">Rejected keys per source:</p><div class="chart">{chart}</div>'
    )


def histograms_html(histograms: dict[str, dict[str, Any]]) -> str:
    charts = [
        f'<div class="chart"><div><b>{escape(name)}</b></div>{histogram_svg(values)}'
        f'<div class="muted">{values["min"]} to {values["max"]}, '
        f"{sum(values['counts'])} values, {values['nulls']} NULL</div></div>"
        for name, values in sorted(histograms.items())
    ]
    return f'<div class="charts">{"".join(charts)}</div>' if charts else "<p>No metrics.</p>"


def calibration_html(rows: list[dict[str, Any]] | None) -> str:
    if rows is None:
        return "<p>not available: this build has no <code>identity_calibration</code> table.</p>"
    if not rows:
        return "<p>The <code>identity_calibration</code> table is empty.</p>"
    # One line per column, one table column per row: the table usually has a single row.
    names = [name for name in CALIBRATION_COLUMNS if name in rows[0]]
    names += [name for name in rows[0] if name not in names]
    body = "".join(
        f"<tr><th>{escape(name)}</th>" + "".join(cell(row[name]) for row in rows) + "</tr>"
        for name in names
    )
    return f'<table class="calibration">{body}</table>'


def cell(value: Any) -> str:
    """A table cell: numbers right-aligned, text left-aligned and wrapped."""
    if isinstance(value, str):
        return f'<td class="text">{escape(value)}</td>'
    return f"<td>{escape(str(value))}</td>"


def grid_html(thumbnails: Sequence[Thumbnail], group: str) -> str:
    tiles = [tile_html(thumb) for thumb in thumbnails if thumb.group == group]
    return f'<div class="grid">{"".join(tiles)}</div>' if tiles else "<p>None.</p>"


def clusters_html(thumbnails: Sequence[Thumbnail]) -> str:
    groups: dict[str, list[Thumbnail]] = {}
    for thumb in thumbnails:
        if thumb.group.startswith("cluster:"):
            groups.setdefault(thumb.group, []).append(thumb)
    if not groups:
        return "<p>No image keys were merged.</p>"
    return "".join(
        f'<div class="cluster"><div class="cluster-name"><b>{escape(group[8:])}</b><br>'
        f"{len(members)} keys</div>{''.join(tile_html(thumb) for thumb in members)}</div>"
        for group, members in groups.items()
    )


def tile_html(thumb: Thumbnail) -> str:
    if thumb.jpeg is None:
        picture = f'<div class="missing">no preview<br>{escape(thumb.note)}</div>'
    else:
        data = base64.b64encode(thumb.jpeg).decode()
        picture = f'<img alt="{escape(thumb.title)}" src="data:image/jpeg;base64,{data}">'
    return (
        f"<figure>{picture}<figcaption><b>{escape(thumb.title)}</b><br>"
        f"{escape(thumb.caption)}</figcaption></figure>"
    )


def bar_chart(bars: Sequence[tuple[str, float]], width: int = 560) -> str:
    """Horizontal bars, one per (label, value), with the value at the end of each bar."""
    row, label_width = 18, 190
    largest = max((value for _, value in bars), default=0) or 1
    height = row * len(bars) + 4
    parts = [f'<svg width="{width}" height="{height}">']
    for index, (label, value) in enumerate(bars):
        y = index * row + 2
        length = (width - label_width - 60) * value / largest
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="12">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{row - 4}" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 13}" font-size="12">'
            f"{format_number(value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(values: dict[str, Any], width: int = 260, height: int = 110) -> str:
    counts = values["counts"]
    parts = [f'<svg width="{width}" height="{height}">']
    if counts:
        largest = max(counts) or 1
        bar = width / len(counts)
        for index, count in enumerate(counts):
            tall = (height - 4) * count / largest
            parts.append(
                f'<rect x="{index * bar:.1f}" y="{height - tall:.1f}" width="{bar - 1:.1f}" '
                f'height="{tall:.1f}" fill="{BAR_COLOUR}"><title>'
                f"{values['edges'][index]} to {values['edges'][index + 1]}: {count}"
                "</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"
