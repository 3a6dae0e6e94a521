"""Baseline for the merge benchmark: the same merge written plainly in pandas.

It reads the raw parquet of a lake and does, in memory, what the dbt chain up to `images` does
for a metadata-only lake: normalize each source (field names, ratings, timestamps, tags through
`seeds/tag_aliases.csv`, pixiv pages), apply the default prefilter, connect posts by equal md5
and by links (danbooru `pixiv_id`, post URLs in `source`), take connected components (scipy), pick
one representative per source and image, learn the tag dictionary and pixiv account artists,
choose rating / artist / characters / copyrights / created_at by argmax of summed trust, vote on
tags, choose the best file and pivot each source's fields into `<source>__<field>` columns.

Identity here is md5 and link edges only (a metadata-only lake has no embeddings), and image IDs
are the smallest member key rather than persisted stable IDs; everything else follows the SQL.

    .venv/bin/python bench/merge/pandas_merge.py --lake bench/out/merge/lake
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

PROJECT = Path(__file__).resolve().parents[2]
SOURCES = ("danbooru", "gelbooru", "yandere", "pixiv", "zerochan")
CATEGORIES = ("artist", "character", "copyright", "meta", "general")
ALLOWED_EXTS = {"jpg", "jpeg", "png", "webp", "gif"}
MIN_SIDE = 256
MIN_TAG_CONFIDENCE = 0.5
SOURCE_PRIORITY = ("pixiv", "danbooru", "yandere", "gelbooru", "zerochan")
PICKED = ("rating", "artist", "characters", "copyrights", "created_at")
URL_PATTERNS = (
    (
        "pixiv",
        re.compile(r"^https?://i(?:-[a-z]+)?\.pximg\.net/.*/([0-9]+)_p([0-9]+)[^/]*\.[a-z0-9]+"),
    ),
    ("pixiv", re.compile(r"^https?://(?:www\.)?pixiv\.net/(?:[a-z]{2}/)?(?:artworks|i)/([0-9]+)")),
    (
        "pixiv",
        re.compile(r"^https?://(?:www\.)?pixiv\.net/member_illust\.php\?.*[?&]illust_id=([0-9]+)"),
    ),
    ("danbooru", re.compile(r"^https?://(?:[a-z]+\.)?donmai\.us/(?:posts|post/show)/([0-9]+)")),
    ("gelbooru", re.compile(r"^https?://(?:www\.)?gelbooru\.com/index\.php\?.*[?&]id=([0-9]+)")),
    ("yandere", re.compile(r"^https?://(?:www\.)?yande\.re/post/show/([0-9]+)")),
    ("zerochan", re.compile(r"^https?://(?:www\.)?zerochan\.net/([0-9]+)")),
)
MEMBER_ILLUST_PAGE = re.compile(r"member_illust\.php\?.*[?&]page=([0-9]+)")
WHITESPACE = re.compile(r"\s+")


def read_raw(lake: Path, source: str) -> pd.DataFrame:
    return pd.read_parquet(lake / "raw" / source)


def clean_tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    cleaned = WHITESPACE.sub("_", tag.strip().lower())
    return cleaned or None


class TagNormalizer:
    """Cleaned tag -> danbooru tag through the alias seed."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases

    def one(self, tag: str | None, fallback: str | None = None) -> str | None:
        cleaned, cleaned_fallback = clean_tag(tag), clean_tag(fallback)
        for candidate in (cleaned, cleaned_fallback):
            if candidate is not None and candidate in self.aliases:
                return self.aliases[candidate]
        return cleaned_fallback or cleaned

    def many(self, tags) -> list[str]:
        if tags is None:
            return []
        return sorted({t for t in (self.one(tag) for tag in tags) if t is not None})

    def split(self, tag_string: str | None) -> list[str]:
        return self.many(tag_string.split()) if tag_string else []


def load_normalizer() -> TagNormalizer:
    path = PROJECT / "seeds" / "tag_aliases.csv"
    aliases: dict[str, str] = {}
    if path.exists():
        seed = pd.read_csv(path, dtype=str, keep_default_na=False)
        for alias, tag in zip(seed["alias"], seed["tag"], strict=True):
            aliases[clean_tag(alias)] = clean_tag(tag)
    return TagNormalizer(aliases)


