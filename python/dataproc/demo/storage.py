"""Lay the rendered files out in the lake: one file per image, or WebDataset tar shards.

danbooru and yandere images are files `images/<source>/<fan-out>/<key>.<ext>`, the fan-out being
the key's last two characters; gelbooru, pixiv and zerochan images are members `<key>.<ext>` of
`shards/<source>/<source>-NNNNN.tar`, some with a `<key>.json` beside them. Hostile cases are
written here: broken bytes, missing images, orphans, `../` and absolute member names, and one
shard cut off in the middle of its last member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from dataproc.demo import codes as c
from dataproc.demo.hashing import uniform
from dataproc.demo.hostile import hostile_bytes
from dataproc.demo.lakeio import LakeWriter
from dataproc.demo.model import WorldPlan
from dataproc.demo.tarshard import build_tar, build_truncated_tar

SHARD_SAMPLES = 200
JSON_SHARE = 0.5
TRUNCATED_SOURCE = "gelbooru"
TRAVERSAL_DIR = "../../outside/"
ABSOLUTE_DIR = "/tmp/dataproc-demo/"


@dataclass(frozen=True)
class Stored:
    """One image to store: a post's image (`row` >= 0) or an extra that belongs to no post."""

    key: str
    sort_key: tuple[int, int]
    ext: str
    uid: int
    row: int
    hostile: int
    extra: str | None


@dataclass(frozen=True)
class HostileRecord:
    image_key: str
    kind: str
    location: str


@dataclass
class StorageSummary:
    files: int = 0
    shards: int = 0
    members: int = 0


def fan_out(key: str) -> str:
    """The folder of an image file: the key's last two characters, zero-padded.

    Ids share their leading digits, so the trailing ones spread files evenly.
    """
    return key.rjust(2, "0")[-2:]


def _post_items(plan: WorldPlan, source: str, keys: list[str], exts: np.ndarray) -> list[Stored]:
    sp = plan.sources[source]
    items = []
    for row in np.flatnonzero(sp.uid >= 0):
        items.append(
            Stored(
                key=keys[row],
                sort_key=(int(sp.post_id[sp.image_post[row]]), int(sp.page[row])),
                ext=c.EXTS[exts[row]],
                uid=int(sp.uid[row]),
                row=int(row),
                hostile=int(sp.hostile[row]),
                extra=None,
            )
        )
    return items


def _extra_items(plan: WorldPlan, source: str) -> list[Stored]:
    extras = plan.extras.get(source)
    if extras is None:
        return []
    items = []
    for key_id, uid, kind in zip(extras.key_id, extras.uid, extras.kind, strict=True):
        key = f"{key_id}_p0" if source == "pixiv" else str(key_id)
        ext = c.EXTS[plan.files.ext[uid]]
        items.append(Stored(key, (int(key_id), 0), ext, int(uid), -1, c.HARMLESS, kind))
    return items


def _payload(item: Stored, blobs: dict[int, bytes]) -> bytes:
    data = blobs[item.uid]
    return data if item.hostile == c.HARMLESS else hostile_bytes(item.hostile, data)


def _member_name(item: Stored) -> str:
    name = f"{item.key}.{item.ext}"
    if item.extra == c.PATH_TRAVERSAL:
        return TRAVERSAL_DIR + name
    if item.extra == c.ABSOLUTE_PATH:
        return ABSOLUTE_DIR + name
    return name


def _victim_index(chunk: list[Stored]) -> int | None:
    """The last harmless post image of a shard: it moves to the end, where the shard is cut."""
    for i in range(len(chunk) - 1, -1, -1):
        if chunk[i].extra is None and chunk[i].hostile == c.HARMLESS:
            return i
    return None


class ImageStorage:
    """Writes the sources' images and collects the hostile cases it planted.

    The member cut off by the truncated shard is marked in the plan (`TRUNCATED_MEMBER`), so the
    ground truth and metrics written afterwards leave it out like any other broken image.
    """

    def __init__(self, plan: WorldPlan, writer: LakeWriter, blobs: dict[int, bytes]) -> None:
        self.plan = plan
        self.writer = writer
        self.blobs = blobs
        self.hostile: list[HostileRecord] = []
        self.summary = StorageSummary()

    def write_source(self, source: str, keys: list[str], exts: np.ndarray) -> None:
        items = _post_items(self.plan, source, keys, exts) + _extra_items(self.plan, source)
        items.sort(key=lambda item: item.sort_key)
        if source in c.SHARD_SOURCES:
            self._write_shards(source, items)
        else:
            self._write_files(source, items)

    def _record(self, source: str, key: str, kind: str, location: str) -> None:
        self.hostile.append(HostileRecord(f"{source}:{key}", kind, location))

    def _write_files(self, source: str, items: list[Stored]) -> None:
        for item in items:
            path = f"images/{source}/{fan_out(item.key)}/{item.key}.{item.ext}"
            if item.hostile == c.MISSING_IMAGE:
                self._record(source, item.key, c.HOSTILE[item.hostile], "")
                continue
            self.writer.put(path, _payload(item, self.blobs))
            self.summary.files += 1
            if item.extra is not None:
                self._record(source, item.key, item.extra, path)
            elif item.hostile != c.HARMLESS:
                self._record(source, item.key, c.HOSTILE[item.hostile], path)

    def _write_shards(self, source: str, items: list[Stored]) -> None:
        stored = [item for item in items if item.hostile != c.MISSING_IMAGE]
        for item in items:
            if item.hostile == c.MISSING_IMAGE:
                self._record(source, item.key, c.HOSTILE[item.hostile], "")
        chunks = [stored[i : i + SHARD_SAMPLES] for i in range(0, len(stored), SHARD_SAMPLES)]
        for number, chunk in enumerate(chunks):
            path = f"shards/{source}/{source}-{number:05d}.tar"
            victim = _victim_index(chunk) if number == len(chunks) - 1 else None
            truncate = source == TRUNCATED_SOURCE and victim is not None
            if truncate:
                chunk = chunk[:victim] + chunk[victim + 1 :] + [chunk[victim]]
            members: list[tuple[str, bytes]] = []
            for item in chunk:
                name = _member_name(item)
                members.append((name, _payload(item, self.blobs)))
                if item.extra is not None:
                    kind = item.extra
                    key = name.rsplit(".", 1)[0] if item.extra != c.ORPHAN else item.key
                    self._record(source, key, kind, f"{path}:{name}")
                elif item.hostile != c.HARMLESS:
                    self._record(source, item.key, c.HOSTILE[item.hostile], f"{path}:{name}")
                last_of_cut = truncate and item is chunk[-1]
                if item.extra is None and not last_of_cut and self._has_json(item):
                    members.append((f"{item.key}.json", self._json(source, item)))
            if truncate:
                cut = chunk[-1]
                self.plan.sources[source].hostile[cut.row] = c.TRUNCATED_MEMBER
                self._record(
                    source, cut.key, c.HOSTILE[c.TRUNCATED_MEMBER], f"{path}:{members[-1][0]}"
                )
                data = build_truncated_tar(members)
            else:
                data = build_tar(members)
            self.writer.put(path, data)
            self.summary.shards += 1
            self.summary.members += len(members)

    def _has_json(self, item: Stored) -> bool:
        return bool(
            uniform(self.plan.seed, "shard.json", np.array([item.uid]), item.row)[0] < JSON_SHARE
        )

    def _json(self, source: str, item: Stored) -> bytes:
        meta = {"key": item.key, "source": source, "ext": item.ext}
        return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