def load_ratings() -> dict[tuple[str, str], str]:
    seed = pd.read_csv(PROJECT / "seeds" / "rating_map.csv", dtype=str)
    return seed.set_index(["source", "raw_rating"])["rating"].to_dict()


def shared_frame(source: str, post_key: pd.Series, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"post_key": post_key.astype(str), **columns})
    frame.insert(0, "source", source)
    frame.insert(0, "image_key", source + ":" + frame["post_key"])
    return frame


def normalize_danbooru(raw: pd.DataFrame, tags: TagNormalizer, ratings) -> pd.DataFrame:
    frame = shared_frame(
        "danbooru",
        raw["id"],
        post_id=raw["id"],
        md5=raw["md5"].str.strip().str.lower(),
        rating=raw["rating"].map(lambda r: ratings.get(("danbooru", r))),
        created_at=pd.to_datetime(raw["created_at"], utc=True, format="ISO8601"),
        width=raw["image_width"],
        height=raw["image_height"],
        score=raw["score"],
        tags=raw["tag_string"].map(tags.split),
        source_url=raw["source"].replace("", None),
        file_ext=raw["file_ext"].str.lower(),
        is_deleted=raw["is_deleted"],
        is_pending=raw["is_pending"],
        is_banned=raw["is_banned"],
        is_flagged=raw["is_flagged"],
        up_score=raw["up_score"],
        down_score=raw["down_score"],
        fav_count=raw["fav_count"],
        file_size=raw["file_size"],
        pixiv_id=raw["pixiv_id"],
        parent_id=raw["parent_id"],
        has_children=raw["has_children"],
    )
    for category in CATEGORIES:
        frame[f"category_{category}"] = raw[f"tag_string_{category}"].map(tags.split)
    return frame


def normalize_booru(source: str, raw: pd.DataFrame, tags: TagNormalizer, ratings) -> pd.DataFrame:
    if source == "gelbooru":
        created = pd.to_datetime(raw["created_at"], format="%a %b %d %H:%M:%S %z %Y", utc=True)
        ext = raw["file_url"].str.extract(r"\.([A-Za-z0-9]+)$")[0].str.lower()
    else:
        created = pd.to_datetime(raw["created_at"], unit="s", utc=True)
        ext = raw["file_ext"].str.lower()
    status = raw["status"].str.lower()
    return shared_frame(
        source,
        raw["id"],
        post_id=raw["id"],
        md5=raw["md5"].str.strip().str.lower(),
        rating=raw["rating"].map(lambda r: ratings.get((source, r))),
        created_at=created,
        width=raw["width"],
        height=raw["height"],
        score=raw["score"],
        tags=raw["tags"].map(tags.split),
        source_url=raw["source"].replace("", None),
        file_ext=ext,
        is_deleted=status.eq("deleted"),
        is_pending=status.eq("pending"),
        is_banned=status.eq("banned"),
        is_flagged=status.eq("flagged"),
        parent_id=raw["parent_id"],
        status=status,
        **({"file_size": raw["file_size"], "author": raw["author"]} if source == "yandere" else {}),
    )


def normalize_pixiv(raw: pd.DataFrame, tags: TagNormalizer, ratings) -> pd.DataFrame:
    raw = raw.assign(page=raw["page_count"].fillna(1).clip(lower=1).map(lambda n: range(int(n))))
    pages = raw.explode("page", ignore_index=True)
    first = pages["page"].eq(0)
    rating_key = np.where(
        pages["x_restrict"].fillna(0) > 0,
        "x_restrict:" + pages["x_restrict"].astype(str),
        "sanity_level:" + pages["sanity_level"].astype(str),
    )
    work_tags = raw.set_index("id")["tags"].map(
        lambda ts: (
            sorted({t for t in (tags.one(x["name"], x["translated_name"]) for x in ts) if t})
            if ts is not None
            else []
        )
    )
    users = pages["user"]
    return shared_frame(
        "pixiv",
        pages["id"].astype(str) + "_p" + pages["page"].astype(str),
        post_id=pages["id"],
        md5=None,
        rating=[ratings.get(("pixiv", k)) for k in rating_key],
        created_at=pd.to_datetime(pages["create_date"], utc=True, format="ISO8601"),
        width=pages["width"].where(first),
        height=pages["height"].where(first),
        score=pages["total_bookmarks"],
        tags=pages["id"].map(work_tags),
        source_url=None,
        file_ext=np.where(pages["type"].str.lower().eq("ugoira"), "zip", None),
        is_deleted=False,
        is_pending=False,
        is_banned=False,
        is_flagged=False,
        work_type=pages["type"].str.lower(),
        page=pages["page"],
        page_count=pages["page_count"],
        total_bookmarks=pages["total_bookmarks"],
        total_view=pages["total_view"],
        user_id=users.map(lambda u: u["id"] if u else None),
        user_name=users.map(lambda u: u["name"] if u else None),
    )


def normalize_zerochan(raw: pd.DataFrame, tags: TagNormalizer) -> pd.DataFrame:
    return shared_frame(
        "zerochan",
        raw["id"],
        post_id=raw["id"],
        md5=raw["hash"].str.strip().str.lower(),
        rating=None,
        created_at=pd.NaT,
        width=raw["width"],
        height=raw["height"],
        score=None,
        tags=raw["tags"].map(tags.many),
        source_url=raw["source"].replace("", None),
        file_ext=None,
        is_deleted=False,
        is_pending=False,
        is_banned=False,
        is_flagged=False,
        file_size=raw["size"],
        primary_tag=raw["primary"],
    )


def normalize(lake: Path) -> dict[str, pd.DataFrame]:
    tags, ratings = load_normalizer(), load_ratings()
    frames = {}
    for source in SOURCES:
        raw = read_raw(lake, source)
        if source == "danbooru":
            frames[source] = normalize_danbooru(raw, tags, ratings)
        elif source == "pixiv":
            frames[source] = normalize_pixiv(raw, tags, ratings)
        elif source == "zerochan":
            frames[source] = normalize_zerochan(raw, tags)
        else:
            frames[source] = normalize_booru(source, raw, tags, ratings)
    return frames


def prefilter(posts: pd.DataFrame) -> pd.DataFrame:
    drop = posts["is_deleted"].fillna(False) | posts["is_banned"].fillna(False)
    drop |= posts["is_pending"].fillna(False)
    drop |= posts["file_ext"].notna() & ~posts["file_ext"].isin(ALLOWED_EXTS)
    drop |= np.minimum(posts["width"], posts["height"]) < MIN_SIDE
    return posts[~drop.astype(bool)]


def link_target(url: str | None) -> tuple[str, str, int | None] | None:
    """(source, post id, pixiv page or None) of the post a URL names."""
    if not isinstance(url, str) or not url:
        return None
    url = url.strip().lower()
    for source, pattern in URL_PATTERNS:
        match = pattern.search(url)
        if match:
            page = int(match.group(2)) if pattern.groups > 1 else None
            named_page = MEMBER_ILLUST_PAGE.search(url)
            if named_page:
                page = int(named_page.group(1))
            return source, match.group(1), page
    return None


def link_edges(posts: pd.DataFrame, pixiv_pages: pd.Series) -> pd.DataFrame:
    """Edges for links that name exactly one image: a booru post, a pixiv page, or a pixiv work
    with a single page (a copy of a multi-page work may show any page). A danbooru pixiv_id
    takes the page its own source URL names when that URL is a page of the same work."""
    parsed = posts["source_url"].map(link_target)
    rows = []
    for key, target, pixiv_id in zip(posts["image_key"], parsed, posts["pixiv_id"], strict=True):
        if target is not None:
            source, post_id, page = target
            if source != "pixiv":
                rows.append((key, f"{source}:{post_id}"))
            elif page is not None or pixiv_pages.get(int(post_id)) == 1:
                rows.append((key, f"pixiv:{post_id}_p{page or 0}"))
        if pd.notna(pixiv_id):
            work = int(pixiv_id)
            page = target[2] if target and target[0] == "pixiv" and int(target[1]) == work else None
            if page is not None or pixiv_pages.get(work) == 1:
                rows.append((key, f"pixiv:{work}_p{page or 0}"))
    return pd.DataFrame(rows, columns=["left", "right"])


def components(kept: pd.DataFrame, posts: pd.DataFrame, pixiv_pages: pd.Series) -> pd.Series:
    """image_key -> image_id (the smallest key of its md5/link component)."""
    keys = pd.Index(np.sort(kept["image_key"].to_numpy()))
    with_md5 = kept.dropna(subset=["md5"])
    first = with_md5.groupby("md5")["image_key"].transform("min")
    md5_edges = pd.DataFrame({"left": with_md5["image_key"], "right": first})
    edges = pd.concat([md5_edges, link_edges(posts, pixiv_pages)]).dropna()
    left, right = keys.get_indexer(edges["left"]), keys.get_indexer(edges["right"])
    valid = (left >= 0) & (right >= 0)
    n = len(keys)
    graph = coo_matrix((np.ones(valid.sum()), (left[valid], right[valid])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    smallest = pd.Series(keys, index=labels).groupby(level=0).min()
    return pd.Series(smallest.loc[labels].to_numpy(), index=keys)


def weighted_argmax(votes: pd.DataFrame) -> pd.Series:
    """image_id -> the value with the most summed weight, ties by the smallest value."""
    votes = votes[votes["value"].notna() & (votes["weight"] > 0)]
    summed = votes.groupby(["image_id", "value"], as_index=False)["weight"].sum()
    summed = summed.sort_values(["image_id", "weight", "value"], ascending=[True, False, True])
    return summed.drop_duplicates("image_id").set_index("image_id")["value"]


def merge(lake: Path) -> pd.DataFrame:
    frames = normalize(lake)
    trust = pd.read_csv(PROJECT / "seeds" / "source_trust.csv")
    weight = trust.set_index(["source", "field"])["weight"].to_dict()
    shared = [
        "image_key",
        "source",
        "post_key",
        "post_id",
        "md5",
        "rating",
        "created_at",
        "width",
        "height",
        "tags",
        "source_url",
        "file_ext",
        "is_deleted",
        "is_pending",
        "is_banned",
    ]
    posts = pd.concat(
        [f[shared].assign(pixiv_id=f.get("pixiv_id")) for f in frames.values()], ignore_index=True
    )
    kept = prefilter(posts)
    pixiv_pages = frames["pixiv"].groupby("post_id").size()
    image_of = components(kept, posts, pixiv_pages)
    members = kept.assign(image_id=kept["image_key"].map(image_of))
    members["pixels"] = members["width"].astype("float") * members["height"].astype("float")

    # Representatives: the largest post of each source, then the oldest.
    ordered = members.sort_values(
        ["image_id", "source", "pixels", "post_id", "post_key"],
        ascending=[True, True, False, True, True],
        na_position="last",
    )
    reps = ordered.drop_duplicates(["image_id", "source"]).copy()

    # Tag dictionary from danbooru's categories (all staged posts).
    danbooru = frames["danbooru"]
    filed = pd.concat(
        [
            danbooru[f"category_{c}"].explode().dropna().to_frame("tag").assign(category=c)
            for c in CATEGORIES
        ]
    )
    counts = filed.value_counts(["tag", "category"]).reset_index(name="n")
    counts["order"] = counts["category"].map(CATEGORIES.index)
    dictionary = (
        counts.sort_values(["tag", "n", "order"], ascending=[True, False, True])
        .drop_duplicates("tag")
        .set_index("tag")["category"]
    )

    # Member tags with categories; per-member artist/character/copyright lists.
    member_tags = reps[["image_id", "image_key", "source", "tags"]].explode("tags")
    member_tags = member_tags.dropna(subset=["tags"]).rename(columns={"tags": "tag"})
    member_tags["category"] = member_tags["tag"].map(dictionary).fillna("general")
    categorized = danbooru.set_index("image_key")
    lists = (("artist", "artists"), ("character", "characters"), ("copyright", "copyrights"))
    for category, column in lists:
        flat = (
            member_tags[member_tags["category"] == category]
            .groupby("image_key")["tag"]
            .agg(lambda t: tuple(sorted(t)))
        )
        own = categorized[f"category_{category}"].map(lambda t: tuple(sorted(t)))
        reps[column] = reps["image_key"].map(own).fillna(reps["image_key"].map(flat))
        reps[column] = reps[column].map(lambda v: v if isinstance(v, tuple) else ())

    # Pixiv accounts -> artist, learned from images shared with danbooru.
    pixiv = frames["pixiv"].set_index("image_key")["user_id"]
    pixiv_reps = reps[reps["source"] == "pixiv"].assign(account=lambda f: f["image_key"].map(pixiv))
    danbooru_artists = reps[reps["source"] == "danbooru"][["image_id", "artists"]].explode(
        "artists"
    )
    evidence = pixiv_reps[["image_id", "account"]].merge(danbooru_artists.dropna(), on="image_id")
    learned = (
        evidence.groupby(["account", "artists"])
        .size()
        .reset_index(name="n")
        .sort_values(["account", "n", "artists"], ascending=[True, False, True])
        .drop_duplicates("account")
        .set_index("account")["artists"]
    )
    is_pixiv = reps["source"] == "pixiv"
    account_artist = reps.loc[is_pixiv, "image_key"].map(pixiv).map(learned)
    reps.loc[is_pixiv & account_artist.notna(), "artists"] = account_artist.dropna().map(
        lambda a: (a,)
    )

    # Weighted picks.
    picks = {}
    for field in PICKED:
        column = {"artist": "artists"}.get(field, field)
        votes = reps[["image_id", "source", column]].rename(columns={column: "value"})
        if field == "artist":
            votes = votes.explode("value")
        elif field in ("characters", "copyrights"):
            votes["value"] = votes["value"].map(lambda v: v or None)
        votes["weight"] = [weight.get((s, field), 0.0) for s in votes["source"]]
        picks[field] = weighted_argmax(votes)

    # Tag voting.
    tag_weight = reps["source"].map(lambda s: weight.get((s, "tags"), 0.0))
    has_tags = reps["tags"].map(len) > 0
    image_weight = (
        reps.assign(w=tag_weight)[has_tags].groupby("image_id")["w"].sum().rename("image_weight")
    )
    member_tags["w"] = member_tags["source"].map(lambda s: weight.get((s, "tags"), 0.0))
    voted = member_tags.groupby(["image_id", "tag"], as_index=False).agg(
        tag_weight=("w", "sum"), category=("category", "min")
    )
    voted = voted.merge(image_weight, left_on="image_id", right_index=True)
    voted["confidence"] = voted["tag_weight"] / voted["image_weight"]
    voted = voted[voted["confidence"] >= MIN_TAG_CONFIDENCE - 1e-12]
    voted = voted.sort_values(["image_id", "confidence", "tag"], ascending=[True, False, True])
    tag_lists = voted.groupby("image_id").agg(
        tags=("tag", list), confidences=("confidence", list), categories=("category", list)
    )

    # Best file over all members.
    members["priority"] = (
        members["source"]
        .map({s: i for i, s in enumerate(SOURCE_PRIORITY)})
        .fillna(len(SOURCE_PRIORITY))
    )
    best = (
        members.sort_values(
            ["image_id", "pixels", "priority", "image_key"],
            ascending=[True, False, True, True],
            na_position="last",
        )
        .drop_duplicates("image_id")
        .set_index("image_id")
    )

    images = members.groupby("image_id").agg(
        n_members=("image_key", "size"),
        member_keys=("image_key", lambda k: sorted(k)),
        sources=("source", lambda s: sorted(set(s))),
    )
    for field, values in picks.items():
        images[field] = values
    images["best_image_key"] = best["image_key"]
    images["best_width"] = best["width"]
    images["best_height"] = best["height"]
    images = images.join(tag_lists)

    # Every source's fields, from its representative.
    for source, frame in frames.items():
        rep_keys = reps.loc[reps["source"] == source, ["image_id", "image_key"]]
        wide = rep_keys.merge(frame.drop(columns=["source"]), on="image_key", how="left")
        wide = wide.set_index("image_id").add_prefix(f"{source}__")
        images = images.join(wide)
    return images.reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="write figures as JSON here")
    args = parser.parse_args()
    started = time.perf_counter()
    images = merge(args.lake)
    figures = {
        "seconds": time.perf_counter() - started,
        "images": len(images),
        "members": int(images["n_members"].sum()),
        "columns": len(images.columns),
    }
    print(json.dumps(figures))
    if args.out:
        args.out.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
